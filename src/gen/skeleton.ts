/**
 * `bpftool gen skeleton -L [-S]` end to end, as a pure function of the object's bytes: libbpf's
 * gen-mode open and load (object/) recorded by the gen_loader port (gen_loader.ts), the loader
 * signed over `insns || metadata` when asked (crypto/sign.ts, or any RawSigner), and the header
 * bpftool writes for it (skeleton_header.ts).
 *
 * What bpftool and libbpf take from the generating machine (kallsyms, kernel version and
 * config, CPU count, page size) arrives in `facts`; the caller reads the machine. Those that
 * a program uses end up inside the signed bytes (typeless ksym addresses in the instructions,
 * kconfig values in the `.kconfig` image, ringbuf and perf-event-array sizes in the MAP_CREATE
 * attrs), which is why the same object generates different signed skeletons on different
 * machines.
 */

import type { Btf } from "../btf/btf.js";
import { BtfDump } from "../btf/btf_dump.js";
import { BTF_KIND } from "../btf/btf_types.js";
import { type SignedLoader, type SignLoaderInput, signLoader } from "../crypto/sign.js";
import { loadObject } from "../object/load.js";
import { openObject } from "../object/object.js";
import { progIsSubprog } from "../object/relo.js";
import { type BpfObject, LibbpfMapType, type OpenOptions } from "../object/types.js";
import { loaderInsnsFor, type SchemeName } from "../scheme/index.js";
import { BpfGen } from "./gen_loader.js";
import {
  datasecVarDeclOptions,
  type LightSkeletonSpec,
  type LskelDatasec,
  lightSkeletonWarnings,
  objectNameFromFile,
  writeSpecSkeleton,
} from "./skeleton_header.js";

/** BTF_VAR_STATIC */
const VAR_STATIC = 0;

/** The signing half of `-S`: the identity that signs (a key or a raw signer, and the certificate). */
export type SkeletonSigning = Omit<SignLoaderInput, "insns" | "metadata">;

export interface GenSkeletonOptions {
  /** `name NAME`; default: bpftool's name for the file (`foo.bpf.o` → `foo_bpf`). */
  name?: string;
  /** `-S -k KEY -i CERT`: sign the hashing-mode loader. */
  signing?: SkeletonSigning;
  /** The generating machine's facts (libbpf reads them while generating; see object/types.ts). */
  facts?: OpenOptions;
  /** `sysconf(_SC_PAGE_SIZE)` of the generating machine (default: `facts.pageSize`, else 4096). */
  pageSize?: number;
  /**
   * The signing scheme (src/scheme; default "v2", what bpftool does). With `signing`, "kfunc"
   * puts the design's in-loader `bpf_loader_verify_metadata` check in front of the loader and
   * signs the instructions; "hornet" signs the instructions with the metadata map's hash in a
   * signed attribute.
   */
  scheme?: SchemeName;
}

export interface GeneratedSkeleton {
  /** The object name the header uses. */
  name: string;
  /** The `.lskel.h` bytes. */
  header: Uint8Array;
  /** The loader program (`opts_insn`). */
  insns: Uint8Array;
  /** The metadata blob (`opts_data`). */
  data: Uint8Array;
  /** With `signing`: the CMS signature, excl_prog_hash and signer id. */
  signed: SignedLoader | null;
  /** What bpftool prints to stderr beside the header (ignored internal maps), and libbpf's warnings. */
  warnings: string[];
  /** The opened and loaded object (maps with their final images, programs after relocation). */
  object: BpfObject;
  /** The skeleton's programs (the object's, without `.text` subprograms), in header order. */
  progs: string[];
}

/**
 * Generates a light skeleton from a BPF ELF object as bpftool (with the series' libbpf and
 * bpftool) does. `file` names the object in errors and gives the default skeleton name.
 * Throws the object layers' typed errors (ELF_, BTF_, OBJECT_, GEN_ codes) for input bpftool
 * refuses, and the signer's for a bad identity; nothing is produced then.
 */
export function genSkeleton(
  bytes: Uint8Array,
  file: string,
  options: GenSkeletonOptions = {},
): GeneratedSkeleton {
  // bpftool falls back to the file's name for an empty `name`
  const name = options.name || objectNameFromFile(file);
  // one page size for the object layer (ringbuf sizes) and the header (mmap sizes)
  const pageSize = options.pageSize ?? options.facts?.pageSize ?? 4096;
  // a view of the caller's facts (their getters stay lazy) with the page size filled in
  const facts: OpenOptions = Object.create(options.facts ?? {});
  facts.pageSize = pageSize;
  const obj = openObject(bytes, name, facts, file);
  const gen = new BpfGen({
    genHash: options.signing !== undefined,
    swappedEndian: !obj.littleEndian,
    objName: name,
  });
  loadObject(obj, gen);
  const data = gen.data;
  const scheme = options.scheme ?? "v2";
  const insns = options.signing ? loaderInsnsFor(scheme, gen.insns, data) : gen.insns;
  const signed = options.signing
    ? signLoader({ ...options.signing, insns, metadata: data, scheme })
    : null;

  const spec: LightSkeletonSpec = {
    name,
    pageSize,
    maps: obj.maps.map((m) => ({
      name: m.name,
      internal: m.libbpfType !== LibbpfMapType.UNSPEC,
      type: m.def.type,
      mapFlags: m.def.mapFlags,
      valueSize: m.def.valueSize,
      maxEntries: m.def.maxEntries,
      initialValue: m.mmaped,
    })),
    progs: obj.programs
      .filter((p) => !progIsSubprog(obj, p))
      .map((p) => ({
        name: p.name,
        sectionName: p.secName,
        type: p.type,
        expectedAttachType: p.expectedAttachType,
      })),
    btf: obj.btf ? { datasecs: datasecs(obj.btf.btf) } : null,
    data,
    insns,
    signing: signed ? { signature: signed.signature, exclHash: signed.exclHash } : null,
  };
  return {
    name,
    header: writeSpecSkeleton(spec),
    insns,
    data,
    signed,
    warnings: [...obj.warnings, ...lightSkeletonWarnings(spec)],
    object: obj,
    progs: spec.progs.map((p) => p.name),
  };
}

/**
 * Every DATASEC of the BTF, in type-id order. Declarations are printed on first use through one
 * btf_dump, so the writer's order of use (bpftool's: maps in order, variables in order) decides
 * the dumper's name-dedup state exactly as in bpftool.
 */
function datasecs(btf: Btf): LskelDatasec[] {
  const dump = new BtfDump(btf);
  const out: LskelDatasec[] = [];
  for (const t of btf.types) {
    if (t.kind !== BTF_KIND.DATASEC) continue;
    const secName = t.name;
    out.push({
      name: secName,
      vars: t.vars.map((v) => {
        const vt = btf.typeById(v.type);
        const varName = vt.name;
        const typeId = vt.kind === BTF_KIND.VAR ? vt.type : v.type;
        let decl: string | undefined;
        return {
          name: varName,
          isStatic: vt.kind === BTF_KIND.VAR && vt.linkage === VAR_STATIC,
          offset: v.offset,
          size: v.size,
          align: btf.alignOf(typeId),
          typeSize: btf.resolveSize(typeId),
          get decl(): string {
            decl ??= dump.emitTypeDecl(typeId, datasecVarDeclOptions(secName, varName));
            return decl;
          },
        };
      }),
    });
  }
  return out;
}
