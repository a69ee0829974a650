/**
 * The v2 signature step inside bpf_check() (patch 1/5 `bpf_prog_verify_signature`): size cap,
 * keyring resolution with its log line, the signature copy, the fold checks on every used map,
 * the payload cap, PKCS#7 verification over insns || value(map_0) || …, and the verdict with
 * keyring type and serial (kernel-semantics §7, §11; design doc "Keyrings").
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { exit, ldMapFd, ldMapIdxValue, mov64Imm, progDigest } from "../../src/insn/index.js";
import { KeyctlOp, KeySpec, MapType, SigKeyring, SigVerdict } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import {
  insns,
  load,
  metaMap,
  progOf,
  RET0,
  sha256,
  signer,
  syscallProg,
  trustInSession,
  u32,
  type World,
  world,
} from "./support.js";

const INT_MAX = 0x7fffffff;
const INT_MIN = -0x80000000;
const JUNK = new Uint8Array([0x30, 0x42, 0x13, 0x37, ...new Uint8Array(60)]);
const VALUE = new Uint8Array(40).map((_, i) => (i * 13 + 5) & 0xff);

const s = signer();
const other = signer("kernel-tests-other");

/** A signed loader-shaped load of `code` binding `maps` through fd_array_cnt. */
function signedLoad(
  w: World,
  code: Uint8Array,
  maps: number[],
  signature: Uint8Array,
  keyring_id: number,
  extra = {},
) {
  return load(
    w.bpf,
    syscallProg(code, {
      fd_array: maps,
      fd_array_cnt: maps.length,
      signature,
      keyring_id,
      log_size: 1 << 16,
      ...extra,
    }),
  );
}

/** A world whose session keyring trusts `s`, with a metadata map bound to RET0's digest. */
function setup(value = VALUE) {
  const w = world();
  const keySerial = trustInSession(w.bpf, s);
  const meta = metaMap(w.bpf, value, { excl: sha256(RET0), name: "__loader.map" });
  return { w, keySerial, meta };
}

describe("signature_size", () => {
  test("8192 is allowed: the bytes reach the PKCS#7 parser (EBADMSG)", () => {
    const w = world();
    const sig = new Uint8Array(8192);
    sig.set(JUNK);
    const r = signedLoad(w, RET0, [], sig, KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.EBADMSG, r.log);
    assert.match(r.log, /signature verification failed: -74/);
  });

  test("8193 → EINVAL before the keyring is looked up (no keyring log line)", () => {
    const w = world();
    const sig = new Uint8Array(8193);
    for (const id of [KeySpec.SESSION_KEYRING, INT_MAX]) {
      const r = signedLoad(w, RET0, [], sig, id);
      assert.equal(r.errno, Errno.EINVAL);
      assert.doesNotMatch(r.log, /cannot resolve signing keyring/);
      assert.doesNotMatch(r.log, /signature verification/);
    }
  });

  test("8192 with a bad keyring → EINVAL from the lookup (the log says so)", () => {
    const w = world();
    const r = signedLoad(w, RET0, [], new Uint8Array(8192), INT_MAX);
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /cannot resolve signing keyring with keyring_id 2147483647/);
  });

  test("size 0 with a pointer reaches PKCS#7 with zero bytes → EBADMSG", () => {
    const w = world();
    const r = signedLoad(w, RET0, [], JUNK, KeySpec.SESSION_KEYRING, { signature_size: 0 });
    assert.equal(r.errno, Errno.EBADMSG);
    assert.match(r.log, /signature verification failed: -74/);
  });

  test("a signature pointer that faults → EFAULT (PTR_ERR of the copy), after the keyring", () => {
    const w = world();
    const addr = w.proc.memory.alloc(64);
    w.proc.memory.free(addr);
    const raw = (sig: bigint, keyring_id: number) => {
      const { proc } = w;
      const attr = new Uint8Array(168);
      const dv = new DataView(attr.buffer);
      dv.setUint32(0, 31, true); // SYSCALL
      dv.setUint32(4, 2, true);
      dv.setBigUint64(8, proc.memory.alloc(RET0), true);
      dv.setBigUint64(16, proc.memory.alloc(new TextEncoder().encode("GPL\0")), true);
      dv.setUint32(44, 16, true); // BPF_F_SLEEPABLE
      dv.setBigUint64(152, sig, true);
      dv.setUint32(160, 64, true);
      dv.setInt32(164, keyring_id, true);
      return proc.bpf(5, attr, 168);
    };
    assert.equal(raw(0x10n, KeySpec.SESSION_KEYRING), -Errno.EFAULT);
    assert.equal(raw(addr, KeySpec.SESSION_KEYRING), -Errno.EFAULT, "a freed buffer");
    assert.equal(raw(0x10n, INT_MAX), -Errno.EINVAL, "the keyring is resolved first");
  });
});

