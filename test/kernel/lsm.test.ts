/**
 * LSM hooks of the model (kernel-semantics §1.5; patch 1/5 moves security_bpf_prog_load() into
 * bpf_check() after the signature step; design doc "Enforcement via LSMs"): call order and
 * first-error-wins, what each hook sees and when it runs in each profile, vetoes, and the
 * design doc's two example policies.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ldMapFd } from "../../src/insn/index.js";
import type { LsmModule } from "../../src/kernel/lsm.js";
import type { ProfileName } from "../../src/kernel/profile.js";
import type { BpfProg } from "../../src/kernel/prog.js";
import { sysBpf } from "../../src/kernel/syscall.js";
import {
  BpfCmd,
  KeySpec,
  MapType,
  ProgType,
  SigKeyring,
  SigVerdict,
} from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { encode, MapCreateAttr, ProgLoadAttr } from "../../src/uapi/layout.js";
import { AdmissionPolicy, FirstSightingObserver } from "./policies.js";
import {
  errnoOf,
  insns,
  load,
  metaMap,
  progOf,
  RET0,
  rawInsn,
  sha256,
  signer,
  socketFilter,
  sys,
  syscallProg,
  trustInSession,
  u32,
  type World,
  world,
} from "./support.js";

const ARRAY = { map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 1 };
const JUNK = new Uint8Array([0x30, 0x42, 0x13, 0x37, ...new Uint8Array(60)]);
const VALUE = new Uint8Array(32).fill(0x5a);
const s = signer();

/** Records every hook call as a string, optionally answering some hooks with an errno. */
function recorder(name: string, calls: string[], answers: Partial<Record<string, number>> = {}) {
  const m: LsmModule = {
    name,
    bpf(cmd) {
      calls.push(`${name}:bpf(${cmd})`);
      return answers.bpf ?? 0;
    },
    bpf_prog_load(prog) {
      calls.push(`${name}:bpf_prog_load(${prog.aux.sig.verdict})`);
      return answers.bpf_prog_load ?? 0;
    },
    bpf_prog(prog) {
      calls.push(`${name}:bpf_prog(${prog.aux.id})`);
      return answers.bpf_prog ?? 0;
    },
    bpf_prog_free(prog) {
      calls.push(`${name}:bpf_prog_free(${prog.aux.id})`);
    },
    bpf_map_create() {
      calls.push(`${name}:bpf_map_create`);
      return answers.bpf_map_create ?? 0;
    },
  };
  return m;
}

describe("call order and first error wins", () => {
  test("modules run in registration order; the first non-zero return stops the chain", () => {
    const w = world();
    const calls: string[] = [];
    w.kernel.lsm.register(recorder("a", calls));
    w.kernel.lsm.register(recorder("b", calls, { bpf_map_create: -Errno.EACCES }));
    w.kernel.lsm.register(recorder("c", calls));
    assert.equal(
      errnoOf(() => w.bpf.mapCreate(ARRAY)),
      Errno.EACCES,
    );
    assert.deepEqual(calls, [
      "a:bpf(0)",
      "b:bpf(0)",
      "c:bpf(0)",
      "a:bpf_map_create",
      "b:bpf_map_create",
    ]);
    assert.equal(w.kernel.maps.size, 0);
    assert.deepEqual(w.proc.bpfFds(), []);
  });

  test("void hooks (bpf_prog_free) run for every module", () => {
    const w = world();
    const calls: string[] = [];
    w.kernel.lsm.register(recorder("a", calls));
    w.kernel.lsm.register(recorder("b", calls));
    const { fd } = w.bpf.progLoad(socketFilter(RET0));
    calls.length = 0;
    w.bpf.close(fd);
    assert.deepEqual(calls, ["a:bpf_prog_free(0)", "b:bpf_prog_free(0)"]);
  });

  test("register() returns an unregister function", () => {
    const w = world();
    const calls: string[] = [];
    const off = w.kernel.lsm.register(recorder("a", calls, { bpf: -Errno.EPERM }));
    assert.equal(
      errnoOf(() => w.bpf.mapCreate(ARRAY)),
      Errno.EPERM,
    );
    off();
    w.bpf.mapCreate(ARRAY);
    assert.equal(calls.length, 1);
  });
});

