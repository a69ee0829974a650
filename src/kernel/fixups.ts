/**
 * The verifier's rewrites after its checks, as far as they change what BPF_OBJ_GET_INFO_BY_FD
 * shows as the translated program of this machine's kernel (x86_64, JIT on):
 *
 * - convert_ctx_accesses(): full-width reads of `struct __sk_buff` fields by skb programs become
 *   reads of `struct sk_buff` (offsets of the 6.18 x86_64 build; some fields need several insns);
 * - do_misc_fixups(): `bpf_map_lookup_elem` calls on ARRAY, PERCPU_ARRAY, HASH, PERCPU_HASH and
 *   LRU_HASH maps, and on the map-in-map types ARRAY_OF_MAPS and HASH_OF_MAPS, are replaced by
 *   the map type's map_gen_lookup sequence (array_map_gen_lookup and friends) when the JIT is
 *   requested, the map at the call is known (the verifier's map pointer state is not poisoned;
 *   for a lookup in an inner map it is the outer map's inner map template) and it was not
 *   created with BPF_F_INNER_MAP;
 * - bpf_insn_prepare_dump(): in the dump, an ld_imm64 of a map address or map value address
 *   shows the map's id with src_reg BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE and the offset.
 *
 * Branch offsets are adjusted around every patch as bpf_patch_insn_data() does. The model keeps
 * helper ids in call instructions where the kernel writes call offsets to kernel functions, and
 * its interpreter keeps running the instructions before these rewrites (BpfProg.xlated).
 */
import { MapFlag, MapType, ProgType, Pseudo } from "../uapi/constants.js";
import type { BpfMap } from "./map.js";
import type { LdImmRef } from "./prog.js";

/** One instruction as the patcher handles it. */
interface RawInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const LD_IMM64 = 0x18;
const CALL = 0x85;
const BPF_FUNC_map_lookup_elem = 1;
/** BPF_REG_AX, the verifier's scratch register. */
const REG_AX = 11;
/** offsetof(struct bpf_array, value) (= pptrs) on this machine's kernel. */
export const BPF_ARRAY_VALUE_OFF = 312;
/** offsetof(struct htab_elem, key) on this machine's kernel. */
export const HTAB_ELEM_KEY_OFF = 48;
/** offsetof(struct htab_elem, lru_node) + offsetof(struct bpf_lru_node, ref). */
const HTAB_ELEM_LRU_REF_OFF = 35;
/** BPF_ADDR_PERCPU: the off of BPF_MOV64_PERCPU_REG. */
const ADDR_PERCPU = -1;

const I = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({
  code,
  dst,
  src,
  off,
  imm,
});
const ALU64_ADD_K = (dst: number, imm: number) => I(0x07, dst, 0, 0, imm);
const ALU64_ADD_X = (dst: number, src: number) => I(0x0f, dst, src, 0, 0);
const ALU64_LSH_K = (dst: number, imm: number) => I(0x67, dst, 0, 0, imm);
const ALU64_MUL_K = (dst: number, imm: number) => I(0x27, dst, 0, 0, imm);
const ALU32_AND_K = (dst: number, imm: number) => I(0x54, dst, 0, 0, imm);
const MOV64_K = (dst: number, imm: number) => I(0xb7, dst, 0, 0, imm);
const MOV32_K = (dst: number, imm: number) => I(0xb4, dst, 0, 0, imm);
const MOV64_PERCPU = (dst: number, src: number) => I(0xbf, dst, src, ADDR_PERCPU, 0);
const LDX = (size: "B" | "H" | "W" | "DW", dst: number, src: number, off: number) =>
  I(0x61 | { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 }[size], dst, src, off, 0);
