/**
 * What a light-skeleton loader will install, predicted offline from its two signed inputs (the
 * instructions and the metadata blob), without running it.
 *
 * The metadata records come from metadata_layout.ts (every bpf_sys_bpf call, its attr and
 * the blob regions it points at). On top of that this file follows the loader's *writes into the
 * blob*: gen_loader patches a program's instructions at run time for kfunc calls (BTF id and
 * module fd slot), typed ksyms (BTF id and object fd) and typeless ksyms (an address from
 * kallsyms), and it writes an attach target's BTF id into the PROG_LOAD attr. A program whose
 * instructions are patched gets a tag that depends on the running kernel, so no tag is predicted
 * for it; every other program's tag is the kernel's digest of the bytes the blob holds.
 * The host's remaining say (loaders without gen_hash) comes from skeleton/overrides.ts.
 */
import { createHash } from "node:crypto";
import { progDigest, progTag, toHex } from "../insn/digest.js";
import { decodeInsns, type Insn, InsnFormatError } from "../insn/insn.js";
import { AluOp, Class, LD_IMM64, Mode } from "../insn/opcode.js";
import type { InstallFacts } from "../policy/facts.js";
import {
  attachTypeName,
  HELPER_NAMES,
  MAP_TYPE_NAMES,
  nameOf,
  PROG_TYPE_NAMES,
} from "../policy/names.js";
import { BpfCmd, Helper, Pseudo } from "../uapi/constants.js";
import { decode, MapCreateAttr, ProgLoadAttr } from "../uapi/layout.js";
import { type MetadataLayout, type MetadataRegion, metadataLayoutOf } from "./metadata_layout.js";
import { detectHostOverrides, type HostOverrideReport } from "./overrides.js";

export interface PlannedMap {
  /** index in fd_array / the skeleton's bpf_map_desc array */
  index: number;
  name: string;
  type: string;
  key_size: number;
  value_size: number;
  max_entries: number;
  map_flags: number;
  /** BPF_MAP_FREEZE follows its update */
  frozen: boolean;
  /** the value the loader writes with BPF_MAP_UPDATE_ELEM (sha256 of value_size bytes) */
  initial_value: { offset: number; bytes: number; sha256: string } | null;
  /** fields of its bpf_map_desc the host may still replace at load time */
  host_overridable: ("max_entries" | "initial_value")[];
}

/** A run-time patch of a program instruction by the loader. */
export interface InsnPatch {
  /** instruction index in the program */
  insn: number;
  /** what is patched: `imm`, `off`, `regs`, `imm2` (second half of an ld_imm64) */
  field: string;
  /** the symbol looked up for it (kfunc, ksym), when known */
  symbol: string | null;
}

export interface PlannedProg {
  index: number;
  name: string;
  type: string;
  expected_attach_type: string;
  /** the kernel function/type it attaches to (looked up in kernel BTF at load), if any */
  attach_target: string | null;
  insn_cnt: number;
  license: string;
  prog_flags: number;
  /** prog->tag as the kernel will compute it, or null when the loader patches the insns */
  tag: string | null;
  /** why the tag is null */
  tag_note: string | null;
  helpers: string[];
  kfuncs: string[];
  ksyms: string[];
  /** names of the maps its instructions reference (fd_array indexes) */
  maps: string[];
  patches: InsnPatch[];
  func_info_cnt: number;
  line_info_cnt: number;
  core_relo_cnt: number;
}

export interface InstallPlan {
  maps: PlannedMap[];
  progs: PlannedProg[];
  btf: { offset: number; bytes: number; sha256: string } | null;
  /** the host-override analysis of the loader (what the ctx can still change) */
  hostOverrides: HostOverrideReport;
  /** the metadata records */
  layout: MetadataLayout;
  /** for each loader instruction, the blob offset it addresses (ld_imm64 of the metadata map) */
  blobRefs: Map<number, number>;
}

type Val = { blob: number } | { imm: bigint } | { from: number } | { lookup: number } | null;

interface Lookup {
  insn: number;
  helper: "btf_find_by_name_kind" | "kallsyms_lookup_name";
  name: string;
  kind: number;
}

