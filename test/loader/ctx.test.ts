import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeLoaderCtx,
  encodeLoaderCtx,
  loaderCtxSize,
  mapDescOffset,
  progDescOffset,
} from "../../src/loader/ctx.js";

test("ctx sizes match the skeletons of the vectors (prog_a 28, prog_b 44, prog_d 76)", () => {
  assert.equal(loaderCtxSize(0, 1), 28);
  assert.equal(loaderCtxSize(1, 1), 44);
  assert.equal(loaderCtxSize(3, 1), 76);
  assert.equal(mapDescOffset(2), 56);
  assert.equal(progDescOffset(3, 0), 72);
});

test("encodeLoaderCtx lays out sz, log fields and map descriptor inputs little-endian", () => {
  const ctx = encodeLoaderCtx({
    nrMaps: 2,
    nrProgs: 1,
    log_level: 1,
    log_size: 4096,
    log_buf: 0x1122334455667788n,
    maps: [{}, { max_entries: 16, initial_value: 0x7f0000001000n }],
  });
  const dv = new DataView(ctx.buffer);
  assert.equal(ctx.length, 60);
  assert.equal(dv.getUint32(0, true), 60);
  assert.equal(dv.getUint32(4, true), 0);
  assert.equal(dv.getUint32(8, true), 1);
  assert.equal(dv.getUint32(12, true), 4096);
  assert.equal(dv.getBigUint64(16, true), 0x1122334455667788n);
  assert.equal(dv.getUint32(24 + 4, true), 0);
  assert.equal(dv.getUint32(40 + 4, true), 16);
  assert.equal(dv.getBigUint64(40 + 8, true), 0x7f0000001000n);
  assert.throws(() => encodeLoaderCtx({ nrMaps: 0, nrProgs: 1, maps: [{}] }), RangeError);
});

test("decodeLoaderCtx reads the fds the loader wrote", () => {
  const ctx = encodeLoaderCtx({ nrMaps: 2, nrProgs: 2 });
  const dv = new DataView(ctx.buffer);
  dv.setInt32(24, 5, true);
  dv.setInt32(40, 6, true);
  dv.setInt32(56, 7, true);
  dv.setInt32(60, -1, true);
  assert.deepEqual(decodeLoaderCtx(ctx, 2, 2), { map_fds: [5, 6], prog_fds: [7, -1] });
  assert.throws(() => decodeLoaderCtx(ctx.subarray(0, 60), 2, 2), /60 bytes, 64 needed/);
});
