/** The --scheme option of sign, verify, load and attack: a scheme name (src/scheme), default v2. */
import { isSchemeName, SCHEME_NAMES, type SchemeName } from "../scheme/index.js";
import { UsageError } from "./errors.js";

export function parseScheme(value: string | undefined): SchemeName {
  if (value === undefined) return "v2";
  if (!isSchemeName(value))
    throw new UsageError(`--scheme must be one of ${SCHEME_NAMES.join(", ")}, not '${value}'`);
  return value;
}
