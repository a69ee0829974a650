// SPDX-License-Identifier: GPL-2.0
/* Corpus object "subprogs": bpf-to-bpf calls. mix() is a static subprogram and
 * clamp_len() a global one (verified on its own by the kernel); both are called
 * from two programs, the socket filter filter_len and the tc classifier
 * classify_len, so libbpf appends both subprograms to each program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline __u32 mix(__u32 x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	return x;
}

__noinline int clamp_len(__u32 len)
{
	if (len > 1500)
		return 1500;
	return len + (mix(len) & 1);
}

SEC("socket")
int filter_len(struct __sk_buff *skb)
{
	return clamp_len(skb->len) + (mix(skb->hash) & 3);
}

SEC("tc")
int classify_len(struct __sk_buff *skb)
{
	return clamp_len(skb->len) > 1000 ? 1 : (int)(mix(skb->mark) & 1);
}

char LICENSE[] SEC("license") = "GPL";
