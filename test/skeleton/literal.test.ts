import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  decodeLiteral,
  encodedLiteralLength,
  encodeLiteral,
  LITERAL_WIDTH,
  SkeletonParseError,
} from "../../src/skeleton/index.js";

function decode(body: string, startLine = 1): Uint8Array {
  const text = Buffer.from(`${body}";\n`, "latin1");
  const lit = decodeLiteral(text, 0, startLine);
  assert.equal(lit.end, body.length);
  return lit.bytes;
}

function parseError(body: string, startLine = 1): SkeletonParseError {
  try {
    decode(body, startLine);
  } catch (e) {
    assert.ok(e instanceof SkeletonParseError, `not a SkeletonParseError: ${e}`);
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(body)}`);
}

describe("print_hex literals", () => {
  test("zero bytes are \\0, others lowercase \\xhh", () => {
    assert.equal(encodeLiteral(new Uint8Array([0, 0xab, 1, 0])), "\\0\\xab\\x01\\0");
    assert.deepEqual([...decode("\\0\\xab\\x01\\0")], [0, 0xab, 1, 0]);
  });

  test("wraps before the escape that would pass column 78", () => {
    // 19 non-zero bytes = 76 columns; a 20th (4 more) wraps, a zero byte (2 more) still fits
    const nz = new Uint8Array(20).fill(0x11);
    const text = encodeLiteral(nz);
    const lines = text.split("\\\n");
    assert.deepEqual(
      lines.map((l) => l.length),
      [76, 4],
    );
    const withZero = new Uint8Array([...new Uint8Array(19).fill(0x11), 0, 0x11]);
    assert.deepEqual(
      encodeLiteral(withZero)
        .split("\\\n")
        .map((l) => l.length),
      [78, 4],
    );
    assert.equal(encodeLiteral(new Uint8Array(40)).split("\\\n")[0].length, 78);
    assert.equal(encodeLiteral(new Uint8Array(40)).split("\\\n")[1], "\\0");
  });

  test("property (500 runs): decode(encode(bytes)) = bytes, lines ≤ 78 escape columns", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const body = encodeLiteral(bytes);
        assert.equal(body.length, encodedLiteralLength(bytes));
        for (const line of body.split("\n")) assert.ok(line.length <= LITERAL_WIDTH + 1);
        assert.deepEqual(decode(body), bytes);
      }),
      { numRuns: 500 },
    );
  });

  test("refuses escapes bpftool does not write, with line and column", () => {
    const cases: [string, string, number, number][] = [
      ["\\xAB", "bad-escape", 1, 3],
      ["\\x00", "bad-escape", 1, 1],
      ["\\x4", "bad-escape", 1, 1],
      ["\\0\\n", "bad-escape", 1, 4],
      ["\\01", "bad-escape", 1, 3],
      ["ab", "bad-escape", 1, 1],
      ["\\x41\\\n\\x42", "bad-wrap", 1, 5],
      ["\\\n\\x42", "bad-wrap", 1, 1],
    ];
    for (const [body, reason, line, column] of cases) {
      const e = parseError(body, 1);
      assert.equal(e.reason, reason, body);
      assert.deepEqual([e.line, e.column], [line, column], body);
    }
  });

  test("a misplaced or missing continuation is a wrap error at its position", () => {
    const body = "\\x11".repeat(20);
    const e = parseError(`\\x22\\0\\\n${body}`, 7);
    assert.equal(e.reason, "bad-wrap");
    assert.equal(e.line, 7);
    assert.equal(e.column, 7);
    const long = parseError(body, 7);
    assert.equal(long.reason, "bad-wrap");
    assert.equal(long.line, 7);
    assert.equal(long.column, 77);
  });

  test("an unterminated literal is reported", () => {
    const e = (() => {
      try {
        decodeLiteral(Buffer.from("\\x41\\x42\n", "latin1"), 0, 3);
      } catch (err) {
        return err as SkeletonParseError;
      }
      assert.fail("accepted");
    })();
    assert.ok(e instanceof SkeletonParseError);
    assert.equal(e.reason, "unterminated-literal");
    assert.equal(e.line, 4);
  });
});
