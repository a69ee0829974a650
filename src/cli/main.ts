#!/usr/bin/env node
/** The `bpfsign` executable. */
import { run } from "./program.js";

// A closed pipe (`bpfsign inspect x | head`) ends the output quietly, as other tools do.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = run(process.argv.slice(2));
