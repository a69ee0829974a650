/**
 * Tracked numbers (kernel/bpf/tnum.c): a 64-bit value of which some bits are known. `value`
 * holds the known bits, `mask` the unknown ones (a bit is never set in both). Both are u64
 * bigints. The operations are our own transcription of the kernel's definitions, so that the
 * model reaches the same knowledge about a register as the kernel does.
 */
export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

export const U64 = (1n << 64n) - 1n;
const U32 = 0xffffffffn;
const u64 = (x: bigint) => x & U64;
const s64 = (x: bigint) => BigInt.asIntN(64, x);

export function tnum(value: bigint, mask: bigint): Tnum {
  return { value: u64(value), mask: u64(mask) };
}

export const TNUM_UNKNOWN: Tnum = { value: 0n, mask: U64 };

export function tnumConst(v: bigint): Tnum {
  return { value: u64(v), mask: 0n };
}

function fls64(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** The smallest tnum covering every value of [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  const chi = u64(min) ^ u64(max);
  const bits = fls64(chi);
  if (bits > 63) return TNUM_UNKNOWN;
  const delta = (1n << BigInt(bits)) - 1n;
  return tnum(u64(min) & ~delta, delta);
}

export const tnumIsConst = (a: Tnum) => a.mask === 0n;
export const tnumIsUnknown = (a: Tnum) => a.mask === U64;
export const tnumEqualsConst = (a: Tnum, b: bigint) => a.mask === 0n && a.value === u64(b);

export function tnumLshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return tnum(a.value << s, a.mask << s);
}

export function tnumRshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return tnum(a.value >> s, a.mask >> s);
}

/** Arithmetic shift right on the 32- or 64-bit view. */
export function tnumArshift(a: Tnum, shift: number, bits: 32 | 64): Tnum {
  const s = BigInt(shift);
  if (bits === 32) {
    const v = BigInt.asIntN(32, a.value) >> s;
    const m = BigInt.asIntN(32, a.mask) >> s;
    return tnum(v & U32, m & U32);
  }
  return tnum(s64(a.value) >> s, s64(a.mask) >> s);
}

export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = u64(a.mask + b.mask);
  const sv = u64(a.value + b.value);
  const sigma = u64(sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return tnum(sv & ~mu, mu);
}

export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = u64(a.value - b.value);
  const alpha = u64(dv + a.mask);
  const beta = u64(dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return tnum(dv & ~mu, mu);
}

export function tnumNeg(a: Tnum): Tnum {
  return tnumSub(tnumConst(0n), a);
}

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return tnum(v, alpha & beta & ~v);
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return tnum(v, mu & ~v);
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return tnum(v & ~mu, mu);
}

/** Multiplication: partial products of the certain and uncertain bits of `a`. */
export function tnumMul(a0: Tnum, b0: Tnum): Tnum {
  let a = a0;
  let b = b0;
  const accV = u64(a.value * b.value);
  let accM = tnumConst(0n);
  while (a.value || a.mask) {
    if (a.value & 1n) accM = tnumAdd(accM, tnum(0n, b.mask));
    else if (a.mask & 1n) accM = tnumAdd(accM, tnum(0n, b.value | b.mask));
    a = tnumRshift(a, 1);
    b = tnumLshift(b, 1);
  }
  return tnumAdd(tnumConst(accV), accM);
}

/** What both `a` and `b` know (they describe the same number). */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return tnum(v & ~mu, mu);
}

/** Truncation to `size` bytes. */
export function tnumCast(a: Tnum, size: number): Tnum {
  const m = (1n << BigInt(size * 8)) - 1n;
  return tnum(a.value & m, a.mask & m);
}

export function tnumIsAligned(a: Tnum, size: number): boolean {
  if (!size) return true;
  return ((a.value | a.mask) & BigInt(size - 1)) === 0n;
}

/** Whether every value `b` may hold is a value `a` may hold. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if (b.mask & ~a.mask) return false;
  return a.value === (b.value & ~a.mask);
}

export const tnumSubreg = (a: Tnum) => tnumCast(a, 4);
export const tnumClearSubreg = (a: Tnum) => tnumLshift(tnumRshift(a, 32), 32);
export const tnumWithSubreg = (reg: Tnum, sub: Tnum) =>
  tnumOr(tnumClearSubreg(reg), tnumSubreg(sub));
export const tnumSubregIsConst = (a: Tnum) => (a.mask & U32) === 0n;

/** tnum_strn() as this kernel prints it: a known value in decimal, else "(value; mask)". */
export function tnumStr(a: Tnum): string {
  if (tnumIsConst(a)) return s64(a.value).toString();
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}

/** The low `bytes` bytes in reverse order (BPF_END byte swaps), upper bits cleared. */
export function tnumBswap(a: Tnum, bytes: number): Tnum {
  const swap = (x: bigint) => {
    let out = 0n;
    for (let i = 0; i < bytes; i++) out = (out << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  return tnum(swap(a.value), swap(a.mask));
}
