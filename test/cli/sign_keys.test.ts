/**
 * `bpfsign sign` with keys that never touch the disk: a PKCS#11 token (SoftHSM2) and an external
 * signer command; signed vector skeletons are loaded and verified on the model kernel.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { ExitCode, exitCodeOfErrorCode } from "../../src/cli/exit.js";
import { certUriOfKeyUri } from "../../src/cli/signer_input.js";
import type { Pkcs11ErrorCode } from "../../src/crypto/pkcs11.js";
import type { SignerErrorCode } from "../../src/crypto/signer.js";
import { derToPem } from "../../src/crypto/x509.js";
import { writeSignedSkeleton } from "../../src/skeleton/index.js";
import { cli, type Ran } from "../support/cli.js";
import { vectorKeyFiles } from "../support/cms.js";
import { makeTempDir } from "../support/openssl.js";
import { SoftHsm, skipSofthsm, USER_PIN } from "../support/softhsm.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { readVector, skipVectors } from "../support/vectors.js";

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A vector header (signed by the vectors' rsa3072 key) to re-sign. */
function vectorHeader(dir: string, prog: "prog_a" | "prog_b" | "prog_d"): string {
  const p = join(dir, `${prog}.in.lskel.h`);
  writeFileSync(
    p,
    writeSignedSkeleton(vectorSkeleton(prog, true), {
      signature: readVector(prog, "sig.rsa3072.der"),
    }),
  );
  return p;
}

