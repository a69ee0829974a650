/**
 * reg_bounds.ts: ALU transfer functions and branch refinements keep every concrete value
 * (soundness on random ranges), and the deductions the kernel makes (worked examples).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  adjustScalar,
  isScalarBranchTaken,
  markRegConst,
  markRegUnknown,
  regBoundsSync,
  regSetMinMax,
} from "../../src/kernel/reg_bounds.js";
import { tnumConst, tnumIn } from "../../src/kernel/tnum.js";
import { RegState } from "../../src/kernel/verifier_state.js";
import { rng } from "../host/progen.js";

const U64 = (1n << 64n) - 1n;

function scalar(umin: bigint, umax: bigint): RegState {
  const r = new RegState();
  markRegUnknown(r);
  r.umin = umin;
  r.umax = umax;
  regBoundsSync(r);
  return r;
}

function holds(r: RegState, v: bigint): boolean {
  const u = v & U64;
  const s = BigInt.asIntN(64, u);
  const u32 = Number(u & 0xffffffffn);
  const s32 = Number(BigInt.asIntN(32, u));
  return (
    r.umin <= u &&
    u <= r.umax &&
    r.smin <= s &&
    s <= r.smax &&
    r.u32min <= u32 &&
    u32 <= r.u32max &&
    r.s32min <= s32 &&
    s32 <= r.s32max &&
    tnumIn(r.varOff, tnumConst(u))
  );
}

describe("scalar bounds", () => {
  test("a known constant has every bound equal", () => {
    const r = new RegState();
    markRegConst(r, -1n);
    assert.equal(r.umin, U64);
    assert.equal(r.smin, -1n);
    assert.equal(r.s32max, -1);
    assert.equal(r.u32min, 0xffffffff);
  });
  test("deduction: [0, 6] gives var_off (0x0; 0x7) and the same signed range", () => {
    const r = scalar(0n, 6n);
    assert.deepEqual([r.smin, r.smax, r.varOff.mask, r.u32max, r.s32max], [0n, 6n, 7n, 6, 6]);
  });
  test("r &= 6 of an unknown gives [0, 6] with var_off (0x0; 0x6)", () => {
    const r = new RegState();
    markRegUnknown(r);
    const k = new RegState();
    markRegConst(k, 6n);
    adjustScalar(r, k, 0x50, false);
    assert.deepEqual([r.umin, r.umax, r.varOff.value, r.varOff.mask], [0n, 6n, 0n, 6n]);
  });
  test("branches: r > 5 on [0, 10] is undecided; taken gives [6, 10], fall-through [0, 5]", () => {
    const a = scalar(0n, 10n);
    const five = new RegState();
    markRegConst(five, 5n);
    assert.equal(isScalarBranchTaken(a, five, 0x20, false), -1);
    const t = a.clone();
    const f = a.clone();
    regSetMinMax(t, five.clone(), f, five.clone(), 0x20, false);
    assert.deepEqual([t.umin, t.umax, f.umin, f.umax], [6n, 10n, 0n, 5n]);
    assert.equal(isScalarBranchTaken(scalar(11n, 20n), five, 0x20, false), 1);
    assert.equal(isScalarBranchTaken(scalar(0n, 5n), five, 0x20, false), 0);
  });

  const OPS = [0x00, 0x10, 0x20, 0x40, 0x50, 0xa0, 0x60, 0x70, 0xc0];
  const concrete = (op: number, x: bigint, y: bigint, is32: boolean): bigint => {
    const bits = is32 ? 32 : 64;
    const m = (1n << BigInt(bits)) - 1n;
    const a = x & m;
    const b = y & m;
    let v: bigint;
    switch (op) {
      case 0x00:
        v = a + b;
        break;
      case 0x10:
        v = a - b;
        break;
      case 0x20:
        v = a * b;
        break;
      case 0x40:
        v = a | b;
        break;
      case 0x50:
        v = a & b;
        break;
      case 0xa0:
        v = a ^ b;
        break;
      case 0x60:
        v = a << b;
        break;
      case 0x70:
        v = a >> b;
        break;
      default:
        v = BigInt.asIntN(bits, a) >> b;
    }
    return v & m;
  };
  for (const is32 of [false, true]) {
    test(`ALU${is32 ? "32" : "64"} results stay within the computed bounds`, () => {
      const r = rng(is32 ? 32 : 64);
      const big = () =>
        (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
      for (let i = 0; i < 1500; i++) {
        const op = OPS[Math.floor(r() * OPS.length)];
        const lo = r() < 0.5 ? BigInt(Math.floor(r() * 1000)) : big();
        const span = r() < 0.5 ? BigInt(Math.floor(r() * 64)) : big();
        const hi = lo + span > U64 ? U64 : lo + span;
        const d = scalar(lo, hi);
        let s: RegState;
        let y: bigint;
        if (op >= 0x60 && op !== 0xa0) {
          y = BigInt(Math.floor(r() * (is32 ? 32 : 64)));
          s = new RegState();
          markRegConst(s, y);
        } else {
          const c = r() < 0.5;
          y = c ? BigInt(Math.floor(r() * 300)) : lo;
          s = c ? new RegState() : scalar(lo, hi);
          if (c) markRegConst(s, y);
        }
        const x = lo + ((hi - lo) * BigInt(Math.floor(r() * 1000))) / 1000n;
        if (!c2(s, y)) continue;
        const out = d.clone();
        adjustScalar(out, s, op, is32);
        const v = concrete(op, x, y, is32);
        assert.ok(holds(out, v), `op ${op.toString(16)} x=${x} y=${y} -> ${v} outside the bounds`);
      }
    });
  }
});

function c2(s: RegState, y: bigint): boolean {
  return s.umin <= y && y <= s.umax;
}

describe("RegState copies", () => {
  /** A register whose every field differs from a new one's. */
  function distinct(): RegState {
    const r = new RegState();
    let n = 1;
    for (const k of Object.keys(r) as (keyof RegState)[]) {
      const v = r[k];
      const set = r as unknown as Record<string, unknown>;
      if (typeof v === "bigint") set[k] = v + 7n;
      else if (typeof v === "number") set[k] = v + n++;
      else if (typeof v === "boolean") set[k] = !v;
      else if (k === "varOff") set[k] = tnumConst(42n);
      else if (k === "map") set[k] = { name: "m" };
      else throw new Error(`RegState.${String(k)}: a field this test does not know`);
    }
    return r;
  }

  test("copyFrom and clone copy every field; reset gives back a new register", () => {
    const src = distinct();
    const fresh = new RegState();
    for (const k of Object.keys(fresh)) {
      assert.notDeepEqual(
        (src as unknown as Record<string, unknown>)[k],
        (fresh as unknown as Record<string, unknown>)[k],
        `the test's register differs from a new one in ${k}`,
      );
    }
    const copy = new RegState();
    copy.copyFrom(src);
    assert.deepEqual({ ...copy }, { ...src });
    assert.deepEqual({ ...src.clone() }, { ...src });
    copy.reset();
    assert.deepEqual({ ...copy }, { ...fresh });
    // markRegUnknown resets all but the frame number
    const u = distinct();
    markRegUnknown(u);
    assert.equal(u.frameno, src.frameno);
    assert.equal(u.precise, false);
    assert.equal(u.map, null);
  });
});
