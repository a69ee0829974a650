import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { metadataLayout } from "../../src/skeleton/metadata_layout.js";
import { MapType, ProgType } from "../../src/uapi/constants.js";
import { PROGS, readVector, skipVectors, TARGETS } from "../support/vectors.js";

test("the vector loaders' syscalls and records are recovered from their instructions", {
  skip: skipVectors,
}, () => {
  for (const prog of PROGS)
    for (const form of ["signed", "unsigned"]) {
      const data = readVector(prog, "data.bin");
      const l = metadataLayout(readVector(prog, `insns.${form}.bin`), data);
      assert.equal(l.syscalls[0].cmdName, "BTF_LOAD", `${prog} ${form}`);
      assert.equal(l.syscalls.at(-1)?.cmdName, "PROG_LOAD");
      assert.equal(l.progs.length, 1);
      assert.equal(l.progs[0].type, ProgType.SOCKET_FILTER);
      assert.equal(l.progs[0].license, "GPL");
      // Where the target's instructions sit agrees with the attr the vectors README describes.
      assert.equal(l.progs[0].insnsOffset, TARGETS[prog].insnsOff);
      assert.equal(l.progs[0].insn_cnt, TARGETS[prog].insnCnt);
      assert.equal(l.syscalls.at(-1)?.attr, TARGETS[prog].attrOff);
      const btf = l.regions.find((r) => r.kind === "btf");
      assert.ok(btf);
      assert.equal(btf.offset, 1280);
      assert.deepEqual([...data.subarray(1280, 1283)], [0x9f, 0xeb, 0x01]);
      // The regions tile the blob.
      let at = 0;
      for (const r of l.regions) {
        assert.equal(r.offset, at);
        at += r.size;
      }
      assert.equal(at, data.length);
      assert.equal(l.regions.filter((r) => r.kind === "unreferenced").length, 0);
    }
});

test("prog_d: three maps with the global-data initial values at 3264 and 3384", {
  skip: skipVectors,
}, () => {
  const data = readVector("prog_d", "data.bin");
  const l = metadataLayout(readVector("prog_d", "insns.signed.bin"), data);
  assert.deepEqual(
    l.maps.map((m) => [m.name, m.type, m.key_size, m.value_size, m.max_entries, m.flags]),
    [
      ["slots", MapType.ARRAY, 4, 8, 2, 0],
      ["prog_d.data", MapType.ARRAY, 4, 8, 1, 0x400],
      ["prog_d.rodata", MapType.ARRAY, 4, 4, 1, 0x480],
    ],
  );
  const values = l.regions.filter((r) => r.kind === "map_value");
  assert.deepEqual(
    values.map((r) => [r.offset, r.size]),
    [
      [3264, 8],
      [3384, 4],
    ],
  );
  assert.deepEqual([...data.subarray(3264, 3272)], [...readVector("prog_d", "mmap_data.bin")]);
  assert.deepEqual([...data.subarray(3384, 3388)], [...readVector("prog_d", "mmap_rodata.bin")]);
  assert.deepEqual(
    l.syscalls.map((s) => s.cmdName),
    [
      "BTF_LOAD",
      "MAP_CREATE",
      "MAP_CREATE",
      "MAP_UPDATE_ELEM",
      "MAP_CREATE",
      "MAP_UPDATE_ELEM",
      "MAP_FREEZE",
      "PROG_LOAD",
    ],
  );
  assert.match(l.regions.find((r) => r.kind === "map_freeze_attr")?.detail ?? "", /prog_d\.rodata/);
});

test("arbitrary instructions and blobs give a tiling of the blob, never an exception (300 runs)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 64 }),
      fc.uint8Array({ maxLength: 2048 }),
      (slots, data) => {
        const insns = new Uint8Array(slots.length * 8);
        slots.forEach((s, i) => {
          insns.set(s, i * 8);
        });
        const l = metadataLayout(insns, data);
        let at = 0;
        for (const r of l.regions) {
          assert.ok(r.offset <= at && r.size > 0);
          at = Math.max(at, r.offset + r.size);
        }
        assert.equal(at, data.length);
      },
    ),
    { numRuns: 300 },
  );
});
