/** Small program builders for the interpreter tests. */
import { encodeInsns, exit, type Insn, ldImm64 } from "../../src/insn/index.js";
import { execute } from "../../src/vm/execute.js";

export const U64 = (v: bigint) => BigInt.asUintN(64, v);

/** Runs `r0 = a; r1 = b; <op>; exit` and returns r0 (unsigned). */
export function alu(op: Insn, a: bigint, b = 0n): bigint {
  const code = encodeInsns([...ldImm64(0, U64(a)), ...ldImm64(1, U64(b)), op, exit()]);
  return execute(code).r0;
}

/** Runs straight-line code and returns r0. */
export function run(...insns: (Insn | readonly Insn[])[]): bigint {
  return execute(encodeInsns(insns.flat() as Insn[])).r0;
}
