/**
 * A seeded generator of random verifier-safe SYSCALL programs: straight-line and
 * forward-branching ALU/ALU64/JMP/JMP32 code on initialized scalar registers, stack stores and
 * (sign-extending) loads, byte swaps, sign-extending moves, and divisions/modulos by non-zero
 * constants. The program reads its inputs from the ctx and stores every working register back
 * into the ctx before exiting, so a test run returns all interesting 64-bit values.
 */
import {
  AluOp,
  type AluOpCode,
  alu32Imm,
  alu32Reg,
  alu64Imm,
  alu64Reg,
  bswap64,
  endian,
  exit,
  type Insn,
  JmpOp,
  type JmpOpCode,
  ja,
  jmp32Imm,
  jmp32Reg,
  jmpImm,
  jmpReg,
  ldImm64,
  ldxMem,
  ldxMemsx,
  mov64Reg,
  movsx32Reg,
  movsx64Reg,
  Size,
  type SizeCode,
  stMem,
  stxMem,
} from "../../src/insn/index.js";

/** Registers the program computes with (r6 holds the ctx pointer, r10 is the frame pointer). */
export const WORK_REGS = [0, 1, 2, 3, 4, 5, 7, 8, 9] as const;
/** ctx: 4 input u64s at 0..31 (overwritten), the registers' final values at 8*i. */
export const CTX_SIZE = 8 * WORK_REGS.length;
const INPUTS = 4;
const STACK_SLOTS = 8;

export interface GeneratedProgram {
  readonly seed: number;
  readonly insns: Insn[];
  readonly ctx: Uint8Array;
}

/** mulberry32: a small, fast, seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALU_BIN: readonly AluOpCode[] = [
  AluOp.ADD,
  AluOp.SUB,
  AluOp.MUL,
  AluOp.OR,
  AluOp.AND,
  AluOp.XOR,
  AluOp.LSH,
  AluOp.RSH,
  AluOp.ARSH,
  AluOp.MOV,
];
const JMP_COND: readonly JmpOpCode[] = [
  JmpOp.JEQ,
  JmpOp.JNE,
  JmpOp.JGT,
  JmpOp.JGE,
  JmpOp.JLT,
  JmpOp.JLE,
  JmpOp.JSGT,
  JmpOp.JSGE,
  JmpOp.JSLT,
  JmpOp.JSLE,
  JmpOp.JSET,
];
const SIZES: readonly SizeCode[] = [Size.B, Size.H, Size.W, Size.DW];
const BYTES: Record<number, number> = { [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 };

/** Interesting immediates: edges first, then anything. */
function imm32(r: () => number): number {
  const edges = [0, 1, -1, 2, 7, 31, 32, 63, 0x7fffffff, -0x80000000, 0xff, 0xffff, -2];
  return r() < 0.3 ? edges[Math.floor(r() * edges.length)] : Math.floor(r() * 2 ** 32) | 0;
}

function imm64(r: () => number): bigint {
  const edges = [
    0n,
    1n,
    -1n,
    1n << 63n,
    (1n << 63n) - 1n,
    0xffffffffn,
    0x80000000n,
    0x8000n,
    0x80n,
  ];
  if (r() < 0.3) return edges[Math.floor(r() * edges.length)];
  const hi = BigInt(Math.floor(r() * 2 ** 32));
  const lo = BigInt(Math.floor(r() * 2 ** 32));
  return BigInt.asIntN(64, (hi << 32n) | lo);
}

