// SPDX-License-Identifier: GPL-2.0
/* Corpus object "kconfig": .kconfig externs. LINUX_KERNEL_VERSION comes from the
 * generating host's kernel release, LINUX_HAS_BPF_COOKIE is assumed true when a
 * loader is generated, CONFIG_HZ and CONFIG_BPF_JIT come from the host's kernel
 * config (weak, so a missing config would give 0). Their values end up in the
 * .kconfig map's initial value. One raw_tp program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_BPF_COOKIE __kconfig __weak;
extern int CONFIG_HZ __kconfig __weak;
extern _Bool CONFIG_BPF_JIT __kconfig __weak;

__u64 report;

SEC("raw_tp/sys_enter")
int kernel_facts(void *ctx)
{
	report = ((__u64)LINUX_KERNEL_VERSION << 32) | ((__u64)CONFIG_HZ << 2) |
		 ((__u64)LINUX_HAS_BPF_COOKIE << 1) | CONFIG_BPF_JIT;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
