/**
 * The CMS signer of bpftool_prog_sign(): a detached DER SignedData exactly as OpenSSL builds it
 * for `CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_USE_KEYID | CMS_NOATTR` with SHA-256
 * (userspace-toolchain §5.2–§5.3), made with our DER writer and node:crypto for the raw
 * signature:
 *
 *   ContentInfo { id-signedData, [0] SignedData {
 *     version 3, digestAlgorithms { sha256 } (no parameters), encapContentInfo { id-data },
 *     signerInfos { SignerInfo { version 3, sid [0] subjectKeyIdentifier,
 *       digestAlgorithm sha256, signatureAlgorithm rsaEncryption NULL | ecdsa-with-SHA256,
 *       signature OCTET STRING } } } }
 *
 * With no signed attributes the signature is over the content itself: RSASSA-PKCS1-v1_5 (which
 * is deterministic, so the bytes equal OpenSSL's) or ECDSA with a DER (r, s).
 */

import { createHash, type KeyObject } from "node:crypto";
import {
  type LoaderParts,
  type SchemeAttribute,
  type SchemeName,
  type SigningPlan,
  scheme,
} from "../scheme/index.js";
import { der, toHex } from "./asn1.js";
import { encodeSchemeAttributeValue } from "./hornet_attrs.js";
import { describeKey, loadPrivateKey, type SigningKey } from "./keys.js";
import { OID } from "./oid.js";
import { parsePkcs7 } from "./pkcs7.js";
import {
  algorithmOfPublicKey,
  fileKeySigner,
  type RawSigner,
  SignatureCheckError,
  SignerConfigError,
} from "./signer.js";
import { keySearchOf, verifyPkcs7Message } from "./verify.js";
import { loadCertificate, type X509Certificate } from "./x509.js";

/** bpftool's MAX_SIG_SIZE: the signature buffer its callers pass (signature_sz). */
export const MAX_SIG_SIZE = 4096;

/** Why a signing certificate cannot be used. */
export type CertificateLoadReason = "malformed" | "no-subject-key-id";

/** Codes of CertificateLoadError, one per reason. */
export type CertificateLoadErrorCode = "CRYPTO_CERT_MALFORMED" | "CRYPTO_CERT_NO_SUBJECT_KEY_ID";

const CERT_LOAD_CODES: Record<CertificateLoadReason, CertificateLoadErrorCode> = {
  malformed: "CRYPTO_CERT_MALFORMED",
  "no-subject-key-id": "CRYPTO_CERT_NO_SUBJECT_KEY_ID",
};

/** A certificate input that cannot identify the signer: names the input and the reason. */
export class CertificateLoadError extends Error {
  override readonly name = "CertificateLoadError";
  readonly code: CertificateLoadErrorCode;
  readonly input: string;
  readonly reason: CertificateLoadReason;

  constructor(input: string, reason: CertificateLoadReason, detail: string) {
    super(`certificate ${input}: ${detail}`);
    this.code = CERT_LOAD_CODES[reason];
    this.input = input;
    this.reason = reason;
  }
}

/** The private key and the certificate are not a pair. Code: "CRYPTO_KEY_MISMATCH". */
export class KeyMismatchError extends Error {
  override readonly name = "KeyMismatchError";
  readonly code = "CRYPTO_KEY_MISMATCH";
  readonly keyInput: string;
  readonly certInput: string;

  constructor(keyInput: string, certInput: string) {
    super(
      `private key ${keyInput} does not belong to certificate ${certInput}: their public keys differ`,
    );
    this.keyInput = keyInput;
    this.certInput = certInput;
  }
}

/**
 * The encoded CMS would not fit bpftool's signature buffer (it fails with ENOSPC there).
 * Code: "CRYPTO_SIGNATURE_TOO_LARGE".
 */
export class SignatureTooLargeError extends Error {
  override readonly name = "SignatureTooLargeError";
  readonly code = "CRYPTO_SIGNATURE_TOO_LARGE";
  readonly size: number;
  readonly max: number;

  constructor(size: number, max: number) {
    super(`CMS signature is ${size} bytes, more than the ${max} bytes bpftool accepts`);
    this.size = size;
    this.max = max;
  }
}

