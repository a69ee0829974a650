// SPDX-License-Identifier: GPL-2.0
/* Corpus object "bigrodata": a 32 KiB .rodata table (8192 x __u32, a multiplicative
 * hash of the index) read by the socket filter lookup_table, plus a small .bss
 * counter. The table becomes a 32 KiB map value in the loader's data blob. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define V(i) ((__u32)((i) * 2654435761u + 0x9e37u))
#define R4(i) V(i), V((i) + 1), V((i) + 2), V((i) + 3)
#define R16(i) R4(i), R4((i) + 4), R4((i) + 8), R4((i) + 12)
#define R64(i) R16(i), R16((i) + 16), R16((i) + 32), R16((i) + 48)
#define R256(i) R64(i), R64((i) + 64), R64((i) + 128), R64((i) + 192)
#define R1024(i) R256(i), R256((i) + 256), R256((i) + 512), R256((i) + 768)
#define R4096(i) R1024(i), R1024((i) + 1024), R1024((i) + 2048), R1024((i) + 3072)

const volatile __u32 hash_table[8192] = { R4096(0), R4096(4096) };
__u64 lookups;

SEC("socket")
int lookup_table(struct __sk_buff *skb)
{
	__u32 idx = skb->hash & 8191;

	__sync_fetch_and_add(&lookups, 1);
	return hash_table[idx] & 0xffff;
}

char LICENSE[] SEC("license") = "GPL";
