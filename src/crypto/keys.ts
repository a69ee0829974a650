/**
 * Private keys for signing, read the way bpftool's read_private_key() reads them: PEM only
 * (PEM_read_bio_PrivateKey), the first private-key block of the file, other blocks (EC
 * PARAMETERS, CERTIFICATE, …) skipped. Accepted forms: PKCS#8 (`PRIVATE KEY`), encrypted
 * PKCS#8 (`ENCRYPTED PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`), the
 * last two optionally with legacy PEM encryption (`Proc-Type: 4,ENCRYPTED`). Unlike bpftool, a
 * passphrase may be supplied by the caller; it never appears in an error message.
 *
 * Key types: RSA (any size node:crypto accepts) and EC on the curves the kernel verifies
 * (P-256, P-384, P-521); anything else is refused because the kernel could not check it.
 */

import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readTlv } from "./asn1.js";

/** Why a private key could not be used. */
export type KeyLoadReason =
  | "not-pem"
  | "malformed"
  | "unsupported-key-type"
  | "passphrase-required"
  | "wrong-passphrase";

/** Codes of KeyLoadError, one per reason ("wrong-passphrase" -> "CRYPTO_KEY_WRONG_PASSPHRASE"). */
export type KeyLoadErrorCode =
  | "CRYPTO_KEY_NOT_PEM"
  | "CRYPTO_KEY_MALFORMED"
  | "CRYPTO_KEY_UNSUPPORTED_TYPE"
  | "CRYPTO_KEY_PASSPHRASE_REQUIRED"
  | "CRYPTO_KEY_WRONG_PASSPHRASE";

const KEY_LOAD_CODES: Record<KeyLoadReason, KeyLoadErrorCode> = {
  "not-pem": "CRYPTO_KEY_NOT_PEM",
  malformed: "CRYPTO_KEY_MALFORMED",
  "unsupported-key-type": "CRYPTO_KEY_UNSUPPORTED_TYPE",
  "passphrase-required": "CRYPTO_KEY_PASSPHRASE_REQUIRED",
  "wrong-passphrase": "CRYPTO_KEY_WRONG_PASSPHRASE",
};

/** A private key input that cannot be used for signing: names the input and the reason. */
export class KeyLoadError extends Error {
  override readonly name = "KeyLoadError";
  readonly code: KeyLoadErrorCode;
  /** The input, as the caller named it (a path, "private key", …). */
  readonly input: string;
  readonly reason: KeyLoadReason;

  constructor(input: string, reason: KeyLoadReason, detail: string) {
    super(`private key ${input}: ${detail}`);
    this.code = KEY_LOAD_CODES[reason];
    this.input = input;
    this.reason = reason;
  }
}

