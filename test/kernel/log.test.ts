/**
 * The verifier log (kernel/bpf/log.c as kernel-semantics §4.1 describes it): bpf_vlog_init()
 * argument checks, the rotating and BPF_LOG_FIXED modes, log_true_size, ENOSPC when the buffer
 * was too small (which turns even a successful load into a failure), and faults.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mov64Imm } from "../../src/insn/index.js";
import { VerifierLog } from "../../src/kernel/log.js";
import { Prot } from "../../src/uapi/backend.js";
import { BpfCmd, LogLevel, ProgType } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { decode, ProgLoadAttr } from "../../src/uapi/layout.js";
import { insns, load, RET0, socketFilter, sys, world } from "./support.js";

/** A raw PROG_LOAD of a socket filter with the given log fields. */
function rawLoad(
  w: ReturnType<typeof world>,
  log: { log_level?: number; log_size?: number; log_buf?: bigint },
  code = RET0,
) {
  const r = sys(w.proc, BpfCmd.PROG_LOAD, ProgLoadAttr, {
    prog_type: ProgType.SOCKET_FILTER,
    insn_cnt: code.length / 8,
    insns: w.proc.memory.alloc(code),
    license: w.proc.memory.alloc(new TextEncoder().encode("GPL\0")),
    ...log,
  });
  return { ret: r.ret, log_true_size: decode(ProgLoadAttr, r.attr).log_true_size };
}

/** A program whose log is longer than a few bytes: a failing one logs its error line too. */
const FAILING = insns(mov64Imm(0, 0), mov64Imm(0, 1));
const PROCESSED =
  "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";

describe("bpf_vlog_init() argument checks → EINVAL", () => {
  test("log_buf without log_size", () => {
    const w = world();
    assert.equal(rawLoad(w, { log_level: 1, log_buf: w.proc.memory.alloc(64) }).ret, -Errno.EINVAL);
  });

  test("log_size without log_buf", () => {
    const w = world();
    assert.equal(rawLoad(w, { log_level: 1, log_size: 64 }).ret, -Errno.EINVAL);
  });

  test("log_level 0 with a buffer", () => {
    const w = world();
    assert.equal(
      rawLoad(w, { log_level: 0, log_size: 64, log_buf: w.proc.memory.alloc(64) }).ret,
      -Errno.EINVAL,
    );
  });

  test("log_level > 15 (outside BPF_LOG_MASK)", () => {
    const w = world();
    for (const level of [16, 17, 0x80000000]) {
      assert.equal(
        rawLoad(w, { log_level: level, log_size: 64, log_buf: w.proc.memory.alloc(64) }).ret,
        -Errno.EINVAL,
        `level ${level}`,
      );
    }
  });

  test("log_size > UINT_MAX >> 2; exactly UINT_MAX >> 2 is accepted", () => {
    const w = world();
    const buf = w.proc.memory.alloc(4096);
    assert.equal(
      rawLoad(w, { log_level: 1, log_size: 0x40000000, log_buf: buf }).ret,
      -Errno.EINVAL,
    );
    const ok = rawLoad(w, { log_level: 1, log_size: 0x3fffffff, log_buf: buf });
    assert.ok(ok.ret >= 3, `errno ${-ok.ret}`);
    assert.equal(new TextDecoder().decode(w.proc.memory.read(buf, PROCESSED.length)), PROCESSED);
  });

  test("every level inside the mask is accepted (1, 2, 4, 8|1, 15)", () => {
    const w = world();
    for (const level of [1, 2, 4, 9, 15]) {
      // level 2 writes the instruction trace on success too (about 250 bytes here)
      const r = rawLoad(w, {
        log_level: level,
        log_size: 1024,
        log_buf: w.proc.memory.alloc(1024),
      });
      assert.ok(r.ret >= 3, `level ${level}: errno ${-r.ret}`);
    }
  });

  test("VerifierLog.init mirrors the same rules", () => {
    assert.equal(VerifierLog.init(1, 0x1000n, 0), -Errno.EINVAL);
    assert.equal(VerifierLog.init(1, 0n, 10), -Errno.EINVAL);
    assert.equal(VerifierLog.init(0, 0x1000n, 10), -Errno.EINVAL);
    assert.equal(VerifierLog.init(16, 0x1000n, 10), -Errno.EINVAL);
    assert.ok(VerifierLog.init(0, 0n, 0) instanceof VerifierLog);
    assert.ok(VerifierLog.init(1, 0x1000n, 10) instanceof VerifierLog);
  });
});

