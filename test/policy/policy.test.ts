import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  decide,
  formatPolicy,
  OPS,
  type Policy,
  type PolicyFacts,
  PolicyParseError,
  PROPERTIES,
  parsePolicy,
  policyStructure,
} from "../../src/policy/index.js";

const HEADER = "policy_name=fleet policy_version=1.2.3\n";

const SAMPLE = `# a sample policy
policy_name=fleet policy_version=1.2.3

DEFAULT action=DENY
DEFAULT op=BPF_PROG_LOAD_POST_INTEGRITY action=ALLOW
op=BPF_PROG_LOAD bpf_kernel=TRUE prog_type=kprobe action=DENY   # no kprobes from loaders
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=BUILTIN action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER bpf_keyring_serial=0x10 max_map_entries<=1024 action=ALLOW
op=BPF_PROG_LOAD_POST_INTEGRITY bpf_signer=AA:bb:01 action=DENY
`;

function facts(over: Partial<PolicyFacts> = {}): PolicyFacts {
  return {
    op: "BPF_PROG_LOAD",
    progName: "__loader.prog",
    progType: "syscall",
    attachType: "none",
    verdict: "UNSIGNED",
    keyringType: "NONE",
    keyringSerial: null,
    signer: null,
    kernel: false,
    helpers: [],
    kfuncs: [],
    installs: null,
    ...over,
  };
}

function parseError(text: string): PolicyParseError {
  try {
    parsePolicy(text, { source: "p.pol" });
  } catch (e) {
    assert.ok(e instanceof PolicyParseError, `not a PolicyParseError: ${e}`);
    return e;
  }
  assert.fail(`parsed: ${JSON.stringify(text)}`);
}

describe("policy language", () => {
  test("the sample parses into header, defaults and rules with their lines", () => {
    const p = parsePolicy(SAMPLE);
    assert.equal(p.name, "fleet");
    assert.equal(p.version, "1.2.3");
    assert.equal(p.defaultAction, "DENY");
    assert.deepEqual(p.opDefaults, { BPF_PROG_LOAD_POST_INTEGRITY: "ALLOW" });
    assert.deepEqual(
      p.rules.map((r) => [r.line, r.op, r.action, r.conditions.length]),
      [
        [6, "BPF_PROG_LOAD", "DENY", 2],
        [7, "BPF_PROG_LOAD", "ALLOW", 1],
        [8, "BPF_PROG_LOAD", "ALLOW", 2],
        [9, "BPF_PROG_LOAD", "ALLOW", 4],
        [10, "BPF_PROG_LOAD_POST_INTEGRITY", "DENY", 1],
      ],
    );
    assert.deepEqual(p.rules[3].conditions[2], {
      property: "bpf_keyring_serial",
      cmp: "=",
      value: 16,
    });
    assert.deepEqual(p.rules[3].conditions[3], {
      property: "max_map_entries",
      cmp: "<=",
      value: 1024,
    });
    assert.deepEqual(p.rules[4].conditions[0], {
      property: "bpf_signer",
      cmp: "=",
      value: "aabb01",
    });
  });

  test("the canonical text: values normalised, comments and blank lines dropped", () => {
    assert.equal(
      formatPolicy(parsePolicy(SAMPLE)),
      `policy_name=fleet policy_version=1.2.3
DEFAULT action=DENY
DEFAULT op=BPF_PROG_LOAD_POST_INTEGRITY action=ALLOW
op=BPF_PROG_LOAD bpf_kernel=TRUE prog_type=kprobe action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=BUILTIN action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER bpf_keyring_serial=16 max_map_entries<=1024 action=ALLOW
op=BPF_PROG_LOAD_POST_INTEGRITY bpf_signer=aabb01 action=DENY
`,
    );
  });

  test("enum values are case-insensitive and uapi numbers become names", () => {
    const p = parsePolicy(
      `${HEADER}DEFAULT action=ALLOW\nop=BPF_PROG_LOAD prog_type=2 installs_map_type=HASH calls_helper=36 action=DENY\n`,
    );
    assert.deepEqual(
      p.rules[0].conditions.map((c) => c.value),
      ["kprobe", "hash", "probe_write_user"],
    );
  });

  const errors: [string, string, number, number, RegExp][] = [
    ["", "POLICY_MISSING_HEADER", 1, 1, /policy_name/],
    ["DEFAULT action=DENY\n", "POLICY_MISSING_HEADER", 1, 1, /policy_name/],
    ["policy_name=x policy_version=1.0\n", "POLICY_BAD_HEADER", 1, 30, /X\.Y\.Z/],
    ["policy_name=x policy_version=1.0.0 extra\n", "POLICY_UNEXPECTED_TOKEN", 1, 36, /end of line/],
    [`${HEADER}`, "POLICY_MISSING_DEFAULT", 2, 1, /DEFAULT/],
    [
      `${HEADER}DEFAULT action=DENY\nDEFAULT action=ALLOW`,
      "POLICY_DUPLICATE_DEFAULT",
      3,
      1,
      /second/,
    ],
    [`${HEADER}DEFAULT action=MAYBE`, "POLICY_BAD_ACTION", 2, 16, /'ALLOW' or 'DENY'/],
    [
      `${HEADER}DEFAULT action=DENY\nop=BPF_MAP_CREATE action=DENY`,
      "POLICY_UNKNOWN_OP",
      3,
      4,
      /BPF_PROG_LOAD/,
    ],
    [
      `${HEADER}DEFAULT action=DENY\nop=BPF_PROG_LOAD colour=red action=DENY`,
      "POLICY_UNKNOWN_PROPERTY",
      3,
      18,
      /colour/,
    ],
    [
      `${HEADER}DEFAULT action=DENY\nop=BPF_PROG_LOAD prog_type>kprobe action=DENY`,
      "POLICY_BAD_OPERATOR",
      3,
      27,
      /'=' or '!='/,
    ],
    [
      `${HEADER}DEFAULT action=DENY\nop=BPF_PROG_LOAD max_map_entries<=lots action=DENY`,
      "POLICY_BAD_VALUE",
      3,
      35,
      /a number/,
    ],
    [
      `${HEADER}DEFAULT action=DENY\nop=BPF_PROG_LOAD bpf_kernel=TRUE`,
      "POLICY_UNEXPECTED_TOKEN",
      3,
      33,
      /property.*action/,
    ],
    [
      `${HEADER}DEFAULT action=DENY\nop=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW;`,
      "POLICY_BAD_CHARACTER",
      3,
      46,
      /';'/,
    ],
    [
      `${HEADER}DEFAULT action=DENY\nop=BPF_PROG_LOAD bpf_kernel!TRUE action=ALLOW`,
      "POLICY_BAD_CHARACTER",
      3,
      28,
      /'!='/,
    ],
    [
      `${HEADER}DEFAULT action=DENY\naction=ALLOW`,
      "POLICY_UNEXPECTED_TOKEN",
      3,
      1,
      /'DEFAULT' or 'op'/,
    ],
  ];
  for (const [text, code, line, column, msg] of errors)
    test(`${code} at ${line}:${column} for ${JSON.stringify(text.split("\n").at(-1) || text)}`, () => {
      const e = parseError(text);
      assert.equal(e.code, code);
      assert.deepEqual([e.line, e.column], [line, column], e.message);
      assert.match(e.message, msg);
      assert.match(e.message, new RegExp(`^p\\.pol:${line}:${column}: `));
      assert.ok(e.expected.length > 0);
    });
});

