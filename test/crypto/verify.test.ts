import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { der, Tag, tlv, toHex } from "../../src/crypto/asn1.js";
import { OID } from "../../src/crypto/oid.js";
import { type Pkcs7Message, parsePkcs7 } from "../../src/crypto/pkcs7.js";
import { keySearchOf, verifyPkcs7Signature } from "../../src/crypto/verify.js";
import { type AsymmetricKey, parseX509 } from "../../src/crypto/x509.js";
import {
  cmsSign,
  type KeyKind,
  makeTempDir,
  makeTestKey,
  openssl,
  opensslCmsVerify,
} from "../support/openssl.js";
import {
  attr,
  cat,
  craftCert,
  craftCms,
  ext,
  name,
  signerInfo,
  stdAttrs,
  type VectorKey,
  vectorContent,
  vectorKey,
  vectorSig,
} from "./craft.js";

const SKID = {
  rsa2048: "744bf0b23fea78c2706cc5b2237f025aa4be3235",
  rsa3072: "5f0436f20b07c812002e19263fbf3273bdbb7e11",
  ecp256: "c3998b71c95b61bf5b6466f3a49a2226396ecd22",
} as const;
const KEYS = Object.keys(SKID) as (keyof typeof SKID)[];
const PROGS = ["prog_a", "prog_b", "prog_d"];

/** What a signature means to the kernel, for comparing a mutated message with the original. */
function meaning(m: Pkcs7Message) {
  return m.signerInfos.map((s) => ({
    id: toHex(s.sig.authIds[0] ?? new Uint8Array(0)),
    hash: s.sig.hashAlgo,
    pkey: s.sig.pkeyAlgo,
    enc: s.sig.encoding,
    // The X9.62 SEQUENCE is decoded by the same ASN.1 rules: its constructed bit is not checked.
    s: toHex(s.sig.s).replace(/^10/, s.sig.encoding === "x962" ? "30" : "10"),
    attrs: s.authattrs ? toHex(s.authattrs) : null,
    type: m.dataType,
    certs: m.certs.length,
  }));
}

