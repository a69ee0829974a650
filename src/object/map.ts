/**
 * Maps of an object as libbpf builds them at open time:
 *
 *   - BTF-defined maps of SEC(".maps"), in the order of their VARs in the (offset-sorted) .maps
 *     DATASEC (`bpf_object__init_user_btf_maps` / `parse_btf_map_def`);
 *   - the global-data maps, one per non-empty .data*, .rodata*, .bss* section in section order
 *     (`bpf_object__init_global_data_maps`), named by `internal_map_name()`;
 *   - the .kconfig map when the object has kconfig externs (`bpf_object__init_kconfig_map`);
 *
 * plus the initial slots of map-in-map / prog-array definitions from the .maps relocations
 * (`bpf_object__collect_map_relos`) and the load-time size fix-ups (`map_set_def_max_entries`,
 * ringbuf rounding to a power-of-two number of pages).
 *
 * Legacy SEC("maps") definitions are refused as libbpf 1.x refuses them (in object.ts).
 */

import { MapFlag, MapType } from "../uapi/constants.js";
import type { BtfView } from "./btf_view.js";
import { Kind, VarLinkage } from "./btf_view.js";
import { Errno, ObjectError } from "./errors.js";
import type { BpfMap, BpfObject, MapDef } from "./types.js";
import { ExtType, LibbpfMapType } from "./types.js";

const OBJ_NAME_LEN = 16;
const MAPS_SEC = ".maps";
/**
 * Largest global-data image accepted. libbpf itself mmap()s any size; this bound keeps a damaged
 * section size from exhausting memory. It is far above what a loader can carry: the image goes
 * into the loader's data blob, which the loader puts in one array map value (at most
 * KMALLOC_MAX_SIZE, 4 MiB on x86-64), and a signed loader is at most 16 MiB in all.
 */
export const MAX_INTERNAL_MAP_SZ = 64 * 1024 * 1024;

