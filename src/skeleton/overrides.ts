/**
 * Host overrides: what a light-skeleton loader takes from the loading host rather than from its
 * own (signable) bytes.
 *
 * gen_loader without `gen_hash` (every unsigned skeleton) emits, per created map, a read of
 * `ctx->maps[i].max_entries` that patches the `BPF_MAP_CREATE` attr when non-zero, and per
 * global-data map a read of `ctx->maps[i].initial_value` that, when non-zero, copies the host's
 * buffer over the recorded value (`bpf_copy_from_user`, or `bpf_probe_read_kernel` for kernel
 * callers) before `BPF_MAP_UPDATE_ELEM`. The ctx (`struct bpf_loader_ctx` followed by the
 * `bpf_map_desc`s and `bpf_prog_desc`s) is the host's memory, outside what a signature covers.
 * Signed (`gen_hash`) loaders omit both.
 *
 * This is found from the instructions alone: a linear pass tracks which registers hold the ctx
 * pointer (r1 at entry, copied and offset by constants), blob addresses (`ld_imm64` of
 * `BPF_PSEUDO_MAP_IDX_VALUE` on fd_array slot 0, the metadata map) and constants, and records
 * every load from the ctx and where its value goes (stored into a blob attr, passed as the source
 * of a copy helper). The pass is path-insensitive; a ctx pointer used in a way it does not model
 * (stored to memory, passed to a helper, non-constant arithmetic) is listed in `unresolved`.
 */

import { checkInsnRegs, decodeInsns, type Insn } from "../insn/insn.js";
import { BpfCmd, Helper, Pseudo } from "../uapi/constants.js";
import {
  LOADER_CTX_FLAGS,
  LOADER_CTX_LOG_BUF,
  LOADER_CTX_LOG_LEVEL,
  LOADER_CTX_LOG_SIZE,
  LOADER_CTX_SIZE,
  MAP_DESC_FD,
  MAP_DESC_INITIAL_VALUE,
  MAP_DESC_MAX_ENTRIES,
  MAP_DESC_SIZE,
} from "./skeleton.js";

/** A `bpf_map_desc` input field the host controls. */
export type OverridableField = "max_entries" | "initial_value";

/** Offset of `max_entries` in the `BPF_MAP_CREATE` attr. */
const ATTR_MAX_ENTRIES = 12;

/** One load from the loader ctx. */
export interface CtxRead {
  /** slot index of the load */
  insn: number;
  /** byte offset in the ctx */
  offset: number;
  /** access width in bytes */
  size: number;
  /** `sz`, `flags`, `log_level`, `log_size`, `log_buf`, `maps[i].max_entries`, … or `ctx+N` */
  field: string;
}

export interface MaxEntriesOverride {
  /** slot of the ctx load */
  insn: number;
  ctxOffset: number;
  /** blob offset of the `BPF_MAP_CREATE` attr the value is stored into, when traced */
  attrOffset: number | null;
}

export interface InitialValueOverride {
  /** slot of the ctx load */
  insn: number;
  ctxOffset: number;
  /** blob offset of the map value the host buffer is copied over, when traced */
  valueOffset: number | null;
  /** bytes copied (the map's value size), when traced */
  size: number | null;
  /** the copy helpers that take the host pointer */
  helpers: ("bpf_copy_from_user" | "bpf_probe_read_kernel")[];
}

/** The host-overridable inputs of one map descriptor. */
export interface MapOverride {
  /** index of the map (= `bpf_map_desc` index, skeleton-struct order) */
  index: number;
  /** the map's name when the caller passed names */
  name: string | null;
  fields: OverridableField[];
  maxEntries: MaxEntriesOverride | null;
  initialValue: InitialValueOverride | null;
}

export interface HostOverrideReport {
  /** some map's `max_entries` or `initial_value` is taken from the host */
  overridable: boolean;
  /** maps with at least one host-controlled field, by index */
  maps: MapOverride[];
  /** every load from the ctx */
  ctxReads: CtxRead[];
  /** slots calling `bpf_copy_from_user` (any source) */
  copyFromUserCalls: number[];
  /** slots where the ctx pointer is used in a way the pass does not follow */
  unresolved: number[];
}

export interface OverrideOptions {
  /** map names in skeleton order (labels the report and bounds the map-desc region) */
  maps?: readonly string[];
}

type Value =
  | { k: "ctx"; delta: number }
  | { k: "ctxField"; offset: number; insn: number }
  | { k: "blob"; offset: number }
  | { k: "imm"; value: number }
  | { k: "unknown" };

const UNKNOWN: Value = { k: "unknown" };

const HEADER_FIELDS: Record<number, string> = {
  0: "sz",
  [LOADER_CTX_FLAGS]: "flags",
  [LOADER_CTX_LOG_LEVEL]: "log_level",
  [LOADER_CTX_LOG_SIZE]: "log_size",
  [LOADER_CTX_LOG_BUF]: "log_buf",
};

const LDX_MEM = 0x61 & 0x07; // class LDX

