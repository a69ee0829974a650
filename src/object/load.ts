/**
 * The load walker: libbpf's `bpf_object_load()` in gen_loader mode, calling `ObjectLoadOps`
 * where libbpf calls `bpf_gen__*`, in libbpf's order:
 *
 *   init(nr_programs, nr_maps)                      nr_programs counts .text subprograms too
 *   prepare: resolve externs, relocate (CO-RE recorded, subprograms appended, data relocated),
 *            loadBtf(raw BTF after the fix-ups)     only when the object has BTF
 *            per map: [inner mapCreate(-1)] mapCreate(i) [mapUpdateElem(i) [mapFreeze(i)]]
 *                     [populateOuterMap(i, slot, j)…]
 *   per entry program (not .text, autoload): recordExtern / recordReloCore per relocation in
 *            instruction order, [recordAttachTarget], progLoad(…, index in the program list)
 *   finish(nr_programs, nr_maps)
 *
 * `loadObject` relocates the opened object in place; like libbpf it can run once per object.
 */

import { MapType, ProgType } from "../uapi/constants.js";
import { Kind } from "./btf_view.js";
import { Errno, ObjectError } from "./errors.js";
import { resolveExterns } from "./extern.js";
import type { MapCreateAttr, ObjectLoadOps, ProgLoadAttr } from "./load_ops.js";
import { mapSetDefMaxEntries } from "./map.js";
import { progIsSubprog, relocateObject } from "./relo.js";
import { coreReloForGen } from "./relo_core.js";
import { prepareProgLoad } from "./section_def.js";
import type { BpfMap, BpfObject, BpfProgram } from "./types.js";
import { ExtType, LibbpfMapType, ReloType } from "./types.js";

/** map types whose BTF key/value ids libbpf clears before BPF_MAP_CREATE */
const NO_BTF_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.PERF_EVENT_ARRAY,
  MapType.CGROUP_ARRAY,
  MapType.STACK_TRACE,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.DEVMAP,
  MapType.DEVMAP_HASH,
  MapType.CPUMAP,
  MapType.XSKMAP,
  MapType.SOCKMAP,
  MapType.SOCKHASH,
  MapType.QUEUE,
  MapType.STACK,
  MapType.ARENA,
]);

function unsupported(obj: BpfObject, section: string, detail: string, errno: number): ObjectError {
  return new ObjectError("OBJECT_UNSUPPORTED", obj.path, section, -1, detail, errno);
}

/** libbpf `bpf_object__create_map()` in gen mode */
function createMap(
  obj: BpfObject,
  ops: ObjectLoadOps,
  map: BpfMap,
  mapIdx: number,
  btfLoaded: boolean,
): void {
  const attr: MapCreateAttr = {
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    btfVmlinuxValueTypeId: 0,
    mapFlags: map.def.mapFlags,
    mapExtra: map.mapExtra,
    numaNode: map.numaNode,
    mapIfindex: 0,
  };
  if (btfLoaded) {
    attr.btfKeyTypeId = map.btfKeyTypeId;
    attr.btfValueTypeId = map.btfValueTypeId;
  }
  const t = map.def.type;
  if ((t === MapType.ARRAY_OF_MAPS || t === MapType.HASH_OF_MAPS) && map.innerMap) {
    mapSetDefMaxEntries(obj, map.innerMap);
    createMap(obj, ops, map.innerMap, -1, btfLoaded);
  }
  if (NO_BTF_MAP_TYPES.has(t)) {
    attr.btfKeyTypeId = 0;
    attr.btfValueTypeId = 0;
    map.btfKeyTypeId = 0;
    map.btfValueTypeId = 0;
  } else if (t === MapType.STRUCT_OPS) {
    attr.btfValueTypeId = 0;
  }
  ops.mapCreate(t, map.name, map.def.keySize, map.def.valueSize, map.def.maxEntries, attr, mapIdx);
  if (map.innerMap) map.innerMap = null;
}

