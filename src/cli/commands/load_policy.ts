/**
 * `bpfsign load … --policy POLICY.lskel.h [--policy-map MAP=KEY[:VALUE]]`: BPF LSM policies
 * (light skeletons of programs in `lsm/…` sections) loaded and attached before the target
 * skeleton, their maps filled from the command line, their ring buffers read afterwards and each
 * record decoded with the record's type from the policy's BTF when it has one (a struct of the
 * record's size; a name with "record" or "event" in it, or the ring buffer's name, breaks ties),
 * else shown in hex. A policy that fails to load or attach is an error naming it and the step.
 */
import { BTF_KIND, Btf, type BtfType } from "../../btf/btf.js";
import type { ModelKernel } from "../../kernel/kernel.js";
import type { ModelProcess } from "../../kernel/process.js";
import { type AttachedLink, attachProgram } from "../../loader/attach.js";
import { type LoadedSkeleton, loadAndRun } from "../../loader/load_and_run.js";
import { RingBufferConsumer } from "../../loader/ringbuf.js";
import type { BpfBackend } from "../../uapi/backend.js";
import { Bpf } from "../../uapi/bpf.js";
import { enumName, KeySpec, MapType, ProgType } from "../../uapi/constants.js";
import { errnoName } from "../../uapi/errno.js";
import type { BpfLsm } from "../../vm/bpf_lsm.js";
import { UsageError } from "../errors.js";
import { readSkeleton } from "../skeleton_input.js";

/** A policy that could not be put in place: its file, the step, and the kernel's refusal. */
export class PolicySetupError extends Error {
  readonly code: string;
  constructor(
    readonly file: string,
    readonly step: string,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`policy ${file}: ${step} failed: ${why}`, { cause });
    this.name = "PolicySetupError";
    const code = (cause as { code?: unknown })?.code;
    this.code = typeof code === "string" ? code : "CLI_POLICY_SETUP";
  }
}

/** The target's load was denied by a BPF LSM program of a policy. */
export class BpfPolicyDeniedError extends Error {
  readonly code = "POLICY_DENIED";
  constructor(
    message: string,
    readonly errno: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "BpfPolicyDeniedError";
  }
}

export interface PolicyProgram {
  name: string;
  type: string;
  /** The attach point (`lsm/bpf_prog_load`), when the kernel could say (model). */
  hook: string | null;
  linkFd: number;
}

export interface AuditRecord {
  policy: string;
  map: string;
  /** The decoding type (`struct admission_record`), or null for hex. */
  type: string | null;
  fields: Record<string, number | string> | null;
  hex: string;
}

interface LoadedPolicy {
  file: string;
  loaded: LoadedSkeleton;
  links: AttachedLink[];
  programs: PolicyProgram[];
  rings: { map: string; rb: RingBufferConsumer; btf: Btf | null }[];
}

export interface Policies {
  readonly list: LoadedPolicy[];
  /** The BPF LSM of the model kernel (which program denied), or null on the host. */
  readonly bpfLsm: BpfLsm | null;
  audit(): AuditRecord[];
  dispose(): void;
}

/** The object's BTF, as the model kernel holds it for the policy's first program. */
function policyBtf(backend: BpfBackend, kernel: ModelKernel | null, progFd: number): Btf | null {
  if (!kernel) return null;
  const f = (backend as ModelProcess).file(progFd);
  const data = f?.kind === "prog" ? f.prog.aux.btf?.data : undefined;
  if (!data) return null;
  try {
    return Btf.parse(data, "policy BTF");
  } catch {
    return null;
  }
}

function loadOne(
  backend: BpfBackend,
  kernel: ModelKernel | null,
  file: string,
  keyringId: number,
  out: LoadedPolicy[],
): LoadedPolicy {
  const skel = (() => {
    try {
      return readSkeleton(file);
    } catch (e) {
      throw new PolicySetupError(file, "reading the skeleton", e);
    }
  })();
  let loaded: LoadedSkeleton;
  try {
    loaded = loadAndRun(backend, skel, { keyringId });
  } catch (e) {
    throw new PolicySetupError(file, "load", e);
  }
  const entry: LoadedPolicy = { file, loaded, links: [], programs: [], rings: [] };
  out.push(entry);
  const bpf = new Bpf(backend);
  for (const p of loaded.progs) {
    const info = bpf.progInfo(p.fd);
    try {
      const link = attachProgram(backend, p.name, p.fd, info.type);
      entry.links.push(link);
      const f = kernel ? (backend as ModelProcess).file(p.fd) : undefined;
      const target = f?.kind === "prog" ? f.prog.aux.attach : null;
      const hook = target
        ? `${info.type === ProgType.LSM ? "lsm" : "tracing"}/${target.point}`
        : null;
      entry.programs.push({
        name: p.name,
        type: enumName(ProgType, info.type),
        hook,
        linkFd: link.fd,
      });
    } catch (e) {
      throw new PolicySetupError(file, `attach of program '${p.name}'`, e);
    }
  }
  const btf = loaded.progs.length ? policyBtf(backend, kernel, loaded.progs[0].fd) : null;
  for (const m of loaded.maps) {
    const info = bpf.mapInfo(m.fd);
    if (info.type !== MapType.RINGBUF) continue;
    try {
      const rb = new RingBufferConsumer(backend, m.fd, info.max_entries);
      entry.rings.push({ map: m.name, rb, btf });
    } catch (e) {
      throw new PolicySetupError(file, `mapping ring buffer '${m.name}'`, e);
    }
  }
  return entry;
}

function parseInt64(s: string, what: string): bigint {
  if (!/^-?(0x[0-9a-fA-F]+|\d+)$/.test(s)) throw new UsageError(`${what}: '${s}' is not a number`);
  return s.startsWith("-") ? -BigInt(s.slice(1)) : BigInt(s);
}

