/**
 * The model kernel: its global state (state.ts) and the processes that call it. spawn() makes a
 * process, whose bpf() enters the syscall layer (process.ts -> syscall.ts -> syscall_*.ts ->
 * verifier.ts -> signature.ts), every step of which works on the state below it.
 */
import { ModelProcess } from "./process.js";
import { KernelState } from "./state.js";
import type { Caps } from "./types.js";

export type { KernelOptions, TestRunIo, TestRunner } from "./state.js";

export class ModelKernel extends KernelState {
  private nextPid = 1000;

  /** A new process (root with CAP_BPF unless `caps` says otherwise). */
  spawn(caps: Partial<Caps> = {}): ModelProcess {
    return new ModelProcess(this, this.nextPid++, caps);
  }
}
