/**
 * The spec's `signed_loader` selftest as a conformance suite, subtest by subtest with the same
 * names, assertions and errno values. It runs against any Target; the loader-running subtests
 * (loadtime_*, metadata_*) join once the model can run loaders.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { LsmModule } from "../../src/kernel/lsm.js";
import { MapFlags, Prot } from "../../src/uapi/backend.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, MapFlag, MapType, SigKeyring, SigVerdict } from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { btfWithInt } from "../support/btf.js";
import { skipVectors } from "../support/vectors.js";
import {
  closeAll,
  concat,
  JUNK_SIG,
  loaderFixture,
  loadLoader,
  setupMetaMap,
  setupSigning,
  sha256,
  stopIfUnverifiable,
  type Target,
} from "./harness.js";

const INT_MAX = 0x7fffffff;

function expectErrno(fn: () => unknown, errno: number): void {
  assert.throws(fn, (e: unknown) => e instanceof BpfError && e.errno === errno);
}

export function signedLoaderSuite(makeTarget: () => Target): void {
  describe(`signed_loader (${makeTarget.name || "target"})`, { skip: skipVectors }, () => {
    let target: Target;
    let bpf: Bpf;
    const f = skipVectors ? (null as never) : loaderFixture();

    const fresh = () => {
      target?.dispose();
      target = makeTarget();
      bpf = new Bpf(target.backend);
    };

    test("signature_enforced", () => {
      fresh();
      const r = loadLoader(bpf, f.insns, -1, JUNK_SIG, KeySpec.SESSION_KEYRING, 0);
      assert.ok(r.fd < 0, "invalid signature rejected at load");
      if (target.signatureUnavailable) assert.equal(r.errno, Errno.EOPNOTSUPP);
      else assert.equal(r.errno, Errno.EBADMSG);
    });

    test("signed_nonexcl_fd_array_rejected", (t) => {
      fresh();
      const mapFd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        map_name: "nonexcl",
        key_size: 4,
        value_size: f.blob.length,
        max_entries: 1,
      });
      const r = loadLoader(bpf, f.insns, mapFd, JUNK_SIG, KeySpec.SESSION_KEYRING, 1);
      // mainline checks the signature before fd_array: a target that cannot verify stops there
      if (stopIfUnverifiable(t, target, r)) {
        closeAll(bpf, mapFd);
        return;
      }
      assert.equal(r.fd, -Errno.EPERM, "non-exclusive map in signed fd_array rejected");
      closeAll(bpf, r.fd, mapFd);
    });

    test("signed_nonarray_fd_array_rejected", (t) => {
      fresh();
      const mapFd = bpf.mapCreate({
        map_type: MapType.HASH,
        map_name: "excl_hash",
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        excl_prog_hash: f.excl,
      });
      const r = loadLoader(bpf, f.insns, mapFd, JUNK_SIG, KeySpec.SESSION_KEYRING, 1);
      // mainline checks the signature before fd_array: a target that cannot verify stops there
      if (stopIfUnverifiable(t, target, r)) {
        closeAll(bpf, mapFd);
        return;
      }
      assert.equal(r.fd, -Errno.EINVAL, "non-array map in signed fd_array rejected");
      closeAll(bpf, r.fd, mapFd);
    });

    test("signed_btf_fd_array_rejected", (t) => {
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
      assert.equal(r.fd, -Errno.EACCES, "BTF in signed fd_array rejected post-verifier");
      assert.match(r.log, /signed program uses BTF not covered by the signature/);
    });

    test("signature_failure_logs", () => {
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

    test("signature_too_large", () => {
      fresh();
      const r = loadLoader(bpf, f.insns, -1, JUNK_SIG, KeySpec.SESSION_KEYRING, 0, {
        signature_size: 64 << 20,
      });
      assert.equal(r.fd, -Errno.EINVAL, "oversized signature rejected");
    });

    test("signature_bad_keyring", () => {
      fresh();
      const r = loadLoader(bpf, f.insns, -1, JUNK_SIG, INT_MAX, 0);
      assert.equal(r.fd, -Errno.EINVAL, "signature with bad keyring_id rejected");
    });

    test("signature_authenticates_insns", (t) => {
      fresh();
      const s = setupSigning(bpf);
      const sig = s.sign(concat(f.insns, f.blob));
      let mapFd = setupMetaMap(bpf, f.blob, f.excl);
      const ok = loadLoader(bpf, f.insns, mapFd, sig, KeySpec.SESSION_KEYRING, 1);
      closeAll(bpf, mapFd);
      if (stopIfUnverifiable(t, target, ok)) return;
      assert.ok(ok.fd >= 0, `valid signature accepted (errno ${ok.errno})`);
      closeAll(bpf, ok.fd);

      const tampered = f.insns.slice();
      tampered[tampered.length >> 1] ^= 0xff;
      // Bind the map to the tampered loader's own digest so the excl check passes and the
      // signature is what rejects the load.
      mapFd = setupMetaMap(bpf, f.blob, sha256(tampered));
      const bad = loadLoader(bpf, tampered, mapFd, sig, KeySpec.SESSION_KEYRING, 1);
      closeAll(bpf, mapFd);
      assert.equal(bad.fd, -Errno.EKEYREJECTED, "signature is bound to the instructions");
    });

    test("hash_requires_frozen", () => {
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

    test("no_update_after_freeze", () => {
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

    test("freeze_writable_mmap", () => {
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

    test("no_writable_mmap_frozen", () => {
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

    test("map_hash_matches_libbpf", () => {
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

    test("map_hash_multi_element", () => {
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

    test("map_hash_bad_size", () => {
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

    test("map_hash_unsupported_type", () => {
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

    test("lsm_signature_verdict", (t) => {
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

    after(() => target?.dispose());
  });
}
