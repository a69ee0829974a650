import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BTF_INT_SIGNED, BTF_KIND, Btf } from "../../src/btf/btf.js";
import { parseElf } from "../../src/elf/elf.js";
import { fixture } from "../elf/tools.js";
import { BtfBuilder } from "./btf_builder.js";
import { expectBtfError } from "./expect.js";

function put32(b: Uint8Array, at: number, v: number, le = true): Uint8Array {
  const out = b.slice();
  new DataView(out.buffer).setUint32(at, v >>> 0, le);
  return out;
}

/** int, struct s { int a; }, ptr -> int, typedef t -> int, FUNC_PROTO, FUNC */
function small(le = true): { bytes: Uint8Array; b: BtfBuilder } {
  const b = new BtfBuilder();
  const int = b.int("int", 4, BTF_INT_SIGNED); // [1] at 24
  b.struct("s", 4, [["a", int, 0]]); // [2] at 40
  b.ptr(int); // [3] at 64
  b.typedef("t", int); // [4] at 76
  const proto = b.proto(int, [["x", int]]); // [5] at 88
  b.func("f", proto); // [6] at 108
  return { bytes: b.build(le), b };
}

describe("Btf.parse refuses malformed BTF with a code and an offset", () => {
  const { bytes } = small();
  const typeLen = new DataView(bytes.buffer).getUint32(12, true);

  test("header: too short, magic, version, flags, hdr_len, section layout", () => {
    expectBtfError(
      () => Btf.parse(bytes.subarray(0, 20), "o.o"),
      "BTF_TRUNCATED",
      "o.o: .BTF at offset 0x0",
    );
    expectBtfError(
      () => Btf.parse(put32(bytes, 0, 0x1234eb9e), "o.o"),
      "BTF_BAD_MAGIC",
      "offset 0x0",
    );
    const v2 = bytes.slice();
    v2[2] = 2;
    expectBtfError(() => Btf.parse(v2), "BTF_BAD_VERSION", "offset 0x2", "version 2");
    const fl = bytes.slice();
    fl[3] = 1;
    expectBtfError(() => Btf.parse(fl), "BTF_BAD_HEADER", "offset 0x3", "flags");
    expectBtfError(() => Btf.parse(put32(bytes, 4, 16)), "BTF_BAD_HEADER", "hdr_len 16");
    expectBtfError(() => Btf.parse(put32(bytes, 4, bytes.length + 1)), "BTF_TRUNCATED", "hdr_len");
    expectBtfError(() => Btf.parse(put32(bytes, 8, 2)), "BTF_BAD_HEADER", "offset 0x8", "overlaps");
    expectBtfError(
      () => Btf.parse(put32(put32(bytes, 8, 2), 12, typeLen - 4)),
      "BTF_BAD_HEADER",
      "aligned",
    );
    expectBtfError(
      () => Btf.parse(put32(bytes, 20, 9999)),
      "BTF_TRUNCATED",
      "offset 0x10",
      "string section",
    );
    expectBtfError(() => Btf.parse(bytes.subarray(0, bytes.length - 1)), "BTF_TRUNCATED");
  });

  test("strings: empty, not NUL-terminated, not starting with the empty string", () => {
    expectBtfError(() => Btf.parse(put32(bytes, 20, 0)), "BTF_BAD_STRINGS", "empty");
    const noNul = bytes.slice();
    noNul[noNul.length - 1] = 0x41;
    expectBtfError(
      () => Btf.parse(noNul),
      "BTF_BAD_STRINGS",
      `offset 0x${(noNul.length - 1).toString(16)}`,
      "NUL",
    );
    const first = bytes.slice();
    first[24 + typeLen] = 0x41;
    expectBtfError(() => Btf.parse(first), "BTF_BAD_STRINGS", "empty string");
  });

  test("types: truncated record (vlen past the end), trailing bytes, unknown kind", () => {
    // struct [2] claims 9 members
    const e = expectBtfError(
      () => Btf.parse(put32(bytes, 40 + 4, (BTF_KIND.STRUCT << 24) | 9)),
      "BTF_TYPE_TRUNCATED",
      ".BTF type [2]",
      "offset 0x28",
      "vlen 9",
    );
    assert.equal(e.typeId, 2);
    assert.equal(e.offset, 40);
    // the type section loses its last 4 bytes
    const cut = put32(put32(bytes, 12, typeLen - 4), 16, typeLen - 4);
    expectBtfError(() => Btf.parse(cut.subarray(0, cut.length)), "BTF_BAD_STRINGS");
    const shorter = put32(bytes, 12, typeLen - 4);
    expectBtfError(() => Btf.parse(shorter), "BTF_TYPE_TRUNCATED", "trailing bytes");
    expectBtfError(
      () => Btf.parse(put32(bytes, 64 + 4, 20 << 24)),
      "BTF_UNKNOWN_KIND",
      ".BTF type [3]",
      "kind 20",
    );
    expectBtfError(() => Btf.parse(put32(bytes, 64 + 4, 0)), "BTF_UNKNOWN_KIND", "kind 0");
  });

  test("names: type name and member name offsets outside the strings", () => {
    expectBtfError(
      () => Btf.parse(put32(bytes, 24, 5000)),
      "BTF_BAD_NAME",
      ".BTF type [1]",
      "type name offset 5000",
    );
    expectBtfError(
      () => Btf.parse(put32(bytes, 52, 5000)),
      "BTF_BAD_NAME",
      "field name",
      "offset 0x34",
    );
    expectBtfError(() => Btf.parse(put32(bytes, 100, 5000)), "BTF_BAD_NAME", "param name");
  });

  test("type ids: out of range, FUNC not on a FUNC_PROTO, loops", () => {
    expectBtfError(
      () => Btf.parse(put32(bytes, 64 + 8, 7)),
      "BTF_BAD_TYPE_ID",
      "[3] (ptr",
      "type id 7",
    );
    expectBtfError(() => Btf.parse(put32(bytes, 56, 99)), "BTF_BAD_TYPE_ID", "struct 's'");
    expectBtfError(() => Btf.parse(put32(bytes, 88 + 8, 50)), "BTF_BAD_TYPE_ID", "func_proto");
    expectBtfError(
      () => Btf.parse(put32(bytes, 108 + 8, 1)),
      "BTF_BAD_TYPE_ID",
      "not a func_proto",
    );
    // typedef t -> typedef t
    expectBtfError(() => Btf.parse(put32(bytes, 76 + 8, 4)), "BTF_TYPE_LOOP", "[4] -> [4]");
    // struct s { s a; }
    expectBtfError(() => Btf.parse(put32(bytes, 56, 2)), "BTF_TYPE_LOOP", "contains itself");
    // a pointer breaks a loop: ptr -> ptr is fine for the parser
    assert.equal(Btf.parse(put32(bytes, 64 + 8, 3)).typeById(3).kind, BTF_KIND.PTR);
  });

  test("big endian: the same checks, offsets in the same places", () => {
    const be = small(false).bytes;
    assert.equal(Btf.parse(be).littleEndian, false);
    expectBtfError(() => Btf.parse(put32(be, 64 + 8, 7, false)), "BTF_BAD_TYPE_ID");
    expectBtfError(
      () => Btf.parse(put32(be, 40 + 4, (BTF_KIND.STRUCT << 24) | 9, false)),
      "BTF_TYPE_TRUNCATED",
      "offset 0x28",
    );
  });
});

