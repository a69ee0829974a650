/**
 * Kernel profiles: which version of the signed-load path the model runs.
 *
 * - `v2`: the spec's series. The digest is computed up front for signed loads, the signature is
 *   verified inside the verifier after fd_array resolution over insns || folded map values, the
 *   verdict is recorded, the LSM admission hook runs after it, and a coverage check follows
 *   instruction resolution.
 * - `mainline-6.18`: the kernel this machine runs. The signature covers the instructions only and
 *   is checked in bpf_prog_load() before the LSM hook; the digest is computed only when
 *   instructions are resolved, so maps bound through fd_array_cnt are checked against a zero
 *   digest; and without CONFIG_SYSTEM_DATA_VERIFICATION every signature check ends in EOPNOTSUPP.
 */
export type ProfileName = "v2" | "mainline-6.18";

export interface KernelProfile {
  readonly name: ProfileName;
  /** CONFIG_SYSTEM_DATA_VERIFICATION: false makes every signature check EOPNOTSUPP. */
  readonly systemDataVerification: boolean;
}

export function profile(name: ProfileName = "v2"): KernelProfile {
  switch (name) {
    case "v2":
      return { name, systemDataVerification: true };
    case "mainline-6.18":
      return { name, systemDataVerification: false };
  }
}
