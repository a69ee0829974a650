/** The host backend against the real kernel: memory, errno, attr write-back, fd/mapping/key cleanup. */
import assert from "node:assert/strict";
import { readlinkSync } from "node:fs";
import { describe, test } from "node:test";
import { syscallNumbers, UnsupportedArchError } from "../../src/host/arch.js";
import { HostBackend, HostDisposedError } from "../../src/host/backend.js";
import { encodeInsns, exit, mov64Imm } from "../../src/insn/index.js";
import { MapFlags, Prot } from "../../src/uapi/backend.js";
import { Bpf } from "../../src/uapi/bpf.js";
import {
  BPF_F_SLEEPABLE,
  BpfCmd,
  KeyctlOp,
  KeySpec,
  MapFlag,
  MapType,
  ProgType,
} from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { encode, MapCreateAttr } from "../../src/uapi/layout.js";
import { hostSession, hostSkip } from "../support/host.js";

const skip = hostSkip();

function fdTarget(fd: number): string | null {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

test("syscall numbers come from one table per arch", () => {
  assert.deepEqual(syscallNumbers("x64"), { bpf: 321, add_key: 248, keyctl: 250 });
  assert.deepEqual(syscallNumbers("arm64"), { bpf: 280, add_key: 217, keyctl: 219 });
  assert.throws(
    () => syscallNumbers("ia32"),
    (e: unknown) => e instanceof UnsupportedArchError && e.arch === "ia32",
  );
});

describe("host backend", { skip }, () => {
  test("native memory: round trip, real addresses, bounds", () => {
    const b = new HostBackend();
    try {
      const a = b.memory.alloc(Uint8Array.of(1, 2, 3, 4));
      assert.ok(a > 0x1000n);
      assert.deepEqual([...b.memory.read(a + 1n, 3)], [2, 3, 4]);
      b.memory.write(a, Uint8Array.of(9));
      assert.deepEqual([...b.memory.read(a, 2)], [9, 2]);
      assert.throws(() => b.memory.read(a + 2n, 3), RangeError);
      assert.throws(() => b.memory.read(0x10n, 1), RangeError);
      assert.throws(() => b.memory.free(a + 1n), RangeError);
      b.memory.free(a);
      assert.throws(() => b.memory.read(a, 1), RangeError);
    } finally {
      b.dispose();
    }
  });

  test("native memory: small allocations are zeroed on reuse, distinct, and what the kernel reads", () => {
    const b = new HostBackend();
    const bpf = new Bpf(b);
    try {
      const sizes = [0, 1, 4, 8, 15, 16, 17, 100, 512, 513, 4096];
      const addrs = sizes.map((n) => b.memory.alloc(n));
      assert.equal(new Set(addrs).size, addrs.length);
      for (const [i, a] of addrs.entries()) {
        assert.deepEqual([...b.memory.read(a, sizes[i])], new Array(sizes[i]).fill(0));
        if (sizes[i]) b.memory.write(a, new Uint8Array(sizes[i]).fill(0xaa));
      }
      // no allocation overlaps another
      for (const [i, a] of addrs.entries()) {
        if (sizes[i]) assert.ok(b.memory.read(a, sizes[i]).every((x) => x === 0xaa));
      }
      for (const a of addrs) b.memory.free(a);
      assert.equal(b.memory.liveAllocations(), 0);
      // the same sizes again (reused slots) read as zero, and Uint8Array inits are copied
      const again = sizes.map((n) => b.memory.alloc(n));
      for (const [i, a] of again.entries())
        assert.ok(b.memory.read(a, sizes[i]).every((x) => x === 0));
      const init = b.memory.alloc(Uint8Array.of(5, 6, 7));
      assert.deepEqual([...b.memory.read(init, 3)], [5, 6, 7]);
      // the kernel reads a key from and writes a value into slab memory
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 2,
      });
      bpf.mapUpdate(fd, Uint8Array.of(1, 0, 0, 0), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
      assert.deepEqual(
        [...bpf.mapLookup(fd, Uint8Array.of(1, 0, 0, 0), 8)],
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      assert.deepEqual(
        [...bpf.mapLookup(fd, Uint8Array.of(0, 0, 0, 0), 8)],
        [0, 0, 0, 0, 0, 0, 0, 0],
      );
      // a read is a copy, whether byte by byte (≤ 64 bytes) or sliced: later writes don't show
      for (const n of [8, 64, 65, 300]) {
        const a = b.memory.alloc(new Uint8Array(n).fill(1));
        const before = b.memory.read(a, n);
        b.memory.write(a, new Uint8Array(n).fill(2));
        assert.ok(
          before.every((x) => x === 1),
          `read of ${n} bytes is a copy`,
        );
        before.fill(3);
        assert.ok(b.memory.read(a, n).every((x) => x === 2));
        b.memory.free(a);
      }
      // a failed lookup throws the errno and frees its key and value buffers
      const live = b.memory.liveAllocations();
      assert.throws(
        () => bpf.mapLookup(fd, Uint8Array.of(9, 0, 0, 0), 8),
        (e: unknown) => e instanceof BpfError && e.errno === Errno.ENOENT,
      );
      assert.equal(b.memory.liveAllocations(), live);
      assert.throws(() => b.memory.free(init + 1n), RangeError);
    } finally {
      b.dispose();
    }
    assert.equal(b.memory.liveAllocations(), 0);
  });

  test("bpf(): fds, errno, attr size rules and write-back", () => {
    const b = new HostBackend();
    const bpf = new Bpf(b);
    try {
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 2,
      });
      assert.match(fdTarget(fd) ?? "", /anon_inode:bpf-map/);
      assert.deepEqual(b.openFds(), [fd]);
      const v = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      bpf.mapUpdate(fd, Uint8Array.of(1, 0, 0, 0), v);
      assert.deepEqual(bpf.mapLookup(fd, Uint8Array.of(1, 0, 0, 0), 8), v);
      // an unknown map type
      const attr = encode(
        MapCreateAttr,
        { map_type: 999, key_size: 4, value_size: 4, max_entries: 1 },
        72,
      );
      assert.equal(b.bpf(BpfCmd.MAP_CREATE, attr), -Errno.EINVAL);
      // a non-zero byte past the last field the kernel knows: E2BIG
      const big = new Uint8Array(256);
      big.set(
        encode(MapCreateAttr, { map_type: 2, key_size: 4, value_size: 4, max_entries: 1 }, 72),
      );
      big[250] = 1;
      assert.equal(b.bpf(BpfCmd.MAP_CREATE, big), -Errno.E2BIG);
      // size above a page: E2BIG without reading it
      assert.equal(b.bpf(BpfCmd.MAP_CREATE, attr, 8192), -Errno.E2BIG);
      // log_true_size is written back into the attr
      const p = bpf.progLoad({
        prog_type: ProgType.SYSCALL,
        prog_flags: BPF_F_SLEEPABLE,
        insns: encodeInsns([mov64Imm(0, 7), exit()]),
        log_size: 4096,
      });
      assert.ok(p.log_true_size > 0 && p.log_true_size === p.log.length + 1);
      assert.equal(bpf.progTestRun({ prog_fd: p.fd, ctx_in: new Uint8Array(8) }).retval, 7);
      assert.deepEqual(
        b.openFds(),
        [fd, p.fd].sort((x, y) => x - y),
      );
      assert.equal(b.close(p.fd), 0);
      assert.equal(b.close(p.fd), -Errno.EBADF);
    } finally {
      b.dispose();
    }
  });

  test("close() refuses fds the backend did not open", () => {
    const b = new HostBackend();
    try {
      assert.equal(b.close(1), -Errno.EBADF);
      assert.ok(fdTarget(1) !== null, "stdout is still open");
    } finally {
      b.dispose();
    }
  });

  test("mmap of an array is shared with the map; mprotect and munmap are tracked", () => {
    const b = new HostBackend();
    const bpf = new Bpf(b);
    try {
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.MMAPABLE,
      });
      const addr = bpf.mmap(fd, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
      b.memory.write(addr, Uint8Array.of(0xaa, 0xbb));
      assert.deepEqual([...bpf.mapLookup(fd, new Uint8Array(4), 8)].slice(0, 3), [0xaa, 0xbb, 0]);
      assert.equal(b.mprotect(addr, 4096, Prot.READ), 0);
      assert.throws(() => b.memory.write(addr, Uint8Array.of(1)), RangeError);
      assert.equal(b.mprotect(addr + 8192n, 4096, Prot.READ), -Errno.ENOMEM);
      assert.equal(b.munmap(addr, 4096), 0);
      assert.equal(b.munmap(addr, 4096), -Errno.EINVAL);
      assert.throws(() => b.memory.read(addr, 1), RangeError);
      assert.equal(b.mmap(4096, Prot.READ, MapFlags.SHARED, 1, 0), BigInt(-Errno.EBADF));
    } finally {
      b.dispose();
    }
  });

  test("dispose closes every fd and mapping and refuses later calls", () => {
    const b = new HostBackend();
    const bpf = new Bpf(b);
    const fds = [0, 1, 2].map(() =>
      bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.MMAPABLE,
      }),
    );
    bpf.mmap(fds[0], 4096, Prot.READ, MapFlags.SHARED);
    b.dispose();
    for (const fd of fds) assert.ok(!/bpf-map/.test(fdTarget(fd) ?? ""), `fd ${fd} closed`);
    assert.equal(b.memory.mappings().length, 0);
    assert.equal(b.memory.liveAllocations(), 0);
    assert.throws(
      () => bpf.mapCreate({ map_type: 2, key_size: 4, value_size: 4, max_entries: 1 }),
      HostDisposedError,
    );
  });

  test("keys: add_key/keyctl errnos, and dispose unlinks what was added", () => {
    const s = hostSession();
    try {
      const b = s.backend;
      assert.equal(new Bpf(b).keyringId(KeySpec.SESSION_KEYRING), s.sessionKeyring);
      const ring = b.addKey("keyring", "bpfsign-host-test", null, KeySpec.SESSION_KEYRING);
      assert.ok(ring > 0);
      const user = b.addKey("user", "bpfsign-host-user", Uint8Array.of(1, 2, 3), ring);
      assert.ok(user > 0);
      assert.equal(b.addKey("user", "x", null, 0x7fffffff), -Errno.ENOKEY);
      assert.equal(b.addKey("no-such-type", "x", null, ring), -Errno.ENODEV);
      assert.equal(b.keyctl(KeyctlOp.CLEAR, user), -Errno.ENOTDIR);
      // KEYCTL_READ of the keyring lists the user key
      const buf = b.memory.alloc(64);
      assert.equal(b.keyctl(KeyctlOp.READ, ring, Number(buf), 64), 4);
      assert.equal(new DataView(b.memory.read(buf, 4).buffer).getInt32(0, true), user);
      b.memory.free(buf);
      b.dispose();
      const probe = new HostBackend();
      try {
        // the keyring is no longer linked into the session keyring
        assert.equal(probe.keyctl(KeyctlOp.UNLINK, ring, KeySpec.SESSION_KEYRING), -Errno.ENOENT);
      } finally {
        probe.dispose();
      }
    } finally {
      s.dispose();
    }
  });
});
