/**
 * The offline verifier: what the v2 kernel would decide about a signed light-skeleton loader,
 * computed from the skeleton's bytes alone, with a list of trusted certificates standing in for
 * the keyring. One implementation of the PKCS#7 rules: verifyPkcs7Signature over exactly the
 * bytes the kernel reconstructs, insns || metadata (the frozen metadata map's value).
 *
 * Precedence follows the order of the kernel's checks:
 *  1. the metadata map is created with excl_prog_hash (must be 32 bytes: EINVAL → MALFORMED);
 *  2. at BPF_PROG_LOAD the digest is computed up front and fd_array is resolved; binding the
 *     exclusive map compares its excl_prog_hash with sha256(insns) (EACCES →
 *     EXCL_HASH_MISMATCH). This is also where an unsigned load of the same loader would fail,
 *     so it comes before everything about the signature;
 *  3. no signature → UNSIGNED (the verdict BPF_SIG_UNSIGNED; nothing else is checked);
 *  4. signature_size above the kernel's cap → EINVAL; insns || metadata above the dynptr limit
 *     → E2BIG (both MALFORMED);
 *  5. PKCS#7 verification against the trusted keys: EBADMSG / EINVAL / EMSGSIZE → MALFORMED,
 *     ENOPKG → UNSUPPORTED, ENOKEY → UNTRUSTED, EKEYREJECTED → BAD_SIGNATURE, success →
 *     VERIFIED. (The keyring lookup, which comes between 3 and 4 in the kernel, has no
 *     offline counterpart: the trusted list always resolves.)
 */

import { createHash } from "node:crypto";
import { hornetMapHashes } from "../scheme/hornet.js";
import { type SchemeName, scheme as schemeOf } from "../scheme/index.js";
import { kfuncLoaderHash, kfuncMetadataHash } from "../scheme/kfunc.js";
import { Limits } from "../uapi/constants.js";
import { type ErrnoName, fail } from "../uapi/errno.js";
import { bytesEqual, toHex } from "./asn1.js";
import { findMapHashes } from "./hornet_attrs.js";
import { parsePkcs7 } from "./pkcs7.js";
import { keySearchOf, verifyPkcs7Message } from "./verify.js";
import { type AsymmetricKey, loadCertificate } from "./x509.js";

export type OfflineResult =
  | "VERIFIED"
  | "UNSIGNED"
  | "BAD_SIGNATURE"
  | "UNTRUSTED"
  | "MALFORMED"
  | "UNSUPPORTED"
  | "EXCL_HASH_MISMATCH";

export interface OfflineInput {
  /** The loader's instructions (opts_insn). */
  readonly insns: Uint8Array;
  /** The metadata blob (opts_data). */
  readonly metadata: Uint8Array;
  /** The detached CMS (opts_sig), or null for an unsigned skeleton. */
  readonly signature: Uint8Array | null;
  /** The metadata map's excl_prog_hash (opts_excl_hash), or null when there is none. */
  readonly exclHash: Uint8Array | null;
  /** The trusted certificates (DER or PEM bytes, or parsed keys): the keyring. */
  readonly trusted: readonly (Uint8Array | AsymmetricKey)[];
  /** Which scheme's rules apply (default "v2"; see src/scheme). */
  readonly scheme?: SchemeName;
}

export interface OfflineReport {
  readonly result: OfflineResult;
  /** The errno the kernel's load would fail with, or null (VERIFIED, UNSIGNED). */
  readonly errno: ErrnoName | null;
  /** The signer id of the (first) SignerInfo, hex: the SKID, or serial‖issuer for v1; null when unsigned or unreadable. */
  readonly signer: string | null;
  /** The description of the trusted key that verified the signature, or null. */
  readonly trustedKey: string | null;
  /** sha256(insns || metadata), hex. */
  readonly digest: string;
  /** sha256(insns), hex: what excl_prog_hash must be. */
  readonly insnsDigest: string;
  readonly insnsBytes: number;
  readonly metadataBytes: number;
  /** Whether excl_prog_hash equals sha256(insns); null when no excl hash was given. */
  readonly exclHashMatches: boolean | null;
  /** Why, for a human. */
  readonly reason: string;
  /** The scheme whose rules were applied. */
  readonly scheme: SchemeName;
  /**
   * The verdict the scheme's own check would give, by its name (v2: VERIFIED/UNSIGNED; kfunc:
   * METADATA_VERIFIED once the loader's check would pass, OK when only the insns verify; hornet:
   * one of its seven), or null when the load would fail before any verdict.
   */
  readonly schemeVerdict: string | null;
}

