/**
 * Scalar bounds as the kernel tracks them: a tnum plus signed and unsigned 64- and 32-bit
 * ranges, kept consistent by reg_bounds_sync() (update from the tnum, deduce each range from
 * the others, tighten the tnum from the ranges), and the ALU transfer functions of
 * adjust_scalar_min_max_vals() and the branch refinements of reg_set_min_max().
 */
import {
  TNUM_UNKNOWN,
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumCast,
  tnumClearSubreg,
  tnumConst,
  tnumIntersect,
  tnumIsConst,
  tnumLshift,
  tnumMul,
  tnumNeg,
  tnumOr,
  tnumRange,
  tnumRshift,
  tnumSub,
  tnumSubreg,
  tnumSubregIsConst,
  tnumWithSubreg,
  tnumXor,
} from "./tnum.js";
import {
  type RegState,
  RegType,
  S32_MAX,
  S32_MIN,
  S64_MAX,
  S64_MIN,
  U32_MAX,
  U64_MAX,
} from "./verifier_state.js";

const s64 = (x: bigint) => BigInt.asIntN(64, x);
const u64 = (x: bigint) => BigInt.asUintN(64, x);
const s32 = (x: bigint | number) => Number(BigInt.asIntN(32, BigInt(x)));
const u32 = (x: bigint | number) => Number(BigInt.asUintN(32, BigInt(x)));
const bmax = (a: bigint, b: bigint) => (a > b ? a : b);
const bmin = (a: bigint, b: bigint) => (a < b ? a : b);

export function markReg64Unbounded(r: RegState): void {
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64_MAX;
}

export function markReg32Unbounded(r: RegState): void {
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0;
  r.u32max = U32_MAX;
}

export function markRegUnbounded(r: RegState): void {
  markReg64Unbounded(r);
  markReg32Unbounded(r);
}

/** __mark_reg_known(): the register holds exactly `imm` (u64). */
export function markRegKnown(r: RegState, imm: bigint): void {
  const v = u64(imm);
  r.varOff = tnumConst(v);
  r.smin = s64(v);
  r.smax = s64(v);
  r.umin = v;
  r.umax = v;
  r.s32min = s32(v);
  r.s32max = s32(v);
  r.u32min = u32(v);
  r.u32max = u32(v);
  r.off = 0;
  r.id = 0;
  r.range = 0;
  r.map = null;
}

/** mark_reg_unknown(): a scalar with nothing known. */
export function markRegUnknown(r: RegState): void {
  const frameno = r.frameno;
  r.reset();
  r.type = RegType.SCALAR_VALUE;
  r.frameno = frameno;
  r.varOff = TNUM_UNKNOWN;
  markRegUnbounded(r);
}

export function markRegNotInit(r: RegState): void {
  markRegUnknown(r);
  r.type = RegType.NOT_INIT;
}

/** A scalar known to be `v`. */
export function markRegConst(r: RegState, v: bigint): void {
  markRegUnknown(r);
  markRegKnown(r, v);
}

/** mark_reg_known_zero() for a pointer about to get its type. */
export function markRegKnownZero(r: RegState): void {
  markRegUnknown(r);
  markRegKnown(r, 0n);
}

export function update32(r: RegState): void {
  const v = tnumSubreg(r.varOff);
  r.s32min = Math.max(r.s32min, s32(v.value | (v.mask & 0x80000000n)));
  r.s32max = Math.min(r.s32max, s32(v.value | (v.mask & 0x7fffffffn)));
  r.u32min = Math.max(r.u32min, u32(v.value));
  r.u32max = Math.min(r.u32max, u32(v.value | v.mask));
}

export function update64(r: RegState): void {
  const v = r.varOff;
  r.smin = bmax(r.smin, s64(v.value | (v.mask & (1n << 63n))));
  r.smax = bmin(r.smax, s64(v.value | (v.mask & S64_MAX)));
  r.umin = bmax(r.umin, v.value);
  r.umax = bmin(r.umax, v.value | v.mask);
}

export function updateRegBounds(r: RegState): void {
  update32(r);
  update64(r);
}

