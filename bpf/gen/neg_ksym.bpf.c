// SPDX-License-Identifier: GPL-2.0
/* Corpus object "neg_ksym" (NEGATIVE CASE): a strong typeless ksym that is not in
 * /proc/kallsyms. libbpf resolves typeless ksyms from kallsyms even when it only
 * generates a loader, so `bpftool gen skeleton -L` refuses this object; see
 * test/fixtures/gen/expected-errors.txt. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern const void bpfsign_no_such_kernel_symbol __ksym;

__u64 addr;

SEC("raw_tp/sys_enter")
int missing_ksym(void *ctx)
{
	addr = (__u64)&bpfsign_no_such_kernel_symbol;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