describe("keyring_id resolution", () => {
  const resolve = (id: number, prep?: (w: World) => void) => {
    const w = world();
    prep?.(w);
    return signedLoad(w, RET0, [], JUNK, id);
  };

  for (const [id, why] of [
    [3, "no key with serial 3"],
    [KeySpec.THREAD_KEYRING, "no thread keyring, and the lookup does not create one"],
    [KeySpec.PROCESS_KEYRING, "no process keyring"],
    [KeySpec.GROUP_KEYRING, "not implemented"],
    [KeySpec.REQKEY_AUTH_KEY, "no authorisation key"],
    [INT_MAX, "no such serial"],
    [INT_MIN, "negative and not a KEY_SPEC"],
    [-100, "negative and not a KEY_SPEC"],
  ] as const) {
    test(`keyring_id ${id} → EINVAL (${why}), logged`, () => {
      const r = resolve(id);
      assert.equal(r.errno, Errno.EINVAL);
      assert.ok(r.log.includes(`cannot resolve signing keyring with keyring_id ${id}\n`), r.log);
      assert.doesNotMatch(r.log, /signature verification/);
    });
  }

  for (const id of [
    KeySpec.SESSION_KEYRING,
    KeySpec.USER_KEYRING,
    KeySpec.USER_SESSION_KEYRING,
    0,
    1,
    2,
  ]) {
    test(`keyring_id ${id} resolves: the junk signature is what fails (EBADMSG)`, () => {
      const r = resolve(id);
      assert.equal(r.errno, Errno.EBADMSG, r.log);
      assert.doesNotMatch(r.log, /cannot resolve/);
    });
  }

  test("-1 and -2 resolve once the thread / process keyring exists", () => {
    for (const id of [KeySpec.THREAD_KEYRING, KeySpec.PROCESS_KEYRING]) {
      const r = resolve(id, (w) => {
        w.bpf.keyringId(id, true);
      });
      assert.equal(r.errno, Errno.EBADMSG, `${id}: ${r.log}`);
    }
  });

  test("a serial of any key resolves, whatever its type (here a user key)", () => {
    const r = resolve(0, () => {});
    assert.equal(r.errno, Errno.EBADMSG);
    const w = world();
    const serial = w.bpf.addKey("user", "blob", new Uint8Array([1]), KeySpec.SESSION_KEYRING);
    const r2 = signedLoad(w, RET0, [], JUNK, serial);
    assert.equal(r2.errno, Errno.EBADMSG);
  });
});

