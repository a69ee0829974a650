/**
 * Opening a BPF object the way libbpf's `bpf_object__open_mem()` does, as pure data:
 *
 *   bpf_object__elf_collect      sections: license, version, programs (one per STT_FUNC symbol of
 *                                each executable section, sorted by section and offset), .maps,
 *                                global data, relocation sections, .BTF / .BTF.ext
 *   bpf_object__collect_externs  extern.ts
 *   bpf_object_fixup_btf         DATASEC sizes and VAR offsets from the ELF, hidden globals
 *                                made static, secinfos sorted by offset
 *   bpf_object__init_maps        map.ts
 *   bpf_object_init_progs        section_def.ts: program type and expected attach type
 *   bpf_object__collect_relos    relo.ts (programs), map.ts (map-in-map / prog-array slots)
 *
 * `openObject(bytes, name, opts)`; `name` is libbpf's object name (bpftool passes the file name
 * without ".bpf.o"/".o"), kept to 15 characters as libbpf does; `opts` carries the generating
 * machine's facts (used at load, asked for only when needed).
 */

import { Btf } from "../btf/btf.js";
import { BtfExt } from "../btf/btf_ext.js";
import type { ElfFile, ElfSection, ElfSymbol } from "../elf/elf.js";
import {
  parseElf,
  SHF_EXECINSTR,
  SHT_LLVM_ADDRSIG,
  SHT_NOBITS,
  SHT_PROGBITS,
  SHT_REL,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FUNC,
  STT_OBJECT,
  STT_SECTION,
  STV_HIDDEN,
  STV_INTERNAL,
} from "../elf/elf.js";
import { bswapInsns, INSN_SIZE } from "../insn/insn.js";
import { fromCString } from "../uapi/layout.js";
import { BtfView, Kind, VarLinkage } from "./btf_view.js";
import { Errno, ObjectError } from "./errors.js";
import { collectExterns, symIsExtern } from "./extern.js";
import {
  collectMapRelos,
  initInternalMap,
  initKconfigMap,
  initStructOpsMaps,
  initUserBtfMaps,
} from "./map.js";
import type { ProgRel } from "./relo.js";
import { collectProgRelos, progIsSubprog, sortRelos } from "./relo.js";
import { findSecDef } from "./section_def.js";
import type { BpfObject, BpfProgram, OpenOptions } from "./types.js";
import { LibbpfMapType, SecType } from "./types.js";

export type { BpfMap, BpfObject, BpfProgram, ExternDesc, OpenOptions } from "./types.js";

const OBJ_NAME_LEN = 16;
const LICENSE_LEN = 64;

function formatErr(
  obj: string,
  section: string,
  off: number,
  detail: string,
  errno: number = -Errno.LIBBPF_FORMAT,
) {
  return new ObjectError("OBJECT_BAD_ELF", obj, section, off, detail, errno);
}

/** libbpf `ignore_elf_section()` */
function ignoreElfSection(sec: ElfSection): boolean {
  if (sec.type === SHT_STRTAB || sec.type === SHT_LLVM_ADDRSIG) return true;
  if (sec.type === SHT_PROGBITS && sec.size === 0 && sec.name === ".text") return true;
  if (sec.name.startsWith(".debug_")) return true;
  if (sec.name.startsWith(".rel")) {
    const rest = sec.name.slice(4);
    if (rest.startsWith(".debug_") || rest === ".BTF" || rest === ".BTF.ext") return true;
  }
  return false;
}

