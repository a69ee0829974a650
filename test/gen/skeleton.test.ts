/**
 * `genSkeleton`: every object of the comparison corpus (test/fixtures/gen, headers made by a v2
 * bpftool) and the three vector objects come out byte-identical, unsigned and signed, when fed
 * the host facts the reference run recorded. Refused objects fail with typed errors and the
 * errno libbpf gave.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { ObjectError } from "../../src/object/errors.js";
import { parseLightSkeleton } from "../../src/skeleton/index.js";
import { hostOptions } from "../object/trace_support.js";
import { vectorKeyFiles } from "../support/cms.js";
import { REPO_ROOT, readVector } from "../support/vectors.js";

const GEN_DIR = join(REPO_ROOT, "test/fixtures/gen");
const VECTOR_OBJ_DIR = join(REPO_ROOT, "test/fixtures/vectors/obj");

const read = (dir: string, f: string) => new Uint8Array(readFileSync(join(dir, f)));
const objects = readdirSync(GEN_DIR)
  .filter((f) => f.endsWith(".bpf.o"))
  .map((f) => f.slice(0, -".bpf.o".length))
  .sort();
const positives = objects.filter((n) => !n.startsWith("neg_"));

function rsa2048() {
  const k = vectorKeyFiles("rsa2048");
  return { key: k.keyPem, cert: k.certDer };
}

/** Index of the first differing byte, or -1. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function assertSameBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  const at = firstDiff(got, want);
  if (at < 0) return;
  const ctx = (b: Uint8Array) =>
    Buffer.from(b.subarray(Math.max(0, at - 40), at + 40)).toString("latin1");
  assert.fail(
    `${what}: differs at byte ${at} (got ${got.length} bytes, want ${want.length})\n--- got\n${ctx(got)}\n--- want\n${ctx(want)}`,
  );
}

describe("gen skeleton: the v2-bpftool corpus, byte for byte", () => {
  assert.ok(positives.length >= 11, `corpus has ${positives.length} objects`);
  for (const name of positives) {
    it(`${name}: unsigned header`, () => {
      const out = genSkeleton(read(GEN_DIR, `${name}.bpf.o`), `${name}.bpf.o`, {
        name,
        facts: hostOptions(),
      });
      assert.equal(out.signed, null);
      assertSameBytes(out.header, read(GEN_DIR, `${name}.lskel.h`), `${name}.lskel.h`);
    });
    it(`${name}: signed header (RSA-2048)`, () => {
      const out = genSkeleton(read(GEN_DIR, `${name}.bpf.o`), `${name}.bpf.o`, {
        name,
        facts: hostOptions(),
        signing: rsa2048(),
      });
      assertSameBytes(
        out.header,
        read(GEN_DIR, `${name}.signed.lskel.h`),
        `${name}.signed.lskel.h`,
      );
      // the header says what the result says
      const skel = parseLightSkeleton(out.header);
      assertSameBytes(skel.insns, out.insns, "opts_insn");
      assertSameBytes(skel.data, out.data, "opts_data");
    });
  }
});

describe("gen skeleton: the published vectors", () => {
  for (const prog of ["prog_a", "prog_b", "prog_d"] as const) {
    it(`${prog}: loaders, metadata, excl hash and RSA signatures equal the vector files`, () => {
      const bytes = read(VECTOR_OBJ_DIR, `${prog}.bpf.o`);
      const unsigned = genSkeleton(bytes, `${prog}.bpf.o`, { name: prog });
      assertSameBytes(unsigned.insns, readVector(prog, "insns.unsigned.bin"), "insns.unsigned");
      assertSameBytes(unsigned.data, readVector(prog, "data.bin"), "data");
      for (const key of ["rsa2048", "rsa3072"] as const) {
        const k = vectorKeyFiles(key);
        const signed = genSkeleton(bytes, `${prog}.bpf.o`, {
          name: prog,
          signing: { key: k.keyPem, cert: k.certDer },
        });
        assertSameBytes(signed.insns, readVector(prog, "insns.signed.bin"), "insns.signed");
        assertSameBytes(signed.data, readVector(prog, "data.bin"), "data");
        assertSameBytes(signed.signed!.exclHash, readVector(prog, "excl_hash.bin"), "excl_hash");
        assertSameBytes(signed.signed!.signature, readVector(prog, `sig.${key}.der`), `sig.${key}`);
      }
    });
  }
});

describe("gen skeleton: objects bpftool refuses", () => {
  it("a strong typeless ksym missing from kallsyms: ESRCH, naming the extern", () => {
    assert.throws(
      () =>
        genSkeleton(read(GEN_DIR, "neg_ksym.bpf.o"), "neg_ksym.bpf.o", { facts: hostOptions() }),
      (e: unknown) =>
        e instanceof ObjectError &&
        e.errno === -3 &&
        /bpfsign_no_such_kernel_symbol/.test(e.message),
    );
  });
  it("PROG_ARRAY initial slots: EOPNOTSUPP", () => {
    assert.throws(
      () =>
        genSkeleton(read(GEN_DIR, "neg_progarray.bpf.o"), "neg_progarray.bpf.o", {
          facts: hostOptions(),
        }),
      (e: unknown) => e instanceof ObjectError && e.errno === -95,
    );
  });
  it("a machine fact the object needs and the caller did not give: a typed error, no output", () => {
    assert.throws(
      () => genSkeleton(read(GEN_DIR, "ksyms.bpf.o"), "ksyms.bpf.o", {}),
      (e: unknown) => e instanceof ObjectError && e.code === "OBJECT_MISSING_HOST_FACT",
    );
  });
});
