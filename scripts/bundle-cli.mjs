#!/usr/bin/env node
// Bundles the compiled CLI into two CommonJS files, the package's executable:
//
//   dist/src/cli/bpfsign.cjs      main.js: answers --version alone, else requires the next file
//   dist/src/cli/bpfsign-cli.cjs  program.js and everything it imports, dynamic imports included
//
// One file that node's CommonJS loader reads and compiles at once starts much faster than the
// ~20 ES modules a command loads one by one through the ES module loader (bench/startup.ts
// measures it); the commands still run lazily, esbuild wrapping each dynamically imported module
// in a function called on first use. Runs after tsc (npm run build, prepack); the tests and the
// library use the unbundled modules.
//
// The launcher compiles the CLI bundle through node:vm with V8's code cache
// (dist/src/cli/bpfsign-cli.cjs.cache, made here by compiling and running the bundle's top level
// once): compiling the ~1 MB bundle from source is most of a command's start-up beyond node's
// own. A cache V8 rejects (another node version or flags) only means compiling from source.
import { spawnSync } from "node:child_process";
import { build } from "esbuild";

const dist = (f) => new URL(`../dist/src/cli/${f}`, import.meta.url).pathname;

const common = {
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  // koffi is a native module resolved at run time by the host backend (createRequire).
  external: ["koffi"],
  // import() becomes a require() (CommonJS all the way, no ES module loader).
  supported: { "dynamic-import": false },
  // import.meta.url is the bundle's own URL in CommonJS, for the package.json and koffi lookups;
  // "use strict" first, as the banner would otherwise stop esbuild's own directive being one.
  define: { "import.meta.url": "__bpfsign_bundle_url" },
  banner: {
    js: '"use strict";\nconst __bpfsign_bundle_url = require("node:url").pathToFileURL(__filename).href;',
  },
  logLevel: "warning",
};

/**
 * runBundle(file, cachedData): the CLI bundle wrapped as node wraps a CommonJS module, compiled
 * (with V8's code cache when given), and run as a module; returns the script and the exports.
 * The launcher and the cache maker both compile through it, so the cache is made from exactly
 * the source the launcher compiles.
 */
const RUN_BUNDLE = `
const { readFileSync } = require("node:fs");
const { dirname } = require("node:path");
const { Script } = require("node:vm");
const { createRequire, wrap } = require("node:module");
function runBundle(file, cachedData) {
  const script = new Script(wrap(readFileSync(file, "utf8")), { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return { script, exports: mod.exports };
}
`;

/** What the launcher's import("./program.js") becomes: the CLI bundle beside it, with its cache. */
const LOAD_CLI = `${RUN_BUNDLE}
const file = require("node:path").join(__dirname, "bpfsign-cli.cjs");
let cachedData;
try {
  cachedData = readFileSync(file + ".cache");
} catch {}
module.exports = runBundle(file, cachedData).exports;
`;

// The launcher: main.js with its import("./program.js") pointed at the CLI bundle.
await build({
  ...common,
  entryPoints: [dist("main.js")],
  outfile: dist("bpfsign.cjs"),
  plugins: [
    {
      name: "program-bundle",
      setup(b) {
        b.onResolve({ filter: /^\.\/program\.js$/ }, () => ({
          path: "load-cli",
          namespace: "bpfsign-cli",
        }));
        b.onLoad({ filter: /.*/, namespace: "bpfsign-cli" }, () => ({
          contents: LOAD_CLI,
          loader: "js",
          resolveDir: dist(""),
        }));
      },
    },
  ],
});
await build({ ...common, entryPoints: [dist("program.js")], outfile: dist("bpfsign-cli.cjs") });

// The code cache: the bundle compiled exactly as the launcher compiles it, its top level run,
// then V8's cached data written beside it.
const MAKE_CACHE = `${RUN_BUNDLE}
const file = process.argv[1];
require("node:fs").writeFileSync(file + ".cache", runBundle(file).script.createCachedData());
`;
const made = spawnSync(process.execPath, ["-e", MAKE_CACHE, dist("bpfsign-cli.cjs")], {
  stdio: "inherit",
});
if (made.status !== 0) throw new Error("bundle-cli: making the code cache failed");