describe("verify: the published vectors", () => {
  for (const prog of PROGS) {
    for (const k of KEYS) {
      it(`${prog} sig.${k}.der verifies with its certificate only`, () => {
        const content = vectorContent(prog);
        const sig = vectorSig(prog, k);
        const key = vectorKey(k).cert;
        const r = verifyPkcs7Signature(content, sig, keySearchOf([key]));
        assert.ok(r.ok, r.ok ? "" : `${r.errno}: ${r.reason}`);
        assert.equal(toHex(r.value.signerId), SKID[k]);
        assert.equal(toHex(r.value.signer.subjectKeyId!), SKID[k]);
        assert.equal(r.value.signer, key);
        assert.equal(r.value.digestAlgo, "sha256");
        assert.equal(r.value.pkeyAlgo, k === "ecp256" ? "ecdsa" : "rsa");
        for (const other of KEYS.filter((o) => o !== k)) {
          const o = verifyPkcs7Signature(content, sig, keySearchOf([vectorKey(other).cert]));
          assert.ok(!o.ok && o.errno === "ENOKEY", `${other} must not match`);
        }
        // Over the instructions alone it must fail.
        const short = verifyPkcs7Signature([content[0]], sig, keySearchOf([key]));
        assert.ok(!short.ok && short.errno === "EKEYREJECTED");
      });
    }
  }

  it("the content may be split into chunks anywhere", () => {
    const whole = cat(vectorContent("prog_b"));
    const sig = vectorSig("prog_b", "ecp256");
    const keys = keySearchOf([vectorKey("ecp256").cert]);
    fc.assert(
      fc.property(fc.array(fc.nat(whole.length), { maxLength: 6 }), (cuts) => {
        const pts = [0, ...cuts.sort((a, b) => a - b), whole.length];
        const chunks = pts.slice(1).map((e, i) => whole.subarray(pts[i], e));
        assert.ok(verifyPkcs7Signature(chunks, sig, keys).ok);
      }),
      { numRuns: 30 },
    );
  });

  for (const prog of PROGS) {
    for (const k of KEYS) {
      it(`${prog} ${k}: no single flipped bit verifies (content) or changes what verifies (signature)`, () => {
        const content = cat(vectorContent(prog));
        const sig = vectorSig(prog, k);
        const keys = keySearchOf([vectorKey(k).cert]);
        const orig = parsePkcs7(sig);
        assert.ok(orig.ok);
        fc.assert(
          fc.property(fc.nat(content.length * 8 - 1), (bit) => {
            const c = content.slice();
            c[bit >> 3] ^= 1 << (bit & 7);
            const r = verifyPkcs7Signature([c], sig, keys);
            assert.ok(!r.ok && r.errno === "EKEYREJECTED");
          }),
          { numRuns: 100 },
        );
        fc.assert(
          fc.property(fc.nat(sig.length * 8 - 1), (bit) => {
            const s = sig.slice();
            s[bit >> 3] ^= 1 << (bit & 7);
            const r = verifyPkcs7Signature([content], s, keys);
            if (r.ok) {
              // Only bytes the kernel does not interpret may change (see the exhaustive test).
              const p = parsePkcs7(s);
              assert.ok(p.ok);
              assert.deepEqual(meaning(p.value), meaning(orig.value));
            }
          }),
          { numRuns: 100 },
        );
      });
    }
  }

  it("exhaustively: the only signature bits that may flip are ones the kernel ignores", () => {
    for (const k of ["rsa2048", "ecp256"] as const) {
      const content = vectorContent("prog_a");
      const sig = vectorSig("prog_a", k);
      const keys = keySearchOf([vectorKey(k).cert]);
      const orig = parsePkcs7(sig);
      assert.ok(orig.ok);
      const accepted: number[] = [];
      for (let bit = 0; bit < sig.length * 8; bit++) {
        const s = sig.slice();
        s[bit >> 3] ^= 1 << (bit & 7);
        const r = verifyPkcs7Signature(content, s, keys);
        if (!r.ok) continue;
        accepted.push(bit);
        const p = parsePkcs7(s);
        assert.ok(p.ok);
        assert.deepEqual(meaning(p.value), meaning(orig.value));
      }
      // No flip in the signature value (or its header) verifies. Accepted flips are in tags
      // (constructed bit, SET/SEQUENCE OF), the unchecked digestAlgorithms OID, the ignored
      // algorithm parameters, and an ecdsa-with-SHA* OID turned into another one.
      const sigValueStart = sig.length - orig.value.signerInfos[0].sig.s.length;
      const ecdsaSeqConsBit = sigValueStart * 8 + 5;
      const allowed = (b: number) =>
        b >> 3 < sigValueStart - 2 || (k === "ecp256" && b === ecdsaSeqConsBit);
      assert.ok(accepted.every(allowed), `${k}: ${accepted}`);
      // Constructed-bit flips (BER form), SET/SEQUENCE OF, the unchecked digestAlgorithms OID.
      assert.ok(accepted.includes(5), "outer SEQUENCE tag 0x30 → 0x10 is accepted");
    }
  });
});

describe("verify: signatures made by openssl cms", () => {
  const kinds: KeyKind[] = ["rsa2048", "rsa3072", "ec-p256", "ec-p384"];
  const content = cat(vectorContent("prog_d"));
  for (const kind of kinds) {
    it(`${kind}: sha256/384/512, with and without attributes, SKID and issuer+serial`, () => {
      const key = makeTestKey(kind);
      const cert = parseX509(key.certDer);
      assert.ok(cert.ok);
      const keys = keySearchOf([cert.value]);
      for (const md of ["sha256", "sha384", "sha512"]) {
        for (const attrs of [false, true]) {
          for (const keyid of [true, false]) {
            const sig = cmsSign(content, key, { md, attrs, keyid });
            const r = verifyPkcs7Signature([content], sig, keys);
            const what = `${md} attrs=${attrs} keyid=${keyid}`;
            assert.ok(r.ok, r.ok ? what : `${what}: ${r.errno} ${r.reason}`);
            assert.equal(r.value.digestAlgo, md);
            const p = parsePkcs7(sig);
            assert.ok(p.ok);
            assert.equal(p.value.version, keyid ? 3 : 1);
            assert.equal(p.value.signerInfos[0].sidKind, keyid ? "skid" : "issuerAndSerial");
            assert.equal(p.value.haveAuthattrs, attrs);
            if (attrs) assert.ok(p.value.signerInfos[0].hasSigningTime);
            const bad = verifyPkcs7Signature([content.subarray(1)], sig, keys);
            assert.ok(!bad.ok && bad.errno === "EKEYREJECTED", what);
          }
        }
      }
    });
  }

  it("with the signer's certificate in the message (v1 → message signer, v3 → keyring)", () => {
    for (const kind of ["rsa2048", "ec-p256"] as const) {
      const key = makeTestKey(kind);
      const cert = parseX509(key.certDer);
      assert.ok(cert.ok);
      for (const keyid of [false, true]) {
        const sig = cmsSign(content, key, { certs: true, keyid, attrs: true });
        const p = parsePkcs7(sig);
        assert.ok(p.ok && p.value.certs.length === 1);
        const r = verifyPkcs7Signature([content], sig, keySearchOf([cert.value]));
        assert.ok(r.ok, r.ok ? "" : r.reason);
        const none = verifyPkcs7Signature([content], sig, () => null);
        assert.ok(!none.ok && none.errno === "ENOKEY");
      }
    }
  });

  it("a certificate without SKID: v3 (-keyid) cannot match, v1 does", () => {
    const key = makeTestKey("rsa2048", { skid: false });
    const cert = parseX509(key.certDer);
    assert.ok(cert.ok);
    const v1 = cmsSign(content, key, { keyid: false });
    assert.ok(verifyPkcs7Signature([content], v1, keySearchOf([cert.value])).ok);
    assert.ok(opensslCmsVerify(content, v1, key.certPemPath));
  });
});

