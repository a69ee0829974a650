/**
 * What the conformance suite needs from a backend under test, and the helpers every subtest
 * shares. A target is one backend (the model with a profile, or the host kernel) plus what it
 * can and cannot do; subtests that need a missing capability skip with the reason printed.
 */
import { createHash } from "node:crypto";
import type { TestContext } from "node:test";
import type { LsmModule } from "../../src/kernel/lsm.js";
import {
  decodeLoaderCtx,
  encodeLoaderCtx,
  type LoaderCtxOutput,
  type MapDescInput,
} from "../../src/loader/ctx.js";
import type { BpfBackend } from "../../src/uapi/backend.js";
import type { Bpf, ProgLoadOptions } from "../../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, KeySpec, MapType, ProgType } from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { type LoadOutcome, tryLoad } from "../support/load.js";
import { cmsSign, makeTestKey, type TestKey } from "../support/openssl.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { type ProgName, readVector } from "../support/vectors.js";

export { type LoadOutcome, tryLoad };

export interface Target {
  readonly name: string;
  readonly backend: BpfBackend;
  /** Null when signed loads can be verified; else why not (they then stop at EOPNOTSUPP). */
  readonly signatureUnavailable: string | null;
  /** Registers an LSM module written in TypeScript, or null when the target cannot host one. */
  readonly registerLsm: ((m: LsmModule) => () => void) | null;
  dispose(): void;
}

/** The gen_loader fixture of the selftest: a gen_hash loader of a map-less program. */
export interface LoaderFixture {
  readonly insns: Uint8Array;
  readonly blob: Uint8Array;
  /** excl_prog_hash = SHA256(loader insns) == the loader's prog->digest. */
  readonly excl: Uint8Array;
  readonly ctxSize: number;
}

