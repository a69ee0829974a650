import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  AluOp,
  AtomicOp,
  alu32Imm,
  alu32Reg,
  alu64Imm,
  alu64Reg,
  atomicOp,
  bswap64,
  callPseudo,
  encodeInsns,
  endian,
  exit,
  gotol,
  type Insn,
  JmpOp,
  ja,
  jmp32Imm,
  jmp32Reg,
  jmpImm,
  jmpReg,
  ldImm64,
  ldxMem,
  ldxMemsx,
  mov32Imm,
  mov64Imm,
  mov64Reg,
  movsx32Reg,
  movsx64Reg,
  Size,
  stMem,
  stxMem,
} from "../../src/insn/index.js";
import {
  execute,
  KernelAddr,
  KernelMemory,
  VmBudgetExceeded,
  VmCallDepthExceeded,
  VmFault,
  VmInvalidInsn,
  VmUnknownHelper,
} from "../../src/vm/index.js";
import { alu, run, U64 } from "./support.js";

const MIN64 = -(1n << 63n);
const ALL = (1n << 64n) - 1n;

// [name, instruction (dst r0, src r1), r0, r1, expected r0]
const ALU_TABLE: [string, Insn, bigint, bigint, bigint][] = [
  ["add64 wraps", alu64Reg(AluOp.ADD, 0, 1), ALL, 1n, 0n],
  ["add64 carry into the high word", alu64Imm(AluOp.ADD, 0, 1), 0xffffffffn, 0n, 0x100000000n],
  ["add64 imm is sign-extended", alu64Imm(AluOp.ADD, 0, -7), 5n, 0n, U64(-2n)],
  ["add32 zero-extends", alu32Imm(AluOp.ADD, 0, 1), ALL, 0n, 0n],
  ["add32 drops the high word", alu32Reg(AluOp.ADD, 0, 1), 0x100000005n, 0x700000001n, 6n],
  ["sub64 borrows", alu64Reg(AluOp.SUB, 0, 1), 0n, 1n, ALL],
  ["sub64 borrow from high word", alu64Imm(AluOp.SUB, 0, 1), 0x100000000n, 0n, 0xffffffffn],
  ["sub32", alu32Imm(AluOp.SUB, 0, 1), 0n, 0n, 0xffffffffn],
  ["mul64 (-1)*(-1)", alu64Reg(AluOp.MUL, 0, 1), ALL, ALL, 1n],
  ["mul64 cross terms", alu64Reg(AluOp.MUL, 0, 1), 0x100000001n, 0x100000001n, 0x200000001n],
  [
    "mul64 big",
    alu64Reg(AluOp.MUL, 0, 1),
    0xdeadbeefcafebaben,
    0x123456789abcdefn,
    U64(0xdeadbeefcafebaben * 0x123456789abcdefn),
  ],
  ["mul64 imm negative", alu64Imm(AluOp.MUL, 0, -3), 7n, 0n, U64(-21n)],
  ["mul32", alu32Imm(AluOp.MUL, 0, 2), 0xffffffffn, 0n, 0xfffffffen],
  ["div64 unsigned", alu64Imm(AluOp.DIV, 0, 2), ALL, 0n, 0x7fffffffffffffffn],
  ["div64 by zero is 0", alu64Reg(AluOp.DIV, 0, 1), 1234n, 0n, 0n],
  ["mod64 by zero keeps the dividend", alu64Reg(AluOp.MOD, 0, 1), ALL, 0n, ALL],
  ["sdiv64 INT64_MIN / -1 wraps", alu64Reg(AluOp.DIV, 0, 1, 1), U64(MIN64), ALL, U64(MIN64)],
  ["smod64 INT64_MIN % -1 is 0", alu64Reg(AluOp.MOD, 0, 1, 1), U64(MIN64), ALL, 0n],
  ["sdiv64 truncates toward zero", alu64Imm(AluOp.DIV, 0, 2, 1), U64(-7n), 0n, U64(-3n)],
  ["smod64 takes the dividend's sign", alu64Imm(AluOp.MOD, 0, 2, 1), U64(-7n), 0n, U64(-1n)],
  ["smod64 positive dividend", alu64Imm(AluOp.MOD, 0, -2, 1), 7n, 0n, 1n],
  ["sdiv64 by zero is 0", alu64Reg(AluOp.DIV, 0, 1, 1), U64(-5n), 0n, 0n],
  ["smod64 by zero keeps the dividend", alu64Reg(AluOp.MOD, 0, 1, 1), U64(-5n), 0n, U64(-5n)],
  ["div32 by zero is 0", alu32Reg(AluOp.DIV, 0, 1), 77n, 0x100000000n, 0n],
  ["mod32 by zero zero-extends the dividend", alu32Reg(AluOp.MOD, 0, 1), 0xdead00000007n, 0n, 7n],
  ["div32 unsigned", alu32Imm(AluOp.DIV, 0, 16), 0xfffffff0n, 0n, 0x0fffffffn],
  ["sdiv32 INT32_MIN / -1", alu32Imm(AluOp.DIV, 0, -1, 1), 0x80000000n, 0n, 0x80000000n],
  ["smod32 INT32_MIN % -1", alu32Imm(AluOp.MOD, 0, -1, 1), 0x80000000n, 0n, 0n],
  ["smod32 negative", alu32Imm(AluOp.MOD, 0, 2, 1), 0xfffffff9n, 0n, 0xffffffffn],
  ["lsh64 by 65 is masked to 1", alu64Reg(AluOp.LSH, 0, 1), 3n, 65n, 6n],
  ["lsh64 by 32", alu64Imm(AluOp.LSH, 0, 32), 0x12345678n, 0n, 0x1234567800000000n],
  ["lsh64 by 36", alu64Imm(AluOp.LSH, 0, 36), 0x12345678n, 0n, 0x2345678000000000n],
  ["rsh64 by 63", alu64Imm(AluOp.RSH, 0, 63), ALL, 0n, 1n],
  ["rsh64 by 4 crosses words", alu64Imm(AluOp.RSH, 0, 4), 0x123456789n, 0n, 0x12345678n],
  ["rsh64 by 0", alu64Reg(AluOp.RSH, 0, 1), ALL, 64n, ALL],
  ["arsh64 -1 >> 63", alu64Imm(AluOp.ARSH, 0, 63), ALL, 0n, ALL],
  ["arsh64 INT64_MIN >> 1", alu64Imm(AluOp.ARSH, 0, 1), U64(MIN64), 0n, 0xc000000000000000n],
  ["arsh64 by 40", alu64Imm(AluOp.ARSH, 0, 40), 0x8000000000000000n, 0n, 0xffffffffff800000n],
  ["lsh32 by 33 is masked to 1", alu32Reg(AluOp.LSH, 0, 1), 0x80000001n, 33n, 2n],
  ["rsh32 clears the high word", alu32Imm(AluOp.RSH, 0, 4), ALL, 0n, 0x0fffffffn],
  ["arsh32 sign-fills in 32 bits", alu32Imm(AluOp.ARSH, 0, 4), 0x80000000n, 0n, 0xf8000000n],
  ["neg64 0", alu64Imm(AluOp.NEG, 0, 0), 0n, 0n, 0n],
  ["neg64 1", alu64Imm(AluOp.NEG, 0, 0), 1n, 0n, ALL],
  ["neg64 0x100000000", alu64Imm(AluOp.NEG, 0, 0), 0x100000000n, 0n, 0xffffffff00000000n],
  ["neg32", alu32Imm(AluOp.NEG, 0, 0), 0x100000001n, 0n, 0xffffffffn],
  ["or64 imm sign-extends", alu64Imm(AluOp.OR, 0, -1), 0n, 0n, ALL],
  ["and64 imm sign-extends", alu64Imm(AluOp.AND, 0, 0x7fffffff), ALL, 0n, 0x7fffffffn],
  ["and32", alu32Imm(AluOp.AND, 0, -1), ALL, 0n, 0xffffffffn],
  ["xor64", alu64Reg(AluOp.XOR, 0, 1), 0xff00ff00ff00ff00n, ALL, 0x00ff00ff00ff00ffn],
  ["xor32", alu32Imm(AluOp.XOR, 0, 1), ALL, 0n, 0xfffffffen],
  ["mov64 imm -1", mov64Imm(0, -1), 0n, 0n, ALL],
  ["mov32 imm -1", mov32Imm(0, -1), 0n, 0n, 0xffffffffn],
  ["mov64 reg", mov64Reg(0, 1), 0n, 0x1122334455667788n, 0x1122334455667788n],
  ["movsx64 8", movsx64Reg(0, 1, 8), 0n, 0x180n, U64(-128n)],
  ["movsx64 16", movsx64Reg(0, 1, 16), 0n, 0x8000n, U64(-32768n)],
  ["movsx64 32", movsx64Reg(0, 1, 32), 0n, 0x80000000n, 0xffffffff80000000n],
  ["movsx64 8 positive", movsx64Reg(0, 1, 8), 0n, 0xff7fn, 0x7fn],
  ["movsx32 8 zero-extends to 64", movsx32Reg(0, 1, 8), 0n, 0x100000080n, 0xffffff80n],
  ["movsx32 16", movsx32Reg(0, 1, 16), 0n, 0x8001n, 0xffff8001n],
  ["be16", endian(true, 0, 16), 0x1122334455667788n, 0n, 0x8877n],
  ["be32", endian(true, 0, 32), 0x1122334455667788n, 0n, 0x88776655n],
  ["be64", endian(true, 0, 64), 0x1122334455667788n, 0n, 0x8877665544332211n],
  ["le16 truncates", endian(false, 0, 16), 0x1122334455667788n, 0n, 0x7788n],
  ["le32 truncates", endian(false, 0, 32), 0x1122334455667788n, 0n, 0x55667788n],
  ["le64 is a no-op", endian(false, 0, 64), 0x1122334455667788n, 0n, 0x1122334455667788n],
  ["bswap16", bswap64(0, 16), 0x1122334455667788n, 0n, 0x8877n],
  ["bswap32", bswap64(0, 32), 0x1122334455667788n, 0n, 0x88776655n],
  ["bswap64", bswap64(0, 64), 0x1122334455667788n, 0n, 0x8877665544332211n],
];

