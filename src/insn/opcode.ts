/**
 * The eBPF opcode vocabulary (include/uapi/linux/bpf.h, bpf_common.h): the fields an 8-bit
 * `code` is made of, and small accessors that take it apart.
 *
 * code = class (bits 0-2) | for loads/stores: size (bits 3-4) | mode (bits 5-7)
 *                         | for ALU/JMP: source (bit 3) | operation (bits 4-7)
 */

/** Instruction classes (`BPF_CLASS`, low 3 bits). */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;
export type InsnClass = (typeof Class)[keyof typeof Class];

/** Access sizes of loads and stores (`BPF_SIZE`, bits 3-4). */
export const Size = {
  /** 32-bit word */
  W: 0x00,
  /** 16-bit half word */
  H: 0x08,
  /** byte */
  B: 0x10,
  /** 64-bit double word */
  DW: 0x18,
} as const;
export type SizeCode = (typeof Size)[keyof typeof Size];

/** Addressing modes of loads and stores (`BPF_MODE`, bits 5-7). */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  /** Sign-extending load (cpu v4). */
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;
export type ModeCode = (typeof Mode)[keyof typeof Mode];

/** ALU operations (`BPF_OP` of ALU / ALU64, bits 4-7). */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;
export type AluOpCode = (typeof AluOp)[keyof typeof AluOp];

/** Jump operations (`BPF_OP` of JMP / JMP32, bits 4-7). */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  /** Conditional pseudo jump (`may_goto` when src_reg is 0). */
  JCOND: 0xe0,
} as const;
export type JmpOpCode = (typeof JmpOp)[keyof typeof JmpOp];

/** Operand source of ALU and JMP instructions (`BPF_SRC`, bit 3). */
export const Src = {
  /** 32-bit immediate `imm` */
  K: 0x00,
  /** source register `src_reg` */
  X: 0x08,
} as const;
export type SrcCode = (typeof Src)[keyof typeof Src];

/** The source bit of `BPF_END`: byte order to convert to. */
export const Endian = {
  TO_LE: 0x00,
  TO_BE: 0x08,
} as const;

/** `imm` of a `BPF_STX | BPF_ATOMIC` instruction. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  /** Flag: also return the old value in `src_reg`. */
  FETCH: 0x01,
  FETCH_ADD: 0x01,
  FETCH_OR: 0x41,
  FETCH_AND: 0x51,
  FETCH_XOR: 0xa1,
  /** Exchange (always fetching). */
  XCHG: 0xe1,
  /** Compare with r0 and exchange (always fetching, old value into r0). */
  CMPXCHG: 0xf1,
  /** Load-acquire (`dst = *(src + off)`), cpu v4. */
  LOAD_ACQ: 0x100,
  /** Store-release (`*(dst + off) = src`), cpu v4. */
  STORE_REL: 0x110,
} as const;
export type AtomicOpCode = (typeof AtomicOp)[keyof typeof AtomicOp];

/** Registers. R10 is the read-only frame pointer. */
export const Reg = {
  R0: 0,
  R1: 1,
  R2: 2,
  R3: 3,
  R4: 4,
  R5: 5,
  R6: 6,
  R7: 7,
  R8: 8,
  R9: 9,
  R10: 10,
} as const;
export const R0 = Reg.R0;
export const R1 = Reg.R1;
export const R2 = Reg.R2;
export const R3 = Reg.R3;
export const R4 = Reg.R4;
export const R5 = Reg.R5;
export const R6 = Reg.R6;
export const R7 = Reg.R7;
export const R8 = Reg.R8;
export const R9 = Reg.R9;
export const R10 = Reg.R10;
/** Frame pointer alias of R10. */
export const FP = Reg.R10;
/** Number of registers (`MAX_BPF_REG`); register numbers are below this. */
export const MAX_BPF_REG = 11;

/** `src_reg` of `BPF_ALU64 | BPF_MOV | BPF_X` with `off` = 1: arena address-space cast. */
export const ADDR_SPACE_CAST = 1;

/** `BPF_LD | BPF_IMM | BPF_DW`: the first slot of a 16-byte `ld_imm64`. */
export const LD_IMM64 = Class.LD | Size.DW | Mode.IMM;
/** `BPF_JMP | BPF_CALL` */
export const CALL = Class.JMP | JmpOp.CALL;
/** `BPF_JMP | BPF_EXIT` */
export const EXIT = Class.JMP | JmpOp.EXIT;

/** `BPF_CLASS(code)` */
export function insnClass(code: number): InsnClass {
  return (code & 0x07) as InsnClass;
}

/** `BPF_SIZE(code)` (loads and stores). */
export function insnSize(code: number): SizeCode {
  return (code & 0x18) as SizeCode;
}

/** `BPF_MODE(code)` (loads and stores). */
export function insnMode(code: number): number {
  return code & 0xe0;
}

/** `BPF_SRC(code)` (ALU and JMP). */
export function insnSrc(code: number): SrcCode {
  return (code & 0x08) as SrcCode;
}

/** `BPF_OP(code)` of an ALU / ALU64 instruction. */
export function aluOp(code: number): number {
  return code & 0xf0;
}

/** `BPF_OP(code)` of a JMP / JMP32 instruction. */
export function jmpOp(code: number): number {
  return code & 0xf0;
}

/** Width in bytes of a `BPF_SIZE` value. */
export function sizeBytes(size: number): 1 | 2 | 4 | 8 {
  switch (size & 0x18) {
    case Size.B:
      return 1;
    case Size.H:
      return 2;
    case Size.W:
      return 4;
    default:
      return 8;
  }
}

/** True for the first slot of a 16-byte `ld_imm64` (`code == 0x18`). */
export function isLdImm64(insn: { readonly code: number }): boolean {
  return insn.code === LD_IMM64;
}