/**
 * Load a signing certificate, DER or PEM (sniffed as bpftool's read_x509 does), and require the
 * subject key identifier the SignerInfo is identified by (CMS_USE_KEYID).
 */
export function loadSigningCertificate(
  bytes: Uint8Array,
  input = "(certificate)",
): X509Certificate {
  const c = loadCertificate(bytes);
  if (!c.ok) throw new CertificateLoadError(input, "malformed", `${c.reason} (${c.errno})`);
  if (!c.value.subjectKeyId) {
    throw new CertificateLoadError(
      input,
      "no-subject-key-id",
      "has no subjectKeyIdentifier extension; the signature names its signer by that id and " +
        "the kernel finds the trusted key by it",
    );
  }
  return c.value;
}

/** A key and its certificate, checked to be a pair: what signing needs. */
export interface SignerIdentity {
  readonly key: SigningKey;
  readonly cert: X509Certificate;
  /** The certificate's subject key identifier: the signer id of every signature. */
  readonly subjectKeyId: Uint8Array;
}

/** Inputs accepted for a key: PEM text/bytes or an already loaded key. */
export type KeyInput = string | Uint8Array | SigningKey;
/** Inputs accepted for a certificate: DER/PEM bytes, PEM text, or a parsed certificate. */
export type CertInput = string | Uint8Array | X509Certificate;

export interface IdentityOptions {
  readonly passphrase?: string | Uint8Array;
  /** How to name the key and certificate in errors (e.g. their paths). */
  readonly keyName?: string;
  readonly certName?: string;
}

const isSigningKey = (k: KeyInput): k is SigningKey =>
  typeof k === "object" && !(k instanceof Uint8Array) && "privateKey" in k;
const isCert = (c: CertInput): c is X509Certificate =>
  typeof c === "object" && !(c instanceof Uint8Array) && "der" in c;

/**
 * Public keys compared by their SubjectPublicKeyInfo encodings. (KeyObject.equals on keys of
 * different types leaves an error on OpenSSL's queue that a later key import then reports.)
 */
function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  if (a.asymmetricKeyType !== b.asymmetricKeyType) return false;
  const spki = (k: KeyObject) => k.export({ type: "spki", format: "der" });
  return spki(a).equals(spki(b));
}

/**
 * The signing certificate of a CertInput: bytes or PEM text loaded by loadSigningCertificate, a
 * parsed certificate taken as it is; either way it must have a subject key identifier.
 */
function signingCertificate(cert: CertInput, certName: string): X509Certificate {
  if (!isCert(cert))
    return loadSigningCertificate(
      typeof cert === "string" ? new TextEncoder().encode(cert) : cert,
      certName,
    );
  if (!cert.subjectKeyId)
    throw new CertificateLoadError(certName, "no-subject-key-id", "has no subjectKeyIdentifier");
  return cert;
}

/** Load and pair a key and a certificate (bpftool: read_private_key, read_x509). */
export function signerIdentity(
  key: KeyInput,
  cert: CertInput,
  opts: IdentityOptions = {},
): SignerIdentity {
  const keyName = opts.keyName ?? "(private key)";
  const certName = opts.certName ?? "(certificate)";
  const k = isSigningKey(key)
    ? describeKey(key.privateKey, keyName)
    : loadPrivateKey(key, { passphrase: opts.passphrase, input: keyName });
  const c = signingCertificate(cert, certName);
  if (!samePublicKey(k.publicKey, c.publicKey)) throw new KeyMismatchError(keyName, certName);
  return { key: k, cert: c, subjectKeyId: c.subjectKeyId! };
}

/** The signature scheme of a SignerInfo this signer makes. */
export type CmsSignatureAlgorithm = "rsa" | "ecdsa-sha256";

/** What goes into the one SignerInfo. */
export interface SignedDataParts {
  readonly subjectKeyId: Uint8Array;
  readonly signatureAlgorithm: CmsSignatureAlgorithm;
  readonly signature: Uint8Array;
  /** The DER SET OF signed attributes (tag 0x31) the signature covers, or absent (CMS_NOATTR). */
  readonly signedAttrs?: Uint8Array;
}

