// SPDX-License-Identifier: GPL-2.0
/* Socket filter with one ARRAY map "hits" (8 x __u64): hits[0] counts packets,
 * hits[1] sums skb->len. Returns 0. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("socket")
int array_count(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *val;

	val = bpf_map_lookup_elem(&hits, &key);
	if (val)
		__sync_fetch_and_add(val, 1);
	key = 1;
	val = bpf_map_lookup_elem(&hits, &key);
	if (val)
		__sync_fetch_and_add(val, skb->len);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
