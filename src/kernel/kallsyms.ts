/** The model kernel's symbol table for bpf_kallsyms_lookup_name (fixed fake text/data addresses). */
export const KALLSYMS: ReadonlyMap<string, bigint> = new Map([
  ["_stext", 0xffffffff81000000n],
  ["__sys_bpf", 0xffffffff81234560n],
  ["bpf_prog_load", 0xffffffff81235f40n],
  ["bpf_sys_bpf", 0xffffffff81238a10n],
  ["bpf_map_lookup_elem", 0xffffffff8123c100n],
  ["bpf_prog_test_run_syscall", 0xffffffff81a41e20n],
  ["init_task", 0xffffffff82a0c940n],
  ["jiffies", 0xffffffff82c05000n],
  ["do_unlinkat", 0xffffffff81412c30n],
  ["bpf_rcu_read_lock", 0xffffffff8125e0a0n],
  ["bpf_rcu_read_unlock", 0xffffffff8125e0c0n],
  // the bounds of the .BTF section (fixed: 16 KiB apart)
  ["__start_BTF", 0xffffffff82e00000n],
  ["__stop_BTF", 0xffffffff82e04000n],
  // the file_operations of the BPF object files (bpftool's pid_iter compares f_op with them)
  ["bpf_prog_fops", 0xffffffff82a2b6c0n],
  ["bpf_map_fops", 0xffffffff82a2b7e0n],
  ["bpf_link_fops", 0xffffffff82a2b900n],
  ["btf_fops", 0xffffffff82a2ba20n],
  // a per-CPU variable (CPU 0's copy; bpf_this_cpu_ptr returns it)
  ["bpf_prog_active", 0xffff88807fc1c0a4n],
]);

/** Kernel variables a program may read through a typed ksym: address and size. */
export const KERNEL_VARS: readonly { name: string; size: number }[] = [
  { name: "bpf_prog_active", size: 4 },
];
