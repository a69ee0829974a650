/**
 * bpf_load_and_run(): the userspace half of a light skeleton, as libbpf's skel_internal.h does it
 * after the signing series. It creates `__loader.map` (exclusive to the loader's digest when the
 * skeleton is signed), fills and freezes it, loads `__loader.prog` (a sleepable SYSCALL program
 * with the map in fd_array, fd_array_cnt = 1 and the signature when signed) and runs it once with
 * the skeleton's ctx; the loader creates the real maps and programs and writes their fds into
 * the ctx. Works on any BpfBackend: nothing here knows whether the kernel is the model or the host.
 */
import type { BpfBackend, InnerFailure } from "../uapi/backend.js";
import { MapFlags, Prot } from "../uapi/backend.js";
import { Bpf } from "../uapi/bpf.js";
import { MapType, ProgFlag, ProgType } from "../uapi/constants.js";
import { BpfError } from "../uapi/errno.js";
import { decodeLoaderCtx, encodeLoaderCtx, type MapDescInput } from "./ctx.js";
import { describeInnerFailure } from "./inner_failure.js";

/** The `errstr` of each step, as skel_internal.h sets it. */
export const LoaderStep = {
  CREATE_MAP: "failed to create loader map",
  UPDATE_MAP: "failed to update loader map",
  FREEZE_MAP: "failed to freeze map",
  LOAD_PROG: "failed to load loader prog",
  RUN_PROG: "failed to execute loader prog",
  RETVAL: "error returned by loader prog",
} as const;
export type LoaderStepName = (typeof LoaderStep)[keyof typeof LoaderStep];

/**
 * A failed step of bpf_load_and_run(): the step's errstr, the errno and any verifier log. Its
 * `code` is the BpfError code of the errno ("BPF_EKEYREJECTED"); `step` says which step failed.
 * A failed load's message leads with the log line that says why; the RETVAL step's log is that
 * of a load that succeeded, so its message does not quote it.
 */
export class LoaderError extends BpfError {
  readonly step: LoaderStepName;
  /** The loader's inner command that failed, when the backend could tell (the model). */
  readonly inner: InnerFailure | null;
  constructor(step: LoaderStepName, errno: number, log = "", inner: InnerFailure | null = null) {
    super(
      `bpf_load_and_run: ${step}`,
      errno,
      inner ? inner.log : log,
      step === LoaderStep.RETVAL ? (inner ? `: ${describeInnerFailure(inner)}` : "") : undefined,
    );
    this.step = step;
    this.inner = inner;
  }
}

/** What the loader needs from a skeleton (a parsed `.lskel.h` or raw inputs). */
export interface LoaderImage {
  /** The loader program's instructions (opts.insns). */
  insns: Uint8Array;
  /** The metadata blob (opts.data). */
  data: Uint8Array;
  /** The PKCS#7 signature (opts.signature) or null for an unsigned skeleton. */
  signature: Uint8Array | null;
  /** opts.excl_prog_hash: sha256(insns) for a signed skeleton, else null. */
  exclHash: Uint8Array | null;
  /** The maps of the skeleton struct, in bpf_map_desc order. */
  maps: readonly LoaderMap[];
  /** The programs of the skeleton struct, in bpf_prog_desc order. */
  progs: readonly { name: string }[];
}

/** A map of the skeleton struct; `mmap` is set for memory-mapped global data. */
export interface LoaderMap {
  name: string;
  mmap?: {
    /** The initial value the skeleton carries (skel_prep_map_data). */
    initialValue: Uint8Array;
    /** The mmap size the skeleton uses for the value (page-rounded). */
    mmapSize: number;
    /** skel_finalize_map_data maps it PROT_READ only (the map is read-only to programs). */
    readOnly: boolean;
  } | null;
}

export interface LoadAndRunOptions {
  /** opts.keyring_id (the skeleton struct's `keyring_id` field); 0 when the caller sets none. */
  keyringId?: number;
  /** Verifier log for the loader program (ctx.log_level / log_size / log_buf). */
  log?: { level: number; size: number };
  /** Host overrides the loader ctx carries; only loaders generated without gen_hash honour them. */
  overrides?: {
    maxEntries?: Readonly<Record<number, number>>;
    initialValues?: Readonly<Record<number, Uint8Array>>;
  };
  /** Map the global-data maps into memory after the run as skel_finalize_map_data does (default true). */
  mmapGlobals?: boolean;
}

export interface LoadedMap {
  index: number;
  name: string;
  fd: number;
  /** The address the map's value is mapped at (global data only). */
  addr: bigint | null;
  mmapSize: number;
}

export interface LoadedSkeleton {
  maps: LoadedMap[];
  progs: { index: number; name: string; fd: number }[];
  /** The loader program's verifier log (empty unless options.log was given). */
  log: string;
  /** The loader's return value (0 on success). */
  retval: number;
  /** Unmaps the globals and closes every map and program fd the loader created. */
  close(): void;
}

const PAGE = 4096;
const pageRound = (n: number) => Math.ceil(Math.max(n, 1) / PAGE) * PAGE;

