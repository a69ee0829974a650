import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BTF_KIND, Btf } from "../../src/btf/btf.js";
import { BtfExt } from "../../src/btf/btf_ext.js";
import { type ElfFile, parseElf, STT_FUNC } from "../../src/elf/elf.js";
import { fixture } from "../elf/tools.js";
import { expectBtfError } from "./expect.js";

function load(path: string): { elf: ElfFile; btf: Btf; ext: Uint8Array } {
  const elf = parseElf(fixture(path), path);
  const btf = Btf.parse(elf.sectionByName(".BTF")!.data, path);
  return { elf, btf, ext: elf.sectionByName(".BTF.ext")!.data };
}

function put32(b: Uint8Array, at: number, v: number, le = true): Uint8Array {
  const out = b.slice();
  new DataView(out.buffer).setUint32(at, v >>> 0, le);
  return out;
}

describe("BtfExt.parse on clang output", () => {
  test("externs: record sizes, sections, func_info matches the ELF symbols", () => {
    const { elf, btf, ext } = load("btf/externs.bpfel.o");
    const x = BtfExt.parse(ext, btf, "externs.o");
    assert.equal(x.littleEndian, true);
    assert.equal(x.hdrLen, 32);
    assert.equal(x.funcInfoRecSize, 8);
    assert.equal(x.lineInfoRecSize, 16);
    assert.equal(x.coreReloRecSize, 16);
    const names = ["socket", ".text", "tracepoint/syscalls/sys_enter_getpid"];
    assert.deepEqual(
      x.funcInfo.map((s) => s.secName),
      names,
    );
    assert.deepEqual(
      x.lineInfo.map((s) => s.secName),
      names,
    );
    for (const sec of x.funcInfo) {
      const shndx = elf.sectionByName(sec.secName)!.index;
      for (const [i, rec] of sec.decoded.entries()) {
        assert.equal(sec.records[i].length, 8);
        const fn = btf.typeById(rec.typeId);
        assert.equal(fn.kind, BTF_KIND.FUNC);
        const sym = elf.symbols.find(
          (s) => s.shndx === shndx && s.type === STT_FUNC && s.value === BigInt(rec.insnOff),
        );
        assert.ok(sym, `no function at ${sec.secName}+${rec.insnOff}`);
        assert.equal(sym.name, fn.name);
      }
    }
    // .text holds two subprograms
    assert.deepEqual(x.funcInfo[1].decoded.map((r) => btf.typeById(r.typeId).name).sort(), [
      "hidden_sub",
      "sub",
    ]);
    for (const sec of x.lineInfo) {
      for (const l of sec.decoded) {
        assert.equal(btf.nameOf(l.fileNameOff), "./externs.bpf.c");
        assert.equal(l.line, l.lineCol >>> 10);
        assert.equal(l.col, l.lineCol & 0x3ff);
        assert.equal(l.insnOff % 8, 0);
      }
    }
    assert.deepEqual(
      x.coreRelo.map((s) => s.secName),
      ["tracepoint/syscalls/sys_enter_getpid"],
    );
    const relos = x.coreRelo[0].decoded;
    assert.deepEqual(
      relos.map((r) => [btf.typeById(r.typeId).name, btf.nameOf(r.accessStrOff), r.kind]),
      [
        ["task_view", "0:2", 0],
        ["task_view", "0:1", 0],
        ["task_view", "0:0", 2],
        ["task_view", "0", 9],
      ],
    );
  });

  test("big endian decodes to the same records; raw records keep the file's byte order", () => {
    const le = load("btf/externs.bpfel.o");
    const be = load("btf/externs.bpfeb.o");
    const a = BtfExt.parse(le.ext, le.btf);
    const b = BtfExt.parse(be.ext, be.btf);
    assert.equal(b.littleEndian, false);
    for (const key of ["funcInfo", "lineInfo", "coreRelo"] as const) {
      assert.deepEqual(
        b[key].map((s) => [s.secName, s.decoded]),
        a[key].map((s) => [s.secName, s.decoded]),
      );
    }
    // host (little-endian) copies of the big-endian records equal the little-endian file's
    for (const key of ["funcInfo", "lineInfo", "coreRelo"] as const) {
      b[key].forEach((sec, i) => {
        assert.deepEqual(sec.hostRecords, a[key][i].records);
        assert.notDeepEqual(sec.records, a[key][i].records);
      });
      a[key].forEach((sec) => {
        assert.equal(sec.hostRecords, sec.records);
      });
    }
    const rec = b.funcInfo[1].records[0];
    assert.equal(
      new DataView(rec.buffer, rec.byteOffset).getUint32(4, false),
      b.funcInfo[1].decoded[0].typeId,
    );
  });

  test("global_data: one section, no CO-RE relocations", () => {
    const { btf, ext } = load("elf/global_data.bpfel.o");
    const x = BtfExt.parse(ext, btf);
    assert.deepEqual(
      x.funcInfo.map((s) => [s.secName, s.decoded.length]),
      [["socket", 1]],
    );
    assert.deepEqual(x.coreRelo, []);
    assert.equal(x.coreReloRecSize, 0);
  });
});

