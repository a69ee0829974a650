import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  ElfError,
  type ElfFile,
  EM_BPF,
  parseElf,
  R_BPF_64_64,
  SHF_ALLOC,
  SHF_EXCLUDE,
  SHF_EXECINSTR,
  SHF_INFO_LINK,
  SHF_MERGE,
  SHF_STRINGS,
  SHF_WRITE,
  SHN_ABS,
  SHT_NOBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_GLOBAL,
  STT_FUNC,
  STT_OBJECT,
  STT_SECTION,
} from "../../src/elf/elf.js";
import { REPO_ROOT } from "../support/vectors.js";
import { buildElf } from "./elf_builder.js";
import {
  clangMissing,
  compileBpfC,
  fixture,
  fixturePath,
  readelfMissing,
  runTool,
} from "./tools.js";

const LE = "elf/global_data.bpfel.o";
const BE = "elf/global_data.bpfeb.o";

function expectElfError(fn: () => unknown, code: string, ...inMessage: string[]): ElfError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ElfError, `expected ElfError, got ${e}`);
    assert.equal(e.code, code, e.message);
    for (const m of inMessage) assert.ok(e.message.includes(m), `"${m}" not in: ${e.message}`);
    return e;
  }
  assert.fail(`expected ElfError ${code}`);
}

/** Patches a header field of a copy of `bytes`. */
function patched(
  bytes: Uint8Array,
  at: number,
  size: 1 | 2 | 4 | 8,
  v: number | bigint,
  le = true,
) {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  if (size === 1) dv.setUint8(at, Number(v));
  else if (size === 2) dv.setUint16(at, Number(v), le);
  else if (size === 4) dv.setUint32(at, Number(v), le);
  else dv.setBigUint64(at, BigInt(v), le);
  return out;
}

function shdr(e: ElfFile, bytes: Uint8Array, index: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  return Number(dv.getBigUint64(40, e.littleEndian)) + index * 64;
}

describe("parseElf on the committed global_data objects", () => {
  for (const [path, le] of [
    [LE, true],
    [BE, false],
  ] as const) {
    test(`${path}: header, sections, symbols and relocations`, () => {
      const bytes = fixture(path);
      const e = parseElf(bytes, "global_data.o");
      assert.equal(e.name, "global_data.o");
      assert.equal(e.littleEndian, le);
      assert.equal(e.machine, EM_BPF);
      assert.equal(e.sections.length, 30);
      assert.equal(e.sections[0].name, "");
      const socket = e.sectionByName("socket")!;
      assert.equal(socket.index, 3);
      assert.equal(socket.size, 224);
      assert.equal(socket.flags, SHF_ALLOC | SHF_EXECINSTR);
      assert.equal(socket.data.length, 224);
      assert.equal(socket.data.buffer, bytes.buffer, "section data is a view of the file");
      const bss = e.sectionByName(".bss")!;
      assert.equal(bss.type, SHT_NOBITS);
      assert.equal(bss.size, 8);
      assert.equal(bss.data.length, 0);
      assert.equal(e.sectionByName(".data")!.size, 12);
      assert.equal(e.sectionByName(".symtab")!.type, SHT_SYMTAB);
      assert.equal(e.sectionByName("nope"), undefined);
      const byName = new Map(e.symbols.map((s) => [s.name, s]));
      const fn = byName.get("global_data")!;
      assert.equal(fn.type, STT_FUNC);
      assert.equal(fn.bind, STB_GLOBAL);
      assert.equal(fn.shndx, 3);
      assert.equal(fn.size, 224n);
      const tag = byName.get("tag")!;
      assert.equal(tag.type, STT_OBJECT);
      assert.equal(tag.value, 8n);
      assert.equal(e.sections[tag.shndx].name, ".data");
      assert.equal(byName.get("global_data.bpf.c")!.shndx, SHN_ABS);
      assert.equal(e.symbols[2].type, STT_SECTION);
      const relos = e.relocationsFor(3);
      assert.deepEqual(
        relos.map((r) => [r.offset, r.type, e.symbols[r.sym].name, r.addend]),
        [
          [0x20n, R_BPF_64_64, "seen", 0n],
          [0x58n, R_BPF_64_64, "runs", 0n],
          [0x70n, R_BPF_64_64, "bias", 0n],
          [0x88n, R_BPF_64_64, "factor", 0n],
          [0xb0n, R_BPF_64_64, "tag", 0n],
        ],
      );
      assert.deepEqual(e.relocationsFor(e.sectionByName(".data")!.index), []);
      assert.equal(e.relocationsFor(e.sectionByName(".BTF")!.index).length, 6);
      // relocationsIn: one relocation section's own entries, the same objects
      for (const s of e.sections) {
        const own = e.relocationsIn(s.index);
        if (s.type !== SHT_REL && s.type !== SHT_RELA) assert.deepEqual(own, []);
        else assert.deepEqual(own, e.relocationsFor(s.info));
      }
    });
  }

  test("both byte orders parse to the same sections, symbols and relocations", () => {
    const a = parseElf(fixture(LE), "le");
    const b = parseElf(fixture(BE), "be");
    const view = (e: ElfFile) => ({
      sections: e.sections.map(({ data: _d, ...rest }) => rest),
      symbols: e.symbols,
      relocs: e.sections.map((s) => e.relocationsFor(s.index)),
    });
    assert.deepEqual(view(a), view(b));
  });
});

