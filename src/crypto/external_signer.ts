/**
 * The external-signer protocol (`bpfsign sign --signer-cmd CMD`): for keys held by a cloud KMS,
 * a remote signing service or anything else that can sign a SHA-256 digest.
 *
 * CMD is run once per signature by `/bin/sh -c CMD`, with
 *   - stdin: the 32 raw bytes of the SHA-256 digest of insns || metadata;
 *   - environment: the caller's, plus
 *       BPFSIGN_DIGEST                 the digest, 64 lowercase hex digits,
 *       BPFSIGN_DIGEST_ALGORITHM       "sha256",
 *       BPFSIGN_SIGNATURE_ALGORITHM    "rsa-pkcs1-sha256" or "ecdsa-sha256" (from the certificate);
 * and must exit 0 after writing the raw signature, binary, to stdout:
 *   - RSA: the RSASSA-PKCS1-v1_5 signature of the digest (DigestInfo sha256), exactly as long as
 *     the modulus;
 *   - ECDSA: the DER Ecdsa-Sig-Value { r, s }, or the bare r||s (both halves the curve's size).
 * Its stderr is shown when it fails. `openssl pkeyutl -sign -inkey KEY -pkeyopt digest:sha256`
 * follows this protocol as it stands.
 *
 * Every signature is then verified against the certificate before anything is written (by
 * signCmsWith in sign.ts), so a command that returns something else fails with a typed error.
 */

import { spawnSync } from "node:child_process";
import type { KeyObject } from "node:crypto";
import { toHex } from "./asn1.js";
import {
  algorithmOfPublicKey,
  ecCoordinateBytes,
  ecdsaRawToDer,
  isDerEcdsaSignature,
  type RawSigner,
  rsaModulusBytes,
  SignerConfigError,
  type SignRequest,
} from "./signer.js";

/** The command could not be run, was killed, timed out or exited non-zero. */
export class SignerCommandError extends Error {
  override readonly name = "SignerCommandError";
  readonly code = "SIGNER_COMMAND_FAILED";
  constructor(
    readonly command: string,
    readonly reason: string,
    readonly stderr: string,
  ) {
    super(
      `signer command \`${command}\` ${reason}${stderr ? `; its stderr ends:\n${stderr}` : ""}`,
    );
  }
}

/** The command succeeded but what it wrote is not a signature of the expected form. */
export class SignerOutputError extends Error {
  override readonly name = "SignerOutputError";
  readonly code = "SIGNER_BAD_OUTPUT";
  constructor(
    readonly command: string,
    reason: string,
  ) {
    super(`signer command \`${command}\` returned garbage: ${reason}`);
  }
}

export interface ExternalSignerOptions {
  /** A shell command line, run with /bin/sh -c. */
  readonly command: string;
  /** The certificate's public key: decides the algorithm and the signature's size. */
  readonly publicKey: KeyObject;
  /** The environment the command inherits (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds before the command is killed (default 120 000). */
  readonly timeoutMs?: number;
}

/** The last part of a command's stderr, for a message. */
function tail(b: Buffer | null | undefined): string {
  if (!b || b.length === 0) return "";
  const s = b.toString("utf8").trimEnd();
  return s.length > 2000 ? `…${s.slice(-2000)}` : s;
}

const MAX_OUTPUT = 1 << 20;

/** A RawSigner that asks an external command for each signature (see the module comment). */
export function externalSigner(o: ExternalSignerOptions): RawSigner {
  const algorithm = algorithmOfPublicKey(o.publicKey);
  if (!algorithm) {
    throw new SignerConfigError(
      `--signer-cmd: the certificate holds a ${o.publicKey.asymmetricKeyType} key; only RSA and EC keys sign BPF programs`,
    );
  }
  const rsaBytes = algorithm === "rsa-pkcs1-sha256" ? rsaModulusBytes(o.publicKey) : 0;
  const coord =
    algorithm === "ecdsa-sha256"
      ? ecCoordinateBytes(o.publicKey.asymmetricKeyDetails?.namedCurve ?? "")
      : null;
  const name = `signer command \`${o.command}\``;
  return {
    algorithm,
    name,
    publicKey: null,
    sign(request: SignRequest): Uint8Array {
      const r = spawnSync("/bin/sh", ["-c", o.command], {
        input: request.digest,
        env: {
          ...(o.env ?? process.env),
          BPFSIGN_DIGEST: toHex(request.digest),
          BPFSIGN_DIGEST_ALGORITHM: "sha256",
          BPFSIGN_SIGNATURE_ALGORITHM: algorithm,
        },
        timeout: o.timeoutMs ?? 120_000,
        maxBuffer: MAX_OUTPUT,
        stdio: ["pipe", "pipe", "pipe"],
      });
      const err = tail(r.stderr);
      const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
      if (code === "ETIMEDOUT") {
        throw new SignerCommandError(
          o.command,
          `timed out after ${o.timeoutMs ?? 120_000} ms`,
          err,
        );
      }
      if (code === "ENOBUFS") {
        throw new SignerOutputError(o.command, `it wrote more than ${MAX_OUTPUT} bytes`);
      }
      // A command that exits without reading its stdin makes the write fail with EPIPE: that
      // is its business, the exit status decides.
      if (r.error && code !== "EPIPE") {
        throw new SignerCommandError(o.command, `cannot be run (${r.error.message})`, err);
      }
      if (r.signal) throw new SignerCommandError(o.command, `was killed by ${r.signal}`, err);
      if (r.status !== 0) throw new SignerCommandError(o.command, `exited with ${r.status}`, err);
      const out = new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
      if (out.length === 0) throw new SignerOutputError(o.command, "it wrote nothing to stdout");
      if (algorithm === "rsa-pkcs1-sha256") {
        if (out.length !== rsaBytes) {
          throw new SignerOutputError(
            o.command,
            `${out.length} bytes on stdout; an RSA-${rsaBytes * 8} signature is ${rsaBytes} bytes (binary, not hex or base64)`,
          );
        }
        return out;
      }
      if (isDerEcdsaSignature(out)) return out;
      if (coord !== null && out.length === 2 * coord) return ecdsaRawToDer(out);
      throw new SignerOutputError(
        o.command,
        `${out.length} bytes on stdout are neither a DER ECDSA signature nor r||s of ${2 * (coord ?? 0)} bytes`,
      );
    },
    close(): void {},
  };
}
