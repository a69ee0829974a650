/**
 * Test support: an ObjectLoadOps that records every call in the line format of the libbpf
 * gen-trace files (test/fixtures/object/*.trace.txt, grammar in their README), and a reader of
 * those files that keeps, per call, the keys the object layer determines.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type {
  CoreRelo,
  MapCreateAttr,
  ObjectLoadOps,
  ProgLoadAttr,
} from "../../src/object/load_ops.js";
import type { OpenOptions } from "../../src/object/types.js";
import { REPO_ROOT } from "../support/vectors.js";

/**
 * Where a fixture lives: this layer's own objects and traces in test/fixtures/object, the corpus
 * (objects, traces, host facts) in test/fixtures/gen and gen/trace, the vector objects in
 * test/fixtures/vectors/obj.
 */
const FIXTURE_DIRS = [
  "test/fixtures/object",
  "test/fixtures/gen",
  "test/fixtures/gen/trace",
  "test/fixtures/vectors/obj",
].map((d) => join(REPO_ROOT, d));

/** Reads fixture `name` from the first directory that has it. */
export function readFixture(name: string): Buffer {
  for (const dir of FIXTURE_DIRS) {
    const p = join(dir, name);
    if (existsSync(p)) return readFileSync(p);
  }
  throw new Error(`fixture ${name} not found in ${FIXTURE_DIRS.join(", ")}`);
}

const read = readFixture;

/** The keys compared per call (the generator-internal ones are left out). */
export const COMPARED_KEYS: Record<string, string[]> = {
  init: ["nr_progs", "nr_maps"],
  load_btf: ["size", "raw"],
  map_create: [
    "map_idx",
    "map_type",
    "name",
    "key_size",
    "value_size",
    "max_entries",
    "btf_key_type_id",
    "btf_value_type_id",
    "btf_vmlinux_value_type_id",
    "map_flags",
    "map_extra",
    "numa_node",
    "map_ifindex",
  ],
  map_update_elem: ["map_idx", "value_size", "value"],
  map_freeze: ["map_idx"],
  populate_outer_map: ["outer_map_idx", "slot", "inner_map_idx"],
  record_attach_target: ["name", "attach_type"],
  record_extern: ["name", "is_weak", "is_typeless", "is_ld64", "kind", "insn_idx"],
  record_relo_core: ["insn_off", "type_id", "access_str_off", "kind"],
  prog_load: [
    "prog_idx",
    "prog_type",
    "name",
    "license",
    "insn_cnt",
    "expected_attach_type",
    "prog_flags",
    "prog_ifindex",
    "kern_version",
    "attach_btf_id",
    "attach_btf_obj_fd",
    "func_info_cnt",
    "func_info_rec_size",
    "line_info_cnt",
    "line_info_rec_size",
    "insns",
    "func_info",
    "line_info",
  ],
  finish: ["nr_progs", "nr_maps"],
};

/** One call: its function name and compared key/value pairs, in COMPARED_KEYS order. */
export interface TraceCall {
  fn: string;
  kv: Map<string, string>;
}

function hex(b: Uint8Array | null): string {
  return b ? Buffer.from(b).toString("hex") : "";
}

