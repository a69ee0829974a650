/**
 * `.BTF.ext`: per-program-section func_info, line_info and CO-RE relocation records.
 *
 * Layout (libbpf's btf_ext_parse / btf_ext_parse_sec_info):
 *   header: magic 0xeb9f (u16), version 1 (u8), flags 0 (u8), hdr_len (u32),
 *           func_info_off/len, line_info_off/len (u32 each; hdr_len >= 24),
 *           core_relo_off/len (only when hdr_len >= 32)
 *   each subsection, at hdr_len + off: record_size (u32), then one or more
 *     { sec_name_off (u32, into the BTF strings), num_info (u32, > 0), num_info records }
 * Record sizes must be at least func_info 8, line_info 16, core_relo 16 bytes, 4-aligned, and
 * exactly those sizes for a foreign-endian file (so the records can be byte-swapped).
 *
 * Records are kept as raw bytes (in the file's byte order, `recSize` bytes each) and decoded.
 * `insnOff` is in bytes from the start of the program section, as in the file.
 */

import { BTF_MAGIC, type Btf, BtfError, type BtfErrorCode } from "./btf.js";

/** A func_info record: the FUNC type of the subprogram starting at `insnOff`. */
export interface BtfExtFuncInfo {
  insnOff: number;
  typeId: number;
}

/** A line_info record. `lineCol` packs line (high 22 bits) and column (low 10 bits). */
export interface BtfExtLineInfo {
  insnOff: number;
  fileNameOff: number;
  lineOff: number;
  lineCol: number;
  line: number;
  col: number;
}

/** A CO-RE relocation record (`struct bpf_core_relo`). */
export interface BtfExtCoreRelo {
  insnOff: number;
  typeId: number;
  accessStrOff: number;
  kind: number;
}

/** The records of one ELF section within one .BTF.ext subsection. */
export interface BtfExtInfoSec<R = unknown> {
  /** the program section's name (resolved in the BTF strings) */
  secName: string;
  secNameOff: number;
  /** raw records, recSize bytes each, in the file's byte order */
  records: Uint8Array[];
  /**
   * the records as libbpf holds them after `btf_ext__new` on a little-endian host: the same as
   * `records` for a little-endian file; for a big-endian file (whose record sizes are exactly
   * the minimum, all u32 fields) copies with every u32 byte-swapped. This is what libbpf hands
   * to bpf_gen__prog_load as func_info/line_info.
   */
  hostRecords: Uint8Array[];
  /** the same records decoded */
  decoded: R[];
  /** byte offset of this block's header within the .BTF.ext data */
  offset: number;
}

/** Minimum record sizes (`bpf_func_info_min`, `bpf_line_info_min`, `bpf_core_relo`). */
export const BTF_EXT_FUNC_INFO_MIN = 8;
export const BTF_EXT_LINE_INFO_MIN = 16;
export const BTF_EXT_CORE_RELO_MIN = 16;

/** A parsed `.BTF.ext` section. */
export class BtfExt {
  readonly littleEndian: boolean;
  readonly hdrLen: number;
  /** record sizes; 0 when the subsection is absent */
  readonly funcInfoRecSize: number;
  readonly lineInfoRecSize: number;
  readonly coreReloRecSize: number;
  readonly funcInfo: BtfExtInfoSec<BtfExtFuncInfo>[];
  readonly lineInfo: BtfExtInfoSec<BtfExtLineInfo>[];
  readonly coreRelo: BtfExtInfoSec<BtfExtCoreRelo>[];

  private constructor(
    le: boolean,
    hdrLen: number,
    func: Subsection<BtfExtFuncInfo>,
    line: Subsection<BtfExtLineInfo>,
    core: Subsection<BtfExtCoreRelo>,
  ) {
    this.littleEndian = le;
    this.hdrLen = hdrLen;
    this.funcInfoRecSize = func.recSize;
    this.lineInfoRecSize = line.recSize;
    this.coreReloRecSize = core.recSize;
    this.funcInfo = func.secs;
    this.lineInfo = line.secs;
    this.coreRelo = core.secs;
  }

