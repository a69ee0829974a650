import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DEBIAN_DIALECT,
  parseLightSkeleton,
  writeLightSkeleton,
  writeSignedSkeleton,
} from "../../src/skeleton/index.js";
import { BPF_PROGRAMS, buildLightSkeleton, toolchainMissing } from "../support/bpftool.js";

const missing = toolchainMissing();
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

describe("headers from this machine's bpftool (gen skeleton -L)", () => {
  for (const name of BPF_PROGRAMS) {
    test(`${name}: parses, loader arrays well formed, writes back byte for byte`, (t) => {
      if (missing) return t.skip(missing);
      const { header } = buildLightSkeleton(name);
      const s = parseLightSkeleton(header);
      assert.equal(s.name, name);
      assert.deepEqual(s.dialect, DEBIAN_DIALECT);
      assert.deepEqual(s.progs, [{ name, attach: { kind: "none" } }]);
      assert.deepEqual(s.links, [`${name}_fd`]);
      assert.equal(s.signature, null);
      assert.equal(s.exclHash, null);
      assert.equal(s.hasKeyringId, false);
      assert.equal(s.insns.length % 8, 0);
      assert.ok(s.insns.length > 0);
      // metadata blob: the 1280-byte fd_array scratch area, then the object's raw BTF
      assert.ok(s.data.subarray(0, 1280).every((b) => b === 0));
      assert.deepEqual(s.data.subarray(1280, 1283), bytes(0x9f, 0xeb, 0x01));
      assert.equal(s.data.length % 8, 0);
      // the first loader instruction saves the ctx: r6 = r1
      assert.deepEqual(s.insns.subarray(0, 2), bytes(0xbf, 0x16));
      assert.deepEqual(Buffer.from(writeLightSkeleton(s)), header);
    });
  }

  test("const_ret: no maps, ctx of 28 bytes", (t) => {
    if (missing) return t.skip(missing);
    const s = parseLightSkeleton(buildLightSkeleton("const_ret").header);
    assert.deepEqual(s.maps, []);
    assert.equal(s.ctxSize, 24 + 4);
    assert.deepEqual(s.views, []);
  });

  test("array_count: one ARRAY map without initial value, ctx of 44 bytes", (t) => {
    if (missing) return t.skip(missing);
    const s = parseLightSkeleton(buildLightSkeleton("array_count").header);
    assert.deepEqual(s.maps, [{ name: "hits", mmap: null }]);
    assert.equal(s.ctxSize, 44);
  });

  test("global_data: .data/.rodata/.bss initial values as the C source declares them", (t) => {
    if (missing) return t.skip(missing);
    const s = parseLightSkeleton(buildLightSkeleton("global_data").header);
    assert.deepEqual(
      s.maps.map((m) => m.name),
      ["seen", "data", "rodata", "bss"],
    );
    assert.equal(s.maps[0].mmap, null);
    const [data, rodata, bss] = s.maps.slice(1).map((m) => m.mmap!);
    // __u64 bias = 0x1122334455667788; __u32 tag = 0xcafe: 12 bytes, value_size unpadded
    assert.deepEqual(
      data.initialValue,
      bytes(0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xfe, 0xca, 0, 0),
    );
    assert.equal(data.valueSize, 12);
    assert.equal(data.readOnly, false);
    assert.deepEqual(rodata.initialValue, bytes(5, 0, 0, 0));
    assert.equal(rodata.readOnly, true);
    assert.deepEqual(bss.initialValue, new Uint8Array(8));
    assert.equal(bss.readOnly, false);
    for (const m of [data, rodata, bss]) assert.equal(m.mmapSize, 4096);
    assert.equal(s.ctxSize, 24 + 4 * 16 + 4);
    assert.deepEqual(
      s.views.map((v) => v.ident),
      ["data", "rodata", "bss"],
    );
    assert.deepEqual(s.views[1].lines, [
      "\tstruct global_data__rodata {",
      "\t\t__u32 factor;",
      "\t} *rodata;",
    ]);
    assert.equal(s.asserts?.length, 4);
  });

  test("global_data: the signed v2 form of a Debian header reads back with the same values", (t) => {
    if (missing) return t.skip(missing);
    const s = parseLightSkeleton(buildLightSkeleton("global_data").header);
    const sig = bytes(0x30, 0x82, 0x01, 0x00);
    const signed = parseLightSkeleton(writeSignedSkeleton(s, { signature: sig }));
    assert.deepEqual(signed.signature, sig);
    assert.equal(signed.hasKeyringId, true);
    assert.deepEqual(signed.maps, s.maps);
    assert.deepEqual(signed.data, s.data);
    assert.deepEqual(signed.insns, s.insns);
    assert.equal(signed.ctxSize, s.ctxSize);
  });
});
