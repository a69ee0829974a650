/**
 * Externs of an object (libbpf `bpf_object__collect_externs` at open, `bpf_object__resolve_externs`
 * at load, in gen mode):
 *
 *   - __kconfig externs live in the .kconfig map at offsets libbpf assigns (sorted by alignment,
 *     size, name); their values come from the generating machine's kernel config, LINUX_* virtual
 *     values (LINUX_KERNEL_VERSION from the machine, the feature flags true in gen mode);
 *   - typed __ksym externs and kfuncs get placeholders and are resolved by the loader at run time;
 *   - typeless __ksym externs take their address from the machine's /proc/kallsyms text.
 *
 * The .ksyms and .kconfig DATASECs are rewritten as libbpf rewrites them (a `dummy_ksym` VAR for
 * kfuncs, 4-byte int VARs, offsets and sizes), which changes the BTF handed to BTF_LOAD.
 */

import type { ElfSymbol } from "../elf/elf.js";
import { SHN_UNDEF, STB_GLOBAL, STB_WEAK, STT_NOTYPE } from "../elf/elf.js";
import { UTF8_ENCODER } from "../uapi/layout.js";
import type { BtfView } from "./btf_view.js";
import { FuncLinkage, INT_BOOL, INT_SIGNED, Kind, VarLinkage } from "./btf_view.js";
import { Errno, ObjectError } from "./errors.js";
import { kallsymsAddr, scanKallsyms } from "./kallsyms.js";
import type { BpfObject, ExternDesc } from "./types.js";
import { ExtType, KcfgType } from "./types.js";

const KCONFIG_SEC = ".kconfig";
const KSYMS_SEC = ".ksyms";

/**
 * An extern refusal. The section is the extern DATASEC the message concerns (.kconfig for kcfg
 * values and config lines, .ksyms for ksyms and kallsyms), else .BTF (extern discovery).
 */
function extErr(
  obj: BpfObject,
  detail: string,
  errno: number,
  code: "OBJECT_BAD_EXTERN" | "OBJECT_MISSING_HOST_FACT" = "OBJECT_BAD_EXTERN",
  section?: string,
): ObjectError {
  const sec =
    section ??
    (/\(kcfg\)|Kconfig|failed to parse '/.test(detail)
      ? KCONFIG_SEC
      : /\(ksym\)|kallsyms/.test(detail)
        ? KSYMS_SEC
        : ".BTF");
  return new ObjectError(code, obj.path, sec, -1, detail, errno);
}

/** libbpf `sym_is_extern()` */
export function symIsExtern(sym: ElfSymbol): boolean {
  return (
    sym.shndx === SHN_UNDEF &&
    (sym.bind === STB_GLOBAL || sym.bind === STB_WEAK) &&
    sym.type === STT_NOTYPE
  );
}

function findExternBtfId(btf: BtfView, name: string): number {
  for (let id = 1; id < btf.typeCnt; id++) {
    const k = btf.kind(id);
    if (k !== Kind.VAR && k !== Kind.FUNC) continue;
    if (btf.name(id) !== name) continue;
    if (k === Kind.VAR && btf.varLinkage(id) !== VarLinkage.GLOBAL_EXTERN) return -Errno.EINVAL;
    if (k === Kind.FUNC && btf.vlen(id) !== FuncLinkage.EXTERN) return -Errno.EINVAL;
    return id;
  }
  return -Errno.ENOENT;
}

function findExternSecBtfId(btf: BtfView, extId: number): number {
  for (let id = 1; id < btf.typeCnt; id++) {
    if (btf.kind(id) !== Kind.DATASEC) continue;
    for (const vs of btf.secinfos(id)) if (vs.type === extId) return id;
  }
  return -Errno.ENOENT;
}

function findKcfgType(btf: BtfView, id: number, signed: { v: boolean } | null): number {
  const t = btf.skipModsAndTypedefs(id);
  if (signed) signed.v = false;
  const k = btf.kind(t);
  const name = btf.name(t);
  if (k === Kind.INT) {
    const enc = btf.intEncoding(t);
    const size = btf.sizeOrType(t);
    if (enc & INT_BOOL) return size === 1 ? KcfgType.BOOL : KcfgType.UNKNOWN;
    if (signed) signed.v = (enc & INT_SIGNED) !== 0;
    if (size === 1) return KcfgType.CHAR;
    if (size < 1 || size > 8 || size & (size - 1)) return KcfgType.UNKNOWN;
    return KcfgType.INT;
  }
  if (k === Kind.ENUM) {
    if (btf.sizeOrType(t) !== 4 || name !== "libbpf_tristate") return KcfgType.UNKNOWN;
    return KcfgType.TRISTATE;
  }
  if (k === Kind.ENUM64) return name === "libbpf_tristate" ? KcfgType.TRISTATE : KcfgType.UNKNOWN;
  if (k === Kind.ARRAY) {
    if (btf.arrayNelems(t) === 0) return KcfgType.UNKNOWN;
    if (findKcfgType(btf, btf.arrayType(t), null) !== KcfgType.CHAR) return KcfgType.UNKNOWN;
    return KcfgType.CHAR_ARR;
  }
  return KcfgType.UNKNOWN;
}