function deduce32(r: RegState): void {
  if (r.umin >> 32n === r.umax >> 32n) {
    r.u32min = Math.max(r.u32min, u32(r.umin));
    r.u32max = Math.min(r.u32max, u32(r.umax));
    if (s32(r.umin) <= s32(r.umax)) {
      r.s32min = Math.max(r.s32min, s32(r.umin));
      r.s32max = Math.min(r.s32max, s32(r.umax));
    }
  }
  if (r.smin >> 32n === r.smax >> 32n) {
    r.u32min = Math.max(r.u32min, u32(r.smin));
    r.u32max = Math.min(r.u32max, u32(r.smax));
    if (s32(r.smin) <= s32(r.smax)) {
      r.s32min = Math.max(r.s32min, s32(r.smin));
      r.s32max = Math.min(r.s32max, s32(r.smax));
    }
  }
  if (u32(r.umin >> 32n) + 1 === u32(r.umax >> 32n) && s32(r.umin) < 0 && s32(r.umax) >= 0) {
    r.s32min = Math.max(r.s32min, s32(r.umin));
    r.s32max = Math.min(r.s32max, s32(r.umax));
  }
  if (u32(r.smin >> 32n) + 1 === u32(r.smax >> 32n) && s32(r.smin) < 0 && s32(r.smax) >= 0) {
    r.s32min = Math.max(r.s32min, s32(r.smin));
    r.s32max = Math.min(r.s32max, s32(r.smax));
  }
  if (s32(r.u32min) <= s32(r.u32max)) {
    r.s32min = Math.max(r.s32min, s32(r.u32min));
    r.s32max = Math.min(r.s32max, s32(r.u32max));
  }
  if (u32(r.s32min) <= u32(r.s32max)) {
    r.u32min = Math.max(u32(r.s32min), r.u32min);
    r.u32max = Math.min(u32(r.s32max), r.u32max);
  }
}

function deduce64(r: RegState): void {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = bmax(r.smin, s64(r.umin));
    r.smax = bmin(r.smax, s64(r.umax));
  }
  if (u64(r.smin) <= u64(r.smax)) {
    r.umin = bmax(u64(r.smin), r.umin);
    r.umax = bmin(u64(r.smax), r.umax);
  } else if (r.umax < u64(r.smin)) {
    r.smin = s64(r.umin);
    r.umax = bmin(r.umax, u64(r.smax));
  } else if (u64(r.smax) < r.umin) {
    r.smax = s64(r.umax);
    r.umin = bmax(r.umin, u64(r.smin));
  }
}

function deduceMixed(r: RegState): void {
  const lo = ~0xffffffffn;
  const newUmin = (r.umin & lo) | BigInt(r.u32min);
  const newUmax = (r.umax & lo) | BigInt(r.u32max);
  r.umin = bmax(r.umin, newUmin);
  r.umax = bmin(r.umax, newUmax);
  const newSmin = s64((u64(r.smin) & lo) | BigInt(r.u32min));
  const newSmax = s64((u64(r.smax) & lo) | BigInt(r.u32max));
  r.smin = bmax(r.smin, newSmin);
  r.smax = bmin(r.smax, newSmax);
  if (r.s32min >= 0 && r.smin >= BigInt(S32_MIN) && r.smax <= BigInt(S32_MAX)) {
    r.smin = BigInt(r.s32min);
    r.smax = BigInt(r.s32max);
    r.umin = BigInt(r.s32min);
    r.umax = BigInt(r.s32max);
    r.varOff = tnumIntersect(r.varOff, tnumRange(r.smin, r.smax));
  }
}

function deduceBounds(r: RegState): void {
  deduce32(r);
  deduce64(r);
  deduceMixed(r);
}

function boundOffset(r: RegState): void {
  const v64 = tnumIntersect(r.varOff, tnumRange(r.umin, r.umax));
  const v32 = tnumIntersect(tnumSubreg(v64), tnumRange(BigInt(r.u32min), BigInt(r.u32max)));
  r.varOff = tnumOr(tnumClearSubreg(v64), v32);
}

/** reg_bounds_sync() */
export function regBoundsSync(r: RegState): void {
  updateRegBounds(r);
  deduceBounds(r);
  deduceBounds(r);
  boundOffset(r);
  updateRegBounds(r);
}

/** __reg_assign_32_into_64() */
function assign32Into64(r: RegState): void {
  r.umin = BigInt(r.u32min);
  r.umax = BigInt(r.u32max);
  if (r.s32min >= 0 && r.s32max >= 0) {
    r.smin = BigInt(r.s32min);
    r.smax = BigInt(r.s32max);
  } else {
    r.smin = 0n;
    r.smax = BigInt(U32_MAX);
  }
}

/** zext_32_to_64(): an ALU32 result with its upper half cleared. */
export function zext32To64(r: RegState): void {
  r.varOff = tnumSubreg(r.varOff);
  assign32Into64(r);
}

