/**
 * Helpers for the signer tests: the shared vector keys as signer inputs, and the raw parts of a
 * CMS message for structural comparisons.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parsePkcs7 } from "../../src/crypto/pkcs7.js";
import { type ProgName, readVector, VECTORS_DIR } from "./vectors.js";

export const VECTOR_KEYS = ["rsa2048", "rsa3072", "ecp256"] as const;
export type VectorKeyName = (typeof VECTOR_KEYS)[number];

/** Paths and bytes of one published test key. */
export function vectorKeyFiles(name: VectorKeyName) {
  const base = join(VECTORS_DIR, "keys", `test-only-${name}`);
  return {
    keyPath: `${base}.key.pem`,
    certPemPath: `${base}.cert.pem`,
    certDerPath: `${base}.cert.der`,
    keyPem: readFileSync(`${base}.key.pem`, "utf8"),
    certPem: new Uint8Array(readFileSync(`${base}.cert.pem`)),
    certDer: new Uint8Array(readFileSync(`${base}.cert.der`)),
  };
}

/** The signed loader of a vector program: insns, metadata, excl hash and one key's signature. */
export function vectorLoader(prog: ProgName, key: VectorKeyName) {
  return {
    insns: readVector(prog, "insns.signed.bin"),
    metadata: readVector(prog, "data.bin"),
    exclHash: readVector(prog, "excl_hash.bin"),
    signature: readVector(prog, `sig.${key}.der`),
  };
}

/** The raw signature value of the first SignerInfo of a CMS message (throws when unparsable). */
export function rawSignatureOf(cms: Uint8Array): Uint8Array {
  const m = parsePkcs7(cms);
  if (!m.ok) throw new Error(`not a CMS message: ${m.reason}`);
  return m.value.signerInfos[0].sig.s;
}

/** A copy of `bytes` with bit `bit` of byte `at` flipped. */
export function flipBit(bytes: Uint8Array, at: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[at] ^= 1 << bit;
  return out;
}
