import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { readChildren, readTlv, type Tlv, tlvValue } from "../../src/crypto/asn1.js";
import { generateSigningIdentity } from "../../src/crypto/certgen.js";
import {
  ECDSA_REHASH_LIMIT,
  type PublicKey,
  publicKeyVerifySignature,
} from "../../src/crypto/public_key.js";
import { signCms, signerIdentity } from "../../src/crypto/sign.js";
import { keySearchOf, verifyPkcs7Signature } from "../../src/crypto/verify.js";
import { loadCertificate } from "../../src/crypto/x509.js";
import {
  bigOf,
  derSig,
  mod,
  REF_CURVES,
  type RefCurve,
  refSign,
  refVerify,
} from "./ecdsa_reference.js";

const CURVES = [
  { algo: "ecdsa-nist-p192", node: "prime192v1", hash: "sha256" },
  { algo: "ecdsa-nist-p256", node: "prime256v1", hash: "sha256" },
  { algo: "ecdsa-nist-p384", node: "secp384r1", hash: "sha384" },
  { algo: "ecdsa-nist-p521", node: "secp521r1", hash: "sha512" },
] as const;

interface Key {
  algo: string;
  hash: string;
  c: RefCurve;
  pub: PublicKey;
  priv: KeyObject;
  d: bigint;
  qx: bigint;
  qy: bigint;
}

/** d and Q of a private key, from its SEC1 DER (JWK export does not cover P-192). */
function ecParts(priv: KeyObject, size: number): { d: bigint; qx: bigint; qy: bigint } {
  const der = new Uint8Array(priv.export({ format: "der", type: "sec1" }));
  const top = readTlv(der, 0) as Tlv;
  const kids = readChildren(der, top) as Tlv[];
  const d = bigOf(tlvValue(der, kids[1]));
  const wrapped = kids.find((t) => t.tag === 0xa1)!;
  const bits = tlvValue(der, readTlv(der, wrapped.value) as Tlv);
  assert.equal(bits[1], 4, "uncompressed point");
  return {
    d,
    qx: bigOf(bits.subarray(2, 2 + size)),
    qy: bigOf(bits.subarray(2 + size)),
  };
}

function makeKey(algo: string, node: string, hash: string): Key {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: node });
  const c = REF_CURVES[algo];
  return {
    algo,
    hash,
    c,
    pub: { pkeyAlgo: algo, keyObject: publicKey },
    priv: privateKey,
    ...ecParts(privateKey, c.size),
  };
}

const KEYS = CURVES.map((c) => makeKey(c.algo, c.node, c.hash));

function bytesOf(v: bigint, size: number): Uint8Array {
  return Uint8Array.from(Buffer.from(v.toString(16).padStart(size * 2, "0"), "hex"));
}

/** The errno publicKeyVerifySignature gives (null = verified), with or without the data. */
function ours(
  k: Key,
  sig: Uint8Array,
  digest: Uint8Array,
  data: Uint8Array[] | null = null,
  hash = k.hash,
): string | null {
  const r = publicKeyVerifySignature(k.pub, {
    s: sig,
    m: digest,
    hashAlgo: hash,
    pkeyAlgo: "ecdsa",
    encoding: "x962",
    authIds: [null, null, null],
    data,
  });
  return r === undefined ? null : r.errno;
}

/** What the old BigInt path decided for (r, s) over digest. */
function reference(k: Key, r: bigint, s: bigint, digest: Uint8Array): string | null {
  // the DER framing and integer sizes are checked by the same code on both paths
  const bytes = (v: bigint) => Math.ceil(v.toString(16).length / 2);
  if (bytes(r) > k.c.size || bytes(s) > k.c.size) return "EINVAL";
  if (r === 0n || s === 0n || r >= k.c.n || s >= k.c.n) return "EBADMSG";
  return refVerify(k.c, k.qx, k.qy, r, s, digest) ? null : "EKEYREJECTED";
}

function splitDer(sig: Uint8Array): { r: bigint; s: bigint } {
  // 30 len 02 lr r 02 ls s (short or 0x81 long form)
  let p = sig[1] & 0x80 ? 3 : 2;
  const lr = sig[p + 1];
  const r = bigOf(sig.subarray(p + 2, p + 2 + lr));
  p += 2 + lr;
  const ls = sig[p + 1];
  return { r, s: bigOf(sig.subarray(p + 2, p + 2 + ls)) };
}

const digestOf = (hash: string, data: Uint8Array) =>
  new Uint8Array(createHash(hash).update(data).digest());

