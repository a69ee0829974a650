/**
 * The policy text: a line-oriented lexer and a recursive-descent parser.
 *
 *   policy    = { blank } header { line } ;
 *   header    = "policy_name" "=" NAME "policy_version" "=" VERSION EOL ;
 *   line      = [ default | rule ] [ COMMENT ] EOL ;
 *   default   = "DEFAULT" [ "op" "=" OP ] "action" "=" ACTION ;
 *   rule      = "op" "=" OP { condition } "action" "=" ACTION ;
 *   condition = PROPERTY CMP VALUE ;
 *   CMP       = "=" | "!=" | "<" | "<=" | ">" | ">=" ;
 *   WORD      = ( letter | digit | "_" | "." | ":" | "-" )+   (NAME, VERSION, OP, ACTION, VALUE)
 *   COMMENT   = "#" { any character but newline } ;
 *
 * Blank lines and comments go anywhere; spaces and tabs separate tokens (optional around CMP).
 * Errors are PolicyParseError with the line and column of the offending token.
 */
import { type PolicyErrorCode, PolicyParseError } from "./errors.js";
import {
  ACTIONS,
  COMPARATORS,
  type Comparator,
  type Condition,
  OPS,
  type Policy,
  type PolicyAction,
  type PolicyOp,
  type Rule,
} from "./model.js";
import { comparatorsOf, PROPERTIES, parseValue, propertySpec } from "./properties.js";

export interface Token {
  kind: "word" | "cmp" | "eol";
  text: string;
  line: number;
  column: number;
}

const WORD_CHAR = /[A-Za-z0-9_.:-]/;

function describe(t: Token): string {
  if (t.kind === "eol") return "end of line";
  return t.kind === "cmp" ? `'${t.text}'` : `'${t.text}'`;
}

/** Splits one line into tokens, ending with an `eol` token at the line's end. */
function lexLine(text: string, line: number, source: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "#") break;
    if (WORD_CHAR.test(c)) {
      const start = i;
      while (i < text.length && WORD_CHAR.test(text[i])) i++;
      out.push({ kind: "word", text: text.slice(start, i), line, column: start + 1 });
      continue;
    }
    if (c === "=" || c === "<" || c === ">" || c === "!") {
      const two = text.slice(i, i + 2);
      const op = two === "!=" || two === "<=" || two === ">=" ? two : c;
      if (op === "!")
        throw new PolicyParseError("POLICY_BAD_CHARACTER", source, line, i + 1, ["'!='"], "'!'");
      out.push({ kind: "cmp", text: op, line, column: i + 1 });
      i += op.length;
      continue;
    }
    throw new PolicyParseError(
      "POLICY_BAD_CHARACTER",
      source,
      line,
      i + 1,
      ["a word, a comparator or '#'"],
      `'${c}' (U+${c.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")})`,
    );
  }
  out.push({ kind: "eol", text: "", line, column: text.length + 1 });
  return out;
}

class LineParser {
  private i = 0;
  constructor(
    private readonly toks: Token[],
    private readonly source: string,
  ) {}

  peek(): Token {
    return this.toks[this.i];
  }

  next(): Token {
    const t = this.toks[this.i];
    if (t.kind !== "eol") this.i++;
    return t;
  }

  fail(code: PolicyErrorCode, t: Token, expected: readonly string[], detail?: string): never {
    throw new PolicyParseError(code, this.source, t.line, t.column, expected, describe(t), detail);
  }

  word(expected: string, code: PolicyErrorCode = "POLICY_UNEXPECTED_TOKEN"): Token {
    const t = this.next();
    if (t.kind !== "word") this.fail(code, t, [expected]);
    return t;
  }

  keyword(kw: string, code: PolicyErrorCode = "POLICY_UNEXPECTED_TOKEN"): Token {
    const t = this.peek();
    if (t.kind !== "word" || t.text !== kw) this.fail(code, t, [`'${kw}'`]);
    return this.next();
  }

  equals(): void {
    const t = this.next();
    if (t.kind !== "cmp" || t.text !== "=") this.fail("POLICY_UNEXPECTED_TOKEN", t, ["'='"]);
  }

  end(): void {
    const t = this.peek();
    if (t.kind !== "eol") this.fail("POLICY_UNEXPECTED_TOKEN", t, ["end of line"]);
  }

  op(): PolicyOp {
    this.keyword("op");
    this.equals();
    const t = this.word("an operation");
    const op = OPS.find((o) => o === t.text);
    if (!op)
      this.fail(
        "POLICY_UNKNOWN_OP",
        t,
        OPS.map((o) => `'${o}'`),
      );
    return op;
  }

  action(): PolicyAction {
    this.keyword("action");
    this.equals();
    const t = this.word("an action");
    const a = ACTIONS.find((x) => x === t.text);
    if (!a)
      this.fail(
        "POLICY_BAD_ACTION",
        t,
        ACTIONS.map((x) => `'${x}'`),
      );
    return a;
  }

