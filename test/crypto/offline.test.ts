import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type OfflineResult,
  TrustedCertificateError,
  verifyOffline,
} from "../../src/crypto/offline.js";
import { OID } from "../../src/crypto/oid.js";
import { Limits } from "../../src/uapi/constants.js";
import { flipBit, VECTOR_KEYS, vectorKeyFiles, vectorLoader } from "../support/cms.js";
import { PROGS, skipVectors } from "../support/vectors.js";
import { craftCms, vectorKey } from "./craft.js";

/** sha256(insns || data) of each vector (vectors README). */
const CONTENT_SHA256: Record<string, string> = {
  prog_a: "2460d23ff8f6f11ac5b946d1a0c2d749fbcf8bb5bf76066295436b565a8b6359",
  prog_b: "06bb8e84e39764747bac0dccf95f0a4bda9c2a85e1b0b5184e3755b9c4634a0a",
  prog_d: "dbafd8f44966eb1090cf6104f02e28c08b3ec2f33d0de5b5ae589f1f59ec6a06",
};
const SKID: Record<string, string> = {
  rsa2048: "744bf0b23fea78c2706cc5b2237f025aa4be3235",
  rsa3072: "5f0436f20b07c812002e19263fbf3273bdbb7e11",
  ecp256: "c3998b71c95b61bf5b6466f3a49a2226396ecd22",
};
const RESULTS: readonly OfflineResult[] = [
  "VERIFIED",
  "UNSIGNED",
  "BAD_SIGNATURE",
  "UNTRUSTED",
  "MALFORMED",
  "UNSUPPORTED",
  "EXCL_HASH_MISMATCH",
];

