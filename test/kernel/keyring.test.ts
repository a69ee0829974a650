/**
 * Keys and keyrings (kernel-semantics §7): add_key errnos, KEYCTL_GET_KEYRING_ID with and
 * without create, serials, link/unlink, revocation and permissions as keyctl sees them, and the
 * recursive asymmetric-key search that trust validation uses.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeyPerm } from "../../src/kernel/keyring.js";
import { KeyctlOp, KeySpec } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { signer, world } from "./support.js";

const s = signer();

describe("add_key", () => {
  test("an unknown key type → ENODEV; a type starting with '.' → EPERM", () => {
    const { proc } = world();
    assert.equal(
      proc.addKey("no_such_type", "d", new Uint8Array([1]), KeySpec.SESSION_KEYRING),
      -Errno.ENODEV,
    );
    assert.equal(proc.addKey(".keyring", "d", null, KeySpec.SESSION_KEYRING), -Errno.EPERM);
  });

  test("a keyring whose description starts with '.' → EPERM; other types may", () => {
    const { proc } = world();
    assert.equal(proc.addKey("keyring", ".x", null, KeySpec.SESSION_KEYRING), -Errno.EPERM);
    assert.equal(
      proc.addKey("keyring", ".builtin_trusted_keys", null, KeySpec.SESSION_KEYRING),
      -Errno.EPERM,
    );
    assert.ok(proc.addKey("user", ".x", new Uint8Array([1]), KeySpec.SESSION_KEYRING) > 0);
  });

  test("asymmetric with a payload that is not X.509 → the parser's errno (EBADMSG)", () => {
    const { proc } = world();
    assert.equal(
      proc.addKey("asymmetric", "junk", new Uint8Array([1, 2, 3, 4]), KeySpec.SESSION_KEYRING),
      -Errno.EBADMSG,
    );
    const truncated = s.certDer.subarray(0, s.certDer.length - 10);
    assert.equal(
      proc.addKey("asymmetric", "cut", truncated, KeySpec.SESSION_KEYRING),
      -Errno.EBADMSG,
    );
    assert.equal(proc.addKey("asymmetric", "none", null, KeySpec.SESSION_KEYRING), -Errno.EINVAL);
  });

  test("asymmetric with a certificate takes the subject: skid description when none is given", () => {
    const { proc, kernel } = world();
    const serial = proc.addKey("asymmetric", "", s.certDer, KeySpec.SESSION_KEYRING);
    assert.ok(serial > 0);
    const key = kernel.keyrings.get(serial);
    assert.ok(key?.asym);
    assert.match(key.description, /^eBPF Signature Verification Testing Key: [0-9a-f]{40}$/);
  });

  test("into a key that is not a keyring → ENOTDIR; into a missing serial → ENOKEY", () => {
    const { proc } = world();
    const user = proc.addKey("user", "u", new Uint8Array([1]), KeySpec.SESSION_KEYRING);
    assert.equal(proc.addKey("user", "v", new Uint8Array([1]), user), -Errno.ENOTDIR);
    const cert = proc.addKey("asymmetric", "c", s.certDer, KeySpec.SESSION_KEYRING);
    assert.equal(proc.addKey("asymmetric", "d", s.certDer, cert), -Errno.ENOTDIR);
    assert.equal(proc.addKey("user", "v", new Uint8Array([1]), 0x7ffffff0), -Errno.ENOKEY);
    assert.equal(proc.addKey("user", "v", new Uint8Array([1]), 0), -Errno.EINVAL);
  });

  test("into a system keyring → EACCES (no write permission)", () => {
    const { proc, kernel } = world();
    assert.equal(
      proc.addKey("asymmetric", "c", s.certDer, kernel.keyrings.builtin.serial),
      -Errno.EACCES,
    );
    assert.equal(kernel.keyrings.builtin.keys.length, 0);
  });

  test("payload rules: keyring with a payload, user without one or too large → EINVAL", () => {
    const { proc } = world();
    assert.equal(
      proc.addKey("keyring", "k", new Uint8Array([1]), KeySpec.SESSION_KEYRING),
      -Errno.EINVAL,
    );
    assert.equal(proc.addKey("keyring", "", null, KeySpec.SESSION_KEYRING), -Errno.EINVAL);
    assert.equal(proc.addKey("user", "u", null, KeySpec.SESSION_KEYRING), -Errno.EINVAL);
    assert.equal(
      proc.addKey("user", "u", new Uint8Array(32768), KeySpec.SESSION_KEYRING),
      -Errno.EINVAL,
    );
    assert.ok(proc.addKey("user", "u", new Uint8Array(32767), KeySpec.SESSION_KEYRING) > 0);
  });

  test("the same type and description updates in place (same serial); keyrings do not", () => {
    const { proc, kernel } = world();
    const a = proc.addKey("user", "u", new Uint8Array([1]), KeySpec.SESSION_KEYRING);
    const b = proc.addKey("user", "u", new Uint8Array([2]), KeySpec.SESSION_KEYRING);
    assert.equal(a, b);
    assert.deepEqual(kernel.keyrings.get(a)?.payload, new Uint8Array([2]));
    const r1 = proc.addKey("keyring", "r", null, KeySpec.SESSION_KEYRING);
    const r2 = proc.addKey("keyring", "r", null, KeySpec.SESSION_KEYRING);
    assert.notEqual(r1, r2);
  });

  test("add_key creates the thread and process keyrings on demand (KEY_LOOKUP_CREATE)", () => {
    const { proc, bpf } = world();
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.THREAD_KEYRING, 0), -Errno.ENOKEY);
    const k = proc.addKey("user", "u", new Uint8Array([1]), KeySpec.THREAD_KEYRING);
    assert.ok(k > 0);
    const thread = bpf.keyringId(KeySpec.THREAD_KEYRING);
    assert.ok(thread > 0);
  });
});

describe("KEYCTL_GET_KEYRING_ID and serials", () => {
  test("-1 and -2 without create → ENOKEY; with create → a keyring, the same one next time", () => {
    const { proc } = world();
    for (const id of [KeySpec.THREAD_KEYRING, KeySpec.PROCESS_KEYRING]) {
      assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, id, 0), -Errno.ENOKEY);
      const a = proc.keyctl(KeyctlOp.GET_KEYRING_ID, id, 1);
      assert.ok(a > 0);
      assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, id, 0), a);
      assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, id, 1), a);
    }
  });

  test("-3, -4, -5 always resolve; -6 → EINVAL; -7, -8 → ENOKEY; 0 and INT_MIN → EINVAL", () => {
    const { proc } = world();
    for (const id of [
      KeySpec.SESSION_KEYRING,
      KeySpec.USER_KEYRING,
      KeySpec.USER_SESSION_KEYRING,
    ]) {
      assert.ok(proc.keyctl(KeyctlOp.GET_KEYRING_ID, id, 0) > 0, `${id}`);
    }
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.GROUP_KEYRING, 0), -Errno.EINVAL);
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.REQKEY_AUTH_KEY, 0), -Errno.ENOKEY);
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.REQUESTOR_KEYRING, 0), -Errno.ENOKEY);
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, 0, 0), -Errno.EINVAL);
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, -0x80000000, 0), -Errno.EINVAL);
  });

  test("processes share the user keyrings but not thread/process keyrings; a session is per process", () => {
    const { kernel, proc } = world();
    const other = kernel.spawn();
    const user = (p: typeof proc) => p.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.USER_KEYRING, 0);
    assert.equal(user(proc), user(other));
    const t1 = proc.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.THREAD_KEYRING, 1);
    assert.equal(other.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.THREAD_KEYRING, 0), -Errno.ENOKEY);
    assert.ok(t1 > 0);
    const ses = (p: typeof proc) => p.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.SESSION_KEYRING, 0);
    assert.notEqual(ses(proc), ses(other));
  });

  test("joining a new session keyring changes what -3 names", () => {
    const { proc } = world();
    const before = proc.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.SESSION_KEYRING, 0);
    const joined = proc.joinSessionKeyring("fresh");
    assert.ok(joined > 0 && joined !== before);
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, KeySpec.SESSION_KEYRING, 0), joined);
  });

  test("serials are positive, 31-bit, at least 3 and unique", () => {
    const { proc, kernel } = world();
    const serials = new Set<number>([
      kernel.keyrings.builtin.serial,
      kernel.keyrings.secondary?.serial ?? 0,
      kernel.keyrings.platform?.serial ?? 0,
      kernel.keyrings.user.serial,
      kernel.keyrings.userSession.serial,
    ]);
    for (let i = 0; i < 200; i++) {
      const serial = proc.addKey("keyring", `k${i}`, null, KeySpec.SESSION_KEYRING);
      assert.ok(serial >= 3 && serial <= 0x7fffffff, `${serial}`);
      assert.ok(!serials.has(serial), `duplicate ${serial}`);
      serials.add(serial);
    }
  });

  test("the serial sequence is reproducible from the seed", () => {
    const a = world({ seed: 42 });
    const b = world({ seed: 42 });
    const c = world({ seed: 43 });
    const add = (w: ReturnType<typeof world>) =>
      w.proc.addKey("keyring", "k", null, KeySpec.USER_KEYRING);
    assert.equal(add(a), add(b));
    assert.notEqual(add(a), add(c));
  });
});

describe("keyctl operations", () => {
  test("REVOKE makes keyctl lookups fail with EKEYREVOKED", () => {
    const { proc } = world();
    const k = proc.addKey("keyring", "r", null, KeySpec.SESSION_KEYRING);
    assert.equal(proc.keyctl(KeyctlOp.REVOKE, k), 0);
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, k, 0), -Errno.EKEYREVOKED);
    assert.equal(proc.addKey("user", "u", new Uint8Array([1]), k), -Errno.EKEYREVOKED);
  });

  test("SET_TIMEOUT expires a key (EKEYEXPIRED); INVALIDATE → ENOKEY", () => {
    const { proc, kernel } = world();
    let now = 1000;
    kernel.keyrings.now = () => now;
    const k = proc.addKey("keyring", "t", null, KeySpec.SESSION_KEYRING);
    assert.equal(proc.keyctl(KeyctlOp.SET_TIMEOUT, k, 2), 0);
    now += 1999;
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, k, 0), k);
    now += 1;
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, k, 0), -Errno.EKEYEXPIRED);
    const j = proc.addKey("keyring", "i", null, KeySpec.SESSION_KEYRING);
    assert.equal(proc.keyctl(KeyctlOp.INVALIDATE, j), 0);
    assert.equal(proc.keyctl(KeyctlOp.GET_KEYRING_ID, j, 0), -Errno.ENOKEY);
  });

  test("LINK: into a non-keyring → ENOTDIR, a keyring into itself or a cycle → EDEADLK", () => {
    const { proc } = world();
    const a = proc.addKey("keyring", "a", null, KeySpec.SESSION_KEYRING);
    const b = proc.addKey("keyring", "b", null, a);
    const u = proc.addKey("user", "u", new Uint8Array([1]), KeySpec.SESSION_KEYRING);
    assert.equal(proc.keyctl(KeyctlOp.LINK, u, u), -Errno.ENOTDIR);
    assert.equal(proc.keyctl(KeyctlOp.LINK, a, a), -Errno.EDEADLK);
    assert.equal(proc.keyctl(KeyctlOp.LINK, a, b), -Errno.EDEADLK);
    assert.equal(proc.keyctl(KeyctlOp.LINK, u, b), 0);
    assert.equal(proc.keyctl(KeyctlOp.LINK, u, b), 0, "linking twice is fine");
  });

  test("UNLINK of a key that is not linked → ENOENT", () => {
    const { proc } = world();
    const a = proc.addKey("keyring", "a", null, KeySpec.SESSION_KEYRING);
    const u = proc.addKey("user", "u", new Uint8Array([1]), KeySpec.SESSION_KEYRING);
    assert.equal(proc.keyctl(KeyctlOp.UNLINK, u, a), -Errno.ENOENT);
    assert.equal(proc.keyctl(KeyctlOp.LINK, u, a), 0);
    assert.equal(proc.keyctl(KeyctlOp.UNLINK, u, a), 0);
    assert.equal(proc.keyctl(KeyctlOp.UNLINK, u, a), -Errno.ENOENT);
  });

  test("CLEAR empties a keyring; on a non-keyring → ENOTDIR; an unknown op → EOPNOTSUPP", () => {
    const { proc, kernel } = world();
    const a = proc.addKey("keyring", "a", null, KeySpec.SESSION_KEYRING);
    proc.addKey("user", "u", new Uint8Array([1]), a);
    assert.equal(proc.keyctl(KeyctlOp.CLEAR, a), 0);
    assert.equal(kernel.keyrings.get(a)?.keys.length, 0);
    const u = proc.addKey("user", "v", new Uint8Array([1]), KeySpec.SESSION_KEYRING);
    assert.equal(proc.keyctl(KeyctlOp.CLEAR, u), -Errno.ENOTDIR);
    assert.equal(proc.keyctl(KeyctlOp.DESCRIBE, a), -Errno.EOPNOTSUPP);
  });

  test("SETPERM without write takes away add_key and LINK into the keyring (EACCES)", () => {
    const { proc } = world();
    const a = proc.addKey("keyring", "a", null, KeySpec.SESSION_KEYRING);
    const u = proc.addKey("user", "u", new Uint8Array([1]), KeySpec.SESSION_KEYRING);
    assert.equal(proc.keyctl(KeyctlOp.SETPERM, a, 0x3b3b0000), 0);
    assert.equal(proc.addKey("user", "w", new Uint8Array([1]), a), -Errno.EACCES);
    assert.equal(proc.keyctl(KeyctlOp.LINK, u, a), -Errno.EACCES);
  });
});

describe("the asymmetric key search (keyring_search as find_asymmetric_key uses it)", () => {
  const setup = () => {
    const w = world();
    const ks = w.kernel.keyrings;
    const key = ks.get(w.proc.addKey("asymmetric", "k", s.certDer, KeySpec.USER_KEYRING));
    assert.ok(key?.asym);
    return { w, ks, id: key.asym.ids[0], skid: key.asym.ids[1] as Uint8Array };
  };

  test("matches id[0] (serial ‖ issuer) or id[1] (skid) exactly, not a prefix", () => {
    const { ks, id, skid } = setup();
    assert.ok(ks.searchAsymmetric(ks.user, id));
    assert.ok(ks.searchAsymmetric(ks.user, skid));
    assert.equal(ks.searchAsymmetric(ks.user, skid.subarray(0, 19)), null);
    assert.equal(ks.searchAsymmetric(ks.user, new Uint8Array(20)), null);
  });

  test("a non-keyring start, or one that may not be searched, finds nothing", () => {
    const { w, ks, skid } = setup();
    const k = ks.user.keys[0];
    assert.equal(ks.searchAsymmetric(k, skid), null);
    w.proc.keyctl(KeyctlOp.SETPERM, ks.user.serial, KeyPerm.POS_ALL & ~(KeyPerm.SEARCH << 24));
    assert.equal(ks.searchAsymmetric(ks.user, skid), null);
  });

  test("nested keyrings are searched up to six levels deep", () => {
    const w = world();
    const ks = w.kernel.keyrings;
    const chain = [w.proc.addKey("keyring", "l1", null, KeySpec.SESSION_KEYRING)];
    for (let i = 2; i <= 7; i++)
      chain.push(w.proc.addKey("keyring", `l${i}`, null, chain[chain.length - 1]));
    const skidAt = (depth: number) => {
      const serial = w.proc.addKey("asymmetric", `k${depth}`, s.certDer, chain[depth - 1]);
      return ks.get(serial)?.asym?.ids[1] as Uint8Array;
    };
    const skid = skidAt(7);
    assert.equal(ks.searchAsymmetric(ks.get(chain[0])!, skid), null, "seven levels: too deep");
    assert.ok(ks.searchAsymmetric(ks.get(chain[1])!, skid), "six levels from l2");
  });

  test("revoked keys and revoked nested keyrings are skipped", () => {
    const w = world();
    const ks = w.kernel.keyrings;
    const outer = w.proc.addKey("keyring", "o", null, KeySpec.SESSION_KEYRING);
    const inner = w.proc.addKey("keyring", "i", null, outer);
    const k = w.proc.addKey("asymmetric", "k", s.certDer, inner);
    const skid = ks.get(k)?.asym?.ids[1] as Uint8Array;
    assert.ok(ks.searchAsymmetric(ks.get(outer)!, skid));
    w.proc.keyctl(KeyctlOp.REVOKE, inner);
    assert.equal(ks.searchAsymmetric(ks.get(outer)!, skid), null);
  });

  test("trustSystemCertificate: refuses garbage with the X.509 errno, and a missing keyring", () => {
    const w = world({ secondaryKeyring: false });
    const r = w.kernel.keyrings.trustSystemCertificate("builtin", new Uint8Array([1, 2, 3]));
    assert.ok("errno" in r && r.errno === Errno.EBADMSG);
    const m = w.kernel.keyrings.trustSystemCertificate("secondary", s.certDer);
    assert.ok("errno" in m && m.errno === Errno.ENOKEY);
    assert.equal(w.kernel.keyrings.secondary, null);
  });
});
