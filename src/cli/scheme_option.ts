/** The --scheme option of sign, verify, load and attack: a scheme name (src/scheme), default v2. */
import { isSchemeName, type SchemeName } from "../scheme/index.js";
import { UsageError } from "./errors.js";

const SCHEME_CHOICES = ["v2", "kfunc", "hornet"] as const;

export function parseScheme(value: string | undefined): SchemeName {
  if (value === undefined) return "v2";
  if (!isSchemeName(value))
    throw new UsageError(`--scheme must be one of ${SCHEME_CHOICES.join(", ")}, not '${value}'`);
  return value;
}
