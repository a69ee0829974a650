import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { toHex } from "../../src/crypto/asn1.js";
import { KeyLoadError, loadPrivateKey } from "../../src/crypto/keys.js";
import { parsePkcs7 } from "../../src/crypto/pkcs7.js";
import {
  CertificateLoadError,
  encodeSignedData,
  KeyMismatchError,
  loadSigningCertificate,
  MAX_SIG_SIZE,
  SignatureTooLargeError,
  signCms,
  signerIdentity,
  signLoader,
} from "../../src/crypto/sign.js";
import { keySearchOf, verifyPkcs7Signature } from "../../src/crypto/verify.js";
import { rawSignatureOf, vectorKeyFiles, vectorLoader } from "../support/cms.js";
import {
  cmsSign,
  type KeyKind,
  makeTestKey,
  openssl,
  opensslCmsVerify,
} from "../support/openssl.js";
import { PROGS, skipVectors } from "../support/vectors.js";

const cat = (a: Uint8Array, b: Uint8Array) => new Uint8Array(Buffer.concat([a, b]));

describe("signer: the shared vectors", { skip: skipVectors }, () => {
  for (const prog of PROGS) {
    for (const key of ["rsa2048", "rsa3072"] as const) {
      it(`${prog}/${key}: reproduces sig.${key}.der byte for byte from insns || data`, () => {
        const v = vectorLoader(prog, key);
        const f = vectorKeyFiles(key);
        const out = signLoader({
          insns: v.insns,
          metadata: v.metadata,
          key: f.keyPem,
          cert: f.certPem,
        });
        assert.equal(toHex(out.signature), toHex(v.signature));
        assert.equal(toHex(out.exclHash), toHex(v.exclHash));
      });
    }
    it(`${prog}/ecp256: verifies both ways with the vector signature`, () => {
      const v = vectorLoader(prog, "ecp256");
      const f = vectorKeyFiles("ecp256");
      const cert = loadSigningCertificate(f.certDer, "ecp256.der");
      const ours = signLoader({ insns: v.insns, metadata: v.metadata, key: f.keyPem, cert });
      assert.equal(toHex(ours.exclHash), toHex(v.exclHash));
      const content = cat(v.insns, v.metadata);
      // Ours through openssl and our verifier; theirs through our verifier.
      assert.equal(opensslCmsVerify(content, ours.signature, f.certPemPath), true);
      const search = keySearchOf([cert]);
      assert.equal(verifyPkcs7Signature([v.insns, v.metadata], ours.signature, search).ok, true);
      assert.equal(verifyPkcs7Signature([v.insns, v.metadata], v.signature, search).ok, true);
      // Same structure as the vector: re-encoding their raw signature gives their bytes.
      const rebuilt = encodeSignedData({
        subjectKeyId: cert.subjectKeyId!,
        signatureAlgorithm: "ecdsa-sha256",
        signature: rawSignatureOf(v.signature),
      });
      assert.equal(toHex(rebuilt), toHex(v.signature));
    });
  }

  it("signs chunks as their concatenation, with the key as PKCS#8 and the cert as DER or PEM", () => {
    const v = vectorLoader("prog_b", "rsa2048");
    const f = vectorKeyFiles("rsa2048");
    const fromDer = signerIdentity(f.keyPem, f.certDer);
    const fromPem = signerIdentity(
      new TextEncoder().encode(f.keyPem),
      new TextDecoder().decode(f.certPem),
    );
    assert.equal(toHex(fromDer.subjectKeyId), "744bf0b23fea78c2706cc5b2237f025aa4be3235");
    const a = signCms([v.insns, v.metadata], fromDer);
    const b = signCms([cat(v.insns, v.metadata)], fromPem);
    const c = signCms([v.insns.subarray(0, 7), v.insns.subarray(7), v.metadata], fromDer);
    assert.equal(toHex(a), toHex(v.signature));
    assert.equal(toHex(b), toHex(a));
    assert.equal(toHex(c), toHex(a));
  });
});