/** coerce_reg_to_size(): a zero-extending narrow load or truncation to `size` bytes. */
export function coerceRegToSize(r: RegState, size: number): void {
  if (size >= 8) return;
  r.varOff = tnumCast(r.varOff, size);
  const mask = (1n << BigInt(size * 8)) - 1n;
  if ((r.umin & ~mask) === (r.umax & ~mask)) {
    r.umin &= mask;
    r.umax &= mask;
  } else {
    r.umin = 0n;
    r.umax = mask;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  if (size < 4) markReg32Unbounded(r);
  regBoundsSync(r);
}

function sext(v: bigint, size: number): bigint {
  return BigInt.asIntN(size * 8, v);
}

/** coerce_reg_to_size_sx(): a sign-extending narrow load or movsx of `size` bytes. */
export function coerceRegToSizeSx(r: RegState, size: number): void {
  const bits = BigInt(size * 8);
  if (tnumIsConst(r.varOff)) {
    const v = u64(sext(r.varOff.value, size));
    r.varOff = tnumConst(v);
    r.smin = r.smax = s64(v);
    r.umin = r.umax = v;
    r.s32min = r.s32max = s32(v);
    r.u32min = r.u32max = u32(v);
    return;
  }
  const top1 = (u64(r.smax) >> bits) << bits;
  const top2 = (u64(r.smin) >> bits) << bits;
  if (top1 === top2) {
    const a = sext(u64(r.smax), size);
    const b = sext(u64(r.smin), size);
    const mx = bmax(a, b);
    const mn = bmin(a, b);
    if (mx >= 0n === mn >= 0n) {
      r.smin = mn;
      r.smax = mx;
      r.s32min = s32(mn);
      r.s32max = s32(mx);
      r.umin = u64(mn);
      r.umax = u64(mx);
      r.u32min = u32(mn);
      r.u32max = u32(mx);
      r.varOff = tnumRange(u64(mn), u64(mx));
      return;
    }
  }
  const lim = 1n << (bits - 1n);
  r.smin = -lim;
  r.smax = lim - 1n;
  r.s32min = Number(-lim);
  r.s32max = Number(lim - 1n);
  r.umin = 0n;
  r.u32min = 0;
  r.umax = U64_MAX;
  r.u32max = U32_MAX;
  r.varOff = TNUM_UNKNOWN;
}

/** coerce_subreg_to_size_sx(): movsx into a 32-bit register. */
export function coerceSubregToSizeSx(r: RegState, size: number): void {
  const bits = size * 8;
  if (tnumIsConst(r.varOff)) {
    const v = sext(r.varOff.value & 0xffffffffn, size);
    r.varOff = tnumConst(u64(v));
    r.s32min = r.s32max = s32(v);
    r.u32min = r.u32max = u32(v);
    return;
  }
  const top1 = (u32(r.s32max) >>> bits) << bits;
  const top2 = (u32(r.s32min) >>> bits) << bits;
  if (top1 === top2) {
    const a = Number(sext(BigInt(r.s32max), size));
    const b = Number(sext(BigInt(r.s32min), size));
    const mx = Math.max(a, b);
    const mn = Math.min(a, b);
    if (mn >= 0 === mx >= 0) {
      r.s32min = mn;
      r.s32max = mx;
      r.u32min = u32(mn);
      r.u32max = u32(mx);
      r.varOff = tnumSubreg(tnumRange(u64(BigInt(mn)), u64(BigInt(mx))));
      return;
    }
  }
  const lim = 1 << (bits - 1);
  r.s32min = -lim;
  r.s32max = lim - 1;
  r.u32min = 0;
  r.u32max = U32_MAX;
  r.varOff = tnumSubreg(TNUM_UNKNOWN);
}

// ---- ALU transfer functions (adjust_scalar_min_max_vals) ----

const addOv64s = (a: bigint, b: bigint) => {
  const r = a + b;
  return r < S64_MIN || r > S64_MAX ? null : r;
};
const subOv64s = (a: bigint, b: bigint) => {
  const r = a - b;
  return r < S64_MIN || r > S64_MAX ? null : r;
};
const mulOv64s = (a: bigint, b: bigint) => {
  const r = a * b;
  return r < S64_MIN || r > S64_MAX ? null : r;
};

function add64(d: RegState, s: RegState): void {
  const smin = addOv64s(d.smin, s.smin);
  const smax = addOv64s(d.smax, s.smax);
  if (smin === null || smax === null) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = smin;
    d.smax = smax;
  }
  const umin = d.umin + s.umin;
  const umax = d.umax + s.umax;
  const minOv = umin > U64_MAX;
  const maxOv = umax > U64_MAX;
  if (!minOv && maxOv) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = u64(umin);
    d.umax = u64(umax);
  }
}

