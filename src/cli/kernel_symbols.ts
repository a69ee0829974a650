/**
 * What a loader program asks the running kernel while it loads (bpf_btf_find_by_name_kind,
 * bpf_kallsyms_lookup_name), answered from the host's /sys/kernel/btf/vmlinux and /proc/kallsyms
 * for a direct object load (`bpfsign load OBJ.bpf.o --backend host`). Both are read on first use.
 */
import { existsSync, readFileSync } from "node:fs";
import { Btf } from "../btf/btf.js";
import type { KernelBtfRef, KernelSymbols } from "../loader/object_load.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";

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
      if (syms === undefined) {
        syms = new Map();
        const text = existsSync("/proc/kallsyms") ? readFileSync("/proc/kallsyms", "utf8") : "";
        for (const line of text.split("\n")) {
          const [addr, , sym] = line.split(/\s+/);
          if (sym && !syms.has(sym)) syms.set(sym, BigInt(`0x${addr}`));
        }
      }
      return syms.get(name) ?? null;
    },
  };
}
