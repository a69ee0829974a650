/**
 * The load walker against libbpf: for every corpus object, the calls `loadObject` makes on a
 * recording ObjectLoadOps equal, argument for argument and byte for byte, the `bpf_gen__*` calls
 * libbpf f7081a6b made for the same object (test/fixtures/object/*.unsigned.trace.txt, recorded
 * by the reftool branch's tracing libbpf with the host facts in host.json / kallsyms).
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { ObjectError } from "../../src/object/errors.js";
import { loadObject } from "../../src/object/load.js";
import { openObject } from "../../src/object/object.js";
import {
  firstDifference,
  hostOptions,
  parseTrace,
  RecordingOps,
  readFixture,
} from "./trace_support.js";

const read = readFixture;

const POSITIVE = [
  "nomaps",
  "maps",
  "globals",
  "multiprog",
  "subprogs",
  "bigrodata",
  "core",
  "ksyms",
  "kconfig",
  "mapinmap",
  "hostdep",
  "prog_a",
  "prog_b",
  "prog_d",
  // big-endian builds of the corpus sources: libbpf swaps insns and .BTF.ext to host order
  // and hands gen the BTF in the object's byte order
  "subprogs_eb",
  "globals_eb",
  "core_eb",
  "nomaps_eb",
  "maps_eb",
  "multiprog_eb",
  "ksyms_eb",
  "kconfig_eb",
  "mapinmap_eb",
  "hostdep_eb",
  // objects of src/extras.bpf.c: section kinds, callbacks, exception callback, map attributes,
  // kfuncs in a shared subprogram
  "x_sections",
  "x_callbacks",
  "x_exception_cb",
  "x_map_attrs",
  "x_kfunc_sub",
  "x_arena",
  "x_nobtf",
  "x_version",
  // objects after bpftool's static linker (gen object): DATASEC sizes and offsets already set
  "l_globals",
  "l_subprogs",
  "l_ksyms",
  // nomaps with its .BTF.ext magic zeroed: libbpf warns and loads without func/line info
  "x_badext",
];

for (const name of POSITIVE) {
  test(`trace: ${name} matches libbpf's bpf_gen__* calls`, () => {
    const want = parseTrace(read(`${name}.unsigned.trace.txt`).toString("utf8"));
    assert.equal(want.err, 0);
    const obj = openObject(new Uint8Array(read(`${name}.bpf.o`)), name, hostOptions());
    const ops = new RecordingOps();
    loadObject(obj, ops);
    assert.equal(firstDifference(ops.calls, want.calls), null);
  });
}

test("trace: neg_ksym fails like libbpf (strong typeless ksym absent from kallsyms, -ESRCH)", () => {
  const want = parseTrace(read("neg_ksym.unsigned.trace.txt").toString("utf8"));
  const obj = openObject(new Uint8Array(read("neg_ksym.bpf.o")), "neg_ksym", hostOptions());
  const ops = new RecordingOps();
  assert.throws(
    () => loadObject(obj, ops),
    (e: unknown) =>
      e instanceof ObjectError &&
      e.code === "OBJECT_BAD_EXTERN" &&
      e.errno === want.err &&
      /bpfsign_no_such_kernel_symbol/.test(e.message),
  );
  assert.equal(firstDifference(ops.calls, want.calls), null);
});

test("trace: neg_progarray fails like libbpf (prog-array slots, -EOPNOTSUPP) after the same calls", () => {
  const want = parseTrace(read("neg_progarray.unsigned.trace.txt").toString("utf8"));
  const obj = openObject(
    new Uint8Array(read("neg_progarray.bpf.o")),
    "neg_progarray",
    hostOptions(),
  );
  const ops = new RecordingOps();
  assert.throws(
    () => loadObject(obj, ops),
    (e: unknown) =>
      e instanceof ObjectError && e.code === "OBJECT_UNSUPPORTED" && e.errno === want.err,
  );
  assert.equal(firstDifference(ops.calls, want.calls), null);
});

test("trace: the comparison notices a one-byte change in a program's instructions", () => {
  const want = parseTrace(read("subprogs.unsigned.trace.txt").toString("utf8"));
  const obj = openObject(new Uint8Array(read("subprogs.bpf.o")), "subprogs", hostOptions());
  const ops = new RecordingOps();
  loadObject(obj, ops);
  const load = ops.calls.find((c) => c.fn === "prog_load")!;
  const insns = load.kv.get("insns")!;
  load.kv.set("insns", `${insns.slice(0, 10)}${insns[10] === "0" ? "1" : "0"}${insns.slice(11)}`);
  assert.match(firstDifference(ops.calls, want.calls) ?? "", /prog_load insns/);
});

/** Objects libbpf refuses: where (open or load), our code, libbpf's errno (from the trace). */
const REFUSED: [string, "open" | "load", string][] = [
  ["err_legacy_maps", "open", "OBJECT_BAD_MAP"],
  ["err_no_map_type", "open", "OBJECT_BAD_MAP"],
  ["err_unknown_map_field", "open", "OBJECT_BAD_MAP"],
  ["err_static_prog", "open", "OBJECT_BAD_PROG"],
  ["err_pinned", "load", "OBJECT_UNSUPPORTED"],
  ["err_unknown_section", "load", "OBJECT_BAD_PROG"],
  ["err_fentry_no_target", "load", "OBJECT_BAD_PROG"],
  ["err_virtual_extern", "load", "OBJECT_BAD_EXTERN"],
  ["err_kconfig_type", "open", "OBJECT_BAD_EXTERN"],
  ["err_config_missing", "load", "OBJECT_BAD_EXTERN"],
  ["err_inner_pinned", "open", "OBJECT_BAD_MAP"],
  ["err_values_not_mim", "open", "OBJECT_BAD_MAP"],
  ["err_hom_key_size", "open", "OBJECT_BAD_MAP"],
];

