/**
 * public_key_verify_signature() and the two signature schemes the model implements:
 * RSASSA-PKCS1-v1_5 checked byte by byte as crypto/rsassa-pkcs1.c does, and ECDSA (X9.62 DER
 * signature) over a digest the caller already computed.
 */

import { constants, type KeyObject, publicDecrypt } from "node:crypto";
import { type Failure, fail } from "../uapi/errno.js";
import { bytesEqual, concatBytes, der, readChildren, readTlv, Tag, tlvValue } from "./asn1.js";
import { OID } from "./oid.js";

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
    return ecdsaVerify(curve, pkey.keyObject, sig.s, sig.m ?? new Uint8Array(0), sig.encoding);
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

/** Verify an RSASSA-PKCS1-v1_5 signature `s` over `digest` (rsassa_pkcs1_verify). */
export function rsassaPkcs1Verify(
  key: KeyObject,
  s: Uint8Array,
  digest: Uint8Array,
  hashAlgo: string,
): Failure | undefined {
  const jwk = jwkOf(key);
  if (typeof jwk.n !== "string") return fail("EINVAL", "not an RSA public key");
  const nBytes = b64uToBytes(jwk.n);
  let lead = 0;
  while (lead < nBytes.length && nBytes[lead] === 0) lead++;
  const keySize = nBytes.length - lead;
  if (!keySize || s.length !== keySize || !digest.length) {
    return fail("EINVAL", `RSA signature is ${s.length} bytes, modulus is ${keySize}`);
  }
  if (Buffer.compare(s, nBytes.subarray(lead)) >= 0) {
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
// ECDSA over a precomputed digest
// ---------------------------------------------------------------------------------------------

interface Curve {
  readonly p: bigint;
  readonly a: bigint;
  readonly n: bigint;
  readonly gx: bigint;
  readonly gy: bigint;
  readonly bits: number;
}

const curve = (p: string, a: string, gxy: string, n: string): Curve => {
  const g = gxy.slice(2);
  const half = g.length / 2;
  const nn = BigInt(`0x${n}`);
  return {
    p: BigInt(`0x${p}`),
    a: BigInt(`0x${a}`),
    n: nn,
    gx: BigInt(`0x${g.slice(0, half)}`),
    gy: BigInt(`0x${g.slice(half)}`),
    bits: nn.toString(2).length,
  };
};

/** NIST curves, from `openssl ecparam -param_enc explicit`. */
const CURVES: Readonly<Record<string, Curve>> = {
  "ecdsa-nist-p192": curve(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC",
    "04188DA80EB03090F67CBF20EB43A18800F4FF0AFD82FF101207192B95FFC8DA78631011ED6B24CDD573F977A11E794811",
    "FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831",
  ),
  "ecdsa-nist-p256": curve(
    "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
    "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
    "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
  ),
  "ecdsa-nist-p384": curve(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
    "04AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB73617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
  ),
  "ecdsa-nist-p521": curve(
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC",
    "0400C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650",
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
  ),
};

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modInv(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

/** Jacobian point; z = 0 is the point at infinity. */
type Jac = readonly [bigint, bigint, bigint];

function jDouble(c: Curve, [x, y, z]: Jac): Jac {
  if (z === 0n || y === 0n) return [0n, 1n, 0n];
  const p = c.p;
  const yy = (y * y) % p;
  const s = (4n * x * yy) % p;
  const zz = (z * z) % p;
  const m = mod(3n * x * x + c.a * zz * zz, p);
  const x3 = mod(m * m - 2n * s, p);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, p);
  const z3 = (2n * y * z) % p;
  return [x3, y3, z3];
}

function jAdd(c: Curve, P: Jac, Q: Jac): Jac {
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const p = c.p;
  const z1z1 = (P[2] * P[2]) % p;
  const z2z2 = (Q[2] * Q[2]) % p;
  const u1 = (P[0] * z2z2) % p;
  const u2 = (Q[0] * z1z1) % p;
  const s1 = (P[1] * Q[2] * z2z2) % p;
  const s2 = (Q[1] * P[2] * z1z1) % p;
  if (u1 === u2) return s1 === s2 ? jDouble(c, P) : [0n, 1n, 0n];
  const h = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  const hh = (h * h) % p;
  const hhh = (h * hh) % p;
  const v = (u1 * hh) % p;
  const x3 = mod(r * r - hhh - 2n * v, p);
  const y3 = mod(r * (v - x3) - s1 * hhh, p);
  const z3 = (P[2] * Q[2] * h) % p;
  return [x3, y3, z3];
}

/** u1·G + u2·Q by simultaneous double-and-add. */
function doubleMul(c: Curve, u1: bigint, G: Jac, u2: bigint, Q: Jac): Jac {
  const GQ = jAdd(c, G, Q);
  let R: Jac = [0n, 1n, 0n];
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    R = jDouble(c, R);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) R = jAdd(c, R, GQ);
    else if (b1) R = jAdd(c, R, G);
    else if (b2) R = jAdd(c, R, Q);
  }
  return R;
}

/** Split an X9.62 DER `Ecdsa-Sig-Value` (or a P1363 r‖s) into r and s. */
function ecdsaRs(c: Curve, s: Uint8Array, encoding: string): { r: bigint; s: bigint } | Failure {
  const nbytes = Math.ceil(c.bits / 8);
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

/** Verify an ECDSA signature over `digest`, with the digest truncated to the curve order size. */
export function ecdsaVerify(
  c: Curve,
  key: KeyObject,
  sig: Uint8Array,
  digest: Uint8Array,
  encoding: string,
): Failure | undefined {
  const rs = ecdsaRs(c, sig, encoding);
  if ("ok" in rs) return rs;
  const { r, s } = rs;
  if (r === 0n || s === 0n || r >= c.n || s >= c.n) {
    return fail("EBADMSG", "ECDSA signature value out of range");
  }
  const jwk = jwkOf(key);
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    return fail("EINVAL", "not an EC public key");
  }
  const qx = bigFromBytes(b64uToBytes(jwk.x));
  const qy = bigFromBytes(b64uToBytes(jwk.y));
  let e = bigFromBytes(digest);
  const dbits = digest.length * 8;
  if (dbits > c.bits) e >>= BigInt(dbits - c.bits);
  const w = modInv(s, c.n);
  const u1 = mod(e * w, c.n);
  const u2 = mod(r * w, c.n);
  const R = doubleMul(c, u1, [c.gx, c.gy, 1n], u2, [qx, qy, 1n]);
  if (R[2] === 0n) return fail("EKEYREJECTED", "ECDSA signature does not match");
  const zi = modInv(R[2], c.p);
  const x = (R[0] * zi * zi) % c.p;
  if (mod(x, c.n) !== r) return fail("EKEYREJECTED", "ECDSA signature does not match");
  return undefined;
}

/** Re-encode an EC or RSA SubjectPublicKeyInfo for node:crypto from its parts. */
export function spkiFromParts(algOid: Uint8Array, params: Uint8Array | null, key: Uint8Array) {
  const alg = der.tlv(Tag.SEQUENCE, der.tlv(Tag.OID, algOid), ...(params ? [params] : []));
  return der.sequence(alg, der.tlv(Tag.BIT_STRING, concatBytes([Uint8Array.of(0), key])));
}