/** libbpf `bpf_object__create_maps()` in gen mode */
function createMaps(obj: BpfObject, ops: ObjectLoadOps, btfLoaded: boolean): void {
  obj.maps.forEach((map, i) => {
    if (!map.autocreate) return;
    mapSetDefMaxEntries(obj, map);
    createMap(obj, ops, map, i, btfLoaded);
    // libbpf mmap()s an arena's placeholder fd and copies the __arena globals into it: with
    // globals there is nothing a generated loader can do (libbpf itself faults on the copy)
    if (map.def.type === MapType.ARENA && obj.arenaDataShndx > 0)
      throw unsupported(
        obj,
        ".addr_space.1",
        `map '${map.name}': __arena globals cannot be put into an arena by a generated loader`,
        -Errno.EINVAL,
      );
    if (map.libbpfType !== LibbpfMapType.UNSPEC) {
      ops.mapUpdateElem(i, map.mmaped!.slice(0, map.def.valueSize));
      if (map.libbpfType === LibbpfMapType.RODATA || map.libbpfType === LibbpfMapType.KCONFIG)
        ops.mapFreeze(i);
    }
    if (map.initSlots.length && map.def.type !== MapType.PROG_ARRAY) {
      map.initSlots.forEach((target, slot) => {
        if (target >= 0) ops.populateOuterMap(i, slot, target);
      });
      map.initSlots = [];
    }
    // bpf_map__pin(): libbpf pins after creating, with a placeholder fd, which bpffs refuses
    if (map.pinByName)
      throw unsupported(
        obj,
        ".maps",
        `map '${map.name}': LIBBPF_PIN_BY_NAME cannot be honoured by a generated loader`,
        -Errno.EINVAL,
      );
  });
}

/** libbpf `bpf_object__sanitize_and_load_btf()` in gen mode; returns whether BTF was loaded */
function loadBtf(obj: BpfObject, ops: ObjectLoadOps): boolean {
  const btf = obj.btf;
  if (!btf) return false;
  for (const prog of obj.programs) {
    if (!prog.markBtfStatic || !progIsSubprog(obj, prog)) continue;
    for (let id = 1; id < btf.typeCnt; id++) {
      if (btf.kind(id) !== Kind.FUNC || btf.vlen(id) !== 1) continue;
      if (btf.name(id) !== prog.name) continue;
      btf.btf.setFuncLinkage(id, 0);
      break;
    }
  }
  ops.loadBtf(btf.btf.rawData());
  return true;
}

/** libbpf `bpf_program_record_relos()` */
function recordRelos(obj: BpfObject, ops: ObjectLoadOps, prog: BpfProgram): void {
  for (const relo of prog.relos) {
    if (relo.type === ReloType.EXTERN_LD64) {
      const ext = obj.externs[relo.extIdx];
      if (ext.type !== ExtType.KSYM) continue;
      const kind = obj.btf!.kind(ext.btfId) === Kind.VAR ? Kind.VAR : Kind.FUNC;
      ops.recordExtern(ext.name, ext.isWeak, !ext.ksym.typeId, true, kind, relo.insnIdx);
    } else if (relo.type === ReloType.EXTERN_CALL) {
      const ext = obj.externs[relo.extIdx];
      ops.recordExtern(ext.name, ext.isWeak, false, false, Kind.FUNC, relo.insnIdx);
    } else if (relo.type === ReloType.CORE) {
      ops.recordReloCore(coreReloForGen(relo.coreRelo!, relo.insnIdx));
    }
  }
}

