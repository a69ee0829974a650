import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { externalSigner } from "../../src/crypto/external_signer.js";
import { verifyOffline } from "../../src/crypto/offline.js";
import { signLoader } from "../../src/crypto/sign.js";
import { ecdsaRawToDer, isDerEcdsaSignature } from "../../src/crypto/signer.js";
import { loadCertificate } from "../../src/crypto/x509.js";
import { vectorKeyFiles, vectorLoader } from "../support/cms.js";
import { makeTempDir, opensslCmsVerify } from "../support/openssl.js";
import { skipVectors } from "../support/vectors.js";

const certOf = (der: Uint8Array) => {
  const c = loadCertificate(der);
  if (!c.ok) throw new Error(c.reason);
  return c.value;
};

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe("signer helpers", () => {
  test("ECDSA r||s to DER: minimal positive INTEGERs", () => {
    const raw = new Uint8Array(64);
    raw[0] = 0x80; // r needs a leading zero
    raw[63] = 0x05; // s is 5 after stripping 31 zero bytes
    const d = ecdsaRawToDer(raw);
    assert.equal(Buffer.from(d.subarray(0, 5)).toString("hex"), "3026022100");
    assert.equal(Buffer.from(d.subarray(-3)).toString("hex"), "020105");
    assert.ok(isDerEcdsaSignature(d));
    assert.ok(!isDerEcdsaSignature(raw));
    assert.ok(!isDerEcdsaSignature(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x80))); // negative, one INTEGER
    assert.throws(() => ecdsaRawToDer(new Uint8Array(63)), RangeError);
  });
});

