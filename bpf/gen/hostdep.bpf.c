// SPDX-License-Identifier: GPL-2.0
/* Corpus object "hostdep": maps whose created size depends on the generating host.
 * perf_out is a PERF_EVENT_ARRAY without max_entries (libbpf fills in the number of
 * possible CPUs); odd_ring is a RINGBUF of 5000 bytes (libbpf rounds it up to a
 * power-of-two multiple of the page size). One tracepoint program notify. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);
} odd_ring SEC(".maps");

SEC("tp/sched/sched_process_fork")
int notify(void *ctx)
{
	__u64 stamp = bpf_ktime_get_ns();

	bpf_perf_event_output(ctx, &perf_out, BPF_F_CURRENT_CPU, &stamp, sizeof(stamp));
	bpf_ringbuf_output(&odd_ring, &stamp, sizeof(stamp), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
