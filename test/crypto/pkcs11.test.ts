import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { verifyOffline } from "../../src/crypto/offline.js";
import {
  ckrName,
  loadPkcs11Module,
  Pkcs11Error,
  parsePkcs11Uri,
  pkcs11Signer,
  readPkcs11Certificate,
  redactPkcs11Uri,
} from "../../src/crypto/pkcs11.js";
import { signLoader } from "../../src/crypto/sign.js";
import { SignatureCheckError } from "../../src/crypto/signer.js";
import { derToPem } from "../../src/crypto/x509.js";
import { vectorKeyFiles, vectorLoader } from "../support/cms.js";
import { makeTempDir, opensslCmsVerify } from "../support/openssl.js";
import { SoftHsm, skipSofthsm, USER_PIN } from "../support/softhsm.js";
import { skipVectors } from "../support/vectors.js";

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? `no code: ${String(e)}`;
  }
  return "no error";
};

describe("pkcs11: URIs (RFC 7512)", () => {
  test("path and query attributes, percent-decoding, id as bytes", () => {
    const u = parsePkcs11Uri(
      "pkcs11:token=My%20Token;manufacturer=SoftHSM%20project;serial=abc;object=bpf%3Bkey;id=%01%a2;type=private?pin-source=file:/run/pin&module-path=/usr/lib/x.so",
    );
    assert.equal(u.token, "My Token");
    assert.equal(u.manufacturer, "SoftHSM project");
    assert.equal(u.serial, "abc");
    assert.equal(u.object, "bpf;key");
    assert.deepEqual(u.id, Uint8Array.of(0x01, 0xa2));
    assert.equal(u.type, "private");
    assert.equal(u.pinSource, "file:/run/pin");
    assert.equal(u.modulePath, "/usr/lib/x.so");
    assert.equal(u.pinValue, undefined);
    assert.equal(parsePkcs11Uri("pkcs11:slot-id=7").slotId, 7);
    assert.deepEqual(parsePkcs11Uri("PKCS11:"), {});
  });
  test("pin-value is taken from the query or the path, and never shown", () => {
    assert.equal(parsePkcs11Uri("pkcs11:token=t?pin-value=12%2034").pinValue, "12 34");
    assert.equal(parsePkcs11Uri("pkcs11:token=t;pin-value=1234").pinValue, "1234");
    assert.equal(
      redactPkcs11Uri("pkcs11:token=t;pin-value=1234;object=k?pin-value=99&x=1"),
      "pkcs11:token=t;pin-value=***;object=k?pin-value=***&x=1",
    );
  });
  test("malformed URIs: PKCS11_BAD_URI, with the PIN left out of the message", () => {
    for (const bad of [
      "file:/key.pem",
      "pkcs11:token",
      "pkcs11:token=a;token=b",
      "pkcs11:type=secret",
      "pkcs11:slot-id=x",
      "pkcs11:object=%zz",
      "pkcs11:frobnicate=1",
      "pkcs11:object=%ff%fe",
    ]) {
      assert.equal(
        codeOf(() => parsePkcs11Uri(bad)),
        "PKCS11_BAD_URI",
        bad,
      );
    }
    try {
      parsePkcs11Uri("pkcs11:pin-value=s3cr3t;frobnicate=1");
      assert.fail("no error");
    } catch (e) {
      assert.ok(e instanceof Pkcs11Error);
      assert.doesNotMatch(e.message, /s3cr3t/);
      assert.match(e.message, /unknown path attribute "frobnicate"/);
    }
    // library-*, slot-* and vendor attributes are accepted and not used for matching
    assert.deepEqual(parsePkcs11Uri("pkcs11:library-manufacturer=x;x-vendor=y"), {});
  });
  test("CK_RV names", () => {
    assert.equal(ckrName(0xa0), "CKR_PIN_INCORRECT");
    assert.equal(ckrName(0x80000001), "CKR_0x80000001");
  });
});

/** Counts of the session calls, to check that every path closes what it opened. */
function spyOnSessions(module: string) {
  const fns = loadPkcs11Module(module) as unknown as Record<string, (...a: unknown[]) => number>;
  const counts: Record<string, number> = {};
  const names = [
    "C_Initialize",
    "C_Finalize",
    "C_OpenSession",
    "C_CloseSession",
    "C_Login",
    "C_Logout",
  ];
  const originals = new Map<string, (...a: unknown[]) => number>();
  for (const n of names) {
    const orig = fns[n];
    originals.set(n, orig);
    counts[n] = 0;
    fns[n] = (...a: unknown[]) => {
      const rv = orig(...a);
      // A C_Login that fails leaves nothing to log out of, and a context-specific one (for an
      // always-authenticate key) is undone by the session's own logout: count successful user
      // logins only.
      if (n !== "C_Login") counts[n]++;
      else if (rv === 0 && a[1] === 1) counts[n]++;
      else if (rv === 0 && a[1] === 2) counts.contextLogins = (counts.contextLogins ?? 0) + 1;
      return rv;
    };
  }
  return {
    counts,
    balanced(): void {
      assert.equal(counts.C_Initialize, counts.C_Finalize, "C_Initialize vs C_Finalize");
      assert.equal(counts.C_OpenSession, counts.C_CloseSession, "C_OpenSession vs C_CloseSession");
      assert.equal(counts.C_Login, counts.C_Logout, "C_Login vs C_Logout");
    },
    restore(): void {
      for (const [n, f] of originals) fns[n] = f;
    },
  };
}

