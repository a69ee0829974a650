import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
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
  disassemble,
  disassembleLines,
  endian,
  exit,
  formatInsnListing,
  gotol,
  type Insn,
  JmpOp,
  ja,
  jmp32Imm,
  jmp32Reg,
  jmpImm,
  jmpReg,
  kfuncCall,
  LD_IMM64,
  ldBtfId,
  ldFunc,
  ldImm64,
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
  R6,
  R7,
  R10,
  Size,
  stMem,
  stxMem,
} from "../../src/insn/index.js";
import { Helper } from "../../src/uapi/constants.js";
import { LOADER_SLOTS, PROGS, readVector, skipVectors, targetInsns } from "../support/vectors.js";

function one(x: Insn | Insn[]): string {
  const lines = disassemble(program(x));
  assert.equal(lines.length, 1);
  return lines[0];
}

function raw(code: number, fields: Partial<Insn> = {}): Insn {
  return { code, dst: 0, src: 0, off: 0, imm: 0, ...fields };
}

const FORMS: [Insn | Insn[], string][] = [
  [mov64Imm(R0, 0), "r0 = 0"],
  [mov64Imm(R1, -136), "r1 = -136"],
  [mov64Reg(R6, R1), "r6 = r1"],
  [mov32Imm(R0, 42), "w0 = 42"],
  [mov32Reg(R0, R1), "w0 = w1"],
  [alu64Imm(AluOp.ADD, R1, -136), "r1 += -136"],
  [alu64Reg(AluOp.ADD, R1, R2), "r1 += r2"],
  [alu64Reg(AluOp.SUB, R1, R2), "r1 -= r2"],
  [alu64Imm(AluOp.MUL, R1, 3), "r1 *= 3"],
  [alu64Imm(AluOp.DIV, R1, 3), "r1 /= 3"],
  [alu64Imm(AluOp.DIV, R1, 3, 1), "r1 s/= 3"],
  [alu32Reg(AluOp.MOD, R1, R2, 1), "w1 s%= w2"],
  [alu64Reg(AluOp.OR, R1, R2), "r1 |= r2"],
  [alu32Imm(AluOp.AND, R2, 255), "w2 &= 255"],
  [alu64Imm(AluOp.LSH, R1, 32), "r1 <<= 32"],
  [alu64Imm(AluOp.RSH, R1, 32), "r1 >>= 32"],
  [alu64Imm(AluOp.ARSH, R1, 32), "r1 s>>= 32"],
  [alu32Reg(AluOp.XOR, R3, R1), "w3 ^= w1"],
  [alu64Imm(AluOp.NEG, R3, 0), "r3 = -r3"],
  [alu32Imm(AluOp.NEG, R3, 0), "w3 = -w3"],
  [movsx64Reg(R1, R2, 8), "r1 = (s8)r2"],
  [movsx64Reg(R1, R2, 32), "r1 = (s32)r2"],
  [movsx32Reg(R1, R2, 16), "w1 = (s16)w2"],
  [addrSpaceCast(R1, R2, 1, 0), "r1 = addr_space_cast(r2, 1, 0)"],
  [endian(true, R0, 16), "r0 = be16 r0"],
  [endian(false, R0, 64), "r0 = le64 r0"],
  [bswap64(R3, 32), "r3 = bswap32 r3"],
  [ldImm64(R1, 0x1234n), "r1 = 0x1234 ll"],
  [ldImm64(R1, -1n), "r1 = 0xffffffffffffffff ll"],
  [ldMapFd(R1, 5), "r1 = map_fd[5]"],
  [ldMapValue(R1, 5, 8), "r1 = map_value[fd 5]+8"],
  [ldMapIdx(R1, 0), "r1 = map_idx[0]"],
  [ldMapIdxValue(R1, 0, 16), "r1 = map_idx_value[0]+16"],
  [ldBtfId(R1, 1234, 0), "r1 = btf_id[1234]"],
  [ldBtfId(R1, 1234, 7), "r1 = btf_id[1234 fd 7]"],
  [ldFunc(R1, 4), "r1 = func pc+4"],
  [ldxMem(Size.W, R2, R1, 8), "r2 = *(u32 *)(r1 +8)"],
  [ldxMem(Size.DW, R0, R6, 16), "r0 = *(u64 *)(r6 +16)"],
  [ldxMem(Size.B, R0, R1, 0), "r0 = *(u8 *)(r1 +0)"],
  [ldxMem(Size.H, R0, R10, -2), "r0 = *(u16 *)(r10 -2)"],
  [ldxMemsx(Size.B, R1, R2, 3), "r1 = *(s8 *)(r2 +3)"],
  [ldxMemsx(Size.W, R1, R2, 3), "r1 = *(s32 *)(r2 +3)"],
  [stxMem(Size.DW, R10, R1, -8), "*(u64 *)(r10 -8) = r1"],
  [stxMem(Size.W, R10, R7, -136), "*(u32 *)(r10 -136) = r7"],
  [stMem(Size.W, R10, -4, 0), "*(u32 *)(r10 -4) = 0"],
  [stMem(Size.DW, R1, 8, -1), "*(u64 *)(r1 +8) = -1"],
  [atomicOp(Size.DW, AtomicOp.ADD, R1, R2, 0), "lock *(u64 *)(r1 +0) += r2"],
  [atomicOp(Size.W, AtomicOp.XOR, R1, R2, 4), "lock *(u32 *)(r1 +4) ^= r2"],
  [atomicOp(Size.DW, AtomicOp.FETCH_ADD, R1, R2, 0), "r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)"],
  [atomicOp(Size.W, AtomicOp.FETCH_OR, R1, R2, 0), "r2 = atomic_fetch_or((u32 *)(r1 +0), r2)"],
  [atomicOp(Size.DW, AtomicOp.XCHG, R1, R2, 0), "r2 = atomic64_xchg((u64 *)(r1 +0), r2)"],
  [atomicOp(Size.DW, AtomicOp.CMPXCHG, R1, R2, 0), "r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)"],
  [atomicOp(Size.W, AtomicOp.LOAD_ACQ, R1, R2, 0), "r1 = load_acquire((u32 *)(r2 +0))"],
  [atomicOp(Size.B, AtomicOp.STORE_REL, R1, R2, 0), "store_release((u8 *)(r1 +0), r2)"],
  [jmpImm(JmpOp.JGT, R1, 5, 3), "if r1 > 0x5 goto pc+3"],
  [jmpImm(JmpOp.JSLT, R7, 0, -35), "if r7 s< 0x0 goto pc-35"],
  [jmpImm(JmpOp.JSLE, R1, 0, 1), "if r1 s<= 0x0 goto pc+1"],
  [jmpImm(JmpOp.JEQ, R1, -1, 0), "if r1 == 0xffffffff goto pc+0"],
  [jmpImm(JmpOp.JSET, R0, 1, 2), "if r0 & 0x1 goto pc+2"],
  [jmpReg(JmpOp.JNE, R1, R2, 3), "if r1 != r2 goto pc+3"],
  [jmpReg(JmpOp.JGE, R1, R2, 3), "if r1 >= r2 goto pc+3"],
  [jmpReg(JmpOp.JLT, R1, R2, 3), "if r1 < r2 goto pc+3"],
  [jmpReg(JmpOp.JLE, R1, R2, 3), "if r1 <= r2 goto pc+3"],
  [jmpReg(JmpOp.JSGT, R1, R2, 3), "if r1 s> r2 goto pc+3"],
  [jmpReg(JmpOp.JSGE, R1, R2, 3), "if r1 s>= r2 goto pc+3"],
  [jmp32Imm(JmpOp.JEQ, R0, 5, 2), "if w0 == 0x5 goto pc+2"],
  [jmp32Reg(JmpOp.JSGT, R1, R2, -1), "if w1 s> w2 goto pc-1"],
  [ja(-2), "goto pc-2"],
  [ja(11), "goto pc+11"],
  [gotol(70000), "gotol pc+70000"],
  [raw(0xe5, { off: 3 }), "may_goto pc+3"],
  [call(Helper.sys_bpf), "call bpf_sys_bpf#166"],
  [call(Helper.map_lookup_elem), "call bpf_map_lookup_elem#1"],
  [call(9999), "call #9999"],
  [callPseudo(4), "call pc+4"],
  [callPseudo(-7), "call pc-7"],
  [kfuncCall(1234, 0), "call kfunc#1234"],
  [kfuncCall(1234, 2), "call kfunc#1234 (fd_array[2])"],
  [exit(), "exit"],
  [raw(0x20, { imm: 12 }), "r0 = *(u32 *)skb[12]"],
  [raw(0x50, { src: 3, imm: 2 }), "r0 = *(u8 *)skb[r3 + 2]"],
];

