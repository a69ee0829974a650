/**
 * `bpfsign load`: runs a light skeleton's loader the way the skeleton's `__load()` does
 * (bpf_load_and_run) on the model kernel (default) or the host kernel, then reports the verdict
 * the kernel recorded for the loader and every map and program it installed. `--run` runs each
 * installed socket filter once on a 64-byte packet. `--policy-file P.pol` installs the load
 * policy as an LSM module of the model kernel (lsm/policy_module.ts) beside the verdict recorder:
 * its audit records are printed, and a load it refuses exits with POLICY_DENIED (5).
 */
import type { ModelKernel } from "../../kernel/kernel.js";
import { describeInstalled, type Installed } from "../../loader/installed.js";
import { type LoadedSkeleton, loadAndRun } from "../../loader/load_and_run.js";
import type { DirectObjectLoad } from "../../loader/object_load.js";
import type { PolicyModule } from "../../lsm/policy_module.js";
import { type RecordedVerdict, VerdictRecorder } from "../../lsm/verdict_recorder.js";
import type { Policy } from "../../policy/model.js";
import type { SchemeName } from "../../scheme/types.js";
import type { BpfBackend } from "../../uapi/backend.js";
import { Bpf } from "../../uapi/bpf.js";
import { KeySpec } from "../../uapi/constants.js";
import { createModelKernel } from "../../vm/index.js";
import { UsageError } from "../errors.js";
import type { CliOutcome } from "../exit.js";
import { readCertificate } from "../inputs.js";
import { readInput } from "../io.js";
import { parseLoadKeyring, type SystemKeyring } from "../keyring_option.js";
import { machineFacts } from "../machine_facts.js";
import { type CliIo, printFields, printJson } from "../output.js";
import { parseScheme } from "../scheme_option.js";
import { parseSkeletonBytes } from "../skeleton_input.js";
import type { AuditRecord, Policies } from "./load_policy.js";

export interface LoadOptions {
  cert: string[];
  /** builtin, secondary, platform, user (the session keyring) or a keyring_id number. */
  keyring?: string;
  /** BPF LSM policy skeletons loaded and attached before the target (model backend). */
  policy?: string[];
  /** MAP=KEY[:VALUE] entries for the policies' maps. */
  policyMap?: string[];
  backend: string;
  run?: boolean;
  policyFile?: string;
  /** v2 (default), kfunc or hornet: the model kernel runs that design's profile. */
  scheme?: string;
  json?: boolean;
}

interface Session {
  backend: BpfBackend;
  /** The model kernel (null on the host). */
  kernel: ModelKernel | null;
  recorder: VerdictRecorder | null;
  policy: PolicyModule | null;
  /** The last report to the post-integrity hook for a user load ("lsm:VERDICT"), model only. */
  integrity: () => string | null;
  dispose(): void;
}

async function openBackend(
  kind: string,
  policy: Policy | null,
  scheme: SchemeName,
): Promise<Session> {
  if (kind === "model") {
    const kernel = createModelKernel({ profile: scheme });
    const recorder = new VerdictRecorder(kernel.lsm);
    let last: string | null = null;
    const off = kernel.lsm.register({
      name: "integrity-recorder",
      bpf_prog_load_post_integrity: (rec) => {
        if (!rec.kernel) last = `${rec.lsmId}:${rec.verdict}`;
        return 0;
      },
    });
    const module = policy
      ? new (await import("../../lsm/policy_module.js")).PolicyModule(policy).install(kernel.lsm)
      : null;
    return {
      backend: kernel.spawn(),
      kernel,
      recorder,
      policy: module,
      integrity: () => last,
      dispose: () => {
        module?.dispose();
        off();
        recorder.dispose();
      },
    };
  }
  if (kind === "host") {
    if (policy)
      throw new UsageError(
        "--policy-file runs the policy on the model kernel: use --backend model",
      );
    if (scheme !== "v2") throw new UsageError(`--scheme ${scheme} runs on the model kernel only`);
    const backend = new (await import("../../host/backend.js")).HostBackend();
    return {
      backend,
      kernel: null,
      recorder: null,
      policy: null,
      integrity: () => null,
      dispose: () => backend.dispose(),
    };
  }
  throw new UsageError(`--backend must be 'model' or 'host', not '${kind}'`);
}

