/**
 * The cost of one admission decision: the design document's admission policy as a BPF LSM
 * program (bpf/policy/admit.bpf.c, run by the interpreter at security_bpf_prog_load) next to the
 * same policy as a TypeScript LSM module, called the same way in this run; and a whole refused
 * BPF_PROG_LOAD with each.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { genSkeleton } from "../src/gen/skeleton.js";
import type { ModelKernel } from "../src/kernel/kernel.js";
import type { LsmModule } from "../src/kernel/lsm.js";
import { BpfProg } from "../src/kernel/prog.js";
import { attachProgram } from "../src/loader/attach.js";
import { loadAndRun } from "../src/loader/load_and_run.js";
import { RingBufferConsumer } from "../src/loader/ringbuf.js";
import { Bpf } from "../src/uapi/bpf.js";
import { ProgType, SigKeyring, SigVerdict } from "../src/uapi/constants.js";
import { Errno } from "../src/uapi/errno.js";
import { decode, ProgLoadAttr } from "../src/uapi/layout.js";
import { createModelKernel } from "../src/vm/index.js";
import { median, ratio, row, timeMs } from "./util.js";

const us = (x: number) => `${(x * 1000).toFixed(2)} µs`;

const ROOT = join(import.meta.dirname, "..", "..");
const RET0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

/** The admission policy in TypeScript (what test/kernel/policies.ts stands in with). */
class TsAdmission implements LsmModule {
  readonly name = "ts-admit";
  readonly allowed = new Set<number>();
  readonly audit: number[][] = [];
  bpf_prog_load(prog: BpfProg, attr: { prog_type: number }, _t: null, kernel: boolean): number {
    const { verdict, keyring_type: ktype, keyring_serial: serial } = prog.aux.sig;
    if (kernel) return 0;
    let ret = 0;
    if (verdict !== SigVerdict.VERIFIED) ret = -Errno.EPERM;
    else if (ktype === SigKeyring.USER && !this.allowed.has(serial)) ret = -Errno.EPERM;
    this.audit.push([attr.prog_type, verdict, ktype, serial, ret]);
    if (this.audit.length > 4096) this.audit.length = 0;
    return ret;
  }
}

function bpfPolicyKernel(): { kernel: ModelKernel; drain: () => void } {
  const kernel = createModelKernel();
  const proc = kernel.spawn();
  const obj = new Uint8Array(readFileSync(join(ROOT, "test/fixtures/policy/admit.bpf.o")));
  const g = genSkeleton(obj, "admit.bpf.o");
  const loaded = loadAndRun(proc, {
    insns: g.insns,
    data: g.data,
    signature: null,
    exclHash: null,
    maps: g.object.maps.map((m) => ({ name: m.name, mmap: null })),
    progs: g.object.programs.map((p) => ({ name: p.name })),
  });
  for (const p of loaded.progs) attachProgram(proc, p.name, p.fd, ProgType.LSM);
  const audit = loaded.maps.find((m) => m.name === "audit");
  if (!audit) throw new Error("admit.bpf.o has no audit map");
  const rb = new RingBufferConsumer(proc, audit.fd, 1 << 16);
  return { kernel, drain: () => void rb.consume() };
}

export function run(): void {
  const runs = 2000;
  const attr = { ...decode(ProgLoadAttr, new Uint8Array(168)), prog_type: ProgType.SOCKET_FILTER };
  const prog = new BpfProg(ProgType.SOCKET_FILTER, 0, RET0, false, true, "GPL");
  prog.aux.sig = { verdict: SigVerdict.VERIFIED, keyring_type: SigKeyring.USER, keyring_serial: 7 };

  const b = bpfPolicyKernel();
  const ts = createModelKernel();
  ts.lsm.register(new TsAdmission());

  const decide = (k: ModelKernel, drain?: () => void) => {
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      t.push(timeMs(() => k.lsm.bpf_prog_load(prog, attr, false)));
      drain?.();
    }
    return median(t);
  };
  const refusedLoad = (k: ModelKernel, drain?: () => void) => {
    const bpf = new Bpf(k.spawn());
    const t: number[] = [];
    for (let i = 0; i < runs / 4; i++) {
      t.push(
        timeMs(() => {
          try {
            bpf.progLoad({ prog_type: ProgType.SOCKET_FILTER, insns: RET0, license: "GPL" });
          } catch {}
        }),
      );
      drain?.();
    }
    return median(t);
  };
  decide(b.kernel, b.drain);
  decide(ts);
  const dB = decide(b.kernel, b.drain);
  const dT = decide(ts);
  const lB = refusedLoad(b.kernel, b.drain);
  const lT = refusedLoad(ts);
  const w = [44, 12, 12, 8];
  console.log(row(["admission decision (median)", "BPF policy", "TS module", "ratio"], w));
  console.log(row(["security_bpf_prog_load(), one call", us(dB), us(dT), ratio(dB, dT)], w));
  console.log(row(["unsigned BPF_PROG_LOAD refused (EPERM)", us(lB), us(lT), ratio(lB, lT)], w));
  console.log(
    "per call the BPF policy maps images of the prog, its aux and the attr, runs admit.bpf.o's program (47 insns) on the interpreter, looks up the allowlist and writes a ring buffer record",
  );
}
