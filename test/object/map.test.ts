/** Map naming and sizing rules of libbpf's object layer. */

import assert from "node:assert/strict";
import { test } from "node:test";
import { adjustRingbufSz, internalMapName } from "../../src/object/map.js";

test("map: internal_map_name keeps 8 object characters for .data/.rodata/.bss, 7 for .kconfig", () => {
  assert.equal(internalMapName("my_object_name", ".rodata"), "my_objec.rodata");
  assert.equal(internalMapName("my_object_name", ".data"), "my_objec.data");
  assert.equal(internalMapName("my_object_name", ".bss"), "my_objec.bss");
  assert.equal(internalMapName("my_object_name", ".kconfig"), "my_obje.kconfig");
  assert.equal(internalMapName("globals", ".rodata"), "globals.rodata");
});

test("map: custom .data.*/.rodata.* sections drop the object name and keep 15 characters", () => {
  assert.equal(internalMapName("globals", ".data.custom"), ".data.custom");
  assert.equal(internalMapName("globals", ".rodata.str1.1"), ".rodata.str1.1");
  assert.equal(internalMapName("obj", ".rodata.abracadabra"), ".rodata.abracad");
});

test("map: internal_map_name replaces characters the kernel refuses with '_'", () => {
  assert.equal(internalMapName("my-obj+x", ".bss"), "my_obj_x.bss");
  assert.equal(internalMapName("a", ".data"), "a.data");
});

test("map: ringbuf sizes round up to a power-of-two number of pages", () => {
  assert.equal(adjustRingbufSz(5000, 4096), 8192);
  assert.equal(adjustRingbufSz(16384, 4096), 16384);
  assert.equal(adjustRingbufSz(12288, 4096), 16384);
  assert.equal(adjustRingbufSz(4096, 4096), 4096);
  assert.equal(adjustRingbufSz(1, 65536), 65536);
  assert.equal(adjustRingbufSz(0, 4096), 0);
});
