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
  AtomicOp,
  alu32Imm,
  alu32Reg,
  alu64Imm,
  alu64Reg,
  atomicOp,
  bswap64,
  call,
  callPseudo,
  encodeInsns,
  endian,
  exit,
  type Insn,
  JmpOp,
  type JmpOpCode,
  jmp32Imm,
  jmp32Reg,
  jmpImm,
  jmpReg,
  ldImm64,
  ldMapFd,
  ldMapValue,
  ldxMem,
  ldxMemsx,
  mov64Imm,
  mov64Reg,
  movsx32Reg,
  movsx64Reg,
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

/** BPF_LD | BPF_ABS / BPF_IND (legacy packet loads into r0). */
const ldAbs = (size: SizeCode, imm: number): Insn => ({
  code: 0x20 | size,
  dst: 0,
  src: 0,
  off: 0,
  imm,
});
const ldInd = (size: SizeCode, src: number, imm: number): Insn => ({
  code: 0x40 | size,
  dst: 0,
  src,
  off: 0,
  imm,
});

type Slot = Insn | { at: number; make: (off: number) => Insn; fixed?: boolean; call?: boolean };

/** Program classes the generator covers (the agreement report counts them). */
export const CLASSES = ["skb", "syscall", "loop", "subprog", "isa"] as const;
export type ProgramClass = (typeof CLASSES)[number];

export function programClass(seed: number): ProgramClass {
  return CLASSES[seed % CLASSES.length];
}

export function randomProgram(seed: number): RandomProgram {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const int = (n: number) => Math.floor(r() * n);
  const cls = programClass(seed);
  let progType: number = r() < 0.5 ? ProgType.SOCKET_FILTER : ProgType.SCHED_CLS;
  if (cls === "syscall") progType = ProgType.SYSCALL;
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
  if (cls === "loop") push(stMem(Size.DW, 10, -64, 0));
  const bodyStart = out.length;
  const n = 4 + int(24);
  let pending = 0;
  for (let i = 0; i < n; i++) {
    const k = r();
    const is32 = r() < 0.3;
    if (cls === "isa" && r() < 0.35) {
      const x = int(9);
      const d = reg();
      if (x === 0) push(movsx64Reg(d, reg(), pick([8, 16, 32] as const)));
      else if (x === 1) push(movsx32Reg(d, reg(), pick([8, 16] as const)));
      else if (x === 2) push(ldxMemsx(pick([Size.B, Size.H, Size.W]), d, 10, -8 * (1 + int(6))));
      else if (x === 3)
        push(
          r() < 0.5
            ? bswap64(d, pick([16, 32, 64] as const))
            : endian(r() < 0.5, d, pick([16, 32, 64] as const)),
        );
      else if (x === 4)
        push(
          atomicOp(
            pick([Size.W, Size.DW]),
            pick([AtomicOp.ADD, AtomicOp.FETCH_ADD, AtomicOp.XCHG, AtomicOp.OR]),
            10,
            d,
            -8 * (1 + int(6)),
          ),
        );
      else if (x === 5)
        push(
          is32
            ? alu32Reg(pick([AluOp.DIV, AluOp.MOD]), d, reg())
            : alu64Reg(pick([AluOp.DIV, AluOp.MOD]), d, reg()),
        );
      else if (x === 6 && progType !== ProgType.SYSCALL)
        push(
          r() < 0.5
            ? ldAbs(pick([Size.B, Size.H, Size.W]), int(40))
            : ldInd(pick([Size.B, Size.H, Size.W]), reg(), int(20)),
        );
      else if (x === 7) {
        // a variable offset into the stack
        push(
          mov64Reg(2, 10),
          mov64Reg(3, d),
          alu64Imm(AluOp.AND, 3, pick([7, 8, 24])),
          alu64Imm(AluOp.ADD, 2, -32),
          alu64Reg(AluOp.ADD, 2, 3),
        );
        push(r() < 0.5 ? ldxMem(pick(SIZES), reg(), 2, 0) : stMem(pick(SIZES), 2, 0, 1));
      } else push(is32 ? jmp32Reg(pick(JMP), d, reg(), 0) : jmpReg(pick(JMP), d, reg(), 0));
      continue;
    }
    if (cls === "syscall" && r() < 0.3) {
      const x = int(4);
      if (x === 0) push(ldxMem(pick(SIZES), reg(), 6, 8 * int(8)));
      else if (x === 1) push(stxMem(pick(SIZES), 6, reg(), 8 * int(8)));
      else if (x === 2) {
        push(
          mov64Reg(1, 10),
          alu64Imm(AluOp.ADD, 1, -48),
          mov64Imm(2, pick([8, 16, 48, 64])),
          mov64Imm(3, 0),
          call(113),
        );
      } else {
        push(
          mov64Reg(2, 10),
          alu64Imm(AluOp.ADD, 2, -48),
          mov64Imm(1, pick([0, 2, 21])),
          mov64Imm(3, pick([16, 48, 72])),
          call(166),
        );
      }
      continue;
    }
    if (cls === "subprog" && r() < 0.15) {
      push(mov64Reg(1, reg()));
      out.push({ at: out.length, make: () => exit(), call: true });
      continue;
    }
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
  if (cls === "loop") {
    const bound = 2 + int(6);
    push(ldxMem(Size.DW, 1, 10, -64), alu64Imm(AluOp.ADD, 1, 1), stxMem(Size.DW, 10, 1, -64));
    const back = out.length;
    out.push({
      at: back,
      make: () => jmpImm(JmpOp.JLT, 1, bound, bodyStart - back - 1),
      fixed: true,
    });
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
  // a subprogram after the main exit: r0 = r1 + 1 (or an uninitialised r0 now and then)
  const subStart = total;
  const sub: Insn[] = r() < 0.9 ? [mov64Reg(0, 1), alu64Imm(AluOp.ADD, 0, 1), exit()] : [exit()];
  out.forEach((s, i) => {
    if (!("make" in s)) return;
    const from = slotIndex[i];
    if (s.fixed) {
      insns[from] = s.make(0);
      return;
    }
    if (s.call) {
      insns[from] = callPseudo(subStart - from - 1);
      return;
    }
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
  if (cls === "subprog" && out.some((x) => "call" in x && x.call)) insns.push(...sub);
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
