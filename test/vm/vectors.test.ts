import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mapKernelAddress } from "../../src/kernel/verifier.js";
import { MapType, ProgType } from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { createModelKernel } from "../../src/vm/index.js";
import { hex, PROGS, skipVectors, TARGETS } from "../support/vectors.js";
import { loadAndRunVector } from "./lskel.js";

const MODES = ["signed", "excl", "unsigned"] as const;
const PACKET = new Uint8Array(64);
/** xlated_prog_len / 8 of the installed programs on this machine's kernel (JIT on, root). */
const XLATED_CNT = { prog_a: 2, prog_b: 35, prog_d: 24 } as const;

function u64s(b: Uint8Array): bigint[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 8 }, (_, i) => dv.getBigUint64(i * 8, true));
}

describe("vector loaders run on the model kernel", { skip: skipVectors }, () => {
  for (const prog of PROGS) {
    for (const mode of MODES) {
      it(`${prog} (${mode}): the loader installs what the real kernel showed`, () => {
        const kernel = createModelKernel();
        const proc = kernel.spawn();
        const r = loadAndRunVector(kernel, proc, prog, { mode });
        assert.equal(r.retval, 0, kernel.lastRunError?.message);
        const [progFd] = r.progFds;
        // Only the installed objects stay open: the BTF fd was closed by the loader itself,
        // the loader map and program by bpf_load_and_run.
        assert.deepEqual(proc.bpfFds(), [...r.mapFds, progFd]);
        const info = r.bpf.progInfo(progFd);
        assert.equal(info.type, ProgType.SOCKET_FILTER);
        assert.equal(hex(info.tag), TARGETS[prog].tag);
        assert.equal(info.gpl_compatible, true);
        // As the real kernel: each bpf_map_lookup_elem on an ARRAY map is inlined (7 insns).
        assert.equal(info.xlated_prog_len / 8, XLATED_CNT[prog]);
        assert.equal(info.nr_func_info, 1);
        assert.ok(info.btf_id > 0);
        const run = (n: number) =>
          r.bpf.progTestRun({ prog_fd: progFd, data_in: PACKET, repeat: n });
        if (prog === "prog_a") {
          assert.equal(info.name, "ret_const");
          assert.equal(info.nr_line_info, 1);
          assert.equal(run(1).retval, 42);
        } else if (prog === "prog_b") {
          assert.equal(info.name, "count_pkts");
          assert.equal(info.nr_line_info, 13);
          const m = r.bpf.mapInfo(r.mapFds[0]);
          assert.deepEqual(
            [
              m.name,
              m.type,
              m.key_size,
              m.value_size,
              m.max_entries,
              m.map_flags,
              m.btf_key_type_id,
              m.btf_value_type_id,
            ],
            ["counters", MapType.ARRAY, 4, 8, 4, 0, 8, 11],
          );
          assert.deepEqual(info.map_id_list, [m.id]);
          for (let i = 0; i < 3; i++) assert.equal(run(1).retval, 0);
          const c = r.bpf.mapLookup(r.mapFds[0], new Uint8Array(4), 8);
          const c1 = r.bpf.mapLookup(r.mapFds[0], new Uint8Array([1, 0, 0, 0]), 8);
          assert.deepEqual([...u64s(c), ...u64s(c1)], [3n, 150n]);
        } else {
          assert.equal(info.name, "ret_magic");
          assert.equal(info.nr_line_info, 10);
          const [slots, data, rodata] = r.mapFds.map((fd) => r.bpf.mapInfo(fd));
          assert.deepEqual(
            [slots.name, slots.max_entries, slots.btf_key_type_id, slots.btf_value_type_id],
            ["slots", 2, 6, 9],
          );
          assert.deepEqual(
            [data.name, data.value_size, data.map_flags, data.btf_value_type_id],
            ["prog_d.data", 8, 0x400, 32],
          );
          assert.deepEqual(
            [rodata.name, rodata.value_size, rodata.map_flags, rodata.btf_value_type_id],
            ["prog_d.rodata", 4, 0x480, 34],
          );
          assert.equal(run(1).retval >>> 0, 0xabad1ded);
          run(2);
          const s = [0, 1].map(
            (k) => u64s(r.bpf.mapLookup(r.mapFds[0], new Uint8Array([k, 0, 0, 0]), 8))[0],
          );
          assert.deepEqual(s, [3n, 0n]);
          assert.deepEqual(u64s(r.bpf.mapLookup(r.mapFds[1], new Uint8Array(4), 8)), [
            0x5eed1234abad1dean,
          ]);
          assert.throws(
            () => r.bpf.mapUpdate(r.mapFds[2], new Uint8Array(4), new Uint8Array(4)),
            (e: unknown) => e instanceof BpfError && e.errno === Errno.EPERM,
          );
        }
      });
    }
  }

  it("prog_b: the unsigned loader takes max_entries from the context, the signed one does not", () => {
    for (const [mode, want] of [
      ["unsigned", 16],
      ["excl", 4],
      ["signed", 4],
    ] as const) {
      const kernel = createModelKernel();
      const r = loadAndRunVector(kernel, kernel.spawn(), "prog_b", {
        mode,
        maps: [{ max_entries: 16 }],
      });
      assert.equal(r.bpf.mapInfo(r.mapFds[0]).max_entries, want, mode);
    }
  });

  it("prog_d: the unsigned loader copies initial_value from user memory (bpf_copy_from_user)", () => {
    for (const [mode, want] of [
      ["unsigned", 0x40404043],
      ["signed", 0xabad1ded],
    ] as const) {
      const kernel = createModelKernel();
      const proc = kernel.spawn();
      const init = proc.memory.alloc(new Uint8Array(64).fill(0x40));
      const r = loadAndRunVector(kernel, proc, "prog_d", {
        mode,
        maps: [{}, { initial_value: init }],
      });
      const ret = r.bpf.progTestRun({ prog_fd: r.progFds[0], data_in: PACKET }).retval >>> 0;
      assert.equal(ret, want, mode);
    }
  });

  it("a bad initial_value pointer fails the loader with -EFAULT in retval", () => {
    const kernel = createModelKernel();
    const proc = kernel.spawn();
    const r = loadAndRunVector(kernel, proc, "prog_d", {
      mode: "unsigned",
      maps: [{}, { initial_value: 0x10n }],
    });
    // bpf_copy_from_user zero-fills and returns -EFAULT; the loader goes on with a zeroed value.
    assert.equal(r.retval, 0);
    const v = r.bpf.mapLookup(r.mapFds[1], new Uint8Array(4), 8);
    assert.deepEqual([...v], [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("map values the loader wrote stay at the map's kernel address", () => {
    const kernel = createModelKernel();
    const proc = kernel.spawn();
    const r = loadAndRunVector(kernel, proc, "prog_b", { mode: "signed", keep: true });
    const f = proc.file(r.loaderFds.map);
    assert.ok(f?.kind === "map");
    // The loader stored the created map's fd into fd_array slot 0 of the blob (its scratch area).
    const blob = f.map.storage;
    assert.equal(new DataView(blob.buffer, blob.byteOffset).getInt32(0, true), r.mapFds[0]);
    assert.ok(mapKernelAddress(f.map) > 0xffff000000000000n);
  });
});
