/**
 * The spec's `signed_loader` selftest as a conformance suite, subtest by subtest with the same
 * names, assertions and errno values, in the selftest's registration order, followed by a few
 * clearly named subtests of our own (see EXTRA_SUBTESTS). It runs against any Target: the model
 * kernel runs every subtest; a kernel without signature verification runs every step before the
 * signature for real and records where a signed load stopped (stopIfUnverifiable).
 */
import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import type { LsmModule } from "../../src/kernel/lsm.js";
import type { LoaderCtxOutput } from "../../src/loader/ctx.js";
import { MapFlags, Prot } from "../../src/uapi/backend.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, MapFlag, MapType, SigKeyring, SigVerdict } from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { btfWithInt } from "../support/btf.js";
import {
  hex,
  PROGS,
  type ProgName,
  readVector,
  skipVectors,
  TARGETS,
  vectorCert,
} from "../support/vectors.js";
import {
  closeAll,
  closeLoaderCtxFds,
  concat,
  genLoader,
  JUNK_SIG,
  loaderCtx,
  loaderFixture,
  loadLoader,
  runGenLoader,
  setupMetaMap,
  setupSigning,
  sha256,
  stopIfUnverifiable,
  type Target,
} from "./harness.js";

/** The spec selftest's subtests, in its registration order (all ported). */
export const SELFTEST_SUBTESTS = [
  "loadtime_no_map",
  "loadtime_with_map",
  "metadata_match",
  "signature_enforced",
  "signed_nonexcl_fd_array_rejected",
  "signed_nonarray_fd_array_rejected",
  "signed_btf_fd_array_rejected",
  "signature_failure_logs",
  "signature_too_large",
  "signature_bad_keyring",
  "metadata_ctx_max_entries_ignored",
  "metadata_ctx_initial_value_ignored",
  "signature_authenticates_insns",
  "hash_requires_frozen",
  "no_update_after_freeze",
  "freeze_writable_mmap",
  "no_writable_mmap_frozen",
  "map_hash_matches_libbpf",
  "map_hash_multi_element",
  "map_hash_bad_size",
  "map_hash_unsupported_type",
  "lsm_signature_verdict",
] as const;

/**
 * Ours, not the selftest's: what a kernel that cannot verify signatures can still check about
 * the signed loaders (the real-kernel observations of the vectors README), the bpftool-made
 * vector signatures, and the control that makes the metadata_ctx_* subtests able to fail.
 */
export const EXTRA_SUBTESTS = [
  "loadtime_signature_removed",
  "loadtime_signature_removed_excl_mismatch",
  "loadtime_vector_signatures",
  "metadata_ctx_overrides_honoured_unsigned",
] as const;

export type SubtestName = (typeof SELFTEST_SUBTESTS)[number] | (typeof EXTRA_SUBTESTS)[number];

const INT_MAX = 0x7fffffff;
/** The selftest's GATING_BOGUS_MAX: the max_entries the ctx asks every map to be resized to. */
const GATING_BOGUS_MAX = 0x4000;
/** The selftest's DATA_MAGIC (prog_d's `magic` in .data, as the signed metadata records it). */
const DATA_MAGIC = 0x5eed1234abad1dean;
/** The first word of the adversarial 64 x 0xAA initial value. */
const EVIL_WORD = 0xaaaaaaaaaaaaaaaan;
/** What each vector's installed program returns on a 64-byte packet (vectors README). */
const TARGET_RETVAL: Record<ProgName, number> = {
  prog_a: 42,
  prog_b: 0,
  prog_d: 0xabad1ded | 0,
};

function expectErrno(fn: () => unknown, errno: number): void {
  assert.throws(fn, (e: unknown) => e instanceof BpfError && e.errno === errno);
}

/**
 * The first 8 bytes (little endian, zero-padded) of element 0 of every map the loader created
 * whose value fits the selftest's 64-byte buffer.
 */
function firstWords(bpf: Bpf, out: LoaderCtxOutput | null): bigint[] {
  const words: bigint[] = [];
  for (const fd of out?.map_fds ?? []) {
    if (fd <= 0) continue;
    const { value_size } = bpf.mapInfo(fd);
    if (value_size > 64) continue;
    const word = new Uint8Array(8);
    word.set(bpf.mapLookup(fd, new Uint8Array(4), value_size).subarray(0, 8));
    words.push(new DataView(word.buffer).getBigUint64(0, true));
  }
  return words;
}

