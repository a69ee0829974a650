/**
 * A recorded bpf_gen__* call sequence and its replay through BpfGen, shared by the vector
 * decoder (gen_loader_blob.ts) and the trace reader (gen_loader_trace.ts).
 */

import { BpfGen } from "../../src/gen/gen_loader.js";
import type { CoreRelo, MapCreateAttr, ProgLoadAttr } from "../../src/object/load_ops.js";

export type GenCall =
  | { op: "init"; nrProgs: number; nrMaps: number }
  | { op: "loadBtf"; raw: Uint8Array }
  | {
      op: "mapCreate";
      mapType: number;
      name: string;
      keySize: number;
      valueSize: number;
      maxEntries: number;
      attr: MapCreateAttr;
      mapIdx: number;
    }
  | { op: "mapUpdateElem"; mapIdx: number; value: Uint8Array }
  | { op: "mapFreeze"; mapIdx: number }
  | { op: "populateOuterMap"; outerMapIdx: number; slot: number; innerMapIdx: number }
  | { op: "recordAttachTarget"; name: string; attachType: number }
  | {
      op: "recordExtern";
      name: string;
      isWeak: boolean;
      isTypeless: boolean;
      isLd64: boolean;
      kind: number;
      insnIdx: number;
    }
  | { op: "recordReloCore"; relo: CoreRelo }
  | {
      op: "progLoad";
      progType: number;
      name: string;
      license: string;
      insns: Uint8Array;
      attr: ProgLoadAttr;
      progIdx: number;
    }
  | { op: "finish"; nrProgs: number; nrMaps: number };

/** Apply one call to a generator. */
export function applyCall(gen: BpfGen, c: GenCall): void {
  switch (c.op) {
    case "init":
      gen.init(c.nrProgs, c.nrMaps);
      return;
    case "loadBtf":
      gen.loadBtf(c.raw);
      return;
    case "mapCreate":
      gen.mapCreate(c.mapType, c.name, c.keySize, c.valueSize, c.maxEntries, c.attr, c.mapIdx);
      return;
    case "mapUpdateElem":
      gen.mapUpdateElem(c.mapIdx, c.value);
      return;
    case "mapFreeze":
      gen.mapFreeze(c.mapIdx);
      return;
    case "populateOuterMap":
      gen.populateOuterMap(c.outerMapIdx, c.slot, c.innerMapIdx);
      return;
    case "recordAttachTarget":
      gen.recordAttachTarget(c.name, c.attachType);
      return;
    case "recordExtern":
      gen.recordExtern(c.name, c.isWeak, c.isTypeless, c.isLd64, c.kind, c.insnIdx);
      return;
    case "recordReloCore":
      gen.recordReloCore(c.relo);
      return;
    case "progLoad":
      gen.progLoad(c.progType, c.name, c.license, c.insns, c.attr, c.progIdx);
      return;
    case "finish":
      gen.finish(c.nrProgs, c.nrMaps);
      return;
  }
}

/** Run a whole sequence (ending in finish) and return the published loader. */
export function replay(
  calls: readonly GenCall[],
  opts: { genHash: boolean; swappedEndian?: boolean; logLevel?: number },
): { insns: Uint8Array; data: Uint8Array; gen: BpfGen } {
  const gen = new BpfGen(opts);
  for (const c of calls) applyCall(gen, c);
  return { insns: gen.insns, data: gen.data, gen };
}

export function mapAttr(over: Partial<MapCreateAttr> = {}): MapCreateAttr {
  return {
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    btfVmlinuxValueTypeId: 0,
    mapFlags: 0,
    mapExtra: 0n,
    numaNode: 0,
    mapIfindex: 0,
    ...over,
  };
}

export function progAttr(over: Partial<ProgLoadAttr> = {}): ProgLoadAttr {
  return {
    expectedAttachType: 0,
    progFlags: 0,
    progIfindex: 0,
    kernVersion: 0,
    attachBtfId: 0,
    attachBtfObjFd: 0,
    funcInfo: null,
    funcInfoCnt: 0,
    funcInfoRecSize: 0,
    lineInfo: null,
    lineInfoCnt: 0,
    lineInfoRecSize: 0,
    ...over,
  };
}

/** First differing byte, for assertion messages. */
export function firstDiff(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `byte ${i} (slot ${i >> 3}): got ${a[i]}, want ${b[i]}`;
  }
  return a.length === b.length ? "equal" : `lengths ${a.length} vs ${b.length}`;
}

// ---- the text form the C harness (test/fixtures/gen_loader/harness) reads -----------------

export interface GenOpts {
  genHash: boolean;
  swappedEndian?: boolean;
  logLevel?: number;
}

const hexOf = (b: Uint8Array | string): string => {
  const bytes = typeof b === "string" ? new TextEncoder().encode(b) : b;
  return bytes.length ? Buffer.from(bytes).toString("hex") : "-";
};
const bytesOf = (s: string): Uint8Array =>
  s === "-" ? new Uint8Array(0) : new Uint8Array(Buffer.from(s, "hex"));
const strOf = (s: string): string => new TextDecoder().decode(bytesOf(s));
const b01 = (b: boolean) => (b ? 1 : 0);

