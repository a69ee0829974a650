/**
 * `npm run bench`: the model kernel's signed BPF_PROG_LOAD (insns || metadata folded from an
 * exclusive frozen map, PKCS#7 verified) for 1 KiB, 1 MiB and 15 MiB of metadata, next to plain
 * SHA-256 of the same bytes in this process and `openssl dgst -sha256` of the same bytes, all
 * measured in this run. Prints medians, ratios and the process's peak memory.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeInsns, exit, ldMapIdxValue, ldxMem, Size } from "../src/insn/index.js";
import { ModelKernel } from "../src/kernel/kernel.js";
import { Bpf } from "../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, KeySpec, MapType, ProgType } from "../src/uapi/constants.js";

const SIZES = [
  { label: "1 KiB", bytes: 1024, runs: 200 },
  { label: "1 MiB", bytes: 1 << 20, runs: 30 },
  { label: "15 MiB", bytes: 15 << 20, runs: 8 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function timeMs(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function openssl(args: string[]): Buffer {
  return execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 });
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), "bpfsign-bench-"));
  try {
    const cfg = join(dir, "x509.genkey");
    writeFileSync(
      cfg,
      "[ req ]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n[ dn ]\nCN = bench\n[ ext ]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = digitalSignature\nsubjectKeyIdentifier = hash\n",
    );
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    openssl([
      "req",
      "-new",
      "-x509",
      "-nodes",
      "-newkey",
      "rsa:2048",
      "-sha256",
      "-days",
      "1",
      "-config",
      cfg,
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    const certDer = new Uint8Array(openssl(["x509", "-in", cert, "-outform", "DER"]));

    const kernel = new ModelKernel();
    const bpf = new Bpf(kernel.spawn());
    bpf.addKey("asymmetric", "", certDer, KeySpec.SESSION_KEYRING);
    const insns = encodeInsns([...ldMapIdxValue(1, 0, 0), ldxMem(Size.W, 0, 1, 0), exit()]);
    const excl = new Uint8Array(createHash("sha256").update(insns).digest());

    console.log(
      "signed BPF_PROG_LOAD on the model kernel (v2) vs SHA-256 of the same bytes (median)",
    );
    console.log(
      `${"metadata".padEnd(9)} ${"model load".padStart(12)} ${"sha256 (node)".padStart(14)} ${"ratio".padStart(7)} ${"openssl dgst".padStart(13)} ${"ratio".padStart(7)}`,
    );
    for (const s of SIZES) {
      const metadata = new Uint8Array(randomBytes(s.bytes));
      const content = join(dir, "content.bin");
      writeFileSync(content, Buffer.concat([insns, metadata]));
      openssl([
        "cms",
        "-sign",
        "-binary",
        "-nocerts",
        "-noattr",
        "-nosmimecap",
        "-keyid",
        "-md",
        "sha256",
        "-outform",
        "DER",
        "-in",
        content,
        "-signer",
        cert,
        "-inkey",
        key,
        "-out",
        join(dir, "sig.der"),
      ]);
      const signature = new Uint8Array(readFileSync(join(dir, "sig.der")));
      const map = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: s.bytes,
        max_entries: 1,
        excl_prog_hash: excl,
      });
      bpf.mapUpdate(map, new Uint8Array(4), metadata);
      bpf.mapFreeze(map);
      const load = () => {
        const r = bpf.progLoad({
          prog_type: ProgType.SYSCALL,
          insns,
          license: "Dual BSD/GPL",
          prog_flags: BPF_F_SLEEPABLE,
          prog_name: "__loader.prog",
          fd_array: [map],
          fd_array_cnt: 1,
          signature,
          keyring_id: KeySpec.SESSION_KEYRING,
        });
        bpf.close(r.fd);
      };
      const sha = () => {
        createHash("sha256").update(insns).update(metadata).digest();
      };
      load();
      sha();
      const loadT: number[] = [];
      const shaT: number[] = [];
      for (let i = 0; i < s.runs; i++) {
        loadT.push(timeMs(load));
        shaT.push(timeMs(sha));
      }
      const osslT: number[] = [];
      for (let i = 0; i < Math.min(s.runs, 10); i++)
        osslT.push(timeMs(() => openssl(["dgst", "-sha256", content])));
      const l = median(loadT);
      const h = median(shaT);
      const o = median(osslT);
      console.log(
        `${s.label.padEnd(9)} ${`${l.toFixed(3)} ms`.padStart(12)} ${`${h.toFixed(3)} ms`.padStart(14)} ${`${(l / h).toFixed(2)}x`.padStart(7)} ${`${o.toFixed(3)} ms`.padStart(13)} ${`${(l / o).toFixed(2)}x`.padStart(7)}`,
      );
      bpf.close(map);
    }
    const mem = process.memoryUsage();
    console.log(
      `\nmemory: rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB, array buffers ${(mem.arrayBuffers / 2 ** 20).toFixed(1)} MiB`,
    );
    console.log(
      "openssl dgst includes its process start; the target is model/sha256 ≤ 1.5x for 1 MiB and 15 MiB.",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
