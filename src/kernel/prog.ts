/** BPF programs as the kernel keeps them: struct bpf_prog with its aux data and signature verdict. */
import { Limits, SigKeyring, SigVerdict } from "../uapi/constants.js";
import type { Btf } from "./btf.js";
import type { AttachTarget } from "./btf_attach.js";
import type { BpfMap } from "./map.js";

/** prog->aux->sig: what the signature check recorded. */
export interface ProgSig {
  verdict: number;
  keyring_type: number;
  keyring_serial: number;
}

/** A map reference resolved from an ld_imm64 (the verifier's insn_aux_data). */
export interface LdImmRef {
  readonly map: BpfMap;
  /** MAP_VALUE / MAP_IDX_VALUE: offset into the value; MAP_FD / MAP_IDX: undefined. */
  readonly off?: number;
}

/** The last verdict reported to the post-integrity hook for this program (lsm.ts). */
export interface ProgIntegrity {
  readonly lsmId: string;
  readonly scheme: string;
  readonly verdict: string;
}

export interface ProgAux {
  id: number;
  name: string;
  load_time: bigint;
  used_maps: BpfMap[];
  used_btfs: Btf[];
  sig: ProgSig;
  /** What the post-integrity hook was last told about this program, or null. */
  integrity: ProgIntegrity | null;
  /** BPF tokens are not modelled: always null. */
  token: null;
  btf: Btf | null;
  func_info_cnt: number;
  line_info_cnt: number;
  /** The largest ctx offset the program reads (SYSCALL test runs need at least that much). */
  max_ctx_offset: number;
  verified_insns: number;
  /** attach_btf_id of a program attached through BTF (TRACING, LSM), else 0. */
  attach_btf_id: number;
  /** What attach_btf_id resolved to (btf_attach.ts), or null. */
  attach: AttachTarget | null;
}

export class BpfProg {
  refcnt = 0;
  /** SHA-256 of the instructions with map fds zeroed; all zero until computed (as kvzalloc). */
  readonly digest = new Uint8Array(Limits.SHA256_DIGEST_SIZE);
  /**
   * The submitted instructions after convert_pseudo_ld_imm64 only (same indexes as insnsi): what
   * the model's interpreter runs.
   */
  xlated: Uint8Array;
  /** Resolved ld_imm64 map references by instruction index (of insnsi and xlated). */
  readonly ldImm = new Map<number, LdImmRef>();
  /**
   * The instructions as the kernel keeps them after bpf_check(): xlated with the ctx access
   * conversions and do_misc_fixups' rewrites (fixups.ts). BPF_OBJ_GET_INFO_BY_FD reports these
   * (xlated_prog_len, and xlated_prog_insns through bpf_insn_prepare_dump).
   */
  fixedUp: Uint8Array;
  /** The ld_imm64 map references of `fixedUp`, by their index there. */
  fixedUpLdImm: ReadonlyMap<number, LdImmRef> = new Map();
  readonly aux: ProgAux;

  constructor(
    readonly type: number,
    readonly expected_attach_type: number,
    /** The instructions exactly as submitted (what a signature covers). */
    readonly insnsi: Uint8Array,
    readonly sleepable: boolean,
    readonly gpl_compatible: boolean,
    readonly license: string,
  ) {
    this.xlated = insnsi;
    this.fixedUp = insnsi;
    this.aux = {
      id: 0,
      name: "",
      load_time: 0n,
      used_maps: [],
      used_btfs: [],
      sig: { verdict: SigVerdict.UNSIGNED, keyring_type: SigKeyring.NONE, keyring_serial: 0 },
      integrity: null,
      token: null,
      btf: null,
      func_info_cnt: 0,
      line_info_cnt: 0,
      max_ctx_offset: 0,
      verified_insns: 0,
      attach_btf_id: 0,
      attach: null,
    };
  }

  /** Number of instructions. */
  get len(): number {
    return this.insnsi.length / 8;
  }

  /** The tag: the first eight bytes of the digest. */
  get tag(): Uint8Array {
    return this.digest.subarray(0, Limits.TAG_SIZE);
  }
}