describe("signer: against openssl cms -sign on fresh keys", () => {
  for (const kind of ["rsa2048", "rsa3072"] as const) {
    it(`${kind}: byte-identical to openssl cms -sign -binary -nocerts -noattr -nosmimecap -keyid`, () => {
      const key = makeTestKey(kind, {}, "signer");
      for (const size of [0, 1, 4096, 100_003]) {
        const content = new Uint8Array(randomBytes(size));
        const theirs = cmsSign(content, key);
        const ours = signCms([content], signerIdentity(key.keyPem, key.certDer));
        assert.equal(toHex(ours), toHex(theirs), `content of ${size} bytes`);
      }
    });
  }

  for (const kind of ["ec-p256", "ec-p384"] as const satisfies KeyKind[]) {
    it(`${kind}: same structure as openssl, and each verifies the other's signature`, () => {
      const key = makeTestKey(kind, {}, "signer");
      const id = signerIdentity(key.keyPem, key.certPem);
      const content = new Uint8Array(randomBytes(5000));
      const theirs = cmsSign(content, key);
      const ours = signCms([content], id);
      const rebuilt = encodeSignedData({
        subjectKeyId: id.subjectKeyId,
        signatureAlgorithm: "ecdsa-sha256",
        signature: rawSignatureOf(theirs),
      });
      assert.equal(toHex(rebuilt), toHex(theirs));
      assert.equal(opensslCmsVerify(content, ours, key.certPemPath), true);
      const search = keySearchOf([id.cert]);
      assert.equal(verifyPkcs7Signature([content], theirs, search).ok, true);
      const mine = verifyPkcs7Signature([content], ours, search);
      assert.ok(mine.ok, mine.ok ? "" : mine.reason);
      assert.equal(mine.value.pkeyAlgo, "ecdsa");
      // And a flipped content byte is refused by openssl too (the check is real).
      const bad = content.slice();
      bad[0] ^= 1;
      assert.equal(opensslCmsVerify(bad, ours, key.certPemPath), false);
    });
  }
});

describe("signer: the CMS layout of bpftool_prog_sign", () => {
  it("is ContentInfo/SignedData v3, sha256 without parameters, detached data, one SKID SignerInfo without attributes", () => {
    const key = makeTestKey("rsa2048", {}, "signer");
    const id = signerIdentity(key.keyPem, key.certDer);
    const sig = signCms([Uint8Array.of(1, 2, 3)], id);
    // The fixed prefix of §5.3: lengths for a 2048-bit key, then the OIDs and versions.
    assert.equal(
      toHex(sig.subarray(0, 67)),
      "30820173" +
        "06092a864886f70d010702" +
        "a0820164" +
        "30820160" +
        "020103" +
        "310d300b0609608648016503040201" +
        "300b06092a864886f70d010701" +
        "3182013d30820139" +
        "0201038014",
    );
    const m = parsePkcs7(sig);
    assert.ok(m.ok);
    assert.equal(m.value.version, 3);
    assert.deepEqual(m.value.digestAlgos, ["sha256"]);
    assert.equal(m.value.data, null);
    assert.equal(m.value.certs.length, 0);
    assert.equal(m.value.signerInfos.length, 1);
    const si = m.value.signerInfos[0];
    assert.equal(si.version, 3);
    assert.equal(si.sidKind, "skid");
    assert.equal(toHex(si.sig.authIds[0]!), toHex(id.subjectKeyId));
    assert.equal(si.authattrs, null);
    assert.equal(si.pkeyAlgoOid, "1.2.840.113549.1.1.1");
    assert.equal(sig.length, 375);
  });

  it(`refuses a CMS larger than MAX_SIG_SIZE (${MAX_SIG_SIZE}) bytes, as bpftool does`, () => {
    const skid = new Uint8Array(20);
    const overhead =
      encodeSignedData({
        subjectKeyId: skid,
        signatureAlgorithm: "rsa",
        signature: new Uint8Array(1000),
      }).length - 1000;
    const fits = MAX_SIG_SIZE - overhead;
    const at = encodeSignedData({
      subjectKeyId: skid,
      signatureAlgorithm: "rsa",
      signature: new Uint8Array(fits),
    });
    assert.equal(at.length, MAX_SIG_SIZE);
    assert.throws(
      () =>
        encodeSignedData({
          subjectKeyId: skid,
          signatureAlgorithm: "rsa",
          signature: new Uint8Array(fits + 1),
        }),
      (e: unknown) =>
        e instanceof SignatureTooLargeError && e.size === MAX_SIG_SIZE + 1 && e.max === 4096,
    );
  });
});