describe("fold checks on the bound maps", () => {
  const junkLoad = (w: World, maps: number[]) =>
    signedLoad(w, RET0, maps, JUNK, KeySpec.SESSION_KEYRING);

  test("a non-array map (exclusive HASH) → EINVAL: must be an array", () => {
    const w = world();
    const m = w.bpf.mapCreate({
      map_type: MapType.HASH,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
      map_name: "meta_hash",
      excl_prog_hash: sha256(RET0),
    });
    w.bpf.mapFreeze(m);
    const r = junkLoad(w, [m]);
    assert.equal(r.errno, Errno.EINVAL);
    assert.ok(r.log.includes("signed program metadata map 'meta_hash' must be an array\n"), r.log);
  });

  test("PERCPU_ARRAY is not a plain array either", () => {
    const w = world();
    const m = w.bpf.mapCreate({
      map_type: MapType.PERCPU_ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
      map_name: "pcpu",
      excl_prog_hash: sha256(RET0),
    });
    const r = junkLoad(w, [m]);
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /'pcpu' must be an array/);
  });

  test("not frozen → EPERM: must be frozen", () => {
    const w = world();
    const m = metaMap(w.bpf, VALUE, { excl: sha256(RET0), freeze: false, name: "thawed" });
    const r = junkLoad(w, [m]);
    assert.equal(r.errno, Errno.EPERM);
    assert.ok(r.log.includes("signed program metadata map 'thawed' must be frozen\n"), r.log);
  });

  test("not exclusive → EPERM: must be exclusive", () => {
    const w = world();
    const m = metaMap(w.bpf, VALUE, { excl: null, name: "shared" });
    const r = junkLoad(w, [m]);
    assert.equal(r.errno, Errno.EPERM);
    assert.ok(r.log.includes("signed program metadata map 'shared' must be exclusive\n"), r.log);
  });

  test("neither frozen nor exclusive: frozen is checked first", () => {
    const w = world();
    const m = metaMap(w.bpf, VALUE, { excl: null, freeze: false, name: "both" });
    const r = junkLoad(w, [m]);
    assert.equal(r.errno, Errno.EPERM);
    assert.match(r.log, /'both' must be frozen/);
    assert.doesNotMatch(r.log, /must be exclusive/);
  });

  test("a non-array that is neither frozen nor exclusive: the array check comes first", () => {
    const w = world();
    const m = w.bpf.mapCreate({
      map_type: MapType.HASH,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
      map_name: "h",
    });
    const r = junkLoad(w, [m]);
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /'h' must be an array/);
  });

  test("every map is checked in used_maps order; the log names the offending one", () => {
    const w = world();
    const good = metaMap(w.bpf, VALUE, { excl: sha256(RET0), name: "good" });
    const bad = metaMap(w.bpf, VALUE, { excl: null, name: "second" });
    const r = junkLoad(w, [good, bad]);
    assert.equal(r.errno, Errno.EPERM);
    assert.match(r.log, /'second' must be exclusive/);
    assert.doesNotMatch(r.log, /'good'/);
  });

  test("a multi-entry exclusive frozen array → ENOTSUPP (524) reading it", () => {
    const w = world();
    const m = metaMap(w.bpf, VALUE, { excl: sha256(RET0), max_entries: 2, name: "multi" });
    const r = junkLoad(w, [m]);
    assert.equal(r.errno, Errno.ENOTSUPP);
    assert.ok(r.log.includes("failed to read signed metadata map 'multi': -524\n"), r.log);
    assert.doesNotMatch(r.log, /signature verification/);
  });

  test("the fold checks come after the signature copy: a faulting pointer wins", () => {
    const w = world();
    const m = metaMap(w.bpf, VALUE, { excl: null, name: "shared" });
    const r = load(
      w.bpf,
      syscallProg(RET0, {
        fd_array: [m],
        fd_array_cnt: 1,
        signature: JUNK,
        signature_size: 1 << 13, // the 64-byte buffer is followed by a guard page
        keyring_id: KeySpec.SESSION_KEYRING,
        log_size: 4096,
      }),
    );
    assert.equal(r.errno, Errno.EFAULT);
    assert.doesNotMatch(r.log, /must be/);
  });
});

describe("signed payload size (bpf_dynptr_check_size)", () => {
  const MAX = (1 << 24) - 1;

  test("insns + value > 16 MiB - 1 → E2BIG with the size in the log", () => {
    const w = world();
    const size = MAX - RET0.length + 1;
    const m = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: size,
      max_entries: 1,
      map_name: "huge",
      excl_prog_hash: sha256(RET0),
    });
    w.bpf.mapFreeze(m);
    const r = signedLoad(w, RET0, [m], JUNK, KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.E2BIG);
    assert.ok(r.log.includes(`signed payload too large: ${MAX + 1} bytes\n`), r.log);
    assert.doesNotMatch(r.log, /signature verification/);
  });

  test("exactly 16 MiB - 1 is allowed: verification runs (EBADMSG for junk)", () => {
    const w = world();
    const m = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: MAX - RET0.length,
      max_entries: 1,
      excl_prog_hash: sha256(RET0),
    });
    w.bpf.mapFreeze(m);
    const r = signedLoad(w, RET0, [m], JUNK, KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.EBADMSG, r.log);
  });

  test("the sizes of several maps add up", () => {
    const w = world();
    const half = (MAX >> 1) + 1;
    const maps = [0, 1].map(() => {
      const m = w.bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: half,
        max_entries: 1,
        excl_prog_hash: sha256(RET0),
      });
      w.bpf.mapFreeze(m);
      return m;
    });
    const r = signedLoad(w, RET0, maps, JUNK, KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.E2BIG);
    assert.ok(r.log.includes(`signed payload too large: ${RET0.length + 2 * half} bytes`));
  });
});

