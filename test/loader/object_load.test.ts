/**
 * One load walker, two back-ends: a BPF object loaded directly (loadObjectFile: the walker's
 * calls made as bpf() commands) installs the same maps and programs — names, types, sizes,
 * flags, instruction counts, tags — as the loader bpfsign generates from it (genSkeleton, run by
 * loadAndRun), on the model kernel and on the host kernel.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { hostKernelSymbols } from "../../src/host/kernel_symbols.js";
import { modelKernelSymbols } from "../../src/kernel/model_symbols.js";
import { describeInstalled, type Installed } from "../../src/loader/installed.js";
import { loadAndRun } from "../../src/loader/load_and_run.js";
import { loadObjectFile, ObjectLoadError } from "../../src/loader/object_load.js";
import { parseLightSkeleton } from "../../src/skeleton/index.js";
import type { BpfBackend } from "../../src/uapi/backend.js";
import { BpfCmd } from "../../src/uapi/constants.js";
import { createModelKernel } from "../../src/vm/index.js";
import { hostOptions } from "../object/trace_support.js";
import { hostSession, hostSkip } from "../support/host.js";
import { REPO_ROOT } from "../support/vectors.js";

const GEN = join(REPO_ROOT, "test/fixtures/gen");
const object = (name: string) => new Uint8Array(readFileSync(join(GEN, `${name}.bpf.o`)));

/** Objects the model loads. */
const ON_MODEL = [
  "nomaps",
  "globals",
  "subprogs",
  "bigrodata",
  "kconfig",
  "maps",
  "core",
  "hostdep",
  "multiprog",
  "ksyms",
  "mapinmap",
];
/** Objects this machine's kernel loads (fentry/lsm programs are refused here with EPERM). */
const ON_HOST = [
  "nomaps",
  "globals",
  "subprogs",
  "bigrodata",
  "kconfig",
  "maps",
  "core",
  "mapinmap",
  "hostdep",
];

function viaLoader(backend: BpfBackend, name: string): Installed {
  const gen = genSkeleton(object(name), `${name}.bpf.o`, { name, facts: hostOptions() });
  const loaded = loadAndRun(backend, parseLightSkeleton(gen.header));
  try {
    return describeInstalled(backend, loaded);
  } finally {
    loaded.close();
  }
}

function direct(
  backend: BpfBackend,
  name: string,
  symbols: "host" | "model" | false = false,
  bytes: Uint8Array = object(name),
): Installed {
  const loaded = loadObjectFile(backend, bytes, `${name}.bpf.o`, {
    name,
    facts: hostOptions(),
    symbols:
      symbols === "host"
        ? hostKernelSymbols()
        : symbols === "model"
          ? modelKernelSymbols()
          : undefined,
  });
  try {
    return describeInstalled(backend, loaded);
  } finally {
    loaded.close();
  }
}

describe("direct object load vs generated loader: the model kernel", () => {
  for (const name of ON_MODEL) {
    test(name, () => {
      const k1 = createModelKernel({ profile: "mainline-6.18" }).spawn();
      const k2 = createModelKernel({ profile: "mainline-6.18" }).spawn();
      const a = direct(k1, name, "model");
      const b = viaLoader(k2, name);
      assert.ok(a.progs.length > 0);
      assert.deepEqual(a, b);
    });
  }
  test("a kernel refusal names the command, the object and the errno", () => {
    const k = createModelKernel({ profile: "mainline-6.18" }).spawn();
    // mapinmap with the outer lookup's null check (`if (!inner) return 0`, the `if r0 == 0`
    // right after the first call) made a `goto +0`: the second lookup gets a map_value_or_null
    const bytes = object("mapinmap");
    const call = Buffer.from("8500000001000000", "hex");
    const at = Buffer.from(bytes).indexOf(call) + 8;
    assert.equal(Buffer.from(bytes.subarray(at, at + 8)).toString("hex"), "15000f0000000000");
    bytes.set([0x05, 0, 0, 0, 0, 0, 0, 0], at);
    assert.throws(
      () => direct(k, "mapinmap", "model", bytes),
      (e: unknown) =>
        e instanceof ObjectLoadError &&
        e.code === "BPF_EACCES" &&
        /^PROG_LOAD of program 'pick_table' \(SOCKET_FILTER\): EACCES \(13\)/.test(e.message),
    );
  });
  test("a refusal with a verifier log names the log line that says why", () => {
    const k = createModelKernel({ profile: "mainline-6.18" }).spawn();
    const bytes = object("mapinmap");
    const call = Buffer.from("8500000001000000", "hex");
    const at = Buffer.from(bytes).indexOf(call) + 8;
    bytes.set([0x05, 0, 0, 0, 0, 0, 0, 0], at);
    assert.throws(
      () =>
        loadObjectFile(k, bytes, "mapinmap.bpf.o", {
          name: "mapinmap",
          facts: hostOptions(),
          symbols: modelKernelSymbols(),
          logSize: 1 << 16,
        }),
      (e: unknown) =>
        e instanceof ObjectLoadError &&
        e.message ===
          "PROG_LOAD of program 'pick_table' (SOCKET_FILTER): EACCES (13): R1 type=map_value_or_null expected=map_ptr" &&
        e.log.endsWith(
          "R1 type=map_value_or_null expected=map_ptr\nprocessed 14 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0\n",
        ),
    );
  });
  test("attach targets need the kernel's BTF: a typed error when none is given", () => {
    const k = createModelKernel({ profile: "mainline-6.18" }).spawn();
    assert.throws(
      () => direct(k, "ksyms"),
      (e: unknown) => e instanceof ObjectLoadError && e.code === "LOAD_NO_KERNEL_BTF",
    );
  });
});

