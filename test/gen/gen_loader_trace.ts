/**
 * Reader for the reftool branch's gen-trace files (/work/ref/trace/FORMAT.md, v1): every
 * bpf_gen__* call real libbpf made while loading an object in gen mode, with the generator's
 * state (data bytes, insn bytes, gen->error) at the entry of each call.
 */

import type { GenCall } from "./gen_loader_calls.js";

export interface TraceLine {
  call: GenCall | null;
  fn: string;
  /** state at entry: data_off, insn_off, error (negative errno or 0) */
  dataOff: number;
  insnOff: number;
  error: number;
  keys: Record<string, string>;
}

export interface Trace {
  object: string;
  name: string;
  genHash: boolean;
  lines: TraceLine[];
  /** the final `result` line */
  result: { err: number; insnsSz: number; dataSz: number };
}

function unpercent(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "%" && /^[0-9A-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(s.charCodeAt(i));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

const hex = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? "", "hex"));

export class TraceFormatError extends Error {
  readonly code = "TEST_TRACE_FORMAT";
}

export function parseTrace(text: string, file: string): Trace {
  const rows = text.split("\n").filter((l) => l.length > 0);
  const head = /^# gen-trace v1 object=(\S+) name=(\S+) gen_hash=([01])$/.exec(rows[0] ?? "");
  if (!head) throw new TraceFormatError(`${file}:1: not a gen-trace v1 header`);
  const trace: Trace = {
    object: head[1],
    name: head[2],
    genHash: head[3] === "1",
    lines: [],
    result: { err: 0, insnsSz: 0, dataSz: 0 },
  };
  rows.slice(1).forEach((row, i) => {
    const [fn, ...tokens] = row.split(" ");
    // the first three tokens are the entry state; record_relo_core repeats `insn_off` after
    // them for the relocation itself, so the state is taken by position
    const state: Record<string, string> = {};
    const k: Record<string, string> = {};
    tokens.forEach((t, j) => {
      const eq = t.indexOf("=");
      if (j < 3 && fn !== "result" && fn !== "open_failed") state[t.slice(0, eq)] = t.slice(eq + 1);
      else k[t.slice(0, eq)] = t.slice(eq + 1);
    });
    const n = (key: string): number => {
      if (!(key in k)) throw new TraceFormatError(`${file}:${i + 2}: ${fn} has no ${key}`);
      return Number(k[key]);
    };
    if (fn === "result" || fn === "open_failed") {
      trace.result = {
        err: n("err"),
        insnsSz: Number(k.insns_sz ?? 0),
        dataSz: Number(k.data_sz ?? 0),
      };
      return;
    }
    let call: GenCall | null = null;
    switch (fn) {
      case "init":
        call = { op: "init", nrProgs: n("nr_progs"), nrMaps: n("nr_maps") };
        break;
      case "load_btf":
        call = { op: "loadBtf", raw: hex(k.raw) };
        if (call.raw.length !== n("size")) throw new TraceFormatError(`${file}:${i + 2}: size`);
        break;
      case "map_create":
        call = {
          op: "mapCreate",
          mapType: n("map_type"),
          name: unpercent(k.name ?? ""),
          keySize: n("key_size"),
          valueSize: n("value_size"),
          maxEntries: n("max_entries"),
          attr: {
            btfKeyTypeId: n("btf_key_type_id"),
            btfValueTypeId: n("btf_value_type_id"),
            btfVmlinuxValueTypeId: n("btf_vmlinux_value_type_id"),
            mapFlags: n("map_flags"),
            mapExtra: BigInt(k.map_extra ?? "0"),
            numaNode: n("numa_node"),
            mapIfindex: n("map_ifindex"),
          },
          mapIdx: n("map_idx"),
        };
        break;
      case "map_update_elem":
        call = { op: "mapUpdateElem", mapIdx: n("map_idx"), value: hex(k.value) };
        break;
      case "map_freeze":
        call = { op: "mapFreeze", mapIdx: n("map_idx") };
        break;
      case "populate_outer_map":
        call = {
          op: "populateOuterMap",
          outerMapIdx: n("outer_map_idx"),
          slot: n("slot"),
          innerMapIdx: n("inner_map_idx"),
        };
        break;
      case "record_attach_target":
        call = {
          op: "recordAttachTarget",
          name: unpercent(k.name ?? ""),
          attachType: n("attach_type"),
        };
        break;
      case "record_extern":
        call = {
          op: "recordExtern",
          name: unpercent(k.name ?? ""),
          isWeak: n("is_weak") !== 0,
          isTypeless: n("is_typeless") !== 0,
          isLd64: n("is_ld64") !== 0,
          kind: n("kind"),
          insnIdx: n("insn_idx"),
        };
        break;
      case "record_relo_core":
        call = {
          op: "recordReloCore",
          relo: {
            insnOff: n("insn_off"),
            typeId: n("type_id"),
            accessStrOff: n("access_str_off"),
            kind: n("kind"),
          },
        };
        break;
      case "prog_load":
        call = {
          op: "progLoad",
          progType: n("prog_type"),
          name: unpercent(k.name ?? ""),
          license: unpercent(k.license ?? ""),
          insns: hex(k.insns),
          attr: {
            expectedAttachType: n("expected_attach_type"),
            progFlags: n("prog_flags"),
            progIfindex: n("prog_ifindex"),
            kernVersion: n("kern_version"),
            attachBtfId: n("attach_btf_id"),
            attachBtfObjFd: n("attach_btf_obj_fd"),
            funcInfo: hex(k.func_info),
            funcInfoCnt: n("func_info_cnt"),
            funcInfoRecSize: n("func_info_rec_size"),
            lineInfo: hex(k.line_info),
            lineInfoCnt: n("line_info_cnt"),
            lineInfoRecSize: n("line_info_rec_size"),
          },
          progIdx: n("prog_idx"),
        };
        if (call.insns.length !== 8 * n("insn_cnt")) {
          throw new TraceFormatError(`${file}:${i + 2}: insn_cnt`);
        }
        break;
      case "finish":
        call = { op: "finish", nrProgs: n("nr_progs"), nrMaps: n("nr_maps") };
        break;
      case "finish_ret":
        break;
      default:
        throw new TraceFormatError(`${file}:${i + 2}: unknown call ${fn}`);
    }
    trace.lines.push({
      call,
      fn,
      dataOff: Number(state.data_off ?? 0),
      insnOff: Number(state.insn_off ?? 0),
      error: Number(state.error ?? 0),
      keys: k,
    });
  });
  return trace;
}