describe("disassembler forms", () => {
  for (const [insns, text] of FORMS) {
    test(text, () => assert.equal(one(insns), text));
  }

  test("unknown opcodes and malformed forms render as (code) invalid", () => {
    const invalid: Insn[] = [
      raw(0xff),
      raw(0x8f), // NEG with a register source
      raw(0xe7), // ALU64 op 0xe0
      raw(0xdf, { imm: 16 }), // ALU64 END with TO_BE
      raw(0xd4, { imm: 8 }), // END of 8 bits
      raw(0x86), // JMP32 CALL
      raw(0x96), // JMP32 EXIT
      raw(0x0d), // JA with X
      raw(0xf5), // JMP op 0xf0
      raw(0x85, { src: 3 }), // call with an unknown src
      raw(0x99), // LDX mode 0x80|DW: sign-extending 64-bit load
      raw(0xa1), // LDX mode 0xa0
      raw(0xc2), // ST atomic
      raw(0xd3, { imm: AtomicOp.ADD }), // atomic add of a byte
      raw(0xdb, { imm: 0x02 }), // unknown atomic op
      raw(0x38), // LD ABS DW
      raw(0x00), // LD IMM W
      raw(0xbf, { off: 4 }), // MOV with an unknown offset
      raw(0x3f, { off: 2 }), // DIV with an unknown offset
    ];
    for (const insn of invalid) {
      const code = insn.code.toString(16).padStart(2, "0");
      assert.equal(one(insn), `(${code}) invalid`, code);
    }
    assert.equal(one([raw(LD_IMM64, { src: 7 }), raw(0)]), "(18) invalid");
    assert.equal(
      one([raw(LD_IMM64), raw(0, { off: 1 })]),
      "(18) invalid ld_imm64 (impure second slot)",
    );
    assert.deepEqual(disassemble([raw(LD_IMM64, { dst: 1 }), exit(), exit()]), [
      "(18) invalid ld_imm64 (impure second slot)",
      "exit",
    ]);
    assert.deepEqual(disassemble([mov64Imm(R0, 0), raw(LD_IMM64)]), [
      "r0 = 0",
      "(18) invalid ld_imm64 (no second slot)",
    ]);
  });

  test("options: opcode prefix and helper names", () => {
    assert.deepEqual(disassemble([mov64Imm(R0, 0), exit()], { showCode: true }), [
      "(b7) r0 = 0",
      "(95) exit",
    ]);
    const helperName = (id: number) => (id === 7 ? "my_helper" : undefined);
    assert.deepEqual(disassemble([call(7), call(Helper.sys_bpf)], { helperName }), [
      "call my_helper#7",
      "call #166",
    ]);
  });

  test("an ld_imm64 pair is one line and its second slot gets none", () => {
    const insns = program(mov64Imm(R0, 0), ldMapIdxValue(R1, 0, 8), exit());
    const lines = disassembleLines(insns);
    assert.deepEqual(
      lines.map((l) => [l.index, l.slots, l.code, l.valid]),
      [
        [0, 1, 0xb7, true],
        [1, 2, 0x18, true],
        [3, 1, 0x95, true],
      ],
    );
    assert.equal(
      formatInsnListing(insns),
      ["   0: (b7) r0 = 0", "   1: (18) r1 = map_idx_value[0]+8", "   3: (95) exit"].join("\n"),
    );
    assert.equal(formatInsnListing([raw(0xff)]), "   0: (ff) invalid");
    assert.equal(formatInsnListing([]), "");
  });

  test("never throws, and the lines cover every slot exactly once (property)", () => {
    const arbInsn = fc.record(
      {
        code: fc.oneof(fc.integer({ min: 0, max: 0xff }), fc.constant(LD_IMM64)),
        dst: fc.integer({ min: 0, max: 15 }),
        src: fc.integer({ min: 0, max: 15 }),
        off: fc.integer({ min: -0x8000, max: 0x7fff }),
        imm: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      },
      { noNullPrototype: true },
    );
    fc.assert(
      fc.property(fc.array(arbInsn, { maxLength: 40 }), (insns) => {
        const lines = disassembleLines(insns);
        let next = 0;
        for (const line of lines) {
          assert.equal(line.index, next);
          assert.equal(line.valid, !line.text.startsWith("invalid"));
          next += line.slots;
        }
        assert.equal(next, insns.length);
        assert.equal(disassemble(insns).length, lines.length);
      }),
    );
  });
});

