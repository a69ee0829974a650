/**
 * A policy module written in TypeScript that enforces "verified" whatever the scheme, through
 * the one integrity interface (security_bpf_prog_load_post_integrity, kernel/lsm.ts):
 *
 * - post-integrity: a load from user space is denied (EPERM) unless the reported verdict is one
 *   its scheme calls verified (v2/mainline VERIFIED, kfunc METADATA_VERIFIED, Hornet OK);
 * - admission (security_bpf_prog_load): a load from user space that no integrity check has
 *   reported on and whose BPF core verdict is UNSIGNED is denied: the BPF core's designs report
 *   only checks that passed, so an unsigned load never reaches the post-integrity hook there.
 *
 * Loads by the kernel (a loader's bpf_sys_bpf) pass, as IPE's `bpf_kernel=TRUE` rule lets them.
 * The policy branch's declarative module can replace this one; it evaluates the same record.
 */
import type { Lsm, PostIntegrityRecord } from "../kernel/lsm.js";
import { scheme } from "../scheme/index.js";
import { Errno } from "../uapi/errno.js";

/** The verdict names that count as verified for a record's scheme. */
export function isVerifiedVerdict(rec: Pick<PostIntegrityRecord, "scheme" | "verdict">): boolean {
  const names = rec.scheme === "mainline" ? ["VERIFIED"] : scheme(rec.scheme).verifiedVerdicts;
  return names.includes(rec.verdict);
}

/** One denial the policy made: at which hook, for which program, why. */
export interface PolicyDenial {
  readonly hook: "security_bpf_prog_load" | "post_integrity";
  readonly prog: string;
  readonly reason: string;
}

export class RequireVerified {
  readonly denials: PolicyDenial[] = [];
  private readonly unregister: () => void;

  constructor(lsm: Lsm) {
    this.unregister = lsm.register({
      name: "require-verified",
      bpf_prog_load_post_integrity: (rec) => {
        if (rec.kernel || isVerifiedVerdict(rec)) return 0;
        this.denials.push({
          hook: "post_integrity",
          prog: rec.prog.aux.name,
          reason: `${rec.lsmId} reported ${rec.scheme} verdict ${rec.verdict}`,
        });
        return -Errno.EPERM;
      },
      bpf_prog_load: (prog, _attr, _token, kernel) => {
        if (kernel || prog.aux.integrity || prog.aux.sig.verdict !== 0) return 0;
        this.denials.push({
          hook: "security_bpf_prog_load",
          prog: prog.aux.name,
          reason: "unsigned, and no integrity check reported on it",
        });
        return -Errno.EPERM;
      },
    });
  }

  dispose(): void {
    this.unregister();
  }
}
