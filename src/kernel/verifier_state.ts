/**
 * The verifier's abstract state (struct bpf_reg_state, bpf_stack_state, bpf_func_state,
 * bpf_verifier_state): register types and bounds, stack slots, call frames, and how the log
 * prints them (print_verifier_state / reg_type_str).
 */
import type { BpfMap } from "./map.js";
import { TNUM_UNKNOWN, type Tnum, tnumIsConst, tnumIsUnknown, tnumStr } from "./tnum.js";

/** enum bpf_reg_type, the base types the model tracks. */
export const RegType = {
  NOT_INIT: 0,
  SCALAR_VALUE: 1,
  PTR_TO_CTX: 2,
  CONST_PTR_TO_MAP: 3,
  PTR_TO_MAP_VALUE: 4,
  PTR_TO_MAP_KEY: 5,
  PTR_TO_STACK: 6,
  PTR_TO_PACKET_META: 7,
  PTR_TO_PACKET: 8,
  PTR_TO_PACKET_END: 9,
  PTR_TO_FLOW_KEYS: 10,
  PTR_TO_SOCKET: 11,
  PTR_TO_SOCK_COMMON: 12,
  PTR_TO_TCP_SOCK: 13,
  PTR_TO_TP_BUFFER: 14,
  PTR_TO_XDP_SOCK: 15,
  PTR_TO_BTF_ID: 16,
  PTR_TO_MEM: 17,
  PTR_TO_ARENA: 18,
  PTR_TO_BUF: 19,
  PTR_TO_FUNC: 20,
  CONST_PTR_TO_DYNPTR: 21,
} as const;

/** Type flags (the bits above the base type). */
export const PTR_MAYBE_NULL = 1 << 8;
export const MEM_RDONLY = 1 << 9;
export const MEM_RINGBUF = 1 << 10;
export const PTR_TRUSTED = 1 << 11;
export const BASE_TYPE_MASK = 0xff;

export const baseType = (t: number) => t & BASE_TYPE_MASK;
export const typeMayBeNull = (t: number) => (t & PTR_MAYBE_NULL) !== 0;

const TYPE_NAMES: Record<number, string> = {
  [RegType.NOT_INIT]: "?",
  [RegType.SCALAR_VALUE]: "scalar",
  [RegType.PTR_TO_CTX]: "ctx",
  [RegType.CONST_PTR_TO_MAP]: "map_ptr",
  [RegType.PTR_TO_MAP_VALUE]: "map_value",
  [RegType.PTR_TO_STACK]: "fp",
  [RegType.PTR_TO_PACKET]: "pkt",
  [RegType.PTR_TO_PACKET_META]: "pkt_meta",
  [RegType.PTR_TO_PACKET_END]: "pkt_end",
  [RegType.PTR_TO_FLOW_KEYS]: "flow_keys",
  [RegType.PTR_TO_SOCKET]: "sock",
  [RegType.PTR_TO_SOCK_COMMON]: "sock_common",
  [RegType.PTR_TO_TCP_SOCK]: "tcp_sock",
  [RegType.PTR_TO_TP_BUFFER]: "tp_buffer",
  [RegType.PTR_TO_XDP_SOCK]: "xdp_sock",
  [RegType.PTR_TO_BTF_ID]: "ptr_",
  [RegType.PTR_TO_MEM]: "mem",
  [RegType.PTR_TO_ARENA]: "arena",
  [RegType.PTR_TO_BUF]: "buf",
  [RegType.PTR_TO_FUNC]: "func",
  [RegType.PTR_TO_MAP_KEY]: "map_key",
  [RegType.CONST_PTR_TO_DYNPTR]: "dynptr_ptr",
};

/** reg_type_str(): "map_value_or_null", "ringbuf_mem", "trusted_ptr_", ... */
export function regTypeStr(t: number): string {
  let prefix = "";
  if (t & MEM_RDONLY) prefix += "rdonly_";
  if (t & MEM_RINGBUF) prefix += "ringbuf_";
  if (t & PTR_TRUSTED) prefix += "trusted_";
  let postfix = "";
  if (t & PTR_MAYBE_NULL) postfix = baseType(t) === RegType.PTR_TO_BTF_ID ? "or_null_" : "_or_null";
  return `${prefix}${TYPE_NAMES[baseType(t)] ?? "?"}${postfix}`;
}

