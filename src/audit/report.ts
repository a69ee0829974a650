/**
 * `bpfsign audit` without the command line: one skeleton's signature result (the offline
 * verifier, as `verify`), what its loader will install (skeleton/install_plan.ts), and the policy's
 * decision for the loader load and for each program the loader will load, with the facts each
 * decision was made on. Pure: bytes and a parsed policy in, a JSON-ready record out.
 *
 * The decisions mirror what the model kernel's LSM module sees (lsm/policy_module.ts):
 * - the loader: op=BPF_PROG_LOAD, prog `__loader.prog`, type syscall, not in-kernel, the verdict
 *   the kernel would record (VERIFIED for a good signature, UNSIGNED without one) with the
 *   keyring the caller names, and — for a signed loader, whose metadata map the kernel binds
 *   before the hook — the install list. A bad signature never reaches the hook (the kernel
 *   refuses it first): no decisions, the signature result decides;
 * - each program, as the loader loads it from inside the kernel: unsigned, bpf_kernel=TRUE, its
 *   type, attach type, helpers and kfuncs. A program is reached only if the loader and every
 *   program before it were admitted.
 * The signer's key id and kfunc names are facts here that the model's hook does not have.
 * Post-integrity decisions (op=BPF_PROG_LOAD_POST_INTEGRITY) are reported beside them; the model
 * kernel has no such hook yet, so they do not count towards `admitted`.
 */
import { type OfflineReport, verifyOffline } from "../crypto/offline.js";
import type { Decision } from "../policy/decide.js";
import { decide } from "../policy/decide.js";
import type { KeyringTypeName, PolicyFacts } from "../policy/facts.js";
import { formatDefaultRule } from "../policy/format.js";
import type { Policy, PolicyOp } from "../policy/model.js";
import { numberOf, PROG_TYPE_NAMES } from "../policy/names.js";
import {
  type InstallPlan,
  installFacts,
  type PlannedMap,
  type PlannedProg,
  planInstall,
} from "../skeleton/install_plan.js";
import { helpersOf, loadFacts } from "../skeleton/policy_facts.js";
import { ProgType, SigKeyring } from "../uapi/constants.js";

/** The version of the JSON record (schema/audit.schema.json); bumped on incompatible change. */
export const AUDIT_SCHEMA_VERSION = 1;

export interface AuditInput {
  source: string;
  insns: Uint8Array;
  data: Uint8Array;
  signature: Uint8Array | null;
  exclHash: Uint8Array | null;
  /** the skeleton's map names, in bpf_map_desc order */
  mapNames?: readonly string[];
}

/** The keyring a signed load names: a system keyring, or a user keyring with its serial. */
export interface KeyringChoice {
  type: Exclude<KeyringTypeName, "NONE">;
  serial: number | null;
}

export interface AuditOptions {
  /** trusted certificates (DER or PEM), standing in for the keyring */
  trusted: readonly Uint8Array[];
  policy: Policy | null;
  /** the keyring a signed loader is verified against (default: builtin) */
  keyring?: KeyringChoice;
}

export interface DecisionRecord {
  op: PolicyOp;
  /** `__loader.prog` or the program's name */
  prog: string;
  action: "ALLOW" | "DENY";
  rule: { line: number; text: string } | null;
  /** the canonical text of the rule or DEFAULT that decided */
  rule_text: string;
  explanation: string;
  /** whether the load gets as far as this hook (earlier denials stop the loader) */
  reached: boolean;
  facts: PolicyFacts;
}

export interface AuditReport {
  schema_version: number;
  source: string;
  signature: {
    result: OfflineReport["result"];
    errno: string | null;
    signer: string | null;
    trusted_key: string | null;
    digest: string;
    insns_digest: string;
    insns_bytes: number;
    metadata_bytes: number;
    excl_hash_matches: boolean | null;
    reason: string;
  };
  install: {
    maps: PlannedMap[];
    progs: PlannedProg[];
    btf: InstallPlan["btf"];
    host_overrides: {
      overridable: boolean;
      maps: { index: number; name: string | null; fields: string[] }[];
    };
  };
  policy: { name: string; version: string } | null;
  /** null without a policy, or when the signature stops the load before any hook */
  decisions: {
    loader: DecisionRecord;
    progs: DecisionRecord[];
    post_integrity: DecisionRecord[];
  } | null;
  /** every reached BPF_PROG_LOAD decision allows; null without a policy or decisions */
  admitted: boolean | null;
}

const REACHES_HOOK = new Set(["VERIFIED", "UNSIGNED"]);

