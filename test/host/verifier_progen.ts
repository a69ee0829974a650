/**
 * A seeded generator of random, structurally valid programs for the verifier agreement runs
 * (issue 15): reserved fields zero, jumps in range, exit last, but no care taken for safety.
 * A share start by initialising registers, use the stack, an ARRAY map (lookups with and
 * without a null check) and, for sched_cls, the packet with or without a data_end check.
 * The map is named by a placeholder fd that `materialise` replaces with a real one.
 */
import {
  AluOp,
  type AluOpCode,
  alu32Imm,
  alu32Reg,
  alu64Imm,
  alu64Reg,
  call,
  encodeInsns,
  exit,
  type Insn,
  JmpOp,
  type JmpOpCode,
  jmp32Imm,
  jmpImm,
  jmpReg,
  ldImm64,
  ldMapFd,
  ldMapValue,
  ldxMem,
  mov64Imm,
  mov64Reg,
  Size,
  type SizeCode,
  stMem,
  stxMem,
} from "../../src/insn/index.js";
import { ProgType } from "../../src/uapi/constants.js";
import { rng } from "./progen.js";

export const MAP_FD_PLACEHOLDER = 0x7ff0;

export interface RandomProgram {
  readonly seed: number;
  readonly progType: number;
  /** Instructions with MAP_FD_PLACEHOLDER where the map fd goes. */
  readonly insns: Insn[];
}