describe("security_bpf(): every command", () => {
  test("sees each command, its size, and the attr as copied in", () => {
    const w = world();
    const seen: [number, number, Uint8Array][] = [];
    w.kernel.lsm.register({
      name: "spy",
      bpf(cmd, attr, size) {
        seen.push([cmd, size, attr.slice()]);
        return 0;
      },
    });
    const m = w.bpf.mapCreate({ ...ARRAY, map_name: "seen" });
    w.bpf.mapUpdate(m, u32(0), new Uint8Array(8));
    w.bpf.mapLookup(m, u32(0), 8);
    w.bpf.mapFreeze(m);
    const { fd } = w.bpf.progLoad(socketFilter(RET0));
    const id = w.bpf.progInfo(fd).id;
    w.bpf.progGetFdById(id);
    assert.deepEqual(
      seen.map(([c]) => c),
      [
        BpfCmd.MAP_CREATE,
        BpfCmd.MAP_UPDATE_ELEM,
        BpfCmd.MAP_LOOKUP_ELEM,
        BpfCmd.MAP_FREEZE,
        BpfCmd.PROG_LOAD,
        BpfCmd.OBJ_GET_INFO_BY_FD,
        BpfCmd.PROG_GET_FD_BY_ID,
      ],
    );
    assert.equal(seen[0][1], 92, "offsetofend(excl_prog_hash_size)");
    assert.equal(seen[0][2].length, 168, "the attr is the kernel's zero-extended copy");
    assert.deepEqual(seen[0][2].subarray(28, 33), new TextEncoder().encode("seen\0"));
    assert.equal(seen[4][1], 168);
  });

  test("a denial wins over CHECK_ATTR and the command itself; size > PAGE_SIZE does not reach it", () => {
    const w = world();
    const cmds: number[] = [];
    w.kernel.lsm.register({
      name: "deny-create",
      bpf(cmd) {
        cmds.push(cmd);
        return cmd === BpfCmd.MAP_CREATE ? -Errno.EACCES : 0;
      },
    });
    const bad = new Uint8Array(168);
    bad[100] = 1; // CHECK_ATTR would say EINVAL
    assert.equal(w.proc.bpf(BpfCmd.MAP_CREATE, bad, 168), -Errno.EACCES);
    // map_fd 0 is stdin: an open fd that is no map
    assert.equal(w.proc.bpf(BpfCmd.MAP_FREEZE, new Uint8Array(168), 168), -Errno.EINVAL);
    assert.equal(w.proc.bpf(BpfCmd.MAP_CREATE, new Uint8Array(4097), 4097), -Errno.E2BIG);
    assert.deepEqual(cmds, [BpfCmd.MAP_CREATE, BpfCmd.MAP_FREEZE]);
  });
});

