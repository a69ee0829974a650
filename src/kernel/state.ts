/**
 * The model kernel's global state: object tables (ids for programs, maps and BTF objects),
 * reference counting and freeing, keyrings, LSM modules, sysctls, the profile of the load path,
 * the BPF_PROG_TEST_RUN runners and the trace buffer. Every bpf() command works on it through a
 * SyscallCtx; ModelKernel (kernel.ts) adds the processes that call it.
 */
import type { InnerFailure } from "../uapi/backend.js";
import type { TestRunAttr, Values } from "../uapi/layout.js";
import { Btf, parseBtf } from "./btf.js";
import { KeyringSet } from "./keyring.js";
import { Attachments, type BpfLink } from "./link.js";
import { VerifierLog } from "./log.js";
import { Lsm } from "./lsm.js";
import type { BpfMap } from "./map.js";
import type { KernelProfile, ProfileName } from "./profile.js";
import { profile } from "./profile.js";
import type { BpfProg } from "./prog.js";
import { Task } from "./task.js";
import type { BpfFile } from "./types.js";
import type { Uaccess } from "./uaccess.js";
import { profileVmlinuxBtf } from "./vmlinux_btf.js";

/** Who runs a bpf() command: the kernel, the calling process and how its pointers are read. */
export interface SyscallCtx {
  readonly kernel: KernelState;
  readonly proc: Task;
  /** User memory of `proc`, or kernel memory when a program calls bpf_sys_bpf(). */
  readonly uaccess: Uaccess;
}

export interface KernelOptions {
  /** Which load path to run (default "v2"). */
  readonly profile?: ProfileName;
  /** CONFIG_SECONDARY_TRUSTED_KEYRING (default true). */
  readonly secondaryKeyring?: boolean;
  /** A platform keyring is available (default true). */
  readonly platformKeyring?: boolean;
  /** kernel.unprivileged_bpf_disabled (default 2, as on this machine). */
  readonly unprivileged_bpf_disabled?: number;
  /** net.core.bpf_jit_enable (default 1, as on this machine; 0 keeps helper calls as calls). */
  readonly bpf_jit_enable?: number;
  /** bpf-next: bpf.keyring_unsealed (default false). */
  readonly keyringUnsealed?: boolean;
  /** Seed of key serial numbers. */
  readonly seed?: number;
}

/**
 * Runs a program for BPF_PROG_TEST_RUN: returns 0 with the program's return value written by
 * the runner, or a negative errno. Program types without a runner give ENOTSUPP.
 */
export type TestRunner = (ctx: SyscallCtx, prog: BpfProg, test: TestRunIo) => number;

export interface TestRunIo {
  /** The decoded BPF_PROG_TEST_RUN attr (repeat, flags, sizes, cpu, batch_size...). */
  readonly attr: Values<typeof TestRunAttr>;
  ctx_in: Uint8Array | null;
  data_in: Uint8Array | null;
  retval: number;
  /** Data and context as the program left them, copied back by the caller. */
  data_out: Uint8Array | null;
  ctx_out: Uint8Array | null;
  duration: number;
}

class IdTable<T> {
  private readonly objects = new Map<number, T>();
  private next = 1;
  alloc(obj: T): number {
    const id = this.next++;
    this.objects.set(id, obj);
    return id;
  }
  get(id: number): T | undefined {
    return this.objects.get(id);
  }
  free(id: number): void {
    this.objects.delete(id);
  }
  /** The smallest id greater than `id`, for *_GET_NEXT_ID. */
  nextAfter(id: number): number | undefined {
    let best: number | undefined;
    for (const k of this.objects.keys()) if (k > id && (best === undefined || k < best)) best = k;
    return best;
  }
  get size(): number {
    return this.objects.size;
  }
}

export class KernelState {
  readonly profile: KernelProfile;
  readonly lsm = new Lsm();
  readonly keyrings: KeyringSet;
  /** net.core.bpf_jit_enable is 1 on this machine: programs get prog->jit_requested. */
  readonly sysctl: { unprivileged_bpf_disabled: number; bpf_jit_enable: number };
  readonly progs = new IdTable<BpfProg>();
  readonly maps = new IdTable<BpfMap>();
  readonly btfs = new IdTable<Btf>();
  readonly links = new IdTable<BpfLink>();
  /** The kernel's own BTF (vmlinux_btf.ts) as the kernel's BTF code holds it. */
  readonly vmlinux: Btf;
  /** Programs attached through BTF (LSM hooks, tracing points), by point, in attach order. */
  readonly attachments = new Attachments();
  readonly testRunners = new Map<number, TestRunner>();
  /** The trace buffer (what bpf_trace_printk writes; tracefs trace_pipe lines). */
  readonly trace: string[] = [];
  /** Why the last program run that failed with EFAULT stopped (an interpreter error). */
  lastRunError: Error | null = null;
  /**
   * The last bpf_sys_bpf command a program's run saw fail (a loader's inner MAP_CREATE,
   * PROG_LOAD, ...), with the verifier's messages of a failed inner load; cleared at each
   * BPF_PROG_TEST_RUN of a SYSCALL program.
   */
  innerFailure: InnerFailure | null = null;
  /** The verifier messages of the last failed kernel-path (bpf_sys_bpf) program load. */
  lastLoadLog = "";
  /** `current`: the process whose bpf() call is running (null outside any call). */
  current: Task | null = null;
  private idle: Task | null = null;

