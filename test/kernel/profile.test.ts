/**
 * The two load paths side by side (real-kernel §6 for `mainline-6.18`, patch 1/5 for `v2`):
 * where the signature is checked, over what, what it logs, which errno a faulting signature
 * copy gives, and the EOPNOTSUPP of a kernel without CONFIG_SYSTEM_DATA_VERIFICATION.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mov64Imm } from "../../src/insn/index.js";
import { profile } from "../../src/kernel/profile.js";
import { BpfCmd, KeyctlOp, KeySpec, ProgType, SigVerdict } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { ProgLoadAttr } from "../../src/uapi/layout.js";
import {
  insns,
  load,
  metaMap,
  progOf,
  RET0,
  sha256,
  signer,
  socketFilter,
  sys,
  syscallProg,
  trustInSession,
  type World,
  world,
} from "./support.js";

const INT_MAX = 0x7fffffff;
const INT_MIN = -0x80000000;
const JUNK = new Uint8Array([0x30, 0x42, 0x13, 0x37, ...new Uint8Array(60)]);
const s = signer();

/** A raw signed PROG_LOAD of a socket filter, with full control of the signature fields. */
function rawSigned(
  w: World,
  sig: bigint,
  signature_size: number,
  keyring_id: number,
  code = RET0,
  prog_type: number = ProgType.SOCKET_FILTER,
) {
  return sys(w.proc, BpfCmd.PROG_LOAD, ProgLoadAttr, {
    prog_type,
    insn_cnt: code.length / 8,
    insns: w.proc.memory.alloc(code),
    license: w.proc.memory.alloc(new TextEncoder().encode("GPL\0")),
    signature: sig,
    signature_size,
    keyring_id,
  }).ret;
}

describe("profile()", () => {
  test("v2 verifies signatures; mainline-6.18 has no CONFIG_SYSTEM_DATA_VERIFICATION", () => {
    assert.deepEqual(profile("v2"), {
      name: "v2",
      scheme: "v2",
      systemDataVerification: true,
      bpfKeyring: false,
      keyringUnsealed: false,
    });
    assert.deepEqual(profile("mainline-6.18"), {
      name: "mainline-6.18",
      scheme: "mainline",
      systemDataVerification: false,
      bpfKeyring: false,
      keyringUnsealed: false,
    });
    assert.equal(profile().name, "v2");
    assert.equal(world().kernel.profile.name, "v2", "the kernel's default");
  });
});

