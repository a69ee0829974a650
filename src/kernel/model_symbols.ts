/**
 * The model kernel's answers to what a loader asks while it loads (bpf_btf_find_by_name_kind,
 * bpf_kallsyms_lookup_name), for a direct object load into the model: its vmlinux BTF for the
 * profile it boots, and its symbol table.
 *
 * The result is a `KernelSymbols` (object/load_ops.ts), spelled out here so that the kernel does
 * not import the object layer.
 */
import { KALLSYMS } from "./kallsyms.js";
import type { KernelProfile } from "./profile.js";
import { modelVmlinuxBtf, vmlinuxOptionsFor } from "./vmlinux_btf.js";

/** The model's answers: a vmlinux type's id (BTF object fd 0), or a symbol's address. */
export interface ModelKernelSymbols {
  findBtf(name: string, kind: number): { btfId: number; btfObjFd: number } | null;
  kallsyms(name: string): bigint | null;
}

export function modelKernelSymbols(profile?: KernelProfile): ModelKernelSymbols {
  const btf = modelVmlinuxBtf(profile ? vmlinuxOptionsFor(profile) : { sig: true });
  return {
    findBtf(name: string, kind: number): { btfId: number; btfObjFd: number } | null {
      const id = btf.findByName(name, kind);
      return id > 0 ? { btfId: id, btfObjFd: 0 } : null;
    },
    kallsyms(name: string): bigint | null {
      return KALLSYMS.get(name) ?? null;
    },
  };
}
