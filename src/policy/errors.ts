/** Errors of the policy parser. */

export type PolicyErrorCode =
  | "POLICY_BAD_CHARACTER"
  | "POLICY_UNEXPECTED_TOKEN"
  | "POLICY_MISSING_HEADER"
  | "POLICY_BAD_HEADER"
  | "POLICY_UNKNOWN_OP"
  | "POLICY_UNKNOWN_PROPERTY"
  | "POLICY_BAD_OPERATOR"
  | "POLICY_BAD_VALUE"
  | "POLICY_BAD_ACTION"
  | "POLICY_DUPLICATE_DEFAULT"
  | "POLICY_MISSING_DEFAULT";

/**
 * A policy text that does not parse. `line` and `column` are 1-based and always inside the text
 * (a column one past a line's last character points at its end); `expected` names what the
 * parser would have accepted there and `found` what it saw.
 */
export class PolicyParseError extends Error {
  override readonly name = "PolicyParseError";
  constructor(
    readonly code: PolicyErrorCode,
    readonly source: string,
    readonly line: number,
    readonly column: number,
    readonly expected: readonly string[],
    readonly found: string,
    detail?: string,
  ) {
    super(
      `${source}:${line}:${column}: ${detail ?? `expected ${expectedText(expected)}, found ${found}`}`,
    );
  }
}

function expectedText(expected: readonly string[]): string {
  if (expected.length <= 1) return expected[0] ?? "nothing";
  return `${expected.slice(0, -1).join(", ")} or ${expected[expected.length - 1]}`;
}
