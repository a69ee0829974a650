/**
 * A small assembler for building instruction arrays in tests and generators. The functions
 * follow the kernel's `BPF_*` macros (include/linux/filter.h) and encode exactly what clang and
 * libbpf emit for the same instruction.
 *
 * Arguments are range-checked: registers 0..10, `off` s16, `imm` s32 (a u32 is accepted and
 * stored as the s32 with the same bits). A bad argument throws `RangeError`.
 */

import { Pseudo } from "../uapi/constants.js";
import type { Insn } from "./insn.js";
import {
  ADDR_SPACE_CAST,
  AluOp,
  type AluOpCode,
  type AtomicOpCode,
  Class,
  Endian,
  JmpOp,
  type JmpOpCode,
  LD_IMM64,
  MAX_BPF_REG,
  Mode,
  Size,
  type SizeCode,
  Src,
} from "./opcode.js";

function reg(name: string, r: number): number {
  if (!Number.isInteger(r) || r < 0 || r >= MAX_BPF_REG) {
    throw new RangeError(`${name} register ${r} is not one of r0..r10`);
  }
  return r;
}

function s16(name: string, v: number): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) {
    throw new RangeError(`${name} ${v} does not fit in a signed 16-bit offset`);
  }
  return v;
}

function s32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
    throw new RangeError(`${name} ${v} does not fit in a 32-bit immediate`);
  }
  return v | 0;
}

function insn(code: number, dst: number, src: number, off: number, imm: number): Insn {
  return { code, dst: reg("dst", dst), src, off: s16("off", off), imm: s32("imm", imm) };
}

function bitsOf(name: string, bits: number, allowed: readonly number[]): number {
  if (!allowed.includes(bits)) {
    throw new RangeError(`${name}: width ${bits} is not one of ${allowed.join(", ")}`);
  }
  return bits;
}

// --- ALU -----------------------------------------------------------------------------------

/**
 * `BPF_ALU64_IMM(op, dst, imm)`: `dst op= imm` on 64 bits. `off` = 1 with DIV/MOD selects the
 * signed variant (`s/=`, `s%=`, cpu v4).
 */
export function alu64Imm(op: AluOpCode, dst: number, imm: number, off = 0): Insn {
  return insn(Class.ALU64 | op | Src.K, dst, 0, off, imm);
}

/** `BPF_ALU64_REG(op, dst, src)`: `dst op= src` on 64 bits. */
export function alu64Reg(op: AluOpCode, dst: number, src: number, off = 0): Insn {
  return insn(Class.ALU64 | op | Src.X, dst, reg("src", src), off, 0);
}

/** `BPF_ALU32_IMM(op, dst, imm)`: `wdst op= imm`, upper half zeroed. */
export function alu32Imm(op: AluOpCode, dst: number, imm: number, off = 0): Insn {
  return insn(Class.ALU | op | Src.K, dst, 0, off, imm);
}

/** `BPF_ALU32_REG(op, dst, src)`: `wdst op= wsrc`, upper half zeroed. */
export function alu32Reg(op: AluOpCode, dst: number, src: number, off = 0): Insn {
  return insn(Class.ALU | op | Src.X, dst, reg("src", src), off, 0);
}

/** `BPF_MOV64_IMM(dst, imm)`: `dst = imm` (sign-extended to 64 bits). */
export function mov64Imm(dst: number, imm: number): Insn {
  return alu64Imm(AluOp.MOV, dst, imm);
}

/** `BPF_MOV64_REG(dst, src)`: `dst = src`. */
export function mov64Reg(dst: number, src: number): Insn {
  return alu64Reg(AluOp.MOV, dst, src);
}

/** `BPF_MOV32_IMM(dst, imm)`: `wdst = imm`. */
export function mov32Imm(dst: number, imm: number): Insn {
  return alu32Imm(AluOp.MOV, dst, imm);
}

/** `BPF_MOV32_REG(dst, src)`: `wdst = wsrc`. */
export function mov32Reg(dst: number, src: number): Insn {
  return alu32Reg(AluOp.MOV, dst, src);
}

/** `BPF_MOVSX64_REG(dst, src, bits)`: `dst = (s8|s16|s32)src` (cpu v4). */
export function movsx64Reg(dst: number, src: number, bits: 8 | 16 | 32): Insn {
  return alu64Reg(AluOp.MOV, dst, src, bitsOf("movsx64", bits, [8, 16, 32]));
}

/** `BPF_MOVSX32_REG(dst, src, bits)`: `wdst = (s8|s16)wsrc` (cpu v4). */
export function movsx32Reg(dst: number, src: number, bits: 8 | 16): Insn {
  return alu32Reg(AluOp.MOV, dst, src, bitsOf("movsx32", bits, [8, 16]));
}

