/**
 * Helpers shared by the model-kernel unit tests: a fresh kernel with one process, raw attr
 * syscalls, loads that report the errno instead of throwing, hand-encoded instructions (also
 * malformed ones the assembler refuses to build), metadata maps, and an EC signing key made
 * with the openssl CLI (cached per test process; EC keys are fast to generate).
 */
import { createHash } from "node:crypto";
import { encodeInsns, exit, type Insn, mov64Imm } from "../../src/insn/index.js";
import { type KernelOptions, ModelKernel } from "../../src/kernel/kernel.js";
import type { BpfMap } from "../../src/kernel/map.js";
import type { Caps, ModelProcess } from "../../src/kernel/process.js";
import type { BpfProg } from "../../src/kernel/prog.js";
import { Bpf, type ProgLoadOptions } from "../../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, KeySpec, MapType, ProgType } from "../../src/uapi/constants.js";
import { BpfError } from "../../src/uapi/errno.js";
import { encode, type Layout, type Values } from "../../src/uapi/layout.js";
import { cmsSign, makeTestKey, type TestKey } from "../support/openssl.js";

export interface World {
  readonly kernel: ModelKernel;
  readonly proc: ModelProcess;
  readonly bpf: Bpf;
}

/** A new model kernel (profile v2 unless told otherwise) and one root process on it. */
export function world(opts: KernelOptions = {}, caps: Partial<Caps> = {}): World {
  const kernel = new ModelKernel(opts);
  const proc = kernel.spawn(caps);
  return { kernel, proc, bpf: new Bpf(proc) };
}

/** The errno a call failed with (BpfError), or 0 when it succeeded. */
export function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof BpfError) return e.errno;
    throw e;
  }
}

export { type LoadOutcome, tryLoad as load } from "../support/load.js";

/** The program behind a process's fd (asserting that it is one). */
export function progOf(proc: ModelProcess, fd: number): BpfProg {
  const f = proc.file(fd);
  if (f?.kind !== "prog") throw new Error(`fd ${fd} is not a program`);
  return f.prog;
}

/** The map behind a process's fd (asserting that it is one). */
export function mapOf(proc: ModelProcess, fd: number): BpfMap {
  const f = proc.file(fd);
  if (f?.kind !== "map") throw new Error(`fd ${fd} is not a map`);
  return f.map;
}

/** Closes what a load or create returned, when it is an fd. */
export function closeFds(bpf: Bpf, ...fds: number[]): void {
  for (const fd of fds) if (fd >= 0) bpf.close(fd);
}

/** One raw instruction slot, without the assembler's range checks (for malformed programs). */
export function rawInsn(code: number, dst: number, src: number, off: number, imm: number) {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = ((src & 0x0f) << 4) | (dst & 0x0f);
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

/** Instructions from assembler output and raw slots, in order. */
export function insns(...parts: (Insn | readonly Insn[] | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) =>
    p instanceof Uint8Array ? p : encodeInsns(Array.isArray(p) ? (p as Insn[]) : [p as Insn]),
  );
  return concat(...chunks);
}

/** `r0 = 0; exit`: the smallest valid program. */
export const RET0 = encodeInsns([mov64Imm(0, 0), exit()]);

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A little-endian u32 key. */
export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/**
 * The raw system call with an attr built from `values` in a zeroed buffer of `bufLen` bytes,
 * passing `size` as the attr size. Returns the result and the attr bytes (the kernel may have
 * written fields back).
 */
export function sys<L extends Layout>(
  proc: ModelProcess,
  cmd: number,
  layout: L,
  values: Partial<Values<L>>,
  size = 168,
  bufLen = Math.max(size, 168),
): { ret: number; attr: Uint8Array } {
  const attr = encode(layout, values, bufLen);
  return { ret: proc.bpf(cmd, attr, size), attr };
}

/** Options of a socket filter load. */
export function socketFilter(code: Uint8Array, extra: Partial<ProgLoadOptions> = {}) {
  return { prog_type: ProgType.SOCKET_FILTER, insns: code, ...extra };
}

/** Options of a loader-shaped load: a sleepable SYSCALL program with fd_array. */
export function syscallProg(code: Uint8Array, extra: Partial<ProgLoadOptions> = {}) {
  return {
    prog_type: ProgType.SYSCALL,
    insns: code,
    prog_flags: BPF_F_SLEEPABLE,
    license: "Dual BSD/GPL",
    ...extra,
  };
}

export interface MetaMapOptions {
  /** excl_prog_hash, or null for a shared map. */
  readonly excl: Uint8Array | null;
  readonly name?: string;
  readonly freeze?: boolean;
  readonly max_entries?: number;
  readonly map_type?: number;
}

/** An ARRAY map holding `value` in element 0 (frozen and exclusive unless told otherwise). */
export function metaMap(bpf: Bpf, value: Uint8Array, o: MetaMapOptions): number {
  const fd = bpf.mapCreate({
    map_type: o.map_type ?? MapType.ARRAY,
    key_size: 4,
    value_size: value.length,
    max_entries: o.max_entries ?? 1,
    map_name: o.name ?? "meta",
    ...(o.excl ? { excl_prog_hash: o.excl } : {}),
  });
  bpf.mapUpdate(fd, u32(0), value);
  if (o.freeze ?? true) bpf.mapFreeze(fd);
  return fd;
}

export interface Signer {
  readonly key: TestKey;
  readonly certDer: Uint8Array;
  /** A detached CMS signature in bpftool's shape over `parts` concatenated. */
  sign(...parts: Uint8Array[]): Uint8Array;
}

/** An EC P-256 signing key with a self-signed certificate; another `slot` is another key. */
export function signer(slot = "kernel-tests"): Signer {
  const key = makeTestKey("ec-p256", {}, slot);
  return { key, certDer: key.certDer, sign: (...parts) => cmsSign(concat(...parts), key) };
}

/** Adds the signer's certificate to the caller's session keyring; returns the key's serial. */
export function trustInSession(bpf: Bpf, s: Signer, description = "kernel-tests"): number {
  return bpf.addKey("asymmetric", description, s.certDer, KeySpec.SESSION_KEYRING);
}
