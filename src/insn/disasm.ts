/**
 * A disassembler in the style of the kernel verifier log and `bpftool prog dump xlated`:
 * `r0 = 0`, `*(u64 *)(r10 -8) = r1`, `if r1 > 0x5 goto pc+3`, `call bpf_sys_bpf#166`, ...
 *
 * An `ld_imm64` pair is one line (its second slot gets none). Opcodes the kernel does not know
 * render as `(code) invalid` instead of throwing, so any byte string can be dumped.
 */

import { Helper, Pseudo } from "../uapi/constants.js";
import { type Insn, ldImm64Value } from "./insn.js";
import {
  ADDR_SPACE_CAST,
  AluOp,
  AtomicOp,
  aluOp,
  Class,
  Endian,
  insnClass,
  insnMode,
  insnSize,
  insnSrc,
  JmpOp,
  jmpOp,
  LD_IMM64,
  Mode,
  Size,
  Src,
} from "./opcode.js";

export interface DisasmOptions {
  /** Prefix every line with the opcode, `(b7) r0 = 0`. Invalid lines always carry it. */
  showCode?: boolean;
  /** Name of a helper id (without `#id`); default: `bpf_` + the name in the UAPI `Helper` table. */
  helperName?: (id: number) => string | undefined;
}

/** One disassembled instruction. */
export interface DisasmLine {
  /** slot index of the (first) instruction */
  index: number;
  /** slots consumed: 2 for an `ld_imm64` pair */
  slots: 1 | 2;
  /** opcode of the first slot */
  code: number;
  /** the text, without index or opcode prefix; starts with `invalid` when `valid` is false */
  text: string;
  valid: boolean;
}

const helperNames = new Map<number, string>(
  Object.entries(Helper).map(([name, id]) => [id, `bpf_${name}`]),
);

function defaultHelperName(id: number): string | undefined {
  return helperNames.get(id);
}

const ALU_OPS: Readonly<Record<number, string>> = {
  [AluOp.ADD]: "+=",
  [AluOp.SUB]: "-=",
  [AluOp.MUL]: "*=",
  [AluOp.DIV]: "/=",
  [AluOp.OR]: "|=",
  [AluOp.AND]: "&=",
  [AluOp.LSH]: "<<=",
  [AluOp.RSH]: ">>=",
  [AluOp.MOD]: "%=",
  [AluOp.XOR]: "^=",
  [AluOp.MOV]: "=",
  [AluOp.ARSH]: "s>>=",
};

const JMP_OPS: Readonly<Record<number, string>> = {
  [JmpOp.JEQ]: "==",
  [JmpOp.JGT]: ">",
  [JmpOp.JGE]: ">=",
  [JmpOp.JSET]: "&",
  [JmpOp.JNE]: "!=",
  [JmpOp.JSGT]: "s>",
  [JmpOp.JSGE]: "s>=",
  [JmpOp.JLT]: "<",
  [JmpOp.JLE]: "<=",
  [JmpOp.JSLT]: "s<",
  [JmpOp.JSLE]: "s<=",
};

const ATOMIC_ALU: Readonly<Record<number, [sym: string, name: string]>> = {
  [AtomicOp.ADD]: ["+=", "add"],
  [AtomicOp.OR]: ["|=", "or"],
  [AtomicOp.AND]: ["&=", "and"],
  [AtomicOp.XOR]: ["^=", "xor"],
};

const SIZE_NAMES: Readonly<Record<number, string>> = {
  [Size.B]: "8",
  [Size.H]: "16",
  [Size.W]: "32",
  [Size.DW]: "64",
};

const INVALID = "invalid";

