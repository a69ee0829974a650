/**
 * BTF mutation scenarios checked against libbpf's btf__raw_data(): each applies changes through
 * the Btf API and records the same changes as operations for the libbpf oracle.
 */

import {
  BTF_FUNC_GLOBAL,
  BTF_INT_SIGNED,
  BTF_KIND,
  BTF_VAR_STATIC,
  type Btf,
} from "../../src/btf/btf.js";
import type { ElfFile } from "../../src/elf/elf.js";
import { type Applied, applyGenFixups } from "./libbpf_fixups.js";

export interface Scenario {
  name: string;
  run(elf: ElfFile, btf: Btf): Applied;
}

/** Objects the scenarios run on (paths under test/fixtures). */
export const SCENARIO_OBJECTS = [
  "elf/global_data.bpfel.o",
  "elf/global_data.bpfeb.o",
  "btf/externs.bpfel.o",
  "btf/externs.bpfeb.o",
  "btf/dump_vars.bpfel.o",
] as const;

export const SCENARIOS: Scenario[] = [
  { name: "untouched", run: () => ({ ops: [], returned: [] }) },
  { name: "gen-mode fix-ups", run: (elf, btf) => applyGenFixups(elf, btf) },
  {
    name: "add_str of an existing string",
    run: (_elf, btf) => ({ ops: ["addstr:int"], returned: [btf.addString("int")] }),
  },
  {
    name: "fix-ups, then additions",
    run: (elf, btf) => {
      const { ops, returned } = applyGenFixups(elf, btf);
      const proto = btf.types.findIndex((t) => t.kind === BTF_KIND.FUNC_PROTO);
      const str = btf.addString("bpfsign");
      const myInt = btf.addInt("my_int", 8, BTF_INT_SIGNED);
      const myFunc = btf.addFunc("my_func", BTF_FUNC_GLOBAL, proto);
      const myVar = btf.addVar("my_var", BTF_VAR_STATIC, myInt);
      const again = btf.addString("bpfsign");
      returned.push(str, myInt, myFunc, myVar, again);
      ops.push(
        "addstr:bpfsign",
        `addint:my_int:8:${BTF_INT_SIGNED}`,
        `addfunc:my_func:${BTF_FUNC_GLOBAL}:${proto}`,
        `addvar:my_var:${BTF_VAR_STATIC}:${myInt}`,
        "addstr:bpfsign",
      );
      return { ops, returned };
    },
  },
];