function add32(d: RegState, s: RegState): void {
  const smin = d.s32min + s.s32min;
  const smax = d.s32max + s.s32max;
  if (smin < S32_MIN || smin > S32_MAX || smax < S32_MIN || smax > S32_MAX) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = smin;
    d.s32max = smax;
  }
  const umin = d.u32min + s.u32min;
  const umax = d.u32max + s.u32max;
  if (umin <= U32_MAX && umax > U32_MAX) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = u32(umin);
    d.u32max = u32(umax);
  }
}

function sub64(d: RegState, s: RegState): void {
  const smin = subOv64s(d.smin, s.smax);
  const smax = subOv64s(d.smax, s.smin);
  if (smin === null || smax === null) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = smin;
    d.smax = smax;
  }
  const umin = d.umin - s.umax;
  const umax = d.umax - s.umin;
  if (umin < 0n && umax >= 0n) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = u64(umin);
    d.umax = u64(umax);
  }
}

function sub32(d: RegState, s: RegState): void {
  const smin = d.s32min - s.s32max;
  const smax = d.s32max - s.s32min;
  if (smin < S32_MIN || smin > S32_MAX || smax < S32_MIN || smax > S32_MAX) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = smin;
    d.s32max = smax;
  }
  const umin = d.u32min - s.u32max;
  const umax = d.u32max - s.u32min;
  if (umin < 0 && umax >= 0) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = u32(umin);
    d.u32max = u32(umax);
  }
}

function mul64(d: RegState, s: RegState): void {
  const umax = d.umax * s.umax;
  const umin = d.umin * s.umin;
  if (umax > U64_MAX || umin > U64_MAX) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = umin;
    d.umax = umax;
  }
  const p = [
    mulOv64s(d.smin, s.smin),
    mulOv64s(d.smin, s.smax),
    mulOv64s(d.smax, s.smin),
    mulOv64s(d.smax, s.smax),
  ];
  if (p.some((x) => x === null)) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    const q = p as bigint[];
    d.smin = q.reduce(bmin);
    d.smax = q.reduce(bmax);
  }
}

function mul32(d: RegState, s: RegState): void {
  const umax = BigInt(d.u32max) * BigInt(s.u32max);
  const umin = BigInt(d.u32min) * BigInt(s.u32min);
  if (umax > BigInt(U32_MAX) || umin > BigInt(U32_MAX)) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = Number(umin);
    d.u32max = Number(umax);
  }
  const p = [
    BigInt(d.s32min) * BigInt(s.s32min),
    BigInt(d.s32min) * BigInt(s.s32max),
    BigInt(d.s32max) * BigInt(s.s32min),
    BigInt(d.s32max) * BigInt(s.s32max),
  ];
  if (p.some((x) => x < BigInt(S32_MIN) || x > BigInt(S32_MAX))) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = Number(p.reduce(bmin));
    d.s32max = Number(p.reduce(bmax));
  }
}

function signFromUnsigned64(d: RegState): void {
  if (s64(d.umin) <= s64(d.umax)) {
    d.smin = s64(d.umin);
    d.smax = s64(d.umax);
  } else {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  }
}

function signFromUnsigned32(d: RegState): void {
  if (s32(d.u32min) <= s32(d.u32max)) {
    d.s32min = s32(d.u32min);
    d.s32max = s32(d.u32max);
  } else {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  }
}

function bitop64(d: RegState, s: RegState, op: "and" | "or" | "xor"): void {
  if (tnumIsConst(s.varOff) && tnumIsConst(d.varOff)) {
    markRegKnown(d, d.varOff.value);
    return;
  }
  if (op === "and") {
    d.umin = d.varOff.value;
    d.umax = bmin(d.umax, s.umax);
  } else if (op === "or") {
    d.umin = bmax(d.umin, s.umin);
    d.umax = d.varOff.value | d.varOff.mask;
  } else {
    d.umin = d.varOff.value;
    d.umax = d.varOff.value | d.varOff.mask;
  }
  signFromUnsigned64(d);
  updateRegBounds(d);
}

