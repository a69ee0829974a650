/**
 * Builds raw BTF blobs for tests, one record at a time, in either byte order: for kinds and
 * shapes clang 14 does not emit (ENUM64, kind_flag type tags, ...) and for malformed input.
 */

import { BTF_KIND, btfTypeInfo } from "../../src/btf/btf.js";

/** A member/param/enumerator/secinfo as raw words. */
type Words = number[];

export class BtfBuilder {
  private readonly strs: number[] = [0];
  private readonly strOffs = new Map<string, number>([["", 0]]);
  /** one array of 32-bit words per type */
  readonly records: Words[] = [];

  /** Interns a string, returns its offset. */
  str(s: string): number {
    const hit = this.strOffs.get(s);
    if (hit !== undefined) return hit;
    const off = this.strs.length;
    this.strs.push(...new TextEncoder().encode(s), 0);
    this.strOffs.set(s, off);
    return off;
  }

  /** Appends a raw record, returns its type id. */
  raw(words: Words): number {
    this.records.push(words);
    return this.records.length;
  }

  private add(
    name: string,
    kind: number,
    vlen: number,
    kflag: boolean,
    sizeOrType: number,
    rest: Words = [],
  ): number {
    return this.raw([
      this.str(name),
      btfTypeInfo(kind, vlen, kflag),
      sizeOrType >>> 0,
      ...rest.map((w) => w >>> 0),
    ]);
  }

  int(name: string, size: number, encoding = 0, bits = size * 8, offset = 0): number {
    return this.add(name, BTF_KIND.INT, 0, false, size, [(encoding << 24) | (offset << 16) | bits]);
  }
  ptr(type: number): number {
    return this.add("", BTF_KIND.PTR, 0, false, type);
  }
  array(type: number, indexType: number, nelems: number): number {
    return this.add("", BTF_KIND.ARRAY, 0, false, 0, [type, indexType, nelems]);
  }
  struct(
    name: string,
    size: number,
    members: [string, number, number, number?][],
    union = false,
  ): number {
    const kflag = members.some((m) => m[3] !== undefined);
    const words = members.flatMap(([n, t, off, bits]) => [
      this.str(n),
      t,
      kflag ? ((bits ?? 0) << 24) | off : off,
    ]);
    return this.add(
      name,
      union ? BTF_KIND.UNION : BTF_KIND.STRUCT,
      members.length,
      kflag,
      size,
      words,
    );
  }
  enum(name: string, size: number, values: [string, number][], signed = false): number {
    return this.add(
      name,
      BTF_KIND.ENUM,
      values.length,
      signed,
      size,
      values.flatMap(([n, v]) => [this.str(n), v]),
    );
  }
  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    const words = values.flatMap(([n, v]) => {
      const u = BigInt.asUintN(64, v);
      return [this.str(n), Number(u & 0xffffffffn), Number(u >> 32n)];
    });
    return this.add(name, BTF_KIND.ENUM64, values.length, signed, size, words);
  }
  fwd(name: string, union = false): number {
    return this.add(name, BTF_KIND.FWD, 0, union, 0);
  }
  typedef(name: string, type: number): number {
    return this.add(name, BTF_KIND.TYPEDEF, 0, false, type);
  }
  mod(kind: 9 | 10 | 11, type: number): number {
    return this.add("", kind, 0, false, type);
  }
  typeTag(name: string, type: number, kflag = false): number {
    return this.add(name, BTF_KIND.TYPE_TAG, 0, kflag, type);
  }
  proto(ret: number, params: [string, number][]): number {
    return this.add(
      "",
      BTF_KIND.FUNC_PROTO,
      params.length,
      false,
      ret,
      params.flatMap(([n, t]) => [this.str(n), t]),
    );
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.add(name, BTF_KIND.FUNC, linkage, false, proto);
  }
  variable(name: string, type: number, linkage = 1): number {
    return this.add(name, BTF_KIND.VAR, 0, false, type, [linkage]);
  }
  datasec(name: string, size: number, vars: [number, number, number][]): number {
    return this.add(name, BTF_KIND.DATASEC, vars.length, false, size, vars.flat());
  }
  float(name: string, size: number): number {
    return this.add(name, BTF_KIND.FLOAT, 0, false, size);
  }
  declTag(name: string, type: number, componentIdx = -1, kflag = false): number {
    return this.add(name, BTF_KIND.DECL_TAG, 0, kflag, type, [componentIdx]);
  }

  /** The blob: 24-byte header, types, strings (or with `hdrLen` > 24, zero-filled extra header). */
  build(littleEndian = true, hdrLen = 24): Uint8Array {
    const typeLen = this.records.reduce((n, r) => n + r.length * 4, 0);
    const out = new Uint8Array(hdrLen + typeLen + this.strs.length);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, 0xeb9f, littleEndian);
    out[2] = 1;
    dv.setUint32(4, hdrLen, littleEndian);
    dv.setUint32(8, 0, littleEndian);
    dv.setUint32(12, typeLen, littleEndian);
    dv.setUint32(16, typeLen, littleEndian);
    dv.setUint32(20, this.strs.length, littleEndian);
    let o = hdrLen;
    for (const r of this.records) {
      for (const w of r) {
        dv.setUint32(o, w >>> 0, littleEndian);
        o += 4;
      }
    }
    out.set(this.strs, o);
    return out;
  }
}
