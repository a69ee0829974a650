/** Errors of the light-skeleton reader. */

/** Why a `.lskel.h` text was refused. */
export type SkeletonParseReason =
  /** a byte inside a string literal is not part of bpftool's escape grammar */
  | "bad-escape"
  /** a line continuation is missing or misplaced relative to bpftool's 78-column wrapping */
  | "bad-wrap"
  /** a string literal is not closed */
  | "unterminated-literal"
  /** a line differs from what bpftool writes at this place */
  | "unexpected-text"
  /** the text ends before the header is complete */
  | "truncated"
  /** two statements of the header disagree (sizes, names, counts) */
  | "inconsistent"
  /** a construct bpftool can write that light skeletons cannot load (struct_ops maps) */
  | "unsupported";

/**
 * A `.lskel.h` that is not what bpftool writes. `line` and `column` are 1-based and point at the
 * first byte that does not fit (columns count bytes; a tab is one column).
 */
export class SkeletonParseError extends Error {
  override readonly name = "SkeletonParseError";
  readonly reason: SkeletonParseReason;
  readonly line: number;
  readonly column: number;
  /** the reason in words, without the position */
  readonly detail: string;

  constructor(reason: SkeletonParseReason, line: number, column: number, detail: string) {
    super(`light skeleton, line ${line}, column ${column}: ${detail}`);
    this.reason = reason;
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

/** Values that cannot be written as a light skeleton (bad identifiers, sizes, hash length). */
export class SkeletonWriteError extends Error {
  override readonly name = "SkeletonWriteError";
  readonly field: string;

  constructor(field: string, message: string) {
    super(`light skeleton ${field}: ${message}`);
    this.field = field;
  }
}