function cmpStr(a: string, b: string): number {
  // strcmp on the UTF-8 bytes; extern names are ASCII in practice
  return a < b ? -1 : a > b ? 1 : 0;
}

/** libbpf `add_dummy_ksym_var()` */
function addDummyKsymVar(btf: BtfView | null): number {
  if (!btf) return 0;
  const sec = btf.findByNameKind(KSYMS_SEC, Kind.DATASEC);
  if (sec < 0) return 0;
  const hasFunc = btf
    .secinfos(sec)
    .some((vs) => vs.type > 0 && vs.type < btf.typeCnt && btf.kind(vs.type) === Kind.FUNC);
  if (!hasFunc) return 0;
  return btf.btf.addVar("dummy_ksym", VarLinkage.GLOBAL_ALLOCATED, findIntBtfId(btf));
}

function findIntBtfId(btf: BtfView): number {
  for (let id = 1; id < btf.typeCnt; id++)
    if (btf.kind(id) === Kind.INT && btf.intBits(id) === 32) return id;
  return 0;
}

/** libbpf `bpf_object__collect_externs()` */
export function collectExterns(obj: BpfObject, symbols: ElfSymbol[]): void {
  const btf = obj.btf;
  const dummyVar = addDummyKsymVar(btf);
  let kcfgSec = -1;
  let ksymSec = -1;
  for (const sym of symbols) {
    if (sym.index === 0 || !symIsExtern(sym) || sym.name === "") continue;
    if (!btf)
      throw extErr(obj, `failed to find BTF for extern '${sym.name}': no .BTF`, -Errno.ESRCH);
    const btfId = findExternBtfId(btf, sym.name);
    if (btfId <= 0)
      throw extErr(obj, `failed to find BTF for extern '${sym.name}': ${btfId}`, btfId);
    const name = btf.name(btfId);
    const secBtfId = findExternSecBtfId(btf, btfId);
    if (secBtfId <= 0)
      throw extErr(
        obj,
        `failed to find BTF for extern '${sym.name}' [${btfId}] section: ${secBtfId}`,
        secBtfId,
      );
    const ext: ExternDesc = {
      name,
      type: ExtType.UNKNOWN,
      symIdx: sym.index,
      btfId,
      secBtfId,
      isWeak: sym.bind === STB_WEAK,
      isSet: false,
      kcfg: { type: 0, sz: 0, align: 0, dataOff: 0, isSigned: false },
      ksym: { typeId: 0, addr: 0n, kernelBtfId: 0, kernelBtfObjFd: 0, btfFdIdx: 0 },
    };
    obj.externs.push(ext);
    const secName = btf.name(secBtfId);
    const isFunc = btf.kind(btfId) === Kind.FUNC;
    if (secName === KCONFIG_SEC) {
      if (isFunc)
        throw extErr(
          obj,
          `extern function ${name} is unsupported under ${KCONFIG_SEC} section`,
          -Errno.ENOTSUP,
        );
      kcfgSec = secBtfId;
      ext.type = ExtType.KCFG;
      const vt = btf.sizeOrType(btfId);
      ext.kcfg.sz = btf.resolveSize(vt);
      if (ext.kcfg.sz <= 0)
        throw extErr(
          obj,
          `failed to resolve size of extern (kcfg) '${name}'`,
          ext.kcfg.sz || -Errno.EINVAL,
        );
      ext.kcfg.align = btf.alignOf(vt);
      if (ext.kcfg.align <= 0)
        throw extErr(
          obj,
          `failed to determine alignment of extern (kcfg) '${name}'`,
          -Errno.EINVAL,
        );
      const signed = { v: false };
      ext.kcfg.type = findKcfgType(btf, vt, signed);
      ext.kcfg.isSigned = signed.v;
      if (ext.kcfg.type === KcfgType.UNKNOWN)
        throw extErr(obj, `extern (kcfg) '${name}': type is unsupported`, -Errno.ENOTSUP);
    } else if (secName === KSYMS_SEC) {
      ksymSec = secBtfId;
      ext.type = ExtType.KSYM;
      ext.ksym.typeId = btf.skipModsAndTypedefs(btf.sizeOrType(btfId));
    } else {
      throw extErr(obj, `unrecognized extern section '${secName}'`, -Errno.ENOTSUP);
    }
  }
  if (obj.externs.length === 0 || !btf) return;

  obj.externs.sort((a, b) => {
    if (a.type !== b.type) return a.type < b.type ? -1 : 1;
    if (a.type === ExtType.KCFG) {
      if (a.kcfg.align !== b.kcfg.align) return a.kcfg.align > b.kcfg.align ? -1 : 1;
      if (a.kcfg.sz !== b.kcfg.sz) return a.kcfg.sz < b.kcfg.sz ? -1 : 1;
    }
    return cmpStr(a.name, b.name);
  });

  if (ksymSec > 0) {
    const intId = findIntBtfId(btf);
    const dummyNameOff = dummyVar > 0 ? btf.nameOff(dummyVar) : 0;
    const vsis = btf.secinfos(ksymSec);
    let off = 0;
    for (let i = 0; i < vsis.length; i++, off += 4) {
      const vt = vsis[i].type;
      const extName = btf.name(vt);
      const ext = obj.externs.find((e) => e.name === extName);
      if (!ext)
        throw extErr(obj, `failed to find extern definition for BTF '${extName}'`, -Errno.ESRCH);
      let type = vt;
      if (btf.kind(vt) === Kind.FUNC) {
        const proto = btf.sizeOrType(vt);
        btf.params(proto).forEach((p, j) => {
          if (p.type && !p.nameOff) btf.btf.setParamNameOff(proto, j, dummyNameOff);
        });
        type = dummyVar;
        btf.btf.setFuncLinkage(vt, FuncLinkage.GLOBAL);
      } else {
        btf.btf.setVarLinkage(vt, VarLinkage.GLOBAL_ALLOCATED);
        btf.btf.setVarType(vt, intId);
      }
      btf.btf.setVarSecinfo(ksymSec, i, { type, offset: off, size: 4 });
    }
    btf.btf.setDatasecSize(ksymSec, off);
  }

  if (kcfgSec > 0) {
    let off = 0;
    for (const ext of obj.externs) {
      if (ext.type !== ExtType.KCFG) continue;
      ext.kcfg.dataOff = Math.ceil(off / ext.kcfg.align) * ext.kcfg.align;
      off = ext.kcfg.dataOff + ext.kcfg.sz;
    }
    btf.btf.setDatasecSize(kcfgSec, off);
    const vsis = btf.secinfos(kcfgSec);
    for (let i = 0; i < vsis.length; i++) {
      const extName = btf.name(vsis[i].type);
      const ext = obj.externs.find((e) => e.name === extName);
      if (!ext)
        throw extErr(
          obj,
          `failed to find extern definition for BTF var '${extName}'`,
          -Errno.ESRCH,
        );
      btf.btf.setVarLinkage(vsis[i].type, VarLinkage.GLOBAL_ALLOCATED);
      btf.btf.setVarSecinfoOffset(kcfgSec, i, ext.kcfg.dataOff);
    }
  }
}