function bitop32(d: RegState, s: RegState, op: "and" | "or" | "xor"): void {
  const v = tnumSubreg(d.varOff);
  if (tnumSubregIsConst(s.varOff) && tnumSubregIsConst(d.varOff)) {
    d.u32min = d.u32max = u32(v.value);
    d.s32min = d.s32max = s32(v.value);
    return;
  }
  if (op === "and") {
    d.u32min = u32(v.value);
    d.u32max = Math.min(d.u32max, s.u32max);
  } else if (op === "or") {
    d.u32min = Math.max(d.u32min, s.u32min);
    d.u32max = u32(v.value | v.mask);
  } else {
    d.u32min = u32(v.value);
    d.u32max = u32(v.value | v.mask);
  }
  signFromUnsigned32(d);
}

function lsh64(d: RegState, uminVal: bigint, umaxVal: bigint): void {
  d.smax = uminVal === 32n && umaxVal === 32n && d.s32max >= 0 ? BigInt(d.s32max) << 32n : S64_MAX;
  d.smin = uminVal === 32n && umaxVal === 32n && d.s32min >= 0 ? BigInt(d.s32min) << 32n : S64_MIN;
  if (d.umax > 1n << (63n - umaxVal)) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = u64(d.umin << uminVal);
    d.umax = u64(d.umax << umaxVal);
  }
}

function lsh32(d: RegState, uminVal: number, umaxVal: number): void {
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  if (umaxVal > 31 || d.u32max > 2 ** (31 - umaxVal)) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = u32(BigInt(d.u32min) << BigInt(uminVal));
    d.u32max = u32(BigInt(d.u32max) << BigInt(umaxVal));
  }
}

/** adjust_scalar_min_max_vals() for two scalars; `op` is BPF_OP(code). */
export function adjustScalar(d: RegState, src: RegState, op: number, alu32: boolean): void {
  const s = src;
  // is_safe_to_compute_dst_reg_range()
  let srcConst: boolean;
  if (alu32) {
    srcConst = tnumSubregIsConst(s.varOff) && s.s32min === s.s32max && s.u32min === s.u32max;
  } else {
    srcConst = tnumIsConst(s.varOff) && s.smin === s.smax && s.umin === s.umax;
  }
  const bits = alu32 ? 32n : 64n;
  let safe: boolean;
  switch (op) {
    case 0x00:
    case 0x10:
    case 0x80:
    case 0x50:
    case 0xa0:
    case 0x40:
    case 0x20:
      safe = true;
      break;
    case 0x60:
    case 0x70:
    case 0xc0:
      safe = srcConst && s.umax < bits;
      break;
    default:
      safe = false;
  }
  if (!safe) {
    markRegUnknown(d);
    return;
  }
  switch (op) {
    case 0x00: // ADD
      add32(d, s);
      add64(d, s);
      d.varOff = tnumAdd(d.varOff, s.varOff);
      break;
    case 0x10: // SUB
      sub32(d, s);
      sub64(d, s);
      d.varOff = tnumSub(d.varOff, s.varOff);
      break;
    case 0x80: {
      // NEG
      const old = d.clone();
      markRegKnown(d, 0n);
      sub32(d, old);
      sub64(d, old);
      d.varOff = tnumNeg(old.varOff);
      break;
    }
    case 0x20: // MUL
      d.varOff = tnumMul(d.varOff, s.varOff);
      mul32(d, s);
      mul64(d, s);
      break;
    case 0x50: // AND
      d.varOff = tnumAnd(d.varOff, s.varOff);
      bitop32(d, s, "and");
      bitop64(d, s, "and");
      break;
    case 0x40: // OR
      d.varOff = tnumOr(d.varOff, s.varOff);
      bitop32(d, s, "or");
      bitop64(d, s, "or");
      break;
    case 0xa0: // XOR
      d.varOff = tnumXor(d.varOff, s.varOff);
      bitop32(d, s, "xor");
      bitop64(d, s, "xor");
      break;
    case 0x60: // LSH
      if (alu32) {
        const sub = tnumSubreg(d.varOff);
        lsh32(d, s.u32min, s.u32max);
        d.varOff = tnumSubreg(tnumLshift(sub, s.u32min));
        markReg64Unbounded(d);
        update32(d);
      } else {
        lsh64(d, s.umin, s.umax);
        lsh32(d, Number(s.umin), Number(s.umax));
        d.varOff = tnumLshift(d.varOff, Number(s.umin));
        updateRegBounds(d);
      }
      break;
    case 0x70: // RSH
      if (alu32) {
        const sub = tnumSubreg(d.varOff);
        d.s32min = S32_MIN;
        d.s32max = S32_MAX;
        d.varOff = tnumRshift(sub, s.u32min);
        d.u32min = d.u32min >>> s.u32max;
        d.u32max = d.u32max >>> s.u32min;
        markReg64Unbounded(d);
        update32(d);
      } else {
        d.smin = S64_MIN;
        d.smax = S64_MAX;
        d.varOff = tnumRshift(d.varOff, Number(s.umin));
        d.umin >>= s.umax;
        d.umax >>= s.umin;
        markReg32Unbounded(d);
        updateRegBounds(d);
      }
      break;
    case 0xc0: // ARSH
      if (alu32) {
        const sh = s.u32min;
        d.s32min = d.s32min >> sh;
        d.s32max = d.s32max >> sh;
        d.varOff = tnumArshift(tnumSubreg(d.varOff), sh, 32);
        d.u32min = 0;
        d.u32max = U32_MAX;
        markReg64Unbounded(d);
        update32(d);
      } else {
        const sh = s.umin;
        d.smin >>= sh;
        d.smax >>= sh;
        d.varOff = tnumArshift(d.varOff, Number(sh), 64);
        d.umin = 0n;
        d.umax = U64_MAX;
        markReg32Unbounded(d);
        updateRegBounds(d);
      }
      break;
  }
  if (alu32) zext32To64(d);
  regBoundsSync(d);
}

