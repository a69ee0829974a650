/**
 * The committed oracle corpus (test/fixtures/gen_loader/corpus.txt): call sequences with the
 * sha256 and length of the insns and data libbpf's gen_loader published for them, or the errno
 * its bpf_gen__finish returned. A plain clone replays it without the C harness.
 *
 * Regenerate (needs the harness, see gen_loader_harness.ts), from the repository root:
 *   npx tsc -p tsconfig.json && node dist/test/gen/gen_loader_corpus.js --write
 */

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { REPO_ROOT } from "../support/vectors.js";
import { callSequence } from "./gen_loader_arb.js";
import { formatCalls, type GenCall, type GenOpts, parseCalls } from "./gen_loader_calls.js";
import { edgeCases } from "./gen_loader_cases.js";
import { runLibbpf } from "./gen_loader_harness.js";

export const CORPUS = join(REPO_ROOT, "test/fixtures/gen_loader/corpus.txt");

export type Outcome = { insns: string; data: string } | { errno: number };

export interface CorpusCase {
  name: string;
  calls: GenCall[];
  opts: GenOpts;
  expect: Outcome;
}

export function digest(b: Uint8Array): string {
  return `${b.length}:${createHash("sha256").update(b).digest("hex")}`;
}

function outcome(calls: readonly GenCall[], opts: GenOpts): Outcome {
  const r = runLibbpf(calls, opts);
  return "errno" in r ? { errno: r.errno } : { insns: digest(r.insns), data: digest(r.data) };
}

/** The edge cases are rebuilt from code; the random ones keep their calls in the file. */
export function readCorpus(): CorpusCase[] {
  const edges = new Map(edgeCases().map((c) => [c.name, c.calls]));
  const out: CorpusCase[] = [];
  for (const block of readFileSync(CORPUS, "utf8")
    .split(/^case /m)
    .slice(1)) {
    const lines = block.split("\n");
    const name = lines[0];
    const expectLine = lines.find((l) => l.startsWith("expect "))!;
    const w = expectLine.split(" ");
    const expect: Outcome =
      w[1] === "errno" ? { errno: Number(w[2]) } : { insns: w[2], data: w[4] };
    const body = lines.filter((l) => l && !l.startsWith("expect ") && l !== name).join("\n");
    const parsed = parseCalls(body);
    const calls = edges.get(name) ?? parsed.calls;
    out.push({ name, calls, opts: parsed.opts, expect });
  }
  return out;
}

function writeCorpus(): void {
  const parts: string[] = [
    "# libbpf gen_loader outcomes (see test/gen/gen_loader_corpus.ts). Lengths and sha256 of\n" +
      "# the published insns/data, or finish's errno. Generated with the C harness over the\n" +
      "# reference libbpf.a (f7081a6b + the series); edge cases list only their options.\n",
  ];
  for (const c of edgeCases()) {
    for (const genHash of [false, true]) {
      const opts = { genHash, logLevel: c.logLevel ?? 0 };
      const o = outcome(c.calls, opts);
      const init = `init ${opts.logLevel} 0 0`;
      parts.push(`case ${c.name}\nopts ${genHash ? 1 : 0} 0\n${init}\n${expectText(o)}\n`);
    }
  }
  const samples = fc.sample(callSequence, { seed: 20261202, numRuns: 40 });
  samples.forEach((s, i) => {
    const o = outcome(s.calls, s.opts);
    parts.push(`case random ${i}\n${formatCalls(s.calls, s.opts)}${expectText(o)}\n`);
  });
  writeFileSync(CORPUS, parts.join(""));
}

function expectText(o: Outcome): string {
  return "errno" in o ? `expect errno ${o.errno}` : `expect insns ${o.insns} data ${o.data}`;
}

if (process.argv.includes("--write")) writeCorpus();
