/**
 * openObject / loadObject behaviour beyond the traces: program list and subprogram appending,
 * the machine facts each feature asks for, and robustness against damaged objects.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BtfError } from "../../src/btf/btf.js";
import { ElfError } from "../../src/elf/elf.js";
import { ObjectError } from "../../src/object/errors.js";
import { loadObject } from "../../src/object/load.js";
import type { ObjectLoadOps } from "../../src/object/load_ops.js";
import { openObject } from "../../src/object/object.js";
import type { OpenOptions } from "../../src/object/types.js";
import { hostOptions, RecordingOps, readFixture } from "./trace_support.js";

const bytesOf = (name: string) => new Uint8Array(readFixture(`${name}.bpf.o`));

/** Takes every call and keeps nothing (the property test only watches for crashes). */
const NULL_OPS: ObjectLoadOps = {
  init() {},
  loadBtf() {},
  mapCreate() {},
  mapUpdateElem() {},
  mapFreeze() {},
  populateOuterMap() {},
  recordAttachTarget() {},
  recordExtern() {},
  recordReloCore() {},
  progLoad() {},
  finish() {},
};

function without(key: keyof OpenOptions): OpenOptions {
  const o = hostOptions();
  delete o[key];
  return o;
}

test("object: nr_programs counts .text subprograms; programs sorted by section then offset", () => {
  const obj = openObject(bytesOf("subprogs"), "subprogs", hostOptions());
  assert.deepEqual(
    obj.programs.map((p) => [p.name, p.secName]),
    [
      ["clamp_len", ".text"],
      ["mix", ".text"],
      ["filter_len", "socket"],
      ["classify_len", "tc"],
    ],
  );
  assert.ok(obj.programs[0].secInsnOff < obj.programs[1].secInsnOff);
  const ops = new RecordingOps();
  loadObject(obj, ops);
  assert.equal(ops.calls[0].kv.get("nr_progs"), "4");
  assert.deepEqual(
    ops.calls.filter((c) => c.fn === "prog_load").map((c) => c.kv.get("prog_idx")),
    ["2", "3"],
  );
});

test("object: each main program gets its own copy of every subprogram it reaches, calls pointing at it", () => {
  const obj = openObject(bytesOf("subprogs"), "subprogs", hostOptions());
  const own = new Map(obj.programs.map((p) => [p.name, p.insns.slice()]));
  const subTotal = own.get("mix")!.length + own.get("clamp_len")!.length;
  const loads: { name: string; insns: Uint8Array }[] = [];
  const ops = new RecordingOps();
  ops.progLoad = (_t, name, _l, insns) => {
    loads.push({ name, insns });
  };
  loadObject(obj, ops);
  for (const { name, insns } of loads) {
    const main = own.get(name)!;
    assert.equal(insns.length, main.length + subTotal, name);
    // every bpf-to-bpf call lands on the first instruction of an appended subprogram copy
    const starts: number[] = [];
    for (let i = 0; i < insns.length / 8; i++) {
      if (insns[i * 8] === 0x85 && insns[i * 8 + 1] >> 4 === 1) {
        const imm = new DataView(insns.buffer, insns.byteOffset).getInt32(i * 8 + 4, true);
        starts.push(i + imm + 1);
      }
    }
    assert.ok(starts.length >= 2, `${name} calls its subprograms`);
    for (const s of starts) {
      const code = insns.subarray(s * 8, s * 8 + 8);
      const isMix = Buffer.from(code).equals(Buffer.from(own.get("mix")!.subarray(0, 8)));
      const isClamp = Buffer.from(code).equals(Buffer.from(own.get("clamp_len")!.subarray(0, 8)));
      assert.ok(isMix || isClamp, `${name}: call target ${s} is a subprogram start`);
      assert.ok(s * 8 >= main.length, "targets are in the appended part");
    }
  }
});

test("object: facts of the generating machine are asked for only when an object needs them", () => {
  const cases: [string, keyof OpenOptions, "open" | "load"][] = [
    ["hostdep", "nrCpus", "load"],
    ["hostdep", "pageSize", "open"],
    ["kconfig", "kconfig", "load"],
    ["kconfig", "kernelVersion", "load"],
    ["ksyms", "kallsyms", "load"],
  ];
  for (const [name, fact, phase] of cases) {
    const missing = (e: unknown) =>
      e instanceof ObjectError && e.code === "OBJECT_MISSING_HOST_FACT";
    if (phase === "open") {
      assert.throws(
        () => openObject(bytesOf(name), name, without(fact)),
        missing,
        `${name}/${fact}`,
      );
    } else {
      const obj = openObject(bytesOf(name), name, without(fact));
      assert.throws(() => loadObject(obj, new RecordingOps()), missing, `${name}/${fact}`);
    }
  }
  // an object without such features needs none of them
  loadObject(openObject(bytesOf("subprogs"), "subprogs"), new RecordingOps());
  loadObject(openObject(bytesOf("globals"), "globals"), new RecordingOps());
});

