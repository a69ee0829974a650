/**
 * Program relocations, as libbpf collects them at open (`bpf_object__collect_prog_relos`,
 * `bpf_program__record_reloc`) and applies them in gen mode at load (`bpf_object__relocate`):
 *
 *   1. CO-RE records are attached to their instructions (relo_core.ts) and all lists sorted;
 *   2. ld_imm64 instructions loading a subprogram's address are marked BPF_PSEUDO_FUNC;
 *   3. per main program: used subprograms of .text are appended in first-use order (depth first),
 *      their relocations and func_info/line_info appended with adjusted instruction offsets, and
 *      call / BPF_PSEUDO_FUNC immediates pointed at the appended copies; then the exception
 *      callback named by an "exception_callback:" decl tag, if not appended yet;
 *   4. per main program: map references become BPF_PSEUDO_MAP_IDX (imm = map index), global data
 *      BPF_PSEUDO_MAP_IDX_VALUE (imm = map index, insn[1].imm += symbol offset), kconfig externs
 *      point into the .kconfig map, typed ksyms become BPF_PSEUDO_BTF_ID placeholders, kfunc calls
 *      BPF_PSEUDO_KFUNC_CALL with imm 0, typeless ksyms carry their kallsyms address.
 */

import type { BtfExtInfoSec } from "../btf/btf_ext.js";
import { INSN_SIZE } from "../insn/insn.js";
import { CALL, LD_IMM64 } from "../insn/opcode.js";
import { Pseudo } from "../uapi/constants.js";
import { Kind } from "./btf_view.js";
import { Errno, ObjectError } from "./errors.js";
import { recordCoreRelos } from "./relo_core.js";
import type { BpfObject, BpfProgram, ReloDesc } from "./types.js";
import { ExtType, LibbpfMapType, ReloType, SecType } from "./types.js";

// ---- instruction fields (host little-endian layout) ----

function insnCode(insns: Uint8Array, i: number): number {
  return insns[i * INSN_SIZE];
}
function srcReg(insns: Uint8Array, i: number): number {
  return insns[i * INSN_SIZE + 1] >> 4;
}
function dstReg(insns: Uint8Array, i: number): number {
  return insns[i * INSN_SIZE + 1] & 0xf;
}
function offField(insns: Uint8Array, i: number): number {
  const o = i * INSN_SIZE + 2;
  return ((insns[o] | (insns[o + 1] << 8)) << 16) >> 16;
}
function insnImm(insns: Uint8Array, i: number): number {
  const o = i * INSN_SIZE + 4;
  return insns[o] | (insns[o + 1] << 8) | (insns[o + 2] << 16) | (insns[o + 3] << 24);
}
function setSrc(insns: Uint8Array, i: number, src: number): void {
  const o = i * INSN_SIZE + 1;
  insns[o] = (insns[o] & 0x0f) | ((src & 0xf) << 4);
}
function setOff(insns: Uint8Array, i: number, off: number): void {
  const o = i * INSN_SIZE + 2;
  insns[o] = off & 0xff;
  insns[o + 1] = (off >> 8) & 0xff;
}
function setImm(insns: Uint8Array, i: number, imm: number): void {
  const o = i * INSN_SIZE + 4;
  insns[o] = imm & 0xff;
  insns[o + 1] = (imm >>> 8) & 0xff;
  insns[o + 2] = (imm >>> 16) & 0xff;
  insns[o + 3] = (imm >>> 24) & 0xff;
}

function isLdimm64(insns: Uint8Array, i: number): boolean {
  return insnCode(insns, i) === LD_IMM64;
}
function isCall(insns: Uint8Array, i: number): boolean {
  return insnCode(insns, i) === CALL;
}
/** libbpf `insn_is_subprog_call()` */
function isSubprogCall(insns: Uint8Array, i: number): boolean {
  return (
    isCall(insns, i) &&
    srcReg(insns, i) === Pseudo.CALL &&
    dstReg(insns, i) === 0 &&
    offField(insns, i) === 0
  );
}
/** libbpf `insn_is_pseudo_func()` */
function isPseudoFunc(insns: Uint8Array, i: number): boolean {
  return isLdimm64(insns, i) && srcReg(insns, i) === Pseudo.FUNC;
}