// ---- load time: bpf_object__resolve_externs in gen mode ----

function writeUint(buf: Uint8Array, off: number, sz: number, v: bigint): void {
  for (let i = 0; i < sz; i++) buf[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

function kcfgInRange(ext: ExternDesc, v: bigint): boolean {
  const bits = BigInt(ext.kcfg.sz * 8);
  if (ext.kcfg.sz === 8) return true;
  if (ext.kcfg.isSigned) return ((v + (1n << (bits - 1n))) & 0xffffffffffffffffn) < 1n << bits;
  return v >> bits === 0n;
}

function setKcfgNum(obj: BpfObject, ext: ExternDesc, data: Uint8Array, v: bigint): void {
  const t = ext.kcfg.type;
  if (t !== KcfgType.INT && t !== KcfgType.CHAR && t !== KcfgType.BOOL)
    throw extErr(
      obj,
      `extern (kcfg) '${ext.name}': value '${v}' implies integer, char, or boolean type`,
      -Errno.EINVAL,
    );
  if (t === KcfgType.BOOL && v > 1n)
    throw extErr(
      obj,
      `extern (kcfg) '${ext.name}': value '${v}' isn't boolean compatible`,
      -Errno.EINVAL,
    );
  if (!kcfgInRange(ext, v))
    throw extErr(
      obj,
      `extern (kcfg) '${ext.name}': value '${v}' doesn't fit in ${ext.kcfg.sz} bytes`,
      -Errno.ERANGE,
    );
  if (![1, 2, 4, 8].includes(ext.kcfg.sz))
    throw extErr(obj, `extern (kcfg) '${ext.name}': bad size`, -Errno.EINVAL);
  writeUint(data, ext.kcfg.dataOff, ext.kcfg.sz, v);
  ext.isSet = true;
}

/** strtoull(value, &end, 0) accepting the whole string; null when not a complete number */
function parseU64(s: string): bigint | null {
  let t = s.trimStart();
  let neg = false;
  if (t[0] === "+" || t[0] === "-") {
    neg = t[0] === "-";
    t = t.slice(1);
  }
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = BigInt(t);
  else if (/^0[0-7]*$/.test(t)) v = t.length > 1 ? BigInt(`0o${t.slice(1)}`) : 0n;
  else if (/^[1-9][0-9]*$/.test(t)) v = BigInt(t);
  else return null;
  if (v > 0xffffffffffffffffn) return null; // ERANGE
  return neg ? -v & 0xffffffffffffffffn : v;
}

/** libbpf `bpf_object__process_kconfig_line()` */
function processKconfigLine(obj: BpfObject, line: string, data: Uint8Array): void {
  if (!line.startsWith("CONFIG_")) return;
  const sep = line.indexOf("=");
  if (sep < 0) throw extErr(obj, `failed to parse '${line}': no separator`, -Errno.EINVAL);
  if (line.endsWith("\n")) line = line.slice(0, -1);
  const name = line.slice(0, sep);
  const value = line.slice(sep + 1);
  if (value === "") throw extErr(obj, `failed to parse '${line}': no value`, -Errno.EINVAL);
  const ext = obj.externs.find((e) => e.name === name);
  if (!ext || ext.isSet) return;
  const c = value[0];
  if (c === "y" || c === "n" || c === "m") {
    const t = ext.kcfg.type;
    if (t === KcfgType.BOOL) {
      if (c === "m")
        throw extErr(
          obj,
          `extern (kcfg) '${name}': value '${c}' implies tristate or char type`,
          -Errno.EINVAL,
        );
      data[ext.kcfg.dataOff] = c === "y" ? 1 : 0;
    } else if (t === KcfgType.TRISTATE) {
      writeUint(data, ext.kcfg.dataOff, 4, c === "y" ? 1n : c === "m" ? 2n : 0n);
    } else if (t === KcfgType.CHAR) {
      data[ext.kcfg.dataOff] = c.charCodeAt(0);
    } else {
      throw extErr(
        obj,
        `extern (kcfg) '${name}': value '${c}' implies bool, tristate, or char type`,
        -Errno.EINVAL,
      );
    }
    ext.isSet = true;
  } else if (c === '"') {
    if (ext.kcfg.type !== KcfgType.CHAR_ARR)
      throw extErr(
        obj,
        `extern (kcfg) '${name}': value '${value}' implies char array type`,
        -Errno.EINVAL,
      );
    if (value.length < 2 || !value.endsWith('"'))
      throw extErr(obj, `extern (kcfg) '${name}': invalid string config '${value}'`, -Errno.EINVAL);
    let bytes = UTF8_ENCODER.encode(value.slice(1, -1));
    if (bytes.length >= ext.kcfg.sz) bytes = bytes.subarray(0, ext.kcfg.sz - 1);
    data.set(bytes, ext.kcfg.dataOff);
    data[ext.kcfg.dataOff + bytes.length] = 0;
    ext.isSet = true;
  } else {
    const num = parseU64(value);
    if (num === null)
      throw extErr(
        obj,
        `extern (kcfg) '${name}': value '${value}' isn't a valid integer`,
        -Errno.EINVAL,
      );
    if (ext.kcfg.type !== KcfgType.INT && ext.kcfg.type !== KcfgType.CHAR)
      throw extErr(
        obj,
        `extern (kcfg) '${name}': value '${value}' implies integer type`,
        -Errno.EINVAL,
      );
    setKcfgNum(obj, ext, data, num);
  }
}

function readKconfig(obj: BpfObject, text: string, data: Uint8Array): void {
  for (const line of text.split(/(?<=\n)/)) if (line !== "") processKconfigLine(obj, line, data);
}

/** libbpf `kallsyms_cb()` over the lines of /proc/kallsyms (object/kallsyms.ts reads them) */
function readKallsyms(obj: BpfObject, text: string): void {
  const btf = obj.btf!;
  const wanted = new Map<string, ExternDesc>();
  for (const e of obj.externs)
    if (e.type === ExtType.KSYM && btf.kind(e.btfId) === Kind.VAR && !wanted.has(e.name))
      wanted.set(e.name, e);
  const bad = scanKallsyms(text, (name, addrHex, symName) => {
    const ext = wanted.get(name);
    if (!ext) return;
    const addr = kallsymsAddr(addrHex);
    if (ext.isSet && ext.ksym.addr !== addr)
      throw extErr(
        obj,
        `extern (ksym) '${symName}': resolution is ambiguous: 0x${ext.ksym.addr.toString(16)} or 0x${addr.toString(16)}`,
        -Errno.EINVAL,
      );
    if (!ext.isSet) {
      ext.isSet = true;
      ext.ksym.addr = addr;
    }
  });
  if (bad !== null)
    throw extErr(
      obj,
      `failed to read kallsyms entry '${bad}'`,
      -Errno.EINVAL,
      "OBJECT_MISSING_HOST_FACT",
    );
}

/** libbpf `bpf_object__resolve_externs()` in gen mode. Writes kconfig values into the .kconfig image. */
export function resolveExterns(obj: BpfObject): void {
  if (obj.externs.length === 0) return;
  const kcfgData = obj.kconfigMapIdx >= 0 ? obj.maps[obj.kconfigMapIdx].mmaped : null;
  let needConfig = false;
  let needKallsyms = false;
  let needBtf = false;
  for (const ext of obj.externs) {
    if (ext.type === ExtType.KSYM) {
      if (ext.ksym.typeId) needBtf = true;
      else needKallsyms = true;
      continue;
    }
    if (ext.type !== ExtType.KCFG)
      throw extErr(obj, `extern '${ext.name}': unrecognized extern kind`, -Errno.EINVAL);
    if (ext.name.startsWith("CONFIG_")) {
      needConfig = true;
      continue;
    }
    let value = 0n;
    if (ext.name === "LINUX_KERNEL_VERSION") {
      const v = obj.options.kernelVersion ?? 0;
      if (!v)
        throw extErr(
          obj,
          `extern (kcfg) '${ext.name}': failed to get kernel version (kernelVersion not given)`,
          -Errno.EINVAL,
          "OBJECT_MISSING_HOST_FACT",
        );
      value = BigInt(v);
    } else if (ext.name === "LINUX_HAS_BPF_COOKIE" || ext.name === "LINUX_HAS_SYSCALL_WRAPPER") {
      value = 1n; // kernel_supports() is true for every feature in gen mode
    } else if (!ext.name.startsWith("LINUX_") || !ext.isWeak) {
      throw extErr(obj, `extern (kcfg) '${ext.name}': unrecognized virtual extern`, -Errno.EINVAL);
    }
    setKcfgNum(obj, ext, kcfgData!, value);
  }
  if (needConfig && obj.options.kconfigOverride !== undefined) {
    readKconfig(obj, obj.options.kconfigOverride, kcfgData!);
    needConfig = obj.externs.some((e) => e.type === ExtType.KCFG && !e.isSet);
  }
  if (needConfig) {
    if (obj.options.kconfig === undefined)
      throw extErr(
        obj,
        "failed to open system Kconfig (kconfig not given)",
        -Errno.EINVAL,
        "OBJECT_MISSING_HOST_FACT",
      );
    readKconfig(obj, obj.options.kconfig, kcfgData!);
  }
  if (needKallsyms) {
    if (obj.options.kallsyms === undefined)
      throw extErr(
        obj,
        "failed to open /proc/kallsyms (kallsyms not given)",
        -Errno.EINVAL,
        "OBJECT_MISSING_HOST_FACT",
      );
    readKallsyms(obj, obj.options.kallsyms);
  }
  if (needBtf) {
    // bpf_object__resolve_ksyms_btf_id() in gen mode: placeholders, resolved by the loader
    for (const ext of obj.externs) {
      if (ext.type !== ExtType.KSYM || !ext.ksym.typeId) continue;
      ext.isSet = true;
      ext.ksym.kernelBtfObjFd = 0;
      ext.ksym.kernelBtfId = 0;
    }
  }
  for (const ext of obj.externs) {
    if (!ext.isSet && !ext.isWeak)
      throw extErr(
        obj,
        `extern '${ext.name}' (strong): not resolved`,
        -Errno.ESRCH,
        "OBJECT_BAD_EXTERN",
        ext.type === ExtType.KCFG ? KCONFIG_SEC : KSYMS_SEC,
      );
  }
}
