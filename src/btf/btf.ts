/**
 * BTF: parse a `.BTF` blob, query it the way libbpf does, apply the fix-ups libbpf makes while
 * opening and loading an object, and serialise it back exactly as `btf__raw_data()` would.
 *
 * How libbpf's `struct btf` behaves, and what this class mirrors:
 * - `btf__new` keeps the raw bytes; the type section is used in place. A BTF in the other byte
 *   order is swapped to host order in place. (The host is taken to be little endian, as on
 *   x86-64 and arm64 where bpftool runs, so a big-endian BTF counts as "swapped".)
 * - Fix-ups such as `btf_fixup_datasec` and the `.ksyms`/`.kconfig` rewriting in
 *   `bpf_object__collect_externs` write through `btf_type_by_id()` into that type section: the
 *   BTF stays "unmodified" and `btf__raw_data()` hands back the original buffer with those fields
 *   changed (the whole buffer: gaps and trailing bytes included). For a swapped BTF it rebuilds
 *   `header | types | strings` in the original byte order.
 * - `btf__add_str`/`btf__add_var`/... first call `btf_ensure_modifiable`: types and strings move
 *   into their own buffers (strings into a deduplicating set that keeps the original section as
 *   is, duplicates included), new data is appended, the header's `type_len`/`str_off`/`str_len`
 *   follow, and `btf__raw_data()` lays out `header (hdr_len bytes) | types | strings`.
 *
 * Here the type section is a mutable copy in the file's byte order; mutators patch its bytes and
 * re-decode the touched type in place, so `types[id]` objects stay current.
 */

import { Errno } from "../uapi/errno.js";
import { UTF8_DECODER, UTF8_ENCODER } from "../uapi/layout.js";
import { type BtfHeader, parseBtfSections, splitTypeSection, validateTypes } from "./btf_parse.js";
import {
  BTF_FUNC_EXTERN,
  BTF_FUNC_GLOBAL,
  BTF_FUNC_STATIC,
  BTF_HEADER_FULL,
  BTF_KIND,
  BTF_KIND_NAMES,
  BTF_VAR_GLOBAL_ALLOCATED,
  BTF_VAR_GLOBAL_EXTERN,
  BTF_VAR_STATIC,
  BTF_VOID,
  BtfError,
  type BtfType,
  btfTypeInfo,
  decodeBtfType,
} from "./btf_types.js";

export * from "./btf_types.js";

/** libbpf's MAX_RESOLVE_DEPTH. */
const MAX_RESOLVE_DEPTH = 32;
/** Pointer size of BPF-targeted BTF (`btf__set_pointer_size(obj->btf, 8)`). */
const PTR_SIZE = 8;

/** A string with one character per byte: a map key that compares like the bytes do. */
function byteKey(b: Uint8Array): string {
  let k = "";
  for (let i = 0; i < b.length; i += 4096) k += String.fromCharCode(...b.subarray(i, i + 4096));
  return k;
}

/** Growable byte buffer. */
class Bytes {
  buf: Uint8Array;
  len: number;
  constructor(init: Uint8Array) {
    this.buf = new Uint8Array(Math.max(16, init.length));
    this.buf.set(init);
    this.len = init.length;
  }
  append(b: Uint8Array): number {
    const at = this.len;
    if (at + b.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + b.length));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
    }
    this.buf.set(b, at);
    this.len += b.length;
    return at;
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** A parsed BTF with libbpf's queries, fix-up mutators and raw-data serialisation. */
export class Btf {
  /** index = type id; [0] = void */
  readonly types: BtfType[];
  /** byte order of the data (and of `rawData()`) */
  readonly littleEndian: boolean;
  /** the object name used in error messages */
  readonly objectName: string;

  private readonly input: Uint8Array;
  private readonly hdr: BtfHeader;
  private readonly hdrBytes: Uint8Array;
  /** true when bytes past the known header are non-zero (libbpf's has_hdr_extra) */
  private readonly hdrExtra: boolean;
  private readonly typeData: Bytes;
  /** byte offset of each type's record in typeData, by id (0 unused) */
  private readonly typeOffs: number[];
  private readonly layout: Uint8Array | null;
  private readonly strs: Bytes;
  /** libbpf's strset index: byteKey(string) -> first offset */
  private strIndex: Map<string, number> | null = null;
  private readonly strCache = new Map<number, string>();
  /** libbpf's btf->modifiable */
  private modifiable = false;