/** Opens a BPF ELF object. Throws `ElfError` for a malformed ELF, `ObjectError` for what libbpf refuses. */
export function openObject(
  bytes: Uint8Array,
  name: string,
  opts: OpenOptions = {},
  path: string = name,
): BpfObject {
  const elf = parseElf(bytes, path);
  const obj: BpfObject = {
    // libbpf keeps at most BPF_OBJ_NAME_LEN - 1 characters of the object name
    name: name.slice(0, OBJ_NAME_LEN - 1),
    path,
    license: "",
    kernVersion: opts.kernelVersion ?? 0,
    littleEndian: elf.littleEndian,
    programs: [],
    maps: [],
    externs: [],
    btf: null,
    btfExt: null,
    secTypes: elf.sections.map(() => SecType.UNUSED),
    secNames: elf.sections.map((s) => s.name),
    textShndx: 0,
    symbolsShndx: 0,
    btfMapsShndx: -1,
    btfMapsSecBtfId: 0,
    arenaDataShndx: 0,
    jumptablesShndx: 0,
    kconfigMapIdx: -1,
    arenaMapIdx: -1,
    hasStOps: false,
    // kept by reference: a caller may pass getters that read a machine fact only when asked
    options: opts,
    loaded: false,
    warnings: [],
  };

  // ---- bpf_object__elf_collect ----
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab || elf.symbols.length === 0)
    throw formatErr(
      path,
      "",
      -1,
      "couldn't find symbol table, stripped object file?",
      -Errno.ENOENT,
    );
  obj.symbolsShndx = symtab.index;
  const symbols = elf.symbols;

  let btfData: Uint8Array | null = null;
  let btfExtData: Uint8Array | null = null;
  let mapsData: Uint8Array | null = null;
  const relSecs: ElfSection[] = [];
  const dataSecs: ElfSection[] = [];

  for (const sec of elf.sections) {
    if (sec.index === 0 || ignoreElfSection(sec)) continue;
    const nm = sec.name;
    if (nm === "license") {
      obj.license = fromCString(sec.data.subarray(0, LICENSE_LEN - 1));
    } else if (nm === "version") {
      if (sec.data.length !== 4) throw formatErr(path, nm, sec.offset, "invalid kver section");
      obj.kernVersion = new DataView(sec.data.buffer, sec.data.byteOffset, 4).getUint32(0, true);
    } else if (nm === "maps") {
      throw new ObjectError(
        "OBJECT_BAD_MAP",
        path,
        nm,
        sec.offset,
        "legacy map definitions in 'maps' section are not supported by libbpf v1.0+",
        -Errno.ENOTSUP,
      );
    } else if (nm === ".maps") {
      obj.btfMapsShndx = sec.index;
      mapsData = sec.data;
    } else if (nm === ".BTF") {
      if (sec.type !== SHT_PROGBITS) throw formatErr(path, nm, sec.offset, ".BTF is not PROGBITS");
      btfData = sec.data;
    } else if (nm === ".BTF.ext") {
      if (sec.type !== SHT_PROGBITS)
        throw formatErr(path, nm, sec.offset, ".BTF.ext is not PROGBITS");
      btfExtData = sec.data;
    } else if (sec.type === SHT_SYMTAB) {
      // already found
    } else if (sec.type === SHT_PROGBITS && sec.size > 0) {
      if (sec.flags & SHF_EXECINSTR) {
        if (nm === ".text") obj.textShndx = sec.index;
        addPrograms(obj, sec, symbols);
      } else if (nm === ".data" || nm.startsWith(".data.")) {
        obj.secTypes[sec.index] = SecType.DATA;
        dataSecs.push(sec);
      } else if (nm === ".rodata" || nm.startsWith(".rodata.")) {
        obj.secTypes[sec.index] = SecType.RODATA;
        dataSecs.push(sec);
      } else if (
        [".struct_ops", ".struct_ops.link", "?.struct_ops", "?.struct_ops.link"].includes(nm)
      ) {
        obj.secTypes[sec.index] = SecType.ST_OPS;
        obj.hasStOps = true;
      } else if (nm === ".addr_space.1") {
        obj.arenaDataShndx = sec.index;
      } else if (nm === ".jumptables") {
        obj.jumptablesShndx = sec.index;
      }
    } else if (sec.type === SHT_REL) {
      // parseElf checked sh_entsize, sh_size and that sh_info names a section
      const tsec = elf.sections[sec.info];
      const execTarget = (tsec.flags & SHF_EXECINSTR) !== 0n;
      const allowed = [
        ".rel.struct_ops",
        ".rel.struct_ops.link",
        ".rel?.struct_ops",
        ".rel?.struct_ops.link",
        ".rel.maps",
      ];
      if (!execTarget && !allowed.includes(nm)) continue;
      obj.secTypes[sec.index] = SecType.RELO;
      relSecs.push(sec);
    } else if (sec.type === SHT_NOBITS && (nm === ".bss" || nm.startsWith(".bss."))) {
      obj.secTypes[sec.index] = SecType.BSS;
      dataSecs.push(sec);
    }
  }

  if (!obj.littleEndian)
    for (const p of obj.programs) bswapInsns(p.insns, 0, p.insns.length / INSN_SIZE);
  obj.programs.sort((a, b) =>
    a.secIdx !== b.secIdx ? a.secIdx - b.secIdx : a.secInsnOff - b.secInsnOff,
  );

  // ---- bpf_object__init_btf ----
  const needsBtf = () => obj.btfMapsShndx >= 0 || obj.hasStOps;
  if (btfData) {
    try {
      obj.btf = new BtfView(Btf.parse(btfData, path));
    } catch (e) {
      if (needsBtf()) throw e;
      obj.btf = null;
      obj.warnings.push(`Error loading ELF section .BTF: ${(e as Error).message}.`);
    }
  } else if (needsBtf()) {
    throw new ObjectError(
      "OBJECT_BAD_BTF",
      path,
      ".BTF",
      -1,
      "BTF is required, but is missing",
      -Errno.ENOENT,
    );
  }
  if (btfExtData && obj.btf) {
    try {
      obj.btfExt = BtfExt.parse(btfExtData, obj.btf.btf, path);
    } catch (e) {
      // libbpf warns and continues without .BTF.ext, unless BTF is required
      if (needsBtf()) throw e;
      obj.btfExt = null;
      obj.warnings.push(
        `Error loading ELF section .BTF.ext: ${(e as Error).message}. Ignored and continue.`,
      );
    }
  }

  // ---- bpf_object__collect_externs / bpf_object_fixup_btf ----
  collectExterns(obj, symbols);
  fixupBtf(obj, elf);

  // ---- bpf_object__init_maps ----
  initUserBtfMaps(obj, mapsData);
  for (const sec of dataSecs) {
    if (sec.size === 0) continue;
    const st = obj.secTypes[sec.index];
    if (st === SecType.DATA)
      initInternalMap(obj, LibbpfMapType.DATA, sec.name, sec.index, sec.data, sec.size);
    else if (st === SecType.RODATA)
      initInternalMap(obj, LibbpfMapType.RODATA, sec.name, sec.index, sec.data, sec.size);
    else initInternalMap(obj, LibbpfMapType.BSS, sec.name, sec.index, null, sec.size);
  }
  initKconfigMap(obj);
  initStructOpsMaps(
    obj,
    elf.sections.filter((s) => obj.secTypes[s.index] === SecType.ST_OPS),
  );

  // ---- bpf_object_init_progs ----
  for (const p of obj.programs) {
    p.secDef = findSecDef(p.secName);
    if (!p.secDef) continue; // libbpf: unrecognized section, the type stays UNSPEC until load
    p.type = p.secDef.progType;
    p.expectedAttachType = p.secDef.expectedAttachType;
  }

  // ---- bpf_object__collect_relos ----
  for (const rs of relSecs) {
    const target = rs.info;
    if (obj.secTypes[target] === SecType.ST_OPS) continue; // struct_ops: refused at load
    const rels = progRels(obj, rs, elf);
    if (target === obj.btfMapsShndx) {
      collectMapRelos(obj, rels, (nm, shndx, value) => {
        const i = obj.programs.findIndex((p) => !progIsSubprog(obj, p) && p.name === nm);
        if (i < 0) return -1;
        const p = obj.programs[i];
        if (p.secIdx !== shndx || p.secInsnOff * INSN_SIZE !== value) return -1;
        return i;
      });
    } else {
      collectProgRelos(obj, rs.name, target, elf.sections[target].size, rels);
    }
  }
  sortRelos(obj);
  return obj;
}

