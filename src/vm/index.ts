/**
 * The eBPF interpreter for the model kernel. `installInterpreter(kernel)` registers the
 * BPF_PROG_TEST_RUN runners (SYSCALL and the skb program types); `createModelKernel()` is a
 * ModelKernel with them installed, which is what everything above the kernel uses.
 */
import { type KernelOptions, ModelKernel } from "../kernel/kernel.js";
import { ProgType } from "../uapi/constants.js";
import { BpfLsm } from "./bpf_lsm.js";
import {
  type RunnerOptions,
  rawTpTestRunner,
  skbTestRunner,
  syscallTestRunner,
} from "./test_run.js";

export { BpfLsm, type BpfLsmDecision } from "./bpf_lsm.js";
export * from "./errors.js";
export { type ExecuteOptions, type ExecuteResult, execute } from "./execute.js";
export { HELPERS, type ProgEnv, SYS_BPF_CMDS } from "./helpers.js";
export { KALLSYMS } from "./kallsyms.js";
export {
  DEFAULT_BUDGET,
  type Helper,
  MAX_BPF_STACK,
  MAX_CALL_FRAMES,
  Machine,
  type MachineOptions,
} from "./machine.js";
export { KernelAddr, KernelMemory, type Region, TASK_SIZE } from "./memory.js";
export { decodeProgram, type Program } from "./program.js";
export { progMachine, programOf, type RunOptions, runProg } from "./run.js";
export { buildSkb, ETH_HLEN, SK_BUFF_SIZE, Skb } from "./skb.js";
export { type RunnerOptions, skbTestRunner, syscallTestRunner } from "./test_run.js";
export { vmlinuxBtf } from "./vmlinux.js";

export interface InterpreterOptions extends RunnerOptions {}

/** Registers the interpreter's test runners on `kernel` and returns it. */
export function installInterpreter(
  kernel: ModelKernel,
  opts: InterpreterOptions = {},
): ModelKernel {
  kernel.testRunners.set(ProgType.SYSCALL, syscallTestRunner(opts));
  kernel.testRunners.set(ProgType.SOCKET_FILTER, skbTestRunner(false, opts));
  kernel.testRunners.set(ProgType.CGROUP_SKB, skbTestRunner(false, opts));
  kernel.testRunners.set(ProgType.SCHED_CLS, skbTestRunner(true, opts));
  kernel.testRunners.set(ProgType.SCHED_ACT, skbTestRunner(true, opts));
  kernel.testRunners.set(ProgType.RAW_TRACEPOINT, rawTpTestRunner(opts));
  kernel.lsm.setBpfLsm(new BpfLsm(kernel));
  return kernel;
}

/** A model kernel whose programs run: `new ModelKernel(options)` with the interpreter installed. */
export function createModelKernel(options: KernelOptions & InterpreterOptions = {}): ModelKernel {
  return installInterpreter(new ModelKernel(options), options);
}
