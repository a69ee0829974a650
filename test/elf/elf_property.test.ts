import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ElfError, parseElf } from "../../src/elf/elf.js";
import { fixture } from "./tools.js";

/**
 * Mutated and truncated real objects: parseElf either returns or throws ElfError, never another
 * exception type. Mutations aim at the places the parser reads: the ELF header, the section
 * header table, the symbol table and the relocation sections; plus random bytes anywhere.
 */

type Mutation =
  | { kind: "byte"; at: number; value: number }
  | { kind: "u32"; at: number; value: number }
  | { kind: "u64"; at: number; value: bigint }
  | { kind: "truncate"; length: number };

function apply(bytes: Uint8Array, muts: Mutation[], le: boolean): Uint8Array {
  let out = bytes.slice();
  for (const m of muts) {
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    if (m.kind === "truncate") out = out.slice(0, Math.min(m.length, out.length));
    else if (m.at < out.length && m.kind === "byte") out[m.at] = m.value;
    else if (m.kind === "u32" && m.at + 4 <= out.length) dv.setUint32(m.at, m.value, le);
    else if (m.kind === "u64" && m.at + 8 <= out.length) dv.setBigUint64(m.at, m.value, le);
  }
  return out;
}

function mutationArb(bytes: Uint8Array, le: boolean): fc.Arbitrary<Mutation[]> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const shoff = Number(dv.getBigUint64(40, le));
  const shnum = dv.getUint16(60, le);
  // interesting offsets: header fields and every section header field
  const fields: number[] = [4, 5, 6, 16, 18, 40, 52, 58, 60, 62];
  for (let i = 0; i < shnum; i++) {
    for (const f of [0, 4, 8, 24, 32, 40, 44, 48, 56]) fields.push(shoff + i * 64 + f);
  }
  const at = fc.oneof(
    fc.constantFrom(...fields),
    fc.integer({ min: 0, max: bytes.length - 1 }),
    fc.integer({ min: shoff, max: bytes.length - 1 }),
  );
  const small = fc.oneof(
    fc.integer({ min: 0, max: 64 }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.constantFrom(0xffffffff, 0x7fffffff, bytes.length, bytes.length - 1, shnum, shnum + 1),
  );
  const big = fc.oneof(
    small.map(BigInt),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.constantFrom(BigInt(bytes.length), (1n << 64n) - 1n, 1n << 63n),
  );
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("byte" as const),
        at,
        value: fc.integer({ min: 0, max: 255 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("u32" as const), at, value: small }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("u64" as const), at, value: big }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("truncate" as const),
        length: fc.integer({ min: 0, max: bytes.length }),
      }),
    },
  );
  return fc.array(mutation, { minLength: 1, maxLength: 4 });
}

describe("parseElf on mutated objects: returns or throws ElfError", () => {
  for (const [path, le] of [
    ["elf/global_data.bpfel.o", true],
    ["elf/global_data.bpfeb.o", false],
  ] as const) {
    test(path, (t) => {
      const bytes = fixture(path);
      const counts = new Map<string, number>();
      fc.assert(
        fc.property(mutationArb(bytes, le), (muts) => {
          const input = apply(bytes, muts, le);
          let outcome = "parsed";
          try {
            const e = parseElf(input, "mutated.o");
            // what was parsed is internally consistent
            for (const s of e.sections) {
              assert.ok(s.data.length === 0 || s.offset + s.data.length <= input.length);
              for (const r of e.relocationsFor(s.index))
                assert.ok(r.sym < Math.max(1, e.symbols.length));
            }
          } catch (err) {
            if (!(err instanceof ElfError)) throw err;
            assert.ok(err.message.startsWith("mutated.o: "), err.message);
            outcome = err.code;
          }
          counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
        }),
        { numRuns: 3000, seed: le ? 9001 : 9002 },
      );
      const summary = [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`);
      t.diagnostic(`outcomes: ${summary.join(" ")}`);
      assert.ok((counts.get("parsed") ?? 0) > 0, "some mutations still parse");
      assert.ok(counts.size >= 6, "mutations reach several error codes");
    });
  }
});
