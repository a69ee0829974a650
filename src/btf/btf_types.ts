/**
 * BTF type records: the kinds, their decoded form (a union discriminated on `kind`), the error
 * class of the btf/ folder, and the decoder of one record of the type section.
 *
 * A record is a 12-byte `btf_type` (name_off, info, size-or-type) followed by kind-specific data
 * (`btf_type_size` in libbpf's btf.c gives the lengths used here). `info` packs vlen (bits 0-23),
 * kind (bits 24-28 in practice, 24-30 reserved) and kind_flag (bit 31).
 */

/** BTF kinds (`BTF_KIND_*`). */
export const BTF_KIND = {
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

/** Kind names as libbpf's btf_kind_str() spells them. */
export const BTF_KIND_NAMES: readonly string[] = [
  "void",
  "int",
  "ptr",
  "array",
  "struct",
  "union",
  "enum",
  "fwd",
  "typedef",
  "volatile",
  "const",
  "restrict",
  "func",
  "func_proto",
  "var",
  "datasec",
  "float",
  "decl_tag",
  "type_tag",
  "enum64",
];

/** INT encoding bits. */
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

/** VAR linkage. */
export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;
export const BTF_VAR_GLOBAL_EXTERN = 2;

/** FUNC linkage. */
export const BTF_FUNC_STATIC = 0;
export const BTF_FUNC_GLOBAL = 1;
export const BTF_FUNC_EXTERN = 2;

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** `sizeof(struct btf_header)` without the layout fields: what clang writes. */
export const BTF_HEADER_MIN = 24;
/** `sizeof(struct btf_header)` with `layout_off`/`layout_len`. */
export const BTF_HEADER_FULL = 32;
export const BTF_MAX_STR_OFFSET = 0x7fffffff;

/** Stable codes of `BtfError`. */
export type BtfErrorCode =
  /** shorter than a header, or a section runs past the end of the data */
  | "BTF_TRUNCATED"
  /** magic is neither 0xeb9f nor its byte swap */
  | "BTF_BAD_MAGIC"
  /** version is not 1 */
  | "BTF_BAD_VERSION"
  /** hdr_len, flags, section offsets/alignment or layout are inconsistent */
  | "BTF_BAD_HEADER"
  /** string section empty, not NUL-terminated, too long, or not starting with NUL */
  | "BTF_BAD_STRINGS"
  /** a type record (its vlen-sized tail included) runs past the type section */
  | "BTF_TYPE_TRUNCATED"
  /** a kind this parser does not know */
  | "BTF_UNKNOWN_KIND"
  /** a name offset outside the string section */
  | "BTF_BAD_NAME"
  /** a referenced type id that does not exist (or is not of the required kind) */
  | "BTF_BAD_TYPE_ID"
  /** a loop of modifiers, typedefs, arrays or vars (the kernel refuses it) */
  | "BTF_TYPE_LOOP"
  /** a query or mutation applied to a type of the wrong kind, or an index out of range */
  | "BTF_BAD_TYPE"
  /** the BTF carries unknown non-zero header bytes, so libbpf refuses to modify it */
  | "BTF_NOT_MODIFIABLE"
  /** .BTF.ext header or layout is malformed */
  | "BTF_EXT_BAD_HEADER"
  /** a .BTF.ext info subsection is malformed (record size, counts, truncation) */
  | "BTF_EXT_BAD_INFO"
  /** a .BTF.ext section name offset is outside the BTF string section */
  | "BTF_EXT_BAD_NAME"
  /** btf_dump cannot emit this type */
  | "BTF_DUMP_UNSUPPORTED";

/** A malformed or misused BTF. The message names the object, the type/section and the offset. */
export class BtfError extends Error {
  override readonly name = "BtfError";
  readonly code: BtfErrorCode;
  /** the object's name as the caller gave it */
  readonly object: string;
  /** byte offset within the .BTF (or .BTF.ext) data, -1 when not about a position */
  readonly offset: number;
  /** the type id concerned, -1 when none */
  readonly typeId: number;

  constructor(
    code: BtfErrorCode,
    object: string,
    where: string,
    offset: number,
    detail: string,
    typeId = -1,
  ) {
    const at = offset >= 0 ? ` at offset 0x${offset.toString(16)}` : "";
    super(`${object}: ${where}${at}: ${detail}`);
    this.code = code;
    this.object = object;
    this.offset = offset;
    this.typeId = typeId;
  }
}

interface BtfTypeCommon {
  /** type id (index in `Btf.types`) */
  id: number;
  nameOff: number;
  name: string;
  /** the raw `info` word (vlen, kind, kind_flag) */
  info: number;
}

/** The void type, id 0. */
export interface BtfVoid extends BtfTypeCommon {
  kind: 0;
}
/** An integer: size in bytes, encoding bits, and bit offset/width inside the storage. */
export interface BtfInt extends BtfTypeCommon {
  kind: 1;
  size: number;
  /** BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL */
  encoding: number;
  /** bit offset of the value inside the storage (legacy bitfields) */
  offset: number;
  bits: number;
}
/** A pointer to `type`. */
export interface BtfPtr extends BtfTypeCommon {
  kind: 2;
  type: number;
}
/** `nelems` elements of `type`, indexed by `indexType`. */
export interface BtfArray extends BtfTypeCommon {
  kind: 3;
  type: number;
  indexType: number;
  nelems: number;
}
/** A struct or union member. Without kind_flag, `bitOffset` is the whole offset field. */
export interface BtfMember {
  nameOff: number;
  name: string;
  type: number;
  bitOffset: number;
  /** 0 unless the parent has kind_flag and the member is a bitfield */
  bitfieldSize: number;
}
/** A struct; with kind_flag, members carry bitfield sizes. */
export interface BtfStruct extends BtfTypeCommon {
  kind: 4;
  size: number;
  kflag: boolean;
  members: BtfMember[];
}
/** A union; with kind_flag, members carry bitfield sizes. */
export interface BtfUnion extends BtfTypeCommon {
  kind: 5;
  size: number;
  kflag: boolean;
  members: BtfMember[];
}
/** An ENUM enumerator. */
export interface BtfEnumValue {
  nameOff: number;
  name: string;
  /** read as signed when the enum is signed (kind_flag), else unsigned */
  value: number;
}
/** A 32-bit-valued enum of `size` bytes; kind_flag = signed. */
export interface BtfEnum extends BtfTypeCommon {
  kind: 6;
  size: number;
  signed: boolean;
  values: BtfEnumValue[];
}
/** A forward declaration. */
export interface BtfFwd extends BtfTypeCommon {
  kind: 7;
  /** true: `union X;`, false: `struct X;` */
  kflag: boolean;
}
/** A typedef of `type`. */
export interface BtfTypedef extends BtfTypeCommon {
  kind: 8;
  type: number;
}
/** `volatile` applied to `type`. */
export interface BtfVolatile extends BtfTypeCommon {
  kind: 9;
  type: number;
}
/** `const` applied to `type`. */
export interface BtfConst extends BtfTypeCommon {
  kind: 10;
  type: number;
}
/** `restrict` applied to `type`. */
export interface BtfRestrict extends BtfTypeCommon {
  kind: 11;
  type: number;
}
/** A function: its prototype and linkage. */
export interface BtfFunc extends BtfTypeCommon {
  kind: 12;
  /** the FUNC_PROTO */
  type: number;
  /** BTF_FUNC_STATIC/GLOBAL/EXTERN (the vlen field) */
  linkage: number;
}
/** A FUNC_PROTO parameter (type 0 as the last one means varargs). */
export interface BtfParam {
  nameOff: number;
  name: string;
  type: number;
}
/** A function prototype. */
export interface BtfFuncProto extends BtfTypeCommon {
  kind: 13;
  returnType: number;
  params: BtfParam[];
}
/** A global variable: its type and linkage. */
export interface BtfVar extends BtfTypeCommon {
  kind: 14;
  type: number;
  linkage: number;
}
/** One variable (or extern function) of a DATASEC: its type id, offset and size. */
export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}
/** A data section and the variables in it. */
export interface BtfDatasec extends BtfTypeCommon {
  kind: 15;
  size: number;
  vars: BtfVarSecinfo[];
}
/** A floating-point type of `size` bytes. */
export interface BtfFloat extends BtfTypeCommon {
  kind: 16;
  size: number;
}
/** A declaration tag on `type` (or one of its members/params). */
export interface BtfDeclTag extends BtfTypeCommon {
  kind: 17;
  type: number;
  /** -1: the tag applies to the type itself; else a member/param index */
  componentIdx: number;
  kflag: boolean;
}
/** A type tag on `type` (kind_flag: an arbitrary attribute). */
export interface BtfTypeTag extends BtfTypeCommon {
  kind: 18;
  type: number;
  kflag: boolean;
}
/** An ENUM64 enumerator. */
export interface BtfEnum64Value {
  nameOff: number;
  name: string;
  value: bigint;
}
/** A 64-bit-valued enum; kind_flag = signed. */
export interface BtfEnum64 extends BtfTypeCommon {
  kind: 19;
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}

