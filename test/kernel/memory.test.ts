/**
 * The model process's address space and the kernel's user-memory access: allocations with
 * guard pages, faults as RangeError (user side) or undefined (kernel side, which syscalls turn
 * into EFAULT), protections, and the mmap / munmap / mprotect calls of a process.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AddressSpace, PAGE_SIZE } from "../../src/kernel/memory.js";
import { userAccess } from "../../src/kernel/uaccess.js";
import { MapFlags, Prot } from "../../src/uapi/backend.js";
import { BpfCmd, KeySpec, MapFlag, MapType, ProgType } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { ProgLoadAttr } from "../../src/uapi/layout.js";
import { errnoOf, RET0, sys, u32, world } from "./support.js";

describe("AddressSpace", () => {
  test("alloc: zeroed or a copy, page-aligned, above 0x10000000, never at 0 or 0x10", () => {
    const m = new AddressSpace();
    const a = m.alloc(10);
    const b = m.alloc(new Uint8Array([1, 2, 3]));
    assert.deepEqual(m.read(a, 10), new Uint8Array(10));
    assert.deepEqual(m.read(b, 3), new Uint8Array([1, 2, 3]));
    for (const x of [a, b]) {
      assert.equal(Number(x) % PAGE_SIZE, 0);
      assert.ok(x >= 0x10000000n);
    }
    assert.equal(m.find(0), undefined);
    assert.equal(m.find(0x10), undefined);
  });

  test("alloc copies its input: later changes to the source do not show", () => {
    const m = new AddressSpace();
    const src = new Uint8Array([9, 9]);
    const a = m.alloc(src);
    src[0] = 0;
    assert.deepEqual(m.read(a, 2), new Uint8Array([9, 9]));
  });

  test("allocations are separated by an unmapped guard page", () => {
    const m = new AddressSpace();
    const a = m.alloc(PAGE_SIZE);
    const b = m.alloc(8);
    assert.ok(b - a >= BigInt(2 * PAGE_SIZE));
    assert.throws(() => m.read(a, PAGE_SIZE + 1), RangeError);
    assert.throws(() => m.write(a + BigInt(PAGE_SIZE), new Uint8Array(1)), RangeError);
    assert.equal(m.view(Number(a) + PAGE_SIZE, 1), undefined);
  });

  test("a read past the end of a small allocation faults", () => {
    const m = new AddressSpace();
    const a = m.alloc(16);
    assert.deepEqual(m.read(a + 8n, 8), new Uint8Array(8));
    assert.throws(() => m.read(a + 8n, 9), RangeError);
  });

  test("free unmaps; freeing twice or not at the start throws", () => {
    const m = new AddressSpace();
    const a = m.alloc(16);
    assert.throws(() => m.free(a + 1n), RangeError);
    m.free(a);
    assert.throws(() => m.read(a, 1), RangeError);
    assert.throws(() => m.free(a), RangeError);
  });

  test("a failed copyOut writes nothing (the whole range is checked first)", () => {
    const m = new AddressSpace();
    const a = m.alloc(4);
    assert.equal(m.copyOut(Number(a), new Uint8Array([1, 2, 3, 4, 5])), false);
    assert.deepEqual(m.read(a, 4), new Uint8Array(4));
  });

  test("a zero-length allocation holds no byte: touching it faults (and does not hang)", () => {
    const m = new AddressSpace();
    const a = m.alloc(0);
    assert.ok(m.find(Number(a)));
    assert.deepEqual(m.read(a, 0), new Uint8Array(0));
    assert.throws(() => m.read(a, 1), RangeError);
    assert.throws(() => m.write(a, new Uint8Array(1)), RangeError);
    assert.equal(m.view(Number(a), 4), undefined);
  });

  test("readCString stops at the NUL or at max, and faults past the mapping", () => {
    const m = new AddressSpace();
    const a = m.alloc(new TextEncoder().encode("GPL\0junk"));
    assert.equal(m.readCString(Number(a), 128), "GPL");
    assert.equal(m.readCString(Number(a), 2), "GP");
    const b = m.alloc(new TextEncoder().encode("abc"));
    assert.equal(m.readCString(Number(b), 128), undefined, "no NUL before the guard page");
  });

  test("PROT_NONE makes a region unreadable for the kernel too", () => {
    const m = new AddressSpace();
    const a = m.alloc(8);
    const r = m.find(Number(a));
    assert.ok(r);
    r.prot = Prot.NONE;
    assert.equal(m.view(Number(a), 8), undefined);
    assert.equal(m.copyIn(Number(a), 8), undefined);
    assert.throws(() => m.read(a, 8), RangeError);
  });
});

describe("userAccess (copy_from_user / copy_to_user)", () => {
  test("NULL and addresses that do not fit are faults; zero-length accesses always succeed", () => {
    const m = new AddressSpace();
    const u = userAccess(m);
    assert.equal(u.is_kernel, false);
    assert.equal(u.read(0n, 1), undefined);
    assert.equal(u.read(1n << 60n, 1), undefined);
    assert.deepEqual(u.read(0n, 0), new Uint8Array(0));
    assert.equal(u.write(0n, new Uint8Array(0)), true);
    assert.equal(u.write(0x10n, new Uint8Array(1)), false);
    assert.equal(u.readCString(0n, 10), undefined);
  });

  test("reads and writes go to the process's memory", () => {
    const m = new AddressSpace();
    const u = userAccess(m);
    const a = m.alloc(8);
    assert.equal(u.write(a, new Uint8Array([7, 7])), true);
    assert.deepEqual(u.read(a, 2), new Uint8Array([7, 7]));
  });
});

describe("syscalls see the protections", () => {
  test("a signature in an empty buffer with signature_size 64 → EFAULT", () => {
    const { bpf } = world();
    const errno = errnoOf(() =>
      bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns: RET0,
        signature: new Uint8Array(0),
        signature_size: 64,
        keyring_id: KeySpec.SESSION_KEYRING,
      }),
    );
    assert.equal(errno, Errno.EFAULT);
  });

  test("insns in a PROT_NONE mapping → EFAULT; back to PROT_READ → loads", () => {
    const w = world();
    const code = w.proc.memory.alloc(RET0);
    const license = w.proc.memory.alloc(new TextEncoder().encode("GPL\0"));
    const attr = { prog_type: ProgType.SOCKET_FILTER, insn_cnt: 2, insns: code, license };
    assert.equal(w.proc.mprotect(code, 16, Prot.NONE), 0);
    assert.equal(sys(w.proc, BpfCmd.PROG_LOAD, ProgLoadAttr, attr).ret, -Errno.EFAULT);
    assert.equal(w.proc.mprotect(code, 16, Prot.READ), 0);
    assert.ok(sys(w.proc, BpfCmd.PROG_LOAD, ProgLoadAttr, attr).ret >= 3);
  });

  test("a lookup into a read-only buffer → EFAULT", () => {
    const w = world();
    const fd = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 1,
    });
    const out = w.proc.memory.alloc(4);
    w.proc.mprotect(out, 4, Prot.READ);
    const key = w.proc.memory.alloc(u32(0));
    const attr = new Uint8Array(32);
    const dv = new DataView(attr.buffer);
    dv.setUint32(0, fd, true);
    dv.setBigUint64(8, key, true);
    dv.setBigUint64(16, out, true);
    assert.equal(w.proc.bpf(BpfCmd.MAP_LOOKUP_ELEM, attr, 32), -Errno.EFAULT);
  });
});

describe("process mmap / munmap / mprotect", () => {
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

  test("mmap of a non-map fd → ENODEV; of a closed fd → EBADF; bad length/offset → EINVAL", () => {
    const { proc, bpf, fd } = mmapable();
    const { fd: prog } = bpf.progLoad({ prog_type: ProgType.SOCKET_FILTER, insns: RET0 });
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.SHARED, prog), BigInt(-Errno.ENODEV));
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.SHARED, 99), BigInt(-Errno.EBADF));
    assert.equal(proc.mmap(0, Prot.READ, MapFlags.SHARED, fd), BigInt(-Errno.EINVAL));
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.SHARED, fd, 100), BigInt(-Errno.EINVAL));
  });

  test("a writable shared mapping of a read-only fd → EACCES", () => {
    const { proc, bpf, fd } = mmapable();
    const ro = bpf.mapGetFdById(bpf.mapInfo(fd).id, MapFlag.RDONLY);
    assert.equal(
      proc.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.SHARED, ro),
      BigInt(-Errno.EACCES),
    );
    assert.ok(proc.mmap(4096, Prot.READ, MapFlags.SHARED, ro) > 0n);
  });

  test("munmap needs the start of a mapping; mprotect of an unmapped address → ENOMEM", () => {
    const { proc, bpf, fd } = mmapable();
    const addr = bpf.mmap(fd, 4096, Prot.READ, MapFlags.SHARED);
    assert.equal(proc.munmap(addr + 8n, 4096), -Errno.EINVAL);
    assert.equal(proc.munmap(0x10n, 4096), -Errno.EINVAL);
    assert.equal(proc.munmap(addr, 0), -Errno.EINVAL);
    assert.equal(proc.munmap(addr, 4096), 0);
    assert.equal(proc.munmap(addr, 4096), -Errno.EINVAL, "already unmapped");
    assert.equal(proc.mprotect(addr, 4096, Prot.READ), -Errno.ENOMEM);
  });

  test("a mapping shares the map's storage: a RW map write shows through a RO mapping", () => {
    const { proc, bpf, fd } = mmapable();
    const ro = bpf.mmap(fd, 4096, Prot.READ, MapFlags.SHARED);
    const rw = bpf.mmap(fd, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
    proc.memory.write(rw, u32(0xcafe));
    assert.deepEqual(proc.memory.read(ro, 4), u32(0xcafe));
    assert.throws(() => proc.memory.write(ro, u32(1)), RangeError);
  });

  test("exit unmaps nothing it does not own but closes every fd", () => {
    const { proc, kernel, fd } = mmapable();
    assert.ok(kernel.maps.size === 1);
    proc.exit();
    assert.deepEqual(proc.bpfFds(), []);
    assert.equal(kernel.maps.size, 0);
    assert.equal(proc.close(fd), -Errno.EBADF);
  });
});