describe("decisions", () => {
  const p = parsePolicy(SAMPLE);

  test("first match wins: an in-kernel kprobe is denied by line 6, not allowed by line 7", () => {
    const d = decide(p, facts({ kernel: true, progType: "kprobe" }));
    assert.equal(d.action, "DENY");
    assert.deepEqual(d.rule, {
      line: 6,
      text: "op=BPF_PROG_LOAD bpf_kernel=TRUE prog_type=kprobe action=DENY",
    });
    assert.match(
      d.explanation,
      /line 6 matched: bpf_kernel=TRUE \(bpf_kernel is TRUE\), prog_type=kprobe/,
    );
  });

  test("an in-kernel socket filter is allowed by line 7", () => {
    const d = decide(p, facts({ kernel: true, progType: "socket_filter" }));
    assert.equal(d.action, "ALLOW");
    assert.equal(d.rule !== "default" && d.rule.line, 7);
  });

  test("an unsigned user load falls to the global default", () => {
    const d = decide(p, facts());
    assert.equal(d.action, "DENY");
    assert.equal(d.rule, "default");
    assert.match(
      d.explanation,
      /no rule for op=BPF_PROG_LOAD matched \(4 tried\); DEFAULT action=DENY/,
    );
  });

  test("the per-operation default beats the global one", () => {
    const d = decide(p, facts({ op: "BPF_PROG_LOAD_POST_INTEGRITY" }));
    assert.deepEqual([d.action, d.rule], ["ALLOW", "default"]);
    assert.match(d.explanation, /DEFAULT op=BPF_PROG_LOAD_POST_INTEGRITY action=ALLOW/);
  });

  test("user keyring: serial and max_map_entries, an unknown install list never matches", () => {
    const user = { verdict: "VERIFIED", keyringType: "USER", keyringSerial: 16 } as const;
    const installs = (n: number) => ({
      progs: [],
      maps: [{ name: "m", type: "array", maxEntries: n }],
      hostOverrides: false,
    });
    assert.equal(decide(p, facts({ ...user, installs: installs(1024) })).action, "ALLOW");
    assert.equal(decide(p, facts({ ...user, installs: installs(1025) })).action, "DENY");
    assert.equal(
      decide(p, facts({ ...user, keyringSerial: 17, installs: installs(1) })).action,
      "DENY",
    );
    assert.equal(decide(p, facts({ ...user, installs: null })).action, "DENY");
  });

  test("set properties: = is any element, != is none", () => {
    const q = parsePolicy(
      `${HEADER}DEFAULT action=ALLOW\nop=BPF_PROG_LOAD installs_prog_type!=socket_filter action=DENY\n`,
    );
    const inst = (types: string[]) => ({
      progs: types.map((type) => ({
        name: "p",
        type,
        attachType: "none",
        helpers: [],
        kfuncs: [],
      })),
      maps: [],
      hostOverrides: false,
    });
    assert.equal(decide(q, facts({ installs: inst(["socket_filter"]) })).action, "ALLOW");
    assert.equal(decide(q, facts({ installs: inst(["kprobe"]) })).action, "DENY");
    assert.equal(decide(q, facts({ installs: inst([]) })).action, "DENY");
    assert.equal(decide(q, facts({ installs: null })).action, "ALLOW");
  });

  test("signer compares the canonical hex", () => {
    const d = decide(p, facts({ op: "BPF_PROG_LOAD_POST_INTEGRITY", signer: "aabb01" }));
    assert.deepEqual([d.action, d.rule !== "default" && d.rule.line], ["DENY", 10]);
  });
});

