/**
 * The object's .BTF.ext as libbpf's loader uses it: per ELF section, the func_info, line_info and
 * CO-RE relocation records in host (little-endian) byte order, as libbpf keeps them after
 * `btf_ext__new()` swaps a big-endian object's records. Parsing is src/btf's `BtfExt`.
 */

import type { Btf } from "../btf/btf.js";
import { BtfExt, type BtfExtInfoSec } from "../btf/btf_ext.js";

/** One section's records of one kind; each record is `recSize` bytes, little-endian words. */
export interface ExtInfoSec {
  secName: string;
  records: Uint8Array[];
}

/** One kind of .BTF.ext info (`struct btf_ext_info`). */
export interface ExtInfo {
  recSize: number;
  secs: ExtInfoSec[];
}

/** The parsed .BTF.ext. */
export interface BtfExtRaw {
  funcInfo: ExtInfo;
  lineInfo: ExtInfo;
  coreRelo: ExtInfo;
}

/** One kind's sections, copied (the loader rewrites records in place), in host byte order. */
function toHost(secs: readonly BtfExtInfoSec[], recSize: number): ExtInfo {
  return {
    recSize,
    secs: secs.map((s) => ({ secName: s.secName, records: s.hostRecords.map((r) => r.slice()) })),
  };
}

/** Parses .BTF.ext against the object's BTF (throws BtfError, codes BTF_*). */
export function parseBtfExt(bytes: Uint8Array, btf: Btf, obj: string): BtfExtRaw {
  const ext = BtfExt.parse(bytes, btf, obj);
  return {
    funcInfo: toHost(ext.funcInfo, ext.funcInfoRecSize),
    lineInfo: toHost(ext.lineInfo, ext.lineInfoRecSize),
    coreRelo: toHost(ext.coreRelo, ext.coreReloRecSize),
  };
}

/** Little-endian u32 at `at` of a record. */
export function recU32(rec: Uint8Array, at: number): number {
  return (rec[at] | (rec[at + 1] << 8) | (rec[at + 2] << 16) | (rec[at + 3] << 24)) >>> 0;
}

/** Stores a little-endian u32 at `at` of a record. */
export function setRecU32(rec: Uint8Array, at: number, v: number): void {
  rec[at] = v & 0xff;
  rec[at + 1] = (v >>> 8) & 0xff;
  rec[at + 2] = (v >>> 16) & 0xff;
  rec[at + 3] = (v >>> 24) & 0xff;
}
