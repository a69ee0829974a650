/**
 * A whole BTF as a C header (`bpftool btf dump file F format c`): every named struct, union,
 * enum and typedef, and every anonymous enum, defined once, in an order a C compiler accepts.
 * As libbpf's btf_dump orders them: types are visited in id order and each one's dependencies
 * come first — a type used by value (a member, an array element, a typedef's target) is defined
 * before its user, a struct or union only reached through a pointer gets a forward declaration
 * (`struct x;`) when it is not defined yet. Declarations themselves are printed by BtfDump's
 * emitTypeDecl, so anonymous members are inlined exactly as in skeletons.
 */
import { BTF_KIND, type Btf, type BtfType } from "./btf.js";
import { BtfDump } from "./btf_dump.js";

export interface DumpCOptions {
  /** Wrap in the vmlinux.h guard and the preserve_access_index pragma (bpftool's output). */
  vmlinuxHeader?: boolean;
}

enum State {
  Fresh,
  Emitting,
  Done,
}

/** Prints every type of `btf` as C (see the file comment). */
export function dumpBtfC(btf: Btf, options: DumpCOptions = {}): string {
  const d = new BtfDump(btf);
  const state = new Map<number, State>();
  const fwd = new Set<number>();
  const out: string[] = [];

  const isComposite = (t: BtfType) => t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION;
  const keyword = (t: BtfType) => (t.kind === BTF_KIND.UNION ? "union" : "struct");

  /** Makes `id` usable: by value needs its definition, through a pointer a declaration. */
  const need = (id: number, byValue: boolean): void => {
    if (id === 0) return;
    const t = btf.typeById(id);
    switch (t.kind) {
      case BTF_KIND.PTR:
        need(t.type, false);
        return;
      case BTF_KIND.ARRAY:
        need(t.type, byValue);
        return;
      case BTF_KIND.CONST:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG:
        need(t.type, byValue);
        return;
      case BTF_KIND.FUNC_PROTO:
        need(t.returnType, false);
        for (const p of t.params) need(p.type, false);
        return;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        if (t.name === "") {
          for (const m of t.members) need(m.type, byValue);
          return;
        }
        if (!byValue) {
          if (state.get(id) !== State.Done && !fwd.has(id)) {
            fwd.add(id);
            out.push(`${keyword(t)} ${t.name};\n\n`);
          }
          return;
        }
        define(id);
        return;
      case BTF_KIND.FWD:
        if (!fwd.has(id)) {
          fwd.add(id);
          const k = t.kflag ? "union" : "struct";
          // a FWD whose struct is defined elsewhere in the BTF needs no declaration of its own
          if (btf.findByName(t.name, t.kflag ? BTF_KIND.UNION : BTF_KIND.STRUCT) < 0)
            out.push(`${k} ${t.name};\n\n`);
        }
        return;
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
      case BTF_KIND.TYPEDEF:
        define(id);
        return;
      default:
        return;
    }
  };

  const define = (id: number): void => {
    const st = state.get(id) ?? State.Fresh;
    if (st !== State.Fresh) return;
    const t = btf.typeById(id);
    state.set(id, State.Emitting);
    switch (t.kind) {
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        for (const m of t.members) need(m.type, true);
        // the definition itself, through the skeleton printer of an anonymous type: print the
        // body with emitTypeDecl of each member
        const lines = t.members.map((m) => {
          const decl = d.emitTypeDecl(m.type, { fieldName: m.name, indentLevel: 1 });
          return `\t${decl}${m.bitfieldSize ? `: ${m.bitfieldSize}` : ""};\n`;
        });
        out.push(`${keyword(t)} ${t.name} {\n${lines.join("")}};\n\n`);
        break;
      }
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64: {
        const vals = t.values.map((v) => `\t${v.name} = ${v.value},\n`);
        out.push(`enum${t.name ? ` ${t.name}` : ""} {\n${vals.join("")}};\n\n`);
        break;
      }
      case BTF_KIND.TYPEDEF: {
        need(t.type, true);
        out.push(`typedef ${d.emitTypeDecl(t.type, { fieldName: t.name, indentLevel: 0 })};\n\n`);
        break;
      }
    }
    state.set(id, State.Done);
  };

  for (let id = 1; id < btf.types.length; id++) {
    const t = btf.types[id];
    if (isComposite(t) && t.name !== "") define(id);
    else if (t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64 || t.kind === BTF_KIND.TYPEDEF)
      define(id);
    else if (t.kind === BTF_KIND.FWD) need(id, false);
  }
  const body = out.join("");
  if (!options.vmlinuxHeader) return body;
  return (
    "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n" +
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n" +
    "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n" +
    "#endif\n\n" +
    body +
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n" +
    "#endif /* __VMLINUX_H__ */\n"
  );
}
