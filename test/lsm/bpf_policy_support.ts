/**
 * The design document's policies as BPF programs: the objects (compiled by clang when it is
 * here, else the committed fixtures), their light skeletons (bpfsign gen), loaded into a model
 * kernel and attached, with readers for their maps.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { type AttachedLink, attachProgram } from "../../src/loader/attach.js";
import {
  type LoadedSkeleton,
  type LoaderImage,
  loadAndRun,
} from "../../src/loader/load_and_run.js";
import { RingBufferConsumer } from "../../src/loader/ringbuf.js";
import type { BpfBackend } from "../../src/uapi/backend.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { ProgType } from "../../src/uapi/constants.js";
import { vectorKeyFiles } from "../support/cms.js";

export type PolicyName = "admit" | "observe";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const SRC = join(ROOT, "bpf", "policy");
const FIXTURES = join(ROOT, "test", "fixtures", "policy");

/** Why clang cannot build the policies here, or null when it can. */
export function clangMissing(): string | null {
  try {
    execFileSync("clang", ["--version"], { stdio: "ignore" });
  } catch {
    return "clang is not installed";
  }
  try {
    readFileSync("/usr/include/bpf/bpf_helpers.h");
  } catch {
    return "libbpf-dev headers (/usr/include/bpf) are not installed";
  }
  return null;
}

/** Compiles bpf/policy/NAME.bpf.c with clang (as the fixture README says). */
export function compilePolicy(name: PolicyName): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "bpfsign-policy-"));
  try {
    const out = join(dir, `${name}.bpf.o`);
    execFileSync(
      "clang",
      [
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-D__TARGET_ARCH_x86",
        "-I.",
        "-I/usr/include/x86_64-linux-gnu",
        "-fdebug-compilation-dir=.",
        "-c",
        `${name}.bpf.c`,
        "-o",
        out,
      ],
      { cwd: SRC, stdio: ["ignore", "ignore", "pipe"] },
    );
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The committed object. */
export function policyFixture(name: PolicyName): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, `${name}.bpf.o`)));
}

/**
 * The light skeleton's loader image of a policy object; `signed`: signed with the RSA-2048 test
 * key (load it with that certificate in the keyring it names).
 */
export function policyImage(bytes: Uint8Array, name: PolicyName, signed = false): LoaderImage {
  const k = vectorKeyFiles("rsa2048");
  const g = genSkeleton(bytes, `${name}.bpf.o`, {
    ...(signed ? { signing: { key: k.keyPem, cert: k.certDer } } : {}),
  });
  return {
    insns: g.insns,
    data: g.data,
    signature: g.signed?.signature ?? null,
    exclHash: g.signed?.exclHash ?? null,
    maps: g.object.maps.map((m) => ({ name: m.name, mmap: null })),
    progs: g.object.programs.map((p) => ({ name: p.name })),
  };
}

export interface LoadedPolicy {
  readonly loaded: LoadedSkeleton;
  readonly links: AttachedLink[];
  mapFd(name: string): number;
  /** Detaches and closes everything. */
  close(): void;
}

/** Loads a policy skeleton and attaches its LSM programs (its `__attach()`). */
export function loadPolicy(backend: BpfBackend, image: LoaderImage, keyringId = 0): LoadedPolicy {
  const loaded = loadAndRun(backend, image, { keyringId });
  const links = loaded.progs.map((p) => attachProgram(backend, p.name, p.fd, ProgType.LSM));
  return {
    loaded,
    links,
    mapFd(name) {
      const m = loaded.maps.find((x) => x.name === name);
      if (!m) throw new Error(`policy has no map ${name}`);
      return m.fd;
    },
    close() {
      for (const l of links) backend.close(l.fd);
      loaded.close();
    },
  };
}

/** struct admission_record of admit.bpf.c */
export interface AdmissionRecord {
  prog_type: number;
  verdict: number;
  keyring_type: number;
  keyring_serial: number;
  ret: number;
}

export function decodeAdmission(b: Uint8Array): AdmissionRecord {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    prog_type: dv.getUint32(0, true),
    verdict: dv.getUint32(4, true),
    keyring_type: dv.getUint32(8, true),
    keyring_serial: dv.getInt32(12, true),
    ret: dv.getInt32(16, true),
  };
}

/** The admission policy's audit stream. */
export function auditReader(backend: BpfBackend, policy: LoadedPolicy): () => AdmissionRecord[] {
  const rb = new RingBufferConsumer(backend, policy.mapFd("audit"), 1 << 16);
  return () => rb.consume().map(decodeAdmission);
}

/** Adds a keyring serial to the admission policy's allowlist. */
export function allowKeyring(backend: BpfBackend, policy: LoadedPolicy, serial: number): void {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt32(0, serial, true);
  new Bpf(backend).mapUpdate(policy.mapFd("allowed_keyrings"), key, new Uint8Array([1]));
}

/** The observer's `live` map: key → {id, keyring_type, keyring_serial}. */
export function liveEntries(
  backend: BpfBackend,
  policy: LoadedPolicy,
): { key: bigint; id: number; ktype: number; serial: number }[] {
  const bpf = new Bpf(backend);
  const fd = policy.mapFd("live");
  const out: { key: bigint; id: number; ktype: number; serial: number }[] = [];
  let k: Uint8Array | null = null;
  for (;;) {
    k = bpf.mapNextKey(fd, k, 8);
    if (!k) break;
    const v = bpf.mapLookup(fd, k, 12);
    const dv = new DataView(v.buffer, v.byteOffset, 12);
    out.push({
      key: new DataView(k.buffer, k.byteOffset, 8).getBigUint64(0, true),
      id: dv.getUint32(0, true),
      ktype: dv.getUint32(4, true),
      serial: dv.getInt32(8, true),
    });
  }
  return out;
}
