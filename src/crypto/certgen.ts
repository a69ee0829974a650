/**
 * Signing identities: a fresh key pair and a self-signed certificate in the profile the kernel
 * selftests use (verify_sig_setup.sh; vectors README "Test keys"): X.509 v3, issuer = subject,
 * basicConstraints critical CA:FALSE, keyUsage digitalSignature, subjectKeyIdentifier = SHA-1 of
 * the subjectPublicKey bits, signed with sha256WithRSAEncryption or ecdsa-with-SHA256, a random
 * positive 20-byte serial. Built with our DER writer; node:crypto makes the keys and signature.
 */

import {
  createHash,
  createPublicKey,
  createSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { der, readChildren, readTlv, Tag, tlvValue } from "./asn1.js";
import { OID } from "./oid.js";
import { derToPem } from "./x509.js";

export type IdentityType = "rsa2048" | "rsa3072" | "ec-p256" | "ec-p384";

export const IDENTITY_TYPES: readonly IdentityType[] = ["rsa2048", "rsa3072", "ec-p256", "ec-p384"];

/** The subject (and issuer) name: a common name, and optionally an organization. */
export interface SubjectName {
  readonly commonName: string;
  readonly organization?: string;
}

export interface IdentityOptions {
  readonly type: IdentityType;
  /** A common name, or a name with an organization; default "bpfsign signing key". */
  readonly subject?: string | SubjectName;
  /** Validity in days from now (default 36500, as the selftests). */
  readonly days?: number;
  /** Start of validity (default now); for reproducible tests. */
  readonly notBefore?: Date;
}

export interface SigningIdentity {
  readonly type: IdentityType;
  /** Unencrypted PKCS#8 (`BEGIN PRIVATE KEY`). */
  readonly privateKeyPem: string;
  readonly privateKey: KeyObject;
  readonly certificateDer: Uint8Array;
  readonly certificatePem: string;
  /** The 20-byte SKID (= the signer id in every signature made with it). */
  readonly subjectKeyId: Uint8Array;
  /** The serial's INTEGER content bytes. */
  readonly serial: Uint8Array;
}

/** The certificate profile is invalid for these options. Code: "CRYPTO_CERT_PROFILE". */
export class CertificateProfileError extends Error {
  override readonly name = "CertificateProfileError";
  readonly code = "CRYPTO_CERT_PROFILE";
}

export const DEFAULT_SUBJECT = "bpfsign signing key";

function keyPair(type: IdentityType): KeyObject {
  switch (type) {
    case "rsa2048":
      return generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 }).privateKey;
    case "rsa3072":
      return generateKeyPairSync("rsa", { modulusLength: 3072, publicExponent: 65537 }).privateKey;
    case "ec-p256":
      return generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
    case "ec-p384":
      return generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey;
  }
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (the kernel insists). */
function x509Time(d: Date): Uint8Array {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y < 1950 || y > 9999) throw new CertificateProfileError(`year ${y} cannot be encoded`);
  return y < 2050 ? der.utcTime(`${p(y % 100)}${rest}`) : der.generalizedTime(`${p(y, 4)}${rest}`);
}

function encodeName(subject: SubjectName): Uint8Array {
  const rdn = (oid: string, value: string) => der.set(der.sequence(der.oid(oid), der.utf8(value)));
  if (!subject.commonName) throw new CertificateProfileError("the subject needs a common name");
  const rdns = [];
  if (subject.organization) rdns.push(rdn(OID.organizationName, subject.organization));
  rdns.push(rdn(OID.commonName, subject.commonName));
  return der.sequence(...rdns);
}

/** The subjectPublicKey bits (BIT STRING content after the unused-bits byte) of an SPKI. */
export function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  const top = readTlv(spki, 0);
  if ("ok" in top) throw new CertificateProfileError(`bad SubjectPublicKeyInfo: ${top.reason}`);
  const kids = readChildren(spki, top);
  if ("ok" in kids || kids.length !== 2 || kids[1].tag !== Tag.BIT_STRING) {
    throw new CertificateProfileError("bad SubjectPublicKeyInfo");
  }
  return tlvValue(spki, kids[1]).subarray(1);
}