/** libbpf `prog_is_subprog()` */
export function progIsSubprog(obj: BpfObject, prog: BpfProgram): boolean {
  return prog.secIdx === obj.textShndx;
}

/** libbpf `find_prog_by_sec_insn()` */
function findProgBySecInsn(
  obj: BpfObject,
  secIdx: number,
  insnIdx: number,
): BpfProgram | undefined {
  let found: BpfProgram | undefined;
  for (const p of obj.programs) {
    if (p.secIdx < secIdx || (p.secIdx === secIdx && p.secInsnOff <= insnIdx)) found = p;
    else break;
  }
  if (
    found &&
    found.secIdx === secIdx &&
    insnIdx >= found.secInsnOff &&
    insnIdx < found.secInsnOff + found.secInsnCnt
  )
    return found;
  return undefined;
}

/** A relocation entry of an SHT_REL section with its symbol resolved. */
export interface ProgRel {
  offset: number;
  symIdx: number;
  symName: string;
  symShndx: number;
  symValue: number;
  symType: number;
  symBind: number;
  isExtern: boolean;
  isSubprogSym: boolean;
}

function newRelo(type: number, insnIdx: number): ReloDesc {
  return { type, insnIdx, mapIdx: -1, symOff: 0, extIdx: -1, coreRelo: null };
}

/** libbpf `bpf_program__record_reloc()` */
function recordReloc(obj: BpfObject, prog: BpfProgram, insnIdx: number, rel: ProgRel): ReloDesc {
  const insns = prog.insns;
  const fail = (detail: string, errno: number = -Errno.LIBBPF_RELOC) =>
    new ObjectError(
      "OBJECT_BAD_RELO",
      obj.path,
      prog.secName,
      (prog.secInsnOff + insnIdx) * INSN_SIZE,
      `prog '${prog.name}': ${detail}`,
      errno,
    );
  if (!isCall(insns, insnIdx) && !isLdimm64(insns, insnIdx))
    throw fail(
      `invalid relo against '${rel.symName}' for insns[${insnIdx}].code 0x${insnCode(insns, insnIdx).toString(16)}`,
    );

  if (rel.isExtern) {
    const i = obj.externs.findIndex((e) => e.symIdx === rel.symIdx);
    if (i < 0) throw fail(`extern relo failed to find extern for '${rel.symName}' (${rel.symIdx})`);
    const r = newRelo(
      isCall(insns, insnIdx) ? ReloType.EXTERN_CALL : ReloType.EXTERN_LD64,
      insnIdx,
    );
    r.extIdx = i;
    return r;
  }
  if (isCall(insns, insnIdx)) {
    if (srcReg(insns, insnIdx) !== Pseudo.CALL) throw fail("incorrect bpf_call opcode");
    if (!rel.symShndx || rel.symShndx !== obj.textShndx)
      throw fail(
        `bad call relo against '${rel.symName}' in section '${obj.secNames[rel.symShndx] ?? "?"}'`,
      );
    if (rel.symValue % INSN_SIZE)
      throw fail(`bad call relo against '${rel.symName}' at offset ${rel.symValue}`);
    const r = newRelo(ReloType.CALL, insnIdx);
    r.symOff = rel.symValue;
    return r;
  }
  if (!rel.symShndx || rel.symShndx >= 0xff00)
    throw fail(
      `invalid relo against '${rel.symName}' in special section 0x${rel.symShndx.toString(16)}; forgot to initialize global var?`,
    );
  if (rel.isSubprogSym) {
    if (rel.symValue % INSN_SIZE || insnImm(insns, insnIdx) % INSN_SIZE)
      throw fail(
        `bad subprog addr relo against '${rel.symName}' at offset ${rel.symValue}+${insnImm(insns, insnIdx)}`,
      );
    const r = newRelo(ReloType.SUBPROG_ADDR, insnIdx);
    r.symOff = rel.symValue;
    return r;
  }
  const secName = obj.secNames[rel.symShndx] ?? "?";
  if (rel.symShndx === obj.arenaDataShndx) {
    if (obj.arenaMapIdx < 0)
      throw fail(`bad arena data relocation at insn ${insnIdx}, no arena maps defined`);
    const r = newRelo(ReloType.DATA, insnIdx);
    r.mapIdx = obj.arenaMapIdx;
    r.symOff = rel.symValue;
    return r;
  }
  if (rel.symShndx === obj.jumptablesShndx) {
    const r = newRelo(ReloType.INSN_ARRAY, insnIdx);
    r.symOff = rel.symValue;
    return r;
  }
  const mapType = sectionToMapType(obj, rel.symShndx);
  if (mapType === LibbpfMapType.UNSPEC) {
    if (rel.symShndx !== obj.btfMapsShndx)
      throw fail(`bad map relo against '${rel.symName}' in section '${secName}'`);
    const idx = obj.maps.findIndex(
      (m) => m.libbpfType === mapType && m.secIdx === rel.symShndx && m.secOffset === rel.symValue,
    );
    if (idx < 0)
      throw fail(`map relo failed to find map for section '${secName}', off ${rel.symValue}`);
    const r = newRelo(ReloType.LD64, insnIdx);
    r.mapIdx = idx;
    return r;
  }
  const st = obj.secTypes[rel.symShndx];
  if (st !== SecType.BSS && st !== SecType.DATA && st !== SecType.RODATA)
    throw fail(`bad data relo against section '${secName}'`);
  const idx = obj.maps.findIndex((m) => m.libbpfType === mapType && m.secIdx === rel.symShndx);
  if (idx < 0) throw fail(`data relo failed to find map for section '${secName}'`);
  const r = newRelo(ReloType.DATA, insnIdx);
  r.mapIdx = idx;
  r.symOff = rel.symValue;
  return r;
}

