// SPDX-License-Identifier: GPL-2.0
/* Corpus object "multiprog": eight programs of different types sharing one ARRAY
 * map "hits" (one slot per program): socket, tp/, raw_tp/, kprobe/, fentry/, lsm/,
 * iter/ and syscall. fentry, lsm and iter need an attach target (kernel BTF id). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct pt_regs;
struct filename;
struct file;
struct bpf_iter__task;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void bump(__u32 slot)
{
	__u64 *val = bpf_map_lookup_elem(&hits, &slot);

	if (val)
		__sync_fetch_and_add(val, 1);
}

SEC("socket")
int on_socket(struct __sk_buff *skb)
{
	bump(0);
	return skb->len;
}

SEC("tp/syscalls/sys_enter_openat")
int on_openat(void *ctx)
{
	bump(1);
	return 0;
}

SEC("raw_tp/sys_enter")
int on_sys_enter(void *ctx)
{
	bump(2);
	return 0;
}

SEC("kprobe/do_unlinkat")
int on_unlinkat(struct pt_regs *ctx)
{
	bump(3);
	return 0;
}

SEC("fentry/do_unlinkat")
int on_unlinkat_entry(unsigned long long *ctx)
{
	bump(4);
	return 0;
}

SEC("lsm/file_open")
int on_file_open(unsigned long long *ctx)
{
	bump(5);
	return 0;
}

SEC("iter/task")
int on_task(struct bpf_iter__task *ctx)
{
	bump(6);
	return 0;
}

SEC("syscall")
int on_syscall(void *ctx)
{
	bump(7);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
