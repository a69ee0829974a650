/**
 * The attack table: every attack on every profile for one skeleton, observed on the model
 * kernel and compared with expected.ts; printed as text, Markdown or JSON by `bpfsign attack`.
 */
import type { LoaderImage } from "../loader/load_and_run.js";
import { detectHostOverrides } from "../skeleton/overrides.js";
import { type AttackKeys, attackKeys, formatCell, runAttack } from "./attacks.js";
import {
  ATTACK_DESCRIPTIONS,
  ATTACKS,
  type AttackName,
  expectedOutcome,
  type SkeletonTraits,
  TARGET_NAMES,
  type TargetName,
} from "./expected.js";

export interface AttackCell {
  readonly profile: TargetName;
  readonly observed: string;
  readonly expected: string;
}

export interface AttackRow {
  readonly attack: AttackName;
  readonly description: string;
  readonly cells: readonly AttackCell[];
}

/** What the expectations depend on, read off the skeleton's loader. */
export function skeletonTraits(image: LoaderImage): SkeletonTraits {
  const r = detectHostOverrides(image.insns, { maps: image.maps.map((m) => m.name) });
  return { honoursHostOverrides: r.maps.some((m) => m.fields.length > 0) };
}

export interface AttackTableOptions {
  readonly profiles?: readonly TargetName[];
  readonly attacks?: readonly AttackName[];
  readonly keys?: AttackKeys;
}

export function attackTable(image: LoaderImage, opts: AttackTableOptions = {}): AttackRow[] {
  const keys = opts.keys ?? attackKeys();
  const traits = skeletonTraits(image);
  const profiles = opts.profiles ?? TARGET_NAMES;
  return (opts.attacks ?? ATTACKS).map((attack) => ({
    attack,
    description: ATTACK_DESCRIPTIONS[attack],
    cells: profiles.map((profile) => ({
      profile,
      observed: formatCell(runAttack(profile, attack, image, keys)),
      expected: expectedOutcome(attack, profile, traits),
    })),
  }));
}

/** A Markdown table: one row per attack, one column per profile; a cell that differs from the expectation says both. */
export function attackTableMarkdown(rows: readonly AttackRow[]): string {
  if (!rows.length) return "";
  const profiles = rows[0].cells.map((c) => c.profile);
  const lines = [
    `| attack | ${profiles.join(" | ")} |`,
    `|---|${profiles.map(() => "---").join("|")}|`,
  ];
  for (const r of rows) {
    const cells = r.cells.map((c) =>
      c.observed === c.expected ? c.observed : `${c.observed} (expected ${c.expected})`,
    );
    lines.push(`| \`${r.attack}\` | ${cells.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}

/** Plain text: one line per cell. */
export function attackTableText(rows: readonly AttackRow[]): string {
  const out: string[] = [];
  for (const r of rows) {
    out.push(`${r.attack}: ${r.description}`);
    for (const c of r.cells) {
      const mark = c.observed === c.expected ? "" : `   (expected ${c.expected})`;
      out.push(`  ${c.profile.padEnd(18)} ${c.observed}${mark}`);
    }
  }
  return `${out.join("\n")}\n`;
}
