import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { describe, it } from "node:test";
import { der } from "../../src/crypto/asn1.js";
import { OID } from "../../src/crypto/oid.js";
import { describeSignature, parsePkcs7 } from "../../src/crypto/pkcs7.js";
import { keySearchOf, verifyPkcs7Signature } from "../../src/crypto/verify.js";
import { parseX509 } from "../../src/crypto/x509.js";
import { makeTestKey } from "../support/openssl.js";
import {
  attr,
  type CmsOpts,
  cat,
  craftCms,
  signerInfo,
  stdAttrs,
  vectorContent,
  vectorKey,
  vectorSig,
} from "./craft.js";

const rsa = vectorKey("rsa2048");
const ec = vectorKey("ecp256");
const chunks = vectorContent("prog_b");
const content = cat(chunks);
const trusted = keySearchOf([rsa.cert, ec.cert]);

const verify = (sig: Uint8Array, keys = trusted) => verifyPkcs7Signature(chunks, sig, keys);
const errno = (sig: Uint8Array, keys = trusted) => {
  const r = verify(sig, keys);
  return r.ok ? "ok" : r.errno;
};
const crafted = (o: CmsOpts = {}, key = rsa) => craftCms(content, key, o);

describe("PKCS#7: crafted messages reproduce bpftool's bytes", () => {
  it("the DER writer rebuilds sig.rsa2048.der byte for byte", () => {
    for (const prog of ["prog_a", "prog_b", "prog_d"]) {
      for (const k of ["rsa2048", "rsa3072"] as const) {
        const built = craftCms(cat(vectorContent(prog)), vectorKey(k));
        assert.deepEqual(built, vectorSig(prog, k), `${prog} ${k}`);
      }
    }
  });

  it("describes a signature for inspection", () => {
    const d = describeSignature(vectorSig("prog_a", "ecp256"));
    assert.ok(d.ok);
    assert.equal(d.value.detached, true);
    assert.deepEqual(d.value.digestAlgos, ["sha256"]);
    assert.equal(d.value.signers.length, 1);
    const s = d.value.signers[0];
    assert.equal(s.sid, "skid");
    assert.equal(s.keyId, "c3998b71c95b61bf5b6466f3a49a2226396ecd22");
    assert.equal(s.pkeyAlgo, "ecdsa");
    assert.equal(s.digestAlgo, "sha256");
    assert.equal(s.signedAttributes, false);
  });
});

