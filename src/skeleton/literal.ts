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

/** Two characters as one 16-bit unit, in this platform's byte order (as a Uint16Array reads them). */
function unit(first: number, second: number): number {
  return new Uint16Array(Uint8Array.of(first, second).buffer)[0];
}

const UNIT_ZERO = unit(BACKSLASH, ZERO);
const UNIT_X = unit(BACKSLASH, X);
const UNIT_SPLICE = unit(BACKSLASH, NEWLINE);
/** Whether this platform is little-endian (a DataView then reads units as a Uint16Array does). */
const LITTLE = unit(1, 0) === 1;

/** A 16-bit unit of two lowercase hex digits → their byte; 0 for "00"; -1 for anything else. */
const HEX_PAIR16 = (() => {
  const t = new Int16Array(65536).fill(-1);
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      if (HEX_VALUE[a] >= 0 && HEX_VALUE[b] >= 0)
        t[unit(a, b)] = (HEX_VALUE[a] << 4) | HEX_VALUE[b];
    }
  }
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

/** How many body lines the last `decodeBody` read (a module-level slot: it returns the count). */
let bodyLines = 0;

/** byte → its `\xhh` escape as one 32-bit unit in this platform's byte order (0 for byte 0). */
const ESCAPE32 = (() => {
  const t = new Uint32Array(256);
  const bytes = new Uint8Array(t.buffer);
  bytes.set(ESCAPES);
  t[0] = 0;
  return t;
})();

/**
 * An upper bound on `encodedLiteralLength(bytes)` from the length alone: every token takes at most
 * 4 columns, and every body line but the last holds at least 76, so there are at most
 * `4n / 76` continuations.
 */
export function encodedLiteralBound(n: number): number {
  return 4 * n + 2 * Math.floor(n / 19);
}

/** The number of text bytes `print_hex` writes for `bytes` (escapes and continuations). */
export function encodedLiteralLength(bytes: Uint8Array): number {
  // a body line holds 78 columns (a continuation follows it unless the text ends) or 76 when the
  // next token is a `\xhh`; every token is as wide as its text
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
 * bytes, no quotes) and returns the position after it. `width` is the columns the current body
 * line already holds (0 at the start of a literal; `literalEndWidth()` to continue one). Each token is one 16/32-bit store from a
 * table; three non-zero bytes that fit in the line are written in one turn.
 */
export function encodeLiteralInto(
  bytes: Uint8Array,
  out: Uint8Array,
  pos: number,
  width = 0,
): number {
  const body = new DataView(out.buffer, out.byteOffset, out.byteLength);
  // module constants as locals: in the CLI bundle they are variables its lazy module set-up
  // assigns, which the optimizing compiler cannot fold (measured 2x slower) — locals it can
  const escapes = ESCAPE32;
  const little = LITTLE;
  const splice = UNIT_SPLICE;
  const zero = UNIT_ZERO;
  const n = bytes.length;
  let i = 0;
  let k = pos;
  let limit = k + LITERAL_WIDTH - width;
  while (i < n) {
    const b = bytes[i];
    if (b !== 0) {
      if (k + 12 <= limit && i + 2 < n) {
        const b1 = bytes[i + 1];
        const b2 = bytes[i + 2];
        if (b1 !== 0 && b2 !== 0) {
          body.setUint32(k, escapes[b], little);
          body.setUint32(k + 4, escapes[b1], little);
          body.setUint32(k + 8, escapes[b2], little);
          k += 12;
          i += 3;
          continue;
        }
      }
      if (k + 4 > limit) {
        body.setUint16(k, splice, little);
        k += 2;
        limit = k + LITERAL_WIDTH;
      }
      body.setUint32(k, escapes[b], little);
      k += 4;
    } else {
      if (k + 2 > limit) {
        body.setUint16(k, splice, little);
        k += 2;
        limit = k + LITERAL_WIDTH;
      }
      body.setUint16(k, zero, little);
      k += 2;
    }
    i++;
  }
  endWidth = LITERAL_WIDTH - (limit - k);
  return k;
}

let endWidth = 0;

