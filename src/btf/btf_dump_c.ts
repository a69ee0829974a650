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
          // defined inline where it is used: its members are needed by value
          for (const m of t.members) need(m.type, true);
          return;
        }
        if (!byValue) {
          if (state.get(id) !== State.Done && !fwd.has(id)) {
            fwd.add(id);
            out.push(`${keyword(t)} ${d.printedName(id)};\n\n`);
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
        if (t.name !== "") define(id);
        return;
      case BTF_KIND.TYPEDEF:
        define(id);
        if (byValue) need(t.type, true);
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
      case BTF_KIND.UNION:
        for (const m of t.members) need(m.type, true);
        out.push(`${d.emitDefinition(id)};\n\n`);
        break;
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
        out.push(`${d.emitDefinition(id)};\n\n`);
        break;
      case BTF_KIND.TYPEDEF:
        // the compiler's own va_list typedef is never redefined (libbpf leaves it out too)
        if (t.name === "__builtin_va_list") break;
        // `typedef struct s t;` needs `struct s` declared only; users by value define it
        need(t.type, false);
        out.push(`${d.emitDefinition(id)};\n\n`);
        break;
    }
    state.set(id, State.Done);
  };

  // an anonymous enum some other type refers to is printed inline there, not on its own
  const referenced = new Set<number>();
  for (const t of btf.types) {
    if (isComposite(t) && "members" in t) for (const m of t.members) referenced.add(m.type);
    else if ("type" in t) referenced.add(t.type);
    else if (t.kind === BTF_KIND.FUNC_PROTO) {
      referenced.add(t.returnType);
      for (const p of t.params) referenced.add(p.type);
    }
  }
  for (let id = 1; id < btf.types.length; id++) {
    const t = btf.types[id];
    if (isComposite(t) && t.name !== "") define(id);
    else if (t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64) {
      if (t.name !== "" || !referenced.has(id)) define(id);
    } else if (t.kind === BTF_KIND.TYPEDEF) define(id);
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
