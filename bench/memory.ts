/**
 * Peak memory of `bpfsign verify` on a max-size signed header: insns || metadata of
 * DYNPTR_MAX_SIZE bytes (the kernel's cap on the signed buffer), written by our writer and
 * signed with a fresh P-256 key, verified by the CLI in a child process. The peak is the
 * child's maxRSS (process.resourceUsage, reported at exit) minus that of a bare `node -e 0`
 * measured the same way (a cross-check: `/usr/bin/time -v` reports the same maxRSS).
 *
 * Goal (issue 11): at most 3x the header's size.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSigningIdentity } from "../src/crypto/certgen.js";
import { signCms, signerIdentity } from "../src/crypto/sign.js";
import { loaderCtxSize, SIGNED_DIALECT, writeSignedSkeleton } from "../src/skeleton/index.js";
import { Limits } from "../src/uapi/constants.js";
import { goal, median, row } from "./util.js";

/** The package's bin: the CommonJS bundle of the CLI that `npm run build` makes. */
const CLI = fileURLToPath(new URL("../src/cli/bpfsign.cjs", import.meta.url));
const REPORT_MAXRSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("MAXRSS "+process.resourceUsage().maxRSS+"\\n"))';

/**
 * maxRSS in bytes of `node args`, or the reason it could not be read. The child is started by a
 * shell that forks it (not by this process directly): Linux carries the RSS high-water mark of
 * the forking process's memory into a child's maxRSS across exec, and this process is large.
 */
function maxRss(args: string[]): number | string {
  const quoted = [process.execPath, "--import", REPORT_MAXRSS, ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
  const r = spawnSync("/bin/sh", ["-c", `${quoted}; exit $?`], { encoding: "utf8" });
  const m = /MAXRSS (\d+)/.exec(r.stderr ?? "");
  if (!m) return `no maxRSS report (status ${r.status}): ${(r.stderr ?? "").slice(0, 200)}`;
  if (r.status !== 0) return `exit status ${r.status}: ${r.stdout}`;
  return Number(m[1]) * 1024;
}

export function run(): void {
  if (!existsSync(CLI)) {
    console.log(`peak memory: skipped (${CLI} not built)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "bpfsign-bench-mem-"));
  try {
    const identity = generateSigningIdentity({ type: "ec-p256" });
    const id = signerIdentity(identity.privateKeyPem, identity.certificateDer);
    const insns = new Uint8Array(randomBytes(8 * 2000));
    const data = new Uint8Array(randomBytes(Limits.DYNPTR_MAX_SIZE - insns.length));
    for (let i = 0; i < data.length; i += 4) data[i] = 0;
    const header = writeSignedSkeleton(
      {
        name: "bench",
        dialect: SIGNED_DIALECT,
        maps: [{ name: "m", mmap: null }],
        progs: [{ name: "p", attach: { kind: "none" } }],
        links: ["p_fd"],
        hasKeyringId: false,
        views: [],
        asserts: [],
        data,
        insns,
        signature: null,
        exclHash: null,
        ctxSize: loaderCtxSize(1, 1),
      },
      { signature: signCms([insns, data], id) },
    );
    const headerPath = join(dir, "max.lskel.h");
    const certPath = join(dir, "cert.pem");
    writeFileSync(headerPath, header);
    writeFileSync(certPath, identity.certificatePem);
    const verify = [CLI, "verify", headerPath, "--cert", certPath];
    const cli: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = maxRss(verify);
      const b = maxRss(["-e", "0"]);
      if (typeof c === "string" || typeof b === "string") {
        console.log(`peak memory: skipped (${typeof c === "string" ? c : b})`);
        return;
      }
      cli.push(c);
      bare.push(b);
    }
    const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
    const peak = median(cli) - median(bare);
    console.log(
      `bpfsign verify of a max-size signed header (insns || metadata = ${Limits.DYNPTR_MAX_SIZE} bytes), maxRSS, median of 3`,
    );
    const w = [44, 12];
    console.log(row(["header size", mib(header.length)], w));
    console.log(row(["bpfsign verify (child maxRSS)", mib(median(cli))], w));
    console.log(row(["bare node -e 0 (child maxRSS)", mib(median(bare))], w));
    console.log(row(["verify's own peak (difference)", mib(peak)], w));
    goal({
      name: "peak memory of bpfsign verify, max-size header",
      value: peak / header.length,
      unit: "x",
      kind: "max",
      target: 3,
      what: "(maxRSS - bare node maxRSS) / header size",
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) run();
