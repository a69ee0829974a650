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
import { Bpf } from "../../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, KeySpec, MapType, ProgType } from "../../src/uapi/constants.js";
import { type ProgName, readVector, VECTORS_DIR } from "../support/vectors.js";

/** Maps and programs each vector's skeleton declares (sizes of its context). */
export const SKELETONS: Record<ProgName, { maps: number; progs: number; ctxSize: number }> = {
  prog_a: { maps: 0, progs: 1, ctxSize: 28 },
  prog_b: { maps: 1, progs: 1, ctxSize: 44 },
  prog_d: { maps: 3, progs: 1, ctxSize: 76 },
};

export interface MapDescIn {
  /** ctx map_desc[i].max_entries (0 = keep the recorded value). */
  readonly max_entries?: number;
  /** ctx map_desc[i].initial_value: a user pointer (0 = none). */
  readonly initial_value?: bigint;
}

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
  readonly maps?: readonly MapDescIn[];
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

/** Builds the skeleton context: bpf_loader_ctx (sz set), map descs, prog descs. */
export function skeletonCtx(prog: ProgName, maps: readonly MapDescIn[] = []): Uint8Array {
  const { maps: n, ctxSize } = SKELETONS[prog];
  const ctx = new Uint8Array(ctxSize);
  const dv = new DataView(ctx.buffer);
  dv.setUint32(0, ctxSize, true);
  for (let i = 0; i < n; i++) {
    dv.setUint32(24 + 16 * i + 4, maps[i]?.max_entries ?? 0, true);
    dv.setBigUint64(24 + 16 * i + 8, maps[i]?.initial_value ?? 0n, true);
  }
  return ctx;
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
  const run = bpf.progTestRun({ prog_fd: progFd, ctx_in: skeletonCtx(prog, o.maps) });
  const ctx = run.ctx ?? new Uint8Array(0);
  const dv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const { maps, progs } = SKELETONS[prog];
  const mapFds = Array.from({ length: maps }, (_, i) => dv.getInt32(24 + 16 * i, true));
  const progFds = Array.from({ length: progs }, (_, i) =>
    dv.getInt32(24 + 16 * maps + 4 * i, true),
  );
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
