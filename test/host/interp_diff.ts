/**
 * Interpreter vs kernel: generated programs run on the host and on the model (profile
 * mainline-6.18, with the interpreter). Mismatches carry the program's disassembly.
 */
import { HostBackend } from "../../src/host/backend.js";
import { formatInsnListing } from "../../src/insn/index.js";
import { createModelKernel } from "../../src/vm/index.js";
import { type RunResult, runOn, sameRun } from "./interp.js";
import { generateProgram } from "./progen.js";

export interface Mismatch {
  readonly seed: number;
  readonly host: RunResult;
  readonly model: RunResult | null;
  readonly listing: string;
}

export interface SoakReport {
  readonly count: number;
  /** Programs that failed to load or run on the host (each is a generator or backend bug). */
  readonly hostFailures: Mismatch[];
  /** Programs the model refused to load although the host loaded them. */
  readonly loadMismatches: Mismatch[];
  /** Programs whose results (retval and ctx, or the errno of the run) differ. */
  readonly runMismatches: Mismatch[];
}

export function soak(count: number, firstSeed = 1): SoakReport {
  const host = new HostBackend();
  const kernel = createModelKernel({ profile: "mainline-6.18" });
  const proc = kernel.spawn();
  const report: SoakReport = {
    count,
    hostFailures: [],
    loadMismatches: [],
    runMismatches: [],
  };
  try {
    for (let i = 0; i < count; i++) {
      const p = generateProgram(firstSeed + i);
      const h = runOn(host, p);
      const m = runOn(proc, p);
      const mismatch = () => ({
        seed: p.seed,
        host: h,
        model: m,
        listing: formatInsnListing(p.insns),
      });
      if (!h.ok) report.hostFailures.push(mismatch());
      if (!h.ok) continue;
      if (!m.ok && m.stage === "load") {
        report.loadMismatches.push(mismatch());
        continue;
      }
      if (!sameRun(h, m)) report.runMismatches.push(mismatch());
    }
  } finally {
    host.dispose();
    proc.exit();
  }
  return report;
}

/** Human-readable lines for a mismatch. */
export function describeMismatch(kind: string, m: Mismatch): string {
  return [
    `${kind} seed ${m.seed}`,
    `  host:  ${JSON.stringify(m.host)}`,
    `  model: ${JSON.stringify(m.model)}`,
    ...m.listing.split("\n").map((l) => `  ${l}`),
  ].join("\n");
}
