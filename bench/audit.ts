/**
 * `bpfsign audit` speed: one audit (offline verification, install plan, policy decisions, JSON)
 * of the largest light skeleton in the repository, its parts, the HTML page, and the batch
 * throughput of the CLI over every header of the repository (skeletons per second), all in
 * this process.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { renderAuditHtml } from "../src/audit/html.js";
import { auditSkeleton } from "../src/audit/report.js";
import { run as runCli } from "../src/cli/program.js";
import { verifyOffline } from "../src/crypto/offline.js";
import { parsePolicy } from "../src/policy/syntax.js";
import { planInstall } from "../src/skeleton/install_plan.js";
import { parseLightSkeleton } from "../src/skeleton/reader.js";
import { median, medianMs, ms } from "./util.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const HEADERS = join(ROOT, "test/fixtures/skeleton_header");
const CERT = join(ROOT, "test/fixtures/vectors/keys/test-only-rsa2048.cert.der");

const POLICY = parsePolicy(`policy_name=bench policy_version=1.0.0
DEFAULT action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE prog_type=kprobe action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED max_map_entries>65536 action=DENY
op=BPF_PROG_LOAD bpf_signature=VERIFIED installs_helper=probe_write_user action=DENY
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER action=ALLOW
`);

export async function run(): Promise<void> {
  const files = [
    ...readdirSync(HEADERS)
      .filter((f) => f.endsWith(".lskel.h"))
      .map((f) => join(HEADERS, f)),
    join(ROOT, "examples/const_ret.lskel.h"),
  ];
  const bySize = [...files].sort((a, b) => statSync(b).size - statSync(a).size);
  const largest = bySize[0];
  const largestSigned = bySize.find((f) => parseLightSkeleton(readFileSync(f)).signature);
  const cert = new Uint8Array(readFileSync(CERT));
  for (const file of [largest, largestSigned]) {
    if (!file) continue;
    const skel = parseLightSkeleton(readFileSync(file));
    const input = {
      source: file,
      insns: skel.insns,
      data: skel.data,
      signature: skel.signature,
      exclHash: skel.exclHash,
      mapNames: skel.maps.map((m) => m.name),
    };
    const opts = { trusted: [cert], policy: POLICY };
    const report = auditSkeleton(input, opts);
    console.log(
      `${file === largest ? "largest" : "largest signed"}: ${file.slice(ROOT.length)} (${statSync(file).size} bytes; loader ${skel.insns.length / 8} insns, metadata ${skel.data.length} bytes; ${report.install.maps.length} maps, ${report.install.progs.length} programs; signature ${report.signature.result})`,
    );
    const rows: [string, number][] = [
      ["  header parse", medianMs(() => parseLightSkeleton(readFileSync(file)), 50)],
      [
        "  offline verify",
        medianMs(
          () =>
            verifyOffline({
              insns: skel.insns,
              metadata: skel.data,
              signature: skel.signature,
              exclHash: skel.exclHash,
              trusted: [cert],
            }),
          50,
        ),
      ],
      ["  install plan", medianMs(() => planInstall(skel.insns, skel.data), 50)],
      [
        "  audit (all of it) + JSON",
        medianMs(() => JSON.stringify(auditSkeleton(input, opts)), 50),
      ],
      [
        "  HTML page",
        medianMs(() => renderAuditHtml(report, skel.insns, planInstall(skel.insns, skel.data)), 20),
      ],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(28)} ${ms(v).padStart(12)}`);
  }

  // batch: the CLI over every header, JSON lines to a sink (as when stdout is a pipe)
  const io = { stdout: () => {}, stderr: () => {}, env: {}, stdoutIsTTY: false };
  const args = ["audit", ...files, "--cert", CERT];
  await runCli(args, io);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    await runCli(args, io);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const m = median(times);
  console.log(
    `batch: ${files.length} skeletons in ${ms(m)} (median of 5): ${((files.length * 1000) / m).toFixed(0)} skeletons/s`,
  );
}