/** `+8` / `-8` / `+0` as the kernel prints offsets (`%+d`). */
function signed(n: number): string {
  return n < 0 ? String(n) : `+${n}`;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function code2(code: number): string {
  return code.toString(16).padStart(2, "0");
}

function mem(reg: number, off: number): string {
  return `(r${reg} ${signed(off)})`;
}

function u(size: number): string {
  return `u${SIZE_NAMES[size]}`;
}

function formatAlu(insn: Insn): string {
  const is64 = insnClass(insn.code) === Class.ALU64;
  const r = is64 ? "r" : "w";
  const op = aluOp(insn.code);
  const x = insnSrc(insn.code) === Src.X;
  const { dst, src, off, imm } = insn;
  if (op === AluOp.END) {
    if (imm !== 16 && imm !== 32 && imm !== 64) return INVALID;
    const toBe = insnSrc(insn.code) === Endian.TO_BE;
    if (is64) return toBe ? INVALID : `r${dst} = bswap${imm} r${dst}`;
    return `r${dst} = ${toBe ? "be" : "le"}${imm} r${dst}`;
  }
  if (op === AluOp.NEG) return x ? INVALID : `${r}${dst} = -${r}${dst}`;
  let sym = ALU_OPS[op];
  if (sym === undefined) return INVALID;
  if (op === AluOp.DIV || op === AluOp.MOD) {
    if (off === 1) sym = `s${sym}`;
    else if (off !== 0) return INVALID;
  }
  if (!x) return `${r}${dst} ${sym} ${imm}`;
  if (op === AluOp.MOV && off !== 0) {
    if (is64 && off === ADDR_SPACE_CAST) {
      return `r${dst} = addr_space_cast(r${src}, ${imm >>> 16}, ${imm & 0xffff})`;
    }
    if (off === 8 || off === 16 || (is64 && off === 32)) return `${r}${dst} = (s${off})${r}${src}`;
    return INVALID;
  }
  return `${r}${dst} ${sym} ${r}${src}`;
}

function formatJmp(insn: Insn, opts: DisasmOptions): string {
  const is32 = insnClass(insn.code) === Class.JMP32;
  const r = is32 ? "w" : "r";
  const op = jmpOp(insn.code);
  const x = insnSrc(insn.code) === Src.X;
  const { dst, src, off, imm } = insn;
  switch (op) {
    case JmpOp.JA:
      if (x) return INVALID;
      return is32 ? `gotol pc${signed(imm)}` : `goto pc${signed(off)}`;
    case JmpOp.CALL: {
      if (is32 || x) return INVALID;
      if (src === Pseudo.CALL) return `call pc${signed(imm)}`;
      if (src === Pseudo.KFUNC_CALL) {
        return off === 0 ? `call kfunc#${imm}` : `call kfunc#${imm} (fd_array[${off}])`;
      }
      if (src !== 0) return INVALID;
      const name = (opts.helperName ?? defaultHelperName)(imm);
      return name === undefined ? `call #${imm}` : `call ${name}#${imm}`;
    }
    case JmpOp.EXIT:
      return is32 || x ? INVALID : "exit";
    case JmpOp.JCOND:
      return is32 || x || src !== 0 ? INVALID : `may_goto pc${signed(off)}`;
  }
  const sym = JMP_OPS[op];
  if (sym === undefined) return INVALID;
  const rhs = x ? `${r}${src}` : hex(imm);
  return `if ${r}${dst} ${sym} ${rhs} goto pc${signed(off)}`;
}

function formatLdx(insn: Insn): string {
  const size = insnSize(insn.code);
  switch (insnMode(insn.code)) {
    case Mode.MEM:
      return `r${insn.dst} = *(${u(size)} *)${mem(insn.src, insn.off)}`;
    case Mode.MEMSX:
      if (size === Size.DW) return INVALID;
      return `r${insn.dst} = *(s${SIZE_NAMES[size]} *)${mem(insn.src, insn.off)}`;
    default:
      return INVALID;
  }
}

function formatSt(insn: Insn): string {
  if (insnMode(insn.code) !== Mode.MEM) return INVALID;
  return `*(${u(insnSize(insn.code))} *)${mem(insn.dst, insn.off)} = ${insn.imm}`;
}

function formatAtomic(insn: Insn): string {
  const size = insnSize(insn.code);
  const sz = u(size);
  const { dst, src, off, imm } = insn;
  if (imm === AtomicOp.LOAD_ACQ) return `r${dst} = load_acquire((${sz} *)${mem(src, off)})`;
  if (imm === AtomicOp.STORE_REL) return `store_release((${sz} *)${mem(dst, off)}, r${src})`;
  if (size !== Size.W && size !== Size.DW) return INVALID;
  const width = size === Size.DW ? "64" : "";
  const alu = ATOMIC_ALU[imm & ~AtomicOp.FETCH];
  if (alu !== undefined) {
    if ((imm & AtomicOp.FETCH) === 0) return `lock *(${sz} *)${mem(dst, off)} ${alu[0]} r${src}`;
    return `r${src} = atomic${width}_fetch_${alu[1]}((${sz} *)${mem(dst, off)}, r${src})`;
  }
  if (imm === AtomicOp.XCHG)
    return `r${src} = atomic${width}_xchg((${sz} *)${mem(dst, off)}, r${src})`;
  if (imm === AtomicOp.CMPXCHG) {
    return `r0 = atomic${width}_cmpxchg((${sz} *)${mem(dst, off)}, r0, r${src})`;
  }
  return INVALID;
}

function formatStx(insn: Insn): string {
  switch (insnMode(insn.code)) {
    case Mode.MEM:
      return `*(${u(insnSize(insn.code))} *)${mem(insn.dst, insn.off)} = r${insn.src}`;
    case Mode.ATOMIC:
      return formatAtomic(insn);
    default:
      return INVALID;
  }
}

/** `BPF_LD`, except `ld_imm64`: the legacy packet loads. */
function formatLd(insn: Insn): string {
  const size = insnSize(insn.code);
  if (size === Size.DW) return INVALID;
  switch (insnMode(insn.code)) {
    case Mode.ABS:
      return `r0 = *(${u(size)} *)skb[${insn.imm}]`;
    case Mode.IND:
      return `r0 = *(${u(size)} *)skb[r${insn.src} + ${insn.imm}]`;
    default:
      return INVALID;
  }
}

function formatLdImm64(lo: Insn, hi: Insn): string {
  const r = `r${lo.dst}`;
  switch (lo.src) {
    case 0:
      return `${r} = 0x${ldImm64Value(lo, hi).toString(16)} ll`;
    case Pseudo.MAP_FD:
      return `${r} = map_fd[${lo.imm}]`;
    case Pseudo.MAP_VALUE:
      return `${r} = map_value[fd ${lo.imm}]+${hi.imm >>> 0}`;
    case Pseudo.BTF_ID:
      return hi.imm === 0 ? `${r} = btf_id[${lo.imm}]` : `${r} = btf_id[${lo.imm} fd ${hi.imm}]`;
    case Pseudo.FUNC:
      return `${r} = func pc${signed(lo.imm)}`;
    case Pseudo.MAP_IDX:
      return `${r} = map_idx[${lo.imm}]`;
    case Pseudo.MAP_IDX_VALUE:
      return `${r} = map_idx_value[${lo.imm}]+${hi.imm >>> 0}`;
    default:
      return INVALID;
  }
}

function formatOne(insn: Insn, opts: DisasmOptions): string {
  switch (insnClass(insn.code)) {
    case Class.ALU:
    case Class.ALU64:
      return formatAlu(insn);
    case Class.JMP:
    case Class.JMP32:
      return formatJmp(insn, opts);
    case Class.LDX:
      return formatLdx(insn);
    case Class.ST:
      return formatSt(insn);
    case Class.STX:
      return formatStx(insn);
    default:
      return formatLd(insn);
  }
}

/** Disassemble into structured lines, one per instruction (an `ld_imm64` pair is one). */
export function disassembleLines(insns: readonly Insn[], opts: DisasmOptions = {}): DisasmLine[] {
  const out: DisasmLine[] = [];
  for (let i = 0; i < insns.length; ) {
    const insn = insns[i];
    if (insn.code === LD_IMM64) {
      if (i + 1 >= insns.length) {
        out.push({
          index: i,
          slots: 1,
          code: insn.code,
          text: `${INVALID} ld_imm64 (no second slot)`,
          valid: false,
        });
        i += 1;
        continue;
      }
      const hi = insns[i + 1];
      // the kernel refuses a pair whose second slot carries anything but the upper imm
      const pure = hi.code === 0 && hi.dst === 0 && hi.src === 0 && hi.off === 0;
      const text = pure ? formatLdImm64(insn, hi) : `${INVALID} ld_imm64 (impure second slot)`;
      out.push({ index: i, slots: 2, code: insn.code, text, valid: !text.startsWith(INVALID) });
      i += 2;
      continue;
    }
    const text = formatOne(insn, opts);
    out.push({ index: i, slots: 1, code: insn.code, text, valid: text !== INVALID });
    i += 1;
  }
  return out;
}

function render(line: DisasmLine, showCode: boolean): string {
  return showCode || !line.valid ? `(${code2(line.code)}) ${line.text}` : line.text;
}

/**
 * One line per instruction, `ld_imm64` pairs as one line: `r0 = 0`, `exit`, ... Unknown
 * opcodes give `(code) invalid`.
 */
export function disassemble(insns: readonly Insn[], opts: DisasmOptions = {}): string[] {
  const showCode = opts.showCode ?? false;
  return disassembleLines(insns, opts).map((line) => render(line, showCode));
}

/** A bpftool-style listing with slot indexes, one instruction per line: `   0: (b7) r0 = 0`. */
export function formatInsnListing(insns: readonly Insn[], opts: DisasmOptions = {}): string {
  return disassembleLines(insns, opts)
    .map((line) => `${String(line.index).padStart(4)}: ${render(line, true)}`)
    .join("\n");
}
