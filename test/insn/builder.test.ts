import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AluOp,
  AtomicOp,
  addrSpaceCast,
  alu32Imm,
  alu32Reg,
  alu64Imm,
  alu64Reg,
  atomicOp,
  bswap64,
  call,
  callPseudo,
  decodeInsns,
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
  kfuncCall,
  ldBtfId,
  ldFunc,
  ldImm64,
  ldImm64Raw,
  ldImm64Value,
  ldMapFd,
  ldMapIdx,
  ldMapIdxValue,
  ldMapValue,
  ldxMem,
  ldxMemsx,
  mov32Imm,
  mov32Reg,
  mov64Imm,
  mov64Reg,
  movsx32Reg,
  movsx64Reg,
  program,
  R0,
  R1,
  R2,
  R3,
  R4,
  R6,
  R7,
  R10,
  Size,
  stMem,
  stxMem,
} from "../../src/insn/index.js";
import { Helper } from "../../src/uapi/constants.js";
import { hex, PROGS, readVector, skipVectors, targetInsns } from "../support/vectors.js";

function bytesOf(x: Insn | Insn[]): string {
  return hex(encodeInsns(program(x)));
}

// What clang / the kernel's BPF_* macros produce for each form (hand-assembled bytes).
const FORMS: [string, Insn | Insn[], string][] = [
  ["mov64Imm", mov64Imm(R0, 0), "b700000000000000"],
  ["mov64Imm 136", mov64Imm(R2, 136), "b702000088000000"],
  ["mov64Imm -1", mov64Imm(R1, -1), "b7010000ffffffff"],
  ["mov64Reg", mov64Reg(R6, R1), "bf16000000000000"],
  ["mov32Imm", mov32Imm(R0, 42), "b40000002a000000"],
  ["mov32Reg", mov32Reg(R0, R1), "bc10000000000000"],
  ["alu64Imm add", alu64Imm(AluOp.ADD, R1, -136), "0701000078ffffff"],
  ["alu64Reg add", alu64Reg(AluOp.ADD, R0, R1), "0f10000000000000"],
  ["alu64Imm sdiv", alu64Imm(AluOp.DIV, R1, 3, 1), "3701010003000000"],
  ["alu64Imm neg", alu64Imm(AluOp.NEG, R3, 0), "8703000000000000"],
  ["alu32Imm and", alu32Imm(AluOp.AND, R2, 0xff), "54020000ff000000"],
  ["alu32Reg xor", alu32Reg(AluOp.XOR, R3, R4), "ac43000000000000"],
  ["alu32Imm arsh", alu32Imm(AluOp.ARSH, R1, 4), "c401000004000000"],
  ["movsx64Reg", movsx64Reg(R1, R2, 8), "bf21080000000000"],
  ["movsx32Reg", movsx32Reg(R1, R2, 16), "bc21100000000000"],
  ["addrSpaceCast", addrSpaceCast(R1, R2, 1, 0), "bf21010000000100"],
  ["endian be16", endian(true, R0, 16), "dc00000010000000"],
  ["endian le32", endian(false, R0, 32), "d400000020000000"],
  ["bswap64", bswap64(R3, 64), "d703000040000000"],
  ["ldImm64", ldImm64(R1, 0x1122334455667788n), "1801000088776655" + "0000000044332211"],
  ["ldImm64 -1", ldImm64(R1, -1n), "18010000ffffffff" + "00000000ffffffff"],
  ["ldMapFd", ldMapFd(R1, 5), "1811000005000000" + "0000000000000000"],
  ["ldMapValue", ldMapValue(R1, 5, 8), "1821000005000000" + "0000000008000000"],
  ["ldMapIdx", ldMapIdx(R1, 0), "1851000000000000" + "0000000000000000"],
  ["ldMapIdxValue", ldMapIdxValue(R2, 0, 3088), "1862000000000000" + "00000000100c0000"],
  ["ldBtfId", ldBtfId(R1, 1234, 7), "18310000d2040000" + "0000000007000000"],
  ["ldFunc", ldFunc(R2, 5), "1842000005000000" + "0000000000000000"],
  ["ldImm64Raw", ldImm64Raw(R3, 6, 1, 2), "1863000001000000" + "0000000002000000"],
  ["ldxMem W", ldxMem(Size.W, R1, R10, -136), "61a178ff00000000"],
  ["ldxMem DW", ldxMem(Size.DW, R0, R6, 16), "7960100000000000"],
  ["ldxMem B", ldxMem(Size.B, R0, R1, 0), "7110000000000000"],
  ["ldxMem H", ldxMem(Size.H, R0, R1, 2), "6910020000000000"],
  ["ldxMemsx B", ldxMemsx(Size.B, R1, R2, 3), "9121030000000000"],
  ["ldxMemsx H", ldxMemsx(Size.H, R1, R2, 3), "8921030000000000"],
  ["ldxMemsx W", ldxMemsx(Size.W, R1, R2, 3), "8121030000000000"],
  ["stxMem DW", stxMem(Size.DW, R10, R1, -8), "7b1af8ff00000000"],
  ["stxMem W", stxMem(Size.W, R10, R7, -136), "637a78ff00000000"],
  ["stMem W", stMem(Size.W, R10, -4, 0), "620afcff00000000"],
  ["stMem DW", stMem(Size.DW, R1, 8, -1), "7a010800ffffffff"],
  ["atomic add DW", atomicOp(Size.DW, AtomicOp.ADD, R0, R1, 0), "db10000000000000"],
  ["atomic fetch_add W", atomicOp(Size.W, AtomicOp.FETCH_ADD, R1, R2, 4), "c321040001000000"],
  ["atomic cmpxchg DW", atomicOp(Size.DW, AtomicOp.CMPXCHG, R1, R2, 0), "db210000f1000000"],
  ["atomic xchg W", atomicOp(Size.W, AtomicOp.XCHG, R1, R2, 0), "c3210000e1000000"],
  ["jmpImm jslt", jmpImm(JmpOp.JSLT, R7, 0, -35), "c507ddff00000000"],
  ["jmpImm jsle", jmpImm(JmpOp.JSLE, R1, 0, 1), "d501010000000000"],
  ["jmpImm jset", jmpImm(JmpOp.JSET, R0, 1, 2), "4500020001000000"],
  ["jmpReg jgt", jmpReg(JmpOp.JGT, R1, R2, 3), "2d21030000000000"],
  ["jmp32Imm jeq", jmp32Imm(JmpOp.JEQ, R0, 5, 2), "1600020005000000"],
  ["jmp32Reg jne", jmp32Reg(JmpOp.JNE, R1, R2, -1), "5e21ffff00000000"],
  ["ja", ja(11), "05000b0000000000"],
  ["gotol", gotol(70000), "0600000070110100"],
  ["call", call(Helper.sys_bpf), "85000000a6000000"],
  ["callPseudo", callPseudo(4), "8510000004000000"],
  ["kfuncCall", kfuncCall(1234, 2), "85200200d2040000"],
  ["exit", exit(), "9500000000000000"],
];