describe("mainline-6.18: the observed signature path (real-kernel §6)", () => {
  const m = () => world({ profile: "mainline-6.18" });

  test("a correct signature with the key in the keyring still ends in EOPNOTSUPP", () => {
    const w = m();
    const keySerial = trustInSession(w.bpf, s);
    w.kernel.keyrings.trustSystemCertificate("builtin", s.certDer);
    const ring = w.bpf.addKey("keyring", "probe", null, KeySpec.SESSION_KEYRING);
    w.bpf.addKey("asymmetric", "k", s.certDer, ring);
    for (const id of [
      KeySpec.SESSION_KEYRING,
      KeySpec.USER_KEYRING,
      KeySpec.USER_SESSION_KEYRING,
      0,
      1,
      2,
      ring,
      keySerial,
    ]) {
      const r = load(w.bpf, socketFilter(RET0, { signature: s.sign(RET0), keyring_id: id }));
      assert.equal(r.errno, Errno.EOPNOTSUPP, `keyring_id ${id}`);
    }
  });

  test("junk and wrong signatures are indistinguishable from right ones (EOPNOTSUPP)", () => {
    const w = m();
    trustInSession(w.bpf, s);
    assert.equal(
      load(w.bpf, socketFilter(RET0, { signature: JUNK, keyring_id: KeySpec.SESSION_KEYRING }))
        .errno,
      Errno.EOPNOTSUPP,
    );
    const other = s.sign(new Uint8Array([1, 2, 3]));
    assert.equal(
      load(w.bpf, socketFilter(RET0, { signature: other, keyring_id: KeySpec.SESSION_KEYRING }))
        .errno,
      Errno.EOPNOTSUPP,
    );
  });

  test("order: size > 8192 → EINVAL, then keyring → EINVAL, then copy fault → ENOMEM", () => {
    const w = m();
    const buf = w.proc.memory.alloc(8193);
    assert.equal(rawSigned(w, buf, 8193, KeySpec.SESSION_KEYRING), -Errno.EINVAL);
    assert.equal(rawSigned(w, buf, 8193, INT_MAX), -Errno.EINVAL);
    assert.equal(rawSigned(w, buf, 0xffffffff, KeySpec.SESSION_KEYRING), -Errno.EINVAL);
    assert.equal(rawSigned(w, buf, 8192, KeySpec.SESSION_KEYRING), -Errno.EOPNOTSUPP);
    assert.equal(rawSigned(w, buf, 8192, INT_MAX), -Errno.EINVAL);
    assert.equal(rawSigned(w, 0x10n, 64, KeySpec.SESSION_KEYRING), -Errno.ENOMEM);
    assert.equal(rawSigned(w, 0x10n, 64, INT_MAX), -Errno.EINVAL);
    const small = w.proc.memory.alloc(4096);
    assert.equal(
      rawSigned(w, small, 8192, KeySpec.SESSION_KEYRING),
      -Errno.ENOMEM,
      "8192 with 4096 mapped",
    );
    assert.equal(rawSigned(w, small, 0, KeySpec.SESSION_KEYRING), -Errno.EOPNOTSUPP, "size 0");
  });

  test("keyring ids: 3, -1, -2, INT_MAX, INT_MIN → EINVAL; -3, -4, -5, 0, 1, 2 → EOPNOTSUPP", () => {
    const w = m();
    const buf = w.proc.memory.alloc(JUNK);
    for (const id of [3, KeySpec.THREAD_KEYRING, KeySpec.PROCESS_KEYRING, INT_MAX, INT_MIN]) {
      assert.equal(rawSigned(w, buf, 64, id), -Errno.EINVAL, `${id}`);
    }
    for (const id of [
      KeySpec.SESSION_KEYRING,
      KeySpec.USER_KEYRING,
      KeySpec.USER_SESSION_KEYRING,
      0,
      1,
      2,
    ]) {
      assert.equal(rawSigned(w, buf, 64, id), -Errno.EOPNOTSUPP, `${id}`);
    }
    const user = w.bpf.addKey("user", "u", new Uint8Array([1]), KeySpec.SESSION_KEYRING);
    assert.equal(
      rawSigned(w, buf, 64, user),
      -Errno.EOPNOTSUPP,
      "a user-type key's serial resolves",
    );
  });

  test("a revoked keyring resolves and the stub still says EOPNOTSUPP (no key_validate)", () => {
    const w = m();
    const ring = w.bpf.addKey("keyring", "r", null, KeySpec.SESSION_KEYRING);
    w.bpf.keyctl(KeyctlOp.REVOKE, ring);
    assert.equal(rawSigned(w, w.proc.memory.alloc(JUNK), 64, ring), -Errno.EOPNOTSUPP);
  });

  test("the signature is checked before the verifier and logs nothing", () => {
    const w = m();
    const broken = insns(mov64Imm(0, 0), mov64Imm(0, 1));
    const r = load(
      w.bpf,
      socketFilter(broken, {
        signature: JUNK,
        keyring_id: KeySpec.SESSION_KEYRING,
        log_size: 4096,
      }),
    );
    assert.equal(r.errno, Errno.EOPNOTSUPP);
    assert.equal(r.log, "", "the verifier log was never set up");
    const unsigned = load(w.bpf, socketFilter(broken, { log_size: 4096 }));
    assert.equal(unsigned.errno, Errno.EINVAL);
    assert.match(unsigned.log, /last insn is not an exit or jmp/);
  });

  test("the signature is checked before find_prog_type() and the name check", () => {
    const w = m();
    const buf = w.proc.memory.alloc(JUNK);
    assert.equal(rawSigned(w, buf, 64, KeySpec.SESSION_KEYRING, RET0, 9999), -Errno.EOPNOTSUPP);
    assert.equal(rawSigned(w, 0n, 64, KeySpec.SESSION_KEYRING, RET0, 9999), -Errno.EINVAL);
    const r = load(
      w.bpf,
      socketFilter(RET0, {
        prog_name: "a-b",
        signature: JUNK,
        keyring_id: KeySpec.SESSION_KEYRING,
      }),
    );
    assert.equal(r.errno, Errno.EOPNOTSUPP);
  });

  test("the signature is checked after the insns and license are copied", () => {
    const w = m();
    const ret = sys(w.proc, BpfCmd.PROG_LOAD, ProgLoadAttr, {
      prog_type: ProgType.SOCKET_FILTER,
      insn_cnt: 2,
      insns: w.proc.memory.alloc(RET0),
      license: 0x10n,
      signature: w.proc.memory.alloc(JUNK),
      signature_size: 64,
      keyring_id: KeySpec.SESSION_KEYRING,
    }).ret;
    assert.equal(ret, -Errno.EFAULT);
  });

  test("fd_array maps are not examined by the signature check: a non-exclusive map is no EPERM", () => {
    const w = m();
    const meta = metaMap(w.bpf, new Uint8Array(8), { excl: null });
    const r = load(
      w.bpf,
      syscallProg(RET0, {
        fd_array: [meta],
        fd_array_cnt: 1,
        signature: JUNK,
        keyring_id: KeySpec.SESSION_KEYRING,
      }),
    );
    assert.equal(r.errno, Errno.EOPNOTSUPP);
  });

  test("unsigned loads work as in v2 and are UNSIGNED", () => {
    const w = m();
    const r = load(w.bpf, socketFilter(RET0));
    assert.ok(r.fd >= 0);
    assert.equal(progOf(w.proc, r.fd).aux.sig.verdict, SigVerdict.UNSIGNED);
  });
});

