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
import { hostKernelSymbols } from "../../src/cli/kernel_symbols.js";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { describeInstalled, type Installed } from "../../src/loader/installed.js";
import { loadAndRun } from "../../src/loader/load_and_run.js";
import { modelKernelSymbols } from "../../src/loader/model_symbols.js";
import { loadObjectFile, ObjectLoadError } from "../../src/loader/object_load.js";
import { parseLightSkeleton } from "../../src/skeleton/index.js";
import type { BpfBackend } from "../../src/uapi/backend.js";
import { createModelKernel } from "../../src/vm/index.js";
import { hostOptions } from "../object/trace_support.js";
import { hostSession, hostSkip } from "../support/host.js";
import { REPO_ROOT } from "../support/vectors.js";

const GEN = join(REPO_ROOT, "test/fixtures/gen");
const object = (name: string) => new Uint8Array(readFileSync(join(GEN, `${name}.bpf.o`)));

/** Objects the model loads (mapinmap: do_check does not follow map-in-map lookups yet). */
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
): Installed {
  const loaded = loadObjectFile(backend, object(name), `${name}.bpf.o`, {
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
    assert.throws(
      () => direct(k, "mapinmap", "model"),
      (e: unknown) =>
        e instanceof ObjectLoadError &&
        e.code === "BPF_EACCES" &&
        /^PROG_LOAD of program 'pick_table' \(SOCKET_FILTER\): EACCES \(13\)/.test(e.message),
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