describe("PKCS#7 verification and the verdict", () => {
  test("insns || value verifies against the session keyring: VERIFIED, USER, session serial", () => {
    const { w, meta } = setup();
    const r = signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), KeySpec.SESSION_KEYRING);
    assert.ok(r.fd >= 0, `errno ${r.errno}\n${r.log}`);
    assert.match(r.log, /signature verification passed\n/);
    const sig = progOf(w.proc, r.fd).aux.sig;
    assert.equal(sig.verdict, SigVerdict.VERIFIED);
    assert.equal(sig.keyring_type, SigKeyring.USER);
    assert.equal(sig.keyring_serial, w.bpf.keyringId(KeySpec.SESSION_KEYRING));
  });

  test("no bound maps: the signature covers the instructions alone", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const r = signedLoad(w, RET0, [], s.sign(RET0), KeySpec.SESSION_KEYRING);
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
    assert.equal(progOf(w.proc, r.fd).aux.sig.verdict, SigVerdict.VERIFIED);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    assert.equal(
      signedLoad(w, RET0, [meta], s.sign(RET0), KeySpec.SESSION_KEYRING).errno,
      Errno.EKEYREJECTED,
      "an insns-only signature does not cover a bound map",
    );
  });

  test("one flipped byte of the metadata → EKEYREJECTED", () => {
    const tampered = VALUE.slice();
    tampered[7] ^= 1;
    const { w, meta } = setup(tampered);
    const r = signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.EKEYREJECTED);
    assert.match(r.log, /signature verification failed: -129/);
  });

  test("two maps are folded in fd_array order; a duplicate is folded once", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const a = metaMap(w.bpf, new Uint8Array(8).fill(0xa), { excl: sha256(RET0), name: "a" });
    const b = metaMap(w.bpf, new Uint8Array(16).fill(0xb), { excl: sha256(RET0), name: "b" });
    const sig = s.sign(RET0, new Uint8Array(8).fill(0xa), new Uint8Array(16).fill(0xb));
    const ok = signedLoad(w, RET0, [a, b], sig, KeySpec.SESSION_KEYRING);
    assert.ok(ok.fd >= 0, `errno ${ok.errno}`);
    assert.equal(
      signedLoad(w, RET0, [b, a], sig, KeySpec.SESSION_KEYRING).errno,
      Errno.EKEYREJECTED,
    );
    const dup = signedLoad(w, RET0, [a, b, a], sig, KeySpec.SESSION_KEYRING);
    assert.ok(dup.fd >= 0, `errno ${dup.errno}`);
  });

  test("the signature covers the raw instructions, map fd numbers included", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const extraValue = new Uint8Array(8);
    const m = metaMap(w.bpf, extraValue, { excl: null });
    const code = insns(ldMapFd(1, m), RET0);
    const meta = metaMap(w.bpf, VALUE, { excl: progDigest(code) });
    const sig = s.sign(code, VALUE);
    // same digest (the fd is zeroed for it), other bytes: the signature no longer matches
    const m2 = w.bpf.mapGetFdById(w.bpf.mapInfo(m).id);
    const code2 = insns(ldMapFd(1, m2), RET0);
    assert.deepEqual(progDigest(code2), progDigest(code));
    const r = signedLoad(w, code2, [meta], sig, KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.EKEYREJECTED);
  });

  test("signed with a key the keyring does not hold → ENOKEY", () => {
    const { w, meta } = setup();
    const r = signedLoad(w, RET0, [meta], other.sign(RET0, VALUE), KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.ENOKEY);
    assert.match(r.log, /signature verification failed: -126/);
  });

  test("keyring_id = serial of the asymmetric key itself (not a keyring) → ENOKEY", () => {
    const { w, keySerial, meta } = setup();
    const r = signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), keySerial);
    assert.equal(r.errno, Errno.ENOKEY);
  });

  test("a keyring that holds the certificate through a nested keyring verifies", () => {
    const w = world();
    const outer = w.bpf.addKey("keyring", "outer", null, KeySpec.SESSION_KEYRING);
    const inner = w.bpf.addKey("keyring", "inner", null, outer);
    w.bpf.addKey("asymmetric", "nested", s.certDer, inner);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    const r = signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), outer);
    assert.ok(r.fd >= 0, `errno ${r.errno}\n${r.log}`);
    const sig = progOf(w.proc, r.fd).aux.sig;
    assert.equal(sig.keyring_serial, outer, "the serial of the keyring named, not of the key");
    assert.equal(sig.keyring_type, SigKeyring.USER);
    // the session keyring reaches it only if `outer` is linked there: it is (add_key linked it)
    const viaSession = signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), KeySpec.SESSION_KEYRING);
    assert.ok(viaSession.fd >= 0, `errno ${viaSession.errno}`);
  });

  test("a keyring without the certificate → ENOKEY, even if a sibling keyring has it", () => {
    const w = world();
    const a = w.bpf.addKey("keyring", "a", null, KeySpec.SESSION_KEYRING);
    const b = w.bpf.addKey("keyring", "b", null, KeySpec.SESSION_KEYRING);
    w.bpf.addKey("asymmetric", "in_a", s.certDer, a);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    assert.equal(signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), b).errno, Errno.ENOKEY);
  });

  test("a keyring whose search permission was removed (KEYCTL_SETPERM) → ENOKEY", () => {
    const w = world();
    const ring = w.bpf.addKey("keyring", "locked", null, KeySpec.SESSION_KEYRING);
    w.bpf.addKey("asymmetric", "k", s.certDer, ring);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    const sig = s.sign(RET0, VALUE);
    const before = signedLoad(w, RET0, [meta], sig, ring);
    assert.ok(before.fd >= 0, `searchable: errno ${before.errno}`);
    // possessor and user may view, read, write, link and set attributes — but not search
    w.bpf.keyctl(KeyctlOp.SETPERM, ring, 0x37370000);
    assert.equal(signedLoad(w, RET0, [meta], sig, ring).errno, Errno.ENOKEY);
  });

  test("a nested keyring that may not be searched is skipped → ENOKEY", () => {
    const w = world();
    const outer = w.bpf.addKey("keyring", "outer", null, KeySpec.SESSION_KEYRING);
    const inner = w.bpf.addKey("keyring", "inner", null, outer);
    w.bpf.addKey("asymmetric", "k", s.certDer, inner);
    w.bpf.keyctl(KeyctlOp.SETPERM, inner, 0x37370000);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    assert.equal(signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), outer).errno, Errno.ENOKEY);
  });

  test("a revoked signing key in the keyring is skipped by the search → ENOKEY", () => {
    const { w, keySerial, meta } = setup();
    w.bpf.keyctl(KeyctlOp.REVOKE, keySerial);
    const r = signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.ENOKEY);
  });

  test("a revoked keyring resolves (deferred permission check) and fails key_validate → EKEYREVOKED", () => {
    const w = world();
    const ring = w.bpf.addKey("keyring", "ring", null, KeySpec.SESSION_KEYRING);
    w.bpf.addKey("asymmetric", "k", s.certDer, ring);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    w.bpf.keyctl(KeyctlOp.REVOKE, ring);
    const r = signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), ring);
    assert.equal(r.errno, Errno.EKEYREVOKED, r.log);
    assert.doesNotMatch(r.log, /cannot resolve/);
    assert.match(r.log, /signature verification failed: -128/);
  });

  test("an expired keyring → EKEYEXPIRED; an invalidated one → ENOKEY (key_validate)", () => {
    for (const [op, errno] of [
      [KeyctlOp.SET_TIMEOUT, Errno.EKEYEXPIRED],
      [KeyctlOp.INVALIDATE, Errno.ENOKEY],
    ] as const) {
      const w = world();
      let now = 1_000_000;
      w.kernel.keyrings.now = () => now;
      const ring = w.bpf.addKey("keyring", "ring", null, KeySpec.SESSION_KEYRING);
      w.bpf.addKey("asymmetric", "k", s.certDer, ring);
      const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
      w.bpf.keyctl(op, ring, 1);
      now += 5000;
      const r = signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), ring);
      assert.equal(r.errno, errno, `${op}: ${r.log}`);
      assert.doesNotMatch(r.log, /cannot resolve/);
    }
  });

  test("a failed verification records nothing; an unsigned load is UNSIGNED / NONE / 0", () => {
    const { w, meta } = setup();
    const seen: number[][] = [];
    w.kernel.lsm.register({
      name: "spy",
      bpf_prog_free(p) {
        seen.push([p.aux.sig.verdict, p.aux.sig.keyring_type, p.aux.sig.keyring_serial]);
      },
    });
    assert.equal(
      signedLoad(w, RET0, [meta], other.sign(RET0, VALUE), KeySpec.SESSION_KEYRING).errno,
      Errno.ENOKEY,
    );
    assert.deepEqual(seen, [[SigVerdict.UNSIGNED, SigKeyring.NONE, 0]]);
    const r = load(w.bpf, syscallProg(RET0));
    assert.deepEqual(Object.values(progOf(w.proc, r.fd).aux.sig), [
      SigVerdict.UNSIGNED,
      SigKeyring.NONE,
      0,
    ]);
  });
});

