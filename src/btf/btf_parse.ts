/**
 * The checks of a raw BTF blob, in libbpf's order (btf_parse_hdr, btf_parse_str_sec,
 * btf_parse_layout_sec, btf_parse_type_sec, btf_sanity_check) plus what the kernel's BTF
 * verifier refuses on top: a version other than 1, non-zero flags, FUNC not pointing at a
 * FUNC_PROTO, out-of-range return types, and loops of modifiers, typedefs, arrays and vars.
 */

import {
  BTF_HEADER_FULL,
  BTF_HEADER_MIN,
  BTF_KIND,
  BTF_KIND_NAMES,
  BTF_MAGIC,
  BTF_MAX_STR_OFFSET,
  BTF_VERSION,
  BtfError,
  type BtfErrorCode,
  type BtfType,
  btfInfoKind,
  btfRecordSize,
  referencedIds,
} from "./btf_types.js";

/** The header fields libbpf keeps in `btf->hdr`. */
export interface BtfHeader {
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
  layoutOff: number;
  layoutLen: number;
}

/** A blob cut into its sections (views of the input). */
export interface BtfSections {
  le: boolean;
  hdr: BtfHeader;
  /** bytes past the known header fields are non-zero (libbpf's has_hdr_extra) */
  hdrExtra: boolean;
  /** file offset of the type section */
  typeStart: number;
  types: Uint8Array;
  layout: Uint8Array | null;
  strings: Uint8Array;
}

