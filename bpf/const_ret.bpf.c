// SPDX-License-Identifier: GPL-2.0
/* Socket filter that accepts every packet by returning a constant (7). No maps. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int const_ret(struct __sk_buff *skb)
{
	return 7;
}

char LICENSE[] SEC("license") = "GPL";
