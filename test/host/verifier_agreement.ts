/**
 * Verifier agreement, model vs this machine's kernel: random programs (verifier_progen.ts)
 * loaded as socket filters and sched_cls programs on both, comparing accept/reject and, where
 * both refuse, the first error line (the log's last line before the statistics, numbers
 * kept), and the processed count where both accept.
 * `node dist/test/host/verifier_agreement.js [count] [seed]` prints the figures.
 */
import { HostBackend } from "../../src/host/backend.js";
import type { BpfBackend } from "../../src/uapi/backend.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, MapType, ProgType } from "../../src/uapi/constants.js";
import { BpfError } from "../../src/uapi/errno.js";
import { createModelKernel } from "../../src/vm/index.js";
import {
  CLASSES,
  materialise,
  type ProgramClass,
  programClass,
  type RandomProgram,
  randomProgram,
} from "./verifier_progen.js";

export interface LoadOutcome {
  readonly ok: boolean;
  readonly errno: string;
  /** The error line (refusals) or the processed count (acceptances). */
  readonly line: string;
  readonly processed: number;
}

/** The error line of a refusal's log: the last line before "processed N insns". */
export function errorLine(log: string): string {
  const lines = log.split("\n").filter((l) => l.length);
  const at = lines.findIndex((l) => l.startsWith("processed "));
  const before = at >= 0 ? lines.slice(0, at) : lines;
  return before[before.length - 1] ?? "";
}

function processed(log: string): number {
  const m = /processed (\d+) insns/.exec(log);
  return m ? Number(m[1]) : -1;
}

export class Loader {
  private readonly bpf: Bpf;
  private readonly mapFd: number;
  constructor(readonly backend: BpfBackend) {
    this.bpf = new Bpf(backend);
    this.mapFd = this.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 16,
      max_entries: 1,
      map_name: "agree",
    });
  }
  load(p: RandomProgram): LoadOutcome {
    try {
      const r = this.bpf.progLoad({
        prog_type: p.progType,
        insns: materialise(p, this.mapFd),
        log_size: 1 << 16,
        log_level: 1,
        prog_flags: p.progType === ProgType.SYSCALL ? BPF_F_SLEEPABLE : 0,
      });
      this.backend.close(r.fd);
      return { ok: true, errno: "", line: "", processed: processed(r.log) };
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      return { ok: false, errno: e.errnoName, line: errorLine(e.log), processed: processed(e.log) };
    }
  }
}

export interface AgreementReport {
  count: number;
  agree: number;
  bothRefuse: number;
  sameLine: number;
  bothAccept: number;
  sameProcessed: number;
  hostRefused: number;
  /** Programs the model accepted and the host refused (must be none). */
  modelTooLenient: { seed: number; host: LoadOutcome }[];
  modelTooStrict: { seed: number; model: LoadOutcome }[];
  lineMismatch: { seed: number; host: string; model: string }[];
  /** Per program class: [programs, accept/reject agreements, host refusals]. */
  byClass: Record<ProgramClass, [number, number, number]>;
}

export function agreement(
  count: number,
  firstSeed = 1,
  model: BpfBackend = createModelKernel({ profile: "mainline-6.18" }).spawn(),
): AgreementReport {
  const host = new HostBackend();
  const h = new Loader(host);
  const m = new Loader(model);
  const rep: AgreementReport = {
    count,
    agree: 0,
    bothRefuse: 0,
    sameLine: 0,
    bothAccept: 0,
    sameProcessed: 0,
    hostRefused: 0,
    modelTooLenient: [],
    modelTooStrict: [],
    lineMismatch: [],
    byClass: Object.fromEntries(CLASSES.map((c) => [c, [0, 0, 0]])) as Record<
      ProgramClass,
      [number, number, number]
    >,
  };
  try {
    for (let i = 0; i < count; i++) {
      const p = randomProgram(firstSeed + i);
      const a = h.load(p);
      const b = m.load(p);
      const c = rep.byClass[programClass(p.seed)];
      c[0]++;
      if (!a.ok) {
        rep.hostRefused++;
        c[2]++;
      }
      if (a.ok === b.ok) {
        rep.agree++;
        c[1]++;
      }
      if (a.ok && !b.ok) rep.modelTooStrict.push({ seed: p.seed, model: b });
      if (!a.ok && b.ok) rep.modelTooLenient.push({ seed: p.seed, host: a });
      if (!a.ok && !b.ok) {
        rep.bothRefuse++;
        if (a.line === b.line) rep.sameLine++;
        else rep.lineMismatch.push({ seed: p.seed, host: a.line, model: b.line });
      }
      if (a.ok && b.ok) {
        rep.bothAccept++;
        if (a.processed === b.processed) rep.sameProcessed++;
      }
    }
  } finally {
    host.dispose();
  }
  return rep;
}

const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) : "-");

export function describe(r: AgreementReport): string[] {
  return [
    `programs ${r.count}, host refused ${r.hostRefused} (${pct(r.hostRefused, r.count)}%)`,
    `accept/reject agreement ${r.agree}/${r.count} (${pct(r.agree, r.count)}%)`,
    `both refuse ${r.bothRefuse}, same first error line ${r.sameLine} (${pct(r.sameLine, r.bothRefuse)}%)`,
    `both accept ${r.bothAccept}, same processed count ${r.sameProcessed} (${pct(r.sameProcessed, r.bothAccept)}%)`,
    `model accepted, host refused: ${r.modelTooLenient.length}; model refused, host accepted: ${r.modelTooStrict.length}`,
    `by class (agree/programs, host refused): ${CLASSES.map((c) => `${c} ${r.byClass[c][1]}/${r.byClass[c][0]} (${r.byClass[c][2]})`).join(", ")}`,
  ];
}

if (process.argv[1]?.endsWith("verifier_agreement.js")) {
  const count = Number(process.argv[2] ?? 2000);
  const seed = Number(process.argv[3] ?? 1);
  const r = agreement(count, seed);
  for (const l of describe(r)) console.log(l);
  if (process.env.VERBOSE) {
    for (const x of r.modelTooLenient) console.log(`lenient seed ${x.seed}: host ${x.host.line}`);
    for (const x of r.modelTooStrict) console.log(`strict seed ${x.seed}: model ${x.model.line}`);
    const counts = new Map<string, number>();
    for (const x of r.lineMismatch) {
      const k = `host: ${x.host.replace(/\d+/g, "N")} | model: ${x.model.replace(/\d+/g, "N")}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const x of r.lineMismatch.slice(0, 8))
      console.log(`seed ${x.seed}: host ${x.host} | model ${x.model}`);
    for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 30))
      console.log(`${v} ${k}`);
  }
}