/** The trace files' string escaping. */
export function escapeStr(s: string): string {
  let out = "";
  for (const ch of Buffer.from(s, "utf8")) {
    if (ch > 0x20 && ch < 0x7f && ch !== 0x25 && ch !== 0x3d) out += String.fromCharCode(ch);
    else out += `%${ch.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function call(fn: string, values: Record<string, string | number | bigint | boolean>): TraceCall {
  const kv = new Map<string, string>();
  for (const k of COMPARED_KEYS[fn]) {
    const v = values[k];
    if (v === undefined) throw new Error(`recorder: ${fn} lacks ${k}`);
    kv.set(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  return { fn, kv };
}

/** Records calls as trace lines. */
export class RecordingOps implements ObjectLoadOps {
  readonly calls: TraceCall[] = [];
  init(nrProgs: number, nrMaps: number): void {
    this.calls.push(call("init", { nr_progs: nrProgs, nr_maps: nrMaps }));
  }
  loadBtf(raw: Uint8Array): void {
    this.calls.push(call("load_btf", { size: raw.length, raw: hex(raw) }));
  }
  mapCreate(
    mapType: number,
    name: string,
    keySize: number,
    valueSize: number,
    maxEntries: number,
    attr: MapCreateAttr,
    mapIdx: number,
  ): void {
    this.calls.push(
      call("map_create", {
        map_idx: mapIdx,
        map_type: mapType,
        name: escapeStr(name),
        key_size: keySize,
        value_size: valueSize,
        max_entries: maxEntries,
        btf_key_type_id: attr.btfKeyTypeId,
        btf_value_type_id: attr.btfValueTypeId,
        btf_vmlinux_value_type_id: attr.btfVmlinuxValueTypeId,
        map_flags: attr.mapFlags,
        map_extra: attr.mapExtra,
        numa_node: attr.numaNode,
        map_ifindex: attr.mapIfindex,
      }),
    );
  }
  mapUpdateElem(mapIdx: number, value: Uint8Array): void {
    this.calls.push(
      call("map_update_elem", { map_idx: mapIdx, value_size: value.length, value: hex(value) }),
    );
  }
  mapFreeze(mapIdx: number): void {
    this.calls.push(call("map_freeze", { map_idx: mapIdx }));
  }
  populateOuterMap(outerMapIdx: number, slot: number, innerMapIdx: number): void {
    this.calls.push(
      call("populate_outer_map", { outer_map_idx: outerMapIdx, slot, inner_map_idx: innerMapIdx }),
    );
  }
  recordAttachTarget(name: string, attachType: number): void {
    this.calls.push(
      call("record_attach_target", { name: escapeStr(name), attach_type: attachType }),
    );
  }
  recordExtern(
    name: string,
    isWeak: boolean,
    isTypeless: boolean,
    isLd64: boolean,
    kind: number,
    insnIdx: number,
  ): void {
    this.calls.push(
      call("record_extern", {
        name: escapeStr(name),
        is_weak: isWeak,
        is_typeless: isTypeless,
        is_ld64: isLd64,
        kind,
        insn_idx: insnIdx,
      }),
    );
  }
  recordReloCore(relo: CoreRelo): void {
    this.calls.push(
      call("record_relo_core", {
        insn_off: relo.insnOff,
        type_id: relo.typeId,
        access_str_off: relo.accessStrOff,
        kind: relo.kind,
      }),
    );
  }
  progLoad(
    progType: number,
    name: string,
    license: string,
    insns: Uint8Array,
    attr: ProgLoadAttr,
    progIdx: number,
  ): void {
    this.calls.push(
      call("prog_load", {
        prog_idx: progIdx,
        prog_type: progType,
        name: escapeStr(name),
        license: escapeStr(license),
        insn_cnt: insns.length / 8,
        expected_attach_type: attr.expectedAttachType,
        prog_flags: attr.progFlags,
        prog_ifindex: attr.progIfindex,
        kern_version: attr.kernVersion,
        attach_btf_id: attr.attachBtfId,
        attach_btf_obj_fd: attr.attachBtfObjFd,
        func_info_cnt: attr.funcInfoCnt,
        func_info_rec_size: attr.funcInfoRecSize,
        line_info_cnt: attr.lineInfoCnt,
        line_info_rec_size: attr.lineInfoRecSize,
        insns: hex(insns),
        func_info: hex(attr.funcInfo),
        line_info: hex(attr.lineInfo),
      }),
    );
  }
  finish(nrProgs: number, nrMaps: number): void {
    this.calls.push(call("finish", { nr_progs: nrProgs, nr_maps: nrMaps }));
  }
}

/** A parsed trace file: the calls and the final `result err=` (or `open_failed err=`). */
export interface Trace {
  calls: TraceCall[];
  err: number;
  openFailed: boolean;
}

/** Reads a gen-trace file, keeping the compared keys of each call. */
export function parseTrace(text: string): Trace {
  const calls: TraceCall[] = [];
  let err = 0;
  let openFailed = false;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const [fn, ...tokens] = line.split(" ");
    const all = new Map<string, string>();
    for (const t of tokens) {
      const eq = t.indexOf("=");
      all.set(t.slice(0, eq), t.slice(eq + 1));
    }
    if (fn === "result" || fn === "open_failed") {
      err = Number(all.get("err"));
      openFailed = fn === "open_failed";
      continue;
    }
    const keys = COMPARED_KEYS[fn];
    if (!keys) continue; // finish_ret and other generator-only lines
    const kv = new Map<string, string>();
    for (const k of keys) kv.set(k, all.get(k) ?? "<missing>");
    calls.push({ fn, kv });
  }
  return { calls, err, openFailed };
}

function short(v: string): string {
  return v.length > 80 ? `${v.slice(0, 80)}…(${v.length} chars)` : v;
}

/** The first difference between two call lists, described; null when equal. */
export function firstDifference(got: TraceCall[], want: TraceCall[]): string | null {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const g = got[i];
    const w = want[i];
    if (!g) return `call #${i}: missing, libbpf calls ${w.fn}`;
    if (!w) return `call #${i}: extra ${g.fn}, libbpf made no more calls`;
    if (g.fn !== w.fn) return `call #${i}: ${g.fn}, libbpf calls ${w.fn}`;
    for (const [k, wv] of w.kv) {
      const gv = g.kv.get(k) ?? "<missing>";
      if (gv !== wv) {
        let at = 0;
        while (at < gv.length && gv[at] === wv[at]) at++;
        return `call #${i} ${g.fn} ${k}: got ${short(gv)}, libbpf ${short(wv)} (first differing char ${at})`;
      }
    }
  }
  return null;
}

/** The generating machine's facts the traces were recorded with. */
export function hostOptions(): OpenOptions {
  const host = JSON.parse(read("host.json").toString("utf8")) as {
    linuxKernelVersion: number;
    pageSize: number;
    possibleCpus: number;
    kconfig: Record<string, string>;
  };
  return {
    pageSize: host.pageSize,
    nrCpus: host.possibleCpus,
    kernelVersion: host.linuxKernelVersion,
    kconfig: Object.entries(host.kconfig)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
    kallsyms: read("kallsyms").toString("utf8"),
  };
}