function record(
  policy: Policy,
  prog: string,
  facts: PolicyFacts,
  reached: boolean,
): DecisionRecord {
  const d: Decision = decide(policy, facts);
  return {
    op: d.op,
    prog,
    action: d.action,
    rule: d.rule === "default" ? null : d.rule,
    rule_text: d.rule === "default" ? formatDefaultRule(policy, d.op) : d.rule.text,
    explanation: d.explanation,
    reached,
    facts,
  };
}

const KEYRING_NUMBER: Record<KeyringChoice["type"], number> = {
  BUILTIN: SigKeyring.BUILTIN,
  SECONDARY: SigKeyring.SECONDARY,
  PLATFORM: SigKeyring.PLATFORM,
  USER: SigKeyring.USER,
};

export function auditSkeleton(input: AuditInput, options: AuditOptions): AuditReport {
  return auditSkeletonWithPlan(input, options).report;
}

/** The report and the install plan it was built from (the HTML page shows both). */
export function auditSkeletonWithPlan(
  input: AuditInput,
  options: AuditOptions,
): { report: AuditReport; plan: InstallPlan } {
  const v = verifyOffline({
    insns: input.insns,
    metadata: input.data,
    signature: input.signature,
    exclHash: input.exclHash,
    trusted: options.trusted,
  });
  const plan = planInstall(input.insns, input.data, { mapNames: input.mapNames });
  const report: AuditReport = {
    schema_version: AUDIT_SCHEMA_VERSION,
    source: input.source,
    signature: {
      result: v.result,
      errno: v.errno,
      signer: v.signer,
      trusted_key: v.trustedKey,
      digest: v.digest,
      insns_digest: v.insnsDigest,
      insns_bytes: v.insnsBytes,
      metadata_bytes: v.metadataBytes,
      excl_hash_matches: v.exclHashMatches,
      reason: v.reason,
    },
    install: {
      maps: plan.maps,
      progs: plan.progs,
      btf: plan.btf,
      host_overrides: {
        overridable: plan.hostOverrides.overridable,
        maps: plan.hostOverrides.maps.map((m) => ({
          index: m.index,
          name: m.name,
          fields: [...m.fields],
        })),
      },
    },
    policy: options.policy ? { name: options.policy.name, version: options.policy.version } : null,
    decisions: null,
    admitted: null,
  };
  const policy = options.policy;
  if (!policy || !REACHES_HOOK.has(v.result)) return { report, plan };

  const verified = v.result === "VERIFIED";
  const keyring = options.keyring ?? { type: "BUILTIN", serial: 0 };
  const loaderFacts = loadFacts({
    op: "BPF_PROG_LOAD",
    progName: "__loader.prog",
    progType: ProgType.SYSCALL,
    expectedAttachType: 0,
    verified,
    keyringType: KEYRING_NUMBER[keyring.type],
    keyringSerial: keyring.type === "USER" ? keyring.serial : 0,
    signer: v.signer,
    kernel: false,
    helpers: helpersOf(input.insns),
    installs: verified ? installFacts(plan) : null,
  });
  const progFacts = (op: PolicyOp, p: PlannedProg): PolicyFacts => ({
    ...loadFacts({
      op,
      progName: p.name,
      progType: Math.max(0, numberOf(PROG_TYPE_NAMES, p.type)),
      expectedAttachType: 0,
      verified: false,
      keyringType: SigKeyring.NONE,
      keyringSerial: 0,
      kernel: true,
      // the plan read them off the same instructions (helpersOf's rule)
      helpers: p.helpers,
      installs: null,
    }),
    attachType: p.expected_attach_type,
    // offline the kfunc names are known from the loader's relocations (at the model's hook
    // they are not: rules on calls_kfunc/bpf_signer are decided offline only)
    kfuncs: p.kfuncs,
  });
  const loader = record(policy, "__loader.prog", loaderFacts, true);
  let reached = loader.action === "ALLOW";
  const progs = plan.progs.map((p) => {
    const r = record(policy, p.name, progFacts("BPF_PROG_LOAD", p), reached);
    if (r.action === "DENY") reached = false;
    return r;
  });
  const post = [
    record(policy, "__loader.prog", { ...loaderFacts, op: "BPF_PROG_LOAD_POST_INTEGRITY" }, false),
    ...plan.progs.map((p) =>
      record(policy, p.name, progFacts("BPF_PROG_LOAD_POST_INTEGRITY", p), false),
    ),
  ];
  report.decisions = { loader, progs, post_integrity: post };
  report.admitted = loader.action === "ALLOW" && progs.every((p) => p.action === "ALLOW");
  return { report, plan };
}
