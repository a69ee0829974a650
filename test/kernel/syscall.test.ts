/**
 * __sys_bpf() and the commands of syscall.c: attr size rules, CHECK_ATTR, BPF_MAP_CREATE's
 * exclusive-hash and name checks, privilege checks, ids and *_GET_FD_BY_ID, and the
 * prog-load checks that run before bpf_check() (kernel-semantics §1, §3.1; real-kernel §3).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bpf } from "../../src/uapi/bpf.js";
import { BpfCmd, MapFlag, MapType, ProgType } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import {
  cString,
  decode,
  GetIdAttr,
  InfoAttr,
  MapCreateAttr,
  MapFreezeAttr,
  ProgLoadAttr,
  TestRunAttr,
} from "../../src/uapi/layout.js";
import {
  closeFds,
  errnoOf,
  insns,
  load,
  RET0,
  rawInsn,
  sha256,
  socketFilter,
  sys,
  u32,
  world,
} from "./support.js";

const ARRAY_SPEC = { map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 1 };

describe("attr size (bpf_check_uarg_tail_zero)", () => {
  test("size > PAGE_SIZE is E2BIG even when every byte is zero", () => {
    const { proc } = world();
    assert.equal(proc.bpf(BpfCmd.MAP_CREATE, new Uint8Array(4097), 4097), -Errno.E2BIG);
  });

  test("size == PAGE_SIZE with an all-zero tail is accepted", () => {
    const { proc, bpf } = world();
    const { ret } = sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, ARRAY_SPEC, 4096);
    assert.ok(ret >= 3, `fd ${ret}`);
    assert.equal(bpf.mapInfo(ret).type, MapType.ARRAY);
  });

  test("a non-zero byte past 168 is E2BIG, wherever it is", () => {
    const { proc } = world();
    for (const at of [168, 200, 4095]) {
      const attr = new Uint8Array(4096);
      attr.set(new Uint8Array(new Uint32Array([MapType.ARRAY, 4, 8, 1]).buffer));
      attr[at] = 1;
      assert.equal(proc.bpf(BpfCmd.MAP_CREATE, attr, 4096), -Errno.E2BIG, `byte ${at}`);
    }
  });

  test("a non-zero byte past `size` is never read", () => {
    const { proc } = world();
    const attr = new Uint8Array(4096);
    attr.set(new Uint8Array(new Uint32Array([MapType.ARRAY, 4, 8, 1]).buffer));
    attr[300] = 1;
    assert.ok(proc.bpf(BpfCmd.MAP_CREATE, attr, 200) >= 3, "size 200: byte 300 unread");
    attr[100] = 1; // inside the copied attr, past MAP_CREATE's last field
    assert.ok(proc.bpf(BpfCmd.MAP_CREATE, attr, 96) >= 3, "size 96: byte 100 unread");
    assert.equal(proc.bpf(BpfCmd.MAP_CREATE, attr, 168), -Errno.EINVAL, "size 168: CHECK_ATTR");
  });

  test("an attr shorter than `size` faults with EFAULT", () => {
    const { proc } = world();
    assert.equal(proc.bpf(BpfCmd.MAP_FREEZE, new Uint8Array(4), 168), -Errno.EFAULT);
  });

  test("a short attr is zero-extended: MAP_CREATE with only the first 16 bytes", () => {
    const { proc, bpf } = world();
    const { ret } = sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, ARRAY_SPEC, 16);
    assert.ok(ret >= 3);
    const info = bpf.mapInfo(ret);
    assert.equal(info.map_flags, 0);
    assert.equal(info.name, "");
    assert.equal(info.max_entries, 1);
  });

  test("a short PROG_LOAD attr (before prog_name) loads an unnamed program", () => {
    const { bpf } = world();
    const r = bpf.progLoad({ ...socketFilter(RET0), prog_name: "ignored", attr_size: 48 });
    assert.equal(bpf.progInfo(r.fd).name, "", "prog_name lies past the 48 bytes passed");
    closeFds(bpf, r.fd);
  });

  test("log_true_size is written back only when the attr reaches it (size >= 144)", () => {
    const { bpf } = world();
    const full = bpf.progLoad({ ...socketFilter(RET0), log_size: 4096, attr_size: 144 });
    assert.ok(full.log_true_size > 1);
    assert.equal(full.log_true_size, Buffer.byteLength(full.log) + 1);
    const short = bpf.progLoad({ ...socketFilter(RET0), log_size: 4096, attr_size: 140 });
    assert.equal(short.log_true_size, 0);
    assert.equal(short.log, full.log, "the log itself is still written");
    closeFds(bpf, full.fd, short.fd);
  });

  test("an unknown command is EINVAL", () => {
    const { proc } = world();
    assert.equal(proc.bpf(999, new Uint8Array(168), 168), -Errno.EINVAL);
    assert.equal(proc.bpf(BpfCmd.OBJ_PIN, new Uint8Array(168), 168), -Errno.EINVAL);
  });
});

describe("CHECK_ATTR: bytes past a command's last field", () => {
  const cases: [string, number, number][] = [
    ["MAP_FREEZE byte 4", BpfCmd.MAP_FREEZE, 4],
    ["MAP_FREEZE byte 167", BpfCmd.MAP_FREEZE, 167],
    ["MAP_CREATE padding byte 92", BpfCmd.MAP_CREATE, 92],
    ["MAP_CREATE byte 95", BpfCmd.MAP_CREATE, 95],
    ["OBJ_GET_INFO_BY_FD byte 16", BpfCmd.OBJ_GET_INFO_BY_FD, 16],
    ["PROG_GET_FD_BY_ID byte 4", BpfCmd.PROG_GET_FD_BY_ID, 4],
    ["PROG_TEST_RUN byte 76", BpfCmd.PROG_TEST_RUN, 76],
    ["MAP_UPDATE_ELEM byte 32", BpfCmd.MAP_UPDATE_ELEM, 32],
  ];
  for (const [name, cmd, at] of cases) {
    test(`${name} → EINVAL`, () => {
      const { proc, bpf } = world();
      const fd = bpf.mapCreate(ARRAY_SPEC);
      const attr = new Uint8Array(168);
      new DataView(attr.buffer).setUint32(0, fd, true);
      attr[at] = 1;
      assert.equal(proc.bpf(cmd, attr, 168), -Errno.EINVAL);
    });
  }

  test("the same MAP_FREEZE attr without the stray byte freezes", () => {
    const { proc, bpf } = world();
    const fd = bpf.mapCreate(ARRAY_SPEC);
    assert.equal(sys(proc, BpfCmd.MAP_FREEZE, MapFreezeAttr, { map_fd: fd }).ret, 0);
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(0), new Uint8Array(8))),
      Errno.EPERM,
    );
  });

  test("PROG_LOAD has no tail: its last field ends at 168", () => {
    const { bpf } = world();
    const r = load(bpf, { ...socketFilter(RET0), keyring_id: -1 });
    assert.ok(r.fd >= 0, "keyring_id without a signature is ignored");
    closeFds(bpf, r.fd);
  });
});

describe("BPF_MAP_CREATE: excl_prog_hash", () => {
  const create = (hash: bigint, size: number, spec = ARRAY_SPEC) => {
    const { proc } = world();
    return sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, {
      ...spec,
      excl_prog_hash: hash,
      excl_prog_hash_size: size,
    }).ret;
  };

  for (const size of [0, 1, 16, 20, 31, 33, 48, 64, 0xffffffff]) {
    test(`a hash pointer with excl_prog_hash_size ${size} → EINVAL`, () => {
      const { proc } = world();
      const ptr = proc.memory.alloc(new Uint8Array(64).fill(7));
      const ret = sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, {
        ...ARRAY_SPEC,
        excl_prog_hash: ptr,
        excl_prog_hash_size: size,
      }).ret;
      assert.equal(ret, -Errno.EINVAL);
    });
  }

  test("size 32 with a mapped pointer creates an exclusive map", () => {
    const { proc, kernel } = world();
    const hash = sha256(new Uint8Array([1, 2, 3]));
    const ptr = proc.memory.alloc(hash);
    const ret = sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, {
      ...ARRAY_SPEC,
      excl_prog_hash: ptr,
      excl_prog_hash_size: 32,
    }).ret;
    assert.ok(ret >= 3);
    const f = proc.file(ret);
    assert.ok(f?.kind === "map");
    assert.deepEqual(f.map.excl_prog_sha, hash);
    assert.equal(kernel.maps.size, 1);
  });

  test("the hash is copied at create time: later writes to the buffer do not matter", () => {
    const { proc } = world();
    const hash = new Uint8Array(32).fill(0xab);
    const ptr = proc.memory.alloc(hash);
    const ret = sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, {
      ...ARRAY_SPEC,
      excl_prog_hash: ptr,
      excl_prog_hash_size: 32,
    }).ret;
    proc.memory.write(ptr, new Uint8Array(32));
    const f = proc.file(ret);
    assert.ok(f?.kind === "map");
    assert.deepEqual(f.map.excl_prog_sha, new Uint8Array(32).fill(0xab));
  });

  test("NULL pointer with size 32 → EINVAL", () => {
    assert.equal(create(0n, 32), -Errno.EINVAL);
  });

  test("NULL pointer with size 0 → an ordinary, shared map", () => {
    const { proc } = world();
    const ret = sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, ARRAY_SPEC).ret;
    const f = proc.file(ret);
    assert.ok(f?.kind === "map");
    assert.equal(f.map.excl_prog_sha, null);
  });

  test("pointer 0x10 (unmapped) with size 32 → EFAULT", () => {
    assert.equal(create(0x10n, 32), -Errno.EFAULT);
  });

  test("a failed create leaves no map behind", () => {
    const { proc, kernel } = world();
    assert.equal(
      sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, {
        ...ARRAY_SPEC,
        excl_prog_hash: 0x10n,
        excl_prog_hash_size: 32,
      }).ret,
      -Errno.EFAULT,
    );
    assert.equal(kernel.maps.size, 0);
    assert.deepEqual(proc.bpfFds(), []);
  });

  const others: [
    string,
    { map_type: number; key_size: number; value_size: number; max_entries: number },
  ][] = [
    ["HASH", { map_type: MapType.HASH, key_size: 4, value_size: 8, max_entries: 4 }],
    [
      "PERCPU_ARRAY",
      { map_type: MapType.PERCPU_ARRAY, key_size: 4, value_size: 8, max_entries: 1 },
    ],
    ["RINGBUF", { map_type: MapType.RINGBUF, key_size: 0, value_size: 0, max_entries: 4096 }],
  ];
  for (const [name, spec] of others) {
    test(`${name} accepts an exclusive hash (no map-type restriction)`, () => {
      const { bpf, proc } = world();
      const hash = sha256(RET0);
      const fd = bpf.mapCreate({ ...spec, excl_prog_hash: hash });
      const f = proc.file(fd);
      assert.ok(f?.kind === "map");
      assert.deepEqual(f.map.excl_prog_sha, hash);
      assert.equal(bpf.mapInfo(fd).type, spec.map_type);
    });
  }
});

describe("BPF_MAP_CREATE: names and flags", () => {
  const named = (raw: Uint8Array) => {
    const { proc, bpf } = world();
    const ret = sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, { ...ARRAY_SPEC, map_name: raw }).ret;
    return { ret, name: ret >= 0 ? bpf.mapInfo(ret).name : null };
  };

  test("letters, digits, '_' and '.' are accepted", () => {
    assert.equal(named(cString("Ab9_.x", 16)).name, "Ab9_.x");
    assert.equal(named(cString("__loader.map", 16)).name, "__loader.map");
    assert.equal(named(cString("a".repeat(15), 16)).name, "a".repeat(15));
  });

  for (const bad of ["a-b", "a b", "a/b", "x:y", "ü"]) {
    test(`name ${JSON.stringify(bad)} → EINVAL`, () => {
      assert.equal(named(cString(bad, 16)).ret, -Errno.EINVAL);
    });
  }

  test("16 name bytes without a NUL → EINVAL", () => {
    assert.equal(named(cString("a".repeat(16), 16)).ret, -Errno.EINVAL);
  });

  test("bytes after the NUL are not checked", () => {
    const raw = cString("ab", 16);
    raw.set([0x2d, 0x20, 0xff], 3);
    assert.equal(named(raw).name, "ab");
  });

  test("BPF_F_RDONLY with BPF_F_WRONLY → EINVAL; RDONLY_PROG with WRONLY_PROG → EINVAL", () => {
    const { bpf } = world();
    for (const flags of [
      MapFlag.RDONLY | MapFlag.WRONLY,
      MapFlag.RDONLY_PROG | MapFlag.WRONLY_PROG,
    ]) {
      assert.equal(
        errnoOf(() => bpf.mapCreate({ ...ARRAY_SPEC, map_flags: flags })),
        Errno.EINVAL,
      );
    }
  });

  test("map_extra on an ARRAY → EINVAL; BPF_F_TOKEN_FD without a token → EINVAL", () => {
    const { proc, bpf } = world();
    assert.equal(
      sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, { ...ARRAY_SPEC, map_extra: 1n }).ret,
      -Errno.EINVAL,
    );
    assert.equal(
      errnoOf(() => bpf.mapCreate({ ...ARRAY_SPEC, map_flags: MapFlag.TOKEN_FD })),
      Errno.EINVAL,
    );
  });

  test("btf_value_type_id needs a BTF fd: a closed fd is EBADF, a map fd EINVAL", () => {
    const { bpf } = world();
    const other = bpf.mapCreate(ARRAY_SPEC);
    assert.equal(
      errnoOf(() => bpf.mapCreate({ ...ARRAY_SPEC, btf_fd: 99, btf_value_type_id: 1 })),
      Errno.EBADF,
    );
    assert.equal(
      errnoOf(() => bpf.mapCreate({ ...ARRAY_SPEC, btf_fd: other, btf_value_type_id: 1 })),
      Errno.EINVAL,
    );
  });
});

describe("BPF_MAP_CREATE: check order (kernel-semantics §3.1)", () => {
  test("the type's alloc checks come before the capability check", () => {
    const { kernel } = world();
    const user = kernel.spawn({ bpf: false, sys_admin: false });
    const bad = { map_type: MapType.ARRAY, key_size: 8, value_size: 8, max_entries: 1 };
    assert.equal(sys(user, BpfCmd.MAP_CREATE, MapCreateAttr, bad).ret, -Errno.EINVAL);
    assert.equal(
      sys(user, BpfCmd.MAP_CREATE, MapCreateAttr, { ...bad, map_type: 9999 }).ret,
      -Errno.EINVAL,
    );
    assert.equal(sys(user, BpfCmd.MAP_CREATE, MapCreateAttr, ARRAY_SPEC).ret, -Errno.EPERM);
  });

  test("the name is checked after allocation: a bad spec wins over a bad name", () => {
    const { proc } = world();
    const hash = { map_type: MapType.HASH, key_size: 513, value_size: 8, max_entries: 1 };
    assert.equal(
      sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, { ...hash, map_name: cString("a-b", 16) }).ret,
      -Errno.E2BIG,
    );
  });

  test("BTF type ids: a key type without a value type, or a vmlinux value type on a non-struct_ops map → EINVAL", () => {
    const { bpf } = world();
    assert.equal(
      errnoOf(() => bpf.mapCreate({ ...ARRAY_SPEC, btf_key_type_id: 1 })),
      Errno.EINVAL,
    );
    const { proc } = world();
    assert.equal(
      sys(proc, BpfCmd.MAP_CREATE, MapCreateAttr, { ...ARRAY_SPEC, btf_vmlinux_value_type_id: 1 })
        .ret,
      -Errno.EINVAL,
    );
  });

  test("with unprivileged_bpf_disabled = 0: ARRAY and HASH are unprivileged types, LRU_HASH is not", () => {
    const { kernel } = world({ unprivileged_bpf_disabled: 0 });
    const user = kernel.spawn({ bpf: false, sys_admin: false });
    assert.ok(sys(user, BpfCmd.MAP_CREATE, MapCreateAttr, ARRAY_SPEC).ret >= 3);
    const hash = { map_type: MapType.HASH, key_size: 4, value_size: 8, max_entries: 1 };
    assert.ok(sys(user, BpfCmd.MAP_CREATE, MapCreateAttr, hash).ret >= 3);
    assert.equal(
      sys(user, BpfCmd.MAP_CREATE, MapCreateAttr, { ...hash, map_type: MapType.LRU_HASH }).ret,
      -Errno.EPERM,
    );
  });
});

describe("privileges", () => {
  test("without CAP_BPF and CAP_SYS_ADMIN, unprivileged_bpf_disabled makes loads EPERM", () => {
    const { kernel } = world();
    const user = kernel.spawn({ bpf: false, sys_admin: false });
    const ret = sys(user, BpfCmd.PROG_LOAD, ProgLoadAttr, {
      prog_type: ProgType.SOCKET_FILTER,
      insn_cnt: 2,
      insns: user.memory.alloc(RET0),
      license: user.memory.alloc(new TextEncoder().encode("GPL\0")),
    }).ret;
    assert.equal(ret, -Errno.EPERM);
    assert.equal(sys(user, BpfCmd.MAP_CREATE, MapCreateAttr, ARRAY_SPEC).ret, -Errno.EPERM);
  });

  test("with unprivileged_bpf_disabled = 0 an unprivileged socket filter loads, up to 4096 insns", () => {
    const { kernel } = world({ unprivileged_bpf_disabled: 0 });
    const user = kernel.spawn({ bpf: false, sys_admin: false });
    const bpf = new Bpf(user);
    const body = (n: number) =>
      insns(...Array.from({ length: n - 2 }, () => rawInsn(0xb7, 0, 0, 0, 0)), RET0);
    const ok = load(bpf, socketFilter(body(4096)));
    assert.ok(ok.fd >= 0, `4096 insns (errno ${ok.errno})`);
    assert.equal(load(bpf, socketFilter(body(4097))).errno, Errno.E2BIG);
    assert.equal(
      load(bpf, { ...socketFilter(RET0), prog_type: ProgType.KPROBE }).errno,
      Errno.EPERM,
      "other types need CAP_BPF",
    );
    const root = kernel.spawn();
    const rootBpf = new Bpf(root);
    const big = load(rootBpf, socketFilter(body(4097)));
    assert.ok(big.fd >= 0, "CAP_BPF raises the limit to 1,000,000");
  });

  test("CAP_SYS_ADMIN alone is bpf_capable", () => {
    const { kernel } = world();
    const admin = kernel.spawn({ bpf: false, sys_admin: true });
    const ret = sys(admin, BpfCmd.MAP_CREATE, MapCreateAttr, ARRAY_SPEC).ret;
    assert.ok(ret >= 3);
  });

  test("net-admin and perfmon program types need their capability", () => {
    const { kernel } = world();
    const p = kernel.spawn({ net_admin: false, perfmon: false, sys_admin: false });
    const bpf = new Bpf(p);
    assert.equal(load(bpf, { ...socketFilter(RET0), prog_type: ProgType.XDP }).errno, Errno.EPERM);
    assert.equal(
      load(bpf, { ...socketFilter(RET0), prog_type: ProgType.KPROBE }).errno,
      Errno.EPERM,
    );
    const r = load(bpf, socketFilter(RET0));
    assert.ok(r.fd >= 0, "a socket filter needs only CAP_BPF");
  });
});

describe("ids and *_GET_FD_BY_ID", () => {
  test("PROG_GET_FD_BY_ID of a live program hands out a new fd to the same program", () => {
    const { bpf, proc } = world();
    const { fd } = bpf.progLoad(socketFilter(RET0));
    const id = bpf.progInfo(fd).id;
    const fd2 = bpf.progGetFdById(id);
    assert.notEqual(fd2, fd);
    const a = proc.file(fd);
    const b = proc.file(fd2);
    assert.ok(a?.kind === "prog" && b?.kind === "prog");
    assert.equal(a.prog, b.prog);
    assert.equal(a.prog.refcnt, 2);
  });

  test("PROG_GET_FD_BY_ID of a closed program → ENOENT", () => {
    const { bpf } = world();
    const { fd } = bpf.progLoad(socketFilter(RET0));
    const id = bpf.progInfo(fd).id;
    bpf.close(fd);
    assert.equal(
      errnoOf(() => bpf.progGetFdById(id)),
      Errno.ENOENT,
    );
    assert.equal(
      errnoOf(() => bpf.progGetFdById(12345)),
      Errno.ENOENT,
    );
  });

  test("PROG_GET_FD_BY_ID without CAP_SYS_ADMIN → EPERM (before the id lookup)", () => {
    const { kernel, bpf } = world();
    const { fd } = bpf.progLoad(socketFilter(RET0));
    const id = bpf.progInfo(fd).id;
    const p = kernel.spawn({ sys_admin: false });
    assert.equal(sys(p, BpfCmd.PROG_GET_FD_BY_ID, GetIdAttr, { id }, 4).ret, -Errno.EPERM);
    assert.equal(sys(p, BpfCmd.PROG_GET_FD_BY_ID, GetIdAttr, { id: 999 }, 4).ret, -Errno.EPERM);
    assert.equal(sys(p, BpfCmd.MAP_GET_FD_BY_ID, GetIdAttr, { id: 1 }, 12).ret, -Errno.EPERM);
    // unknown open_flags bits are EINVAL first; RDONLY|WRONLY is only rejected after CAP_SYS_ADMIN
    assert.equal(
      sys(p, BpfCmd.MAP_GET_FD_BY_ID, GetIdAttr, { id: 1, open_flags: MapFlag.MMAPABLE }, 12).ret,
      -Errno.EINVAL,
    );
    assert.equal(
      sys(
        p,
        BpfCmd.MAP_GET_FD_BY_ID,
        GetIdAttr,
        { id: 1, open_flags: MapFlag.RDONLY | MapFlag.WRONLY },
        12,
      ).ret,
      -Errno.EPERM,
    );
    assert.equal(sys(p, BpfCmd.PROG_GET_NEXT_ID, GetIdAttr, { id: 0 }, 8).ret, -Errno.EPERM);
  });

  test("a program's id stays while another fd holds it", () => {
    const { bpf } = world();
    const { fd } = bpf.progLoad(socketFilter(RET0));
    const id = bpf.progInfo(fd).id;
    const fd2 = bpf.progGetFdById(id);
    bpf.close(fd);
    assert.equal(bpf.progInfo(fd2).id, id);
    bpf.close(fd2);
    assert.equal(
      errnoOf(() => bpf.progGetFdById(id)),
      Errno.ENOENT,
    );
  });

  test("MAP_GET_FD_BY_ID: open_flags RDONLY gives a read-only fd; bad flags → EINVAL", () => {
    const { bpf } = world();
    const fd = bpf.mapCreate(ARRAY_SPEC);
    const id = bpf.mapInfo(fd).id;
    const ro = bpf.mapGetFdById(id, MapFlag.RDONLY);
    assert.deepEqual([...bpf.mapLookup(ro, u32(0), 8)], Array(8).fill(0));
    assert.equal(
      errnoOf(() => bpf.mapUpdate(ro, u32(0), new Uint8Array(8))),
      Errno.EPERM,
    );
    assert.equal(
      errnoOf(() => bpf.mapFreeze(ro)),
      Errno.EPERM,
    );
    const wo = bpf.mapGetFdById(id, MapFlag.WRONLY);
    assert.equal(
      errnoOf(() => bpf.mapLookup(wo, u32(0), 8)),
      Errno.EPERM,
    );
    bpf.mapUpdate(wo, u32(0), new Uint8Array(8).fill(3));
    assert.equal(bpf.mapLookup(fd, u32(0), 8)[0], 3);
    assert.equal(
      errnoOf(() => bpf.mapGetFdById(id, MapFlag.RDONLY | MapFlag.WRONLY)),
      Errno.EINVAL,
    );
    assert.equal(
      errnoOf(() => bpf.mapGetFdById(id, MapFlag.MMAPABLE)),
      Errno.EINVAL,
    );
    assert.equal(
      errnoOf(() => bpf.mapGetFdById(id + 100)),
      Errno.ENOENT,
    );
  });

  test("GET_NEXT_ID: CHECK_ATTR and start_id >= INT_MAX are EINVAL before the capability check", () => {
    const { kernel } = world();
    const p = kernel.spawn({ sys_admin: false });
    assert.equal(
      sys(p, BpfCmd.PROG_GET_NEXT_ID, GetIdAttr, { id: 0x7fffffff }, 8).ret,
      -Errno.EINVAL,
    );
    assert.equal(
      sys(p, BpfCmd.MAP_GET_NEXT_ID, GetIdAttr, { id: 0, open_flags: 1 }, 12).ret,
      -Errno.EINVAL,
    );
    assert.equal(sys(p, BpfCmd.BTF_GET_NEXT_ID, GetIdAttr, { id: 0 }, 8).ret, -Errno.EPERM);
    const root = kernel.spawn();
    assert.equal(
      sys(root, BpfCmd.MAP_GET_NEXT_ID, GetIdAttr, { id: 0x7ffffffe }, 8).ret,
      -Errno.ENOENT,
    );
  });

  test("GET_NEXT_ID walks the ids in order and ends with ENOENT", () => {
    const { bpf, proc } = world();
    const a = bpf.mapCreate(ARRAY_SPEC);
    const b = bpf.mapCreate(ARRAY_SPEC);
    const ids = [bpf.mapInfo(a).id, bpf.mapInfo(b).id];
    const next = (id: number) => {
      const r = sys(proc, BpfCmd.MAP_GET_NEXT_ID, GetIdAttr, { id }, 8);
      return r.ret < 0 ? r.ret : decode(GetIdAttr, r.attr).next_id;
    };
    assert.equal(next(0), ids[0]);
    assert.equal(next(ids[0]), ids[1]);
    assert.equal(next(ids[1]), -Errno.ENOENT);
  });

  test("OBJ_GET_INFO_BY_FD of a closed fd → EBADFD (77), not EBADF", () => {
    const { proc } = world();
    const info = proc.memory.alloc(104);
    assert.equal(
      sys(proc, BpfCmd.OBJ_GET_INFO_BY_FD, InfoAttr, { bpf_fd: 42, info_len: 104, info }, 16).ret,
      -Errno.EBADFD,
    );
  });
});

describe("BPF_PROG_LOAD before bpf_check()", () => {
  const raw = (over: Partial<Record<keyof typeof ProgLoadAttr, number | bigint>>) => {
    const { proc } = world();
    const values = {
      prog_type: ProgType.SOCKET_FILTER,
      insn_cnt: 2,
      insns: proc.memory.alloc(RET0),
      license: proc.memory.alloc(new TextEncoder().encode("GPL\0")),
      ...over,
    } as Parameters<typeof sys<typeof ProgLoadAttr>>[3];
    return sys(proc, BpfCmd.PROG_LOAD, ProgLoadAttr, values).ret;
  };

  test("the raw attr loads", () => {
    assert.ok(raw({}) >= 3);
  });

  test("insn_cnt 0 → E2BIG; insn_cnt 1,000,001 → E2BIG (before the insns are read)", () => {
    assert.equal(raw({ insn_cnt: 0 }), -Errno.E2BIG);
    assert.equal(raw({ insn_cnt: 1_000_001 }), -Errno.E2BIG);
  });

  test("an unknown prog_flags bit → EINVAL; BPF_F_TOKEN_FD without a token → EINVAL", () => {
    assert.equal(raw({ prog_flags: 1 << 8 }), -Errno.EINVAL);
    assert.equal(raw({ prog_flags: 1 << 31 }), -Errno.EINVAL);
    assert.equal(raw({ prog_flags: 1 << 16 }), -Errno.EINVAL);
  });

  test("insns at an unmapped address → EFAULT; so is a program that runs off its buffer", () => {
    assert.equal(raw({ insns: 0x10n }), -Errno.EFAULT);
    assert.equal(raw({ insns: 0n }), -Errno.EFAULT);
    assert.equal(raw({ insn_cnt: 3 }), -Errno.EFAULT);
  });

  test("license at an unmapped address → EFAULT", () => {
    assert.equal(raw({ license: 0x10n }), -Errno.EFAULT);
    assert.equal(raw({ license: 0n }), -Errno.EFAULT);
  });

  test("an unsupported program type → EINVAL", () => {
    assert.equal(raw({ prog_type: 0 }), -Errno.EINVAL);
    assert.equal(raw({ prog_type: 9999 }), -Errno.EINVAL);
  });

  test("SYSCALL with expected_attach_type → EINVAL; attach_btf_id → EINVAL", () => {
    assert.equal(raw({ prog_type: ProgType.SYSCALL, expected_attach_type: 1 }), -Errno.EINVAL);
    assert.equal(raw({ attach_btf_id: 5 }), -Errno.EINVAL);
  });

  for (const bad of ["a-b", "bad name", "x".repeat(16)]) {
    test(`prog_name ${JSON.stringify(bad)} → EINVAL`, () => {
      const { bpf, kernel } = world();
      const r = load(bpf, { ...socketFilter(RET0), prog_name: bad });
      assert.equal(r.errno, Errno.EINVAL);
      assert.equal(kernel.progs.size, 0);
    });
  }

  test("the license decides gpl_compatible", () => {
    const { bpf } = world();
    for (const [license, gpl] of [
      ["GPL", true],
      ["Dual BSD/GPL", true],
      ["GPL v2", true],
      ["MIT", false],
      ["Proprietary", false],
    ] as const) {
      const { fd } = bpf.progLoad({ ...socketFilter(RET0), license });
      assert.equal(bpf.progInfo(fd).gpl_compatible, gpl, license);
      bpf.close(fd);
    }
  });

  test("signature fields are ignored when the signature pointer is NULL", () => {
    const { proc } = world();
    const ret = sys(proc, BpfCmd.PROG_LOAD, ProgLoadAttr, {
      prog_type: ProgType.SOCKET_FILTER,
      insn_cnt: 2,
      insns: proc.memory.alloc(RET0),
      license: proc.memory.alloc(new TextEncoder().encode("GPL\0")),
      signature: 0n,
      signature_size: 64 << 20,
      keyring_id: 0x7fffffff,
    }).ret;
    assert.ok(ret >= 3);
    const f = proc.file(ret);
    assert.ok(f?.kind === "prog");
    assert.equal(f.prog.aux.sig.verdict, 0);
  });
});

describe("BPF_PROG_TEST_RUN argument checks", () => {
  test("ctx_in without ctx_size_in (and the reverse) → EINVAL; no runner → ENOTSUPP", () => {
    const { proc, bpf } = world();
    const { fd } = bpf.progLoad(socketFilter(RET0));
    const ctx = proc.memory.alloc(16);
    assert.equal(
      sys(proc, BpfCmd.PROG_TEST_RUN, TestRunAttr, { prog_fd: fd, ctx_in: ctx }).ret,
      -Errno.EINVAL,
    );
    assert.equal(
      sys(proc, BpfCmd.PROG_TEST_RUN, TestRunAttr, { prog_fd: fd, ctx_size_in: 16 }).ret,
      -Errno.EINVAL,
    );
    assert.equal(sys(proc, BpfCmd.PROG_TEST_RUN, TestRunAttr, { prog_fd: 77 }).ret, -Errno.EBADF);
    assert.equal(
      sys(proc, BpfCmd.PROG_TEST_RUN, TestRunAttr, { prog_fd: fd }).ret,
      -Errno.ENOTSUPP,
    );
  });
});
