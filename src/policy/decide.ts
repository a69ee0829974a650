/**
 * The decision: the first rule for the operation whose every condition holds decides; when none
 * does, the operation's DEFAULT, else the global DEFAULT. The result says which and why.
 */
import type { PolicyFacts } from "./facts.js";
import { formatCondition, formatRule } from "./format.js";
import type { Policy, PolicyAction, PolicyOp } from "./model.js";
import { matchCondition, propertySpec } from "./properties.js";

export interface Decision {
  op: PolicyOp;
  action: PolicyAction;
  /** The rule that decided (its source line and canonical text), or "default". */
  rule: { line: number; text: string } | "default";
  /** One sentence: which rule matched and on what facts, or that the default applied. */
  explanation: string;
}

export function decide(policy: Policy, facts: PolicyFacts): Decision {
  const op = facts.op;
  let tried = 0;
  for (const r of policy.rules) {
    if (r.op !== op) continue;
    tried++;
    const seen: string[] = [];
    let all = true;
    for (const c of r.conditions) {
      const spec = propertySpec(c.property);
      if (!spec) {
        all = false;
        break;
      }
      const m = matchCondition(spec, c.cmp, c.value, facts);
      if (!m.match) {
        all = false;
        break;
      }
      seen.push(`${formatCondition(c)} (${c.property} is ${m.fact})`);
    }
    if (!all) continue;
    const text = formatRule(r);
    return {
      op,
      action: r.action,
      rule: { line: r.line, text },
      explanation: `rule at line ${r.line} matched${seen.length ? `: ${seen.join(", ")}` : " (no conditions)"}; action=${r.action}`,
    };
  }
  const own = policy.opDefaults[op];
  const action = (own ?? policy.defaultAction) as PolicyAction;
  return {
    op,
    action,
    rule: "default",
    explanation: `no rule for op=${op} matched (${tried} tried); ${own ? `DEFAULT op=${op}` : "DEFAULT"} action=${action} applies`,
  };
}