/** One decoded BTF type. */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfFwd
  | BtfTypedef
  | BtfVolatile
  | BtfConst
  | BtfRestrict
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag
  | BtfEnum64;

/** The void type (id 0). */
export const BTF_VOID: BtfVoid = Object.freeze({ id: 0, kind: 0, nameOff: 0, name: "", info: 0 });

/** `btf_kind(t)`. */
export function btfInfoKind(info: number): number {
  return (info >>> 24) & 0x1f;
}

/** `btf_vlen(t)`. */
export function btfInfoVlen(info: number): number {
  return info & 0xffff;
}

/** `btf_kflag(t)`. */
export function btfInfoKflag(info: number): boolean {
  return info >>> 31 === 1;
}

/** `btf_type_info(kind, vlen, kflag)`. */
export function btfTypeInfo(kind: number, vlen: number, kflag: boolean): number {
  return ((kflag ? 0x80000000 : 0) | ((kind & 0x1f) << 24) | (vlen & 0xffff)) >>> 0;
}

/**
 * Byte length of the record whose `info` word is given (`btf_type_size`), or -1 for a kind
 * this parser does not know.
 */
export function btfRecordSize(info: number): number {
  const vlen = btfInfoVlen(info);
  switch (btfInfoKind(info)) {
    case BTF_KIND.FWD:
    case BTF_KIND.CONST:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.PTR:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.FUNC:
    case BTF_KIND.FLOAT:
    case BTF_KIND.TYPE_TAG:
      return 12;
    case BTF_KIND.INT:
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
      return 16;
    case BTF_KIND.ARRAY:
      return 24;
    case BTF_KIND.ENUM:
    case BTF_KIND.FUNC_PROTO:
      return 12 + vlen * 8;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
    case BTF_KIND.DATASEC:
    case BTF_KIND.ENUM64:
      return 12 + vlen * 12;
    default:
      return -1;
  }
}

