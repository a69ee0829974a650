/**
 * Running a loaded program of the model kernel: its xlated instructions on the interpreter,
 * with its used maps mapped at their kernel addresses, its context at KernelAddr.CTX and the
 * kernel's helpers.
 */

import { KALLSYMS, KERNEL_VARS } from "../kernel/kallsyms.js";
import { RINGBUF_DATA } from "../kernel/map.js";
import type { BpfProg } from "../kernel/prog.js";
import type { KernelState } from "../kernel/state.js";
import type { Task } from "../kernel/task.js";
import { mapKernelAddress } from "../kernel/verifier.js";
import { MapFlag, MapType } from "../uapi/constants.js";
import { HELPERS, kfuncs, type ProgEnv, reachableMaps } from "./helpers.js";
import { Machine } from "./machine.js";
import { KernelAddr, KernelMemory } from "./memory.js";
import { decodeProgram, type Program } from "./program.js";

export interface RunOptions {
  /** The context; null runs with r1 = NULL. */
  readonly ctx: Uint8Array | null;
  /** skb programs: the packet from skb->data on. */
  readonly skbData?: Uint8Array | null;
  readonly budget?: number;
}

const decoded = new WeakMap<BpfProg, Program>();
const vars = new WeakMap<KernelState, Map<string, Uint8Array>>();

/** The storage of a kernel variable (one per model kernel, zero-initialised). */
function kernelVar(kernel: KernelState, name: string, size: number): Uint8Array {
  let m = vars.get(kernel);
  if (!m) {
    m = new Map();
    vars.set(kernel, m);
  }
  let v = m.get(name);
  if (!v) {
    v = new Uint8Array(size);
    m.set(name, v);
  }
  return v;
}

/** The interpreter's form of a program (decoded once and cached). */
export function programOf(prog: BpfProg): Program {
  let p = decoded.get(prog);
  if (!p) {
    p = decodeProgram(prog.xlated);
    decoded.set(prog, p);
  }
  return p;
}

/** A machine ready to run `prog` for `proc` (maps, ctx and packet mapped). */
export function progMachine(
  kernel: KernelState,
  proc: Task,
  prog: BpfProg,
  opts: RunOptions,
): Machine<ProgEnv> {
  const memory = new KernelMemory();
  for (const map of reachableMaps(prog)) {
    if (!map.storage.length) continue;
    if (map.map_type === MapType.RINGBUF) {
      // programs reach the data area only, through the records bpf_ringbuf_reserve hands out
      const data = map.storage.subarray(RINGBUF_DATA);
      memory.map(`ringbuf ${map.name}`, mapKernelAddress(map) + BigInt(RINGBUF_DATA), data);
      continue;
    }
    const readOnly = (map.map_flags & MapFlag.RDONLY_PROG) !== 0;
    memory.map(`map ${map.name || map.id}`, mapKernelAddress(map), map.storage, !readOnly);
  }
  if (opts.ctx) memory.map("ctx", KernelAddr.CTX, opts.ctx);
  for (const v of KERNEL_VARS) {
    const addr = KALLSYMS.get(v.name);
    if (addr !== undefined) memory.map(v.name, addr, kernelVar(kernel, v.name, v.size), false);
  }
  const skbData = opts.skbData ?? null;
  if (skbData) memory.map("packet", KernelAddr.PACKET, skbData, false);
  const m = new Machine<ProgEnv>(programOf(prog), {
    env: { kernel, proc, prog, skbData },
    helpers: HELPERS,
    kfuncs: kfuncs(),
    budget: opts.budget,
    memory,
  });
  if (skbData) m.packet = { bytes: skbData };
  return m;
}

/** Runs `prog` once and returns r0. Throws a VmError when the program stops abnormally. */
export function runProg(kernel: KernelState, proc: Task, prog: BpfProg, opts: RunOptions): bigint {
  const m = progMachine(kernel, proc, prog, opts);
  return m.run(opts.ctx ? [KernelAddr.CTX] : [0n]);
}
