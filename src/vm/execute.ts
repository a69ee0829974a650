/**
 * One-shot execution of raw instructions, for tests, benches and tools: decode, map a context
 * (if any) and run with r1 pointing at it.
 */
import { type Helper, Machine } from "./machine.js";
import { KernelAddr, KernelMemory } from "./memory.js";
import { decodeProgram, type Program } from "./program.js";

export interface ExecuteOptions<E> {
  /** r1..r5 (ignored for r1 when `ctx` is given). */
  readonly args?: readonly (bigint | number)[];
  /** Mapped writable at KernelAddr.CTX and passed in r1; the program's writes stay in it. */
  readonly ctx?: Uint8Array;
  readonly helpers?: ReadonlyMap<number, Helper<E>>;
  readonly env?: E;
  readonly budget?: number;
  readonly memory?: KernelMemory;
}

export interface ExecuteResult<E> {
  /** r0 at exit, as an unsigned 64-bit value. */
  readonly r0: bigint;
  /** Instructions executed. */
  readonly executed: number;
  readonly machine: Machine<E>;
}

export function execute<E = undefined>(
  insns: Uint8Array | Program,
  opts: ExecuteOptions<E> = {},
): ExecuteResult<E> {
  const program = insns instanceof Uint8Array ? decodeProgram(insns) : insns;
  const memory = opts.memory ?? new KernelMemory();
  const args = [...(opts.args ?? [])];
  if (opts.ctx) {
    memory.map("ctx", KernelAddr.CTX, opts.ctx);
    args[0] = KernelAddr.CTX;
  }
  const machine = new Machine<E>(program, {
    env: opts.env as E,
    helpers: opts.helpers,
    budget: opts.budget,
    memory,
  });
  const r0 = machine.run(args);
  return { r0, executed: machine.executed, machine };
}