/** A loaded signing key. */
export interface SigningKey {
  /** "rsa" or "ec". */
  readonly type: "rsa" | "ec";
  /** RSA modulus bits, or the curve's field size for EC. */
  readonly bits: number;
  /** EC: the curve as node:crypto names it ("prime256v1", "secp384r1", "secp521r1"). */
  readonly curve: string | null;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** PEM labels PEM_read_bio_PrivateKey decodes into a key this signer can use. */
const KEY_LABELS = new Set([
  "PRIVATE KEY",
  "ENCRYPTED PRIVATE KEY",
  "RSA PRIVATE KEY",
  "EC PRIVATE KEY",
]);

/** Curves the kernel's ECDSA verifier supports, with their sizes. */
const EC_CURVES: Readonly<Record<string, number>> = {
  prime256v1: 256,
  secp384r1: 384,
  secp521r1: 521,
};

interface PemBlock {
  readonly label: string;
  readonly text: string;
  readonly headers: string;
  readonly body: string;
}

/** The PEM blocks of a text, in order. */
function pemBlocks(text: string): PemBlock[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  const out: PemBlock[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const inner = m[2];
    // RFC 1421 headers end with an empty line.
    const split = /^((?:[A-Za-z-]+:[^\n]*\r?\n)+)\r?\n/.exec(inner);
    out.push({
      label: m[1],
      text: m[0],
      headers: split ? split[1] : "",
      body: (split ? inner.slice(split[0].length) : inner).replace(/\s+/g, ""),
    });
  }
  return out;
}

const isBase64 = (s: string): boolean => s.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(s);

/** True when the base64 body holds one complete DER element (a structural check only). */
function wellFormedDer(body: string): boolean {
  const bytes = new Uint8Array(Buffer.from(body, "base64"));
  const t = readTlv(bytes, 0);
  return !("ok" in t) && t.end === bytes.length;
}

/**
 * Load a PEM private key. `input` names it in errors (a file name, an option); `passphrase`
 * decrypts an encrypted key and is ignored for a plain one.
 */
export function loadPrivateKey(
  pem: string | Uint8Array,
  opts: { passphrase?: string | Uint8Array; input?: string } = {},
): SigningKey {
  const input = opts.input ?? "(private key)";
  const text = typeof pem === "string" ? pem : Buffer.from(pem).toString("latin1");
  const blocks = pemBlocks(text).filter((b) => b.label.endsWith("PRIVATE KEY"));
  if (blocks.length === 0) {
    throw new KeyLoadError(
      input,
      "not-pem",
      "no PEM private key block (keys are read as PEM only, like bpftool)",
    );
  }
  const block = blocks[0];
  if (!KEY_LABELS.has(block.label)) {
    throw new KeyLoadError(
      input,
      "unsupported-key-type",
      `a "${block.label}" is not supported (RSA or EC keys only)`,
    );
  }
  if (!isBase64(block.body)) {
    throw new KeyLoadError(input, "malformed", `the ${block.label} block is not valid base64`);
  }
  const legacyEncrypted = /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(block.headers);
  const encrypted = block.label === "ENCRYPTED PRIVATE KEY" || legacyEncrypted;
  // A legacy-encrypted body is ciphertext; every other body is one DER element.
  if (!legacyEncrypted && !wellFormedDer(block.body)) {
    throw new KeyLoadError(input, "malformed", `the ${block.label} block is not a DER structure`);
  }
  if (encrypted && (opts.passphrase === undefined || opts.passphrase.length === 0)) {
    throw new KeyLoadError(input, "passphrase-required", "the key is encrypted; give a passphrase");
  }

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({
      key: block.text,
      format: "pem",
      passphrase: encrypted ? Buffer.from(opts.passphrase!) : undefined,
    });
  } catch (e) {
    if (encrypted) {
      // The outer structure was sound, so the decryption is what failed.
      throw new KeyLoadError(
        input,
        "wrong-passphrase",
        "cannot decrypt the key (wrong passphrase or corrupted key)",
      );
    }
    const why = (e as { message?: string }).message ?? String(e);
    throw new KeyLoadError(input, "malformed", `cannot decode the ${block.label}: ${why}`);
  }
  return describeKey(privateKey, input);
}

/** Check that a node:crypto private key is one the kernel can verify signatures of. */
export function describeKey(privateKey: KeyObject, input = "(private key)"): SigningKey {
  if (privateKey.type !== "private") {
    throw new KeyLoadError(input, "malformed", `a ${privateKey.type} key is not a private key`);
  }
  const kind = privateKey.asymmetricKeyType;
  const details = privateKey.asymmetricKeyDetails ?? {};
  const publicKey = createPublicKey(privateKey);
  if (kind === "rsa") {
    return {
      type: "rsa",
      bits: details.modulusLength ?? 0,
      curve: null,
      privateKey,
      publicKey,
    };
  }
  if (kind === "ec") {
    const curve = details.namedCurve ?? "";
    const bits = EC_CURVES[curve];
    if (!bits) {
      throw new KeyLoadError(
        input,
        "unsupported-key-type",
        `EC curve ${curve || "(unnamed)"} is not one the kernel verifies (P-256, P-384, P-521)`,
      );
    }
    return { type: "ec", bits, curve, privateKey, publicKey };
  }
  throw new KeyLoadError(
    input,
    "unsupported-key-type",
    `a ${kind ?? "unknown"} key cannot sign BPF programs (RSA or EC keys only)`,
  );
}
