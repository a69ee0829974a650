import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import * as layouts from "../../src/uapi/layout.js";
import {
  decode,
  encode,
  type Layout,
  MapElemAttr,
  mapElemAttr,
  offsetofend,
  ProgLoadAttr,
  readField,
} from "../../src/uapi/layout.js";

/** Every layout the module exports (objects whose values are all fields). */
const ALL: [string, Layout][] = (Object.entries(layouts) as [string, unknown][]).filter(
  (e): e is [string, Layout] =>
    typeof e[1] === "object" &&
    e[1] !== null &&
    Object.getPrototypeOf(e[1]) === Object.prototype &&
    Object.values(e[1]).length > 0 &&
    Object.values(e[1]).every((f) => typeof f === "object" && f !== null && "off" in f),
);

test("the decoders cover every exported layout", () => {
  const names = ALL.map(([n]) => n);
  for (const n of ["MapCreateAttr", "ProgLoadAttr", "MapInfo", "ProgInfo", "BtfInfo"])
    assert.ok(names.includes(n), n);
});

test("property: decode of any bytes, short or long, equals reading each field alone", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ALL),
      fc.uint8Array({ maxLength: 400 }),
      ([name, layout], bytes) => {
        const got = decode(layout, bytes) as Record<string, unknown>;
        assert.deepEqual(Object.keys(got), Object.keys(layout), name);
        for (const [field, f] of Object.entries(layout))
          assert.deepEqual(got[field], readField(bytes, f), `${name}.${field}`);
      },
    ),
    { numRuns: 500, seed: 11 },
  );
});

test("decode zero-extends a short attr and never reads past the layout", () => {
  const short = encode(ProgLoadAttr, { prog_type: 31, insn_cnt: 4 }, 8);
  const a = decode(ProgLoadAttr, short);
  assert.equal(a.prog_type, 31);
  assert.equal(a.insn_cnt, 4);
  assert.equal(a.insns, 0n);
  assert.equal(a.keyring_id, 0);
  // bytes fields are copies, not views of the attr
  const full = encode(ProgLoadAttr, { prog_name: new Uint8Array(16).fill(0x41) }, 200);
  const d = decode(ProgLoadAttr, full);
  full.fill(0);
  assert.ok(d.prog_name.every((x) => x === 0x41));
  assert.equal(offsetofend(ProgLoadAttr, "keyring_id"), 168);
});

test("mapElemAttr makes the bytes encode(MapElemAttr) makes", () => {
  fc.assert(
    fc.property(
      fc.nat(0x7fffffff),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      (fd, key, value, flags) => {
        assert.deepEqual(
          mapElemAttr(fd, key, value, flags),
          encode(MapElemAttr, { map_fd: fd, key, value, flags }, 32),
        );
      },
    ),
    { numRuns: 300, seed: 12 },
  );
});