  private constructor(
    input: Uint8Array,
    name: string,
    le: boolean,
    hdr: BtfHeader,
    hdrExtra: boolean,
    types: Uint8Array,
    layout: Uint8Array | null,
    strings: Uint8Array,
  ) {
    this.input = input;
    this.objectName = name;
    this.littleEndian = le;
    this.hdr = hdr;
    this.hdrBytes = input.slice(0, hdr.hdrLen);
    this.hdrExtra = hdrExtra;
    this.typeData = new Bytes(types);
    this.layout = layout;
    this.strs = new Bytes(strings);
    this.types = [BTF_VOID];
    this.typeOffs = [0];
  }

  /**
   * Parses a raw BTF blob (the `.BTF` section, either byte order) as `btf__new` does, with the
   * kernel's refusals on top (version, flags, FUNC not pointing at a FUNC_PROTO, return types,
   * loops of modifiers/typedefs/arrays). `name` names the object in errors. Throws `BtfError`
   * (code `BTF_*`).
   */
  static parse(bytes: Uint8Array, name = "BTF"): Btf {
    const p = parseBtfSections(bytes, name);
    const btf = new Btf(bytes, name, p.le, p.hdr, p.hdrExtra, p.types, p.layout, p.strings);
    const offs = splitTypeSection(p, name);
    const dv = new DataView(p.types.buffer, p.types.byteOffset, p.types.byteLength);
    for (let i = 0; i < offs.length; i++) {
      btf.typeOffs.push(offs[i]);
      btf.types.push(decodeBtfType(dv, offs[i], p.le, i + 1, (off) => btf.nameOf(off)));
    }
    validateTypes(btf.types, (id) => p.typeStart + offs[id - 1], name);
    return btf;
  }

  // ---- queries -------------------------------------------------------------------------------

  /** Number of types including void (`btf__type_cnt`). */
  get typeCount(): number {
    return this.types.length;
  }

  /** The type with this id (`btf__type_by_id`); throws BTF_BAD_TYPE_ID when out of range. */
  typeById(id: number): BtfType {
    const t = this.types[id];
    if (!Number.isInteger(id) || id < 0 || !t) {
      throw new BtfError(
        "BTF_BAD_TYPE_ID",
        this.objectName,
        ".BTF",
        -1,
        `type id ${id} does not exist (last is ${this.types.length - 1})`,
        id,
      );
    }
    return t;
  }

  /** The string at offset `off` (`btf__name_by_offset`); throws BTF_BAD_NAME when out of range. */
  nameOf(off: number): string {
    const cached = this.strCache.get(off);
    if (cached !== undefined) return cached;
    const strs = this.strs.view();
    if (!Number.isInteger(off) || off < 0 || off >= this.hdr.strLen) {
      throw new BtfError(
        "BTF_BAD_NAME",
        this.objectName,
        ".BTF strings",
        -1,
        `offset ${off} is outside the ${this.hdr.strLen}-byte string section`,
      );
    }
    const end = strs.indexOf(0, off);
    const s = UTF8_DECODER.decode(strs.subarray(off, end));
    this.strCache.set(off, s);
    return s;
  }

  /**
   * `btf__find_by_name_kind`: the first type id with this name (and kind, when given), or -1.
   * Like libbpf, "void" and kind UNKN give 0.
   */
  findByName(name: string, kind?: number): number {
    if (kind === BTF_KIND.UNKN || name === "void") return 0;
    for (let id = 1; id < this.types.length; id++) {
      const t = this.types[id];
      if (kind !== undefined && kind > 0 && t.kind !== kind) continue;
      if (t.name === name) return id;
    }
    return -1;
  }

