import assert from "node:assert/strict";
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readChildren, readTlv, Tag, toHex } from "../../src/crypto/asn1.js";
import {
  CertificateProfileError,
  DEFAULT_SUBJECT,
  generateSigningIdentity,
  type IdentityType,
  selfSignedCertificate,
  subjectPublicKeyBits,
} from "../../src/crypto/certgen.js";
import { loadPrivateKey } from "../../src/crypto/keys.js";
import { signLoader } from "../../src/crypto/sign.js";
import { keySearchOf, verifyPkcs7Signature } from "../../src/crypto/verify.js";
import { KeyEflag, loadCertificate, parseX509 } from "../../src/crypto/x509.js";
import { makeTempDir, openssl, opensslCmsVerify } from "../support/openssl.js";

/** Write a certificate's PEM to a fresh directory; returns the path. */
function certFile(pem: string): string {
  const path = join(makeTempDir("bpfsign-certgen-"), "cert.pem");
  writeFileSync(path, pem);
  return path;
}

/** The tag of notBefore / notAfter in a certificate. */
function validityTags(der: Uint8Array): number[] {
  const cert = readTlv(der, 0);
  assert.ok(!("ok" in cert));
  const tbs = readChildren(der, cert);
  assert.ok(!("ok" in tbs));
  const fields = readChildren(der, tbs[0]);
  assert.ok(!("ok" in fields));
  const validity = readChildren(der, fields[4]);
  assert.ok(!("ok" in validity));
  return validity.map((t) => t.tag);
}

const TYPES: [IdentityType, string, string][] = [
  ["rsa2048", "rsa", "sha256WithRSAEncryption"],
  ["rsa3072", "rsa", "sha256WithRSAEncryption"],
  ["ec-p256", "ecdsa-nist-p256", "ecdsa-with-SHA256"],
];