/** Checks the header, string and layout sections of a raw BTF blob. */
export function parseBtfSections(bytes: Uint8Array, name: string): BtfSections {
  const err = (code: BtfErrorCode, offset: number, detail: string): BtfError =>
    new BtfError(code, name, ".BTF", offset, detail);
  if (bytes.length < BTF_HEADER_MIN) {
    throw err("BTF_TRUNCATED", 0, `${bytes.length} bytes, shorter than the 24-byte BTF header`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (dv.getUint16(0, true) === BTF_MAGIC) le = true;
  else if (dv.getUint16(0, false) === BTF_MAGIC) le = false;
  else throw err("BTF_BAD_MAGIC", 0, `magic 0x${dv.getUint16(0, true).toString(16)} is not 0xeb9f`);
  if (bytes[2] !== BTF_VERSION) throw err("BTF_BAD_VERSION", 2, `version ${bytes[2]}, not 1`);
  if (bytes[3] !== 0) throw err("BTF_BAD_HEADER", 3, `flags 0x${bytes[3].toString(16)} are not 0`);
  const u32 = (o: number): number => dv.getUint32(o, le);
  const hdrLen = u32(4);
  if (hdrLen < BTF_HEADER_MIN) {
    throw err("BTF_BAD_HEADER", 4, `hdr_len ${hdrLen} is shorter than ${BTF_HEADER_MIN}`);
  }
  if (hdrLen > bytes.length) {
    throw err("BTF_TRUNCATED", 4, `hdr_len ${hdrLen} is larger than the ${bytes.length}-byte data`);
  }
  const hdr: BtfHeader = {
    hdrLen,
    typeOff: u32(8),
    typeLen: u32(12),
    strOff: u32(16),
    strLen: u32(20),
    layoutOff: hdrLen >= 28 ? u32(24) : 0,
    layoutLen: hdrLen >= BTF_HEADER_FULL ? u32(28) : 0,
  };
  let hdrExtra = false;
  for (let i = BTF_HEADER_FULL; i < hdrLen; i++) {
    if (bytes[i] !== 0) {
      hdrExtra = true;
      break;
    }
  }
  const metaLeft = bytes.length - hdrLen;
  if (metaLeft < hdr.strOff + hdr.strLen) {
    throw err(
      "BTF_TRUNCATED",
      16,
      `string section ${hdr.strOff}+${hdr.strLen} runs past the ${metaLeft} bytes after the header`,
    );
  }
  if (hdr.typeOff + hdr.typeLen > hdr.strOff) {
    throw err(
      "BTF_BAD_HEADER",
      8,
      `type section ${hdr.typeOff}+${hdr.typeLen} overlaps the string section at ${hdr.strOff}`,
    );
  }
  if (hdr.typeOff % 4 !== 0) {
    throw err("BTF_BAD_HEADER", 8, `type_off ${hdr.typeOff} is not 4-byte aligned`);
  }
  let layout: Uint8Array | null = null;
  if (hdr.layoutLen !== 0) {
    if (hdr.layoutOff % 4 !== 0) {
      throw err("BTF_BAD_HEADER", 24, `layout_off ${hdr.layoutOff} is not 4-byte aligned`);
    }
    if (hdr.layoutOff < hdr.typeOff + hdr.typeLen || hdr.layoutOff + hdr.layoutLen > hdr.strOff) {
      throw err(
        "BTF_BAD_HEADER",
        24,
        `layout section ${hdr.layoutOff}+${hdr.layoutLen} is not between types and strings`,
      );
    }
    if (hdr.layoutLen % 4 !== 0) {
      throw err("BTF_BAD_HEADER", 28, `layout_len ${hdr.layoutLen} is not a multiple of 4`);
    }
    layout = bytes.slice(hdrLen + hdr.layoutOff, hdrLen + hdr.layoutOff + hdr.layoutLen);
  }
  const strStart = hdrLen + hdr.strOff;
  const strings = bytes.subarray(strStart, strStart + hdr.strLen);
  if (hdr.strLen === 0) throw err("BTF_BAD_STRINGS", 20, "the string section is empty");
  if (hdr.strLen - 1 > BTF_MAX_STR_OFFSET) {
    throw err("BTF_BAD_STRINGS", 20, `string section of ${hdr.strLen} bytes is too long`);
  }
  if (strings[hdr.strLen - 1] !== 0) {
    throw err(
      "BTF_BAD_STRINGS",
      strStart + hdr.strLen - 1,
      "the string section does not end with a NUL byte",
    );
  }
  if (strings[0] !== 0) {
    throw err(
      "BTF_BAD_STRINGS",
      strStart,
      "the string section does not start with the empty string",
    );
  }
  const typeStart = hdrLen + hdr.typeOff;
  return {
    le,
    hdr,
    hdrExtra,
    typeStart,
    types: bytes.subarray(typeStart, typeStart + hdr.typeLen),
    layout,
    strings,
  };
}

/**
 * Cuts the type section into records (btf_parse_type_sec) and checks every name offset
 * (btf_validate_str). Returns each record's offset within the type section, by id - 1.
 */
export function splitTypeSection(s: BtfSections, name: string): number[] {
  const data = s.types;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = s.le;
  const typeStart = s.typeStart;
  let o = 0;
  const offs: number[] = [];
  while (o + 12 <= data.length) {
    const id = offs.length + 1;
    const info = dv.getUint32(o + 4, le);
    const size = btfRecordSize(info);
    if (size < 0) {
      throw new BtfError(
        "BTF_UNKNOWN_KIND",
        name,
        `.BTF type [${id}]`,
        typeStart + o + 4,
        `unknown kind ${btfInfoKind(info)}`,
        id,
      );
    }
    if (o + size > data.length) {
      throw new BtfError(
        "BTF_TYPE_TRUNCATED",
        name,
        `.BTF type [${id}]`,
        typeStart + o,
        `${BTF_KIND_NAMES[btfInfoKind(info)]} record of ${size} bytes (vlen ${info & 0xffff}) runs past the type section end at ${typeStart + data.length}`,
        id,
      );
    }
    offs.push(o);
    o += size;
  }
  if (o !== data.length) {
    throw new BtfError(
      "BTF_TYPE_TRUNCATED",
      name,
      ".BTF type section",
      typeStart + o,
      `${data.length - o} trailing bytes do not form a type record`,
    );
  }
  const strLen = s.hdr.strLen;
  const checkName = (id: number, off: number, what: string, at: number): void => {
    if (off >= strLen) {
      throw new BtfError(
        "BTF_BAD_NAME",
        name,
        `.BTF type [${id}]`,
        typeStart + at,
        `${what} offset ${off} is outside the ${strLen}-byte string section`,
        id,
      );
    }
  };
  offs.forEach((to, i) => {
    const id = i + 1;
    const info = dv.getUint32(to + 4, le);
    checkName(id, dv.getUint32(to, le), "type name", to);
    const kind = btfInfoKind(info);
    let elem = 0;
    let what = "field name";
    if (kind === BTF_KIND.STRUCT || kind === BTF_KIND.UNION) elem = 12;
    else if (kind === BTF_KIND.ENUM64) [elem, what] = [12, "enum name"];
    else if (kind === BTF_KIND.ENUM) [elem, what] = [8, "enum name"];
    else if (kind === BTF_KIND.FUNC_PROTO) [elem, what] = [8, "param name"];
    for (let j = 0; elem && j < (info & 0xffff); j++) {
      const at = to + 12 + j * elem;
      checkName(id, dv.getUint32(at, le), what, at);
    }
  });
  return offs;
}

/**
 * The types a type is made of, by value: what modifiers, typedefs, type tags, arrays, vars and
 * decl tags stand on, and struct/union members. Pointers and function prototypes are not
 * followed: a loop through them is legal C (`struct node { struct node *next; }`).
 */
function madeOf(t: BtfType): number[] {
  switch (t.kind) {
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.TYPE_TAG:
    case BTF_KIND.ARRAY:
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
      return [t.type];
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
      return t.members.map((m) => m.type);
    default:
      return [];
  }
}

/**
 * btf_sanity_check (every referenced id exists) plus the kernel's FUNC -> FUNC_PROTO rule,
 * return-type ids, and loop detection along modifier/typedef/array/var chains. `at(id)` gives
 * the file offset of a type's record for messages.
 */
export function validateTypes(types: BtfType[], at: (id: number) => number, name: string): void {
  const n = types.length;
  const where = (t: BtfType) => `.BTF type [${t.id}] (${BTF_KIND_NAMES[t.kind]} '${t.name}')`;
  for (let id = 1; id < n; id++) {
    const t = types[id];
    const refs = referencedIds(t);
    if (t.kind === BTF_KIND.FUNC_PROTO) refs.push(t.returnType);
    for (const ref of refs) {
      if (ref >= n) {
        throw new BtfError(
          "BTF_BAD_TYPE_ID",
          name,
          where(t),
          at(id),
          `refers to type id ${ref}, but the last type is ${n - 1}`,
          id,
        );
      }
    }
    if (t.kind === BTF_KIND.FUNC && types[t.type].kind !== BTF_KIND.FUNC_PROTO) {
      throw new BtfError(
        "BTF_BAD_TYPE_ID",
        name,
        where(t),
        at(id),
        `refers to type [${t.type}] which is not a func_proto`,
        id,
      );
    }
  }
  // depth-first search over "made of" edges: 0 = unvisited, 1 = on the path, 2 = done
  const state = new Uint8Array(n);
  for (let root = 1; root < n; root++) {
    if (state[root]) continue;
    const path: number[] = [root];
    const next: number[][] = [madeOf(types[root])];
    state[root] = 1;
    while (path.length) {
      const todo = next[next.length - 1];
      const child = todo.pop();
      if (child === undefined) {
        state[path.pop()!] = 2;
        next.pop();
        continue;
      }
      if (child === 0 || state[child] === 2) continue;
      if (state[child] === 1) {
        const loop = [...path.slice(path.indexOf(child)), child];
        throw new BtfError(
          "BTF_TYPE_LOOP",
          name,
          where(types[child]),
          at(child),
          `the type contains itself: ${loop.map((i) => `[${i}]`).join(" -> ")}`,
          child,
        );
      }
      state[child] = 1;
      path.push(child);
      next.push(madeOf(types[child]));
    }
  }
}
