/**
 * The model kernel's vmlinux BTF as the kernel's own BTF code holds it (for
 * bpf_btf_find_by_name_kind and attach targets). The types themselves are built in
 * src/kernel/vmlinux_btf.ts.
 */
import { Btf, parseBtf } from "../kernel/btf.js";
import { VerifierLog } from "../kernel/log.js";
import { modelVmlinuxBtf } from "../kernel/vmlinux_btf.js";

let cached: Btf | null = null;

/** The vmlinux BTF object (parsed with the kernel's own BTF parser). */
export function vmlinuxBtf(): Btf {
  if (cached) return cached;
  const parsed = parseBtf(modelVmlinuxBtf().rawData(), VerifierLog.none());
  if (typeof parsed === "number") throw new Error(`model vmlinux BTF does not parse (${parsed})`);
  cached = new Btf(parsed.data, parsed.types, true, "vmlinux");
  return cached;
}