describe("ALU and ALU64", () => {
  for (const [name, op, a, b, want] of ALU_TABLE) {
    it(name, () => {
      assert.equal(alu(op, a, b), want);
    });
  }
});

/** r1 = a; r2 = b; r0 = 1; if <cond> goto +1; r0 = 0; exit → 1 when taken. */
function taken(j: Insn, a: bigint, b: bigint): boolean {
  const code = encodeInsns([
    ...ldImm64(1, U64(a)),
    ...ldImm64(2, U64(b)),
    mov64Imm(0, 1),
    j,
    mov64Imm(0, 0),
    exit(),
  ]);
  return execute(code).r0 === 1n;
}

const JMP_TABLE: [string, Insn, bigint, bigint, boolean][] = [
  ["jeq equal", jmpReg(JmpOp.JEQ, 1, 2, 1), 5n, 5n, true],
  ["jeq differs in the high word", jmpReg(JmpOp.JEQ, 1, 2, 1), 0x100000000n, 0n, false],
  ["jeq imm -1 is sign-extended", jmpImm(JmpOp.JEQ, 1, -1, 1), ALL, 0n, true],
  ["jeq imm -1 vs 0xffffffff", jmpImm(JmpOp.JEQ, 1, -1, 1), 0xffffffffn, 0n, false],
  ["jne", jmpReg(JmpOp.JNE, 1, 2, 1), 1n, 2n, true],
  ["jgt unsigned", jmpReg(JmpOp.JGT, 1, 2, 1), ALL, 1n, true],
  ["jgt equal", jmpImm(JmpOp.JGT, 1, 3, 1), 3n, 0n, false],
  ["jge equal", jmpImm(JmpOp.JGE, 1, 3, 1), 3n, 0n, true],
  ["jlt unsigned", jmpReg(JmpOp.JLT, 1, 2, 1), ALL, 1n, false],
  ["jle high words", jmpReg(JmpOp.JLE, 1, 2, 1), 0xffffffffn, 0x100000000n, true],
  ["jsgt signed", jmpReg(JmpOp.JSGT, 1, 2, 1), ALL, 1n, false],
  ["jsge", jmpImm(JmpOp.JSGE, 1, -1, 1), ALL, 0n, true],
  ["jslt signed", jmpReg(JmpOp.JSLT, 1, 2, 1), ALL, 1n, true],
  ["jsle INT64_MIN", jmpImm(JmpOp.JSLE, 1, 0, 1), U64(MIN64), 0n, true],
  ["jset high word", jmpReg(JmpOp.JSET, 1, 2, 1), 0x100000000n, 0x100000000n, true],
  ["jset none", jmpImm(JmpOp.JSET, 1, 2, 1), 5n, 0n, false],
  ["jeq32 ignores the high word", jmp32Imm(JmpOp.JEQ, 1, 0, 1), 0x100000000n, 0n, true],
  ["jslt32", jmp32Imm(JmpOp.JSLT, 1, 0, 1), 0x80000000n, 0n, true],
  ["jgt32 unsigned", jmp32Reg(JmpOp.JGT, 1, 2, 1), 0xffffffffn, 1n, true],
  ["jsgt32", jmp32Reg(JmpOp.JSGT, 1, 2, 1), 0xffffffffn, 1n, false],
  ["jle32", jmp32Imm(JmpOp.JLE, 1, -1, 1), 0x1fffffffen, 0n, true],
  ["jset32", jmp32Imm(JmpOp.JSET, 1, 1, 1), 0x100000000n, 0n, false],
];

