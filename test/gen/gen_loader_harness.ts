/**
 * libbpf's own gen_loader as an oracle: builds test/fixtures/gen_loader/harness/gen_harness.c
 * against a libbpf.a (the reference libbpf f7081a6b + the series, as /work/ref builds it) and
 * runs call sequences through it.
 *
 * $BPFSIGN_LIBBPF_SRC (default /work/ref/src/libbpf) gives the headers, $BPFSIGN_LIBBPF_A
 * (default /work/ref/src/bpftool/src/libbpf/libbpf.a) the archive. When either is missing or
 * `cc` fails, `harnessMissing()` says why and the differential tests skip.
 */

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../support/vectors.js";
import { formatCalls, type GenCall, type GenOpts } from "./gen_loader_calls.js";

const LIBBPF_SRC = process.env.BPFSIGN_LIBBPF_SRC ?? "/work/ref/src/libbpf";
const LIBBPF_A = process.env.BPFSIGN_LIBBPF_A ?? "/work/ref/src/bpftool/src/libbpf/libbpf.a";
export const HARNESS_C = join(REPO_ROOT, "test/fixtures/gen_loader/harness/gen_harness.c");

let built: { bin: string; dir: string } | string | undefined;

function build(): { bin: string; dir: string } | string {
  if (built !== undefined) return built;
  if (!existsSync(join(LIBBPF_SRC, "src/bpf_gen_internal.h"))) {
    built = `libbpf sources not found at ${LIBBPF_SRC} (set BPFSIGN_LIBBPF_SRC)`;
  } else if (!existsSync(LIBBPF_A)) {
    built = `libbpf.a not found at ${LIBBPF_A} (set BPFSIGN_LIBBPF_A)`;
  } else {
    const dir = mkdtempSync(join(tmpdir(), "bpfsign-genharness-"));
    const bin = join(dir, "gen_harness");
    try {
      execFileSync(
        "cc",
        [
          "-O1",
          "-w",
          `-I${LIBBPF_SRC}/src`,
          `-I${LIBBPF_SRC}/include`,
          `-I${LIBBPF_SRC}/include/uapi`,
          HARNESS_C,
          LIBBPF_A,
          "-lelf",
          "-lz",
          "-o",
          bin,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      built = { bin, dir };
    } catch (e) {
      built = `cannot build the libbpf harness: ${(e as Error).message.split("\n")[0]}`;
    }
  }
  return built;
}

/** `false` when the harness is usable, else the reason to skip. */
export function harnessMissing(): string | false {
  const b = build();
  return typeof b === "string" ? b : false;
}

let seq = 0;

/** libbpf's published loader for `calls`, or its errno when bpf_gen__finish fails. */
export function runLibbpf(
  calls: readonly GenCall[],
  opts: GenOpts,
): { insns: Uint8Array; data: Uint8Array } | { errno: number } {
  const b = build();
  if (typeof b === "string") throw new Error(b);
  const base = join(b.dir, `case${seq++}`);
  writeFileSync(`${base}.calls.txt`, formatCalls(calls, opts));
  const r = spawnSync(b.bin, [`${base}.calls.txt`, base], { encoding: "utf8" });
  if (r.status === 3) return { errno: Number(/error (\d+)/.exec(r.stdout)?.[1]) };
  if (r.status !== 0) throw new Error(`gen_harness exited ${r.status}: ${r.stderr}`);
  return {
    insns: new Uint8Array(readFileSync(`${base}.insns.bin`)),
    data: new Uint8Array(readFileSync(`${base}.data.bin`)),
  };
}
