/**
 * The load walker's second back-end: the calls libbpf would turn into a loader program (through
 * gen_loader) are made here directly against a BpfBackend, so an object loads straight into the
 * model or the host kernel. Same sequence, same attrs, same relocation form as the generated
 * loader: maps are referenced as BPF_PSEUDO_MAP_IDX / MAP_IDX_VALUE through `fd_array`, CO-RE
 * records go to the kernel as `core_relos`, attach targets, typed ksyms and kfuncs are resolved
 * the way the loader resolves them (by name and kind in the kernel's BTF), typeless ksyms by
 * kallsyms.
 *
 * Where the loader asks the kernel (bpf_btf_find_by_name_kind, bpf_kallsyms_lookup_name), this
 * back-end asks the `KernelSymbols` it is given: the caller parses the kernel's BTF and kallsyms
 * (the host's /sys/kernel/btf/vmlinux, or the model's) and passes the lookups in.
 */

import { MAX_USED_MAPS } from "../gen/gen_loader.js";
import { objectNameFromFile } from "../gen/skeleton_header.js";
import { loadObject } from "../object/load.js";
import {
  CORE_RELO_SIZE,
  type CoreRelo,
  type ExternRelo,
  encodeCoreRelos,
  isMapInMap,
  type KernelBtfRef,
  type KernelSymbols,
  type MapCreateAttr,
  type ObjectLoadOps,
  type ProgLoadAttr,
} from "../object/load_ops.js";
import { openObject } from "../object/object.js";
import { kernelAttachTarget } from "../object/section_def.js";
import type { OpenOptions } from "../object/types.js";
import type { BpfBackend } from "../uapi/backend.js";
import { Bpf } from "../uapi/bpf.js";
import { BpfCmd, enumName, Limits, MapType, ProgType, Pseudo } from "../uapi/constants.js";
import { BpfError, Errno, errnoName } from "../uapi/errno.js";
import {
  encode,
  fromCString,
  MapCreateAttr as MapCreateLayout,
  ProgLoadAttr as ProgLoadLayout,
  strlcpyBytes,
  UTF8_ENCODER,
} from "../uapi/layout.js";

export type { KernelBtfRef, KernelSymbols };

/**
 * A load step this back-end cannot take, or a kernel refusal, naming the command and the object.
 * A refusal's code is the kernel's `BPF_<errno>` (as BpfError's); the back-end's own failures are
 * LOAD_SYMBOL_NOT_FOUND (the kernel lacks a ksym, kfunc or attach target) and LOAD_NO_KERNEL_BTF
 * (a lookup was needed and no kernel BTF was given).
 */
export type ObjectLoadErrorCode = `BPF_${string}` | "LOAD_SYMBOL_NOT_FOUND" | "LOAD_NO_KERNEL_BTF";

export class ObjectLoadError extends Error {
  readonly code: ObjectLoadErrorCode;
  readonly errno: number;
  readonly log: string;
  constructor(
    kind: "LOAD_KERNEL_REFUSED" | "LOAD_SYMBOL_NOT_FOUND" | "LOAD_NO_KERNEL_BTF",
    message: string,
    errno: number,
    log = "",
  ) {
    super(message);
    this.name = "ObjectLoadError";
    this.code = kind === "LOAD_KERNEL_REFUSED" ? `BPF_${errnoName(errno)}` : kind;
    this.errno = errno;
    this.log = log;
  }
}

export interface DirectMap {
  index: number;
  name: string;
  fd: number;
}

export interface DirectProg {
  index: number;
  name: string;
  fd: number;
  /** The verifier log when a log was asked for. */
  log: string;
}

export interface DirectLoadOptions {
  symbols?: KernelSymbols;
  /** Verifier log size per program (0 = none). */
  logSize?: number;
}

function errnoText(errno: number): string {
  return `${errnoName(errno)} (${errno})`;
}

/** Runs the walker's calls against a backend; maps and programs stay open until close(). */
export class DirectObjectLoad implements ObjectLoadOps {
  readonly maps: DirectMap[] = [];
  readonly progs: DirectProg[] = [];
  private readonly bpf: Bpf;
  private btfFd = 0;
  private innerMapFd = 0;
  private readonly mapFds: number[] = [];
  private attachTarget: { name: string; kind: number } | null = null;
  private externs: ExternRelo[] = [];
  private coreRelos: CoreRelo[] = [];

