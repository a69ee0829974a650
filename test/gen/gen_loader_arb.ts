/**
 * fast-check arbitraries for whole bpf_gen__* call sequences, in the shapes libbpf's object
 * load makes them: maps (plain, internal with update/freeze, map-in-map with an inner map and
 * outer slots), then programs with attach targets, ksym/kfunc externs (duplicates, weak,
 * typeless), CO-RE relocations and func/line info, then finish.
 */

import fc from "fast-check";
import type { GenCall, GenOpts } from "./gen_loader_calls.js";
import { mapAttr, progAttr } from "./gen_loader_calls.js";

const ARRAY = 2;
const ARRAY_OF_MAPS = 12;
const HASH_OF_MAPS = 13;
const BTF_KIND_FUNC = 12;
const BTF_KIND_VAR = 14;

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const ident = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/);

const mapSpec = fc.record({
  kind: fc.constantFrom("plain", "internal", "rodata", "outer"),
  mapType: fc.constantFrom(1, 2, 5, 6, 9, 27),
  name: ident,
  keySize: fc.constantFrom(4, 8, 16),
  valueSize: fc.integer({ min: 1, max: 64 }),
  maxEntries: fc.integer({ min: 1, max: 1 << 20 }),
  btfKey: fc.integer({ min: 0, max: 40 }),
  btfValue: fc.integer({ min: 0, max: 40 }),
  flags: fc.constantFrom(0, 1, 0x400, 0x80),
  extra: fc.constantFrom(0n, 5n, 0x1_0000_0001n),
  numa: fc.constantFrom(0, 1),
  slots: fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 2 }),
});

const externSpec = fc.record({
  name: fc.constantFrom("bpf_rcu_read_lock", "bpf_task_acquire", "jiffies", "init_task", "k1"),
  isWeak: fc.boolean(),
  isTypeless: fc.boolean(),
  isLd64: fc.boolean(),
  kind: fc.constantFrom(BTF_KIND_FUNC, BTF_KIND_VAR),
  insnIdx: fc.integer({ min: 0, max: 30 }),
});

const progSpec = fc.record({
  progType: fc.constantFrom(1, 2, 5, 26, 29, 31),
  name: ident,
  license: fc.constantFrom("GPL", "Dual BSD/GPL", "MIT"),
  insnCnt: fc.integer({ min: 1, max: 32 }),
  insnSeed: bytes(8, 8),
  attach: fc.option(
    fc.record({ name: ident, attachType: fc.constantFrom(0, 23, 24, 26, 27, 28, 43) }),
    { nil: undefined },
  ),
  externs: fc.array(externSpec, { maxLength: 6 }),
  core: fc.array(
    fc.record({
      insnOff: fc.integer({ min: 0, max: 255 }).map((i) => i * 8),
      typeId: fc.integer({ min: 1, max: 100 }),
      accessStrOff: fc.integer({ min: 0, max: 500 }),
      kind: fc.integer({ min: 0, max: 13 }),
    }),
    { maxLength: 3 },
  ),
  funcInfoCnt: fc.integer({ min: 0, max: 3 }),
  lineInfoCnt: fc.integer({ min: 0, max: 4 }),
  expectedAttachType: fc.integer({ min: 0, max: 50 }),
  progFlags: fc.constantFrom(0, 16),
  attachBtfId: fc.integer({ min: 0, max: 3 }),
});

/** Instruction bytes from a seed (content is opaque to the generator; only bswap touches it). */
function insnBytes(cnt: number, seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(cnt * 8);
  for (let i = 0; i < out.length; i++) out[i] = (seed[i % 8] * (i + 1) + i) & 0xff;
  return out;
}

