#!/usr/bin/env node
/** The `bpfsign` executable. */
import { run } from "./program.js";

process.exitCode = run(process.argv.slice(2));
