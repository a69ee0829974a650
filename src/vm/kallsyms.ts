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
]);