describe("signer: bad inputs are typed errors", () => {
  it("a key that does not belong to the certificate", () => {
    const a = makeTestKey("rsa2048", {}, "signer");
    const b = makeTestKey("rsa2048", {}, "signer-other");
    assert.throws(
      () => signerIdentity(a.keyPem, b.certDer, { keyName: "a.pem", certName: "b.der" }),
      (e: unknown) =>
        e instanceof KeyMismatchError &&
        e.keyInput === "a.pem" &&
        e.certInput === "b.der" &&
        /public keys differ/.test(e.message),
    );
    const ec = makeTestKey("ec-p256", {}, "signer");
    assert.throws(() => signerIdentity(ec.keyPem, a.certDer), KeyMismatchError);
  });

  it("a certificate without a subject key identifier, saying why", () => {
    const k = makeTestKey("rsa2048", { skid: false }, "signer");
    assert.throws(
      () =>
        signLoader({
          insns: new Uint8Array(8),
          metadata: new Uint8Array(0),
          key: k.keyPem,
          cert: k.certPem,
          certName: "noskid.pem",
        }),
      (e: unknown) =>
        e instanceof CertificateLoadError &&
        e.reason === "no-subject-key-id" &&
        e.input === "noskid.pem" &&
        /subjectKeyIdentifier/.test(e.message) &&
        /kernel/.test(e.message),
    );
  });

  it("a malformed certificate (truncated DER, junk PEM, empty)", () => {
    const k = makeTestKey("rsa2048", {}, "signer");
    for (const bytes of [
      k.certDer.subarray(0, 200),
      new TextEncoder().encode("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
      new Uint8Array(0),
    ]) {
      assert.throws(
        () => loadSigningCertificate(bytes, "bad.crt"),
        (e: unknown) =>
          e instanceof CertificateLoadError && e.reason === "malformed" && e.input === "bad.crt",
      );
    }
  });

  it("signLoader takes an encrypted key with the caller's passphrase", () => {
    const k = makeTestKey("rsa2048", {}, "signer");
    const encrypted = openssl([
      "pkcs8",
      "-topk8",
      "-in",
      k.keyPath,
      "-passout",
      "pass:loader-pass",
    ]).toString();
    const insns = Uint8Array.of(0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
    const metadata = new Uint8Array(64);
    const plain = signLoader({ insns, metadata, key: k.keyPem, cert: k.certDer });
    const viaPass = signLoader({
      insns,
      metadata,
      key: encrypted,
      cert: k.certDer,
      passphrase: "loader-pass",
      keyName: "enc.pem",
    });
    assert.equal(toHex(viaPass.signature), toHex(plain.signature));
    assert.throws(
      () => signLoader({ insns, metadata, key: encrypted, cert: k.certDer, keyName: "enc.pem" }),
      (e: unknown) =>
        e instanceof KeyLoadError && e.reason === "passphrase-required" && e.input === "enc.pem",
    );
  });

  it("exclHash is sha256 of the instructions only", () => {
    const k = makeTestKey("ec-p256", {}, "signer");
    const insns = new Uint8Array(randomBytes(80));
    const metadata = new Uint8Array(randomBytes(300));
    const r = signLoader({ insns, metadata, key: loadPrivateKey(k.keyPem), cert: k.certDer });
    assert.equal(toHex(r.exclHash), createHash("sha256").update(insns).digest("hex"));
    const cert = loadSigningCertificate(k.certDer);
    assert.equal(r.signer, toHex(cert.subjectKeyId!));
    assert.equal(
      verifyPkcs7Signature([insns, metadata], r.signature, keySearchOf([cert])).ok,
      true,
    );
    assert.equal(verifyPkcs7Signature([insns], r.signature, keySearchOf([cert])).ok, false);
  });
});
