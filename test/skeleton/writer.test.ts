import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  DEBIAN_DIALECT,
  type LightSkeleton,
  loaderCtxSize,
  parseLightSkeleton,
  renderLines,
  SIGNED_DIALECT,
  type SkeletonAttach,
  SkeletonWriteError,
  writeLightSkeleton,
  writeSignedSkeleton,
  writeUnsignedSkeleton,
} from "../../src/skeleton/index.js";
import { KEYS, vectorSkeleton } from "../support/vector_skeleton.js";
import { PROGS, readVector, skipVectors } from "../support/vectors.js";

const text = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

describe("signed v2 headers from the vectors", { skip: skipVectors }, () => {
  for (const prog of PROGS) {
    test(`${prog}: write signed per key, read back the same arrays`, () => {
      const base = vectorSkeleton(prog, true);
      for (const key of KEYS) {
        const sig = readVector(prog, `sig.${key}.der`);
        const header = writeSignedSkeleton(base, { signature: sig });
        const back = parseLightSkeleton(header);
        assert.deepEqual(back.insns, readVector(prog, "insns.signed.bin"));
        assert.deepEqual(back.data, readVector(prog, "data.bin"));
        assert.deepEqual(back.signature, sig);
        assert.deepEqual(back.exclHash, readVector(prog, "excl_hash.bin"));
        assert.equal(back.hasKeyringId, true);
        assert.deepEqual(back.dialect, SIGNED_DIALECT);
        assert.equal(back.ctxSize, { prog_a: 28, prog_b: 44, prog_d: 76 }[prog]);
        assert.deepEqual(writeLightSkeleton(back), header);
      }
    });

    test(`${prog}: re-signing changes only the opts_sig literal`, () => {
      const rsa = readVector(prog, "sig.rsa2048.der");
      const ec = readVector(prog, "sig.ecp256.der");
      const first = text(writeSignedSkeleton(vectorSkeleton(prog, true), { signature: rsa }));
      const resigned = text(writeSignedSkeleton(parseLightSkeleton(first), { signature: ec }));
      const direct = text(writeSignedSkeleton(vectorSkeleton(prog, true), { signature: ec }));
      assert.equal(resigned, direct);
      const open = '\tstatic const char opts_sig[] __attribute__((__aligned__(8))) = "\\\n';
      const a = first.indexOf(open);
      const b = resigned.indexOf(open);
      assert.ok(a > 0);
      assert.equal(a, b);
      const endA = first.indexOf('";\n', a + open.length);
      const endB = resigned.indexOf('";\n', b + open.length);
      assert.equal(first.slice(endA), resigned.slice(endB));
      assert.notEqual(first.slice(a, endA), resigned.slice(b, endB));
    });
  }

  test("prog_d: global-data initial values and read-only mapping in the header text", () => {
    const header = text(writeUnsignedSkeleton(vectorSkeleton("prog_d", false)));
    assert.ok(header.includes('= "\\\n\\xea\\x1d\\xad\\xab\\x34\\x12\\xed\\x5e";\n'));
    assert.ok(header.includes('= "\\\n\\x03\\0\\0\\0";\n'));
    assert.ok(
      header.includes(
        "\tskel->rodata = (__typeof__(skel->rodata))skel_finalize_map_data(&skel->maps.rodata.initial_value,\n\t\t\t\t\t4096, PROT_READ, skel->maps.rodata.map_fd);\n",
      ),
    );
    assert.ok(!header.includes("keyring_id"));
    assert.ok(!header.includes("opts_sig"));
  });

  test("the excl hash defaults to SHA-256 of the loader instructions", () => {
    const insns = readVector("prog_b", "insns.signed.bin");
    const h = parseLightSkeleton(
      writeSignedSkeleton(vectorSkeleton("prog_b", true), { signature: new Uint8Array([0x30]) }),
    );
    assert.deepEqual(h.exclHash, new Uint8Array(createHash("sha256").update(insns).digest()));
  });
});

