/**
 * Reconstruct the bpf_gen__* call sequence behind a loader's data blob.
 *
 * The blob's records come in load order, each 8-aligned: the fd_array area (1280 zero bytes),
 * the raw BTF and its BTF_LOAD attr, per map its MAP_CREATE attr (internal maps: value, key,
 * UPDATE_ELEM attr, and for read-only ones a FREEZE attr), per program its license, insns,
 * func_info, line_info, core_relos and PROG_LOAD attr. The attrs carry the arguments.
 *
 * Covers what plain objects produce (no ksyms, kfuncs, attach targets or map-in-map slots:
 * those records are proven by the traces instead); anything else makes it throw.
 */

import { MapCreateAttr as MC, ProgLoadAttr as PL } from "../../src/uapi/layout.js";
import { type GenCall, mapAttr, progAttr } from "./gen_loader_calls.js";

export interface BlobLayout {
  btf: { off: number; size: number; attrOff: number };
  maps: {
    name: string;
    attrOff: number;
    valueOff?: number;
    keyOff?: number;
    updateAttrOff?: number;
    freezeAttrOff?: number;
  }[];
  progs: {
    name: string;
    licenseOff: number;
    insnsOff: number;
    insnCnt: number;
    funcInfoOff: number;
    lineInfoOff: number;
    coreRelosOff: number;
    attrOff: number;
  }[];
  end: number;
}

const FD_ARRAY_SZ = 320 * 4;
const BTF_MAGIC = 0xeb9f;
const BPF_F_RDONLY_PROG = 0x80;

const r8 = (n: number) => Math.ceil(n / 8) * 8;

function cstr(b: Uint8Array, off: number, max: number): string {
  let end = off;
  while (end < off + max && end < b.length && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(off, end));
}

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** Target-order instructions back to host order (bpf_insn_bswap is its own inverse). */
function hostInsns(b: Uint8Array, swapped: boolean): Uint8Array {
  if (!swapped) return b;
  for (let p = 0; p < b.length; p += 8) {
    b[p + 1] = ((b[p + 1] & 0x0f) << 4) | (b[p + 1] >> 4);
    b.subarray(p + 2, p + 4).reverse();
    b.subarray(p + 4, p + 8).reverse();
  }
  return b;
}

/** Undo libbpf's u32 swap of the first `bytes` bytes of an info array. */
function hostWords(b: Uint8Array, bytes: number, swapped: boolean): Uint8Array {
  if (!swapped) return b;
  for (let p = 0; p + 4 <= Math.min(bytes, b.length); p += 4) b.subarray(p, p + 4).reverse();
  return b;
}

export class BlobDecodeError extends Error {
  readonly code = "TEST_BLOB_DECODE";
}

