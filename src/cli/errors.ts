/**
 * The CLI's error classes. Lower layers throw their own typed errors (BpfError, parse errors);
 * the commands wrap input problems into these so that one pure function (exit.ts) can turn any
 * failure into a documented exit code.
 *
 * Every error class of bpfsign has a stable `readonly code` (SCREAMING_SNAKE, prefixed by the
 * layer: CLI_, BPF_, CRYPTO_, SKELETON_, INSN_, VM_, HOST_; ELF_, BTF_, OBJECT_, GEN_ for the
 * object-file layers); exit.ts decides on codes alone. The CLI's own codes are CliErrorCode.
 */

type CliErrorCode =
  | "CLI_USAGE"
  | "CLI_INPUT_UNREADABLE"
  | "CLI_MALFORMED_INPUT"
  | "CLI_UNSUPPORTED"
  | "CLI_REFUSED"
  | "CLI_OUTPUT_UNWRITABLE";

/** Wrong command-line usage: unknown option, missing argument, conflicting flags. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "CLI_USAGE" satisfies CliErrorCode;
}

/** An input file that cannot be read (missing, permission, a directory). */
export class InputError extends Error {
  override readonly name = "InputError";
  readonly code = "CLI_INPUT_UNREADABLE" satisfies CliErrorCode;
  constructor(
    readonly path: string,
    readonly what: string,
    reason: string,
  ) {
    super(`cannot read ${what} '${path}': ${reason}`);
  }
}

/** An input that was read but is not what it claims to be (bad header, DER, ELF, key). */
export class MalformedInputError extends Error {
  override readonly name = "MalformedInputError";
  readonly code = "CLI_MALFORMED_INPUT" satisfies CliErrorCode;
  constructor(
    readonly path: string,
    readonly what: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`malformed ${what} '${path}': ${reason}`, options);
  }
}

/** An input that is well-formed but uses something bpfsign or the kernel does not support. */
export class UnsupportedError extends Error {
  override readonly name = "UnsupportedError";
  readonly code = "CLI_UNSUPPORTED" satisfies CliErrorCode;
}

/** A refusal by policy that the user can lift with an explicit flag. */
export class RefusedError extends Error {
  override readonly name = "RefusedError";
  readonly code = "CLI_REFUSED" satisfies CliErrorCode;
}

/** An output file that cannot be written (the target is left untouched). */
export class OutputError extends Error {
  override readonly name = "OutputError";
  readonly code = "CLI_OUTPUT_UNWRITABLE" satisfies CliErrorCode;
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot write '${path}': ${reason}`);
  }
}
