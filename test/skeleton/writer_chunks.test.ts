import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  encodedLiteralLength,
  encodeLiteral,
  encodeLiteralInto,
  type LightSkeleton,
  literalEndWidth,
  loaderCtxSize,
  SIGNED_DIALECT,
  writeLightSkeleton,
  writeLightSkeletonChunks,
  writeSignedSkeleton,
  writeSignedSkeletonChunks,
} from "../../src/skeleton/index.js";
import { KEYS, vectorSkeleton } from "../support/vector_skeleton.js";
import { PROGS, readVector, skipVectors } from "../support/vectors.js";

/** Joins pieces (of `serializeChunks` or any other) into one new buffer. */
function concatChunks(chunks: Iterable<Uint8Array>): Uint8Array {
  const copies: Uint8Array[] = [];
  let size = 0;
  for (const c of chunks) {
    copies.push(Uint8Array.prototype.slice.call(c));
    size += c.length;
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const c of copies) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

function skeleton(data: Uint8Array, insns: Uint8Array): LightSkeleton {
  return {
    name: "chunks",
    dialect: SIGNED_DIALECT,
    maps: [{ name: "m", mmap: null }],
    progs: [{ name: "p", attach: { kind: "none" } }],
    links: ["p_fd"],
    hasKeyringId: false,
    views: [],
    asserts: [],
    data,
    insns,
    signature: null,
    exclHash: null,
    ctxSize: loaderCtxSize(1, 1),
  };
}

/** Copies every piece as it comes (the pieces share one buffer) and checks their sizes. */
function pieces(chunks: Iterable<Uint8Array>, chunkSize: number): Uint8Array {
  const all: Uint8Array[] = [];
  for (const c of chunks) {
    assert.ok(c.length > 0, "no empty piece");
    all.push(c.slice());
  }
  // a piece is larger than the chunk size only when it is one head line alone
  for (const c of all) assert.ok(c.length <= chunkSize || !c.includes(0x0a));
  return new Uint8Array(Buffer.concat(all));
}

describe("literal encoding in pieces", () => {
  test("a literal encoded in pieces equals the literal encoded at once", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat(600), { maxLength: 8 }),
        (bytes, cuts) => {
          const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort(
            (a, b) => a - b,
          );
          const out = new Uint8Array(encodedLiteralLength(bytes));
          let pos = 0;
          let width = 0;
          let from = 0;
          for (const to of [...points, bytes.length]) {
            pos = encodeLiteralInto(bytes.subarray(from, to), out, pos, width);
            width = literalEndWidth();
            from = to;
          }
          assert.equal(pos, out.length);
          assert.equal(Buffer.from(out).toString("latin1"), encodeLiteral(bytes));
        },
      ),
    );
  });
});

describe("chunked header writer", () => {
  test("pieces of any size join to the single-buffer header (random data and sizes)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 5000 }),
        fc.uint8Array({ minLength: 8, maxLength: 400 }),
        fc.integer({ min: 64, max: 3000 }),
        fc.boolean(),
        (data, insnsRaw, chunkSize, signed) => {
          const insns = insnsRaw.subarray(0, insnsRaw.length & ~7);
          const s = skeleton(data, insns);
          const whole = signed
            ? writeSignedSkeleton(s, { signature: data.subarray(0, 300) })
            : writeLightSkeleton(s);
          const chunks = signed
            ? writeSignedSkeletonChunks(s, { signature: data.subarray(0, 300) }, chunkSize)
            : writeLightSkeletonChunks(s, chunkSize);
          assert.deepEqual(pieces(chunks, chunkSize), whole);
        },
      ),
      { numRuns: 150 },
    );
  });

  test("a 3 MiB blob with zeros: default pieces, concatChunks equals the one buffer", () => {
    const data = new Uint8Array(3 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 27;
    const s = skeleton(data, new Uint8Array(64).fill(0x95));
    const whole = writeSignedSkeleton(s, { signature: new Uint8Array(256).fill(7) });
    const joined = concatChunks(
      writeSignedSkeletonChunks(s, { signature: new Uint8Array(256).fill(7) }),
    );
    assert.deepEqual(joined, whole);
    let count = 0;
    for (const c of writeSignedSkeletonChunks(s, { signature: new Uint8Array(1) })) {
      assert.ok(c.length <= 1 << 20);
      count++;
    }
    assert.ok(count >= 12, `a 12 MB header comes in at least 12 pieces (got ${count})`);
  });

  test("a chunk size below 64 bytes is refused", () => {
    const s = skeleton(new Uint8Array(4), new Uint8Array(8));
    assert.throws(() => [...writeLightSkeletonChunks(s, 63)], RangeError);
  });
});

describe("chunked writer on the vectors", { skip: skipVectors }, () => {
  for (const prog of PROGS) {
    test(`${prog}: pieces equal the single-buffer signed header per key`, () => {
      const base = vectorSkeleton(prog, true);
      for (const key of KEYS) {
        const sig = readVector(prog, `sig.${key}.der`);
        const whole = writeSignedSkeleton(base, { signature: sig });
        for (const size of [64, 1000, 1 << 20]) {
          assert.deepEqual(
            pieces(writeSignedSkeletonChunks(base, { signature: sig }, size), size),
            whole,
          );
        }
      }
    });
  }
});
