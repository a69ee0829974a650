import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { toolchainMissing } from "./support/bpftool.js";
import { makeTempDir } from "./support/openssl.js";
import { REPO_ROOT } from "./support/vectors.js";

test("npm start's demo signs, verifies, loads, runs and rejects the tampered skeleton", () => {
  const out = execFileSync(process.execPath, [join(REPO_ROOT, "dist/examples/demo.js")], {
    encoding: "utf8",
  });
  assert.match(out, /offline verify: VERIFIED/);
  assert.match(out, /loader admitted: verdict VERIFIED, keyring USER serial \d+/);
  assert.match(out, /installed: SOCKET_FILTER 'const_ret', 2 insns, tag [0-9a-f]{16}/);
  assert.match(out, /retval 7\n/);
  assert.match(out, /tampered metadata: failed to load loader prog: EKEYREJECTED/);
});

test("examples/const_ret.lskel.h is what Debian's bpftool generates from bpf/const_ret.bpf.c", {
  skip: toolchainMissing() ?? false,
}, () => {
  const dir = makeTempDir();
  execFileSync(join(REPO_ROOT, "scripts/gen-examples.sh"), ["const_ret"], {
    env: { ...process.env, BPFSIGN_EXAMPLES_OUT: dir },
  });
  assert.deepEqual(
    readFileSync(join(dir, "const_ret.lskel.h")),
    readFileSync(join(REPO_ROOT, "examples/const_ret.lskel.h")),
  );
});