/**
 * Decodes the record at byte `o` of `dv` as type `id`. `name` resolves a string offset (the
 * caller validated every offset before). The record's length was checked by the caller.
 */
export function decodeBtfType(
  dv: DataView,
  o: number,
  le: boolean,
  id: number,
  name: (off: number) => string,
): BtfType {
  const u32 = (at: number): number => dv.getUint32(at, le);
  const nameOff = u32(o);
  const info = u32(o + 4);
  const st = u32(o + 8);
  const kind = btfInfoKind(info);
  const vlen = btfInfoVlen(info);
  const kflag = btfInfoKflag(info);
  const nm = name(nameOff);
  switch (kind) {
    case BTF_KIND.INT: {
      const v = u32(o + 12);
      return {
        id,
        nameOff,
        name: nm,
        info,
        kind,
        size: st,
        encoding: (v >>> 24) & 0x0f,
        offset: (v >>> 16) & 0xff,
        bits: v & 0xff,
      };
    }
    case BTF_KIND.PTR:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
      return { id, nameOff, name: nm, info, kind, type: st };
    case BTF_KIND.TYPE_TAG:
      return { id, nameOff, name: nm, info, kind, type: st, kflag };
    case BTF_KIND.FUNC:
      return { id, nameOff, name: nm, info, kind, type: st, linkage: vlen };
    case BTF_KIND.ARRAY:
      return {
        id,
        nameOff,
        name: nm,
        info,
        kind,
        type: u32(o + 12),
        indexType: u32(o + 16),
        nelems: u32(o + 20),
      };
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION: {
      const members: BtfMember[] = [];
      for (let i = 0; i < vlen; i++) {
        const m = o + 12 + i * 12;
        const moff = u32(m + 8);
        members.push({
          nameOff: u32(m),
          name: name(u32(m)),
          type: u32(m + 4),
          bitOffset: kflag ? moff & 0xffffff : moff,
          bitfieldSize: kflag ? moff >>> 24 : 0,
        });
      }
      return { id, nameOff, name: nm, info, kind, size: st, kflag, members };
    }
    case BTF_KIND.ENUM: {
      const values: BtfEnumValue[] = [];
      for (let i = 0; i < vlen; i++) {
        const m = o + 12 + i * 8;
        values.push({
          nameOff: u32(m),
          name: name(u32(m)),
          value: kflag ? dv.getInt32(m + 4, le) : u32(m + 4),
        });
      }
      return { id, nameOff, name: nm, info, kind, size: st, signed: kflag, values };
    }
    case BTF_KIND.ENUM64: {
      const values: BtfEnum64Value[] = [];
      for (let i = 0; i < vlen; i++) {
        const m = o + 12 + i * 12;
        const raw = (BigInt(u32(m + 8)) << 32n) | BigInt(u32(m + 4));
        values.push({
          nameOff: u32(m),
          name: name(u32(m)),
          value: kflag ? BigInt.asIntN(64, raw) : raw,
        });
      }
      return { id, nameOff, name: nm, info, kind, size: st, signed: kflag, values };
    }
    case BTF_KIND.FWD:
      return { id, nameOff, name: nm, info, kind, kflag };
    case BTF_KIND.FUNC_PROTO: {
      const params: BtfParam[] = [];
      for (let i = 0; i < vlen; i++) {
        const m = o + 12 + i * 8;
        params.push({ nameOff: u32(m), name: name(u32(m)), type: u32(m + 4) });
      }
      return { id, nameOff, name: nm, info, kind, returnType: st, params };
    }
    case BTF_KIND.VAR:
      return { id, nameOff, name: nm, info, kind, type: st, linkage: u32(o + 12) };
    case BTF_KIND.DATASEC: {
      const vars: BtfVarSecinfo[] = [];
      for (let i = 0; i < vlen; i++) {
        const m = o + 12 + i * 12;
        vars.push({ type: u32(m), offset: u32(m + 4), size: u32(m + 8) });
      }
      return { id, nameOff, name: nm, info, kind, size: st, vars };
    }
    case BTF_KIND.FLOAT:
      return { id, nameOff, name: nm, info, kind, size: st };
    case BTF_KIND.DECL_TAG:
      return {
        id,
        nameOff,
        name: nm,
        info,
        kind,
        type: st,
        componentIdx: dv.getInt32(o + 12, le),
        kflag,
      };
    default:
      throw new Error(`decodeBtfType: kind ${kind} has no decoder`);
  }
}

/** The type ids a type refers to (what libbpf's btf_validate_type checks exist). */
export function referencedIds(t: BtfType): number[] {
  switch (t.kind) {
    case BTF_KIND.PTR:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
    case BTF_KIND.TYPE_TAG:
    case BTF_KIND.FUNC:
      return [t.type];
    case BTF_KIND.ARRAY:
      return [t.type, t.indexType];
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
      return t.members.map((m) => m.type);
    case BTF_KIND.FUNC_PROTO:
      return t.params.map((p) => p.type);
    case BTF_KIND.DATASEC:
      return t.vars.map((v) => v.type);
    default:
      return [];
  }
}