describe("security_bpf_prog_load(): admission", () => {
  test("a denial returns its errno; the program is freed through bpf_prog_free", () => {
    const w = world();
    const calls: string[] = [];
    w.kernel.lsm.register(recorder("deny", calls, { bpf_prog_load: -Errno.ENOKEY }));
    const r = load(w.bpf, socketFilter(RET0));
    assert.equal(r.errno, Errno.ENOKEY);
    assert.deepEqual(
      calls.filter((c) => !c.includes(":bpf(")),
      ["deny:bpf_prog_load(0)", "deny:bpf_prog_free(0)"],
    );
    assert.equal(w.kernel.progs.size, 0);
  });

  test("v2: runs after the signature step — a bad signature never reaches it", () => {
    const w = world();
    const calls: string[] = [];
    w.kernel.lsm.register(recorder("spy", calls));
    const r = load(
      w.bpf,
      syscallProg(RET0, { signature: JUNK, keyring_id: KeySpec.SESSION_KEYRING }),
    );
    assert.equal(r.errno, Errno.EBADMSG);
    assert.ok(!calls.some((c) => c.includes("bpf_prog_load")), calls.join());
    assert.ok(
      calls.includes("spy:bpf_prog_free(0)"),
      "bpf_check's failure path frees through the hook",
    );
  });

  test("v2: a valid signature is VERIFIED when admission sees it, and a denial still wins", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const seen: number[] = [];
    w.kernel.lsm.register({
      name: "deny-verified",
      bpf_prog_load(prog) {
        seen.push(prog.aux.sig.verdict);
        return -Errno.EPERM;
      },
    });
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    const r = load(
      w.bpf,
      syscallProg(RET0, {
        fd_array: [meta],
        fd_array_cnt: 1,
        signature: s.sign(RET0, VALUE),
        keyring_id: KeySpec.SESSION_KEYRING,
      }),
    );
    assert.equal(r.errno, Errno.EPERM);
    assert.deepEqual(seen, [SigVerdict.VERIFIED]);
  });

  test("v2: runs after fd_array resolution and before the instruction checks", () => {
    const w = world();
    const calls: string[] = [];
    w.kernel.lsm.register(recorder("spy", calls));
    assert.equal(
      load(w.bpf, socketFilter(RET0, { fd_array: [99], fd_array_cnt: 1 })).errno,
      Errno.EBADF,
    );
    assert.ok(!calls.some((c) => c.includes("bpf_prog_load")), "fd_array failed first");
    calls.length = 0;
    assert.equal(
      load(w.bpf, socketFilter(insns(rawInsn(0xff, 0, 0, 0, 0), RET0))).errno,
      Errno.EINVAL,
    );
    assert.ok(calls.includes("spy:bpf_prog_load(0)"), "admission ran before the opcode check");
  });

  test("mainline-6.18: runs in bpf_prog_load() before bpf_check(), after the signature check", () => {
    const w = world({ profile: "mainline-6.18" });
    const calls: string[] = [];
    w.kernel.lsm.register(recorder("spy", calls));
    assert.equal(
      load(w.bpf, socketFilter(RET0, { fd_array: [99], fd_array_cnt: 1 })).errno,
      Errno.EBADF,
    );
    assert.ok(calls.includes("spy:bpf_prog_load(0)"), "admission ran before fd_array resolution");
    calls.length = 0;
    const r = load(
      w.bpf,
      syscallProg(RET0, { signature: JUNK, keyring_id: KeySpec.SESSION_KEYRING }),
    );
    assert.equal(r.errno, Errno.EOPNOTSUPP);
    assert.ok(
      !calls.some((c) => c.includes("bpf_prog_load") || c.includes("bpf_prog_free")),
      calls.join(),
    );
  });

  for (const profile of ["v2", "mainline-6.18"] as ProfileName[]) {
    test(`${profile}: loads that fail before admission's place (bad prog_name) call no prog hook`, () => {
      const w = world({ profile });
      const calls: string[] = [];
      w.kernel.lsm.register(recorder("spy", calls));
      assert.equal(load(w.bpf, socketFilter(RET0, { prog_name: "a b" })).errno, Errno.EINVAL);
      assert.deepEqual(calls, ["spy:bpf(5)"]);
    });
  }

  test("admission allows, the coverage check still rejects (EACCES), no fd is minted", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const calls: string[] = [];
    w.kernel.lsm.register(recorder("spy", calls));
    const extra = w.bpf.mapCreate(ARRAY);
    const code = insns(ldMapFd(1, extra), RET0);
    const r = load(
      w.bpf,
      syscallProg(code, { signature: s.sign(code), keyring_id: KeySpec.SESSION_KEYRING }),
    );
    assert.equal(r.errno, Errno.EACCES);
    assert.ok(calls.includes(`spy:bpf_prog_load(${SigVerdict.VERIFIED})`));
    assert.ok(!calls.some((c) => c.startsWith("spy:bpf_prog(")));
  });
});

describe("security_bpf_prog(): every minted fd", () => {
  test("fires on load (with the id) and again on each PROG_GET_FD_BY_ID", () => {
    const w = world();
    const ids: number[] = [];
    w.kernel.lsm.register({
      name: "ids",
      bpf_prog(p) {
        ids.push(p.aux.id);
        return 0;
      },
    });
    const { fd } = w.bpf.progLoad(socketFilter(RET0));
    const id = w.bpf.progInfo(fd).id;
    w.bpf.progGetFdById(id);
    w.bpf.progGetFdById(id);
    assert.deepEqual(ids, [id, id, id]);
    assert.ok(id > 0);
  });

  test("a veto on load: no fd, the id is released and the program freed", () => {
    const w = world();
    const freed: number[] = [];
    let loadId = 0;
    w.kernel.lsm.register({
      name: "veto",
      bpf_prog(p) {
        loadId = p.aux.id;
        return -Errno.EACCES;
      },
      bpf_prog_free: (p) => void freed.push(p.aux.id),
    });
    const r = load(w.bpf, socketFilter(RET0));
    assert.equal(r.errno, Errno.EACCES);
    assert.ok(loadId > 0, "the id existed when the hook ran");
    assert.deepEqual(freed, [0]);
    assert.equal(w.kernel.progs.size, 0);
    assert.deepEqual(w.proc.bpfFds(), []);
  });

  test("a veto on PROG_GET_FD_BY_ID: no new fd, the program lives on", () => {
    const w = world();
    let deny = false;
    w.kernel.lsm.register({ name: "veto", bpf_prog: () => (deny ? -Errno.EPERM : 0) });
    const { fd } = w.bpf.progLoad(socketFilter(RET0));
    const id = w.bpf.progInfo(fd).id;
    const p = progOf(w.proc, fd);
    deny = true;
    assert.equal(
      errnoOf(() => w.bpf.progGetFdById(id)),
      Errno.EPERM,
    );
    assert.deepEqual(w.proc.bpfFds(), [fd]);
    assert.equal(p.refcnt, 1);
    assert.equal(w.bpf.progInfo(fd).id, id);
  });
});

