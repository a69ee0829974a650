/**
 * The alternative of KP Singh's May 2026 series ("lsm: add bpf_prog_load_post_integrity hook",
 * `bpf_loader_verify_metadata`), userspace-toolchain §7.3 and the message in spec/004: the
 * signature covers the loader's instructions only and is checked at BPF_PROG_LOAD entry, giving
 * the verdict BPF_SIG_OK; the loader carries the SHA-256 of its metadata map in its (signed)
 * instructions and, when it runs, calls the kfunc `bpf_loader_verify_metadata(map, hash, size)`,
 * which compares the hash with the frozen map's content hash, fires the post-integrity LSM hook
 * and, if no LSM objects, promotes the verdict to BPF_SIG_METADATA_VERIFIED.
 *
 * Decisions where the reference is silent (also in the README):
 * - Verdict values: UNSIGNED 0, OK 1, METADATA_VERIFIED 2 (the order the note lists them in).
 * - The kfunc's id: the reference's loader carries its own BTF with a FUNC
 *   "bpf_loader_verify_metadata" and calls it with a new pseudo (BPF_PSEUDO_KFUNC_CALL_PROG_BTF)
 *   because vmlinux BTF ids are not stable across kernels. The model kernel's vmlinux is fixed,
 *   so the loader calls the kfunc with the ordinary BPF_PSEUDO_KFUNC_CALL and the fixed id below;
 *   the loader BTF is not modelled.
 * - An UNSIGNED program may call the kfunc: the hash is still compared (an unsigned loader keeps
 *   its consistency check), but nothing is promoted and the post-integrity hook does not fire.
 * - The hash the loader embeds is the kernel's array map hash of the metadata map (map_hash.ts),
 *   which for gen_loader's 8-byte-aligned blob is SHA-256 of the blob.
 */
import { arrayMapHash } from "./map_hash.js";
import type { LoaderParts, Scheme, SigningPlan } from "./types.js";

/** bpf_prog_aux.sig_verdict of the kfunc series. */
export const KFUNC_VERDICTS = { UNSIGNED: 0, OK: 1, METADATA_VERIFIED: 2 } as const;

/** The model vmlinux BTF id the loader's kfunc call names (imm of BPF_PSEUDO_KFUNC_CALL). */
export const KFUNC_BTF_ID = 0x7b1;

/** What the loader passes as the hash: the metadata map's content hash. */
export function kfuncMetadataHash(metadata: Uint8Array): Uint8Array {
  return arrayMapHash(metadata);
}

export const kfunc: Scheme = {
  name: "kfunc",
  title: "kfunc + post-integrity: insns signed, metadata checked by the loader's kfunc",
  signed:
    "insns only (they embed sha256(metadata) as immediates, so the metadata is covered transitively)",
  checks: [
    {
      at: "bpf_prog_load",
      what: "PKCS#7 over the instructions before the admission LSM hook; verdict BPF_SIG_OK",
    },
    {
      at: "bpf_loader_verify_metadata",
      what: "when the loader runs: map frozen and exclusive, its content hash equals the embedded hash; post-integrity hook; verdict METADATA_VERIFIED",
    },
  ],
  verdicts: KFUNC_VERDICTS,
  verifiedVerdicts: ["METADATA_VERIFIED"],
  loaderCheck: "kfunc",
  plan(parts: LoaderParts): SigningPlan {
    return { content: [parts.insns], attributes: null };
  },
};

