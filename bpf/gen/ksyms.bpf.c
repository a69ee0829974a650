// SPDX-License-Identifier: GPL-2.0
/* Corpus object "ksyms": kernel symbols. __start_BTF and __stop_BTF are typeless
 * ksyms (addresses from /proc/kallsyms at generation time, looked up again by the
 * loader), bpf_prog_active is a typed ksym (a per-CPU int found through kernel BTF),
 * bpf_no_such_symbol is a weak typeless ksym that does not exist, and
 * bpf_rcu_read_lock / bpf_rcu_read_unlock are kfuncs. One fentry program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern const void __start_BTF __ksym;
extern const void __stop_BTF __ksym;
extern const void bpf_no_such_symbol __ksym __weak;
extern const int bpf_prog_active __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

__u64 btf_size;
__u64 missing_addr;
__s32 active;

SEC("fentry/do_unlinkat")
int read_ksyms(unsigned long long *ctx)
{
	const int *a;

	btf_size = (__u64)&__stop_BTF - (__u64)&__start_BTF;
	missing_addr = (__u64)&bpf_no_such_symbol;
	bpf_rcu_read_lock();
	a = bpf_this_cpu_ptr(&bpf_prog_active);
	active = *a;
	bpf_rcu_read_unlock();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
