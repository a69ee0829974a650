import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  encodeInsns,
  exit,
  InsnFormatError,
  ldxMem,
  mov64Reg,
  program,
  Size,
} from "../../src/insn/index.js";
import { detectHostOverrides, parseLightSkeleton } from "../../src/skeleton/index.js";
import { buildLightSkeleton, toolchainMissing } from "../support/bpftool.js";
import { readVector, skipVectors } from "../support/vectors.js";

describe("host overrides in the vector loaders", { skip: skipVectors }, () => {
  test("signed loaders read nothing but the log fields from the ctx", () => {
    for (const prog of ["prog_a", "prog_b", "prog_d"] as const) {
      const r = detectHostOverrides(readVector(prog, "insns.signed.bin"));
      assert.equal(r.overridable, false, prog);
      assert.deepEqual(r.maps, [], prog);
      assert.deepEqual(r.copyFromUserCalls, [], prog);
      assert.deepEqual(r.unresolved, [], prog);
      assert.deepEqual(
        new Set(r.ctxReads.map((x) => x.field)),
        new Set(["log_level", "log_size", "log_buf"]),
        prog,
      );
    }
  });

  test("prog_a: no maps, the unsigned loader is the signed one", () => {
    assert.equal(
      detectHostOverrides(readVector("prog_a", "insns.unsigned.bin")).overridable,
      false,
    );
  });

  test("prog_b unsigned: counters.max_entries patches the MAP_CREATE attr", () => {
    const r = detectHostOverrides(readVector("prog_b", "insns.unsigned.bin"), {
      maps: ["counters"],
    });
    assert.equal(r.overridable, true);
    assert.equal(r.maps.length, 1);
    const [m] = r.maps;
    assert.equal(m.name, "counters");
    assert.deepEqual(m.fields, ["max_entries"]);
    assert.equal(m.maxEntries?.ctxOffset, 24 + 4);
    assert.equal(m.maxEntries?.attrOffset, 3072);
    // the attr at that blob offset is the BPF_MAP_CREATE of counters: ARRAY, 4, 8, 4 entries
    const attr = Buffer.from(readVector("prog_b", "data.bin")).subarray(3072, 3072 + 72);
    assert.deepEqual(
      [attr.readUInt32LE(0), attr.readUInt32LE(4), attr.readUInt32LE(8), attr.readUInt32LE(12)],
      [2, 4, 8, 4],
    );
    assert.equal(attr.subarray(28, 36).toString("latin1"), "counters");
    assert.equal(m.initialValue, null);
  });

  test("prog_d unsigned: slots.max_entries; data and rodata max_entries and initial_value", () => {
    const r = detectHostOverrides(readVector("prog_d", "insns.unsigned.bin"), {
      maps: ["slots", "data", "rodata"],
    });
    assert.equal(r.overridable, true);
    assert.deepEqual(
      r.maps.map((m) => [m.name, m.fields]),
      [
        ["slots", ["max_entries"]],
        ["data", ["initial_value", "max_entries"]],
        ["rodata", ["initial_value", "max_entries"]],
      ],
    );
    const data = r.maps[1].initialValue!;
    const rodata = r.maps[2].initialValue!;
    // the vectors README: .data value at 3264 (8 bytes), .rodata at 3384 (4 bytes)
    assert.deepEqual([data.ctxOffset, data.valueOffset, data.size], [24 + 16 + 8, 3264, 8]);
    assert.deepEqual([rodata.ctxOffset, rodata.valueOffset, rodata.size], [24 + 32 + 8, 3384, 4]);
    assert.deepEqual(data.helpers, ["bpf_copy_from_user", "bpf_probe_read_kernel"]);
    assert.equal(r.copyFromUserCalls.length, 2);
    assert.deepEqual(r.unresolved, []);
  });
});

describe("host overrides in loaders from this machine's bpftool", () => {
  test("array_count: hits.max_entries", (t) => {
    const missing = toolchainMissing();
    if (missing) return t.skip(missing);
    const s = parseLightSkeleton(buildLightSkeleton("array_count").header);
    const r = detectHostOverrides(s.insns, { maps: s.maps.map((m) => m.name) });
    assert.deepEqual(
      r.maps.map((m) => [m.name, m.fields]),
      [["hits", ["max_entries"]]],
    );
    assert.notEqual(r.maps[0].maxEntries?.attrOffset, null);
  });

  test("global_data: every global-data map's initial value is copied from the host", (t) => {
    const missing = toolchainMissing();
    if (missing) return t.skip(missing);
    const s = parseLightSkeleton(buildLightSkeleton("global_data").header);
    const r = detectHostOverrides(s.insns, { maps: s.maps.map((m) => m.name) });
    assert.deepEqual(
      r.maps.map((m) => [m.name, m.fields]),
      [
        ["seen", ["max_entries"]],
        ["data", ["initial_value", "max_entries"]],
        ["rodata", ["initial_value", "max_entries"]],
        ["bss", ["initial_value", "max_entries"]],
      ],
    );
    // each copy writes exactly the map's value size into the blob
    for (const [i, m] of r.maps.entries()) {
      if (!m.initialValue) continue;
      assert.equal(m.initialValue.size, s.maps[i].mmap?.valueSize);
    }
    assert.equal(r.copyFromUserCalls.length, 3);
  });
});

describe("the pass itself", () => {
  test("follows ctx copies; a ctx pointer passed on is unresolved", () => {
    const insns = encodeInsns(
      program(
        mov64Reg(7, 1),
        ldxMem(Size.W, 2, 7, 24 + 16 * 3 + 4),
        ldxMem(Size.DW, 3, 7, 16),
        mov64Reg(0, 0),
        exit(),
      ),
    );
    const r = detectHostOverrides(insns);
    assert.deepEqual(
      r.ctxReads.map((x) => x.field),
      ["maps[3].max_entries", "log_buf"],
    );
    assert.deepEqual(
      r.maps.map((m) => [m.index, m.fields]),
      [[3, ["max_entries"]]],
    );
    // with only two maps, offset 76 is in the prog descs: not a map field
    assert.equal(detectHostOverrides(insns, { maps: ["a", "b"] }).overridable, false);
  });
});

test("a loader naming a register above r10 is malformed input, not a crash", () => {
  const insns = new Uint8Array(16);
  insns[0] = 0xbf; // r? = r?
  insns[1] = 0x0b; // dst r11
  insns[8] = 0x95; // exit
  assert.throws(
    () => detectHostOverrides(insns),
    (e: unknown) =>
      e instanceof InsnFormatError && e.code === "INSN_BAD_FIELD" && /r11/.test(e.message),
  );
});

test("the register check names the first bad instruction and its register, dst before src", () => {
  const insns = new Uint8Array(24);
  insns[0] = 0x95; // exit
  insns[8] = 0xbf;
  insns[9] = 0xc0; // dst r0, src r12
  insns[16] = 0xbf;
  insns[17] = 0xdb; // dst r11, src r13
  assert.throws(() => detectHostOverrides(insns), {
    name: "InsnFormatError",
    message: "insn 1: register r12 does not exist",
  });
  insns[9] = 0xd0 | 0x0e; // dst r14, src r13
  assert.throws(() => detectHostOverrides(insns), {
    name: "InsnFormatError",
    message: "insn 1: register r14 does not exist",
  });
});
