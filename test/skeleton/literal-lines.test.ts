// The line-at-a-time literal decoder and encoder against a plain reference: bpftool's greedy
// `print_hex` rule written out token by token, and "a body is accepted exactly when it is the
// encoding of what it decodes to". Bodies are placed at even and odd offsets, since the fast
// paths read and write 16/32-bit units.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  decodeLiteral,
  encodedLiteralBound,
  encodedLiteralLength,
  encodeLiteralInto,
  LITERAL_WIDTH,
  SkeletonParseError,
} from "../../src/skeleton/index.js";

/** print_hex, one token at a time, as a string. */
function referenceEncode(bytes: Uint8Array): string {
  let out = "";
  let width = 0;
  for (const b of bytes) {
    const token = b === 0 ? "\\0" : `\\x${b.toString(16).padStart(2, "0")}`;
    width += token.length;
    if (width > LITERAL_WIDTH) {
      out += "\\\n";
      width = token.length;
    }
    out += token;
  }
  return out;
}

/** The bytes `body` holds when it is exactly what print_hex writes for them, else null. */
function referenceDecode(body: string): Uint8Array | null {
  if (!/^(?:\\0|\\x[0-9a-f]{2}|\\\n)*$/.test(body)) return null;
  const bytes: number[] = [];
  for (const m of body.matchAll(/\\0|\\x([0-9a-f]{2})/g))
    bytes.push(m[1] === undefined ? 0 : Number.parseInt(m[1], 16));
  const out = Uint8Array.from(bytes);
  return referenceEncode(out) === body ? out : null;
}

/**
 * Decodes `body` placed at `offset` in a buffer, followed by `";\n` and `tail` more bytes of
 * token-like text (the fast decoder reads up to 12 bytes from a token start, so it runs only when
 * 12 bytes follow the quote, tail >= 9; with fewer the exact decoder does the work); null when
 * refused with a SkeletonParseError.
 */
function decodeAt(
  body: string,
  offset: number,
  tail = 9,
): { bytes: Uint8Array; continuations: number } | null {
  const text = Buffer.from(
    `${"a".repeat(offset)}${body}";\n${"\\x0".repeat(4).slice(0, tail)}`,
    "latin1",
  );
  try {
    const lit = decodeLiteral(text, offset, 1);
    assert.equal(lit.end, offset + body.length);
    return { bytes: lit.bytes, continuations: lit.continuations };
  } catch (e) {
    assert.ok(e instanceof SkeletonParseError, `not a SkeletonParseError: ${e}`);
    return null;
  }
}

/** Bytes with many zeros, so `\0` and `\xhh` tokens mix and lines end at 76 and 78 columns. */
const someBytes = fc.uint8Array({ maxLength: 200 }).map((b) => b.map((x) => (x < 96 ? 0 : x)));

const EDIT_CHARS = ["\\", "x", "0", "1", "a", "f", "g", "A", "\n", " "];

describe("print_hex literals, line at a time", () => {
  test("property (400 runs): encoder = reference, at even and odd offsets, within the bound", () => {
    fc.assert(
      fc.property(someBytes, fc.integer({ min: 0, max: 3 }), (bytes, offset) => {
        const want = referenceEncode(bytes);
        assert.equal(encodedLiteralLength(bytes), want.length);
        assert.ok(encodedLiteralBound(bytes.length) >= want.length);
        const out = new Uint8Array(offset + encodedLiteralBound(bytes.length) + 1).fill(0x7e);
        const end = encodeLiteralInto(bytes, out, offset);
        assert.equal(end, offset + want.length);
        assert.equal(Buffer.from(out.subarray(offset, end)).toString("latin1"), want);
        assert.ok(out.subarray(0, offset).every((c) => c === 0x7e));
        assert.ok(out.subarray(end).every((c) => c === 0x7e));
      }),
      { numRuns: 400 },
    );
  });

  test("property (1500 runs): an edited body is accepted exactly when it is canonical, at every offset mod 8, by the fast and the exact decoder", () => {
    const edit = fc.record({
      at: fc.nat(),
      op: fc.constantFrom("replace", "insert", "delete"),
      ch: fc.constantFrom(...EDIT_CHARS),
    });
    fc.assert(
      fc.property(
        someBytes,
        fc.array(edit, { maxLength: 2 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 12 }),
        (bytes, edits, offset, tail) => {
          let body = referenceEncode(bytes);
          for (const { at, op, ch } of edits) {
            const k = body.length === 0 ? 0 : at % (body.length + (op === "insert" ? 1 : 0));
            if (op === "insert") body = body.slice(0, k) + ch + body.slice(k);
            else if (body.length > 0)
              body = body.slice(0, k) + (op === "replace" ? ch : "") + body.slice(k + 1);
          }
          const want = referenceDecode(body);
          const got = decodeAt(body, offset, tail);
          if (want === null) assert.equal(got, null, `accepted ${JSON.stringify(body)}`);
          else {
            assert.ok(got, `refused ${JSON.stringify(body)}`);
            assert.deepEqual(got.bytes, want);
            assert.equal(got.continuations, body.split("\n").length - 1);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  test("property (300 runs): fast decoder = exact decoder = the bytes, random bytes at offsets 0..7", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.integer({ min: 0, max: 7 }),
        (bytes, offset) => {
          const body = referenceEncode(bytes);
          const fast = decodeAt(body, offset, 9);
          const exact = decodeAt(body, offset, 0);
          assert.ok(fast && exact);
          assert.deepEqual(fast.bytes, bytes);
          assert.deepEqual(exact.bytes, bytes);
          assert.equal(fast.continuations, exact.continuations);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("lines of exactly 76 and 78 columns, and one column too many", () => {
    const nineteen = new Uint8Array(19).fill(0xab); // 76 columns
    const next4 = referenceEncode(Uint8Array.of(...nineteen, 1));
    assert.equal(next4.split("\n")[0].length, 77);
    assert.deepEqual(decodeAt(next4, 1)?.bytes, Uint8Array.of(...nineteen, 1));
    const full = Uint8Array.of(...nineteen, 0, 7); // 78 columns, then a continuation
    const body = referenceEncode(full);
    assert.equal(body.split("\n")[0].length, 79);
    assert.deepEqual(decodeAt(body, 0)?.bytes, full);
    // the same tokens without the continuation run to column 82
    assert.equal(decodeAt(body.replace("\\\n", ""), 0), null);
    // a continuation one token early (after 76 columns when `\0` would still fit)
    assert.equal(decodeAt(body.replace("\\0\\\n", "\\\n\\0"), 1), null);
  });
});