export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;
export const S32_MIN = -0x80000000;
export const S32_MAX = 0x7fffffff;
export const U32_MAX = 0xffffffff;

/** struct bpf_reg_state. 64-bit bounds are bigints (s64 / u64), 32-bit ones numbers. */
export class RegState {
  type: number = RegType.NOT_INIT;
  /** Fixed offset of a pointer. */
  off = 0;
  varOff: Tnum = TNUM_UNKNOWN;
  smin = S64_MIN;
  smax = S64_MAX;
  umin = 0n;
  umax = U64_MAX;
  s32min = S32_MIN;
  s32max = S32_MAX;
  u32min = 0;
  u32max = U32_MAX;
  id = 0;
  /** Packet pointers: bytes known to be inside the packet (or AT/BEYOND_PKT_END). */
  range = 0;
  map: BpfMap | null = null;
  /** Stack pointers: the frame they point into. */
  frameno = 0;
  subprogno = 0;
  /** A scalar whose exact range matters to a decision already taken (precision tracking). */
  precise = false;

  clone(): RegState {
    const r = new RegState();
    r.copyFrom(this);
    return r;
  }

  /** Every field of `o` into this one (field by field: the verifier copies registers a lot). */
  copyFrom(o: RegState): void {
    this.type = o.type;
    this.off = o.off;
    this.varOff = o.varOff;
    this.smin = o.smin;
    this.smax = o.smax;
    this.umin = o.umin;
    this.umax = o.umax;
    this.s32min = o.s32min;
    this.s32max = o.s32max;
    this.u32min = o.u32min;
    this.u32max = o.u32max;
    this.id = o.id;
    this.range = o.range;
    this.map = o.map;
    this.frameno = o.frameno;
    this.subprogno = o.subprogno;
    this.precise = o.precise;
  }

  /** Back to the state of a new RegState (what memset(reg, 0) starts the kernel's from). */
  reset(): void {
    this.copyFrom(FRESH_REG);
  }
}

/** A RegState as constructed, never changed: what reset() copies. */
const FRESH_REG: Readonly<RegState> = Object.freeze(new RegState());

export const AT_PKT_END = -1;
export const BEYOND_PKT_END = -2;

/** enum bpf_stack_slot_type */
export const Stack = { INVALID: 0, SPILL: 1, MISC: 2, ZERO: 3 } as const;
export const BPF_REG_SIZE = 8;
export const MAX_BPF_STACK = 512;

/** struct bpf_stack_state: one 8-byte slot. slotType[7] is the lowest-addressed byte. */
export class StackSlot {
  spilled = new RegState();
  slotType = new Uint8Array(BPF_REG_SIZE);
  clone(): StackSlot {
    const s = new StackSlot();
    s.spilled = this.spilled.clone();
    s.slotType.set(this.slotType);
    return s;
  }
}

export const isSpilledReg = (s: StackSlot) => s.slotType[BPF_REG_SIZE - 1] === Stack.SPILL;
export const isSpilledScalarReg = (s: StackSlot) =>
  isSpilledReg(s) && s.spilled.type === RegType.SCALAR_VALUE;

export const MAX_BPF_REG = 11;
export const BPF_REG_FP = 10;

/** struct bpf_func_state */
export class FuncState {
  regs: RegState[] = [];
  stack: StackSlot[] = [];
  allocatedStack = 0;
  callsite = -1;
  constructor(
    readonly frameno: number,
    readonly subprogno: number,
  ) {}

  clone(): FuncState {
    const f = new FuncState(this.frameno, this.subprogno);
    f.regs = this.regs.map((r) => r.clone());
    f.stack = this.stack.map((s) => s.clone());
    f.allocatedStack = this.allocatedStack;
    f.callsite = this.callsite;
    return f;
  }

  /** grow_stack_state(): at least `size` bytes, rounded up to whole slots. */
  growStack(size: number): void {
    const n = Math.ceil(size / BPF_REG_SIZE);
    while (this.stack.length < n) this.stack.push(new StackSlot());
    if (n * BPF_REG_SIZE > this.allocatedStack) this.allocatedStack = n * BPF_REG_SIZE;
  }
}