/** At entry r1 holds the ctx pointer; nothing else is known. */
function entryState(): Value[] {
  const regs = new Array<Value>(11).fill(UNKNOWN);
  regs.splice(1, 1, { k: "ctx", delta: 0 });
  return regs;
}

function sameValue(a: Value, b: Value): boolean {
  switch (a.k) {
    case "ctx":
      return b.k === "ctx" && a.delta === b.delta;
    case "ctxField":
      return b.k === "ctxField" && a.insn === b.insn;
    case "blob":
      return b.k === "blob" && a.offset === b.offset;
    case "imm":
      return b.k === "imm" && a.value === b.value;
    default:
      return b.k === "unknown";
  }
}

/** Where two paths meet: a register keeps its value only when both agree. */
function merge(a: Value[], b: Value[]): Value[] {
  return a.map((v, r) => (sameValue(v, b[r]) ? v : UNKNOWN));
}
const MODE_MEM = 0x60;

interface MapDescField {
  index: number;
  field: "map_fd" | OverridableField | null;
}

function mapDescField(offset: number, mapCount: number | null): MapDescField | null {
  if (offset < LOADER_CTX_SIZE) return null;
  const index = Math.floor((offset - LOADER_CTX_SIZE) / MAP_DESC_SIZE);
  if (mapCount !== null && index >= mapCount) return null;
  const within = (offset - LOADER_CTX_SIZE) % MAP_DESC_SIZE;
  const field =
    within === MAP_DESC_FD
      ? "map_fd"
      : within === MAP_DESC_MAX_ENTRIES
        ? "max_entries"
        : within === MAP_DESC_INITIAL_VALUE
          ? "initial_value"
          : null;
  return { index, field };
}

function fieldName(offset: number, mapCount: number | null): string {
  const header = HEADER_FIELDS[offset];
  if (header !== undefined) return header;
  const m = mapDescField(offset, mapCount);
  if (m?.field) return `maps[${m.index}].${m.field}`;
  return `ctx+${offset}`;
}

/**
 * Finds the `bpf_map_desc` inputs (`max_entries`, `initial_value`) a loader takes from the host's
 * ctx. `insns` are the loader's 8-byte instructions (`opts_insn`).
 */
