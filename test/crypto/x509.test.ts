import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { concatBytes, der, toHex } from "../../src/crypto/asn1.js";
import { OID } from "../../src/crypto/oid.js";
import {
  derToPem,
  loadCertificate,
  looksLikeDer,
  parseX509,
  pemToDer,
} from "../../src/crypto/x509.js";
import { makeTestKey, SELFTEST_CN } from "../support/openssl.js";
import { craftCert, ext, name, VECTORS, vectorKey } from "./craft.js";

const TABLE = {
  rsa2048: [
    "744bf0b23fea78c2706cc5b2237f025aa4be3235",
    "6e1d99af646fb2d113073ca73bbf666828b30792",
    "rsa",
  ],
  rsa3072: [
    "5f0436f20b07c812002e19263fbf3273bdbb7e11",
    "5c1cbd5c027052396f686ac8e477bae432c7feed",
    "rsa",
  ],
  ecp256: [
    "c3998b71c95b61bf5b6466f3a49a2226396ecd22",
    "606cb7af93c443ea0491182dc2f979bc32fa73aa",
    "ecdsa-nist-p256",
  ],
} as const;

const errnoOf = (der: Uint8Array) => {
  const r = parseX509(der);
  return r.ok ? "ok" : r.errno;
};

describe("X.509: the vector certificates", () => {
  for (const [k, [skid, serial, algo]] of Object.entries(TABLE)) {
    it(`parses ${k} like x509_key_preparse`, () => {
      const pem = readFileSync(`${VECTORS}/keys/test-only-${k}.cert.pem`);
      const derBytes = new Uint8Array(readFileSync(`${VECTORS}/keys/test-only-${k}.cert.der`));
      const r = loadCertificate(pem);
      assert.ok(r.ok);
      const c = r.value;
      assert.equal(c.pkeyAlgo, algo);
      assert.equal(toHex(c.subjectKeyId!), skid);
      assert.equal(toHex(c.serial), serial);
      assert.equal(c.description, `${SELFTEST_CN}: ${skid}`);
      assert.equal(c.subject, SELFTEST_CN);
      assert.equal(c.selfSigned, true);
      assert.equal(toHex(c.ids[0]), toHex(concatBytes([c.serial, c.rawIssuer])));
      assert.equal(toHex(c.ids[1]!), skid);
      assert.equal(toHex(c.ids[2]), toHex(c.rawSubject));
      assert.deepEqual(c.rawIssuer, c.rawSubject);
      assert.equal(c.notBefore.getUTCFullYear(), 2026);
      assert.equal(c.notAfter.getUTCFullYear(), 2126);
      assert.deepEqual(c.der, derBytes);
      assert.equal(looksLikeDer(derBytes), true);
      assert.equal(looksLikeDer(pem), false);
      assert.deepEqual(pemToDer(derToPem(derBytes)), derBytes);
      const viaDer = loadCertificate(derBytes);
      assert.ok(viaDer.ok);
      assert.equal(viaDer.value.description, c.description);
    });
  }

  it("uses the serial in the description when there is no SKID", () => {
    const k = makeTestKey("ec-p256", { skid: false });
    const r = parseX509(k.certDer);
    assert.ok(r.ok);
    assert.equal(r.value.subjectKeyId, null);
    assert.equal(r.value.ids[1], null);
    assert.equal(r.value.description, `${SELFTEST_CN}: ${toHex(r.value.serial)}`);
  });

  it("rejects input that is not a certificate", () => {
    assert.equal(loadCertificate(new TextEncoder().encode("hello")).ok, false);
    assert.equal(pemToDer("-----BEGIN X-----\nAAAA\n-----END X-----\n", "CERTIFICATE"), null);
  });
});