/** libbpf `internal_map_name()`: the kernel-visible name of a global-data map. */
export function internalMapName(objName: string, realName: string): string {
  let sfxLen = Math.max(7, realName.length);
  if (sfxLen >= OBJ_NAME_LEN) sfxLen = OBJ_NAME_LEN - 1;
  const pfxLen =
    realName.indexOf(".", 1) >= 0 ? 0 : Math.min(OBJ_NAME_LEN - sfxLen - 1, objName.length);
  const name = (objName.slice(0, pfxLen) + realName.slice(0, sfxLen)).slice(0, OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

/** libbpf `adjust_ringbuf_sz()`: a power-of-two multiple of the page size at least `sz`. */
export function adjustRingbufSz(sz: number, pageSize: number): number {
  if (sz === 0) return 0;
  const q = sz / pageSize;
  if (sz % pageSize === 0 && (q & (q - 1)) === 0) return sz;
  for (let mul = 1; mul <= Math.floor(0xffffffff / pageSize); mul *= 2) {
    if (mul * pageSize > sz) return mul * pageSize;
  }
  return sz;
}

function isMapInMap(type: number): boolean {
  return type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS;
}

function isRingbuf(type: number): boolean {
  return type === MapType.RINGBUF || type === MapType.USER_RINGBUF;
}

/** struct btf_map_def */
interface BtfMapDef {
  mapType: number;
  keyTypeId: number;
  valueTypeId: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  numaNode: number;
  pinning: number;
  mapExtra: bigint;
  hasInner: boolean;
}

function emptyDef(): BtfMapDef {
  return {
    mapType: 0,
    keyTypeId: 0,
    valueTypeId: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    mapFlags: 0,
    numaNode: 0,
    pinning: 0,
    mapExtra: 0n,
    hasInner: false,
  };
}

/**
 * libbpf `parse_btf_map_def()`: reads the members of a map definition struct. `inner` is null when
 * parsing an inner definition (which may not nest further or be pinned).
 */
function parseBtfMapDef(
  obj: BpfObject,
  btf: BtfView,
  mapName: string,
  defId: number,
  def: BtfMapDef,
  inner: BtfMapDef | null,
  secOff: number,
): void {
  const fail = (detail: string, errno: number = -Errno.EINVAL): ObjectError =>
    new ObjectError(
      "OBJECT_BAD_MAP",
      obj.path,
      MAPS_SEC,
      secOff,
      `map '${mapName}': ${detail}`,
      errno,
    );
  const fieldInt = (mType: number, field: string): number => {
    const t = btf.skipModsAndTypedefs(mType);
    if (btf.kind(t) !== Kind.PTR) throw fail(`attr '${field}': expected PTR`);
    const arr = btf.sizeOrType(t);
    if (arr === 0 || arr >= btf.typeCnt) throw fail(`attr '${field}': type [${arr}] not found`);
    if (btf.kind(arr) !== Kind.ARRAY) throw fail(`attr '${field}': expected ARRAY`);
    return btf.arrayNelems(arr);
  };
  const members = btf.members(defId);
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    const name = btf.str(m.nameOff);
    if (name === "type") def.mapType = fieldInt(m.type, name);
    else if (name === "max_entries") def.maxEntries = fieldInt(m.type, name);
    else if (name === "map_flags") def.mapFlags = fieldInt(m.type, name);
    else if (name === "numa_node") def.numaNode = fieldInt(m.type, name);
    else if (name === "key_size" || name === "value_size") {
      const sz = fieldInt(m.type, name);
      const cur = name === "key_size" ? def.keySize : def.valueSize;
      if (cur && cur !== sz)
        throw fail(`conflicting ${name === "key_size" ? "key" : "value"} size ${cur} != ${sz}`);
      if (name === "key_size") def.keySize = sz;
      else def.valueSize = sz;
    } else if (name === "key" || name === "value") {
      if (m.type === 0 || m.type >= btf.typeCnt) throw fail(`${name} type [${m.type}] not found`);
      if (btf.kind(m.type) !== Kind.PTR) throw fail(`${name} spec is not PTR`);
      const target = btf.sizeOrType(m.type);
      const sz = btf.resolveSize(target);
      if (sz < 0) throw fail(`can't determine ${name} size for type [${target}]`, sz);
      const cur = name === "key" ? def.keySize : def.valueSize;
      if (cur && cur !== sz) throw fail(`conflicting ${name} size ${cur} != ${sz}`);
      if (name === "key") {
        def.keySize = sz;
        def.keyTypeId = target;
      } else {
        def.valueSize = sz;
        def.valueTypeId = target;
      }
    } else if (name === "values") {
      const mim = isMapInMap(def.mapType);
      const progArray = def.mapType === MapType.PROG_ARRAY;
      const desc = mim ? "map-in-map inner" : "prog-array value";
      if (inner === null) throw fail("multi-level inner maps not supported", -Errno.ENOTSUP);
      if (i !== members.length - 1) throw fail(`'${name}' member should be last`);
      if (!mim && !progArray) throw fail("should be map-in-map or prog-array", -Errno.ENOTSUP);
      if (def.valueSize && def.valueSize !== 4)
        throw fail(`conflicting value size ${def.valueSize} != 4`);
      def.valueSize = 4;
      if (m.type === 0 || m.type >= btf.typeCnt) throw fail(`${desc} type [${m.type}] not found`);
      if (btf.kind(m.type) !== Kind.ARRAY || btf.arrayNelems(m.type) !== 0)
        throw fail(`${desc} spec is not a zero-sized array`);
      let t = btf.skipModsAndTypedefs(btf.arrayType(m.type));
      if (btf.kind(t) !== Kind.PTR) throw fail(`${desc} def is of unexpected kind`);
      t = btf.skipModsAndTypedefs(btf.sizeOrType(t));
      if (progArray) {
        if (btf.kind(t) !== Kind.FUNC_PROTO)
          throw fail("prog-array value def is of unexpected kind");
        continue;
      }
      if (btf.kind(t) !== Kind.STRUCT) throw fail("map-in-map inner def is of unexpected kind");
      parseBtfMapDef(obj, btf, `${mapName}.inner`, t, inner, null, secOff);
      def.hasInner = true;
    } else if (name === "pinning") {
      if (inner === null) throw fail("inner def can't be pinned");
      const v = fieldInt(m.type, name);
      if (v !== 0 && v !== 1) throw fail(`invalid pinning value ${v}`);
      def.pinning = v;
    } else if (name === "map_extra") {
      const t = btf.skipModsAndTypedefs(m.type);
      const k = btf.kind(t);
      if (k === Kind.PTR) def.mapExtra = BigInt(fieldInt(m.type, name));
      else if (k === Kind.ENUM || k === Kind.ENUM64) {
        if (btf.vlen(t) !== 1) throw fail(`attr '${name}': invalid __ulong`);
        def.mapExtra = btf.enumValue(t, 0);
      } else throw fail(`attr '${name}': expected ENUM or ENUM64`);
    } else {
      throw fail(`unknown field '${name}'`, -Errno.ENOTSUP);
    }
  }
  if (def.mapType === 0) throw fail("map type isn't specified");
}

function newMap(name: string, realName: string): BpfMap {
  return {
    name,
    realName,
    libbpfType: LibbpfMapType.UNSPEC,
    secIdx: 0,
    secOffset: 0,
    btfVarIdx: -1,
    def: { type: 0, keySize: 0, valueSize: 0, maxEntries: 0, mapFlags: 0 },
    mapExtra: 0n,
    numaNode: 0,
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    pinByName: false,
    innerMap: null,
    initSlots: [],
    mmaped: null,
    autocreate: true,
  };
}

/** libbpf `fill_map_from_def()` */
function fillMapFromDef(obj: BpfObject, map: BpfMap, d: BtfMapDef, secOff: number): void {
  const def: MapDef = {
    type: d.mapType,
    keySize: d.keySize,
    valueSize: d.valueSize,
    maxEntries: d.maxEntries,
    mapFlags: d.mapFlags,
  };
  map.def = def;
  map.mapExtra = d.mapExtra;
  map.numaNode = d.numaNode;
  map.btfKeyTypeId = d.keyTypeId;
  map.btfValueTypeId = d.valueTypeId;
  if (isRingbuf(def.type) && def.maxEntries !== 0) {
    const ps = obj.options.pageSize;
    if (ps === undefined)
      throw new ObjectError(
        "OBJECT_MISSING_HOST_FACT",
        obj.path,
        MAPS_SEC,
        secOff,
        `map '${map.name}': ringbuf size rounding needs the generating machine's page size (pageSize)`,
      );
    def.maxEntries = adjustRingbufSz(def.maxEntries, ps);
  }
}

/** libbpf `bpf_object__init_user_btf_maps()` */
export function initUserBtfMaps(obj: BpfObject, mapsData: Uint8Array | null): void {
  if (obj.btfMapsShndx < 0) return;
  const btf = obj.btf;
  const fail = (off: number, detail: string, errno: number = -Errno.EINVAL): ObjectError =>
    new ObjectError("OBJECT_BAD_MAP", obj.path, MAPS_SEC, off, detail, errno);
  if (!btf || !mapsData) throw fail(-1, 'BTF is required for SEC(".maps")', -Errno.ENOENT);
  const sec = btf.findByNameKind(MAPS_SEC, Kind.DATASEC);
  if (sec < 0) throw fail(-1, "DATASEC '.maps' not found", -Errno.ENOENT);
  obj.btfMapsSecBtfId = sec;
  const vsis = btf.secinfos(sec);
  for (let i = 0; i < vsis.length; i++) {
    const vi = vsis[i];
    if (vi.type === 0 || vi.type >= btf.typeCnt)
      throw fail(vi.offset, `map #${i}: bad VAR type id`);
    const mapName = btf.name(vi.type);
    if (mapName === "") throw fail(vi.offset, `map #${i}: empty name`);
    if (vi.offset + vi.size > mapsData.length)
      throw fail(vi.offset, `map '${mapName}' BTF data is corrupted`);
    if (btf.kind(vi.type) !== Kind.VAR)
      throw fail(vi.offset, `map '${mapName}': unexpected var kind`);
    if (btf.varLinkage(vi.type) !== VarLinkage.GLOBAL_ALLOCATED)
      throw fail(vi.offset, `map '${mapName}': unsupported map linkage`, -Errno.EOPNOTSUPP);
    const defId = btf.skipModsAndTypedefs(btf.sizeOrType(vi.type));
    if (defId === 0 || btf.kind(defId) !== Kind.STRUCT)
      throw fail(vi.offset, `map '${mapName}': unexpected def kind`);
    if (btf.sizeOrType(defId) > vi.size)
      throw fail(vi.offset, `map '${mapName}': invalid def size`);

    const map = newMap(mapName, mapName);
    obj.maps.push(map);
    map.libbpfType = LibbpfMapType.UNSPEC;
    map.secIdx = obj.btfMapsShndx;
    map.secOffset = vi.offset;
    map.btfVarIdx = i;
    const d = emptyDef();
    const innerDef = emptyDef();
    parseBtfMapDef(obj, btf, mapName, defId, d, innerDef, vi.offset);
    fillMapFromDef(obj, map, d, vi.offset);
    map.pinByName = d.pinning === 1;
    if (d.hasInner) {
      const inner = newMap(`${mapName}.inner`, `${mapName}.inner`);
      inner.secIdx = obj.btfMapsShndx;
      fillMapFromDef(obj, inner, innerDef, vi.offset);
      map.innerMap = inner;
    }
  }
  for (let i = 0; i < obj.maps.length; i++) {
    const m = obj.maps[i];
    if (m.def.type !== MapType.ARENA) continue;
    if (obj.arenaMapIdx >= 0)
      throw fail(m.secOffset, `map '${m.name}': only single ARENA map is supported`);
    obj.arenaMapIdx = i;
  }
  if (obj.arenaDataShndx > 0 && obj.arenaMapIdx < 0)
    throw fail(
      -1,
      'to use global __arena variables the ARENA map should be explicitly declared in SEC(".maps")',
      -Errno.ENOENT,
    );
}

/** libbpf `map_is_mmapable()` */
function mapIsMmapable(btf: BtfView | null, map: BpfMap): boolean {
  if (!btf || !map.btfValueTypeId) return false;
  const t = map.btfValueTypeId;
  if (btf.kind(t) !== Kind.DATASEC) return false;
  for (const vsi of btf.secinfos(t)) {
    if (vsi.type === 0 || vsi.type >= btf.typeCnt || btf.kind(vsi.type) !== Kind.VAR) continue;
    if (btf.varLinkage(vsi.type) !== VarLinkage.STATIC) return true;
  }
  return false;
}

/** libbpf `bpf_object__init_internal_map()` */
export function initInternalMap(
  obj: BpfObject,
  type: number,
  realName: string,
  secIdx: number,
  data: Uint8Array | null,
  size: number,
): void {
  if (size > MAX_INTERNAL_MAP_SZ)
    throw new ObjectError(
      "OBJECT_BAD_MAP",
      obj.path,
      realName,
      0,
      `global data map of ${size} bytes is larger than any loader can carry (limit ${MAX_INTERNAL_MAP_SZ})`,
      -Errno.E2BIG,
    );
  const map = newMap(internalMapName(obj.name, realName), realName);
  obj.maps.push(map);
  map.libbpfType = type;
  map.secIdx = secIdx;
  map.secOffset = 0;
  map.def = {
    type: MapType.ARRAY,
    keySize: 4,
    valueSize: size,
    maxEntries: 1,
    mapFlags:
      type === LibbpfMapType.RODATA || type === LibbpfMapType.KCONFIG ? MapFlag.RDONLY_PROG : 0,
  };
  // map_fill_btf_type_info(): a failure (e.g. .rodata.str1.1 has no DATASEC) leaves the ids at 0
  if (obj.btf) {
    const id = obj.btf.findByName(realName);
    if (id > 0) {
      map.btfKeyTypeId = 0;
      map.btfValueTypeId = id;
    }
  }
  if (mapIsMmapable(obj.btf, map)) map.def.mapFlags |= MapFlag.MMAPABLE;
  const image = new Uint8Array(size);
  if (data) image.set(data.subarray(0, size));
  map.mmaped = image;
}

/** libbpf `bpf_object__init_kconfig_map()` */
export function initKconfigMap(obj: BpfObject): void {
  let last = null;
  for (const ext of obj.externs) if (ext.type === ExtType.KCFG) last = ext;
  if (!last) return;
  const size = last.kcfg.dataOff + last.kcfg.sz;
  initInternalMap(obj, LibbpfMapType.KCONFIG, ".kconfig", obj.symbolsShndx, null, size);
  obj.kconfigMapIdx = obj.maps.length - 1;
}

/** libbpf `bpf_object__find_map_by_name()` */
function findMapByName(obj: BpfObject, name: string): number {
  for (let i = 0; i < obj.maps.length; i++) {
    const m = obj.maps[i];
    if (m.realName === name || m.name === name) return i;
  }
  return -1;
}

/** A .rel.maps entry resolved against the symbol table. */
export interface MapRel {
  offset: number;
  symName: string;
  symShndx: number;
  symValue: number;
}

/** libbpf `bpf_object__collect_map_relos()`: initial slots of map-in-map and prog-array maps. */
export function collectMapRelos(
  obj: BpfObject,
  rels: MapRel[],
  findEntryProg: (name: string, shndx: number, value: number) => number,
): void {
  const btf = obj.btf;
  const fail = (
    off: number,
    detail: string,
    code: "OBJECT_BAD_MAP" | "OBJECT_BAD_RELO",
    errno: number,
  ) => new ObjectError(code, obj.path, ".rel.maps", off, detail, errno);
  if (!btf || !obj.btfMapsSecBtfId)
    throw fail(-1, ".maps relocations without a .maps DATASEC", "OBJECT_BAD_RELO", -Errno.EINVAL);
  const vsis = btf.secinfos(obj.btfMapsSecBtfId);
  rels.forEach((rel, i) => {
    let mapIdx = -1;
    for (let j = 0; j < obj.maps.length; j++) {
      const m = obj.maps[j];
      if (m.secIdx !== obj.btfMapsShndx || m.btfVarIdx < 0) continue;
      const vi = vsis[m.btfVarIdx];
      if (vi.offset <= rel.offset && rel.offset + 8 <= vi.offset + vi.size) {
        mapIdx = j;
        break;
      }
    }
    if (mapIdx < 0)
      throw fail(
        rel.offset,
        `.maps relo #${i}: cannot find map '${rel.symName}'`,
        "OBJECT_BAD_RELO",
        -Errno.EINVAL,
      );
    const map = obj.maps[mapIdx];
    const mim = isMapInMap(map.def.type);
    let target: number;
    if (mim) {
      if (rel.symShndx !== obj.btfMapsShndx)
        throw fail(
          rel.offset,
          `.maps relo #${i}: '${rel.symName}' isn't a BTF-defined map`,
          "OBJECT_BAD_RELO",
          -Errno.LIBBPF_RELOC,
        );
      if (map.def.type === MapType.HASH_OF_MAPS && map.def.keySize !== 4)
        throw fail(
          rel.offset,
          `hash-of-maps '${map.name}' should have key size 4`,
          "OBJECT_BAD_MAP",
          -Errno.EINVAL,
        );
      target = findMapByName(obj, rel.symName);
      if (target < 0)
        throw fail(
          rel.offset,
          `.maps relo #${i}: '${rel.symName}' isn't a valid map reference`,
          "OBJECT_BAD_RELO",
          -Errno.ESRCH,
        );
    } else if (map.def.type === MapType.PROG_ARRAY) {
      target = findEntryProg(rel.symName, rel.symShndx, rel.symValue);
      if (target < 0)
        throw fail(
          rel.offset,
          `.maps relo #${i}: '${rel.symName}' isn't an entry-point program`,
          "OBJECT_BAD_RELO",
          -Errno.LIBBPF_RELOC,
        );
    } else {
      throw fail(
        rel.offset,
        `.maps relo #${i}: map '${map.name}' takes no initial values`,
        "OBJECT_BAD_RELO",
        -Errno.EINVAL,
      );
    }
    const vi = vsis[map.btfVarIdx];
    const defId = btf.skipModsAndTypedefs(btf.sizeOrType(vi.type));
    const n = btf.vlen(defId);
    const badValues = () =>
      fail(
        rel.offset,
        `.maps relo #${i}: not inside '${map.name}' values`,
        "OBJECT_BAD_RELO",
        -Errno.EINVAL,
      );
    if (n === 0) throw badValues();
    if (btf.str(btf.members(defId)[n - 1].nameOff) !== "values") throw badValues();
    const moffBase = Math.floor(btf.members(defId)[n - 1].bitOffset / 8);
    if (rel.offset - vi.offset < moffBase) throw badValues();
    const moff = rel.offset - vi.offset - moffBase;
    if (moff % 8) throw badValues();
    const slot = moff / 8;
    while (map.initSlots.length <= slot) map.initSlots.push(-1);
    map.initSlots[slot] = target;
  });
}

/** libbpf `map_set_def_max_entries()` */
export function mapSetDefMaxEntries(obj: BpfObject, map: BpfMap): void {
  if (map.def.type === MapType.PERF_EVENT_ARRAY && map.def.maxEntries === 0) {
    if (obj.options.nrCpus === undefined)
      throw new ObjectError(
        "OBJECT_MISSING_HOST_FACT",
        obj.path,
        MAPS_SEC,
        map.secOffset,
        `map '${map.name}': perf event array size needs the generating machine's CPU count (nrCpus)`,
      );
    map.def.maxEntries = obj.options.nrCpus;
  }
}

/**
 * libbpf `bpf_object_init_struct_ops()` at open: one STRUCT_OPS map per variable of each
 * .struct_ops / .struct_ops.link section (they count in nr_maps; loading them needs vmlinux BTF,
 * which gen mode never has, so `loadObject` refuses such objects).
 */
const RESOLVE_THROUGH: ReadonlySet<number> = new Set([
  Kind.VAR,
  Kind.TYPEDEF,
  Kind.CONST,
  Kind.VOLATILE,
  Kind.RESTRICT,
  Kind.TYPE_TAG,
]);

export function initStructOpsMaps(obj: BpfObject, secs: { index: number; name: string }[]): void {
  const btf = obj.btf;
  for (const sec of secs) {
    const fail = (detail: string, errno: number) =>
      new ObjectError(
        "OBJECT_BAD_MAP",
        obj.path,
        sec.name,
        -1,
        `struct_ops init: ${detail}`,
        errno,
      );
    if (!btf) throw fail(`DATASEC ${sec.name} not found`, -Errno.EINVAL);
    const ds = btf.findByNameKind(sec.name, Kind.DATASEC);
    if (ds < 0) throw fail(`DATASEC ${sec.name} not found`, -Errno.EINVAL);
    for (const vsi of btf.secinfos(ds)) {
      const varName = btf.name(vsi.type);
      let id = vsi.type;
      // btf__resolve_type(): through VAR, typedefs and modifiers
      for (let i = 0; i < 32 && RESOLVE_THROUGH.has(btf.kind(id)); i++) id = btf.sizeOrType(id);
      const tname = btf.name(id);
      if (tname === "") throw fail("anonymous type is not supported", -Errno.ENOTSUP);
      if (btf.kind(id) !== Kind.STRUCT) throw fail(`${tname} is not a struct`, -Errno.EINVAL);
      const map = newMap(varName, varName);
      map.libbpfType = LibbpfMapType.STRUCT_OPS;
      map.secIdx = sec.index;
      map.secOffset = vsi.offset;
      map.btfValueTypeId = id;
      map.autocreate = !sec.name.startsWith("?");
      map.def = {
        type: MapType.STRUCT_OPS,
        keySize: 4,
        valueSize: btf.sizeOrType(id),
        maxEntries: 1,
        mapFlags: sec.name.replace(/^\?/, "") === ".struct_ops.link" ? MapFlag.LINK : 0,
      };
      obj.maps.push(map);
    }
  }
}
