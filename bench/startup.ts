/**
 * Whole-process start-up of the `bpfsign` executable, each timed here as a child process from
 * spawn to exit and run in turn with its baseline (A B A B …), medians and the median of the
 * pairwise ratios printed:
 *
 * - `bpfsign --version` against a bare `node -e 0` (goal ≤ 1.3x);
 * - `bpfsign verify --insns --data --sig --cert` of raw content of the largest size the kernel
 *   accepts (16 MiB - 1) against node start-up plus SHA-256 of the same files in a fresh node
 *   (goal ≤ 1.3x), with `openssl cms -verify` of the same bytes beside it;
 * - `bpfsign verify HEADER --cert` of a signed header carrying that content against node
 *   start-up plus SHA-256 of the header text and of the content (goal ≤ 1.3x).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSigningIdentity } from "../src/crypto/certgen.js";
import { signLoader } from "../src/crypto/sign.js";
import { parseLightSkeleton } from "../src/skeleton/reader.js";
import { writeSignedSkeleton } from "../src/skeleton/writer.js";
import { Limits } from "../src/uapi/constants.js";
import { cmsVerifyArgs, EXAMPLE_INSNS } from "./example.js";
import { goal, median, row } from "./util.js";

/** The package's bin: the CommonJS bundle of the CLI that `npm run build` makes. */
const BIN = fileURLToPath(new URL("../src/cli/bpfsign.cjs", import.meta.url));
/** A real light skeleton whose loader the signed header below carries. */
const EXAMPLE = new URL("../../examples/const_ret.lskel.h", import.meta.url);
const RUNS = 11;
const GOAL = 1.3;

/** node start-up, then SHA-256 of every file named on the command line. */
const SHA_FILES =
  "const h=require('node:crypto').createHash('sha256');" +
  "for(const f of process.argv.slice(1))h.update(require('node:fs').readFileSync(f));h.digest();";

export interface Command {
  argv: string[];
  /** The exit status the command must end with. */
  status: number;
}

/** Wall milliseconds of one run, spawn to exit; throws when it exits otherwise than expected. */
export function runOnce(c: Command): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(c.argv[0], c.argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== c.status)
    throw new Error(`${c.argv.join(" ")}: exit ${r.status}, expected ${c.status}\n${r.stderr}`);
  return elapsed;
}

/** A and B in turn after one warm-up each: the medians and the median of the ratios A/B. */
export function pair(a: Command, b: Command): { a: number; b: number; ratio: number } {
  runOnce(a);
  runOnce(b);
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    as.push(runOnce(a));
    bs.push(runOnce(b));
    ratios.push(as[i] / bs[i]);
  }
  return { a: median(as), b: median(bs), ratio: median(ratios) };
}

function hasOpenssl(): boolean {
  return spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
}

export function run(): void {
  const dir = mkdtempSync(join(tmpdir(), "bpfsign-bench-startup-"));
  try {
    const node = process.execPath;
    const insns = EXAMPLE_INSNS;
    const data = new Uint8Array(randomBytes(Limits.DYNPTR_MAX_SIZE - insns.length));
    const id = generateSigningIdentity({ type: "rsa2048", subject: "bench startup" });
    const signed = signLoader({
      insns,
      metadata: data,
      key: id.privateKeyPem,
      cert: id.certificateDer,
    });
    const p = (f: string) => join(dir, f);
    writeFileSync(p("insns.bin"), insns);
    writeFileSync(p("data.bin"), data);
    writeFileSync(p("content.bin"), Buffer.concat([insns, data]));
    writeFileSync(p("sig.der"), signed.signature);
    writeFileSync(p("cert.der"), id.certificateDer);
    writeFileSync(p("cert.pem"), id.certificatePem);
    // The same content in a signed header: the example skeleton with this loader and metadata.
    const skel = { ...parseLightSkeleton(readFileSync(EXAMPLE)), insns, data };
    writeFileSync(p("signed.lskel.h"), writeSignedSkeleton(skel, signed));

    const widths = [34, 11, 11, 8, 6];
    console.log(
      `whole-process start-up: each command spawned ${RUNS} times in turn with its baseline (median wall time; ratio = median of the pairwise ratios)`,
    );
    console.log(row(["command", "bpfsign", "baseline", "ratio", "goal"], widths));
    const show = (label: string, r: { a: number; b: number; ratio: number }, baseline: string) =>
      console.log(
        `${row(
          [
            label,
            `${r.a.toFixed(1)} ms`,
            `${r.b.toFixed(1)} ms`,
            `${r.ratio.toFixed(2)}x`,
            `${r.ratio <= GOAL ? "met" : "MISSED"}`,
          ],
          widths,
        )}  (baseline: ${baseline})`,
      );
    /** Each row is also one goal of the summary at the end of the run. */
    const showGoal = (
      label: string,
      r: { a: number; b: number; ratio: number },
      baseline: string,
    ) => {
      show(label, r, baseline);
      goal({
        name: `whole process: ${label}`,
        value: r.ratio,
        unit: "x",
        kind: "max",
        target: GOAL,
        what: `bpfsign / ${baseline}, median of ${RUNS} pairwise ratios`,
      });
    };

    showGoal(
      "bpfsign --version",
      pair({ argv: [node, BIN, "--version"], status: 0 }, { argv: [node, "-e", "0"], status: 0 }),
      "node -e 0",
    );
    const bytes = insns.length + data.length;
    showGoal(
      `bpfsign verify, raw ${(bytes / 2 ** 20).toFixed(2)} MiB`,
      pair(
        {
          argv: [
            node,
            BIN,
            "verify",
            "--insns",
            p("insns.bin"),
            "--data",
            p("data.bin"),
            "--sig",
            p("sig.der"),
            "--cert",
            p("cert.der"),
          ],
          status: 0,
        },
        { argv: [node, "-e", SHA_FILES, p("insns.bin"), p("data.bin")], status: 0 },
      ),
      "node start-up + SHA-256 of the files",
    );
    const header = p("signed.lskel.h");
    showGoal(
      `bpfsign verify, header ${(readFileSync(header).length / 2 ** 20).toFixed(1)} MiB`,
      pair(
        { argv: [node, BIN, "verify", header, "--cert", p("cert.der")], status: 0 },
        { argv: [node, "-e", SHA_FILES, header, p("content.bin")], status: 0 },
      ),
      "node start-up + SHA-256 of the header text + SHA-256 of the content",
    );
    if (hasOpenssl()) {
      const ts: number[] = [];
      for (let i = 0; i <= 5; i++)
        ts.push(
          runOnce({
            argv: ["openssl", ...cmsVerifyArgs(p("sig.der"), p("content.bin"), p("cert.pem"))],
            status: 0,
          }),
        );
      console.log(
        `openssl cms -verify of the raw content (same bytes, its own start-up included): ${median(ts.slice(1)).toFixed(1)} ms`,
      );
    } else console.log("openssl cms -verify: skipped (no openssl here)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node dist/bench/startup.js` runs this section alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) run();