  constructor(
    readonly backend: BpfBackend,
    private readonly options: DirectLoadOptions = {},
  ) {
    this.bpf = new Bpf(backend);
  }

  init(_nrProgs: number, _nrMaps: number): void {}

  loadBtf(raw: Uint8Array): void {
    this.btfFd = this.guard("BTF_LOAD of the object's BTF", () => this.bpf.btfLoad(raw).fd);
  }

  mapCreate(
    mapType: number,
    name: string,
    keySize: number,
    valueSize: number,
    maxEntries: number,
    attr: MapCreateAttr,
    mapIdx: number,
  ): void {
    const withBtf = attr.btfValueTypeId !== 0;
    const bytes = encode(
      MapCreateLayout,
      {
        map_type: mapType,
        key_size: keySize,
        value_size: valueSize,
        max_entries: maxEntries,
        map_flags: attr.mapFlags,
        inner_map_fd: isMapInMap(mapType) ? this.innerMapFd : 0,
        numa_node: attr.numaNode,
        map_name: strlcpyBytes(name, Limits.OBJ_NAME_LEN),
        map_ifindex: attr.mapIfindex,
        btf_fd: withBtf ? this.btfFd : 0,
        btf_key_type_id: attr.btfKeyTypeId,
        btf_value_type_id: attr.btfValueTypeId,
        btf_vmlinux_value_type_id: attr.btfVmlinuxValueTypeId,
        map_extra: attr.mapExtra,
      },
      Limits.ATTR_SIZE,
    );
    const what = `MAP_CREATE of map '${name}' (${enumName(MapType, mapType)}, ${maxEntries} entries)`;
    const fd = this.syscall(what, BpfCmd.MAP_CREATE, bytes, 72);
    if (mapIdx < 0) {
      this.innerMapFd = fd;
      return;
    }
    this.mapFds[mapIdx] = fd;
    this.maps.push({ index: mapIdx, name, fd });
    if (isMapInMap(mapType) && this.innerMapFd > 0) {
      this.bpf.close(this.innerMapFd);
      this.innerMapFd = 0;
    }
  }

  mapUpdateElem(mapIdx: number, value: Uint8Array): void {
    const fd = this.mapFd(mapIdx);
    this.guard(`MAP_UPDATE_ELEM of map '${this.mapName(mapIdx)}'`, () =>
      this.bpf.mapUpdate(fd, new Uint8Array(4), value),
    );
  }

  mapFreeze(mapIdx: number): void {
    const fd = this.mapFd(mapIdx);
    this.guard(`MAP_FREEZE of map '${this.mapName(mapIdx)}'`, () => this.bpf.mapFreeze(fd));
  }

