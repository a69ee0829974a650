/**
 * Exit codes of the `bpfsign` CLI, decided in one pure function. Verification results have their
 * own codes (0–4); failures use the BSD sysexits numbers. The README documents this table.
 *
 * An error is classified by its `code` alone (every error class of bpfsign has one, see
 * cli/errors.ts), so this file imports no layer's error classes: BPF_<errno> codes of failed
 * system calls map as the kernel errno does, the few codes named below have their own exit, and
 * the codes of the input layers (CRYPTO_, SKELETON_, INSN_; ELF_, BTF_, OBJECT_, GEN_ for object
 * files) mean malformed input. Anything else, including an error without a code, is a bug.
 */
import type { OfflineResult } from "../crypto/offline.js";

export const ExitCode = {
  OK: 0,
  BAD_SIGNATURE: 1,
  UNTRUSTED: 2,
  UNSIGNED: 3,
  EXCL_HASH_MISMATCH: 4,
  /** Bad command line, or a refusal the user can lift with a flag. */
  USAGE: 64,
  /** Malformed input: header, DER, ELF, key, certificate, instructions. */
  DATAERR: 65,
  /** An input file that cannot be read. */
  NOINPUT: 66,
  /** An algorithm or feature that is not supported (ENOPKG, EOPNOTSUPP). */
  UNAVAILABLE: 69,
  /** A bug: anything not classified above. */
  SOFTWARE: 70,
  /** An output file that cannot be created. */
  CANTCREAT: 73,
  /** The kernel refused for a reason other than the signature (EPERM, EACCES, ENOENT, an LSM policy). */
  NOPERM: 77,
} as const;

/** Offline verification results, as the offline verifier names them. */
export type VerifyResultName = OfflineResult;

export type CliOutcome =
  | { kind: "ok" }
  | { kind: "verify"; result: VerifyResultName }
  | { kind: "error"; error: unknown };

const RESULT_CODES: Record<VerifyResultName, number> = {
  VERIFIED: ExitCode.OK,
  BAD_SIGNATURE: ExitCode.BAD_SIGNATURE,
  UNTRUSTED: ExitCode.UNTRUSTED,
  UNSIGNED: ExitCode.UNSIGNED,
  EXCL_HASH_MISMATCH: ExitCode.EXCL_HASH_MISMATCH,
  MALFORMED: ExitCode.DATAERR,
  UNSUPPORTED: ExitCode.UNAVAILABLE,
};

/** A kernel errno from a load, mapped onto the same classes as the offline results. */
function kernelErrnoCode(errno: string): number {
  switch (errno) {
    case "EKEYREJECTED":
      return ExitCode.BAD_SIGNATURE;
    case "ENOKEY":
      return ExitCode.UNTRUSTED;
    case "EBADMSG":
    case "EINVAL":
    case "E2BIG":
      return ExitCode.DATAERR;
    case "ENOPKG":
    case "EOPNOTSUPP":
    case "ENOTSUPP":
      return ExitCode.UNAVAILABLE;
    default:
      // EPERM, EACCES and every other errno the kernel answered with: a refusal, never a bug.
      return ExitCode.NOPERM;
  }
}

/** Codes whose exit is not the one of their layer's prefix. */
const CODE_EXITS: Readonly<Record<string, number>> = {
  CLI_USAGE: ExitCode.USAGE,
  CLI_REFUSED: ExitCode.USAGE,
  CLI_INPUT_UNREADABLE: ExitCode.NOINPUT,
  CLI_MALFORMED_INPUT: ExitCode.DATAERR,
  CLI_UNSUPPORTED: ExitCode.UNAVAILABLE,
  CLI_OUTPUT_UNWRITABLE: ExitCode.CANTCREAT,
  /** A key type the kernel cannot verify. */
  CRYPTO_KEY_UNSUPPORTED_TYPE: ExitCode.UNAVAILABLE,
  /** A trusted certificate whose algorithm the kernel cannot verify. */
  CRYPTO_TRUSTED_CERT_ENOPKG: ExitCode.UNAVAILABLE,
  HOST_LIBRARY_UNAVAILABLE: ExitCode.UNAVAILABLE,
  /** A direct object load needed the kernel's BTF and none was given. */
  LOAD_NO_KERNEL_BTF: ExitCode.UNAVAILABLE,
  /** A ksym, kfunc or attach target the kernel does not have: the loader would fail with ENOENT. */
  LOAD_SYMBOL_NOT_FOUND: ExitCode.NOPERM,
  HOST_UNSUPPORTED_ARCH: ExitCode.UNAVAILABLE,
};

/** Layers whose errors all say the input is malformed (the object-file layers included). */
const MALFORMED_INPUT_PREFIXES = [
  "CRYPTO_",
  "SKELETON_",
  "INSN_",
  "ELF_",
  "BTF_",
  "OBJECT_",
  "GEN_",
] as const;

/** The `code` of a thrown value: a string property named code, else null. */
function codeOf(e: unknown): string | null {
  if (typeof e !== "object" || e === null || !("code" in e)) return null;
  return typeof e.code === "string" ? e.code : null;
}

/** The exit code of an error code (see the module comment). */
export function exitCodeOfErrorCode(code: string | null): number {
  if (code === null) return ExitCode.SOFTWARE;
  const exit = CODE_EXITS[code];
  if (exit !== undefined) return exit;
  if (code.startsWith("BPF_")) return kernelErrnoCode(code.slice("BPF_".length));
  if (MALFORMED_INPUT_PREFIXES.some((p) => code.startsWith(p))) return ExitCode.DATAERR;
  return ExitCode.SOFTWARE;
}

export function getExitCode(outcome: CliOutcome): number {
  switch (outcome.kind) {
    case "ok":
      return ExitCode.OK;
    case "verify":
      return RESULT_CODES[outcome.result];
    case "error":
      return exitCodeOfErrorCode(codeOf(outcome.error));
  }
}
