import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { BTF_KIND, Btf, BtfError } from "../../src/btf/btf.js";
import { BtfDump } from "../../src/btf/btf_dump.js";
import { BtfExt } from "../../src/btf/btf_ext.js";
import { parseElf } from "../../src/elf/elf.js";
import { fixture } from "../elf/tools.js";
import { BtfBuilder } from "./btf_builder.js";
import { type DumpRequest, oracleMissing, runDumpOracle } from "./oracle.js";
import { SCENARIO_OBJECTS } from "./scenarios.js";

type Mutation =
  | { kind: "byte"; at: number; value: number }
  | { kind: "u32"; at: number; value: number }
  | { kind: "truncate"; length: number };

function mutate(bytes: Uint8Array, muts: Mutation[], le: boolean): Uint8Array {
  let out = bytes.slice();
  for (const m of muts) {
    if (m.kind === "truncate") out = out.slice(0, Math.min(m.length, out.length));
    else if (m.kind === "byte" && m.at < out.length) out[m.at] = m.value;
    else if (m.kind === "u32" && m.at + 4 <= out.length) {
      new DataView(out.buffer).setUint32(m.at & ~3, m.value >>> 0, le);
    }
  }
  return out;
}

function mutations(len: number, hot: number[]): fc.Arbitrary<Mutation[]> {
  const at = fc.oneof(fc.constantFrom(...hot), fc.integer({ min: 0, max: len - 1 }));
  const value = fc.oneof(
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.constantFrom(0xffffffff, len, len + 4, 1 << 24, (BTF_KIND.STRUCT << 24) | 0xffff, 20 << 24),
  );
  const m: fc.Arbitrary<Mutation> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("byte" as const),
        at,
        value: fc.integer({ min: 0, max: 255 }),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("u32" as const), at, value }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("truncate" as const),
        length: fc.integer({ min: 0, max: len }),
      }),
    },
  );
  return fc.array(m, { minLength: 1, maxLength: 3 });
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function summary(map: Map<string, number>): string {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

describe("mutated .BTF: parse returns or throws BtfError; what parses is usable", () => {
  for (const obj of SCENARIO_OBJECTS) {
    test(obj, (t) => {
      const elf = parseElf(fixture(obj), obj);
      const bytes = elf.sectionByName(".BTF")!.data.slice();
      const le = elf.littleEndian;
      const hot = [0, 2, 3, 4, 8, 12, 16, 20];
      for (let o = 24; o < Math.min(bytes.length, 24 + 400); o += 4) hot.push(o);
      const counts = new Map<string, number>();
      fc.assert(
        fc.property(mutations(bytes.length, hot), (muts) => {
          const input = mutate(bytes, muts, le);
          let btf: Btf;
          try {
            btf = Btf.parse(input, "m.o");
          } catch (e) {
            if (!(e instanceof BtfError)) throw e;
            count(counts, e.code);
            return;
          }
          count(counts, "parsed");
          // an untouched little-endian BTF serialises to the input
          if (btf.littleEndian) assert.deepEqual(Buffer.from(btf.rawData()), Buffer.from(input));
          const d = new BtfDump(btf);
          for (const ty of btf.types) {
            btf.resolveSize(ty.id);
            btf.alignOf(ty.id);
            try {
              btf.skipModsAndTypedefs(ty.id);
              d.emitTypeDecl(ty.id, { fieldName: "x", indentLevel: 1, stripMods: ty.id % 2 === 0 });
            } catch (e) {
              if (!(e instanceof BtfError)) throw e;
            }
          }
          // the parsed BTF survives a libbpf-style modification and re-parses to the same types
          try {
            btf.addString("bpfsign_prop");
          } catch (e) {
            if (!(e instanceof BtfError) || e.code !== "BTF_NOT_MODIFIABLE") throw e;
            return;
          }
          assert.deepEqual(Btf.parse(btf.rawData()).types, btf.types);
        }),
        { numRuns: 1500, seed: 4242 },
      );
      t.diagnostic(`outcomes over 1500 runs: ${summary(counts)}`);
      assert.ok((counts.get("parsed") ?? 0) > 0);
      assert.ok(counts.size >= 5, summary(counts));
    });
  }
});

describe("mutated .BTF.ext: parse returns or throws BtfError", () => {
  for (const obj of ["btf/externs.bpfel.o", "btf/externs.bpfeb.o"]) {
    test(obj, (t) => {
      const elf = parseElf(fixture(obj), obj);
      const btf = Btf.parse(elf.sectionByName(".BTF")!.data);
      const ext = elf.sectionByName(".BTF.ext")!.data.slice();
      const hot = [0, 2, 3, 4, 8, 12, 16, 20, 24, 28];
      for (let o = 32; o < Math.min(ext.length, 32 + 200); o += 4) hot.push(o);
      const counts = new Map<string, number>();
      fc.assert(
        fc.property(mutations(ext.length, hot), (muts) => {
          try {
            const x = BtfExt.parse(mutate(ext, muts, elf.littleEndian), btf, "m.o");
            for (const s of [...x.funcInfo, ...x.lineInfo, ...x.coreRelo]) {
              assert.ok(s.records.length > 0);
              assert.equal(s.records.length, s.decoded.length);
            }
            count(counts, "parsed");
          } catch (e) {
            if (!(e instanceof BtfError)) throw e;
            count(counts, e.code);
          }
        }),
        { numRuns: 1500, seed: 777 },
      );
      t.diagnostic(`outcomes over 1500 runs: ${summary(counts)}`);
      assert.ok((counts.get("parsed") ?? 0) > 0);
      assert.ok(counts.size >= 4, summary(counts));
    });
  }
});

/** A random type graph: every reference points at an earlier type (or void). */
type Spec =
  | { k: "ptr" | "const" | "volatile" | "restrict" | "typedef" | "tag"; ref: number; name: number }
  | { k: "array"; ref: number; n: number }
  | { k: "struct" | "union"; name: number; members: { ref: number; gap: number; bits: number }[] }
  | {
      k: "enum" | "enum64";
      name: number;
      size: number;
      signed: boolean;
      values: { name: number; v: number }[];
    }
  | { k: "proto"; ref: number; params: { ref: number; name: number }[]; vararg: boolean }
  | { k: "fwd"; name: number; union: boolean }
  | { k: "float"; size: number };

const NAMES = ["", "a", "b", "t", "u", "node"];

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({
    k: fc.constantFrom(
      "ptr" as const,
      "const" as const,
      "volatile" as const,
      "restrict" as const,
      "typedef" as const,
      "tag" as const,
    ),
    ref: fc.nat(),
    name: fc.integer({ min: 1, max: NAMES.length - 1 }),
  }),
  fc.record({ k: fc.constant("array" as const), ref: fc.nat(), n: fc.integer({ min: 0, max: 9 }) }),
  fc.record({
    k: fc.constantFrom("struct" as const, "union" as const),
    name: fc.integer({ min: 0, max: NAMES.length - 1 }),
    members: fc.array(
      fc.record({
        ref: fc.nat(),
        gap: fc.integer({ min: 0, max: 40 }),
        bits: fc.constantFrom(0, 0, 0, 1, 3, 7),
      }),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    k: fc.constantFrom("enum" as const, "enum64" as const),
    name: fc.integer({ min: 0, max: NAMES.length - 1 }),
    size: fc.constantFrom(1, 2, 4, 8),
    signed: fc.boolean(),
    values: fc.array(
      fc.record({ name: fc.integer({ min: 1, max: NAMES.length - 1 }), v: fc.integer() }),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    k: fc.constant("proto" as const),
    ref: fc.nat(),
    params: fc.array(
      fc.record({ ref: fc.nat(), name: fc.integer({ min: 0, max: NAMES.length - 1 }) }),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    vararg: fc.boolean(),
  }),
  fc.record({
    k: fc.constant("fwd" as const),
    name: fc.integer({ min: 1, max: NAMES.length - 1 }),
    union: fc.boolean(),
  }),
  fc.record({ k: fc.constant("float" as const), size: fc.constantFrom(4, 8) }),
);

function buildGraph(specs: Spec[]): Uint8Array {
  const b = new BtfBuilder();
  b.int("int", 4, 1);
  b.int("char", 1, 1 | 2);
  b.int("unsigned long", 8, 0);
  const ref = (r: number) => r % (b.records.length + 1); // 0 = void, else an earlier id
  // what a C object can have as its type: a complete type, not void, a function or a forward
  // declaration (libbpf divides by their alignment, 0, when laying out a struct)
  const complete: boolean[] = [false, true, true, true];
  const objRef = (r: number) => {
    const id = ref(r);
    return complete[id] ? id : 1;
  };
  for (const s of specs) {
    const name = (i: number) => NAMES[i];
    switch (s.k) {
      case "ptr":
        b.ptr(ref(s.ref));
        break;
      case "const":
        b.mod(10, ref(s.ref));
        break;
      case "volatile":
        b.mod(9, ref(s.ref));
        break;
      case "restrict":
        b.mod(11, ref(s.ref));
        break;
      case "typedef":
        b.typedef(name(s.name), ref(s.ref));
        break;
      case "tag":
        b.typeTag(name(s.name), ref(s.ref));
        break;
      case "array":
        b.array(objRef(s.ref), 1, s.n);
        break;
      case "struct":
      case "union": {
        let off = 0;
        const members: [string, number, number, number?][] = s.members.map((m, i) => {
          off += s.k === "struct" ? m.gap : 0;
          const mem: [string, number, number, number?] = [
            `m${i}`,
            objRef(m.ref),
            off,
            m.bits || undefined,
          ];
          if (s.k === "struct") off += m.bits || 8;
          return mem;
        });
        if (members.some((m) => m[3] !== undefined)) for (const m of members) m[3] ??= 0;
        b.struct(name(s.name), Math.ceil(off / 8) + 4, members, s.k === "union");
        break;
      }
      case "enum":
        b.enum(
          name(s.name),
          s.size,
          s.values.map((v) => [name(v.name), v.v]),
          s.signed,
        );
        break;
      case "enum64":
        b.enum64(
          name(s.name),
          8,
          s.values.map((v) => [name(v.name), BigInt(v.v) * 4099n]),
          s.signed,
        );
        break;
      case "proto":
        b.proto(ref(s.ref), [
          ...s.params.map((p) => [name(p.name), objRef(p.ref)] as [string, number]),
          ...(s.vararg ? [["", 0] as [string, number]] : []),
        ]);
        break;
      case "fwd":
        b.fwd(name(s.name), s.union);
        break;
      case "float":
        b.float(s.size === 4 ? "float" : "double", s.size);
        break;
    }
    const id = b.records.length;
    const last = b.records[id - 1];
    const through = ["const", "volatile", "restrict", "typedef", "tag"].includes(s.k);
    complete[id] = through ? complete[last[2]] : s.k !== "proto" && s.k !== "fwd";
  }
  return b.build();
}

describe("emitTypeDecl on random type graphs equals libbpf's btf_dump (live oracle)", () => {
  test("300 graphs, every type declared once or twice in one dumper", (t) => {
    const why = oracleMissing();
    if (why) return t.skip(why);
    let decls = 0;
    fc.assert(
      fc.property(
        fc.array(specArb, { minLength: 1, maxLength: 14 }),
        fc.array(
          fc.record({
            pick: fc.nat(),
            lvl: fc.integer({ min: 0, max: 3 }),
            strip: fc.boolean(),
            name: fc.constantFrom("", "x", "a"),
          }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        (specs, picks) => {
          const raw = buildGraph(specs);
          const btf = Btf.parse(raw);
          const reqs: DumpRequest[] = picks.map((p) => ({
            id: p.pick % btf.typeCount,
            fieldName: p.name,
            indentLevel: p.lvl,
            stripMods: p.strip,
          }));
          const d = new BtfDump(btf);
          const ours = reqs.map((r) => d.emitTypeDecl(r.id, r));
          const theirs = runDumpOracle(raw, reqs);
          decls += reqs.length;
          assert.deepEqual(ours, theirs);
        },
      ),
      { numRuns: 300, seed: 2026 },
    );
    t.diagnostic(`${decls} declarations compared`);
  });
});