/** The entries of SHT_REL section `rs` (decoded and checked by parseElf) with their symbols. */
function progRels(obj: BpfObject, rs: ElfSection, elf: ElfFile): ProgRel[] {
  const symbols = elf.symbols;
  return elf.relocationsIn(rs.index).map((rel, i) => {
    // parseElf checked rel.sym against the symbol table, which openObject knows is not empty
    const symIdx = rel.sym;
    const sym = symbols[symIdx];
    if (sym.shndx >= obj.secNames.length)
      throw formatErr(
        obj.path,
        rs.name,
        rs.offset + i * 16,
        `corrupted symbol #${symIdx} pointing to invalid section #${sym.shndx} for relo #${i}`,
      );
    const symName =
      sym.type === STT_SECTION && sym.name === "" ? (obj.secNames[sym.shndx] ?? "<?") : sym.name;
    return {
      offset: rel.offset > 0xffffffffn ? 0xffffffff : Number(rel.offset),
      symIdx,
      symName,
      symShndx: sym.shndx,
      symValue: Number(sym.value & 0xffffffffn),
      symType: sym.type,
      symBind: sym.bind,
      isExtern: symIsExtern(sym),
      isSubprogSym:
        sym.shndx === obj.textShndx &&
        ((sym.bind === STB_LOCAL && sym.type === STT_SECTION) ||
          ((sym.bind === STB_GLOBAL || sym.bind === STB_WEAK) && sym.type === STT_FUNC)),
    };
  });
}