/** libbpf `bpf_object__section_to_libbpf_map_type()` */
function sectionToMapType(obj: BpfObject, shndx: number): number {
  if (shndx === obj.symbolsShndx) return LibbpfMapType.KCONFIG;
  switch (obj.secTypes[shndx]) {
    case SecType.BSS:
      return LibbpfMapType.BSS;
    case SecType.DATA:
      return LibbpfMapType.DATA;
    case SecType.RODATA:
      return LibbpfMapType.RODATA;
    default:
      return LibbpfMapType.UNSPEC;
  }
}

/** libbpf `bpf_object__collect_prog_relos()` for one SHT_REL section targeting `secIdx`. */
export function collectProgRelos(
  obj: BpfObject,
  relSecName: string,
  secIdx: number,
  secSize: number,
  rels: ProgRel[],
): void {
  rels.forEach((rel, i) => {
    if (rel.offset % INSN_SIZE || rel.offset >= secSize)
      throw new ObjectError(
        "OBJECT_BAD_RELO",
        obj.path,
        relSecName,
        i * 16,
        `invalid offset 0x${rel.offset.toString(16)} for relo #${i}`,
        -Errno.LIBBPF_FORMAT,
      );
    const insnIdx = rel.offset / INSN_SIZE;
    const prog = findProgBySecInsn(obj, secIdx, insnIdx);
    if (!prog) return; // an overridden weak function: libbpf skips it
    prog.relos.push(recordReloc(obj, prog, insnIdx - prog.secInsnOff, rel));
  });
}

/** libbpf `bpf_object__sort_relos()`: by instruction, then relocation type (stable). */
export function sortRelos(obj: BpfObject): void {
  for (const p of obj.programs) {
    p.relos.sort((a, b) => (a.insnIdx !== b.insnIdx ? a.insnIdx - b.insnIdx : a.type - b.type));
  }
}

// ---- .BTF.ext func_info / line_info ----

function extSecIdx(obj: BpfObject, name: string): number {
  if (name === "") return 0;
  const i = obj.secNames.indexOf(name, 1);
  return Math.max(i, 0);
}

/**
 * libbpf `adjust_prog_btf_ext_info()`: appends `prog`'s records to the main program's info,
 * converting byte offsets within the section to instruction offsets within the main program.
 * Returns the new (info, count, recSize) or null for -ENOENT.
 */
