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

/** Codes of SkeletonParseError, one per reason ("bad-escape" -> "SKELETON_BAD_ESCAPE"). */
export type SkeletonParseErrorCode =
  | "SKELETON_BAD_ESCAPE"
  | "SKELETON_BAD_WRAP"
  | "SKELETON_UNTERMINATED_LITERAL"
  | "SKELETON_UNEXPECTED_TEXT"
  | "SKELETON_TRUNCATED"
  | "SKELETON_INCONSISTENT"
  | "SKELETON_UNSUPPORTED";

const PARSE_CODES: Record<SkeletonParseReason, SkeletonParseErrorCode> = {
  "bad-escape": "SKELETON_BAD_ESCAPE",
  "bad-wrap": "SKELETON_BAD_WRAP",
  "unterminated-literal": "SKELETON_UNTERMINATED_LITERAL",
  "unexpected-text": "SKELETON_UNEXPECTED_TEXT",
  truncated: "SKELETON_TRUNCATED",
  inconsistent: "SKELETON_INCONSISTENT",
  unsupported: "SKELETON_UNSUPPORTED",
};

/**
 * A `.lskel.h` that is not what bpftool writes. `line` and `column` are 1-based and point at the
 * first byte that does not fit (columns count bytes; a tab is one column).
 */
export class SkeletonParseError extends Error {
  override readonly name = "SkeletonParseError";
  readonly code: SkeletonParseErrorCode;
  readonly reason: SkeletonParseReason;
  readonly line: number;
  readonly column: number;
  /** the reason in words, without the position */
  readonly detail: string;

  constructor(reason: SkeletonParseReason, line: number, column: number, detail: string) {
    super(`light skeleton, line ${line}, column ${column}: ${detail}`);
    this.code = PARSE_CODES[reason];
    this.reason = reason;
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

/**
 * Values that cannot be written as a light skeleton (bad identifiers, sizes, hash length).
 * Code: "SKELETON_BAD_VALUE" (`field` names the value).
 */
export class SkeletonWriteError extends Error {
  override readonly name = "SkeletonWriteError";
  readonly code = "SKELETON_BAD_VALUE";
  readonly field: string;

  constructor(field: string, message: string) {
    super(`light skeleton ${field}: ${message}`);
    this.field = field;
  }
}