export function detectHostOverrides(
  insns: Uint8Array,
  opts: OverrideOptions = {},
): HostOverrideReport {
  const prog: Insn[] = decodeInsns(insns);
  // a loader naming a register outside r0..r10 is malformed, not something to track
  checkInsnRegs(prog);
  const mapCount = opts.maps ? opts.maps.length : null;
  let regs: Value[] = entryState();
  /** register states carried by forward jumps, by target slot */
  const pending = new Map<number, Value[]>();
  let reachable = true;
  const ctxReads: CtxRead[] = [];
  const copyFromUserCalls: number[] = [];
  const unresolved: number[] = [];
  /** blob stores of ctx values: blob offset → the ctx read */
  const storedCtx: { blobOffset: number; read: CtxRead }[] = [];
  const mapCreates: { insn: number; attrOffset: number }[] = [];
  const copies: {
    insn: number;
    helper: "bpf_copy_from_user" | "bpf_probe_read_kernel";
    source: Value;
    dest: Value;
    size: Value;
  }[] = [];
  const readAt = new Map<number, CtxRead>();

  for (let pc = 0; pc < prog.length; pc++) {
    const incoming = pending.get(pc);
    if (incoming) {
      regs = reachable ? merge(regs, incoming) : incoming;
      reachable = true;
      pending.delete(pc);
    }
    const insn = prog[pc];
    const code = insn.code;
    const cls = code & 0x07;
    if (code === 0x18) {
      // ld_imm64
      const next = prog[pc + 1];
      regs[insn.dst] =
        insn.src === Pseudo.MAP_IDX_VALUE && insn.imm === 0 && next
          ? { k: "blob", offset: next.imm }
          : insn.src === 0 && next && next.imm === 0 && insn.imm >= 0
            ? { k: "imm", value: insn.imm }
            : UNKNOWN;
      pc++;
      continue;
    }
    if (cls === LDX_MEM && (code & 0xe0) === MODE_MEM) {
      const base = regs[insn.src];
      const size = [4, 2, 1, 8][(code >> 3) & 3];
      if (base.k === "ctx") {
        const offset = base.delta + insn.off;
        const read: CtxRead = { insn: pc, offset, size, field: fieldName(offset, mapCount) };
        ctxReads.push(read);
        readAt.set(pc, read);
        regs[insn.dst] = { k: "ctxField", offset, insn: pc };
      } else {
        regs[insn.dst] = UNKNOWN;
      }
      continue;
    }
    if (cls === 0x03 && (code & 0xe0) === MODE_MEM) {
      // stx
      const dst = regs[insn.dst];
      const val = regs[insn.src];
      if (val.k === "ctx") unresolved.push(pc);
      if (dst.k === "blob" && val.k === "ctxField") {
        const read = readAt.get(val.insn);
        if (read) storedCtx.push({ blobOffset: dst.offset + insn.off, read });
      }
      continue;
    }
    if (cls === 0x07 || cls === 0x04) {
      const op = code & 0xf0;
      const isReg = (code & 0x08) !== 0;
      const src = regs[insn.src];
      const dst = regs[insn.dst];
      if (isReg && src.k === "ctx" && op !== 0xb0) unresolved.push(pc);
      if (cls === 0x07 && op === 0xb0) {
        // mov64
        regs[insn.dst] = isReg ? (insn.off === 0 ? src : UNKNOWN) : { k: "imm", value: insn.imm };
      } else if (cls === 0x07 && op === 0x00 && !isReg && dst.k === "ctx") {
        regs[insn.dst] = { k: "ctx", delta: dst.delta + insn.imm };
      } else if (cls === 0x07 && op === 0x00 && !isReg && dst.k === "blob") {
        regs[insn.dst] = { k: "blob", offset: dst.offset + insn.imm };
      } else {
        if (dst.k === "ctx") unresolved.push(pc);
        regs[insn.dst] =
          cls === 0x04 && op === 0xb0 && !isReg ? { k: "imm", value: insn.imm >>> 0 } : UNKNOWN;
      }
      continue;
    }
    if (cls === 0x05 && (code & 0xf0) === 0x80 && insn.src === 0) {
      // helper call
      for (let r = 1; r <= 5; r++) if (regs[r].k === "ctx") unresolved.push(pc);
      const id = insn.imm;
      if (id === Helper.sys_bpf) {
        const cmd = regs[1];
        const attr = regs[2];
        if (cmd.k === "imm" && cmd.value === BpfCmd.MAP_CREATE && attr.k === "blob") {
          mapCreates.push({ insn: pc, attrOffset: attr.offset });
        }
      } else if (id === Helper.copy_from_user || id === Helper.probe_read_kernel) {
        if (id === Helper.copy_from_user) copyFromUserCalls.push(pc);
        copies.push({
          insn: pc,
          helper: id === Helper.copy_from_user ? "bpf_copy_from_user" : "bpf_probe_read_kernel",
          dest: regs[1],
          size: regs[2],
          source: regs[3],
        });
      }
      regs[0] = UNKNOWN;
      for (let r = 1; r <= 5; r++) regs[r] = UNKNOWN;
      continue;
    }
    if (cls === 0x05 || cls === 0x06) {
      const op = code & 0xf0;
      if (op === 0x90) {
        reachable = false; // exit
      } else if (op !== 0x80) {
        const target = pc + 1 + insn.off;
        if (target > pc) {
          const there = pending.get(target);
          pending.set(target, there ? merge(there, regs) : regs.slice());
        }
        if (op === 0x00 && cls === 0x05) reachable = false; // goto
      }
      continue;
    }
    if (cls === 0x02) continue; // st imm
    if (cls === 0x00 || cls === 0x01) regs[insn.dst] = UNKNOWN; // other loads
  }

  const byIndex = new Map<number, MapOverride>();
  const entry = (index: number): MapOverride => {
    let o = byIndex.get(index);
    if (!o) {
      o = {
        index,
        name: opts.maps?.[index] ?? null,
        fields: [],
        maxEntries: null,
        initialValue: null,
      };
      byIndex.set(index, o);
    }
    return o;
  };
  for (const read of ctxReads) {
    const m = mapDescField(read.offset, mapCount);
    if (!m) continue;
    if (m.field === "max_entries" && read.size === 4) {
      const o = entry(m.index);
      const stored = storedCtx.find((s) => s.read === read);
      const attr = stored
        ? mapCreates.find(
            (c) => c.insn > read.insn && c.attrOffset + ATTR_MAX_ENTRIES === stored.blobOffset,
          )
        : undefined;
      if (!o.maxEntries) {
        o.maxEntries = {
          insn: read.insn,
          ctxOffset: read.offset,
          attrOffset: attr ? attr.attrOffset : null,
        };
        o.fields.push("max_entries");
      }
    } else if (m.field === "initial_value" && read.size === 8) {
      const o = entry(m.index);
      const used = copies.filter((c) => c.source.k === "ctxField" && c.source.insn === read.insn);
      const first = used[0];
      if (!o.initialValue) {
        o.initialValue = {
          insn: read.insn,
          ctxOffset: read.offset,
          valueOffset: first && first.dest.k === "blob" ? first.dest.offset : null,
          size: first && first.size.k === "imm" ? first.size.value : null,
          helpers: used.map((c) => c.helper),
        };
        o.fields.push("initial_value");
      }
    }
  }
  const maps = [...byIndex.values()].sort((a, b) => a.index - b.index);
  for (const m of maps) m.fields.sort();
  return {
    overridable: maps.length > 0,
    maps,
    ctxReads,
    copyFromUserCalls,
    unresolved: [...new Set(unresolved)].sort((a, b) => a - b),
  };
}
