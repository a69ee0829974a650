/**
 * The C string literals bpftool embeds byte arrays in (`print_hex` in bpftool's gen.c).
 *
 * A literal opens with `"\` and a newline, so its body starts in column 1 of the next line. The
 * body is a run of tokens:
 *
 *   `\0`            a zero byte (2 columns)
 *   `\xhh`          a non-zero byte, two lowercase hex digits (4 columns)
 *   `\` newline     a line continuation, contributes nothing
 *
 * bpftool keeps a running width: before a token it adds the token's width, and when that exceeds
 * 78 it first writes a continuation and restarts the width at that token's width. So a body line
 * carries at most 78 columns of escapes, and a continuation appears exactly when the next token
 * would not fit. The literal closes with `"` right after the last token. Its C value is the
 * decoded bytes plus the implicit NUL, which the generated code drops with `sizeof(x) - 1`.
 *
 * Anything else (upper-case hex, `\x00`, octal or other escapes, plain characters, a continuation
 * where bpftool would not put one) is refused: in C several of these would even decode to other
 * bytes (`\x4142` is one escape, `\01` is octal 1).
 */

import { SkeletonParseError } from "./errors.js";

/** The escape width after which bpftool wraps. */
export const LITERAL_WIDTH = 78;

const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const ZERO = 0x30;
const X = 0x78;

/** ASCII → value of a lowercase hex digit, or -1. */
const HEX_VALUE = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) t[0x61 + i] = 10 + i;
  return t;
})();

/** byte → its 4 escape characters (`\xhh`), used for non-zero bytes. */
const ESCAPES = (() => {
  const digits = "0123456789abcdef";
  const t = new Uint8Array(256 * 4);
  for (let b = 0; b < 256; b++) {
    t[b * 4] = BACKSLASH;
    t[b * 4 + 1] = X;
    t[b * 4 + 2] = digits.charCodeAt(b >> 4);
    t[b * 4 + 3] = digits.charCodeAt(b & 15);
  }
  return t;
})();

/** The number of text bytes `print_hex` writes for `bytes` (escapes and continuations). */
export function encodedLiteralLength(bytes: Uint8Array): number {
  let len = 0;
  let width = 0;
  for (let i = 0; i < bytes.length; i++) {
    const w = bytes[i] === 0 ? 2 : 4;
    width += w;
    if (width > LITERAL_WIDTH) {
      len += 2;
      width = w;
    }
    len += w;
  }
  return len;
}

/**
 * Writes the literal body for `bytes` into `out` at `pos` (exactly `encodedLiteralLength(bytes)`
 * bytes, no quotes) and returns the position after it.
 */
export function encodeLiteralInto(bytes: Uint8Array, out: Uint8Array, pos: number): number {
  let width = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0) {
      width += 2;
      if (width > LITERAL_WIDTH) {
        out[pos++] = BACKSLASH;
        out[pos++] = NEWLINE;
        width = 2;
      }
      out[pos++] = BACKSLASH;
      out[pos++] = ZERO;
    } else {
      width += 4;
      if (width > LITERAL_WIDTH) {
        out[pos++] = BACKSLASH;
        out[pos++] = NEWLINE;
        width = 4;
      }
      const e = b << 2;
      out[pos] = ESCAPES[e];
      out[pos + 1] = ESCAPES[e + 1];
      out[pos + 2] = ESCAPES[e + 2];
      out[pos + 3] = ESCAPES[e + 3];
      pos += 4;
    }
  }
  return pos;
}

/** The literal body for `bytes` as a string (for small literals and tests). */
export function encodeLiteral(bytes: Uint8Array): string {
  const out = new Uint8Array(encodedLiteralLength(bytes));
  encodeLiteralInto(bytes, out, 0);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString("latin1");
}

/** A decoded literal body. */
export interface DecodedLiteral {
  /** the bytes the literal holds (without the implicit NUL) */
  bytes: Uint8Array;
  /** index of the closing `"` in the text */
  end: number;
  /** how many line continuations the body has (= body lines - 1) */
  continuations: number;
}