// ---- branches ----

/** is_reg_const() / reg_const_value() */
export function isRegConst(r: RegState, is32: boolean): boolean {
  return (
    r.type === RegType.SCALAR_VALUE && (is32 ? tnumSubregIsConst(r.varOff) : tnumIsConst(r.varOff))
  );
}

export function regConstValue(r: RegState, is32: boolean): bigint {
  return is32 ? r.varOff.value & 0xffffffffn : r.varOff.value;
}

const JEQ = 0x10;
const JGT = 0x20;
const JGE = 0x30;
const JSET = 0x40;
const JNE = 0x50;
const JSGT = 0x60;
const JSGE = 0x70;
const JLT = 0xa0;
const JLE = 0xb0;
const JSLT = 0xc0;
const JSLE = 0xd0;
/** JSET | X: the negation of JSET (rev_opcode). */
const JSET_NOT = 0x48;

/** flip_opcode(): the same test with the operands swapped. */
export function flipOpcode(op: number): number {
  const m: Record<number, number> = {
    [JGT]: JLT,
    [JLT]: JGT,
    [JGE]: JLE,
    [JLE]: JGE,
    [JSGT]: JSLT,
    [JSLT]: JSGT,
    [JSGE]: JSLE,
    [JSLE]: JSGE,
  };
  return m[op] ?? op;
}

/** rev_opcode(): the negated test. */
function revOpcode(op: number): number {
  const m: Record<number, number> = {
    [JEQ]: JNE,
    [JNE]: JEQ,
    [JSET]: JSET_NOT,
    [JSET_NOT]: JSET,
    [JGT]: JLE,
    [JLE]: JGT,
    [JGE]: JLT,
    [JLT]: JGE,
    [JSGT]: JSLE,
    [JSLE]: JSGT,
    [JSGE]: JSLT,
    [JSLT]: JSGE,
  };
  return m[op];
}

/** tnum_overlap(): whether some value fits both. */
function tnumOverlap(
  a: { value: bigint; mask: bigint },
  b: { value: bigint; mask: bigint },
): boolean {
  const mu = a.mask | b.mask;
  return (a.value & ~mu) === (b.value & ~mu);
}

