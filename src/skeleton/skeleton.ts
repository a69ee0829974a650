/**
 * What a light skeleton (`bpftool gen skeleton -L [-S]`, a `.lskel.h`) carries, as values.
 *
 * How each field maps to the header (`X` = object name, `I` = map identifier, `P` = program):
 *
 * | field | in the header |
 * |---|---|
 * | `name` | `struct X {`, the `X__*` functions; the guard is `__X_SKEL_H__` upper-cased |
 * | `maps[i].name` | `struct bpf_map_desc I;` in `struct { … } maps;` (order = `bpf_map_desc` order in the loader ctx) |
 * | `maps[i].mmap` | memory-mapped global data: the initial-value literal of `skel->I = skel_prep_map_data(…)` in `X__open()`, its mmap size, and `PROT_READ` alone in `X__load()` (read-only) |
 * | `maps[i].mmap.ident`, `.freed` | an arena's mapping: `skel->arena`, not freed by `X__destroy()` |
 * | `structOps` | the shadow structs in `struct { … } struct_ops;` (struct_ops maps), verbatim |
 * | `progs[j].name` | `struct bpf_prog_desc P;` in `struct { … } progs;` (order = `bpf_prog_desc` order) |
 * | `progs[j].attach` | the `int fd = …;` line of `X__P__attach()` |
 * | `links` | `int P_fd;` in `struct { … } links;` |
 * | `hasKeyringId` | `__s32 keyring_id;` after the links (signed skeletons only) |
 * | `views` | the datasec pointer structs (`struct X__data { … } *data;`), verbatim |
 * | `asserts` | the `_Static_assert` lines of `X__assert()`, verbatim; `null` when the header has no `X__assert()` (object without BTF) |
 * | `data` | `opts_data` (or `opts.data = (void *)"…"` in bpftool ≤ 7.x): the loader's metadata blob |
 * | `insns` | `opts_insn` (or `opts.insns = (void *)"…"`): the loader program |
 * | `signature` | `opts_sig` (signed skeletons), else `null` |
 * | `exclHash` | `opts_excl_hash` (signed skeletons), else `null` |
 * | `ctxSize` | what `skel->ctx.sz = (char *)&skel->links - (char *)skel` evaluates to: 24 + 16·maps + 4·progs |
 * | `dialect` | which bpftool wrote it (below) |
 */

/** `sizeof(struct bpf_loader_ctx)` */
export const LOADER_CTX_SIZE = 24;
/** Offsets inside `struct bpf_loader_ctx` (`sz` is at 0). */
export const LOADER_CTX_FLAGS = 4;
export const LOADER_CTX_LOG_LEVEL = 8;
export const LOADER_CTX_LOG_SIZE = 12;
export const LOADER_CTX_LOG_BUF = 16;
/** `BPF_SKEL_KERNEL` in `ctx->flags`: the skeleton (and so the ctx) was allocated by a kernel module. */
export const BPF_SKEL_KERNEL = 1;
/** `sizeof(struct bpf_map_desc)` */
export const MAP_DESC_SIZE = 16;
/** `sizeof(struct bpf_prog_desc)` */
export const PROG_DESC_SIZE = 4;
/** Offsets inside `struct bpf_map_desc`. */
export const MAP_DESC_FD = 0;
export const MAP_DESC_MAX_ENTRIES = 4;
export const MAP_DESC_INITIAL_VALUE = 8;

/**
 * The text variants bpftool has written.
 *
 * - `arrays: "inline"` — bpftool ≤ 7.x (Debian's 7.1): `opts.data_sz = N; opts.data = (void *)"…";`
 *   and `skel_prep_map_data((void *)"…", MMAP_SZ, VALUE_SZ)`;
 *   `arrays: "static"` — newer: `static const char opts_data[] __attribute__((__aligned__(8))) = "…";`
 *   and a `static const char data[]` block per global-data map. Signed skeletons are always static.
 * - `casts` — the C++-compatible casts of newer bpftool: `(struct X *)skel_alloc(…)`,
 *   `(char *)&skel->links - (char *)skel`, `(__typeof__(skel->I))skel_prep_map_data(…)` and
 *   `(__typeof__(skel->I))skel_finalize_map_data(…)`. Without them: no cast and `(void *)` pointers.
 */
export interface SkeletonDialect {
  arrays: "inline" | "static";
  casts: boolean;
}

/** The dialect of the bpftool that implements signing (v2): static arrays and C++ casts. */
export const SIGNED_DIALECT: SkeletonDialect = { arrays: "static", casts: true };
/** The dialect of this machine's Debian bpftool 7.1. */
export const DEBIAN_DIALECT: SkeletonDialect = { arrays: "inline", casts: false };

