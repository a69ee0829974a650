/**
 * CO-RE relocations performed by the kernel at BPF_PROG_LOAD (`attr.core_relos`, what a light
 * skeleton's loader passes on: libbpf's gen_loader does not relocate, bpf_core_apply() does).
 * Each record names an instruction, a type of the program's own BTF and an access string; the
 * kernel finds the candidate types of the target BTF by essential name (the name up to a
 * `___suffix`) and kind, resolves the same access on each, and patches the instruction with the
 * target's value. A field that exists in no candidate poisons the instruction (a call of the
 * invalid helper 0xbad2310, which the verifier refuses when it is reachable), as the kernel does.
 *
 * Supported kinds: FIELD_BYTE_OFFSET, FIELD_BYTE_SIZE, FIELD_EXISTS, FIELD_SIGNED,
 * FIELD_LSHIFT_U64, FIELD_RSHIFT_U64 (whole-byte fields; bitfields are refused), TYPE_ID_LOCAL,
 * TYPE_ID_TARGET, TYPE_EXISTS, TYPE_MATCHES (as TYPE_EXISTS), TYPE_SIZE, ENUMVAL_EXISTS,
 * ENUMVAL_VALUE.
 */
import { BTF_KIND, type Btf, type BtfType } from "../btf/btf.js";
import { Errno } from "../uapi/errno.js";
import type { VerifierLog } from "./log.js";

export const CoreReloKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

const KIND_NAMES = [
  "byte_off",
  "byte_sz",
  "field_exists",
  "signed",
  "lshift_u64",
  "rshift_u64",
  "local_type_id",
  "target_type_id",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
];

/** The immediate of the poisoned call (libbpf's and the kernel's BPF_CORE_POISON). */
export const CORE_POISON_IMM = 195896080;

export interface CoreReloRecord {
  readonly insnOff: number;
  readonly typeId: number;
  readonly accessStrOff: number;
  readonly kind: number;
}

/** The value a relocation resolves to, or null when the target has no such field (poison). */
interface Resolved {
  readonly value: number;
  /** The target field's byte size (LDX loads are resized to it). */
  readonly fieldSize?: number;
}

type Access = { kind: "member"; name: string } | { kind: "array"; index: number };

interface LocalSpec {
  readonly rootId: number;
  readonly rootIndex: number;
  readonly path: Access[];
  /** The type of the accessed field. */
  readonly fieldType: number;
  readonly bitfield: boolean;
}

/** The name without a `___flavour` suffix (bpf_core_essential_name_len). */
export function essentialName(name: string): string {
  const i = name.indexOf("___");
  return i > 0 ? name.slice(0, i) : name;
}

const isComposite = (t: BtfType) => t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION;
const isIntLike = (t: BtfType) =>
  t.kind === BTF_KIND.INT || t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64;

function parseAccess(s: string): number[] | null {
  if (!/^\d+(:\d+)*$/.test(s)) return null;
  return s.split(":").map(Number);
}

function localFieldSpec(btf: Btf, typeId: number, raw: number[]): LocalSpec | null {
  const path: Access[] = [];
  let cur = typeId;
  let bitfield = false;
  for (let i = 1; i < raw.length; i++) {
    const t = btf.skipModsAndTypedefs(cur);
    if (isComposite(t) && "members" in t) {
      const m = t.members[raw[i]];
      if (!m) return null;
      if (m.bitfieldSize) bitfield = true;
      if (m.name) path.push({ kind: "member", name: m.name });
      cur = m.type;
    } else if (t.kind === BTF_KIND.ARRAY) {
      path.push({ kind: "array", index: raw[i] });
      cur = t.type;
    } else {
      return null;
    }
  }
  return { rootId: typeId, rootIndex: raw[0], path, fieldType: cur, bitfield };
}

function findMember(
  btf: Btf,
  id: number,
  name: string,
): { bitOffset: number; type: number; bitfield: boolean } | null {
  const t = btf.skipModsAndTypedefs(id);
  if (!isComposite(t) || !("members" in t)) return null;
  for (const m of t.members) {
    if (m.name === name)
      return { bitOffset: m.bitOffset, type: m.type, bitfield: m.bitfieldSize > 0 };
    if (m.name === "") {
      const inner = findMember(btf, m.type, name);
      if (inner) return { ...inner, bitOffset: m.bitOffset + inner.bitOffset };
    }
  }
  return null;
}

/** bpf_core_fields_are_compat(), simplified: same family of kinds. */
function compatible(local: Btf, lid: number, target: Btf, tid: number): boolean {
  const l = local.skipModsAndTypedefs(lid);
  const t = target.skipModsAndTypedefs(tid);
  if (isIntLike(l) && isIntLike(t)) return true;
  if (isComposite(l) && isComposite(t)) return true;
  return l.kind === t.kind;
}

