// SPDX-License-Identifier: GPL-2.0
/* Socket filter with global data in .data, .rodata and .bss and one ARRAY map
 * "seen" (4 x __u64). Each run adds 1 to seen[0] and to the .bss counter "runs",
 * and returns bias + factor * 2. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

__u64 bias = 0x1122334455667788ULL;  /* .data */
__u32 tag = 0xcafe;                  /* .data */
const volatile __u32 factor = 5;     /* .rodata */
__u64 runs;                          /* .bss */

SEC("socket")
int global_data(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *val;

	val = bpf_map_lookup_elem(&seen, &key);
	if (val)
		__sync_fetch_and_add(val, 1);
	__sync_fetch_and_add(&runs, 1);
	return (int)bias + factor * 2 + (tag & 1);
}

char LICENSE[] SEC("license") = "GPL";