/** Initial value and mapping of a memory-mapped global-data map (`.data`, `.rodata`, `.bss`, `.kconfig`…). */
export interface SkeletonMmap {
  /** the initial value bytes `X__open()` copies into the mmap area (`value_size` bytes) */
  initialValue: Uint8Array;
  /** the mmap size passed to `skel_prep_map_data` / `skel_finalize_map_data` / `skel_free_map_data` */
  mmapSize: number;
  /** the value size passed to `skel_prep_map_data` (= `initialValue.length`) */
  valueSize: number;
  /** mapped `PROT_READ` only after load (the map is `BPF_F_RDONLY_PROG`, e.g. `.rodata`) */
  readOnly: boolean;
  /**
   * the skeleton pointer member that holds the mapping when it is not the map's identifier:
   * `arena` for an arena map's initial data (newer bpftool); absent otherwise
   */
  ident?: string;
  /** `false` when `X__destroy()` does not free the mapping (an arena's); absent = freed */
  freed?: boolean;
}

export interface SkeletonMap {
  /** the identifier in `struct { … } maps;` (for internal maps the section suffix: `data`, `rodata`, `bss`…) */
  name: string;
  /** `null` for maps that are not memory-mapped global data */
  mmap: SkeletonMmap | null;
}

/** What `X__P__attach()` does (bpftool only auto-attaches a few program types). */
export type SkeletonAttach =
  /** `int fd = ((void)prog_fd, 0); /* auto-attach not supported *\/` */
  | { kind: "none" }
  /** `skel_raw_tracepoint_open("tp", prog_fd)` (raw_tp with a tracepoint name) */
  | { kind: "raw_tracepoint"; tracepoint: string }
  /** `skel_raw_tracepoint_open(NULL, prog_fd)` (tracing / LSM) */
  | { kind: "tracing" }
  /** `skel_link_create(prog_fd, 0, BPF_TRACE_ITER)` */
  | { kind: "iter" };

export interface SkeletonProg {
  name: string;
  attach: SkeletonAttach;
}

/** A datasec view: `struct X__I { … } *I;` inside the skeleton struct, kept as written. */
export interface SkeletonView {
  /** the pointer member's name (`data`, `rodata`, …) */
  ident: string;
  /** the lines from `\tstruct X__I {` to `\t} *I;`, without newlines */
  lines: string[];
}

/** A parsed (or to-be-written) light skeleton. */
export interface LightSkeleton {
  /** the object name (`name X` given to bpftool) */
  name: string;
  dialect: SkeletonDialect;
  /** maps in skeleton-struct order = `bpf_map_desc` order in the loader ctx */
  maps: SkeletonMap[];
  /** programs in skeleton-struct order = `bpf_prog_desc` order in the loader ctx */
  progs: SkeletonProg[];
  /**
   * the shadow types of struct_ops maps (newer bpftool, objects with BTF), one per map in the
   * `struct { … } struct_ops;` block printed between `maps` and `progs`: `ident` is the map's
   * identifier, `lines` run from `\t\tstruct X__I__T {` to `\t\t} *I;`. Absent or empty: no block.
   */
  structOps?: SkeletonView[];
  /** the fields of `struct { … } links;` (`P_fd` per program); empty when there is no links struct */
  links: string[];
  /** the struct has `__s32 keyring_id;` (signed skeletons) */
  hasKeyringId: boolean;
  views: SkeletonView[];
  /** `_Static_assert` lines of `X__assert()`, or `null` when it is absent */
  asserts: string[] | null;
  /** the loader's metadata blob (`opts_data`) */
  data: Uint8Array;
  /** the loader program (`opts_insn`), 8-byte `struct bpf_insn`s */
  insns: Uint8Array;
  /** the CMS signature (`opts_sig`), or `null` when unsigned */
  signature: Uint8Array | null;
  /** the exclusive-program hash (`opts_excl_hash`), or `null` when unsigned */
  exclHash: Uint8Array | null;
  /** `skel->ctx.sz`: bytes of ctx + map descs + prog descs, what `bpf_load_and_run` passes as `ctx_size_in` */
  ctxSize: number;
}

/** `skel->ctx.sz` for `maps` map descriptors and `progs` program descriptors. */
export function loaderCtxSize(maps: number, progs: number): number {
  return LOADER_CTX_SIZE + MAP_DESC_SIZE * maps + PROG_DESC_SIZE * progs;
}

/** Offset of `maps[index]` (a `struct bpf_map_desc`) in the loader ctx. */
export function mapDescOffset(index: number): number {
  return LOADER_CTX_SIZE + MAP_DESC_SIZE * index;
}

/** Offset of `progs[index]` (a `struct bpf_prog_desc`) in the loader ctx of a skeleton with `maps` maps. */
export function progDescOffset(maps: number, index: number): number {
  return LOADER_CTX_SIZE + MAP_DESC_SIZE * maps + PROG_DESC_SIZE * index;
}

/** The header guard bpftool derives from the object name (upper-cased as C's `toupper` does: a-z only). */
export function headerGuard(name: string): string {
  return `__${name}_SKEL_H__`.replace(/[a-z]+/g, (s) => s.toUpperCase());
}
