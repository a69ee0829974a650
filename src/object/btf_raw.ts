/**
 * The object's .BTF as libbpf holds it between open and load: the raw bytes, edited in place by
 * the fix-ups (`btf_fixup_datasec`, the extern DATASEC rewrites of `bpf_object__collect_externs`,
 * static-marking of hidden subprograms) and grown by `btf__add_var` / `btf__add_str`, then handed
 * to `bpf_gen__load_btf` as `btf__raw_data()` would produce it.
 *
 * libbpf edits `struct btf_type` records through pointers into its copy of the raw data, so an
 * edit before the first append changes the raw bytes and nothing else; the first append turns the
 * BTF "modifiable" (types and strings in separate buffers), after which the raw data is rebuilt as
 * header + types + strings. This file keeps exactly that behaviour, in the object's byte order.
 *
 * It is the object layer's own view (queries libbpf's loader needs: sizes, alignment, names);
 * src/btf/ is the general BTF library.
 */

import { Errno, ObjectError } from "./errors.js";

export const BTF_MAGIC = 0xeb9f;

/** BTF kinds (linux/btf.h). */
export const Kind = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** BTF_VAR_* linkage and BTF_FUNC_* linkage. */
export const VarLinkage = { STATIC: 0, GLOBAL_ALLOCATED: 1, GLOBAL_EXTERN: 2 } as const;
export const FuncLinkage = { STATIC: 0, GLOBAL: 1, EXTERN: 2 } as const;

/** BTF_INT_SIGNED / BTF_INT_BOOL */
export const INT_SIGNED = 1;
export const INT_BOOL = 4;

const HDR_MIN = 24;
const MAX_RESOLVE_DEPTH = 32;
const PTR_SZ = 8;

export interface BtfMember {
  nameOff: number;
  type: number;
  /** raw `offset` word (bit offset, or bitfield size << 24 | bit offset when kflag) */
  offset: number;
}

export interface VarSecinfo {
  type: number;
  offset: number;
  size: number;
}

/** Error helper: a BTF problem of object `obj`. */
function bad(obj: string, off: number, detail: string, errno: number = -Errno.EINVAL): ObjectError {
  return new ObjectError("OBJECT_BAD_BTF", obj, ".BTF", off, detail, errno);
}

function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.INT:
    case Kind.VAR:
    case Kind.DECL_TAG:
      return 4;
    case Kind.PTR:
    case Kind.FWD:
    case Kind.TYPEDEF:
    case Kind.VOLATILE:
    case Kind.CONST:
    case Kind.RESTRICT:
    case Kind.FUNC:
    case Kind.FLOAT:
    case Kind.TYPE_TAG:
      return 0;
    case Kind.ARRAY:
      return 12;
    case Kind.STRUCT:
    case Kind.UNION:
    case Kind.DATASEC:
    case Kind.ENUM64:
      return 12 * vlen;
    case Kind.ENUM:
    case Kind.FUNC_PROTO:
      return 8 * vlen;
    default:
      return -1;
  }
}

/** The object's BTF, editable the way libbpf edits it. Type ids start at 1. */
export class BtfRaw {
  readonly objName: string;
  readonly littleEndian: boolean;
  /** header bytes as in the file (hdr_len long) */
  private hdr: Uint8Array;
  private hdrLen: number;
  private typeOff: number;
  /** the whole original raw data, edited in place until the first append */
  private raw: Uint8Array;
  /** types section; a view of `raw` until the first append */
  private types: Uint8Array;
  private strs: Uint8Array;
  private typesView: DataView;
  /** byte offset in `types` of each type id; [0] unused */
  private offs: number[];
  private modifiable = false;
  private strLen: number;
  private typeLen: number;