/** A 64-byte packet for socket filters: a zeroed Ethernet/IPv4 frame shape. */
const TEST_PACKET = new Uint8Array(64).map((_, i) => (i === 12 ? 0x08 : 0));

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export async function runLoad(io: CliIo, file: string, o: LoadOptions): Promise<CliOutcome> {
  const bytes = readInput(file, "light skeleton or BPF object");
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) return loadObjectDirect(io, file, bytes, o);
  const skel = parseSkeletonBytes(bytes, file);
  const certs = o.cert.map(readCertificate);
  const keyring = parseKeyringOption(o.keyring, certs.length > 0);
  const keyringId = keyring.id;
  const policy = o.policyFile
    ? (await import("../policy_input.js")).readPolicy(o.policyFile)
    : null;
  const bpfPolicies = o.policy ?? [];
  if ((bpfPolicies.length || o.policyMap?.length) && o.backend !== "model")
    throw new UsageError("--policy runs BPF LSM policies on the model kernel: use --backend model");
  if (o.policyMap?.length && !bpfPolicies.length)
    throw new UsageError("--policy-map fills the maps of a --policy skeleton: give one");
  const s = await openBackend(o.backend, policy, parseScheme(o.scheme));
  let loaded: LoadedSkeleton | null = null;
  let policies: Policies | null = null;
  try {
    const bpf = new Bpf(s.backend);
    if (certs.length) {
      if (keyring.system) {
        if (!s.kernel)
          throw new UsageError(
            `--keyring ${o.keyring} trusts the certificates on the model kernel only`,
          );
        for (const c of certs) {
          const r = s.kernel.keyrings.trustSystemCertificate(keyring.system, c.der);
          if ("errno" in r)
            throw new UsageError(
              `--cert not accepted by the ${keyring.system} keyring: ${r.reason}`,
            );
        }
      } else {
        bpf.keyringId(KeySpec.SESSION_KEYRING, true);
        for (const c of certs) bpf.addKey("asymmetric", "", c.der, KeySpec.SESSION_KEYRING);
      }
    }
    if (keyring.id === KeySpec.SESSION_KEYRING) bpf.keyringId(KeySpec.SESSION_KEYRING, true);
    if (bpfPolicies.length) {
      const { loadPolicies } = await import("./load_policy.js");
      policies = loadPolicies(s.backend, s.kernel, bpfPolicies, o.policyMap ?? [], keyringId);
    }
    try {
      loaded = loadAndRun(s.backend, skel, { keyringId, log: { level: 1, size: 1 << 16 } });
    } catch (e) {
      const denied = s.policy?.records.find((r) => r.enforcing && r.decision.action === "DENY");
      if (s.policy && !o.json) for (const r of s.policy.records) io.stderr(`policy: ${r.text}\n`);
      if (denied) {
        const { PolicyDeniedError } = await import("../../lsm/policy_module.js");
        throw new PolicyDeniedError(denied, { cause: e });
      }
      if (policies) {
        const { describeDenial, BpfPolicyDeniedError } = await import("./load_policy.js");
        const d = describeDenial(policies);
        const audit = policies.audit();
        if (o.json)
          printJson(io, {
            source: file,
            backend: s.backend.kind,
            decision: d ? { admitted: false, errno: d.errno, program: d.program } : null,
            audit,
          });
        else for (const a of audit) io.stderr(`audit ${formatAudit(a)}\n`);
        if (d) throw new BpfPolicyDeniedError(`${file}: ${d.text}`, d.errno, { cause: e });
      }
      throw e;
    }
    const policyRecords = s.policy?.records ?? [];
    const audit = policies?.audit() ?? [];
    const bpfPolicyInfo = policies?.list.map((p) => ({ file: p.file, programs: p.programs })) ?? [];
    const verdict: RecordedVerdict | null = s.recorder?.last("__loader.prog") ?? null;
    const installed: Installed = describeInstalled(s.backend, loaded);
    const runs = o.run ? runSocketFilters(bpf, loaded.progs, installed) : [];
    if (o.json)
      printJson(io, {
        source: file,
        backend: s.backend.kind,
        signed: skel.signature !== null,
        keyring_id: keyringId,
        verdict: verdict?.verdict ?? null,
        keyring_type: verdict?.keyring_type ?? null,
        keyring_serial: verdict?.keyring_serial ?? null,
        integrity: s.integrity(),
        ...installed,
        runs,
        ...(s.policy ? { policy: policyRecords.map((r) => r.text) } : {}),
        ...(policies ? { policies: bpfPolicyInfo, decision: { admitted: true }, audit } : {}),
      });
    else {
      printFields(io, [
        ["loaded", `${file} on the ${s.backend.kind} kernel`],
        [
          "verdict",
          verdict
            ? `${verdict.verdict} (keyring ${verdict.keyring_type}, serial ${verdict.keyring_serial})`
            : "not reported by this backend",
        ],
        ["post-integrity", s.integrity() ?? "no report"],
        ...(policies ? ([["decision", "admitted by every policy"]] as [string, string][]) : []),
      ]);
      for (const p of bpfPolicyInfo)
        for (const g of p.programs)
          io.stdout(
            `policy ${p.file}: program ${g.name} (${g.type}) attached at ${g.hook ?? "?"}\n`,
          );
      printInstalled(io, installed, runs);
      for (const r of policyRecords) io.stdout(`policy ${r.text}\n`);
      for (const a of audit) io.stdout(`audit ${formatAudit(a)}\n`);
    }
    return { kind: "ok" };
  } finally {
    loaded?.close();
    policies?.dispose();
    s.dispose();
  }
}