  /**
   * `btf__resolve_size`: the byte size of a type, following modifiers, typedefs, vars and
   * arrays. Returns libbpf's negative errno on failure: -22 (EINVAL) for void, functions,
   * unknown ids or too deep chains, -7 (E2BIG) for sizes past 32 bits.
   */
  resolveSize(id: number): number {
    let nelems = 1;
    let size = -1;
    let t: BtfType | undefined = this.types[id];
    for (let i = 0; i < MAX_RESOLVE_DEPTH && t && t.id !== 0 && t.kind !== BTF_KIND.FWD; i++) {
      switch (t.kind) {
        case BTF_KIND.INT:
        case BTF_KIND.STRUCT:
        case BTF_KIND.UNION:
        case BTF_KIND.ENUM:
        case BTF_KIND.ENUM64:
        case BTF_KIND.DATASEC:
        case BTF_KIND.FLOAT:
          size = t.size;
          break;
        case BTF_KIND.PTR:
          size = PTR_SIZE;
          break;
        case BTF_KIND.TYPEDEF:
        case BTF_KIND.VOLATILE:
        case BTF_KIND.CONST:
        case BTF_KIND.RESTRICT:
        case BTF_KIND.VAR:
        case BTF_KIND.DECL_TAG:
        case BTF_KIND.TYPE_TAG:
          id = t.type;
          break;
        case BTF_KIND.ARRAY:
          if (nelems && t.nelems > Math.floor(0xffffffff / nelems)) return -Errno.E2BIG;
          nelems *= t.nelems;
          id = t.type;
          break;
        default:
          return -Errno.EINVAL;
      }
      if (size >= 0) break;
      t = this.types[id];
    }
    if (size < 0) return -Errno.EINVAL;
    if (nelems && size > Math.floor(0xffffffff / nelems)) return -Errno.E2BIG;
    return nelems * size;
  }