/** libbpf `bpf_object__add_programs()` */
function addPrograms(obj: BpfObject, sec: ElfSection, symbols: ElfSymbol[]): void {
  for (const sym of symbols) {
    if (sym.index === 0 || sym.shndx !== sec.index || sym.type !== STT_FUNC) continue;
    const size = Number(sym.size);
    const off = Number(sym.value);
    if (off + size > sec.size || sym.value + sym.size > BigInt(sec.size))
      throw formatErr(obj.path, sec.name, off, `program at offset ${off} crosses section boundary`);
    if (sec.index !== obj.textShndx && sym.bind === STB_LOCAL)
      throw new ObjectError(
        "OBJECT_BAD_PROG",
        obj.path,
        sec.name,
        off,
        `program '${sym.name}' is static and not supported`,
        -Errno.ENOTSUP,
      );
    if (size === 0 || size % INSN_SIZE || off % INSN_SIZE)
      throw new ObjectError(
        "OBJECT_BAD_PROG",
        obj.path,
        sec.name,
        off,
        `corrupted program '${sym.name}', offset ${off}, size ${size}`,
        -Errno.EINVAL,
      );
    const autoload = !sec.name.startsWith("?");
    const symGlobal = sym.bind !== STB_LOCAL;
    const prog: BpfProgram = {
      name: sym.name,
      secName: autoload ? sec.name : sec.name.slice(1),
      secIdx: sec.index,
      secInsnOff: off / INSN_SIZE,
      secInsnCnt: size / INSN_SIZE,
      insns: sec.data.slice(off, off + size),
      type: 0,
      expectedAttachType: 0,
      secDef: undefined,
      autoload,
      symGlobal,
      markBtfStatic:
        symGlobal && (sym.visibility === STV_HIDDEN || sym.visibility === STV_INTERNAL),
      relos: [],
      subInsnOff: 0,
      exceptionCbIdx: -1,
      funcInfo: null,
      funcInfoCnt: 0,
      funcInfoRecSize: 0,
      lineInfo: null,
      lineInfoCnt: 0,
      lineInfoRecSize: 0,
      progFlags: 0,
      attachBtfId: 0,
      attachBtfObjFd: 0,
    };
    obj.programs.push(prog);
  }
}

/** libbpf `bpf_object_fixup_btf()` / `btf_fixup_datasec()` */
function fixupBtf(obj: BpfObject, elf: ElfFile): void {
  const btf = obj.btf;
  if (!btf) return;
  const fail = (secName: string, detail: string, errno: number) =>
    new ObjectError("OBJECT_BAD_BTF", obj.path, ".BTF", -1, `sec '${secName}': ${detail}`, errno);
  for (let id = 1; id < btf.typeCnt; id++) {
    if (btf.kind(id) !== Kind.DATASEC) continue;
    const secName = btf.name(id);
    if (secName !== ".kconfig" && secName !== ".ksyms") {
      let fixupOffsets = false;
      if (btf.sizeOrType(id) === 0) {
        const sec = elf.sectionByName(secName);
        if (!sec || sec.size === 0)
          throw fail(secName, "failed to determine size from ELF", -Errno.ENOENT);
        btf.btf.setDatasecSize(id, sec.size);
        fixupOffsets = true;
      }
      const vsis = btf.secinfos(id);
      for (let i = 0; i < vsis.length; i++) {
        const vt = vsis[i].type;
        if (vt === 0 || vt >= btf.typeCnt || btf.kind(vt) !== Kind.VAR)
          throw fail(secName, "unexpected non-VAR type found", -Errno.EINVAL);
        const linkage = btf.varLinkage(vt);
        if (linkage === VarLinkage.STATIC || linkage === VarLinkage.GLOBAL_EXTERN) continue;
        const varName = btf.name(vt);
        const sym = elf.symbols.find(
          (s) =>
            s.index !== 0 &&
            s.type === STT_OBJECT &&
            (s.bind === STB_GLOBAL || s.bind === STB_WEAK) &&
            s.name === varName,
        );
        if (!sym)
          throw fail(secName, `failed to find ELF symbol for VAR '${varName}'`, -Errno.ENOENT);
        if (fixupOffsets) btf.btf.setVarSecinfoOffset(id, i, Number(sym.value & 0xffffffffn));
        if (sym.visibility === STV_HIDDEN || sym.visibility === STV_INTERNAL)
          btf.btf.setVarLinkage(vt, VarLinkage.STATIC);
      }
    }
    btf.btf.sortDatasecVars(id);
  }
}
