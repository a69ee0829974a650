/**
 * `bpfsign attack`: runs the adversary (src/adversary) against every profile of the model
 * kernel with the skeleton's loader, signed for each profile's scheme by fresh keys, and prints
 * the table: for each attack and profile, admitted or refused, at which hook, with which verdict
 * the admission and post-integrity hooks saw, and whether the loader ran with unsigned inputs.
 * A cell that differs from the expectation written from the designs says so; the exit status is
 * then ATTACK_UNEXPECTED (6).
 */
import { ATTACKS, type AttackName, TARGET_NAMES, targetProfile } from "../../adversary/expected.js";
import { attackTable, attackTableMarkdown, attackTableText } from "../../adversary/table.js";
import { profile } from "../../kernel/profile.js";
import { UsageError } from "../errors.js";
import type { CliOutcome } from "../exit.js";
import { type CliIo, printJson } from "../output.js";
import { parseScheme } from "../scheme_option.js";
import { readSkeleton } from "../skeleton_input.js";

export interface AttackOptions {
  scheme?: string;
  attack: string[];
  markdown?: boolean;
  json?: boolean;
}

export function runAttackCommand(io: CliIo, file: string, o: AttackOptions): CliOutcome {
  const skel = readSkeleton(file);
  const scheme = o.scheme === undefined ? null : parseScheme(o.scheme);
  const profiles =
    scheme === null
      ? TARGET_NAMES
      : TARGET_NAMES.filter((t) => {
          const s = profile(targetProfile(t).profile).scheme;
          return (s === "mainline" ? "v2" : s) === scheme;
        });
  for (const a of o.attack)
    if (!(ATTACKS as readonly string[]).includes(a))
      throw new UsageError(`--attack must be one of ${ATTACKS.join(", ")}, not '${a}'`);
  const attacks = o.attack.length ? (o.attack as AttackName[]) : ATTACKS;
  const rows = attackTable(skel, { profiles, attacks });
  const mismatches = rows.flatMap((r) => r.cells.filter((c) => c.observed !== c.expected));
  if (o.json) printJson(io, { source: file, profiles, rows, mismatches: mismatches.length });
  else io.stdout(o.markdown ? attackTableMarkdown(rows) : attackTableText(rows));
  if (mismatches.length) {
    io.stderr(`${mismatches.length} cell(s) differ from the designs' expectations\n`);
  }
  return { kind: "attack", mismatches: mismatches.length };
}