describe("offline verifier: the vectors", { skip: skipVectors }, () => {
  for (const prog of PROGS) {
    for (const key of VECTOR_KEYS) {
      it(`${prog}/${key}: VERIFIED with its certificate, UNTRUSTED with another, BAD_SIGNATURE with a flipped bit`, () => {
        const v = vectorLoader(prog, key);
        const own = vectorKeyFiles(key);
        const other = vectorKeyFiles(key === "rsa2048" ? "ecp256" : "rsa2048");
        const good = verifyOffline({ ...v, trusted: [other.certPem, own.certDer] });
        assert.equal(good.result, "VERIFIED", good.reason);
        assert.equal(good.errno, null);
        assert.equal(good.signer, SKID[key]);
        assert.equal(good.digest, CONTENT_SHA256[prog]);
        assert.equal(good.exclHashMatches, true);
        assert.equal(good.insnsBytes, v.insns.length);
        assert.equal(good.metadataBytes, v.metadata.length);
        assert.match(good.trustedKey ?? "", new RegExp(SKID[key]));

        const untrusted = verifyOffline({ ...v, trusted: [other.certDer] });
        assert.equal(untrusted.result, "UNTRUSTED");
        assert.equal(untrusted.errno, "ENOKEY");
        assert.equal(untrusted.signer, SKID[key]);
        assert.equal(verifyOffline({ ...v, trusted: [] }).result, "UNTRUSTED");

        const tampered = verifyOffline({
          ...v,
          metadata: flipBit(v.metadata, v.metadata.length >> 1, 3),
          trusted: [own.certPem],
        });
        assert.equal(tampered.result, "BAD_SIGNATURE");
        assert.equal(tampered.errno, "EKEYREJECTED");
        assert.notEqual(tampered.digest, good.digest);
        assert.equal(tampered.exclHashMatches, true);
      });
    }
  }

  it("a flipped instruction bit: EXCL_HASH_MISMATCH before the signature is looked at; BAD_SIGNATURE without an excl hash", () => {
    const v = vectorLoader("prog_b", "rsa2048");
    const trusted = [vectorKeyFiles("rsa2048").certDer];
    const insns = flipBit(v.insns, 17, 5);
    const r = verifyOffline({ ...v, insns, trusted });
    assert.equal(r.result, "EXCL_HASH_MISMATCH");
    assert.equal(r.errno, "EACCES");
    assert.equal(r.exclHashMatches, false);
    const noExcl = verifyOffline({ ...v, insns, exclHash: null, trusted });
    assert.equal(noExcl.result, "BAD_SIGNATURE");
    assert.equal(noExcl.exclHashMatches, null);
    // A wrong excl hash wins even over a signature from an untrusted key or no signature.
    const wrongExcl = flipBit(v.exclHash, 0);
    assert.equal(
      verifyOffline({ ...v, exclHash: wrongExcl, trusted: [] }).result,
      "EXCL_HASH_MISMATCH",
    );
    assert.equal(
      verifyOffline({ ...v, signature: null, exclHash: wrongExcl, trusted }).result,
      "EXCL_HASH_MISMATCH",
    );
  });

  it("no signature: UNSIGNED", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const r = verifyOffline({ ...v, signature: null, trusted: [] });
    assert.equal(r.result, "UNSIGNED");
    assert.equal(r.errno, null);
    assert.equal(r.signer, null);
    assert.equal(r.digest, CONTENT_SHA256.prog_a);
  });

  it("malformed signatures and excl hashes: MALFORMED with the kernel's errno", () => {
    const v = vectorLoader("prog_d", "rsa3072");
    const trusted = [vectorKeyFiles("rsa3072").certDer];
    const truncated = verifyOffline({ ...v, signature: v.signature.subarray(0, 200), trusted });
    assert.equal(truncated.result, "MALFORMED");
    assert.equal(truncated.errno, "EBADMSG");
    assert.equal(truncated.signer, null);
    assert.equal(verifyOffline({ ...v, signature: new Uint8Array(0), trusted }).errno, "EBADMSG");
    const shortExcl = verifyOffline({ ...v, exclHash: v.exclHash.subarray(0, 20), trusted });
    assert.equal(shortExcl.result, "MALFORMED");
    assert.equal(shortExcl.errno, "EINVAL");
    const huge = new Uint8Array(Limits.MAX_SIGNATURE_SIZE + 1);
    huge.set(v.signature);
    const big = verifyOffline({ ...v, signature: huge, trusted });
    assert.equal(big.result, "MALFORMED");
    assert.equal(big.errno, "EINVAL");
    // Trailing bytes after the DER are ignored by the kernel's decoder (and so here).
    const padded = new Uint8Array(v.signature.length + 16);
    padded.set(v.signature);
    assert.equal(verifyOffline({ ...v, signature: padded, trusted }).result, "VERIFIED");
  });

  it("a payload beyond the dynptr limit: MALFORMED E2BIG", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const metadata = new Uint8Array(Limits.DYNPTR_MAX_SIZE - v.insns.length + 1);
    const r = verifyOffline({ ...v, metadata, trusted: [vectorKeyFiles("rsa2048").certDer] });
    assert.equal(r.result, "MALFORMED");
    assert.equal(r.errno, "E2BIG");
    assert.equal(r.metadataBytes, metadata.length);
  });

  it("an algorithm the kernel lacks: UNSUPPORTED (ENOPKG)", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const content = new Uint8Array(Buffer.concat([v.insns, v.metadata]));
    const signature = craftCms(content, vectorKey("rsa2048"), { digestOid: OID.sm3 });
    const r = verifyOffline({ ...v, signature, trusted: [vectorKeyFiles("rsa2048").certDer] });
    assert.equal(r.result, "UNSUPPORTED");
    assert.equal(r.errno, "ENOPKG");
  });

  it("a trusted certificate the kernel would not take is a TrustedCertificateError", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const bad = vectorKeyFiles("rsa2048").certDer.subarray(0, 100);
    assert.throws(
      () => verifyOffline({ ...v, trusted: [vectorKeyFiles("ecp256").certDer, bad] }),
      (e: unknown) =>
        e instanceof TrustedCertificateError && e.index === 1 && e.errno === "EBADMSG",
    );
  });

  const RUNS = 300;
  it(`random byte flips of the signature give only typed results, never exceptions (${RUNS} runs)`, () => {
    const v = vectorLoader("prog_b", "ecp256");
    const trusted = [vectorKeyFiles("ecp256").certDer, vectorKeyFiles("rsa2048").certPem];
    const seen = new Set<OfflineResult>();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(v.signature.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (flips) => {
          const signature = v.signature.slice();
          for (const [at, x] of flips) signature[at] ^= x;
          const r = verifyOffline({ ...v, signature, trusted });
          assert.ok(RESULTS.includes(r.result), r.result);
          assert.equal(r.result === "VERIFIED", r.errno === null);
          assert.notEqual(r.result, "UNSIGNED");
          assert.notEqual(r.result, "EXCL_HASH_MISMATCH");
          assert.equal(typeof r.reason, "string");
          seen.add(r.result);
        },
      ),
      { numRuns: RUNS, seed: 0x5eed },
    );
    // Flips land in the signature value as well as in the structure.
    assert.ok(seen.has("MALFORMED") && seen.size >= 2, [...seen].join(","));
  });
});

describe("offline verifier without the vectors", () => {
  it("a bare instruction stream with no signature and no excl hash is UNSIGNED", () => {
    const r = verifyOffline({
      insns: new Uint8Array(16),
      metadata: new Uint8Array(0),
      signature: null,
      exclHash: null,
      trusted: [],
    });
    assert.equal(r.result, "UNSIGNED");
    assert.equal(r.exclHashMatches, null);
    assert.equal(r.digest, "374708fff7719dd5979ec875d56cd2286f6d3cf7ec317a3b25632aab28ec37bb");
  });
});
