#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js and everything it imports, dynamic imports
// included) into one CommonJS file, dist/src/cli/bpfsign.cjs: the package's `bin`. One file that
// node's CommonJS loader reads and compiles at once starts much faster than the ~20 ES modules a
// command loads one by one (see bench/startup.ts); the commands still run lazily, esbuild wrapping
// each dynamically imported module in a function called on first use. Runs after tsc (npm run
// build, prepack); the tests and the library use the unbundled modules.
import { build } from "esbuild";

const root = new URL("../", import.meta.url);
await build({
  entryPoints: [new URL("dist/src/cli/main.js", root).pathname],
  outfile: new URL("dist/src/cli/bpfsign.cjs", root).pathname,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  // koffi is a native module resolved at run time by the host backend (createRequire).
  external: ["koffi"],
  // import.meta.url is this file's own URL in CommonJS, for the package.json and koffi lookups.
  define: { "import.meta.url": "__bpfsign_bundle_url" },
  // "use strict" first: the banner would otherwise stop esbuild's own directive from being one.
  banner: {
    js: '"use strict";\nconst __bpfsign_bundle_url = require("node:url").pathToFileURL(__filename).href;',
  },
  logLevel: "warning",
});
