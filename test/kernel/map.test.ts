/**
 * Maps: creation checks per type, element operations, freeze and mmap write counting
 * (kernel-semantics §5, real-kernel §4), and the array content hash of BPF_OBJ_GET_INFO_BY_FD
 * with its check order (kernel-semantics §6, real-kernel §5).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MapFlags, Prot } from "../../src/uapi/backend.js";
import type { MapCreateOptions } from "../../src/uapi/bpf.js";
import { BpfCmd, MapFlag, MapType, UpdateFlag } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import {
  encode,
  InfoAttr,
  MAP_INFO_SIZE,
  MapCreateAttr,
  MapElemAttr,
  MapInfo,
} from "../../src/uapi/layout.js";
import { concat, errnoOf, sha256, sys, u32, world } from "./support.js";

const KMALLOC_MAX_SIZE = 4 << 20;

describe("map creation: sizes and flags per type", () => {
  const cases: [string, MapCreateOptions, number][] = [
    [
      "ARRAY key_size 8",
      { map_type: MapType.ARRAY, key_size: 8, value_size: 8, max_entries: 1 },
      Errno.EINVAL,
    ],
    [
      "ARRAY key_size 0",
      { map_type: MapType.ARRAY, key_size: 0, value_size: 8, max_entries: 1 },
      Errno.EINVAL,
    ],
    [
      "ARRAY value_size 0",
      { map_type: MapType.ARRAY, key_size: 4, value_size: 0, max_entries: 1 },
      Errno.EINVAL,
    ],
    [
      "ARRAY max_entries 0",
      { map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 0 },
      Errno.EINVAL,
    ],
    [
      "ARRAY with BPF_F_NO_PREALLOC",
      {
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.NO_PREALLOC,
      },
      Errno.EINVAL,
    ],
    [
      "PERCPU_ARRAY with BPF_F_MMAPABLE",
      {
        map_type: MapType.PERCPU_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.MMAPABLE,
      },
      Errno.EINVAL,
    ],
    [
      "PERCPU_ARRAY with BPF_F_INNER_MAP",
      {
        map_type: MapType.PERCPU_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.INNER_MAP,
      },
      Errno.EINVAL,
    ],
    [
      "HASH key_size 0",
      { map_type: MapType.HASH, key_size: 0, value_size: 8, max_entries: 1 },
      Errno.EINVAL,
    ],
    [
      "HASH value_size 0",
      { map_type: MapType.HASH, key_size: 4, value_size: 0, max_entries: 1 },
      Errno.EINVAL,
    ],
    [
      "HASH max_entries 0",
      { map_type: MapType.HASH, key_size: 4, value_size: 8, max_entries: 0 },
      Errno.EINVAL,
    ],
    [
      "HASH key_size 513 (> MAX_BPF_STACK)",
      { map_type: MapType.HASH, key_size: 513, value_size: 8, max_entries: 1 },
      Errno.E2BIG,
    ],
    [
      "HASH value_size KMALLOC_MAX_SIZE",
      { map_type: MapType.HASH, key_size: 4, value_size: KMALLOC_MAX_SIZE, max_entries: 1 },
      Errno.E2BIG,
    ],
    [
      "HASH with BPF_F_MMAPABLE",
      {
        map_type: MapType.HASH,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.MMAPABLE,
      },
      Errno.EINVAL,
    ],
    [
      "RINGBUF key_size 4",
      { map_type: MapType.RINGBUF, key_size: 4, value_size: 0, max_entries: 4096 },
      Errno.EINVAL,
    ],
    [
      "RINGBUF value_size 8",
      { map_type: MapType.RINGBUF, key_size: 0, value_size: 8, max_entries: 4096 },
      Errno.EINVAL,
    ],
    [
      "RINGBUF max_entries 0",
      { map_type: MapType.RINGBUF, key_size: 0, value_size: 0, max_entries: 0 },
      Errno.EINVAL,
    ],
    [
      "RINGBUF max_entries 12288 (not a power of 2)",
      { map_type: MapType.RINGBUF, key_size: 0, value_size: 0, max_entries: 12288 },
      Errno.EINVAL,
    ],
    [
      "RINGBUF max_entries 2048 (not page aligned)",
      { map_type: MapType.RINGBUF, key_size: 0, value_size: 0, max_entries: 2048 },
      Errno.EINVAL,
    ],
    [
      "RINGBUF with BPF_F_RDONLY",
      {
        map_type: MapType.RINGBUF,
        key_size: 0,
        value_size: 0,
        max_entries: 4096,
        map_flags: MapFlag.RDONLY,
      },
      Errno.EINVAL,
    ],
    [
      "map_type 0 (UNSPEC)",
      { map_type: 0, key_size: 4, value_size: 8, max_entries: 1 },
      Errno.EINVAL,
    ],
    ["map_type 9999", { map_type: 9999, key_size: 4, value_size: 8, max_entries: 1 }, Errno.EINVAL],
  ];
  for (const [name, spec, errno] of cases) {
    test(`${name} → ${errno === Errno.E2BIG ? "E2BIG" : "EINVAL"}`, () => {
      const { bpf, kernel } = world();
      assert.equal(
        errnoOf(() => bpf.mapCreate(spec)),
        errno,
      );
      assert.equal(kernel.maps.size, 0, "nothing was created");
    });
  }

  const good: [string, MapCreateOptions][] = [
    ["ARRAY", { map_type: MapType.ARRAY, key_size: 4, value_size: 1, max_entries: 3 }],
    [
      "ARRAY MMAPABLE|RDONLY_PROG",
      {
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.MMAPABLE | MapFlag.RDONLY_PROG,
      },
    ],
    [
      "PERCPU_ARRAY",
      { map_type: MapType.PERCPU_ARRAY, key_size: 4, value_size: 12, max_entries: 2 },
    ],
    ["HASH key 512", { map_type: MapType.HASH, key_size: 512, value_size: 8, max_entries: 1 }],
    ["LRU_HASH", { map_type: MapType.LRU_HASH, key_size: 4, value_size: 8, max_entries: 4 }],
    [
      "RINGBUF 16 KiB",
      { map_type: MapType.RINGBUF, key_size: 0, value_size: 0, max_entries: 16384 },
    ],
  ];
  for (const [name, spec] of good) {
    test(`${name} is created and reported by info`, () => {
      const { bpf } = world();
      const fd = bpf.mapCreate(spec);
      const info = bpf.mapInfo(fd);
      assert.equal(info.type, spec.map_type);
      assert.equal(info.key_size, spec.key_size);
      assert.equal(info.value_size, spec.value_size);
      assert.equal(info.max_entries, spec.max_entries);
      assert.equal(info.map_flags, spec.map_flags ?? 0);
      assert.ok(info.id > 0);
    });
  }
});

describe("element operations", () => {
  test("ARRAY: lookup past max_entries → ENOENT, update → E2BIG, NOEXIST → EEXIST, delete → EINVAL", () => {
    const { bpf } = world();
    const fd = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 2,
    });
    assert.equal(
      errnoOf(() => bpf.mapLookup(fd, u32(2), 4)),
      Errno.ENOENT,
    );
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(2), u32(1))),
      Errno.E2BIG,
    );
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(0), u32(1), 1n)),
      Errno.EEXIST,
    );
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(0), u32(1), 4n)),
      Errno.EINVAL,
    );
    assert.equal(
      errnoOf(() => bpf.mapDelete(fd, u32(0))),
      Errno.EINVAL,
    );
    bpf.mapUpdate(fd, u32(1), u32(0xdeadbeef), BigInt(UpdateFlag.EXIST));
    assert.deepEqual(bpf.mapLookup(fd, u32(1), 4), u32(0xdeadbeef));
    assert.deepEqual(bpf.mapNextKey(fd, null, 4), u32(0));
    assert.deepEqual(bpf.mapNextKey(fd, u32(0), 4), u32(1));
    assert.equal(bpf.mapNextKey(fd, u32(1), 4), null);
    assert.deepEqual(bpf.mapNextKey(fd, u32(7), 4), u32(0), "an out-of-range key restarts");
  });

  test("PERCPU_ARRAY: user space reads and writes round_up(value_size, 8) per possible CPU", () => {
    const { bpf } = world();
    const fd = bpf.mapCreate({
      map_type: MapType.PERCPU_ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 1,
    });
    const v = new Uint8Array(16);
    v.set([1, 2, 3, 4], 0);
    v.set([5, 6, 7, 8], 8);
    bpf.mapUpdate(fd, u32(0), v);
    assert.deepEqual(bpf.mapLookup(fd, u32(0), 16), v);
  });

  test("HASH: NOEXIST/EXIST semantics, full map → E2BIG, delete of a missing key → ENOENT", () => {
    const { bpf } = world();
    const fd = bpf.mapCreate({
      map_type: MapType.HASH,
      key_size: 4,
      value_size: 4,
      max_entries: 2,
    });
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(1), u32(1), 2n)),
      Errno.ENOENT,
    );
    bpf.mapUpdate(fd, u32(1), u32(10), 1n);
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(1), u32(11), 1n)),
      Errno.EEXIST,
    );
    bpf.mapUpdate(fd, u32(2), u32(20));
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(3), u32(30))),
      Errno.E2BIG,
    );
    bpf.mapUpdate(fd, u32(2), u32(21), 2n);
    assert.deepEqual(bpf.mapLookup(fd, u32(2), 4), u32(21));
    bpf.mapDelete(fd, u32(1));
    assert.equal(
      errnoOf(() => bpf.mapDelete(fd, u32(1))),
      Errno.ENOENT,
    );
    assert.equal(
      errnoOf(() => bpf.mapLookup(fd, u32(1), 4)),
      Errno.ENOENT,
    );
    assert.deepEqual(bpf.mapNextKey(fd, null, 4), u32(2));
    assert.equal(bpf.mapNextKey(fd, u32(2), 4), null);
  });

  test("bad fds and pointers: EBADF, EINVAL for a non-map fd, EFAULT for key/value", () => {
    const { bpf, proc } = world();
    const fd = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 1,
    });
    const { fd: prog } = bpf.progLoad({
      prog_type: 1,
      insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]),
    });
    assert.equal(
      errnoOf(() => bpf.mapLookup(99, u32(0), 4)),
      Errno.EBADF,
    );
    assert.equal(
      errnoOf(() => bpf.mapLookup(prog, u32(0), 4)),
      Errno.EINVAL,
    );
    const value = proc.memory.alloc(4);
    const key = proc.memory.alloc(u32(0));
    const call = (k: bigint, v: bigint, cmd: number) =>
      proc.bpf(cmd, encode(MapElemAttr, { map_fd: fd, key: k, value: v }, 32), 32);
    assert.equal(call(0x10n, value, BpfCmd.MAP_LOOKUP_ELEM), -Errno.EFAULT);
    assert.equal(call(key, 0x10n, BpfCmd.MAP_LOOKUP_ELEM), -Errno.EFAULT);
    assert.equal(call(key, 0x10n, BpfCmd.MAP_UPDATE_ELEM), -Errno.EFAULT);
    assert.equal(call(key, value, BpfCmd.MAP_LOOKUP_ELEM), 0);
  });

  test("lookup flags: unknown bits → EINVAL before the fd; BPF_F_LOCK → EINVAL (no spin lock)", () => {
    const { bpf, proc } = world();
    const fd = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 1,
    });
    const call = (cmd: number, map_fd: number, flags: bigint, key = proc.memory.alloc(u32(0))) =>
      proc.bpf(
        cmd,
        encode(MapElemAttr, { map_fd, key, value: proc.memory.alloc(4), flags }, 32),
        32,
      );
    assert.equal(call(BpfCmd.MAP_LOOKUP_ELEM, 99, 1n), -Errno.EINVAL, "flags first");
    assert.equal(call(BpfCmd.MAP_LOOKUP_ELEM, 99, 4n), -Errno.EBADF, "F_LOCK is a known flag");
    assert.equal(call(BpfCmd.MAP_LOOKUP_ELEM, fd, 4n), -Errno.EINVAL);
    assert.equal(call(BpfCmd.MAP_UPDATE_ELEM, fd, 4n, 0x10n), -Errno.EINVAL, "before the key copy");
    assert.equal(call(BpfCmd.MAP_UPDATE_ELEM, fd, 0n, 0x10n), -Errno.EFAULT);
    assert.equal(call(BpfCmd.MAP_LOOKUP_ELEM, fd, 0n), 0);
  });

  test("BPF_F_RDONLY / BPF_F_WRONLY at create decide what the fd may do", () => {
    const { bpf } = world();
    const ro = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 1,
      map_flags: MapFlag.RDONLY,
    });
    assert.equal(
      errnoOf(() => bpf.mapUpdate(ro, u32(0), u32(1))),
      Errno.EPERM,
    );
    assert.deepEqual(bpf.mapLookup(ro, u32(0), 4), u32(0));
    const wo = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 1,
      map_flags: MapFlag.WRONLY,
    });
    bpf.mapUpdate(wo, u32(0), u32(1));
    assert.equal(
      errnoOf(() => bpf.mapLookup(wo, u32(0), 4)),
      Errno.EPERM,
    );
    assert.equal(
      errnoOf(() => bpf.mapNextKey(wo, null, 4)),
      Errno.EPERM,
    );
  });
});

describe("BPF_MAP_FREEZE", () => {
  const array = (flags = 0, value_size = 8) => {
    const w = world();
    const fd = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size,
      max_entries: 1,
      map_flags: flags,
    });
    return { ...w, fd };
  };

  test("update then freeze, then update → EPERM, delete → EPERM; lookups still work", () => {
    const { bpf, fd } = array();
    bpf.mapUpdate(fd, u32(0), new Uint8Array(8).fill(5));
    bpf.mapFreeze(fd);
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(0), new Uint8Array(8))),
      Errno.EPERM,
    );
    assert.equal(
      errnoOf(() => bpf.mapDelete(fd, u32(0))),
      Errno.EPERM,
    );
    assert.deepEqual(bpf.mapLookup(fd, u32(0), 8), new Uint8Array(8).fill(5));
    assert.deepEqual(bpf.mapNextKey(fd, null, 4), u32(0));
  });

  test("freeze twice → EPERM (frozen maps lose FMODE_CAN_WRITE), not EBUSY", () => {
    const { bpf, fd } = array();
    bpf.mapFreeze(fd);
    assert.equal(
      errnoOf(() => bpf.mapFreeze(fd)),
      Errno.EPERM,
    );
  });

  test("freeze applies to the map, through every fd", () => {
    const { bpf, fd } = array();
    const other = bpf.mapGetFdById(bpf.mapInfo(fd).id);
    bpf.mapFreeze(other);
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(0), new Uint8Array(8))),
      Errno.EPERM,
    );
    assert.equal(
      errnoOf(() => bpf.mapFreeze(fd)),
      Errno.EPERM,
    );
  });

  test("HASH can be frozen; update after freeze → EPERM", () => {
    const { bpf } = world();
    const fd = bpf.mapCreate({
      map_type: MapType.HASH,
      key_size: 4,
      value_size: 4,
      max_entries: 4,
    });
    bpf.mapUpdate(fd, u32(1), u32(1));
    bpf.mapFreeze(fd);
    assert.equal(
      errnoOf(() => bpf.mapUpdate(fd, u32(2), u32(2))),
      Errno.EPERM,
    );
    assert.equal(
      errnoOf(() => bpf.mapDelete(fd, u32(1))),
      Errno.EPERM,
    );
    assert.deepEqual(bpf.mapLookup(fd, u32(1), 4), u32(1));
  });

  test("a read-only fd cannot freeze (EPERM); a bad fd is EBADF", () => {
    const { bpf, fd } = array(MapFlag.RDONLY);
    assert.equal(
      errnoOf(() => bpf.mapFreeze(fd)),
      Errno.EPERM,
    );
    assert.equal(
      errnoOf(() => bpf.mapFreeze(123)),
      Errno.EBADF,
    );
  });
});

describe("mmap of a map and freeze", () => {
  const mmapable = () => {
    const w = world();
    const fd = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
      map_flags: MapFlag.MMAPABLE,
    });
    return { ...w, fd };
  };

  test("a writable shared mapping blocks freeze (EBUSY); after munmap freeze succeeds", () => {
    const { bpf, proc, fd } = mmapable();
    const addr = bpf.mmap(fd, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
    assert.equal(
      errnoOf(() => bpf.mapFreeze(fd)),
      Errno.EBUSY,
    );
    assert.equal(proc.munmap(addr, 4096), 0);
    bpf.mapFreeze(fd);
  });

  test("a read-only shared mapping does not block freeze; mprotect to RW afterwards → EACCES", () => {
    const { bpf, proc, fd } = mmapable();
    const addr = bpf.mmap(fd, 4096, Prot.READ, MapFlags.SHARED);
    bpf.mapFreeze(fd);
    assert.equal(proc.mprotect(addr, 4096, Prot.READ | Prot.WRITE), -Errno.EACCES);
    assert.equal(proc.mprotect(addr, 4096, Prot.READ), 0);
  });

  test("a read-only mapping never gains write access, frozen or not (VM_MAYWRITE cleared)", () => {
    const { bpf, proc, fd } = mmapable();
    const addr = bpf.mmap(fd, 4096, Prot.READ, MapFlags.SHARED);
    assert.equal(proc.mprotect(addr, 4096, Prot.READ | Prot.WRITE), -Errno.EACCES);
    assert.throws(() => proc.memory.write(addr, u32(1)), RangeError);
  });

  test("after freeze: PROT_READ mmap ok, PROT_WRITE MAP_SHARED → EPERM", () => {
    const { bpf, proc, fd } = mmapable();
    bpf.mapUpdate(fd, u32(0), new Uint8Array(8).fill(9));
    bpf.mapFreeze(fd);
    const addr = bpf.mmap(fd, 4096, Prot.READ, MapFlags.SHARED);
    assert.deepEqual(proc.memory.read(addr, 8), new Uint8Array(8).fill(9));
    assert.equal(
      proc.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.SHARED, fd),
      BigInt(-Errno.EPERM),
    );
  });

  test("a writable MAP_PRIVATE mapping → EINVAL (and counts nothing)", () => {
    const { bpf, proc, fd } = mmapable();
    assert.equal(
      proc.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.PRIVATE, fd),
      BigInt(-Errno.EINVAL),
    );
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.PRIVATE, fd), BigInt(-Errno.EINVAL));
    bpf.mapFreeze(fd);
  });

  test("RW mapping mprotect'ed to RO still blocks freeze (EBUSY) until munmap", () => {
    const { bpf, proc, fd } = mmapable();
    const addr = bpf.mmap(fd, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
    assert.equal(proc.mprotect(addr, 4096, Prot.READ), 0);
    assert.equal(
      errnoOf(() => bpf.mapFreeze(fd)),
      Errno.EBUSY,
    );
    assert.equal(proc.munmap(addr, 4096), 0);
    bpf.mapFreeze(fd);
  });

  test("two writable mappings: freeze waits for both to go", () => {
    const { bpf, proc, fd } = mmapable();
    const a = bpf.mmap(fd, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
    const b = bpf.mmap(fd, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
    proc.munmap(a, 4096);
    assert.equal(
      errnoOf(() => bpf.mapFreeze(fd)),
      Errno.EBUSY,
    );
    proc.munmap(b, 4096);
    bpf.mapFreeze(fd);
  });

  test("mmap of an ARRAY without BPF_F_MMAPABLE → EINVAL; of a HASH → ENOTSUPP", () => {
    const { bpf, proc } = world();
    const plain = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.SHARED, plain), BigInt(-Errno.EINVAL));
    assert.equal(
      proc.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.SHARED, plain),
      BigInt(-Errno.EINVAL),
    );
    bpf.mapFreeze(plain);
    const hash = bpf.mapCreate({
      map_type: MapType.HASH,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.SHARED, hash), BigInt(-Errno.ENOTSUPP));
  });

  test("mmap beyond the page-aligned value area → EINVAL; a closed fd → EBADF", () => {
    const { proc, fd } = mmapable();
    assert.equal(proc.mmap(8192, Prot.READ, MapFlags.SHARED, fd), BigInt(-Errno.EINVAL));
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.SHARED, fd, 4096), BigInt(-Errno.EINVAL));
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.SHARED, 77), BigInt(-Errno.EBADF));
  });

  test("BPF_F_RDONLY_PROG refuses a writable mapping (EACCES) but allows a read-only one", () => {
    const { bpf, proc } = world();
    const fd = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
      map_flags: MapFlag.MMAPABLE | MapFlag.RDONLY_PROG,
    });
    assert.equal(
      proc.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.SHARED, fd),
      BigInt(-Errno.EACCES),
    );
    assert.ok(bpf.mmap(fd, 4096, Prot.READ, MapFlags.SHARED) > 0n);
    bpf.mapFreeze(fd);
  });

  test("writes through a RW mapping show in lookups, and updates show in the mapping", () => {
    const { bpf, proc } = world();
    const fd = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 3,
      map_flags: MapFlag.MMAPABLE,
    });
    const addr = bpf.mmap(fd, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
    proc.memory.write(addr + 8n, u32(0x11223344)); // element 1 (elem_size 8)
    assert.deepEqual(bpf.mapLookup(fd, u32(1), 4), u32(0x11223344));
    bpf.mapUpdate(fd, u32(2), u32(7));
    assert.deepEqual(proc.memory.read(addr + 16n, 4), u32(7));
  });

  test("a mapping keeps the map alive after its fd is closed", () => {
    const { bpf, proc, kernel, fd } = mmapable();
    const id = bpf.mapInfo(fd).id;
    const addr = bpf.mmap(fd, 4096, Prot.READ, MapFlags.SHARED);
    bpf.close(fd);
    assert.ok(kernel.maps.get(id), "still there while mapped");
    proc.munmap(addr, 4096);
    assert.equal(kernel.maps.get(id), undefined);
  });
});

describe("map content hash (bpf_map_info.hash)", () => {
  const info = (
    w: ReturnType<typeof world>,
    fd: number,
    o: { hash?: bigint; hash_size?: number; info_len?: number; tail?: number } = {},
  ) => {
    const { proc } = w;
    const buf = new Uint8Array(Math.max(o.info_len ?? MAP_INFO_SIZE, MAP_INFO_SIZE) + 8);
    buf.set(encode(MapInfo, { hash: o.hash ?? 0n, hash_size: o.hash_size ?? 0 }, MAP_INFO_SIZE));
    if (o.tail !== undefined) buf[o.tail] = 1;
    const addr = proc.memory.alloc(buf);
    const len = o.info_len ?? MAP_INFO_SIZE;
    const r = sys(
      proc,
      BpfCmd.OBJ_GET_INFO_BY_FD,
      InfoAttr,
      { bpf_fd: fd, info_len: len, info: addr },
      16,
    );
    return { ret: r.ret, out: proc.memory.read(addr, buf.length), attr: r.attr };
  };
  const hashBuf = (w: ReturnType<typeof world>) => w.proc.memory.alloc(32);

  const frozenArray = (value_size: number, max_entries: number, values: Uint8Array[]) => {
    const w = world();
    const fd = w.bpf.mapCreate({ map_type: MapType.ARRAY, key_size: 4, value_size, max_entries });
    values.forEach((v, i) => {
      w.bpf.mapUpdate(fd, u32(i), v);
    });
    w.bpf.mapFreeze(fd);
    return { w, fd };
  };

  test("v=4, n=3: sha256 of 3 × (4 value bytes + 4 zero bytes of padding)", () => {
    const vals = [u32(0x01020304), u32(0x05060708), u32(0x0a0b0c0d)];
    const { w, fd } = frozenArray(4, 3, vals);
    const expected = sha256(...vals.map((v) => concat(v, new Uint8Array(4))));
    assert.deepEqual(w.bpf.mapInfo(fd, { hash: true }).hashBytes, expected);
    assert.notDeepEqual(expected, sha256(...vals), "the packed 12 bytes hash differently");
  });

  test("v=12, n=2: two 16-byte slots", () => {
    const a = new Uint8Array(12).fill(0xaa);
    const b = new Uint8Array(12).fill(0xbb);
    const { w, fd } = frozenArray(12, 2, [a, b]);
    const expected = sha256(a, new Uint8Array(4), b, new Uint8Array(4));
    assert.deepEqual(w.bpf.mapInfo(fd, { hash: true }).hashBytes, expected);
  });

  test("elements never written hash as zeros; the MMAPABLE page padding is not hashed", () => {
    const w = world();
    const fd = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 2,
      map_flags: MapFlag.MMAPABLE,
    });
    w.bpf.mapUpdate(fd, u32(0), new Uint8Array(8).fill(1));
    w.bpf.mapFreeze(fd);
    assert.deepEqual(
      w.bpf.mapInfo(fd, { hash: true }).hashBytes,
      sha256(new Uint8Array(8).fill(1), new Uint8Array(8)),
    );
  });

  test("different contents give different hashes", () => {
    const one = frozenArray(8, 1, [new Uint8Array(8).fill(1)]);
    const two = frozenArray(8, 1, [new Uint8Array(8).fill(2)]);
    assert.notDeepEqual(
      one.w.bpf.mapInfo(one.fd, { hash: true }).hashBytes,
      two.w.bpf.mapInfo(two.fd, { hash: true }).hashBytes,
    );
  });

  test("check order 1: a map type without map_get_hash → EINVAL, even unfrozen with a bad size", () => {
    for (const spec of [
      { map_type: MapType.HASH, key_size: 4, value_size: 8, max_entries: 1 },
      { map_type: MapType.PERCPU_ARRAY, key_size: 4, value_size: 8, max_entries: 1 },
      { map_type: MapType.RINGBUF, key_size: 0, value_size: 0, max_entries: 4096 },
    ]) {
      const w = world();
      const fd = w.bpf.mapCreate(spec);
      assert.equal(info(w, fd, { hash: hashBuf(w), hash_size: 16 }).ret, -Errno.EINVAL);
      assert.equal(info(w, fd, { hash: hashBuf(w), hash_size: 32 }).ret, -Errno.EINVAL);
      assert.equal(info(w, fd, { hash: 0x10n, hash_size: 32 }).ret, -Errno.EINVAL);
    }
  });

  test("check order 2: hash_size != 32 → EINVAL before the frozen check", () => {
    const w = world();
    const fd = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    for (const size of [0, 1, 16, 20, 31, 33, 64]) {
      assert.equal(
        info(w, fd, { hash: hashBuf(w), hash_size: size }).ret,
        -Errno.EINVAL,
        `size ${size}`,
      );
    }
  });

  test("check order 3: not frozen → EPERM before the copy-out (0x10 gives EPERM, not EFAULT)", () => {
    const w = world();
    const fd = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    assert.equal(info(w, fd, { hash: hashBuf(w), hash_size: 32 }).ret, -Errno.EPERM);
    assert.equal(info(w, fd, { hash: 0x10n, hash_size: 32 }).ret, -Errno.EPERM);
  });

  test("check order 4: frozen with hash = 0x10 → EFAULT", () => {
    const { w, fd } = frozenArray(8, 1, []);
    assert.equal(info(w, fd, { hash: 0x10n, hash_size: 32 }).ret, -Errno.EFAULT);
  });

  test("hash = NULL with hash_size 32 → EINVAL; NULL with 0 → plain info", () => {
    const { w, fd } = frozenArray(8, 1, []);
    assert.equal(info(w, fd, { hash_size: 32 }).ret, -Errno.EINVAL);
    const plain = info(w, fd);
    assert.equal(plain.ret, 0);
    assert.equal(new DataView(plain.out.buffer).getUint32(12, true), 8, "value_size");
  });

  test("info_len = 88 stops before the hash fields: ok, and nothing past 88 is written", () => {
    const { w, fd } = frozenArray(8, 1, []);
    const r = info(w, fd, { hash: 0x10n, hash_size: 7, info_len: 88 });
    assert.equal(r.ret, 0);
    assert.equal(new DataView(r.attr.buffer).getUint32(4, true), 88, "info_len written back");
    assert.equal(new DataView(r.out.buffer).getUint32(96, true), 7, "hash_size left as it was");
  });

  test("info_len = 96 passes the pointer but cuts hash_size off (read as 0) → EINVAL", () => {
    const { w, fd } = frozenArray(8, 1, []);
    assert.equal(info(w, fd, { hash: hashBuf(w), hash_size: 32, info_len: 96 }).ret, -Errno.EINVAL);
  });

  test("info_len > 104: a zero tail is fine, a non-zero tail → E2BIG; > PAGE_SIZE → E2BIG", () => {
    const { w, fd } = frozenArray(8, 1, []);
    const ok = info(w, fd, { info_len: 112 });
    assert.equal(ok.ret, 0);
    assert.equal(
      new DataView(ok.attr.buffer).getUint32(4, true),
      MAP_INFO_SIZE,
      "info_len clamped",
    );
    assert.equal(info(w, fd, { info_len: 112, tail: 111 }).ret, -Errno.E2BIG);
    assert.equal(info(w, fd, { info_len: 105, tail: 104 }).ret, -Errno.E2BIG);
    assert.equal(info(w, fd, { info_len: 4097 }).ret, -Errno.E2BIG);
  });

  test("the computed hash is cached in map->sha and survives a second query", () => {
    const { w, fd } = frozenArray(8, 1, [new Uint8Array(8).fill(4)]);
    const f = w.proc.file(fd);
    assert.ok(f?.kind === "map");
    assert.deepEqual(f.map.sha, new Uint8Array(32), "nothing cached before the first query");
    const h = w.bpf.mapInfo(fd, { hash: true }).hashBytes;
    assert.deepEqual(f.map.sha, h);
    assert.deepEqual(w.bpf.mapInfo(fd, { hash: true }).hashBytes, h);
  });
});

describe("map-in-map elements", () => {
  const setup = (map_type: number) => {
    const w = world();
    const inner = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 1,
    });
    const outer = w.proc.bpf(
      BpfCmd.MAP_CREATE,
      encode(
        MapCreateAttr,
        { map_type, key_size: 4, value_size: 4, max_entries: 2, inner_map_fd: inner },
        72,
      ),
    );
    assert.ok(outer > 0);
    return { ...w, inner, outer };
  };

  test("HASH_OF_MAPS: update flags, a full map, delete and a second delete", () => {
    const { bpf, inner, outer } = setup(MapType.HASH_OF_MAPS);
    const put = (k: number, flags: number) =>
      errnoOf(() => bpf.mapUpdate(outer, u32(k), u32(inner), BigInt(flags)));
    assert.equal(put(1, 3), Errno.EINVAL);
    assert.equal(put(1, UpdateFlag.EXIST), Errno.ENOENT);
    assert.equal(put(1, UpdateFlag.NOEXIST), 0);
    assert.equal(put(1, UpdateFlag.NOEXIST), Errno.EEXIST);
    assert.equal(put(1, UpdateFlag.EXIST), 0);
    assert.equal(put(2, UpdateFlag.ANY), 0);
    assert.equal(put(3, UpdateFlag.ANY), Errno.E2BIG);
    assert.equal(
      errnoOf(() => bpf.mapDelete(outer, u32(1))),
      0,
    );
    assert.equal(
      errnoOf(() => bpf.mapDelete(outer, u32(1))),
      Errno.ENOENT,
    );
    assert.equal(
      errnoOf(() => bpf.mapLookup(outer, u32(1), 4)),
      Errno.ENOENT,
    );
    assert.equal(
      errnoOf(() => bpf.mapLookup(outer, u32(2), 4)),
      0,
    );
    assert.equal(put(3, UpdateFlag.ANY), 0);
  });

  test("ARRAY_OF_MAPS: update flags and an index past the end", () => {
    const { bpf, inner, outer } = setup(MapType.ARRAY_OF_MAPS);
    const put = (k: number, flags: number) =>
      errnoOf(() => bpf.mapUpdate(outer, u32(k), u32(inner), BigInt(flags)));
    assert.equal(put(0, 3), Errno.EINVAL);
    assert.equal(put(0, UpdateFlag.NOEXIST), Errno.EEXIST);
    assert.equal(put(2, UpdateFlag.ANY), Errno.E2BIG);
    assert.equal(put(1, UpdateFlag.EXIST), 0);
    assert.equal(
      errnoOf(() => bpf.mapDelete(outer, u32(1))),
      0,
    );
    assert.equal(
      errnoOf(() => bpf.mapDelete(outer, u32(1))),
      Errno.ENOENT,
    );
  });
});