test("a typeless ksym at address 0 (kptr_restrict) is not found: LOAD_SYMBOL_NOT_FOUND", () => {
  const facts = {
    ...hostOptions(),
    kallsyms: "ffffffff81000000 T bpfsign_no_such_kernel_symbol\n",
  };
  const load = (addr: bigint | null) =>
    loadObjectFile(
      createModelKernel({ profile: "mainline-6.18" }).spawn(),
      object("neg_ksym"),
      "neg_ksym.bpf.o",
      {
        facts,
        symbols: { findBtf: () => ({ btfId: 1, btfObjFd: 0 }), kallsyms: () => addr },
      },
    );
  for (const addr of [0n, null])
    assert.throws(
      () => load(addr),
      (e: unknown) =>
        e instanceof ObjectLoadError &&
        e.code === "LOAD_SYMBOL_NOT_FOUND" &&
        /ksym 'bpfsign_no_such_kernel_symbol'/.test(e.message),
      String(addr),
    );
  load(0xffffffff81000000n).close();
});

test("a load failing between an inner map template and its outer map leaves no fd open", () => {
  const kernel = createModelKernel({ profile: "mainline-6.18" }).spawn();
  const open = new Set<number>();
  // the model kernel, except that a MAP_CREATE naming an inner map fails (EINVAL): the failure
  // comes right after the inner map template was created
  const backend: BpfBackend = new Proxy(kernel, {
    get(target, prop) {
      if (prop === "bpf")
        return (cmd: number, attr: Uint8Array, size?: number): number => {
          const dv = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
          if (cmd === BpfCmd.MAP_CREATE && dv.getUint32(20, true) !== 0) return -22;
          const fd = target.bpf(cmd, attr, size);
          if (fd > 0 && (cmd === BpfCmd.MAP_CREATE || cmd === BpfCmd.BTF_LOAD)) open.add(fd);
          return fd;
        };
      if (prop === "close")
        return (fd: number): number => {
          open.delete(fd);
          return target.close(fd);
        };
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  assert.throws(
    () => loadObjectFile(backend, object("mapinmap"), "mapinmap.bpf.o", { facts: hostOptions() }),
    (e: unknown) => e instanceof ObjectLoadError && e.code === "BPF_EINVAL",
  );
  assert.deepEqual([...open], [], "every fd the load opened is closed");
});

describe("direct object load vs generated loader: the host kernel", {
  skip: hostSkip("syscallProg"),
}, () => {
  for (const name of ON_HOST) {
    test(name, () => {
      const h1 = hostSession();
      const h2 = hostSession();
      try {
        const a = direct(h1.backend, name, "host");
        const b = viaLoader(h2.backend, name);
        assert.ok(a.progs.length > 0);
        assert.deepEqual(a, b);
      } finally {
        h1.dispose();
        h2.dispose();
      }
    });
  }
});
