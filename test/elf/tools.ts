/**
 * What test/elf and test/btf need from this machine: committed fixtures, clang (to build BPF C
 * sources for both byte orders) and llvm-readelf. Each `...Missing()` returns null when the tool
 * works, else the reason to print with `t.skip()`.
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../support/openssl.js";
import { REPO_ROOT } from "../support/vectors.js";

/** Reads `test/fixtures/<path>`. */
export function fixture(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(REPO_ROOT, "test/fixtures", path)));
}

/** Absolute path of `test/fixtures/<path>`. */
export function fixturePath(path: string): string {
  return join(REPO_ROOT, "test/fixtures", path);
}

const probes = new Map<string, string | null>();

function probe(tool: string, args: string[]): string | null {
  const key = `${tool} ${args.join(" ")}`;
  if (!probes.has(key)) {
    let why: string | null = null;
    try {
      execFileSync(tool, args, { stdio: "ignore" });
    } catch (e) {
      why =
        (e as NodeJS.ErrnoException).code === "ENOENT"
          ? `${tool} not found on PATH`
          : `${key} failed`;
    }
    probes.set(key, why);
  }
  return probes.get(key)!;
}

/** null when clang and the libbpf headers are here, else why not. */
export function clangMissing(): string | null {
  return (
    probe("clang", ["--version"]) ??
    (existsSync("/usr/include/bpf/bpf_helpers.h")
      ? null
      : "libbpf headers (/usr/include/bpf/bpf_helpers.h) not installed (apt-get install libbpf-dev)")
  );
}

/** null when llvm-readelf runs, else why not. */
export function readelfMissing(): string | null {
  return probe("llvm-readelf", ["--version"]);
}

/** null when bpftool runs, else why not. */
export function bpftoolMissing(): string | null {
  return probe("bpftool", ["version"]);
}

/** Runs a tool and returns its stdout (throws with its stderr on failure). */
export function runTool(cmd: string, args: string[], cwd?: string): Buffer {
  try {
    return execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${err.stderr?.toString() || err.message}`);
  }
}

let buildDir: string | undefined;
const built = new Map<string, string>();

/**
 * Compiles a BPF C file with `clang -g -O2 -target <target>` from the source's own directory
 * with `-fdebug-compilation-dir=.` (as the committed fixtures were made). Returns the object path.
 */
export function compileBpfC(sourcePath: string, target: "bpf" | "bpfel" | "bpfeb" = "bpf"): string {
  const key = `${sourcePath}:${target}`;
  const hit = built.get(key);
  if (hit) return hit;
  buildDir ??= makeTempDir("bpfsign-elfbtf-");
  const base = sourcePath.replace(/^.*\//, "").replace(/\.c$/, "");
  const out = join(buildDir, `${base}.${target}.o`);
  const dir = sourcePath.replace(/\/[^/]*$/, "");
  runTool(
    "clang",
    [
      "-g",
      "-O2",
      "-target",
      target,
      "-I/usr/include/x86_64-linux-gnu",
      "-fdebug-compilation-dir=.",
      "-c",
      sourcePath.replace(/^.*\//, ""),
      "-o",
      out,
    ],
    dir,
  );
  built.set(key, out);
  return out;
}
