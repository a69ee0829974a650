/**
 * The model kernel's vmlinux BTF as the kernel's own BTF code holds it (for
 * bpf_btf_find_by_name_kind and attach targets); the types are built in
 * src/kernel/vmlinux_btf.ts, and each kernel keeps its profile's as `kernel.vmlinux`.
 */
import type { Btf } from "../kernel/btf.js";
import { type KernelProfile, profile } from "../kernel/profile.js";
import { kernelVmlinuxBtf } from "../kernel/state.js";

/** The vmlinux BTF object of a profile (default v2: with `sig`). */
export function vmlinuxBtf(p: KernelProfile = profile("v2")): Btf {
  return kernelVmlinuxBtf(p);
}
