/**
 * BTF objects loaded with BPF_BTF_LOAD: the header and section checks of btf_parse(), and a walk
 * over the type section that validates every record's kind and length. Type semantics (sizes,
 * references, name validity) are not checked by the model.
 */
import { BTF_KIND } from "../btf/btf_types.js";
import { Errno } from "../uapi/errno.js";
import { UTF8_DECODER } from "../uapi/layout.js";
import type { VerifierLog } from "./log.js";

export const BTF_MAGIC = 0xeb9f;
export const BTF_MAX_SIZE = 16 * 1024 * 1024;
const HDR_MIN = 24;

/** BTF kinds: the BTF library's table (btf.h). */
export const BtfKind = BTF_KIND;

export interface BtfType {
  readonly id: number;
  readonly name: string;
  readonly kind: number;
  readonly vlen: number;
  readonly sizeOrType: number;
}

export class Btf {
  id = 0;
  refcnt = 0;
  constructor(
    readonly data: Uint8Array,
    readonly types: readonly BtfType[],
    readonly kernel = false,
    readonly name = "",
  ) {}

  /** btf_find_by_name_kind(): the type id, or -ENOENT. */
  findByNameKind(name: string, kind: number): number {
    const t = this.types.find((t) => t.kind === kind && t.name === name);
    return t ? t.id : -Errno.ENOENT;
  }
}

/** Bytes that follow the 12-byte common header of a type of `kind` with `vlen` members. */
function trailing(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return 4;
    case BtfKind.ARRAY:
      return 12;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.DATASEC:
    case BtfKind.ENUM64:
      return 12 * vlen;
    case BtfKind.ENUM:
    case BtfKind.FUNC_PROTO:
      return 8 * vlen;
    default:
      return 0;
  }
}

/** btf_parse(): a BTF object, or a negative errno with the reason in `log`. */
export function parseBtf(data: Uint8Array, log: VerifierLog): Btf | number {
  const bad = (msg: string, errno: number = Errno.EINVAL) => {
    log.verbose(`${msg}\n`);
    return -errno;
  };
  if (data.length < HDR_MIN) return bad("btf_header not found");
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (dv.getUint16(0, true) !== BTF_MAGIC) return bad("Invalid magic");
  if (dv.getUint8(2) !== 1) return bad("Unsupported version");
  if (dv.getUint8(3) !== 0) return bad("Unsupported flags");
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < HDR_MIN || hdrLen > data.length) return bad("Unsupported btf_header");
  const typeOff = dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  const strOff = dv.getUint32(16, true);
  const strLen = dv.getUint32(20, true);
  const body = data.length - hdrLen;
  if (typeOff % 4) return bad("Unaligned type_off");
  if (typeOff + typeLen > body || strOff + strLen > body)
    return bad("Total section length too long");
  if (typeOff + typeLen > strOff && typeOff < strOff + strLen) return bad("Section overlap found");
  if (strLen === 0 || data[hdrLen + strOff] !== 0 || data[hdrLen + strOff + strLen - 1] !== 0) {
    return bad("Invalid string section");
  }
  const strings = data.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
  const nameAt = (off: number): string | undefined => {
    if (off >= strings.length) return undefined;
    const end = strings.indexOf(0, off);
    return UTF8_DECODER.decode(strings.subarray(off, end));
  };
  const types: BtfType[] = [];
  let p = hdrLen + typeOff;
  const end = p + typeLen;
  while (p < end) {
    if (end - p < 12) return bad(`[${types.length + 1}] type_header is truncated`);
    const nameOff = dv.getUint32(p, true);
    const info = dv.getUint32(p + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === 0 || kind > BtfKind.ENUM64)
      return bad(`[${types.length + 1}] Invalid kind:${kind}`);
    const extra = trailing(kind, vlen);
    if (p + 12 + extra > end)
      return bad(`[${types.length + 1}] Total type section length too long`);
    const name = nameAt(nameOff);
    if (name === undefined) return bad(`[${types.length + 1}] Invalid name_offset:${nameOff}`);
    types.push({ id: types.length + 1, name, kind, vlen, sizeOrType: dv.getUint32(p + 8, true) });
    p += 12 + extra;
  }
  return new Btf(data.slice(), types);
}