describe("builder encodings", () => {
  for (const [name, insns, bytes] of FORMS) {
    test(name, () => assert.equal(bytesOf(insns), bytes));
  }

  test("ldImm64 keeps the value, signed or unsigned", () => {
    for (const v of [0n, 1n, 0xffffffffn, 0x100000000n, (1n << 64n) - 1n]) {
      const [lo, hi] = ldImm64(R0, v);
      assert.equal(ldImm64Value(lo, hi), v);
    }
    const [lo, hi] = ldImm64(R0, -2n);
    assert.equal(ldImm64Value(lo, hi), (1n << 64n) - 2n);
  });

  test("a u32 immediate is stored as the s32 with the same bits", () => {
    assert.equal(mov32Imm(R0, 0xffffffff).imm, -1);
    assert.equal(bytesOf(mov32Imm(R0, 0xffffffff)), "b4000000ffffffff");
    assert.equal(ldMapIdxValue(R0, 0, 0x80000000)[1].imm, -0x80000000);
  });

  test("out-of-range arguments throw RangeError", () => {
    const bad: [string, () => unknown][] = [
      ["dst 11", () => mov64Imm(11, 0)],
      ["dst -1", () => mov64Reg(-1, 0)],
      ["src 11", () => mov64Reg(R0, 11)],
      ["off 0x8000", () => ja(0x8000)],
      ["off -0x8001", () => ldxMem(Size.W, R0, R1, -0x8001)],
      ["imm 2^32", () => mov64Imm(R0, 2 ** 32)],
      ["imm -2^31-1", () => call(-(2 ** 31) - 1)],
      ["imm 1.5", () => mov64Imm(R0, 1.5)],
      ["ldImm64 2^64", () => ldImm64(R0, 1n << 64n)],
      ["ldImm64 -2^63-1", () => ldImm64(R0, -(1n << 63n) - 1n)],
      ["pseudo 16", () => ldImm64Raw(R0, 16, 0, 0)],
      ["endian 8", () => endian(true, R0, 8 as 16)],
      ["movsx 64", () => movsx64Reg(R0, R1, 64 as 32)],
      ["movsx32 32", () => movsx32Reg(R0, R1, 32 as 16)],
      ["address space", () => addrSpaceCast(R0, R1, 0x10000, 0)],
      ["ldxMemsx DW", () => ldxMemsx(Size.DW, R0, R1, 0)],
    ];
    for (const [name, fn] of bad) assert.throws(fn, RangeError, name);
  });

  test("program flattens single instructions and pairs", () => {
    const p = program(mov64Imm(R0, 0), ldMapIdx(R1, 0), [mov64Reg(R2, R1), exit()]);
    assert.equal(p.length, 5);
    assert.deepEqual(
      p.map((i) => i.code),
      [0xb7, 0x18, 0x00, 0xbf, 0x95],
    );
    assert.deepEqual(program(), []);
  });
});

