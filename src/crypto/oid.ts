/**
 * The object identifiers the kernel's PKCS#7 and X.509 parsers know (include/linux/oid_registry.h,
 * the subset that matters here). An OID not in this table is "unknown" (OID__NR in the kernel),
 * which every parser callback treats like any other unsupported value.
 */

import { decodeOid, encodeOid, toHex } from "./asn1.js";

export const OID = {
  // PKCS#7 content types
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  msIndirectData: "1.3.6.1.4.1.311.2.1.4",

  // PKCS#9 authenticated attributes
  contentType: "1.2.840.113549.1.9.3",
  messageDigest: "1.2.840.113549.1.9.4",
  signingTime: "1.2.840.113549.1.9.5",
  smimeCapabilities: "1.2.840.113549.1.9.15",
  msSpOpusInfo: "1.3.6.1.4.1.311.2.1.12",
  msStatementType: "1.3.6.1.4.1.311.2.1.11",

  // Digests
  md5: "1.2.840.113549.2.5",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",
  sha224: "2.16.840.1.101.3.4.2.4",
  sha3_256: "2.16.840.1.101.3.4.2.8",
  sha3_384: "2.16.840.1.101.3.4.2.9",
  sha3_512: "2.16.840.1.101.3.4.2.10",
  sm3: "1.2.156.10197.1.401",
  gost2012Digest256: "1.2.643.7.1.1.2.2",
  gost2012Digest512: "1.2.643.7.1.1.2.3",

  // Public key and signature algorithms
  rsaEncryption: "1.2.840.113549.1.1.1",
  md2WithRSAEncryption: "1.2.840.113549.1.1.2",
  md4WithRSAEncryption: "1.2.840.113549.1.1.3",
  sha1WithRSAEncryption: "1.2.840.113549.1.1.5",
  rsassaPss: "1.2.840.113549.1.1.10",
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  sha384WithRSAEncryption: "1.2.840.113549.1.1.12",
  sha512WithRSAEncryption: "1.2.840.113549.1.1.13",
  sha224WithRSAEncryption: "1.2.840.113549.1.1.14",
  rsaPkcs1Sha3_256: "2.16.840.1.101.3.4.3.14",
  rsaPkcs1Sha3_384: "2.16.840.1.101.3.4.3.15",
  rsaPkcs1Sha3_512: "2.16.840.1.101.3.4.3.16",
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha1: "1.2.840.10045.4.1",
  ecdsaWithSha224: "1.2.840.10045.4.3.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  ecdsaWithSha3_256: "2.16.840.1.101.3.4.3.10",
  ecdsaWithSha3_384: "2.16.840.1.101.3.4.3.11",
  ecdsaWithSha3_512: "2.16.840.1.101.3.4.3.12",
  gost2012PKey256: "1.2.643.7.1.1.1.1",
  gost2012PKey512: "1.2.643.7.1.1.1.2",
  gost2012Signature256: "1.2.643.7.1.1.3.2",
  gost2012Signature512: "1.2.643.7.1.1.3.3",
  mlDsa44: "2.16.840.1.101.3.4.3.17",
  mlDsa65: "2.16.840.1.101.3.4.3.18",
  mlDsa87: "2.16.840.1.101.3.4.3.19",
  ed25519: "1.3.101.112",

  // Curves
  prime192v1: "1.2.840.10045.3.1.1",
  prime256v1: "1.2.840.10045.3.1.7",
  secp384r1: "1.3.132.0.34",
  secp521r1: "1.3.132.0.35",

  // Names
  commonName: "2.5.4.3",
  countryName: "2.5.4.6",
  organizationName: "2.5.4.10",
  emailAddress: "1.2.840.113549.1.9.1",

  // X.509 extensions
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

export type OidName = keyof typeof OID;

/** The registry's encoded OIDs by content length (a few per length), searched byte by byte. */
const byLength: [Uint8Array, OidName][][] = [];
for (const [name, dotted] of Object.entries(OID) as [OidName, string][]) {
  const bytes = encodeOid(dotted);
  const bucket = byLength[bytes.length] ?? [];
  bucket.push([bytes, name]);
  byLength[bytes.length] = bucket;
}

/** The registry name of OID content bytes (look_up_OID), or null when unknown. */
export function lookUpOid(content: Uint8Array): OidName | null {
  const bucket = byLength[content.length];
  if (!bucket) return null;
  const n = content.length;
  next: for (const [bytes, name] of bucket) {
    for (let i = n - 1; i >= 0; i--) if (bytes[i] !== content[i]) continue next;
    return name;
  }
  return null;
}

/** The name of OID content bytes, or the dotted form (or hex, if undecodable) for messages. */
export function describeOid(content: Uint8Array): string {
  return lookUpOid(content) ?? decodeOid(content) ?? `oid:${toHex(content)}`;
}

/** Digest OID → the kernel's hash name (pkcs7_sig_note_digest_algo); others are ENOPKG. */
export const DIGEST_ALGO: Partial<Record<OidName, string>> = {
  sha1: "sha1",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
  sha224: "sha224",
  sm3: "sm3",
  gost2012Digest256: "streebog256",
  gost2012Digest512: "streebog512",
  sha3_256: "sha3-256",
  sha3_384: "sha3-384",
  sha3_512: "sha3-512",
};

/** SignerInfo signature OID → pkey algo and encoding (pkcs7_sig_note_pkey_algo). */
export const PKCS7_PKEY_ALGO: Partial<
  Record<OidName, { pkeyAlgo: string; encoding: string; takesData?: true }>
> = {
  rsaEncryption: { pkeyAlgo: "rsa", encoding: "pkcs1" },
  ecdsaWithSha1: { pkeyAlgo: "ecdsa", encoding: "x962" },
  ecdsaWithSha224: { pkeyAlgo: "ecdsa", encoding: "x962" },
  ecdsaWithSha256: { pkeyAlgo: "ecdsa", encoding: "x962" },
  ecdsaWithSha384: { pkeyAlgo: "ecdsa", encoding: "x962" },
  ecdsaWithSha512: { pkeyAlgo: "ecdsa", encoding: "x962" },
  ecdsaWithSha3_256: { pkeyAlgo: "ecdsa", encoding: "x962" },
  ecdsaWithSha3_384: { pkeyAlgo: "ecdsa", encoding: "x962" },
  ecdsaWithSha3_512: { pkeyAlgo: "ecdsa", encoding: "x962" },
  gost2012PKey256: { pkeyAlgo: "ecrdsa", encoding: "raw" },
  gost2012PKey512: { pkeyAlgo: "ecrdsa", encoding: "raw" },
  mlDsa44: { pkeyAlgo: "mldsa44", encoding: "raw", takesData: true },
  mlDsa65: { pkeyAlgo: "mldsa65", encoding: "raw", takesData: true },
  mlDsa87: { pkeyAlgo: "mldsa87", encoding: "raw", takesData: true },
};

/** X.509 signature OID → signature parameters (x509_note_sig_algo); others are ENOPKG. */
export const X509_SIG_ALGO: Partial<
  Record<OidName, { pkeyAlgo: string; encoding: string; hashAlgo: string; takesData?: true }>
> = {
  sha1WithRSAEncryption: { pkeyAlgo: "rsa", encoding: "pkcs1", hashAlgo: "sha1" },
  sha256WithRSAEncryption: { pkeyAlgo: "rsa", encoding: "pkcs1", hashAlgo: "sha256" },
  sha384WithRSAEncryption: { pkeyAlgo: "rsa", encoding: "pkcs1", hashAlgo: "sha384" },
  sha512WithRSAEncryption: { pkeyAlgo: "rsa", encoding: "pkcs1", hashAlgo: "sha512" },
  sha224WithRSAEncryption: { pkeyAlgo: "rsa", encoding: "pkcs1", hashAlgo: "sha224" },
  rsaPkcs1Sha3_256: { pkeyAlgo: "rsa", encoding: "pkcs1", hashAlgo: "sha3-256" },
  rsaPkcs1Sha3_384: { pkeyAlgo: "rsa", encoding: "pkcs1", hashAlgo: "sha3-384" },
  rsaPkcs1Sha3_512: { pkeyAlgo: "rsa", encoding: "pkcs1", hashAlgo: "sha3-512" },
  ecdsaWithSha1: { pkeyAlgo: "ecdsa", encoding: "x962", hashAlgo: "sha1" },
  ecdsaWithSha224: { pkeyAlgo: "ecdsa", encoding: "x962", hashAlgo: "sha224" },
  ecdsaWithSha256: { pkeyAlgo: "ecdsa", encoding: "x962", hashAlgo: "sha256" },
  ecdsaWithSha384: { pkeyAlgo: "ecdsa", encoding: "x962", hashAlgo: "sha384" },
  ecdsaWithSha512: { pkeyAlgo: "ecdsa", encoding: "x962", hashAlgo: "sha512" },
  ecdsaWithSha3_256: { pkeyAlgo: "ecdsa", encoding: "x962", hashAlgo: "sha3-256" },
  ecdsaWithSha3_384: { pkeyAlgo: "ecdsa", encoding: "x962", hashAlgo: "sha3-384" },
  ecdsaWithSha3_512: { pkeyAlgo: "ecdsa", encoding: "x962", hashAlgo: "sha3-512" },
  gost2012Signature256: { pkeyAlgo: "ecrdsa", encoding: "raw", hashAlgo: "streebog256" },
  gost2012Signature512: { pkeyAlgo: "ecrdsa", encoding: "raw", hashAlgo: "streebog512" },
  mlDsa44: { pkeyAlgo: "ml-dsa44", encoding: "raw", hashAlgo: "ml-dsa44", takesData: true },
  mlDsa65: { pkeyAlgo: "ml-dsa65", encoding: "raw", hashAlgo: "ml-dsa65", takesData: true },
  mlDsa87: { pkeyAlgo: "ml-dsa87", encoding: "raw", hashAlgo: "ml-dsa87", takesData: true },
};

/** EC curve OID → the kernel's key algorithm name (x509_extract_key_data). */
export const EC_CURVE_ALGO: Partial<Record<OidName, string>> = {
  prime192v1: "ecdsa-nist-p192",
  prime256v1: "ecdsa-nist-p256",
  secp384r1: "ecdsa-nist-p384",
  secp521r1: "ecdsa-nist-p521",
};

/** Hash name → node:crypto name, for the hashes this model can compute (crypto_alloc_shash). */
export const NODE_HASH: Readonly<Record<string, string>> = {
  sha1: "sha1",
  sha224: "sha224",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
  "sha3-256": "sha3-256",
  "sha3-384": "sha3-384",
  "sha3-512": "sha3-512",
};
