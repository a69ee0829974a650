#!/usr/bin/env node
/**
 * The `bpfsign` executable. Start-up is kept to node's own: `--version` is answered here from
 * package.json without loading anything else, and every other invocation loads the command line
 * (program.ts), which in turn loads only the module of the command that runs.
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
  const { run } = await import("./program.js");
  process.exitCode = await run(argv);
}