/** The candidate target types of a local type: same essential name, same kind. */
function candidates(local: Btf, localId: number, target: Btf): number[] {
  const lt = local.skipModsAndTypedefs(localId);
  const name = essentialName(local.typeById(localId).name || lt.name);
  if (!name) return [];
  const out: number[] = [];
  for (let id = 1; id < target.types.length; id++) {
    const t = target.types[id];
    if (t.name && essentialName(t.name) === name) {
      const sameKind =
        t.kind === lt.kind ||
        (isIntLike(t) && isIntLike(lt) && t.kind !== BTF_KIND.INT && lt.kind !== BTF_KIND.INT);
      if (sameKind) out.push(id);
    }
  }
  return out;
}

function resolveField(
  kind: number,
  local: Btf,
  spec: LocalSpec,
  target: Btf,
  candId: number,
): Resolved | null {
  let bitOffset = spec.rootIndex * target.resolveSize(candId) * 8;
  let cur = candId;
  for (const a of spec.path) {
    if (a.kind === "member") {
      const m = findMember(target, cur, a.name);
      if (!m || m.bitfield) return null;
      bitOffset += m.bitOffset;
      cur = m.type;
    } else {
      const t = target.skipModsAndTypedefs(cur);
      if (t.kind !== BTF_KIND.ARRAY) return null;
      if (t.nelems && a.index >= t.nelems) return null;
      bitOffset += a.index * target.resolveSize(t.type) * 8;
      cur = t.type;
    }
  }
  if (!compatible(local, spec.fieldType, target, cur)) return null;
  const size = target.resolveSize(cur);
  const ft = target.skipModsAndTypedefs(cur);
  switch (kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
      return { value: bitOffset / 8, fieldSize: size };
    case CoreReloKind.FIELD_BYTE_SIZE:
      return { value: size };
    case CoreReloKind.FIELD_EXISTS:
      return { value: 1 };
    case CoreReloKind.FIELD_SIGNED: {
      const signed =
        (ft.kind === BTF_KIND.INT && (ft.encoding & 1) !== 0) ||
        ((ft.kind === BTF_KIND.ENUM || ft.kind === BTF_KIND.ENUM64) && ft.signed);
      return { value: signed ? 1 : 0 };
    }
    case CoreReloKind.FIELD_LSHIFT_U64:
    case CoreReloKind.FIELD_RSHIFT_U64:
      return { value: 64 - size * 8 };
    default:
      return null;
  }
}

/** Resolves one relocation: the value, or null when it cannot be satisfied (poison). */
function resolve(
  rec: CoreReloRecord,
  local: Btf,
  target: Btf,
  log: VerifierLog,
  idx: number,
): Resolved | null | number {
  const access = local.nameOf(rec.accessStrOff);
  const raw = parseAccess(access);
  if (!raw) {
    log.verbose(`relo #${idx}: bad access string '${access}'\n`);
    return -Errno.EINVAL;
  }
  if (rec.kind === CoreReloKind.TYPE_ID_LOCAL) return { value: rec.typeId };
  const cands = candidates(local, rec.typeId, target);
  const results: Resolved[] = [];
  const resultIds: number[] = [];
  for (const c of cands) {
    let r: Resolved | null = null;
    switch (rec.kind) {
      case CoreReloKind.FIELD_BYTE_OFFSET:
      case CoreReloKind.FIELD_BYTE_SIZE:
      case CoreReloKind.FIELD_EXISTS:
      case CoreReloKind.FIELD_SIGNED:
      case CoreReloKind.FIELD_LSHIFT_U64:
      case CoreReloKind.FIELD_RSHIFT_U64: {
        const spec = localFieldSpec(local, rec.typeId, raw);
        if (!spec) {
          log.verbose(`relo #${idx}: access '${access}' does not fit the local type\n`);
          return -Errno.EINVAL;
        }
        if (spec.bitfield) {
          log.verbose(`relo #${idx}: bitfield relocations are not supported by the model\n`);
          return -Errno.EOPNOTSUPP;
        }
        r = resolveField(rec.kind, local, spec, target, c);
        break;
      }
      case CoreReloKind.TYPE_ID_TARGET:
        r = { value: c };
        break;
      case CoreReloKind.TYPE_EXISTS:
      case CoreReloKind.TYPE_MATCHES:
        r = { value: 1 };
        break;
      case CoreReloKind.TYPE_SIZE:
        r = { value: target.resolveSize(c) };
        break;
      case CoreReloKind.ENUMVAL_EXISTS:
      case CoreReloKind.ENUMVAL_VALUE: {
        const lt = local.skipModsAndTypedefs(rec.typeId);
        const tt = target.skipModsAndTypedefs(c);
        if (!("values" in lt) || !("values" in tt)) break;
        const name = lt.values[raw[0]]?.name;
        const v = tt.values.find((x) => essentialName(x.name) === essentialName(name ?? ""));
        if (v) r = { value: rec.kind === CoreReloKind.ENUMVAL_EXISTS ? 1 : Number(v.value) };
        break;
      }
      default:
        log.verbose(`relo #${idx}: unknown CO-RE relocation kind ${rec.kind}\n`);
        return -Errno.EINVAL;
    }
    if (r) {
      results.push(r);
      resultIds.push(c);
    }
  }
  if (results.length > 1 && results.some((r) => r.value !== results[0].value)) {
    log.verbose(
      `relo #${idx}: ${results.length} candidates [${resultIds.join(", ")}] resolve differently\n`,
    );
    return -Errno.EINVAL;
  }
  if (results.length) return results[0];
  switch (rec.kind) {
    case CoreReloKind.FIELD_EXISTS:
    case CoreReloKind.TYPE_EXISTS:
    case CoreReloKind.TYPE_MATCHES:
    case CoreReloKind.ENUMVAL_EXISTS:
    case CoreReloKind.TYPE_ID_TARGET:
      return { value: 0 };
    default:
      return null;
  }
}