describe("header variants", () => {
  test("hdr_len 32 with zero layout fields: round trip, and a rebuilt header keeps 32 bytes", () => {
    const { b } = small();
    const bytes = b.build(true, 32);
    const btf = Btf.parse(bytes);
    assert.deepEqual(Buffer.from(btf.rawData()), Buffer.from(bytes));
    const off = btf.addString("new");
    const raw = btf.rawData();
    const dv = new DataView(raw.buffer);
    assert.equal(dv.getUint32(4, true), 32);
    assert.equal(dv.getUint32(20, true), new DataView(bytes.buffer).getUint32(20, true) + 4);
    assert.equal(Btf.parse(raw).nameOf(off), "new");
  });

  test("unknown non-zero header bytes: in-place fix-ups allowed, additions refused (libbpf's has_hdr_extra)", () => {
    const { b } = small();
    const bytes = b.build(true, 40);
    bytes[36] = 1;
    const btf = Btf.parse(bytes);
    btf.setFuncLinkage(6, 0);
    const f = btf.typeById(6);
    assert.ok(f.kind === BTF_KIND.FUNC && f.linkage === 0);
    expectBtfError(() => btf.addString("x"), "BTF_NOT_MODIFIABLE", "offset 0x20");
    assert.equal(btf.rawData().length, bytes.length);
  });

  test("a layout section between types and strings is kept through a rebuild", () => {
    const { b } = small();
    const base = b.build(true, 32);
    const dv0 = new DataView(base.buffer);
    const typeLen = dv0.getUint32(12, true);
    const strLen = dv0.getUint32(20, true);
    const layout = new Uint8Array([12, 0, 0, 0, 4, 8, 0, 0]);
    const bytes = new Uint8Array(base.length + layout.length);
    bytes.set(base.subarray(0, 32 + typeLen));
    bytes.set(layout, 32 + typeLen);
    bytes.set(base.subarray(32 + typeLen), 32 + typeLen + layout.length);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(16, typeLen + layout.length, true);
    dv.setUint32(24, typeLen, true);
    dv.setUint32(28, layout.length, true);
    const btf = Btf.parse(bytes);
    assert.deepEqual(Buffer.from(btf.rawData()), Buffer.from(bytes));
    const id = btf.addInt("i8", 1, BTF_INT_SIGNED);
    const raw = btf.rawData();
    const r = new DataView(raw.buffer);
    assert.equal(r.getUint32(12, true), typeLen + 16);
    assert.equal(r.getUint32(24, true), typeLen + 16);
    assert.equal(r.getUint32(16, true), typeLen + 16 + layout.length);
    assert.equal(r.getUint32(20, true), strLen + 3);
    assert.deepEqual(raw.subarray(32 + typeLen + 16, 32 + typeLen + 16 + 8), layout);
    assert.equal(Btf.parse(raw).typeById(id).name, "i8");
    expectBtfError(() => Btf.parse(put32(bytes, 28, 6)), "BTF_BAD_HEADER", "layout_len");
    expectBtfError(() => Btf.parse(put32(bytes, 24, 2)), "BTF_BAD_HEADER", "layout_off");
  });

  test("an object's BTF with trailing bytes after the strings: kept untouched, dropped by a rebuild", () => {
    const elf = parseElf(fixture("elf/global_data.bpfel.o"), "g");
    const src = elf.sectionByName(".BTF")!.data;
    const padded = new Uint8Array(src.length + 3);
    padded.set(src);
    const btf = Btf.parse(padded);
    assert.equal(btf.rawData().length, padded.length);
    btf.addString("int");
    assert.deepEqual(Buffer.from(btf.rawData()), Buffer.from(src));
  });
});
