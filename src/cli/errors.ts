/**
 * The CLI's error classes. Lower layers throw their own typed errors (BpfError, parse errors);
 * the commands wrap input problems into these so that one pure function (exit.ts) can turn any
 * failure into a documented exit code.
 */

/** Wrong command-line usage: unknown option, missing argument, conflicting flags. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** An input file that cannot be read (missing, permission, a directory). */
export class InputError extends Error {
  override readonly name = "InputError";
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
}

/** A refusal by policy that the user can lift with an explicit flag. */
export class RefusedError extends Error {
  override readonly name = "RefusedError";
}

/** An output file that cannot be written (the target is left untouched). */
export class OutputError extends Error {
  override readonly name = "OutputError";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot write '${path}': ${reason}`);
  }
}
