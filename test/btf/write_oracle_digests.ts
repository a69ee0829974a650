/**
 * Regenerates test/fixtures/btf/libbpf_raw_data.json: for each scenario object and scenario,
 * the SHA-256 and length of libbpf's btf__raw_data() (from the oracle, libbpf_raw_data.c) and
 * what its add* calls returned. Run after `npx tsc`: node dist/test/btf/write_oracle_digests.js
 */

import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Btf } from "../../src/btf/btf.js";
import { parseElf } from "../../src/elf/elf.js";
import { fixture, fixturePath } from "../elf/tools.js";
import { runOracle } from "./oracle.js";
import { SCENARIO_OBJECTS, SCENARIOS } from "./scenarios.js";

const out: Record<string, { sha256: string; length: number; returned: number[] }> = {};
for (const obj of SCENARIO_OBJECTS) {
  for (const sc of SCENARIOS) {
    const elf = parseElf(fixture(obj), obj);
    const input = elf.sectionByName(".BTF")!.data;
    const { ops } = sc.run(elf, Btf.parse(input, obj));
    const { raw, printed } = runOracle(input, ops);
    out[`${obj} | ${sc.name}`] = {
      sha256: createHash("sha256").update(raw).digest("hex"),
      length: raw.length,
      returned: printed,
    };
  }
}
writeFileSync(fixturePath("btf/libbpf_raw_data.json"), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${Object.keys(out).length} digests`);
