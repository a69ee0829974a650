/**
 * Exit codes of the `bpfsign` CLI, decided in one pure function. Verification results have their
 * own codes (0–4); failures use the BSD sysexits numbers. The README documents this table.
 */
import { CertificateProfileError } from "../crypto/certgen.js";
import { KeyLoadError } from "../crypto/keys.js";
import { type OfflineResult, TrustedCertificateError } from "../crypto/offline.js";
import { CertificateLoadError, KeyMismatchError, SignatureTooLargeError } from "../crypto/sign.js";
import { HostLibraryError, UnsupportedArchError } from "../host/index.js";
import { InsnFormatError } from "../insn/insn.js";
import { SkeletonParseError, SkeletonWriteError } from "../skeleton/errors.js";
import { BpfError } from "../uapi/errno.js";
import {
  InputError,
  MalformedInputError,
  OutputError,
  RefusedError,
  UnsupportedError,
  UsageError,
} from "./errors.js";

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
  /** The kernel refused for a reason other than the signature (EPERM, EACCES, an LSM policy). */
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
function kernelErrnoCode(code: string): number {
  switch (code) {
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
    case "EPERM":
    case "EACCES":
      return ExitCode.NOPERM;
    default:
      return ExitCode.SOFTWARE;
  }
}

export function getExitCode(outcome: CliOutcome): number {
  switch (outcome.kind) {
    case "ok":
      return ExitCode.OK;
    case "verify":
      return RESULT_CODES[outcome.result];
    case "error": {
      const e = outcome.error;
      if (e instanceof UsageError || e instanceof RefusedError) return ExitCode.USAGE;
      if (e instanceof InputError) return ExitCode.NOINPUT;
      if (e instanceof MalformedInputError) return ExitCode.DATAERR;
      if (e instanceof UnsupportedError) return ExitCode.UNAVAILABLE;
      if (e instanceof OutputError) return ExitCode.CANTCREAT;
      if (e instanceof BpfError) return kernelErrnoCode(e.errnoName);
      if (e instanceof KeyLoadError)
        return e.reason === "unsupported-key-type" ? ExitCode.UNAVAILABLE : ExitCode.DATAERR;
      if (e instanceof TrustedCertificateError)
        return e.errno === "ENOPKG" ? ExitCode.UNAVAILABLE : ExitCode.DATAERR;
      if (
        e instanceof CertificateLoadError ||
        e instanceof KeyMismatchError ||
        e instanceof SignatureTooLargeError ||
        e instanceof CertificateProfileError ||
        e instanceof SkeletonParseError ||
        e instanceof SkeletonWriteError ||
        e instanceof InsnFormatError
      )
        return ExitCode.DATAERR;
      if (e instanceof HostLibraryError || e instanceof UnsupportedArchError)
        return ExitCode.UNAVAILABLE;
      return ExitCode.SOFTWARE;
    }
  }
}