/** A checkpoint of explored states at an instruction (struct bpf_verifier_state_list). */
export interface Checkpoint {
  readonly state: VerifierState;
  readonly insnIdx: number;
  parent: Checkpoint | null;
  /** Paths still being explored below this checkpoint. */
  branches: number;
  /** Lookups it answered / did not (the kernel evicts states that keep missing). */
  hit: number;
  miss: number;
}

/** struct bpf_verifier_state */
/** One executed instruction of a state's history (jmp_history, kept for every instruction). */
export interface HistEntry {
  readonly idx: number;
  /** A register spill or fill: the stack slot (spi) of the current frame, else -1. */
  spi: number;
}

export class VerifierState {
  frame: FuncState[] = [];
  curframe = 0;
  parent: Checkpoint | null = null;
  /** Instructions executed since the parent checkpoint (for precision backtracking). */
  history: HistEntry[] = [];

  clone(): VerifierState {
    const s = new VerifierState();
    s.frame = this.frame.map((f) => f.clone());
    s.curframe = this.curframe;
    s.parent = this.parent;
    s.history = this.history.slice();
    return s;
  }

  get cur(): FuncState {
    return this.frame[this.curframe];
  }

  /** Every register of every frame, spilled ones included (bpf_for_each_reg_in_vstate). */
  *allRegs(): Generator<RegState> {
    for (const f of this.frame) {
      yield* f.regs;
      for (const s of f.stack) if (isSpilledReg(s)) yield s.spilled;
    }
  }
}

/** verbose_snum(): decimal within s16, else the u64 in hex. */
function snum(n: bigint): string {
  return n >= -32768n && n <= 32767n ? n.toString() : `0x${BigInt.asUintN(64, n).toString(16)}`;
}

/** verbose_unum(): decimal within u16, else hex. */
function unum(n: bigint): string {
  return n <= 65535n ? n.toString() : `0x${n.toString(16)}`;
}

/** The bounds part of a register's print: smin=...,umax=...,var_off=(...) with shared values merged. */
function scalarRanges(r: RegState): string[] {
  // 32-bit signed bounds outside the decimal range print as their u32
  const s32 = (v: number) => (v >= -32768 && v <= 32767 ? BigInt(v) : BigInt(v >>> 0));
  const ms: { name: string; val: bigint; omit: boolean; signed: boolean }[] = [
    { name: "smin", val: r.smin, omit: r.smin === S64_MIN, signed: true },
    { name: "smax", val: r.smax, omit: r.smax === S64_MAX, signed: true },
    { name: "umin", val: r.umin, omit: r.umin === 0n, signed: false },
    { name: "umax", val: r.umax, omit: r.umax === U64_MAX, signed: false },
    { name: "smin32", val: s32(r.s32min), omit: r.s32min === S32_MIN, signed: true },
    { name: "smax32", val: s32(r.s32max), omit: r.s32max === S32_MAX, signed: true },
    { name: "umin32", val: BigInt(r.u32min), omit: r.u32min === 0, signed: false },
    { name: "umax32", val: BigInt(r.u32max), omit: r.u32max === U32_MAX, signed: false },
  ];
  const out: string[] = [];
  const same = (a: bigint, b: bigint) => BigInt.asUintN(64, a) === BigInt.asUintN(64, b);
  for (let i = 0; i < ms.length; i++) {
    const m1 = ms[i];
    if (m1.omit) continue;
    const neg1 = m1.signed && m1.val < 0n;
    let s = `${m1.name}=`;
    for (let j = i + 2; j < ms.length; j += 2) {
      const m2 = ms[j];
      if (m2.omit || !same(m2.val, m1.val)) continue;
      const neg2 = m2.signed && m2.val < 0n;
      if (neg1 !== neg2) continue;
      m2.omit = true;
      s += `${m2.name}=`;
    }
    s += m1.signed ? snum(m1.val) : unum(BigInt.asUintN(64, m1.val));
    out.push(s);
  }
  return out;
}

