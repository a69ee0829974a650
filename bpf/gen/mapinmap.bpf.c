// SPDX-License-Identifier: GPL-2.0
/* Corpus object "mapinmap": maps of maps. tables (ARRAY_OF_MAPS, 4 slots) holds
 * table_a and table_b in slots 0 and 2 from its BTF initializer; by_id
 * (HASH_OF_MAPS) starts empty, so its inner map template is created only to
 * define the inner type. One socket filter pick_table. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
};

struct inner_array table_a SEC(".maps");
struct inner_array table_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_array);
} tables SEC(".maps") = {
	.values = { [0] = &table_a, [2] = &table_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 16);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 8);
		__type(key, __u32);
		__type(value, __u64);
	});
} by_id SEC(".maps");

SEC("socket")
int pick_table(struct __sk_buff *skb)
{
	__u32 slot = skb->len & 2, zero = 0, *val;
	void *inner;

	inner = bpf_map_lookup_elem(&tables, &slot);
	if (!inner)
		return 0;
	val = bpf_map_lookup_elem(inner, &zero);
	if (val)
		__sync_fetch_and_add(val, 1);
	inner = bpf_map_lookup_elem(&by_id, &zero);
	return inner ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