  condition(): Condition {
    const t = this.next();
    if (t.kind !== "word") this.fail("POLICY_UNEXPECTED_TOKEN", t, ["a property", "'action'"]);
    const spec = propertySpec(t.text);
    if (!spec)
      this.fail(
        "POLICY_UNKNOWN_PROPERTY",
        t,
        ["a property", "'action'"],
        `unknown property '${t.text}': expected one of ${PROPERTIES.map((p) => p.name).join(", ")} or 'action'`,
      );
    const c = this.next();
    if (c.kind !== "cmp") this.fail("POLICY_UNEXPECTED_TOKEN", c, ["a comparator"]);
    const allowed = comparatorsOf(spec);
    const cmp = COMPARATORS.find((x) => x === c.text) as Comparator;
    if (!allowed.includes(cmp))
      this.fail(
        "POLICY_BAD_OPERATOR",
        c,
        allowed.map((x) => `'${x}'`),
        `'${spec.name}' takes ${allowed.map((x) => `'${x}'`).join(" or ")}, not '${c.text}'`,
      );
    const v = this.next();
    if (v.kind !== "word") this.fail("POLICY_UNEXPECTED_TOKEN", v, ["a value"]);
    const parsed = parseValue(spec, v.text);
    if ("expected" in parsed)
      this.fail(
        "POLICY_BAD_VALUE",
        v,
        [parsed.expected],
        `'${v.text}' is not a value of '${spec.name}': expected ${parsed.expected}`,
      );
    return { property: spec.name, cmp, value: parsed.value };
  }
}

export interface ParseOptions {
  /** Names the policy in error messages (a file name). */
  source?: string;
}

/** Parses a policy text. Throws PolicyParseError. */
export function parsePolicy(text: string, options: ParseOptions = {}): Policy {
  const source = options.source ?? "<policy>";
  const lines = text.split("\n");
  let header: { name: string; version: string } | null = null;
  let defaultAction: PolicyAction | null = null;
  const opDefaults: Partial<Record<PolicyOp, PolicyAction>> = {};
  const rules: Rule[] = [];
  for (let n = 0; n < lines.length; n++) {
    const toks = lexLine(lines[n], n + 1, source);
    if (toks.length === 1) continue;
    const p: LineParser = new LineParser(toks, source);
    if (!header) {
      const first = p.peek();
      if (first.kind !== "word" || first.text !== "policy_name")
        p.fail(
          "POLICY_MISSING_HEADER",
          first,
          ["'policy_name'"],
          `a policy starts with 'policy_name=NAME policy_version=X.Y.Z', found ${describe(first)}`,
        );
      p.keyword("policy_name");
      p.equals();
      const name = p.word("a policy name");
      if (!/^[A-Za-z0-9_.-]+$/.test(name.text))
        p.fail("POLICY_BAD_HEADER", name, ["a policy name of letters, digits, '_', '.', '-'"]);
      p.keyword("policy_version");
      p.equals();
      const version = p.word("a version X.Y.Z");
      const m = /^(\d{1,5})\.(\d{1,5})\.(\d{1,5})$/.exec(version.text);
      if (!m || m.slice(1).some((x) => Number(x) > 65535))
        p.fail("POLICY_BAD_HEADER", version, ["a version X.Y.Z (each at most 65535)"]);
      p.end();
      header = {
        name: name.text,
        version: m
          .slice(1)
          .map((x) => String(Number(x)))
          .join("."),
      };
      continue;
    }
    const first = p.peek();
    if (first.kind === "word" && first.text === "DEFAULT") {
      p.next();
      let op: PolicyOp | null = null;
      if (p.peek().kind === "word" && p.peek().text === "op") op = p.op();
      else if (!(p.peek().kind === "word" && p.peek().text === "action"))
        p.fail("POLICY_UNEXPECTED_TOKEN", p.peek(), ["'op'", "'action'"]);
      const action = p.action();
      p.end();
      if (op ? opDefaults[op] : defaultAction)
        p.fail(
          "POLICY_DUPLICATE_DEFAULT",
          first,
          ["a rule"],
          `a second DEFAULT${op ? ` for op=${op}` : ""}`,
        );
      if (op) opDefaults[op] = action;
      else defaultAction = action;
      continue;
    }
    if (!(first.kind === "word" && first.text === "op"))
      p.fail("POLICY_UNEXPECTED_TOKEN", first, ["'DEFAULT'", "'op'"]);
    const op = p.op();
    const conditions: Condition[] = [];
    while (!(p.peek().kind === "word" && p.peek().text === "action"))
      conditions.push(p.condition());
    const action = p.action();
    p.end();
    rules.push({ op, conditions, action, line: n + 1 });
  }
  if (!header) {
    const last = lines.length;
    throw new PolicyParseError(
      "POLICY_MISSING_HEADER",
      source,
      last,
      lines[last - 1].length + 1,
      ["'policy_name'"],
      "end of text",
      "empty policy: it needs 'policy_name=NAME policy_version=X.Y.Z' and a DEFAULT",
    );
  }
  const missing = OPS.filter((op) => !opDefaults[op] && !defaultAction);
  if (missing.length) {
    const last = lines.length;
    throw new PolicyParseError(
      "POLICY_MISSING_DEFAULT",
      source,
      last,
      lines[last - 1].length + 1,
      ["'DEFAULT action=…'", `'DEFAULT op=${missing[0]} action=…'`],
      "end of text",
      `no default for op=${missing.join(", op=")}: add 'DEFAULT action=ALLOW|DENY' or one per operation`,
    );
  }
  return { name: header.name, version: header.version, defaultAction, opDefaults, rules };
}
