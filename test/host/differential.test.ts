/**
 * Differential run: every probe of the matrix on the model (profile mainline-6.18) and on this
 * host kernel. Agreement is reported as a count; a disagreement fails unless ALLOWED explains it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DIFF_PROBES } from "../../src/host/diff_probes.js";
import { type AllowedDifference, differential, type Normal } from "../../src/host/differential.js";
import { createModelKernel } from "../../src/vm/index.js";
import { hostSession, hostSkip } from "../support/host.js";

/** Each entry: a difference the model documents as not modelled, allowed only in that shape. */
export const ALLOWED: readonly AllowedDifference[] = [
  // s7.sys_bpf_ctx_pointer_refused used to be here: do_check now refuses the ctx pointer too.
];

/** Individual checks: the top-level entries of each probe's result. */
function checks(v: Normal): Normal[] {
  return Array.isArray(v) ? v : [v];
}

test("differential: model mainline-6.18 vs host", { skip: hostSkip("syscallProg") }, (t) => {
  const outcomes = differential(
    DIFF_PROBES,
    () => {
      const proc = createModelKernel({ profile: "mainline-6.18" }).spawn();
      return { backend: proc, dispose: () => proc.exit() };
    },
    hostSession,
    ALLOWED,
  );
  const agree = outcomes.filter((o) => o.agree).length;
  let checkTotal = 0;
  let checkAgree = 0;
  for (const o of outcomes) {
    const [m, h] = [checks(o.model), checks(o.host)];
    checkTotal += Math.max(m.length, h.length);
    checkAgree += h.filter(
      (v, i) => i < m.length && JSON.stringify(v) === JSON.stringify(m[i]),
    ).length;
  }
  t.diagnostic(`agreement ${agree}/${outcomes.length} probes, ${checkAgree}/${checkTotal} checks`);
  const bad: string[] = [];
  for (const o of outcomes) {
    if (o.agree) continue;
    const line = `${o.name}: model ${JSON.stringify(o.model)} host ${JSON.stringify(o.host)}`;
    if (o.allowed) t.diagnostic(`allowed ${line} (${o.allowed})`);
    else bad.push(line);
  }
  assert.deepEqual(bad, [], `unexplained disagreements:\n${bad.join("\n")}`);
});