function adjustProgBtfExtInfo(
  obj: BpfObject,
  prog: BpfProgram,
  secs: readonly BtfExtInfoSec<{ insnOff: number }>[],
  rs: number,
  cur: Uint8Array | null,
  curCnt: number,
): { data: Uint8Array; cnt: number; recSize: number } | null {
  for (const sec of secs) {
    if (extSecIdx(obj, sec.secName) !== prog.secIdx) continue;
    const recs = sec.decoded;
    const picked: number[] = [];
    let started = false;
    for (let k = 0; k < recs.length; k++) {
      const off = recs[k].insnOff / INSN_SIZE;
      if (off < prog.secInsnOff) {
        if (started) picked.push(k); // libbpf copies the contiguous range
        continue;
      }
      if (off >= prog.secInsnOff + prog.secInsnCnt) break;
      started = true;
      picked.push(k);
    }
    // trailing records below the range inside the copied span were kept above; trim any after last in-range
    while (picked.length && recs[picked[picked.length - 1]].insnOff / INSN_SIZE < prog.secInsnOff)
      picked.pop();
    if (picked.length === 0) return null;
    const oldSz = curCnt * rs;
    const out = new Uint8Array(oldSz + picked.length * rs);
    if (cur) out.set(cur.subarray(0, oldSz));
    const dv = new DataView(out.buffer);
    const adj = prog.subInsnOff - prog.secInsnOff;
    picked.forEach((k, j) => {
      // the host-order record, its insn_off turned into an instruction index in the main program
      out.set(sec.hostRecords[k], oldSz + j * rs);
      dv.setUint32(oldSz + j * rs, (Math.floor(recs[k].insnOff / INSN_SIZE) + adj) >>> 0, true);
    });
    return { data: out, cnt: out.length / rs, recSize: rs };
  }
  return null;
}

/** libbpf `reloc_prog_func_and_line_info()` (FEAT_BTF_FUNC is assumed in gen mode) */
function relocFuncAndLineInfo(obj: BpfObject, main: BpfProgram, prog: BpfProgram): void {
  const ext = obj.btfExt;
  if (!ext) return;
  const missing = (what: string) =>
    new ObjectError(
      "OBJECT_BAD_BTF",
      obj.path,
      prog.secName,
      prog.secInsnOff * INSN_SIZE,
      `prog '${prog.name}': missing .BTF.ext ${what} info`,
      -Errno.ENOENT,
    );
  if (main === prog || main.funcInfo) {
    const r = adjustProgBtfExtInfo(
      obj,
      prog,
      ext.funcInfo,
      ext.funcInfoRecSize,
      main.funcInfo,
      main.funcInfoCnt,
    );
    if (r) {
      main.funcInfo = r.data;
      main.funcInfoCnt = r.cnt;
      main.funcInfoRecSize = r.recSize;
    } else if (main.funcInfo) {
      throw missing("function");
    } else {
      obj.warnings.push(
        `prog '${prog.name}': missing .BTF.ext function info for the main program, skipping all of .BTF.ext func info.`,
      );
    }
  }
  if (main !== prog && !main.lineInfo) return;
  const r = adjustProgBtfExtInfo(
    obj,
    prog,
    ext.lineInfo,
    ext.lineInfoRecSize,
    main.lineInfo,
    main.lineInfoCnt,
  );
  if (r) {
    main.lineInfo = r.data;
    main.lineInfoCnt = r.cnt;
    main.lineInfoRecSize = r.recSize;
  } else if (main.lineInfo) {
    throw missing("line");
  } else {
    obj.warnings.push(
      `prog '${prog.name}': missing .BTF.ext line info for the main program, skipping all of .BTF.ext line info.`,
    );
  }
}

// ---- subprogram calls ----

function findProgInsnRelo(prog: BpfProgram, insnIdx: number): ReloDesc | undefined {
  // libbpf bsearch()es the sorted list; any entry with this insn_idx will do, take the first
  return prog.relos.find((r) => r.insnIdx === insnIdx);
}

/** libbpf `bpf_object__append_subprog_code()` */
function appendSubprogCode(main: BpfProgram, sub: BpfProgram): void {
  sub.subInsnOff = main.insns.length / INSN_SIZE;
  const own = sub.insns.subarray(0, sub.secInsnCnt * INSN_SIZE);
  const next = new Uint8Array(main.insns.length + own.length);
  next.set(main.insns);
  next.set(own, main.insns.length);
  main.insns = next;
  if (main !== sub) {
    for (const r of sub.relos) main.relos.push({ ...r, insnIdx: r.insnIdx + sub.subInsnOff });
  }
}

