/**
 * public_key_verify_signature() and the two signature schemes the model implements:
 * RSASSA-PKCS1-v1_5 checked byte by byte as crypto/rsassa-pkcs1.c does (the RSA public operation
 * is node's), and ECDSA (X9.62 DER signature) over a digest the caller already computed (the
 * signature's form and ranges are checked here, the curve arithmetic is node's).
 */

import {
  constants,
  createECDH,
  createVerify,
  ECDH,
  type KeyObject,
  publicDecrypt,
} from "node:crypto";
import { type Failure, fail } from "../uapi/errno.js";
import { bytesEqual, concatBytes, der, readChildren, readTlv, Tag, tlvValue } from "./asn1.js";
import { NODE_HASH, OID } from "./oid.js";

/** A public key as the kernel keeps it (struct public_key), backed by a node KeyObject. */
export interface PublicKey {
  /** "rsa", "ecdsa-nist-p256", … */
  readonly pkeyAlgo: string;
  readonly keyObject: KeyObject;
}

/** struct public_key_signature: what is to be checked and how. */
export interface PublicKeySignature {
  /** The signature bytes. */
  readonly s: Uint8Array;
  /** The digest (or, for algorithms that take data, the data) that was signed. */
  m: Uint8Array | null;
  /**
   * The bytes `m` is the `hashAlgo` digest of, when the caller has them (optional): small ones
   * let ECDSA be checked by node over the data itself. Never a substitute for `m`.
   */
  data?: readonly Uint8Array[] | null;
  hashAlgo: string | null;
  pkeyAlgo: string | null;
  encoding: string | null;
  /** The three ids: AKID serial‖issuer or the signer id; AKID keyId; raw issuer. */
  readonly authIds: [Uint8Array | null, Uint8Array | null, Uint8Array | null];
}

const ECDSA_HASHES = new Set([
  "sha1",
  "sha224",
  "sha256",
  "sha384",
  "sha512",
  "sha3-256",
  "sha3-384",
  "sha3-512",
]);

/**
 * Check `sig` with `pkey`: the key-type gate, the algorithm choice
 * (software_key_determine_akcipher) and the scheme. Undefined means the signature is good.
 */
export function publicKeyVerifySignature(
  pkey: PublicKey,
  sig: PublicKeySignature,
): Failure | undefined {
  if (
    sig.pkeyAlgo &&
    pkey.pkeyAlgo !== sig.pkeyAlgo &&
    !(pkey.pkeyAlgo.startsWith("ecdsa-") && sig.pkeyAlgo === "ecdsa")
  ) {
    return fail(
      "EKEYREJECTED",
      `signature algorithm ${sig.pkeyAlgo} does not match key algorithm ${pkey.pkeyAlgo}`,
    );
  }
  if (!sig.encoding) return fail("EINVAL", "signature has no encoding");
  if (pkey.pkeyAlgo === "rsa") {
    if (sig.encoding !== "pkcs1")
      return fail("EINVAL", `RSA encoding ${sig.encoding} not supported`);
    if (!sig.hashAlgo || !(sig.hashAlgo in DIGEST_INFO)) {
      // The pkcs1 template has no DigestInfo for this hash, so the algorithm cannot be made.
      return fail("ENOENT", `no pkcs1(rsa,${sig.hashAlgo}) algorithm`);
    }
    return rsassaPkcs1Verify(pkey.keyObject, sig.s, sig.m ?? new Uint8Array(0), sig.hashAlgo);
  }
  if (pkey.pkeyAlgo.startsWith("ecdsa-")) {
    if (sig.encoding !== "x962" && sig.encoding !== "p1363") {
      return fail("EINVAL", `ECDSA encoding ${sig.encoding} not supported`);
    }
    if (!sig.hashAlgo || !ECDSA_HASHES.has(sig.hashAlgo)) {
      return fail("EINVAL", `ECDSA with hash ${sig.hashAlgo} not supported`);
    }
    const curve = CURVES[pkey.pkeyAlgo];
    if (!curve) return fail("ENOPKG", `curve of ${pkey.pkeyAlgo} not supported`);
    return ecdsaVerify(
      curve,
      pkey.keyObject,
      sig.s,
      sig.m ?? new Uint8Array(0),
      sig.encoding,
      sig.hashAlgo,
      sig.data ?? null,
    );
  }
  if (pkey.pkeyAlgo === "ecrdsa" || pkey.pkeyAlgo.startsWith("ml-dsa")) {
    return fail("ENOPKG", `${pkey.pkeyAlgo} is not implemented by this model`);
  }
  return fail("ENOPKG", `key algorithm ${pkey.pkeyAlgo} not supported`);
}

