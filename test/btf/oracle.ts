/**
 * The libbpf oracles (test/btf/libbpf_raw_data.c, test/btf/libbpf_dump.c) built with this
 * machine's C compiler and libbpf, run on raw BTF blobs. `oracleMissing()` says why they cannot
 * run here (for `t.skip()`).
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../support/openssl.js";
import { REPO_ROOT } from "../support/vectors.js";

let dir: string | undefined;
let exe: string | undefined;
let dumpExe: string | undefined;
let missing: string | null | undefined;

/** null when the oracle can be built here, else why not. */
export function oracleMissing(): string | null {
  if (missing !== undefined) return missing;
  if (!existsSync("/usr/include/bpf/btf.h")) {
    missing = "libbpf headers (/usr/include/bpf/btf.h) not installed (apt-get install libbpf-dev)";
    return missing;
  }
  dir = makeTempDir("bpfsign-oracle-");
  exe = join(dir, "libbpf_raw_data");
  dumpExe = join(dir, "libbpf_dump");
  try {
    for (const [out, src] of [
      [exe, "libbpf_raw_data.c"],
      [dumpExe, "libbpf_dump.c"],
    ]) {
      execFileSync("cc", ["-O1", "-o", out, join(REPO_ROOT, "test/btf", src), "-lbpf"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
    }
    missing = null;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    missing =
      err.code === "ENOENT"
        ? "cc not found on PATH"
        : `cannot build the libbpf oracle: ${err.stderr?.toString().split("\n")[0] ?? err.message}`;
  }
  return missing;
}

let runs = 0;

/** Runs the oracle: libbpf's btf__raw_data() after `ops`, and what the add* ops returned. */
export function runOracle(btf: Uint8Array, ops: string[]): { raw: Uint8Array; printed: number[] } {
  const why = oracleMissing();
  if (why) throw new Error(why);
  runs++;
  const inPath = join(dir!, `in${runs}.btf`);
  const outPath = join(dir!, `out${runs}.btf`);
  writeFileSync(inPath, btf);
  const stdout = execFileSync(exe!, [inPath, outPath, ...ops], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const printed = stdout
    .toString()
    .split("\n")
    .filter((l) => l !== "")
    .map(Number);
  return { raw: new Uint8Array(readFileSync(outPath)), printed };
}

/** One btf_dump__emit_type_decl request. */
export interface DumpRequest {
  id: number;
  fieldName: string;
  indentLevel: number;
  stripMods: boolean;
}

/** libbpf's btf_dump__emit_type_decl() output for each request, one btf_dump for all. */
export function runDumpOracle(btf: Uint8Array, reqs: DumpRequest[]): string[] {
  const why = oracleMissing();
  if (why) throw new Error(why);
  runs++;
  const inPath = join(dir!, `dump${runs}.btf`);
  writeFileSync(inPath, btf);
  const args = reqs.map((r) => `${r.id}:${r.fieldName}:${r.indentLevel}:${r.stripMods ? 1 : 0}`);
  const stdout = execFileSync(dumpExe!, [inPath, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });
  const parts = stdout.toString("utf8").split("\0");
  parts.pop();
  return parts;
}
