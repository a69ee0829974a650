/**
 * Light-skeleton reader and writer speed: a signed v2 header carrying a 15 MiB metadata blob
 * (random bytes, a quarter of them zero, so both `\0` and `\xhh` escapes occur) is parsed and
 * written; throughput is header text per second, next to SHA-256 of the same header bytes and of
 * the raw blob, measured in the same run.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  type LightSkeleton,
  loaderCtxSize,
  parseLightSkeleton,
  SIGNED_DIALECT,
  writeSignedSkeleton,
} from "../src/skeleton/index.js";
import { medianMs, ms, row } from "./util.js";

const BLOB = 15 << 20;

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
  const header = writeSignedSkeleton(skeleton(data), {
    signature: new Uint8Array(randomBytes(375)),
  });
  const mb = header.length / 1e6;
  const parse = medianMs(() => void parseLightSkeleton(header), 5);
  const write = medianMs(
    () => void writeSignedSkeleton(skeleton(data), { signature: new Uint8Array(375) }),
    5,
  );
  const shaText = medianMs(() => void createHash("sha256").update(header).digest(), 5);
  const shaBlob = medianMs(() => void createHash("sha256").update(data).digest(), 5);
  const rate = (t: number): string => `${((mb / t) * 1000).toFixed(0)} MB/s`;
  console.log(
    `light skeleton: signed v2 header with a 15 MiB blob (${mb.toFixed(1)} MB of text), median of 5`,
  );
  const w = [34, 12, 12];
  console.log(row(["", "time", "text rate"], w));
  console.log(row(["parse (parseLightSkeleton)", ms(parse), rate(parse)], w));
  console.log(row(["write (writeSignedSkeleton)", ms(write), rate(write)], w));
  console.log(row(["sha256 of the header text", ms(shaText), rate(shaText)], w));
  console.log(row(["sha256 of the 15 MiB blob", ms(shaBlob), ""], w));
}

if (import.meta.url === `file://${process.argv[1]}`) run();