const ST_B = (dst: number, off: number, imm: number) => I(0x72, dst, 0, off, imm);
const JEQ_K = (dst: number, imm: number, off: number) => I(0x15, dst, 0, off, imm);
const JNE_K = (dst: number, imm: number, off: number) => I(0x55, dst, 0, off, imm);
const JGE_K = (dst: number, imm: number, off: number) => I(0x35, dst, 0, off, imm);
const JA = (off: number) => I(0x05, 0, 0, off, 0);
const CALL_K = (imm: number) => I(CALL, 0, 0, 0, imm);

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** array_map_gen_lookup() and its siblings: the inline sequence, or null (a plain call stays). */
export function mapGenLookup(map: BpfMap): RawInsn[] | null {
  const { map_type: type } = map;
  if (type === MapType.ARRAY || type === MapType.PERCPU_ARRAY) {
    if (map.map_flags & MapFlag.INNER_MAP) return null;
    const percpu = type === MapType.PERCPU_ARRAY;
    const tail = percpu ? 5 : 3;
    const out = [ALU64_ADD_K(1, BPF_ARRAY_VALUE_OFF), LDX("W", 0, 2, 0)];
    if (map.bypass_spec_v1) out.push(JGE_K(0, map.max_entries, tail));
    else out.push(JGE_K(0, map.max_entries, tail + 1), ALU32_AND_K(0, map.index_mask));
    // A per-CPU array stores one pointer per element; a plain one the values themselves.
    const elem = percpu ? 8 : map.elem_size;
    out.push(isPow2(elem) ? ALU64_LSH_K(0, Math.log2(elem)) : ALU64_MUL_K(0, elem));
    out.push(ALU64_ADD_X(0, 1));
    if (percpu) out.push(LDX("DW", 0, 0, 0), MOV64_PERCPU(0, 0));
    out.push(JA(1), MOV64_K(0, 0));
    return out;
  }
  if (type === MapType.ARRAY_OF_MAPS) {
    // array_of_map_gen_lookup(): the slot holds the inner map's pointer (8 bytes), read it
    const out = [ALU64_ADD_K(1, BPF_ARRAY_VALUE_OFF), LDX("W", 0, 2, 0)];
    if (map.bypass_spec_v1) out.push(JGE_K(0, map.max_entries, 5));
    else out.push(JGE_K(0, map.max_entries, 6), ALU32_AND_K(0, map.index_mask));
    out.push(ALU64_LSH_K(0, 3), ALU64_ADD_X(0, 1), LDX("DW", 0, 0, 0));
    out.push(JEQ_K(0, 0, 1), JA(1), MOV64_K(0, 0));
    return out;
  }
  const valueOff = HTAB_ELEM_KEY_OFF + ((map.key_size + 7) & ~7);
  if (type === MapType.HASH_OF_MAPS) {
    // htab_of_map_gen_lookup(): the element's value is the inner map's pointer
    return [
      CALL_K(BPF_FUNC_map_lookup_elem),
      JEQ_K(0, 0, 2),
      ALU64_ADD_K(0, valueOff),
      LDX("DW", 0, 0, 0),
    ];
  }
  // __htab_map_lookup_elem: the model keeps the helper id in the call.
  if (type === MapType.HASH) {
    return [CALL_K(BPF_FUNC_map_lookup_elem), JEQ_K(0, 0, 1), ALU64_ADD_K(0, valueOff)];
  }
  if (type === MapType.PERCPU_HASH) {
    return [
      CALL_K(BPF_FUNC_map_lookup_elem),
      JEQ_K(0, 0, 3),
      ALU64_ADD_K(0, valueOff),
      LDX("DW", 0, 0, 0),
      MOV64_PERCPU(0, 0),
    ];
  }
  if (type === MapType.LRU_HASH) {
    return [
      CALL_K(BPF_FUNC_map_lookup_elem),
      JEQ_K(0, 0, 4),
      LDX("B", 1, 0, HTAB_ELEM_LRU_REF_OFF),
      JNE_K(1, 0, 1),
      ST_B(0, HTAB_ELEM_LRU_REF_OFF, 1),
      ALU64_ADD_K(0, valueOff),
    ];
  }
  return null;
}

/** Program types whose ctx is `struct __sk_buff` converted by bpf_convert_ctx_access(). */
const SKB_PROG_TYPES = new Set<number>([
  ProgType.SOCKET_FILTER,
  ProgType.CGROUP_SKB,
  ProgType.SCHED_CLS,
  ProgType.SCHED_ACT,
]);