describe("JMP and JMP32", () => {
  for (const [name, j, a, b, want] of JMP_TABLE) {
    it(name, () => {
      assert.equal(taken(j, a, b), want);
    });
  }
  it("ja and gotol (32-bit offset in imm)", () => {
    assert.equal(run(mov64Imm(0, 1), ja(1), mov64Imm(0, 2), exit()), 1n);
    assert.equal(run(mov64Imm(0, 1), gotol(1), mov64Imm(0, 2), exit()), 1n);
  });
  it("a backward loop runs the expected number of instructions", () => {
    const r = execute(
      encodeInsns([
        mov64Imm(0, 0),
        mov64Imm(1, 10),
        alu64Imm(AluOp.ADD, 0, 3),
        alu64Imm(AluOp.SUB, 1, 1),
        jmpImm(JmpOp.JNE, 1, 0, -3),
        exit(),
      ]),
    );
    assert.equal(r.r0, 30n);
    assert.equal(r.executed, 2 + 30 + 1);
  });
});

describe("loads, stores and atomics", () => {
  it("round-trips every size through the stack, little endian", () => {
    const v = 0x1122334455667788n;
    assert.equal(
      run(ldImm64(1, v), stxMem(Size.DW, 10, 1, -8), ldxMem(Size.DW, 0, 10, -8), exit()),
      v,
    );
    assert.equal(
      run(ldImm64(1, v), stxMem(Size.DW, 10, 1, -8), ldxMem(Size.B, 0, 10, -8), exit()),
      0x88n,
    );
    assert.equal(
      run(ldImm64(1, v), stxMem(Size.DW, 10, 1, -8), ldxMem(Size.H, 0, 10, -7), exit()),
      0x6677n,
    );
    assert.equal(
      run(ldImm64(1, v), stxMem(Size.DW, 10, 1, -8), ldxMem(Size.W, 0, 10, -4), exit()),
      0x11223344n,
    );
    assert.equal(
      run(ldImm64(1, v), stxMem(Size.W, 10, 1, -4), ldxMem(Size.W, 0, 10, -4), exit()),
      0x55667788n,
    );
    assert.equal(
      run(ldImm64(1, v), stxMem(Size.H, 10, 1, -2), ldxMem(Size.H, 0, 10, -2), exit()),
      0x7788n,
    );
    assert.equal(
      run(ldImm64(1, v), stxMem(Size.B, 10, 1, -1), ldxMem(Size.B, 0, 10, -1), exit()),
      0x88n,
    );
  });
  it("st imm: DW sign-extends the immediate, W stores 32 bits", () => {
    assert.equal(run(stMem(Size.DW, 10, -8, -1), ldxMem(Size.DW, 0, 10, -8), exit()), ALL);
    assert.equal(
      run(stMem(Size.DW, 10, -8, 0), stMem(Size.W, 10, -8, -1), ldxMem(Size.DW, 0, 10, -8), exit()),
      0xffffffffn,
    );
  });
  it("sign-extending loads (MEMSX)", () => {
    const pre = [ldImm64(1, 0x80ff8000fffffff0n), stxMem(Size.DW, 10, 1, -8)];
    assert.equal(run(...pre, ldxMemsx(Size.B, 0, 10, -8), exit()), U64(-16n));
    assert.equal(run(...pre, ldxMemsx(Size.H, 0, 10, -4), exit()), U64(-32768n));
    assert.equal(
      run(...pre, ldxMemsx(Size.W, 0, 10, -4), exit()),
      U64(BigInt.asIntN(32, 0x80ff8000n)),
    );
    assert.equal(run(...pre, ldxMemsx(Size.B, 0, 10, -4), exit()), 0n);
    assert.equal(run(...pre, ldxMem(Size.W, 0, 10, -4), exit()), 0x80ff8000n);
  });

  const atomic = (size: 8 | 4, op: number, mem: bigint, src: bigint, r0 = 0n) => {
    const sz = size === 8 ? Size.DW : Size.W;
    const code = encodeInsns([
      ...ldImm64(2, mem),
      stxMem(Size.DW, 10, 2, -8),
      ...ldImm64(1, src),
      ...ldImm64(0, r0),
      atomicOp(sz, op as never, 10, 1, -8),
      stxMem(Size.DW, 10, 0, -16),
      stxMem(Size.DW, 10, 1, -24),
      ldxMem(Size.DW, 3, 10, -8),
      stxMem(Size.DW, 10, 3, -32),
      exit(),
    ]);
    const { machine } = execute(code);
    const dv = new DataView(machine.stack.buffer);
    const top = machine.stack.length;
    return {
      mem: dv.getBigUint64(top - 32, true),
      r0: dv.getBigUint64(top - 16, true),
      src: dv.getBigUint64(top - 24, true),
    };
  };
  it("add/or/and/xor, 64-bit, with and without fetch", () => {
    assert.deepEqual(atomic(8, AtomicOp.ADD, ALL, 2n), { mem: 1n, r0: 0n, src: 2n });
    assert.deepEqual(atomic(8, AtomicOp.FETCH_ADD, ALL, 2n), { mem: 1n, r0: 0n, src: ALL });
    assert.deepEqual(atomic(8, AtomicOp.FETCH_OR, 0xf0n, 0x0fn), {
      mem: 0xffn,
      r0: 0n,
      src: 0xf0n,
    });
    assert.deepEqual(atomic(8, AtomicOp.AND, 0xf0n, 0x3cn), { mem: 0x30n, r0: 0n, src: 0x3cn });
    assert.deepEqual(atomic(8, AtomicOp.FETCH_XOR, ALL, 1n), { mem: ALL - 1n, r0: 0n, src: ALL });
  });
  it("32-bit atomics touch four bytes and zero-extend the fetched value", () => {
    assert.deepEqual(atomic(4, AtomicOp.FETCH_ADD, 0x1_ffffffffn, 1n), {
      mem: 0x100000000n,
      r0: 0n,
      src: 0xffffffffn,
    });
    assert.deepEqual(atomic(4, AtomicOp.XCHG, 0xaaaa_0000_0001n, ALL), {
      mem: 0xaaaa_ffff_ffffn,
      r0: 0n,
      src: 1n,
    });
  });
  it("xchg and cmpxchg", () => {
    assert.deepEqual(atomic(8, AtomicOp.XCHG, 5n, 9n), { mem: 9n, r0: 0n, src: 5n });
    assert.deepEqual(atomic(8, AtomicOp.CMPXCHG, 5n, 9n, 5n), { mem: 9n, r0: 5n, src: 9n });
    assert.deepEqual(atomic(8, AtomicOp.CMPXCHG, 5n, 9n, 6n), { mem: 5n, r0: 5n, src: 9n });
    // 32-bit: compares the low words only and zero-extends the old value into r0
    assert.deepEqual(atomic(4, AtomicOp.CMPXCHG, 0x7_00000005n, 9n, 0x1_00000005n), {
      mem: 0x7_00000009n,
      r0: 5n,
      src: 9n,
    });
  });
});