/** is_scalar_branch_taken(): 1 always, 0 never, -1 unknown. */
export function isScalarBranchTaken(r1: RegState, r2: RegState, op: number, is32: boolean): number {
  const t1 = is32 ? tnumSubreg(r1.varOff) : r1.varOff;
  const t2 = is32 ? tnumSubreg(r2.varOff) : r2.varOff;
  const umin1 = is32 ? BigInt(r1.u32min) : r1.umin;
  const umax1 = is32 ? BigInt(r1.u32max) : r1.umax;
  const smin1 = is32 ? BigInt(r1.s32min) : r1.smin;
  const smax1 = is32 ? BigInt(r1.s32max) : r1.smax;
  const umin2 = is32 ? BigInt(r2.u32min) : r2.umin;
  const umax2 = is32 ? BigInt(r2.u32max) : r2.umax;
  const smin2 = is32 ? BigInt(r2.s32min) : r2.smin;
  const smax2 = is32 ? BigInt(r2.s32max) : r2.smax;
  switch (op) {
    case JEQ:
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value === t2.value ? 1 : 0;
      if (!tnumOverlap(t1, t2)) return 0;
      if (umin1 > umax2 || umax1 < umin2) return 0;
      if (smin1 > smax2 || smax1 < smin2) return 0;
      if (!is32) {
        if (r1.u32min > r2.u32max || r1.u32max < r2.u32min) return 0;
        if (r1.s32min > r2.s32max || r1.s32max < r2.s32min) return 0;
      }
      break;
    case JNE:
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value !== t2.value ? 1 : 0;
      if (!tnumOverlap(t1, t2)) return 1;
      if (umin1 > umax2 || umax1 < umin2) return 1;
      if (smin1 > smax2 || smax1 < smin2) return 1;
      if (!is32) {
        if (r1.u32min > r2.u32max || r1.u32max < r2.u32min) return 1;
        if (r1.s32min > r2.s32max || r1.s32max < r2.s32min) return 1;
      }
      break;
    case JSET: {
      let a = t1;
      let b = t2;
      if (!isRegConst(r2, is32)) {
        if (!isRegConst(r1, is32)) return -1;
        [a, b] = [t2, t1];
      }
      if (~a.mask & a.value & b.value) return 1;
      if (!((a.mask | a.value) & b.value)) return 0;
      break;
    }
    case JGT:
      if (umin1 > umax2) return 1;
      if (umax1 <= umin2) return 0;
      break;
    case JSGT:
      if (smin1 > smax2) return 1;
      if (smax1 <= smin2) return 0;
      break;
    case JLT:
      if (umax1 < umin2) return 1;
      if (umin1 >= umax2) return 0;
      break;
    case JSLT:
      if (smax1 < smin2) return 1;
      if (smin1 >= smax2) return 0;
      break;
    case JGE:
      if (umin1 >= umax2) return 1;
      if (umax1 < umin2) return 0;
      break;
    case JSGE:
      if (smin1 >= smax2) return 1;
      if (smax1 < smin2) return 0;
      break;
    case JLE:
      if (umax1 <= umin2) return 1;
      if (umin1 > umax2) return 0;
      break;
    case JSLE:
      if (smax1 <= smin2) return 1;
      if (smin1 > smax2) return 0;
      break;
  }
  return -1;
}

const isPow2 = (v: bigint) => v !== 0n && (v & (v - 1n)) === 0n;