// ---------------------------------------------------------------- properties

const valueFor: Record<string, fc.Arbitrary<string>> = {};
for (const p of PROPERTIES) {
  valueFor[p.name] =
    p.kind === "number"
      ? fc.oneof(
          fc.nat({ max: 1 << 30 }).map(String),
          fc.nat({ max: 0xffff }).map((n) => `0x${n.toString(16)}`),
        )
      : p.kind === "bool"
        ? fc.constantFrom("TRUE", "FALSE", "true")
        : p.kind === "hex"
          ? fc
              .uint8Array({ minLength: 1, maxLength: 20 })
              .map((b) => Buffer.from(b).toString("hex"))
          : p.kind === "name"
            ? fc.stringMatching(/^[A-Za-z0-9_.]{1,16}$/)
            : fc.constantFrom(...(p.values ?? []).filter((v) => v !== undefined));
}

const conditionArb: fc.Arbitrary<string> = fc
  .constantFrom(...PROPERTIES)
  .chain((p) =>
    fc
      .tuple(
        fc.constantFrom(...(p.kind === "number" ? ["=", "!=", "<", "<=", ">", ">="] : ["=", "!="])),
        valueFor[p.name],
      )
      .map(([cmp, v]) => `${p.name}${cmp}${v}`),
  );

const ruleArb = fc
  .tuple(
    fc.constantFrom(...OPS),
    fc.array(conditionArb, { maxLength: 4 }),
    fc.constantFrom("ALLOW", "DENY"),
    fc.constantFrom("", "  # note"),
  )
  .map(([op, cs, a, comment]) => `op=${op} ${cs.join(" ")} action=${a}${comment}`);

const policyTextArb = fc
  .tuple(
    fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/),
    fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 99 }), fc.nat({ max: 999 })),
    fc.constantFrom("ALLOW", "DENY"),
    fc.boolean(),
    fc.array(ruleArb, { maxLength: 8 }),
  )
  .map(
    ([name, [a, b, c], def, opDefault, rules]) =>
      `# generated\npolicy_name=${name} policy_version=${a}.${b}.${c}\nDEFAULT action=${def}\n${
        opDefault ? "DEFAULT op=BPF_PROG_LOAD action=ALLOW\n" : ""
      }\n${rules.join("\n")}\n`,
  );

/** One edit of the text: insert, delete or replace a run of characters. */
const mutationArb = fc.tuple(
  fc.constantFrom("insert", "delete", "replace"),
  fc.nat(),
  fc.nat({ max: 6 }),
  fc.string({
    unit: fc.constantFrom(
      ..."=!<>#\n \tAaZz09_.:-;\"'é\r,|()".split(""),
      "op",
      "action",
      "DEFAULT",
    ),
    maxLength: 4,
  }),
);