/**
 * bpf_convert_ctx_access() for full-width reads of `struct __sk_buff` (6.18, x86_64): the
 * sequence replacing `dst = *(size *)(src + off)`, or undefined when the model does not convert
 * that field (it is then left as it is).
 */
const SKB_READS: Record<number, { size: 4 | 8; emit: (dst: number, src: number) => RawInsn[] }> = {
  0: { size: 4, emit: (d, s) => [LDX("W", d, s, 112)] }, // len
  4: { size: 4, emit: (d, s) => [LDX("B", d, s, 128), ALU32_AND_K(d, 7)] }, // pkt_type
  8: { size: 4, emit: (d, s) => [LDX("W", d, s, 164)] }, // mark
  12: { size: 4, emit: (d, s) => [LDX("H", d, s, 124)] }, // queue_mapping
  16: { size: 4, emit: (d, s) => [LDX("H", d, s, 176)] }, // protocol
  20: { size: 4, emit: (d, s) => [LDX("W", d, s, 152), JEQ_K(d, 0, 1), MOV32_K(d, 1)] }, // vlan_present
  24: { size: 4, emit: (d, s) => [LDX("H", d, s, 154)] }, // vlan_tci
  28: { size: 4, emit: (d, s) => [LDX("H", d, s, 152)] }, // vlan_proto
  32: { size: 4, emit: (d, s) => [LDX("W", d, s, 140)] }, // priority
  36: { size: 4, emit: (d, s) => [LDX("W", d, s, 144)] }, // ingress_ifindex
  40: { size: 4, emit: (d, s) => [LDX("DW", d, s, 16), JEQ_K(d, 0, 1), LDX("W", d, d, 224)] }, // ifindex
  44: { size: 4, emit: (d, s) => [LDX("H", d, s, 132)] }, // tc_index
  48: { size: 4, emit: (d, s) => [LDX("W", d, s, 48)] }, // cb[0]
  52: { size: 4, emit: (d, s) => [LDX("W", d, s, 52)] }, // cb[1]
  56: { size: 4, emit: (d, s) => [LDX("W", d, s, 56)] }, // cb[2]
  60: { size: 4, emit: (d, s) => [LDX("W", d, s, 60)] }, // cb[3]
  64: { size: 4, emit: (d, s) => [LDX("W", d, s, 64)] }, // cb[4]
  68: { size: 4, emit: (d, s) => [LDX("W", d, s, 148)] }, // hash
  84: { size: 4, emit: (d, s) => [LDX("W", d, s, 156), JGE_K(d, 0x101, 1), MOV64_K(d, 0)] }, // napi_id
  164: { size: 4, emit: (d, s) => gsoField(d, s, 6) }, // gso_segs
  168: { size: 8, emit: (d, s) => [LDX("DW", d, s, 24)] }, // sk
  176: { size: 4, emit: (d, s) => gsoField(d, s, 4) }, // gso_size
};

/** gso_segs / gso_size: skb_shinfo(skb) = skb->head + skb->end, then the u16 field. */
function gsoField(dst: number, src: number, off: number): RawInsn[] {
  return [LDX("W", REG_AX, src, 188), LDX("DW", dst, src, 192), ALU64_ADD_X(dst, REG_AX)].concat(
    LDX("H", dst, dst, off),
  );
}

const SIZE_BYTES = [4, 2, 1, 8];

/**
 * The registers holding the ctx pointer before each instruction. The model has no type
 * analysis: it follows r1 and its copies in program order (a copy makes another ctx register;
 * any other write, or a call for r0–r5, ends one) — the same rule as maxCtxOffset().
 */
function ctxRegsBefore(insns: readonly RawInsn[]): number[] {
  const out: number[] = [];
  let regs = 1 << 1;
  for (let i = 0; i < insns.length; i++) {
    out.push(regs);
    const { code, dst, src, off, imm } = insns[i];
    const cls = code & 7;
    if (cls === 0x01) regs &= ~(1 << dst);
    else if (cls === 0x03 && (code & 0xe0) === 0xc0 && imm & 1) regs &= ~(1 << src);
    else if (cls === 0x04 || cls === 0x07) {
      if (code === 0xbf && off === 0 && regs & (1 << src)) regs |= 1 << dst;
      else regs &= ~(1 << dst);
    } else if (code === LD_IMM64) {
      regs &= ~(1 << dst);
      out.push(regs);
      i++;
    } else if (code === CALL) regs &= ~0x3f;
  }
  return out;
}