const ALU: readonly AluOpCode[] = [
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
const JMP: readonly JmpOpCode[] = [
  JmpOp.JEQ,
  JmpOp.JNE,
  JmpOp.JGT,
  JmpOp.JGE,
  JmpOp.JLT,
  JmpOp.JLE,
  JmpOp.JSGT,
  JmpOp.JSLT,
  JmpOp.JSET,
];
const SIZES: readonly SizeCode[] = [Size.B, Size.H, Size.W, Size.DW];

type Slot = Insn | { at: number; make: (off: number) => Insn };

export function randomProgram(seed: number): RandomProgram {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const int = (n: number) => Math.floor(r() * n);
  const progType = r() < 0.5 ? ProgType.SOCKET_FILTER : ProgType.SCHED_CLS;
  const careful = r() < 0.7;
  const reg = () => (careful ? pick([0, 7, 8, 9, 0, 7, 8, 9, 2, 3]) : int(10));
  const out: Slot[] = [];
  const push = (...xs: Insn[]) => {
    for (const x of xs) out.push(x);
  };
  if (careful) {
    push(mov64Reg(6, 1));
    for (const w of [0, 2, 3, 4, 5, 7, 8, 9]) if (r() < 0.95) push(mov64Imm(w, int(64)));
    for (let s = 1; s <= 4; s++) if (r() < 0.6) push(stMem(Size.DW, 10, -8 * s, int(16)));
  }
  const n = 4 + int(24);
  let pending = 0;
  for (let i = 0; i < n; i++) {
    const k = r();
    const is32 = r() < 0.3;
    if (k < 0.3) {
      const op = pick(ALU);
      const shift = op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH;
      if (r() < 0.5) {
        const v = shift ? int(is32 ? 32 : 64) : pick([0, 1, 4, 8, -8, 16, 255, int(1 << 16)]);
        push(is32 ? alu32Imm(op, reg(), v) : alu64Imm(op, reg(), v));
      } else {
        const s = !careful && r() < 0.2 ? 10 : reg();
        push(is32 ? alu32Reg(op, reg(), s) : alu64Reg(op, reg(), s));
      }
    } else if (k < 0.38) {
      push(mov64Reg(reg(), careful ? reg() : pick([1, 10, 6, reg()])));
    } else if (k < 0.5) {
      const size = pick(SIZES);
      const base = careful ? pick([10, 10, 6]) : pick([10, 10, 1, 6, reg()]);
      const off =
        base === 10
          ? -8 * (1 + int(6)) + (careful ? 0 : pick([0, 0, 0, 4, 2, 1]))
          : careful
            ? pick([0, 4, 8, 48, 52])
            : pick([0, 4, 8, 16, 48, 76, 80, int(200)]);
      push(ldxMem(careful && base === 6 ? Size.W : size, reg(), base, off));
    } else if (k < 0.62) {
      const size = pick(SIZES);
      const base = careful ? pick([10, 10, 6]) : pick([10, 10, 1, 6, reg()]);
      const off =
        base === 10
          ? -8 * (1 + int(6)) + (careful ? 0 : pick([0, 0, 0, 4, 2, 1]))
          : careful
            ? pick([48, 52, 56])
            : pick([0, 48, 52, 8, int(100)]);
      const sz = careful && base === 6 ? Size.W : size;
      push(r() < 0.5 ? stxMem(sz, base, reg(), off) : stMem(sz, base, off, int(100)));
    } else if (k < 0.72) {
      // a map lookup with a key on the stack
      push(stMem(Size.W, 10, -4, pick([0, 0, 1, 3])));
      push(...ldMapFd(1, MAP_FD_PLACEHOLDER));
      push(mov64Reg(2, 10), alu64Imm(AluOp.ADD, 2, -4), call(1));
      if (r() < 0.6) out.push({ at: out.length, make: (off) => jmpImm(JmpOp.JEQ, 0, 0, off) });
      push(ldxMem(pick(SIZES), reg(), 0, pick([0, 4, 8, 12, 16])));
    } else if (k < 0.77) {
      push(
        ...(r() < 0.5
          ? ldImm64(reg(), BigInt(int(1 << 30)))
          : ldMapValue(reg(), MAP_FD_PLACEHOLDER, pick([0, 8]))),
      );
    } else if (k < 0.82 && progType === ProgType.SCHED_CLS) {
      const ctx = careful ? 6 : 1;
      if (careful) push(mov64Imm(2, 0));
      push(
        ldxMem(Size.W, 2, ctx, 76),
        ldxMem(Size.W, 3, ctx, 80),
        mov64Reg(4, 2),
        alu64Imm(AluOp.ADD, 4, pick([8, 14, 20])),
      );
      if (r() < 0.7) out.push({ at: out.length, make: (off) => jmpReg(JmpOp.JGT, 4, 3, off) });
      push(ldxMem(pick(SIZES), reg(), 2, pick([0, 4, 8, 12])));
    } else if (k < 0.87) {
      push(call(careful ? pick([5, 7, 8]) : pick([5, 7, 8, 1, 26, 6, 14, 2000])));
    } else if (k < 0.97 && pending < 4) {
      pending++;
      const op = pick(JMP);
      const [d, s, v] = [reg(), reg(), pick([0, 1, 8, 64, -1])];
      const x = r();
      out.push({
        at: out.length,
        make: (off) =>
          x < 0.5
            ? jmpImm(op, d, v, off)
            : x < 0.8
              ? jmpReg(op, d, s, off)
              : jmp32Imm(op, d, v, off),
      });
    } else {
      push(mov64Imm(reg(), int(10)));
    }
  }
  if (r() < 0.85) push(mov64Imm(0, int(2)));
  // Resolve jumps forward to a later slot start (never into an ld_imm64's second half).
  const starts: number[] = [];
  let pc = 0;
  for (const s of out) {
    starts.push(pc);
    pc += "make" in s ? 1 : s.code === 0x18 ? 1 : 1;
  }
  const insns: Insn[] = [];
  const slotIndex: number[] = [];
  for (const s of out) {
    slotIndex.push(insns.length);
    insns.push("make" in s ? exit() : s);
  }
  const total = insns.length + 1; // + exit
  out.forEach((s, i) => {
    if (!("make" in s)) return;
    const from = slotIndex[i];
    const candidates: number[] = [];
    for (let j = i + 1; j < out.length; j++) {
      const o = out[j];
      if (!("make" in o) && insns[slotIndex[j]].code === 0 && j > 0) continue;
      candidates.push(slotIndex[j]);
    }
    candidates.push(total - 1);
    const to = candidates[Math.floor(r() * candidates.length)];
    insns[from] = s.make(to - from - 1);
  });
  // ld_imm64 second halves have code 0: skip them as jump targets
  for (let i = 0; i < insns.length; i++) {
    const ins = insns[i];
    if ((ins.code & 7) === 5 && (ins.code & 0xf0) !== 0x80 && (ins.code & 0xf0) !== 0x90) {
      const to = i + ins.off + 1;
      if (
        to < insns.length &&
        insns[to].code === 0 &&
        i + 1 !== to &&
        insns[to - 1]?.code === 0x18
      ) {
        insns[i] = { ...ins, off: ins.off + 1 };
      }
    }
  }
  insns.push(exit());
  return { seed, progType, insns };
}

/** The program's bytes with the map placeholder replaced by `mapFd`. */
export function materialise(p: RandomProgram, mapFd: number): Uint8Array {
  return encodeInsns(
    p.insns.map((i) =>
      i.code === 0x18 && i.imm === MAP_FD_PLACEHOLDER && (i.src === 1 || i.src === 2)
        ? { ...i, imm: mapFd }
        : i,
    ),
  );
}