describe("faults, budget and calls", () => {
  it("a read just above the stack names the instruction and the address", () => {
    const code = encodeInsns([mov64Imm(0, 0), ldxMem(Size.DW, 0, 10, 0), exit()]);
    assert.throws(
      () => execute(code),
      (e: unknown) =>
        e instanceof VmFault &&
        e.pc === 1 &&
        e.addr === KernelAddr.STACK + 4096n &&
        e.access === "read" &&
        /insn 1: invalid read of 8 bytes at 0xffffc90000101000/.test(e.message),
    );
  });
  it("an access straddling the end of the stack faults", () => {
    assert.throws(() => execute(encodeInsns([ldxMem(Size.DW, 0, 10, -4), exit()])), VmFault);
  });
  it("below the eight frames is unmapped", () => {
    const code = encodeInsns([stMem(Size.B, 10, -4097 + 0, 1), exit()]);
    assert.throws(
      () => execute(code),
      (e: unknown) => e instanceof VmFault && e.access === "write",
    );
  });
  it("NULL and user addresses fault with the reason", () => {
    assert.throws(
      () => execute(encodeInsns([mov64Imm(1, 0), ldxMem(Size.W, 0, 1, 8), exit()])),
      /NULL pointer/,
    );
    assert.throws(
      () => execute(encodeInsns([...ldImm64(1, 0x10000000n), ldxMem(Size.W, 0, 1, 0), exit()])),
      /user address/,
    );
  });
  it("a read-only region refuses writes", () => {
    const memory = new KernelMemory();
    memory.map("ro", KernelAddr.DYNAMIC, new Uint8Array(8), false);
    const code = encodeInsns([...ldImm64(1, KernelAddr.DYNAMIC), stMem(Size.W, 1, 0, 1), exit()]);
    assert.throws(() => execute(code, { memory }), /ro is read-only/);
    const read = encodeInsns([...ldImm64(1, KernelAddr.DYNAMIC), ldxMem(Size.W, 0, 1, 4), exit()]);
    assert.equal(execute(read, { memory }).r0, 0n);
  });
  it("the ctx is mapped at r1 and bounds-checked", () => {
    const ctx = new Uint8Array(8);
    const r = execute(encodeInsns([stMem(Size.W, 1, 4, 7), ldxMem(Size.W, 0, 1, 4), exit()]), {
      ctx,
    });
    assert.equal(r.r0, 7n);
    assert.deepEqual([...ctx], [0, 0, 0, 0, 7, 0, 0, 0]);
    assert.throws(
      () => execute(encodeInsns([ldxMem(Size.W, 0, 1, 6), exit()]), { ctx }),
      /out of bounds of ctx|straddles/,
    );
  });
  it("the instruction budget stops a runaway program", () => {
    assert.throws(
      () => execute(encodeInsns([mov64Imm(0, 0), ja(-1), exit()]), { budget: 1000 }),
      (e: unknown) => e instanceof VmBudgetExceeded && e.pc === 1 && e.budget === 1000,
    );
  });
  it("bpf-to-bpf calls get their own frame and keep r6-r9", () => {
    const code = encodeInsns([
      mov64Imm(6, 6),
      stMem(Size.DW, 10, -8, 11),
      mov64Imm(1, 5),
      callPseudo(3),
      ldxMem(Size.DW, 1, 10, -8),
      alu64Reg(AluOp.ADD, 0, 1),
      exit(),
      // callee: r0 = r1 * 2 + (its own fp-8 = 100); clobbers r6
      stMem(Size.DW, 10, -8, 100),
      mov64Imm(6, 99),
      mov64Reg(0, 1),
      alu64Imm(AluOp.MUL, 0, 2),
      ldxMem(Size.DW, 2, 10, -8),
      alu64Reg(AluOp.ADD, 0, 2),
      exit(),
    ]);
    // The caller's r6 survives: check it through the result path too.
    assert.equal(execute(code).r0, 5n * 2n + 100n + 11n);
    const keep = encodeInsns([
      mov64Imm(6, 6),
      callPseudo(2),
      mov64Reg(0, 6),
      exit(),
      mov64Imm(6, 1),
      exit(),
    ]);
    assert.equal(execute(keep).r0, 6n);
  });
  it("recursion stops at MAX_CALL_FRAMES", () => {
    const code = encodeInsns([callPseudo(-1), exit()]);
    assert.throws(
      () => execute(code),
      (e: unknown) => e instanceof VmCallDepthExceeded && e.depth === 9,
    );
  });
  it("unknown helpers, kfuncs, unresolved ld_imm64 and bad opcodes are errors", () => {
    assert.throws(
      () => execute(encodeInsns([{ code: 0x85, dst: 0, src: 0, off: 0, imm: 5 }, exit()])),
      VmUnknownHelper,
    );
    assert.throws(
      () => execute(encodeInsns([{ code: 0x85, dst: 0, src: 2, off: 0, imm: 5 }, exit()])),
      /kfunc/,
    );
    const mapFd = encodeInsns([
      { code: 0x18, dst: 1, src: 1, off: 0, imm: 3 },
      { code: 0, dst: 0, src: 0, off: 0, imm: 0 },
      exit(),
    ]);
    assert.throws(() => execute(mapFd), /unresolved ld_imm64 \(src_reg 1\)/);
    assert.throws(
      () => execute(encodeInsns([{ code: 0xff, dst: 0, src: 0, off: 0, imm: 0 }])),
      VmInvalidInsn,
    );
    assert.throws(() => execute(encodeInsns([mov64Imm(0, 0)])), /fell off the program/);
  });
  it("ld_imm64 of a function gives its text address", () => {
    const code = encodeInsns([
      { code: 0x18, dst: 0, src: 4, off: 0, imm: 2 },
      { code: 0, dst: 0, src: 0, off: 0, imm: 0 },
      exit(),
      exit(),
    ]);
    assert.equal(execute(code).r0, KernelAddr.TEXT + 3n * 8n);
  });
});

