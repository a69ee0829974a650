/**
 * The bpftool-made light skeletons of the corpus (test/fixtures/gen), signed and unsigned, and
 * bpftool's own pid_iter load on the model kernel: tracing, LSM, iterator and map-type programs
 * included. What they install is compared with the host in test/host/lskel_diff.test.ts.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { KALLSYMS } from "../../src/kernel/kallsyms.js";
import { describeInstalled } from "../../src/loader/installed.js";
import { type LoaderImage, loadAndRun } from "../../src/loader/load_and_run.js";
import { parseLightSkeleton } from "../../src/skeleton/index.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec } from "../../src/uapi/constants.js";
import { createModelKernel } from "../../src/vm/index.js";
import { vectorKeyFiles } from "../support/cms.js";
import { REPO_ROOT } from "../support/vectors.js";

/** Program types each corpus object installs (in skeleton order). */
const CORPUS: Record<string, string[]> = {
  nomaps: ["SOCKET_FILTER"],
  globals: ["SOCKET_FILTER"],
  subprogs: ["SOCKET_FILTER", "SCHED_CLS"],
  bigrodata: ["SOCKET_FILTER"],
  kconfig: ["RAW_TRACEPOINT"],
  maps: ["SOCKET_FILTER"],
  core: ["KPROBE", "TRACING"],
  multiprog: [
    "SOCKET_FILTER",
    "TRACEPOINT",
    "RAW_TRACEPOINT",
    "KPROBE",
    "TRACING",
    "LSM",
    "TRACING",
    "SYSCALL",
  ],
  ksyms: ["TRACING"],
  hostdep: ["TRACEPOINT"],
  mapinmap: ["SOCKET_FILTER"],
};

function load(image: LoaderImage) {
  const kernel = createModelKernel({ profile: "v2" });
  const proc = kernel.spawn();
  const bpf = new Bpf(proc);
  bpf.keyringId(KeySpec.SESSION_KEYRING, true);
  bpf.addKey("asymmetric", "", vectorKeyFiles("rsa2048").certDer, KeySpec.SESSION_KEYRING);
  const loaded = loadAndRun(proc, image, {
    keyringId: image.signature ? KeySpec.SESSION_KEYRING : 0,
  });
  try {
    return describeInstalled(proc, loaded);
  } finally {
    loaded.close();
  }
}

describe("the corpus's light skeletons load on the model", () => {
  for (const [name, types] of Object.entries(CORPUS))
    for (const signed of [false, true])
      test(`${name} ${signed ? "signed" : "unsigned"}`, () => {
        const file = join(
          REPO_ROOT,
          "test/fixtures/gen",
          `${name}${signed ? ".signed" : ""}.lskel.h`,
        );
        const installed = load(parseLightSkeleton(readFileSync(file, "utf8")));
        assert.deepEqual(
          installed.progs.map((p) => p.type),
          types,
        );
      });

  for (const signed of [false, true])
    test(`bpftool's pid_iter (iter/task_file) ${signed ? "signed" : "unsigned"}`, () => {
      const obj = new Uint8Array(
        readFileSync(join(REPO_ROOT, "test/fixtures/pid_iter/pid_iter.bpf.o")),
      );
      const kallsyms = [...KALLSYMS].map(([n, a]) => `${a.toString(16)} D ${n}`).join("\n");
      const k = vectorKeyFiles("rsa2048");
      const g = genSkeleton(obj, "pid_iter.bpf.o", {
        name: "pid_iter",
        facts: { kallsyms, pageSize: 4096 },
        ...(signed ? { signing: { key: k.keyPem, cert: k.certDer } } : {}),
      });
      const installed = load(parseLightSkeleton(g.header));
      assert.deepEqual(
        installed.progs.map((p) => [p.name, p.type]),
        [["iter", "TRACING"]],
      );
    });
});

test("every corpus object with headers is in the list above", () => {
  const withHeaders = readdirSync(join(REPO_ROOT, "test/fixtures/gen"))
    .filter((f) => f.endsWith(".signed.lskel.h"))
    .map((f) => f.slice(0, -".signed.lskel.h".length))
    .sort();
  assert.deepEqual(Object.keys(CORPUS).sort(), withHeaders);
});
