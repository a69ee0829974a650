/**
 * `bpfsign gen skeleton`: generation time per object and per MiB of object, next to the bpftool
 * binary on this machine (Debian's bpftool 7.1 `gen skeleton -L`, whose libbpf runs the same
 * open/relocate/gen_loader walk) on the same objects, in this run.
 *
 * - in-process: genSkeleton() alone (object → loader → header, reading this machine's facts
 *   the object needs, as bpftool does), median;
 * - whole process: `bpfsign gen skeleton OBJ` and `bpftool gen skeleton -L OBJ`, run in turn;
 *   both read this machine's facts (kallsyms, kernel config) when the object needs them;
 * - bpftool's start-up (`bpftool version`) is printed so its generation work can be read off.
 *
 * Target (issue 9): generation not slower than bpftool: in-process time ≤ bpftool's whole
 * process minus its start-up.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { machineFacts } from "../src/cli/machine_facts.js";
import { genSkeleton } from "../src/gen/skeleton.js";
import { type Command, pair, runOnce } from "./startup.js";
import { median, medianMs, ms, ratio, row } from "./util.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "dist/src/cli/bpfsign.cjs");
const GEN = join(ROOT, "test/fixtures/gen");

function objects(): { name: string; path: string; bytes: Uint8Array }[] {
  const corpus = readdirSync(GEN)
    .filter((f) => f.endsWith(".bpf.o") && !f.startsWith("neg_"))
    .map((f) => join(GEN, f));
  return [join(ROOT, "examples/global_data.bpf.o"), ...corpus].map((path) => ({
    name: path.slice(path.lastIndexOf("/") + 1, -".bpf.o".length),
    path,
    bytes: new Uint8Array(readFileSync(path)),
  }));
}

function hasBpftool(): boolean {
  return spawnSync("bpftool", ["version"], { stdio: "ignore" }).status === 0;
}

export function run(): void {
  const objs = objects();
  const bpftool = hasBpftool();
  const startup = bpftool
    ? median(Array.from({ length: 11 }, () => runOnce({ argv: ["bpftool", "version"], status: 0 })))
    : Number.NaN;
  const w = [12, 9, 12, 12, 15, 15, 9];
  console.log(
    row(
      ["object", "size", "in-process", "per MiB", "bpfsign process", "bpftool process", "ratio"],
      w,
    ),
  );
  const ratios: number[] = [];
  let totalBytes = 0;
  let totalMs = 0;
  for (const o of objs) {
    const inproc = medianMs(() => {
      // this machine's facts, read on each run as bpftool reads them
      genSkeleton(o.bytes, `${o.name}.bpf.o`, { name: o.name, facts: machineFacts({}) });
    }, 15);
    totalBytes += o.bytes.length;
    totalMs += inproc;
    const perMiB = inproc / (o.bytes.length / 2 ** 20);
    let procs = { a: Number.NaN, b: Number.NaN, ratio: Number.NaN };
    if (bpftool) {
      const ours: Command = { argv: [process.execPath, BIN, "gen", "skeleton", o.path], status: 0 };
      const theirs: Command = { argv: ["bpftool", "gen", "skeleton", "-L", o.path], status: 0 };
      procs = pair(ours, theirs);
      ratios.push(inproc / Math.max(procs.b - startup, 0.001));
    }
    console.log(
      row(
        [
          o.name,
          `${(o.bytes.length / 1024).toFixed(1)} KiB`,
          ms(inproc),
          ms(perMiB),
          bpftool ? ms(procs.a) : "-",
          bpftool ? ms(procs.b) : "-",
          bpftool ? ratio(inproc, Math.max(procs.b - startup, 0.001)) : "-",
        ],
        w,
      ),
    );
  }
  console.log(
    `all objects: ${ms(totalMs)} for ${(totalBytes / 1024).toFixed(1)} KiB = ${ms(totalMs / (totalBytes / 2 ** 20))} per MiB of object`,
  );
  if (!bpftool) {
    console.log(
      "bpftool not found: the comparison with the C tool is skipped (apt-get install bpftool)",
    );
    return;
  }
  const m = median(ratios);
  console.log(
    `bpftool start-up (bpftool version): ${ms(startup)}; ratio = in-process / (bpftool process - start-up), median ${m.toFixed(2)}x: ${m <= 1 ? "PASS" : "MISS"} (goal ≤ 1.00x)`,
  );
}
