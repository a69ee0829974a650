/**
 * ELF64 reader for BPF objects: what clang writes for `-target bpf` (relocatable, EM_BPF, little
 * or big endian). It reads the header, the section headers and their names, the `.symtab`
 * symbols and the SHT_REL / SHT_RELA relocations, grouped by the section they apply to.
 *
 * The parser checks what libbpf's `bpf_object__elf_init` / `bpf_object__elf_collect` rely on and
 * a bit more: every offset, size and string index is checked against the file before it is used.
 * A malformed file throws an `ElfError` with a stable `code`; it never throws anything else.
 * Section data are views of the input (no copies).
 */

import { UTF8_DECODER } from "../uapi/layout.js";

/** ELF section types (`sh_type`). */
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;

/** Section flags (`sh_flags`). */
export const SHF_WRITE = 0x1n;
export const SHF_ALLOC = 0x2n;
export const SHF_EXECINSTR = 0x4n;
export const SHF_MERGE = 0x10n;
export const SHF_STRINGS = 0x20n;
export const SHF_INFO_LINK = 0x40n;
export const SHF_EXCLUDE = 0x80000000n;

/** Symbol bindings (`ELF64_ST_BIND`). */
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

/** Symbol types (`ELF64_ST_TYPE`). */
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;

/** Symbol visibilities (`ELF64_ST_VISIBILITY`). */
export const STV_DEFAULT = 0;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;
export const STV_PROTECTED = 3;

/** Special section indices. */
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

/** Object file types (`e_type`). */
export const ET_NONE = 0;
export const ET_REL = 1;

/** Machines (`e_machine`). libbpf also accepts EM_NONE from old compilers. */
export const EM_NONE = 0;
export const EM_BPF = 247;

/** BPF relocation types. */
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_ABS64 = 2;
export const R_BPF_64_ABS32 = 3;
export const R_BPF_64_NODYLD32 = 4;
export const R_BPF_64_32 = 10;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;

/** A section header with its data (a view of the file; empty for SHT_NOBITS). */
export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** subarray view of the file; zero-length for SHT_NOBITS */
  data: Uint8Array;
}

/** One `.symtab` entry, with its name resolved through the linked string table. */
export interface ElfSymbol {
  index: number;
  name: string;
  value: bigint;
  size: bigint;
  bind: number;
  type: number;
  visibility: number;
  shndx: number;
}

/** One relocation entry; `addend` is 0n for SHT_REL. */
export interface ElfRel {
  offset: bigint;
  type: number;
  sym: number;
  addend: bigint;
}

/** A parsed ELF relocatable object. */
export interface ElfFile {
  name: string;
  littleEndian: boolean;
  machine: number;
  type: number;
  flags: number;
  /** by index, [0] = null section */
  sections: ElfSection[];
  /** .symtab, [0] = null symbol; empty when the object has no symbol table */
  symbols: ElfSymbol[];
  /** the first section with this name */
  sectionByName(name: string): ElfSection | undefined;
  /** relocations that apply to section `target` (from its SHT_REL/SHT_RELA section(s)) */
  relocationsFor(target: number): ElfRel[];
  /** the entries of the SHT_REL/SHT_RELA section `relSec`, in file order ([] for other sections) */
  relocationsIn(relSec: number): ElfRel[];
}

/** Stable codes of `ElfError`. */
export type ElfErrorCode =
  /** no ELF magic */
  | "ELF_NOT_ELF"
  /** EI_CLASS is not ELFCLASS64 */
  | "ELF_NOT_64BIT"
  /** EI_DATA is neither little nor big endian, or EI_VERSION is not 1 */
  | "ELF_BAD_IDENT"
  /** e_machine is neither EM_BPF nor EM_NONE */
  | "ELF_NOT_BPF"
  /** e_type is not ET_REL */
  | "ELF_NOT_RELOCATABLE"
  /** the file ends inside the ELF header or the section header table */
  | "ELF_TRUNCATED"
  /** inconsistent header fields (e_ehsize, e_shentsize, e_shstrndx, section count) */
  | "ELF_BAD_HEADER"
  /** a section's offset + size is past the end of the file */
  | "ELF_SECTION_OUT_OF_FILE"
  /** a name offset outside its string table, or a string that is not NUL-terminated */
  | "ELF_BAD_STRING"
  /** sh_link names a section that does not exist or is not of the needed type */
  | "ELF_BAD_LINK"
  /** a symbol table with a wrong entsize or size, or a second symbol table */
  | "ELF_BAD_SYMTAB"
  /** a relocation section with a wrong entsize/size or a target section that does not exist */
  | "ELF_BAD_RELOC"
  /** a relocation names a symbol index past the end of the symbol table */
  | "ELF_BAD_SYMBOL_INDEX";

