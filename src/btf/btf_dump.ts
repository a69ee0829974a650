/**
 * C declarations of BTF types, as libbpf's `btf_dump__emit_type_decl()` writes them. bpftool's
 * skeleton generator (gen.c, codegen_datasec_def) prints each datasec variable with it, at
 * indent level 2, with `strip_mods` on for every section except `.kconfig`.
 *
 * How the declaration is built (libbpf's algorithm, reimplemented):
 * - from the variable's type, follow pointers, modifiers, arrays and function prototypes
 *   (through their return type) onto a stack until a "terminal" type (int, float, enum, struct,
 *   union, fwd, typedef) or void; with strip_mods, const/volatile/restrict/type_tag are not
 *   pushed (and stay stripped inside inline definitions and parameter lists);
 * - pop the stack: the terminal type is printed first (with the modifiers right above it in
 *   front: `const int`), then pointers (`*`, glued to the previous `*`), modifiers after
 *   pointers (`* const`), arrays as `name[N]` (parenthesised `(*name)[N]` when something other
 *   than an array is between), function prototypes as `ret (*name)(params)`;
 * - anonymous structs/unions/enums are defined inline (members one per line, indented with
 *   tabs, with libbpf's explicit padding `long: 64;` and `__attribute__((packed))` detection);
 *   named ones are referenced (`struct point`);
 * - names of structs, unions, enums and typedefs go through per-dumper dedup maps: the second
 *   distinct type with the same name is printed `name___2`. Enumerator names share the map of
 *   typedef names, so an anonymous enum defined twice in one dumper gets `A___2` the second
 *   time. Use one `BtfDump` for a whole skeleton (as bpftool uses one btf_dump) to reproduce it.
 */

import { BTF_KIND, type Btf, BtfError, type BtfType } from "./btf.js";

/** Options of `btf_dump__emit_type_decl`. */
export interface EmitTypeDeclOpts {
  /** the declared name (`field_name`), "" for an abstract declarator */
  fieldName?: string;
  /** tabs before the lines of inline definitions (`indent_level`) */
  indentLevel?: number;
  /** drop const/volatile/restrict/type_tag (`strip_mods`) */
  stripMods?: boolean;
}

/** libbpf's PREFIXES: at most 13 tabs. */
const MAX_INDENT = 13;
/** Deepest nesting of declarations (inline definitions, parameters) before giving up. */
const MAX_NESTING = 256;
/** Most `long: 64;` lines one padding gap may take (libbpf would print any number). */
const MAX_PAD_LINES = 1 << 20;
/** Pointer size of BPF-targeted BTF. */
const PTR_SIZE = 8;

function pfx(lvl: number): string {
  return "\t".repeat(Math.max(0, Math.min(lvl, MAX_INDENT)));
}

function roundup(x: number, y: number): number {
  return Math.ceil(x / y) * y;
}

function isMod(t: BtfType): boolean {
  return (
    t.kind === BTF_KIND.VOLATILE ||
    t.kind === BTF_KIND.CONST ||
    t.kind === BTF_KIND.RESTRICT ||
    t.kind === BTF_KIND.TYPE_TAG
  );
}

/**
 * A btf_dump instance: one BTF, one set of name-dedup maps. `emitTypeDecl` may be called many
 * times; the name maps carry over between calls, as in libbpf.
 */
export class BtfDump {
  readonly btf: Btf;
  private out = "";
  private stripMods = false;
  private readonly typeNames = new Map<string, number>();
  private readonly identNames = new Map<string, number>();
  private readonly cachedNames = new Map<number, string>();
  private readonly resolved = new Set<number>();
  private depth = 0;

  /** `btf_dump__new(btf, ...)`. */
  constructor(btf: Btf) {
    this.btf = btf;
  }

  /** `btf_dump__emit_type_decl(d, id, opts)`: returns the printed declaration. */
  emitTypeDecl(typeId: number, opts: EmitTypeDeclOpts = {}): string {
    this.out = "";
    this.depth = 0;
    this.stripMods = opts.stripMods ?? false;
    try {
      this.emitDecl(typeId, opts.fieldName ?? "", opts.indentLevel ?? 0);
    } finally {
      this.stripMods = false;
    }
    return this.out;
  }

  /**
   * The definition of a named struct, union or enum (`struct name {...}` without the `;`), or
   * of a typedef (`typedef ... name`), with this dumper's name dedup: what a whole-BTF C dump
   * prints at the top level (btf_dump_c.ts).
   */
  emitDefinition(id: number): string {
    this.out = "";
    this.depth = 0;
    const t = this.type(id);
    if (t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION) this.emitStructDef(id, t, 0);
    else if (t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64) this.emitEnumDef(id, t, 0);
    else if (t.kind === BTF_KIND.TYPEDEF) {
      this.out += "typedef ";
      this.emitDecl(t.type, this.identName(id), 0);
    } else throw this.unsupported(id, t);
    return this.out;
  }