// ---- properties against a BigInt reference ----

const u64 = fc.bigInt({ min: 0n, max: ALL });
const edgy = fc.oneof(
  u64,
  fc.constantFrom(0n, 1n, ALL, 1n << 63n, (1n << 63n) - 1n, 0xffffffffn, 0x80000000n, 2n, ALL - 1n),
);
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const z32 = (v: bigint) => BigInt.asUintN(32, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);

const REF64: [string, number, number, (a: bigint, b: bigint) => bigint][] = [
  ["add", AluOp.ADD, 0, (a, b) => U64(a + b)],
  ["sub", AluOp.SUB, 0, (a, b) => U64(a - b)],
  ["mul", AluOp.MUL, 0, (a, b) => U64(a * b)],
  ["div", AluOp.DIV, 0, (a, b) => (b ? a / b : 0n)],
  ["mod", AluOp.MOD, 0, (a, b) => (b ? a % b : a)],
  ["sdiv", AluOp.DIV, 1, (a, b) => (b ? U64(s64(a) / s64(b)) : 0n)],
  ["smod", AluOp.MOD, 1, (a, b) => (b ? U64(s64(a) % s64(b)) : a)],
  ["or", AluOp.OR, 0, (a, b) => a | b],
  ["and", AluOp.AND, 0, (a, b) => a & b],
  ["xor", AluOp.XOR, 0, (a, b) => a ^ b],
  ["lsh", AluOp.LSH, 0, (a, b) => U64(a << (b & 63n))],
  ["rsh", AluOp.RSH, 0, (a, b) => a >> (b & 63n)],
  ["arsh", AluOp.ARSH, 0, (a, b) => U64(s64(a) >> (b & 63n))],
];

