/**
 * The light-skeleton loader context: `struct bpf_loader_ctx` followed by one `bpf_map_desc` per
 * map and one `bpf_prog_desc` per program, exactly as a generated skeleton struct lays them out
 * (the skeleton passes a pointer to its own start as the ctx). The loader reads the inputs
 * (`max_entries`, `initial_value`, log settings) and writes the outputs (`map_fd`, `prog_fd`).
 */

/** sizeof(struct bpf_loader_ctx): sz, flags, log_level, log_size (u32 each), log_buf (u64). */
export const LOADER_CTX_SIZE = 24;
/** sizeof(struct bpf_map_desc): map_fd (int), max_entries (u32), initial_value (aligned u64). */
export const MAP_DESC_SIZE = 16;
/** sizeof(struct bpf_prog_desc): prog_fd (int). */
export const PROG_DESC_SIZE = 4;

/** BPF_SKEL_KERNEL: set in ctx.flags when the skeleton was allocated by a kernel module. */
export const BPF_SKEL_KERNEL = 1;

/** One map descriptor's inputs. Zero means "use the value the loader was generated with". */
export interface MapDescInput {
  max_entries?: number;
  /** A user address of the initial value (only loaders generated without gen_hash read it). */
  initial_value?: bigint;
}

export interface LoaderCtxInput {
  nrMaps: number;
  nrProgs: number;
  flags?: number;
  log_level?: number;
  log_size?: number;
  log_buf?: bigint;
  maps?: readonly MapDescInput[];
}

export interface LoaderCtxOutput {
  map_fds: number[];
  prog_fds: number[];
}

/** ctx.sz of a skeleton with these counts: the offset of the `links` member that follows progs. */
export function loaderCtxSize(nrMaps: number, nrProgs: number): number {
  return LOADER_CTX_SIZE + MAP_DESC_SIZE * nrMaps + PROG_DESC_SIZE * nrProgs;
}

export function mapDescOffset(i: number): number {
  return LOADER_CTX_SIZE + MAP_DESC_SIZE * i;
}

export function progDescOffset(nrMaps: number, j: number): number {
  return LOADER_CTX_SIZE + MAP_DESC_SIZE * nrMaps + PROG_DESC_SIZE * j;
}

export function encodeLoaderCtx(c: LoaderCtxInput): Uint8Array {
  const sz = loaderCtxSize(c.nrMaps, c.nrProgs);
  const out = new Uint8Array(sz);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, sz, true);
  dv.setUint32(4, c.flags ?? 0, true);
  dv.setUint32(8, c.log_level ?? 0, true);
  dv.setUint32(12, c.log_size ?? 0, true);
  dv.setBigUint64(16, c.log_buf ?? 0n, true);
  c.maps?.forEach((m, i) => {
    if (i >= c.nrMaps) throw new RangeError(`map descriptor ${i} is beyond the ${c.nrMaps} maps`);
    dv.setUint32(mapDescOffset(i) + 4, m.max_entries ?? 0, true);
    dv.setBigUint64(mapDescOffset(i) + 8, m.initial_value ?? 0n, true);
  });
  return out;
}

export function decodeLoaderCtx(ctx: Uint8Array, nrMaps: number, nrProgs: number): LoaderCtxOutput {
  const need = loaderCtxSize(nrMaps, nrProgs);
  if (ctx.length < need)
    throw new RangeError(`loader ctx is ${ctx.length} bytes, ${need} needed for the descriptors`);
  const dv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const map_fds: number[] = [];
  const prog_fds: number[] = [];
  for (let i = 0; i < nrMaps; i++) map_fds.push(dv.getInt32(mapDescOffset(i), true));
  for (let j = 0; j < nrProgs; j++) prog_fds.push(dv.getInt32(progDescOffset(nrMaps, j), true));
  return { map_fds, prog_fds };
}
