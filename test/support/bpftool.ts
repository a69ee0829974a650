/**
 * Builds the BPF programs in bpf/ into objects and light skeletons with this machine's toolchain:
 * `clang -g -O2 -target bpf -I/usr/include/x86_64-linux-gnu -c` and
 * `bpftool gen skeleton -L <obj> name <name>`. Results are cached per process in one temporary
 * directory. When clang or bpftool is missing, `toolchainMissing()` says why, for `t.skip()`.
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "./openssl.js";
import { REPO_ROOT } from "./vectors.js";

/** The programs in bpf/ (file `bpf/<name>.bpf.c`, skeleton name = program name). */
export const BPF_PROGRAMS = ["const_ret", "array_count", "global_data"] as const;
export type BpfProgramName = (typeof BPF_PROGRAMS)[number];

export const BPF_DIR = join(REPO_ROOT, "bpf");

export interface LightSkeletonBuild {
  name: string;
  /** the C source */
  sourcePath: string;
  /** the clang-built ELF object */
  objectPath: string;
  /** the generated `.lskel.h` */
  headerPath: string;
  /** the header's bytes */
  header: Buffer;
}

let missing: string | null | undefined;
let dir: string | undefined;
const cache = new Map<string, LightSkeletonBuild>();

function which(tool: string, args: string[]): string | null {
  try {
    execFileSync(tool, args, { stdio: "ignore" });
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `${tool} not found on PATH` : `${tool} ${args.join(" ")} failed`;
  }
}

/** `null` when clang and bpftool work here, else why not (the reason for skipping). */
export function toolchainMissing(): string | null {
  if (missing === undefined) {
    missing =
      which("clang", ["--version"]) ??
      which("bpftool", ["version"]) ??
      (existsSync("/usr/include/bpf/bpf_helpers.h")
        ? null
        : "libbpf headers (/usr/include/bpf/bpf_helpers.h) not installed (apt-get install libbpf-dev)");
  }
  return missing;
}

function run(cmd: string, args: string[]): Buffer {
  try {
    return execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 << 20 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${err.stderr?.toString() || err.message}`);
  }
}

/** Compiles a BPF C file into an object in the per-process build directory. */
export function compileBpf(sourcePath: string, objectName: string): string {
  dir ??= makeTempDir("bpfsign-bpf-");
  const objectPath = join(dir, `${objectName}.o`);
  run("clang", [
    "-g",
    "-O2",
    "-target",
    "bpf",
    "-I/usr/include/x86_64-linux-gnu",
    "-c",
    sourcePath,
    "-o",
    objectPath,
  ]);
  return objectPath;
}

/** Runs `bpftool gen skeleton -L <obj> name <name>` and returns the header bytes. */
export function genLightSkeleton(objectPath: string, name: string): Buffer {
  return run("bpftool", ["gen", "skeleton", "-L", objectPath, "name", name]);
}

/**
 * Builds `bpf/<name>.bpf.c` and its light skeleton (cached). Call `toolchainMissing()` first and
 * skip when it returns a reason.
 */
export function buildLightSkeleton(name: BpfProgramName): LightSkeletonBuild {
  const cached = cache.get(name);
  if (cached) return cached;
  const reason = toolchainMissing();
  if (reason) throw new Error(`cannot build ${name}: ${reason}`);
  const sourcePath = join(BPF_DIR, `${name}.bpf.c`);
  const objectPath = compileBpf(sourcePath, name);
  const header = genLightSkeleton(objectPath, name);
  const headerPath = join(dir!, `${name}.lskel.h`);
  writeFileSync(headerPath, header);
  const build = { name, sourcePath, objectPath, headerPath, header };
  cache.set(name, build);
  return build;
}

/** The C source of a program in bpf/. */
export function bpfSource(name: BpfProgramName): string {
  return readFileSync(join(BPF_DIR, `${name}.bpf.c`), "utf8");
}
