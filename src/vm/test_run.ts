/**
 * BPF_PROG_TEST_RUN for the program types the interpreter runs: bpf_prog_test_run_syscall()
 * for SYSCALL programs and bpf_prog_test_run_skb() for socket programs. An interpreter error
 * (a fault, the budget) fails the run with EFAULT and is kept in kernel.lastRunError.
 */
import type { BpfProg } from "../kernel/prog.js";
import type { SyscallCtx, TestRunIo, TestRunner } from "../kernel/state.js";
import { Limits } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import { VmError } from "./errors.js";
import { runProg } from "./run.js";
import { buildSkb, skbCtxOut } from "./skb.js";

const U32_MAX = 0xffffffff;

export interface RunnerOptions {
  /** Instruction budget of each run. */
  readonly budget?: number;
}

function guarded(ctx: SyscallCtx, fn: () => bigint): bigint | number {
  try {
    ctx.kernel.lastRunError = null;
    return fn();
  } catch (e) {
    if (!(e instanceof VmError)) throw e;
    ctx.kernel.lastRunError = e;
    return -Errno.EFAULT;
  }
}

/** bpf_prog_test_run_syscall() */
export function syscallTestRunner(opts: RunnerOptions = {}): TestRunner {
  return (ctx: SyscallCtx, prog: BpfProg, io: TestRunIo): number => {
    const a = io.attr;
    if (a.data_in || a.data_out || a.ctx_out || a.duration || a.repeat || a.flags || a.batch_size) {
      return -Errno.EINVAL;
    }
    if (a.ctx_size_in < prog.aux.max_ctx_offset || a.ctx_size_in > Limits.SYSCALL_CTX_MAX) {
      return -Errno.EINVAL;
    }
    const ctxBuf = io.ctx_in ? io.ctx_in.slice() : null;
    ctx.kernel.innerFailure = null;
    const r0 = guarded(ctx, () =>
      runProg(ctx.kernel, ctx.proc, prog, { ctx: ctxBuf, budget: opts.budget }),
    );
    if (typeof r0 === "number") return r0;
    io.retval = Number(r0 & 0xffffffffn);
    io.ctx_out = ctxBuf;
    return 0;
  };
}

/** MAX_BPF_FUNC_ARGS */
const MAX_ARGS = 12;

/**
 * bpf_prog_test_run_raw_tp(): runs a raw tracepoint program once with ctx_in as the
 * tracepoint's arguments (u64 each); no data, no ctx_out, no repeat.
 */
export function rawTpTestRunner(opts: RunnerOptions = {}): TestRunner {
  return (ctx: SyscallCtx, prog: BpfProg, io: TestRunIo): number => {
    const a = io.attr;
    if (a.data_in || a.data_out || a.ctx_out || a.duration || a.repeat || a.batch_size) {
      return -Errno.EINVAL;
    }
    if (a.ctx_size_in < prog.aux.max_ctx_offset || a.ctx_size_in > MAX_ARGS * 8) {
      return -Errno.EINVAL;
    }
    if (a.flags & ~1 || (!(a.flags & 1) && a.cpu)) return -Errno.EINVAL;
    const args = new Uint8Array(MAX_ARGS * 8);
    if (io.ctx_in) args.set(io.ctx_in.subarray(0, a.ctx_size_in));
    const r0 = guarded(ctx, () =>
      runProg(ctx.kernel, ctx.proc, prog, { ctx: args, budget: opts.budget }),
    );
    if (typeof r0 === "number") return r0;
    io.retval = Number(r0 & 0xffffffffn);
    return 0;
  };
}

/** bpf_prog_test_run_skb(); `isL2` for tc programs, whose skb->data starts at the MAC header. */
export function skbTestRunner(isL2: boolean, opts: RunnerOptions = {}): TestRunner {
  return (ctx: SyscallCtx, prog: BpfProg, io: TestRunIo): number => {
    const a = io.attr;
    if (a.flags || a.cpu || a.batch_size) return -Errno.EINVAL;
    const skb = buildSkb(io.data_in, io.ctx_in, isL2);
    if (typeof skb === "number") return skb;
    const repeat = a.repeat || 1;
    let r0: bigint | number = 0n;
    const start = process.hrtime.bigint();
    for (let i = 0; i < repeat; i++) {
      r0 = guarded(ctx, () =>
        runProg(ctx.kernel, ctx.proc, prog, {
          ctx: skb.ctx,
          skbData: skb.data,
          budget: opts.budget,
        }),
      );
      if (typeof r0 === "number") return r0;
    }
    const ns = Number(process.hrtime.bigint() - start) / repeat;
    io.duration = Math.min(Math.round(ns), U32_MAX);
    io.retval = Number((r0 as bigint) & 0xffffffffn);
    io.data_out = skb.frame.slice();
    io.ctx_out = skbCtxOut(skb.ctx);
    return 0;
  };
}
