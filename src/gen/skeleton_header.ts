/**
 * The light-skeleton header `bpftool gen skeleton -L [-S -k KEY -i CERT]` writes, as a pure
 * function of a description (`LightSkeletonSpec`): no ELF, no BTF and no I/O here. The caller (the
 * object layer) fills the description with what bpftool reads off libbpf's `bpf_object` after a
 * generating load: the maps and programs in object order, the DATASEC views of the object's BTF
 * with their member declarations already rendered (`emitTypeDecl`), the loader bytes
 * (`gen_loader_opts.data/insns`) and, for a signed skeleton, the CMS signature and the exclusive
 * program hash.
 *
 * This file owns what bpftool itself decides: which maps get an identifier (`get_map_ident`) and
 * which are memory-mapped global data (`is_mmapable_map`), how a DATASEC is matched to its map
 * (`find_type_for_map`), the padding of a DATASEC view (`codegen_datasec_def`: `char __padN[M];`,
 * alignment capped at 4 as for a 32-bit host), the struct_ops shadow types, the attach line of
 * each program, the mmap sizes and the size asserts. From them it builds a `LightSkeleton`; the
 * template text in between is the skeleton layer's (`renderLines` / `serializeLines` in
 * skeleton/writer.ts, the same the `.lskel.h` reader renders through), without its C-identifier
 * check, since bpftool keeps a user map's name as it is.
 *
 * Two texts are written (the flavor picks the skeleton's dialect):
 *
 * - `"v2"` (default, `SIGNED_DIALECT`): the bpftool of the signing series (bpftool's gen.c at the
 *   libbpf/bpftool mirror plus the series' patch 3/5, which changes what the signature covers but
 *   not the text).
 * - `"bpftool-7.1"` (`DEBIAN_DIALECT`): Debian's bpftool 7.1 (libbpf 1.1), used here to prove the
 *   shared parts against a real bpftool. It differs from v2 only in text that does not depend on
 *   the object: no C++ casts (`skel_alloc(...)` and `skel_prep_map_data`/`skel_finalize_map_data`
 *   results are not cast; `ctx.sz` subtracts `(void *)` pointers, not `(char *)`); the initial
 *   value of a global data map is an inline literal in the
 *   `skel_prep_map_data((void *)"…", MMAP_SZ, VALUE_SZ)` call
 *   instead of a `static const char data[]` block; `X__load()` assigns `opts.data_sz = N;
 *   opts.data = (void *)"…"; opts.insns_sz = N; opts.insns = (void *)"…";` after a blank line instead
 *   of declaring `opts_data[]`/`opts_insn[]` and using `sizeof(…) - 1` (and has no blank line
 *   before `bpf_load_and_run`); it cannot sign (no `keyring_id`, `opts_sig`, `opts_excl_hash`);
 *   it has neither struct_ops shadow types nor `int IDENT_fd;` links for struct_ops maps; it knows
 *   no arena maps (only internal maps with `BPF_F_MMAPABLE` are global data).
 *
 * Names are taken as bytes, as bpftool does: each string of the description is encoded as UTF-8,
 * truncated and sanitised byte by byte (a non-ASCII character becomes one `_` per byte), carried
 * in the `LightSkeleton` as binary strings (one UTF-16 unit per byte), which `serializeLines`
 * writes back as those bytes.
 *
 * What the caller computes (libbpf's part, not bpftool's): the map list in libbpf's order
 * (`.maps` maps, then global-data sections in ELF order, then `.kconfig`; inner-map templates are
 * not in it) with `bpf_map__name()` (the section name for `.data.*`/`.rodata.*`, else the
 * object-name prefix + section name); the map flags, in particular libbpf's `BPF_F_MMAPABLE`
 * rule (in the v2 libbpf: only when the section's DATASEC has a non-static variable, so never
 * without BTF and never for `.rodata.str1.1`; libbpf 1.1 set it on every global-data map) and
 * `BPF_F_RDONLY_PROG` for `.rodata*` and `.kconfig`; each map's image after the load (kconfig
 * values filled in); DATASEC variables with libbpf's fixed-up offsets (from the symbols; for
 * `.kconfig` libbpf's own extern layout), sorted by offset; `btf__align_of`,
 * `btf__resolve_size` and the declaration text of each variable. Everything else (identifiers,
 * matching DATASECs to maps, padding, mmap sizes, attach lines) is done here.
 */