/** The program with `seed`: ~20..80 body instructions. */
export function generateProgram(seed: number): GeneratedProgram {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const reg = () => pick(WORK_REGS);

  const ctx = new Uint8Array(CTX_SIZE);
  const dv = new DataView(ctx.buffer);
  for (let i = 0; i < INPUTS; i++) dv.setBigUint64(i * 8, BigInt.asUintN(64, imm64(r)), true);

  const pro: Insn[] = [mov64Reg(6, 1)];
  for (const w of WORK_REGS) {
    if (r() < 0.5) pro.push(ldxMem(Size.DW, w, 6, 8 * Math.floor(r() * INPUTS)));
    else pro.push(...ldImm64(w, imm64(r)));
  }
  for (let s = 1; s <= STACK_SLOTS; s++) {
    pro.push(r() < 0.5 ? stxMem(Size.DW, 10, reg(), -8 * s) : stMem(Size.DW, 10, -8 * s, imm32(r)));
  }

  // The body: single-slot instructions only, so any forward jump lands on an instruction.
  const n = 20 + Math.floor(r() * 60);
  const body: (Insn | { jump: (target: number) => Insn; at: number })[] = [];
  let branches = 0;
  for (let i = 0; i < n; i++) {
    const k = r();
    const is32 = r() < 0.4;
    if (k < 0.35) {
      const op = pick(ALU_BIN);
      const isShift = op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH;
      if (r() < 0.5) {
        const v = isShift ? Math.floor(r() * (is32 ? 32 : 64)) : imm32(r);
        body.push(is32 ? alu32Imm(op, reg(), v) : alu64Imm(op, reg(), v));
      } else body.push(is32 ? alu32Reg(op, reg(), reg()) : alu64Reg(op, reg(), reg()));
    } else if (k < 0.45) {
      // division / modulo by a non-zero constant, unsigned or signed (off = 1)
      const op = r() < 0.5 ? AluOp.DIV : AluOp.MOD;
      let v = imm32(r);
      if (v === 0) v = 3;
      const signed = r() < 0.5 ? 1 : 0;
      body.push(is32 ? alu32Imm(op, reg(), v, signed) : alu64Imm(op, reg(), v, signed));
    } else if (k < 0.5) {
      body.push(is32 ? alu32Imm(AluOp.NEG, reg(), 0) : alu64Imm(AluOp.NEG, reg(), 0));
    } else if (k < 0.58) {
      const bits = pick([16, 32, 64] as const);
      const x = r();
      body.push(x < 0.33 ? bswap64(reg(), bits) : endian(x < 0.66, reg(), bits));
    } else if (k < 0.65) {
      body.push(
        is32
          ? movsx32Reg(reg(), reg(), pick([8, 16] as const))
          : movsx64Reg(reg(), reg(), pick([8, 16, 32] as const)),
      );
    } else if (k < 0.75) {
      const size = pick(SIZES);
      const b = BYTES[size];
      const off = -8 * (1 + Math.floor(r() * STACK_SLOTS)) + b * Math.floor(r() * (8 / b));
      body.push(r() < 0.5 ? stxMem(size, 10, reg(), off) : stMem(size, 10, off, imm32(r)));
    } else if (k < 0.85) {
      const size = pick(SIZES);
      const b = BYTES[size];
      const off = -8 * (1 + Math.floor(r() * STACK_SLOTS)) + b * Math.floor(r() * (8 / b));
      body.push(
        size !== Size.DW && r() < 0.5
          ? ldxMemsx(size, reg(), 10, off)
          : ldxMem(size, reg(), 10, off),
      );
    } else if (branches < 8 && i < n - 1) {
      branches++;
      const op = pick(JMP_COND);
      const [d, s, v] = [reg(), reg(), imm32(r)];
      const x = r();
      const at = i;
      body.push({
        at,
        jump: (target: number) => {
          const off = target - at - 1;

          // an unconditional jump over code would leave it unreachable (refused): goto pc+0
          if (x < 0.1) return ja(0);
          if (x < 0.4) return jmpImm(op, d, v, off);
          if (x < 0.6) return jmpReg(op, d, s, off);
          if (x < 0.8) return jmp32Imm(op, d, v, off);
          return jmp32Reg(op, d, s, off);
        },
      });
    } else {
      body.push(alu64Reg(AluOp.MOV, reg(), reg()));
    }
  }
  // Resolve jumps: each targets a later body instruction or the epilogue's first store.
  const resolved = body.map((b, i) =>
    "jump" in b ? b.jump(i + 1 + Math.floor(r() * (body.length - i))) : b,
  );
  const epi: Insn[] = WORK_REGS.map((w, i) => stxMem(Size.DW, 6, w, 8 * i));
  return { seed, insns: [...pro, ...resolved, ...epi, exit()], ctx };
}
