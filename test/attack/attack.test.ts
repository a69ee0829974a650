/**
 * The adversary's table, cell by cell: every named attack against every profile, on the public
 * vectors (the three gen_hash loaders, and prog_b's plain loader that honours host overrides)
 * and on the repository's own skeletons that the model runs (examples/const_ret.lskel.h, from
 * Debian's bpftool; two reftool-corpus headers written by the v2 bpftool). Each observed cell
 * must equal the expectation written from the designs (src/adversary/expected.ts).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { attackKeys, formatCell, runAttack } from "../../src/adversary/attacks.js";
import { ATTACKS, expectedOutcome, TARGET_NAMES } from "../../src/adversary/expected.js";
import { attackTable, attackTableMarkdown, skeletonTraits } from "../../src/adversary/table.js";
import type { LoaderImage } from "../../src/loader/load_and_run.js";
import { parseLightSkeleton } from "../../src/skeleton/reader.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { REPO_ROOT, skipVectors } from "../support/vectors.js";

const keys = attackKeys();

const header = (path: string): LoaderImage =>
  parseLightSkeleton(readFileSync(join(REPO_ROOT, path)));

/** The skeletons of the README's attack table. */
export const ATTACK_SKELETONS: readonly [string, () => LoaderImage, boolean][] = [
  ["vector prog_a (gen_hash)", () => vectorSkeleton("prog_a", true), true],
  ["vector prog_b (gen_hash)", () => vectorSkeleton("prog_b", true), true],
  ["vector prog_d (gen_hash)", () => vectorSkeleton("prog_d", true), true],
  ["vector prog_b (plain loader)", () => vectorSkeleton("prog_b", false), true],
  ["examples/const_ret.lskel.h", () => header("examples/const_ret.lskel.h"), false],
  [
    "test/fixtures/gen/globals.signed.lskel.h",
    () => header("test/fixtures/gen/globals.signed.lskel.h"),
    false,
  ],
  [
    "test/fixtures/gen/subprogs.signed.lskel.h",
    () => header("test/fixtures/gen/subprogs.signed.lskel.h"),
    false,
  ],
];

for (const [name, load, needsVectors] of ATTACK_SKELETONS) {
  describe(`attacks on ${name}`, { skip: needsVectors ? skipVectors : false }, () => {
    const image = needsVectors && skipVectors ? (null as never) : load();
    const traits = needsVectors && skipVectors ? (null as never) : skeletonTraits(image);
    for (const attack of ATTACKS) {
      test(attack, () => {
        for (const p of TARGET_NAMES) {
          assert.equal(
            formatCell(runAttack(p, attack, image, keys)),
            expectedOutcome(attack, p, traits),
            `${attack} on ${p}`,
          );
        }
      });
    }
  });
}

describe("attack table", { skip: skipVectors }, () => {
  test("the plain loader honours host overrides; the gen_hash loader does not", () => {
    assert.equal(skeletonTraits(vectorSkeleton("prog_b", false)).honoursHostOverrides, true);
    assert.equal(skeletonTraits(vectorSkeleton("prog_b", true)).honoursHostOverrides, false);
  });

  test("markdown: one row per attack, one column per profile; a mismatch shows both", () => {
    const rows = attackTable(vectorSkeleton("prog_a", true), {
      keys,
      attacks: ["none", "bind_btf"],
    });
    const md = attackTableMarkdown(rows);
    assert.equal(md.split("\n").length, 5);
    assert.match(
      md,
      /^\| attack \| v2 \| bpf-next \| bpf-next\/unsealed \| mainline-6\.18 \| kfunc \| hornet \|/,
    );
    assert.doesNotMatch(md, /expected/);
    const forged = attackTableMarkdown([
      { ...rows[0], cells: [{ ...rows[0].cells[0], expected: "refused" }] },
    ]);
    assert.match(forged, /\(expected refused\)/);
  });
});

describe("README attack table", { skip: skipVectors }, () => {
  test("the README's copy is what `bpfsign attack --markdown` prints for vector prog_b", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const m = /<!-- attack-table:prog_b -->\n([\s\S]*?)<!-- \/attack-table -->/.exec(readme);
    assert.ok(m, "markers present");
    assert.equal(m[1], attackTableMarkdown(attackTable(vectorSkeleton("prog_b", true), { keys })));
  });
});