describe("PKCS#7: one test per errno row (kernel-semantics §8.14)", () => {
  it("EMSGSIZE: blob > 65535 bytes", () => {
    const big = new Uint8Array(70000);
    big.set(crafted());
    assert.equal(errno(big), "EMSGSIZE");
  });

  it("EBADMSG: malformed ASN.1", () => {
    assert.equal(errno(Uint8Array.of(0x30, 0x03, 0x02, 0x01)), "EBADMSG");
    assert.equal(errno(Uint8Array.of(0x31, 0x00)), "EBADMSG");
    assert.equal(errno(new Uint8Array(0)), "EBADMSG");
  });

  it("EBADMSG: bad certificate tag in the certificate set", () => {
    assert.equal(errno(crafted({ certs: [der.integer(5)] })), "EBADMSG");
  });

  it("EBADMSG: attached content (BPF supplies detached data)", () => {
    const r = verify(crafted({ eContent: content }));
    assert.ok(!r.ok);
    assert.equal(r.errno, "EBADMSG");
    assert.match(r.reason, /non-detached/);
  });

  it("EBADMSG: SignedData/SignerInfo version mismatch", () => {
    assert.equal(errno(crafted({ sdVersion: 1 })), "EBADMSG"); // v1 SignedData, v3 SignerInfo
    assert.equal(errno(crafted({ sid: "issuer", sdVersion: 3 })), "EBADMSG");
  });

  it("EBADMSG: missing required authattr", () => {
    const only = [attr(OID.messageDigest, der.octetString(new Uint8Array(32)))];
    assert.equal(errno(crafted({ attrs: only })), "EBADMSG");
    assert.equal(errno(crafted({ attrs: [stdAttrs(content)[0]] })), "EBADMSG");
  });

  it("EBADMSG: messageDigest of the wrong length, or not an OCTET STRING", () => {
    const a = [stdAttrs(content)[0], attr(OID.messageDigest, der.octetString(new Uint8Array(31)))];
    assert.equal(errno(crafted({ attrs: a })), "EBADMSG");
    const b = [stdAttrs(content)[0], attr(OID.messageDigest, der.integer(1))];
    assert.equal(errno(crafted({ attrs: b })), "EBADMSG");
  });

  it("EBADMSG: contentType attribute differs from the content type", () => {
    const a = [attr(OID.contentType, der.oid(OID.msIndirectData)), stdAttrs(content)[1]];
    assert.equal(errno(crafted({ attrs: a })), "EBADMSG");
  });

  it("EBADMSG: Authenticode content without authattrs", () => {
    assert.equal(errno(crafted({ innerType: OID.msIndirectData })), "EBADMSG");
  });

  it("EINVAL: outer type is not signedData", () => {
    assert.equal(errno(crafted({ outerType: OID.data })), "EINVAL");
  });

  it("EINVAL: unsupported SignedData or SignerInfo version", () => {
    assert.equal(errno(crafted({ sdVersion: 2 })), "EINVAL");
    assert.equal(errno(crafted({ sdVersion: 4 })), "EINVAL");
    assert.equal(errno(crafted({ version: 2 })), "EINVAL");
    assert.equal(errno(crafted({ version: 0x0103 })), "EINVAL", "two-byte version");
  });

  it("EINVAL: inner content type neither data nor msIndirectData", () => {
    assert.equal(errno(crafted({ innerType: "1.2.3.4" })), "EINVAL");
  });

  it("EINVAL: no signerInfos, or authattrs on some signers only", () => {
    assert.equal(errno(crafted({ noSignerInfos: true })), "EINVAL");
    const withAttrs = signerInfo(content, rsa, { attrs: stdAttrs(content) });
    const without = signerInfo(content, ec);
    assert.equal(errno(crafted({ signerInfos: [withAttrs, without] })), "EINVAL");
    assert.equal(errno(crafted({ signerInfos: [without, withAttrs] })), "EINVAL");
  });

  it("ENOPKG: unknown digest OID or unknown/unsupported pkey OID", () => {
    assert.equal(errno(crafted({ digestOid: OID.md5 })), "ENOPKG");
    assert.equal(errno(crafted({ pkeyOid: OID.rsassaPss })), "ENOPKG");
    assert.equal(errno(crafted({ pkeyOid: OID.sha256WithRSAEncryption })), "ENOPKG");
    assert.equal(errno(crafted({ pkeyOid: OID.ed25519 })), "ENOPKG");
  });

  it("ENOPKG: every signer's hash unavailable (sm3)", () => {
    const r = parsePkcs7(crafted({ digestOid: OID.sm3 }));
    assert.ok(r.ok, "sm3 parses");
    assert.equal(errno(crafted({ digestOid: OID.sm3 })), "ENOPKG");
    const two = [
      signerInfo(content, rsa, { digestOid: OID.sm3 }),
      signerInfo(content, ec, { digestOid: OID.gost2012Digest256 }),
    ];
    assert.equal(errno(crafted({ signerInfos: two })), "ENOPKG");
  });

  it("EKEYREJECTED: msIndirectData content (BPF needs pkcs7-data)", () => {
    const a = [attr(OID.contentType, der.oid(OID.msIndirectData)), stdAttrs(content)[1]];
    const sig = crafted({ innerType: OID.msIndirectData, attrs: a });
    assert.ok(parsePkcs7(sig).ok);
    assert.equal(errno(sig), "EKEYREJECTED");
  });

  it("EKEYREJECTED: messageDigest mismatch", () => {
    const a = [stdAttrs(content)[0], attr(OID.messageDigest, der.octetString(new Uint8Array(32)))];
    assert.equal(errno(crafted({ attrs: a })), "EKEYREJECTED");
  });

  it("EKEYREJECTED: repeated or multivalue authattrs; Authenticode attrs on data", () => {
    const t = der.utcTime("260101000000Z");
    const [ct, md] = stdAttrs(content);
    assert.equal(
      errno(crafted({ attrs: [ct, md, attr(OID.signingTime, t), attr(OID.signingTime, t)] })),
      "EKEYREJECTED",
    );
    assert.equal(errno(crafted({ attrs: [ct, md, attr(OID.signingTime, t, t)] })), "EKEYREJECTED");
    assert.equal(errno(crafted({ attrs: [ct, ct, md] })), "EKEYREJECTED");
    assert.equal(
      errno(crafted({ attrs: [ct, md, attr(OID.smimeCapabilities, der.sequence())] })),
      "EKEYREJECTED",
    );
    assert.equal(
      errno(crafted({ attrs: [ct, md, attr(OID.msSpOpusInfo, der.sequence())] })),
      "EKEYREJECTED",
    );
  });

  it("EKEYREJECTED: key of the wrong type for the signer's algorithm", () => {
    // An RSA signer id whose SignerInfo claims ECDSA.
    assert.equal(errno(crafted({ pkeyOid: OID.ecdsaWithSha256 })), "EKEYREJECTED");
    // An ECDSA signature presented as RSA.
    assert.equal(errno(crafted({ pkeyOid: OID.rsaEncryption }, ec)), "EKEYREJECTED");
  });

  it("EKEYREJECTED: wrong signature", () => {
    assert.equal(errno(crafted({ signature: new Uint8Array(256).fill(1) })), "EKEYREJECTED");
    assert.equal(errno(crafted({ signature: new Uint8Array(255).fill(1) })), "EKEYREJECTED");
    const other = craftCms(Uint8Array.of(1, 2, 3), rsa);
    assert.equal(errno(other), "EKEYREJECTED");
  });

  it("ENOKEY: no key matches", () => {
    assert.equal(errno(crafted(), keySearchOf([ec.cert])), "ENOKEY");
    assert.equal(
      errno(crafted(), () => null),
      "ENOKEY",
    );
  });

  it("ENOKEY: v3 SKID signer against a certificate without SKID; v1 matches it", () => {
    const k = makeTestKey("rsa2048", { skid: false });
    const cert = parseX509(k.certDer);
    assert.ok(cert.ok);
    const key = { ...rsa, cert: cert.value };
    const priv = createPrivateKey(k.keyPem);
    const skidSig = craftCms(
      content,
      { ...key, priv },
      { sid: der.implicitPrim(0, new Uint8Array(20).fill(1)) },
    );
    assert.equal(errno(skidSig, keySearchOf([cert.value])), "ENOKEY");
    const v1 = craftCms(content, { ...key, priv }, { sid: "issuer" });
    assert.equal(errno(v1, keySearchOf([cert.value])), "ok");
  });
});