describe("parseElf on hand-built objects", () => {
  const sym = (name: number, info: number, shndx: number, value = 0n): Uint8Array => {
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, name, true);
    dv.setUint8(4, info);
    dv.setUint16(6, shndx, true);
    dv.setBigUint64(8, value, true);
    return b;
  };
  const cat = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };

  test("SHT_RELA: addends read as signed 64-bit; two relocation sections for one target", () => {
    const rela = new Uint8Array(48);
    const dv = new DataView(rela.buffer);
    dv.setBigUint64(0, 8n, true);
    dv.setBigUint64(8, (1n << 32n) | 2n, true);
    dv.setBigInt64(16, -16n, true);
    dv.setBigUint64(24, 16n, true);
    dv.setBigUint64(32, (1n << 32n) | 3n, true);
    dv.setBigInt64(40, 5n, true);
    const rel = new Uint8Array(16);
    new DataView(rel.buffer).setBigUint64(8, (1n << 32n) | 10n, true);
    const strtab = new TextEncoder().encode("\0x\0");
    const bytes = buildElf([
      { name: ".text", type: 1, data: new Uint8Array(32) }, // 1
      { name: ".strtab", type: SHT_STRTAB, data: strtab }, // 2
      {
        name: ".symtab",
        type: SHT_SYMTAB,
        data: cat(sym(0, 0, 0), sym(1, 0x12, 1)),
        entsize: 24,
        link: 2,
      }, // 3
      {
        name: ".rela.text",
        type: SHT_RELA,
        data: rela,
        entsize: 24,
        link: 3,
        info: 1,
        flags: SHF_INFO_LINK,
      }, // 4
      { name: ".rel.text", type: SHT_REL, data: rel, entsize: 16, link: 3, info: 1 }, // 5
    ]);
    const e = parseElf(bytes, "hand.o");
    assert.deepEqual(e.relocationsFor(1), [
      { offset: 8n, type: 2, sym: 1, addend: -16n },
      { offset: 16n, type: 3, sym: 1, addend: 5n },
      { offset: 0n, type: 10, sym: 1, addend: 0n },
    ]);
    assert.equal(e.symbols[1].name, "x");
    assert.equal(e.sections[5].name, ".rel.text");
    // relocationsIn keeps each relocation section's entries apart
    assert.deepEqual(e.relocationsIn(4), e.relocationsFor(1).slice(0, 2));
    assert.deepEqual(e.relocationsIn(5), [{ offset: 0n, type: 10, sym: 1, addend: 0n }]);
    assert.deepEqual(e.relocationsIn(1), []);
  });

  test("an object without a symbol table has no symbols; EM_NONE is accepted as libbpf does", () => {
    const e = parseElf(
      buildElf([{ name: "prog", type: 1, data: new Uint8Array(8) }], { machine: 0 }),
      "n.o",
    );
    assert.deepEqual(e.symbols, []);
    assert.equal(e.machine, 0);
    assert.equal(e.sections.length, 3);
  });

  test("extended numbering: e_shnum 0 and e_shstrndx SHN_XINDEX point into section header 0", () => {
    const bytes = buildElf([
      { name: "a", type: 1, data: new Uint8Array(4) },
      { name: "b", type: 1, data: new Uint8Array(4) },
    ]);
    const dv = new DataView(bytes.buffer);
    const shoff = Number(dv.getBigUint64(40, true));
    const shnum = dv.getUint16(60, true);
    const shstrndx = dv.getUint16(62, true);
    dv.setUint16(60, 0, true);
    dv.setUint16(62, 0xffff, true);
    dv.setBigUint64(shoff + 32, BigInt(shnum), true);
    dv.setUint32(shoff + 40, shstrndx, true);
    const e = parseElf(bytes, "x.o");
    assert.deepEqual(
      e.sections.map((s) => s.name),
      ["", "a", "b", ".shstrtab"],
    );
    dv.setBigUint64(shoff + 32, 0n, true);
    expectElfError(() => parseElf(bytes, "x.o"), "ELF_BAD_HEADER", "extended section count");
  });

  test("big-endian hand-built object", () => {
    const e = parseElf(
      buildElf([{ name: ".bss", type: SHT_NOBITS, size: 64, flags: SHF_WRITE | SHF_ALLOC }], {
        littleEndian: false,
      }),
      "be.o",
    );
    assert.equal(e.littleEndian, false);
    assert.equal(e.sectionByName(".bss")!.size, 64);
    assert.equal(e.sectionByName(".bss")!.flags, SHF_WRITE | SHF_ALLOC);
  });
});

