/**
 * Soak run of the interpreter-vs-kernel comparison: `node dist/test/host/soak.js [count] [seed]`
 * (default 10000 programs from seed 1). Prints the count and every mismatch with the program's
 * disassembly; exits 1 when there is any.
 */
import { formatCapabilities, probeHost } from "../../src/host/probe.js";
import { describeMismatch, soak } from "./interp_diff.js";

const count = Number(process.argv[2] ?? 10000);
const seed = Number(process.argv[3] ?? 1);
const caps = probeHost();
if (!caps.testRun.available) {
  console.log(`soak skipped: ${caps.testRun.reason}`);
  for (const l of formatCapabilities(caps)) console.log(`  ${l}`);
} else {
  const t0 = performance.now();
  const r = soak(count, seed);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`soak: ${r.count} programs from seed ${seed} in ${secs}s`);
  for (const m of r.hostFailures) console.log(describeMismatch("host failure", m));
  for (const m of r.loadMismatches) console.log(describeMismatch("model refused", m));
  for (const m of r.runMismatches) console.log(describeMismatch("mismatch", m));
  console.log(
    `host failures ${r.hostFailures.length}, model load refusals ${r.loadMismatches.length}, ` +
      `run mismatches ${r.runMismatches.length}/${r.count}`,
  );
  const bad = r.hostFailures.length + r.loadMismatches.length + r.runMismatches.length;
  process.exitCode = bad ? 1 : 0;
}
