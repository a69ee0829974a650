/**
 * A recorded bpf_gen__* call sequence and its replay through BpfGen, shared by the vector
 * decoder (gen_loader_blob.ts) and the trace reader (gen_loader_trace.ts).
 */

import {
  BpfGen,
  type CoreRelo,
  type MapCreateAttr,
  type ProgLoadAttr,
} from "../../src/gen/gen_loader.js";

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
