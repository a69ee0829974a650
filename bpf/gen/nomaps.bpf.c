// SPDX-License-Identifier: GPL-2.0
/* Corpus object "nomaps": no maps, no global data, one socket filter.
 * trim_to_64 keeps at most the first 64 bytes of a packet. The license string
 * contains a space and a slash. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int trim_to_64(struct __sk_buff *skb)
{
	return skb->len < 64 ? skb->len : 64;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