/** libbpf `bpf_object__reloc_code()` */
function relocCode(obj: BpfObject, main: BpfProgram, prog: BpfProgram): void {
  relocFuncAndLineInfo(obj, main, prog);
  const fail = (insnIdx: number, detail: string) =>
    new ObjectError(
      "OBJECT_BAD_RELO",
      obj.path,
      prog.secName,
      (prog.secInsnOff + insnIdx) * INSN_SIZE,
      `prog '${prog.name}': ${detail}`,
      -Errno.LIBBPF_RELOC,
    );
  for (let insnIdx = 0; insnIdx < prog.secInsnCnt; insnIdx++) {
    const at = prog.subInsnOff + insnIdx;
    if (!isSubprogCall(main.insns, at) && !isPseudoFunc(main.insns, at)) continue;
    const relo = findProgInsnRelo(prog, insnIdx);
    if (relo && relo.type === ReloType.EXTERN_CALL) continue;
    if (relo && relo.type !== ReloType.CALL && relo.type !== ReloType.SUBPROG_ADDR)
      throw fail(insnIdx, `unexpected relo for insn #${insnIdx}, type ${relo.type}`);
    const imm = insnImm(main.insns, at);
    let subInsnIdx: number;
    if (relo) {
      subInsnIdx =
        relo.type === ReloType.CALL
          ? relo.symOff / INSN_SIZE + imm + 1
          : Math.trunc((relo.symOff + imm) / INSN_SIZE);
    } else if (isPseudoFunc(main.insns, at)) {
      throw fail(insnIdx, `missing subprog addr relo for insn #${insnIdx}`);
    } else {
      subInsnIdx = prog.secInsnOff + insnIdx + imm + 1;
    }
    const sub = findProgBySecInsn(obj, obj.textShndx, subInsnIdx);
    if (!sub) throw fail(insnIdx, "no .text section found yet sub-program call exists");
    if (sub.subInsnOff === 0) {
      appendSubprogCode(main, sub);
      relocCode(obj, main, sub);
    }
    setImm(main.insns, at, sub.subInsnOff - (prog.subInsnOff + insnIdx) - 1);
  }
}

/** libbpf `bpf_prog_assign_exc_cb()` (FEAT_BTF_DECL_TAG assumed) */
function assignExcCb(obj: BpfObject, prog: BpfProgram): void {
  const btf = obj.btf;
  if (!btf) return;
  const pfx = "exception_callback:";
  const fail = (detail: string, errno: number) =>
    new ObjectError(
      "OBJECT_BAD_PROG",
      obj.path,
      prog.secName,
      -1,
      `prog '${prog.name}': ${detail}`,
      errno,
    );
  for (let id = 1; id < btf.typeCnt; id++) {
    if (btf.kind(id) !== Kind.DECL_TAG || btf.declTagComponentIdx(id) !== -1) continue;
    const tag = btf.name(id);
    if (!tag.startsWith(pfx)) continue;
    const fn = btf.sizeOrType(id);
    if (fn === 0 || fn >= btf.typeCnt || btf.kind(fn) !== Kind.FUNC || btf.vlen(fn) !== 1)
      throw fail(
        "exception_callback:<value> decl tag not applied to the main program",
        -Errno.EINVAL,
      );
    if (btf.name(fn) !== prog.name) continue;
    if (prog.exceptionCbIdx >= 0) {
      prog.exceptionCbIdx = -1;
      break;
    }
    const cbName = tag.slice(pfx.length);
    if (cbName === "")
      throw fail("exception_callback:<value> decl tag contains empty value", -Errno.EINVAL);
    for (let j = 0; j < obj.programs.length; j++) {
      const sub = obj.programs[j];
      if (!progIsSubprog(obj, sub) || sub.name !== cbName) continue;
      if (!sub.symGlobal || sub.markBtfStatic)
        throw fail(
          `exception callback ${sub.name} must be a global non-hidden function`,
          -Errno.EINVAL,
        );
      if (prog.exceptionCbIdx >= 0)
        throw fail(
          `multiple subprogs with same name as exception callback '${sub.name}'`,
          -Errno.EINVAL,
        );
      prog.exceptionCbIdx = j;
      break;
    }
    if (prog.exceptionCbIdx >= 0) continue;
    throw fail(`cannot find exception callback '${cbName}'`, -Errno.ENOENT);
  }
}

