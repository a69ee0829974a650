/**
 * A validator for the subset of JSON Schema (2020-12) that schema/audit.schema.json uses: type,
 * properties, required, additionalProperties: false, items, enum, const, pattern, minimum,
 * maximum, oneOf, anyOf and local $ref into $defs. Any other keyword is an error of the schema,
 * so the schema cannot quietly use something this does not check.
 */

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  "$schema",
  "$id",
  "$defs",
  "$ref",
  "title",
  "description",
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "pattern",
  "minimum",
  "maximum",
  "oneOf",
  "anyOf",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The errors of `value` against `schema` ("path: what"), empty when it is valid. */
export function validate(
  schema: Schema,
  value: unknown,
  root: Schema = schema,
  path = "$",
): string[] {
  for (const k of Object.keys(schema))
    if (!KNOWN.has(k)) throw new Error(`schema keyword '${k}' at ${path} is not supported`);
  if (typeof schema.$ref === "string") {
    const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
    const target = m ? (root.$defs as Record<string, Schema>)?.[m[1]] : undefined;
    if (!target) throw new Error(`unresolvable $ref ${schema.$ref}`);
    return validate(target, value, root, path);
  }
  const errors: string[] = [];
  if (schema.oneOf) {
    const ok = (schema.oneOf as Schema[]).filter(
      (s) => validate(s, value, root, path).length === 0,
    );
    if (ok.length !== 1) errors.push(`${path}: matches ${ok.length} of oneOf, not exactly 1`);
  }
  if (schema.anyOf) {
    const all = (schema.anyOf as Schema[]).map((s) => validate(s, value, root, path));
    if (!all.some((e) => e.length === 0))
      errors.push(`${path}: matches none of anyOf (${all.map((e) => e[0]).join("; ")})`);
  }
  if ("const" in schema && !same(schema.const, value))
    errors.push(`${path}: is ${JSON.stringify(value)}, not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).some((e) => same(e, value)))
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  const t = typeOf(value);
  if (schema.type) {
    const want = schema.type as string;
    if (!(t === want || (want === "number" && t === "integer")))
      return [...errors, `${path}: is ${t}, not ${want}`];
  }
  if (t === "string") {
    if (schema.pattern && !new RegExp(schema.pattern as string, "u").test(value as string))
      errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (t === "integer" || t === "number") {
    if (typeof schema.minimum === "number" && (value as number) < schema.minimum)
      errors.push(`${path}: ${value} < ${schema.minimum}`);
    if (typeof schema.maximum === "number" && (value as number) > schema.maximum)
      errors.push(`${path}: ${value} > ${schema.maximum}`);
  }
  if (t === "object") {
    const o = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[])
      if (!(r in o)) errors.push(`${path}: missing '${r}'`);
    for (const [k, v] of Object.entries(o)) {
      if (props[k]) errors.push(...validate(props[k], v, root, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected '${k}'`);
    }
  }
  if (t === "array" && schema.items)
    (value as unknown[]).forEach((v, i) => {
      errors.push(...validate(schema.items as Schema, v, root, `${path}[${i}]`));
    });
  return errors;
}