describe("PKCS#7: several SignerInfos", () => {
  const good = signerInfo(content, rsa);
  it("an unsupported signer is skipped", () => {
    const sm3 = signerInfo(content, ec, { digestOid: OID.sm3 });
    assert.equal(errno(crafted({ signerInfos: [sm3, good] })), "ok");
    assert.equal(errno(crafted({ signerInfos: [good, sm3] })), "ok");
  });

  it("the first hard error is returned even when another signer is good", () => {
    const bad = signerInfo(content, ec, {
      attrs: [stdAttrs(content)[0], attr(OID.messageDigest, der.octetString(new Uint8Array(32)))],
    });
    const goodAttrs = signerInfo(content, rsa, { attrs: stdAttrs(content) });
    assert.equal(errno(crafted({ signerInfos: [goodAttrs, bad] })), "EKEYREJECTED");
    const badSig = signerInfo(content, ec, { signature: Uint8Array.of(0x30, 0x00) });
    assert.equal(errno(crafted({ signerInfos: [good, badSig] })), "EKEYREJECTED");
  });

  it("an unknown signer is passed over when another one is trusted", () => {
    const unknown = signerInfo(content, ec, { sid: der.implicitPrim(0, new Uint8Array(20)) });
    assert.equal(errno(crafted({ signerInfos: [unknown, good] })), "ok");
    assert.equal(errno(crafted({ signerInfos: [unknown] })), "ENOKEY");
  });
});

describe("PKCS#7: authattrs forms", () => {
  it("[0] IMPLICIT SET: the digest covers the attributes re-tagged as SET", () => {
    const r = verify(crafted({ attrs: stdAttrs(content) }));
    assert.ok(r.ok);
    const t = verify(
      crafted(
        { attrs: [...stdAttrs(content), attr(OID.signingTime, der.utcTime("260101000000Z"))] },
        ec,
      ),
    );
    assert.ok(t.ok);
  });

  it("[2] EXPLICIT SEQUENCE: attributes are checked but not digested (treated as none)", () => {
    // The signature must then be over the content itself.
    const si = signerInfo(content, rsa, { attrs: stdAttrs(content), attrsAsSequence: true });
    const parsed = parsePkcs7(crafted({ signerInfos: [si] }));
    assert.ok(parsed.ok);
    assert.equal(parsed.value.signerInfos[0].authattrs, null);
    assert.equal(errno(crafted({ signerInfos: [si] })), "EKEYREJECTED");
    const overContent = signerInfo(content, rsa, {
      attrs: stdAttrs(content),
      attrsAsSequence: true,
      signature: craftCms(content, rsa).subarray(-256),
    });
    assert.equal(errno(crafted({ signerInfos: [overContent] })), "ok");
  });

  it("digest and pkey OIDs are independent (ecdsa-with-SHA256 with sha384)", () => {
    const sig = crafted(
      { digestOid: OID.sha384, hash: "sha384", pkeyOid: OID.ecdsaWithSha256 },
      ec,
    );
    const r = verify(sig);
    assert.ok(r.ok);
    assert.equal(r.value.digestAlgo, "sha384");
    assert.equal(r.value.pkeyAlgo, "ecdsa");
  });
});