/** A malformed ELF object. The message names the object, the section and the byte offset. */
export class ElfError extends Error {
  override readonly name = "ElfError";
  readonly code: ElfErrorCode;
  /** the object's name as the caller gave it */
  readonly object: string;
  /** the section index the error applies to, or -1 for the file header */
  readonly section: number;
  /** byte offset in the file */
  readonly offset: number;

  constructor(
    code: ElfErrorCode,
    object: string,
    where: string,
    section: number,
    offset: number,
    detail: string,
  ) {
    super(`${object}: ${where} at offset 0x${offset.toString(16)}: ${detail}`);
    this.code = code;
    this.object = object;
    this.section = section;
    this.offset = offset;
  }
}

function toNumber(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

class ParsedElf implements ElfFile {
  readonly name: string;
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly type: number;
  readonly flags: number;
  readonly sections: ElfSection[];
  readonly symbols: ElfSymbol[];
  private readonly relocs: Map<number, ElfRel[]>;
  private readonly relocsBySec: Map<number, ElfRel[]>;

  constructor(
    name: string,
    littleEndian: boolean,
    machine: number,
    type: number,
    flags: number,
    sections: ElfSection[],
    symbols: ElfSymbol[],
    relocs: Map<number, ElfRel[]>,
    relocsBySec: Map<number, ElfRel[]>,
  ) {
    this.name = name;
    this.littleEndian = littleEndian;
    this.machine = machine;
    this.type = type;
    this.flags = flags;
    this.sections = sections;
    this.symbols = symbols;
    this.relocs = relocs;
    this.relocsBySec = relocsBySec;
  }

  sectionByName(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.index !== 0 && s.name === name);
  }

  relocationsFor(target: number): ElfRel[] {
    return this.relocs.get(target) ?? [];
  }

  relocationsIn(relSec: number): ElfRel[] {
    return this.relocsBySec.get(relSec) ?? [];
  }
}

/** How errors name a section: its index, and its name when it has one. */
function label(s: ElfSection): string {
  return s.name ? `section ${s.index} (${s.name})` : `section ${s.index}`;
}

/**
 * A table section (symbols, relocations): its sh_entsize must be the record size and its
 * sh_size a whole number of records. `h` is the section header's file offset.
 */
function checkTableSection(
  name: string,
  sec: ElfSection,
  h: number,
  entSize: number,
  code: "ELF_BAD_SYMTAB" | "ELF_BAD_RELOC",
): void {
  if (sec.entsize !== entSize)
    throw new ElfError(
      code,
      name,
      label(sec),
      sec.index,
      h + 56,
      `sh_entsize is ${sec.entsize}, not ${entSize}`,
    );
  if (sec.size % entSize !== 0)
    throw new ElfError(
      code,
      name,
      label(sec),
      sec.index,
      h + 32,
      `sh_size ${sec.size} is not a multiple of ${entSize}`,
    );
}

/**
 * Parses an ELF64 BPF relocatable object. `name` is used in error messages only.
 * Throws `ElfError` (code `ELF_*`) on any malformation.
 */