/** Decode `data` into its records and the calls that made it. */
export function decodeBlob(
  data: Uint8Array,
  opts: { swapped?: boolean } = {},
): { calls: GenCall[]; layout: BlobLayout } {
  const le = !opts.swapped;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const u32 = (off: number) => dv.getUint32(off, le);
  const fail = (off: number, what: string): never => {
    throw new BlobDecodeError(`blob offset ${off}: ${what}`);
  };

  if (!isZero(data.subarray(0, FD_ARRAY_SZ))) fail(0, "fd_array area is not zero");
  let p = FD_ARRAY_SZ;

  // raw BTF: header says how long it is
  if (dv.getUint16(p, le) !== BTF_MAGIC) fail(p, "no BTF magic");
  const hdrLen = u32(p + 4);
  const btfSize = hdrLen + Math.max(u32(p + 8) + u32(p + 12), u32(p + 16) + u32(p + 20));
  const btfOff = p;
  const raw = data.slice(p, p + btfSize);
  p += r8(btfSize);
  const btfAttrOff = p;
  if (u32(p + 16) !== btfSize) fail(p, `BTF_LOAD attr btf_size ${u32(p + 16)} != ${btfSize}`);
  p += 32;

  const calls: GenCall[] = [{ op: "loadBtf", raw }];
  const layout: BlobLayout = {
    btf: { off: btfOff, size: btfSize, attrOff: btfAttrOff },
    maps: [],
    progs: [],
    end: 0,
  };

  // maps: a MAP_CREATE attr begins with a small map_type; a license begins with text
  let mapIdx = 0;
  while (p < data.length && u32(p) > 0 && u32(p) < 64) {
    const attrOff = p;
    const name = cstr(data, p + MC.map_name.off, 16);
    const valueSize = u32(p + MC.value_size.off);
    const mapFlags = u32(p + MC.map_flags.off);
    const inner = name.endsWith(".inner");
    calls.push({
      op: "mapCreate",
      mapType: u32(p + MC.map_type.off),
      name,
      keySize: u32(p + MC.key_size.off),
      valueSize,
      maxEntries: u32(p + MC.max_entries.off),
      attr: mapAttr({
        btfKeyTypeId: u32(p + MC.btf_key_type_id.off),
        btfValueTypeId: u32(p + MC.btf_value_type_id.off),
        mapFlags,
        mapExtra: dv.getBigUint64(p + MC.map_extra.off, le),
        numaNode: u32(p + MC.numa_node.off),
        mapIfindex: u32(p + MC.map_ifindex.off),
      }),
      mapIdx: inner ? -1 : mapIdx,
    });
    p += 72;
    const rec: BlobLayout["maps"][number] = { name, attrOff };
    layout.maps.push(rec);
    if (inner) continue;
    if (name.includes(".")) {
      rec.valueOff = p;
      calls.push({ op: "mapUpdateElem", mapIdx, value: data.slice(p, p + valueSize) });
      p += r8(valueSize);
      rec.keyOff = p;
      if (!isZero(data.subarray(p, p + 8))) fail(p, "map update key is not 0");
      p += 8;
      rec.updateAttrOff = p;
      if (!isZero(data.subarray(p, p + 32))) fail(p, "UPDATE_ELEM attr is not blank");
      p += 32;
      if (mapFlags & BPF_F_RDONLY_PROG) {
        rec.freezeAttrOff = p;
        if (!isZero(data.subarray(p, p + 8))) fail(p, "FREEZE attr is not blank");
        calls.push({ op: "mapFreeze", mapIdx });
        p += 8;
      }
    }
    mapIdx++;
  }

  // programs: license, then the insns/info records, then the attr that counts them
  let progIdx = 0;
  while (p < data.length) {
    const licenseOff = p;
    const license = cstr(data, p, data.length - p);
    if (!license) fail(p, "expected a license string");
    p += r8(license.length + 1);
    const insnsOff = p;
    let attrOff = -1;
    for (let a = insnsOff; a + 144 <= data.length; a += 8) {
      if (u32(a + PL.core_relo_rec_size.off) !== 16) continue;
      const n = u32(a + PL.insn_cnt.off);
      const fi = u32(a + PL.func_info_cnt.off) * u32(a + PL.func_info_rec_size.off);
      const li = u32(a + PL.line_info_cnt.off) * u32(a + PL.line_info_rec_size.off);
      const cr = u32(a + PL.core_relo_cnt.off) * 16;
      if (n > 0 && insnsOff + 8 * n + r8(fi) + r8(li) + cr === a) {
        attrOff = a;
        break;
      }
    }
    if (attrOff < 0) fail(insnsOff, "no PROG_LOAD attr matches the records after the license");
    const a = attrOff;
    const insnCnt = u32(a + PL.insn_cnt.off);
    const fiCnt = u32(a + PL.func_info_cnt.off);
    const fiRec = u32(a + PL.func_info_rec_size.off);
    const liCnt = u32(a + PL.line_info_cnt.off);
    const liRec = u32(a + PL.line_info_rec_size.off);
    const crCnt = u32(a + PL.core_relo_cnt.off);
    const funcInfoOff = insnsOff + 8 * insnCnt;
    const lineInfoOff = funcInfoOff + r8(fiCnt * fiRec);
    const coreRelosOff = lineInfoOff + r8(liCnt * liRec);
    for (let i = 0; i < crCnt; i++) {
      const q = coreRelosOff + 16 * i;
      calls.push({
        op: "recordReloCore",
        relo: { insnOff: u32(q), typeId: u32(q + 4), accessStrOff: u32(q + 8), kind: u32(q + 12) },
      });
    }
    const name = cstr(data, a + PL.prog_name.off, 16);
    calls.push({
      op: "progLoad",
      progType: u32(a + PL.prog_type.off),
      name,
      license,
      insns: hostInsns(data.slice(insnsOff, insnsOff + 8 * insnCnt), !le),
      attr: progAttr({
        expectedAttachType: u32(a + PL.expected_attach_type.off),
        progFlags: u32(a + PL.prog_flags.off),
        progIfindex: u32(a + PL.prog_ifindex.off),
        attachBtfId: u32(a + PL.attach_btf_id.off),
        funcInfo: hostWords(data.slice(funcInfoOff, funcInfoOff + fiCnt * fiRec), fiCnt * 8, !le),
        funcInfoCnt: fiCnt,
        funcInfoRecSize: fiRec,
        lineInfo: hostWords(data.slice(lineInfoOff, lineInfoOff + liCnt * liRec), liCnt * 16, !le),
        lineInfoCnt: liCnt,
        lineInfoRecSize: liRec,
      }),
      progIdx,
    });
    layout.progs.push({
      name,
      licenseOff,
      insnsOff,
      insnCnt,
      funcInfoOff,
      lineInfoOff,
      coreRelosOff,
      attrOff,
    });
    progIdx++;
    p = attrOff + 144;
  }
  layout.end = p;
  if (p !== data.length) fail(p, `records end at ${p}, blob is ${data.length}`);

  return {
    calls: [
      { op: "init", nrProgs: progIdx, nrMaps: mapIdx },
      ...calls,
      { op: "finish", nrProgs: progIdx, nrMaps: mapIdx },
    ],
    layout,
  };
}