import {
  DEBIAN_DIALECT,
  headerGuard,
  type LightSkeleton,
  loaderCtxSize,
  SIGNED_DIALECT,
  type SkeletonAttach,
  type SkeletonMmap,
  type SkeletonView,
} from "../skeleton/skeleton.js";
import { renderLines, serializeLines } from "../skeleton/writer.js";
import {
  AttachType,
  BPF_F_MMAPABLE,
  BPF_F_RDONLY_PROG,
  MapType,
  ProgType,
} from "../uapi/constants.js";

/** bpftool's `MAX_OBJ_NAME_LEN`: object names keep at most 63 bytes. */
const MAX_OBJ_NAME_LEN = 64;
/** bpftool's identifier buffers (`char ident[256]`): map, DATASEC and variable names keep at most 255 bytes. */
const IDENT_BUF_LEN = 256;

/** The size bpftool assumes for a function pointer in a struct_ops shadow type (`sizeof(void *)` on a 64-bit host). */
const HOST_POINTER_SIZE = 8;

// ---------------------------------------------------------------------------------------------
// The description

/** Which bpftool's text to write (see the file comment). */
export type LightSkeletonFlavor = "v2" | "bpftool-7.1";

/** One variable of a DATASEC, in secinfo order after libbpf's DATASEC fix-up (offsets filled in, sorted by offset). */
export interface LskelDatasecVar {
  /** the VAR's name as in BTF (e.g. `counter`, or `func.counter` for a function-local static) */
  name: string;
  /** `linkage == BTF_VAR_STATIC`: not shown in the view or the asserts (but it still occupies bytes) */
  isStatic: boolean;
  /** `btf_var_secinfo.offset` */
  offset: number;
  /** `btf_var_secinfo.size` */
  size: number;
  /** `btf__align_of(var->type)`; bpftool refuses the object when it is <= 0 */
  align: number;
  /** `btf__resolve_size(var->type)`: the size in the `_Static_assert`; negative = no assert for this variable */
  typeSize: number;
  /**
   * The member declaration without indentation or `;`, as `btf_dump__emit_type_decl` prints it:
   * `emitTypeDecl(btf, var.type, datasecVarDeclOptions(datasec.name, var.name))`. May span lines
   * (inline struct bodies, indented for level 2). Unused when `isStatic`.
   */
  decl: string;
}

/** A BTF DATASEC (every one of the object's BTF, in type-id order; bpftool matches them to maps itself). */
export interface LskelDatasec {
  /** the DATASEC's name = the ELF section: `.data`, `.rodata.str1.1`, `.kconfig`, `.addr_space.1`, … */
  name: string;
  vars: LskelDatasecVar[];
}

/** One member of a struct_ops map's value type, classified as `walk_st_ops_shadow_vars` does. */
export type LskelStructOpsMember =
  /**
   * INT, FLOAT, ENUM, ENUM64 after skipping modifiers and typedefs. `decl` =
   * `emitTypeDecl(btf, resolvedTypeId, { fieldName: name, indentLevel: 3 })` where
   * `resolvedTypeId` is the member type with modifiers and typedefs skipped; `size` =
   * `btf__resolve_size` of it.
   */
  | { kind: "scalar"; name: string; bitOffset: number; decl: string; size: number }
  /** a pointer to a function prototype (becomes `struct bpf_program *NAME;`) */
  | { kind: "funcptr"; name: string; bitOffset: number }
  /** anything else (becomes `char __unsupported_I[size];`); `size` = `btf__resolve_size` of the member type */
  | { kind: "other"; name: string; bitOffset: number; size: number };

/** The shadow type bpftool prints for a struct_ops map (v2 only; libbpf cannot generate a loader for one). */
export interface LskelStructOpsShadow {
  /** the name of the map's BTF value type (`struct tcp_congestion_ops` → `tcp_congestion_ops`) */
  typeName: string;
  /** `btf__resolve_size` of the value type */
  typeSize: number;
  members: LskelStructOpsMember[];
}

