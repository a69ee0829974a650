import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  AluOp,
  aluOp,
  Class,
  decodeInsn,
  decodeInsns,
  encodeInsnInto,
  encodeInsns,
  INSN_SIZE,
  type Insn,
  InsnFormatError,
  insnClass,
  insnMode,
  insnSize,
  insnSrc,
  isLdImm64,
  JmpOp,
  jmpOp,
  LD_IMM64,
  ldImm64Value,
  Mode,
  Size,
  Src,
  sizeBytes,
} from "../../src/insn/index.js";
import { hex, unhex } from "../support/vectors.js";

const arbInsn: fc.Arbitrary<Insn> = fc.record(
  {
    code: fc.integer({ min: 0, max: 0xff }),
    dst: fc.integer({ min: 0, max: 15 }),
    src: fc.integer({ min: 0, max: 15 }),
    off: fc.integer({ min: -0x8000, max: 0x7fff }),
    imm: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  },
  { noNullPrototype: true },
);

function isFormatError(reason: InsnFormatError["reason"]) {
  return (err: unknown) => err instanceof InsnFormatError && err.reason === reason;
}

describe("struct bpf_insn codec", () => {
  test("encode then decode is the identity (property)", () => {
    fc.assert(
      fc.property(fc.array(arbInsn, { maxLength: 64 }), (insns) => {
        const bytes = encodeInsns(insns);
        assert.equal(bytes.byteLength, insns.length * INSN_SIZE);
        assert.deepEqual(decodeInsns(bytes), insns);
      }),
    );
  });

  test("decode then encode reproduces any byte string of whole slots (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32 }), fc.infiniteStream(fc.nat(255)), (n, s) => {
        const bytes = Uint8Array.from(s.take(n * 8));
        assert.deepEqual(encodeInsns(decodeInsns(bytes)), bytes);
      }),
    );
  });

  test("byte layout: code, dst low nibble / src high nibble, off s16 LE, imm s32 LE", () => {
    const cases: [Insn, string][] = [
      [{ code: 0xbf, dst: 6, src: 1, off: 0, imm: 0 }, "bf16000000000000"],
      [{ code: 0x07, dst: 1, src: 0, off: 0, imm: -136 }, "0701000078ffffff"],
      [{ code: 0x63, dst: 10, src: 7, off: -136, imm: 0 }, "637a78ff00000000"],
      [{ code: 0x18, dst: 2, src: 6, off: 0, imm: 0 }, "1862000000000000"],
      [{ code: 0x00, dst: 0, src: 0, off: 0, imm: 3088 }, "00000000100c0000"],
      [{ code: 0xc5, dst: 7, src: 0, off: -35, imm: 0 }, "c507ddff00000000"],
      [{ code: 0xff, dst: 15, src: 15, off: 0x7fff, imm: -0x80000000 }, "ffffff7f00000080"],
      [{ code: 0x85, dst: 0, src: 0, off: 0, imm: 0x12345678 }, "8500000078563412"],
    ];
    for (const [insn, bytes] of cases) {
      assert.equal(hex(encodeInsns([insn])), bytes);
      assert.deepEqual(decodeInsn(unhex(bytes), 0), insn);
    }
  });

  test("decodeInsn reads the requested slot, also of a subarray view", () => {
    const backing = unhex("aaaa" + "b700000000000000" + "9500000000000000" + "bbbb");
    const view = backing.subarray(2, 18);
    assert.deepEqual(decodeInsn(view, 1), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
    assert.deepEqual(
      decodeInsns(view).map((i) => i.code),
      [0xb7, 0x95],
    );
  });

  test("decodeInsns refuses a length that is not a multiple of 8", () => {
    for (const len of [1, 7, 9, 15, 841]) {
      assert.throws(() => decodeInsns(new Uint8Array(len)), isFormatError("bad-length"));
    }
    assert.deepEqual(decodeInsns(new Uint8Array(0)), []);
    assert.throws(() => decodeInsns(new Uint8Array(12)), /length 12 is not a multiple of 8/);
  });

  test("decodeInsn and encodeInsnInto refuse indexes outside the buffer", () => {
    const buf = new Uint8Array(16);
    for (const index of [-1, 2, 1.5]) {
      assert.throws(() => decodeInsn(buf, index), isFormatError("out-of-bounds"));
      assert.throws(
        () => encodeInsnInto(buf, index, { code: 0, dst: 0, src: 0, off: 0, imm: 0 }),
        isFormatError("out-of-bounds"),
      );
    }
  });

  test("encoding refuses fields that do not fit instead of truncating them", () => {
    const ok: Insn = { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 };
    const bad: Partial<Insn>[] = [
      { code: 256 },
      { code: -1 },
      { dst: 16 },
      { src: -1 },
      { off: 0x8000 },
      { off: -0x8001 },
      { imm: 0x80000000 },
      { imm: -0x80000001 },
      { imm: 1.5 },
    ];
    for (const patch of bad) {
      assert.throws(
        () => encodeInsns([ok, { ...ok, ...patch }]),
        (err: unknown) => {
          return (
            err instanceof InsnFormatError &&
            err.reason === "bad-field" &&
            /insn 1:/.test(err.message)
          );
        },
      );
    }
  });

  test("encodeInsnInto writes one slot in place", () => {
    const buf = new Uint8Array(24).fill(0xee);
    encodeInsnInto(buf, 1, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
    assert.equal(hex(buf), "eeeeeeeeeeeeeeee" + "9500000000000000" + "eeeeeeeeeeeeeeee");
  });

  test("ldImm64Value joins the two imms into an unsigned 64-bit value", () => {
    const lo = (imm: number): Insn => ({ code: LD_IMM64, dst: 1, src: 0, off: 0, imm });
    const hi = (imm: number): Insn => ({ code: 0, dst: 0, src: 0, off: 0, imm });
    assert.equal(ldImm64Value(lo(0x1234), hi(0x5678)), 0x0000567800001234n);
    assert.equal(ldImm64Value(lo(-1), hi(-1)), 0xffffffffffffffffn);
    assert.equal(ldImm64Value(lo(-0x80000000), hi(0)), 0x80000000n);
    assert.equal(ldImm64Value(lo(0), hi(-0x80000000)), 0x8000000000000000n);
  });

  test("InsnFormatError is a named Error", () => {
    const err = new InsnFormatError("bad-length", "x");
    assert.ok(err instanceof Error);
    assert.equal(err.name, "InsnFormatError");
    assert.equal(err.reason, "bad-length");
  });
});

