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
import { PolicyDeniedError, PolicyModule } from "../../lsm/policy_module.js";
import { type RecordedVerdict, VerdictRecorder } from "../../lsm/verdict_recorder.js";
import type { Policy } from "../../policy/model.js";
import type { BpfBackend } from "../../uapi/backend.js";
import { Bpf } from "../../uapi/bpf.js";
import { KeySpec } from "../../uapi/constants.js";
import { createModelKernel } from "../../vm/index.js";
import { UsageError } from "../errors.js";
import type { CliOutcome } from "../exit.js";
import { readCertificate } from "../inputs.js";
import { type CliIo, printFields, printJson } from "../output.js";
import { readSkeleton } from "../skeleton_input.js";

export interface LoadOptions {
  cert: string[];
  keyring?: string;
  backend: string;
  run?: boolean;
  policyFile?: string;
  json?: boolean;
}

interface Session {
  backend: BpfBackend;
  recorder: VerdictRecorder | null;
  policy: PolicyModule | null;
  dispose(): void;
}

function openBackend(kind: string, policy: Policy | null): Session {
  if (kind === "model") {
    const kernel = createModelKernel({ profile: "v2" });
    const recorder = new VerdictRecorder(kernel.lsm);
    const module = policy ? new PolicyModule(policy).install(kernel.lsm) : null;
    return {
      backend: kernel.spawn(),
      recorder,
      policy: module,
      dispose: () => {
        module?.dispose();
        recorder.dispose();
      },
    };
  }
  if (kind === "host") {
    if (policy)
      throw new UsageError(
        "--policy-file runs the policy on the model kernel: use --backend model",
      );
    const backend = new HostBackend();
    return { backend, recorder: null, policy: null, dispose: () => backend.dispose() };
  }
  throw new UsageError(`--backend must be 'model' or 'host', not '${kind}'`);
}

/** A 64-byte packet for socket filters: a zeroed Ethernet/IPv4 frame shape. */
export const TEST_PACKET = new Uint8Array(64).map((_, i) => (i === 12 ? 0x08 : 0));

export async function runLoad(io: CliIo, file: string, o: LoadOptions): Promise<CliOutcome> {
  const skel = readSkeleton(file);
  const certs = o.cert.map(readCertificate);
  let keyringId = certs.length ? KeySpec.SESSION_KEYRING : 0;
  if (o.keyring !== undefined) {
    keyringId = Number(o.keyring);
    if (!Number.isInteger(keyringId))
      throw new UsageError(`--keyring must be an integer key serial, not '${o.keyring}'`);
  }
  const policy = o.policyFile ? (await import("./audit.js")).readPolicy(o.policyFile) : null;
  const s = openBackend(o.backend, policy);
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
    const runs = o.run
      ? loaded.progs
          .filter((_, i) => installed.progs[i].type === "SOCKET_FILTER")
          .map((p) => ({
            prog: p.name,
            retval: bpf.progTestRun({ prog_fd: p.fd, data_in: TEST_PACKET }).retval,
          }))
      : [];
    if (o.json)
      printJson(io, {
        source: file,
        backend: s.backend.kind,
        signed: skel.signature !== null,
        keyring_id: keyringId,
        verdict: verdict?.verdict ?? null,
        keyring_type: verdict?.keyring_type ?? null,
        keyring_serial: verdict?.keyring_serial ?? null,
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
      ]);
      for (const m of installed.maps)
        io.stdout(
          `map  ${m.name.padEnd(16)} ${m.type.padEnd(14)} key ${m.key_size} value ${m.value_size} max_entries ${m.max_entries} flags 0x${m.map_flags.toString(16)}\n`,
        );
      for (const p of installed.progs)
        io.stdout(
          `prog ${p.name.padEnd(16)} ${p.type.padEnd(14)} ${p.insn_cnt} insns tag ${p.tag}\n`,
        );
      for (const r of policyRecords) io.stdout(`policy ${r.text}\n`);
      for (const r of runs)
        io.stdout(
          `run  ${r.prog.padEnd(16)} retval ${r.retval} (0x${(r.retval >>> 0).toString(16)})\n`,
        );
    }
    return { kind: "ok" };
  } finally {
    loaded?.close();
    s.dispose();
  }
}