// ---------------------------------------------------------------------------------------------
// RSASSA-PKCS1-v1_5
// ---------------------------------------------------------------------------------------------

const digestInfoPrefix = (oid: string, size: number): Uint8Array => {
  const full = der.sequence(der.algorithm(oid, der.null()), der.octetString(new Uint8Array(size)));
  return full.subarray(0, full.length - size);
};

/** The DigestInfo prefixes (with explicit NULL parameters) the pkcs1 template knows. */
export const DIGEST_INFO: Readonly<Record<string, Uint8Array>> = {
  md5: digestInfoPrefix(OID.md5, 16),
  sha1: digestInfoPrefix(OID.sha1, 20),
  rmd160: digestInfoPrefix("1.3.36.3.2.1", 20),
  sha224: digestInfoPrefix(OID.sha224, 28),
  sha256: digestInfoPrefix(OID.sha256, 32),
  sha384: digestInfoPrefix(OID.sha384, 48),
  sha512: digestInfoPrefix(OID.sha512, 64),
  "sha3-256": digestInfoPrefix(OID.sha3_256, 32),
  "sha3-384": digestInfoPrefix(OID.sha3_384, 48),
  "sha3-512": digestInfoPrefix(OID.sha3_512, 64),
};

function bigFromBytes(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function bytesFromBig(v: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const b64uToBytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "base64url"));

/** The JWK form of each public key, computed once per key object (export is not free). */
const jwkCache = new WeakMap<KeyObject, import("node:crypto").JsonWebKey>();
function jwkOf(key: KeyObject): import("node:crypto").JsonWebKey {
  let jwk = jwkCache.get(key);
  if (!jwk) {
    jwk = key.export({ format: "jwk" });
    jwkCache.set(key, jwk);
  }
  return jwk;
}

/** An RSA key's modulus without leading zero bytes (null for a key that is not RSA), cached. */
const modulusCache = new WeakMap<KeyObject, Uint8Array | null>();
function modulusOf(key: KeyObject): Uint8Array | null {
  let m = modulusCache.get(key);
  if (m === undefined) {
    const jwk = jwkOf(key);
    if (typeof jwk.n === "string") {
      const nBytes = b64uToBytes(jwk.n);
      let lead = 0;
      while (lead < nBytes.length && nBytes[lead] === 0) lead++;
      m = nBytes.subarray(lead);
    } else m = null;
    modulusCache.set(key, m);
  }
  return m;
}