/**
 * The program the loader installed is the signed one: its tag is the one the real kernel
 * reported for the vector, and a test run on a 64-byte packet returns what it returned there.
 */
function checkInstalledTarget(bpf: Bpf, prog: ProgName, out: LoaderCtxOutput | null): void {
  const fd = out?.prog_fds[0] ?? -1;
  assert.ok(fd > 0, `${prog}: target program installed`);
  assert.equal(hex(bpf.progInfo(fd).tag), TARGETS[prog].tag, `${prog}: installed program's tag`);
  const run = bpf.progTestRun({ prog_fd: fd, data_in: new Uint8Array(64) });
  assert.equal(run.retval, TARGET_RETVAL[prog], `${prog}: installed program's test run`);
}

/**
 * Subtests a design does not have, with the reason (printed as the skip reason). The kfunc and
 * Hornet profiles sign other bytes and check them elsewhere; their own subtests are in
 * test/scheme/profiles.test.ts.
 */
export type DesignSkips = Partial<Record<SubtestName, string>>;

export function signedLoaderSuite(makeTarget: () => Target, designSkips: DesignSkips = {}): void {
  describe(`signed_loader (${makeTarget.name || "target"})`, { skip: skipVectors }, () => {
    let target: Target;
    let bpf: Bpf;
    const f = skipVectors ? (null as never) : loaderFixture();

    const fresh = () => {
      target?.dispose();
      target = makeTarget();
      bpf = new Bpf(target.backend);
    };

    /** A junk-signed load with `mapFd` in fd_array is refused with `errno` (v2: before the signature). */
    const expectFdArrayRejected = (t: TestContext, mapFd: number, errno: number, msg: string) => {
      const r = loadLoader(bpf, f.insns, mapFd, JUNK_SIG, KeySpec.SESSION_KEYRING, 1);
      // mainline checks the signature before fd_array: a target that cannot verify stops there
      if (!stopIfUnverifiable(t, target, r)) assert.equal(r.fd, errno, msg);
      closeAll(bpf, r.fd, mapFd);
    };

    /**
     * loadtime_verify(): sign insns || metadata with the session key, load the gen_hash loader
     * signed with its exclusive frozen metadata map folded in (fd_array_cnt = 1), run it, and
     * check the ctx it filled in.
     */
    /** A subtest under one of the listed names (a typo is a compile error). */
    const sub = (name: SubtestName, fn: (t: TestContext) => void) =>
      test(name, { skip: designSkips[name] ?? false }, fn);

    const loadtimeVerify = (t: TestContext, prog: ProgName, expectMaps: number) => {
      fresh();
      const g = genLoader(prog);
      assert.equal(g.nrMaps, expectMaps, "fixture map count");
      const s = setupSigning(bpf);
      const run = runGenLoader(bpf, g, {
        excl: g.excl,
        sig: s.sign(concat(g.insns, g.data)),
        ctx: loaderCtx(g),
      });
      try {
        if (stopIfUnverifiable(t, target, run.load)) return;
        assert.equal(run.load.errno, 0, "signed loader loaded (insns || metadata)");
        assert.ok(run.ran, "loader ran");
        assert.equal(run.r, 0, "loader installed its target");
        assert.ok((run.out?.prog_fds[0] ?? 0) > 0, "target program installed");
        if (expectMaps) assert.ok((run.out?.map_fds[0] ?? 0) > 0, "target map installed");
        checkInstalledTarget(bpf, prog, run.out);
      } finally {
        closeLoaderCtxFds(bpf, run.out);
      }
    };

    sub("loadtime_no_map", (t) => loadtimeVerify(t, "prog_a", 0));

    sub("loadtime_with_map", (t) => loadtimeVerify(t, "prog_b", 1));

    sub("metadata_match", () => {
      fresh();
      // The honest gen_hash loader, unsigned, with its metadata map exclusive to its digest.
      const g = genLoader("prog_a");
      const run = runGenLoader(bpf, g, { excl: g.excl, sig: null, ctx: loaderCtx(g) });
      closeLoaderCtxFds(bpf, run.out);
      assert.ok(run.ran, `loader ran (load errno ${run.load.errno})`);
      assert.equal(run.r, 0, "honest loader retval");
    });

    sub("signature_enforced", () => {
      fresh();
      const r = loadLoader(bpf, f.insns, -1, JUNK_SIG, KeySpec.SESSION_KEYRING, 0);
      assert.ok(r.fd < 0, "invalid signature rejected at load");
      if (target.signatureUnavailable) assert.equal(r.errno, Errno.EOPNOTSUPP);
      else assert.equal(r.errno, Errno.EBADMSG);
    });

    sub("signed_nonexcl_fd_array_rejected", (t) => {
      fresh();
      const mapFd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        map_name: "nonexcl",
        key_size: 4,
        value_size: f.blob.length,
        max_entries: 1,
      });
      expectFdArrayRejected(
        t,
        mapFd,
        -Errno.EPERM,
        "non-exclusive map in signed fd_array rejected",
      );
    });

    sub("signed_nonarray_fd_array_rejected", (t) => {
      fresh();
      const mapFd = bpf.mapCreate({
        map_type: MapType.HASH,
        map_name: "excl_hash",
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        excl_prog_hash: f.excl,
      });
      expectFdArrayRejected(t, mapFd, -Errno.EINVAL, "non-array map in signed fd_array rejected");
    });

    sub("signed_btf_fd_array_rejected", (t) => {
      fresh();
      const s = setupSigning(bpf);
      const sig = s.sign(concat(f.insns, f.blob));
      const mapFd = setupMetaMap(bpf, f.blob, f.excl);
      const btf = bpf.btfLoad(btfWithInt()).fd;
      const r = loadLoader(bpf, f.insns, mapFd, sig, KeySpec.SESSION_KEYRING, 2, {
        fd_array: [mapFd, btf],
        log_size: 4096,
      });
      closeAll(bpf, btf, mapFd);
      if (stopIfUnverifiable(t, target, r)) return;
      assert.equal(r.fd, -Errno.EACCES, "BTF in signed fd_array rejected");
      // v2 counts after the verifier; bpf-next refuses the BTF when it would be bound.
      assert.match(
        r.log,
        target.name.includes("bpf-next")
          ? /signed program may not bind BTF/
          : /signed program uses BTF not covered by the signature/,
      );
    });

    sub("signature_failure_logs", () => {
      fresh();
      const r = loadLoader(bpf, f.insns, -1, JUNK_SIG, KeySpec.SESSION_KEYRING, 0, {
        fd_array: undefined,
        log_level: 1,
        log_size: 1024,
      });
      assert.ok(r.fd < 0, "invalid signature rejected at load");
      if (target.signatureUnavailable) return;
      assert.match(r.log, /signature verification failed/, "verifier logs signature failure");
    });

    sub("signature_too_large", () => {
      fresh();
      const r = loadLoader(bpf, f.insns, -1, JUNK_SIG, KeySpec.SESSION_KEYRING, 0, {
        signature_size: 64 << 20,
      });
      assert.equal(r.fd, -Errno.EINVAL, "oversized signature rejected");
    });

    sub("signature_bad_keyring", () => {
      fresh();
      const r = loadLoader(bpf, f.insns, -1, JUNK_SIG, INT_MAX, 0);
      assert.equal(r.fd, -Errno.EINVAL, "signature with bad keyring_id rejected");
    });

    sub("metadata_ctx_max_entries_ignored", () => {
      fresh();
      const g = genLoader("prog_b");
      const ctx = loaderCtx(
        g,
        Array.from({ length: g.nrMaps }, () => ({ max_entries: GATING_BOGUS_MAX })),
      );
      const run = runGenLoader(bpf, g, { excl: g.excl, sig: null, ctx });
      try {
        assert.ok(run.ran, `loader ran (load errno ${run.load.errno})`);
        assert.equal(run.r, 0, "loader retval");
        let checked = 0;
        for (const fd of run.out?.map_fds ?? []) {
          if (fd <= 0) continue;
          const info = bpf.mapInfo(fd);
          assert.notEqual(
            info.max_entries,
            GATING_BOGUS_MAX,
            "ctx max_entries ignored for signed loader",
          );
          // the attested size: counters has 4 entries in the signed metadata
          assert.equal(info.max_entries, 4, "created with the max_entries the metadata records");
          checked++;
        }
        assert.ok(checked > 0, "inspected a created map");
      } finally {
        closeLoaderCtxFds(bpf, run.out);
      }
    });

    sub("metadata_ctx_initial_value_ignored", () => {
      fresh();
      const g = genLoader("prog_d");
      const mem = target.backend.memory;
      const evil = mem.alloc(new Uint8Array(64).fill(0xaa));
      const ctx = loaderCtx(
        g,
        Array.from({ length: g.nrMaps }, () => ({ initial_value: evil })),
      );
      const run = runGenLoader(bpf, g, { excl: g.excl, sig: null, ctx });
      mem.free(evil);
      try {
        assert.ok(run.ran, `loader ran (load errno ${run.load.errno})`);
        assert.equal(run.r, 0, "loader retval");
        const values = firstWords(bpf, run.out);
        for (const got of values)
          assert.notEqual(got, EVIL_WORD, "ctx initial_value ignored for signed loader");
        assert.ok(values.includes(DATA_MAGIC), "attested .data value preserved");
      } finally {
        closeLoaderCtxFds(bpf, run.out);
      }
    });

    sub("signature_authenticates_insns", (t) => {
      fresh();
      const g = genLoader("prog_a");
      const s = setupSigning(bpf);
      const sig = s.sign(concat(g.insns, g.data));
      const ok = runGenLoader(bpf, g, { excl: g.excl, sig, ctx: loaderCtx(g) });
      try {
        if (stopIfUnverifiable(t, target, ok.load)) return;
        assert.ok(ok.ran, `valid signature: loader loaded and ran (load errno ${ok.load.errno})`);
        assert.equal(ok.r, 0, "valid signature accepted");
        assert.ok((ok.out?.prog_fds[0] ?? 0) > 0, "valid signature: target program installed");
        checkInstalledTarget(bpf, g.prog, ok.out);
      } finally {
        closeLoaderCtxFds(bpf, ok.out);
      }

      const tampered = g.insns.slice();
      tampered[tampered.length >> 1] ^= 0xff;
      // Bind the map to the tampered loader's own digest so the excl check passes and the
      // signature is what rejects the load.
      const bad = runGenLoader(
        bpf,
        { ...g, insns: tampered },
        { excl: sha256(tampered), sig, ctx: loaderCtx(g) },
      );
      closeLoaderCtxFds(bpf, bad.out);
      assert.equal(bad.ran, false, "tampered loader rejected before run");
      assert.equal(bad.r, -Errno.EKEYREJECTED, "signature is bound to the instructions");
    });

    sub("hash_requires_frozen", () => {
      fresh();
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 64,
        max_entries: 1,
        excl_prog_hash: f.excl,
      });
      expectErrno(() => bpf.mapInfo(fd, { hash: true }), Errno.EPERM);
      closeAll(bpf, fd);
    });

    sub("no_update_after_freeze", () => {
      fresh();
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
      });
      bpf.mapUpdate(fd, new Uint8Array(4), new Uint8Array(8).fill(1));
      bpf.mapFreeze(fd);
      expectErrno(
        () => bpf.mapUpdate(fd, new Uint8Array(4), new Uint8Array(8).fill(2)),
        Errno.EPERM,
      );
      assert.deepEqual([...bpf.mapLookup(fd, new Uint8Array(4), 8)], Array(8).fill(1));
      closeAll(bpf, fd);
    });

    sub("freeze_writable_mmap", () => {
      fresh();
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.MMAPABLE,
      });
      const addr = bpf.mmap(fd, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
      expectErrno(() => bpf.mapFreeze(fd), Errno.EBUSY);
      assert.equal(target.backend.munmap(addr, 4096), 0);
      bpf.mapFreeze(fd);
      closeAll(bpf, fd);
    });

    sub("no_writable_mmap_frozen", () => {
      fresh();
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.MMAPABLE,
      });
      bpf.mapFreeze(fd);
      const r = target.backend.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.SHARED, fd, 0);
      assert.ok(r < 0n, "writable mmap of a frozen map fails (MAP_FAILED)");
      assert.equal(r, BigInt(-Errno.EPERM));
      closeAll(bpf, fd);
    });

    sub("map_hash_matches_libbpf", () => {
      fresh();
      const value = new Uint8Array(64).map((_, i) => i * 7 + 1);
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 64,
        max_entries: 1,
      });
      bpf.mapUpdate(fd, new Uint8Array(4), value);
      bpf.mapFreeze(fd);
      const info = bpf.mapInfo(fd, { hash: true });
      assert.deepEqual(info.hashBytes, sha256(value));
      assert.equal(info.hash_size, 32);
      closeAll(bpf, fd);
    });

    sub("map_hash_multi_element", () => {
      fresh();
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 64,
        max_entries: 8,
      });
      const all = new Uint8Array(64 * 8);
      for (let i = 0; i < 8; i++) {
        const v = new Uint8Array(64).fill(0x10 + i);
        all.set(v, i * 64);
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, i, true);
        bpf.mapUpdate(fd, key, v);
      }
      bpf.mapFreeze(fd);
      assert.deepEqual(bpf.mapInfo(fd, { hash: true }).hashBytes, sha256(all));
      closeAll(bpf, fd);
    });

    sub("map_hash_bad_size", () => {
      fresh();
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 64,
        max_entries: 1,
      });
      bpf.mapFreeze(fd);
      expectErrno(() => bpf.mapInfo(fd, { hash: true, hash_size: 16 }), Errno.EINVAL);
      closeAll(bpf, fd);
    });

    sub("map_hash_unsupported_type", () => {
      fresh();
      const fd = bpf.mapCreate({
        map_type: MapType.HASH,
        key_size: 4,
        value_size: 8,
        max_entries: 4,
      });
      bpf.mapFreeze(fd);
      expectErrno(() => bpf.mapInfo(fd, { hash: true }), Errno.EINVAL);
      closeAll(bpf, fd);
    });

    sub("lsm_signature_verdict", (t) => {
      fresh();
      if (!target.registerLsm) {
        t.skip(`${target.name}: cannot host a TypeScript LSM module`);
        return;
      }
      const seen = { count: 0, verdict: -1, keyring_type: -1, keyring_serial: -1 };
      const inspect: LsmModule = {
        name: "test_signed_loader_lsm",
        bpf_prog_load(prog) {
          seen.count++;
          seen.verdict = prog.aux.sig.verdict;
          seen.keyring_type = prog.aux.sig.keyring_type;
          seen.keyring_serial = prog.aux.sig.keyring_serial;
          return 0;
        },
      };
      const unregister = target.registerLsm(inspect);
      try {
        const s = setupSigning(bpf);
        // (1) unsigned
        let mapFd = setupMetaMap(bpf, f.blob, f.excl);
        const unsigned = loadLoader(bpf, f.insns, mapFd, null, 0, 0);
        closeAll(bpf, mapFd);
        assert.ok(unsigned.fd >= 0, `unsigned loader load (errno ${unsigned.errno})`);
        closeAll(bpf, unsigned.fd);
        assert.equal(seen.count, 1, "unsigned: one observed load");
        assert.equal(seen.verdict, SigVerdict.UNSIGNED, "unsigned verdict");
        assert.equal(seen.keyring_type, SigKeyring.NONE, "unsigned keyring type");
        assert.equal(seen.keyring_serial, 0, "unsigned keyring serial");

        // (2) insns-only signature, metadata not folded (fd_array_cnt = 0)
        const insnsSig = s.sign(f.insns);
        mapFd = setupMetaMap(bpf, f.blob, f.excl);
        seen.count = 0;
        const unfolded = loadLoader(bpf, f.insns, mapFd, insnsSig, KeySpec.SESSION_KEYRING, 0);
        closeAll(bpf, mapFd);
        if (stopIfUnverifiable(t, target, unfolded)) return;
        assert.equal(unfolded.fd, -Errno.EACCES, "unfolded metadata rejected");
        const sesSerial = bpf.keyringId(KeySpec.SESSION_KEYRING);
        assert.equal(seen.count, 1, "signed: one observed load");
        assert.equal(seen.verdict, SigVerdict.VERIFIED, "admission saw a valid signature");
        assert.equal(seen.keyring_type, SigKeyring.USER, "signed keyring type");
        assert.ok(sesSerial > 0, "session keyring serial resolved");
        assert.equal(seen.keyring_serial, sesSerial, "signed: validated against session keyring");

        // (3) insns || metadata, folded through fd_array_cnt = 1
        const metaSig = s.sign(concat(f.insns, f.blob));
        mapFd = setupMetaMap(bpf, f.blob, f.excl);
        seen.count = 0;
        const bound = loadLoader(bpf, f.insns, mapFd, metaSig, KeySpec.SESSION_KEYRING, 1);
        closeAll(bpf, mapFd);
        assert.ok(bound.fd >= 0, `metadata-bound loader load (errno ${bound.errno})`);
        closeAll(bpf, bound.fd);
        assert.equal(seen.count, 1, "metadata: one observed load");
        assert.equal(seen.verdict, SigVerdict.VERIFIED, "metadata-bound verdict");
      } finally {
        unregister();
      }
    });

    // ---- Beyond the selftest: what a kernel without signature verification can still check.

    sub("loadtime_signature_removed", () => {
      // The signed skeletons of the vectors with the signature removed but excl_prog_hash kept
      // (fd_array_cnt 0, as run_gen_loader() loads without a signature): the exclusive
      // metadata map accepts the gen_hash loader, which installs exactly the signed program.
      fresh();
      for (const prog of PROGS) {
        const g = genLoader(prog);
        const run = runGenLoader(bpf, g, { excl: g.excl, sig: null, ctx: loaderCtx(g) });
        try {
          assert.equal(run.load.errno, 0, `${prog}: loader loaded without its signature`);
          assert.ok(run.ran, `${prog}: loader ran`);
          assert.equal(run.r, 0, `${prog}: loader installed its target`);
          assert.equal(run.out?.map_fds.filter((fd) => fd > 0).length, g.nrMaps, `${prog}: maps`);
          checkInstalledTarget(bpf, prog, run.out);
        } finally {
          closeLoaderCtxFds(bpf, run.out);
        }
      }
    });

    sub("loadtime_signature_removed_excl_mismatch", () => {
      // One bit of excl_prog_hash flipped: the loader's digest no longer matches the map's
      // exclusive hash and the load fails with EACCES before anything runs.
      fresh();
      for (const prog of ["prog_a", "prog_b"] as const) {
        const g = genLoader(prog);
        const excl = g.excl.slice();
        excl[0] ^= 1;
        const run = runGenLoader(bpf, g, { excl, sig: null, ctx: loaderCtx(g), logSize: 4096 });
        closeLoaderCtxFds(bpf, run.out);
        assert.equal(run.load.fd, -Errno.EACCES, `${prog}: excl_prog_hash mismatch rejected`);
        assert.equal(run.ran, false, `${prog}: loader never ran`);
        assert.match(run.load.log, /program's hash doesn't match map's excl_prog_hash/);
      }
    });

    sub("loadtime_vector_signatures", (t) => {
      // The bpftool-made signatures of the vectors (rsa2048, over insns || data) with the
      // vector certificate in the session keyring: each signed loader loads with its metadata
      // folded in, runs and installs its program.
      fresh();
      bpf.addKey("asymmetric", "", vectorCert("rsa2048"), KeySpec.SESSION_KEYRING);
      for (const prog of PROGS) {
        const g = genLoader(prog);
        const sig = readVector(prog, "sig.rsa2048.der");
        const run = runGenLoader(bpf, g, { excl: g.excl, sig, ctx: loaderCtx(g) });
        try {
          if (stopIfUnverifiable(t, target, run.load)) return;
          assert.equal(run.load.errno, 0, `${prog}: signed loader loaded`);
          assert.ok(run.ran, `${prog}: loader ran`);
          assert.equal(run.r, 0, `${prog}: loader installed its target`);
          checkInstalledTarget(bpf, prog, run.out);
        } finally {
          closeLoaderCtxFds(bpf, run.out);
        }
      }
    });

    sub("metadata_ctx_overrides_honoured_unsigned", () => {
      // The control for the two metadata_ctx_* subtests: the plain (non-gen_hash) loaders of
      // the same objects, given the same ctx, do take max_entries and initial_value from it.
      fresh();
      const b = genLoader("prog_b", false);
      const resized = runGenLoader(bpf, b, {
        excl: null,
        sig: null,
        ctx: loaderCtx(b, [{ max_entries: GATING_BOGUS_MAX }]),
      });
      try {
        assert.equal(resized.r, 0, "plain prog_b loader retval");
        const fd = resized.out?.map_fds[0] ?? -1;
        assert.equal(bpf.mapInfo(fd).max_entries, GATING_BOGUS_MAX, "ctx max_entries taken");
      } finally {
        closeLoaderCtxFds(bpf, resized.out);
      }

      const d = genLoader("prog_d", false);
      const mem = target.backend.memory;
      const evil = mem.alloc(new Uint8Array(64).fill(0xaa));
      const reseeded = runGenLoader(bpf, d, {
        excl: null,
        sig: null,
        ctx: loaderCtx(
          d,
          Array.from({ length: d.nrMaps }, () => ({ initial_value: evil })),
        ),
      });
      mem.free(evil);
      try {
        assert.equal(reseeded.r, 0, "plain prog_d loader retval");
        const values = firstWords(bpf, reseeded.out);
        assert.ok(values.includes(EVIL_WORD), "ctx initial_value taken for .data");
        assert.ok(!values.includes(DATA_MAGIC), "the recorded .data value replaced");
      } finally {
        closeLoaderCtxFds(bpf, reseeded.out);
      }
    });

    after(() => target?.dispose());
  });
}
