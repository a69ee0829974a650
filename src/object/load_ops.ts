/**
 * The calls the object load walker makes instead of system calls when it generates a loader.
 *
 * libbpf's `bpf_object__load()` in gen_loader mode calls `bpf_gen__*` in place of `BPF_BTF_LOAD`,
 * `BPF_MAP_CREATE`, `BPF_PROG_LOAD`, …; `loadObject()` (load.ts) makes the same calls, in the same
 * order and with the same arguments, on an `ObjectLoadOps`. `BpfGen` (src/gen/gen_loader.ts)
 * implements it to emit a loader; a recorder implements it to compare against libbpf traces.
 *
 * Numbers are plain numbers in u32 range; `mapExtra` is a bigint. Byte arrays are in the host's
 * (little-endian) byte order except the raw BTF, which keeps the object's byte order as
 * `btf__raw_data()` does.
 */

import type { BtfExtCoreRelo } from "../btf/btf_ext.js";
import { MapType } from "../uapi/constants.js";

/** The `bpf_map_create_opts` fields `bpf_gen__map_create()` reads. */
export interface MapCreateAttr {
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxValueTypeId: number;
  mapFlags: number;
  mapExtra: bigint;
  numaNode: number;
  mapIfindex: number;
}

/** The `bpf_prog_load_opts` fields `bpf_gen__prog_load()` reads. */
export interface ProgLoadAttr {
  expectedAttachType: number;
  progFlags: number;
  progIfindex: number;
  kernVersion: number;
  attachBtfId: number;
  attachBtfObjFd: number;
  funcInfo: Uint8Array | null;
  funcInfoCnt: number;
  funcInfoRecSize: number;
  lineInfo: Uint8Array | null;
  lineInfoCnt: number;
  lineInfoRecSize: number;
}

/** `struct bpf_core_relo` as `bpf_gen__record_relo_core()` receives it. */
export type CoreRelo = BtfExtCoreRelo;

/** One back-end of the load walker: the `bpf_gen__*` entry points libbpf calls. */
export interface ObjectLoadOps {
  /** bpf_gen__init(gen, 0, nr_progs, nr_maps) */
  init(nrProgs: number, nrMaps: number): void;
  /** bpf_gen__load_btf */
  loadBtf(raw: Uint8Array): void;
  /** bpf_gen__map_create (mapIdx -1 = inner map) */
  mapCreate(
    mapType: number,
    name: string,
    keySize: number,
    valueSize: number,
    maxEntries: number,
    attr: MapCreateAttr,
    mapIdx: number,
  ): void;
  /** bpf_gen__map_update_elem */
  mapUpdateElem(mapIdx: number, value: Uint8Array): void;
  /** bpf_gen__map_freeze */
  mapFreeze(mapIdx: number): void;
  /** bpf_gen__populate_outer_map */
  populateOuterMap(outerMapIdx: number, slot: number, innerMapIdx: number): void;
  /** bpf_gen__record_attach_target */
  recordAttachTarget(name: string, attachType: number): void;
  /** bpf_gen__record_extern */
  recordExtern(
    name: string,
    isWeak: boolean,
    isTypeless: boolean,
    isLd64: boolean,
    kind: number,
    insnIdx: number,
  ): void;
  /** bpf_gen__record_relo_core */
  recordReloCore(relo: CoreRelo): void;
  /** bpf_gen__prog_load */
  progLoad(
    progType: number,
    name: string,
    license: string,
    insns: Uint8Array,
    attr: ProgLoadAttr,
    progIdx: number,
  ): void;
  /** bpf_gen__finish */
  finish(nrProgs: number, nrMaps: number): void;
}

/** A type found in the kernel's BTF: its id and the fd of the BTF object (0 = vmlinux). */
export interface KernelBtfRef {
  btfId: number;
  btfObjFd: number;
}

/**
 * What a loader program would ask the kernel while it loads, for a back-end that loads directly
 * (src/loader/object_load.ts); absent lookups fail the load that needs them.
 */
export interface KernelSymbols {
  /** bpf_btf_find_by_name_kind(): null when the kernel's BTF has no such type. */
  findBtf?(name: string, kind: number): KernelBtfRef | null;
  /** bpf_kallsyms_lookup_name(): null (or 0, an address hidden by kptr_restrict) when unknown. */
  kallsyms?(name: string): bigint | null;
}

/** `sizeof(struct bpf_core_relo)`: the `core_relo_rec_size` both back-ends pass. */
export const CORE_RELO_SIZE = 16;

/** The `core_relos` array of a `BPF_PROG_LOAD` attr: one 16-byte `struct bpf_core_relo` each, little endian. */
export function encodeCoreRelos(relos: readonly CoreRelo[]): Uint8Array {
  const out = new Uint8Array(relos.length * CORE_RELO_SIZE);
  const dv = new DataView(out.buffer);
  relos.forEach((r, i) => {
    const at = i * CORE_RELO_SIZE;
    dv.setUint32(at, r.insnOff >>> 0, true);
    dv.setUint32(at + 4, r.typeId >>> 0, true);
    dv.setUint32(at + 8, r.accessStrOff >>> 0, true);
    dv.setUint32(at + 12, r.kind >>> 0, true);
  });
  return out;
}

/** One extern a program references, as `bpf_gen__record_extern()` receives it (`struct ksym_relo_desc`). */
export interface ExternRelo {
  name: string;
  kind: number;
  insnIdx: number;
  isWeak: boolean;
  isTypeless: boolean;
  isLd64: boolean;
}

/** Map types whose create takes an inner map template (`BPF_MAP_TYPE_{ARRAY,HASH}_OF_MAPS`). */
export function isMapInMap(mapType: number): boolean {
  return mapType === MapType.ARRAY_OF_MAPS || mapType === MapType.HASH_OF_MAPS;
}