describe("keygen: self-signed identities in the selftest profile", () => {
  for (const [type, pkeyAlgo, sigName] of TYPES) {
    it(`${type}: kernel-parsable, openssl sees the profile, the self-signature and signatures verify`, () => {
      const id = generateSigningIdentity({ type, subject: "bpfsign test signer" });
      const parsed = parseX509(id.certificateDer);
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
      const cert = parsed.value;
      assert.equal(cert.pkeyAlgo, pkeyAlgo);
      assert.equal(cert.selfSigned, true);
      assert.equal(cert.subject, "bpfsign test signer");
      assert.equal(cert.issuer, "bpfsign test signer");
      assert.equal(cert.keyEflags, 1 << KeyEflag.DIGITALSIG);
      assert.equal(toHex(cert.subjectKeyId!), toHex(id.subjectKeyId));
      // SKID = SHA-1 of the subjectPublicKey bits.
      const spki = new Uint8Array(
        createPublicKey(id.privateKeyPem).export({ type: "spki", format: "der" }),
      );
      assert.equal(
        toHex(id.subjectKeyId),
        createHash("sha1").update(subjectPublicKeyBits(spki)).digest("hex"),
      );
      // A random positive 20-byte serial.
      assert.equal(id.serial.length, 20);
      assert.equal(id.serial[0] & 0x80, 0);
      assert.equal(toHex(cert.serial), toHex(id.serial));
      // PEM and DER are the same certificate; the key is unencrypted PKCS#8.
      const fromPem = loadCertificate(new TextEncoder().encode(id.certificatePem));
      assert.ok(fromPem.ok);
      assert.equal(toHex(fromPem.value.der), toHex(id.certificateDer));
      assert.match(id.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);

      const path = certFile(id.certificatePem);
      const text = openssl(["x509", "-in", path, "-noout", "-text"]).toString();
      assert.match(text, /Version: 3 \(0x2\)/);
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, /X509v3 Key Usage: ?\s+Digital Signature\n/);
      assert.match(text, /X509v3 Subject Key Identifier: ?\s+([0-9A-F]{2}:){19}[0-9A-F]{2}/);
      assert.ok(text.includes((toHex(id.subjectKeyId).toUpperCase().match(/../g) ?? []).join(":")));
      assert.equal(
        (text.match(new RegExp(`Signature Algorithm: ${sigName}`, "g")) ?? []).length,
        2,
      );
      assert.doesNotMatch(text, /Authority Key Identifier|Extended Key Usage/);
      const verified = openssl(["verify", "-check_ss_sig", "-CAfile", path, path]).toString();
      assert.match(verified, /: OK/);

      const insns = new Uint8Array(randomBytes(8 * 50));
      const metadata = new Uint8Array(randomBytes(1500));
      const signed = signLoader({
        insns,
        metadata,
        key: id.privateKeyPem,
        cert: id.certificateDer,
      });
      const v = verifyPkcs7Signature([insns, metadata], signed.signature, keySearchOf([cert]));
      assert.ok(v.ok, v.ok ? "" : v.reason);
      assert.equal(toHex(v.value.signerId), toHex(id.subjectKeyId));
      const content = new Uint8Array(Buffer.concat([insns, metadata]));
      assert.equal(opensslCmsVerify(content, signed.signature, path), true);
    });
  }

  it("openssl refuses the certificate once its self-signature is damaged (the check is real)", () => {
    const id = generateSigningIdentity({ type: "ec-p256" });
    const bad = id.certificateDer.slice();
    bad[bad.length - 5] ^= 0x01;
    const path = certFile(
      `-----BEGIN CERTIFICATE-----\n${Buffer.from(bad).toString("base64")}\n-----END CERTIFICATE-----\n`,
    );
    assert.throws(() => openssl(["verify", "-check_ss_sig", "-CAfile", path, path]));
    const parsed = parseX509(bad);
    assert.ok(!parsed.ok || !parsed.value.selfSigned);
  });

  it("ec-p384 and an organization in the subject", () => {
    const id = generateSigningIdentity({
      type: "ec-p384",
      subject: { commonName: "loader signer", organization: "bpfsign" },
    });
    const c = parseX509(id.certificateDer);
    assert.ok(c.ok);
    assert.equal(c.value.pkeyAlgo, "ecdsa-nist-p384");
    assert.equal(c.value.subject, "bpfsign: loader signer");
    assert.equal(loadPrivateKey(id.privateKeyPem).curve, "secp384r1");
  });

  it("validity: days from notBefore; UTCTime through 2049, GeneralizedTime after", () => {
    const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
    const notBefore = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const short = selfSignedCertificate(key, { days: 30, notBefore });
    const sc = parseX509(short.der);
    assert.ok(sc.ok);
    assert.equal(sc.value.notBefore.toISOString(), "2026-01-02T03:04:05.000Z");
    assert.equal(sc.value.notAfter.toISOString(), "2026-02-01T03:04:05.000Z");
    assert.deepEqual(validityTags(short.der), [Tag.UTCTime, Tag.UTCTime]);
    const long = selfSignedCertificate(key, { notBefore });
    const lc = parseX509(long.der);
    assert.ok(lc.ok);
    assert.equal(lc.value.notAfter.getUTCFullYear(), 2125);
    assert.deepEqual(validityTags(long.der), [Tag.UTCTime, Tag.GeneralizedTime]);
    assert.equal(lc.value.subject, DEFAULT_SUBJECT);
  });

  it("bad options are CertificateProfileError", () => {
    const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
    assert.throws(() => selfSignedCertificate(key, { days: 0 }), CertificateProfileError);
    assert.throws(() => selfSignedCertificate(key, { days: 1.5 }), CertificateProfileError);
    assert.throws(() => selfSignedCertificate(key, { subject: "" }), CertificateProfileError);
    const ed = generateKeyPairSync("ed25519").privateKey;
    assert.throws(() => selfSignedCertificate(ed, {}), /ed25519/);
    assert.throws(
      () => generateSigningIdentity({ type: "dsa" as IdentityType }),
      (e: unknown) =>
        e instanceof CertificateProfileError && /unknown key type dsa/.test(e.message),
    );
  });
});
