/**
 * Verifier agreement in `npm test`: random socket filter / sched_cls programs on the model and
 * on this machine's kernel. The model must never accept what the kernel refuses; the figures
 * (accept/reject, first error line, processed count) are printed. `npm run soak` style runs:
 * `node dist/test/host/verifier_agreement.js 10000`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { hostSkip } from "../support/host.js";
import { agreement, describe } from "./verifier_agreement.js";

test("verifier agreement: model mainline-6.18 vs host (500 random programs)", {
  skip: hostSkip(),
}, (t) => {
  const r = agreement(500, 1);
  for (const l of describe(r)) t.diagnostic(l);
  assert.deepEqual(
    r.modelTooLenient.map((x) => `seed ${x.seed}: host refused with ${x.host.line}`),
    [],
    "the model accepted programs the kernel refuses",
  );
  assert.deepEqual(
    r.modelTooStrict.map((x) => `seed ${x.seed}: model refused with ${x.model.line}`),
    [],
  );
  assert.ok(
    r.sameLine >= 0.9 * r.bothRefuse,
    `same first error line ${r.sameLine}/${r.bothRefuse}`,
  );
});