describe("security_bpf_prog_free()", () => {
  test("runs once, when the last reference goes, and sees aux.id === 0", () => {
    const w = world();
    const seen: [number, number][] = [];
    w.kernel.lsm.register({
      name: "free",
      bpf_prog_free: (p: BpfProg) => void seen.push([p.aux.id, p.aux.used_maps.length]),
    });
    const m = w.bpf.mapCreate(ARRAY);
    const { fd } = w.bpf.progLoad(socketFilter(insns(ldMapFd(1, m), RET0)));
    const fd2 = w.bpf.progGetFdById(w.bpf.progInfo(fd).id);
    w.bpf.close(fd);
    assert.deepEqual(seen, []);
    w.bpf.close(fd2);
    assert.deepEqual(seen, [[0, 1]], "id already cleared, maps still attached");
  });

  test("process exit closes the fds and frees the programs", () => {
    const w = world();
    let freed = 0;
    w.kernel.lsm.register({ name: "free", bpf_prog_free: () => void freed++ });
    w.bpf.progLoad(socketFilter(RET0));
    w.bpf.progLoad(socketFilter(RET0));
    w.proc.exit();
    assert.equal(freed, 2);
    assert.equal(w.kernel.progs.size, 0);
  });
});

describe("design doc policy (a): admission with a user-keyring allowlist and an audit record", () => {
  const setup = () => {
    const w = world();
    const policy = new AdmissionPolicy();
    w.kernel.lsm.register(policy);
    return { w, policy };
  };
  const signedLoad = (w: World, id: number) => {
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    return load(
      w.bpf,
      syscallProg(RET0, {
        fd_array: [meta],
        fd_array_cnt: 1,
        signature: s.sign(RET0, VALUE),
        keyring_id: id,
      }),
    );
  };

  test("an unsigned load is denied (EPERM) and audited", () => {
    const { w, policy } = setup();
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, Errno.EPERM);
    assert.deepEqual(policy.audit, [
      {
        prog_type: ProgType.SOCKET_FILTER,
        verdict: SigVerdict.UNSIGNED,
        ktype: SigKeyring.NONE,
        serial: 0,
        ret: -Errno.EPERM,
      },
    ]);
  });

  test("a user keyring that is not allowlisted is denied; once allowlisted, allowed; both audited", () => {
    const { w, policy } = setup();
    trustInSession(w.bpf, s);
    const ses = w.bpf.keyringId(KeySpec.SESSION_KEYRING);
    assert.equal(signedLoad(w, KeySpec.SESSION_KEYRING).errno, Errno.EPERM);
    policy.trustedUserKeys.add(ses);
    const ok = signedLoad(w, KeySpec.SESSION_KEYRING);
    assert.ok(ok.fd >= 0, `errno ${ok.errno}`);
    assert.deepEqual(policy.audit, [
      {
        prog_type: ProgType.SYSCALL,
        verdict: SigVerdict.VERIFIED,
        ktype: SigKeyring.USER,
        serial: ses,
        ret: -Errno.EPERM,
      },
      {
        prog_type: ProgType.SYSCALL,
        verdict: SigVerdict.VERIFIED,
        ktype: SigKeyring.USER,
        serial: ses,
        ret: 0,
      },
    ]);
  });

  test("the allowlist holds serials of what keyring_id named, not of the signing key", () => {
    const { w, policy } = setup();
    const keySerial = trustInSession(w.bpf, s);
    policy.trustedUserKeys.add(keySerial);
    assert.equal(signedLoad(w, KeySpec.SESSION_KEYRING).errno, Errno.EPERM);
  });

  test("a system keyring signature is allowed without the allowlist", () => {
    const { w, policy } = setup();
    w.kernel.keyrings.trustSystemCertificate("builtin", s.certDer);
    const r = signedLoad(w, 0);
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
    assert.deepEqual(
      policy.audit.map((d) => [d.ktype, d.serial, d.ret]),
      [[SigKeyring.BUILTIN, 0, 0]],
    );
  });

  test("a failed signature never reaches admission: no audit record", () => {
    const { w, policy } = setup();
    assert.equal(signedLoad(w, KeySpec.SESSION_KEYRING).errno, Errno.ENOKEY);
    assert.deepEqual(policy.audit, []);
  });

  test("in-kernel loads (bpf_sys_bpf) are trusted and not audited", () => {
    const { w, policy } = setup();
    const kctx = {
      kernel: w.kernel,
      proc: w.proc,
      uaccess: { ...w.proc.uaccess, is_kernel: true },
    };
    const attr = encode(
      ProgLoadAttr,
      {
        prog_type: ProgType.SOCKET_FILTER,
        insn_cnt: 2,
        insns: w.proc.memory.alloc(RET0),
        license: w.proc.memory.alloc(new TextEncoder().encode("GPL\0")),
      },
      168,
    );
    const fd = sysBpf(kctx, BpfCmd.PROG_LOAD, attr, 168);
    assert.ok(fd >= 3, `errno ${-fd}`);
    assert.deepEqual(policy.audit, []);
    // the same attr from user space is denied
    assert.equal(w.proc.bpf(BpfCmd.PROG_LOAD, attr, 168), -Errno.EPERM);
    assert.equal(policy.audit.length, 1);
  });

  test("the kernel flag reaches bpf and bpf_map_create hooks too", () => {
    const w = world();
    const flags: boolean[] = [];
    w.kernel.lsm.register({
      name: "k",
      bpf(_c, _a, _s, kernel) {
        flags.push(kernel);
        return 0;
      },
      bpf_map_create(_m, kernel) {
        flags.push(kernel);
        return 0;
      },
    });
    const kctx = {
      kernel: w.kernel,
      proc: w.proc,
      uaccess: { ...w.proc.uaccess, is_kernel: true },
    };
    assert.ok(sysBpf(kctx, BpfCmd.MAP_CREATE, encode(MapCreateAttr, ARRAY, 168), 96) >= 3);
    assert.ok(sys(w.proc, BpfCmd.MAP_CREATE, MapCreateAttr, ARRAY, 96).ret >= 3);
    assert.deepEqual(flags, [true, true, false, false]);
  });
});