describe("opcode accessors", () => {
  test("split codes into class, size, mode, source and operation", () => {
    assert.equal(insnClass(0x7b), Class.STX);
    assert.equal(insnSize(0x7b), Size.DW);
    assert.equal(insnMode(0x7b), Mode.MEM);
    assert.equal(insnMode(0xdb), Mode.ATOMIC);
    assert.equal(insnClass(0x61), Class.LDX);
    assert.equal(insnSize(0x61), Size.W);
    assert.equal(insnClass(0x07), Class.ALU64);
    assert.equal(aluOp(0x07), AluOp.ADD);
    assert.equal(insnSrc(0x0f), Src.X);
    assert.equal(aluOp(0xbc), AluOp.MOV);
    assert.equal(insnClass(0xbc), Class.ALU);
    assert.equal(jmpOp(0xc5), JmpOp.JSLT);
    assert.equal(jmpOp(0xd5), JmpOp.JSLE);
    assert.equal(insnClass(0x16), Class.JMP32);
    assert.equal(jmpOp(0x85), JmpOp.CALL);
    assert.equal(jmpOp(0x95), JmpOp.EXIT);
    assert.equal(insnClass(0x18) | insnSize(0x18) | insnMode(0x18), LD_IMM64);
  });

  test("sizeBytes and isLdImm64", () => {
    assert.deepEqual([Size.B, Size.H, Size.W, Size.DW].map(sizeBytes), [1, 2, 4, 8]);
    assert.equal(isLdImm64({ code: 0x18 }), true);
    assert.equal(isLdImm64({ code: 0x00 }), false);
    assert.equal(isLdImm64({ code: 0x10 }), false);
  });
});