describe("malformed objects throw ElfError with a code, the section and the offset", () => {
  const good = fixture(LE);
  const e = parseElf(good, "g.o");
  const relsocket = e.sectionByName(".relsocket")!;
  const symtab = e.sectionByName(".symtab")!;
  const btf = e.sectionByName(".BTF")!;

  test("header: not ELF, not 64-bit, bad ident, not BPF, not relocatable, truncated", () => {
    expectElfError(() => parseElf(new Uint8Array(0), "empty.o"), "ELF_NOT_ELF", "empty.o");
    expectElfError(() => parseElf(patched(good, 0, 1, 0), "x.o"), "ELF_NOT_ELF", "offset 0x0");
    expectElfError(() => parseElf(patched(good, 4, 1, 1), "x.o"), "ELF_NOT_64BIT", "offset 0x4");
    expectElfError(() => parseElf(patched(good, 5, 1, 3), "x.o"), "ELF_BAD_IDENT", "offset 0x5");
    expectElfError(() => parseElf(patched(good, 6, 1, 0), "x.o"), "ELF_BAD_IDENT", "offset 0x6");
    expectElfError(
      () => parseElf(patched(good, 18, 2, 62), "x.o"),
      "ELF_NOT_BPF",
      "e_machine is 62",
    );
    expectElfError(
      () => parseElf(patched(good, 16, 2, 2), "x.o"),
      "ELF_NOT_RELOCATABLE",
      "offset 0x10",
    );
    expectElfError(() => parseElf(good.subarray(0, 40), "x.o"), "ELF_TRUNCATED", "ELF header");
    expectElfError(() => parseElf(good.subarray(0, 10), "x.o"), "ELF_TRUNCATED");
    expectElfError(() => parseElf(good.subarray(0, good.length - 1), "x.o"), "ELF_TRUNCATED");
    expectElfError(() => parseElf(patched(good, 52, 2, 52), "x.o"), "ELF_BAD_HEADER", "e_ehsize");
    expectElfError(
      () => parseElf(patched(good, 58, 2, 40), "x.o"),
      "ELF_BAD_HEADER",
      "e_shentsize",
    );
    expectElfError(
      () => parseElf(patched(good, 62, 2, 300), "x.o"),
      "ELF_BAD_HEADER",
      "e_shstrndx",
    );
    expectElfError(() => parseElf(patched(good, 62, 2, 3), "x.o"), "ELF_BAD_HEADER", "SHT_STRTAB");
    expectElfError(() => parseElf(patched(good, 40, 8, 0n), "x.o"), "ELF_BAD_HEADER", "e_shoff");
    expectElfError(() => parseElf(patched(good, 40, 8, 1n << 62n), "x.o"), "ELF_TRUNCATED");
  });

  test("a section's data out of the file names the section index and header offset", () => {
    const h = shdr(e, good, btf.index);
    const err = expectElfError(
      () => parseElf(patched(good, h + 24, 8, BigInt(good.length - 4)), "x.o"),
      "ELF_SECTION_OUT_OF_FILE",
      `section ${btf.index}`,
      `0x${(h + 24).toString(16)}`,
    );
    assert.equal(err.section, btf.index);
    assert.equal(err.offset, h + 24);
    expectElfError(
      () => parseElf(patched(good, h + 32, 8, 0xffffffffffffffffn), "x.o"),
      "ELF_SECTION_OUT_OF_FILE",
    );
    // SHT_NOBITS sizes are not file ranges
    const bss = e.sectionByName(".bss")!;
    assert.equal(
      parseElf(patched(good, shdr(e, good, bss.index) + 32, 8, 1n << 40n), "x.o").sections[
        bss.index
      ].size,
      2 ** 40,
    );
  });

  test("strings: section name outside .strtab, symbol name not NUL-terminated", () => {
    const strtab = e.sections[symtab.link];
    expectElfError(
      () => parseElf(patched(good, shdr(e, good, 5), 4, strtab.size + 10), "x.o"),
      "ELF_BAD_STRING",
      "section 5",
    );
    // cut .strtab so that its last string loses its NUL
    const cut = patched(good, shdr(e, good, strtab.index) + 32, 8, BigInt(strtab.size - 1));
    const err = expectElfError(() => parseElf(cut, "x.o"), "ELF_BAD_STRING", "not NUL-terminated");
    assert.ok(err.section >= 0);
  });

  test("symbol table: wrong entsize, size not a multiple, bad link, a second symtab", () => {
    const h = shdr(e, good, symtab.index);
    expectElfError(
      () => parseElf(patched(good, h + 56, 8, 16n), "x.o"),
      "ELF_BAD_SYMTAB",
      "sh_entsize is 16",
      ".symtab",
    );
    expectElfError(
      () => parseElf(patched(good, h + 32, 8, BigInt(symtab.size - 1)), "x.o"),
      "ELF_BAD_SYMTAB",
      "multiple",
    );
    expectElfError(() => parseElf(patched(good, h + 40, 4, 3), "x.o"), "ELF_BAD_LINK", "sh_link 3");
    expectElfError(() => parseElf(patched(good, h + 40, 4, 999), "x.o"), "ELF_BAD_LINK");
    expectElfError(
      () => parseElf(patched(good, shdr(e, good, 5) + 4, 4, SHT_SYMTAB), "x.o"),
      "ELF_BAD_SYMTAB",
      "second",
    );
  });

  test("relocations: target section out of range, bad entsize, symbol index out of range, bad link", () => {
    const h = shdr(e, good, relsocket.index);
    const err = expectElfError(
      () => parseElf(patched(good, h + 44, 4, 77), "x.o"),
      "ELF_BAD_RELOC",
      ".relsocket",
      "sh_info 77",
    );
    assert.equal(err.section, relsocket.index);
    expectElfError(() => parseElf(patched(good, h + 44, 4, 0), "x.o"), "ELF_BAD_RELOC");
    expectElfError(
      () => parseElf(patched(good, h + 56, 8, 24n), "x.o"),
      "ELF_BAD_RELOC",
      "sh_entsize",
    );
    expectElfError(
      () => parseElf(patched(good, h + 32, 8, 24n), "x.o"),
      "ELF_BAD_RELOC",
      "multiple",
    );
    expectElfError(() => parseElf(patched(good, h + 40, 4, 1), "x.o"), "ELF_BAD_LINK");
    // entry 2's r_info symbol (high 32 bits of r_info, little endian: bytes 12..15)
    const at = relsocket.offset + 2 * 16 + 12;
    const bad = expectElfError(
      () => parseElf(patched(good, at, 4, 19), "x.o"),
      "ELF_BAD_SYMBOL_INDEX",
      "entry 2",
      `0x${(at - 4).toString(16)}`,
    );
    assert.equal(bad.section, relsocket.index);
    // index 18 is the last symbol: still fine
    assert.equal(parseElf(patched(good, at, 4, 18), "x.o").relocationsFor(3)[2].sym, 18);
  });
});