/** libbpf `bpf_object__relocate_data()` in gen mode */
function relocateData(obj: BpfObject, prog: BpfProgram): void {
  const insns = prog.insns;
  prog.relos.forEach((relo, i) => {
    const at = relo.insnIdx;
    const fail = (
      detail: string,
      code: "OBJECT_BAD_RELO" | "OBJECT_UNSUPPORTED" = "OBJECT_BAD_RELO",
    ) =>
      new ObjectError(
        code,
        obj.path,
        prog.secName,
        at * INSN_SIZE,
        `prog '${prog.name}': relo #${i}: ${detail}`,
        -Errno.EINVAL,
      );
    switch (relo.type) {
      case ReloType.LD64:
        setSrc(insns, at, Pseudo.MAP_IDX);
        setImm(insns, at, relo.mapIdx);
        break;
      case ReloType.DATA: {
        // arena data offset: arena maps cannot be created by a generated loader (refused at load)
        setImm(insns, at + 1, (insnImm(insns, at) + relo.symOff) | 0);
        setSrc(insns, at, Pseudo.MAP_IDX_VALUE);
        setImm(insns, at, relo.mapIdx);
        break;
      }
      case ReloType.EXTERN_LD64: {
        const ext = obj.externs[relo.extIdx];
        if (ext.type === ExtType.KCFG) {
          setSrc(insns, at, Pseudo.MAP_IDX_VALUE);
          setImm(insns, at, obj.kconfigMapIdx);
          setImm(insns, at + 1, ext.kcfg.dataOff);
        } else if (ext.ksym.typeId && ext.isSet) {
          setSrc(insns, at, Pseudo.BTF_ID);
          setImm(insns, at, ext.ksym.kernelBtfId);
          setImm(insns, at + 1, ext.ksym.kernelBtfObjFd);
        } else {
          setImm(insns, at, Number(ext.ksym.addr & 0xffffffffn) | 0);
          setImm(insns, at + 1, Number((ext.ksym.addr >> 32n) & 0xffffffffn) | 0);
        }
        break;
      }
      case ReloType.EXTERN_CALL: {
        const ext = obj.externs[relo.extIdx];
        setSrc(insns, at, Pseudo.KFUNC_CALL);
        if (ext.isSet) {
          setImm(insns, at, ext.ksym.kernelBtfId);
          setOff(insns, at, ext.ksym.btfFdIdx);
        } else {
          // poison_kfunc_call(): an invalid helper call naming the extern
          insns[at * INSN_SIZE] = CALL;
          insns[at * INSN_SIZE + 1] = 0;
          setOff(insns, at, 0);
          setImm(insns, at, 2002000000 + relo.extIdx);
        }
        break;
      }
      case ReloType.SUBPROG_ADDR:
        if (srcReg(insns, at) !== Pseudo.FUNC) throw fail("bad insn");
        break;
      case ReloType.CALL:
      case ReloType.CORE:
        break;
      case ReloType.INSN_ARRAY:
        throw fail(
          "jump tables need a real BPF_MAP_CREATE; not possible in a generated loader",
          "OBJECT_UNSUPPORTED",
        );
      default:
        throw fail(`bad relo type ${relo.type}`);
    }
  });
}

/** libbpf `bpf_object__relocate()` in gen mode */
export function relocateObject(obj: BpfObject): void {
  if (obj.btfExt) {
    recordCoreRelos(obj, (secIdx, insnIdx) => findProgBySecInsn(obj, secIdx, insnIdx));
    sortRelos(obj);
  }
  for (const p of obj.programs) {
    for (const r of p.relos)
      if (r.type === ReloType.SUBPROG_ADDR) setSrc(p.insns, r.insnIdx, Pseudo.FUNC);
  }
  for (const prog of obj.programs) {
    if (progIsSubprog(obj, prog) || !prog.autoload) continue;
    for (const p of obj.programs) if (progIsSubprog(obj, p)) p.subInsnOff = 0;
    relocCode(obj, prog, prog);
    assignExcCb(obj, prog);
    if (prog.exceptionCbIdx >= 0) {
      const sub = obj.programs[prog.exceptionCbIdx];
      if (sub.subInsnOff === 0) {
        appendSubprogCode(prog, sub);
        relocCode(obj, prog, sub);
      }
    }
  }
  for (const prog of obj.programs) {
    if (progIsSubprog(obj, prog) || !prog.autoload) continue;
    relocateData(obj, prog);
    // bpf_program_fixup_func_info(): nothing to do, FEAT_ARG_CTX_TAG is assumed in gen mode
  }
}
