/**
 * `npm run bench`: the model kernel's signed BPF_PROG_LOAD (insns || metadata folded from an
 * exclusive frozen map, PKCS#7 verified) for 1 KiB, 1 MiB and 15 MiB of metadata, next to plain
 * SHA-256 of the same bytes in this process and `openssl dgst -sha256` of the same bytes, all
 * measured in this run. Prints medians, ratios and the process's peak memory, and at the end every
 * goal of issue 11 with its ratio and a PASS/MISS mark.
 */
import { createHash, randomBytes } from "node:crypto";
import { ModelKernel } from "../src/kernel/kernel.js";
import { Bpf } from "../src/uapi/bpf.js";
import { KeySpec } from "../src/uapi/constants.js";
import { run as runAudit } from "./audit.js";
import { run as runBpfLsm } from "./bpf_lsm.js";
import { run as runCrypto } from "./crypto.js";
import { EXAMPLE_INSNS, ExampleSigner, loadSigned, metadataMap, openssl } from "./example.js";
import { run as runGen } from "./gen.js";
import { run as runHost } from "./host.js";
import { run as runMemory } from "./memory.js";
import { run as runSkeleton } from "./skeleton.js";
import { run as runStartup } from "./startup.js";
import { goal, goalSummary, interleavedMedians, median, timeMs } from "./util.js";
import { run as runVerifier } from "./verifier.js";
import { run as runVm } from "./vm.js";

/**
 * Rounds measured per size, after `warmup` unmeasured rounds at that size: the goals are about a
 * load path the JIT has compiled (a kernel loads many programs), not its first calls.
 */
/** Small signed loads run before the table (see signedLoad). */
const WARMUP_LOADS = 1000;

const SIZES = [
  { label: "1 KiB", bytes: 1024, runs: 200, warmup: 100 },
  { label: "1 MiB", bytes: 1 << 20, runs: 100, warmup: 300 },
  { label: "15 MiB", bytes: 15 << 20, runs: 8, warmup: 2 },
];

function signedLoad(): void {
  const signer = new ExampleSigner("bench");
  try {
    const kernel = new ModelKernel();
    const bpf = new Bpf(kernel.spawn());
    bpf.addKey("asymmetric", "", signer.certDer, KeySpec.SESSION_KEYRING);
    const insns = EXAMPLE_INSNS;

    console.log(
      "signed BPF_PROG_LOAD on the model kernel (v2) vs SHA-256 of the same bytes (CPU time, median of the rounds after the warm-up rounds)",
    );
    console.log(
      `${"metadata".padEnd(9)} ${"model load".padStart(12)} ${"sha256 (node)".padStart(14)} ${"ratio".padStart(7)} ${"openssl dgst".padStart(13)} ${"ratio".padStart(7)}`,
    );
    // The whole load path (attr decode, fd_array, PKCS#7, do_check, LSM hooks) is compiled by the
    // JIT only after some hundreds of loads, on background threads whose CPU time counts here:
    // run a thousand small signed loads first, so that the rows measure the compiled path.
    {
      const metadata = new Uint8Array(randomBytes(1024));
      const map = metadataMap(bpf, insns, metadata);
      const signature = signer.sign(insns, metadata);
      for (let i = 0; i < WARMUP_LOADS; i++) bpf.close(loadSigned(bpf, insns, map, signature).fd);
      bpf.close(map);
    }
    // in-process rounds first, every size, then the openssl processes: a child process started
    // between rounds leaves the parent's memory to be faulted in again (copy-on-write)
    const measured = SIZES.map((s) => {
      const metadata = new Uint8Array(randomBytes(s.bytes));
      const signature = signer.sign(insns, metadata);
      const map = metadataMap(bpf, insns, metadata);
      const load = () => bpf.close(loadSigned(bpf, insns, map, signature).fd);
      const sha = () => {
        createHash("sha256").update(insns).update(metadata).digest();
      };
      const [l, h] = interleavedMedians([load, sha], s.runs, s.warmup);
      bpf.close(map);
      return { s, metadata, l, h };
    });
    for (const { s, metadata, l, h } of measured) {
      const content = signer.writeContent(Buffer.concat([insns, metadata]));
      const osslT: number[] = [];
      for (let i = 0; i < Math.min(s.runs, 10); i++)
        osslT.push(timeMs(() => openssl(["dgst", "-sha256", content])));
      const o = median(osslT);
      console.log(
        `${s.label.padEnd(9)} ${`${l.toFixed(3)} ms`.padStart(12)} ${`${h.toFixed(3)} ms`.padStart(14)} ${`${(l / h).toFixed(2)}x`.padStart(7)} ${`${o.toFixed(3)} ms`.padStart(13)} ${`${(l / o).toFixed(2)}x`.padStart(7)}`,
      );
      if (s.bytes >= 1 << 20) {
        goal({
          name: `signed BPF_PROG_LOAD, ${s.label} metadata`,
          value: l / h,
          unit: "x",
          kind: "max",
          target: 1.3,
          what: "model load / SHA-256 of insns || metadata (measured in turn)",
        });
      }
    }
    console.log("openssl dgst includes its process start.");
  } finally {
    signer.dispose();
  }
}

/** Each section prints its own table; all are measured in this one process run. */
const SECTIONS: [string, () => void | Promise<void>][] = [
  ["signed BPF_PROG_LOAD", signedLoad],
  ["CMS sign and verify", runCrypto],
  ["light skeleton parse and write", runSkeleton],
  ["eBPF interpreter", runVm],
  ["verifier (do_check) vs the host's BPF_PROG_LOAD", runVerifier],
  ["host backend call cost", runHost],
  ["peak memory of bpfsign verify", runMemory],
  ["CLI start-up", runStartup],
  ["bpfsign audit", runAudit],
  ["bpfsign gen skeleton", runGen],
  ["admission decision: BPF LSM policy vs TypeScript module", runBpfLsm],
];

// `node dist/bench/run.js WORD…` runs only the sections whose title contains one of the words.
const only = process.argv.slice(2);
for (const [title, fn] of SECTIONS) {
  if (only.length && !only.some((w) => title.includes(w))) continue;
  console.log(`\n== ${title} ==`);
  await fn();
}
console.log("\n== goals, measured in this run ==");
for (const line of goalSummary()) console.log(line);
const mem = process.memoryUsage();
console.log(
  `\nmemory: rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB, array buffers ${(mem.arrayBuffers / 2 ** 20).toFixed(1)} MiB`,
);