/** Verify an RSASSA-PKCS1-v1_5 signature `s` over `digest` (rsassa_pkcs1_verify). */
export function rsassaPkcs1Verify(
  key: KeyObject,
  s: Uint8Array,
  digest: Uint8Array,
  hashAlgo: string,
): Failure | undefined {
  const modulus = modulusOf(key);
  if (!modulus) return fail("EINVAL", "not an RSA public key");
  const keySize = modulus.length;
  if (!keySize || s.length !== keySize || !digest.length) {
    return fail("EINVAL", `RSA signature is ${s.length} bytes, modulus is ${keySize}`);
  }
  if (Buffer.compare(s, modulus) >= 0) {
    return fail("EINVAL", "RSA signature representative out of range");
  }
  let em: Uint8Array;
  try {
    em = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, s);
  } catch {
    return fail("EINVAL", "RSA public operation failed");
  }
  if (em.length !== keySize) em = bytesFromBig(bigFromBytes(em), keySize);
  // The kernel sees EM without its leading zero bytes; it wants exactly one of them.
  if (em[0] !== 0x00) return fail("EINVAL", "RSA EM does not start with 0x00");
  if (keySize < 2 || em[1] === 0x00) return fail("EINVAL", "RSA EM too short");
  const out = em.subarray(1);
  if (out[0] !== 0x01) return fail("EBADMSG", "RSA EM block type is not 0x01");
  let pos = 1;
  while (pos < out.length && out[pos] === 0xff) pos++;
  if (pos < 9 || pos === out.length || out[pos] !== 0x00) {
    return fail("EBADMSG", "RSA EM padding is malformed");
  }
  pos++;
  const prefix = DIGEST_INFO[hashAlgo];
  if (prefix.length > out.length - pos) return fail("EBADMSG", "RSA EM too short for DigestInfo");
  if (!bytesEqual(out.subarray(pos, pos + prefix.length), prefix)) {
    return fail("EBADMSG", "RSA EM DigestInfo does not match the hash algorithm");
  }
  pos += prefix.length;
  if (digest.length !== out.length - pos || !bytesEqual(digest, out.subarray(pos))) {
    return fail("EKEYREJECTED", "RSA signature does not match the digest");
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// ECDSA
// ---------------------------------------------------------------------------------------------
//
// The acceptance rules are ours (the DER framing of Ecdsa-Sig-Value, the integer sizes, r and s in
// [1, n-1]); the elliptic-curve arithmetic is node's (OpenSSL). node verifies ECDSA only over data
// it hashes itself, so:
//  - when the caller passes the signed bytes (`PublicKeySignature.data`) and they are small, they
//    are verified with crypto.verify over those bytes (hashing a few KiB again costs less than
//    the second route);
//  - otherwise the digest is checked through node's EC scalar multiplications (ECDH): with
//    w = s^-1, the kernel's point u1·G + u2·Q (u1 = e·w, u2 = r·w) equals u2·(Q + (e/r)·G);
//    (e/r)·G is an ECDH public key, the one affine addition is done here, and the x-coordinate of
//    u2·(that point) is an ECDH shared secret. No data is hashed twice.

interface Curve {
  readonly p: bigint;
  readonly a: bigint;
  readonly n: bigint;
  /** bits of the order n (the digest is truncated to this many bits) */
  readonly bits: number;
  /** bytes of a field element and of a scalar */
  readonly size: number;
  /** node's (OpenSSL's) curve name */
  readonly nodeName: string;
}

const curve = (nodeName: string, p: string, a: string, n: string): Curve => {
  const nn = BigInt(`0x${n}`);
  const bits = nn.toString(2).length;
  return {
    p: BigInt(`0x${p}`),
    a: BigInt(`0x${a}`),
    n: nn,
    bits,
    size: Math.ceil(bits / 8),
    nodeName,
  };
};

/** NIST curves, from `openssl ecparam -param_enc explicit`. */
const CURVES: Readonly<Record<string, Curve>> = {
  "ecdsa-nist-p192": curve(
    "prime192v1",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC",
    "FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831",
  ),
  "ecdsa-nist-p256": curve(
    "prime256v1",
    "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
    "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
  ),
  "ecdsa-nist-p384": curve(
    "secp384r1",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
  ),
  "ecdsa-nist-p521": curve(
    "secp521r1",
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC",
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
  ),
};

/**
 * Signed data up to this size is verified by crypto.verify over the data (hashing it again costs
 * less than the ECDH route's two scalar multiplications and two inversions, ~0.1 ms); larger data
 * goes through the digest.
 */
export const ECDSA_REHASH_LIMIT = 64 * 1024;

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modInv(a: bigint, m: bigint): bigint {
  let r0 = mod(a, m);
  let r1 = m;
  let s0 = 1n;
  let s1 = 0n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    const r2 = r0 - q * r1;
    r0 = r1;
    r1 = r2;
    const s2 = s0 - q * s1;
    s0 = s1;
    s1 = s2;
  }
  return mod(s0, m);
}

