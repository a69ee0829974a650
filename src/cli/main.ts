#!/usr/bin/env node
/**
 * The `bpfsign` executable. Start-up is kept close to node's own: `--version` is answered here
 * from package.json without loading anything else, and every other invocation loads the command
 * line (program.ts), which in turn loads only the module of the command that runs.
 *
 * The package's `bin` is this file bundled into one CommonJS file (scripts/bundle-cli.mjs), which
 * node loads without its ES module loader; no top-level await here, so that it bundles as such.
 */
import { packageVersion } from "./version.js";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  process.stdout.write(`${packageVersion()}\n`);
} else {
  // A closed pipe (`bpfsign inspect x | head`) ends the output quietly, as other tools do.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  import("./program.js")
    .then(({ run }) => run(argv))
    .then((code) => {
      process.exitCode = code;
    });
}