  private constructor(objName: string, raw: Uint8Array) {
    this.objName = objName;
    if (raw.length < HDR_MIN) throw bad(objName, 0, "BTF header truncated");
    const magicLe = raw[0] | (raw[1] << 8);
    const magicBe = (raw[0] << 8) | raw[1];
    if (magicLe === BTF_MAGIC) this.littleEndian = true;
    else if (magicBe === BTF_MAGIC) this.littleEndian = false;
    else throw bad(objName, 0, "bad BTF magic");
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const le = this.littleEndian;
    if (raw[2] !== 1) throw bad(objName, 2, `unsupported BTF version ${raw[2]}`);
    this.hdrLen = dv.getUint32(4, le);
    this.typeOff = dv.getUint32(8, le);
    this.typeLen = dv.getUint32(12, le);
    const strOff = dv.getUint32(16, le);
    this.strLen = dv.getUint32(20, le);
    if (this.hdrLen < HDR_MIN || this.hdrLen > raw.length)
      throw bad(objName, 4, `bad BTF hdr_len ${this.hdrLen}`);
    const tStart = this.hdrLen + this.typeOff;
    const sStart = this.hdrLen + strOff;
    if (this.typeOff % 4 || tStart + this.typeLen > raw.length || tStart < this.hdrLen)
      throw bad(objName, 8, "BTF type section out of bounds");
    if (sStart + this.strLen > raw.length || sStart < this.hdrLen)
      throw bad(objName, 16, "BTF string section out of bounds");
    if (this.strLen === 0 || raw[sStart] !== 0 || raw[sStart + this.strLen - 1] !== 0)
      throw bad(objName, sStart, "BTF string section is not NUL-delimited");
    this.raw = raw.slice();
    this.hdr = this.raw.subarray(0, this.hdrLen);
    this.types = this.raw.subarray(tStart, tStart + this.typeLen);
    this.strs = this.raw.subarray(sStart, sStart + this.strLen);
    this.typesView = new DataView(this.types.buffer, this.types.byteOffset, this.types.byteLength);
    this.offs = [0];
    let p = 0;
    while (p < this.typeLen) {
      if (p + 12 > this.typeLen) throw bad(objName, tStart + p, "BTF type truncated");
      const info = this.typesView.getUint32(p + 4, le);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const extra = extraSize(kind, vlen);
      if (extra < 0 || kind === 0) throw bad(objName, tStart + p, `BTF type kind ${kind} unknown`);
      if (p + 12 + extra > this.typeLen) throw bad(objName, tStart + p, "BTF type truncated");
      this.offs.push(p);
      p += 12 + extra;
    }
    // every referenced type id and name must be in range; check names here, types on use
    for (let id = 1; id < this.offs.length; id++) {
      if (this.nameOff(id) >= this.strLen)
        throw bad(objName, tStart + this.offs[id], `type [${id}] name offset out of range`);
    }
  }

  /** Parses the object's .BTF section. */
  static parse(bytes: Uint8Array, objName: string): BtfRaw {
    return new BtfRaw(objName, bytes);
  }

  /** btf__type_cnt(): number of types including void. */
  get typeCnt(): number {
    return this.offs.length;
  }