/** Indexes that some branch, call or function pointer lands on (basic-block starts). */
function branchTargets(insns: readonly RawInsn[]): Set<number> {
  const t = new Set<number>();
  for (let i = 0; i < insns.length; i++) {
    const target = branchTarget(insns, i);
    if (target !== null) t.add(target);
    if (insns[i].code === LD_IMM64) i++;
  }
  return t;
}

/** Where instruction i branches to, or null when it does not branch. */
function branchTarget(insns: readonly RawInsn[], i: number): number | null {
  const { code, src, off, imm } = insns[i];
  if (code === LD_IMM64) return src === Pseudo.FUNC ? i + imm + 1 : null;
  const cls = code & 7;
  if (cls !== 0x05 && cls !== 0x06) return null;
  const op = code & 0xf0;
  if (op === 0x90) return null; // exit
  if (op === 0x80) return src === Pseudo.CALL ? i + imm + 1 : null;
  if (cls === 0x06 && op === 0x00) return i + imm + 1; // gotol
  return i + off + 1;
}

/**
 * The map r1 holds at the helper call at `i`, as the verifier's map pointer state would record
 * it: only when the last write to r1 before the call, in the same straight line (no branch lands
 * in between), is an ld_imm64 of a map. Otherwise the model treats the state as poisoned.
 */
function mapAtCall(
  insns: readonly RawInsn[],
  i: number,
  refs: ReadonlyMap<number, LdImmRef>,
  targets: ReadonlySet<number>,
): BpfMap | null {
  for (let j = i - 1; j >= 0; j--) {
    // A branch landing after j (on the way to the call) means r1 may come from elsewhere.
    if (targets.has(j + 1)) return null;
    if (insns[j].code === 0 && j >= 1 && insns[j - 1].code === LD_IMM64) {
      j--;
      if (insns[j].dst !== 1) continue;
      const ref = refs.get(j);
      return ref && ref.off === undefined ? ref.map : null;
    }
    const w = insns[j];
    const cls = w.code & 7;
    if (writesR1(w) || cls === 0x05 || cls === 0x06) return null;
  }
  return null;
}

function writesR1(w: RawInsn): boolean {
  const cls = w.code & 7;
  if (cls === 0x04 || cls === 0x07 || cls === 0x01) return w.dst === 1;
  if (cls === 0x03 && (w.code & 0xe0) === 0xc0 && w.imm & 1) return w.src === 1;
  return false;
}

// Little-endian fields combined by hand: a DataView over a small (on-heap) buffer would first
// move its bytes to a new ArrayBuffer, which costs more than the whole decode.
function decode(b: Uint8Array): RawInsn[] {
  const out: RawInsn[] = [];
  for (let p = 0; p < b.length; p += 8) {
    out.push({
      code: b[p],
      dst: b[p + 1] & 0x0f,
      src: b[p + 1] >> 4,
      off: ((b[p + 2] | (b[p + 3] << 8)) << 16) >> 16,
      imm: b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24),
    });
  }
  return out;
}

function encode(insns: readonly RawInsn[]): Uint8Array {
  const b = new Uint8Array(insns.length * 8);
  insns.forEach((x, i) => {
    const p = i * 8;
    b[p] = x.code;
    b[p + 1] = (x.dst & 0x0f) | (x.src << 4);
    b[p + 2] = x.off;
    b[p + 3] = x.off >> 8;
    b[p + 4] = x.imm;
    b[p + 5] = x.imm >> 8;
    b[p + 6] = x.imm >> 16;
    b[p + 7] = x.imm >> 24;
  });
  return b;
}

export interface FixupResult {
  /** The instructions as the kernel keeps them after the rewrites (prog->insnsi). */
  readonly insns: Uint8Array;
  /** The map references of the rewritten program's ld_imm64s, by their new index. */
  readonly ldImm: ReadonlyMap<number, LdImmRef>;
}

