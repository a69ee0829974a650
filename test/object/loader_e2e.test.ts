/**
 * End to end, once src/gen/gen_loader.ts (branch genldr) is present: `loadObject` driving
 * `BpfGen` must produce the loader libbpf + bpftool produce, byte for byte
 * (test/fixtures/object/loaders.json: sizes and SHA-256 of libbpf's `gen_loader_opts.insns` /
 * `.data` for every object, unsigned and signed). Without the generator the test skips.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { loadObject } from "../../src/object/load.js";
import type { ObjectLoadOps } from "../../src/object/load_ops.js";
import { openObject } from "../../src/object/object.js";
import { hostOptions, readFixture } from "./trace_support.js";

interface Expected {
  insnsSize: number;
  insnsSha256: string;
  dataSize: number;
  dataSha256: string;
}

interface Generator extends ObjectLoadOps {
  readonly insns: Uint8Array;
  readonly data: Uint8Array;
}

type GenCtor = new (opts: { genHash: boolean; swappedEndian?: boolean }) => Generator;

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function findGenerator(): Promise<GenCtor | null> {
  // a computed specifier: the module belongs to another branch and may not exist here
  const spec = ["..", "..", "src", "gen", "gen_loader.js"].join("/");
  try {
    const mod = (await import(spec)) as { BpfGen?: GenCtor };
    return mod.BpfGen ?? null;
  } catch {
    return null;
  }
}

test("loader e2e: loadObject + BpfGen reproduce libbpf's loaders byte for byte", async (t) => {
  const BpfGen = await findGenerator();
  if (!BpfGen) {
    t.skip("src/gen/gen_loader.ts (BpfGen, branch genldr) is not in this tree");
    return;
  }
  const expected = JSON.parse(readFixture("loaders.json").toString("utf8")) as Record<
    string,
    Record<"unsigned" | "signed", Expected>
  >;
  for (const [name, modes] of Object.entries(expected)) {
    for (const mode of ["unsigned", "signed"] as const) {
      const obj = openObject(new Uint8Array(readFixture(`${name}.bpf.o`)), name, hostOptions());
      const gen = new BpfGen({ genHash: mode === "signed", swappedEndian: !obj.littleEndian });
      loadObject(obj, gen);
      const want = modes[mode];
      assert.deepEqual(
        {
          insnsSize: gen.insns.length,
          insnsSha256: sha(gen.insns),
          dataSize: gen.data.length,
          dataSha256: sha(gen.data),
        },
        want,
        `${name} ${mode}`,
      );
    }
  }
});
