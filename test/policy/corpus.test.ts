/**
 * The policy corpus: each policy decides the same whether the model kernel enforces it at load
 * time (the LSM module) or `audit` predicts it offline, for every skeleton of the audit tests.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { auditSkeleton } from "../../src/audit/report.js";
import { loadAndRun } from "../../src/loader/load_and_run.js";
import { PolicyModule } from "../../src/lsm/policy_module.js";
import { parsePolicy } from "../../src/policy/index.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec } from "../../src/uapi/constants.js";
import { createModelKernel } from "../../src/vm/index.js";
import { type AuditCase, auditCases } from "../audit/audit_support.js";
import { vectorCert } from "../support/vectors.js";

const H = (name: string) => `policy_name=${name} policy_version=1.0.0\n`;

/** The corpus; `SERIAL` is replaced by the session keyring's serial. */
export const CORPUS: Record<string, string> = {
  "allow-verified-builtin-only": `${H("builtin-only")}DEFAULT action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=BUILTIN action=ALLOW
`,
  "allowlisted-user-keyring": `${H("user-keyrings")}DEFAULT action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER bpf_keyring_serial=SERIAL action=ALLOW
`,
  "other-user-keyring": `${H("user-keyrings")}DEFAULT action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER bpf_keyring_serial!=SERIAL action=ALLOW
`,
  "deny-kprobes": `${H("no-kprobes")}DEFAULT action=ALLOW
op=BPF_PROG_LOAD installs_prog_type=kprobe action=DENY
op=BPF_PROG_LOAD prog_type=kprobe action=DENY
`,
  "deny-unsigned-except-in-kernel": `${H("signed-only")}DEFAULT action=ALLOW
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=UNSIGNED action=DENY
`,
  "max-map-entries": `${H("small-maps")}DEFAULT action=ALLOW
op=BPF_PROG_LOAD max_map_entries>1024 action=DENY
`,
  "no-map-lookups-in-kernel": `${H("no-lookups")}DEFAULT action=ALLOW
op=BPF_PROG_LOAD bpf_kernel=TRUE calls_helper=map_lookup_elem action=DENY
`,
  "signed-socket-filters-only": `${H("filters")}DEFAULT action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE prog_type=socket_filter action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED installs_prog_type!=kprobe installs_map_type!=hash action=ALLOW
`,
};

interface Outcome {
  decisions: [string, string][];
  admitted: boolean;
}

function enforced(c: AuditCase, policyText: string): Outcome {
  const kernel = createModelKernel({ profile: "v2" });
  const backend = kernel.spawn();
  const bpf = new Bpf(backend);
  const serial = bpf.keyringId(KeySpec.SESSION_KEYRING, true);
  bpf.addKey("asymmetric", "", vectorCert("rsa2048"), KeySpec.SESSION_KEYRING);
  const m = new PolicyModule(parsePolicy(policyText.replace("SERIAL", String(serial)))).install(
    kernel.lsm,
  );
  let admitted = true;
  try {
    loadAndRun(backend, c.image, { keyringId: KeySpec.SESSION_KEYRING }).close();
  } catch (e) {
    assert.match(String(e), /EACCES/, `${c.label}: only the policy refuses`);
    admitted = false;
  }
  return {
    decisions: m.records.map((r) => [r.facts.progName, r.decision.action]),
    admitted,
  };
}

function predicted(c: AuditCase, policyText: string, serial: number): Outcome {
  const r = auditSkeleton(
    { source: c.label, ...c.image, mapNames: c.image.maps.map((m) => m.name) },
    {
      trusted: [vectorCert("rsa2048")],
      policy: parsePolicy(policyText.replace("SERIAL", String(serial))),
      keyring: { type: "USER", serial },
    },
  );
  assert.ok(r.decisions, `${c.label}: decided`);
  return {
    decisions: [r.decisions.loader, ...r.decisions.progs]
      .filter((d) => d.reached)
      .map((d) => [d.prog, d.action]),
    admitted: r.admitted ?? false,
  };
}

/** The session keyring serial a fresh model kernel hands out (the same in every kernel). */
function sessionSerial(): number {
  const bpf = new Bpf(createModelKernel({ profile: "v2" }).spawn());
  return bpf.keyringId(KeySpec.SESSION_KEYRING, true);
}

describe("policy corpus: enforced on the model = predicted by audit", () => {
  const serial = sessionSerial();
  const cases = auditCases();
  for (const [name, text] of Object.entries(CORPUS))
    test(name, () => {
      const summary: string[] = [];
      for (const c of cases) {
        const e = enforced(c, text);
        const p = predicted(c, text, serial);
        assert.deepEqual(p, e, `${name} on ${c.label}`);
        summary.push(`${e.admitted ? "+" : "-"}`);
      }
      // every policy of the corpus admits something and refuses something (or says why not)
      if (name !== "allow-verified-builtin-only") assert.ok(summary.includes("-"), name);
    });

  test("the corpus decides as intended on a few cases", () => {
    const byLabel = new Map(cases.map((c) => [c.label, c]));
    const admitted = (policy: string, label: string) =>
      enforced(byLabel.get(label) as AuditCase, CORPUS[policy]).admitted;
    assert.equal(admitted("allowlisted-user-keyring", "prog_b signed (rsa2048)"), true);
    assert.equal(admitted("other-user-keyring", "prog_b signed (rsa2048)"), false);
    assert.equal(admitted("allow-verified-builtin-only", "prog_b signed (rsa2048)"), false);
    assert.equal(admitted("deny-kprobes", "generated kprobe, 4096-entry array, signed"), false);
    assert.equal(admitted("deny-kprobes", "prog_d signed (rsa2048)"), true);
    assert.equal(admitted("deny-unsigned-except-in-kernel", "prog_d unsigned"), false);
    assert.equal(admitted("deny-unsigned-except-in-kernel", "prog_d signed (rsa2048)"), true);
    assert.equal(admitted("max-map-entries", "generated kprobe, 4096-entry array, signed"), false);
    assert.equal(admitted("no-map-lookups-in-kernel", "prog_b unsigned"), false);
    assert.equal(admitted("no-map-lookups-in-kernel", "prog_a unsigned"), true);
    assert.equal(admitted("signed-socket-filters-only", "prog_a signed (rsa2048)"), true);
  });
});
