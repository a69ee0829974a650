/**
 * Hand-made call sequences for the edge cases: the failures libbpf latches and the kfunc
 * fd_array slots past 256. Each comes with what libbpf's bpf_gen__finish returns for it
 * (checked against the harness when it is available, and committed in the corpus).
 */

import type { GenCall } from "./gen_loader_calls.js";
import { mapAttr, progAttr } from "./gen_loader_calls.js";

const BTF_KIND_FUNC = 12;
const BPF_LSM_MAC = 27;

function map(idx: number, name = `m${idx}`): GenCall {
  return {
    op: "mapCreate",
    mapType: 2,
    name,
    keySize: 4,
    valueSize: 8,
    maxEntries: 4,
    attr: mapAttr(),
    mapIdx: idx,
  };
}

function prog(progIdx: number, insnCnt = 4): GenCall {
  return {
    op: "progLoad",
    progType: 26,
    name: `p${progIdx}`,
    license: "GPL",
    insns: new Uint8Array(insnCnt * 8).fill(0x95),
    attr: progAttr(),
    progIdx,
  };
}

function kfunc(name: string, insnIdx: number, isWeak = false): GenCall {
  return {
    op: "recordExtern",
    name,
    isWeak,
    isTypeless: false,
    isLd64: false,
    kind: BTF_KIND_FUNC,
    insnIdx,
  };
}

export interface EdgeCase {
  name: string;
  calls: GenCall[];
  /** bpf_gen__init's log_level (0 unless the case is about the debug output) */
  logLevel?: number;
  /** null: finish publishes; else the code of the first failure and finish's errno */
  expect: null | { code: string; errno: number; finishErrno: number };
}

export function edgeCases(): EdgeCase[] {
  const cases: EdgeCase[] = [];

  const sixtyFive = Array.from({ length: 65 }, (_, i) => map(i));
  cases.push({
    name: "65 maps: Total maps exceeds 64, then finish's count mismatch",
    calls: [
      { op: "init", nrProgs: 0, nrMaps: 65 },
      ...sixtyFive,
      { op: "finish", nrProgs: 0, nrMaps: 65 },
    ],
    expect: { code: "GEN_TOO_MANY_MAPS", errno: 7, finishErrno: 14 },
  });
  cases.push({
    name: "64 maps are fine",
    calls: [
      { op: "init", nrProgs: 0, nrMaps: 64 },
      ...sixtyFive.slice(0, 64),
      { op: "finish", nrProgs: 0, nrMaps: 64 },
    ],
    expect: null,
  });
  cases.push({
    name: "finish with more maps than were created",
    calls: [{ op: "init", nrProgs: 0, nrMaps: 2 }, map(0), { op: "finish", nrProgs: 0, nrMaps: 2 }],
    expect: { code: "GEN_COUNT_MISMATCH", errno: 14, finishErrno: 14 },
  });
  cases.push({
    name: "finish with fewer programs than were loaded",
    calls: [
      { op: "init", nrProgs: 2, nrMaps: 0 },
      prog(0),
      prog(1),
      { op: "finish", nrProgs: 1, nrMaps: 0 },
    ],
    expect: { code: "GEN_COUNT_MISMATCH", errno: 14, finishErrno: 14 },
  });
  cases.push({
    name: "finish with more programs than were loaded (allowed: subprograms are never loaded)",
    calls: [
      { op: "init", nrProgs: 3, nrMaps: 0 },
      prog(0),
      { op: "finish", nrProgs: 3, nrMaps: 0 },
    ],
    expect: null,
  });
  cases.push({
    name: "map_idx out of order (a skipped map), finish counts the maps libbpf has",
    calls: [
      { op: "init", nrProgs: 0, nrMaps: 2 },
      map(0),
      map(2),
      { op: "finish", nrProgs: 0, nrMaps: 2 },
    ],
    expect: { code: "GEN_MAP_IDX_ORDER", errno: 33, finishErrno: 14 },
  });
  cases.push({
    name: "map_idx out of order with matching counts: finish returns EDOM",
    calls: [
      { op: "init", nrProgs: 0, nrMaps: 1 },
      map(1),
      map(0),
      { op: "finish", nrProgs: 0, nrMaps: 1 },
    ],
    expect: { code: "GEN_MAP_IDX_ORDER", errno: 33, finishErrno: 33 },
  });
  const updates: GenCall[] = Array.from({ length: 1600 }, () => ({
    op: "mapUpdateElem" as const,
    mapIdx: 0,
    value: new Uint8Array(8),
  }));
  cases.push({
    name: "a cleanup branch beyond 32767 instructions",
    calls: [
      { op: "init", nrProgs: 0, nrMaps: 1 },
      map(0),
      ...updates,
      { op: "finish", nrProgs: 0, nrMaps: 1 },
    ],
    expect: { code: "GEN_JUMP_OUT_OF_RANGE", errno: 34, finishErrno: 34 },
  });
  for (const [len, ok] of [
    [119, true],
    [120, false],
  ] as const) {
    cases.push({
      name: `attach target bpf_lsm_ + ${len} bytes${ok ? " fits" : ": ENOSPC"}`,
      calls: [
        { op: "init", nrProgs: 1, nrMaps: 0 },
        { op: "recordAttachTarget", name: "x".repeat(len), attachType: BPF_LSM_MAC },
        prog(0),
        { op: "finish", nrProgs: 1, nrMaps: 0 },
      ],
      expect: ok ? null : { code: "GEN_ATTACH_NAME_TOO_LONG", errno: 28, finishErrno: 28 },
    });
  }
  const kfuncs = (n: number) =>
    Array.from({ length: n }, (_, i) => kfunc(`kf${i}`, i % 8, i % 3 === 0));
  cases.push({
    name: "300 kfuncs: fd_array slots 64..319, then blob words past the data",
    calls: [
      { op: "init", nrProgs: 2, nrMaps: 0 },
      ...kfuncs(300),
      kfunc("kf5", 3),
      prog(0, 8),
      ...kfuncs(2),
      prog(1, 8),
      { op: "finish", nrProgs: 2, nrMaps: 0 },
    ],
    expect: null,
  });
  cases.push({
    name: "a kfunc slot index past INT16_MAX",
    calls: [
      { op: "init", nrProgs: 1, nrMaps: 0 },
      { op: "loadBtf", raw: new Uint8Array(140_000).fill(1) },
      ...kfuncs(257),
      prog(0, 8),
      { op: "finish", nrProgs: 1, nrMaps: 0 },
    ],
    expect: { code: "GEN_KFUNC_FD_INDEX", errno: 7, finishErrno: 7 },
  });
  for (const len of [1005, 1011, 1030]) {
    cases.push({
      name: `log_level 1 with a ${len}-byte kfunc name (debug text near libbpf's 1024-byte buffer)`,
      logLevel: 1,
      calls: [
        { op: "init", nrProgs: 1, nrMaps: 0 },
        kfunc("k".repeat(len), 1),
        kfunc("k".repeat(len), 2),
        prog(0),
        { op: "finish", nrProgs: 1, nrMaps: 0 },
      ],
      expect: null,
    });
  }
  return cases;
}