/**
 * Decodes the literal body that starts at `pos` (the byte after the opening `"\` newline) and runs
 * to the next `"`. `startLine` is the 1-based line number of `pos`, used for error positions.
 */
export function decodeLiteral(text: Uint8Array, pos: number, startLine: number): DecodedLiteral {
  const quote = text.indexOf(QUOTE, pos);
  if (quote < 0) {
    throw errorAt(
      text,
      pos,
      startLine,
      text.length,
      "unterminated-literal",
      "string literal is not closed",
    );
  }
  // Every byte takes at least 2 text bytes, so half the span bounds the output; the buffer starts
  // zeroed, so `\0` tokens only advance the count.
  const out = new Uint8Array((quote - pos) >> 1);
  let n = 0;
  let width = 0;
  let continuations = 0;
  let i = pos;
  while (i < quote) {
    if (text[i] !== BACKSLASH) {
      throw errorAt(
        text,
        pos,
        startLine,
        i,
        "bad-escape",
        `expected an escape, found ${show(text[i])}`,
      );
    }
    const d = text[i + 1];
    if (d === ZERO) {
      width += 2;
      if (width > LITERAL_WIDTH) throw wrapError(text, pos, startLine, i);
      n++;
      i += 2;
    } else if (d === X) {
      if (i + 3 >= quote) {
        throw errorAt(
          text,
          pos,
          startLine,
          i,
          "bad-escape",
          "\\x escape cut short by the closing quote",
        );
      }
      const hi = HEX_VALUE[text[i + 2]];
      const lo = HEX_VALUE[text[i + 3]];
      if ((hi | lo) < 0) {
        throw errorAt(
          text,
          pos,
          startLine,
          hi < 0 ? i + 2 : i + 3,
          "bad-escape",
          "\\x escape needs two lowercase hex digits",
        );
      }
      if ((hi | lo) === 0) {
        throw errorAt(
          text,
          pos,
          startLine,
          i,
          "bad-escape",
          "zero byte written as \\x00 (bpftool writes \\0)",
        );
      }
      width += 4;
      if (width > LITERAL_WIDTH) throw wrapError(text, pos, startLine, i);
      out[n++] = (hi << 4) | lo;
      i += 4;
    } else if (d === NEWLINE) {
      const next = i + 2;
      const nextWidth =
        next + 1 < quote && text[next] === BACKSLASH && text[next + 1] === ZERO ? 2 : 4;
      if (next >= quote || width + nextWidth <= LITERAL_WIDTH) {
        throw errorAt(
          text,
          pos,
          startLine,
          i,
          "bad-wrap",
          "line continuation where bpftool does not wrap",
        );
      }
      continuations++;
      width = 0;
      i = next;
    } else {
      throw errorAt(text, pos, startLine, i + 1, "bad-escape", `unsupported escape ${show(d)}`);
    }
  }
  return { bytes: out.subarray(0, n), end: quote, continuations };
}

function show(b: number | undefined): string {
  if (b === undefined) return "end of text";
  if (b === NEWLINE) return "a newline";
  if (b >= 0x21 && b < 0x7f) return `'${String.fromCharCode(b)}'`;
  return `byte 0x${b.toString(16).padStart(2, "0")}`;
}

function wrapError(
  text: Uint8Array,
  pos: number,
  startLine: number,
  at: number,
): SkeletonParseError {
  return errorAt(
    text,
    pos,
    startLine,
    at,
    "bad-wrap",
    `escapes run past column ${LITERAL_WIDTH} without a line continuation`,
  );
}

/** Builds an error for text offset `at`, counting lines from `pos` (on `startLine`). */
function errorAt(
  text: Uint8Array,
  pos: number,
  startLine: number,
  at: number,
  reason: "bad-escape" | "bad-wrap" | "unterminated-literal",
  detail: string,
): SkeletonParseError {
  let line = startLine;
  let lineStart = pos;
  for (let k = pos; k < at && k < text.length; k++) {
    if (text[k] === NEWLINE) {
      line++;
      lineStart = k + 1;
    }
  }
  return new SkeletonParseError(reason, line, at - lineStart + 1, detail);
}