  /**
   * `btf__align_of`: the alignment of a type (1 for packed structs). Returns 0 for kinds without
   * an alignment (void, functions, ...), as libbpf does.
   */
  alignOf(id: number): number {
    const t = this.types[id];
    if (!t) return 0;
    switch (t.kind) {
      case BTF_KIND.INT:
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
      case BTF_KIND.FLOAT:
        return Math.min(PTR_SIZE, t.size);
      case BTF_KIND.PTR:
        return PTR_SIZE;
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG:
        return this.alignOf(t.type);
      case BTF_KIND.ARRAY:
        return this.alignOf(t.type);
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        let maxAlign = 1;
        for (const m of t.members) {
          const align = this.alignOf(m.type);
          if (align <= 0) return align;
          maxAlign = Math.max(maxAlign, align);
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return 1;
        }
        if (t.size % maxAlign !== 0) return 1;
        return maxAlign;
      }
      default:
        return 0;
    }
  }

  /** libbpf's skip_mods_and_typedefs: follows CONST/VOLATILE/RESTRICT/TYPE_TAG/TYPEDEF. */
  skipModsAndTypedefs(id: number): BtfType {
    let t = this.typeById(id);
    while (
      t.kind === BTF_KIND.TYPEDEF ||
      t.kind === BTF_KIND.CONST ||
      t.kind === BTF_KIND.VOLATILE ||
      t.kind === BTF_KIND.RESTRICT ||
      t.kind === BTF_KIND.TYPE_TAG
    ) {
      t = this.typeById(t.type);
    }
    return t;
  }

  /** Whether a libbpf-style modification happened (types or strings were appended/split). */
  get isModified(): boolean {
    return this.modifiable;
  }

  // ---- mutators ------------------------------------------------------------------------------

  private kindErr(id: number, want: string): BtfError {
    const t = this.types[id];
    return new BtfError(
      "BTF_BAD_TYPE",
      this.objectName,
      `.BTF type [${id}]`,
      -1,
      t ? `is ${BTF_KIND_NAMES[t.kind]}, not ${want}` : "does not exist",
      id,
    );
  }

  private expect<K extends BtfType["kind"]>(
    id: number,
    kind: K,
    want: string,
  ): Extract<BtfType, { kind: K }> {
    const t = this.types[id];
    if (!t || t.kind !== kind || id === 0) throw this.kindErr(id, want);
    return t as Extract<BtfType, { kind: K }>;
  }

  private put32(at: number, v: number): void {
    new DataView(this.typeData.buf.buffer, this.typeData.buf.byteOffset).setUint32(
      at,
      v >>> 0,
      this.littleEndian,
    );
  }

  private get32(at: number): number {
    return new DataView(this.typeData.buf.buffer, this.typeData.buf.byteOffset).getUint32(
      at,
      this.littleEndian,
    );
  }

  /** Re-decodes type `id` from the type bytes into the existing object. */
  private refresh(id: number): void {
    const dv = new DataView(this.typeData.buf.buffer, this.typeData.buf.byteOffset);
    const fresh = decodeBtfType(dv, this.typeOffs[id], this.littleEndian, id, (o) =>
      this.nameOf(o),
    );
    const old = this.types[id] as unknown as Record<string, unknown>;
    for (const k of Object.keys(old)) delete old[k];
    Object.assign(old, fresh);
  }

  private secinfoAt(id: number, i: number): number {
    const t = this.expect(id, BTF_KIND.DATASEC, "datasec");
    if (!Number.isInteger(i) || i < 0 || i >= t.vars.length) {
      throw new BtfError(
        "BTF_BAD_TYPE",
        this.objectName,
        `.BTF type [${id}] (datasec '${t.name}')`,
        -1,
        `has no var_secinfo #${i} (vlen ${t.vars.length})`,
        id,
      );
    }
    return this.typeOffs[id] + 12 + i * 12;
  }

  /** DATASEC `t->size = size` (btf_fixup_datasec, the .ksyms/.kconfig sizing). In place. */
  setDatasecSize(id: number, size: number): void {
    this.expect(id, BTF_KIND.DATASEC, "datasec");
    this.put32(this.typeOffs[id] + 8, size);
    this.refresh(id);
  }

  /** DATASEC var_secinfo #i `offset = off` (btf_fixup_datasec from the ELF symbol). In place. */
  setVarSecinfoOffset(id: number, i: number, off: number): void {
    this.put32(this.secinfoAt(id, i) + 4, off);
    this.refresh(id);
  }

  /**
   * DATASEC var_secinfo #i: replace any of type/offset/size (collect_externs points .ksyms
   * entries at the dummy VAR and gives them 4 bytes each). In place.
   */
  setVarSecinfo(
    id: number,
    i: number,
    fields: { type?: number; offset?: number; size?: number },
  ): void {
    const at = this.secinfoAt(id, i);
    if (fields.type !== undefined) this.put32(at, fields.type);
    if (fields.offset !== undefined) this.put32(at + 4, fields.offset);
    if (fields.size !== undefined) this.put32(at + 8, fields.size);
    this.refresh(id);
  }

  /**
   * Sorts a DATASEC's var_secinfos by offset (btf_fixup_datasec's qsort with `a->offset -
   * b->offset` read as a signed int; equal keys keep their order, as glibc's merge sort does).
   */
  sortDatasecVars(id: number): void {
    const t = this.expect(id, BTF_KIND.DATASEC, "datasec");
    const sorted = [...t.vars].sort((a, b) => (a.offset - b.offset) | 0);
    sorted.forEach((v, i) => {
      const at = this.typeOffs[id] + 12 + i * 12;
      this.put32(at, v.type);
      this.put32(at + 4, v.offset);
      this.put32(at + 8, v.size);
    });
    this.refresh(id);
  }

  /** VAR `linkage` (STATIC for hidden globals, GLOBAL_ALLOCATED for externs). In place. */
  setVarLinkage(id: number, linkage: number): void {
    this.expect(id, BTF_KIND.VAR, "var");
    this.put32(this.typeOffs[id] + 12, linkage);
    this.refresh(id);
  }

  /** VAR `t->type` (collect_externs gives .ksyms variables the 32-bit int). In place. */
  setVarType(id: number, type: number): void {
    this.expect(id, BTF_KIND.VAR, "var");
    this.put32(this.typeOffs[id] + 8, type);
    this.refresh(id);
  }

  /**
   * FUNC linkage: `info = (info & ~0xffff) | linkage`, as collect_externs does for .ksyms
   * functions (GLOBAL) and bpf_object__sanitize_and_load_btf for hidden subprogs (STATIC; for a
   * valid FUNC this equals its `btf_type_info(FUNC, STATIC, 0)`). In place.
   */
  setFuncLinkage(id: number, linkage: number): void {
    this.expect(id, BTF_KIND.FUNC, "func");
    const at = this.typeOffs[id] + 4;
    this.put32(at, ((this.get32(at) & ~0xffff) | (linkage & 0xffff)) >>> 0);
    this.refresh(id);
  }

  /** FUNC_PROTO param #i `name_off` (collect_externs names unnamed kfunc params). In place. */
  setParamNameOff(protoId: number, i: number, nameOff: number): void {
    const t = this.expect(protoId, BTF_KIND.FUNC_PROTO, "func_proto");
    if (!Number.isInteger(i) || i < 0 || i >= t.params.length) {
      throw new BtfError(
        "BTF_BAD_TYPE",
        this.objectName,
        `.BTF type [${protoId}]`,
        -1,
        `has no param #${i}`,
        protoId,
      );
    }
    this.nameOf(nameOff);
    this.put32(this.typeOffs[protoId] + 12 + i * 8, nameOff);
    this.refresh(protoId);
  }

  /** btf_ensure_modifiable. */
  private ensureModifiable(): void {
    if (this.modifiable) return;
    if (this.hdrExtra) {
      throw new BtfError(
        "BTF_NOT_MODIFIABLE",
        this.objectName,
        ".BTF header",
        BTF_HEADER_FULL,
        "unknown non-zero header bytes: libbpf refuses to modify this BTF",
      );
    }
    const index = new Map<string, number>();
    const strs = this.strs.view();
    for (let off = 0; off < strs.length; ) {
      const end = strs.indexOf(0, off);
      const key = byteKey(strs.subarray(off, end));
      if (!index.has(key)) index.set(key, off);
      off = end + 1;
    }
    this.strIndex = index;
    this.modifiable = true;
  }

  /**
   * `btf__add_str`: the offset of an identical string already in the section (the first one),
   * else appends it. Makes the BTF modified, as in libbpf.
   */
  addString(s: string): number {
    this.ensureModifiable();
    const bytes = UTF8_ENCODER.encode(s);
    // strings compare as bytes, as libbpf's strcmp does (two invalid UTF-8 sequences may decode
    // to the same JavaScript string)
    const key = byteKey(bytes);
    const hit = this.strIndex!.get(key);
    if (hit !== undefined) return hit;
    if (bytes.includes(0)) {
      throw new BtfError(
        "BTF_BAD_NAME",
        this.objectName,
        ".BTF strings",
        -1,
        "a string cannot hold a NUL byte",
      );
    }
    const rec = new Uint8Array(bytes.length + 1);
    rec.set(bytes);
    const off = this.strs.append(rec);
    this.strIndex!.set(key, off);
    this.hdr.strLen = this.strs.len;
    return off;
  }

  private checkRef(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.types.length) {
      throw new BtfError(
        "BTF_BAD_TYPE_ID",
        this.objectName,
        ".BTF",
        -1,
        `type id ${id} does not exist (last is ${this.types.length - 1})`,
        id,
      );
    }
  }

  /** Appends a record (btf_commit_type: type_len and str_off grow with it). */
  private commit(rec: Uint8Array): number {
    const at = this.typeData.append(rec);
    this.hdr.typeLen += rec.length;
    if (this.layout) {
      this.hdr.layoutOff = this.hdr.typeOff + this.hdr.typeLen;
      this.hdr.strOff = this.hdr.layoutOff + this.hdr.layoutLen;
    } else {
      this.hdr.strOff = this.hdr.typeOff + this.hdr.typeLen;
    }
    const id = this.types.length;
    this.typeOffs.push(at);
    this.types.push(BTF_VOID);
    this.types[id] = { ...BTF_VOID, id };
    this.refresh(id);
    return id;
  }

  private record(words: number[]): Uint8Array {
    const rec = new Uint8Array(words.length * 4);
    const dv = new DataView(rec.buffer);
    words.forEach((w, i) => {
      dv.setUint32(i * 4, w >>> 0, this.littleEndian);
    });
    return rec;
  }

  /**
   * `btf__add_var(btf, name, linkage, type_id)`: appends a VAR (collect_externs adds
   * "dummy_ksym", GLOBAL_ALLOCATED, of the first 32-bit int, when .ksyms holds a function).
   * Returns the new type id.
   */
  addVar(name: string, linkage: number, typeId: number): number {
    if (name === "") throw this.argErr("a VAR needs a name");
    if (
      linkage !== BTF_VAR_STATIC &&
      linkage !== BTF_VAR_GLOBAL_ALLOCATED &&
      linkage !== BTF_VAR_GLOBAL_EXTERN
    ) {
      throw this.argErr(`VAR linkage ${linkage} is not static, global or extern`);
    }
    this.checkRef(typeId);
    this.ensureModifiable();
    const nameOff = this.addString(name);
    return this.commit(
      this.record([nameOff, btfTypeInfo(BTF_KIND.VAR, 0, false), typeId, linkage]),
    );
  }

  /** `btf__add_int(btf, name, byte_sz, encoding)`: appends an INT of `8 * byteSize` bits. */
  addInt(name: string, byteSize: number, encoding: number): number {
    if (name === "") throw this.argErr("an INT needs a name");
    if (![1, 2, 4, 8, 16].includes(byteSize))
      throw this.argErr(`INT size ${byteSize} is not 1, 2, 4, 8 or 16`);
    if (encoding & ~7)
      throw this.argErr(`INT encoding ${encoding} is not a combination of SIGNED/CHAR/BOOL`);
    this.ensureModifiable();
    const nameOff = this.addString(name);
    return this.commit(
      this.record([
        nameOff,
        btfTypeInfo(BTF_KIND.INT, 0, false),
        byteSize,
        (encoding << 24) | (byteSize * 8),
      ]),
    );
  }

  /** `btf__add_func(btf, name, linkage, proto_id)`: appends a FUNC. */
  addFunc(name: string, linkage: number, protoId: number): number {
    if (name === "") throw this.argErr("a FUNC needs a name");
    if (linkage !== BTF_FUNC_STATIC && linkage !== BTF_FUNC_GLOBAL && linkage !== BTF_FUNC_EXTERN) {
      throw this.argErr(`FUNC linkage ${linkage} is not static, global or extern`);
    }
    this.checkRef(protoId);
    this.ensureModifiable();
    const nameOff = this.addString(name);
    return this.commit(this.record([nameOff, btfTypeInfo(BTF_KIND.FUNC, linkage, false), protoId]));
  }

  /** An empty BTF (the void type only), to build with the add functions (`btf__new_empty`). */
  static empty(name = "BTF"): Btf {
    const raw = new Uint8Array(24 + 1);
    const dv = new DataView(raw.buffer);
    dv.setUint16(0, 0xeb9f, true);
    raw[2] = 1;
    dv.setUint32(4, 24, true);
    dv.setUint32(20, 1, true);
    const btf = Btf.parse(raw, name);
    btf.ensureModifiable();
    return btf;
  }

  /**
   * Appends a type of a reference kind (`btf__add_ptr`, `_typedef`, `_const`, `_volatile`,
   * `_restrict`, `_type_tag`; FWD with `refType` 0 for a struct, 1 for a union as kflag).
   */
  addRef(kind: 2 | 7 | 8 | 9 | 10 | 11 | 18, name: string, refType: number): number {
    if (kind !== BTF_KIND.FWD) this.checkRef(refType);
    this.ensureModifiable();
    const nameOff = name ? this.addString(name) : 0;
    if (kind === BTF_KIND.FWD) {
      return this.commit(this.record([nameOff, btfTypeInfo(kind, 0, refType === 1), 0]));
    }
    return this.commit(this.record([nameOff, btfTypeInfo(kind, 0, false), refType]));
  }

  /** `btf__add_array(btf, index_type_id, elem_type_id, nr_elems)` */
  addArray(indexType: number, elemType: number, nelems: number): number {
    this.checkRef(indexType);
    this.checkRef(elemType);
    this.ensureModifiable();
    return this.commit(
      this.record([0, btfTypeInfo(BTF_KIND.ARRAY, 0, false), 0, elemType, indexType, nelems]),
    );
  }

  /**
   * `btf__add_struct` / `btf__add_union` with every `btf__add_field` at once; a member with a
   * bitfield size sets kflag, as libbpf does.
   */
  addComposite(
    kind: 4 | 5,
    name: string,
    size: number,
    members: readonly { name: string; type: number; bitOffset: number; bitfieldSize?: number }[],
  ): number {
    this.ensureModifiable();
    const kflag = members.some((m) => m.bitfieldSize);
    const words = [name ? this.addString(name) : 0, btfTypeInfo(kind, members.length, kflag), size];
    for (const m of members) {
      this.checkRef(m.type);
      const off = kflag ? ((m.bitfieldSize ?? 0) << 24) | m.bitOffset : m.bitOffset;
      words.push(m.name ? this.addString(m.name) : 0, m.type, off);
    }
    return this.commit(this.record(words));
  }

  /** `btf__add_enum` with every `btf__add_enum_value` (32-bit values). */
  addEnum(
    name: string,
    size: number,
    values: readonly { name: string; value: number }[],
    signed = false,
  ): number {
    this.ensureModifiable();
    const words = [
      name ? this.addString(name) : 0,
      btfTypeInfo(BTF_KIND.ENUM, values.length, signed),
      size,
    ];
    for (const v of values) words.push(this.addString(v.name), v.value);
    return this.commit(this.record(words));
  }

  /** `btf__add_datasec` with every `btf__add_datasec_var_info`. */
  addDatasec(
    name: string,
    vars: readonly { type: number; offset: number; size: number }[],
  ): number {
    this.ensureModifiable();
    const size = vars.reduce((n, v) => Math.max(n, v.offset + v.size), 0);
    const words = [this.addString(name), btfTypeInfo(BTF_KIND.DATASEC, vars.length, false), size];
    for (const v of vars) {
      this.checkRef(v.type);
      words.push(v.type, v.offset, v.size);
    }
    return this.commit(this.record(words));
  }

  /** `btf__add_func_proto` with every `btf__add_func_param`. */
  addFuncProto(returnType: number, params: readonly { name: string; type: number }[]): number {
    this.checkRef(returnType);
    this.ensureModifiable();
    const words = [0, btfTypeInfo(BTF_KIND.FUNC_PROTO, params.length, false), returnType];
    for (const p of params) {
      this.checkRef(p.type);
      words.push(p.name ? this.addString(p.name) : 0, p.type);
    }
    return this.commit(this.record(words));
  }

  private argErr(detail: string): BtfError {
    return new BtfError("BTF_BAD_TYPE", this.objectName, ".BTF", -1, detail);
  }

  // ---- serialisation -------------------------------------------------------------------------

  /**
   * `btf__raw_data`: what libbpf hands to BPF_BTF_LOAD (and bpf_gen__load_btf). Untouched or
   * patched in place, a little-endian BTF is the input buffer with the patched fields; otherwise
   * `header | types | [layout] | strings` in the data's byte order.
   */
  rawData(): Uint8Array {
    const types = this.typeData.view();
    if (!this.modifiable && this.littleEndian) {
      const out = this.input.slice();
      out.set(types, this.hdr.hdrLen + this.hdr.typeOff);
      return out;
    }
    const h = this.hdr;
    const layoutLen = this.layout ? h.layoutLen : 0;
    const out = new Uint8Array(h.hdrLen + h.typeLen + layoutLen + h.strLen);
    const dv = new DataView(out.buffer);
    const le = this.littleEndian;
    const known = Math.min(BTF_HEADER_FULL, h.hdrLen);
    out.set(this.hdrBytes.subarray(0, known));
    dv.setUint32(8, h.typeOff, le);
    dv.setUint32(12, h.typeLen, le);
    dv.setUint32(16, h.strOff, le);
    dv.setUint32(20, h.strLen, le);
    if (h.hdrLen >= BTF_HEADER_FULL) {
      dv.setUint32(24, h.layoutOff, le);
      dv.setUint32(28, h.layoutLen, le);
    }
    let p = h.hdrLen;
    out.set(types, p);
    p += types.length;
    if (this.layout) {
      out.set(this.layout, p);
      p += this.layout.length;
    }
    out.set(this.strs.view().subarray(0, h.strLen), p);
    return out;
  }
}
