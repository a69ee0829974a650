#!/usr/bin/env node
// Runs the Biome binary of this platform. The @biomejs/biome wrapper is not used because the npm
// registry reachable here does not serve all of its optional platform packages, which leaves
// `npm ci` unable to validate the lock file; the two Linux builds are listed directly instead.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const pkg = `@biomejs/cli-${process.platform}-${process.arch}`;
let bin;
try {
  bin = join(dirname(require.resolve(`${pkg}/package.json`)), "biome");
} catch {
  bin = undefined;
}
if (!bin || !existsSync(bin)) {
  console.error(`biome: no ${pkg} installed (supported here: linux-x64, linux-arm64)`);
  process.exit(2);
}
const r = spawnSync(bin, process.argv.slice(2), { stdio: "inherit" });
process.exit(r.status ?? 1);
