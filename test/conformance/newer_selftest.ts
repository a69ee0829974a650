/**
 * The subtests the newest signed_loader selftest has and the v2-era one does not
 * (userspace-toolchain §6.1: the series as merged, plus the `.bpf` keyring): they belong to the
 * bpf-next profile's design. Same helpers and names as signed_loader.ts; run by model.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, MapType, ProgType } from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { btfWithInt } from "../support/btf.js";
import { skipVectors } from "../support/vectors.js";
import {
  closeAll,
  concat,
  genLoader,
  loaderCtx,
  loaderFixture,
  loadLoader,
  runGenLoader,
  setupSigning,
  type Target,
  tryLoad,
} from "./harness.js";

export const NEWER_SUBTESTS = [
  "signed_unfrozen_fd_array_rejected",
  "signed_module_kfunc_rejected",
  "signature_zero_size",
  "bpf_keyring_sealed",
  "signature_authenticates_metadata",
  "signed_no_fd_array",
  "signed_map_by_fd_rejected",
  "signed_sparse_fd_array_rejected",
] as const;

/** KEY_SPEC_BPF_KEYRING */
const BPF_KEYRING = -9;

function insn(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}
const RET0 = concat(insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0));

export function newerSelftestSuite(makeTarget: () => Target): void {
  describe(`signed_loader, newest selftest (${makeTarget.name})`, { skip: skipVectors }, () => {
    const f = skipVectors ? (null as never) : loaderFixture();
    const world = () => {
      const target = makeTarget();
      const bpf = new Bpf(target.backend);
      return { target, bpf, s: setupSigning(bpf) };
    };
    const sub = (name: (typeof NEWER_SUBTESTS)[number], fn: () => void) => test(name, fn);

    sub("signed_unfrozen_fd_array_rejected", () => {
      const { target, bpf, s } = world();
      const mapFd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: f.blob.length,
        max_entries: 1,
        excl_prog_hash: f.excl,
      });
      bpf.mapUpdate(mapFd, new Uint8Array(4), f.blob);
      const r = loadLoader(
        bpf,
        f.insns,
        mapFd,
        s.sign(concat(f.insns, f.blob)),
        KeySpec.SESSION_KEYRING,
        1,
      );
      assert.equal(r.fd, -Errno.EPERM);
      closeAll(bpf, mapFd);
      target.dispose();
    });

    sub("signed_module_kfunc_rejected", () => {
      const { target, bpf, s } = world();
      const btf = bpf.btfLoad(btfWithInt()).fd;
      const insns = concat(insn(0x85, 0, 2, 1, 1), RET0);
      const r = tryLoad(bpf, {
        prog_type: ProgType.SOCKET_FILTER,
        insns,
        license: "GPL",
        fd_array: [-1, btf],
        fd_array_cnt: 0,
        signature: s.sign(insns),
        keyring_id: KeySpec.SESSION_KEYRING,
      });
      assert.equal(r.fd, -Errno.EACCES);
      closeAll(bpf, btf);
      target.dispose();
    });

    sub("signature_zero_size", () => {
      const { target, bpf } = world();
      const r = tryLoad(bpf, {
        prog_type: ProgType.SOCKET_FILTER,
        insns: RET0,
        license: "GPL",
        signature: new Uint8Array(8),
        signature_size: 0,
        keyring_id: KeySpec.SESSION_KEYRING,
      });
      assert.equal(r.fd, -Errno.EINVAL);
      target.dispose();
    });

    sub("bpf_keyring_sealed", () => {
      const { target, bpf, s } = world();
      try {
        bpf.addKey("user", "sealprobe", Uint8Array.of(1, 2, 3), BPF_KEYRING);
        assert.fail("add_key into the sealed .bpf keyring succeeded");
      } catch (e) {
        assert.ok(e instanceof BpfError, String(e));
        assert.equal(e.errno, Errno.EPERM);
      }
      const r = tryLoad(bpf, {
        prog_type: ProgType.SOCKET_FILTER,
        insns: RET0,
        license: "GPL",
        signature: s.sign(RET0),
        keyring_id: BPF_KEYRING,
      });
      assert.equal(r.fd, -Errno.ENOKEY);
      target.dispose();
    });

    sub("signature_authenticates_metadata", () => {
      const { target, bpf, s } = world();
      const g = genLoader("prog_a");
      const sig = s.sign(concat(g.insns, g.data));
      const ok = runGenLoader(bpf, g, { excl: g.excl, sig, ctx: loaderCtx(g) });
      assert.equal(ok.load.errno, 0);
      assert.equal(ok.r, 0);
      const data = g.data.slice();
      data[0] ^= 1;
      const bad = runGenLoader(bpf, { ...g, data }, { excl: g.excl, sig, ctx: loaderCtx(g) });
      assert.equal(bad.ran, false);
      assert.equal(bad.load.fd, -Errno.EKEYREJECTED);
      target.dispose();
    });

    sub("signed_no_fd_array", () => {
      const { target, bpf, s } = world();
      const r = tryLoad(bpf, {
        prog_type: ProgType.SOCKET_FILTER,
        insns: RET0,
        license: "GPL",
        signature: s.sign(RET0),
        keyring_id: KeySpec.SESSION_KEYRING,
      });
      assert.ok(r.fd > 0, `loaded (${r.fd})`);
      const tampered = concat(insn(0xb7, 0, 0, 0, 1), insn(0x95, 0, 0, 0, 0));
      const t2 = tryLoad(bpf, {
        prog_type: ProgType.SOCKET_FILTER,
        insns: tampered,
        license: "GPL",
        signature: s.sign(RET0),
        keyring_id: KeySpec.SESSION_KEYRING,
      });
      assert.equal(t2.fd, -Errno.EKEYREJECTED);
      closeAll(bpf, r.fd);
      target.dispose();
    });

    sub("signed_map_by_fd_rejected", () => {
      const { target, bpf, s } = world();
      const map = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
      });
      const insns = concat(insn(0x18, 1, 1, 0, map), insn(0, 0, 0, 0, 0), RET0);
      const r = tryLoad(bpf, {
        prog_type: ProgType.SOCKET_FILTER,
        insns,
        license: "GPL",
        signature: s.sign(insns),
        keyring_id: KeySpec.SESSION_KEYRING,
      });
      assert.equal(r.fd, -Errno.EINVAL);
      closeAll(bpf, map);
      target.dispose();
    });

    sub("signed_sparse_fd_array_rejected", () => {
      const { target, bpf, s } = world();
      const map = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
      });
      const insns = concat(insn(0x18, 1, 5, 0, 0), insn(0, 0, 0, 0, 0), RET0);
      const r = tryLoad(bpf, {
        prog_type: ProgType.SOCKET_FILTER,
        insns,
        license: "GPL",
        fd_array: [map],
        fd_array_cnt: 0,
        signature: s.sign(insns),
        keyring_id: KeySpec.SESSION_KEYRING,
      });
      assert.equal(r.fd, -Errno.EACCES);
      closeAll(bpf, map);
      target.dispose();
    });
  });
}
