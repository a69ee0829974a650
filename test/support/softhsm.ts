/**
 * SoftHSM2 tokens for the PKCS#11 tests: each test file gets its own token directory and
 * configuration (SOFTHSM2_CONF is set in this process, which is the test file's own under
 * `node --test`), tokens initialised with softhsm2-util, keys generated on the token with
 * pkcs11-tool (opensc) or imported from a PEM with softhsm2-util, and certificates made for
 * token keys by signing them with the token itself.
 */

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { der } from "../../src/crypto/asn1.js";
import { subjectKeyIdOf } from "../../src/crypto/certgen.js";
import { OID } from "../../src/crypto/oid.js";
import { pkcs11Signer } from "../../src/crypto/pkcs11.js";
import type { RawSigner } from "../../src/crypto/signer.js";
import { makeTempDir } from "./openssl.js";

const MODULE_CANDIDATES = [
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
];

/** The SoftHSM2 module, or null. */
export const SOFTHSM_MODULE: string | null = MODULE_CANDIDATES.find((p) => existsSync(p)) ?? null;

function onPath(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

/** `false` when SoftHSM2 and pkcs11-tool are here, else why the PKCS#11 tests skip. */
export const skipSofthsm: string | false = !SOFTHSM_MODULE
  ? "SoftHSM2 is not installed (Debian: apt-get install softhsm2)"
  : !onPath("softhsm2-util")
    ? "softhsm2-util is not on PATH (Debian: apt-get install softhsm2)"
    : !onPath("pkcs11-tool")
      ? "pkcs11-tool is not on PATH (Debian: apt-get install opensc)"
      : false;

if (skipSofthsm) console.log(`# PKCS#11 tests skip: ${skipSofthsm}`);

export const USER_PIN = "4711-pin";
const SO_PIN = "so-0815";

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Buffer {
  try {
    return execFileSync(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(
      `${cmd} ${args.join(" ")}: ${err.stderr?.toString() ?? ""}${err.stdout?.toString() ?? ""}${err.message}`,
    );
  }
}

/** A SoftHSM2 token directory with its configuration; SOFTHSM2_CONF points at it. */
export class SoftHsm {
  readonly dir: string;
  readonly conf: string;
  readonly module = SOFTHSM_MODULE!;

  constructor() {
    this.dir = makeTempDir("bpfsign-softhsm-");
    const tokens = join(this.dir, "tokens");
    execFileSync("mkdir", ["-p", tokens]);
    this.conf = this.writeConf("softhsm2.conf", []);
    process.env.SOFTHSM2_CONF = this.conf;
  }

  /** A configuration over the same tokens with extra lines (e.g. `slots.mechanisms = …`). */
  writeConf(name: string, extra: readonly string[]): string {
    const p = join(this.dir, name);
    writeFileSync(
      p,
      [
        `directories.tokendir = ${join(this.dir, "tokens")}`,
        "objectstore.backend = file",
        "log.level = ERROR",
        ...extra,
        "",
      ].join("\n"),
    );
    return p;
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, SOFTHSM2_CONF: process.env.SOFTHSM2_CONF ?? this.conf };
  }

  /** Initialise a token in the free slot. */
  initToken(label: string, pin = USER_PIN): void {
    run(
      "softhsm2-util",
      ["--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", pin],
      this.env,
    );
  }

  private tool(token: string, args: readonly string[], pin = USER_PIN): Buffer {
    return run(
      "pkcs11-tool",
      ["--module", this.module, "--token-label", token, "--login", "--pin", pin, ...args],
      this.env,
    );
  }

  /** Generate a key pair on the token (type: rsa:2048, rsa:3072, EC:prime256v1). */
  generateKey(
    token: string,
    type: string,
    label: string,
    idHex: string,
    extra: readonly string[] = [],
  ): void {
    this.tool(token, [
      "--keypairgen",
      "--key-type",
      type,
      "--label",
      label,
      "--id",
      idHex,
      ...extra,
    ]);
  }

  /** Import a PKCS#8 PEM private key (softhsm2-util --import). */
  importKey(token: string, pemPath: string, label: string, idHex: string, pin = USER_PIN): void {
    run(
      "softhsm2-util",
      ["--import", pemPath, "--token", token, "--label", label, "--id", idHex, "--pin", pin],
      this.env,
    );
  }

  /** Store a DER certificate on the token. */
  writeCertificate(token: string, certDer: Uint8Array, label: string, idHex: string): void {
    const p = join(this.dir, `${randomBytes(4).toString("hex")}.der`);
    writeFileSync(p, certDer);
    this.tool(token, ["--write-object", p, "--type", "cert", "--label", label, "--id", idHex]);
  }

  /**
   * Mark the token's user PIN as locked in its stored flags (CKF_USER_PIN_LOCKED, as a real
   * token reports after too many wrong PINs; SoftHSM2 itself never locks). The flags are the
   * token object's CKA_OS_TOKENFLAGS (vendor attribute 0x8000534b, a big-endian CK_ULONG).
   */
  markPinLocked(token: string): void {
    const tokens = join(this.dir, "tokens");
    for (const d of readdirSync(tokens)) {
      const f = join(tokens, d, "token.object");
      if (!existsSync(f)) continue;
      const b = readFileSync(f);
      if (!b.includes(Buffer.from(token.padEnd(32, " ")))) continue;
      const at = b.indexOf(Buffer.from("000000008000534b0000000000000002", "hex"));
      if (at < 0) throw new Error(`no token flags in ${f}`);
      b.writeBigUInt64BE(b.readBigUInt64BE(at + 16) | 0x40000n, at + 16);
      writeFileSync(f, b);
      return;
    }
    throw new Error(`token ${token} not found under ${tokens}`);
  }

  /** A self-signed certificate (kernel selftest profile) for a token key, signed by the token. */
  certify(uri: string, subject: string): Uint8Array {
    const signer = pkcs11Signer({
      uri,
      module: this.module,
      env: { BPFSIGN_PKCS11_PIN: USER_PIN },
    });
    return selfSignedWith(signer, subject);
  }
}

/** A self-signed v3 certificate for the signer's public key, signed by the signer. */
export function selfSignedWith(signer: RawSigner, subject: string): Uint8Array {
  const publicKey = signer.publicKey;
  if (!publicKey) throw new Error(`${signer.name}: no public key to certify`);
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  const sigAlgo =
    signer.algorithm === "rsa-pkcs1-sha256"
      ? der.algorithm(OID.sha256WithRSAEncryption, der.null())
      : der.algorithm(OID.ecdsaWithSha256);
  const name = der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8(subject))));
  const ext = (oid: string, critical: boolean, value: Uint8Array) =>
    der.sequence(der.oid(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(BigInt(`0x${randomBytes(8).toString("hex")}`) | 1n),
    sigAlgo,
    name,
    der.sequence(der.utcTime("250101000000Z"), der.utcTime("491231235959Z")),
    name,
    spki,
    der.explicit(
      3,
      der.sequence(
        ext(OID.basicConstraints, true, der.sequence()),
        ext(OID.keyUsage, false, der.bitString(Uint8Array.of(0x80), 7)),
        ext(OID.subjectKeyIdentifier, false, der.octetString(subjectKeyIdOf(publicKey))),
      ),
    ),
  );
  const digest = new Uint8Array(createHash("sha256").update(tbs).digest());
  const sig = signer.sign({ digest, content: [tbs] });
  return der.sequence(tbs, sigAlgo, der.bitString(sig));
}
