/**
 * The model kernel's vmlinux BTF as the kernel's own BTF code holds it (for
 * bpf_btf_find_by_name_kind and attach targets). The types themselves are built in
 * src/kernel/vmlinux_btf.ts.
 */
import { Btf, parseBtf } from "../kernel/btf.js";
import { VerifierLog } from "../kernel/log.js";
import type { KernelProfile } from "../kernel/profile.js";
import { modelVmlinuxBtf, vmlinuxOptionsFor } from "../kernel/vmlinux_btf.js";

const cached = new Map<boolean, Btf>();

/** The vmlinux BTF object of a profile (default: with `sig`), parsed by the kernel's parser. */
export function vmlinuxBtf(profile?: KernelProfile): Btf {
  const opts = profile ? vmlinuxOptionsFor(profile) : { sig: true };
  let btf = cached.get(opts.sig);
  if (btf) return btf;
  const parsed = parseBtf(modelVmlinuxBtf(opts).rawData(), VerifierLog.none());
  if (typeof parsed === "number") throw new Error(`model vmlinux BTF does not parse (${parsed})`);
  btf = new Btf(parsed.data, parsed.types, true, "vmlinux");
  cached.set(opts.sig, btf);
  return btf;
}