export function loaderFixture(): LoaderFixture {
  const insns = readVector("prog_a", "insns.signed.bin");
  const blob = readVector("prog_a", "data.bin");
  return { insns, blob, excl: sha256(insns), ctxSize: 28 };
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** The selftest's junk signature: 64 bytes starting 30 42 13 37. */
export const JUNK_SIG = (() => {
  const b = new Uint8Array(64);
  b.set([0x30, 0x42, 0x13, 0x37]);
  return b;
})();

/** load_loader() of the selftest: the loader as bpf_load_and_run() loads it. */
export function loadLoader(
  bpf: Bpf,
  insns: Uint8Array,
  mapFd: number,
  sig: Uint8Array | null,
  keyringId: number,
  fdArrayCnt: number,
  extra: Partial<ProgLoadOptions> = {},
): LoadOutcome {
  return tryLoad(bpf, {
    prog_type: ProgType.SYSCALL,
    insns,
    license: "Dual BSD/GPL",
    prog_flags: BPF_F_SLEEPABLE,
    prog_name: "__loader.prog",
    fd_array: [mapFd],
    fd_array_cnt: fdArrayCnt,
    ...(sig ? { signature: sig, keyring_id: keyringId } : {}),
    ...extra,
  });
}

/** setup_meta_map(): the exclusive, filled and frozen metadata map of a fixture. */
export function setupMetaMap(
  bpf: Bpf,
  blob: Uint8Array,
  excl: Uint8Array | null,
  name = "__loader.map",
): number {
  const fd = bpf.mapCreate({
    map_type: MapType.ARRAY,
    key_size: 4,
    value_size: blob.length,
    max_entries: 1,
    map_name: name,
    ...(excl ? { excl_prog_hash: excl } : {}),
  });
  bpf.mapUpdate(fd, new Uint8Array(4), blob);
  bpf.mapFreeze(fd);
  return fd;
}

/** verify_sig_setup.sh "setup": a signing key whose certificate is in the session keyring. */
export interface SigningSetup {
  readonly key: TestKey;
  /** Serial of the asymmetric key in the session keyring. */
  readonly keySerial: number;
  /** Serial of the ebpf_testing_keyring (linked into the session keyring). */
  readonly keyringSerial: number;
  sign(content: Uint8Array): Uint8Array;
}

export function setupSigning(bpf: Bpf, kind: "rsa2048" | "ec-p256" = "rsa2048"): SigningSetup {
  const key = makeTestKey(kind);
  const keySerial = bpf.addKey(
    "asymmetric",
    "ebpf_testing_key",
    key.certDer,
    KeySpec.SESSION_KEYRING,
  );
  const keyringSerial = bpf.addKey(
    "keyring",
    "ebpf_testing_keyring",
    null,
    KeySpec.SESSION_KEYRING,
  );
  bpf.keyctl(8 /* KEYCTL_LINK */, keySerial, keyringSerial);
  return { key, keySerial, keyringSerial, sign: (content) => cmsSign(content, key) };
}

/**
 * For a signed load on a target that cannot verify signatures: asserts the load stopped at the
 * signature step with EOPNOTSUPP and skips the rest of the subtest, saying why. Returns true when
 * the caller should stop.
 */
export function stopIfUnverifiable(t: TestContext, target: Target, outcome: LoadOutcome): boolean {
  if (!target.signatureUnavailable) return false;
  if (outcome.errno !== Errno.EOPNOTSUPP) {
    throw new Error(
      `${target.name}: expected EOPNOTSUPP at the signature step, got errno ${outcome.errno}`,
    );
  }
  t.skip(
    `${target.name}: ${target.signatureUnavailable} (load stopped at the signature step with EOPNOTSUPP)`,
  );
  return true;
}

export function closeAll(bpf: Bpf, ...fds: number[]): void {
  for (const fd of fds) if (fd >= 0) bpf.close(fd);
}

/**
 * A gen_loader output of one of the vector objects, as bpf_object__gen_loader() hands it to the
 * selftest: the loader's instructions, its metadata blob and the skeleton's map and program
 * counts. The selftest's objects map onto the vectors by shape: test_signed_loader (no maps) is
 * prog_a, test_signed_loader_map (one ARRAY map) is prog_b, test_signed_loader_data (global
 * .data) is prog_d. `hashing` picks the gen_hash loader (insns.signed.bin) or the plain one.
 *
 * The selftest regenerates these at run time with libbpf; here they come from the vectors,
 * because the toolchain on this machine (Debian bpftool 7.1 / its libbpf) predates gen_hash and
 * cannot emit a hashing-mode loader. The vectors were made by a v2 bpftool from the same kind
 * of objects.
 */
export interface GenLoader {
  readonly prog: ProgName;
  readonly insns: Uint8Array;
  readonly data: Uint8Array;
  /** SHA256(insns): the metadata map's excl_prog_hash (the loader's prog->digest). */
  readonly excl: Uint8Array;
  readonly nrMaps: number;
  readonly nrProgs: number;
}

export function genLoader(prog: ProgName, hashing = true): GenLoader {
  const insns = readVector(prog, hashing ? "insns.signed.bin" : "insns.unsigned.bin");
  const data = readVector(prog, "data.bin");
  const skel = vectorSkeleton(prog, hashing);
  return {
    prog,
    insns,
    data,
    excl: sha256(insns),
    nrMaps: skel.maps.length,
    nrProgs: skel.progs.length,
  };
}

/** A zeroed loader ctx for `g` (ctx->sz set), with optional per-map descriptor inputs. */
export function loaderCtx(g: GenLoader, maps?: readonly MapDescInput[]): Uint8Array {
  return encodeLoaderCtx({ nrMaps: g.nrMaps, nrProgs: g.nrProgs, maps });
}

export interface GenLoaderRun {
  /** The loader's BPF_PROG_LOAD (fd, or -errno with the log). */
  readonly load: LoadOutcome;
  /** BPF_PROG_RUN of the loader succeeded. */
  readonly ran: boolean;
  /** run_gen_loader()'s result: the loader's retval when it ran, else -errno. */
  readonly r: number;
  /** The fds the loader wrote into the ctx (null when it did not run). */
  readonly out: LoaderCtxOutput | null;
}

/**
 * run_gen_loader() / loadtime_drive() of the selftest: `__loader.map` (exclusive to `excl` when
 * given) filled with the blob and frozen, the loader loaded with the map in fd_array (and, when
 * `sig` is given, the signature, the session keyring and fd_array_cnt = 1), then run once with
 * `ctx`. The metadata map and the loader are closed again; the ctx fds are the caller's.
 */
export function runGenLoader(
  bpf: Bpf,
  g: {
    readonly insns: Uint8Array;
    readonly data: Uint8Array;
    readonly nrMaps: number;
    readonly nrProgs: number;
  },
  opts: { excl: Uint8Array | null; sig: Uint8Array | null; ctx: Uint8Array; logSize?: number },
): GenLoaderRun {
  const mapFd = setupMetaMap(bpf, g.data, opts.excl);
  try {
    const load = loadLoader(
      bpf,
      g.insns,
      mapFd,
      opts.sig,
      KeySpec.SESSION_KEYRING,
      opts.sig ? 1 : 0,
      opts.logSize ? { log_level: 1, log_size: opts.logSize } : {},
    );
    if (load.fd < 0) return { load, ran: false, r: load.fd, out: null };
    try {
      const run = bpf.progTestRun({ prog_fd: load.fd, ctx_in: opts.ctx });
      const out = run.ctx ? decodeLoaderCtx(run.ctx, g.nrMaps, g.nrProgs) : null;
      return { load, ran: true, r: run.retval, out };
    } catch (e) {
      if (e instanceof BpfError) return { load, ran: false, r: -e.errno, out: null };
      throw e;
    } finally {
      bpf.close(load.fd);
    }
  } finally {
    bpf.close(mapFd);
  }
}

/** close_loader_ctx_fds(): closes every map and program fd the loader wrote into the ctx. */
export function closeLoaderCtxFds(bpf: Bpf, out: LoaderCtxOutput | null): void {
  if (!out) return;
  for (const fd of [...out.map_fds, ...out.prog_fds]) if (fd > 0) bpf.close(fd);
}