describe("verify: message certificates, chains and signingTime", () => {
  const rsa = vectorKey("rsa2048");
  const ec = vectorKey("ecp256");
  const content = cat(vectorContent("prog_a"));

  it("signingTime outside the embedded signer's validity → EKEYREJECTED", () => {
    const [ct, md] = stdAttrs(content);
    const at = (t: Uint8Array) =>
      craftCms(content, rsa, {
        sid: "issuer",
        certs: [rsa.cert.der],
        attrs: [ct, md, attr(OID.signingTime, t)],
      });
    const keys = keySearchOf([rsa.cert]);
    const early = verifyPkcs7Signature([content], at(der.utcTime("900101000000Z")), keys);
    assert.ok(!early.ok && early.errno === "EKEYREJECTED");
    assert.match(early.reason, /validity/);
    assert.ok(verifyPkcs7Signature([content], at(der.utcTime("270101000000Z")), keys).ok);
    // Without the certificate in the message the time is not compared.
    const noCert = craftCms(content, rsa, {
      sid: "issuer",
      attrs: [ct, md, attr(OID.signingTime, der.utcTime("900101000000Z"))],
    });
    assert.ok(verifyPkcs7Signature([content], noCert, keys).ok);
  });

  it("a wrong signature by an embedded signer returns the crypto errno directly", () => {
    const bad = new Uint8Array(256).fill(1);
    const withCert = craftCms(content, rsa, {
      sid: "issuer",
      certs: [rsa.cert.der],
      signature: bad,
    });
    const r = verifyPkcs7Signature([content], withCert, keySearchOf([rsa.cert]));
    assert.ok(!r.ok && ["EINVAL", "EBADMSG"].includes(r.errno), r.ok ? "" : r.errno);
    const noCert = craftCms(content, rsa, { sid: "issuer", signature: bad });
    const n = verifyPkcs7Signature([content], noCert, keySearchOf([rsa.cert]));
    assert.ok(!n.ok && n.errno === "EKEYREJECTED");
  });

  /** A leaf certificate for the EC key, issued by the RSA vector key, with the given AKID. */
  const leafWith = (akid: Uint8Array | null) => {
    const spki = new Uint8Array(ec.cert.publicKey.export({ format: "der", type: "spki" }));
    const derBytes = craftCert(rsa, {
      subject: name("leaf"),
      issuer: tlv(Tag.SEQUENCE, rsa.cert.rawIssuer),
      spki,
      serial: 77,
      extensions: akid ? [ext(OID.authorityKeyIdentifier, akid)] : [],
    });
    const leaf = parseX509(derBytes);
    assert.ok(leaf.ok && !leaf.value.selfSigned);
    const signer: VectorKey = { ...ec, cert: leaf.value };
    return { derBytes, signer, leaf: leaf.value };
  };

  it("AKID keyid path: the root's key in the keyring verifies the leaf", () => {
    const { derBytes, signer } = leafWith(
      der.sequence(der.implicitPrim(0, rsa.cert.subjectKeyId!)),
    );
    const msg = craftCms(content, signer, { sid: "issuer", certs: [derBytes] });
    assert.ok(verifyPkcs7Signature([content], msg, keySearchOf([rsa.cert])).ok);
    // Root and leaf both in the message: the chain is built inside the message.
    const both = craftCms(content, signer, { sid: "issuer", certs: [derBytes, rsa.cert.der] });
    assert.ok(verifyPkcs7Signature([content], both, keySearchOf([rsa.cert])).ok);
    const r = verifyPkcs7Signature([content], msg, keySearchOf([ec.cert]));
    assert.ok(!r.ok && r.errno === "ENOKEY");
  });

  it("AKID issuer+serial found but keyid different → EKEYREJECTED", () => {
    const akid = der.sequence(
      der.implicitPrim(0, new Uint8Array(20).fill(9)),
      tlv(0xa1, der.explicit(4, tlv(Tag.SEQUENCE, rsa.cert.rawIssuer))),
      der.implicitPrim(2, rsa.cert.serial),
    );
    const { derBytes, signer } = leafWith(akid);
    const msg = craftCms(content, signer, { sid: "issuer", certs: [derBytes] });
    const r = verifyPkcs7Signature([content], msg, keySearchOf([rsa.cert]));
    assert.ok(!r.ok && r.errno === "EKEYREJECTED", r.ok ? "" : r.errno);
  });

  it("a chain of real openssl certificates (CA → leaf)", () => {
    const dir = makeTempDir("bpfsign-chain-");
    const ca = makeTestKey("ec-p256", { cn: "Test CA" }, "ca");
    const leafKey = makeTestKey("ec-p256", {}, "leaf");
    const cfg = join(dir, "ext.cnf");
    writeFileSync(
      cfg,
      "basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    openssl([
      "req",
      "-new",
      "-key",
      leafKey.keyPath,
      "-subj",
      "/CN=leaf",
      "-out",
      join(dir, "leaf.csr"),
    ]);
    openssl([
      "x509",
      "-req",
      "-in",
      join(dir, "leaf.csr"),
      "-CA",
      ca.certPemPath,
      "-CAkey",
      ca.keyPath,
      "-set_serial",
      "5",
      "-days",
      "30",
      "-extfile",
      cfg,
      "-out",
      join(dir, "leaf.pem"),
    ]);
    const leafPem = join(dir, "leaf.pem");
    const leafDer = openssl(["x509", "-in", leafPem, "-outform", "DER"]);
    const leaf = parseX509(new Uint8Array(leafDer));
    assert.ok(leaf.ok && !leaf.value.selfSigned);
    const caCert = parseX509(ca.certDer);
    assert.ok(caCert.ok);
    const signer = { ...leafKey, certPemPath: leafPem };
    const sig = cmsSign(content, signer, { keyid: false, certs: true });
    assert.ok(verifyPkcs7Signature([content], sig, keySearchOf([caCert.value])).ok);
    const trusted: AsymmetricKey[] = [leaf.value];
    assert.ok(verifyPkcs7Signature([content], sig, keySearchOf(trusted)).ok);
    const r = verifyPkcs7Signature([content], sig, keySearchOf([vectorKey("ecp256").cert]));
    assert.ok(!r.ok && r.errno === "ENOKEY");
    // The private key is only needed by openssl.
    assert.ok(createPrivateKey(leafKey.keyPem));
  });
});