/**
 * The signed attributes of a scheme that needs them: contentType = data, messageDigest =
 * SHA-256 of the content, then the scheme's own, as a DER SET OF (what is signed; the SignerInfo
 * carries the same bytes under [0] IMPLICIT).
 */
export function signedAttributes(
  content: readonly Uint8Array[],
  extra: readonly SchemeAttribute[],
): Uint8Array {
  const h = createHash("sha256");
  for (const c of content) h.update(c);
  const attr = (oid: string, value: Uint8Array) => der.sequence(der.oid(oid), der.set(value));
  return der.setOf(
    attr(OID.contentType, der.oid(OID.data)),
    attr(OID.messageDigest, der.octetString(new Uint8Array(h.digest()))),
    ...extra.map((a) => attr(a.oid, encodeSchemeAttributeValue(a))),
  );
}

/**
 * Encode the ContentInfo around one SignerInfo, in bpftool's shape. Throws
 * SignatureTooLargeError when the result exceeds `max` bytes (bpftool's MAX_SIG_SIZE).
 */
export function encodeSignedData(parts: SignedDataParts, max = MAX_SIG_SIZE): Uint8Array {
  const sha256 = der.algorithm(OID.sha256);
  const sigAlgo =
    parts.signatureAlgorithm === "rsa"
      ? der.algorithm(OID.rsaEncryption, der.null())
      : der.algorithm(OID.ecdsaWithSha256);
  const attrs = parts.signedAttrs ? [Uint8Array.of(0xa0, ...parts.signedAttrs.subarray(1))] : [];
  const signerInfo = der.sequence(
    der.integer(3),
    der.implicitPrim(0, parts.subjectKeyId),
    sha256,
    ...attrs,
    sigAlgo,
    der.octetString(parts.signature),
  );
  const signedData = der.sequence(
    der.integer(3),
    der.set(sha256),
    der.sequence(der.oid(OID.data)),
    der.set(signerInfo),
  );
  const out = der.sequence(der.oid(OID.signedData), der.explicit(0, signedData));
  if (out.length > max) throw new SignatureTooLargeError(out.length, max);
  return out;
}

/**
 * Sign the concatenation of `content` chunks: the detached CMS bpftool_prog_sign() writes.
 * `max` is the caller's buffer size (4096 for bpftool).
 */
export function signCms(
  content: readonly Uint8Array[],
  id: SignerIdentity,
  max = MAX_SIG_SIZE,
): Uint8Array {
  const h = createHash("sha256");
  for (const c of content) h.update(c);
  // The file key's raw signature over the chunks as one stream (RSA: PKCS#1 v1.5 over the digest).
  const signature = fileKeySigner(id.key).sign({ digest: new Uint8Array(h.digest()), content });
  return encodeSignedData(
    {
      subjectKeyId: id.subjectKeyId,
      signatureAlgorithm: id.key.type === "rsa" ? "rsa" : "ecdsa-sha256",
      signature,
    },
    max,
  );
}

/**
 * Sign `content` with any raw signer and check the result before returning it: the CMS is parsed
 * back and verified with the repository's PKCS#7 verifier (the kernel's rules) against `cert`,
 * so a signer that returns garbage, or a key that is not the certificate's, fails here with
 * SignatureCheckError instead of producing a signature the kernel would reject.
 */