describe("pkcs11: signing on a SoftHSM2 token", { skip: skipSofthsm || skipVectors }, () => {
  let hsm: SoftHsm;
  let dir: string;
  const env = { BPFSIGN_PKCS11_PIN: USER_PIN };
  const uri = (object: string, extra = "") => `pkcs11:token=bpf;object=${object}${extra}`;
  const certs: Record<string, { der: Uint8Array; pemPath: string }> = {};

  before(() => {
    hsm = new SoftHsm();
    dir = makeTempDir();
    hsm.initToken("bpf");
    hsm.generateKey("bpf", "rsa:2048", "rsa2048", "01");
    hsm.generateKey("bpf", "rsa:3072", "rsa3072", "02");
    hsm.generateKey("bpf", "EC:prime256v1", "ecp256", "03");
    hsm.generateKey("bpf", "EC:secp384r1", "ecp384", "04");
    hsm.importKey("bpf", vectorKeyFiles("rsa2048").keyPath, "vector-rsa2048", "10");
    hsm.importKey("bpf", vectorKeyFiles("ecp256").keyPath, "twin", "20");
    hsm.importKey("bpf", vectorKeyFiles("rsa3072").keyPath, "twin", "21");
    for (const k of ["rsa2048", "rsa3072", "ecp256", "ecp384"]) {
      const der = hsm.certify(uri(k), `bpfsign token ${k}`);
      const pemPath = join(dir, `${k}.pem`);
      writeFileSync(pemPath, derToPem(der));
      certs[k] = { der, pemPath };
    }
    hsm.writeCertificate("bpf", certs.ecp256.der, "ecp256", "03");
  });
  after(() => {
    delete process.env.SOFTHSM2_CONF;
  });

  for (const k of ["rsa2048", "rsa3072", "ecp256", "ecp384"] as const) {
    test(`${k} generated on the token signs a loader that the offline verifier and openssl cms accept`, () => {
      const v = vectorLoader("prog_b", "rsa2048");
      const signer = pkcs11Signer({ uri: uri(k), module: hsm.module, env });
      const ec = k.startsWith("ec");
      assert.equal(signer.algorithm, ec ? "ecdsa-sha256" : "rsa-pkcs1-sha256");
      assert.equal(signer.mechanism, ec ? "CKM_ECDSA" : "CKM_RSA_PKCS");
      assert.ok(signer.publicKey, "the token's public key is read");
      const signed = signLoader({
        insns: v.insns,
        metadata: v.metadata,
        signer,
        cert: certs[k].der,
      });
      assert.deepEqual(signed.exclHash, v.exclHash);
      const report = verifyOffline({
        insns: v.insns,
        metadata: v.metadata,
        signature: signed.signature,
        exclHash: v.exclHash,
        trusted: [certs[k].der],
      });
      assert.equal(report.result, "VERIFIED", report.reason);
      const content = new Uint8Array(Buffer.concat([v.insns, v.metadata]));
      assert.ok(opensslCmsVerify(content, signed.signature, certs[k].pemPath));
    });
  }

  test("the module stays loaded across garbage collections (koffi unloads unreferenced libraries)", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const v = vectorLoader("prog_a", "ecp256");
    const signer = pkcs11Signer({ uri: uri("ecp256"), module: hsm.module, env });
    for (let i = 0; i < 3; i++) {
      gc();
      const signed = signLoader({
        insns: v.insns,
        metadata: v.metadata,
        signer,
        cert: certs.ecp256.der,
      });
      assert.ok(signed.signature.length > 64);
    }
  });

  test("RSA on the token is byte-identical to the same key from a file (and to the vector)", () => {
    const v = vectorLoader("prog_d", "rsa2048");
    const f = vectorKeyFiles("rsa2048");
    const fromToken = signLoader({
      insns: v.insns,
      metadata: v.metadata,
      signer: pkcs11Signer({ uri: uri("vector-rsa2048"), module: hsm.module, env }),
      cert: f.certDer,
    });
    assert.equal(
      pkcs11Signer({ uri: uri("vector-rsa2048"), module: hsm.module, env }).mechanism,
      "CKM_RSA_PKCS",
    );
    const fromFile = signLoader({
      insns: v.insns,
      metadata: v.metadata,
      key: f.keyPem,
      cert: f.certDer,
    });
    assert.deepEqual(fromToken.signature, fromFile.signature);
    assert.deepEqual(fromToken.signature, v.signature);
  });

  test("a token that only hashes and signs (CKM_SHA256_RSA_PKCS) gives the same bytes", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const f = vectorKeyFiles("rsa2048");
    process.env.SOFTHSM2_CONF = hsm.writeConf("hash-and-sign.conf", [
      "slots.mechanisms = CKM_SHA256_RSA_PKCS",
    ]);
    try {
      const signer = pkcs11Signer({ uri: uri("vector-rsa2048"), module: hsm.module, env });
      assert.equal(signer.mechanism, "CKM_SHA256_RSA_PKCS");
      const signed = signLoader({ insns: v.insns, metadata: v.metadata, signer, cert: f.certDer });
      assert.deepEqual(signed.signature, v.signature);
    } finally {
      process.env.SOFTHSM2_CONF = hsm.conf;
    }
  });

  test("a token with no RSA signing mechanism: PKCS11_MECHANISM_UNSUPPORTED", () => {
    process.env.SOFTHSM2_CONF = hsm.writeConf("no-rsa.conf", [
      "slots.mechanisms = CKM_ECDSA,CKM_AES_CBC",
    ]);
    try {
      assert.equal(
        codeOf(() => pkcs11Signer({ uri: uri("rsa2048"), module: hsm.module, env })),
        "PKCS11_MECHANISM_UNSUPPORTED",
      );
      // the EC key on the same token still signs
      const v = vectorLoader("prog_a", "ecp256");
      const signed = signLoader({
        insns: v.insns,
        metadata: v.metadata,
        signer: pkcs11Signer({ uri: uri("ecp256"), module: hsm.module, env }),
        cert: certs.ecp256.der,
      });
      assert.ok(signed.signature.length > 0);
    } finally {
      process.env.SOFTHSM2_CONF = hsm.conf;
    }
  });

  test("the certificate is read from the token (type=cert), also by id", () => {
    const byLabel = readPkcs11Certificate({
      uri: uri("ecp256", ";type=cert"),
      module: hsm.module,
      env: {},
    });
    assert.deepEqual(byLabel, certs.ecp256.der);
    const byId = readPkcs11Certificate({
      uri: "pkcs11:token=bpf;id=%03;type=cert",
      module: hsm.module,
      env,
    });
    assert.deepEqual(byId, certs.ecp256.der);
  });

  test("a certificate of another key: refused before signing (CRYPTO_KEY_MISMATCH)", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    for (const [k, other] of [
      ["rsa2048", "rsa3072"],
      ["ecp256", "rsa2048"],
    ]) {
      assert.equal(
        codeOf(() =>
          signLoader({
            insns: v.insns,
            metadata: v.metadata,
            signer: pkcs11Signer({ uri: uri(k), module: hsm.module, env }),
            cert: certs[other].der,
          }),
        ),
        "CRYPTO_KEY_MISMATCH",
      );
    }
  });

  test("a signer whose public key is unknown is caught by the check after signing", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const real = pkcs11Signer({ uri: uri("rsa2048"), module: hsm.module, env });
    const blind = { ...real, publicKey: null, sign: real.sign };
    assert.throws(
      () =>
        signLoader({
          insns: v.insns,
          metadata: v.metadata,
          signer: blind,
          cert: vectorKeyFiles("rsa2048").certDer,
        }),
      (e) => e instanceof SignatureCheckError && e.code === "SIGNER_SIGNATURE_INVALID",
    );
  });

  test("errors: module, token, PIN, objects — each its own code, and every session closed", () => {
    const spy = spyOnSessions(hsm.module);
    try {
      const sign = (u: string, o: { module?: string; env?: Record<string, string> } = {}) =>
        codeOf(() => pkcs11Signer({ uri: u, module: o.module ?? hsm.module, env: o.env ?? env }));
      assert.equal(
        sign(uri("rsa2048"), { module: "/nonexistent/libp11.so" }),
        "PKCS11_MODULE_NOT_FOUND",
      );
      const notAModule = join(dir, "not-a-module.so");
      writeFileSync(notAModule, "this is text\n");
      assert.equal(sign(uri("rsa2048"), { module: notAModule }), "PKCS11_NOT_A_MODULE");
      assert.equal(sign(uri("rsa2048"), { module: "libc.so.6" }), "PKCS11_NOT_A_MODULE");
      assert.equal(
        codeOf(() => pkcs11Signer({ uri: uri("rsa2048"), env })),
        "PKCS11_NO_MODULE",
      );
      assert.equal(sign("pkcs11:token=absent;object=rsa2048"), "PKCS11_TOKEN_NOT_FOUND");
      assert.equal(sign(uri("rsa2048"), { env: {} }), "PKCS11_PIN_REQUIRED");
      assert.equal(
        sign(uri("rsa2048"), { env: { BPFSIGN_PKCS11_PIN: "0000" } }),
        "PKCS11_PIN_INCORRECT",
      );
      assert.equal(sign(uri("rsa2048", "?pin-value=0000")), "PKCS11_PIN_INCORRECT");
      assert.equal(sign(uri("nothing")), "PKCS11_OBJECT_NOT_FOUND");
      assert.equal(sign("pkcs11:token=bpf"), "PKCS11_OBJECT_AMBIGUOUS");
      assert.equal(sign(uri("twin")), "PKCS11_OBJECT_AMBIGUOUS");
      assert.equal(sign(uri("rsa2048", ";type=cert")), "PKCS11_BAD_URI");
      assert.equal(
        sign(uri("rsa2048", `?pin-source=${join(dir, "no-pin-file")}`)),
        "PKCS11_PIN_SOURCE_UNREADABLE",
      );
      assert.equal(
        codeOf(() =>
          readPkcs11Certificate({ uri: uri("rsa2048", ";type=cert"), module: hsm.module, env }),
        ),
        "PKCS11_OBJECT_NOT_FOUND",
      );
      spy.balanced();
      assert.ok(
        spy.counts.C_OpenSession >= 5 && spy.counts.C_Login >= 3,
        JSON.stringify(spy.counts),
      );
    } finally {
      spy.restore();
    }
  });

  test("the PIN comes from pin-source (a file) or pin-value, and appears in no message", () => {
    const pinFile = join(dir, "pin");
    writeFileSync(pinFile, `${USER_PIN}\n`);
    const s = pkcs11Signer({
      uri: uri("ecp256", `?pin-source=file:${pinFile}`),
      module: hsm.module,
      env: {},
    });
    assert.equal(s.algorithm, "ecdsa-sha256");
    const t = pkcs11Signer({
      uri: uri("ecp256", `?pin-value=${USER_PIN}`),
      module: hsm.module,
      env: {},
    });
    assert.doesNotMatch(t.name, new RegExp(USER_PIN));
    try {
      pkcs11Signer({ uri: uri("missing", `?pin-value=${USER_PIN}`), module: hsm.module, env: {} });
      assert.fail("no error");
    } catch (e) {
      assert.equal((e as Pkcs11Error).code, "PKCS11_OBJECT_NOT_FOUND");
      assert.doesNotMatch((e as Error).message, new RegExp(USER_PIN));
      assert.match((e as Error).message, /pin-value=\*\*\*/);
    }
  });

  test("a key that needs the PIN for every use (CKA_ALWAYS_AUTHENTICATE) logs in again after C_SignInit", () => {
    hsm.generateKey("bpf", "EC:prime256v1", "always", "30", ["--always-auth"]);
    const v = vectorLoader("prog_a", "ecp256");
    const signer = pkcs11Signer({ uri: uri("always"), module: hsm.module, env });
    const cert = hsm.certify(uri("always"), "always-authenticate");
    const spy = spyOnSessions(hsm.module);
    try {
      const signed = signLoader({ insns: v.insns, metadata: v.metadata, signer, cert });
      const r = verifyOffline({
        insns: v.insns,
        metadata: v.metadata,
        signature: signed.signature,
        exclHash: null,
        trusted: [cert],
      });
      assert.equal(r.result, "VERIFIED", r.reason);
      assert.equal(spy.counts.contextLogins, 1);
      spy.balanced();
    } finally {
      spy.restore();
    }
  });

  test("two tokens and a URI that names neither: PKCS11_TOKEN_AMBIGUOUS", () => {
    hsm.initToken("second");
    hsm.generateKey("second", "rsa:2048", "rsa2048", "01");
    assert.equal(
      codeOf(() => pkcs11Signer({ uri: "pkcs11:object=rsa2048", module: hsm.module, env })),
      "PKCS11_TOKEN_AMBIGUOUS",
    );
    const s = pkcs11Signer({ uri: "pkcs11:token=second;object=rsa2048", module: hsm.module, env });
    assert.equal(s.algorithm, "rsa-pkcs1-sha256");
  });

  test("a token that reports its user PIN locked: PKCS11_PIN_LOCKED, nothing left open", () => {
    hsm.initToken("locked");
    hsm.markPinLocked("locked");
    const spy = spyOnSessions(hsm.module);
    try {
      assert.equal(
        codeOf(() =>
          pkcs11Signer({ uri: "pkcs11:token=locked;object=k", module: hsm.module, env }),
        ),
        "PKCS11_PIN_LOCKED",
      );
      spy.balanced();
    } finally {
      spy.restore();
    }
  });
});