describe("BtfExt.parse refuses malformed .BTF.ext", () => {
  const { btf, ext } = load("btf/externs.bpfel.o");
  const dv = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  const funcLen = dv.getUint32(12, true);
  const lineOff = dv.getUint32(16, true);
  const func = 32; // func_info subsection: record size at 32, first block at 36

  test("header", () => {
    expectBtfError(
      () => BtfExt.parse(ext.subarray(0, 6), btf, "x.o"),
      "BTF_TRUNCATED",
      "x.o: .BTF.ext",
    );
    expectBtfError(() => BtfExt.parse(put32(ext, 0, 0x0001eb9e), btf), "BTF_BAD_MAGIC");
    const v = ext.slice();
    v[2] = 3;
    expectBtfError(() => BtfExt.parse(v, btf), "BTF_BAD_VERSION", "offset 0x2");
    const f = ext.slice();
    f[3] = 1;
    expectBtfError(() => BtfExt.parse(f, btf), "BTF_EXT_BAD_HEADER", "flags");
    expectBtfError(
      () => BtfExt.parse(put32(ext, 4, ext.length + 4), btf),
      "BTF_TRUNCATED",
      "hdr_len",
    );
    expectBtfError(() => BtfExt.parse(ext.subarray(0, 32), btf), "BTF_EXT_BAD_HEADER", "no data");
    expectBtfError(() => BtfExt.parse(put32(ext, 4, 20), btf), "BTF_EXT_BAD_HEADER", "hdr_len 20");
    expectBtfError(
      () => BtfExt.parse(put32(ext, 8, 2), btf),
      "BTF_EXT_BAD_HEADER",
      "func_info",
      "aligned",
    );
  });

  test("subsections: bounds, record sizes, blocks", () => {
    expectBtfError(
      () => BtfExt.parse(put32(ext, 12, ext.length), btf),
      "BTF_EXT_BAD_INFO",
      "func_info",
      "runs past",
    );
    expectBtfError(
      () => BtfExt.parse(put32(ext, 12, 2), btf),
      "BTF_EXT_BAD_INFO",
      "no record size",
    );
    expectBtfError(
      () => BtfExt.parse(put32(ext, func, 4), btf),
      "BTF_EXT_BAD_INFO",
      "record size 4",
    );
    expectBtfError(
      () => BtfExt.parse(put32(ext, func, 10), btf),
      "BTF_EXT_BAD_INFO",
      "record size 10",
    );
    expectBtfError(() => BtfExt.parse(put32(ext, 12, 4), btf), "BTF_EXT_BAD_INFO", "no records");
    expectBtfError(() => BtfExt.parse(put32(ext, 12, 8), btf), "BTF_EXT_BAD_INFO", "cut short");
    expectBtfError(
      () => BtfExt.parse(put32(ext, func + 8, 0), btf),
      "BTF_EXT_BAD_INFO",
      "no records",
      "offset 0x28",
    );
    expectBtfError(
      () => BtfExt.parse(put32(ext, func + 8, 1000), btf),
      "BTF_EXT_BAD_INFO",
      "1000 records",
    );
    expectBtfError(
      () => BtfExt.parse(put32(ext, func + 4, 1 << 24), btf),
      "BTF_EXT_BAD_NAME",
      "offset 0x24",
    );
    expectBtfError(
      () => BtfExt.parse(put32(ext, 32 + lineOff, 8), btf),
      "BTF_EXT_BAD_INFO",
      "line_info",
      "record size 8",
    );
    assert.ok(funcLen > 0);
  });

  test("big endian record sizes must be exact", () => {
    const be = load("btf/externs.bpfeb.o");
    // a 12-byte func_info record would be fine natively, not when the bytes must be swapped
    expectBtfError(
      () => BtfExt.parse(put32(be.ext, func, 12, false), be.btf),
      "BTF_EXT_BAD_INFO",
      "exactly 8",
    );
  });

  test("hdr_len 24: no CO-RE subsection is read", () => {
    // the func_info/line_info offsets are relative to the header end; shift them by 8
    const short = new Uint8Array(ext.length - 8);
    short.set(ext.subarray(0, 24));
    short.set(ext.subarray(32), 24);
    const s = new DataView(short.buffer);
    s.setUint32(4, 24, true);
    const x = BtfExt.parse(short, btf);
    assert.equal(x.hdrLen, 24);
    assert.deepEqual(x.coreRelo, []);
    assert.equal(x.funcInfo.length, 3);
  });
});
