/**
 * The model kernel's answers to what a loader asks while it loads (bpf_btf_find_by_name_kind,
 * bpf_kallsyms_lookup_name), for a direct object load into the model: its vmlinux BTF for the
 * profile it boots, and its symbol table.
 */
import { KALLSYMS } from "../kernel/kallsyms.js";
import type { KernelProfile } from "../kernel/profile.js";
import { modelVmlinuxBtf, vmlinuxOptionsFor } from "../kernel/vmlinux_btf.js";
import type { KernelBtfRef, KernelSymbols } from "./object_load.js";

export function modelKernelSymbols(profile?: KernelProfile): KernelSymbols {
  const btf = modelVmlinuxBtf(profile ? vmlinuxOptionsFor(profile) : { sig: true });
  return {
    findBtf(name: string, kind: number): KernelBtfRef | null {
      const id = btf.findByName(name, kind);
      return id > 0 ? { btfId: id, btfObjFd: 0 } : null;
    },
    kallsyms(name: string): bigint | null {
      return KALLSYMS.get(name) ?? null;
    },
  };
}