  /** The (deduplicated) name a struct, union, enum or fwd is printed with. */
  printedName(id: number): string {
    return this.typeName(id);
  }

  private type(id: number): BtfType {
    return this.btf.typeById(id);
  }

  private unsupported(id: number, t: BtfType): BtfError {
    return new BtfError(
      "BTF_DUMP_UNSUPPORTED",
      this.btf.objectName,
      `.BTF type [${id}]`,
      -1,
      `a ${t.kind === BTF_KIND.VAR ? "var" : `kind ${t.kind}`} type cannot appear in a C declaration`,
      id,
    );
  }

  private loop(id: number, detail: string): BtfError {
    return new BtfError("BTF_TYPE_LOOP", this.btf.objectName, `.BTF type [${id}]`, -1, detail, id);
  }

  /** btf_dump_emit_type_decl: build the declaration stack, then print the chain. */
  private emitDecl(id: number, fname: string, lvl: number): void {
    // a valid BTF has no loops by value (Btf.parse refuses them); these bounds stop loops
    // through pointers and prototypes, which libbpf would follow forever
    if (++this.depth > MAX_NESTING) {
      throw this.loop(id, `declarations nest more than ${MAX_NESTING} deep`);
    }
    try {
      this.emitDeclInner(id, fname, lvl);
    } finally {
      this.depth--;
    }
  }

  private emitDeclInner(id: number, fname: string, lvl: number): void {
    const stack: number[] = [];
    for (;;) {
      if (stack.length > this.btf.typeCount) throw this.loop(id, "the declaration chain loops");
      const t = this.type(id);
      if (!(this.stripMods && isMod(t))) stack.push(id);
      if (id === 0) break;
      let done = false;
      switch (t.kind) {
        case BTF_KIND.PTR:
        case BTF_KIND.VOLATILE:
        case BTF_KIND.CONST:
        case BTF_KIND.RESTRICT:
        case BTF_KIND.TYPE_TAG:
        case BTF_KIND.ARRAY:
          id = t.type;
          break;
        case BTF_KIND.FUNC_PROTO:
          id = t.returnType;
          break;
        case BTF_KIND.INT:
        case BTF_KIND.ENUM:
        case BTF_KIND.ENUM64:
        case BTF_KIND.FWD:
        case BTF_KIND.STRUCT:
        case BTF_KIND.UNION:
        case BTF_KIND.TYPEDEF:
        case BTF_KIND.FLOAT:
          done = true;
          break;
        default:
          throw this.unsupported(id, t);
      }
      if (done) break;
    }
    this.emitChain(stack, fname, lvl);
  }

  /** btf_dump_emit_mods: modifiers right above a terminal type go in front of it. */
  private emitMods(decls: number[]): void {
    while (decls.length) {
      const t = this.type(decls[decls.length - 1]);
      if (t.kind === BTF_KIND.VOLATILE) this.out += "volatile ";
      else if (t.kind === BTF_KIND.CONST) this.out += "const ";
      else if (t.kind === BTF_KIND.RESTRICT) this.out += "restrict ";
      else return;
      decls.pop();
    }
  }

  /** btf_dump_drop_mods. */
  private dropMods(decls: number[]): void {
    while (decls.length && isMod(this.type(decls[decls.length - 1]))) decls.pop();
  }

  private emitName(name: string, lastWasPtr: boolean): void {
    this.out += (name !== "" && !lastWasPtr ? " " : "") + name;
  }

