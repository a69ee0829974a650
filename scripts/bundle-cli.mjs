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
          path: "./bpfsign-cli.cjs",
          external: true,
        }));
      },
    },
  ],
});
await build({ ...common, entryPoints: [dist("program.js")], outfile: dist("bpfsign-cli.cjs") });
