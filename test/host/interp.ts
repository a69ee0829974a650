/**
 * Running a generated program on any backend (`runOn`) and comparing two runs: load it as a
 * sleepable SYSCALL program, BPF_PROG_TEST_RUN it with its ctx, and return retval and the ctx
 * the program left behind — or the step that failed with its errno.
 */
import { encodeInsns } from "../../src/insn/index.js";
import type { BpfBackend } from "../../src/uapi/backend.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, ProgType } from "../../src/uapi/constants.js";
import { BpfError } from "../../src/uapi/errno.js";
import type { GeneratedProgram } from "./progen.js";

export type RunResult =
  | { readonly ok: true; readonly retval: number; readonly ctx: string }
  | {
      readonly ok: false;
      readonly stage: "load" | "run";
      readonly errno: string;
      readonly log: string;
    };

export function runOn(backend: BpfBackend, program: GeneratedProgram): RunResult {
  const bpf = new Bpf(backend);
  let fd: number;
  try {
    fd = bpf.progLoad({
      prog_type: ProgType.SYSCALL,
      prog_flags: BPF_F_SLEEPABLE,
      insns: encodeInsns(program.insns),
      prog_name: "progen",
    }).fd;
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    // Load again with a log to say why (only on failure, the log is costly).
    let log = e.log;
    try {
      bpf.progLoad({
        prog_type: ProgType.SYSCALL,
        prog_flags: BPF_F_SLEEPABLE,
        insns: encodeInsns(program.insns),
        log_size: 1 << 16,
      });
    } catch (e2) {
      if (e2 instanceof BpfError) log = e2.log;
    }
    return { ok: false, stage: "load", errno: e.errnoName, log };
  }
  try {
    const r = bpf.progTestRun({ prog_fd: fd, ctx_in: program.ctx });
    return {
      ok: true,
      retval: r.retval,
      ctx: Buffer.from(r.ctx ?? new Uint8Array()).toString("hex"),
    };
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    return { ok: false, stage: "run", errno: e.errnoName, log: "" };
  } finally {
    backend.close(fd);
  }
}

export function sameRun(a: RunResult, b: RunResult): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