  /** btf_dump_emit_type_chain. */
  private emitChain(decls: number[], fname: string, lvl: number): void {
    let lastWasPtr = true;
    while (decls.length) {
      const id = decls.pop()!;
      if (id === 0) {
        this.emitMods(decls);
        this.out += "void";
        lastWasPtr = false;
        continue;
      }
      const t = this.type(id);
      switch (t.kind) {
        case BTF_KIND.INT:
        case BTF_KIND.FLOAT:
          this.emitMods(decls);
          this.out += t.name;
          break;
        case BTF_KIND.STRUCT:
        case BTF_KIND.UNION:
          this.emitMods(decls);
          if (t.nameOff === 0) this.emitStructDef(id, t, lvl);
          else
            this.out += `${t.kind === BTF_KIND.STRUCT ? "struct" : "union"} ${this.typeName(id)}`;
          break;
        case BTF_KIND.ENUM:
        case BTF_KIND.ENUM64:
          this.emitMods(decls);
          if (t.nameOff === 0) this.emitEnumDef(id, t, lvl);
          else this.out += `enum ${this.typeName(id)}`;
          break;
        case BTF_KIND.FWD:
          this.emitMods(decls);
          this.out += `${t.kflag ? "union" : "struct"} ${this.typeName(id)}`;
          break;
        case BTF_KIND.TYPEDEF:
          this.emitMods(decls);
          this.out += this.identName(id);
          break;
        case BTF_KIND.PTR:
          this.out += lastWasPtr ? "*" : " *";
          break;
        case BTF_KIND.VOLATILE:
          this.out += " volatile";
          break;
        case BTF_KIND.CONST:
          this.out += " const";
          break;
        case BTF_KIND.RESTRICT:
          this.out += " restrict";
          break;
        case BTF_KIND.TYPE_TAG:
          this.emitMods(decls);
          this.out += t.kflag
            ? ` __attribute__((${t.name}))`
            : ` __attribute__((btf_type_tag("${t.name}")))`;
          break;
        case BTF_KIND.ARRAY: {
          // const/volatile on an array (a GCC quirk) are dropped
          this.dropMods(decls);
          if (!decls.length) {
            this.emitName(fname, lastWasPtr);
            this.out += `[${t.nelems}]`;
            return;
          }
          const next = this.type(decls[decls.length - 1]);
          const multidim = next.kind === BTF_KIND.ARRAY;
          if (fname !== "" && !lastWasPtr) this.out += " ";
          if (!multidim) this.out += "(";
          this.emitChain(decls, fname, lvl);
          if (!multidim) this.out += ")";
          this.out += `[${t.nelems}]`;
          return;
        }
        case BTF_KIND.FUNC_PROTO: {
          this.dropMods(decls);
          if (decls.length) {
            this.out += " (";
            this.emitChain(decls, fname, lvl);
            this.out += ")";
          } else {
            this.emitName(fname, lastWasPtr);
          }
          this.out += "(";
          const ps = t.params;
          if (ps.length === 0 || (ps.length === 1 && ps[0].type === 0)) {
            this.out += "void)";
            return;
          }
          for (let i = 0; i < ps.length; i++) {
            if (i > 0) this.out += ", ";
            // a trailing void parameter is the vararg
            if (i === ps.length - 1 && ps[i].type === 0) {
              this.out += "...";
              break;
            }
            this.emitDecl(ps[i].type, ps[i].name, lvl);
          }
          this.out += ")";
          return;
        }
        default:
          throw this.unsupported(id, t);
      }
      lastWasPtr = t.kind === BTF_KIND.PTR;
    }
    this.emitName(fname, lastWasPtr);
  }

  /** btf_is_struct_packed. */
  private isStructPacked(t: Extract<BtfType, { kind: 4 | 5 }>): boolean {
    let maxAlign = 1;
    for (const m of t.members) {
      const align = this.btf.alignOf(m.type);
      if (align && m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return true;
      maxAlign = Math.max(align, maxAlign);
    }
    return t.size % maxAlign !== 0;
  }

  /** btf_dump_emit_bit_padding: explicit `<type>: N;` fillers for gaps libbpf cannot leave implicit. */
  private emitBitPadding(
    curOff: number,
    nextOff: number,
    nextAlign: number,
    inBitfield: boolean,
    lvl: number,
  ): void {
    const pads: [string, number][] = [
      ["long", PTR_SIZE * 8],
      ["int", 32],
      ["short", 16],
      ["char", 8],
    ];
    if (curOff >= nextOff) return;
    if ((nextOff - curOff) / pads[0][1] > MAX_PAD_LINES) {
      throw new BtfError(
        "BTF_DUMP_UNSUPPORTED",
        this.btf.objectName,
        ".BTF",
        -1,
        `a gap of ${nextOff - curOff} bits would need more than ${MAX_PAD_LINES} padding lines`,
      );
    }
    let newOff = 0;
    let padBits = 0;
    let padType = "";
    for (const [name, bits] of pads) {
      padBits = bits;
      padType = name;
      newOff = roundup(curOff, padBits);
      if (newOff <= nextOff) break;
    }
    if (newOff > curOff && newOff <= nextOff) {
      if (
        inBitfield ||
        (newOff === nextOff && roundup(curOff, nextAlign * 8) !== newOff) ||
        (newOff !== nextOff && nextOff - newOff <= newOff - curOff)
      ) {
        this.out += `\n${pfx(lvl)}${padType}: ${inBitfield ? newOff - curOff : 0};`;
      }
      curOff = newOff;
    }
    while (curOff !== nextOff) {
      const bits = Math.min(nextOff - curOff, padBits);
      if (bits === padBits) {
        this.out += `\n${pfx(lvl)}${padType}: ${padBits};`;
        curOff += bits;
        continue;
      }
      // the remainder gets the smallest type that holds it
      for (let i = pads.length - 1; i >= 0; i--) {
        padType = pads[i][0];
        padBits = pads[i][1];
        if (padBits < bits) continue;
        this.out += `\n${pfx(lvl)}${padType}: ${bits};`;
        curOff += bits;
        break;
      }
    }
  }

  /** btf_dump_emit_struct_def (an anonymous struct/union, defined inline). */
  private emitStructDef(id: number, t: Extract<BtfType, { kind: 4 | 5 }>, lvl: number): void {
    const isStruct = t.kind === BTF_KIND.STRUCT;
    const align = this.btf.alignOf(id);
    const packed = isStruct ? this.isStructPacked(t) : false;
    const name = this.typeName(id);
    this.out += `${isStruct ? "struct" : "union"}${t.nameOff ? " " : ""}${name} {`;
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      let mSz = m.bitfieldSize;
      const mOff = m.bitOffset;
      const mAlign = packed ? 1 : this.btf.alignOf(m.type);
      const inBitfield = prevBitfield && mSz !== 0;
      this.emitBitPadding(off, mOff, mAlign, inBitfield, lvl + 1);
      this.out += `\n${pfx(lvl + 1)}`;
      this.emitDecl(m.type, m.name, lvl + 1);
      if (mSz) {
        this.out += `: ${mSz}`;
        off = mOff + mSz;
        prevBitfield = true;
      } else {
        mSz = Math.max(0, this.btf.resolveSize(m.type));
        off = mOff + mSz * 8;
        prevBitfield = false;
      }
      this.out += ";";
    }
    if (isStruct) this.emitBitPadding(off, t.size * 8, align, false, lvl + 1);
    if (t.members.length || t.size) this.out += `\n${pfx(lvl)}}`;
    else this.out += "}";
    if (packed) this.out += " __attribute__((packed))";
  }