/** Load a signed header on the model kernel trusting `certPath`: verdict and the run's retval. */
async function loadOnModel(header: string, certPath: string) {
  const r = await cli(["load", header, "--cert", certPath, "--run", "--json"]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { verdict: string; runs: { retval: number }[] };
  return { verdict: j.verdict, retval: j.runs[0]?.retval };
}

test("every PKCS11_ and SIGNER_ code has its documented exit", () => {
  const table: [Pkcs11ErrorCode | SignerErrorCode, number][] = [
    ["PKCS11_BAD_URI", 64],
    ["PKCS11_NO_MODULE", 64],
    ["PKCS11_PIN_REQUIRED", 64],
    ["PKCS11_PIN_SOURCE_UNREADABLE", 66],
    ["PKCS11_KEY_UNSUPPORTED", 69],
    ["PKCS11_FAILED", 69],
    ["PKCS11_MODULE_NOT_FOUND", 80],
    ["PKCS11_NOT_A_MODULE", 81],
    ["PKCS11_TOKEN_NOT_FOUND", 82],
    ["PKCS11_TOKEN_AMBIGUOUS", 82],
    ["PKCS11_PIN_INCORRECT", 83],
    ["PKCS11_PIN_LOCKED", 84],
    ["PKCS11_OBJECT_NOT_FOUND", 85],
    ["PKCS11_OBJECT_AMBIGUOUS", 86],
    ["PKCS11_MECHANISM_UNSUPPORTED", 87],
    ["SIGNER_CONFIG", 64],
    ["SIGNER_COMMAND_FAILED", 88],
    ["SIGNER_BAD_OUTPUT", 89],
    ["SIGNER_SIGNATURE_INVALID", 90],
  ];
  for (const [code, exit] of table) assert.equal(exitCodeOfErrorCode(code), exit, code);
  assert.equal(ExitCode.SIGNER_SIGNATURE_INVALID, 90);
});

test("the certificate URI of a key URI: same token and object, type=cert, query kept", () => {
  assert.equal(
    certUriOfKeyUri("pkcs11:token=t;object=k;type=private?pin-value=1"),
    "pkcs11:token=t;object=k;type=cert?pin-value=1",
  );
  assert.equal(certUriOfKeyUri("pkcs11:id=%01"), "pkcs11:id=%01;type=cert");
});

describe("bpfsign sign --key pkcs11:…", { skip: skipSofthsm || skipVectors }, () => {
  let hsm: SoftHsm;
  let dir: string;
  let env: Record<string, string>;
  const certPem: Record<string, string> = {};

  before(() => {
    hsm = new SoftHsm();
    dir = makeTempDir();
    hsm.initToken("cli");
    hsm.generateKey("cli", "rsa:2048", "rsa2048", "01");
    hsm.generateKey("cli", "EC:prime256v1", "ecp256", "03");
    hsm.importKey("cli", vectorKeyFiles("rsa2048").keyPath, "vector", "10");
    for (const k of ["rsa2048", "ecp256"]) {
      const der = hsm.certify(`pkcs11:token=cli;object=${k}`, `bpfsign cli ${k}`);
      hsm.writeCertificate("cli", der, k, k === "rsa2048" ? "01" : "03");
      certPem[k] = join(dir, `${k}.cert.pem`);
      writeFileSync(certPem[k], derToPem(der));
    }
    env = { BPFSIGN_PKCS11_PIN: USER_PIN };
  });

  test("a token key signs a vector skeleton (certificate from the token), which loads VERIFIED on the model", async () => {
    const out = join(dir, "d.rsa.lskel.h");
    const r = await cli(
      [
        "sign",
        vectorHeader(dir, "prog_d"),
        "--key",
        "pkcs11:token=cli;object=rsa2048;type=private",
        "--pkcs11-module",
        hsm.module,
        "-o",
        out,
        "--json",
      ],
      env,
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).signedWith, "pkcs11:token=cli;object=rsa2048;type=private");
    assert.deepEqual(await loadOnModel(out, certPem.rsa2048), {
      verdict: "VERIFIED",
      retval: 0xabad1ded | 0,
    });
    // and the model refuses it without that certificate in the keyring
    const l = await cli(["load", out, "--cert", vectorKeyFiles("rsa2048").certPemPath]);
    assert.equal(l.code, 2);
  });

  test("P-256 on the token, module from $BPFSIGN_PKCS11_MODULE, certificate by a type=cert URI", async () => {
    const out = join(dir, "b.ec.lskel.h");
    const r = await cli(
      [
        "sign",
        vectorHeader(dir, "prog_b"),
        "--key",
        "pkcs11:token=cli;id=%03",
        "--cert",
        "pkcs11:token=cli;id=%03;type=cert",
        "-o",
        out,
      ],
      { ...env, BPFSIGN_PKCS11_MODULE: hsm.module },
    );
    assert.equal(r.code, 0, r.err);
    assert.equal((await loadOnModel(out, certPem.ecp256)).verdict, "VERIFIED");
  });

  test("the imported vector key writes the same header as the key file, PIN from --pin-env", async () => {
    const src = vectorHeader(dir, "prog_a");
    const f = vectorKeyFiles("rsa2048");
    const fromFile = join(dir, "a.file.lskel.h");
    const fromToken = join(dir, "a.token.lskel.h");
    const a = await cli(["sign", src, "--key", f.keyPath, "--cert", f.certPemPath, "-o", fromFile]);
    assert.equal(a.code, 0, a.err);
    const b = await cli(
      [
        "sign",
        src,
        "--key",
        "pkcs11:token=cli;object=vector",
        "--cert",
        f.certDerPath,
        "--pkcs11-module",
        hsm.module,
        "--pin-env",
        "MY_PIN",
        "-o",
        fromToken,
      ],
      { MY_PIN: USER_PIN },
    );
    assert.equal(b.code, 0, b.err);
    assert.equal(readFileSync(fromToken, "latin1"), readFileSync(fromFile, "latin1"));
  });

  test("each failure has its exit code, writes nothing and never prints the PIN", async () => {
    const src = vectorHeader(dir, "prog_a");
    const out = join(dir, "never.lskel.h");
    const notAModule = join(dir, "text.so");
    writeFileSync(notAModule, "not a library\n");
    hsm.initToken("locked");
    hsm.markPinLocked("locked");
    const mechConf = hsm.writeConf("ec-only.conf", ["slots.mechanisms = CKM_ECDSA"]);
    const sign = (key: string, extra: string[] = [], e: Record<string, string> = env) =>
      cli(["sign", src, "--key", key, "-o", out, ...extra], e);
    const m = ["--pkcs11-module", hsm.module];
    const cases: [string, () => Promise<Ran>, number, RegExp][] = [
      [
        "module not found",
        () => sign("pkcs11:token=cli;object=rsa2048", ["--pkcs11-module", "/nonexistent/p11.so"]),
        80,
        /PKCS#11 module \/nonexistent\/p11\.so: no such file/,
      ],
      [
        "not a module",
        () => sign("pkcs11:token=cli;object=rsa2048", ["--pkcs11-module", notAModule]),
        81,
        /is not a PKCS#11 module/,
      ],
      [
        "token absent",
        () => sign("pkcs11:token=gone;object=rsa2048", m),
        82,
        /no token present matches/,
      ],
      [
        "wrong PIN",
        () => sign("pkcs11:token=cli;object=rsa2048?pin-value=987654", m),
        83,
        /wrong PIN \(CKR_PIN_INCORRECT\)/,
      ],
      ["PIN locked", () => sign("pkcs11:token=locked;object=k", m), 84, /the user PIN is locked/],
      [
        "object not found",
        () => sign("pkcs11:token=cli;object=nope", m),
        85,
        /no private key matches/,
      ],
      ["ambiguous", () => sign("pkcs11:token=cli", m), 86, /3 private keys match/],
      ["no module", () => sign("pkcs11:token=cli;object=rsa2048"), 64, /no PKCS#11 module/],
      ["no PIN", () => sign("pkcs11:token=cli;object=rsa2048", m, {}), 64, /needs a PIN/],
      ["bad URI", () => sign("pkcs11:token=cli;obj=x", m), 64, /unknown path attribute "obj"/],
    ];
    for (const [what, ran, code, message] of cases) {
      const r = await ran();
      assert.equal(r.code, code, `${what}: ${r.err}`);
      assert.match(r.err, message, what);
      assert.doesNotMatch(r.err + r.out, new RegExp(`${USER_PIN}|987654`), what);
      assert.ok(!existsSync(out), `${what}: nothing is written`);
    }
    process.env.SOFTHSM2_CONF = mechConf;
    try {
      const r = await sign("pkcs11:token=cli;object=rsa2048", m);
      assert.equal(r.code, 87, r.err);
      assert.match(r.err, /offers neither CKM_RSA_PKCS nor CKM_SHA256_RSA_PKCS/);
    } finally {
      process.env.SOFTHSM2_CONF = hsm.conf;
    }
  });
});

describe("bpfsign sign --signer-cmd", { skip: skipVectors }, () => {
  const dir = makeTempDir();
  const f = vectorKeyFiles("rsa2048");
  const ec = vectorKeyFiles("ecp256");
  const envPath = { PATH: process.env.PATH };
  const pkeyutl = (key: string) => `openssl pkeyutl -sign -inkey ${sh(key)} -pkeyopt digest:sha256`;

  test("RSA through a command writes the file key's header byte for byte", async () => {
    const src = vectorHeader(dir, "prog_b");
    const a = join(dir, "file.lskel.h");
    const b = join(dir, "cmd.lskel.h");
    assert.equal(
      (await cli(["sign", src, "--key", f.keyPath, "--cert", f.certPemPath, "-o", a])).code,
      0,
    );
    const r = await cli(
      ["sign", src, "--signer-cmd", pkeyutl(f.keyPath), "--cert", f.certPemPath, "-o", b],
      envPath,
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(b, "latin1"), readFileSync(a, "latin1"));
  });

  test("ECDSA through a command loads VERIFIED on the model", async () => {
    const out = join(dir, "d.ec.lskel.h");
    const r = await cli(
      [
        "sign",
        vectorHeader(dir, "prog_d"),
        "--signer-cmd",
        pkeyutl(ec.keyPath),
        "--cert",
        ec.certDerPath,
        "-o",
        out,
      ],
      envPath,
    );
    assert.equal(r.code, 0, r.err);
    assert.equal((await loadOnModel(out, ec.certPemPath)).verdict, "VERIFIED");
  });

  test("command failure 88, garbage 89, a wrong signature 90, usage 64; nothing written", async () => {
    const src = vectorHeader(dir, "prog_a");
    const out = join(dir, "never.lskel.h");
    const sign = (cmd: string, extra: string[] = ["--cert", f.certPemPath]) =>
      cli(["sign", src, "--signer-cmd", cmd, ...extra, "-o", out], envPath);
    const cases: [string, () => Promise<Ran>, number][] = [
      ["fails", () => sign("echo 'kms: throttled' >&2; exit 1"), 88],
      ["hex", () => sign(`${pkeyutl(f.keyPath)} | od -An -tx1`), 89],
      ["wrong signature", () => sign("head -c 256 /dev/zero"), 90],
      ["no --cert", () => sign(pkeyutl(f.keyPath), []), 64],
      [
        "--key and --signer-cmd",
        () =>
          cli(["sign", src, "--key", f.keyPath, "--signer-cmd", "true", "--cert", f.certPemPath]),
        64,
      ],
      ["neither", () => cli(["sign", src, "--cert", f.certPemPath]), 64],
      [
        "--pkcs11-module without a URI",
        () =>
          cli(["sign", src, "--key", f.keyPath, "--cert", f.certPemPath, "--pkcs11-module", "/x"]),
        64,
      ],
    ];
    for (const [what, ran, code] of cases) {
      const r = await ran();
      assert.equal(r.code, code, `${what}: ${r.err}`);
      assert.ok(!existsSync(out), `${what}: nothing is written`);
    }
    const r = await sign("echo 'kms: throttled' >&2; exit 1");
    assert.match(r.err, /exited with 1; its stderr ends:\nkms: throttled/);
    const wrong = await sign("head -c 256 /dev/zero");
    assert.match(wrong.err, /does not verify with certificate .*rsa2048\.cert\.pem/);
    // an EC signature where the certificate holds an RSA key is not even the right shape
    const mismatch = await sign(pkeyutl(ec.keyPath));
    assert.equal(mismatch.code, 89);
    assert.match(mismatch.err, /an RSA-2048 signature is 256 bytes/);
  });
});
