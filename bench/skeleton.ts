/**
 * Light-skeleton reader and writer speed: a signed v2 header carrying a 15 MiB metadata blob
 * (random bytes, a quarter of them zero, so both `\0` and `\xhh` escapes occur) is parsed and
 * written; throughput is header text per second, next to SHA-256 of the same header bytes and of
 * the raw blob, measured in the same run (in turn, one call of each per round, in CPU time).
 *
 * Goals (issue 11): parse and write each at least as fast as SHA-256 of the same header text.
 * The write row is given twice: as the API does it (into a new buffer, whose pages the kernel
 * has to fault in on first touch) and the page faults alone (a new buffer of the header's size,
 * filled), which is the floor any writer returning fresh memory pays.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import {
  type LightSkeleton,
  loaderCtxSize,
  parseLightSkeleton,
  SIGNED_DIALECT,
  writeSignedSkeleton,
  writeSignedSkeletonChunks,
} from "../src/skeleton/index.js";
import { goal, interleavedMedians, ms, row } from "./util.js";

const BLOB = 15 << 20;
const ROUNDS = 11;
/** Unmeasured rounds first: the first rounds after the previous section fault its memory in again. */
const WARMUP = 2;

function blob(): Uint8Array {
  const b = new Uint8Array(randomBytes(BLOB));
  for (let i = 0; i < b.length; i += 4) b[i] = 0;
  return b;
}

function skeleton(data: Uint8Array): LightSkeleton {
  return {
    name: "bench",
    dialect: SIGNED_DIALECT,
    maps: [{ name: "m", mmap: null }],
    progs: [{ name: "p", attach: { kind: "none" } }],
    links: ["p_fd"],
    hasKeyringId: false,
    views: [],
    asserts: [],
    data,
    insns: new Uint8Array(randomBytes(8 * 2000)),
    signature: null,
    exclHash: null,
    ctxSize: loaderCtxSize(1, 1),
  };
}

export function run(): void {
  const data = blob();
  const skel = skeleton(data);
  const header = writeSignedSkeleton(skel, {
    signature: new Uint8Array(randomBytes(375)),
  });
  const mb = header.length / 1e6;
  const sha = () => void createHash("sha256").update(header).digest();
  // two groups, each with its own SHA-256 rounds: the writer's 56 MB allocations would otherwise
  // change what the reader's allocations cost
  const [parse, shaText, shaBlob] = interleavedMedians(
    [
      () => void parseLightSkeleton(header),
      sha,
      () => void createHash("sha256").update(data).digest(),
    ],
    ROUNDS,
    WARMUP,
  );
  // the chunked writer as a file writer uses it: every 1 MiB piece written to a descriptor
  // (/dev/null, so that the page cache's copy, the same for any writer, is not counted), in a
  // group of its own: the one-buffer writer's and the fill's 56 MB allocations would leave their
  // garbage collection to whoever runs next
  const devNull = openSync("/dev/null", "w");
  const [chunked, shaText2] = interleavedMedians(
    [
      () => {
        for (const c of writeSignedSkeletonChunks(skel, { signature: new Uint8Array(375) }))
          writeSync(devNull, c);
      },
      sha,
    ],
    ROUNDS,
    WARMUP,
  );
  const [write, shaText3, touch] = interleavedMedians(
    [
      () => void writeSignedSkeleton(skel, { signature: new Uint8Array(375) }),
      sha,
      () => void Buffer.allocUnsafe(header.length).fill(0x5c),
    ],
    ROUNDS,
    WARMUP,
  );
  closeSync(devNull);
  const rate = (t: number): string => `${((mb / t) * 1000).toFixed(0)} MB/s`;
  console.log(
    `light skeleton: signed v2 header with a 15 MiB blob (${mb.toFixed(1)} MB of text), median of ${ROUNDS}`,
  );
  const w = [44, 12, 12];
  console.log(row(["", "time", "text rate"], w));
  console.log(row(["parse (parseLightSkeleton)", ms(parse), rate(parse)], w));
  console.log(row(["write (writeSignedSkeleton)", ms(write), rate(write)], w));
  console.log(row(["write in 1 MiB pieces to a fd (…Chunks)", ms(chunked), rate(chunked)], w));
  console.log(row(["sha256 of the header text", ms(shaText), rate(shaText)], w));
  console.log(row(["  (again, in the chunked write rounds)", ms(shaText2), rate(shaText2)], w));
  console.log(row(["  (again, in the one-buffer write rounds)", ms(shaText3), rate(shaText3)], w));
  console.log(row(["sha256 of the 15 MiB blob", ms(shaBlob), ""], w));
  console.log(row(["a new buffer of the header's size, filled", ms(touch), rate(touch)], w));
  goal({
    name: "header parse",
    value: shaText / parse,
    unit: "x",
    kind: "min",
    target: 1.0,
    what: "parse rate / SHA-256 rate of the header text",
  });
  goal({
    name: "header write",
    value: shaText2 / chunked,
    unit: "x",
    kind: "min",
    target: 1.0,
    what: `chunked write to a fd / SHA-256 rate; into one new buffer ${(shaText3 / write).toFixed(2)}x, a new buffer of the header's size, filled, alone ${(shaText3 / touch).toFixed(2)}x`,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) run();
