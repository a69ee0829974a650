// SPDX-License-Identifier: GPL-2.0
/* Corpus object "core": CO-RE relocations against kernel types declared locally
 * with preserve_access_index (no vmlinux.h). parent_tgid (kprobe) reads
 * current->real_parent->tgid with BPF_CORE_READ and checks that a field, a type and
 * an enum value exist and a field's size; exec_pid (tp_btf) reads task->pid by direct
 * access. All relocations are recorded for the kernel to resolve at load time. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct pt_regs;

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	char comm[16];
} __attribute__((preserve_access_index));

enum pid_type {
	PIDTYPE_PID,
	PIDTYPE_TGID,
	PIDTYPE_PGID,
	PIDTYPE_SID,
};

__s32 seen_ppid;
__u32 comm_size;
__u32 has_tgid_type;
__s32 exec_seen_pid;

SEC("kprobe/do_exit")
int parent_tgid(struct pt_regs *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	seen_ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (bpf_core_field_exists(task->comm))
		comm_size = bpf_core_field_size(task->comm);
	if (bpf_core_type_exists(struct task_struct))
		has_tgid_type = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int exec_pid(unsigned long long *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];

	exec_seen_pid = task->pid;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
