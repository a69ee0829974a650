/**
 * Access to the loader vectors: the copy committed in `test/fixtures/vectors`, or
 * $BPFSIGN_VECTORS (e.g. `../shared/vectors`, as a cross-check of the copy).
 */

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs as dist/test/support/vectors.js). */
export const REPO_ROOT = resolve(fileURLToPath(new URL("../../../", import.meta.url)));

export const VECTORS_DIR =
  process.env.BPFSIGN_VECTORS ?? resolve(REPO_ROOT, "test/fixtures/vectors");

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

export function vectorCert(key: VectorKey, form: "der" | "pem" = "der"): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS_DIR, "keys", `test-only-${key}.cert.${form}`)));
}
