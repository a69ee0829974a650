/**
 * The properties a rule can test, one table. Every property has a value kind (which fixes the
 * value syntax and its canonical spelling), the comparators it accepts and how it reads the facts.
 *
 * - `enum`: one of a fixed list of names, case-insensitive, canonical as listed; uapi enums also
 *   take the decimal number (canonical: the name when the number has one).
 * - `number`: decimal or `0x` hex, 0 ≤ n < 2^53, canonical decimal; all six comparators.
 * - `bool`: `TRUE` or `FALSE`.
 * - `hex`: a key id, hex bytes optionally separated by `:`, canonical lower-case without `:`.
 * - `name`: an identifier `[A-Za-z0-9_.]+`, compared exactly.
 *
 * Scalar properties compare the fact; set properties (the `installs_*` family, `calls_*`) match
 * `=` when any element equals the value and `!=` when none does.
 */
import type { PolicyFacts } from "./facts.js";
import type { Comparator } from "./model.js";
import {
  ATTACH_TYPE_NAMES,
  HELPER_NAMES,
  MAP_TYPE_NAMES,
  nameOf,
  PROG_TYPE_NAMES,
} from "./names.js";

export type ValueKind = "enum" | "number" | "bool" | "hex" | "name";

type Fact = string | number | null;

export interface PropertySpec {
  name: string;
  kind: ValueKind;
  /** enum: the allowed names (canonical spelling) */
  values?: readonly string[];
  /** enum: a uapi table by number, so a decimal number is accepted too */
  numbered?: boolean;
  /** a set property: the fact is a list (null when unknown) */
  set: boolean;
  describe: string;
  read(f: PolicyFacts): Fact | readonly Fact[] | null;
}

const ATTACH_VALUES = ["none", ...ATTACH_TYPE_NAMES];
const present = (names: readonly string[]) => names.filter((n) => n !== undefined);

const installs = <T>(f: PolicyFacts, get: (i: NonNullable<PolicyFacts["installs"]>) => T) =>
  f.installs ? get(f.installs) : null;
const uniq = (xs: Iterable<string>) => [...new Set(xs)].sort();

export const PROPERTIES: readonly PropertySpec[] = [
  {
    name: "bpf_signature",
    kind: "enum",
    values: ["VERIFIED", "UNSIGNED"],
    set: false,
    describe: "the verdict the signature check recorded",
    read: (f) => f.verdict,
  },
  {
    name: "bpf_keyring",
    kind: "enum",
    values: ["NONE", "BUILTIN", "SECONDARY", "PLATFORM", "USER"],
    set: false,
    describe: "the type of the keyring the signature was verified against",
    read: (f) => f.keyringType,
  },
  {
    name: "bpf_keyring_serial",
    kind: "number",
    set: false,
    describe: "the serial of that keyring (user keyrings)",
    read: (f) => f.keyringSerial,
  },
  {
    name: "bpf_signer",
    kind: "hex",
    set: false,
    describe: "the signer's key id (subject key identifier)",
    read: (f) => f.signer,
  },
  {
    name: "bpf_kernel",
    kind: "bool",
    set: false,
    describe: "the load comes from inside the kernel (a loader program)",
    read: (f) => (f.kernel ? "TRUE" : "FALSE"),
  },
  {
    name: "prog_name",
    kind: "name",
    set: false,
    describe: "the name of the program being loaded",
    read: (f) => f.progName,
  },
  {
    name: "prog_type",
    kind: "enum",
    values: present(PROG_TYPE_NAMES),
    numbered: true,
    set: false,
    describe: "its program type",
    read: (f) => f.progType,
  },
  {
    name: "attach_type",
    kind: "enum",
    values: ATTACH_VALUES,
    set: false,
    describe: "its expected attach type (`none` when it has none)",
    read: (f) => f.attachType,
  },
  {
    name: "calls_helper",
    kind: "enum",
    values: HELPER_NAMES,
    numbered: true,
    set: true,
    describe: "a helper the program being loaded calls",
    read: (f) => f.helpers,
  },
  {
    name: "calls_kfunc",
    kind: "name",
    set: true,
    describe: "a kfunc the program being loaded calls (when names are known)",
    read: (f) => f.kfuncs,
  },
  {
    name: "installs_prog_type",
    kind: "enum",
    values: present(PROG_TYPE_NAMES),
    numbered: true,
    set: true,
    describe: "the type of a program the loader installs",
    read: (f) => installs(f, (i) => i.progs.map((p) => p.type)),
  },
  {
    name: "installs_attach_type",
    kind: "enum",
    values: ATTACH_VALUES,
    set: true,
    describe: "the expected attach type of a program the loader installs",
    read: (f) => installs(f, (i) => i.progs.map((p) => p.attachType)),
  },
  {
    name: "installs_map_type",
    kind: "enum",
    values: present(MAP_TYPE_NAMES),
    numbered: true,
    set: true,
    describe: "the type of a map the loader installs",
    read: (f) => installs(f, (i) => i.maps.map((m) => m.type)),
  },
  {
    name: "installs_helper",
    kind: "enum",
    values: HELPER_NAMES,
    numbered: true,
    set: true,
    describe: "a helper a program the loader installs calls",
    read: (f) => installs(f, (i) => uniq(i.progs.flatMap((p) => p.helpers))),
  },
  {
    name: "installs_kfunc",
    kind: "name",
    set: true,
    describe: "a kfunc a program the loader installs calls",
    read: (f) => installs(f, (i) => uniq(i.progs.flatMap((p) => p.kfuncs))),
  },
  {
    name: "max_map_entries",
    kind: "number",
    set: false,
    describe: "the largest max_entries of the maps the loader installs (0 without maps)",
    read: (f) => installs(f, (i) => i.maps.reduce((m, x) => Math.max(m, x.maxEntries), 0)),
  },
  {
    name: "map_count",
    kind: "number",
    set: false,
    describe: "how many maps the loader installs",
    read: (f) => installs(f, (i) => i.maps.length),
  },
  {
    name: "prog_count",
    kind: "number",
    set: false,
    describe: "how many programs the loader installs",
    read: (f) => installs(f, (i) => i.progs.length),
  },
  {
    name: "host_overrides",
    kind: "bool",
    set: false,
    describe: "the loader takes map sizes or initial values from the host",
    read: (f) => installs(f, (i) => (i.hostOverrides ? "TRUE" : "FALSE")),
  },
];