/** `dst = addr_space_cast(src, dstAs, srcAs)` (arena pointers). */
export function addrSpaceCast(dst: number, src: number, dstAs: number, srcAs: number): Insn {
  for (const as of [dstAs, srcAs]) {
    if (!Number.isInteger(as) || as < 0 || as > 0xffff) {
      throw new RangeError(`addrSpaceCast: address space ${as} does not fit in 16 bits`);
    }
  }
  return { ...alu64Reg(AluOp.MOV, dst, src, ADDR_SPACE_CAST), imm: (dstAs << 16) | srcAs | 0 };
}

/** `BPF_ENDIAN(TO_BE|TO_LE, dst, bits)`: convert the low `bits` of dst to big / little endian. */
export function endian(toBe: boolean, dst: number, bits: 16 | 32 | 64): Insn {
  const source = toBe ? Endian.TO_BE : Endian.TO_LE;
  return insn(Class.ALU | AluOp.END | source, dst, 0, 0, bitsOf("endian", bits, [16, 32, 64]));
}

/** `BPF_BSWAP(dst, bits)`: unconditional byte swap of the low `bits` (cpu v4, ALU64 END). */
export function bswap64(dst: number, bits: 16 | 32 | 64): Insn {
  return insn(
    Class.ALU64 | AluOp.END | Endian.TO_LE,
    dst,
    0,
    0,
    bitsOf("bswap", bits, [16, 32, 64]),
  );
}

// --- 64-bit immediates ----------------------------------------------------------------------

/**
 * `BPF_LD_IMM64_RAW_FULL(dst, pseudo, 0, 0, imm, imm2)`: the two slots of an `ld_imm64` with
 * `src_reg` = `pseudo`, first-slot `imm` and second-slot `imm2`.
 */
export function ldImm64Raw(dst: number, pseudo: number, imm: number, imm2: number): [Insn, Insn] {
  if (!Number.isInteger(pseudo) || pseudo < 0 || pseudo > 0x0f) {
    throw new RangeError(`ld_imm64 src_reg ${pseudo} does not fit in 4 bits`);
  }
  return [insn(LD_IMM64, dst, pseudo, 0, imm), insn(0, 0, 0, 0, imm2)];
}

/** `BPF_LD_IMM64(dst, value)`: `dst = value` (`r1 = 0x... ll`); value in [-2^63, 2^64). */
export function ldImm64(dst: number, value: bigint): [Insn, Insn] {
  if (value < -(1n << 63n) || value >= 1n << 64n) {
    throw new RangeError(`ld_imm64 value ${value} does not fit in 64 bits`);
  }
  const u = BigInt.asUintN(64, value);
  return ldImm64Raw(dst, 0, Number(BigInt.asIntN(32, u)), Number(BigInt.asIntN(32, u >> 32n)));
}

/** `BPF_LD_MAP_FD(dst, fd)`: `dst = map_fd[fd]` (the map pointer). */
export function ldMapFd(dst: number, fd: number): [Insn, Insn] {
  return ldImm64Raw(dst, Pseudo.MAP_FD, fd, 0);
}

/** `BPF_LD_MAP_VALUE(dst, fd, off)`: `dst = &value_of(map fd) + off`. */
export function ldMapValue(dst: number, fd: number, off: number): [Insn, Insn] {
  return ldImm64Raw(dst, Pseudo.MAP_VALUE, fd, off);
}

/** `dst = map of fd_array[idx]` (`BPF_PSEUDO_MAP_IDX`). */
export function ldMapIdx(dst: number, idx: number): [Insn, Insn] {
  return ldImm64Raw(dst, Pseudo.MAP_IDX, idx, 0);
}

/** `dst = &value_of(map of fd_array[idx]) + off` (`BPF_PSEUDO_MAP_IDX_VALUE`, gen_loader's blob access). */
export function ldMapIdxValue(dst: number, idx: number, off: number): [Insn, Insn] {
  return ldImm64Raw(dst, Pseudo.MAP_IDX_VALUE, idx, off);
}

/** `dst = address of the kernel symbol with BTF id `id`` (`BPF_PSEUDO_BTF_ID`); btfFd 0 = vmlinux. */
export function ldBtfId(dst: number, id: number, btfFd: number): [Insn, Insn] {
  return ldImm64Raw(dst, Pseudo.BTF_ID, id, btfFd);
}

/** `dst = address of the subprogram at pc + off + 1` (`BPF_PSEUDO_FUNC`). */
export function ldFunc(dst: number, off: number): [Insn, Insn] {
  return ldImm64Raw(dst, Pseudo.FUNC, off, 0);
}

