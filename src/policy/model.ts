/**
 * The policy as a value: what the parser returns, the formatter prints and the evaluator reads.
 */

/** The operations a rule applies to. */
export const OPS = ["BPF_PROG_LOAD", "BPF_PROG_LOAD_POST_INTEGRITY"] as const;
export type PolicyOp = (typeof OPS)[number];

export const ACTIONS = ["ALLOW", "DENY"] as const;
export type PolicyAction = (typeof ACTIONS)[number];

export const COMPARATORS = ["=", "!=", "<", "<=", ">", ">="] as const;
export type Comparator = (typeof COMPARATORS)[number];

/** `property cmp value`; the value is canonical for the property (see properties.ts). */
export interface Condition {
  property: string;
  cmp: Comparator;
  value: string | number;
}

export interface Rule {
  op: PolicyOp;
  conditions: Condition[];
  action: PolicyAction;
  /** Where the rule was written (1-based line); 0 for rules built in code. */
  line: number;
}

export interface Policy {
  name: string;
  version: string;
  /** `DEFAULT action=…`: for every operation without its own default. */
  defaultAction: PolicyAction | null;
  /** `DEFAULT op=… action=…` */
  opDefaults: Partial<Record<PolicyOp, PolicyAction>>;
  rules: Rule[];
}

/** The policy without source positions: what parse(format(p)) must give back. */
export function policyStructure(p: Policy): unknown {
  return {
    name: p.name,
    version: p.version,
    defaultAction: p.defaultAction,
    opDefaults: OPS.filter((op) => p.opDefaults[op]).map((op) => [op, p.opDefaults[op]]),
    rules: p.rules.map((r) => ({ op: r.op, conditions: r.conditions, action: r.action })),
  };
}