const BY_NAME = new Map(PROPERTIES.map((p) => [p.name, p]));

export function propertySpec(name: string): PropertySpec | undefined {
  return BY_NAME.get(name);
}

/** Comparators a property accepts. */
export function comparatorsOf(p: PropertySpec): readonly Comparator[] {
  return p.kind === "number" ? ["=", "!=", "<", "<=", ">", ">="] : ["=", "!="];
}

const MAX_NUMBER = Number.MAX_SAFE_INTEGER;

/**
 * The canonical value of `text` for property `p`, or a string describing what was expected
 * (returned as `{ expected }`).
 */
export function parseValue(
  p: PropertySpec,
  text: string,
): { value: string | number } | { expected: string } {
  switch (p.kind) {
    case "number": {
      if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) return { expected: "a number" };
      const n = Number(text);
      return n <= MAX_NUMBER ? { value: n } : { expected: "a number below 2^53" };
    }
    case "bool": {
      const u = text.toUpperCase();
      return u === "TRUE" || u === "FALSE" ? { value: u } : { expected: "TRUE or FALSE" };
    }
    case "hex": {
      if (!/^[0-9a-fA-F]{2}(:?[0-9a-fA-F]{2})*$/.test(text))
        return { expected: "a key id in hex (e.g. 1a2b3c…, colons allowed)" };
      return { value: text.replaceAll(":", "").toLowerCase() };
    }
    case "name":
      return /^[A-Za-z0-9_.]{1,128}$/.test(text)
        ? { value: text }
        : { expected: "a name of letters, digits, '_' and '.'" };
    case "enum": {
      const values = p.values ?? [];
      if (p.numbered && /^[0-9]+$/.test(text)) {
        const n = Number(text);
        if (n <= 0xffff) return { value: nameOf(values, n) };
      }
      const lower = text.toLowerCase();
      const hit = values.find((v) => v !== undefined && v.toLowerCase() === lower);
      if (hit !== undefined) return { value: hit };
      const shown = values.filter((v) => v !== undefined);
      return {
        expected:
          shown.length <= 8
            ? `one of ${shown.join(", ")}`
            : `a ${p.name.replace(/^(installs_|calls_)/, "")} name (e.g. ${shown.slice(0, 3).join(", ")})`,
      };
    }
  }
}

function compare(fact: string | number, cmp: Comparator, value: string | number): boolean {
  if (typeof fact === "number" && typeof value === "number") {
    switch (cmp) {
      case "=":
        return fact === value;
      case "!=":
        return fact !== value;
      case "<":
        return fact < value;
      case "<=":
        return fact <= value;
      case ">":
        return fact > value;
      case ">=":
        return fact >= value;
    }
  }
  if (cmp === "=") return fact === value;
  if (cmp === "!=") return fact !== value;
  return false;
}

/** Whether `property cmp value` holds for the facts, and the fact it was decided on. */
export function matchCondition(
  p: PropertySpec,
  cmp: Comparator,
  value: string | number,
  facts: PolicyFacts,
): { match: boolean; fact: string } {
  const got = p.read(facts);
  if (got === null) return { match: false, fact: "unknown" };
  if (p.set) {
    const list = (got as readonly Fact[]).filter((x): x is string | number => x !== null);
    const any = list.some((x) => compare(x, "=", value));
    const shown = list.length ? `{${list.join(", ")}}` : "{}";
    return { match: cmp === "!=" ? !any : any, fact: shown };
  }
  return { match: compare(got as string | number, cmp, value), fact: String(got) };
}