  /** btf_dump_emit_enum_def (an anonymous enum, defined inline). */
  private emitEnumDef(id: number, t: Extract<BtfType, { kind: 6 | 19 }>, lvl: number): void {
    this.out += `enum${t.nameOff ? " " : ""}${this.typeName(id)}`;
    if (!t.values.length) return;
    this.out += " {";
    for (const v of t.values) {
      const dup = this.nameDups(this.identNames, v.name);
      const name = dup > 1 ? `${v.name}___${dup}` : v.name;
      const suffix = t.kind === BTF_KIND.ENUM64 ? (t.signed ? "LL" : "ULL") : "";
      this.out += `\n${pfx(lvl + 1)}${name} = ${v.value}${suffix},`;
    }
    this.out += `\n${pfx(lvl)}}`;
    if (t.size === 1) {
      this.out += " __attribute__((mode(byte)))";
    } else if (t.size === 8 && PTR_SIZE === 8) {
      // a 32-bit enum record cannot hold 64-bit values; an enum64 whose values all fit in 32
      // bits would not be 8 bytes on its own either
      const needsWord =
        t.kind === BTF_KIND.ENUM ||
        t.values.every((v) => BigInt.asUintN(64, v.value as bigint) >> 32n === 0n);
      if (needsWord) this.out += " __attribute__((mode(word)))";
    }
  }

  /** btf_dump_name_dups: how many times `name` was seen in `map`, this one included. */
  private nameDups(map: Map<string, number>, name: string): number {
    const n = (map.get(name) ?? 0) + 1;
    map.set(name, n);
    return n;
  }

  /** btf_dump_resolve_name. */
  private resolveName(id: number, map: Map<string, number>): string {
    const t = this.type(id);
    if (t.nameOff === 0) return "";
    const orig = t.name;
    if (this.resolved.has(id)) return this.cachedNames.get(id) ?? orig;
    this.resolved.add(id);
    if (t.kind === BTF_KIND.FWD || (t.kind === BTF_KIND.ENUM && t.values.length === 0)) return orig;
    const dup = this.nameDups(map, orig);
    if (dup > 1) this.cachedNames.set(id, `${orig}___${dup}`);
    return this.cachedNames.get(id) ?? orig;
  }

  private typeName(id: number): string {
    return this.resolveName(id, this.typeNames);
  }

  private identName(id: number): string {
    return this.resolveName(id, this.identNames);
  }
}

/**
 * `btf_dump__emit_type_decl` with a fresh dumper: the C declaration of `typeId` named
 * `fieldName`. For a whole skeleton use one `BtfDump` so that name dedup spans all variables.
 */
export function emitTypeDecl(btf: Btf, typeId: number, opts: EmitTypeDeclOpts): string {
  return new BtfDump(btf).emitTypeDecl(typeId, opts);
}
