/**
 * The light-skeleton steps of bpf_load_and_run() against a model kernel, for the vector loaders:
 * create `__loader.map`, fill and freeze it, load the loader (signed insns with fd_array_cnt = 1
 * and the exclusive hash, but without a signature), run it with a skeleton context, and read the
 * map and program fds it wrote into that context. Test-local: the real loader lives in src/loader.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelKernel } from "../../src/kernel/kernel.js";
import type { ModelProcess } from "../../src/kernel/process.js";
import { decodeLoaderCtx, encodeLoaderCtx, type MapDescInput } from "../../src/loader/ctx.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, KeySpec, MapType, ProgType } from "../../src/uapi/constants.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { type ProgName, readVector, VECTORS_DIR } from "../support/vectors.js";

export interface LskelRun {
  readonly bpf: Bpf;
  readonly retval: number;
  readonly ctx: Uint8Array;
  readonly mapFds: number[];
  readonly progFds: number[];
  /** fds of the metadata map and the loader, closed after the run unless `keep`. */
  readonly loaderFds: { map: number; prog: number };
}

export interface LskelOptions {
  /**
   * "unsigned": insns.unsigned.bin, shared map. "excl": insns.signed.bin with the exclusive map
   * but no signature (as on a kernel without verification; fd_array_cnt 0, so the digest is
   * known when the map is bound). "signed": the signature `sig.<key>.der` checked against the
   * vector certificate in the session keyring, fd_array_cnt 1.
   */
  readonly mode: "unsigned" | "excl" | "signed";
  readonly key?: "rsa2048" | "rsa3072" | "ecp256";
  readonly maps?: readonly MapDescInput[];
  /** Keep the metadata map and loader open (default: closed, as bpf_load_and_run does). */
  readonly keep?: boolean;
}

function signature(bpf: Bpf, prog: ProgName, key: string) {
  const cert = readFileSync(join(VECTORS_DIR, "keys", `test-only-${key}.cert.der`));
  bpf.addKey("asymmetric", `vector-${key}`, new Uint8Array(cert), KeySpec.SESSION_KEYRING);
  return {
    fd_array_cnt: 1,
    signature: readVector(prog, `sig.${key}.der`),
    keyring_id: KeySpec.SESSION_KEYRING,
  };
}

/** bpf_load_and_run() of a vector skeleton in `proc` (a process of `kernel`). */
export function loadAndRunVector(
  _kernel: ModelKernel,
  proc: ModelProcess,
  prog: ProgName,
  o: LskelOptions,
): LskelRun {
  const bpf = new Bpf(proc);
  const signedInsns = o.mode !== "unsigned";
  const insns = readVector(prog, signedInsns ? "insns.signed.bin" : "insns.unsigned.bin");
  const data = readVector(prog, "data.bin");
  const excl = new Uint8Array(createHash("sha256").update(insns).digest());
  const mapFd = bpf.mapCreate({
    map_type: MapType.ARRAY,
    key_size: 4,
    value_size: data.length,
    max_entries: 1,
    map_name: "__loader.map",
    ...(signedInsns ? { excl_prog_hash: excl } : {}),
  });
  bpf.mapUpdate(mapFd, new Uint8Array(4), data);
  bpf.mapFreeze(mapFd);
  const { fd: progFd } = bpf.progLoad({
    prog_type: ProgType.SYSCALL,
    insns,
    prog_flags: BPF_F_SLEEPABLE,
    license: "Dual BSD/GPL",
    prog_name: "__loader.prog",
    fd_array: [mapFd],
    ...(o.mode === "signed" ? signature(bpf, prog, o.key ?? "rsa2048") : {}),
  });
  const skel = vectorSkeleton(prog, signedInsns);
  const nrMaps = skel.maps.length;
  const nrProgs = skel.progs.length;
  const ctx_in = encodeLoaderCtx({ nrMaps, nrProgs, maps: o.maps });
  const run = bpf.progTestRun({ prog_fd: progFd, ctx_in });
  const ctx = run.ctx ?? new Uint8Array(0);
  const { map_fds: mapFds, prog_fds: progFds } = decodeLoaderCtx(ctx, nrMaps, nrProgs);
  if (!o.keep) {
    bpf.close(mapFd);
    bpf.close(progFd);
  }
  return {
    bpf,
    retval: run.retval | 0,
    ctx,
    mapFds,
    progFds,
    loaderFds: { map: mapFd, prog: progFd },
  };
}