describe("verify: robustness", () => {
  const content = vectorContent("prog_a");
  const keys = keySearchOf(KEYS.map((k) => vectorKey(k).cert));
  it("arbitrary bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
        const r = verifyPkcs7Signature(content, b, keys);
        assert.equal(r.ok, false);
      }),
      { numRuns: 500 },
    );
  });

  it("mutated valid DER (bytes changed, cut, inserted) never throws", () => {
    const sigs = [
      vectorSig("prog_a", "rsa2048"),
      vectorSig("prog_a", "ecp256"),
      craftCms(cat(content), vectorKey("rsa2048"), {
        attrs: stdAttrs(cat(content)),
        certs: [vectorKey("rsa2048").cert.der],
      }),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...sigs),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.integer({ min: 0, max: 255 }),
            fc.constantFrom("set", "cut", "insert"),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (sig, edits) => {
          let s = Buffer.from(sig);
          for (const [pos, v, op] of edits) {
            const i = pos % (s.length + 1);
            if (op === "set" && i < s.length) s[i] = v;
            else if (op === "cut") s = Buffer.concat([s.subarray(0, i), s.subarray(i + 1)]);
            else s = Buffer.concat([s.subarray(0, i), Buffer.of(v), s.subarray(i)]);
          }
          const r = verifyPkcs7Signature(content, s, keys);
          assert.equal(typeof r.ok, "boolean");
          parsePkcs7(s);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("signer infos built from scratch with random fields never throw", () => {
    const rsa = vectorKey("rsa2048");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 300 }), (sid, s) => {
        const si = signerInfo(cat(content), rsa, { sid: der.implicitPrim(0, sid), signature: s });
        const r = verifyPkcs7Signature(
          content,
          craftCms(cat(content), rsa, { signerInfos: [si] }),
          keys,
        );
        assert.equal(r.ok, false);
      }),
      { numRuns: 200 },
    );
  });
});