describe("system keyrings (keyring_id 0, 1, 2)", () => {
  const trust = (w: World, which: "builtin" | "secondary" | "platform") => {
    const k = w.kernel.keyrings.trustSystemCertificate(which, s.certDer);
    assert.ok(!("errno" in k), "certificate placed");
  };
  const verify = (w: World, id: number) => {
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    return signedLoad(w, RET0, [meta], s.sign(RET0, VALUE), id);
  };

  for (const [which, id, type] of [
    ["builtin", 0, SigKeyring.BUILTIN],
    ["secondary", 1, SigKeyring.SECONDARY],
    ["platform", 2, SigKeyring.PLATFORM],
  ] as const) {
    test(`a certificate in the ${which} keyring: keyring_id ${id} → VERIFIED, type ${which}, serial 0`, () => {
      const w = world();
      trust(w, which);
      const r = verify(w, id);
      assert.ok(r.fd >= 0, `errno ${r.errno}\n${r.log}`);
      const sig = progOf(w.proc, r.fd).aux.sig;
      assert.deepEqual(
        [sig.verdict, sig.keyring_type, sig.keyring_serial],
        [SigVerdict.VERIFIED, type, 0],
      );
    });
  }

  test("id 1 also searches builtin (linked into secondary); id 0 does not search secondary", () => {
    const w = world();
    trust(w, "builtin");
    assert.ok(verify(w, 1).fd >= 0);
    const w2 = world();
    trust(w2, "secondary");
    assert.equal(verify(w2, 0).errno, Errno.ENOKEY);
    assert.equal(verify(w2, 2).errno, Errno.ENOKEY);
  });

  test("a certificate only in the session keyring does not make id 0 verify", () => {
    const w = world();
    trustInSession(w.bpf, s);
    assert.equal(verify(w, 0).errno, Errno.ENOKEY);
  });

  test("no platform keyring → id 2 resolves but verification is ENOKEY", () => {
    const w = world({ platformKeyring: false });
    const placed = w.kernel.keyrings.trustSystemCertificate("platform", s.certDer);
    assert.ok("errno" in placed && placed.errno === Errno.ENOKEY);
    trust(w, "builtin");
    const r = verify(w, 2);
    assert.equal(r.errno, Errno.ENOKEY);
    assert.doesNotMatch(r.log, /cannot resolve/);
  });

  test("no secondary keyring → id 1 searches builtin and records SECONDARY", () => {
    const w = world({ secondaryKeyring: false });
    trust(w, "builtin");
    const r = verify(w, 1);
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
    assert.equal(progOf(w.proc, r.fd).aux.sig.keyring_type, SigKeyring.SECONDARY);
  });
});

