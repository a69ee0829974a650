/**
 * Exit codes of the `bpfsign` CLI, decided in one pure function. Verification results have their
 * own codes (0–4), policy denials and unexpected attack outcomes theirs (5, 6); failures use the
 * BSD sysexits numbers. The README documents this table.
 *
 * An error is classified by its `code` alone (every error class of bpfsign has one, see
 * cli/errors.ts), so this file imports no layer's error classes: BPF_<errno> codes of failed
 * system calls map as the kernel errno does, the few codes named below have their own exit, and
 * the codes of the input layers (CRYPTO_, SKELETON_, INSN_; ELF_, BTF_, OBJECT_, GEN_ for object
 * files; POLICY_ for policy files) mean malformed input. Keys on tokens and external signers
 * (PKCS11_, SIGNER_) have exits of their own, 80-90, listed one by one. Anything else, including
 * an error without a code, is a bug.
 */
import type { OfflineResult } from "../crypto/offline.js";

export const ExitCode = {
  OK: 0,
  BAD_SIGNATURE: 1,
  UNTRUSTED: 2,
  UNSIGNED: 3,
  EXCL_HASH_MISMATCH: 4,
  /** The load policy denies the skeleton (`audit`, `load --policy-file`). */
  POLICY_DENIED: 5,
  /** `attack`: a cell of the table differs from the designs' expectation. */
  ATTACK_UNEXPECTED: 6,
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
  /** PKCS#11: the module file does not exist. */
  PKCS11_MODULE_NOT_FOUND: 80,
  /** PKCS#11: the file is not a PKCS#11 module (no C_GetFunctionList, C_Initialize fails). */
  PKCS11_NOT_A_MODULE: 81,
  /** PKCS#11: no token (or more than one) matches the URI. */
  PKCS11_TOKEN_ABSENT: 82,
  /** PKCS#11: the PIN is wrong. */
  PKCS11_PIN_INCORRECT: 83,
  /** PKCS#11: the user PIN is locked. */
  PKCS11_PIN_LOCKED: 84,
  /** PKCS#11: no object matches the URI. */
  PKCS11_OBJECT_NOT_FOUND: 85,
  /** PKCS#11: more than one object matches the URI. */
  PKCS11_OBJECT_AMBIGUOUS: 86,
  /** PKCS#11: the token has no mechanism to sign with this key. */
  PKCS11_MECHANISM_UNSUPPORTED: 87,
  /** The external signer command could not run, failed or timed out. */
  SIGNER_COMMAND_FAILED: 88,
  /** The external signer command wrote something that is not a signature. */
  SIGNER_BAD_OUTPUT: 89,
  /** A signature (from any signer) does not verify with the certificate; nothing was written. */
  SIGNER_SIGNATURE_INVALID: 90,
} as const;

/** Offline verification results, as the offline verifier names them. */
export type VerifyResultName = OfflineResult;

export type CliOutcome =
  | { kind: "ok" }
  | { kind: "verify"; result: VerifyResultName }
  /**
   * `audit`: the signature result and, with a policy, whether it admits the skeleton
   * (`admitted` null without a policy or when the signature stops the load first).
   */
  | { kind: "audit"; result: VerifyResultName; admitted: boolean | null }
  /** `attack`: how many cells differ from their expectation (0: the table is as expected) */
  | { kind: "attack"; mismatches: number }
  /** several outcomes (batch `audit`): the first non-zero exit in input order */
  | { kind: "batch"; outcomes: CliOutcome[] }
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
  /** `load --policy-file`: the policy module refused a load */
  POLICY_DENIED: ExitCode.POLICY_DENIED,
  /** Keys on tokens (crypto/pkcs11.ts). */
  PKCS11_BAD_URI: ExitCode.USAGE,
  PKCS11_NO_MODULE: ExitCode.USAGE,
  PKCS11_PIN_REQUIRED: ExitCode.USAGE,
  PKCS11_PIN_SOURCE_UNREADABLE: ExitCode.NOINPUT,
  PKCS11_MODULE_NOT_FOUND: ExitCode.PKCS11_MODULE_NOT_FOUND,
  PKCS11_NOT_A_MODULE: ExitCode.PKCS11_NOT_A_MODULE,
  PKCS11_TOKEN_NOT_FOUND: ExitCode.PKCS11_TOKEN_ABSENT,
  PKCS11_TOKEN_AMBIGUOUS: ExitCode.PKCS11_TOKEN_ABSENT,
  PKCS11_PIN_INCORRECT: ExitCode.PKCS11_PIN_INCORRECT,
  PKCS11_PIN_LOCKED: ExitCode.PKCS11_PIN_LOCKED,
  PKCS11_OBJECT_NOT_FOUND: ExitCode.PKCS11_OBJECT_NOT_FOUND,
  PKCS11_OBJECT_AMBIGUOUS: ExitCode.PKCS11_OBJECT_AMBIGUOUS,
  PKCS11_MECHANISM_UNSUPPORTED: ExitCode.PKCS11_MECHANISM_UNSUPPORTED,
  PKCS11_KEY_UNSUPPORTED: ExitCode.UNAVAILABLE,
  PKCS11_FAILED: ExitCode.UNAVAILABLE,
  /** Signers (crypto/signer.ts, crypto/external_signer.ts). */
  SIGNER_CONFIG: ExitCode.USAGE,
  SIGNER_COMMAND_FAILED: ExitCode.SIGNER_COMMAND_FAILED,
  SIGNER_BAD_OUTPUT: ExitCode.SIGNER_BAD_OUTPUT,
  SIGNER_SIGNATURE_INVALID: ExitCode.SIGNER_SIGNATURE_INVALID,
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
  "POLICY_",
] as const;

/** The `code` of a thrown value: a string property named code, else null. */
export function codeOf(e: unknown): string | null {
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
    case "audit":
      if (outcome.result !== "VERIFIED" && outcome.result !== "UNSIGNED")
        return RESULT_CODES[outcome.result];
      if (outcome.admitted === null) return RESULT_CODES[outcome.result];
      return outcome.admitted ? ExitCode.OK : ExitCode.POLICY_DENIED;
    case "attack":
      return outcome.mismatches ? ExitCode.ATTACK_UNEXPECTED : ExitCode.OK;
    case "batch": {
      for (const o of outcome.outcomes) {
        const code = getExitCode(o);
        if (code !== ExitCode.OK) return code;
      }
      return ExitCode.OK;
    }
    case "error":
      return exitCodeOfErrorCode(codeOf(outcome.error));
  }
}
