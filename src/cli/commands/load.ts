/**
 * `bpfsign load`: runs a light skeleton's loader the way the skeleton's `__load()` does
 * (bpf_load_and_run) on the model kernel (default) or the host kernel, then reports the verdict
 * the kernel recorded for the loader and every map and program it installed. `--run` runs each
 * installed socket filter once on a 64-byte packet. `--policy-file P.pol` installs the load
 * policy as an LSM module of the model kernel (lsm/policy_module.ts) beside the verdict recorder:
 * its audit records are printed, and a load it refuses exits with POLICY_DENIED (5).
 */
import { HostBackend } from "../../host/backend.js";
import { describeInstalled, type Installed } from "../../loader/installed.js";
import { type LoadedSkeleton, loadAndRun } from "../../loader/load_and_run.js";
import { type DirectObjectLoad, loadObjectFile } from "../../loader/object_load.js";
import { PolicyDeniedError, PolicyModule } from "../../lsm/policy_module.js";
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
import { hostKernelSymbols } from "../kernel_symbols.js";
import { machineFacts } from "../machine_facts.js";
import { type CliIo, printFields, printJson } from "../output.js";
import { parseScheme } from "../scheme_option.js";
import { readSkeleton } from "../skeleton_input.js";

export interface LoadOptions {
  cert: string[];
  keyring?: string;
  backend: string;
  run?: boolean;
  policyFile?: string;
  /** v2 (default), kfunc or hornet: the model kernel runs that design's profile. */
  scheme?: string;
  json?: boolean;
}

interface Session {
  backend: BpfBackend;
  recorder: VerdictRecorder | null;
  policy: PolicyModule | null;
  /** The last report to the post-integrity hook for a user load ("lsm:VERDICT"), model only. */
  integrity: () => string | null;
  dispose(): void;
}

function openBackend(kind: string, policy: Policy | null, scheme: SchemeName): Session {
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
    const module = policy ? new PolicyModule(policy).install(kernel.lsm) : null;
    return {
      backend: kernel.spawn(),
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
    const backend = new HostBackend();
    return {
      backend,
      recorder: null,
      policy: null,
      integrity: () => null,
      dispose: () => backend.dispose(),
    };
  }
  throw new UsageError(`--backend must be 'model' or 'host', not '${kind}'`);
}

/** A 64-byte packet for socket filters: a zeroed Ethernet/IPv4 frame shape. */
export const TEST_PACKET = new Uint8Array(64).map((_, i) => (i === 12 ? 0x08 : 0));

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export async function runLoad(io: CliIo, file: string, o: LoadOptions): Promise<CliOutcome> {
  const bytes = readInput(file, "light skeleton or BPF object");
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) return loadObjectDirect(io, file, bytes, o);
  const skel = readSkeleton(file);
  const certs = o.cert.map(readCertificate);
  let keyringId = certs.length ? KeySpec.SESSION_KEYRING : 0;
  if (o.keyring !== undefined) {
    keyringId = Number(o.keyring);
    if (!Number.isInteger(keyringId))
      throw new UsageError(`--keyring must be an integer key serial, not '${o.keyring}'`);
  }
  const policy = o.policyFile ? (await import("./audit.js")).readPolicy(o.policyFile) : null;
  const s = openBackend(o.backend, policy, parseScheme(o.scheme));
  let loaded: LoadedSkeleton | null = null;
  try {
    const bpf = new Bpf(s.backend);
    if (certs.length) {
      bpf.keyringId(KeySpec.SESSION_KEYRING, true);
      for (const c of certs) bpf.addKey("asymmetric", "", c.der, KeySpec.SESSION_KEYRING);
    }
    try {
      loaded = loadAndRun(s.backend, skel, { keyringId, log: { level: 1, size: 1 << 16 } });
    } catch (e) {
      const denied = s.policy?.records.find((r) => r.enforcing && r.decision.action === "DENY");
      if (s.policy && !o.json) for (const r of s.policy.records) io.stderr(`policy: ${r.text}\n`);
      if (denied) throw new PolicyDeniedError(denied, { cause: e });
      throw e;
    }
    const policyRecords = s.policy?.records ?? [];
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
      ]);
      printInstalled(io, installed, runs);
      for (const r of policyRecords) io.stdout(`policy ${r.text}\n`);
    }
    return { kind: "ok" };
  } finally {
    loaded?.close();
    s.dispose();
  }
}

/**
 * `bpfsign load OBJ.bpf.o`: the object's maps and programs loaded straight into the kernel by
 * the load walker (no loader program, no signature). On the host, attach targets and ksyms are
 * looked up in the running kernel's BTF and kallsyms; the model has no kernel BTF yet, so objects
 * that need one are refused with LOAD_NO_KERNEL_BTF.
 */
async function loadObjectDirect(
  io: CliIo,
  file: string,
  bytes: Uint8Array,
  o: LoadOptions,
): Promise<CliOutcome> {
  if (o.cert.length || o.keyring !== undefined || o.policyFile)
    throw new UsageError(
      "--cert, --keyring and --policy-file apply to light skeletons, not objects",
    );
  const s = openBackend(o.backend, null, "v2");
  let loaded: DirectObjectLoad | null = null;
  try {
    loaded = loadObjectFile(s.backend, bytes, file, {
      facts: machineFacts({}),
      symbols: s.backend.kind === "host" ? hostKernelSymbols() : undefined,
      logSize: 1 << 16,
    });
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
