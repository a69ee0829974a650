/**
 * BpfGen (src/gen/gen_loader.ts) against libbpf's own gen_loader output.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PROGS, REPO_ROOT, readVector, skipVectors } from "../support/vectors.js";
import { decodeBlob } from "./gen_loader_blob.js";
import { firstDiff, replay } from "./gen_loader_calls.js";

const FIXTURES = join(REPO_ROOT, "test/fixtures/gen_loader");
function readFixture(dir: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, dir, file)));
}

for (const prog of PROGS) {
  test(`vector ${prog}: replaying the calls decoded from data.bin gives libbpf's bytes`, {
    skip: skipVectors,
  }, () => {
    const data = readVector(prog, "data.bin");
    const { calls } = decodeBlob(data);
    for (const [mode, genHash] of [
      ["unsigned", false],
      ["signed", true],
    ] as const) {
      const want = readVector(prog, `insns.${mode}.bin`);
      const out = replay(calls, { genHash });
      assert.equal(firstDiff(out.data, data), "equal", `${prog} data (${mode})`);
      assert.equal(firstDiff(out.insns, want), "equal", `${prog} insns (${mode})`);
    }
  });
}

for (const [dir, swapped] of [
  ["global_data_le", false],
  ["global_data_be", true],
] as const) {
  test(`bpftool-v2 ${dir}: replay is byte-identical${swapped ? " (big-endian target, swappedEndian)" : ""}`, () => {
    const data = readFixture(dir, "data.bin");
    const { calls } = decodeBlob(data, { swapped });
    for (const [mode, genHash] of [
      ["unsigned", false],
      ["signed", true],
    ] as const) {
      const want = readFixture(dir, `insns.${mode}.bin`);
      const out = replay(calls, { genHash, swappedEndian: swapped });
      assert.equal(firstDiff(out.data, data), "equal", `${dir} data (${mode})`);
      assert.equal(firstDiff(out.insns, want), "equal", `${dir} insns (${mode})`);
    }
  });
}
