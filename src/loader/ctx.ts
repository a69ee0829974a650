/**
 * The light-skeleton loader context: `struct bpf_loader_ctx` followed by one `bpf_map_desc` per
 * map and one `bpf_prog_desc` per program, exactly as a generated skeleton struct lays them out
 * (the skeleton passes a pointer to its own start as the ctx). The loader reads the inputs
 * (`max_entries`, `initial_value`, log settings) and writes the outputs (`map_fd`, `prog_fd`).
 */

import {
  BPF_SKEL_KERNEL,
  LOADER_CTX_FLAGS,
  LOADER_CTX_LOG_BUF,
  LOADER_CTX_LOG_LEVEL,
  LOADER_CTX_LOG_SIZE,
  loaderCtxSize,
  MAP_DESC_INITIAL_VALUE,
  MAP_DESC_MAX_ENTRIES,
  mapDescOffset,
  progDescOffset,
} from "../skeleton/skeleton.js";

export { BPF_SKEL_KERNEL, loaderCtxSize, mapDescOffset, progDescOffset };

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

export function encodeLoaderCtx(c: LoaderCtxInput): Uint8Array {
  const sz = loaderCtxSize(c.nrMaps, c.nrProgs);
  const out = new Uint8Array(sz);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, sz, true);
  dv.setUint32(LOADER_CTX_FLAGS, c.flags ?? 0, true);
  dv.setUint32(LOADER_CTX_LOG_LEVEL, c.log_level ?? 0, true);
  dv.setUint32(LOADER_CTX_LOG_SIZE, c.log_size ?? 0, true);
  dv.setBigUint64(LOADER_CTX_LOG_BUF, c.log_buf ?? 0n, true);
  c.maps?.forEach((m, i) => {
    if (i >= c.nrMaps) throw new RangeError(`map descriptor ${i} is beyond the ${c.nrMaps} maps`);
    dv.setUint32(mapDescOffset(i) + MAP_DESC_MAX_ENTRIES, m.max_entries ?? 0, true);
    dv.setBigUint64(mapDescOffset(i) + MAP_DESC_INITIAL_VALUE, m.initial_value ?? 0n, true);
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