function fixedBytes(v: bigint, size: number): Buffer {
  return Buffer.from(v.toString(16).padStart(size * 2, "0"), "hex");
}

/** An EC public key's point (affine coordinates). */
interface EcPoint {
  readonly x: bigint;
  readonly y: bigint;
}
const pointCache = new WeakMap<KeyObject, EcPoint | null>();
/**
 * The point of an EC key, read from its SubjectPublicKeyInfo (JWK export does not cover every
 * curve, e.g. P-192) and brought to uncompressed form by node; null for a key that is not EC.
 */
function pointOf(key: KeyObject, c: Curve): EcPoint | null {
  let q = pointCache.get(key);
  if (q === undefined) {
    q = null;
    try {
      const spki = new Uint8Array(key.export({ format: "der", type: "spki" }));
      const top = readTlv(spki, 0);
      const kids = "ok" in top ? null : readChildren(spki, top);
      const bits = kids && !("ok" in kids) && kids.length === 2 ? tlvValue(spki, kids[1]) : null;
      if (bits && bits.length > 1 && bits[0] === 0) {
        const u = ECDH.convertKey(
          Buffer.from(bits.subarray(1)),
          c.nodeName,
          undefined,
          undefined,
          "uncompressed",
        ) as Buffer;
        if (u.length === 1 + 2 * c.size) {
          q = {
            x: bigFromBytes(u.subarray(1, 1 + c.size)),
            y: bigFromBytes(u.subarray(1 + c.size)),
          };
        }
      }
    } catch {
      q = null;
    }
    pointCache.set(key, q);
  }
  return q;
}

function uncompressed(c: Curve, x: bigint, y: bigint): Buffer {
  return Buffer.concat([Buffer.of(4), fixedBytes(x, c.size), fixedBytes(y, c.size)]);
}

/** One ECDH object per curve: a scalar multiplier (its key is replaced on every use). */
const multipliers = new Map<string, ECDH>();
function multiplier(c: Curve): ECDH {
  let m = multipliers.get(c.nodeName);
  if (!m) {
    m = createECDH(c.nodeName);
    multipliers.set(c.nodeName, m);
  }
  return m;
}

/** Split an X9.62 DER `Ecdsa-Sig-Value` (or a P1363 r‖s) into r and s. */
function ecdsaRs(c: Curve, s: Uint8Array, encoding: string): { r: bigint; s: bigint } | Failure {
  const nbytes = c.size;
  if (encoding === "p1363") {
    if (s.length !== 2 * nbytes) return fail("EINVAL", "P1363 signature has the wrong size");
    return { r: bigFromBytes(s.subarray(0, nbytes)), s: bigFromBytes(s.subarray(nbytes)) };
  }
  const top = readTlv(s, 0);
  if ("ok" in top) return top;
  // Like any kernel ASN.1 decode, bytes after the outer SEQUENCE are ignored.
  if ((top.tag & ~0x20) !== (Tag.SEQUENCE & ~0x20)) {
    return fail("EBADMSG", "ECDSA signature is not a SEQUENCE");
  }
  const kids = readChildren(s, top);
  if ("ok" in kids) return kids;
  if (kids.length !== 2 || kids.some((k) => k.tag !== Tag.INTEGER)) {
    return fail("EBADMSG", "ECDSA signature is not SEQUENCE { r, s }");
  }
  const rs: bigint[] = [];
  for (const k of kids) {
    // The integers are read as unsigned; leading zeros are dropped before the size check.
    let v = tlvValue(s, k);
    if (v.length === 0 || v.length > nbytes + 1) {
      return fail("EINVAL", "ECDSA signature integer has a bad size");
    }
    while (v.length > 0 && v[0] === 0) v = v.subarray(1);
    if (v.length > nbytes) return fail("EINVAL", "ECDSA signature integer too large");
    rs.push(bigFromBytes(v));
  }
  return { r: rs[0], s: rs[1] };
}

