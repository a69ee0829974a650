import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { toHex } from "../../src/crypto/asn1.js";
import { KeyLoadError, type KeyLoadReason, loadPrivateKey } from "../../src/crypto/keys.js";
import { signCms, signerIdentity } from "../../src/crypto/sign.js";
import { makeTempDir, makeTestKey, openssl } from "../support/openssl.js";

const PASS = "correct horse battery";

/** The same key re-encoded by the openssl CLI in another PEM form. */
function reencode(keyPem: string, args: string[]): string {
  const dir = makeTempDir("bpfsign-keys-");
  const inPath = join(dir, "in.pem");
  const outPath = join(dir, "out.pem");
  writeFileSync(inPath, keyPem);
  openssl([...args, "-in", inPath, "-out", outPath]);
  return readFileSync(outPath, "utf8");
}

const rejects =
  (reason: KeyLoadReason, input = "key.pem") =>
  (e: unknown) =>
    e instanceof KeyLoadError &&
    e.reason === reason &&
    e.input === input &&
    !e.message.includes(PASS);

describe("private keys: the PEM forms bpftool reads", () => {
  const rsa = makeTestKey("rsa2048", {}, "keys");
  const ec = makeTestKey("ec-p256", {}, "keys");
  const ec384 = makeTestKey("ec-p384", {}, "keys");
  const content = [Uint8Array.of(0xbf, 0x01, 0x02)];
  // RSA PKCS#1 v1.5 is deterministic: every form of the key must give the same signature.
  const reference = toHex(signCms(content, signerIdentity(rsa.keyPem, rsa.certDer)));

  const rsaForms: [string, () => string, string | undefined][] = [
    ["PKCS#8", () => rsa.keyPem, undefined],
    ["PKCS#1 (RSA PRIVATE KEY)", () => reencode(rsa.keyPem, ["rsa", "-traditional"]), undefined],
    [
      "encrypted PKCS#8",
      () =>
        reencode(rsa.keyPem, ["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", `pass:${PASS}`]),
      PASS,
    ],
    [
      "legacy encrypted PKCS#1 (Proc-Type: 4,ENCRYPTED)",
      () => reencode(rsa.keyPem, ["rsa", "-traditional", "-aes256", "-passout", `pass:${PASS}`]),
      PASS,
    ],
  ];
  for (const [form, make, passphrase] of rsaForms) {
    it(`RSA as ${form}`, () => {
      const pem = make();
      const key = loadPrivateKey(pem, { passphrase, input: "key.pem" });
      assert.equal(key.type, "rsa");
      assert.equal(key.bits, 2048);
      assert.equal(key.curve, null);
      assert.equal(toHex(signCms(content, signerIdentity(key, rsa.certDer))), reference);
    });
  }

  it("EC as PKCS#8, SEC1 (EC PRIVATE KEY), SEC1 after EC PARAMETERS, legacy-encrypted SEC1, encrypted PKCS#8", () => {
    const sec1 = reencode(ec.keyPem, ["ec"]);
    assert.match(sec1, /BEGIN EC PRIVATE KEY/);
    const withParams = `${openssl(["ecparam", "-name", "prime256v1"]).toString()}${sec1}`;
    assert.match(withParams, /BEGIN EC PARAMETERS[\s\S]*BEGIN EC PRIVATE KEY/);
    const legacy = reencode(ec.keyPem, ["ec", "-aes128", "-passout", `pass:${PASS}`]);
    assert.match(legacy, /Proc-Type: 4,ENCRYPTED/);
    const p8 = reencode(ec.keyPem, ["pkcs8", "-topk8", "-passout", `pass:${PASS}`]);
    assert.match(p8, /BEGIN ENCRYPTED PRIVATE KEY/);
    for (const [pem, passphrase] of [
      [ec.keyPem, undefined],
      [sec1, undefined],
      [withParams, undefined],
      [legacy, PASS],
      [p8, PASS],
    ] as const) {
      const key = loadPrivateKey(pem, { passphrase });
      assert.equal(key.type, "ec");
      assert.equal(key.curve, "prime256v1");
      assert.equal(key.bits, 256);
      // It pairs with the certificate, i.e. it is the same key.
      assert.doesNotThrow(() => signerIdentity(key, ec.certDer));
    }
    const k384 = loadPrivateKey(ec384.keyPem);
    assert.equal(k384.curve, "secp384r1");
    assert.equal(k384.bits, 384);
  });

  it("skips a certificate in front of the key and takes the first key block", () => {
    const key = loadPrivateKey(`${rsa.certPem}\n${rsa.keyPem}\n${ec.keyPem}`);
    assert.equal(key.type, "rsa");
  });
});

describe("private keys: bad input is a typed error naming the input and the reason", () => {
  const rsa = makeTestKey("rsa2048", {}, "keys");
  const encrypted = reencode(rsa.keyPem, ["pkcs8", "-topk8", "-passout", `pass:${PASS}`]);
  const legacy = reencode(rsa.keyPem, [
    "rsa",
    "-traditional",
    "-aes256",
    "-passout",
    `pass:${PASS}`,
  ]);

  it("DER bytes or text without a PEM key block: not-pem", () => {
    const der = new Uint8Array(
      Buffer.from(rsa.keyPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64"),
    );
    assert.throws(() => loadPrivateKey(der, { input: "key.pem" }), rejects("not-pem"));
    assert.throws(() => loadPrivateKey(rsa.certPem, { input: "key.pem" }), rejects("not-pem"));
    assert.throws(() => loadPrivateKey("", { input: "key.pem" }), rejects("not-pem"));
  });

  it("bad base64, a body that is not DER, or DER that is not a key: malformed", () => {
    const wrap = (body: string, label = "PRIVATE KEY") =>
      `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
    const lines = rsa.keyPem.trim().split("\n");
    const truncated = [...lines.slice(0, 5), lines[lines.length - 1]].join("\n");
    for (const pem of [
      wrap("!!!!"),
      wrap(Buffer.from("not der at all").toString("base64")),
      wrap(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]).toString("base64")),
      truncated,
    ]) {
      assert.throws(() => loadPrivateKey(pem, { input: "key.pem" }), rejects("malformed"), pem);
    }
  });

  it("an encrypted key without a passphrase: passphrase-required", () => {
    assert.throws(
      () => loadPrivateKey(encrypted, { input: "key.pem" }),
      rejects("passphrase-required"),
    );
    assert.throws(
      () => loadPrivateKey(legacy, { input: "key.pem", passphrase: "" }),
      rejects("passphrase-required"),
    );
  });

  it("a wrong passphrase: wrong-passphrase, and the passphrase is never echoed", () => {
    for (const pem of [encrypted, legacy]) {
      assert.throws(
        () => loadPrivateKey(pem, { input: "key.pem", passphrase: `${PASS}!` }),
        (e: unknown) =>
          rejects("wrong-passphrase")(e) && !(e as Error).message.includes(`${PASS}!`),
      );
    }
  });

  it("key types the kernel cannot verify: unsupported-key-type", () => {
    const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" });
    const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    });
    const ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    for (const pem of [ed.toString(), k1.toString(), ssh]) {
      assert.throws(
        () => loadPrivateKey(pem, { input: "key.pem" }),
        rejects("unsupported-key-type"),
      );
    }
  });
});
