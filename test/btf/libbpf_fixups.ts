/**
 * Test model of the BTF changes libbpf makes to an object's BTF between bpf_object__open and
 * the BTF upload in gen mode: bpf_object__collect_externs (dummy_ksym VAR, .ksyms and .kconfig
 * rewriting), bpf_object_fixup_btf (DATASEC sizes, VAR offsets, hidden globals made static,
 * var_secinfos sorted) and bpf_object__sanitize_and_load_btf's FUNC linkage of hidden global
 * subprogs. Each change is applied through the Btf mutators and recorded as an operation for
 * the libbpf oracle (libbpf_raw_data.c), which replays it on libbpf's own struct btf.
 */

import {
  BTF_FUNC_GLOBAL,
  BTF_FUNC_STATIC,
  BTF_KIND,
  BTF_VAR_GLOBAL_ALLOCATED,
  BTF_VAR_GLOBAL_EXTERN,
  BTF_VAR_STATIC,
  type Btf,
} from "../../src/btf/btf.js";
import {
  type ElfFile,
  SHN_UNDEF,
  STB_GLOBAL,
  STB_WEAK,
  STT_FUNC,
  STT_NOTYPE,
  STT_OBJECT,
  STV_HIDDEN,
  STV_INTERNAL,
} from "../../src/elf/elf.js";

/** What a scenario did: the oracle operations and what the add* calls returned. */
export interface Applied {
  ops: string[];
  returned: number[];
}

/**
 * Applies the gen-mode BTF fix-ups to `btf` and returns them as oracle operations.
 * `hiddenVarsStatic: false` leaves hidden globals' VARs alone, as libbpf 1.1 (Debian's bpftool
 * 7.1) does; newer libbpf (and the one the spec builds on) marks them static.
 */
