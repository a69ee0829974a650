/**
 * BpfGen (src/gen/gen_loader.ts) against libbpf's own gen_loader output.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { PROGS, readVector, skipVectors } from "../support/vectors.js";
import { decodeBlob } from "./gen_loader_blob.js";
import { firstDiff, replay } from "./gen_loader_calls.js";

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