/**
 * The columns the last body line written by the latest `encodeLiteralInto` call holds: pass it
 * as `width` to continue the same literal with the bytes that follow (a literal encoded in
 * pieces this way is byte for byte the literal encoded in one call).
 */
export function literalEndWidth(): number {
  return endWidth;
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
  // Buffer's indexOf is memchr; a plain Uint8Array's is an element loop (~40x slower on 56 MB)
  const quote = Buffer.prototype.indexOf.call(text, QUOTE, pos);
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
  // zeroed (nothing of the process's memory shows past the decoded bytes), so `\0` tokens only
  // advance the count.
  const span = quote - pos;
  const out = new Uint8Array(span >> 1);
  // the fast path reads up to 12 bytes from a token start (three tokens at a time), so it needs
  // 12 bytes after the quote (a real header always has them)
  if (quote + LOOKAHEAD <= text.length) {
    const body = new DataView(text.buffer, text.byteOffset + pos, span + LOOKAHEAD);
    const n = decodeBody(body, span, out);
    if (n >= 0) return { bytes: out.subarray(0, n), end: quote, continuations: bodyLines - 1 };
  }
  // Not what bpftool writes (or a header that ends right after the quote): the exact decoder
  // finds and reports the first offence.
  return decodeExact(text, pos, startLine, quote, out);
}

/** How far past the closing quote the fast decoder may read. */
const LOOKAHEAD = 12;

/**
 * The accepting path over a body of `span` bytes (the view reaches LOOKAHEAD bytes past it): each
 * token is one 32-bit read whose low half says which it is and whose high half is the hex pair; a body
 * line runs to the first unit that is not a token, and only then is the line checked (at most 78
 * columns, then the closing quote or a continuation that bpftool would have written). Returns
 * the decoded length (and sets `bodyLines`), or -1 when the body is not exactly what `print_hex`
 * writes (the caller then runs `decodeExact` for the error). Accepts exactly what `decodeExact`
 * accepts.
 */
function decodeBody(body: DataView, span: number, out: Uint8Array): number {
  // module constants as locals (see encodeLiteralInto)
  const pair = HEX_PAIR16;
  const little = LITTLE;
  const unitX = UNIT_X;
  const unitZero = UNIT_ZERO;
  const unitSplice = UNIT_SPLICE;
  const maxWidth = LITERAL_WIDTH;
  let n = 0;
  let lines = 1;
  let k = 0;
  for (;;) {
    const lineStart = k;
    for (;;) {
      const t = body.getUint32(k, little);
      const head = little ? t & 0xffff : t >>> 16;
      if (head === unitX) {
        // `\xhh` tokens come in runs: three at a time when the next two are `\xhh` as well
        const t1 = body.getUint32(k + 4, little);
        const t2 = body.getUint32(k + 8, little);
        if (
          (little ? t1 & 0xffff : t1 >>> 16) === unitX &&
          (little ? t2 & 0xffff : t2 >>> 16) === unitX
        ) {
          const a = pair[little ? t >>> 16 : t & 0xffff];
          const b = pair[little ? t1 >>> 16 : t1 & 0xffff];
          const c = pair[little ? t2 >>> 16 : t2 & 0xffff];
          // each is 1..255, or 0 / -1 for `\x00` / not two lowercase hex digits
          if (((a - 1) | (b - 1) | (c - 1)) < 0) return -1;
          out[n] = a;
          out[n + 1] = b;
          out[n + 2] = c;
          n += 3;
          k += 12;
          continue;
        }
        const v = pair[little ? t >>> 16 : t & 0xffff];
        if (v <= 0) return -1;
        out[n++] = v;
        k += 4;
      } else if (head === unitZero) {
        n++;
        k += 2;
      } else break;
    }
    const width = k - lineStart;
    if (width > maxWidth) return -1;
    if (k >= span) {
      if (k !== span) return -1;
      bodyLines = lines;
      return n;
    }
    // a continuation, only where the next token would not fit and something follows it
    if (k + 2 >= span || body.getUint16(k, little) !== unitSplice) return -1;
    const nextWidth = body.getUint16(k + 2, little) === unitZero ? 2 : 4;
    if (width + nextWidth <= maxWidth) return -1;
    lines++;
    k += 2;
  }
}

