/**
 * `npm start`: a short end-to-end run on the model kernel. It makes a throwaway signing key and
 * certificate with the openssl CLI, signs a tiny loader-shaped program together with its
 * metadata (bpftool's CMS recipe), loads it signed into the model, prints the verdict the LSM
 * admission hook saw, then shows a tampered load being rejected.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeInsns,
  disassemble,
  encodeInsns,
  exit,
  ldMapIdxValue,
  ldxMem,
  Size,
} from "./insn/index.js";
import { ModelKernel } from "./kernel/kernel.js";
import { Bpf } from "./uapi/bpf.js";
import {
  BPF_F_SLEEPABLE,
  enumName,
  KeySpec,
  MapType,
  ProgType,
  SigKeyring,
  SigVerdict,
} from "./uapi/constants.js";
import { BpfError } from "./uapi/errno.js";

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), "bpfsign-demo-"));
  try {
    // 1. A signing key and a self-signed certificate with the kernel selftest profile.
    const cfg = join(dir, "x509.genkey");
    writeFileSync(
      cfg,
      [
        "[ req ]",
        "distinguished_name = dn",
        "prompt = no",
        "x509_extensions = ext",
        "[ dn ]",
        "CN = bpfsign demo key",
        "[ ext ]",
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = digitalSignature",
        "subjectKeyIdentifier = hash",
        "",
      ].join("\n"),
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
    openssl(["x509", "-in", cert, "-outform", "DER", "-out", join(dir, "cert.der")]);
    const certDer = new Uint8Array(readFileSync(join(dir, "cert.der")));

    // 2. A tiny loader-shaped program: it reads its metadata map through fd_array[0].
    const insns = encodeInsns([...ldMapIdxValue(1, 0, 0), ldxMem(Size.W, 0, 1, 0), exit()]);
    const metadata = new TextEncoder().encode("metadata the signature covers\0\0\0");
    const excl = new Uint8Array(createHash("sha256").update(insns).digest());
    console.log("program:");
    for (const line of disassemble(decodeInsns(insns))) console.log(`  ${line}`);
    console.log(
      `metadata: ${metadata.length} bytes, excl_prog_hash = sha256(insns) = ${Buffer.from(excl).toString("hex").slice(0, 16)}…`,
    );

    // 3. Sign insns || metadata the way bpftool does.
    const content = join(dir, "content.bin");
    writeFileSync(content, Buffer.concat([insns, metadata]));
    const sigPath = join(dir, "sig.der");
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
      sigPath,
    ]);
    const signature = new Uint8Array(readFileSync(sigPath));
    console.log(
      `signature: ${signature.length} bytes of detached CMS (openssl cms, bpftool's flags)`,
    );

    // 4. Load it signed into the model kernel.
    const kernel = new ModelKernel({ profile: "v2" });
    let admitted = { verdict: -1, keyring_type: -1, keyring_serial: -1 };
    kernel.lsm.register({
      name: "demo-observer",
      bpf_prog_load(prog) {
        admitted = { ...prog.aux.sig };
        return 0;
      },
    });
    const bpf = new Bpf(kernel.spawn());
    const keySerial = bpf.addKey("asymmetric", "", certDer, KeySpec.SESSION_KEYRING);
    const session = bpf.keyringId(KeySpec.SESSION_KEYRING);
    console.log(`certificate added to the session keyring ${session} as key ${keySerial}`);

    const load = (meta: Uint8Array, label: string) => {
      const map = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: meta.length,
        max_entries: 1,
        map_name: "__loader.map",
        excl_prog_hash: excl,
      });
      bpf.mapUpdate(map, new Uint8Array(4), meta);
      bpf.mapFreeze(map);
      try {
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
          log_size: 4096,
        });
        console.log(`\n${label}: loaded as fd ${r.fd}`);
        console.log(
          `  verdict ${enumName(SigVerdict, admitted.verdict)}, keyring type ${enumName(SigKeyring, admitted.keyring_type)}, keyring serial ${admitted.keyring_serial}`,
        );
        console.log(`  log: ${r.log.split("\n")[0]}`);
        bpf.close(r.fd);
      } catch (e) {
        if (!(e instanceof BpfError)) throw e;
        console.log(`\n${label}: rejected with ${e.code} (${e.errno})`);
        console.log(`  log: ${e.log.split("\n")[0]}`);
      } finally {
        bpf.close(map);
      }
    };
    load(metadata, "signed load");
    const tampered = metadata.slice();
    tampered[0] ^= 0x01;
    load(tampered, "tampered metadata (one bit flipped)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
