/**
 * The opened object: libbpf's `struct bpf_object`, `struct bpf_program`, `struct bpf_map` and
 * `struct extern_desc`, reduced to what the gen-mode load sequence reads. `openObject()` fills
 * them from the ELF bytes; `loadObject()` relocates and walks them once.
 */

import type { BtfExt, BtfExtCoreRelo } from "../btf/btf_ext.js";
import type { BtfView } from "./btf_view.js";
import type { SecDef } from "./section_def.js";

/** enum libbpf_map_type */
export const LibbpfMapType = {
  UNSPEC: 0,
  DATA: 1,
  BSS: 2,
  RODATA: 3,
  KCONFIG: 4,
  STRUCT_OPS: 5,
} as const;

/** enum sec_type: how libbpf classified an ELF section */
export const SecType = {
  UNUSED: 0,
  RELO: 1,
  BSS: 2,
  DATA: 3,
  RODATA: 4,
  ST_OPS: 5,
} as const;

/** enum reloc_type (its order breaks ties when sorting relocations) */
export const ReloType = {
  LD64: 0,
  CALL: 1,
  DATA: 2,
  EXTERN_LD64: 3,
  EXTERN_CALL: 4,
  SUBPROG_ADDR: 5,
  CORE: 6,
  INSN_ARRAY: 7,
} as const;

/** enum extern_type */
export const ExtType = { UNKNOWN: 0, KCFG: 1, KSYM: 2 } as const;

/** enum kcfg_type */
export const KcfgType = {
  UNKNOWN: 0,
  CHAR: 1,
  BOOL: 2,
  INT: 3,
  TRISTATE: 4,
  CHAR_ARR: 5,
} as const;

/** A CO-RE relocation record of .BTF.ext (`struct bpf_core_relo`). */
export type CoreReloRec = BtfExtCoreRelo;

/** struct reloc_desc */
export interface ReloDesc {
  type: number;
  insnIdx: number;
  mapIdx: number;
  symOff: number;
  extIdx: number;
  coreRelo: CoreReloRec | null;
}

/** struct extern_desc */
export interface ExternDesc {
  name: string;
  type: number;
  symIdx: number;
  btfId: number;
  secBtfId: number;
  isWeak: boolean;
  isSet: boolean;
  kcfg: { type: number; sz: number; align: number; dataOff: number; isSigned: boolean };
  ksym: {
    typeId: number;
    addr: bigint;
    kernelBtfId: number;
    kernelBtfObjFd: number;
    btfFdIdx: number;
  };
}

/** struct bpf_map_def as libbpf keeps it */
export interface MapDef {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
}

/** struct bpf_map */
export interface BpfMap {
  /** the name given to the kernel (internal maps: the truncated "<obj>.<sec>" form) */
  name: string;
  /** the full name: the variable name, or the ELF section name of an internal map */
  realName: string;
  libbpfType: number;
  secIdx: number;
  secOffset: number;
  /** index of the map's VAR in the .maps DATASEC, -1 for others */
  btfVarIdx: number;
  def: MapDef;
  mapExtra: bigint;
  numaNode: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** LIBBPF_PIN_BY_NAME in the definition */
  pinByName: boolean;
  innerMap: BpfMap | null;
  /** map-in-map / prog-array initial slots: target map or program index, or -1 */
  initSlots: number[];
  /** the initial value image of an internal map (value_size bytes), else null */
  mmaped: Uint8Array | null;
  autocreate: boolean;
}

/** struct bpf_program: one STT_FUNC symbol of an executable section (entry program or subprogram) */
export interface BpfProgram {
  name: string;
  /** section name without a leading "?" */
  secName: string;
  secIdx: number;
  secInsnOff: number;
  secInsnCnt: number;
  /** instructions in host (little-endian) order; grows when subprograms are appended */
  insns: Uint8Array;
  type: number;
  expectedAttachType: number;
  secDef: SecDef | undefined;
  autoload: boolean;
  symGlobal: boolean;
  markBtfStatic: boolean;
  relos: ReloDesc[];
  /** where this (sub)program sits in the main program being relocated; 0 = not appended */
  subInsnOff: number;
  exceptionCbIdx: number;
  funcInfo: Uint8Array | null;
  funcInfoCnt: number;
  funcInfoRecSize: number;
  lineInfo: Uint8Array | null;
  lineInfoCnt: number;
  lineInfoRecSize: number;
  progFlags: number;
  attachBtfId: number;
  attachBtfObjFd: number;
}

/** The machine facts libbpf would read while generating (all optional; asked for when needed). */
export interface OpenOptions {
  /** `sysconf(_SC_PAGE_SIZE)` of the generating machine: ringbuf max_entries rounding */
  pageSize?: number;
  /** `libbpf_num_possible_cpus()`: PERF_EVENT_ARRAY maps with max_entries 0 */
  nrCpus?: number;
  /** `get_kernel_version()` (KERNEL_VERSION(a,b,c)): LINUX_KERNEL_VERSION and kern_version */
  kernelVersion?: number;
  /** text of the generating machine's kernel config (/boot/config-$(uname -r)) */
  kconfig?: string;
  /** libbpf's `kconfig` open option: config lines applied before the machine's config */
  kconfigOverride?: string;
  /** text of /proc/kallsyms: addresses of typeless __ksym externs */
  kallsyms?: string;
}

/** struct bpf_object after open */
export interface BpfObject {
  /** object name as libbpf keeps it (at most 15 characters) */
  name: string;
  /** the name errors mention (the caller's file name) */
  path: string;
  license: string;
  kernVersion: number;
  littleEndian: boolean;
  programs: BpfProgram[];
  maps: BpfMap[];
  externs: ExternDesc[];
  btf: BtfView | null;
  /** .BTF.ext; its `hostRecords` are the records in host byte order, as libbpf keeps them */
  btfExt: BtfExt | null;
  /** per ELF section index: SecType */
  secTypes: number[];
  /** ELF section names by index */
  secNames: string[];
  textShndx: number;
  symbolsShndx: number;
  btfMapsShndx: number;
  btfMapsSecBtfId: number;
  arenaDataShndx: number;
  jumptablesShndx: number;
  kconfigMapIdx: number;
  arenaMapIdx: number;
  hasStOps: boolean;
  options: OpenOptions;
  loaded: boolean;
  /**
   * What libbpf reports at warning level without failing (bpftool prints these as "libbpf: ..."):
   * BTF or .BTF.ext it could not parse and ignored, func/line info it dropped.
   */
  warnings: string[];
}
