/**
 * The signed example the bench's first section uses: a throwaway signing identity (kernel
 * selftest certificate profile), bpftool's CMS over `insns || metadata` from our own signer, a
 * tiny loader-shaped program that reads its metadata through fd_array[0], and the
 * create/update/freeze/load sequence of a signed loader. `openssl()` runs the CLI for the
 * comparisons the bench prints.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningIdentity } from "../src/crypto/certgen.js";
import { type SignerIdentity, signCms, signerIdentity } from "../src/crypto/sign.js";
import { encodeInsns, exit, ldMapIdxValue, ldxMem, Size } from "../src/insn/index.js";
import type { Bpf, ProgLoadResult } from "../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, KeySpec, MapType, ProgType } from "../src/uapi/constants.js";

export function openssl(args: string[]): Buffer {
  return execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 });
}

/**
 * The arguments of `openssl cms -verify` for a detached DER signature over a content file, with
 * one PEM certificate as both the signer's and the trust anchor (output discarded).
 */
export function cmsVerifyArgs(sigPath: string, contentPath: string, certPemPath: string): string[] {
  return [
    "cms",
    "-verify",
    "-binary",
    "-inform",
    "DER",
    "-in",
    sigPath,
    "-content",
    contentPath,
    "-certfile",
    certPemPath,
    "-CAfile",
    certPemPath,
    "-purpose",
    "any",
    "-out",
    "/dev/null",
  ];
}

/** An RSA-2048 signing identity, and a temporary directory for files the openssl CLI reads. */
export class ExampleSigner {
  readonly dir = mkdtempSync(join(tmpdir(), "bpfsign-"));
  readonly certDer: Uint8Array;
  private readonly id: SignerIdentity;

  constructor(cn: string) {
    const generated = generateSigningIdentity({ type: "rsa2048", subject: cn });
    this.certDer = generated.certificateDer;
    this.id = signerIdentity(generated.privateKeyPem, generated.certificateDer);
  }

  /** Writes `content` to a file in the directory and returns its path. */
  writeContent(content: Uint8Array): string {
    const path = join(this.dir, "content.bin");
    writeFileSync(path, content);
    return path;
  }

  /** Detached CMS over the chunks, as bpftool makes it. */
  sign(...content: Uint8Array[]): Uint8Array {
    return signCms(content, this.id);
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