/**
 * The reference decoder, token by token: returns what it decodes or throws the error for the
 * first token that is not what `print_hex` writes. Token widths equal their text lengths, so the
 * wrap rule is checked per body line: at most 78 columns, and a continuation only where the next
 * token would not fit.
 */
function decodeExact(
  text: Uint8Array,
  pos: number,
  startLine: number,
  quote: number,
  out: Uint8Array,
): DecodedLiteral {
  // Every token is 2 or 4 characters and starts at an even distance from `pos`, so the body is
  // read as 16-bit units (copied first when it does not start on an even address).
  const span = quote - pos;
  const start = text.byteOffset + pos;
  const units =
    (start & 1) === 0
      ? new Uint16Array(text.buffer, start, span >> 1)
      : new Uint16Array(new Uint8Array(text.subarray(pos, pos + (span & ~1))).buffer, 0, span >> 1);
  const count = units.length;
  const pair = HEX_PAIR16;
  let n = 0;
  let continuations = 0;
  let lineStart = 0; // in units
  let j = 0;
  out.fill(0);
  while (j < count) {
    const t = units[j];
    if (t === UNIT_X) {
      const v = pair[units[j + 1]];
      if (v > 0) {
        out[n++] = v;
        j += 2;
        continue;
      }
    } else if (t === UNIT_ZERO) {
      n++;
      j++;
      continue;
    } else if (t === UNIT_SPLICE) {
      const width = 2 * (j - lineStart);
      const nextWidth = units[j + 1] === UNIT_ZERO ? 2 : 4;
      if (width <= LITERAL_WIDTH && 2 * j + 2 < span && width + nextWidth > LITERAL_WIDTH) {
        continuations++;
        j++;
        lineStart = j;
        continue;
      }
    }
    throw tokenError(text, pos, startLine, pos + 2 * lineStart, pos + 2 * j, quote);
  }
  if ((span & 1) !== 0 || quote - (pos + 2 * lineStart) > LITERAL_WIDTH) {
    throw tokenError(text, pos, startLine, pos + 2 * lineStart, pos + 2 * count, quote);
  }
  return { bytes: out.subarray(0, n), end: quote, continuations };
}

/** The error for the token at `at` (or for the line from `lineStart` running too long). */
function tokenError(
  text: Uint8Array,
  pos: number,
  startLine: number,
  lineStart: number,
  at: number,
  quote: number,
): SkeletonParseError {
  // the first token of this line that ends past column 78 comes before `at`: report it
  let k = lineStart;
  while (k < at) {
    const w = text[k + 1] === ZERO ? 2 : 4;
    if (k + w - lineStart > LITERAL_WIDTH) return wrapError(text, pos, startLine, k);
    k += w;
  }
  if (at >= quote) return wrapError(text, pos, startLine, at);
  if (text[at] !== BACKSLASH) {
    return errorAt(
      text,
      pos,
      startLine,
      at,
      "bad-escape",
      `expected an escape, found ${show(text[at])}`,
    );
  }
  const d = text[at + 1];
  if (d === X) {
    if (at + 3 >= quote) {
      return errorAt(
        text,
        pos,
        startLine,
        at,
        "bad-escape",
        "\\x escape cut short by the closing quote",
      );
    }
    const hi = HEX_VALUE[text[at + 2]];
    const lo = HEX_VALUE[text[at + 3]];
    if ((hi | lo) < 0) {
      return errorAt(
        text,
        pos,
        startLine,
        hi < 0 ? at + 2 : at + 3,
        "bad-escape",
        "\\x escape needs two lowercase hex digits",
      );
    }
    return errorAt(
      text,
      pos,
      startLine,
      at,
      "bad-escape",
      "zero byte written as \\x00 (bpftool writes \\0)",
    );
  }
  if (d === NEWLINE) {
    return errorAt(
      text,
      pos,
      startLine,
      at,
      "bad-wrap",
      "line continuation where bpftool does not wrap",
    );
  }
  return errorAt(text, pos, startLine, at + 1, "bad-escape", `unsupported escape ${show(d)}`);
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