describe("external signer (--signer-cmd)", { skip: skipVectors }, () => {
  const dir = makeTempDir();
  const rsa = vectorKeyFiles("rsa2048");
  const ec = vectorKeyFiles("ecp256");
  const rsaCert = certOf(rsa.certDer);
  const ecCert = certOf(ec.certDer);
  const pkeyutl = (keyPath: string) =>
    `openssl pkeyutl -sign -inkey ${sh(keyPath)} -pkeyopt digest:sha256`;

  test("openssl pkeyutl as the command: RSA is byte-identical to the file key (and the vector)", () => {
    const v = vectorLoader("prog_b", "rsa2048");
    const signer = externalSigner({ command: pkeyutl(rsa.keyPath), publicKey: rsaCert.publicKey });
    assert.equal(signer.algorithm, "rsa-pkcs1-sha256");
    const signed = signLoader({ insns: v.insns, metadata: v.metadata, signer, cert: rsa.certDer });
    assert.deepEqual(signed.signature, v.signature);
  });

  test("ECDSA from the command, DER or bare r||s, verifies offline and with openssl cms", () => {
    const v = vectorLoader("prog_d", "ecp256");
    const p1363 = join(dir, "p1363.mjs");
    // A signer that answers in IEEE P1363 form (r||s), as some KMS APIs do.
    writeFileSync(
      p1363,
      [
        'import { readFileSync } from "node:fs";',
        'import { createPrivateKey, createHash, sign } from "node:crypto";',
        "const key = createPrivateKey(readFileSync(process.argv[2]));",
        "const digest = readFileSync(0);",
        'if (digest.toString("hex") !== process.env.BPFSIGN_DIGEST) process.exit(3);',
        'if (process.env.BPFSIGN_SIGNATURE_ALGORITHM !== "ecdsa-sha256") process.exit(4);',
        'if (process.env.BPFSIGN_DIGEST_ALGORITHM !== "sha256") process.exit(5);',
        "// node signs data, not digests: re-sign the content the test passes in a file",
        "const content = readFileSync(process.argv[3]);",
        'if (createHash("sha256").update(content).digest("hex") !== process.env.BPFSIGN_DIGEST) process.exit(6);',
        'process.stdout.write(sign("sha256", content, { key, dsaEncoding: "ieee-p1363" }));',
      ].join("\n"),
    );
    const contentPath = join(dir, "content.bin");
    const content = new Uint8Array(Buffer.concat([v.insns, v.metadata]));
    writeFileSync(contentPath, content);
    for (const command of [
      pkeyutl(ec.keyPath),
      `node ${sh(p1363)} ${sh(ec.keyPath)} ${sh(contentPath)}`,
    ]) {
      const signer = externalSigner({ command, publicKey: ecCert.publicKey });
      assert.equal(signer.algorithm, "ecdsa-sha256");
      const signed = signLoader({ insns: v.insns, metadata: v.metadata, signer, cert: ec.certDer });
      const r = verifyOffline({
        insns: v.insns,
        metadata: v.metadata,
        signature: signed.signature,
        exclHash: v.exclHash,
        trusted: [ec.certDer],
      });
      assert.equal(r.result, "VERIFIED", `${command}: ${r.reason}`);
      assert.ok(opensslCmsVerify(content, signed.signature, ec.certPemPath), command);
    }
  });

  test("the command's environment and stdin follow the protocol", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const seen = join(dir, "seen.txt");
    const command = `{ echo "$BPFSIGN_DIGEST $BPFSIGN_DIGEST_ALGORITHM $BPFSIGN_SIGNATURE_ALGORITHM $EXTRA"; od -An -tx1 | tr -d ' \\n'; } > ${sh(seen)}; exit 1`;
    const signer = externalSigner({
      command,
      publicKey: rsaCert.publicKey,
      env: { PATH: process.env.PATH, EXTRA: "inherited" },
    });
    assert.throws(() =>
      signLoader({ insns: v.insns, metadata: v.metadata, signer, cert: rsa.certDer }),
    );
    const [line, stdin] = readFileSync(seen, "utf8").split("\n");
    const digest = verifyOffline({
      insns: v.insns,
      metadata: v.metadata,
      signature: null,
      exclHash: null,
      trusted: [],
    }).digest;
    assert.equal(line, `${digest} sha256 rsa-pkcs1-sha256 inherited`);
    assert.equal(stdin, digest);
  });

  test("failures: SIGNER_COMMAND_FAILED (exit status, stderr quoted; timeout; not found)", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const run = (command: string, timeoutMs?: number) => {
      try {
        signLoader({
          insns: v.insns,
          metadata: v.metadata,
          signer: externalSigner({ command, publicKey: rsaCert.publicKey, timeoutMs }),
          cert: rsa.certDer,
        });
      } catch (e) {
        return e as Error & { code: string };
      }
      assert.fail(`${command}: no error`);
    };
    const e1 = run("echo 'kms: AccessDenied' >&2; exit 2");
    assert.equal(e1.code, "SIGNER_COMMAND_FAILED");
    assert.match(e1.message, /exited with 2; its stderr ends:\nkms: AccessDenied/);
    const e2 = run("sleep 10", 300);
    assert.equal(e2.code, "SIGNER_COMMAND_FAILED");
    assert.match(e2.message, /timed out after 300 ms/);
    const e3 = run("/nonexistent/kms-sign");
    assert.equal(e3.code, "SIGNER_COMMAND_FAILED");
    assert.match(e3.message, /exited with 127/);
    assert.match(run("kill -9 $$").message, /killed by SIGKILL/);
  });

  test("garbage: SIGNER_BAD_OUTPUT for the wrong shape, SIGNER_SIGNATURE_INVALID for a wrong signature", () => {
    const v = vectorLoader("prog_a", "rsa2048");
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const otherPem = join(dir, "other.pem");
    writeFileSync(otherPem, other.privateKey.export({ type: "pkcs8", format: "pem" }));
    const ecOther = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const ecOtherPem = join(dir, "ec-other.pem");
    writeFileSync(ecOtherPem, ecOther.privateKey.export({ type: "pkcs8", format: "pem" }));
    const cases: [string, "rsa" | "ec", string][] = [
      ["true", "rsa", "SIGNER_BAD_OUTPUT"],
      ["head -c 255 /dev/urandom", "rsa", "SIGNER_BAD_OUTPUT"],
      [`${pkeyutl(rsa.keyPath)} | od -An -tx1`, "rsa", "SIGNER_BAD_OUTPUT"],
      [`${pkeyutl(rsa.keyPath)} | base64 -w0`, "rsa", "SIGNER_BAD_OUTPUT"],
      ["head -c 100 /dev/zero", "ec", "SIGNER_BAD_OUTPUT"],
      ["head -c 256 /dev/urandom", "rsa", "SIGNER_SIGNATURE_INVALID"],
      [pkeyutl(otherPem), "rsa", "SIGNER_SIGNATURE_INVALID"],
      [pkeyutl(ecOtherPem), "ec", "SIGNER_SIGNATURE_INVALID"],
      ["head -c 64 /dev/urandom", "ec", "SIGNER_SIGNATURE_INVALID"],
      // a DER signature over something else
      [
        `echo x | ${pkeyutl(ec.keyPath).replace(" -pkeyopt digest:sha256", "")}`,
        "ec",
        "SIGNER_SIGNATURE_INVALID",
      ],
    ];
    for (const [command, kind, code] of cases) {
      const f = kind === "rsa" ? rsa : ec;
      const c = kind === "rsa" ? rsaCert : ecCert;
      assert.throws(
        () =>
          signLoader({
            insns: v.insns,
            metadata: v.metadata,
            signer: externalSigner({ command, publicKey: c.publicKey }),
            cert: f.certDer,
          }),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, code, `${command}: ${e.message}`);
          return true;
        },
      );
    }
  });

  test("a certificate with a key the kernel cannot use is refused up front (SIGNER_CONFIG)", () => {
    const ed = generateKeyPairSync("ed25519");
    assert.throws(
      () => externalSigner({ command: "true", publicKey: createPublicKey(ed.privateKey) }),
      (e: Error & { code?: string }) => e.code === "SIGNER_CONFIG",
    );
    // node's own signature check of the helper: the raw form round-trips
    const p = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const raw = nodeSign("sha256", Buffer.from("x"), {
      key: p.privateKey,
      dsaEncoding: "ieee-p1363",
    });
    assert.ok(isDerEcdsaSignature(ecdsaRawToDer(new Uint8Array(raw))));
  });
});
