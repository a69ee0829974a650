/**
 * A program decoded for the interpreter: one packed int32 per slot (code | dst << 8 | src << 12 |
 * off << 16) and the immediates. The second slot of an `ld_imm64` holds the high half of the
 * constant. Programs are expected after the verifier's `convert_pseudo_ld_imm64` (the xlated
 * instructions): an `ld_imm64` that still names a map or a BTF object cannot run.
 */
import { Pseudo } from "../uapi/constants.js";
import { VmInvalidInsn } from "./errors.js";
import { KernelAddr } from "./memory.js";

export interface Program {
  readonly len: number;
  readonly word: Int32Array;
  readonly imm: Int32Array;
}

const LD_IMM64 = 0x18;

export function decodeProgram(insns: Uint8Array): Program {
  if (insns.length % 8)
    throw new RangeError(`program of ${insns.length} bytes is not whole instructions`);
  const len = insns.length / 8;
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const word = new Int32Array(len);
  const imm = new Int32Array(len);
  for (let i = 0; i < len; i++) {
    const code = insns[i * 8];
    const regs = insns[i * 8 + 1];
    const off = dv.getInt16(i * 8 + 2, true);
    word[i] = code | ((regs & 0x0f) << 8) | ((regs >> 4) << 12) | (off << 16);
    imm[i] = dv.getInt32(i * 8 + 4, true);
    if (code !== LD_IMM64) continue;
    if (i + 1 >= len) throw new VmInvalidInsn(i, code, "ld_imm64 without its second slot");
    const src = regs >> 4;
    const hiImm = dv.getInt32(i * 8 + 12, true);
    if (src === Pseudo.FUNC) {
      const addr = KernelAddr.TEXT + BigInt(i + imm[i] + 1) * 8n;
      imm[i] = Number(addr & 0xffffffffn) | 0;
      imm[i + 1] = Number(addr >> 32n) | 0;
    } else if (src !== 0) {
      throw new VmInvalidInsn(i, code, `unresolved ld_imm64 (src_reg ${src})`);
    } else {
      imm[i + 1] = hiImm;
    }
    word[i + 1] = 0;
    i++;
  }
  return { len, word, imm };
}