/** One 8-byte instruction: opcode, dst/src registers, 16-bit offset, 32-bit immediate. */
function insn(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

/** BPF_PSEUDO_MAP_IDX and BPF_PSEUDO_KFUNC_CALL (uapi values, kept here so the scheme stays low). */
const PSEUDO_MAP_IDX = 5;
const PSEUDO_KFUNC_CALL = 2;
/** Instructions in the check; the hash sits in the immediates of insns 3..14. */
export const KFUNC_CHECK_INSNS = 22;

/**
 * The in-loader check the kfunc scheme's loader starts with (the reference's
 * emit_signature_match calling the kfunc, placed as a prologue so that the gen_loader output
 * needs no other change; relative jumps and calls of the loader are untouched by prepending):
 *
 *   r9 = r1                                  keep the ctx
 *   r1 = map_idx(0)                          the metadata map, fd_array[0]
 *   4 × { r3 = hash[8i..8i+8); *(u64 *)(r10 - 32 + 8i) = r3 }
 *   r2 = r10; r2 += -32; r3 = 32
 *   call bpf_loader_verify_metadata          kfunc
 *   if r0 == 0 goto +1; exit                 the loader fails with the kfunc's error
 *   r1 = r9                                  and goes on as generated
 */
function kfuncCheckInsns(hash: Uint8Array): Uint8Array {
  if (hash.length !== 32) throw new RangeError("the metadata hash is 32 bytes");
  const dv = new DataView(hash.buffer, hash.byteOffset, 32);
  const parts: Uint8Array[] = [
    insn(0xbf, 9, 1, 0, 0),
    insn(0x18, 1, PSEUDO_MAP_IDX, 0, 0),
    insn(0, 0, 0, 0, 0),
  ];
  for (let i = 0; i < 4; i++) {
    parts.push(insn(0x18, 3, 0, 0, dv.getInt32(i * 8, true)));
    parts.push(insn(0, 0, 0, 0, dv.getInt32(i * 8 + 4, true)));
    parts.push(insn(0x7b, 10, 3, -32 + 8 * i, 0));
  }
  parts.push(
    insn(0xbf, 2, 10, 0, 0),
    insn(0x07, 2, 0, 0, -32),
    insn(0xb7, 3, 0, 0, 32),
    insn(0x85, 0, PSEUDO_KFUNC_CALL, 0, KFUNC_BTF_ID),
    insn(0x15, 0, 0, 1, 0),
    insn(0x95, 0, 0, 0, 0),
    insn(0xbf, 1, 9, 0, 0),
  );
  const out = new Uint8Array(parts.length * 8);
  for (let i = 0; i < parts.length; i++) out.set(parts[i], i * 8);
  return out;
}

/** A gen_loader loader with the kfunc check in front of it, for `metadata`. */
export function addKfuncCheck(insns: Uint8Array, metadata: Uint8Array): Uint8Array {
  const check = kfuncCheckInsns(kfuncMetadataHash(metadata));
  const out = new Uint8Array(check.length + insns.length);
  out.set(check);
  out.set(insns, check.length);
  return out;
}

/**
 * The hash a kfunc-scheme loader embeds, or null when the loader does not start with the check
 * (compares every instruction of the prologue except the hash immediates).
 */
export function kfuncLoaderHash(insns: Uint8Array): Uint8Array | null {
  if (insns.length < KFUNC_CHECK_INSNS * 8) return null;
  const dv = new DataView(insns.buffer, insns.byteOffset, KFUNC_CHECK_INSNS * 8);
  const hash = new Uint8Array(32);
  const hv = new DataView(hash.buffer);
  for (let i = 0; i < 4; i++) {
    hv.setInt32(i * 8, dv.getInt32((3 + 3 * i) * 8 + 4, true), true);
    hv.setInt32(i * 8 + 4, dv.getInt32((4 + 3 * i) * 8 + 4, true), true);
  }
  const want = kfuncCheckInsns(hash);
  for (let i = 0; i < want.length; i++) if (want[i] !== insns[i]) return null;
  return hash;
}

/** The loader without its check prologue (the gen_loader output it was made from), or null. */
export function stripKfuncCheck(insns: Uint8Array): Uint8Array | null {
  return kfuncLoaderHash(insns) ? insns.slice(KFUNC_CHECK_INSNS * 8) : null;
}