describe("X.509: crafted certificates and the kernel's errnos", () => {
  const rsa = vectorKey("rsa2048");
  const ec = vectorKey("ecp256");
  const skidExt = ext(OID.subjectKeyIdentifier, der.octetString(new Uint8Array(20).fill(7)));

  it("accepts a well-formed crafted certificate (control)", () => {
    const r = parseX509(craftCert(rsa, { extensions: [skidExt] }));
    assert.ok(r.ok);
    assert.equal(r.value.selfSigned, true);
    assert.equal(r.value.subject, "crafted");
    assert.equal(errnoOf(craftCert(ec)), "ok");
  });

  it("ENOPKG for an unsupported signature algorithm", () => {
    assert.equal(errnoOf(craftCert(rsa, { sigOid: "1.2.840.113549.1.1.4" })), "ENOPKG"); // md5WithRSA
    assert.equal(errnoOf(craftCert(rsa, { sigOid: OID.rsassaPss })), "ENOPKG");
  });

  it("EINVAL when signatureAlgorithm differs from tbsCertificate.signature", () => {
    assert.equal(errnoOf(craftCert(rsa, { outerSigOid: OID.sha384WithRSAEncryption })), "EINVAL");
  });

  it("EBADMSG for a signature BIT STRING with unused bits", () => {
    assert.equal(errnoOf(craftCert(rsa, { unusedBits: 1 })), "EBADMSG");
  });

  it("ENOPKG for an unsupported key algorithm or curve", () => {
    const ed = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" });
    assert.equal(
      errnoOf(craftCert(rsa, { spki: new Uint8Array(ed), issuer: name("other") })),
      "ENOPKG",
    );
    const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey;
    const spki = new Uint8Array(k1.export({ format: "der", type: "spki" }));
    assert.equal(errnoOf(craftCert(rsa, { spki, issuer: name("other") })), "ENOPKG");
  });

  it("EBADMSG when EC parameters are not an OID", () => {
    const pub = new Uint8Array(ec.cert.publicKey.export({ format: "der", type: "spki" }));
    const point = pub.subarray(pub.length - 65);
    const spki = der.sequence(der.algorithm(OID.ecPublicKey, der.null()), der.bitString(point));
    assert.equal(errnoOf(craftCert(rsa, { spki, issuer: name("other") })), "EBADMSG");
  });

  it("EBADMSG for malformed or repeated extensions", () => {
    const cases: [string, Uint8Array[]][] = [
      ["repeated SKID", [skidExt, skidExt]],
      ["SKID not an OCTET STRING", [ext(OID.subjectKeyIdentifier, der.integer(5))]],
      ["short SKID", [ext(OID.subjectKeyIdentifier, Uint8Array.of(4, 0))]],
      ["keyUsage not a BIT STRING", [ext(OID.keyUsage, der.octetString(Uint8Array.of(0x80)))]],
      ["keyUsage too short", [ext(OID.keyUsage, Uint8Array.of(3, 1, 0))]],
      [
        "basicConstraints CA:FALSE written out",
        [ext(OID.basicConstraints, der.sequence(der.boolean(false)))],
      ],
      ["basicConstraints not a SEQUENCE", [ext(OID.basicConstraints, der.null())]],
      ["undecodable AKID", [ext(OID.authorityKeyIdentifier, Uint8Array.of(0x30, 0x05, 0x80))]],
    ];
    for (const [what, exts] of cases) {
      assert.equal(errnoOf(craftCert(rsa, { extensions: exts })), "EBADMSG", what);
    }
    const ca = parseX509(
      craftCert(rsa, { extensions: [ext(OID.basicConstraints, der.sequence(der.boolean(true)))] }),
    );
    assert.ok(ca.ok && ca.value.keyEflags & 4);
  });

  it("EBADMSG for times the kernel does not accept", () => {
    const cases: [string, Uint8Array][] = [
      ["UTCTime without Z", der.utcTime("2601010000000")],
      ["UTCTime with offset", der.utcTime("260101000000+0100")],
      ["GeneralizedTime in 1950..2049", der.generalizedTime("20300101000000Z")],
      ["month 13", der.utcTime("261301000000Z")],
      ["Feb 30", der.utcTime("260230000000Z")],
      ["not a time", der.integer(5)],
    ];
    for (const [what, t] of cases)
      assert.equal(errnoOf(craftCert(rsa, { notBefore: t })), "EBADMSG", what);
    assert.equal(
      errnoOf(craftCert(rsa, { notBefore: der.utcTime("000229000000Z") })),
      "ok",
      "2000 is leap",
    );
  });

  it("EKEYREJECTED when a self-signed certificate's AKID only partly matches", () => {
    const skid = new Uint8Array(20).fill(7);
    const akid = der.sequence(
      der.implicitPrim(0, skid),
      der.explicit(1, der.explicit(4, name("crafted"))),
      der.implicitPrim(2, Uint8Array.of(0x99)),
    );
    const r = errnoOf(
      craftCert(rsa, { extensions: [skidExt, ext(OID.authorityKeyIdentifier, akid)] }),
    );
    assert.equal(r, "EKEYREJECTED");
    // keyid alone matching is fine.
    const ok1 = parseX509(
      craftCert(rsa, {
        extensions: [
          skidExt,
          ext(OID.authorityKeyIdentifier, der.sequence(der.implicitPrim(0, skid))),
        ],
      }),
    );
    assert.ok(ok1.ok && ok1.value.selfSigned);
  });

  it("fails the parse when a self-signature is wrong", () => {
    assert.equal(errnoOf(craftCert(rsa, { signOver: Uint8Array.of(1, 2, 3) })), "EKEYREJECTED");
    assert.equal(errnoOf(craftCert(ec, { signOver: Uint8Array.of(1, 2, 3) })), "EKEYREJECTED");
    // Not self-signed (issuer differs): the signature is not checked at parse time.
    const r = parseX509(
      craftCert(rsa, { issuer: name("someone else"), signOver: Uint8Array.of(1) }),
    );
    assert.ok(r.ok && !r.value.selfSigned);
  });

  it("EMSGSIZE above 65535 bytes", () => {
    const big = craftCert(rsa, {
      extensions: [ext("1.2.3.4", der.octetString(new Uint8Array(66000)))],
    });
    assert.equal(errnoOf(big), "EMSGSIZE");
  });

  it("never throws on arbitrary or mutated input", () => {
    const base = rsa.cert.der;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        parseX509(b);
        loadCertificate(b);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = base.slice();
        m[i] ^= x;
        const r = parseX509(m);
        assert.equal(typeof r.ok, "boolean");
      }),
      { numRuns: 300 },
    );
  });
});
