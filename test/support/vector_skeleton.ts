/** Light skeletons assembled from the shared vectors' arrays (no bpftool needed). */

import {
  type LightSkeleton,
  loaderCtxSize,
  SIGNED_DIALECT,
  type SkeletonMap,
  type SkeletonProg,
  type SkeletonView,
} from "../../src/skeleton/index.js";
import { type ProgName, readVector, type VectorKey } from "./vectors.js";

const PROG_OF: Record<ProgName, string> = {
  prog_a: "ret_const",
  prog_b: "count_pkts",
  prog_d: "ret_magic",
};

/** The unsigned skeleton of a vector program, with the signed loader when `signed`. */
export function vectorSkeleton(prog: ProgName, signed: boolean): LightSkeleton {
  const maps: SkeletonMap[] = [];
  const views: SkeletonView[] = [];
  const asserts: string[] = [];
  if (prog === "prog_b") maps.push({ name: "counters", mmap: null });
  if (prog === "prog_d") {
    const data = readVector(prog, "mmap_data.bin");
    const rodata = readVector(prog, "mmap_rodata.bin");
    maps.push(
      { name: "slots", mmap: null },
      {
        name: "data",
        mmap: { initialValue: data, mmapSize: 4096, valueSize: data.length, readOnly: false },
      },
      {
        name: "rodata",
        mmap: { initialValue: rodata, mmapSize: 4096, valueSize: rodata.length, readOnly: true },
      },
    );
    views.push(
      { ident: "data", lines: ["\tstruct prog_d__data {", "\t\t__u64 magic;", "\t} *data;"] },
      { ident: "rodata", lines: ["\tstruct prog_d__rodata {", "\t\t__u32 scale;", "\t} *rodata;"] },
    );
    asserts.push(
      `\t_Static_assert(sizeof(s->data->magic) == 8, "unexpected size of 'magic'");`,
      `\t_Static_assert(sizeof(s->rodata->scale) == 4, "unexpected size of 'scale'");`,
    );
  }
  const progs: SkeletonProg[] = [{ name: PROG_OF[prog], attach: { kind: "none" } }];
  return {
    name: prog,
    dialect: SIGNED_DIALECT,
    maps,
    progs,
    links: progs.map((p) => `${p.name}_fd`),
    hasKeyringId: false,
    views,
    asserts,
    data: readVector(prog, "data.bin"),
    insns: readVector(prog, signed ? "insns.signed.bin" : "insns.unsigned.bin"),
    signature: null,
    exclHash: null,
    ctxSize: loaderCtxSize(maps.length, progs.length),
  };
}

export const KEYS = ["rsa2048", "rsa3072", "ecp256"] as const satisfies readonly VectorKey[];

/**
 * A vector as a skeleton carries it for loading: the signed loader with the signature of `key`
 * (or with the signature removed but excl_prog_hash kept, `key` = null), or the unsigned loader.
 */
export function vectorImage(
  prog: ProgName,
  form: { signed: true; key: VectorKey | null } | { signed: false },
): LightSkeleton {
  return {
    ...vectorSkeleton(prog, form.signed),
    hasKeyringId: form.signed,
    signature: form.signed && form.key ? readVector(prog, `sig.${form.key}.der`) : null,
    exclHash: form.signed ? readVector(prog, "excl_hash.bin") : null,
  };
}
