import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { InputError, OutputError } from "../../src/cli/errors.js";
import { readInput, writeAtomic, writeAtomicAll } from "../../src/cli/io.js";
import { makeTempDir } from "../support/openssl.js";

test("readInput returns the bytes and names the input and errno when it cannot", () => {
  const dir = makeTempDir();
  const f = join(dir, "a.bin");
  writeFileSync(f, Buffer.from([1, 2, 3]));
  assert.deepEqual([...readInput(f, "blob")], [1, 2, 3]);
  assert.throws(
    () => readInput(join(dir, "missing"), "certificate"),
    (e) =>
      e instanceof InputError && /certificate '.*missing': no such file \(ENOENT\)/.test(e.message),
  );
  assert.throws(
    () => readInput(dir, "light skeleton"),
    (e) => e instanceof InputError && /is a directory \(EISDIR\)/.test(e.message),
  );
});

test("writeAtomic replaces the target and leaves no temporary file", () => {
  const dir = makeTempDir();
  const f = join(dir, "out.h");
  writeFileSync(f, "old");
  writeAtomic(f, "new contents");
  assert.equal(readFileSync(f, "utf8"), "new contents");
  assert.deepEqual(readdirSync(dir), ["out.h"]);
});

test("writeAtomic into an unwritable place throws OutputError and leaves the target untouched", (t) => {
  const dir = makeTempDir();
  const ro = join(dir, "ro");
  mkdirSync(ro);
  writeFileSync(join(ro, "out.h"), "old");
  assert.throws(
    () => writeAtomic(join(dir, "no-such-dir", "out.h"), "x"),
    (e) => e instanceof OutputError && /no such file \(ENOENT\)/.test(e.message),
  );
  chmodSync(ro, 0o500);
  try {
    if (process.getuid?.() === 0) {
      t.diagnostic(
        "running as root: directory permissions do not stop writes; checked ENOENT only",
      );
      return;
    }
    assert.throws(() => writeAtomic(join(ro, "out.h"), "x"), OutputError);
    assert.equal(readFileSync(join(ro, "out.h"), "utf8"), "old");
    assert.deepEqual(readdirSync(ro), ["out.h"]);
  } finally {
    chmodSync(ro, 0o700);
  }
});

test("writeAtomicAll writes every file or none of them", () => {
  const dir = makeTempDir();
  const a = join(dir, "a.h");
  const b = join(dir, "b.p7s");
  writeAtomicAll([
    { path: a, data: "A" },
    { path: b, data: Buffer.from([1, 2]) },
  ]);
  assert.equal(readFileSync(a, "utf8"), "A");
  assert.deepEqual([...readFileSync(b)], [1, 2]);
  const c = join(dir, "c.p7s");
  assert.throws(
    () =>
      writeAtomicAll([
        { path: c, data: "C" },
        { path: join(dir, "missing", "d.h"), data: "D" },
      ]),
    (e) => e instanceof OutputError && /missing.*ENOENT/.test(e.message),
  );
  assert.deepEqual(readdirSync(dir).sort(), ["a.h", "b.p7s"]);
});

test("writeAtomic writes pieces as they come (one reused buffer is fine); a failing producer leaves nothing", () => {
  const dir = makeTempDir();
  const target = join(dir, "h.lskel.h");
  const shared = new Uint8Array(3);
  function* pieces(): Generator<Uint8Array> {
    for (const s of ["abc", "def", "gh"]) {
      shared.set(Buffer.from(s));
      yield shared.subarray(0, s.length);
    }
  }
  writeAtomic(target, pieces());
  assert.equal(readFileSync(target, "latin1"), "abcdefgh");
  function* failing(): Generator<Uint8Array> {
    yield Buffer.from("partial");
    throw new Error("encoder failed");
  }
  const other = join(dir, "other.lskel.h");
  assert.throws(() => writeAtomic(other, failing()), OutputError);
  assert.deepEqual(readdirSync(dir), ["h.lskel.h"]);
});
