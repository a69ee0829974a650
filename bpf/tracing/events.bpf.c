// SPDX-License-Identifier: GPL-2.0
/*
 * A raw tracepoint program of the kind most light skeletons carry: on sys_enter it counts
 * calls per process in an LRU hash, keeps a per-CPU total, and streams one event per call
 * (pid, syscall id, command, timestamp) through a ring buffer. Compiled against the model's
 * vmlinux.h (bpf/policy/vmlinux.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__u32 syscall;
	__u64 ts;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 14);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 128);
} per_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} total SEC(".maps");

/* keeps the record type in the object's BTF for readers */
struct event *unused_event __attribute__((unused));

SEC("raw_tp/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 zero = 0;
	__u64 one = 1, *n;
	struct event *e;

	n = bpf_map_lookup_elem(&per_pid, &pid);
	if (n)
		*n += 1;
	else
		bpf_map_update_elem(&per_pid, &pid, &one, BPF_NOEXIST);
	n = bpf_map_lookup_elem(&total, &zero);
	if (n)
		*n += 1;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->syscall = ctx->args[1];
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
