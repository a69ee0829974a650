/**
 * Test helpers around the `openssl` CLI: temporary directories, keys with self-signed
 * certificates in the kernel selftest profile (verify_sig_setup.sh), and CMS signatures in
 * bpftool's shape and its variants. Generated keys are cached per process.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs: string[] = [];
let hooked = false;

/** A fresh temporary directory, removed at process exit (or earlier with `removeTempDir`). */
export function makeTempDir(prefix = "bpfsign-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  if (!hooked) {
    hooked = true;
    process.on("exit", cleanupTempDirs);
  }
  return dir;
}

/** Remove one directory made by `makeTempDir`. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const i = dirs.indexOf(dir);
  if (i >= 0) dirs.splice(i, 1);
}

/** Remove every directory made by `makeTempDir` (also done at exit). */
export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Run openssl with arguments; returns stdout. Throws with stderr on failure. */
export function openssl(args: readonly string[], input?: Uint8Array): Buffer {
  try {
    return execFileSync("openssl", args, {
      input,
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.join(" ")}: ${err.stderr?.toString() ?? err.message}`);
  }
}

export type KeyKind = "rsa2048" | "rsa3072" | "ec-p256" | "ec-p384";

export interface CertOptions {
  /** subjectKeyIdentifier=hash (default true). */
  readonly skid?: boolean;
  /** authorityKeyIdentifier=keyid (default false). */
  readonly akid?: boolean;
  /** Subject CN (default the selftest's). */
  readonly cn?: string;
  readonly days?: number;
}

export interface TestKey {
  readonly kind: KeyKind;
  readonly dir: string;
  readonly keyPath: string;
  readonly certPemPath: string;
  readonly certDerPath: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly certDer: Uint8Array;
}

export const SELFTEST_CN = "eBPF Signature Verification Testing Key";

const keyCache = new Map<string, string>();
const certCache = new Map<string, TestKey>();

function privateKeyPem(kind: KeyKind, slot: string): string {
  const id = `${kind}/${slot}`;
  let pem = keyCache.get(id);
  if (!pem) {
    const args =
      kind === "rsa2048" || kind === "rsa3072"
        ? ["genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${kind.slice(3)}`]
        : [
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            `ec_paramgen_curve:${kind === "ec-p256" ? "P-256" : "P-384"}`,
          ];
    pem = openssl(args).toString();
    keyCache.set(id, pem);
  }
  return pem;
}

/**
 * A key of `kind` and a self-signed certificate in the selftest profile: CN, basicConstraints
 * critical CA:FALSE, keyUsage digitalSignature, SKID (unless `skid: false`), AKID keyid when
 * asked. Cached per process by kind, options and `slot` (use another slot for another key).
 */
export function makeTestKey(kind: KeyKind, opts: CertOptions = {}, slot = "default"): TestKey {
  const skid = opts.skid ?? true;
  const akid = opts.akid ?? false;
  const cn = opts.cn ?? SELFTEST_CN;
  const id = JSON.stringify([kind, skid, akid, cn, opts.days ?? 36500, slot]);
  const hit = certCache.get(id);
  if (hit) return hit;
  const dir = makeTempDir("bpfsign-key-");
  const keyPath = join(dir, "key.pem");
  const keyPem = privateKeyPem(kind, slot);
  writeFileSync(keyPath, keyPem);
  const cfg = [
    "[ req ]",
    "distinguished_name = dn",
    "prompt = no",
    "string_mask = utf8only",
    "x509_extensions = myexts",
    "[ dn ]",
    `CN = ${cn}`,
    "[ myexts ]",
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=digitalSignature",
    `subjectKeyIdentifier=${skid ? "hash" : "none"}`,
    `authorityKeyIdentifier=${akid ? "keyid" : "none"}`,
    "",
  ].join("\n");
  const cfgPath = join(dir, "x509.genkey");
  writeFileSync(cfgPath, cfg);
  const certPemPath = join(dir, "cert.pem");
  const certDerPath = join(dir, "cert.der");
  openssl([
    "req",
    "-new",
    "-x509",
    "-utf8",
    "-sha256",
    "-days",
    String(opts.days ?? 36500),
    "-config",
    cfgPath,
    "-key",
    keyPath,
    "-out",
    certPemPath,
  ]);
  openssl(["x509", "-in", certPemPath, "-outform", "DER", "-out", certDerPath]);
  const key: TestKey = {
    kind,
    dir,
    keyPath,
    certPemPath,
    certDerPath,
    keyPem,
    certPem: readFileSync(certPemPath, "utf8"),
    certDer: new Uint8Array(readFileSync(certDerPath)),
  };
  certCache.set(id, key);
  return key;
}

export interface SignOptions {
  /** -keyid: SKID signer id, versions 3 (default true). Without it: issuer+serial, versions 1. */
  readonly keyid?: boolean;
  /** Signed attributes (omit -noattr); default false. */
  readonly attrs?: boolean;
  /** Include the signer's certificate (omit -nocerts); default false. */
  readonly certs?: boolean;
  /** Extra certificates to include (-certfile). */
  readonly certfile?: string;
  /** Digest: sha256 (default), sha384, sha512, … */
  readonly md?: string;
}

/**
 * Sign `content` with `openssl cms -sign -binary`, detached DER, in bpftool's shape by default:
 * `-nocerts -noattr -nosmimecap -keyid -md sha256`.
 */
export function cmsSign(content: Uint8Array, key: TestKey, opts: SignOptions = {}): Uint8Array {
  const dir = makeTempDir("bpfsign-sign-");
  try {
    const inPath = join(dir, "content.bin");
    const outPath = join(dir, "sig.der");
    writeFileSync(inPath, content);
    const args = [
      "cms",
      "-sign",
      "-binary",
      "-in",
      inPath,
      "-signer",
      key.certPemPath,
      "-inkey",
      key.keyPath,
      "-outform",
      "DER",
      "-out",
      outPath,
      "-nosmimecap",
      "-md",
      opts.md ?? "sha256",
    ];
    if (!opts.certs) args.push("-nocerts");
    if (!opts.attrs) args.push("-noattr");
    if (opts.keyid ?? true) args.push("-keyid");
    if (opts.certfile) args.push("-certfile", opts.certfile);
    openssl(args);
    return new Uint8Array(readFileSync(outPath));
  } finally {
    removeTempDir(dir);
  }
}

/** `openssl cms -verify` of a detached DER signature against a certificate; true if it passes. */
export function opensslCmsVerify(
  content: Uint8Array,
  sig: Uint8Array,
  certPemPath: string,
): boolean {
  const dir = makeTempDir("bpfsign-verify-");
  try {
    writeFileSync(join(dir, "content.bin"), content);
    writeFileSync(join(dir, "sig.der"), sig);
    openssl([
      "cms",
      "-verify",
      "-binary",
      "-inform",
      "DER",
      "-in",
      join(dir, "sig.der"),
      "-content",
      join(dir, "content.bin"),
      "-certfile",
      certPemPath,
      "-CAfile",
      certPemPath,
      "-purpose",
      "any",
      "-out",
      "/dev/null",
    ]);
    return true;
  } catch {
    return false;
  } finally {
    removeTempDir(dir);
  }
}