  populateOuterMap(outerMapIdx: number, slot: number, innerMapIdx: number): void {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, slot, true);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setInt32(0, this.mapFd(innerMapIdx), true);
    const fd = this.mapFd(outerMapIdx);
    this.guard(`MAP_UPDATE_ELEM of slot ${slot} of map '${this.mapName(outerMapIdx)}'`, () =>
      this.bpf.mapUpdate(fd, key, value),
    );
  }

  recordAttachTarget(name: string, attachType: number): void {
    this.attachTarget = kernelAttachTarget(name, attachType);
  }

  recordExtern(
    name: string,
    isWeak: boolean,
    isTypeless: boolean,
    isLd64: boolean,
    kind: number,
    insnIdx: number,
  ): void {
    this.externs.push({ name, isWeak, isTypeless, isLd64, kind, insnIdx });
  }

  recordReloCore(relo: CoreRelo): void {
    this.coreRelos.push(relo);
  }

  progLoad(
    progType: number,
    name: string,
    license: string,
    insns: Uint8Array,
    attr: ProgLoadAttr,
    progIdx: number,
  ): void {
    const code = new Uint8Array(insns);
    const fdArray = this.mapFds.slice();
    let attachBtfId = attr.attachBtfId;
    let attachBtfObjFd = attr.attachBtfObjFd;
    if (this.attachTarget) {
      const t = this.attachTarget;
      const ref = this.findBtf(t.name, t.kind, `attach target of program '${name}'`);
      if (!ref) throw this.missing(`attach target '${t.name}' of program '${name}'`);
      attachBtfId = ref.btfId;
      attachBtfObjFd = ref.btfObjFd;
      this.attachTarget = null;
    }
    this.relocateExterns(name, code, fdArray);
    const logSize = this.options.logSize ?? 0;
    const m = this.backend.memory;
    const addrs: bigint[] = [];
    const put = (data: Uint8Array | number): bigint => {
      const a = m.alloc(data);
      addrs.push(a);
      return a;
    };
    try {
      const fds = new Uint8Array(Math.max(fdArray.length, 1) * 4);
      const dv = new DataView(fds.buffer);
      fdArray.forEach((fd, i) => {
        dv.setInt32(i * 4, fd ?? 0, true);
      });
      const relos = encodeCoreRelos(this.coreRelos);
      const logBuf = logSize ? put(logSize) : 0n;
      const bytes = encode(
        ProgLoadLayout,
        {
          prog_type: progType,
          insn_cnt: code.length / 8,
          insns: put(code),
          license: put(UTF8_ENCODER.encode(`${license}\0`)),
          log_level: logSize ? 1 : 0,
          log_size: logSize,
          log_buf: logBuf,
          kern_version: attr.kernVersion,
          prog_flags: attr.progFlags,
          prog_name: strlcpyBytes(name, Limits.OBJ_NAME_LEN),
          prog_ifindex: attr.progIfindex,
          expected_attach_type: attr.expectedAttachType,
          prog_btf_fd: this.btfFd,
          func_info_rec_size: attr.funcInfoRecSize,
          func_info: attr.funcInfo?.length ? put(attr.funcInfo) : 0n,
          func_info_cnt: attr.funcInfoCnt,
          line_info_rec_size: attr.lineInfoRecSize,
          line_info: attr.lineInfo?.length ? put(attr.lineInfo) : 0n,
          line_info_cnt: attr.lineInfoCnt,
          attach_btf_id: attachBtfId,
          attach_prog_fd: attachBtfObjFd,
          core_relo_cnt: this.coreRelos.length,
          fd_array: put(fds),
          core_relos: relos.length ? put(relos) : 0n,
          core_relo_rec_size: CORE_RELO_SIZE,
        },
        Limits.ATTR_SIZE,
      );
      const ret = this.bpf.raw(BpfCmd.PROG_LOAD, bytes, 140);
      const log = logSize ? fromCString(m.read(logBuf, logSize)) : "";
      if (ret < 0) {
        const why = log.trim().split("\n").at(-2) ?? "";
        throw new ObjectLoadError(
          "LOAD_KERNEL_REFUSED",
          `PROG_LOAD of program '${name}' (${enumName(ProgType, progType)}): ${errnoText(-ret)}${why ? `: ${why}` : ""}`,
          -ret,
          log,
        );
      }
      this.progs.push({ index: progIdx, name, fd: ret, log });
    } finally {
      for (const a of addrs) m.free(a);
      this.externs = [];
      this.coreRelos = [];
    }
  }

  finish(_nrProgs: number, _nrMaps: number): void {
    if (this.btfFd > 0) this.bpf.close(this.btfFd);
    this.btfFd = 0;
  }

  /** Closes every map and program this load created. */
  close(): void {
    for (const p of this.progs) this.bpf.close(p.fd);
    for (const mp of this.maps) this.bpf.close(mp.fd);
    if (this.innerMapFd > 0) this.bpf.close(this.innerMapFd);
    if (this.btfFd > 0) this.bpf.close(this.btfFd);
    this.innerMapFd = 0;
    this.btfFd = 0;
    this.progs.length = 0;
    this.maps.length = 0;
  }

  /** Typed ksyms, kfuncs and typeless ksyms, resolved as the loader's relocation blocks do. */
  private relocateExterns(prog: string, code: Uint8Array, fdArray: number[]): void {
    const dv = new DataView(code.buffer, code.byteOffset, code.byteLength);
    const kfuncSlots = new Map<number, number>();
    for (const e of this.externs) {
      const at = e.insnIdx * 8;
      if (e.isLd64 && e.isTypeless) {
        // 0 is what /proc/kallsyms shows for every symbol under kptr_restrict: not an address
        const found = this.options.symbols?.kallsyms?.(e.name) ?? null;
        const addr = found === 0n ? null : found;
        if (addr === null && !e.isWeak) throw this.missing(`ksym '${e.name}' of program '${prog}'`);
        const v = addr ?? 0n;
        dv.setUint32(at + 4, Number(v & 0xffffffffn), true);
        dv.setUint32(at + 12, Number(v >> 32n), true);
        continue;
      }
      const ref = this.findBtf(e.name, e.kind, `extern '${e.name}' of program '${prog}'`);
      if (!ref && !e.isWeak) throw this.missing(`extern '${e.name}' of program '${prog}'`);
      if (e.isLd64) {
        dv.setUint32(at + 4, ref?.btfId ?? 0, true);
        dv.setUint32(at + 12, ref?.btfObjFd ?? 0, true);
        if (!ref) code[at + 1] = code[at + 1] & 0x0f;
        else if (code[at + 1] >> 4 !== Pseudo.BTF_ID)
          code[at + 1] = (code[at + 1] & 0x0f) | (Pseudo.BTF_ID << 4);
        continue;
      }
      dv.setInt32(at + 4, ref?.btfId ?? 0, true);
      let slot = 0;
      if (ref && ref.btfObjFd !== 0) {
        slot = kfuncSlots.get(ref.btfObjFd) ?? MAX_USED_MAPS + kfuncSlots.size;
        kfuncSlots.set(ref.btfObjFd, slot);
        fdArray[slot] = ref.btfObjFd;
      }
      dv.setInt16(at + 2, slot, true);
    }
    for (let i = 0; i < MAX_USED_MAPS && i < fdArray.length; i++) fdArray[i] ??= 0;
  }

  private findBtf(name: string, kind: number, what: string): KernelBtfRef | null {
    const find = this.options.symbols?.findBtf;
    if (!find)
      throw new ObjectLoadError(
        "LOAD_NO_KERNEL_BTF",
        `${what}: resolving '${name}' needs the kernel's BTF, which was not given`,
        Errno.ENOENT,
      );
    return find(name, kind);
  }

  private missing(what: string): ObjectLoadError {
    return new ObjectLoadError(
      "LOAD_SYMBOL_NOT_FOUND",
      `${what}: not found in the kernel`,
      Errno.ENOENT,
    );
  }

  private mapFd(idx: number): number {
    const fd = this.mapFds[idx];
    if (fd === undefined) throw new RangeError(`map index ${idx} was not created`);
    return fd;
  }

  private mapName(idx: number): string {
    return this.maps.find((m) => m.index === idx)?.name ?? `#${idx}`;
  }

  private syscall(what: string, cmd: number, attr: Uint8Array, size: number): number {
    const ret = this.bpf.raw(cmd, attr, size);
    if (ret < 0) throw this.refused(what, -ret);
    return ret;
  }

  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof BpfError) throw this.refused(what, e.errno, e.log);
      throw e;
    }
  }

  private refused(what: string, errno: number, log = ""): ObjectLoadError {
    return new ObjectLoadError("LOAD_KERNEL_REFUSED", `${what}: ${errnoText(errno)}`, errno, log);
  }
}

export interface LoadObjectFileOptions extends DirectLoadOptions {
  /** The machine facts the object layer asks for (kallsyms, kconfig, …). */
  facts?: OpenOptions;
  /** The object name (internal map names derive from it); default bpftool's name for the file. */
  name?: string;
}

/**
 * Loads a BPF ELF object straight into `backend` through the load walker (libbpf's
 * bpf_object__load(), without a loader program). On failure everything created so far is
 * closed and the error is rethrown; on success the caller closes the result.
 */
export function loadObjectFile(
  backend: BpfBackend,
  bytes: Uint8Array,
  file: string,
  options: LoadObjectFileOptions = {},
): DirectObjectLoad {
  const name = options.name ?? objectNameFromFile(file);
  const obj = openObject(bytes, name, options.facts ?? {}, file);
  const ops = new DirectObjectLoad(backend, options);
  try {
    loadObject(obj, ops);
  } catch (e) {
    ops.close();
    throw e;
  }
  return ops;
}