for (const [name, phase, code] of REFUSED) {
  test(`trace: ${name} is refused at ${phase} with ${code} and libbpf's errno, after libbpf's calls`, () => {
    const want = parseTrace(read(`${name}.unsigned.trace.txt`).toString("utf8"));
    assert.equal(want.openFailed, phase === "open");
    const bytes = new Uint8Array(read(`${name}.bpf.o`));
    const isRefusal = (e: unknown) =>
      e instanceof ObjectError &&
      e.code === code &&
      e.errno === want.err &&
      e.message.startsWith(`${name}:`);
    if (phase === "open") {
      assert.throws(() => openObject(bytes, name, hostOptions()), isRefusal);
      return;
    }
    const obj = openObject(bytes, name, hostOptions());
    const ops = new RecordingOps();
    assert.throws(() => loadObject(obj, ops), isRefusal);
    assert.equal(firstDifference(ops.calls, want.calls), null);
  });
}

test("trace: a struct_ops object is refused after init (libbpf f7081a6b crashes there: no vmlinux BTF in gen mode)", () => {
  // the trace ends after init: the tracing libbpf died of SIGSEGV in
  // bpf_object__init_kern_struct_ops_maps, so the file has no result line
  const text = read("err_struct_ops.unsigned.trace.txt").toString("utf8");
  assert.doesNotMatch(text, /\nresult /);
  const want = parseTrace(text);
  const obj = openObject(
    new Uint8Array(read("err_struct_ops.bpf.o")),
    "err_struct_ops",
    hostOptions(),
  );
  assert.equal(obj.maps.length, 1);
  assert.equal(obj.maps[0].name, "ops");
  const ops = new RecordingOps();
  assert.throws(
    () => loadObject(obj, ops),
    (e: unknown) => e instanceof ObjectError && e.code === "OBJECT_UNSUPPORTED",
  );
  assert.equal(firstDifference(ops.calls, want.calls), null);
});

test("trace: a .BTF.ext libbpf cannot parse is dropped with libbpf's warning", () => {
  const obj = openObject(new Uint8Array(read("x_badext.bpf.o")), "x_badext", hostOptions());
  assert.equal(obj.btfExt, null);
  assert.equal(obj.warnings.length, 1);
  assert.match(obj.warnings[0], /^Error loading ELF section \.BTF\.ext: .*Ignored and continue\.$/);
  assert.match(read("x_badext.unsigned.stderr.txt").toString("utf8"), /Ignored and continue/);
});