// --- loads and stores -------------------------------------------------------------------------

/** `BPF_LDX_MEM(size, dst, src, off)`: `dst = *(size *)(src + off)`, zero-extended. */
export function ldxMem(size: SizeCode, dst: number, src: number, off: number): Insn {
  return insn(Class.LDX | size | Mode.MEM, dst, reg("src", src), off, 0);
}

/** `BPF_LDX_MEMSX(size, dst, src, off)`: sign-extending load (B, H or W; cpu v4). */
export function ldxMemsx(size: SizeCode, dst: number, src: number, off: number): Insn {
  if (size === Size.DW) throw new RangeError("ldxMemsx: there is no sign-extending 64-bit load");
  return insn(Class.LDX | size | Mode.MEMSX, dst, reg("src", src), off, 0);
}

/** `BPF_STX_MEM(size, dst, src, off)`: `*(size *)(dst + off) = src`. */
export function stxMem(size: SizeCode, dst: number, src: number, off: number): Insn {
  return insn(Class.STX | size | Mode.MEM, dst, reg("src", src), off, 0);
}

/** `BPF_ST_MEM(size, dst, off, imm)`: `*(size *)(dst + off) = imm`. */
export function stMem(size: SizeCode, dst: number, off: number, imm: number): Insn {
  return insn(Class.ST | size | Mode.MEM, dst, 0, off, imm);
}

/** `BPF_ATOMIC_OP(size, op, dst, src, off)`: e.g. `lock *(u64 *)(dst + off) += src`. */
export function atomicOp(
  size: SizeCode,
  op: AtomicOpCode,
  dst: number,
  src: number,
  off: number,
): Insn {
  return insn(Class.STX | size | Mode.ATOMIC, dst, reg("src", src), off, op);
}

// --- jumps and calls --------------------------------------------------------------------------

/** `BPF_JMP_IMM(op, dst, imm, off)`: `if dst op imm goto pc + off`. */
export function jmpImm(op: JmpOpCode, dst: number, imm: number, off: number): Insn {
  return insn(Class.JMP | op | Src.K, dst, 0, off, imm);
}

/** `BPF_JMP_REG(op, dst, src, off)`: `if dst op src goto pc + off`. */
export function jmpReg(op: JmpOpCode, dst: number, src: number, off: number): Insn {
  return insn(Class.JMP | op | Src.X, dst, reg("src", src), off, 0);
}

/** `BPF_JMP32_IMM(op, dst, imm, off)`: `if wdst op imm goto pc + off`. */
export function jmp32Imm(op: JmpOpCode, dst: number, imm: number, off: number): Insn {
  return insn(Class.JMP32 | op | Src.K, dst, 0, off, imm);
}

/** `BPF_JMP32_REG(op, dst, src, off)`: `if wdst op wsrc goto pc + off`. */
export function jmp32Reg(op: JmpOpCode, dst: number, src: number, off: number): Insn {
  return insn(Class.JMP32 | op | Src.X, dst, reg("src", src), off, 0);
}

/** `BPF_JMP_A(off)`: `goto pc + off`. */
export function ja(off: number): Insn {
  return insn(Class.JMP | JmpOp.JA, 0, 0, off, 0);
}

/** `BPF_JMP32_A(imm)`: `gotol pc + imm` (32-bit range, cpu v4). */
export function gotol(imm: number): Insn {
  return insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, imm);
}

/** `BPF_EMIT_CALL(helper)`: `call helper#id`. */
export function call(helperId: number): Insn {
  return insn(Class.JMP | JmpOp.CALL, 0, 0, 0, helperId);
}

/** `BPF_CALL_REL(off)`: bpf-to-bpf call of the subprogram at pc + off + 1. */
export function callPseudo(off: number): Insn {
  return insn(Class.JMP | JmpOp.CALL, 0, Pseudo.CALL, 0, off);
}

/** Kernel function call: `imm` = BTF id of the function, `off` = fd_array index of its BTF (0 = vmlinux). */
export function kfuncCall(btfId: number, fdIndex: number): Insn {
  return insn(Class.JMP | JmpOp.CALL, 0, Pseudo.KFUNC_CALL, fdIndex, btfId);
}

/** `BPF_EXIT_INSN()` */
export function exit(): Insn {
  return insn(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0);
}

/** Flatten single instructions and `ld_imm64` pairs / instruction runs into one array. */
export function program(...parts: (Insn | readonly Insn[])[]): Insn[] {
  const out: Insn[] = [];
  for (const part of parts) {
    if (Array.isArray(part)) out.push(...(part as readonly Insn[]));
    else out.push(part as Insn);
  }
  return out;
}