describe("disassembling the vector loaders", { skip: skipVectors }, () => {
  for (const prog of PROGS) {
    for (const kind of ["signed", "unsigned"] as const) {
      test(`${prog} ${kind}: no invalid line, one line per instruction`, () => {
        const insns = decodeInsns(readVector(prog, `insns.${kind}.bin`));
        assert.equal(insns.length, LOADER_SLOTS[prog][kind]);
        const pairs = insns.filter((i) => i.code === LD_IMM64).length;
        const lines = disassemble(insns);
        assert.equal(lines.length, insns.length - pairs);
        assert.deepEqual(
          lines.filter((l) => l.includes("invalid")),
          [],
        );
        // the last line of a gen_loader program is its success exit
        assert.deepEqual(lines.slice(-2), ["r0 = 0", "exit"]);
      });
    }

    test(`${prog}: the target program in data.bin disassembles cleanly`, () => {
      const lines = disassemble(decodeInsns(targetInsns(prog)));
      assert.ok(lines.length > 0);
      assert.ok(lines.every((l) => !l.includes("invalid")));
      assert.equal(lines.at(-1), "exit");
    });
  }

  test("prog_a loader: prologue, cleanup block and the first BTF_LOAD steps", () => {
    const listing = formatInsnListing(decodeInsns(readVector("prog_a", "insns.signed.bin")));
    const head = listing.split("\n").slice(0, 19);
    assert.deepEqual(head, [
      "   0: (bf) r6 = r1",
      "   1: (bf) r1 = r10",
      "   2: (07) r1 += -136",
      "   3: (b7) r2 = 136",
      "   4: (b7) r3 = 0",
      "   5: (85) call bpf_probe_read_kernel#113",
      "   6: (05) goto pc+11",
      "   7: (61) r1 = *(u32 *)(r10 -136)",
      "   8: (d5) if r1 s<= 0x0 goto pc+1",
      "   9: (85) call bpf_sys_close#168",
      "  10: (61) r1 = *(u32 *)(r10 -132)",
      "  11: (d5) if r1 s<= 0x0 goto pc+1",
      "  12: (85) call bpf_sys_close#168",
      "  13: (61) r1 = *(u32 *)(r10 -128)",
      "  14: (d5) if r1 s<= 0x0 goto pc+1",
      "  15: (85) call bpf_sys_close#168",
      "  16: (bf) r0 = r7",
      "  17: (95) exit",
      "  18: (61) r0 = *(u32 *)(r6 +8)",
    ]);
    // blob references go through map_idx_value[0]; BTF_LOAD is `r1 = 18 ... call bpf_sys_bpf`
    assert.match(listing, /\n {2}19: \(18\) r1 = map_idx_value\[0\]\+\d+\n {2}21: \(63\)/);
    assert.match(
      listing,
      /\(b7\) r1 = 18\n.*\(18\) r2 = map_idx_value\[0\]\+\d+\n.*\(b7\) r3 = 28\n.*call bpf_sys_bpf#166/,
    );
  });

  test("the loaders use only MAP_IDX_VALUE of fd_array slot 0 and a few helpers", () => {
    for (const prog of PROGS) {
      for (const kind of ["signed", "unsigned"] as const) {
        const lines = disassemble(decodeInsns(readVector(prog, `insns.${kind}.bin`)));
        const loads = lines.filter((l) => / = (map_|btf_id|func |0x.* ll)/.test(l));
        assert.ok(
          loads.every((l) => /^r\d = map_idx_value\[0\]\+\d+$/.test(l)),
          prog,
        );
        const calls = new Set(lines.filter((l) => l.startsWith("call ")));
        const allowed = [
          "call bpf_probe_read_kernel#113",
          "call bpf_sys_bpf#166",
          "call bpf_sys_close#168",
          "call bpf_copy_from_user#148",
        ];
        for (const c of calls) assert.ok(allowed.includes(c), `${prog} ${kind}: ${c}`);
        assert.equal(
          calls.has("call bpf_copy_from_user#148"),
          prog === "prog_d" && kind === "unsigned",
        );
      }
    }
  });
});
