/**
 * tnum.ts against the kernel's definitions (kernel/bpf/tnum.c): worked examples, and
 * soundness: for random tnums a, b and random members x ∈ a, y ∈ b, x op y ∈ a op b.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  TNUM_UNKNOWN,
  type Tnum,
  tnum,
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumCast,
  tnumConst,
  tnumIn,
  tnumIntersect,
  tnumIsAligned,
  tnumLshift,
  tnumMul,
  tnumOr,
  tnumRange,
  tnumRshift,
  tnumStr,
  tnumSub,
  tnumXor,
  U64,
} from "../../src/kernel/tnum.js";
import { rng } from "../host/progen.js";

const member = (t: Tnum, noise: bigint) => (t.value | (noise & t.mask)) & U64;
const contains = (t: Tnum, x: bigint) => (x & ~t.mask & U64) === t.value;

function randomTnum(r: () => number): Tnum {
  const word = () => (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
  const mask = r() < 0.3 ? 0n : r() < 0.5 ? word() & 0xffn : word();
  return tnum(word() & ~mask, mask);
}

describe("tnum: the kernel's definitions", () => {
  test("tnum_range covers [min, max] with the fewest unknown bits", () => {
    assert.deepEqual(tnumRange(0n, 6n), tnum(0n, 7n));
    assert.deepEqual(tnumRange(16n, 31n), tnum(16n, 15n));
    assert.deepEqual(tnumRange(5n, 5n), tnumConst(5n));
    assert.deepEqual(tnumRange(0n, U64), TNUM_UNKNOWN);
  });
  test("add/sub carry uncertainty upwards", () => {
    assert.deepEqual(tnumAdd(tnum(0n, 1n), tnumConst(1n)), tnum(0n, 3n));
    assert.deepEqual(tnumAdd(tnumConst(3n), tnumConst(4n)), tnumConst(7n));
    assert.deepEqual(tnumSub(tnumConst(0n), tnumConst(1n)), tnumConst(U64));
  });
  test("bitwise ops and shifts", () => {
    assert.deepEqual(tnumAnd(TNUM_UNKNOWN, tnumConst(6n)), tnum(0n, 6n));
    assert.deepEqual(tnumOr(tnum(0n, 3n), tnumConst(4n)), tnum(4n, 3n));
    assert.deepEqual(tnumXor(tnumConst(5n), tnumConst(3n)), tnumConst(6n));
    assert.deepEqual(tnumLshift(tnum(1n, 2n), 4), tnum(16n, 32n));
    assert.deepEqual(tnumRshift(tnum(16n, 32n), 4), tnum(1n, 2n));
    assert.deepEqual(tnumArshift(tnumConst(0x80000000n), 4, 32), tnumConst(0xf8000000n));
    assert.deepEqual(tnumArshift(tnumConst(1n << 63n), 63, 64), tnumConst(U64));
    assert.deepEqual(tnumCast(tnumConst(0x1234n), 1), tnumConst(0x34n));
  });
  test("in, intersect, alignment and the log's spelling", () => {
    assert.ok(tnumIn(tnum(0n, 6n), tnumConst(4n)));
    assert.ok(!tnumIn(tnum(0n, 6n), tnumConst(1n)));
    assert.deepEqual(tnumIntersect(tnum(0n, 7n), tnum(4n, 3n)), tnum(4n, 3n));
    assert.ok(tnumIsAligned(tnum(8n, 16n), 8));
    assert.ok(!tnumIsAligned(tnum(0n, 6n), 4));
    assert.equal(tnumStr(tnum(0n, 6n)), "(0x0; 0x6)");
    assert.equal(tnumStr(tnumConst(0n)), "0");
  });
});

describe("tnum: soundness on random members", () => {
  const ops: [string, (a: Tnum, b: Tnum) => Tnum, (x: bigint, y: bigint) => bigint][] = [
    ["add", tnumAdd, (x, y) => (x + y) & U64],
    ["sub", tnumSub, (x, y) => (x - y) & U64],
    ["and", tnumAnd, (x, y) => x & y],
    ["or", tnumOr, (x, y) => x | y],
    ["xor", tnumXor, (x, y) => x ^ y],
    ["mul", tnumMul, (x, y) => (x * y) & U64],
  ];
  for (const [name, op, concrete] of ops) {
    test(name, () => {
      const r = rng(name.length * 7919);
      for (let i = 0; i < 400; i++) {
        const a = randomTnum(r);
        const b = randomTnum(r);
        const t = op(a, b);
        for (let j = 0; j < 4; j++) {
          const noise = () =>
            (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
          const x = member(a, noise());
          const y = member(b, noise());
          assert.ok(contains(t, concrete(x, y)), `${name}: ${x} op ${y} not in ${tnumStr(t)}`);
        }
      }
    });
  }
});
