/**
 * What a loader program asks the running kernel while it loads (bpf_btf_find_by_name_kind,
 * bpf_kallsyms_lookup_name), answered from the host's /sys/kernel/btf/vmlinux and /proc/kallsyms
 * for a direct object load (`bpfsign load OBJ.bpf.o --backend host`). Both are read on first use.
 * Without the privilege to see addresses (kptr_restrict) /proc/kallsyms shows 0 for every symbol:
 * the direct loader treats 0 as not found.
 */
import { existsSync, readFileSync } from "node:fs";
import { Btf } from "../btf/btf.js";
import { parseKallsyms } from "../object/kallsyms.js";
import type { KernelBtfRef, KernelSymbols } from "../object/load_ops.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const KALLSYMS = "/proc/kallsyms";

export function hostKernelSymbols(): KernelSymbols {
  let btf: Btf | null | undefined;
  let syms: Map<string, bigint> | undefined;
  return {
    findBtf(name: string, kind: number): KernelBtfRef | null {
      if (btf === undefined)
        btf = existsSync(VMLINUX)
          ? Btf.parse(new Uint8Array(readFileSync(VMLINUX)), VMLINUX)
          : null;
      if (btf === null) return null;
      const id = btf.findByName(name, kind);
      return id > 0 ? { btfId: id, btfObjFd: 0 } : null;
    },
    kallsyms(name: string): bigint | null {
      syms ??= parseKallsyms(existsSync(KALLSYMS) ? readFileSync(KALLSYMS, "utf8") : "", KALLSYMS);
      return syms.get(name) ?? null;
    },
  };
}
