/**
 * `struct bpf_insn` and its 8-byte wire form on a little-endian host (x86_64):
 *
 *   byte 0     code
 *   byte 1     dst_reg (low nibble) | src_reg << 4 (high nibble)
 *   bytes 2-3  off, s16 little endian
 *   bytes 4-7  imm, s32 little endian
 */

import { MAX_BPF_REG } from "./opcode.js";

/** One instruction slot. An `ld_imm64` occupies two of them. */
export interface Insn {
  /** opcode, 0..255 */
  code: number;
  /** destination register, 0..15 (valid programs use 0..10) */
  dst: number;
  /** source register or pseudo kind, 0..15 */
  src: number;
  /** signed 16-bit offset */
  off: number;
  /** signed 32-bit immediate */
  imm: number;
}

/** `sizeof(struct bpf_insn)` */
export const INSN_SIZE = 8;

/** What was wrong with instruction bytes or fields. */
export type InsnFormatReason =
  /** the byte length is not a multiple of 8 */
  | "bad-length"
  /** an index points outside the buffer */
  | "out-of-bounds"
  /** a field does not fit its width (code u8, regs u4, off s16, imm s32) */
  | "bad-field";

/** Codes of InsnFormatError, one per reason ("INSN_" and the reason in capitals). */
export type InsnFormatErrorCode = "INSN_BAD_LENGTH" | "INSN_OUT_OF_BOUNDS" | "INSN_BAD_FIELD";

const INSN_FORMAT_CODES: Record<InsnFormatReason, InsnFormatErrorCode> = {
  "bad-length": "INSN_BAD_LENGTH",
  "out-of-bounds": "INSN_OUT_OF_BOUNDS",
  "bad-field": "INSN_BAD_FIELD",
};

/** Malformed instruction bytes, an index out of range, or a field that does not fit. */
export class InsnFormatError extends Error {
  override readonly name = "InsnFormatError";
  readonly code: InsnFormatErrorCode;
  readonly reason: InsnFormatReason;

  constructor(reason: InsnFormatReason, message: string) {
    super(message);
    this.code = INSN_FORMAT_CODES[reason];
    this.reason = reason;
  }
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readAt(view: DataView, pos: number): Insn {
  const regs = view.getUint8(pos + 1);
  return {
    code: view.getUint8(pos),
    dst: regs & 0x0f,
    src: regs >> 4,
    off: view.getInt16(pos + 2, true),
    imm: view.getInt32(pos + 4, true),
  };
}

function slotCount(bytes: Uint8Array): number {
  if (bytes.byteLength % INSN_SIZE !== 0) {
    throw new InsnFormatError(
      "bad-length",
      `instruction bytes: length ${bytes.byteLength} is not a multiple of ${INSN_SIZE}`,
    );
  }
  return bytes.byteLength / INSN_SIZE;
}

function checkIndex(bytes: Uint8Array, index: number): void {
  if (!Number.isInteger(index) || index < 0 || (index + 1) * INSN_SIZE > bytes.byteLength) {
    throw new InsnFormatError(
      "out-of-bounds",
      `instruction index ${index} is outside a buffer of ${Math.floor(bytes.byteLength / INSN_SIZE)} instructions`,
    );
  }
}

/** Decode the instruction in slot `index` of `bytes`. */
export function decodeInsn(bytes: Uint8Array, index: number): Insn {
  checkIndex(bytes, index);
  return readAt(viewOf(bytes), index * INSN_SIZE);
}

/** Decode a whole instruction array; throws `InsnFormatError("bad-length")` if it is ragged. */
export function decodeInsns(bytes: Uint8Array): Insn[] {
  const n = slotCount(bytes);
  const view = viewOf(bytes);
  const out = new Array<Insn>(n);
  for (let i = 0; i < n; i++) out[i] = readAt(view, i * INSN_SIZE);
  return out;
}

const FIELD_RANGES = [
  ["code", 0, 0xff],
  ["dst", 0, 0x0f],
  ["src", 0, 0x0f],
  ["off", -0x8000, 0x7fff],
  ["imm", -0x80000000, 0x7fffffff],
] as const;

/**
 * Throw `InsnFormatError("bad-field")` unless every field is an integer that fits its width
 * (code u8, dst/src u4, off s16, imm s32). `index` only goes into the message.
 */
export function checkInsnFields(insn: Insn, index?: number): void {
  for (const [name, min, max] of FIELD_RANGES) {
    const value = insn[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      const where = index === undefined ? "insn" : `insn ${index}`;
      throw new InsnFormatError(
        "bad-field",
        `${where}: ${name} ${value} is outside [${min}, ${max}]`,
      );
    }
  }
}

/**
 * Throw `InsnFormatError("bad-field")` at the first instruction naming a register the register
 * file does not have (r0..r10): a malformed program (the kernel's "R%d is invalid").
 */
export function checkInsnRegs(insns: readonly Insn[]): void {
  for (let i = 0; i < insns.length; i++) {
    const { dst, src } = insns[i];
    const reg = dst >= MAX_BPF_REG ? dst : src >= MAX_BPF_REG ? src : -1;
    if (reg >= 0)
      throw new InsnFormatError("bad-field", `insn ${i}: register r${reg} does not exist`);
  }
}

/** Write `insn` into slot `index` of `buf` (fields are range-checked, nothing is truncated). */
export function encodeInsnInto(buf: Uint8Array, index: number, insn: Insn): void {
  checkIndex(buf, index);
  writeAt(viewOf(buf), index, insn);
}

function writeAt(view: DataView, index: number, insn: Insn): void {
  checkInsnFields(insn, index);
  const pos = index * INSN_SIZE;
  view.setUint8(pos, insn.code);
  view.setUint8(pos + 1, (insn.src << 4) | insn.dst);
  view.setInt16(pos + 2, insn.off, true);
  view.setInt32(pos + 4, insn.imm, true);
}

/** Encode instructions into a fresh `8 * insns.length`-byte array. */
export function encodeInsns(insns: readonly Insn[]): Uint8Array {
  const buf = new Uint8Array(insns.length * INSN_SIZE);
  const view = viewOf(buf);
  for (let i = 0; i < insns.length; i++) writeAt(view, i, insns[i]);
  return buf;
}

/**
 * Byte-swaps the fields of `count` instructions at byte offset `off` of `buf` in place, between
 * the big- and little-endian wire forms (libbpf `bpf_insn_bswap`): the register nibbles trade
 * places, `off` and `imm` reverse their bytes. The code byte stays.
 */
export function bswapInsns(buf: Uint8Array, off: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const p = off + i * INSN_SIZE;
    const regs = buf[p + 1];
    buf[p + 1] = ((regs & 0x0f) << 4) | (regs >> 4);
    let t = buf[p + 2];
    buf[p + 2] = buf[p + 3];
    buf[p + 3] = t;
    t = buf[p + 4];
    buf[p + 4] = buf[p + 7];
    buf[p + 7] = t;
    t = buf[p + 5];
    buf[p + 5] = buf[p + 6];
    buf[p + 6] = t;
  }
}

/** The unsigned 64-bit immediate of an `ld_imm64` pair: `lo.imm` is bits 0-31, `hi.imm` 32-63. */
export function ldImm64Value(lo: Insn, hi: Insn): bigint {
  return BigInt(lo.imm >>> 0) | (BigInt(hi.imm >>> 0) << 32n);
}
