import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { toolchainMissing } from "./support/bpftool.js";
import { makeTempDir } from "./support/openssl.js";
import { REPO_ROOT } from "./support/vectors.js";

test("npm start's demo generates, signs, verifies, loads, runs and rejects the tampered skeleton", () => {
  const out = execFileSync(process.execPath, [join(REPO_ROOT, "dist/examples/demo.js")], {
    encoding: "utf8",
  });
  assert.match(
    out,
    /generated global_data\.lskel\.h \(\d+ bytes\): maps seen, data, rodata, bss; programs global_data\n/,
  );
  assert.match(out, /signed: 375-byte CMS by key id [0-9a-f]{40}/);
  assert.match(out, /offline verify: VERIFIED/);
  assert.match(out, /loader admitted: verdict VERIFIED, keyring USER serial \d+/);
  assert.match(out, /installed: SOCKET_FILTER 'global_data', 34 insns, tag [0-9a-f]{16}/);
  // (int)bias + factor * 2 + (tag & 1) with the object's initial values
  assert.match(out, /retval 0x55667792\n/);
  assert.match(out, /tampered metadata: failed to load loader prog: EKEYREJECTED/);
});

test("examples/*.bpf.o and *.lskel.h are what clang and Debian's bpftool make of bpf/*.bpf.c", {
  skip: toolchainMissing() ?? false,
}, () => {
  const dir = makeTempDir();
  execFileSync(join(REPO_ROOT, "scripts/gen-examples.sh"), ["const_ret", "global_data"], {
    env: { ...process.env, BPFSIGN_EXAMPLES_OUT: dir },
  });
  for (const f of [
    "const_ret.lskel.h",
    "const_ret.bpf.o",
    "global_data.lskel.h",
    "global_data.bpf.o",
  ])
    assert.deepEqual(readFileSync(join(dir, f)), readFileSync(join(REPO_ROOT, "examples", f)), f);
});