export function applyGenFixups(
  elf: ElfFile,
  btf: Btf,
  opts: { hiddenVarsStatic?: boolean } = {},
): Applied {
  const hiddenVarsStatic = opts.hiddenVarsStatic ?? true;
  const ops: string[] = [];
  const returned: number[] = [];
  const ksymsId = btf.findByName(".ksyms", BTF_KIND.DATASEC);
  const kconfigId = btf.findByName(".kconfig", BTF_KIND.DATASEC);
  // find_int_btf_id: the first INT of 32 bits
  const intId = btf.types.findIndex((t) => t.kind === BTF_KIND.INT && t.bits === 32);
  const int32 = Math.max(intId, 0);

  // add_dummy_ksym_var
  let dummyId = 0;
  if (ksymsId > 0) {
    const sec = btf.typeById(ksymsId);
    if (
      sec.kind === BTF_KIND.DATASEC &&
      sec.vars.some((v) => btf.typeById(v.type).kind === BTF_KIND.FUNC)
    ) {
      dummyId = btf.addVar("dummy_ksym", BTF_VAR_GLOBAL_ALLOCATED, int32);
      ops.push(`addvar:dummy_ksym:${BTF_VAR_GLOBAL_ALLOCATED}:${int32}`);
      returned.push(dummyId);
    }
  }

  // the externs, sorted as cmp_externs does
  interface Ext {
    name: string;
    btfId: number;
    kcfg: boolean;
    size: number;
    align: number;
    off: number;
  }
  const exts: Ext[] = [];
  for (const sym of elf.symbols) {
    if (sym.shndx !== SHN_UNDEF || sym.type !== STT_NOTYPE) continue;
    if (sym.bind !== STB_GLOBAL && sym.bind !== STB_WEAK) continue;
    if (!sym.name) continue;
    const btfId = btf.types.findIndex(
      (t) => (t.kind === BTF_KIND.VAR || t.kind === BTF_KIND.FUNC) && t.name === sym.name,
    );
    const t = btf.typeById(btfId);
    const secId = btf.types.findIndex(
      (s) => s.kind === BTF_KIND.DATASEC && s.vars.some((v) => v.type === btfId),
    );
    const kcfg = secId === kconfigId;
    const inner = t.kind === BTF_KIND.VAR ? t.type : 0;
    exts.push({
      name: t.name,
      btfId,
      kcfg,
      size: kcfg ? btf.resolveSize(inner) : 0,
      align: kcfg ? btf.alignOf(inner) : 0,
      off: 0,
    });
  }
  const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  exts.sort((a, b) => {
    if (a.kcfg !== b.kcfg) return a.kcfg ? -1 : 1;
    if (a.kcfg) {
      if (a.align !== b.align) return a.align > b.align ? -1 : 1;
      if (a.size !== b.size) return a.size < b.size ? -1 : 1;
    }
    return cmpStr(a.name, b.name);
  });

  if (ksymsId > 0 && exts.some((e) => !e.kcfg)) {
    const sec = btf.typeById(ksymsId);
    if (sec.kind !== BTF_KIND.DATASEC) throw new Error("no .ksyms datasec");
    const dummyNameOff = dummyId ? btf.typeById(dummyId).nameOff : 0;
    const n = sec.vars.length;
    for (let i = 0; i < n; i++) {
      const vt = btf.typeById(sec.vars[i].type);
      if (vt.kind === BTF_KIND.FUNC) {
        const proto = btf.typeById(vt.type);
        if (proto.kind !== BTF_KIND.FUNC_PROTO) throw new Error("func without proto");
        proto.params.forEach((p, j) => {
          if (p.type && !p.nameOff) {
            btf.setParamNameOff(proto.id, j, dummyNameOff);
            ops.push(`paramname:${proto.id}:${j}:${dummyNameOff}`);
          }
        });
        btf.setFuncLinkage(vt.id, BTF_FUNC_GLOBAL);
        ops.push(`funclink:${vt.id}:${BTF_FUNC_GLOBAL}`);
        btf.setVarSecinfo(ksymsId, i, { type: dummyId, offset: i * 4, size: 4 });
      } else if (vt.kind === BTF_KIND.VAR) {
        btf.setVarLinkage(vt.id, BTF_VAR_GLOBAL_ALLOCATED);
        btf.setVarType(vt.id, int32);
        ops.push(`varlink:${vt.id}:${BTF_VAR_GLOBAL_ALLOCATED}`, `vartype:${vt.id}:${int32}`);
        btf.setVarSecinfo(ksymsId, i, { offset: i * 4, size: 4 });
      }
      const v = (btf.typeById(ksymsId) as typeof sec).vars[i];
      ops.push(`secinfo:${ksymsId}:${i}:${v.type}:${v.offset}:${v.size}`);
    }
    btf.setDatasecSize(ksymsId, n * 4);
    ops.push(`size:${ksymsId}:${n * 4}`);
  }

  if (kconfigId > 0 && exts.some((e) => e.kcfg)) {
    let off = 0;
    for (const e of exts) {
      if (!e.kcfg) continue;
      e.off = Math.ceil(off / e.align) * e.align;
      off = e.off + e.size;
    }
    btf.setDatasecSize(kconfigId, off);
    ops.push(`size:${kconfigId}:${off}`);
    const sec = btf.typeById(kconfigId);
    if (sec.kind !== BTF_KIND.DATASEC) throw new Error("no .kconfig datasec");
    sec.vars.forEach((v, i) => {
      const t = btf.typeById(v.type);
      const e = exts.find((x) => x.name === t.name)!;
      btf.setVarLinkage(t.id, BTF_VAR_GLOBAL_ALLOCATED);
      btf.setVarSecinfoOffset(kconfigId, i, e.off);
      ops.push(`varlink:${t.id}:${BTF_VAR_GLOBAL_ALLOCATED}`, `secoff:${kconfigId}:${i}:${e.off}`);
    });
  }

  // bpf_object_fixup_btf
  for (let id = 1; id < btf.typeCount; id++) {
    const t = btf.typeById(id);
    if (t.kind !== BTF_KIND.DATASEC) continue;
    if (t.name !== ".kconfig" && t.name !== ".ksyms") {
      let fixOffsets = false;
      if (t.size === 0) {
        const s = elf.sectionByName(t.name);
        if (!s?.size) throw new Error(`no ELF section for ${t.name}`);
        btf.setDatasecSize(id, s.size);
        ops.push(`size:${id}:${s.size}`);
        fixOffsets = true;
      }
      t.vars.forEach((v, i) => {
        const vt = btf.typeById(v.type);
        if (vt.kind !== BTF_KIND.VAR) throw new Error("non-VAR in datasec");
        if (vt.linkage === BTF_VAR_STATIC || vt.linkage === BTF_VAR_GLOBAL_EXTERN) return;
        const sym = elf.symbols.find(
          (s) =>
            s.type === STT_OBJECT &&
            (s.bind === STB_GLOBAL || s.bind === STB_WEAK) &&
            s.name === vt.name,
        );
        if (!sym) throw new Error(`no ELF symbol for ${vt.name}`);
        if (fixOffsets) {
          btf.setVarSecinfoOffset(id, i, Number(sym.value));
          ops.push(`secoff:${id}:${i}:${sym.value}`);
        }
        if (
          hiddenVarsStatic &&
          (sym.visibility === STV_HIDDEN || sym.visibility === STV_INTERNAL)
        ) {
          btf.setVarLinkage(vt.id, BTF_VAR_STATIC);
          ops.push(`varlink:${vt.id}:${BTF_VAR_STATIC}`);
        }
      });
    }
    btf.sortDatasecVars(id);
    ops.push(`sort:${id}`);
  }

  // bpf_object__sanitize_and_load_btf: hidden global subprogs get a static FUNC
  const text = elf.sectionByName(".text");
  for (const sym of elf.symbols) {
    if (!text || sym.shndx !== text.index || sym.type !== STT_FUNC || sym.bind === 0) continue;
    if (sym.visibility !== STV_HIDDEN && sym.visibility !== STV_INTERNAL) continue;
    const fid = btf.types.findIndex(
      (t) => t.kind === BTF_KIND.FUNC && t.linkage === BTF_FUNC_GLOBAL && t.name === sym.name,
    );
    if (fid > 0) {
      btf.setFuncLinkage(fid, BTF_FUNC_STATIC);
      ops.push(`funclink:${fid}:${BTF_FUNC_STATIC}`);
    }
  }
  return { ops, returned };
}