describe("the signature step and the rest of bpf_check()", () => {
  test("a loader referencing its own metadata through MAP_IDX_VALUE verifies and loads", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const code = insns(ldMapIdxValue(1, 0, 8), mov64Imm(0, 0), exit());
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(code) });
    const r = signedLoad(w, code, [meta], s.sign(code, VALUE), KeySpec.SESSION_KEYRING);
    assert.ok(r.fd >= 0, `errno ${r.errno}\n${r.log}`);
    assert.deepEqual(w.bpf.progInfo(r.fd).map_id_list, [w.bpf.mapInfo(meta).id]);
  });

  test("a verified signature does not excuse a structural error later", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const code = insns(mov64Imm(0, 0), mov64Imm(0, 0), exit(), mov64Imm(0, 1));
    const r = signedLoad(w, code, [], s.sign(code), KeySpec.SESSION_KEYRING);
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /signature verification passed\n[\s\S]*last insn is not an exit or jmp/);
  });

  test("map values folded are the frozen contents at load time", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const m = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
      excl_prog_hash: sha256(RET0),
    });
    w.bpf.mapUpdate(m, u32(0), new Uint8Array(8).fill(1));
    w.bpf.mapUpdate(m, u32(0), new Uint8Array(8).fill(2));
    w.bpf.mapFreeze(m);
    assert.ok(
      signedLoad(w, RET0, [m], s.sign(RET0, new Uint8Array(8).fill(2)), KeySpec.SESSION_KEYRING)
        .fd >= 0,
    );
    assert.equal(
      signedLoad(w, RET0, [m], s.sign(RET0, new Uint8Array(8).fill(1)), KeySpec.SESSION_KEYRING)
        .errno,
      Errno.EKEYREJECTED,
    );
  });
});