describe("v2 and mainline-6.18 on the same input", () => {
  const both = (fn: (w: World) => number) => ({
    v2: fn(world({ profile: "v2" })),
    mainline: fn(world({ profile: "mainline-6.18" })),
  });

  test("a faulting signature pointer: v2 EFAULT (PTR_ERR), mainline ENOMEM", () => {
    assert.deepEqual(
      both((w) => rawSigned(w, 0x10n, 64, KeySpec.SESSION_KEYRING)),
      { v2: -Errno.EFAULT, mainline: -Errno.ENOMEM },
    );
  });

  test("a junk signature: v2 EBADMSG (it parses), mainline EOPNOTSUPP", () => {
    assert.deepEqual(
      both((w) => rawSigned(w, w.proc.memory.alloc(JUNK), 64, KeySpec.SESSION_KEYRING)),
      { v2: -Errno.EBADMSG, mainline: -Errno.EOPNOTSUPP },
    );
  });

  test("a non-exclusive metadata map: v2 rejects it while folding (EPERM), mainline never looks", () => {
    const run = (w: World) =>
      load(
        w.bpf,
        syscallProg(RET0, {
          fd_array: [metaMap(w.bpf, new Uint8Array(8), { excl: null })],
          fd_array_cnt: 1,
          signature: JUNK,
          keyring_id: KeySpec.SESSION_KEYRING,
        }),
      ).errno;
    assert.deepEqual(both(run), { v2: Errno.EPERM, mainline: Errno.EOPNOTSUPP });
  });

  test("the size and keyring checks agree", () => {
    assert.deepEqual(
      both((w) => rawSigned(w, w.proc.memory.alloc(8193), 8193, KeySpec.SESSION_KEYRING)),
      {
        v2: -Errno.EINVAL,
        mainline: -Errno.EINVAL,
      },
    );
    assert.deepEqual(
      both((w) => rawSigned(w, w.proc.memory.alloc(JUNK), 64, 3)),
      {
        v2: -Errno.EINVAL,
        mainline: -Errno.EINVAL,
      },
    );
  });

  test("a valid signature: v2 VERIFIED, mainline EOPNOTSUPP", () => {
    const run = (w: World) => {
      trustInSession(w.bpf, s);
      const value = new Uint8Array(16).fill(3);
      const meta = metaMap(w.bpf, value, { excl: sha256(RET0) });
      // v2 signs insns || metadata; mainline would only ever look at the insns
      return load(
        w.bpf,
        syscallProg(RET0, {
          fd_array: [meta],
          fd_array_cnt: 1,
          signature: s.sign(RET0, value),
          keyring_id: KeySpec.SESSION_KEYRING,
        }),
      ).errno;
    };
    assert.deepEqual(both(run), { v2: 0, mainline: Errno.EOPNOTSUPP });
  });
});
