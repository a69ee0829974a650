/**
 * Interpreter vs kernel on generated programs: ≥ 500 programs load and run on the host and on
 * the model (mainline-6.18 with the interpreter); the model must load every one of them and
 * give the same retval and ctx. Every mismatch fails with the program's disassembly.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeInsns } from "../../src/insn/index.js";
import { hostSkip } from "../support/host.js";
import { describeMismatch, soak } from "./interp_diff.js";
import { CTX_SIZE, generateProgram } from "./progen.js";

const COUNT = 1000;

test("the generator is deterministic per seed and varies across seeds", () => {
  const a = generateProgram(42);
  const b = generateProgram(42);
  assert.deepEqual(encodeInsns(a.insns), encodeInsns(b.insns));
  assert.deepEqual(a.ctx, b.ctx);
  assert.equal(a.ctx.length, CTX_SIZE);
  assert.notDeepEqual(encodeInsns(generateProgram(43).insns), encodeInsns(a.insns));
});

describe("generated programs: host vs model", { skip: hostSkip("syscallProg", "testRun") }, () => {
  const report = soak(COUNT);

  test(`${COUNT} programs load and run on the host`, (t) => {
    t.diagnostic(`ran ${report.count} programs on the host`);
    const lines = report.hostFailures.slice(0, 3).map((m) => describeMismatch("host failure", m));
    assert.equal(report.hostFailures.length, 0, lines.join("\n"));
  });

  test("the model loads every program the host loads", () => {
    const lines = report.loadMismatches
      .slice(0, 3)
      .map((m) => describeMismatch("model refused", m));
    assert.equal(report.loadMismatches.length, 0, lines.join("\n"));
  });

  test("results agree (retval and every register stored into the ctx)", (t) => {
    t.diagnostic(`agreement ${report.count - report.runMismatches.length}/${report.count}`);
    const lines = report.runMismatches.map((m) => describeMismatch("mismatch", m));
    assert.equal(report.runMismatches.length, 0, lines.join("\n"));
  });
});