/** What llvm-readelf prints, reduced to what our model holds. */
function readelfView(path: string) {
  const text = runTool("llvm-readelf", ["-S", "-s", "-r", path]).toString();
  const lines = text.split("\n");
  const flagBits: Record<string, bigint> = {
    W: SHF_WRITE,
    A: SHF_ALLOC,
    X: SHF_EXECINSTR,
    M: SHF_MERGE,
    S: SHF_STRINGS,
    I: SHF_INFO_LINK,
    E: SHF_EXCLUDE,
  };
  const types: Record<string, number> = {
    NULL: 0,
    PROGBITS: 1,
    SYMTAB: 2,
    STRTAB: 3,
    RELA: 4,
    NOBITS: 8,
    REL: 9,
    LLVM_ADDRSIG: 0x6fff4c03,
  };
  const sections: unknown[] = [];
  const symbols: unknown[] = [];
  const relocs = new Map<string, unknown[]>();
  let current: unknown[] | null = null;
  for (const line of lines) {
    const sm = /^\s+\[\s*(\d+)\]\s(.*)$/.exec(line);
    if (sm) {
      const toks = sm[2].trim().split(/\s+/);
      const addr = toks.findIndex((t) => /^[0-9a-f]{16}$/.test(t));
      const name = addr === 2 ? toks[0] : "";
      const type = toks[addr - 1];
      const [off, size, es] = toks.slice(addr + 1, addr + 4).map((t) => Number.parseInt(t, 16));
      const rest = toks.slice(addr + 4);
      const flags = rest.length === 4 ? rest.shift()! : "";
      const [link, info, align] = rest.map(Number);
      let f = 0n;
      for (const c of flags) f |= flagBits[c];
      assert.ok(type in types, `type ${type}`);
      sections.push({
        index: Number(sm[1]),
        name,
        type: types[type],
        offset: off,
        size,
        entsize: es,
        flags: f,
        link,
        info,
        addralign: align,
      });
      continue;
    }
    const ym = /^\s+(\d+): ([0-9a-f]{16})\s+(\d+) (\w+)\s+(\w+)\s+(\w+)\s+(\w+) ?(.*)$/.exec(line);
    if (ym) {
      const ndx =
        ym[7] === "UND" ? 0 : ym[7] === "ABS" ? 0xfff1 : ym[7] === "COM" ? 0xfff2 : Number(ym[7]);
      symbols.push({
        index: Number(ym[1]),
        value: BigInt(`0x${ym[2]}`),
        size: BigInt(ym[3]),
        type: ["NOTYPE", "OBJECT", "FUNC", "SECTION", "FILE"].indexOf(ym[4]),
        bind: ["LOCAL", "GLOBAL", "WEAK"].indexOf(ym[5]),
        visibility: ["DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED"].indexOf(ym[6]),
        shndx: ndx,
        name: ym[8],
      });
      continue;
    }
    const rs = /^Relocation section '([^']+)'/.exec(line);
    if (rs) {
      current = [];
      relocs.set(rs[1], current);
      continue;
    }
    const rm = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)/.exec(line);
    if (rm && current) {
      const info = BigInt(`0x${rm[2]}`);
      current.push({
        offset: BigInt(`0x${rm[1]}`),
        sym: Number(info >> 32n),
        type: Number(info & 0xffffffffn),
      });
    }
  }
  return { sections, symbols, relocs };
}