export function signCmsWith(
  content: readonly Uint8Array[],
  signer: RawSigner,
  cert: X509Certificate,
  opts: {
    certName?: string;
    max?: number;
    /** A scheme's extra signed attributes (Hornet's map hashes): then the attributes are signed. */
    attributes?: readonly SchemeAttribute[] | null;
  } = {},
): Uint8Array {
  const certName = opts.certName ?? "(certificate)";
  if (!cert.subjectKeyId) {
    throw new CertificateLoadError(certName, "no-subject-key-id", "has no subjectKeyIdentifier");
  }
  const certAlgorithm = algorithmOfPublicKey(cert.publicKey);
  if (
    certAlgorithm !== signer.algorithm ||
    (signer.publicKey && !samePublicKey(signer.publicKey, cert.publicKey))
  ) {
    throw new KeyMismatchError(signer.name, certName);
  }
  const h = createHash("sha256");
  for (const c of content) h.update(c);
  const digest = new Uint8Array(h.digest());
  // With signed attributes the signature is over their DER, not over the content.
  const signedAttrs = opts.attributes ? signedAttributes(content, opts.attributes) : undefined;
  const signature = signedAttrs
    ? signer.sign({
        digest: new Uint8Array(createHash("sha256").update(signedAttrs).digest()),
        content: [signedAttrs],
      })
    : signer.sign({ digest, content });
  const cms = encodeSignedData(
    {
      subjectKeyId: cert.subjectKeyId,
      signatureAlgorithm: signer.algorithm === "rsa-pkcs1-sha256" ? "rsa" : "ecdsa-sha256",
      signature,
      signedAttrs,
    },
    opts.max,
  );
  const msg = parsePkcs7(cms);
  const v = msg.ok
    ? verifyPkcs7Message(content, msg.value, keySearchOf([cert]), {
        contentDigests: new Map([["sha256", digest]]),
      })
    : msg;
  if (!v.ok) throw new SignatureCheckError(signer.name, certName, `${v.errno}: ${v.reason}`);
  return cms;
}

export interface SignLoaderInput extends IdentityOptions {
  /** The loader's instructions (opts_insn). */
  readonly insns: Uint8Array;
  /** The loader's metadata blob (opts_data), folded into the signed content by the kernel. */
  readonly metadata: Uint8Array;
  /** A private key (PEM or loaded); or give `signer`. */
  readonly key?: KeyInput;
  /** A raw signer (a token, an external command, …) instead of `key`. */
  readonly signer?: RawSigner;
  readonly cert: CertInput;
  /** The scheme to sign for (default "v2"). The kfunc scheme's loader must already carry its check. */
  readonly scheme?: SchemeName;
}

export interface SignedLoader {
  /** The detached CMS over what the scheme signs (v2: insns || metadata) (opts_sig). */
  readonly signature: Uint8Array;
  /** sha256(insns): the metadata map's excl_prog_hash (opts_excl_hash). */
  readonly exclHash: Uint8Array;
  /** The signer id (the certificate's SKID), hex. */
  readonly signer: string;
}

/**
 * Sign a light-skeleton loader as `bpftool gen skeleton -L -S` does, with a key or a raw signer;
 * the signature is verified against the certificate before it is returned.
 */
export function signLoader(input: SignLoaderInput): SignedLoader {
  if ((input.key === undefined) === (input.signer === undefined)) {
    throw new SignerConfigError("sign with either a private key or a signer, exactly one");
  }
  let signer: RawSigner;
  let cert: X509Certificate;
  const certName = input.certName ?? "(certificate)";
  if (input.key !== undefined) {
    const id = signerIdentity(input.key, input.cert, input);
    signer = fileKeySigner(id.key, input.keyName ?? "(private key)");
    cert = id.cert;
  } else {
    signer = input.signer!;
    cert = signingCertificate(input.cert, certName);
  }
  const plan: SigningPlan = scheme(input.scheme ?? "v2").plan({
    insns: input.insns,
    maps: [input.metadata],
  });
  const signature = signCmsWith(plan.content, signer, cert, {
    certName,
    attributes: plan.attributes,
  });
  const exclHash = new Uint8Array(createHash("sha256").update(input.insns).digest());
  return { signature, exclHash, signer: toHex(cert.subjectKeyId!) };
}

/**
 * Sign a loader for a scheme with a key: what the scheme's plan says is signed (src/scheme), as
 * a detached CMS, with signed attributes when the plan has them (Hornet). For `v2` this is
 * exactly signCms([insns, ...maps]).
 */
export function signForScheme(
  name: SchemeName,
  parts: LoaderParts,
  id: SignerIdentity,
  max = MAX_SIG_SIZE,
): Uint8Array {
  const plan = scheme(name).plan(parts);
  return signCmsWith(plan.content, fileKeySigner(id.key, "(private key)"), id.cert, {
    max,
    attributes: plan.attributes,
  });
}
