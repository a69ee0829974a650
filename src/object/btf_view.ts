/**
 * The object layer's handle on the object's .BTF: src/btf's `Btf` (parsing, libbpf's queries,
 * the in-place fix-up mutators, `btf__add_*` and `btf__raw_data()` serialisation) seen through
 * the small id-based vocabulary libbpf's loader code uses (`btf_kind(t)`, `btf_vlen(t)`,
 * `t->type`, `btf_var_secinfos(t)`, …). No BTF logic lives here; every edit goes through `Btf`.
 */

import type { Btf, BtfMember, BtfType, BtfVarSecinfo } from "../btf/btf.js";
import {
  BTF_FUNC_EXTERN,
  BTF_FUNC_GLOBAL,
  BTF_FUNC_STATIC,
  BTF_INT_BOOL,
  BTF_INT_SIGNED,
  BTF_KIND,
  BTF_VAR_GLOBAL_ALLOCATED,
  BTF_VAR_GLOBAL_EXTERN,
  BTF_VAR_STATIC,
} from "../btf/btf.js";

export const Kind = BTF_KIND;

/** BTF_VAR_* and BTF_FUNC_* linkage values. */
export const VarLinkage = {
  STATIC: BTF_VAR_STATIC,
  GLOBAL_ALLOCATED: BTF_VAR_GLOBAL_ALLOCATED,
  GLOBAL_EXTERN: BTF_VAR_GLOBAL_EXTERN,
} as const;
export const FuncLinkage = {
  STATIC: BTF_FUNC_STATIC,
  GLOBAL: BTF_FUNC_GLOBAL,
  EXTERN: BTF_FUNC_EXTERN,
} as const;

/** BTF_INT_SIGNED / BTF_INT_BOOL */
export const INT_SIGNED = BTF_INT_SIGNED;
export const INT_BOOL = BTF_INT_BOOL;

export type { BtfMember, BtfVarSecinfo };

/** Id-based accessors over a `Btf`, as libbpf's object code reads types. */
export class BtfView {
  readonly btf: Btf;
  constructor(btf: Btf) {
    this.btf = btf;
  }

  get littleEndian(): boolean {
    return this.btf.littleEndian;
  }
  /** btf__type_cnt() */
  get typeCnt(): number {
    return this.btf.typeCount;
  }
  /** the type; throws BtfError for an id out of range */
  t(id: number): BtfType {
    return this.btf.typeById(id);
  }
  /** btf_kind(); 0 for void */
  kind(id: number): number {
    return this.t(id).kind;
  }
  name(id: number): string {
    return this.t(id).name;
  }
  nameOff(id: number): number {
    return this.t(id).nameOff;
  }
  /** btf__str_by_offset() */
  str(off: number): string {
    return this.btf.nameOf(off);
  }
  /** `t->size` or `t->type` of the common header (FUNC: its proto) */
  sizeOrType(id: number): number {
    const t = this.t(id) as { size?: number; type?: number; returnType?: number };
    return t.size ?? t.type ?? t.returnType ?? 0;
  }
  /** btf_vlen(): members, values, params, vars; a FUNC's linkage */
  vlen(id: number): number {
    const t = this.t(id);
    switch (t.kind) {
      case Kind.STRUCT:
      case Kind.UNION:
        return t.members.length;
      case Kind.ENUM:
      case Kind.ENUM64:
        return t.values.length;
      case Kind.FUNC_PROTO:
        return t.params.length;
      case Kind.DATASEC:
        return t.vars.length;
      case Kind.FUNC:
        return t.linkage;
      default:
        return 0;
    }
  }
  members(id: number): BtfMember[] {
    const t = this.t(id);
    return t.kind === Kind.STRUCT || t.kind === Kind.UNION ? t.members : [];
  }
  secinfos(id: number): BtfVarSecinfo[] {
    const t = this.t(id);
    return t.kind === Kind.DATASEC ? t.vars.map((v) => ({ ...v })) : [];
  }
  params(id: number): { nameOff: number; type: number }[] {
    const t = this.t(id);
    return t.kind === Kind.FUNC_PROTO ? t.params : [];
  }
  varLinkage(id: number): number {
    const t = this.t(id);
    return t.kind === Kind.VAR ? t.linkage : -1;
  }
  arrayNelems(id: number): number {
    const t = this.t(id);
    return t.kind === Kind.ARRAY ? t.nelems : 0;
  }
  arrayType(id: number): number {
    const t = this.t(id);
    return t.kind === Kind.ARRAY ? t.type : 0;
  }
  /** the single value of an ENUM / ENUM64 as libbpf's `__u64` (ENUM: `__s32` sign-extended) */
  enumValue(id: number, i: number): bigint {
    const t = this.t(id);
    if (t.kind === Kind.ENUM) return BigInt.asUintN(64, BigInt(t.values[i].value | 0));
    if (t.kind === Kind.ENUM64) return BigInt.asUintN(64, t.values[i].value);
    return 0n;
  }
  intEncoding(id: number): number {
    const t = this.t(id);
    return t.kind === Kind.INT ? t.encoding : 0;
  }
  intBits(id: number): number {
    const t = this.t(id);
    return t.kind === Kind.INT ? t.bits : 0;
  }
  declTagComponentIdx(id: number): number {
    const t = this.t(id);
    return t.kind === Kind.DECL_TAG ? t.componentIdx : 0;
  }
  /** skip_mods_and_typedefs(): the resolved id */
  skipModsAndTypedefs(id: number): number {
    return this.btf.skipModsAndTypedefs(id).id;
  }
  resolveSize(id: number): number {
    return this.btf.resolveSize(id);
  }
  alignOf(id: number): number {
    return this.btf.alignOf(id);
  }
  /** btf__find_by_name(): any kind; -1 when absent */
  findByName(name: string): number {
    return this.btf.findByName(name);
  }
  /** btf__find_by_name_kind() */
  findByNameKind(name: string, kind: number): number {
    return this.btf.findByName(name, kind);
  }
}