  private u32(id: number, at: number): number {
    return this.typesView.getUint32(this.offs[id] + at, this.littleEndian);
  }
  private setU32(id: number, at: number, v: number): void {
    this.typesView.setUint32(this.offs[id] + at, v >>> 0, this.littleEndian);
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id <= 0 || id >= this.offs.length)
      throw bad(this.objName, -1, `type id [${id}] out of range`);
  }

  /** btf_kind(); 0 for void. */
  kind(id: number): number {
    if (id === 0) return Kind.UNKN;
    this.check(id);
    return (this.u32(id, 4) >>> 24) & 0x1f;
  }
  vlen(id: number): number {
    this.check(id);
    return this.u32(id, 4) & 0xffff;
  }
  kflag(id: number): boolean {
    this.check(id);
    return this.u32(id, 4) >>> 31 === 1;
  }
  nameOff(id: number): number {
    return this.u32(id, 0);
  }
  /** `size` or `type` word of the common header */
  sizeOrType(id: number): number {
    this.check(id);
    return this.u32(id, 8);
  }

  /** btf__str_by_offset() */
  str(off: number): string {
    if (off >= this.strLen) throw bad(this.objName, -1, `string offset ${off} out of range`);
    let end = off;
    while (end < this.strLen && this.strs[end] !== 0) end++;
    return new TextDecoder().decode(this.strs.subarray(off, end));
  }
  name(id: number): string {
    if (id === 0) return "";
    this.check(id);
    return this.str(this.nameOff(id));
  }

  intEncoding(id: number): number {
    return (this.u32(id, 12) >>> 24) & 0x0f;
  }
  intBits(id: number): number {
    return this.u32(id, 12) & 0xff;
  }
  array(id: number): { type: number; indexType: number; nelems: number } {
    return { type: this.u32(id, 12), indexType: this.u32(id, 16), nelems: this.u32(id, 20) };
  }
  members(id: number): BtfMember[] {
    const n = this.vlen(id);
    const out: BtfMember[] = [];
    for (let i = 0; i < n; i++) {
      const at = 12 + 12 * i;
      out.push({
        nameOff: this.u32(id, at),
        type: this.u32(id, at + 4),
        offset: this.u32(id, at + 8),
      });
    }
    return out;
  }
  memberBitOffset(id: number, i: number): number {
    const off = this.u32(id, 12 + 12 * i + 8);
    return this.kflag(id) ? off & 0xffffff : off;
  }
  memberBitfieldSize(id: number, i: number): number {
    const off = this.u32(id, 12 + 12 * i + 8);
    return this.kflag(id) ? off >>> 24 : 0;
  }
  /** ENUM / ENUM64 values as bigints (unsigned reading) */
  enumValues(id: number): bigint[] {
    const n = this.vlen(id);
    const out: bigint[] = [];
    const k = this.kind(id);
    for (let i = 0; i < n; i++) {
      if (k === Kind.ENUM) out.push(BigInt(this.u32(id, 12 + 8 * i + 4)));
      else {
        const lo = BigInt(this.u32(id, 12 + 12 * i + 4));
        const hi = BigInt(this.u32(id, 12 + 12 * i + 8));
        out.push((hi << 32n) | lo);
      }
    }
    return out;
  }
  params(id: number): { nameOff: number; type: number }[] {
    const n = this.vlen(id);
    const out: { nameOff: number; type: number }[] = [];
    for (let i = 0; i < n; i++)
      out.push({ nameOff: this.u32(id, 12 + 8 * i), type: this.u32(id, 16 + 8 * i) });
    return out;
  }
  varLinkage(id: number): number {
    return this.u32(id, 12);
  }
  declTagComponentIdx(id: number): number {
    return this.u32(id, 12) | 0;
  }
  secinfos(id: number): VarSecinfo[] {
    const n = this.vlen(id);
    const out: VarSecinfo[] = [];
    for (let i = 0; i < n; i++) {
      const at = 12 + 12 * i;
      out.push({
        type: this.u32(id, at),
        offset: this.u32(id, at + 4),
        size: this.u32(id, at + 8),
      });
    }
    return out;
  }

  // ---- edits in place (pointer writes in libbpf) ----

  setSize(id: number, size: number): void {
    this.setU32(id, 8, size);
  }
  setType(id: number, type: number): void {
    this.setU32(id, 8, type);
  }
  setInfo(id: number, kind: number, vlen: number, kflag: boolean): void {
    this.setU32(id, 4, ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen);
  }
  setVarLinkage(id: number, linkage: number): void {
    this.setU32(id, 12, linkage);
  }
  setParamNameOff(id: number, i: number, nameOff: number): void {
    this.setU32(id, 12 + 8 * i, nameOff);
  }
  setSecinfo(id: number, i: number, v: VarSecinfo): void {
    const at = 12 + 12 * i;
    this.setU32(id, at, v.type);
    this.setU32(id, at + 4, v.offset);
    this.setU32(id, at + 8, v.size);
  }

  // ---- lookups ----

  /** btf__find_by_name(): first type with this name, or -1 */
  findByName(name: string): number {
    for (let id = 1; id < this.offs.length; id++) if (this.name(id) === name) return id;
    return -1;
  }
  /** btf__find_by_name_kind(): first type with this name and kind, or -1 */
  findByNameKind(name: string, kind: number): number {
    for (let id = 1; id < this.offs.length; id++)
      if (this.kind(id) === kind && this.name(id) === name) return id;
    return -1;
  }

  private isMod(k: number): boolean {
    return k === Kind.VOLATILE || k === Kind.CONST || k === Kind.RESTRICT || k === Kind.TYPE_TAG;
  }
  /** skip_mods_and_typedefs(): the resolved type id */
  skipModsAndTypedefs(id: number): number {
    for (let i = 0; i < 256 && id !== 0; i++) {
      const k = this.kind(id);
      if (!this.isMod(k) && k !== Kind.TYPEDEF) return id;
      id = this.sizeOrType(id);
    }
    return id;
  }

  /** btf__resolve_size(); a negative errno on failure */
  resolveSize(id: number): number {
    let nelems = 1;
    let size = -1;
    for (let i = 0; i < MAX_RESOLVE_DEPTH && id !== 0; i++) {
      if (id >= this.offs.length) return -Errno.EINVAL;
      const k = this.kind(id);
      switch (k) {
        case Kind.INT:
        case Kind.STRUCT:
        case Kind.UNION:
        case Kind.ENUM:
        case Kind.ENUM64:
        case Kind.DATASEC:
        case Kind.FLOAT:
          size = this.sizeOrType(id);
          break;
        case Kind.PTR:
          size = PTR_SZ;
          break;
        case Kind.TYPEDEF:
        case Kind.VOLATILE:
        case Kind.CONST:
        case Kind.RESTRICT:
        case Kind.VAR:
        case Kind.DECL_TAG:
        case Kind.TYPE_TAG:
          id = this.sizeOrType(id);
          continue;
        case Kind.ARRAY: {
          const a = this.array(id);
          if (nelems && a.nelems > Math.floor(0xffffffff / nelems)) return -Errno.E2BIG;
          nelems *= a.nelems;
          id = a.type;
          continue;
        }
        default:
          return -Errno.EINVAL;
      }
      break;
    }
    if (size < 0) return -Errno.EINVAL;
    if (nelems && size > Math.floor(0xffffffff / nelems)) return -Errno.E2BIG;
    return nelems * size;
  }

  /** btf__align_of(); a negative errno (or 0) on failure */
  alignOf(id: number, depth = 0): number {
    if (depth > MAX_RESOLVE_DEPTH || id === 0 || id >= this.offs.length) return -Errno.EINVAL;
    const k = this.kind(id);
    switch (k) {
      case Kind.INT:
      case Kind.ENUM:
      case Kind.ENUM64:
      case Kind.FLOAT:
        return Math.min(PTR_SZ, this.sizeOrType(id));
      case Kind.PTR:
        return PTR_SZ;
      case Kind.TYPEDEF:
      case Kind.VOLATILE:
      case Kind.CONST:
      case Kind.RESTRICT:
      case Kind.TYPE_TAG:
        return this.alignOf(this.sizeOrType(id), depth + 1);
      case Kind.ARRAY:
        return this.alignOf(this.array(id).type, depth + 1);
      case Kind.STRUCT:
      case Kind.UNION: {
        const ms = this.members(id);
        let maxAlign = 1;
        for (let i = 0; i < ms.length; i++) {
          const a = this.alignOf(ms[i].type, depth + 1);
          if (a <= 0) return a;
          maxAlign = Math.max(maxAlign, a);
          if (this.memberBitfieldSize(id, i) === 0 && this.memberBitOffset(id, i) % (8 * a) !== 0)
            return 1;
        }
        if (this.sizeOrType(id) % maxAlign !== 0) return 1;
        return maxAlign;
      }
      default:
        return -Errno.EINVAL;
    }
  }

  // ---- appends (btf_ensure_modifiable + btf__add_*) ----

  private ensureModifiable(): void {
    if (this.modifiable) return;
    if (this.hdrLen > 32) {
      // libbpf refuses to modify a BTF whose header has fields it does not know
      throw bad(
        this.objName,
        4,
        "BTF header has unknown extra fields; cannot modify",
        -Errno.EOPNOTSUPP,
      );
    }
    this.types = this.types.slice();
    this.strs = this.strs.slice();
    this.typesView = new DataView(this.types.buffer, this.types.byteOffset, this.types.byteLength);
    this.hdr = this.hdr.slice();
    this.modifiable = true;
  }

  /** btf__add_str(): offset of the first identical string, else appends it */
  addString(s: string): number {
    this.ensureModifiable();
    const enc = new TextEncoder().encode(s);
    for (let off = 0; off < this.strLen; ) {
      let end = off;
      while (end < this.strLen && this.strs[end] !== 0) end++;
      if (end - off === enc.length) {
        let same = true;
        for (let i = 0; i < enc.length; i++)
          if (this.strs[off + i] !== enc[i]) {
            same = false;
            break;
          }
        if (same) return off;
      }
      off = end + 1;
    }
    const off = this.strLen;
    const next = new Uint8Array(this.strLen + enc.length + 1);
    next.set(this.strs.subarray(0, this.strLen));
    next.set(enc, off);
    this.strs = next;
    this.strLen = next.length;
    return off;
  }

  private appendType(bytes: Uint8Array): number {
    const next = new Uint8Array(this.typeLen + bytes.length);
    next.set(this.types.subarray(0, this.typeLen));
    next.set(bytes, this.typeLen);
    this.offs.push(this.typeLen);
    this.types = next;
    this.typeLen = next.length;
    this.typesView = new DataView(next.buffer, next.byteOffset, next.byteLength);
    return this.offs.length - 1;
  }

  /** btf__add_var() */
  addVar(name: string, linkage: number, typeId: number): number {
    this.ensureModifiable();
    const rec = new Uint8Array(16);
    const id = this.appendType(rec);
    // libbpf reserves the type's memory before adding the name string; the order is not visible
    const nameOff = this.addString(name);
    this.setU32(id, 0, nameOff);
    this.setInfo(id, Kind.VAR, 0, false);
    this.setU32(id, 8, typeId);
    this.setU32(id, 12, linkage);
    return id;
  }

  /** btf__raw_data(): what libbpf hands to BTF_LOAD (and to bpf_gen__load_btf) */
  rawData(): Uint8Array {
    if (!this.modifiable) return this.raw.slice();
    const out = new Uint8Array(this.hdrLen + this.typeLen + this.strLen);
    out.set(this.hdr.subarray(0, Math.min(this.hdrLen, 32)));
    const dv = new DataView(out.buffer);
    const le = this.littleEndian;
    dv.setUint32(12, this.typeLen, le);
    dv.setUint32(16, this.typeOff + this.typeLen, le);
    dv.setUint32(20, this.strLen, le);
    out.set(this.types.subarray(0, this.typeLen), this.hdrLen);
    out.set(this.strs.subarray(0, this.strLen), this.hdrLen + this.typeLen);
    return out;
  }
}