function words(n: number, base: number): Uint8Array {
  const out = new Uint8Array(n * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(i * 4, (base + i * 0x01020304) >>> 0, true);
  return out;
}

/** A well-formed call sequence (counts agree at finish). */
export const callSequence: fc.Arbitrary<{ calls: GenCall[]; opts: GenOpts }> = fc
  .record({
    genHash: fc.boolean(),
    swappedEndian: fc.boolean(),
    logLevel: fc.constantFrom(0, 0, 0, 1),
    btf: fc.option(bytes(24, 120), { nil: undefined }),
    maps: fc.array(mapSpec, { maxLength: 5 }),
    progs: fc.array(progSpec, { maxLength: 3 }),
    extraProgs: fc.integer({ min: 0, max: 2 }),
  })
  .map((s) => {
    const calls: GenCall[] = [];
    const nrMaps = s.maps.length;
    const nrProgs = s.progs.length + s.extraProgs;
    calls.push({ op: "init", nrProgs, nrMaps });
    if (s.btf) calls.push({ op: "loadBtf", raw: s.btf });
    s.maps.forEach((m, idx) => {
      const attr = mapAttr({
        btfKeyTypeId: m.btfKey,
        btfValueTypeId: m.btfValue,
        mapFlags: m.flags,
        mapExtra: m.extra,
        numaNode: m.numa,
      });
      if (m.kind === "outer") {
        calls.push({
          op: "mapCreate",
          mapType: ARRAY,
          name: `${m.name}.inner`,
          keySize: 4,
          valueSize: m.valueSize,
          maxEntries: 1,
          attr: mapAttr({ btfValueTypeId: m.btfValue }),
          mapIdx: -1,
        });
      }
      const mapType =
        m.kind === "outer" ? (m.keySize === 4 ? ARRAY_OF_MAPS : HASH_OF_MAPS) : m.mapType;
      calls.push({
        op: "mapCreate",
        mapType,
        name: m.kind === "plain" || m.kind === "outer" ? m.name : `${m.name.slice(0, 6)}.data`,
        keySize: m.keySize,
        valueSize: m.kind === "outer" ? 4 : m.valueSize,
        maxEntries: m.maxEntries,
        attr,
        mapIdx: idx,
      });
      if (m.kind === "internal" || m.kind === "rodata") {
        const value = new Uint8Array(m.valueSize).map((_, i) => (i * 7 + idx) & 0xff);
        calls.push({ op: "mapUpdateElem", mapIdx: idx, value });
        if (m.kind === "rodata") calls.push({ op: "mapFreeze", mapIdx: idx });
      }
      if (m.kind === "outer") {
        for (const slot of m.slots) {
          calls.push({
            op: "populateOuterMap",
            outerMapIdx: idx,
            slot,
            innerMapIdx: slot % nrMaps,
          });
        }
      }
    });
    s.progs.forEach((p, progIdx) => {
      if (p.attach) calls.push({ op: "recordAttachTarget", ...p.attach });
      for (const e of p.externs) {
        calls.push({ op: "recordExtern", ...e, insnIdx: e.insnIdx % p.insnCnt });
      }
      for (const relo of p.core) calls.push({ op: "recordReloCore", relo });
      calls.push({
        op: "progLoad",
        progType: p.progType,
        name: p.name,
        license: p.license,
        insns: insnBytes(p.insnCnt, p.insnSeed),
        attr: progAttr({
          expectedAttachType: p.expectedAttachType,
          progFlags: p.progFlags,
          attachBtfId: p.attachBtfId,
          funcInfo: words(p.funcInfoCnt * 2, 0x100 + progIdx),
          funcInfoCnt: p.funcInfoCnt,
          funcInfoRecSize: 8,
          lineInfo: words(p.lineInfoCnt * 4, 0x200 + progIdx),
          lineInfoCnt: p.lineInfoCnt,
          lineInfoRecSize: 16,
        }),
        progIdx,
      });
    });
    calls.push({ op: "finish", nrProgs, nrMaps });
    return {
      calls,
      opts: { genHash: s.genHash, swappedEndian: s.swappedEndian, logLevel: s.logLevel },
    };
  });