/** print_reg_state() of one register. */
export function regStr(r: RegState, frameno: number): string {
  const t = r.type;
  const p = t === RegType.SCALAR_VALUE && r.precise ? "P" : "";
  if (t === RegType.SCALAR_VALUE && tnumIsConst(r.varOff)) {
    return p + snum(BigInt.asIntN(64, r.varOff.value + BigInt(r.off)));
  }
  let s = p + regTypeStr(t);
  if (t === RegType.PTR_TO_STACK) {
    if (r.frameno !== frameno) s += `[${r.frameno}]`;
    if (tnumIsConst(r.varOff)) return s + snum(BigInt.asIntN(64, r.varOff.value + BigInt(r.off)));
  }
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  const bt = baseType(t);
  if (
    bt === RegType.CONST_PTR_TO_MAP ||
    bt === RegType.PTR_TO_MAP_VALUE ||
    bt === RegType.PTR_TO_MAP_KEY
  ) {
    if (r.map?.name) parts.push(`map=${r.map.name}`);
    parts.push(`ks=${r.map?.key_size ?? 0},vs=${r.map?.value_size ?? 0}`);
  }
  if (t !== RegType.SCALAR_VALUE && r.off) parts.push(`off=${r.off}`);
  if (t === RegType.PTR_TO_PACKET || t === RegType.PTR_TO_PACKET_META)
    parts.push(`r=${unum(BigInt.asUintN(64, BigInt(r.range)))}`);
  if (tnumIsConst(r.varOff)) {
    if (r.varOff.value) parts.push(`imm=${r.varOff.value.toString(16)}`);
  } else {
    parts.push(...scalarRanges(r));
    if (!tnumIsUnknown(r.varOff)) parts.push(`var_off=${tnumStr(r.varOff)}`);
  }
  return `${s}(${parts.join(",")})`;
}

const STYPE_CHAR = ["?", "r", "m", "0"];

/** One stack slot as print_verifier_state() shows it ("" for a slot never written). */
export function slotStr(f: FuncState, spi: number): string {
  const s = f.stack[spi];
  if (!s) return "";
  const off = -(spi + 1) * BPF_REG_SIZE;
  let types = "";
  let any = false;
  for (let k = 0; k < BPF_REG_SIZE; k++) {
    if (s.slotType[k] !== Stack.INVALID) any = true;
    if (isSpilledReg(s) && s.slotType[k] === Stack.SPILL) continue;
    types += STYPE_CHAR[s.slotType[k]] ?? "?";
  }
  if (isSpilledReg(s)) return `fp${off}=${types}${regStr(s.spilled, f.frameno)}`;
  return any ? `fp${off}=${types}` : "";
}

/** print_verifier_state() for one frame: registers `which` (all initialised ones when null). */
export function frameStr(f: FuncState, which: number | null, withStack: boolean): string {
  const out: string[] = [];
  if (f.frameno) out.push(`frame${f.frameno}:`);
  for (let i = 0; i < MAX_BPF_REG; i++) {
    const r = f.regs[i];
    if (r.type === RegType.NOT_INIT) continue;
    if (which !== null && !(which & (1 << i))) continue;
    out.push(`R${i}=${regStr(r, f.frameno)}`);
  }
  if (withStack) {
    for (let spi = 0; spi < f.stack.length; spi++) {
      const one = slotStr(f, spi);
      if (one) out.push(one);
    }
  }
  return out.join(" ");
}

/** What the checks of one instruction share (the parts of struct bpf_verifier_env they use). */
export interface CheckEnv {
  readonly progType: number;
  readonly sleepable: boolean;
  readonly gplCompatible: boolean;
  /** verbose(): append to the verifier log. */
  verbose(msg: string): void;
  /** The state being explored. */
  cur: VerifierState;
  insnIdx: number;
  idGen: number;
  /**
   * The map each helper call names (insn_aux_data's map_ptr_state): null once two paths name
   * different maps (poisoned).
   */
  readonly callMaps: Map<number, BpfMap | null>;
  /** mark_stack_slot_scratched(): the log prints the slot after this instruction. */
  scratchStack(spi: number): void;
  /** Stack liveness: the instruction reads (use) or wholly writes (def) slot `spi` of a frame. */
  noteStackUse(frameno: number, spi: number): void;
  noteStackDef(frameno: number, spi: number): void;
  /** A register spill or fill at stack slot `spi` (recorded for precision backtracking). */
  noteStackAccess(spi: number): void;
  /** mark_chain_precision() for registers (bit mask) and stack slots of the current frame. */
  markPrecise(regs: number, slots: readonly number[]): void;
  /** The largest ctx offset accessed (prog->aux->max_ctx_offset). */
  maxCtxOffset: number;
  maxPktOffset: number;
}

/** The register `regno` of the current frame. */
export function curReg(env: CheckEnv, regno: number): RegState {
  return env.cur.cur.regs[regno];
}