/** One line per call; `init` carries the log level (libbpf's bpf_gen__init argument). */
export function formatCalls(calls: readonly GenCall[], opts: GenOpts): string {
  const lines = [`opts ${b01(opts.genHash)} ${b01(opts.swappedEndian ?? false)}`];
  for (const c of calls) {
    switch (c.op) {
      case "init":
        lines.push(`init ${opts.logLevel ?? 0} ${c.nrProgs} ${c.nrMaps}`);
        break;
      case "loadBtf":
        lines.push(`btf ${hexOf(c.raw)}`);
        break;
      case "mapCreate": {
        const a = c.attr;
        lines.push(
          `map ${c.mapType} ${hexOf(c.name)} ${c.keySize} ${c.valueSize} ${c.maxEntries} ` +
            `${a.btfKeyTypeId} ${a.btfValueTypeId} ${a.btfVmlinuxValueTypeId} ${a.mapFlags} ` +
            `${a.mapExtra} ${a.numaNode} ${a.mapIfindex} ${c.mapIdx}`,
        );
        break;
      }
      case "mapUpdateElem":
        lines.push(`update ${c.mapIdx} ${hexOf(c.value)}`);
        break;
      case "mapFreeze":
        lines.push(`freeze ${c.mapIdx}`);
        break;
      case "populateOuterMap":
        lines.push(`outer ${c.outerMapIdx} ${c.slot} ${c.innerMapIdx}`);
        break;
      case "recordAttachTarget":
        lines.push(`attach ${hexOf(c.name)} ${c.attachType}`);
        break;
      case "recordExtern":
        lines.push(
          `extern ${hexOf(c.name)} ${b01(c.isWeak)} ${b01(c.isTypeless)} ${b01(c.isLd64)} ` +
            `${c.kind} ${c.insnIdx}`,
        );
        break;
      case "recordReloCore":
        lines.push(`core ${c.relo.insnOff} ${c.relo.typeId} ${c.relo.accessStrOff} ${c.relo.kind}`);
        break;
      case "progLoad": {
        const a = c.attr;
        lines.push(
          `prog ${c.progType} ${hexOf(c.name)} ${hexOf(c.license)} ${hexOf(c.insns)} ` +
            `${a.expectedAttachType} ${a.progFlags} ${a.progIfindex} ${a.kernVersion} ` +
            `${a.attachBtfId} ${a.funcInfoCnt} ${a.funcInfoRecSize} ${hexOf(a.funcInfo ?? new Uint8Array(0))} ` +
            `${a.lineInfoCnt} ${a.lineInfoRecSize} ${hexOf(a.lineInfo ?? new Uint8Array(0))} ${c.progIdx}`,
        );
        break;
      }
      case "finish":
        lines.push(`finish ${c.nrProgs} ${c.nrMaps}`);
        break;
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The inverse of formatCalls. */
export function parseCalls(text: string): { calls: GenCall[]; opts: GenOpts } {
  const opts: GenOpts = { genHash: false };
  const calls: GenCall[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [op, ...w] = line.trim().split(" ");
    const n = (i: number) => Number(w[i]);
    switch (op) {
      case "opts":
        opts.genHash = w[0] === "1";
        opts.swappedEndian = w[1] === "1";
        break;
      case "init":
        opts.logLevel = n(0);
        calls.push({ op: "init", nrProgs: n(1), nrMaps: n(2) });
        break;
      case "btf":
        calls.push({ op: "loadBtf", raw: bytesOf(w[0]) });
        break;
      case "map":
        calls.push({
          op: "mapCreate",
          mapType: n(0),
          name: strOf(w[1]),
          keySize: n(2),
          valueSize: n(3),
          maxEntries: n(4),
          attr: {
            btfKeyTypeId: n(5),
            btfValueTypeId: n(6),
            btfVmlinuxValueTypeId: n(7),
            mapFlags: n(8),
            mapExtra: BigInt(w[9]),
            numaNode: n(10),
            mapIfindex: n(11),
          },
          mapIdx: n(12),
        });
        break;
      case "update":
        calls.push({ op: "mapUpdateElem", mapIdx: n(0), value: bytesOf(w[1]) });
        break;
      case "freeze":
        calls.push({ op: "mapFreeze", mapIdx: n(0) });
        break;
      case "outer":
        calls.push({ op: "populateOuterMap", outerMapIdx: n(0), slot: n(1), innerMapIdx: n(2) });
        break;
      case "attach":
        calls.push({ op: "recordAttachTarget", name: strOf(w[0]), attachType: n(1) });
        break;
      case "extern":
        calls.push({
          op: "recordExtern",
          name: strOf(w[0]),
          isWeak: w[1] === "1",
          isTypeless: w[2] === "1",
          isLd64: w[3] === "1",
          kind: n(4),
          insnIdx: n(5),
        });
        break;
      case "core":
        calls.push({
          op: "recordReloCore",
          relo: { insnOff: n(0), typeId: n(1), accessStrOff: n(2), kind: n(3) },
        });
        break;
      case "prog":
        calls.push({
          op: "progLoad",
          progType: n(0),
          name: strOf(w[1]),
          license: strOf(w[2]),
          insns: bytesOf(w[3]),
          attr: {
            expectedAttachType: n(4),
            progFlags: n(5),
            progIfindex: n(6),
            kernVersion: n(7),
            attachBtfId: n(8),
            attachBtfObjFd: 0,
            funcInfoCnt: n(9),
            funcInfoRecSize: n(10),
            funcInfo: bytesOf(w[11]),
            lineInfoCnt: n(12),
            lineInfoRecSize: n(13),
            lineInfo: bytesOf(w[14]),
          },
          progIdx: n(15),
        });
        break;
      case "finish":
        calls.push({ op: "finish", nrProgs: n(0), nrMaps: n(1) });
        break;
      default:
        throw new Error(`unknown call '${op}' in: ${line}`);
    }
  }
  return { calls, opts };
}