describe("writer checks", () => {
  const small: LightSkeleton = {
    name: "tiny",
    dialect: SIGNED_DIALECT,
    maps: [],
    progs: [{ name: "p", attach: { kind: "none" } }],
    links: ["p_fd"],
    hasKeyringId: false,
    views: [],
    asserts: null,
    data: new Uint8Array(8),
    insns: new Uint8Array(8),
    signature: null,
    exclHash: null,
    ctxSize: 28,
  };

  test("refuses what bpftool cannot have written", () => {
    const bad: [Partial<LightSkeleton>, string][] = [
      [{ name: "not-an-ident" }, "name"],
      [{ ctxSize: 24 }, "ctxSize"],
      [{ signature: new Uint8Array(1) }, "signature"],
      [{ hasKeyringId: true }, "signature"],
      [
        {
          maps: [
            {
              name: "m",
              mmap: {
                initialValue: new Uint8Array(4),
                mmapSize: 4096,
                valueSize: 8,
                readOnly: false,
              },
            },
          ],
          ctxSize: 44,
        },
        "maps[0].mmap.valueSize",
      ],
      [
        {
          signature: new Uint8Array(1),
          exclHash: new Uint8Array(32),
          hasKeyringId: true,
          dialect: DEBIAN_DIALECT,
        },
        "dialect",
      ],
    ];
    for (const [patch, field] of bad) {
      assert.throws(
        () => writeLightSkeleton({ ...small, ...patch }),
        (e: unknown) => e instanceof SkeletonWriteError && e.field === field,
        field,
      );
    }
    assert.throws(
      () =>
        writeSignedSkeleton(small, { signature: new Uint8Array(3), exclHash: new Uint8Array(31) }),
      (e: unknown) => e instanceof SkeletonWriteError && e.field === "exclHash",
    );
  });
});

describe("newer bpftool's struct_ops shadow types and arena mapping", () => {
  const arena: LightSkeleton = {
    name: "ar",
    dialect: SIGNED_DIALECT,
    maps: [
      {
        name: "m",
        mmap: {
          initialValue: Uint8Array.of(1),
          mmapSize: 8192,
          valueSize: 1,
          readOnly: false,
          ident: "arena",
          freed: false,
        },
      },
      { name: "ops", mmap: null },
    ],
    structOps: [
      {
        ident: "ops",
        lines: ["\t\tstruct ar__ops__t {", "\t\t\tstruct bpf_program *init;", "\t\t} *ops;"],
      },
    ],
    progs: [{ name: "p", attach: { kind: "none" } }],
    links: ["p_fd", "ops_fd"],
    hasKeyringId: false,
    views: [],
    asserts: null,
    data: new Uint8Array(8),
    insns: new Uint8Array(8),
    signature: null,
    exclHash: null,
    ctxSize: loaderCtxSize(2, 1),
  };

  test("the struct_ops block sits between maps and progs; an arena maps into skel->arena, unfreed", () => {
    const t = text(writeLightSkeleton(arena));
    assert.ok(
      t.includes(
        "\t} maps;\n\tstruct {\n\t\tstruct ar__ops__t {\n\t\t\tstruct bpf_program *init;\n" +
          "\t\t} *ops;\n\t} struct_ops;\n\tstruct {\n\t\tstruct bpf_prog_desc p;\n\t} progs;\n",
      ),
    );
    assert.ok(t.includes("\t\tint p_fd;\n\t\tint ops_fd;\n\t} links;\n"));
    assert.ok(t.includes("\t\tskel->arena = (__typeof__(skel->arena))skel_prep_map_data("));
    assert.ok(t.includes("\t\tskel->maps.arena.initial_value = (__u64) (long) skel->arena;\n"));
    assert.ok(t.includes("skel_finalize_map_data(&skel->maps.arena.initial_value,\n"));
    assert.ok(!t.includes("skel_free_map_data"));
    assert.ok(t.includes("\tskel_closenz(skel->maps.m.map_fd);\n"));
    // without the new fields, the same skeleton writes as before
    const plain = text(
      writeLightSkeleton({
        ...arena,
        maps: [{ name: "m", mmap: { ...arena.maps[0].mmap!, ident: undefined, freed: undefined } }],
        structOps: [],
        links: ["p_fd"],
        ctxSize: loaderCtxSize(1, 1),
      }),
    );
    assert.ok(!plain.includes("struct_ops"));
    assert.ok(plain.includes("\tskel_free_map_data(skel->m, skel->maps.m.initial_value, 8192);\n"));
  });

  test("their identifiers and lines are checked like the views'", () => {
    const bad: [Partial<LightSkeleton>, string][] = [
      [{ structOps: [{ ident: "a-b", lines: [] }] }, "structOps[0].ident"],
      [{ structOps: [{ ident: "ops", lines: ["\t\ta\nb"] }] }, "structOps[0]"],
      [
        { maps: [{ name: "m", mmap: { ...arena.maps[0].mmap!, ident: "x.y" } }, arena.maps[1]] },
        "maps[0].mmap.ident",
      ],
    ];
    for (const [patch, field] of bad) {
      assert.throws(
        () => writeLightSkeleton({ ...arena, ...patch }),
        (e: unknown) => e instanceof SkeletonWriteError && e.field === field,
        field,
      );
    }
  });

  test("the header guard upper-cases a-z only, as C's toupper", () => {
    const guard = renderLines({ ...arena, name: "a\u00e9\u00ff\u00b5z" })[2].head;
    assert.equal(guard, "#ifndef __A\u00e9\u00ff\u00b5Z_SKEL_H__");
  });
});

