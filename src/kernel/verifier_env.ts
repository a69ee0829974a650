/**
 * struct bpf_verifier_env, reduced: what one BPF_PROG_LOAD's checks share. bpfCheck()
 * (verifier.ts) builds it; the signature step (signature.ts) reads it.
 */
import type { ProgLoadAttr, Values } from "../uapi/layout.js";
import type { Btf } from "./btf.js";
import type { VerifierLog } from "./log.js";
import type { BpfMap } from "./map.js";
import type { BpfProg, LdImmRef } from "./prog.js";
import type { SyscallCtx } from "./state.js";
import type { BpfFile } from "./types.js";

export interface VerifierEnv {
  readonly ctx: SyscallCtx;
  readonly prog: BpfProg;
  readonly attr: Values<typeof ProgLoadAttr>;
  readonly log: VerifierLog;
  readonly used_maps: BpfMap[];
  readonly used_btfs: Btf[];
  readonly check_signature: boolean;
  readonly ldImm: Map<number, LdImmRef>;
  insn_processed: number;
  /** bpf-next: fd_array slots as first read (fd and file), or null when the profile re-reads. */
  readonly fd_array_cache: Map<number, { fd: number; file: BpfFile | undefined }> | null;
  /** kfunc_tab: the vmlinux BTF ids (offset 0) of the kfunc calls add_subprog_and_kfunc() accepted. */
  readonly kfuncs: Set<number>;
}
