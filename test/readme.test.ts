import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { makeTempDir } from "./support/openssl.js";
import { README_EXAMPLE_OUTPUT, readmeLibraryExample } from "./support/readme.js";
import { REPO_ROOT } from "./support/vectors.js";

test("the README's library example runs as written (against this build's package root)", () => {
  const dir = makeTempDir();
  copyFileSync(join(REPO_ROOT, "examples/const_ret.lskel.h"), join(dir, "const_ret.lskel.h"));
  const root = pathToFileURL(join(REPO_ROOT, "dist/src/index.js")).href;
  const code = readmeLibraryExample().replace(/from "bpfsign";/, `from ${JSON.stringify(root)};`);
  assert.notEqual(code, readmeLibraryExample(), 'the example imports from "bpfsign"');
  writeFileSync(join(dir, "example.mjs"), code);
  const out = execFileSync(process.execPath, ["example.mjs"], { cwd: dir, encoding: "utf8" });
  assert.match(out, README_EXAMPLE_OUTPUT);
});