/**
 * Codes of TrustedCertificateError: "CRYPTO_TRUSTED_CERT_" and the errno add_key() would fail
 * with ("CRYPTO_TRUSTED_CERT_EBADMSG"; "CRYPTO_TRUSTED_CERT_ENOPKG" for an algorithm the kernel
 * cannot verify).
 */
export type TrustedCertificateErrorCode = `CRYPTO_TRUSTED_CERT_${ErrnoName}`;

/** A trusted certificate the kernel would not take into a keyring. */
export class TrustedCertificateError extends Error {
  override readonly name = "TrustedCertificateError";
  readonly code: TrustedCertificateErrorCode;
  readonly index: number;
  readonly errno: ErrnoName;

  constructor(index: number, errno: ErrnoName, detail: string) {
    super(`trusted certificate #${index}: ${detail} (${errno})`);
    this.code = `CRYPTO_TRUSTED_CERT_${errno}`;
    this.index = index;
    this.errno = errno;
  }
}

/** Parse the trusted certificates as add_key("asymmetric") would; throws on one it refuses. */
export function trustedKeys(trusted: readonly (Uint8Array | AsymmetricKey)[]): AsymmetricKey[] {
  return trusted.map((t, i) => {
    if (!(t instanceof Uint8Array)) return t;
    const c = loadCertificate(t);
    if (!c.ok) throw new TrustedCertificateError(i, c.errno, c.reason);
    return c.value;
  });
}

const RESULT_OF_ERRNO: Partial<Record<ErrnoName, OfflineResult>> = {
  EKEYREJECTED: "BAD_SIGNATURE",
  ENOKEY: "UNTRUSTED",
  ENOPKG: "UNSUPPORTED",
  // A pkcs1 template without a DigestInfo for the hash: the algorithm cannot be instantiated.
  ENOENT: "UNSUPPORTED",
  EBADMSG: "MALFORMED",
  EINVAL: "MALFORMED",
  EMSGSIZE: "MALFORMED",
};

