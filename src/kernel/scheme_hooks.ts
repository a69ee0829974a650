/**
 * The signed-load path of each profile, as hooks the load path calls (the way it calls LSM
 * modules), so that syscall_prog.ts and verifier.ts never compare profile names:
 *
 *   bpf_prog_load():  atProgLoad → [security_bpf_prog_load if admissionAtEntry] → bpf_check()
 *   bpf_check():      digest up front + fd_array (cached if cacheFdArray; bindMap/bindBtf on every
 *                     new object) → signature step if signsInVerifier → afterSignature →
 *                     [security_bpf_prog_load if !admissionAtEntry] → … → afterResolve
 *   the interpreter:  kfuncs offered to SYSCALL programs (kfunc_verify.ts)
 *
 * Every profile reports to security_bpf_prog_load_post_integrity() (lsm.ts) from the place its
 * design checks integrity, once that check passed (Hornet: with every verdict, since it enforces
 * nothing); the table in the README lists what differs from v2, each row tested.
 */
import { HORNET_VERDICTS } from "../scheme/hornet.js";
import { KFUNC_BTF_ID, KFUNC_VERDICTS } from "../scheme/kfunc.js";
import { V2_VERDICTS } from "../scheme/v2.js";
import { enumName, SigVerdict } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { ProgLoadAttr, Values } from "../uapi/layout.js";
import type { Btf } from "./btf.js";
import { hornetCheck } from "./hornet.js";
import type { PostIntegrityRecord } from "./lsm.js";
import type { BpfMap } from "./map.js";
import type { ProfileName } from "./profile.js";
import type { BpfProg } from "./prog.js";
import { bpfProgVerifySignature, bpfProgVerifySignatureInsns } from "./signature.js";
import type { SyscallCtx } from "./state.js";
import type { VerifierEnv } from "./verifier_env.js";

export interface SignedLoadHooks {
  /** In bpf_prog_load() before the admission hook: 0 or a negative errno. */
  atProgLoad(ctx: SyscallCtx, prog: BpfProg, attr: Values<typeof ProgLoadAttr>): number;
  /** security_bpf_prog_load() runs at BPF_PROG_LOAD entry (true) or inside bpf_check() (false). */
  readonly admissionAtEntry: boolean;
  /** bpf_check() verifies signed loads after fd_array resolution. */
  readonly signsInVerifier: boolean;
  /**
   * bpf_check() computes prog->digest before fd_array resolution for signed loads, so binding an
   * exclusive map through fd_array_cnt compares the real digest. Every profile but
   * mainline-6.18 (whose zero-digest quirk real-kernel §3 measured) does.
   */
  readonly digestUpFront: boolean;
  /** bpf_check() after the signature step (unsigned loads too; v2 reports only a verified one). */
  afterSignature(env: VerifierEnv): number;
  /** fd_array entries are read from user memory once and cached for the whole load. */
  readonly cacheFdArray: boolean;
  /** A map not yet used is about to be bound: 0 or a negative errno. */
  bindMap(env: VerifierEnv, map: BpfMap): number;
  /** An ld_imm64 names a map by a raw fd (MAP_FD / MAP_VALUE): 0 or a negative errno. */
  rawMapFd(env: VerifierEnv): number;
  /** A BTF not yet used is about to be bound: 0 or a negative errno. */
  bindBtf(env: VerifierEnv, btf: Btf): number;
  /** After check_and_resolve_insns(), with the map count the signature covered. */
  afterResolve(env: VerifierEnv, signedMapCnt: number): number;
  /** kfunc BTF ids the kernel offers SYSCALL programs. */
  readonly kfuncs: ReadonlySet<number>;
}

const NONE = (): number => 0;

function report(
  ctx: SyscallCtx,
  prog: BpfProg,
  attr: Values<typeof ProgLoadAttr>,
  rec: Pick<PostIntegrityRecord, "lsmId" | "scheme" | "verdict" | "verdictValue">,
): number {
  return ctx.kernel.lsm.bpf_prog_load_post_integrity({
    prog,
    attr,
    token: null,
    kernel: ctx.uaccess.is_kernel,
    source: "kernel",
    ...rec,
  });
}

/**
 * The report after the v2 signature step, shared by v2 and bpf-next: made when the signature
 * verified (as the kfunc design reports only after its check passed); unsigned loads are the
 * admission hook's business.
 */
function v2Signature(env: VerifierEnv): number {
  const { ctx, prog, attr } = env;
  const v = prog.aux.sig.verdict;
  if (v !== SigVerdict.VERIFIED) return 0;
  return report(ctx, prog, attr, {
    lsmId: "bpf",
    scheme: "v2",
    verdict: enumName(V2_VERDICTS, v),
    verdictValue: v,
  });
}

