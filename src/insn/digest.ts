/**
 * The program digest and tag as the kernel computes them (`bpf_prog_calc_tag`, SHA-256 since
 * v6.18): SHA-256 over the instruction bytes after the map fds / map value offsets of
 * `BPF_PSEUDO_MAP_FD` and `BPF_PSEUDO_MAP_VALUE` loads are zeroed, so that the digest does not
 * depend on which fd numbers the loading process happened to get.
 *
 * The digest is what exclusive maps compare against `excl_prog_hash`; the tag is its first
 * 8 bytes (`bpf_prog_info.tag`).
 */

import { createHash } from "node:crypto";
import { Limits, Pseudo } from "../uapi/constants.js";
import { INSN_SIZE, InsnFormatError } from "./insn.js";
import { LD_IMM64 } from "./opcode.js";

/** Byte offsets of the `imm` fields the kernel zeroes before hashing, in ascending order. */
export function digestZeroedImmOffsets(insns: Uint8Array): number[] {
  if (insns.byteLength % INSN_SIZE !== 0) {
    throw new InsnFormatError(
      "bad-length",
      `program digest: length ${insns.byteLength} is not a multiple of ${INSN_SIZE}`,
    );
  }
  const offsets: number[] = [];
  // The kernel walks every slot (it does not skip second halves) with one bit of state: whether
  // the previous slot was the first half of a map-fd / map-value load.
  let wasLdMap = false;
  for (let pos = 0; pos < insns.byteLength; pos += INSN_SIZE) {
    const code = insns[pos];
    const regs = insns[pos + 1];
    const src = regs >> 4;
    if (!wasLdMap && code === LD_IMM64 && (src === Pseudo.MAP_FD || src === Pseudo.MAP_VALUE)) {
      wasLdMap = true;
      offsets.push(pos + 4);
    } else if (
      wasLdMap &&
      code === 0 &&
      regs === 0 &&
      insns[pos + 2] === 0 &&
      insns[pos + 3] === 0
    ) {
      // a pure second half: code, dst_reg, src_reg and off all zero
      wasLdMap = false;
      offsets.push(pos + 4);
    } else {
      wasLdMap = false;
    }
  }
  return offsets;
}

function immIsZero(insns: Uint8Array, at: number): boolean {
  return (insns[at] | insns[at + 1] | insns[at + 2] | insns[at + 3]) === 0;
}

/**
 * The bytes the kernel hashes for `insns`: the input itself when the zeroing changes nothing
 * (no copy), else a copy with the affected `imm` fields set to 0. Do not mutate the result.
 */
export function progDigestInput(insns: Uint8Array): Uint8Array {
  const offsets = digestZeroedImmOffsets(insns).filter((at) => !immIsZero(insns, at));
  if (offsets.length === 0) return insns;
  const copy = insns.slice();
  for (const at of offsets) copy.fill(0, at, at + 4);
  return copy;
}

/** `prog->digest`: SHA-256 (32 bytes) of `progDigestInput(insns)`. */
export function progDigest(insns: Uint8Array): Uint8Array {
  // copy out of the Buffer so callers get a plain, unshared Uint8Array
  return new Uint8Array(createHash("sha256").update(progDigestInput(insns)).digest());
}

/** `prog->tag`: the first `BPF_TAG_SIZE` (8) bytes of the digest, as a copy. */
export function progTag(digest: Uint8Array): Uint8Array {
  if (digest.byteLength < Limits.TAG_SIZE) {
    throw new RangeError(`progTag: digest has ${digest.byteLength} bytes, need ${Limits.TAG_SIZE}`);
  }
  return digest.slice(0, Limits.TAG_SIZE);
}

/** Lower-case hex of bytes, as bpftool prints a tag (`59f4a931744dcdc6`). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