function ourView(e: ElfFile) {
  const relocs = new Map<string, unknown[]>();
  for (const s of e.sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    // one relocation section per target in clang output
    relocs.set(
      s.name,
      e.relocationsFor(s.info).map(({ offset, sym, type }) => ({ offset, sym, type })),
    );
  }
  return {
    sections: e.sections.map(({ data: _d, ...s }) => s),
    // llvm-readelf shows a section symbol under its section's name
    symbols: e.symbols.map((s) => ({
      index: s.index,
      value: s.value,
      size: s.size,
      type: s.type,
      bind: s.bind,
      visibility: s.visibility,
      shndx: s.shndx,
      name: s.type === STT_SECTION && s.name === "" ? e.sections[s.shndx].name : s.name,
    })),
    relocs,
  };
}

describe("parseElf agrees with llvm-readelf -S -s -r", () => {
  const objects: [string, () => string][] = [
    ["fixture global_data.bpfel.o", () => fixturePath(LE)],
    ["fixture global_data.bpfeb.o", () => fixturePath(BE)],
    // weak and hidden symbols, undefined externs, several program sections
    ["fixture btf/externs.bpfel.o", () => fixturePath("btf/externs.bpfel.o")],
    ["fixture btf/externs.bpfeb.o", () => fixturePath("btf/externs.bpfeb.o")],
    ["fixture btf/dump_vars.bpfel.o", () => fixturePath("btf/dump_vars.bpfel.o")],
  ];
  for (const prog of ["const_ret", "array_count", "global_data"]) {
    for (const target of ["bpfel", "bpfeb"] as const) {
      objects.push([
        `bpf/${prog}.bpf.c (clang -target ${target})`,
        () => compileBpfC(join(REPO_ROOT, "bpf", `${prog}.bpf.c`), target),
      ]);
    }
  }
  for (const [label, path] of objects) {
    test(label, (t) => {
      const why = readelfMissing() ?? (label.startsWith("fixture") ? null : clangMissing());
      if (why) return t.skip(why);
      const p = path();
      const ours = ourView(parseElf(new Uint8Array(readFileSync(p)), p));
      const theirs = readelfView(p);
      assert.ok(theirs.sections.length > 10);
      assert.deepEqual(ours.sections, theirs.sections);
      assert.deepEqual(ours.symbols, theirs.symbols);
      assert.deepEqual(ours.relocs, theirs.relocs);
    });
  }
});