function mutate(text: string, muts: [string, number, number, string][]): string {
  for (const [kind, at, len, s] of muts) {
    const i = text.length ? at % (text.length + 1) : 0;
    if (kind === "insert") text = text.slice(0, i) + s + text.slice(i);
    else if (kind === "delete") text = text.slice(0, i) + text.slice(i + len);
    else text = text.slice(0, i) + s + text.slice(i + s.length);
  }
  return text;
}

describe("policy properties (fast-check)", () => {
  test("generated policies parse, and parse(format(p)) == p with a canonical, idempotent format", () => {
    fc.assert(
      fc.property(policyTextArb, (text) => {
        const p: Policy = parsePolicy(text);
        const f = formatPolicy(p);
        const q = parsePolicy(f);
        assert.deepEqual(policyStructure(q), policyStructure(p));
        assert.equal(formatPolicy(q), f);
      }),
      { numRuns: 300 },
    );
  });

  test("mutated policies never crash: they parse, or fail with a PolicyParseError inside the text", () => {
    fc.assert(
      fc.property(
        policyTextArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        (text, muts) => {
          const bad = mutate(text, muts);
          let p: Policy;
          try {
            p = parsePolicy(bad);
          } catch (e) {
            assert.ok(e instanceof PolicyParseError, `${e}`);
            assert.match(e.code, /^POLICY_[A-Z_]+$/);
            const lines = bad.split("\n");
            assert.ok(e.line >= 1 && e.line <= lines.length, `line ${e.line} of ${lines.length}`);
            assert.ok(
              e.column >= 1 && e.column <= lines[e.line - 1].length + 1,
              `column ${e.column} on a line of ${lines[e.line - 1].length}`,
            );
            assert.ok(e.expected.length > 0);
            return;
          }
          // what still parses round-trips too
          assert.deepEqual(policyStructure(parsePolicy(formatPolicy(p))), policyStructure(p));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("decide never throws and always names a rule of its operation or the default", () => {
    const factsArb = fc.record({
      op: fc.constantFrom(...OPS),
      kernel: fc.boolean(),
      verdict: fc.constantFrom("VERIFIED", "UNSIGNED" as const),
      progType: fc.constantFrom("kprobe", "socket_filter", "syscall"),
      max: fc.option(fc.nat({ max: 1 << 20 })),
    });
    fc.assert(
      fc.property(policyTextArb, factsArb, (text, f) => {
        const p = parsePolicy(text);
        const d = decide(
          p,
          facts({
            op: f.op,
            kernel: f.kernel,
            verdict: f.verdict as "VERIFIED" | "UNSIGNED",
            progType: f.progType,
            installs:
              f.max === null
                ? null
                : {
                    progs: [],
                    maps: [{ name: "m", type: "array", maxEntries: f.max }],
                    hostOverrides: true,
                  },
          }),
        );
        const rule = d.rule;
        if (rule !== "default") {
          const r = p.rules.find((x) => x.line === rule.line);
          assert.ok(r && r.op === f.op && r.action === d.action);
        } else assert.equal(d.action, p.opDefaults[f.op] ?? p.defaultAction);
      }),
      { numRuns: 300 },
    );
  });
});

test("names: attach types come from uapi AttachType; uapi Helper agrees with HELPER_NAMES", async () => {
  const { ATTACH_TYPE_NAMES, HELPER_NAMES } = await import("../../src/policy/names.js");
  const { AttachType, Helper } = await import("../../src/uapi/constants.js");
  assert.equal(ATTACH_TYPE_NAMES.length, Object.keys(AttachType).length);
  for (const [k, v] of Object.entries(AttachType))
    assert.equal(ATTACH_TYPE_NAMES[v], k.toLowerCase());
  assert.equal(ATTACH_TYPE_NAMES[23], "trace_raw_tp");
  assert.equal(ATTACH_TYPE_NAMES[61], "trace_fsession_multi");
  for (const [k, v] of Object.entries(Helper)) assert.equal(HELPER_NAMES[v], k);
});

test("formatDefaultRule: the per-operation DEFAULT when there is one, else the global one", async () => {
  const { formatDefaultRule, parsePolicy } = await import("../../src/policy/index.js");
  const p = parsePolicy(
    "policy_name=t policy_version=1.0.0\nDEFAULT action=DENY\nDEFAULT op=BPF_PROG_LOAD action=ALLOW\n",
  );
  assert.equal(formatDefaultRule(p, "BPF_PROG_LOAD"), "DEFAULT op=BPF_PROG_LOAD action=ALLOW");
  const q = parsePolicy("policy_name=t policy_version=1.0.0\nDEFAULT action=DENY\n");
  assert.equal(formatDefaultRule(q, "BPF_PROG_LOAD"), "DEFAULT action=DENY");
});
