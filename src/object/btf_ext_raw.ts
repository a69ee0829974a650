/**
 * The object's .BTF.ext as libbpf's loader uses it: per ELF section, the func_info, line_info and
 * CO-RE relocation records, in host (little-endian) byte order as libbpf keeps them after
 * `btf_ext__new()` (which swaps a big-endian object's records to native order).
 */

import type { BtfRaw } from "./btf_raw.js";
import { Errno, ObjectError } from "./errors.js";

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

const MIN_REC = { func: 8, line: 16, core: 16 };

function bad(obj: string, off: number, detail: string): ObjectError {
  return new ObjectError("OBJECT_BAD_BTF", obj, ".BTF.ext", off, detail, -Errno.EINVAL);
}

/** Parses .BTF.ext against the object's BTF (section names are BTF strings). */
export function parseBtfExt(bytes: Uint8Array, btf: BtfRaw, obj: string): BtfExtRaw {
  if (bytes.length < 8) throw bad(obj, 0, "header truncated");
  const le = btf.littleEndian;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint16(0, le) !== 0xeb9f) throw bad(obj, 0, "bad magic");
  if (bytes[2] !== 1) throw bad(obj, 2, `unsupported version ${bytes[2]}`);
  const hdrLen = dv.getUint32(4, le);
  if (hdrLen < 24 || hdrLen > bytes.length) throw bad(obj, 4, `bad hdr_len ${hdrLen}`);
  const word = (at: number): number => (at + 4 <= hdrLen ? dv.getUint32(at, le) : 0);

  const readInfo = (offAt: number, lenAt: number, minRec: number, what: string): ExtInfo => {
    const off = word(offAt);
    const len = word(lenAt);
    const info: ExtInfo = { recSize: 0, secs: [] };
    if (len === 0) return info;
    const start = hdrLen + off;
    if (off % 4 || start + len > bytes.length || len < 4)
      throw bad(obj, offAt, `${what} section out of bounds`);
    const recSize = dv.getUint32(start, le);
    if (recSize < minRec || recSize % 4) throw bad(obj, start, `${what} record size ${recSize}`);
    info.recSize = recSize;
    let p = start + 4;
    const end = start + len;
    while (p < end) {
      if (p + 8 > end) throw bad(obj, p, `${what} section header truncated`);
      const nameOff = dv.getUint32(p, le);
      const num = dv.getUint32(p + 4, le);
      p += 8;
      if (num === 0) throw bad(obj, p - 4, `${what} section with no records`);
      if (p + num * recSize > end) throw bad(obj, p, `${what} records truncated`);
      let secName: string;
      try {
        secName = btf.str(nameOff);
      } catch {
        throw bad(obj, p - 8, `${what} section name offset ${nameOff} out of range`);
      }
      const records: Uint8Array[] = [];
      for (let i = 0; i < num; i++) {
        const rec = bytes.slice(p, p + recSize);
        if (!le) for (let w = 0; w < recSize; w += 4) rec.subarray(w, w + 4).reverse();
        records.push(rec);
        p += recSize;
      }
      info.secs.push({ secName, records });
    }
    return info;
  };

  return {
    funcInfo: readInfo(8, 12, MIN_REC.func, "func_info"),
    lineInfo: readInfo(16, 20, MIN_REC.line, "line_info"),
    coreRelo: readInfo(24, 28, MIN_REC.core, "core_relo"),
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