/** One map, as libbpf holds it after the generating load. */
export interface LskelMap {
  /**
   * `bpf_map__name()`: the user's name for `.maps` maps; for global data the name libbpf gives it
   * (`<object-name prefix>.data`, `.rodata`, `.bss`, `.kconfig` for the standard sections, the
   * full section name for `.data.*`/`.rodata.*`, e.g. `.rodata.str1.1`).
   */
  name: string;
  /** `bpf_map__is_internal()`: global data or kconfig (libbpf_type != LIBBPF_MAP_UNSPEC) */
  internal: boolean;
  /** `bpf_map__type()` (BPF_MAP_TYPE_*) */
  type: number;
  /** `bpf_map__map_flags()`; bpftool reads `BPF_F_MMAPABLE` and `BPF_F_RDONLY_PROG` */
  mapFlags: number;
  /** `bpf_map__value_size()` */
  valueSize: number;
  /** `bpf_map__max_entries()` */
  maxEntries: number;
  /**
   * `bpf_map__initial_value()` after the load: the mapped image (value_size bytes) of a global
   * data map, the arena's initial data for an arena map; `null` when libbpf has none.
   */
  initialValue: Uint8Array | null;
  /** struct_ops maps of an object with BTF: the shadow type; otherwise omitted/null */
  structOps?: LskelStructOpsShadow | null;
}

/** One program, in object order. */
export interface LskelProg {
  /** `bpf_program__name()` */
  name: string;
  /** `bpf_program__section_name()` (raw tracepoints take their tracepoint name from it) */
  sectionName: string;
  /** `bpf_program__type()` (BPF_PROG_TYPE_*) */
  type: number;
  /** `bpf_program__expected_attach_type()` */
  expectedAttachType: number;
}

/** What `-S` adds. The `__s32 keyring_id;` field comes with it; there is nothing to choose about it. */
export interface LskelSigning {
  /** the DER CMS signature (`opts_sig`) */
  signature: Uint8Array;
  /** SHA-256 of the loader instructions (`opts_excl_hash`, 32 bytes) */
  exclHash: Uint8Array;
}

export interface LightSkeletonSpec {
  /**
   * The object name: `name X` as given to bpftool, or `objectNameFromFile(file)`. Only its first
   * 63 bytes are used (bpftool's buffer).
   */
  name: string;
  /** `sysconf(_SC_PAGE_SIZE)` of the machine that generates the header (mmap sizes) */
  pageSize: number;
  /** every map of the object, in `bpf_object__for_each_map` order */
  maps: LskelMap[];
  /** every program, in `bpf_object__for_each_program` order */
  progs: LskelProg[];
  /** the object's BTF as bpftool uses it, or `null` when the object has none (no views, no shadow types, no `X__assert`) */
  btf: { datasecs: LskelDatasec[] } | null;
  /** `gen_loader_opts.data` (the metadata blob) */
  data: Uint8Array;
  /** `gen_loader_opts.insns` (the loader program) */
  insns: Uint8Array;
  /** present for a signed skeleton (`-S`), else omitted/null */
  signing?: LskelSigning | null;
  /** default `"v2"` */
  flavor?: LightSkeletonFlavor;
}

/** Stable codes of `LightSkeletonSpecError`. */
export type LightSkeletonErrorCode =
  /** a field of the description is out of range or inconsistent (page size, missing initial value, signing in 7.1, …) */
  | "GEN_LSKEL_BAD_SPEC"
  /** a DATASEC variable starts before the previous one ends (bpftool: "Something is wrong for …") */
  | "GEN_LSKEL_DATASEC_OVERLAP"
  /** a DATASEC variable has no alignment (bpftool: "Failed to determine alignment of variable …") */
  | "GEN_LSKEL_BAD_ALIGN"
  /** a raw tracepoint program whose section names no tracepoint (bpftool would crash) */
  | "GEN_LSKEL_NO_TRACEPOINT"
  /** a struct_ops map of an object with BTF has no shadow type (bpftool: no value type id) */
  | "GEN_LSKEL_STRUCT_OPS";

/** A description bpftool would refuse (or crash on), naming the object, the section and the byte offset. */
export class LightSkeletonSpecError extends Error {
  override readonly name = "LightSkeletonSpecError";
  readonly code: LightSkeletonErrorCode;
  /** the object name */
  readonly object: string;
  /** the section, map or program the error applies to ("" for the whole description) */
  readonly section: string;
  /** byte offset inside `section`, or -1 */
  readonly offset: number;

