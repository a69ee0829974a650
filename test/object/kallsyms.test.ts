import assert from "node:assert/strict";
import { test } from "node:test";
import { ObjectError } from "../../src/object/errors.js";
import { parseKallsyms, scanKallsyms } from "../../src/object/kallsyms.js";

test("parseKallsyms: first line of a name wins, module tags ignored, .llvm. dropped for data only", () => {
  const text = [
    "ffffffff81000000 T _stext",
    "",
    "ffffffff82000000 d counter.llvm.123456",
    "ffffffff82000010 t helper.llvm.99",
    "ffffffffc0000000 t mod_fn\t[mymod]",
    "ffffffff81000008 T _stext",
    "0000000000000000 T hidden",
  ].join("\n");
  const m = parseKallsyms(text);
  assert.equal(m.get("_stext"), 0xffffffff81000000n);
  assert.equal(m.get("counter"), 0xffffffff82000000n);
  assert.equal(m.get("counter.llvm.123456"), undefined);
  assert.equal(m.get("helper.llvm.99"), 0xffffffff82000010n);
  assert.equal(m.get("mod_fn"), 0xffffffffc0000000n);
  assert.equal(m.get("hidden"), 0n, "kptr_restrict's 0 is kept: callers decide");
  assert.equal(m.size, 5);
});

test("parseKallsyms refuses a line that is not an entry (OBJECT_MISSING_HOST_FACT, EINVAL)", () => {
  assert.throws(
    () => parseKallsyms("ffffffff81000000 T ok\nnot an entry\n", "my-kallsyms"),
    (e) =>
      e instanceof ObjectError &&
      e.code === "OBJECT_MISSING_HOST_FACT" &&
      e.errno === -22 &&
      /my-kallsyms.*failed to read kallsyms entry 'not an entry'/.test(e.message),
  );
});

test("scanKallsyms stops at the first bad line and returns it", () => {
  const seen: string[] = [];
  assert.equal(
    scanKallsyms("1 T a\n2 T b\nzz\n3 T c\n", (n) => seen.push(n)),
    "zz",
  );
  assert.deepEqual(seen, ["a", "b"]);
  assert.equal(
    scanKallsyms("  \n", () => assert.fail()),
    null,
  );
});
