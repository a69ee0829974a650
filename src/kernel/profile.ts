/**
 * Kernel profiles: which signed-load design the model runs. A profile is data (its name, the
 * scheme it verifies, its configuration); what it does in the load path is a set of hooks in
 * scheme_hooks.ts, which the load path calls as it calls LSM modules, without comparing names.
 *
 * - `v2`: the spec's series. Digest up front for signed loads, signature verified inside the
 *   verifier after fd_array resolution over insns || folded map values, verdict recorded, LSM
 *   admission after it, and a count-based coverage check after instruction resolution.
 * - `bpf-next`: the series as merged (kernel-semantics §11.3): as v2, but fd_array objects are
 *   resolved once and cached, an uncovered map or any BTF is refused when it would be bound, a
 *   signature of size 0 is EINVAL, and the `.bpf` keyring (KEY_SPEC_BPF_KEYRING) exists, sealed
 *   unless `bpf.keyring_unsealed` is set.
 * - `mainline-6.18`: the kernel this machine runs. The signature covers the instructions only and
 *   is checked in bpf_prog_load() before the LSM hook; the digest is computed only when
 *   instructions are resolved, so maps bound through fd_array_cnt are checked against a zero
 *   digest; and without CONFIG_SYSTEM_DATA_VERIFICATION every signature check ends in EOPNOTSUPP.
 * - `kfunc`: KP Singh's alternative (spec/004, userspace-toolchain §7.3): the instructions'
 *   signature checked in bpf_prog_load() before the LSM hook (verdict BPF_SIG_OK), and the kfunc
 *   bpf_loader_verify_metadata() for the loader to call, which fires the post-integrity hook and
 *   promotes the verdict to BPF_SIG_METADATA_VERIFIED.
 * - `hornet`: mainline plus the Hornet LSM (anchors §1.2): Hornet's integrity hook verifies the
 *   instructions and the signed map hashes at BPF_PROG_LOAD entry and reports its verdict to the
 *   post-integrity hook; the BPF core's own signature check does not run (Hornet claims the
 *   signature), and nothing is enforced unless a policy module denies.
 */
import type { SchemeName } from "../scheme/types.js";

export type ProfileName = "v2" | "bpf-next" | "mainline-6.18" | "kfunc" | "hornet";

export const PROFILE_NAMES: readonly ProfileName[] = [
  "v2",
  "bpf-next",
  "mainline-6.18",
  "kfunc",
  "hornet",
];

export interface KernelProfile {
  readonly name: ProfileName;
  /** The scheme whose signatures this kernel verifies (mainline: its insns-only check). */
  readonly scheme: SchemeName | "mainline";
  /** CONFIG_SYSTEM_DATA_VERIFICATION: false makes every signature check EOPNOTSUPP. */
  readonly systemDataVerification: boolean;
  /** The `.bpf` keyring exists (KEY_SPEC_BPF_KEYRING resolves to it). */
  readonly bpfKeyring: boolean;
  /** bpf.keyring_unsealed=1: keys may be added to `.bpf`, and caller-supplied keyrings are refused. */
  readonly keyringUnsealed: boolean;
}

export interface ProfileOptions {
  /** bpf-next's module parameter bpf.keyring_unsealed (default false). */
  readonly keyringUnsealed?: boolean;
}

export function profile(name: ProfileName = "v2", opts: ProfileOptions = {}): KernelProfile {
  const base = { name, bpfKeyring: false, keyringUnsealed: false };
  switch (name) {
    case "v2":
      return { ...base, scheme: "v2", systemDataVerification: true };
    case "bpf-next":
      return {
        ...base,
        scheme: "v2",
        systemDataVerification: true,
        bpfKeyring: true,
        keyringUnsealed: opts.keyringUnsealed ?? false,
      };
    case "mainline-6.18":
      return { ...base, scheme: "mainline", systemDataVerification: false };
    case "kfunc":
      return { ...base, scheme: "kfunc", systemDataVerification: true };
    case "hornet":
      return { ...base, scheme: "hornet", systemDataVerification: true };
  }
}
