/**
 * Raw signers: whatever can make the one signature of a bpftool CMS.
 *
 * bpftool's SignedData has no signed attributes, so its only signature is a raw one over
 * sha256(insns || metadata): RSASSA-PKCS1-v1_5 with SHA-256, or ECDSA with SHA-256 and a DER
 * (r, s). Any holder of a key that can sign a SHA-256 digest (a PEM file, a PKCS#11 token, a
 * cloud KMS behind a command) can therefore produce bpftool's exact bytes; the CMS around the
 * signature is built by sign.ts. Implementations: fileKeySigner (here), pkcs11Signer
 * (pkcs11.ts), externalSigner (external_signer.ts).
 */

import { constants, createSign, type KeyObject, privateEncrypt } from "node:crypto";
import { concatBytes, der, readChildren, readTlv, Tag, tlvValue } from "./asn1.js";
import type { SigningKey } from "./keys.js";
import { DIGEST_INFO } from "./public_key.js";

/** The signature schemes the kernel verifies a bpftool CMS with. */
export type RawSignatureAlgorithm = "rsa-pkcs1-sha256" | "ecdsa-sha256";

/** What a signer is asked to sign: the content (as chunks hashed as one stream) and its SHA-256. */
export interface SignRequest {
  /** sha256 of the concatenated content: what a digest signer signs. */
  readonly digest: Uint8Array;
  /** The content itself, for signers that hash as they sign (a file key, a hash-and-sign token). */
  readonly content: readonly Uint8Array[];
}

/** A key that signs SHA-256 digests, wherever it lives. */
export interface RawSigner {
  readonly algorithm: RawSignatureAlgorithm;
  /** How to name the signer in messages (a path, a pkcs11 URI without its PIN, a command). */
  readonly name: string;
  /**
   * The signing key's public key when the signer can tell (file keys, most tokens); null when it
   * cannot (an external command). Used to refuse a certificate of another key before signing.
   */
  readonly publicKey: KeyObject | null;
  /**
   * The raw signature: RSA — the PKCS#1 v1.5 signature (modulus-sized); ECDSA — the DER
   * Ecdsa-Sig-Value { r, s }. Throws a typed error when the signer fails.
   */
  sign(request: SignRequest): Uint8Array;
  /** Release what the signer holds (a loaded module, a session). Idempotent. */
  close(): void;
}

/** Codes of the SIGNER_ errors (each has its own exit code in the CLI). */
export type SignerErrorCode =
  | "SIGNER_CONFIG"
  | "SIGNER_COMMAND_FAILED"
  | "SIGNER_BAD_OUTPUT"
  | "SIGNER_SIGNATURE_INVALID";

/** The signer options do not make one signer (no key, a key and a command, no certificate). */
export class SignerConfigError extends Error {
  override readonly name = "SignerConfigError";
  readonly code = "SIGNER_CONFIG";
}

/**
 * The signature a signer returned does not verify with the signing certificate: the key and the
 * certificate are not a pair, or the signer returned something else than a signature of the
 * digest. Nothing is written. Code: "SIGNER_SIGNATURE_INVALID".
 */
export class SignatureCheckError extends Error {
  override readonly name = "SignatureCheckError";
  readonly code = "SIGNER_SIGNATURE_INVALID";
  constructor(
    readonly signer: string,
    readonly certName: string,
    readonly reason: string,
  ) {
    super(
      `the signature made by ${signer} does not verify with certificate ${certName} (${reason}): ` +
        "the key and the certificate are not a pair, or the signer returned a wrong signature",
    );
  }
}

/** The algorithm of a key type. */
function algorithmOfKeyType(type: "rsa" | "ec"): RawSignatureAlgorithm {
  return type === "rsa" ? "rsa-pkcs1-sha256" : "ecdsa-sha256";
}

/** The algorithm a certificate's (or any) public key signs with, or null for other key types. */
export function algorithmOfPublicKey(key: KeyObject): RawSignatureAlgorithm | null {
  if (key.asymmetricKeyType === "rsa") return "rsa-pkcs1-sha256";
  if (key.asymmetricKeyType === "ec") return "ecdsa-sha256";
  return null;
}

/**
 * The DigestInfo an RSA PKCS#1 v1.5 signature over `digest` (SHA-256) wraps: DER prefix (RFC 8017
 * §9.2 note 1, the verifier's table) then the 32-byte digest.
 */
export function sha256DigestInfo(digest: Uint8Array): Uint8Array {
  return concatBytes([DIGEST_INFO.sha256, digest]);
}

/** Bytes of an unsigned big-endian number as the content of a DER INTEGER (minimal, positive). */
function unsignedIntegerContent(n: Uint8Array): Uint8Array {
  let i = 0;
  while (i < n.length - 1 && n[i] === 0) i++;
  const v = n.subarray(i);
  return v[0] & 0x80 ? concatBytes([Uint8Array.of(0), v]) : v;
}

/** ECDSA r||s (each half the curve's size, as PKCS#11 and JOSE return it) as DER { r, s }. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2) {
    throw new RangeError(`an ECDSA r||s signature has an even length, not ${raw.length}`);
  }
  const half = raw.length / 2;
  return der.sequence(
    der.integer(unsignedIntegerContent(raw.subarray(0, half))),
    der.integer(unsignedIntegerContent(raw.subarray(half))),
  );
}

/**
 * True when `sig` is exactly one DER SEQUENCE of two positive INTEGERs (an Ecdsa-Sig-Value).
 * Structural only: whether r and s are in range is the verifier's business.
 */
export function isDerEcdsaSignature(sig: Uint8Array): boolean {
  const t = readTlv(sig, 0);
  if ("ok" in t || t.tag !== Tag.SEQUENCE || t.end !== sig.length) return false;
  const kids = readChildren(sig, t);
  if ("ok" in kids || kids.length !== 2) return false;
  return kids.every((k) => {
    if (k.tag !== Tag.INTEGER) return false;
    const v = tlvValue(sig, k);
    return v.length > 0 && (v[0] & 0x80) === 0;
  });
}

/** The size in bytes of one ECDSA coordinate for the curves the kernel verifies. */
export function ecCoordinateBytes(curve: string): number | null {
  return { prime256v1: 32, secp384r1: 48, secp521r1: 66 }[curve] ?? null;
}

/** The modulus length in bytes of an RSA public key. */
export function rsaModulusBytes(key: KeyObject): number {
  return Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
}

/**
 * A private key in memory (read from a PEM file): today's behaviour. RSA signs the digest
 * (PKCS#1 v1.5 is deterministic, so this is byte-identical to signing the content); ECDSA hashes
 * the content itself, as node:crypto has no pre-hashed ECDSA.
 */
export function fileKeySigner(key: SigningKey, name = "(private key)"): RawSigner {
  return {
    algorithm: algorithmOfKeyType(key.type),
    name,
    publicKey: key.publicKey,
    sign(request: SignRequest): Uint8Array {
      if (key.type === "rsa") {
        const sig = privateEncrypt(
          { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING },
          sha256DigestInfo(request.digest),
        );
        return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
      }
      const s = createSign("sha256");
      for (const c of request.content) s.update(c);
      const sig = s.sign({ key: key.privateKey, dsaEncoding: "der" });
      return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
    },
    close(): void {},
  };
}