describe("log contents, truncation and log_true_size", () => {
  test("a successful load logs the processed line; log_true_size = length + 1", () => {
    const w = world();
    const r = w.bpf.progLoad(socketFilter(RET0, { log_size: 4096 }));
    assert.equal(r.log, PROCESSED);
    assert.equal(r.log_true_size, PROCESSED.length + 1);
  });

  test("a too-small buffer on an otherwise successful load → ENOSPC, no program", () => {
    const w = world();
    const buf = w.proc.memory.alloc(32);
    const r = rawLoad(w, { log_level: 1, log_size: 32, log_buf: buf });
    assert.equal(r.ret, -Errno.ENOSPC);
    assert.equal(r.log_true_size, PROCESSED.length + 1);
    assert.equal(w.kernel.progs.size, 0);
    assert.deepEqual(w.proc.bpfFds(), []);
  });

  test("a buffer of exactly log_true_size bytes is enough; one byte less is ENOSPC", () => {
    const w = world();
    const size = PROCESSED.length + 1;
    const exact = rawLoad(w, { log_level: 1, log_size: size, log_buf: w.proc.memory.alloc(size) });
    assert.ok(exact.ret >= 3, `errno ${-exact.ret}`);
    const short = rawLoad(w, {
      log_level: 1,
      log_size: size - 1,
      log_buf: w.proc.memory.alloc(size),
    });
    assert.equal(short.ret, -Errno.ENOSPC);
  });

  test("ENOSPC also replaces a verification error", () => {
    const w = world();
    const r = rawLoad(w, { log_level: 1, log_size: 8, log_buf: w.proc.memory.alloc(8) }, FAILING);
    assert.equal(r.ret, -Errno.ENOSPC);
    const full = load(w.bpf, socketFilter(FAILING, { log_size: 4096 }));
    assert.equal(full.errno, Errno.EINVAL);
    assert.equal(r.log_true_size, Buffer.byteLength(full.log) + 1);
  });

  test("rotating mode (default) keeps the tail, NUL-terminated", () => {
    const w = world();
    const buf = w.proc.memory.alloc(new Uint8Array(16).fill(0xee));
    const r = rawLoad(w, { log_level: 1, log_size: 16, log_buf: buf });
    assert.equal(r.ret, -Errno.ENOSPC);
    const out = w.proc.memory.read(buf, 16);
    assert.equal(out[15], 0);
    assert.equal(new TextDecoder().decode(out.subarray(0, 15)), PROCESSED.slice(-15));
  });

  test("BPF_LOG_FIXED (8) keeps the head, NUL-terminated", () => {
    const w = world();
    const buf = w.proc.memory.alloc(new Uint8Array(16).fill(0xee));
    const r = rawLoad(w, { log_level: 1 | LogLevel.FIXED, log_size: 16, log_buf: buf });
    assert.equal(r.ret, -Errno.ENOSPC);
    const out = w.proc.memory.read(buf, 16);
    assert.equal(out[15], 0);
    assert.equal(new TextDecoder().decode(out.subarray(0, 15)), PROCESSED.slice(0, 15));
  });

  test("the error line comes before the processed line", () => {
    const w = world();
    const r = load(w.bpf, socketFilter(FAILING, { log_size: 4096 }));
    assert.equal(
      r.log,
      `last insn is not an exit or jmp\n${PROCESSED.replace("processed 2", "processed 0")}`,
    );
  });

  test("level 0: nothing is written and log_true_size is 0", () => {
    const w = world();
    const buf = w.proc.memory.alloc(new Uint8Array(64).fill(0xee));
    const r = rawLoad(w, {});
    assert.ok(r.ret >= 3);
    assert.equal(r.log_true_size, 0);
    assert.deepEqual(w.proc.memory.read(buf, 64), new Uint8Array(64).fill(0xee));
    const f = rawLoad(w, {}, FAILING);
    assert.equal(f.ret, -Errno.EINVAL);
    assert.equal(f.log_true_size, 0);
  });

  test("a log buffer at an unmapped or read-only address → EFAULT", () => {
    const w = world();
    assert.equal(rawLoad(w, { log_level: 1, log_size: 64, log_buf: 0x10n }).ret, -Errno.EFAULT);
    const ro = w.proc.memory.alloc(4096);
    assert.equal(w.proc.mprotect(ro, 4096, Prot.READ), 0);
    assert.equal(rawLoad(w, { log_level: 1, log_size: 4096, log_buf: ro }).ret, -Errno.EFAULT);
    assert.equal(w.kernel.progs.size, 0);
  });

  test("a load that fails before bpf_check() (bad prog_name) writes no log", () => {
    const w = world();
    const r = load(w.bpf, socketFilter(RET0, { log_size: 4096, prog_name: "bad name" }));
    assert.equal(r.errno, Errno.EINVAL);
    assert.equal(r.log, "");
  });

  test("multi-byte log text is counted in bytes", () => {
    const log = VerifierLog.init(1, 0x1000n, 100) as VerifierLog;
    log.verbose("é\n");
    let written: Uint8Array | null = null;
    const { err, trueSize } = log.finalize({
      write: (_a, d) => {
        written = d;
        return true;
      },
    });
    assert.equal(err, 0);
    assert.equal(trueSize, 4);
    assert.deepEqual(written, new Uint8Array([0xc3, 0xa9, 0x0a, 0]));
  });

  test("VerifierLog.none() records nothing", () => {
    const log = VerifierLog.none();
    log.verbose("x\n");
    assert.equal(log.text, "");
    assert.deepEqual(log.finalize({ write: () => false }), { err: 0, trueSize: 0 });
  });
});