const ident = fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/);
const attach: fc.Arbitrary<SkeletonAttach> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.constant({ kind: "tracing" as const }),
  fc.constant({ kind: "iter" as const }),
  fc
    .stringMatching(/^[a-z_]{1,12}$/)
    .map((tracepoint) => ({ kind: "raw_tracepoint" as const, tracepoint })),
);

const skeletonArb: fc.Arbitrary<LightSkeleton> = fc
  .record({
    name: ident,
    dialect: fc.constantFrom(SIGNED_DIALECT, DEBIAN_DIALECT, {
      arrays: "static" as const,
      casts: false,
    }),
    maps: fc.uniqueArray(
      fc.record({
        name: ident,
        mmap: fc.option(
          fc.record({
            initialValue: fc.uint8Array({ maxLength: 40 }),
            mmapSize: fc.integer({ min: 0, max: 1 << 20 }),
            readOnly: fc.boolean(),
          }),
        ),
      }),
      { maxLength: 4, selector: (m) => m.name },
    ),
    progs: fc.uniqueArray(fc.record({ name: ident, attach }), {
      maxLength: 3,
      selector: (p) => p.name,
    }),
    views: fc.array(ident, { maxLength: 2 }),
    asserts: fc.option(
      fc.array(
        ident.map(
          (v) => `\t_Static_assert(sizeof(s->data->${v}) == 4, "unexpected size of '${v}'");`,
        ),
        { maxLength: 3 },
      ),
    ),
    data: fc.uint8Array({ maxLength: 400 }),
    insnSlots: fc.integer({ min: 0, max: 40 }),
    signature: fc.option(fc.uint8Array({ minLength: 1, maxLength: 120 })),
  })
  .chain((r) =>
    fc.uint8Array({ minLength: r.insnSlots * 8, maxLength: r.insnSlots * 8 }).map((insns) => {
      const signed = r.signature !== null;
      return {
        name: r.name,
        dialect: signed ? SIGNED_DIALECT : r.dialect,
        maps: r.maps.map((m) => ({
          name: m.name,
          mmap: m.mmap && { ...m.mmap, valueSize: m.mmap.initialValue.length },
        })),
        progs: r.progs.map((p) => ({ name: p.name, attach: { ...p.attach } })),
        links: r.progs.map((p) => `${p.name}_fd`),
        hasKeyringId: signed,
        views: r.views.map((v) => ({
          ident: v,
          lines: [`\tstruct ${r.name}__${v} {`, "\t\tint x;", `\t} *${v};`],
        })),
        asserts: r.asserts,
        data: r.data,
        insns,
        signature: r.signature,
        exclHash: signed ? new Uint8Array(createHash("sha256").update(insns).digest()) : null,
        ctxSize: loaderCtxSize(r.maps.length, r.progs.length),
      };
    }),
  );

describe("round trip", () => {
  test("property (300 runs): parse(write(s)) = s and writing again gives the same bytes", () => {
    fc.assert(
      fc.property(skeletonArb, (s) => {
        const header = writeLightSkeleton(s);
        const back = parseLightSkeleton(header);
        assert.deepEqual(back, s);
        assert.deepEqual(writeLightSkeleton(back), header);
      }),
      { numRuns: 300 },
    );
  });

  test("property (100 runs): re-signing a signed header changes only the signature literal", () => {
    fc.assert(
      fc.property(
        skeletonArb,
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        (s, sig1, sig2) => {
          const one = text(writeSignedSkeleton(s, { signature: sig1 }));
          const two = text(writeSignedSkeleton(parseLightSkeleton(one), { signature: sig2 }));
          const parsed = parseLightSkeleton(two);
          assert.deepEqual(parsed.signature, sig2);
          assert.deepEqual(
            { ...parsed, signature: null },
            { ...parseLightSkeleton(one), signature: null },
          );
          const marker = "static const char opts_sig[]";
          assert.equal(one.slice(0, one.indexOf(marker)), two.slice(0, two.indexOf(marker)));
          const after = "static const char opts_excl_hash[]";
          assert.equal(one.slice(one.indexOf(after)), two.slice(two.indexOf(after)));
        },
      ),
      { numRuns: 100 },
    );
  });
});