/** regs_refine_cond_op(): what `r1 op r2` being true teaches about both. */
function refine(a: RegState, b: RegState, opcode: number, is32: boolean): void {
  let r1 = a;
  let r2 = b;
  let op = opcode;
  for (;;) {
    switch (op) {
      case JEQ:
        if (is32) {
          r1.u32min = Math.max(r1.u32min, r2.u32min);
          r1.u32max = Math.min(r1.u32max, r2.u32max);
          r1.s32min = Math.max(r1.s32min, r2.s32min);
          r1.s32max = Math.min(r1.s32max, r2.s32max);
          r2.u32min = r1.u32min;
          r2.u32max = r1.u32max;
          r2.s32min = r1.s32min;
          r2.s32max = r1.s32max;
          const t = tnumIntersect(tnumSubreg(r1.varOff), tnumSubreg(r2.varOff));
          r1.varOff = tnumWithSubreg(r1.varOff, t);
          r2.varOff = tnumWithSubreg(r2.varOff, t);
        } else {
          r1.umin = bmax(r1.umin, r2.umin);
          r1.umax = bmin(r1.umax, r2.umax);
          r1.smin = bmax(r1.smin, r2.smin);
          r1.smax = bmin(r1.smax, r2.smax);
          r2.umin = r1.umin;
          r2.umax = r1.umax;
          r2.smin = r1.smin;
          r2.smax = r1.smax;
          r1.varOff = tnumIntersect(r1.varOff, r2.varOff);
          r2.varOff = r1.varOff;
        }
        return;
      case JNE: {
        if (!isRegConst(r2, is32)) [r1, r2] = [r2, r1];
        if (!isRegConst(r2, is32)) return;
        const val = regConstValue(r2, is32);
        if (is32) {
          if (r1.u32min === u32(val)) r1.u32min++;
          if (r1.u32max === u32(val)) r1.u32max--;
          if (r1.s32min === s32(val)) r1.s32min++;
          if (r1.s32max === s32(val)) r1.s32max--;
        } else {
          if (r1.umin === val) r1.umin++;
          if (r1.umax === val) r1.umax--;
          if (r1.smin === s64(val)) r1.smin++;
          if (r1.smax === s64(val)) r1.smax--;
        }
        return;
      }
      case JSET: {
        if (!isRegConst(r2, is32)) [r1, r2] = [r2, r1];
        if (!isRegConst(r2, is32)) return;
        const val = regConstValue(r2, is32);
        if (!isPow2(val)) return;
        if (is32) {
          const t = tnumOr(tnumSubreg(r1.varOff), tnumConst(val));
          r1.varOff = tnumWithSubreg(r1.varOff, t);
        } else r1.varOff = tnumOr(r1.varOff, tnumConst(val));
        return;
      }
      case JSET_NOT: {
        if (!isRegConst(r2, is32)) [r1, r2] = [r2, r1];
        if (!isRegConst(r2, is32)) return;
        const val = regConstValue(r2, is32);
        if (is32) {
          const t = tnumAnd(tnumSubreg(r1.varOff), tnumConst(~val & 0xffffffffn));
          r1.varOff = tnumWithSubreg(r1.varOff, t);
        } else r1.varOff = tnumAnd(r1.varOff, tnumConst(u64(~val)));
        return;
      }
      case JLE:
        if (is32) {
          r1.u32max = Math.min(r1.u32max, r2.u32max);
          r2.u32min = Math.max(r1.u32min, r2.u32min);
        } else {
          r1.umax = bmin(r1.umax, r2.umax);
          r2.umin = bmax(r1.umin, r2.umin);
        }
        return;
      case JLT:
        if (is32) {
          r1.u32max = Math.min(r1.u32max, u32(r2.u32max - 1));
          r2.u32min = Math.max(u32(r1.u32min + 1), r2.u32min);
        } else {
          r1.umax = bmin(r1.umax, u64(r2.umax - 1n));
          r2.umin = bmax(u64(r1.umin + 1n), r2.umin);
        }
        return;
      case JSLE:
        if (is32) {
          r1.s32max = Math.min(r1.s32max, r2.s32max);
          r2.s32min = Math.max(r1.s32min, r2.s32min);
        } else {
          r1.smax = bmin(r1.smax, r2.smax);
          r2.smin = bmax(r1.smin, r2.smin);
        }
        return;
      case JSLT:
        if (is32) {
          r1.s32max = Math.min(r1.s32max, s32(r2.s32max - 1));
          r2.s32min = Math.max(s32(r1.s32min + 1), r2.s32min);
        } else {
          r1.smax = bmin(r1.smax, s64(r2.smax - 1n));
          r2.smin = bmax(s64(r1.smin + 1n), r2.smin);
        }
        return;
      case JGE:
      case JGT:
      case JSGE:
      case JSGT:
        op = flipOpcode(op);
        [r1, r2] = [r2, r1];
        continue;
      default:
        return;
    }
  }
}

/**
 * reg_set_min_max(): refines the registers of the taken branch (`t1`, `t2`) and of the
 * fall-through (`f1`, `f2`). Returns false when a refinement left impossible bounds.
 */
export function regSetMinMax(
  t1: RegState,
  t2: RegState,
  f1: RegState,
  f2: RegState,
  op: number,
  is32: boolean,
): boolean {
  if (f1.type !== RegType.SCALAR_VALUE || f2.type !== RegType.SCALAR_VALUE) return true;
  refine(f1, f2, revOpcode(op), is32);
  regBoundsSync(f1);
  regBoundsSync(f2);
  refine(t1, t2, op, is32);
  regBoundsSync(t1);
  regBoundsSync(t2);
  return true;
}

/** range_within(): every value of `cur` is one of `old`. */
export function rangeWithin(old: RegState, cur: RegState): boolean {
  return (
    old.umin <= cur.umin &&
    old.umax >= cur.umax &&
    old.smin <= cur.smin &&
    old.smax >= cur.smax &&
    old.u32min <= cur.u32min &&
    old.u32max >= cur.u32max &&
    old.s32min <= cur.s32min &&
    old.s32max >= cur.s32max
  );
}

/** get_reg_width(): how many low bits a scalar's value may use. */
export function regWidth(r: RegState): number {
  return r.umax === 0n ? 0 : r.umax.toString(2).length;
}