export function parseElf(bytes: Uint8Array, name: string): ElfFile {
  const fileErr = (code: ElfErrorCode, offset: number, detail: string): ElfError =>
    new ElfError(code, name, "ELF header", -1, offset, detail);

  if (
    bytes.length < 4 ||
    bytes[0] !== 0x7f ||
    bytes[1] !== 0x45 ||
    bytes[2] !== 0x4c ||
    bytes[3] !== 0x46
  ) {
    throw fileErr("ELF_NOT_ELF", 0, "no ELF magic (\\x7fELF)");
  }
  if (bytes.length < 16) throw fileErr("ELF_TRUNCATED", 4, "file ends inside e_ident");
  if (bytes[4] !== 2) {
    throw fileErr("ELF_NOT_64BIT", 4, `EI_CLASS is ${bytes[4]}, not ELFCLASS64 (2)`);
  }
  if (bytes[5] !== 1 && bytes[5] !== 2) {
    throw fileErr("ELF_BAD_IDENT", 5, `EI_DATA is ${bytes[5]}, neither LSB (1) nor MSB (2)`);
  }
  if (bytes[6] !== 1) throw fileErr("ELF_BAD_IDENT", 6, `EI_VERSION is ${bytes[6]}, not 1`);
  const le = bytes[5] === 1;
  if (bytes.length < EHDR_SIZE) {
    throw fileErr(
      "ELF_TRUNCATED",
      bytes.length,
      `file is ${bytes.length} bytes, shorter than the 64-byte ELF64 header`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number): number => dv.getUint16(o, le);
  const u32 = (o: number): number => dv.getUint32(o, le);
  const u64 = (o: number): bigint => dv.getBigUint64(o, le);

  const type = u16(16);
  const machine = u16(18);
  if (machine !== EM_BPF && machine !== EM_NONE) {
    throw fileErr("ELF_NOT_BPF", 18, `e_machine is ${machine}, not EM_BPF (247)`);
  }
  if (type !== ET_REL) {
    throw fileErr("ELF_NOT_RELOCATABLE", 16, `e_type is ${type}, not ET_REL (1)`);
  }
  const flags = u32(48);
  const ehsize = u16(52);
  if (ehsize !== EHDR_SIZE) {
    throw fileErr("ELF_BAD_HEADER", 52, `e_ehsize is ${ehsize}, not ${EHDR_SIZE}`);
  }
  const shoffBig = u64(40);
  let shnum = u16(60);
  let shstrndx = u16(62);
  const shentsize = u16(58);
  if (shoffBig === 0n) {
    if (shnum !== 0) {
      throw fileErr("ELF_BAD_HEADER", 40, `e_shoff is 0 but e_shnum is ${shnum}`);
    }
    throw fileErr("ELF_BAD_HEADER", 40, "no section header table (e_shoff is 0)");
  }
  if (shentsize !== SHDR_SIZE) {
    throw fileErr("ELF_BAD_HEADER", 58, `e_shentsize is ${shentsize}, not ${SHDR_SIZE}`);
  }
  if (shoffBig > BigInt(bytes.length) - BigInt(SHDR_SIZE)) {
    throw fileErr(
      "ELF_TRUNCATED",
      40,
      `section header table at 0x${shoffBig.toString(16)} is past the end of the ${bytes.length}-byte file`,
    );
  }
  const shoff = Number(shoffBig);
  // Extended numbering: e_shnum 0 / e_shstrndx SHN_XINDEX mean "see section header 0".
  if (shnum === 0) {
    const big = u64(shoff + 32);
    if (big === 0n || big > BigInt(bytes.length)) {
      throw fileErr("ELF_BAD_HEADER", shoff + 32, `extended section count ${big} is impossible`);
    }
    shnum = Number(big);
  }
  if (shstrndx === SHN_XINDEX) shstrndx = u32(shoff + 40);
  if (shoff + shnum * SHDR_SIZE > bytes.length) {
    throw fileErr(
      "ELF_TRUNCATED",
      shoff,
      `${shnum} section headers at 0x${shoff.toString(16)} run past the end of the ${bytes.length}-byte file`,
    );
  }
  if (shstrndx === SHN_UNDEF || shstrndx >= shnum) {
    throw fileErr(
      "ELF_BAD_HEADER",
      62,
      `e_shstrndx ${shstrndx} is not a section (there are ${shnum})`,
    );
  }

  // Raw section headers.
  const sections: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * SHDR_SIZE;
    const stype = u32(h + 4);
    const offBig = u64(h + 24);
    const sizeBig = u64(h + 32);
    const offset = toNumber(offBig);
    const size = toNumber(sizeBig);
    let data = bytes.subarray(0, 0);
    if (stype !== SHT_NOBITS && stype !== SHT_NULL && sizeBig > 0n) {
      if (offBig > BigInt(bytes.length) || sizeBig > BigInt(bytes.length) - offBig) {
        throw new ElfError(
          "ELF_SECTION_OUT_OF_FILE",
          name,
          `section ${i} header`,
          i,
          h + 24,
          `data 0x${offBig.toString(16)}+0x${sizeBig.toString(16)} runs past the end of the ${bytes.length}-byte file`,
        );
      }
      data = bytes.subarray(offset, offset + size);
    }
    sections.push({
      index: i,
      name: "",
      type: stype,
      flags: u64(h + 8),
      offset,
      size,
      link: u32(h + 40),
      info: u32(h + 44),
      addralign: toNumber(u64(h + 48)),
      entsize: toNumber(u64(h + 56)),
      data,
    });
  }

  /** Reads a NUL-terminated string at `off` of string table `tab`. */
  const strAt = (tab: ElfSection, off: number, where: string, at: number, sec: number): string => {
    if (off >= tab.data.length) {
      if (off === 0 && tab.data.length === 0) return "";
      throw new ElfError(
        "ELF_BAD_STRING",
        name,
        where,
        sec,
        at,
        `name offset ${off} is outside ${label(tab)} of ${tab.data.length} bytes`,
      );
    }
    const end = tab.data.indexOf(0, off);
    if (end < 0) {
      throw new ElfError(
        "ELF_BAD_STRING",
        name,
        where,
        sec,
        at,
        `string at ${off} of ${label(tab)} is not NUL-terminated`,
      );
    }
    return UTF8_DECODER.decode(tab.data.subarray(off, end));
  };

  // Section names.
  const shstr = sections[shstrndx];
  if (shstr.type !== SHT_STRTAB) {
    throw fileErr(
      "ELF_BAD_HEADER",
      62,
      `e_shstrndx ${shstrndx} names a section of type ${shstr.type}, not SHT_STRTAB`,
    );
  }
  for (const s of sections) {
    const h = shoff + s.index * SHDR_SIZE;
    s.name = strAt(shstr, u32(h), `section ${s.index} header`, h, s.index);
  }

  // Symbol table.
  let symtab: ElfSection | undefined;
  for (const s of sections) {
    if (s.type !== SHT_SYMTAB) continue;
    if (symtab) {
      throw new ElfError(
        "ELF_BAD_SYMTAB",
        name,
        label(s),
        s.index,
        shoff + s.index * SHDR_SIZE,
        `a second symbol table (the first is section ${symtab.index})`,
      );
    }
    symtab = s;
  }
  const symbols: ElfSymbol[] = [];
  if (symtab) {
    const h = shoff + symtab.index * SHDR_SIZE;
    checkTableSection(name, symtab, h, SYM_SIZE, "ELF_BAD_SYMTAB");
    if (symtab.link === 0 || symtab.link >= shnum || sections[symtab.link].type !== SHT_STRTAB) {
      throw new ElfError(
        "ELF_BAD_LINK",
        name,
        label(symtab),
        symtab.index,
        h + 40,
        `sh_link ${symtab.link} is not a string table section`,
      );
    }
    const strtab = sections[symtab.link];
    const n = symtab.size / SYM_SIZE;
    for (let i = 0; i < n; i++) {
      const at = symtab.offset + i * SYM_SIZE;
      const info = bytes[at + 4];
      symbols.push({
        index: i,
        name: strAt(strtab, u32(at), `${label(symtab)} symbol ${i}`, at, symtab.index),
        value: u64(at + 8),
        size: u64(at + 16),
        bind: info >> 4,
        type: info & 0xf,
        visibility: bytes[at + 5] & 0x3,
        shndx: u16(at + 6),
      });
    }
  }

  // Relocations, grouped by target section.
  const relocs = new Map<number, ElfRel[]>();
  const relocsBySec = new Map<number, ElfRel[]>();
  for (const s of sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    const h = shoff + s.index * SHDR_SIZE;
    const rela = s.type === SHT_RELA;
    const ent = rela ? RELA_SIZE : REL_SIZE;
    checkTableSection(name, s, h, ent, "ELF_BAD_RELOC");
    if (s.info === 0 || s.info >= shnum) {
      throw new ElfError(
        "ELF_BAD_RELOC",
        name,
        label(s),
        s.index,
        h + 44,
        `sh_info ${s.info} does not name a section (there are ${shnum})`,
      );
    }
    if (s.link >= shnum || (symtab && s.link !== symtab.index)) {
      throw new ElfError(
        "ELF_BAD_LINK",
        name,
        label(s),
        s.index,
        h + 40,
        `sh_link ${s.link} is not the symbol table`,
      );
    }
    let list = relocs.get(s.info);
    if (!list) {
      list = [];
      relocs.set(s.info, list);
    }
    const own: ElfRel[] = [];
    relocsBySec.set(s.index, own);
    const n = s.size / ent;
    for (let i = 0; i < n; i++) {
      const at = s.offset + i * ent;
      const info = u64(at + 8);
      const sym = Number(info >> 32n);
      if (sym >= symbols.length && !(sym === 0 && symbols.length === 0)) {
        throw new ElfError(
          "ELF_BAD_SYMBOL_INDEX",
          name,
          `${label(s)} entry ${i}`,
          s.index,
          at + 8,
          `symbol index ${sym} is past the end of the symbol table (${symbols.length} symbols)`,
        );
      }
      const rel: ElfRel = {
        offset: u64(at),
        type: Number(info & 0xffffffffn),
        sym,
        addend: rela ? dv.getBigInt64(at + 16, le) : 0n,
      };
      list.push(rel);
      own.push(rel);
    }
  }

  return new ParsedElf(name, le, machine, type, flags, sections, symbols, relocs, relocsBySec);
}