/** SKID method 1 of RFC 5280 §4.2.1.2 (openssl's `subjectKeyIdentifier=hash`). */
export function subjectKeyIdOf(publicKey: KeyObject): Uint8Array {
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  return new Uint8Array(createHash("sha1").update(subjectPublicKeyBits(spki)).digest());
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? der.sequence(der.oid(oid), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(oid), der.octetString(value));
}

function randomSerial(): Uint8Array {
  const s = new Uint8Array(randomBytes(20));
  s[0] &= 0x7f; // positive
  if (s[0] === 0) s[0] = 0x01; // and minimally encoded with all 20 bytes
  return s;
}

/**
 * A self-signed certificate for `privateKey` in the selftest profile. Exposed separately so a
 * certificate can be made for an existing key.
 */
export function selfSignedCertificate(
  privateKey: KeyObject,
  opts: { subject?: string | SubjectName; days?: number; notBefore?: Date; serial?: Uint8Array },
): { der: Uint8Array; subjectKeyId: Uint8Array; serial: Uint8Array } {
  const kind = privateKey.asymmetricKeyType;
  if (kind !== "rsa" && kind !== "ec") {
    throw new CertificateProfileError(`cannot certify a ${kind} key (RSA or EC only)`);
  }
  const days = opts.days ?? 36500;
  if (!Number.isInteger(days) || days < 1) {
    throw new CertificateProfileError(`validity of ${days} days is not a positive whole number`);
  }
  const subject: SubjectName =
    typeof opts.subject === "string"
      ? { commonName: opts.subject }
      : (opts.subject ?? { commonName: DEFAULT_SUBJECT });
  const name = encodeName(subject);
  const notBefore = new Date(Math.floor((opts.notBefore ?? new Date()).getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + days * 86400_000);
  const publicKey = createPublicKey(privateKey);
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  const skid = subjectKeyIdOf(publicKey);
  const serial = opts.serial ?? randomSerial();
  const sigAlgo =
    kind === "rsa"
      ? der.algorithm(OID.sha256WithRSAEncryption, der.null())
      : der.algorithm(OID.ecdsaWithSha256);

  const extensions = der.sequence(
    extension(OID.basicConstraints, true, der.sequence()),
    extension(OID.keyUsage, false, der.bitString(Uint8Array.of(0x80), 7)),
    extension(OID.subjectKeyIdentifier, false, der.octetString(skid)),
  );
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(serial),
    sigAlgo,
    name,
    der.sequence(x509Time(notBefore), x509Time(notAfter)),
    name,
    spki,
    der.explicit(3, extensions),
  );
  const signer = createSign("sha256").update(tbs);
  const sig =
    kind === "ec" ? signer.sign({ key: privateKey, dsaEncoding: "der" }) : signer.sign(privateKey);
  const cert = der.sequence(tbs, sigAlgo, der.bitString(new Uint8Array(sig)));
  return { der: cert, subjectKeyId: skid, serial };
}

/** A fresh key pair of `type` and its self-signed certificate. */
export function generateSigningIdentity(opts: IdentityOptions): SigningIdentity {
  if (!IDENTITY_TYPES.includes(opts.type)) {
    throw new CertificateProfileError(
      `unknown key type ${String(opts.type)} (one of ${IDENTITY_TYPES.join(", ")})`,
    );
  }
  const privateKey = keyPair(opts.type);
  const cert = selfSignedCertificate(privateKey, opts);
  return {
    type: opts.type,
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    privateKey,
    certificateDer: cert.der,
    certificatePem: derToPem(cert.der, "CERTIFICATE"),
    subjectKeyId: cert.subjectKeyId,
    serial: cert.serial,
  };
}