interface BlobWrite {
  insn: number;
  at: number;
  size: number;
  value: Val;
  /** index of the last lookup before this write, or -1 */
  lastLookup: number;
}

const SIZE_BYTES: Record<number, number> = { 0: 4, 8: 2, 16: 1, 24: 8 };

function cString(data: Uint8Array, off: number): string {
  let end = off;
  while (end < data.length && data[end] !== 0 && end - off < 256) end++;
  return new TextDecoder().decode(data.subarray(off, end));
}

/** The loader's writes into the blob, its name lookups, and which insns address the blob. */
function scanWrites(list: readonly Insn[], data: Uint8Array) {
  const regs: Val[] = new Array(11).fill(null);
  const writes: BlobWrite[] = [];
  const lookups: Lookup[] = [];
  const blobRefs = new Map<number, number>();
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    const cls = x.code & 7;
    if (x.code === LD_IMM64 && i + 1 < list.length) {
      const hi = list[i + 1];
      if (x.src === Pseudo.MAP_IDX_VALUE && x.imm === 0) {
        regs[x.dst] = { blob: hi.imm >>> 0 };
        blobRefs.set(i, hi.imm >>> 0);
      } else
        regs[x.dst] =
          x.src === 0 ? { imm: BigInt(x.imm >>> 0) | (BigInt(hi.imm >>> 0) << 32n) } : null;
      i++;
      continue;
    }
    if (cls === Class.ALU64 && !(x.code & 8)) {
      const op = x.code & 0xf0;
      const r = regs[x.dst];
      if (op === AluOp.MOV) regs[x.dst] = { imm: BigInt(x.imm) };
      else if (op === AluOp.ADD && r && "blob" in r) regs[x.dst] = { blob: r.blob + x.imm };
      else regs[x.dst] = null;
      continue;
    }
    if (cls === Class.ALU64 && (x.code & 0xf0) === AluOp.MOV) {
      regs[x.dst] = regs[x.src];
      continue;
    }
    if (cls === Class.LDX && (x.code & 0xe0) === Mode.MEM) {
      const base = regs[x.src];
      regs[x.dst] = base && "blob" in base ? { from: base.blob + x.off } : null;
      continue;
    }
    if ((cls === Class.STX || cls === Class.ST) && (x.code & 0xe0) === Mode.MEM) {
      const base = regs[x.dst];
      if (base && "blob" in base)
        writes.push({
          insn: i,
          at: base.blob + x.off,
          size: SIZE_BYTES[x.code & 0x18],
          value: cls === Class.ST ? { imm: BigInt(x.imm) } : regs[x.src],
          lastLookup: lookups.length - 1,
        });
      continue;
    }
    if (x.code === (Class.JMP | 0x80) && x.src === 0) {
      let ret: Val = null;
      if (x.imm === Helper.btf_find_by_name_kind || x.imm === Helper.kallsyms_lookup_name) {
        const name = regs[1];
        const kind = regs[3];
        if (name && "blob" in name) {
          lookups.push({
            insn: i,
            helper:
              x.imm === Helper.btf_find_by_name_kind
                ? "btf_find_by_name_kind"
                : "kallsyms_lookup_name",
            name: cString(data, name.blob),
            kind: kind && "imm" in kind ? Number(kind.imm) : 0,
          });
          ret = { lookup: lookups.length - 1 };
        }
      }
      for (let r = 0; r <= 5; r++) regs[r] = null;
      regs[0] = ret;
      continue;
    }
    if (cls === Class.ALU || cls === Class.ALU64 || cls === Class.LDX || cls === Class.LD)
      regs[x.dst] = null;
  }
  return { writes, lookups, blobRefs };
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const FIELD_AT: Record<number, string> = { 1: "regs", 2: "off", 4: "imm" };

export interface PlanOptions {
  /** the skeleton's map names, in bpf_map_desc order (labels the override report) */
  mapNames?: readonly string[];
}