function encodeInt(v: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let u = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

interface MapSpec {
  name: string;
  keyText: string;
  valueText?: string;
}

function parseMapSpec(spec: string): MapSpec {
  const m = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(spec);
  if (!m) throw new UsageError(`--policy-map wants MAP=KEY[:VALUE], not '${spec}'`);
  return { name: m[1], keyText: m[2], valueText: m[3] };
}

/** `--policy-map NAME=KEY[:VALUE]`: KEY/VALUE integers, or `session` (the session keyring). */
function fillMap(
  backend: BpfBackend,
  owner: LoadedPolicy,
  spec: string,
  { name, keyText, valueText }: MapSpec,
): void {
  const bpf = new Bpf(backend);
  const map = owner.loaded.maps.find((x) => x.name === name);
  if (!map) throw new UsageError(`--policy-map: no policy has a map named '${name}'`);
  const info = bpf.mapInfo(map.fd);
  const num = (t: string, what: string) =>
    t === "session" ? BigInt(bpf.keyringId(KeySpec.SESSION_KEYRING, true)) : parseInt64(t, what);
  const key = encodeInt(num(keyText, `--policy-map ${name} key`), info.key_size);
  const value = encodeInt(
    valueText === undefined ? 1n : num(valueText, `--policy-map ${name} value`),
    info.value_size,
  );
  try {
    bpf.mapUpdate(map.fd, key, value);
  } catch (e) {
    throw new PolicySetupError(owner.file, `filling map '${name}' (${spec})`, e);
  }
}

/** The record type for a ring buffer's record of `size` bytes, from the policy's BTF. */
function recordType(btf: Btf, size: number, ring: string): BtfType | null {
  const cands = btf.types.filter(
    (t) => t.kind === BTF_KIND.STRUCT && t.name !== "" && t.size === size,
  );
  if (cands.length <= 1) return cands[0] ?? null;
  const named = cands.filter((t) => /record|event/.test(t.name) || t.name.includes(ring));
  return named.length === 1 ? named[0] : null;
}

function decodeFields(btf: Btf, t: BtfType, b: Uint8Array): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  if (t.kind !== BTF_KIND.STRUCT) return out;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const m of t.members) {
    const off = m.bitOffset / 8;
    const mt = btf.skipModsAndTypedefs(m.type);
    const size = btf.resolveSize(m.type);
    if (m.bitfieldSize || off + size > b.length) continue;
    if (mt.kind === BTF_KIND.INT || mt.kind === BTF_KIND.ENUM) {
      const signed = mt.kind === BTF_KIND.INT ? (mt.encoding & 1) !== 0 : mt.signed;
      let v: number;
      if (size === 1) v = signed ? dv.getInt8(off) : dv.getUint8(off);
      else if (size === 2) v = signed ? dv.getInt16(off, true) : dv.getUint16(off, true);
      else if (size === 4) v = signed ? dv.getInt32(off, true) : dv.getUint32(off, true);
      else v = Number(signed ? dv.getBigInt64(off, true) : dv.getBigUint64(off, true));
      out[m.name] = v;
    } else {
      out[m.name] = Buffer.from(b.subarray(off, off + size)).toString("hex");
    }
  }
  return out;
}

/**
 * Loads and attaches each policy in order, filling the maps `--policy-map` names as soon as
 * their policy is in place (so a later policy's own load already sees them). Signed policy
 * skeletons are verified against `keyringId`, as the target is.
 */
export function loadPolicies(
  backend: BpfBackend,
  kernel: ModelKernel | null,
  files: readonly string[],
  maps: readonly string[],
  keyringId = 0,
): Policies {
  const list: LoadedPolicy[] = [];
  const dispose = () => {
    for (const p of list) {
      for (const r of p.rings) r.rb.close();
      for (const l of p.links) backend.close(l.fd);
      p.loaded.close();
    }
  };
  try {
    const pending = maps.map((spec) => ({ spec, map: parseMapSpec(spec), done: false }));
    for (const f of files) {
      const p = loadOne(backend, kernel, f, keyringId, list);
      for (const m of pending)
        if (!m.done && p.loaded.maps.some((x) => x.name === m.map.name)) {
          fillMap(backend, p, m.spec, m.map);
          m.done = true;
        }
    }
    const missing = pending.find((m) => !m.done);
    if (missing)
      throw new UsageError(`--policy-map: no policy has a map named '${missing.map.name}'`);
  } catch (e) {
    dispose();
    throw e;
  }
  const bpfLsm = (kernel?.lsm.bpfModule as BpfLsm | null) ?? null;
  if (bpfLsm) bpfLsm.lastDenial = null;
  return {
    list,
    bpfLsm,
    audit() {
      const out: AuditRecord[] = [];
      for (const p of list)
        for (const r of p.rings)
          for (const rec of r.rb.consume()) {
            const t = r.btf ? recordType(r.btf, rec.length, r.map) : null;
            out.push({
              policy: p.file,
              map: r.map,
              type: t ? `struct ${t.name}` : null,
              fields: t && r.btf ? decodeFields(r.btf, t, rec) : null,
              hex: Buffer.from(rec).toString("hex"),
            });
          }
      return out;
    },
    dispose,
  };
}

/** "denied: EPERM by program 'admit' at lsm/bpf_prog_load" for the model's last denial. */
export function describeDenial(
  p: Policies,
): { errno: number; text: string; program: string } | null {
  const d = p.bpfLsm?.lastDenial;
  if (!d) return null;
  const errno = -d.ret;
  return {
    errno,
    program: d.prog,
    text: `denied with ${errnoName(errno)} (${errno}) by program '${d.prog}' at lsm/${d.hook}`,
  };
}
