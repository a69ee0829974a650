/**
 * A model process's file descriptor table: stdio on 0, 1 and 2 (open fds that are no BPF
 * objects, so BPF lookups of them fail with EINVAL rather than EBADF), lowest-free-fd
 * allocation, RLIMIT_NOFILE, close and exit.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ldMapFd } from "../../src/insn/index.js";
import { MapFlags, Prot } from "../../src/uapi/backend.js";
import { BpfCmd, MapType } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { InfoAttr } from "../../src/uapi/layout.js";
import { errnoOf, insns, load, RET0, socketFilter, sys, u32, world } from "./support.js";

const ARRAY = { map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 1 };

describe("stdio fds", () => {
  test("a new process has 0, 1 and 2 open and no BPF fds; the first object gets fd 3", () => {
    const { proc, bpf } = world();
    assert.deepEqual(proc.openFds(), [0, 1, 2]);
    assert.deepEqual(proc.bpfFds(), []);
    assert.equal(proc.file(0)?.kind, "other");
    assert.equal(bpf.mapCreate(ARRAY), 3);
  });

  test("as a map fd: element ops and freeze → EINVAL (a closed fd would be EBADF)", () => {
    const { bpf } = world();
    for (const fd of [0, 1, 2]) {
      assert.equal(
        errnoOf(() => bpf.mapLookup(fd, u32(0), 8)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => bpf.mapUpdate(fd, u32(0), new Uint8Array(8))),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => bpf.mapFreeze(fd)),
        Errno.EINVAL,
      );
    }
    assert.equal(
      errnoOf(() => bpf.mapFreeze(5)),
      Errno.EBADF,
    );
  });

  test("in ld_imm64 MAP_FD and in fd_array → EINVAL, with the verifier's log lines", () => {
    const { bpf } = world();
    let r = load(bpf, socketFilter(insns(ldMapFd(1, 0), RET0), { log_size: 4096 }));
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /fd 0 is not pointing to valid bpf_map\n/);
    r = load(bpf, socketFilter(RET0, { fd_array: [1], fd_array_cnt: 1, log_size: 4096 }));
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /fd 1 is not pointing to valid bpf_map or btf\n/);
  });

  test("as btf_fd of a map with BTF type ids → EINVAL", () => {
    const { bpf } = world();
    assert.equal(
      errnoOf(() =>
        bpf.mapCreate({ ...ARRAY, btf_fd: 0, btf_key_type_id: 1, btf_value_type_id: 1 }),
      ),
      Errno.EINVAL,
    );
  });

  test("OBJ_GET_INFO_BY_FD on stdio → EINVAL; mmap of stdio → ENODEV", () => {
    const { proc } = world();
    const info = proc.memory.alloc(104);
    assert.equal(
      sys(proc, BpfCmd.OBJ_GET_INFO_BY_FD, InfoAttr, { bpf_fd: 2, info_len: 104, info }, 16).ret,
      -Errno.EINVAL,
    );
    assert.equal(proc.mmap(4096, Prot.READ, MapFlags.SHARED, 0), BigInt(-Errno.ENODEV));
  });

  test("closing stdin frees fd 0 for the next object", () => {
    const { proc, bpf } = world();
    assert.equal(proc.close(0), 0);
    assert.equal(proc.close(0), -Errno.EBADF);
    assert.equal(bpf.mapCreate(ARRAY), 0);
    assert.equal(
      errnoOf(() => bpf.mapLookup(0, u32(0), 8)),
      0,
    );
  });
});

describe("fd allocation", () => {
  test("the lowest free fd is reused", () => {
    const { bpf } = world();
    const a = bpf.mapCreate(ARRAY);
    const b = bpf.mapCreate(ARRAY);
    bpf.mapCreate(ARRAY);
    bpf.close(b);
    assert.equal(bpf.mapCreate(ARRAY), b);
    assert.equal(a, 3);
  });

  test("RLIMIT_NOFILE (1024): the next create fails with EMFILE and leaves no map behind", () => {
    const { bpf, kernel, proc } = world();
    for (let i = 3; i < 1024; i++) bpf.mapCreate(ARRAY);
    assert.equal(proc.openFds().length, 1024);
    const maps = kernel.maps.size;
    assert.equal(
      errnoOf(() => bpf.mapCreate(ARRAY)),
      Errno.EMFILE,
    );
    assert.equal(kernel.maps.size, maps, "the map was put again");
    const r = load(bpf, socketFilter(RET0));
    assert.equal(r.errno, Errno.EMFILE);
    assert.equal(kernel.progs.size, 0);
  });

  test("exit closes every fd and releases the objects", () => {
    const { bpf, kernel, proc } = world();
    bpf.mapCreate(ARRAY);
    bpf.progLoad(socketFilter(RET0));
    proc.exit();
    assert.deepEqual(proc.openFds(), []);
    assert.equal(kernel.maps.size, 0);
    assert.equal(kernel.progs.size, 0);
  });

  test("fds are per process: another process's fd number means nothing here", () => {
    const { bpf, kernel } = world();
    const fd = bpf.mapCreate(ARRAY);
    const other = kernel.spawn();
    assert.equal(other.close(fd), -Errno.EBADF);
    assert.equal(other.bpf(BpfCmd.MAP_FREEZE, u32(fd), 4), -Errno.EBADF);
  });
});
