/**
 * Policy file inputs: a load policy read and parsed (a PolicyParseError names the file, line and
 * column: exit 65). Loaded only when --policy-file is given, so that no other input loads the
 * policy parser.
 */
import type { Policy } from "../policy/model.js";
import { parsePolicy } from "../policy/syntax.js";
import { readInput } from "./io.js";

/** A policy file, parsed (a PolicyParseError names the file, line and column: exit 65). */
export function readPolicy(path: string): Policy {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(readInput(path, "policy file"));
  return parsePolicy(text, { source: path });
}