const REF32: [string, number, number, (a: bigint, b: bigint) => bigint][] = [
  ["add", AluOp.ADD, 0, (a, b) => z32(a + b)],
  ["sub", AluOp.SUB, 0, (a, b) => z32(a - b)],
  ["mul", AluOp.MUL, 0, (a, b) => z32(a * b)],
  ["div", AluOp.DIV, 0, (a, b) => (z32(b) ? z32(a) / z32(b) : 0n)],
  ["mod", AluOp.MOD, 0, (a, b) => (z32(b) ? z32(a) % z32(b) : z32(a))],
  ["sdiv", AluOp.DIV, 1, (a, b) => (z32(b) ? z32(s32(a) / s32(b)) : 0n)],
  ["smod", AluOp.MOD, 1, (a, b) => (z32(b) ? z32(s32(a) % s32(b)) : z32(a))],
  ["lsh", AluOp.LSH, 0, (a, b) => z32(a << (b & 31n))],
  ["rsh", AluOp.RSH, 0, (a, b) => z32(a) >> (b & 31n)],
  ["arsh", AluOp.ARSH, 0, (a, b) => z32(s32(a) >> (b & 31n))],
  ["xor", AluOp.XOR, 0, (a, b) => z32(a ^ b)],
];

describe("properties: ALU against a BigInt reference", () => {
  for (const [name, op, off, ref] of REF64) {
    it(`alu64 ${name} (reg and imm)`, () => {
      fc.assert(
        fc.property(edgy, edgy, (a, b) => {
          assert.equal(alu(alu64Reg(op as never, 0, 1, off), a, b), ref(a, b));
          const imm = Number(s32(b));
          assert.equal(alu(alu64Imm(op as never, 0, imm, off), a), ref(a, U64(BigInt(imm))));
        }),
        { numRuns: 150 },
      );
    });
  }
  for (const [name, op, off, ref] of REF32) {
    it(`alu32 ${name}`, () => {
      fc.assert(
        fc.property(edgy, edgy, (a, b) => {
          assert.equal(alu(alu32Reg(op as never, 0, 1, off), a, b), ref(a, b));
        }),
        { numRuns: 150 },
      );
    });
  }
  it("64-bit compares agree with BigInt", () => {
    fc.assert(
      fc.property(edgy, edgy, (a, b) => {
        assert.equal(taken(jmpReg(JmpOp.JGT, 1, 2, 1), a, b), a > b);
        assert.equal(taken(jmpReg(JmpOp.JSGE, 1, 2, 1), a, b), s64(a) >= s64(b));
        assert.equal(taken(jmp32Reg(JmpOp.JSLT, 1, 2, 1), a, b), s32(a) < s32(b));
        assert.equal(taken(jmp32Reg(JmpOp.JLE, 1, 2, 1), a, b), z32(a) <= z32(b));
      }),
      { numRuns: 200 },
    );
  });
});
