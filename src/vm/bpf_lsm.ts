/**
 * The BPF LSM: the LSM module through which BPF programs attached to `lsm/<hook>` take part in
 * the model's LSM hooks (security/bpf/hooks.c with its trampolines). At each hook site it runs
 * the programs attached there in attach order, each on the interpreter with the hook's
 * arguments as its context (u64 slots; pointers to the kernel objects' images, kernel_objects.ts).
 * For an int hook the first non-zero return stops the chain and is the hook's result (the
 * trampoline's BPF_MODIFY_RETURN semantics: a policy returns -EPERM to deny); void hooks run
 * every program and ignore the returns.
 *
 * The model cannot prove the return range at load (the kernel's verifier limits LSM programs to
 * [-MAX_ERRNO, 0]), so a return outside it denies with EPERM; a program the interpreter stops
 * (a fault, the budget) denies with EFAULT. Either is kept in `kernel.lastRunError`.
 */
import type { LsmModule, PostIntegrityRecord } from "../kernel/lsm.js";
import type { BpfMap } from "../kernel/map.js";
import type { BpfProg } from "../kernel/prog.js";
import type { KernelState } from "../kernel/state.js";
import type { Task } from "../kernel/task.js";
import { profileVmlinuxBtf, VOID_LSM_HOOKS } from "../kernel/vmlinux_btf.js";
import { Limits } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import { encode, ProgLoadAttr, type Values } from "../uapi/layout.js";
import { VmError } from "./errors.js";
import { KernelObjects } from "./kernel_objects.js";
import { KernelAddr } from "./memory.js";
import { progMachine } from "./run.js";

const MAX_ERRNO = 4095;
const ATTR_SIZE = Limits.ATTR_SIZE;

/** One program's decision at a hook. */
export interface BpfLsmDecision {
  readonly hook: string;
  /** The deciding program's name and id. */
  readonly prog: string;
  readonly progId: number;
  /** Its return (0: allow; a negative errno denies int hooks). */
  readonly ret: number;
}

type Arg = bigint | number | boolean | ((o: KernelObjects) => bigint);

/**
 * A `union bpf_attr *` argument for BPF_PROG_LOAD's hooks (NULL without an attr): encoded when
 * the first attached program runs (no work at a hook without programs), then the same bytes for
 * every program.
 */
function progLoadAttrArg(attr: Values<typeof ProgLoadAttr> | null | undefined): Arg {
  let bytes: Uint8Array | undefined;
  return (o) => {
    if (!attr) return 0n;
    bytes ??= encode(ProgLoadAttr, attr, ATTR_SIZE);
    return o.attr(bytes, bytes);
  };
}

export class BpfLsm implements LsmModule {
  readonly name = "bpf";
  /** The last denial an attached program made (for reports: which program, which errno). */
  lastDenial: BpfLsmDecision | null = null;
  /** Every program run, with its return, when `trace` is on (tests and the CLI report). */
  readonly decisions: BpfLsmDecision[] = [];
  trace = false;

  constructor(private readonly kernel: KernelState) {}

  /** Runs the programs at `hook`; returns the first non-zero return of an int hook, else 0. */
  private run(hook: string, args: readonly Arg[]): number {
    const progs = this.kernel.attachments.progs(hook);
    if (!progs.length) return 0;
    const proc = this.kernel.current;
    for (const prog of progs) {
      const ret = this.runOne(prog, proc, args);
      const decision = { hook, prog: prog.aux.name, progId: prog.aux.id, ret };
      if (this.trace) this.decisions.push(decision);
      if (ret !== 0 && !VOID_LSM_HOOKS.has(hook)) {
        this.lastDenial = decision;
        return ret;
      }
    }
    return 0;
  }

  private runOne(prog: BpfProg, proc: Task | null, args: readonly Arg[]): number {
    const ctx = new Uint8Array(Math.max(8, args.length * 8));
    const task = proc ?? this.kernel.idleTask();
    const m = progMachine(this.kernel, task, prog, { ctx });
    const objects = new KernelObjects(profileVmlinuxBtf(this.kernel.profile), m.memory);
    m.env.objects = objects;
    const dv = new DataView(ctx.buffer);
    args.forEach((a, i) => {
      const v = typeof a === "function" ? a(objects) : typeof a === "boolean" ? (a ? 1n : 0n) : a;
      dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(v)), true);
    });
    let r0: bigint;
    try {
      r0 = m.run([KernelAddr.CTX]);
    } catch (e) {
      if (!(e instanceof VmError)) throw e;
      this.kernel.lastRunError = e;
      return -Errno.EFAULT;
    }
    const ret = Number(BigInt.asIntN(32, r0));
    if (ret > 0 || ret < -MAX_ERRNO) {
      this.kernel.lastRunError = new Error(
        `BPF LSM program '${prog.aux.name}' returned ${ret}, outside [-${MAX_ERRNO}, 0]`,
      );
      return -Errno.EPERM;
    }
    return ret;
  }

  bpf(cmd: number, attr: Uint8Array, size: number, kernel: boolean): number {
    return this.run("bpf", [cmd, (o) => o.attr(attr, attr), size, kernel]);
  }

  bpf_map_create(map: BpfMap, kernel: boolean): number {
    return this.run("bpf_map_create", [(o) => o.map(map), 0, 0, kernel]);
  }

  bpf_prog_load(
    prog: BpfProg,
    attr: Values<typeof ProgLoadAttr>,
    _token: null,
    kernel: boolean,
  ): number {
    return this.run("bpf_prog_load", [(o) => o.prog(prog), progLoadAttrArg(attr), 0, kernel]);
  }

  bpf_prog_load_post_integrity(rec: PostIntegrityRecord): number {
    return this.run("bpf_prog_load_post_integrity", [
      (o) => o.prog(rec.prog),
      progLoadAttrArg(rec.attr),
      0,
      rec.kernel,
      0,
      rec.verdictValue,
    ]);
  }

  bpf_prog(prog: BpfProg): number {
    return this.run("bpf_prog", [(o) => o.prog(prog)]);
  }

  bpf_prog_free(prog: BpfProg): void {
    this.run("bpf_prog_free", [(o) => o.prog(prog)]);
  }
}