const NO_MATCH = (): Failure => fail("EKEYREJECTED", "ECDSA signature does not match");

/**
 * Verify an ECDSA signature over `digest` (the digest truncated to the order's size), or over
 * `data` (whose `hashAlgo` digest `digest` is) when that is given and small.
 */
export function ecdsaVerify(
  c: Curve,
  key: KeyObject,
  sig: Uint8Array,
  digest: Uint8Array,
  encoding: string,
  hashAlgo: string,
  data: readonly Uint8Array[] | null = null,
): Failure | undefined {
  const rs = ecdsaRs(c, sig, encoding);
  if ("ok" in rs) return rs;
  const { r, s } = rs;
  if (r === 0n || s === 0n || r >= c.n || s >= c.n) {
    return fail("EBADMSG", "ECDSA signature value out of range");
  }
  const q = pointOf(key, c);
  if (!q) return fail("EINVAL", "not an EC public key");

  const nodeHash = NODE_HASH[hashAlgo];
  if (data && nodeHash && totalLength(data) <= ECDSA_REHASH_LIMIT) {
    const v = createVerify(nodeHash);
    for (const d of data) v.update(d);
    const p1363 = Buffer.concat([fixedBytes(r, c.size), fixedBytes(s, c.size)]);
    return v.verify({ key, dsaEncoding: "ieee-p1363" }, p1363) ? undefined : NO_MATCH();
  }

  let e = bigFromBytes(digest);
  const dbits = digest.length * 8;
  if (dbits > c.bits) e >>= BigInt(dbits - c.bits);
  // one inversion for both r^-1 and s^-1
  const inv = modInv(r * s, c.n);
  const u2 = mod(r * mod(r * inv, c.n), c.n); // r·s^-1
  const k = mod(e * mod(s * inv, c.n), c.n); // e·r^-1
  const ecdh = multiplier(c);
  // P = Q + k·G (P = Q when k = 0)
  let px = q.x;
  let py = q.y;
  if (k !== 0n) {
    ecdh.setPrivateKey(fixedBytes(k, c.size));
    const t = ecdh.getPublicKey();
    const tx = bigFromBytes(t.subarray(1, 1 + c.size));
    const ty = bigFromBytes(t.subarray(1 + c.size));
    const p = c.p;
    let lambda: bigint;
    if (tx === q.x) {
      // k·G = -Q: the sum is the point at infinity, which never verifies
      if (ty !== q.y) return NO_MATCH();
      lambda = mod((3n * q.x * q.x + c.a) * modInv(2n * q.y, p), p);
    } else {
      lambda = mod((ty - q.y) * modInv(tx - q.x, p), p);
    }
    px = mod(lambda * lambda - tx - q.x, p);
    py = mod(lambda * (q.x - px) - q.y, p);
  }
  let x: bigint;
  try {
    ecdh.setPrivateKey(fixedBytes(u2, c.size));
    x = bigFromBytes(ecdh.computeSecret(uncompressed(c, px, py)));
  } catch {
    return NO_MATCH();
  }
  return mod(x, c.n) === r ? undefined : NO_MATCH();
}

function totalLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** Re-encode an EC or RSA SubjectPublicKeyInfo for node:crypto from its parts. */
export function spkiFromParts(algOid: Uint8Array, params: Uint8Array | null, key: Uint8Array) {
  const alg = der.tlv(Tag.SEQUENCE, der.tlv(Tag.OID, algOid), ...(params ? [params] : []));
  return der.sequence(alg, der.tlv(Tag.BIT_STRING, concatBytes([Uint8Array.of(0), key])));
}