describe("design doc policy (b): first sighting of a verified program", () => {
  const setup = () => {
    const w = world();
    const obs = new FirstSightingObserver();
    w.kernel.lsm.register(obs);
    trustInSession(w.bpf, s);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    const sig = s.sign(RET0, VALUE);
    const signedLoad = () =>
      w.bpf.progLoad(
        syscallProg(RET0, {
          fd_array: [meta],
          fd_array_cnt: 1,
          signature: sig,
          keyring_id: KeySpec.SESSION_KEYRING,
        }),
      );
    return { w, obs, signedLoad };
  };

  test("a load is recorded once with its id; later fds by id are not loads", () => {
    const { w, obs, signedLoad } = setup();
    const { fd } = signedLoad();
    const id = w.bpf.progInfo(fd).id;
    const ses = w.bpf.keyringId(KeySpec.SESSION_KEYRING);
    assert.deepEqual(obs.loads, [{ id, ktype: SigKeyring.USER, serial: ses }]);
    w.bpf.progGetFdById(id);
    w.bpf.progGetFdById(id);
    assert.equal(obs.loads.length, 1);
    assert.equal(obs.live.size, 1);
  });

  test("bpf_prog_free removes the entry (the id is 0 by then); a reload counts as a new load", () => {
    const { w, obs, signedLoad } = setup();
    const first = signedLoad();
    const id1 = w.bpf.progInfo(first.fd).id;
    const extra = w.bpf.progGetFdById(id1);
    w.bpf.close(first.fd);
    assert.equal(obs.live.size, 1, "one fd still open");
    w.bpf.close(extra);
    assert.equal(obs.live.size, 0);
    assert.deepEqual(obs.freedIds, [0]);
    const second = signedLoad();
    const id2 = w.bpf.progInfo(second.fd).id;
    assert.notEqual(id2, id1);
    assert.deepEqual(
      obs.loads.map((r) => r.id),
      [id1, id2],
    );
  });

  test("unsigned programs and failed loads are never recorded", () => {
    const { w, obs } = setup();
    const { fd } = w.bpf.progLoad(socketFilter(RET0));
    w.bpf.progGetFdById(w.bpf.progInfo(fd).id);
    const bad = load(
      w.bpf,
      syscallProg(RET0, { signature: JUNK, keyring_id: KeySpec.SESSION_KEYRING }),
    );
    assert.equal(bad.errno, Errno.EBADMSG);
    assert.deepEqual(obs.loads, []);
    assert.equal(obs.live.size, 0);
  });
});
