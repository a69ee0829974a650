/**
 * The object layer: libbpf's bpf_object from `bpf_object__open_mem()` through
 * `bpf_object__load()` in gen_loader mode, as pure TypeScript.
 *
 *   openObject(bytes, name, opts)   ELF bytes -> BpfObject (programs, maps, externs, BTF)
 *   loadObject(obj, ops)            libbpf's load sequence, made on an ObjectLoadOps
 *
 * Files follow libbpf's concepts: section_def (SEC() names), map (BTF-defined and global-data
 * maps), extern (kconfig / ksym), relo (relocations and subprogram linking), relo_core (CO-RE
 * records), load (the walker), load_ops (the interface gen/ implements). Machine facts libbpf
 * would read while generating (page size, CPU count, kernel version and config, kallsyms) are
 * `OpenOptions`; everything else is a function of the bytes.
 */

export { ObjectError, type ObjectErrorCode } from "./errors.js";
export {
  getKernelVersion,
  kernelVersionCode,
  numPossibleCpus,
  type UnameFacts,
} from "./host_facts.js";
export { loadObject } from "./load.js";
export type { CoreRelo, MapCreateAttr, ObjectLoadOps, ProgLoadAttr } from "./load_ops.js";
export { adjustRingbufSz, internalMapName } from "./map.js";
export { openObject } from "./object.js";
export {
  AttachType,
  findSecDef,
  prepareProgLoad,
  SECTION_DEFS,
  type SecDef,
  SecFlag,
  secDefMatches,
} from "./section_def.js";
export type {
  BpfMap,
  BpfObject,
  BpfProgram,
  ExternDesc,
  MapDef,
  OpenOptions,
  ReloDesc,
} from "./types.js";
export { ExtType, LibbpfMapType, ReloType } from "./types.js";
