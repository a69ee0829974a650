// SPDX-License-Identifier: GPL-2.0
/* Corpus object "maps": one BTF-defined map of each common kind (ARRAY, HASH,
 * PERCPU_ARRAY, LRU_HASH, RINGBUF), two of them with map_flags, and one socket
 * filter count_flows that touches all of them. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct scratch_buf {
	__u8 data[64];
	__u32 used;
};

struct flow_event {
	__u32 ifindex;
	__u32 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} pkt_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_buf);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, __u64);
	__type(value, __u32);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 4096);
} events SEC(".maps");

SEC("socket")
int count_flows(struct __sk_buff *skb)
{
	__u32 zero = 0, ifindex = skb->ifindex;
	struct flow_stats *fs, init = {};
	struct scratch_buf *buf;
	struct flow_event ev;
	__u64 *cnt, cookie = skb->hash;
	__u32 seen = 1;

	cnt = bpf_map_lookup_elem(&pkt_counts, &zero);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);

	fs = bpf_map_lookup_elem(&flows, &ifindex);
	if (!fs) {
		bpf_map_update_elem(&flows, &ifindex, &init, BPF_NOEXIST);
		fs = bpf_map_lookup_elem(&flows, &ifindex);
	}
	if (fs) {
		__sync_fetch_and_add(&fs->packets, 1);
		__sync_fetch_and_add(&fs->bytes, skb->len);
	}

	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (buf)
		buf->used = skb->len;

	bpf_map_update_elem(&recent, &cookie, &seen, BPF_ANY);

	ev.ifindex = ifindex;
	ev.len = skb->len;
	bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