function fail(step: LoaderStepName, e: unknown, log = ""): never {
  if (e instanceof BpfError) throw new LoaderError(step, e.errno, e.log || log);
  throw e;
}

export function loadAndRun(
  backend: BpfBackend,
  image: LoaderImage,
  options: LoadAndRunOptions = {},
): LoadedSkeleton {
  if (image.insns.length === 0 || image.insns.length % 8)
    throw new RangeError(`loader instructions are ${image.insns.length} bytes, not whole insns`);
  const bpf = new Bpf(backend);
  const mem = backend.memory;
  const signed = image.signature !== null;
  const allocations: bigint[] = [];
  let mapFd = -1;
  let progFd = -1;
  try {
    try {
      mapFd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        map_name: "__loader.map",
        key_size: 4,
        value_size: image.data.length,
        max_entries: 1,
        excl_prog_hash: image.exclHash ?? undefined,
      });
    } catch (e) {
      fail(LoaderStep.CREATE_MAP, e);
    }
    try {
      bpf.mapUpdate(mapFd, new Uint8Array(4), image.data);
    } catch (e) {
      fail(LoaderStep.UPDATE_MAP, e);
    }
    try {
      bpf.mapFreeze(mapFd);
    } catch (e) {
      fail(LoaderStep.FREEZE_MAP, e);
    }

    const logSize = options.log?.size ?? 0;
    let load: { fd: number; log: string };
    try {
      load = bpf.progLoad({
        prog_type: ProgType.SYSCALL,
        insns: image.insns,
        license: "Dual BSD/GPL",
        prog_name: "__loader.prog",
        prog_flags: ProgFlag.SLEEPABLE,
        fd_array: [mapFd],
        fd_array_cnt: signed ? 1 : 0,
        signature: image.signature ?? undefined,
        keyring_id: options.keyringId ?? 0,
        log_level: logSize ? (options.log?.level ?? 1) : 0,
        log_size: logSize,
      });
    } catch (e) {
      fail(LoaderStep.LOAD_PROG, e);
    }
    progFd = load.fd;

    // The map descriptors' inputs: skel_prep_map_data() places each global-data initial value
    // in the caller's memory and stores its address; the host may override both fields.
    const descs: MapDescInput[] = image.maps.map((m, i) => {
      const value = options.overrides?.initialValues?.[i] ?? m.mmap?.initialValue;
      let initial_value = 0n;
      if (value) {
        const area = new Uint8Array(pageRound(m.mmap?.mmapSize ?? value.length));
        area.set(value.subarray(0, area.length));
        initial_value = mem.alloc(area);
        allocations.push(initial_value);
      }
      return { max_entries: options.overrides?.maxEntries?.[i] ?? 0, initial_value };
    });
    const ctx = encodeLoaderCtx({
      nrMaps: image.maps.length,
      nrProgs: image.progs.length,
      maps: descs,
    });
    let run: { retval: number; ctx: Uint8Array | null };
    try {
      run = bpf.progTestRun({ prog_fd: progFd, ctx_in: ctx });
    } catch (e) {
      fail(LoaderStep.RUN_PROG, e, load.log);
    }
    if (run.retval < 0) {
      const inner = backend.innerFailure?.() ?? null;
      throw new LoaderError(LoaderStep.RETVAL, -run.retval, load.log, inner);
    }
    if (!run.ctx) throw new Error("BPF_PROG_RUN of the loader returned no ctx");
    const out = decodeLoaderCtx(run.ctx, image.maps.length, image.progs.length);

    const maps: LoadedMap[] = image.maps.map((m, i) => ({
      index: i,
      name: m.name,
      fd: out.map_fds[i],
      addr: null,
      mmapSize: m.mmap ? pageRound(m.mmap.mmapSize) : 0,
    }));
    const progs = image.progs.map((p, j) => ({ index: j, name: p.name, fd: out.prog_fds[j] }));
    const loaded: LoadedSkeleton = {
      maps,
      progs,
      log: load.log,
      retval: run.retval,
      close() {
        for (const m of maps) {
          if (m.addr !== null) backend.munmap(m.addr, m.mmapSize);
          m.addr = null;
          if (m.fd > 0) backend.close(m.fd);
        }
        for (const p of progs) if (p.fd > 0) backend.close(p.fd);
      },
    };
    if (options.mmapGlobals ?? true) {
      try {
        for (const m of maps) {
          if (!m.mmapSize) continue;
          const prot = image.maps[m.index].mmap?.readOnly ? Prot.READ : Prot.READ | Prot.WRITE;
          const addr = backend.mmap(m.mmapSize, prot, MapFlags.SHARED, m.fd, 0);
          if (addr < 0n) throw new BpfError(`mmap of map '${m.name}'`, Number(-addr));
          m.addr = addr;
        }
      } catch (e) {
        loaded.close();
        throw e;
      }
    }
    return loaded;
  } finally {
    for (const a of allocations) mem.free(a);
    if (mapFd >= 0) backend.close(mapFd);
    if (progFd >= 0) backend.close(progFd);
  }
}