describe("builder reproduces real clang / gen_loader output", { skip: skipVectors }, () => {
  test("the gen_loader prologue of every vector loader", () => {
    for (const prog of PROGS) {
      const loader = readVector(prog, "insns.signed.bin");
      const first = decodeInsns(loader.subarray(0, 6 * 8));
      // r6 = r1; r1 = r10; r1 += -136; r2 = 136; r3 = 0; call bpf_probe_read_kernel
      const prologue = program(
        mov64Reg(R6, R1),
        mov64Reg(R1, R10),
        alu64Imm(AluOp.ADD, R1, -136),
        mov64Imm(R2, 136),
        mov64Imm(R3, 0),
        call(Helper.probe_read_kernel),
      );
      assert.deepEqual(first, prologue, prog);
    }
  });

  test("prog_a's target program: return 42", () => {
    assert.equal(hex(targetInsns("prog_a")), hex(encodeInsns(program(mov64Imm(R0, 42), exit()))));
  });

  test("prog_d's target program, byte for byte", () => {
    const built = program(
      mov64Imm(R1, 0),
      stxMem(Size.W, R10, R1, -4),
      mov64Reg(R2, R10),
      alu64Imm(AluOp.ADD, R2, -4),
      ldMapIdx(R1, 0),
      call(Helper.map_lookup_elem),
      jmpImm(JmpOp.JEQ, R0, 0, 2),
      mov64Imm(R1, 1),
      atomicOp(Size.DW, AtomicOp.ADD, R0, R1, 0),
      ldMapIdxValue(R1, 1, 0),
      ldxMem(Size.DW, R1, R1, 0),
      ldMapIdxValue(R2, 2, 0),
      ldxMem(Size.W, R0, R2, 0),
      alu64Reg(AluOp.ADD, R0, R1),
      exit(),
    );
    assert.equal(hex(encodeInsns(built)), hex(targetInsns("prog_d")));
  });
});