  constructor(
    code: LightSkeletonErrorCode,
    object: string,
    section: string,
    offset: number,
    detail: string,
  ) {
    const where = section ? `, ${section}${offset >= 0 ? ` at offset ${offset}` : ""}` : "";
    super(`${object}${where}: ${detail}`);
    this.code = code;
    this.object = object;
    this.section = section;
    this.offset = offset;
  }
}

// ---------------------------------------------------------------------------------------------
// Names as bytes. Internally a "binary string" holds one byte per UTF-16 unit (latin1).

function toBinary(s: string): string {
  return Buffer.from(s, "utf8").toString("latin1");
}

function fromBinary(b: string): string {
  return Buffer.from(b, "latin1").toString("utf8");
}

/** C `isalnum` in the C locale, on a byte. */
function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** bpftool's `sanitize_identifier` on a binary string: every byte not [A-Za-z0-9_] becomes `_`. */
function sanitizeBinary(b: string): string {
  let out = "";
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    out += isAlnum(c) || c === 0x5f ? b[i] : "_";
  }
  return out;
}

/** What fits in a C buffer of `bufLen` bytes (snprintf/strncpy then NUL): the first `bufLen - 1` bytes. */
function fitBuffer(b: string, bufLen: number): string {
  return b.length < bufLen ? b : b.slice(0, bufLen - 1);
}

/** bpftool's `sanitize_identifier`: every byte of the UTF-8 name that is not [A-Za-z0-9_] becomes `_`. */
export function sanitizeIdentifier(name: string): string {
  return sanitizeBinary(toBinary(name));
}

