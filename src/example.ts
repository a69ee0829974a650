/**
 * The signed example that `npm start` and `npm run bench` share: a throwaway signing key made
 * with the openssl CLI (kernel selftest certificate profile), bpftool's CMS recipe over
 * `insns || metadata`, a tiny loader-shaped program that reads its metadata through fd_array[0],
 * and the create/update/freeze/load sequence of a signed loader. Our own signer (issue 3) will
 * replace the openssl calls.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeInsns, exit, ldMapIdxValue, ldxMem, Size } from "./insn/index.js";
import type { Bpf, ProgLoadResult } from "./uapi/bpf.js";
import { BPF_F_SLEEPABLE, KeySpec, MapType, ProgType } from "./uapi/constants.js";

export function openssl(args: string[]): Buffer {
  return execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 });
}

/** An RSA-2048 key with a self-signed certificate in a temporary directory. */
export class OpensslSigner {
  readonly dir = mkdtempSync(join(tmpdir(), "bpfsign-"));
  readonly keyPath = join(this.dir, "key.pem");
  readonly certPath = join(this.dir, "cert.pem");
  readonly certDer: Uint8Array;

  constructor(cn: string) {
    const cfg = join(this.dir, "x509.genkey");
    writeFileSync(
      cfg,
      `[ req ]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n[ dn ]\nCN = ${cn}\n[ ext ]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = digitalSignature\nsubjectKeyIdentifier = hash\n`,
    );
    openssl(
      ["req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048", "-sha256", "-days", "1"].concat([
        "-config",
        cfg,
        "-keyout",
        this.keyPath,
        "-out",
        this.certPath,
      ]),
    );
    this.certDer = new Uint8Array(openssl(["x509", "-in", this.certPath, "-outform", "DER"]));
  }

  /** Writes `content` to a file in the directory and returns its path. */
  writeContent(content: Uint8Array): string {
    const path = join(this.dir, "content.bin");
    writeFileSync(path, content);
    return path;
  }

  /** Detached CMS over `content` with bpftool's flags. */
  sign(content: Uint8Array): Uint8Array {
    const sigPath = join(this.dir, "sig.der");
    openssl(
      ["cms", "-sign", "-binary", "-nocerts", "-noattr", "-nosmimecap", "-keyid"]
        .concat(["-md", "sha256", "-outform", "DER", "-in", this.writeContent(content)])
        .concat(["-signer", this.certPath, "-inkey", this.keyPath, "-out", sigPath]),
    );
    return new Uint8Array(readFileSync(sigPath));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** r1 = the metadata value (fd_array[0]); r0 = its first word; exit. */
export const EXAMPLE_INSNS = encodeInsns([
  ...ldMapIdxValue(1, 0, 0),
  ldxMem(Size.W, 0, 1, 0),
  exit(),
]);

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** The exclusive (bound to sha256(insns)), filled and frozen metadata map of a signed loader. */
export function metadataMap(bpf: Bpf, insns: Uint8Array, metadata: Uint8Array): number {
  const map = bpf.mapCreate({
    map_type: MapType.ARRAY,
    key_size: 4,
    value_size: metadata.length,
    max_entries: 1,
    map_name: "__loader.map",
    excl_prog_hash: sha256(insns),
  });
  bpf.mapUpdate(map, new Uint8Array(4), metadata);
  bpf.mapFreeze(map);
  return map;
}

/** Loads a signed loader against the session keyring with its metadata map folded in. */
export function loadSigned(
  bpf: Bpf,
  insns: Uint8Array,
  map: number,
  signature: Uint8Array,
  log_size = 0,
): ProgLoadResult {
  return bpf.progLoad({
    prog_type: ProgType.SYSCALL,
    insns,
    license: "Dual BSD/GPL",
    prog_flags: BPF_F_SLEEPABLE,
    prog_name: "__loader.prog",
    fd_array: [map],
    fd_array_cnt: 1,
    signature,
    keyring_id: KeySpec.SESSION_KEYRING,
    log_size,
  });
}
