// SPDX-License-Identifier: GPL-2.0
/* Corpus object "globals": global variables in .data, .rodata and .bss, two static
 * variables (not part of the skeleton's datasec views), a variable in a custom
 * ".data.custom" section, and a string literal that lands in .rodata.str1.1.
 * One socket filter track_len. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 total_bytes = 7;                          /* .data */
__s32 last_len = -1;                            /* .data */
__u64 packets;                                  /* .bss */
__u8 last_proto;                                /* .bss */
static __u32 static_seed = 99;                  /* .data, static */
static __u32 static_hits;                       /* .bss, static */
const volatile __u32 min_len = 60;              /* .rodata */
const volatile char banner[16] = "hello, lskel";/* .rodata */
__u32 custom_slot SEC(".data.custom") = 5;      /* .data.custom */

SEC("socket")
int track_len(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&total_bytes, skb->len);
	__sync_fetch_and_add(&packets, 1);
	static_hits++;
	last_len = skb->len;
	last_proto = skb->protocol;
	custom_slot = static_seed + static_hits;
	if (skb->len < min_len)
		bpf_trace_printk("short packet: %u\n", sizeof("short packet: %u\n"), skb->len);
	return banner[0] == 'h' ? skb->len : 0;
}

char LICENSE[] SEC("license") = "GPL";