/** libbpf `bpf_object_load_prog()` in gen mode */
function loadProg(
  obj: BpfObject,
  ops: ObjectLoadOps,
  prog: BpfProgram,
  progIdx: number,
  btfLoaded: boolean,
): void {
  const fail = (detail: string, errno: number) =>
    new ObjectError(
      "OBJECT_BAD_PROG",
      obj.path,
      prog.secName,
      prog.secInsnOff * 8,
      `prog '${prog.name}': ${detail}`,
      errno,
    );
  if (prog.type === ProgType.UNSPEC)
    throw fail(`missing BPF prog type, check ELF section name '${prog.secName}'`, -Errno.EINVAL);
  if (prog.type === ProgType.STRUCT_OPS && prog.attachBtfId === 0)
    throw fail(`SEC("struct_ops") program isn't referenced anywhere`, -Errno.EINVAL);
  if (prog.insns.length === 0) throw fail("no instructions", -Errno.EINVAL);
  const attr: ProgLoadAttr = {
    expectedAttachType: prog.expectedAttachType,
    progFlags: prog.progFlags,
    progIfindex: 0,
    kernVersion: obj.kernVersion,
    attachBtfId: prog.attachBtfId,
    attachBtfObjFd: prog.attachBtfObjFd,
    funcInfo: null,
    funcInfoCnt: 0,
    funcInfoRecSize: 0,
    lineInfo: null,
    lineInfoCnt: 0,
    lineInfoRecSize: 0,
  };
  if (btfLoaded) {
    attr.funcInfo = prog.funcInfo;
    attr.funcInfoCnt = prog.funcInfoCnt;
    attr.funcInfoRecSize = prog.funcInfoRecSize;
    attr.lineInfo = prog.lineInfo;
    attr.lineInfoCnt = prog.lineInfoCnt;
    attr.lineInfoRecSize = prog.lineInfoRecSize;
  }
  if (prog.secDef) {
    const p = prepareProgLoad(
      prog.secDef,
      prog.secName,
      prog.type,
      attr.expectedAttachType,
      attr.progFlags,
    );
    if (p.refusal)
      throw fail(`failed to prepare load attributes: ${p.refusal.reason}`, p.refusal.errno);
    attr.expectedAttachType = p.expectedAttachType;
    attr.progFlags = p.progFlags;
    if (p.expectedAttachType !== prog.expectedAttachType)
      prog.expectedAttachType = p.expectedAttachType;
    if (p.attachTarget && !prog.attachBtfId) {
      ops.recordAttachTarget(p.attachTarget.name, p.attachTarget.attachType);
      prog.attachBtfId = 1;
      prog.attachBtfObjFd = 0;
      attr.attachBtfId = 1;
      attr.attachBtfObjFd = 0;
    }
  }
  ops.progLoad(prog.type, prog.name, obj.license, prog.insns.slice(), attr, progIdx);
}

/**
 * Runs libbpf's gen-mode load sequence of `obj` on `ops`. Throws `ObjectError` where libbpf's
 * `bpf_object__load()` fails; calls made before the failure stay made (libbpf does the same).
 */
export function loadObject(obj: BpfObject, ops: ObjectLoadOps): void {
  if (obj.loaded)
    throw new ObjectError(
      "OBJECT_BAD_PROG",
      obj.path,
      "",
      -1,
      "load can't be attempted twice",
      -Errno.EINVAL,
    );
  obj.loaded = true;
  const nrProgs = obj.programs.length;
  const nrMaps = obj.maps.length;
  ops.init(nrProgs, nrMaps);

  // bpf_object_prepare()
  resolveExterns(obj);
  if (obj.hasStOps)
    throw unsupported(
      obj,
      ".struct_ops",
      "struct_ops maps need vmlinux BTF, which gen mode never loads",
      -Errno.EOPNOTSUPP,
    );
  try {
    relocateObject(obj);
  } catch (e) {
    // subprograms are appended depth first, as libbpf does; a chain deeper than the JS stack
    // is refused instead of crashing
    if (e instanceof RangeError)
      throw new ObjectError(
        "OBJECT_BAD_PROG",
        obj.path,
        ".text",
        -1,
        `subprogram calls nest too deeply: ${e.message}`,
        -Errno.E2BIG,
      );
    throw e;
  }
  const btfLoaded = loadBtf(obj, ops);
  createMaps(obj, ops, btfLoaded);

  // bpf_object__load_progs()
  obj.programs.forEach((prog, i) => {
    if (progIsSubprog(obj, prog) || !prog.autoload) return;
    recordRelos(obj, ops, prog);
    loadProg(obj, ops, prog, i, btfLoaded);
  });

  // bpf_object_init_prog_arrays(): prog-array slots cannot be filled by a generated loader
  for (const map of obj.maps) {
    if (map.def.type === MapType.PROG_ARRAY && map.initSlots.some((s) => s >= 0))
      throw unsupported(
        obj,
        ".maps",
        `map '${map.name}': prog-array initial slots are not supported in a generated loader`,
        -Errno.ENOTSUP,
      );
  }
  ops.finish(nrProgs, nrMaps);
}