  /** The task hooks run as when no process called (pid 0). */
  idleTask(): Task {
    this.idle ??= new Task(0, {}, this.keyrings.newProcessKeyrings(), (f) => this.putFile(f));
    return this.idle;
  }
  private readonly boot = process.hrtime.bigint();

  constructor(opts: KernelOptions = {}) {
    this.profile = profile(opts.profile ?? "v2", { keyringUnsealed: opts.keyringUnsealed });
    this.keyrings = new KeyringSet(
      {
        secondary: opts.secondaryKeyring ?? true,
        platform: opts.platformKeyring ?? true,
        ...(this.profile.bpfKeyring ? { bpf: { sealed: !this.profile.keyringUnsealed } } : {}),
      },
      opts.seed,
    );
    this.sysctl = {
      unprivileged_bpf_disabled: opts.unprivileged_bpf_disabled ?? 2,
      bpf_jit_enable: opts.bpf_jit_enable ?? 1,
    };
    // btf_vmlinux (not in the id table: BTF_GET_FD_BY_ID does not reach it in the model)
    this.vmlinux = kernelVmlinuxBtf(this.profile);
  }

  /** ktime_get_boottime_ns() */
  boottimeNs(): bigint {
    return process.hrtime.bigint() - this.boot;
  }

  getMap(map: BpfMap, sleepable = false): void {
    map.refcnt++;
    if (sleepable) map.sleepable_refcnt++;
  }

  putMap(map: BpfMap, sleepable = false): void {
    if (sleepable) map.sleepable_refcnt--;
    if (--map.refcnt === 0 && map.id) {
      this.maps.free(map.id);
      map.id = 0;
    }
  }

  getBtf(btf: Btf): void {
    btf.refcnt++;
  }

  putBtf(btf: Btf): void {
    if (--btf.refcnt === 0 && btf.id) {
      this.btfs.free(btf.id);
      btf.id = 0;
    }
  }

  getProg(prog: BpfProg): void {
    prog.refcnt++;
  }

  /** bpf_prog_put(): on the last reference the id goes, then LSM free, then the maps. */
  putProg(prog: BpfProg): void {
    if (--prog.refcnt > 0) return;
    if (prog.aux.id) {
      this.progs.free(prog.aux.id);
      prog.aux.id = 0;
    }
    this.freeProg(prog);
  }

  /** __bpf_prog_put_rcu(): security_bpf_prog_free() and release of what the program holds. */
  freeProg(prog: BpfProg): void {
    this.lsm.bpf_prog_free(prog);
    for (const m of prog.aux.used_maps) this.putMap(m, prog.sleepable);
    for (const b of prog.aux.used_btfs) this.putBtf(b);
    if (prog.aux.btf) this.putBtf(prog.aux.btf);
    prog.aux.used_maps = [];
    prog.aux.used_btfs = [];
    prog.aux.btf = null;
  }

  putFile(file: BpfFile): void {
    if (file.kind === "map") this.putMap(file.map);
    else if (file.kind === "prog") this.putProg(file.prog);
    else if (file.kind === "btf") this.putBtf(file.btf);
    else if (file.kind === "link") this.putLink(file.link);
  }

  /** bpf_link_put(): the last reference detaches the program and drops it. */
  putLink(link: BpfLink): void {
    if (--link.refcnt > 0) return;
    this.attachments.remove(link);
    if (link.id) {
      this.links.free(link.id);
      link.id = 0;
    }
    this.putProg(link.prog);
  }
}

/** The kernel's BTF object of each model vmlinux BTF variant. */
const vmlinuxObjects = new WeakMap<object, Btf>();

/** The profile's vmlinux BTF as the kernel's BTF object (parsed once per variant). */
export function kernelVmlinuxBtf(p: KernelProfile): Btf {
  const model = profileVmlinuxBtf(p);
  let btf = vmlinuxObjects.get(model);
  if (btf) return btf;
  const parsed = parseBtf(model.rawData(), VerifierLog.none());
  if (typeof parsed === "number") throw new Error(`model vmlinux BTF does not parse (${parsed})`);
  btf = new Btf(parsed.data, parsed.types, true, "vmlinux");
  vmlinuxObjects.set(model, btf);
  return btf;
}