  /**
   * Parses `.BTF.ext` as libbpf's `btf_ext__new` does; section names are resolved in `btf`'s
   * strings (an offset outside them is refused, where libbpf would silently skip the block).
   * `name` names the object in errors. Throws `BtfError` (codes `BTF_EXT_*`, `BTF_TRUNCATED`,
   * `BTF_BAD_MAGIC`, `BTF_BAD_VERSION`).
   */
  static parse(bytes: Uint8Array, btf: Btf, name = "BTF.ext"): BtfExt {
    const err = (code: BtfErrorCode, offset: number, detail: string): BtfError =>
      new BtfError(code, name, ".BTF.ext", offset, detail);
    if (bytes.length < 8) {
      throw err("BTF_TRUNCATED", 0, `${bytes.length} bytes, too short for a .BTF.ext header`);
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let le: boolean;
    if (dv.getUint16(0, true) === BTF_MAGIC) le = true;
    else if (dv.getUint16(0, false) === BTF_MAGIC) le = false;
    else
      throw err("BTF_BAD_MAGIC", 0, `magic 0x${dv.getUint16(0, true).toString(16)} is not 0xeb9f`);
    if (bytes[2] !== 1) throw err("BTF_BAD_VERSION", 2, `version ${bytes[2]}, not 1`);
    if (bytes[3] !== 0)
      throw err("BTF_EXT_BAD_HEADER", 3, `flags 0x${bytes[3].toString(16)} are not 0`);
    const u32 = (o: number): number => dv.getUint32(o, le);
    const hdrLen = u32(4);
    if (bytes.length < hdrLen) {
      throw err(
        "BTF_TRUNCATED",
        4,
        `hdr_len ${hdrLen} is larger than the ${bytes.length}-byte data`,
      );
    }
    if (bytes.length === hdrLen) throw err("BTF_EXT_BAD_HEADER", 4, "no data after the header");
    if (hdrLen < 24) {
      throw err("BTF_EXT_BAD_HEADER", 4, `hdr_len ${hdrLen} lacks the func_info/line_info fields`);
    }
    const ctx: Ctx = { bytes, dv, le, hdrLen, btf, name };
    const func = parseSubsection(
      ctx,
      "func_info",
      u32(8),
      u32(12),
      8,
      BTF_EXT_FUNC_INFO_MIN,
      (o) => ({
        insnOff: u32(o),
        typeId: u32(o + 4),
      }),
    );
    const line = parseSubsection(
      ctx,
      "line_info",
      u32(16),
      u32(20),
      16,
      BTF_EXT_LINE_INFO_MIN,
      (o) => {
        const lineCol = u32(o + 12);
        return {
          insnOff: u32(o),
          fileNameOff: u32(o + 4),
          lineOff: u32(o + 8),
          lineCol,
          line: lineCol >>> 10,
          col: lineCol & 0x3ff,
        };
      },
    );
    const core: Subsection<BtfExtCoreRelo> =
      hdrLen >= 32
        ? parseSubsection(ctx, "core_relo", u32(24), u32(28), 24, BTF_EXT_CORE_RELO_MIN, (o) => ({
            insnOff: u32(o),
            typeId: u32(o + 4),
            accessStrOff: u32(o + 8),
            kind: u32(o + 12),
          }))
        : { recSize: 0, secs: [] };
    return new BtfExt(le, hdrLen, func, line, core);
  }
}

interface Ctx {
  bytes: Uint8Array;
  dv: DataView;
  le: boolean;
  hdrLen: number;
  btf: Btf;
  name: string;
}

interface Subsection<R> {
  recSize: number;
  secs: BtfExtInfoSec<R>[];
}

/** btf_ext_parse_sec_info for one subsection. `field` is the header offset of its `off`. */
function parseSubsection<R>(
  ctx: Ctx,
  desc: string,
  off: number,
  len: number,
  field: number,
  minRecSize: number,
  decode: (at: number) => R,
): Subsection<R> {
  const { bytes, dv, le, hdrLen, btf, name } = ctx;
  const fail = (code: BtfErrorCode, at: number, detail: string): BtfError =>
    new BtfError(code, name, `.BTF.ext ${desc}`, at, detail);
  if (len === 0) return { recSize: 0, secs: [] };
  if (off & 3) throw fail("BTF_EXT_BAD_HEADER", field, `offset ${off} is not 4-byte aligned`);
  const start = hdrLen + off;
  if (start + len > bytes.length) {
    throw fail(
      "BTF_EXT_BAD_INFO",
      field,
      `subsection ${off}+${len} runs past the end of the ${bytes.length}-byte .BTF.ext`,
    );
  }
  if (len < 4) throw fail("BTF_EXT_BAD_INFO", start, "no record size");
  const recSize = dv.getUint32(start, le);
  if (recSize < minRecSize || (!le && recSize !== minRecSize) || recSize & 3) {
    throw fail(
      "BTF_EXT_BAD_INFO",
      start,
      `record size ${recSize} is invalid (minimum ${minRecSize}, 4-aligned${le ? "" : `, exactly ${minRecSize} for big endian`})`,
    );
  }
  let p = start + 4;
  const end = start + len;
  if (p === end) throw fail("BTF_EXT_BAD_INFO", p, "no records");
  const secs: BtfExtInfoSec<R>[] = [];
  while (p < end) {
    if (end - p < 8) throw fail("BTF_EXT_BAD_INFO", p, "section header is cut short");
    const secNameOff = dv.getUint32(p, le);
    const num = dv.getUint32(p + 4, le);
    if (num === 0) throw fail("BTF_EXT_BAD_INFO", p + 4, "a section block with no records");
    if (8 + num * recSize > end - p) {
      throw fail(
        "BTF_EXT_BAD_INFO",
        p + 4,
        `${num} records of ${recSize} bytes run past the subsection end at ${end}`,
      );
    }
    let secName: string;
    try {
      secName = btf.nameOf(secNameOff);
    } catch {
      throw fail(
        "BTF_EXT_BAD_NAME",
        p,
        `section name offset ${secNameOff} is outside the BTF string section`,
      );
    }
    const records: Uint8Array[] = [];
    const decoded: R[] = [];
    for (let i = 0; i < num; i++) {
      const at = p + 8 + i * recSize;
      records.push(bytes.subarray(at, at + recSize));
      decoded.push(decode(at));
    }
    const hostRecords = le ? records : records.map(swap32);
    secs.push({ secName, secNameOff, records, hostRecords, decoded, offset: p });
    p += 8 + num * recSize;
  }
  return { recSize, secs };
}

/** A copy of `rec` with each 4-byte word byte-swapped. */
function swap32(rec: Uint8Array): Uint8Array {
  const out = new Uint8Array(rec.length);
  for (let i = 0; i + 4 <= rec.length; i += 4) {
    out[i] = rec[i + 3];
    out[i + 1] = rec[i + 2];
    out[i + 2] = rec[i + 1];
    out[i + 3] = rec[i];
  }
  return out;
}