describe("ECDSA: node's arithmetic agrees with the BigInt reference", () => {
  for (const k of KEYS) {
    it(`${k.algo}: valid, high-S, tampered signature/digest/data, over the data and over the digest`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 2048 }),
          fc.constantFrom("none", "highS", "r+1", "s+1", "swap", "digestBit", "dataBit"),
          fc.nat(),
          (data, mutation, bit) => {
            const der = new Uint8Array(sign(k.hash, data, k.priv));
            let { r, s } = splitDer(der);
            let signed = data;
            if (mutation === "highS") s = k.c.n - s;
            else if (mutation === "r+1") r += 1n;
            else if (mutation === "s+1") s += 1n;
            else if (mutation === "swap") [r, s] = [s, r];
            else if (mutation === "dataBit") {
              signed = Uint8Array.from(data.length ? data : [0]);
              signed[(bit >> 3) % signed.length] ^= 1 << (bit & 7);
            }
            let digest = digestOf(k.hash, signed);
            if (mutation === "digestBit") {
              digest = digest.slice();
              digest[(bit >> 3) % digest.length] ^= 1 << (bit & 7);
            }
            const want = reference(k, r, s, digest);
            if (mutation === "none" || mutation === "highS") assert.equal(want, null);
            const sig = derSig(r, s);
            assert.equal(ours(k, sig, digest), want, "over the digest");
            if (mutation !== "digestBit")
              assert.equal(ours(k, sig, digest, [signed]), want, "over the data");
          },
        ),
        { numRuns: k.algo === "ecdsa-nist-p521" ? 12 : 25 },
      );
    });

    it(`${k.algo}: signatures over chosen digests (e = 0, k·G = Q, k·G = -Q), random digests`, () => {
      const c = k.c;
      const nonce = 0x1234567n;
      // e = 0 mod n: the point is u2·Q alone
      const zero = new Uint8Array(c.size);
      const z = refSign(c, k.d, zero, nonce)!;
      assert.equal(ours(k, derSig(z.r, z.s), zero), null);
      // e = r·d: (e/r)·G = Q, so the addition doubles
      const r0 = refSign(c, k.d, zero, nonce)!.r;
      const eDouble = bytesOf(mod(r0 * k.d, c.n), c.size);
      const dbl = refSign(c, k.d, eDouble, nonce)!;
      assert.equal(dbl.r, r0);
      assert.equal(reference(k, dbl.r, dbl.s, eDouble), null);
      assert.equal(ours(k, derSig(dbl.r, dbl.s), eDouble), null);
      // e = -r·d: (e/r)·G = -Q, the sum is the point at infinity
      const eInf = bytesOf(mod(-r0 * k.d, c.n), c.size);
      assert.equal(reference(k, r0, 12345n, eInf), "EKEYREJECTED");
      assert.equal(ours(k, derSig(r0, 12345n), eInf), "EKEYREJECTED");
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 20, maxLength: 64 }),
          fc.bigInt({ min: 1n, max: c.n - 1n }),
          fc.boolean(),
          (digest, kk, tamper) => {
            const sg = refSign(c, k.d, digest, kk);
            fc.pre(sg !== null);
            const s = tamper ? mod(sg!.s * 3n, c.n) || 1n : sg!.s;
            const want = reference(k, sg!.r, s, digest);
            if (!tamper) assert.equal(want, null);
            assert.equal(ours(k, derSig(sg!.r, s), digest), want);
          },
        ),
        { numRuns: k.algo === "ecdsa-nist-p521" ? 6 : 15 },
      );
    });

    it(`${k.algo}: r or s out of [1, n-1] is EBADMSG on both`, () => {
      const digest = digestOf(k.hash, Uint8Array.of(1));
      for (const [r, s] of [
        [0n, 1n],
        [1n, 0n],
        [k.c.n, 1n],
        [1n, k.c.n],
      ]) {
        assert.equal(reference(k, r, s, digest), "EBADMSG");
        assert.equal(ours(k, derSig(r, s), digest), "EBADMSG");
        assert.equal(ours(k, derSig(r, s), digest, [Uint8Array.of(1)]), "EBADMSG");
      }
    });
  }

  it("a signature made on another curve agrees too (range error or mismatch)", () => {
    for (const signer of KEYS) {
      for (const k of KEYS) {
        if (k === signer) continue;
        const data = Uint8Array.of(1, 2, 3);
        const { r, s } = splitDer(new Uint8Array(sign(k.hash, data, signer.priv)));
        const digest = digestOf(k.hash, data);
        const want = reference(k, r, s, digest);
        assert.notEqual(want, null);
        assert.equal(ours(k, derSig(r, s), digest), want, `${signer.algo} on ${k.algo}`);
        assert.equal(ours(k, derSig(r, s), digest, [data]), want, `${signer.algo} on ${k.algo}`);
      }
    }
  });

  it("data above the rehash limit goes through the digest, in chunks too", () => {
    const k = KEYS[1];
    const data = new Uint8Array(ECDSA_REHASH_LIMIT + 100).fill(7);
    const der = new Uint8Array(sign(k.hash, data, k.priv));
    const digest = digestOf(k.hash, data);
    assert.equal(ours(k, der, digest, [data]), null);
    assert.equal(ours(k, der, digest, [data.subarray(0, 10), data.subarray(10)]), null);
    const bad = digest.slice();
    bad[0] ^= 1;
    // the large data is not rehashed: only the digest decides
    assert.equal(ours(k, der, bad, [data]), "EKEYREJECTED");
    // small chunks are verified over the data
    const small = data.subarray(0, 100);
    const sd = new Uint8Array(sign(k.hash, small, k.priv));
    assert.equal(
      ours(k, sd, digestOf(k.hash, small), [small.subarray(0, 7), small.subarray(7)]),
      null,
    );
  });

  it("PKCS#7 with P-256 and P-384 keys: small and large content verify, a changed byte is EKEYREJECTED, on both routes", () => {
    for (const type of ["ec-p256", "ec-p384"] as const) {
      const identity = generateSigningIdentity({ type });
      const id = signerIdentity(identity.privateKeyPem, identity.certificateDer);
      const cert = loadCertificate(identity.certificateDer);
      assert.ok(cert.ok);
      const keys = keySearchOf([cert.value]);
      for (const size of [4096, ECDSA_REHASH_LIMIT + 4096]) {
        const insns = new Uint8Array(64).fill(1);
        const metadata = new Uint8Array(size).map((_, i) => i * 7);
        const sig = signCms([insns, metadata], id);
        const r = verifyPkcs7Signature([insns, metadata], sig, keys);
        assert.ok(r.ok, `${type} ${size}`);
        const bad = metadata.slice();
        bad[size >> 1] ^= 0x10;
        const b = verifyPkcs7Signature([insns, bad], sig, keys);
        assert.equal(b.ok ? null : b.errno, "EKEYREJECTED", `${type} ${size}`);
      }
    }
  });
});