/** Verify a signed loader offline. Pure: takes bytes, returns a report, never throws for bad signatures. */
export function verifyOffline(input: OfflineInput): OfflineReport {
  const { insns, metadata, signature, exclHash } = input;
  const schemeName = input.scheme ?? "v2";
  const plan = schemeOf(schemeName).plan({ insns, maps: [metadata] });
  const keys = trustedKeys(input.trusted);
  const insnsDigest = new Uint8Array(createHash("sha256").update(insns).digest());
  const ch = createHash("sha256");
  for (const c of plan.content) ch.update(c);
  const contentDigest = new Uint8Array(ch.digest());
  const exclHashMatches = exclHash === null ? null : bytesEqual(exclHash, insnsDigest);
  const base = {
    digest: toHex(contentDigest),
    insnsDigest: toHex(insnsDigest),
    insnsBytes: insns.length,
    metadataBytes: metadata.length,
    exclHashMatches,
  };

  let signer: string | null = null;
  const msg = signature ? parsePkcs7(signature) : null;
  if (msg?.ok) {
    const id = msg.value.signerInfos[0]?.sig.authIds[0];
    if (id) signer = toHex(id);
  }
  const report = (
    result: OfflineResult,
    errno: ErrnoName | null,
    reason: string,
    trustedKey: string | null = null,
    schemeVerdict: string | null = null,
  ): OfflineReport => ({
    result,
    errno,
    signer,
    trustedKey,
    ...base,
    reason,
    scheme: schemeName,
    schemeVerdict,
  });

  if (exclHash !== null && exclHash.length !== 32) {
    return report(
      "MALFORMED",
      "EINVAL",
      `excl_prog_hash is ${exclHash.length} bytes; the map needs a 32-byte SHA-256`,
    );
  }
  if (exclHash !== null && !exclHashMatches) {
    return report(
      "EXCL_HASH_MISMATCH",
      "EACCES",
      `excl_prog_hash ${toHex(exclHash)} is not sha256(insns) ${base.insnsDigest}: ` +
        "the kernel refuses to bind the metadata map to this loader",
    );
  }
  if (signature === null) {
    return report(
      "UNSIGNED",
      null,
      "no signature: the program would load with verdict UNSIGNED",
      null,
      "UNSIGNED",
    );
  }
  if (signature.length > Limits.MAX_SIGNATURE_SIZE) {
    return report(
      "MALFORMED",
      "EINVAL",
      `signature_size ${signature.length} is above the kernel's ${Limits.MAX_SIGNATURE_SIZE}`,
    );
  }
  const payload = insns.length + metadata.length;
  if (payload > Limits.DYNPTR_MAX_SIZE) {
    return report("MALFORMED", "E2BIG", `signed payload too large: ${payload} bytes`);
  }
  if (!msg?.ok) {
    const f = msg ?? fail("EBADMSG", "no message");
    return report(RESULT_OF_ERRNO[f.errno] ?? "MALFORMED", f.errno, `signature: ${f.reason}`);
  }

  const v = verifyPkcs7Message(plan.content, msg.value, keySearchOf(keys), {
    contentDigests: new Map([["sha256", contentDigest]]),
  });
  if (!v.ok) {
    const verdict = schemeName !== "hornet" ? null : v.errno === "ENOKEY" ? "UNKNOWNKEY" : "BADSIG";
    return report(RESULT_OF_ERRNO[v.errno] ?? "MALFORMED", v.errno, v.reason, null, verdict);
  }
  signer = toHex(v.value.signerId);
  const by =
    `${v.value.pkeyAlgo}/${v.value.digestAlgo} signature by ${signer} verified with ` +
    `"${v.value.signer.description}"`;
  const trustedKey = v.value.signer.description;
  if (schemeName === "v2") {
    return report(
      "VERIFIED",
      null,
      `${by} over insns (${insns.length} bytes) || metadata (${metadata.length} bytes)`,
      trustedKey,
      "VERIFIED",
    );
  }
  if (schemeName === "kfunc") {
    // Admission verifies the insns (BPF_SIG_OK); the loader's kfunc then compares its embedded
    // hash with the metadata map's.
    const embedded = kfuncLoaderHash(insns);
    if (!embedded) {
      return report(
        "BAD_SIGNATURE",
        "EINVAL",
        `${by} over the insns (verdict OK), but the loader has no bpf_loader_verify_metadata check: the metadata is not covered`,
        trustedKey,
        "OK",
      );
    }
    if (!bytesEqual(embedded, kfuncMetadataHash(metadata))) {
      return report(
        "BAD_SIGNATURE",
        "EINVAL",
        `${by} over the insns (verdict OK), but the loader's embedded hash ${toHex(embedded)} is not the metadata's: its kfunc check fails`,
        trustedKey,
        "OK",
      );
    }
    return report(
      "VERIFIED",
      null,
      `${by} over the insns (${insns.length} bytes, verdict OK); the loader's kfunc check of the metadata (${metadata.length} bytes) passes (METADATA_VERIFIED)`,
      trustedKey,
      "METADATA_VERIFIED",
    );
  }
  const signed = findMapHashes(msg.value.signerInfos[0]?.authattrs ?? null);
  if (signed === null || signed === "malformed") {
    return report(
      "BAD_SIGNATURE",
      null,
      `${by} over the insns, but the signature carries ${signed === null ? "no" : "a malformed"} map-hash attribute (Hornet PARTIALSIG)`,
      trustedKey,
      signed === null ? "PARTIALSIG" : "BADSIG",
    );
  }
  const want = hornetMapHashes([metadata]);
  if (signed.length !== want.length || !signed.every((h, i) => bytesEqual(h, want[i]))) {
    return report(
      "BAD_SIGNATURE",
      null,
      `${by} over the insns, but the signed map hashes do not match the metadata (Hornet UNEXPECTED)`,
      trustedKey,
      "UNEXPECTED",
    );
  }
  return report(
    "VERIFIED",
    null,
    `${by} over the insns (${insns.length} bytes) with the metadata's map hash signed (Hornet OK)`,
    trustedKey,
    "OK",
  );
}