test("object: the kconfig open option is applied before the machine's config", () => {
  const run = (opts: OpenOptions) => {
    const ops = new RecordingOps();
    loadObject(openObject(bytesOf("kconfig"), "kconfig", opts), ops);
    return ops.calls.filter((c) => c.fn === "map_update_elem").map((c) => c.kv.get("value"));
  };
  const base = run(hostOptions());
  const over = run({ ...hostOptions(), kconfigOverride: "CONFIG_HZ=1000\n" });
  assert.notDeepEqual(base, over);
  // 1000 = 0x3e8 and 250 = 0xfa as little-endian integers somewhere in the .kconfig image
  assert.match(over.at(-1)!, /e803/);
  assert.match(base.at(-1)!, /fa00/);
  assert.throws(
    () => run({ ...hostOptions(), kconfigOverride: "CONFIG_HZ=banana\n" }),
    (e: unknown) => e instanceof ObjectError && e.code === "OBJECT_BAD_EXTERN",
  );
});

test("object: an object loads once, as in libbpf", () => {
  const obj = openObject(bytesOf("nomaps"), "nomaps");
  loadObject(obj, new RecordingOps());
  assert.throws(
    () => loadObject(obj, new RecordingOps()),
    (e: unknown) => e instanceof ObjectError && /twice/.test(e.message),
  );
});

test("object: the object name is kept to 15 characters (internal map names follow it)", () => {
  const obj = openObject(bytesOf("globals"), "a_very_long_object_name", hostOptions());
  assert.equal(obj.name, "a_very_long_obj");
  assert.ok(obj.maps.some((m) => m.name === "a_very_l.rodata"));
});

test("object: not an ELF, or truncated, is a typed ElfError", () => {
  assert.throws(() => openObject(new Uint8Array(16), "zeros"), ElfError);
  assert.throws(() => openObject(bytesOf("maps").subarray(0, 100), "short"), ElfError);
});

test("object: damaged objects never crash: every failure is ElfError, BtfError or ObjectError", () => {
  const sources = ["subprogs", "globals", "core", "ksyms", "mapinmap", "kconfig"].map((n) => ({
    n,
    b: bytesOf(n),
  }));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: sources.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      (which, edits) => {
        const { n, b } = sources[which];
        const bytes = b.slice();
        for (const [at, v] of edits) bytes[at % bytes.length] = v;
        try {
          const obj = openObject(bytes, n, hostOptions());
          loadObject(obj, NULL_OPS);
        } catch (e) {
          if (e instanceof ElfError || e instanceof BtfError || e instanceof ObjectError) return;
          throw e;
        }
      },
    ),
    { numRuns: 300, seed: 9 },
  );
});

test("object: refusals name the object, the section and the offset", () => {
  assert.throws(
    () => openObject(bytesOf("err_unknown_map_field"), "err_unknown_map_field.bpf.o"),
    (e: unknown) =>
      e instanceof ObjectError &&
      e.object === "err_unknown_map_field.bpf.o" &&
      e.section === ".maps" &&
      e.offset === 0 &&
      e.message ===
        "err_unknown_map_field.bpf.o: section '.maps' at offset 0x0: map 'odd': unknown field 'colour'",
  );
  assert.throws(
    () => openObject(bytesOf("err_static_prog"), "err_static_prog"),
    (e: unknown) =>
      e instanceof ObjectError &&
      e.section === "socket" &&
      e.offset === 0 &&
      /program 'hidden_entry' is static and not supported/.test(e.message),
  );
  const obj = openObject(bytesOf("err_fentry_no_target"), "err_fentry_no_target");
  assert.throws(
    () => loadObject(obj, new RecordingOps()),
    (e: unknown) =>
      e instanceof ObjectError &&
      e.section === "fentry" &&
      /prog 'no_target': .*no BTF-based attach target/.test(e.message),
  );
});

test("object: extern refusals name the extern section", () => {
  const ksym = openObject(bytesOf("neg_ksym"), "neg_ksym", hostOptions());
  assert.throws(
    () => loadObject(ksym, new RecordingOps()),
    (e: unknown) =>
      e instanceof ObjectError &&
      e.message ===
        "neg_ksym: section '.ksyms': extern 'bpfsign_no_such_kernel_symbol' (strong): not resolved",
  );
  const kcfg = openObject(bytesOf("err_config_missing"), "err_config_missing", hostOptions());
  assert.throws(
    () => loadObject(kcfg, new RecordingOps()),
    (e: unknown) => e instanceof ObjectError && e.section === ".kconfig",
  );
});
