/**
 * A failed load's BpfError leads with the verifier log line that says why, not with the
 * "processed N insns …" statistics the log ends with.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LoaderError, LoaderStep } from "../../src/loader/load_and_run.js";
import { BpfError, Errno, verifierLogReason } from "../../src/uapi/errno.js";
import { insns, RET0, rawInsn, socketFilter, world } from "./support.js";

test("an unknown opcode's error message leads with 'unknown opcode ff'", () => {
  const { bpf } = world();
  assert.throws(
    () => bpf.progLoad(socketFilter(insns(rawInsn(0xff, 0, 0, 0, 0), RET0), { log_size: 4096 })),
    (e: unknown) => {
      assert.ok(e instanceof BpfError);
      assert.equal(e.code, "BPF_EINVAL");
      assert.equal(e.message, "unknown opcode ff: BPF_PROG_LOAD failed with EINVAL (22)");
      // The log still holds everything, statistics line last.
      assert.match(e.log, /unknown opcode ff\nprocessed 0 insns/);
      return true;
    },
  );
});

test("without a log the message is the failed call alone", () => {
  const { bpf } = world();
  assert.throws(
    () => bpf.progLoad(socketFilter(insns(rawInsn(0xff, 0, 0, 0, 0), RET0))),
    (e: unknown) =>
      e instanceof BpfError && e.message === "BPF_PROG_LOAD failed with EINVAL (22)" && !e.log,
  );
});

test("the reason line skips the statistics and blank lines a verifier log ends with", () => {
  const log = [
    "func#0 @0",
    "0: R1=ctx() R10=fp0",
    "R3 !read_ok",
    "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
    "verification time 12 usec",
    "stack depth 0",
    "",
  ].join("\n");
  assert.equal(verifierLogReason(log), "R3 !read_ok");
  assert.equal(verifierLogReason("processed 0 insns (limit 1000000)\n"), "");
  assert.equal(verifierLogReason(""), "");
  assert.equal(
    new BpfError("BPF_PROG_LOAD", Errno.EACCES, log).message,
    "R3 !read_ok: BPF_PROG_LOAD failed with EACCES (13)",
  );
  // A log of only statistics says nothing: the message is the failed call alone.
  assert.equal(
    new BpfError("BPF_PROG_LOAD", Errno.EINVAL, "processed 0 insns (limit 1000000)\n").message,
    "BPF_PROG_LOAD failed with EINVAL (22)",
  );
});

test("a loader's negative return value does not quote the log of its successful load", () => {
  const e = new LoaderError(LoaderStep.RETVAL, Errno.EINVAL, "signature verification passed\n");
  assert.equal(
    e.message,
    "bpf_load_and_run: error returned by loader prog failed with EINVAL (22)",
  );
  assert.equal(e.log, "signature verification passed\n");
});