export interface FixupOptions {
  readonly progType: number;
  /** prog->jit_requested (the map_gen_lookup inlining needs it). */
  readonly jitRequested: boolean;
  /**
   * The map each helper call names as do_check recorded it (null: poisoned); it gives the map
   * at a call whose r1 is not an ld_imm64 in the same straight line (an inner map's template).
   */
  readonly callMaps?: ReadonlyMap<number, BpfMap | null>;
}

/**
 * convert_ctx_accesses() + do_misc_fixups() over `xlated` (instructions after
 * convert_pseudo_ld_imm64, same indexes as the submitted ones) with the ld_imm64 map references
 * by index.
 */
export function fixupProgram(
  xlated: Uint8Array,
  refs: ReadonlyMap<number, LdImmRef>,
  opts: FixupOptions,
): FixupResult {
  const insns = decode(xlated);
  const targets = branchTargets(insns);
  const ctxRegs = SKB_PROG_TYPES.has(opts.progType) ? ctxRegsBefore(insns) : null;
  const patches = new Map<number, RawInsn[]>();
  for (let i = 0; i < insns.length; i++) {
    const x = insns[i];
    if (x.code === LD_IMM64) {
      i++;
      continue;
    }
    if (ctxRegs && (x.code & 0xe7) === 0x61 && ctxRegs[i] & (1 << x.src)) {
      const conv = SKB_READS[x.off];
      if (conv && SIZE_BYTES[(x.code >> 3) & 3] === conv.size)
        patches.set(i, conv.emit(x.dst, x.src));
      continue;
    }
    if (x.code === CALL && x.src === 0 && x.imm === BPF_FUNC_map_lookup_elem && opts.jitRequested) {
      const map = mapAtCall(insns, i, refs, targets) ?? opts.callMaps?.get(i) ?? null;
      const seq = map ? mapGenLookup(map) : null;
      if (seq) patches.set(i, seq);
    }
  }
  if (!patches.size) return { insns: xlated, ldImm: refs };

  // New positions of the old instructions; branches keep pointing at the same old targets.
  const start: number[] = [];
  let n = 0;
  for (let i = 0; i < insns.length; i++) {
    start.push(n);
    n += patches.get(i)?.length ?? 1;
  }
  start.push(n);
  const out: RawInsn[] = [];
  const ldImm = new Map<number, LdImmRef>();
  for (let i = 0; i < insns.length; i++) {
    const patch = patches.get(i);
    if (patch) {
      out.push(...patch);
      continue;
    }
    const x = { ...insns[i] };
    const target = branchTarget(insns, i);
    if (target !== null) {
      const rel = start[target] - start[i] - 1;
      const usesImm =
        x.code === LD_IMM64 || x.code === CALL || ((x.code & 7) === 0x06 && (x.code & 0xf0) === 0);
      if (usesImm) x.imm = rel;
      else x.off = rel;
    }
    const ref = refs.get(i);
    if (ref) ldImm.set(start[i], ref);
    out.push(x);
  }
  return { insns: encode(out), ldImm };
}

/**
 * bpf_insn_prepare_dump(): the translated instructions as BPF_OBJ_GET_INFO_BY_FD copies them
 * out — map addresses replaced by the map id (src_reg MAP_FD) or the map id and value offset
 * (src_reg MAP_VALUE).
 */
export function insnPrepareDump(
  insns: Uint8Array,
  refs: ReadonlyMap<number, LdImmRef>,
): Uint8Array {
  if (!refs.size) return insns;
  const out = insns.slice();
  const dv = new DataView(out.buffer);
  for (const [i, ref] of refs) {
    const p = i * 8;
    out[p + 1] =
      (out[p + 1] & 0x0f) | ((ref.off === undefined ? Pseudo.MAP_FD : Pseudo.MAP_VALUE) << 4);
    dv.setInt32(p + 4, ref.map.id, true);
    dv.setUint32(p + 12, ref.off ?? 0, true);
  }
  return out;
}