/** POSIX `basename()` on a path (trailing slashes ignored; "" → "."; only slashes → "/"). */
function posixBasename(path: string): string {
  if (path === "") return ".";
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/**
 * The object name bpftool derives from the object file when no `name` is given
 * (`get_obj_name`): the basename, cut to 63 bytes, a trailing `.o` dropped, then sanitised.
 * The result is ASCII. This is also the `bpf_object` name libbpf prefixes internal map names with.
 */
export function objectNameFromFile(file: string): string {
  let b = fitBuffer(toBinary(posixBasename(file)), MAX_OBJ_NAME_LEN);
  if (b.endsWith(".o")) b = b.slice(0, -2);
  return sanitizeBinary(b);
}

/** The header guard bpftool derives from the object name (`get_header_guard(…, "SKEL_H")`): ASCII-only upper case. */
export function lightSkeletonHeaderGuard(objectName: string): string {
  return fromBinary(headerGuard(fitBuffer(toBinary(objectName), MAX_OBJ_NAME_LEN)));
}

const INTERNAL_SUFFIXES = [".data", ".rodata", ".bss", ".kconfig"];

function mapIdentBinary(name: string, internal: boolean): string | null {
  const b = toBinary(name);
  if (!internal) return fitBuffer(b, IDENT_BUF_LEN);
  for (const sfx of INTERNAL_SUFFIXES) {
    const p = b.indexOf(sfx);
    if (p >= 0) return sanitizeBinary(fitBuffer(b.slice(p + 1), IDENT_BUF_LEN));
  }
  return null;
}

/**
 * bpftool's `get_map_ident`: a user map keeps its name (verbatim, even when it is not a C
 * identifier; at most 255 bytes); an internal map is named by what follows the first of `.data`,
 * `.rodata`, `.bss`, `.kconfig` found in its name (tried in that order, anywhere in the name),
 * sanitised: `obj.data` → `data`, `.rodata.str1.1` → `rodata_str1_1`. `null` for an internal map
 * with none of them: bpftool leaves it out of the header ("ignoring unrecognized internal map").
 */
export function mapIdent(name: string, internal: boolean): string | null {
  const b = mapIdentBinary(name, internal);
  return b === null ? null : fromBinary(b);
}

function datasecIdentBinary(secName: string): string | null {
  if (secName === ".addr_space.1") return "arena";
  const b = toBinary(secName);
  for (const pfx of INTERNAL_SUFFIXES) {
    if (b.startsWith(pfx)) return sanitizeBinary(fitBuffer(b.slice(1), IDENT_BUF_LEN));
  }
  return null;
}

/**
 * bpftool's `get_datasec_ident`: `.addr_space.1` → `arena`; a section starting with `.data`,
 * `.rodata`, `.bss` or `.kconfig` → its name without the dot, sanitised; else `null` (no view).
 */
export function datasecIdent(secName: string): string | null {
  const b = datasecIdentBinary(secName);
  return b === null ? null : fromBinary(b);
}

/**
 * The `emitTypeDecl` options bpftool uses for a DATASEC variable: the variable's name cut to 255
 * bytes and sanitised as the field name, indent level 2, modifiers stripped except in `.kconfig`.
 */
export function datasecVarDeclOptions(
  secName: string,
  varName: string,
): { fieldName: string; indentLevel: number; stripMods: boolean } {
  return {
    fieldName: fromBinary(varIdentBinary(varName)),
    indentLevel: 2,
    stripMods: secName !== ".kconfig",
  };
}

function varIdentBinary(varName: string): string {
  return sanitizeBinary(fitBuffer(toBinary(varName), IDENT_BUF_LEN));
}

/**
 * bpftool's `bpf_map_mmap_sz`: the value size rounded up to 8 (in 32-bit arithmetic, as the C
 * does), times max_entries, rounded up to the page size.
 */
export function mapMmapSize(valueSize: number, maxEntries: number, pageSize: number): bigint {
  const rounded = BigInt(Math.floor(((valueSize + 7) >>> 0) / 8) * 8);
  const bytes = rounded * BigInt(maxEntries >>> 0);
  const page = BigInt(pageSize);
  return ((bytes + page - 1n) / page) * page;
}

/** What bpftool prints to stderr (plain mode) while writing the header of `spec`, one line each. */
export function lightSkeletonWarnings(spec: LightSkeletonSpec): string[] {
  const out: string[] = [];
  for (const m of spec.maps) {
    if (mapIdentBinary(m.name, m.internal) === null) {
      out.push(`Error: ignoring unrecognized internal map '${m.name}'...`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The skeleton bpftool prints: decided here, written by the skeleton layer's template

interface MapInfo {
  map: LskelMap;
  /** get_map_ident, binary */
  ident: string;
  /** is_mmapable_map: the identifier of its view (the map's, or "arena"), else null */
  mmapIdent: string | null;
  /** its mmap size */
  mmapSize: bigint;
}

function checkCount(obj: string, field: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min || n > 0xffffffff) {
    throw new LightSkeletonSpecError("GEN_LSKEL_BAD_SPEC", obj, field, -1, `${n} is out of range`);
  }
}

/**
 * An mmap size as the skeleton writer takes it. Past 2^53 (reachable only from hand-made
 * descriptions) the exact bigint is passed on: the writer prints sizes with template literals,
 * which render a bigint as its decimal digits, as bpftool's `%zd` does.
 */
function mmapSizeValue(size: bigint): number {
  return size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : (size as unknown as number);
}

/**
 * The `LightSkeleton` bpftool prints for `spec`, its names as binary strings (one UTF-16 unit per
 * byte of their UTF-8). Throws `LightSkeletonSpecError` where bpftool would fail.
 */
function skeletonOfSpec(spec: LightSkeletonSpec): LightSkeleton {
  const flavor = spec.flavor ?? "v2";
  const v2 = flavor === "v2";
  const X = fitBuffer(toBinary(spec.name), MAX_OBJ_NAME_LEN);
  const objLabel = spec.name;
  const signing = spec.signing ?? null;
  const btf = spec.btf;

  if (flavor !== "v2" && flavor !== "bpftool-7.1") {
    throw new LightSkeletonSpecError(
      "GEN_LSKEL_BAD_SPEC",
      objLabel,
      "",
      -1,
      `unknown flavor ${flavor}`,
    );
  }
  checkCount(objLabel, "pageSize", spec.pageSize, 1);
  if (signing && !v2) {
    throw new LightSkeletonSpecError(
      "GEN_LSKEL_BAD_SPEC",
      objLabel,
      "",
      -1,
      "bpftool 7.1 cannot write a signed skeleton",
    );
  }

  // maps with an identifier, in object order
  const maps: MapInfo[] = [];
  for (const map of spec.maps) {
    const ident = mapIdentBinary(map.name, map.internal);
    if (ident === null) continue;
    checkCount(objLabel, `map '${map.name}' valueSize`, map.valueSize, 0);
    checkCount(objLabel, `map '${map.name}' maxEntries`, map.maxEntries, 0);
    let mmapIdent: string | null = null;
    if (v2 && map.type === MapType.ARENA && map.initialValue !== null) mmapIdent = "arena";
    else if (map.internal && (map.mapFlags & BPF_F_MMAPABLE) !== 0) mmapIdent = ident;
    if (mmapIdent !== null && map.initialValue === null) {
      throw new LightSkeletonSpecError(
        "GEN_LSKEL_BAD_SPEC",
        objLabel,
        map.name,
        -1,
        "a memory-mapped map needs its initial value",
      );
    }
    maps.push({
      map,
      ident,
      mmapIdent,
      mmapSize: mapMmapSize(map.valueSize, map.maxEntries, spec.pageSize),
    });
  }
  const progs = spec.progs.map((p) => ({ prog: p, name: toBinary(p.name) }));
  const structOpsMaps = v2 ? maps.filter((m) => m.map.type === MapType.STRUCT_OPS) : [];
  const mmaped = maps.filter((m) => m.mmapIdent !== null);

  // in the order bpftool prints them (which decides the error reported first and the order the
  // DATASEC declarations are dumped in): shadow types, views, attach lines, asserts
  const structOps =
    btf && structOpsMaps.length > 0 ? structOpsShadows(objLabel, X, structOpsMaps) : [];
  const views = btf ? mmaped.map((m) => datasecView(objLabel, X, m, btf.datasecs)) : [];
  const skelProgs = progs.map((p) => ({ name: p.name, attach: attachOf(objLabel, p.prog) }));
  let asserts: string[] | null = null;
  if (btf) {
    asserts = [];
    for (const m of mmaped) {
      const I = m.mmapIdent as string;
      const sec = findDatasec(btf.datasecs, I);
      if (!sec) continue;
      for (const v of sec.vars) {
        if (v.isStatic || v.typeSize < 0) continue;
        const V = varIdentBinary(v.name);
        asserts.push(
          `\t_Static_assert(sizeof(s->${I}->${V}) == ${v.typeSize}, "unexpected size of '${V}'");`,
        );
      }
    }
  }

  return {
    name: X,
    dialect: v2 ? SIGNED_DIALECT : DEBIAN_DIALECT,
    maps: maps.map((m) => {
      if (m.mmapIdent === null) return { name: m.ident, mmap: null };
      // X__destroy() frees the mapping of internal mmapable maps only (not an arena's)
      const freed = m.map.internal && (m.map.mapFlags & BPF_F_MMAPABLE) !== 0;
      const value = m.map.initialValue as Uint8Array;
      const mmap: SkeletonMmap = {
        initialValue: value,
        mmapSize: mmapSizeValue(m.mmapSize),
        valueSize: value.length,
        readOnly: (m.map.mapFlags & BPF_F_RDONLY_PROG) !== 0,
      };
      if (m.mmapIdent !== m.ident) mmap.ident = m.mmapIdent;
      if (!freed) mmap.freed = false;
      return { name: m.ident, mmap };
    }),
    structOps,
    progs: skelProgs,
    links: [...progs.map((p) => `${p.name}_fd`), ...structOpsMaps.map((m) => `${m.ident}_fd`)],
    hasKeyringId: signing !== null,
    views,
    asserts,
    data: spec.data,
    insns: spec.insns,
    signature: signing?.signature ?? null,
    exclHash: signing?.exclHash ?? null,
    ctxSize: loaderCtxSize(maps.length, progs.length),
  };
}

/**
 * Writes the `.lskel.h` bpftool prints for `spec`, as bytes (the names' UTF-8 bytes, everything
 * else ASCII), with the skeleton layer's template (`renderLines`). Throws `LightSkeletonSpecError`
 * where bpftool would fail. Names are not checked as C identifiers: bpftool keeps a user map's
 * name verbatim.
 */
export function writeSpecSkeleton(spec: LightSkeletonSpec): Uint8Array {
  return serializeLines(renderLines(skeletonOfSpec(spec)));
}

/** bpftool's `find_type_for_map`: the first DATASEC whose identifier is the map's. */
function findDatasec(datasecs: LskelDatasec[], identBin: string): LskelDatasec | undefined {
  return datasecs.find((d) => datasecIdentBinary(d.name) === identBin);
}

/** What `X__P__attach()` does (`codegen_attach_detach`). */
function attachOf(obj: string, p: LskelProg): SkeletonAttach {
  switch (p.type) {
    case ProgType.RAW_TRACEPOINT: {
      const sec = toBinary(p.sectionName);
      const slash = sec.indexOf("/");
      if (slash < 0) {
        throw new LightSkeletonSpecError(
          "GEN_LSKEL_NO_TRACEPOINT",
          obj,
          `program '${p.name}'`,
          -1,
          `raw tracepoint section '${p.sectionName}' names no tracepoint (bpftool dereferences a null pointer here)`,
        );
      }
      return { kind: "raw_tracepoint", tracepoint: sec.slice(slash + 1) };
    }
    case ProgType.TRACING:
    case ProgType.LSM:
      return p.expectedAttachType === AttachType.TRACE_ITER
        ? { kind: "iter" }
        : { kind: "tracing" };
    default:
      return { kind: "none" };
  }
}

/** `lines` pushed as header lines: a text that spans lines (a declaration) is split at its newlines. */
function pushLines(lines: string[], text: string): void {
  for (const line of text.split("\n")) lines.push(line);
}

/**
 * One DATASEC view (`codegen_datasecs` / `codegen_datasec_def`): an empty struct when no DATASEC
 * has the map's identifier; otherwise the non-static variables, each preceded by
 * `char __padN[M];` when the bytes since the previous shown variable's end are not just what
 * its alignment (capped at 4) would insert.
 */
function datasecView(obj: string, X: string, m: MapInfo, datasecs: LskelDatasec[]): SkeletonView {
  const I = m.mmapIdent as string;
  const sec = findDatasec(datasecs, I);
  if (!sec) return { ident: I, lines: [`\tstruct ${X}__${I} {`, `\t} *${I};`] };
  const secIdent = datasecIdentBinary(sec.name) as string;
  const lines = [`\tstruct ${X}__${secIdent} {`];
  let off = 0;
  let padCount = 0;
  for (const [i, v] of sec.vars.entries()) {
    if (v.isStatic) continue;
    const need = v.offset;
    if (off > need) {
      throw new LightSkeletonSpecError(
        "GEN_LSKEL_DATASEC_OVERLAP",
        obj,
        sec.name,
        need,
        `variable #${i} '${v.name}' starts at ${need}, before the previous one ends at ${off}`,
      );
    }
    let align = v.align;
    if (!(align > 0)) {
      throw new LightSkeletonSpecError(
        "GEN_LSKEL_BAD_ALIGN",
        obj,
        sec.name,
        need,
        `variable '${v.name}' has no alignment (${align})`,
      );
    }
    if (align > 4) align = 4;
    const aligned = Math.ceil(off / align) * align;
    if (aligned !== need) {
      lines.push(`\t\tchar __pad${padCount}[${need - off}];`);
      padCount++;
    }
    pushLines(lines, `\t\t${toBinary(v.decl)};`);
    off = v.offset + v.size;
  }
  lines.push(`\t} *${secIdent};`);
  return { ident: secIdent, lines };
}

/** The shadow types of the `struct { … } struct_ops;` block (`gen_st_ops_shadow`), v2 only. */
function structOpsShadows(obj: string, X: string, maps: MapInfo[]): SkeletonView[] {
  return maps.map((m) => {
    const shadow = m.map.structOps;
    if (!shadow) {
      throw new LightSkeletonSpecError(
        "GEN_LSKEL_STRUCT_OPS",
        obj,
        m.map.name,
        -1,
        "struct_ops map without its value type's shadow description",
      );
    }
    const lines = [`\t\tstruct ${X}__${m.ident}__${toBinary(shadow.typeName)} {`];
    let next = 0;
    for (const [i, mem] of shadow.members.entries()) {
      const offset = Math.floor(mem.bitOffset / 8);
      if (next < offset) lines.push(`\t\t\tchar __padding_${i}[${offset - next}];`);
      switch (mem.kind) {
        case "scalar":
          pushLines(lines, `\t\t\t${toBinary(mem.decl)};`);
          next = offset + mem.size;
          break;
        case "funcptr":
          lines.push(`\t\t\tstruct bpf_program *${toBinary(mem.name)};`);
          next = offset + HOST_POINTER_SIZE;
          break;
        case "other":
          lines.push(`\t\t\tchar __unsupported_${i}[${mem.size}];`);
          next = offset + mem.size;
          break;
      }
    }
    if (next < shadow.typeSize) lines.push(`\t\t\tchar __padding_end[${shadow.typeSize - next}];`);
    lines.push(`\t\t} *${m.ident};`);
    return { ident: m.ident, lines };
  });
}