/** v2: the count compare after instruction resolution (kernel-semantics §11.3). */
function v2AfterResolve(env: VerifierEnv, signedMapCnt: number): number {
  const { prog } = env;
  if (
    prog.aux.sig.verdict !== SigVerdict.VERIFIED ||
    (env.used_maps.length === signedMapCnt && !env.used_btfs.length)
  ) {
    return 0;
  }
  const what =
    env.used_maps.length !== signedMapCnt
      ? env.used_btfs.length
        ? "maps and BTF"
        : "maps"
      : "BTF";
  env.log.verbose(`signed program uses ${what} not covered by the signature\n`);
  return -Errno.EACCES;
}

const V2: SignedLoadHooks = {
  atProgLoad: NONE,
  admissionAtEntry: false,
  signsInVerifier: true,
  digestUpFront: true,
  afterSignature: v2Signature,
  cacheFdArray: false,
  bindMap: NONE,
  rawMapFd: NONE,
  bindBtf: NONE,
  afterResolve: v2AfterResolve,
  kfuncs: new Set(),
};

/**
 * bpf-next: coverage at bind time. The message of the refusal is not settled (kernel-semantics
 * §11.3); the errno is v2's EACCES.
 */
const BPF_NEXT: SignedLoadHooks = {
  ...V2,
  cacheFdArray: true,
  bindMap(env, map) {
    if (env.prog.aux.sig.verdict !== SigVerdict.VERIFIED) return 0;
    env.log.verbose(`signed program binds map '${map.name}' not covered by the signature\n`);
    return -Errno.EACCES;
  },
  /**
   * The newer selftest's signed_map_by_fd_rejected: a signed program may reference maps only
   * through fd_array (a raw fd number means nothing to the signer). Message ours.
   */
  rawMapFd(env) {
    if (!env.check_signature) return 0;
    env.log.verbose("signed program must reference maps through fd_array\n");
    return -Errno.EINVAL;
  },
  bindBtf(env) {
    if (!env.check_signature) return 0;
    env.log.verbose("signed program may not bind BTF\n");
    return -Errno.EACCES;
  },
  afterResolve: NONE,
};

const MAINLINE: SignedLoadHooks = {
  atProgLoad(ctx, prog, attr) {
    if (!attr.signature) return 0;
    const err = bpfProgVerifySignatureInsns(ctx, prog, attr);
    if (err) return err;
    const v = prog.aux.sig.verdict;
    return report(ctx, prog, attr, {
      lsmId: "bpf",
      scheme: "mainline",
      verdict: enumName(V2_VERDICTS, v),
      verdictValue: v,
    });
  },
  admissionAtEntry: true,
  signsInVerifier: false,
  digestUpFront: false,
  afterSignature: NONE,
  cacheFdArray: false,
  bindMap: NONE,
  rawMapFd: NONE,
  bindBtf: NONE,
  afterResolve: NONE,
  kfuncs: new Set(),
};

/** kfunc: the instructions' signature at entry gives BPF_SIG_OK; no report until the kfunc. */
const KFUNC: SignedLoadHooks = {
  ...MAINLINE,
  atProgLoad(ctx, prog, attr) {
    if (!attr.signature) return 0;
    return bpfProgVerifySignatureInsns(ctx, prog, attr, KFUNC_VERDICTS.OK);
  },
  digestUpFront: true,
  kfuncs: new Set([KFUNC_BTF_ID]),
};

/** hornet: its integrity hook at entry; the verdict goes to the post-integrity hook. */
const HORNET: SignedLoadHooks = {
  ...MAINLINE,
  atProgLoad(ctx, prog, attr) {
    const verdict = hornetCheck(ctx, prog, attr);
    return report(ctx, prog, attr, {
      lsmId: "hornet",
      scheme: "hornet",
      verdict,
      verdictValue: HORNET_VERDICTS[verdict],
    });
  },
  digestUpFront: true,
};

const HOOKS: Readonly<Record<ProfileName, SignedLoadHooks>> = {
  v2: V2,
  "bpf-next": BPF_NEXT,
  "mainline-6.18": MAINLINE,
  kfunc: KFUNC,
  hornet: HORNET,
};

/** The hooks of a profile. */
export function signedLoadHooks(profile: { readonly name: ProfileName }): SignedLoadHooks {
  return HOOKS[profile.name];
}

/** The v2 signature step, for the verifier (re-exported so the verifier needs one import). */
export { bpfProgVerifySignature };
