/**
 * Access to the shared loader vectors: `../shared/vectors` beside the repository (where CI and
 * every developer machine have them), or $BPFSIGN_VECTORS.
 */

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs as dist/test/support/vectors.js). */
export const REPO_ROOT = resolve(fileURLToPath(new URL("../../../", import.meta.url)));

export const VECTORS_DIR = process.env.BPFSIGN_VECTORS ?? resolve(REPO_ROOT, "../shared/vectors");

/** `false` when the vectors are present, else the reason to skip (for `test(name, { skip })`). */
export const skipVectors: string | false = existsSync(join(VECTORS_DIR, "prog_a"))
  ? false
  : `vectors not found at ${VECTORS_DIR} (set BPFSIGN_VECTORS)`;

export const PROGS = ["prog_a", "prog_b", "prog_d"] as const;
export type ProgName = (typeof PROGS)[number];

export function readVector(prog: ProgName, file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS_DIR, prog, file)));
}

/** Slot counts of the loaders (README of the vectors). */
export const LOADER_SLOTS: Record<ProgName, { signed: number; unsigned: number }> = {
  prog_a: { signed: 105, unsigned: 105 },
  prog_b: { signed: 129, unsigned: 134 },
  prog_d: { signed: 236, unsigned: 271 },
};

/**
 * Where the target program's instructions sit in `data.bin`, taken from the loader's
 * BPF_PROG_LOAD attr (`insns` pointer is stored into attr+8 from this blob offset, `insn_cnt`
 * is at attr+4), and the tag the real kernel reported for the loaded program (vectors README).
 */
export const TARGETS: Record<
  ProgName,
  { attrOff: number; insnsOff: number; insnCnt: number; tag: string }
> = {
  prog_a: { attrOff: 2688, insnsOff: 2648, insnCnt: 2, tag: "76b761cdf4203894" },
  prog_b: { attrOff: 3552, insnsOff: 3152, insnCnt: 23, tag: "c95db03ce86ab205" },
  prog_d: { attrOff: 3760, insnsOff: 3448, insnCnt: 18, tag: "8209bdc16cf4e498" },
};

export function targetInsns(prog: ProgName): Uint8Array {
  const { insnsOff, insnCnt } = TARGETS[prog];
  return readVector(prog, "data.bin").subarray(insnsOff, insnsOff + insnCnt * 8);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

export type VectorKey = "rsa2048" | "rsa3072" | "ecp256";

/** The skeleton struct of each vector (vectors README): map names in bpf_map_desc order. */
export const VECTOR_SKELETONS: Record<
  ProgName,
  { maps: { name: string; mmap?: { file: string; prot: number } }[]; progs: string[] }
> = {
  prog_a: { maps: [], progs: ["ret_const"] },
  prog_b: { maps: [{ name: "counters" }], progs: ["count_pkts"] },
  prog_d: {
    maps: [
      { name: "slots" },
      { name: "data", mmap: { file: "mmap_data.bin", prot: 3 } },
      { name: "rodata", mmap: { file: "mmap_rodata.bin", prot: 1 } },
    ],
    progs: ["ret_magic"],
  },
};

/**
 * A vector as the loader takes it: the signed loader with the signature of `key` (or with the
 * signature removed but excl_prog_hash kept, `key` = null), or the unsigned loader.
 */
export function vectorImage(
  prog: ProgName,
  form: { signed: true; key: VectorKey | null } | { signed: false },
) {
  const s = VECTOR_SKELETONS[prog];
  return {
    insns: readVector(prog, form.signed ? "insns.signed.bin" : "insns.unsigned.bin"),
    data: readVector(prog, "data.bin"),
    signature: form.signed && form.key ? readVector(prog, `sig.${form.key}.der`) : null,
    exclHash: form.signed ? readVector(prog, "excl_hash.bin") : null,
    maps: s.maps.map((m) =>
      m.mmap
        ? {
            name: m.name,
            mmap: {
              initialValue: readVector(prog, m.mmap.file),
              mmapSize: 4096,
              readOnly: m.mmap.prot === 1,
            },
          }
        : { name: m.name, mmap: null },
    ),
    progs: s.progs.map((name) => ({ name })),
  };
}

export function vectorCert(key: VectorKey, form: "der" | "pem" = "der"): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS_DIR, "keys", `test-only-${key}.cert.${form}`)));
}