/** One audit record: the policy's ring buffer, the decoded fields (or hex). */
function formatAudit(a: AuditRecord): string {
  const body = a.fields
    ? `${a.type} { ${Object.entries(a.fields)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")} }`
    : a.hex;
  return `${a.policy} ${a.map}: ${body}`;
}

/**
 * `--keyring`: a system keyring by name (the certificates are trusted there, model only), `user`
 * (the session keyring), or a keyring_id number (parseLoadKeyring). Default: the session keyring
 * with --cert, else 0.
 */
function parseKeyringOption(
  v: string | undefined,
  haveCerts: boolean,
): { id: number; system: SystemKeyring | null } {
  if (v === undefined) return { id: haveCerts ? KeySpec.SESSION_KEYRING : 0, system: null };
  return parseLoadKeyring(v);
}

/**
 * `bpfsign load OBJ.bpf.o`: the object's maps and programs loaded straight into the kernel by
 * the load walker (no loader program, no signature). On the host, attach targets and ksyms are
 * looked up in the running kernel's BTF and kallsyms; on the model in its vmlinux BTF and symbol
 * table (src/kernel/model_symbols.ts).
 */
async function loadObjectDirect(
  io: CliIo,
  file: string,
  bytes: Uint8Array,
  o: LoadOptions,
): Promise<CliOutcome> {
  if (o.cert.length || o.keyring !== undefined || o.policyFile || o.scheme !== undefined)
    throw new UsageError(
      "--cert, --keyring, --policy-file and --scheme apply to light skeletons, not objects",
    );
  const s = await openBackend(o.backend, null, "v2");
  let loaded: DirectObjectLoad | null = null;
  try {
    const { loadObjectFile } = await import("../../loader/object_load.js");
    const facts = machineFacts({});
    const symbols = s.kernel
      ? (await import("../../kernel/model_symbols.js")).modelKernelSymbols(s.kernel.profile)
      : (await import("../../host/kernel_symbols.js")).hostKernelSymbols();
    loaded = loadObjectFile(s.backend, bytes, file, { facts, symbols, logSize: 1 << 16 });
    const installed = describeInstalled(s.backend, loaded);
    const runs = o.run ? runSocketFilters(new Bpf(s.backend), loaded.progs, installed) : [];
    if (o.json) printJson(io, { source: file, backend: s.backend.kind, ...installed, runs });
    else {
      printFields(io, [["loaded", `${file} directly on the ${s.backend.kind} kernel`]]);
      printInstalled(io, installed, runs);
    }
    return { kind: "ok" };
  } finally {
    loaded?.close();
    s.dispose();
  }
}

/** `--run`: each installed socket filter once on TEST_PACKET. */
function runSocketFilters(
  bpf: Bpf,
  progs: readonly { name: string; fd: number }[],
  installed: Installed,
): { prog: string; retval: number }[] {
  return progs
    .filter((_, i) => installed.progs[i].type === "SOCKET_FILTER")
    .map((p) => ({
      prog: p.name,
      retval: bpf.progTestRun({ prog_fd: p.fd, data_in: TEST_PACKET }).retval,
    }));
}

function printInstalled(
  io: CliIo,
  installed: Installed,
  runs: readonly { prog: string; retval: number }[],
): void {
  for (const m of installed.maps)
    io.stdout(
      `map  ${m.name.padEnd(16)} ${m.type.padEnd(14)} key ${m.key_size} value ${m.value_size} max_entries ${m.max_entries} flags 0x${m.map_flags.toString(16)}\n`,
    );
  for (const p of installed.progs)
    io.stdout(`prog ${p.name.padEnd(16)} ${p.type.padEnd(14)} ${p.insn_cnt} insns tag ${p.tag}\n`);
  for (const r of runs)
    io.stdout(
      `run  ${r.prog.padEnd(16)} retval ${r.retval} (0x${(r.retval >>> 0).toString(16)})\n`,
    );
}
