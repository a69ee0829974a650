import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  parseLightSkeleton,
  SkeletonParseError,
  writeSignedSkeleton,
  writeUnsignedSkeleton,
} from "../../src/skeleton/index.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { readVector, skipVectors } from "../support/vectors.js";

/** Parses and returns the error; fails the test on success or on any other error type. */
function refuse(text: Uint8Array | string): SkeletonParseError {
  try {
    parseLightSkeleton(text);
  } catch (e) {
    assert.ok(e instanceof SkeletonParseError, `expected SkeletonParseError, got ${String(e)}`);
    assert.ok(e.line >= 1 && e.column >= 1, `bad position ${e.line}:${e.column}`);
    assert.ok(e.message.includes(`line ${e.line}, column ${e.column}`));
    return e;
  }
  assert.fail("malformed header accepted");
}

/** Line and column (1-based) of a text offset. */
function position(text: string, offset: number): [number, number] {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return [line, offset - (before.lastIndexOf("\n") + 1) + 1];
}

describe("malformed headers", { skip: skipVectors }, () => {
  const signed = Buffer.from(
    writeSignedSkeleton(vectorSkeleton("prog_d", true), {
      signature: readVector("prog_d", "sig.rsa2048.der"),
    }),
  );
  const unsigned = Buffer.from(
    writeUnsignedSkeleton(vectorSkeleton("prog_b", false), { arrays: "inline", casts: false }),
  );
  const signedText = signed.toString("latin1");

  test("property (200 runs): every truncation is a typed error with a position", () => {
    fc.assert(
      fc.property(fc.constantFrom(signed, unsigned), fc.nat(), (h, n) => {
        refuse(h.subarray(0, n % h.length));
      }),
      { numRuns: 200 },
    );
  });

  test("property (400 runs): a flipped byte either still parses or is a typed error", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(signed, unsigned),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (h, at, x) => {
          const copy = Buffer.from(h);
          copy[at % copy.length] ^= x;
          try {
            const s = parseLightSkeleton(copy);
            // accepted: the flip stayed inside a literal's grammar, so some value must differ
            // (the reader accepts only text it renders back exactly)
            assert.notDeepEqual(s, parseLightSkeleton(h));
          } catch (e) {
            assert.ok(e instanceof SkeletonParseError, String(e));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  test("property (200 runs): a bad escape inside a literal is refused at its exact position", () => {
    const bodyStart =
      signedText.indexOf('opts_data[] __attribute__((__aligned__(8))) = "\\\n') + 50;
    const bodyEnd = signedText.indexOf('";', bodyStart);
    const escapes = ["\\X41", "\\x4G", "\\x00", "\\q", "\\1", "\\xAB", "A", '\\"', "\\t"];
    fc.assert(
      fc.property(
        fc.integer({ min: bodyStart, max: bodyEnd - 1 }),
        fc.constantFrom(...escapes),
        (at, bad) => {
          // align to a token start
          let k = at;
          while (signedText[k] !== "\\" || signedText[k + 1] === "\n") k++;
          if (k >= bodyEnd) return;
          const tokenLen = signedText[k + 1] === "0" ? 2 : 4;
          const text = signedText.slice(0, k) + bad + signedText.slice(k + tokenLen);
          const e = refuse(text);
          assert.ok(e.reason === "bad-escape" || e.reason === "bad-wrap", e.reason);
          const [line] = position(text, k);
          assert.equal(e.line, line);
        },
      ),
      { numRuns: 200 },
    );
  });

  test("specific refusals name the line and column", () => {
    const cases: { edit: (t: string) => string; reason: string; at: (t: string) => number }[] = [
      {
        edit: (t) => t.replace("\topts.keyring_id = skel->keyring_id;", "\topts.keyring_id = 7;"),
        reason: "unexpected-text",
        at: (t) => t.indexOf("\topts.keyring_id = 7;") + "\topts.keyring_id = ".length,
      },
      {
        edit: (t) =>
          t.replace("#endif /* __PROG_D_SKEL_H__ */\n", "#endif /* __PROG_D_SKEL_H__ */"),
        reason: "truncated",
        at: (t) => t.length,
      },
      {
        edit: (t) => `${t}/* trailing */\n`,
        reason: "unexpected-text",
        at: (t) => t.indexOf("/* trailing */"),
      },
      {
        edit: (t) =>
          t.replace(
            "\t\t\t\t\t4096, PROT_READ, skel->maps.rodata.map_fd);",
            "\t\t\t\t\t8192, PROT_READ, skel->maps.rodata.map_fd);",
          ),
        reason: "unexpected-text",
        at: (t) => t.indexOf("8192, PROT_READ"),
      },
      {
        edit: (t) =>
          t.replace("\tstruct {\n\t\tstruct bpf_prog_desc", "\tstruct {\n\t\tstruct bpf_prog_desk"),
        reason: "unexpected-text",
        at: (t) => t.indexOf("\t\tstruct bpf_prog_desk"),
      },
      {
        edit: (t) =>
          t.replace("\t} progs;\n", "\t} progs;\n\tstruct {\n\t\tstruct x *y;\n\t} struct_ops;\n"),
        reason: "unsupported",
        at: (t) => t.indexOf("\t} struct_ops;"),
      },
      {
        edit: (t) => t.replace(/\n/g, "\r\n"),
        reason: "unexpected-text",
        at: (t) => t.indexOf("\r"),
      },
    ];
    for (const c of cases) {
      const text = c.edit(signedText);
      assert.notEqual(text, signedText);
      const e = refuse(text);
      assert.equal(e.reason, c.reason, e.message);
      assert.deepEqual([e.line, e.column], position(text, c.at(text)), e.message);
    }
  });

  test("sizes that disagree with their arrays are inconsistent", () => {
    const text = unsigned
      .toString("latin1")
      .replace("\topts.data_sz = 3696;", "\topts.data_sz = 3695;");
    const e = refuse(text);
    assert.equal(e.reason, "inconsistent");
    assert.deepEqual([e.line, e.column], position(text, text.indexOf("3695")));
  });

  test("empty and binary input", () => {
    assert.equal(refuse("").reason, "truncated");
    assert.equal(refuse(new Uint8Array([0, 1, 2, 0x0a])).reason, "unexpected-text");
    assert.equal(
      refuse("/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */\n").reason,
      "truncated",
    );
  });
});