/** Predicts what the loader (`insns`) with its metadata (`data`) installs. Pure. */
export function planInstall(
  insns: Uint8Array,
  data: Uint8Array,
  options: PlanOptions = {},
): InstallPlan {
  // A register above r10 is refused by the kernel; the passes below assume r0..r10.
  const list = decodeInsns(insns);
  list.forEach((x, i) => {
    if (x.dst > 10 || x.src > 10)
      throw new InsnFormatError(
        "bad-field",
        `loader instruction ${i} names register r${Math.max(x.dst, x.src)}: the kernel refuses registers above r10`,
      );
  });
  const layout = metadataLayoutOf(list, data);
  const { writes, lookups, blobRefs } = scanWrites(list, data);
  const hostOverrides = detectHostOverrides(insns, { maps: options.mapNames });

  const createAttrs = layout.syscalls.filter((c) => c.cmd === BpfCmd.MAP_CREATE);
  const loadAttrs = layout.syscalls.filter((c) => c.cmd === BpfCmd.PROG_LOAD);
  const updates = layout.syscalls.filter((c) => c.cmd === BpfCmd.MAP_UPDATE_ELEM);
  const freezes = layout.syscalls.filter((c) => c.cmd === BpfCmd.MAP_FREEZE);
  /** fd_array slot a syscall attr's map_fd was copied from */
  const fdSlotOf = (attr: number): number => {
    const w = writes.find((x) => x.at === attr && x.value && "from" in x.value);
    const from = w?.value && "from" in w.value ? w.value.from : -1;
    return from >= 0 && from < (64 + 256) * 4 && from % 4 === 0 ? from / 4 : -1;
  };
  const pointerAt = (at: number): number | null => {
    const w = writes.find((x) => x.at === at && x.size === 8 && x.value && "blob" in x.value);
    return w?.value && "blob" in w.value ? w.value.blob : null;
  };

  const maps: PlannedMap[] = createAttrs.map((c, index) => {
    const a = decode(MapCreateAttr, data.subarray(c.attr, c.attr + c.size));
    const m = layout.maps[index];
    const update = updates.find((u) => fdSlotOf(u.attr) === index);
    const valueOff = update ? pointerAt(update.attr + 16) : null;
    const override = hostOverrides.maps.find((o) => o.index === index);
    return {
      index,
      name: m.name,
      type: nameOf(MAP_TYPE_NAMES, a.map_type),
      key_size: a.key_size,
      value_size: a.value_size,
      max_entries: a.max_entries,
      map_flags: a.map_flags,
      frozen: freezes.some((f) => fdSlotOf(f.attr) === index),
      initial_value:
        valueOff !== null
          ? {
              offset: valueOff,
              bytes: a.value_size,
              sha256: sha256(data.subarray(valueOff, valueOff + a.value_size)),
            }
          : null,
      host_overridable: override ? [...override.fields] : [],
    };
  });

  const progs: PlannedProg[] = loadAttrs.map((c, index) => {
    const a = decode(ProgLoadAttr, data.subarray(c.attr, c.attr + c.size));
    const lp = layout.progs[index];
    const insnsOff = lp.insnsOffset;
    const end = insnsOff === null ? -1 : insnsOff + a.insn_cnt * 8;
    const progInsns =
      insnsOff === null ? new Uint8Array(0) : data.subarray(insnsOff, Math.min(end, data.length));
    const decoded = progInsns.length % 8 === 0 ? decodeInsns(progInsns) : [];
    const ldImm64First = new Set<number>();
    for (let i = 0; i < decoded.length; i++)
      if (decoded[i].code === LD_IMM64) {
        ldImm64First.add(i);
        i++;
      }
    const loadAt = layout.syscalls.find((s) => s.attr === c.attr && s.cmd === c.cmd)?.insn ?? -1;
    const patches: InsnPatch[] = [];
    const patchName = new Map<number, string | null>();
    const seen = new Set<string>();
    let attachTarget: string | null = null;
    for (const w of writes) {
      if (w.insn > loadAt) break;
      const named =
        w.value && "lookup" in w.value
          ? lookups[w.value.lookup].name
          : w.value && "from" in w.value && patchName.has(w.value.from)
            ? (patchName.get(w.value.from) ?? null)
            : w.lastLookup >= 0
              ? lookups[w.lastLookup].name
              : null;
      if (insnsOff !== null && w.at >= insnsOff && w.at < end) {
        const rel = w.at - insnsOff;
        let insn = Math.floor(rel / 8);
        let field = FIELD_AT[rel % 8] ?? `byte ${rel % 8}`;
        if (ldImm64First.has(insn - 1) && field === "imm") {
          insn--;
          field = "imm2";
        }
        patchName.set(w.at, named);
        const key = `${insn}:${field}`;
        if (!seen.has(key)) {
          seen.add(key);
          patches.push({ insn, field, symbol: named });
        }
      } else if (w.at === c.attr + ProgLoadAttr.attach_btf_id.off && w.lastLookup >= 0) {
        attachTarget = lookups[w.lastLookup].name;
      }
    }
    const helpers = new Set<string>();
    const kfuncInsns = new Set<number>();
    const ksymInsns = new Set<number>();
    const mapIdx = new Set<number>();
    decoded.forEach((x, i) => {
      if (x.code === (Class.JMP | 0x80)) {
        if (x.src === 0) helpers.add(nameOf(HELPER_NAMES, x.imm >>> 0));
        else if (x.src === Pseudo.KFUNC_CALL) kfuncInsns.add(i);
      } else if (x.code === LD_IMM64) {
        if (x.src === Pseudo.MAP_IDX || x.src === Pseudo.MAP_IDX_VALUE) mapIdx.add(x.imm >>> 0);
        if (x.src === Pseudo.BTF_ID || (x.src === 0 && patches.some((p) => p.insn === i)))
          ksymInsns.add(i);
      }
    });
    const symbolsAt = (at: Set<number>) =>
      [
        ...new Set(
          patches.filter((p) => at.has(p.insn) && p.symbol).map((p) => p.symbol as string),
        ),
      ].sort();
    const patched = patches.length > 0;
    return {
      index,
      name: lp.name,
      type: nameOf(PROG_TYPE_NAMES, a.prog_type),
      expected_attach_type: attachTypeName(a.prog_type, a.expected_attach_type),
      attach_target: attachTarget,
      insn_cnt: a.insn_cnt,
      license: lp.license,
      prog_flags: a.prog_flags,
      tag:
        patched || progInsns.length !== a.insn_cnt * 8
          ? null
          : toHex(progTag(progDigest(progInsns))),
      tag_note: patched
        ? `the loader patches ${patches.length} instruction field(s) at run time (${[
            ...new Set(patches.map((p) => p.symbol ?? "?")),
          ].join(", ")}): the tag depends on the running kernel's BTF ids / addresses`
        : progInsns.length !== a.insn_cnt * 8
          ? "the instructions are not in the metadata blob"
          : null,
      helpers: [...helpers].sort(),
      kfuncs: symbolsAt(kfuncInsns),
      ksyms: symbolsAt(ksymInsns),
      maps: [...mapIdx].sort((x, y) => x - y).map((i) => maps[i]?.name ?? `#${i}`),
      patches: patches,
      func_info_cnt: a.func_info_cnt,
      line_info_cnt: a.line_info_cnt,
      core_relo_cnt: a.core_relo_cnt,
    };
  });

  const btfRegion: MetadataRegion | undefined = layout.regions.find((r) => r.kind === "btf");
  return {
    maps,
    progs,
    btf: btfRegion
      ? {
          offset: btfRegion.offset,
          bytes: btfRegion.size,
          sha256: sha256(data.subarray(btfRegion.offset, btfRegion.offset + btfRegion.size)),
        }
      : null,
    hostOverrides,
    layout,
    blobRefs,
  };
}

/** The policy's view of a plan. */
export function installFacts(plan: InstallPlan): InstallFacts {
  return {
    progs: plan.progs.map((p) => ({
      name: p.name,
      type: p.type,
      attachType: p.expected_attach_type,
      helpers: p.helpers,
      kfuncs: p.kfuncs,
    })),
    maps: plan.maps.map((m) => ({ name: m.name, type: m.type, maxEntries: m.max_entries })),
    hostOverrides: plan.hostOverrides.overridable,
  };
}
