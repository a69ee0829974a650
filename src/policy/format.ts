/**
 * The canonical text of a policy: the header, the global DEFAULT, the per-operation DEFAULTs in
 * operation order, then the rules in order, one per line, single spaces, canonical values, no
 * comments. parsePolicy(formatPolicy(p)) has p's structure, and formatting is idempotent.
 */
import { type Condition, OPS, type Policy, type PolicyOp, type Rule } from "./model.js";

export function formatCondition(c: Condition): string {
  return `${c.property}${c.cmp}${c.value}`;
}

export function formatRule(r: Pick<Rule, "op" | "conditions" | "action">): string {
  return [`op=${r.op}`, ...r.conditions.map(formatCondition), `action=${r.action}`].join(" ");
}

/** The text of the DEFAULT that decides for `op` when no rule matches (audit records, reports). */
export function formatDefaultRule(policy: Policy, op: PolicyOp): string {
  const own = policy.opDefaults[op];
  return own ? `DEFAULT op=${op} action=${own}` : `DEFAULT action=${policy.defaultAction}`;
}

export function formatPolicy(p: Policy): string {
  const out = [`policy_name=${p.name} policy_version=${p.version}`];
  if (p.defaultAction) out.push(`DEFAULT action=${p.defaultAction}`);
  for (const op of OPS) {
    const a = p.opDefaults[op];
    if (a) out.push(`DEFAULT op=${op} action=${a}`);
  }
  for (const r of p.rules) out.push(formatRule(r));
  return `${out.join("\n")}\n`;
}