const LDX_SIZES: Record<number, number> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };

/**
 * Applies the CO-RE relocations to `insns` in place (the kernel patches prog->insnsi after
 * the signature check). `local` is the program's BTF, `target` the kernel's. Returns 0 or a
 * negative errno, with the reason in the log.
 */
export function applyCoreRelos(
  insns: Uint8Array,
  relos: readonly CoreReloRecord[],
  local: Btf,
  target: Btf,
  log: VerifierLog,
): number {
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const nInsns = insns.length / 8;
  for (let i = 0; i < relos.length; i++) {
    const rec = relos[i];
    if (rec.insnOff % 8 || rec.insnOff / 8 >= nInsns) {
      log.verbose(`relo #${i}: insn_off ${rec.insnOff} is outside the program\n`);
      return -Errno.EINVAL;
    }
    if (rec.typeId <= 0 || rec.typeId >= local.types.length) {
      log.verbose(`relo #${i}: bad type id ${rec.typeId}\n`);
      return -Errno.EINVAL;
    }
    const r = resolve(rec, local, target, log, i);
    if (typeof r === "number") return r;
    const at = rec.insnOff;
    const idx = at / 8;
    const code = insns[at];
    const cls = code & 7;
    const kindName = KIND_NAMES[rec.kind] ?? String(rec.kind);
    if (r === null) {
      log.verbose(
        `relo #${i}: ${kindName} of [${rec.typeId}] ${local.typeById(rec.typeId).name} ` +
          `(${local.nameOf(rec.accessStrOff)}) has no match in the kernel's BTF; ` +
          `substituting insn #${idx} w/ invalid insn\n`,
      );
      insns[at] = 0x85;
      insns[at + 1] = 0;
      dv.setInt16(at + 2, 0, true);
      dv.setInt32(at + 4, CORE_POISON_IMM, true);
      continue;
    }
    if (cls === 0x04 || cls === 0x07) {
      if (code & 0x08) {
        log.verbose(`relo #${i}: insn #${idx} is an ALU op with a register source\n`);
        return -Errno.EINVAL;
      }
      dv.setInt32(at + 4, r.value, true);
    } else if (cls === 0x01 || cls === 0x02 || cls === 0x03) {
      if (r.value > 0x7fff || r.value < -0x8000) {
        log.verbose(`relo #${i}: offset ${r.value} does not fit insn #${idx}\n`);
        return -Errno.ERANGE;
      }
      dv.setInt16(at + 2, r.value, true);
      if (cls === 0x01 && r.fieldSize !== undefined && (code & 0xe0) === 0x60) {
        const sz = LDX_SIZES[r.fieldSize];
        if (sz !== undefined) insns[at] = (code & ~0x18) | sz;
      }
    } else if (code === 0x18 && idx + 1 < nInsns) {
      dv.setInt32(at + 4, r.value, true);
      dv.setInt32(at + 12, 0, true);
    } else {
      log.verbose(`relo #${i}: insn #${idx} (code 0x${code.toString(16)}) cannot be relocated\n`);
      return -Errno.EINVAL;
    }
  }
  return 0;
}
