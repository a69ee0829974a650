/**
 * Verification time: BPF_PROG_LOAD of the same programs on the model kernel (structural checks
 * plus do_check) and on this machine's kernel, medians over several loads in this run, with
 * both processed-instruction counts. Programs: a 2-instruction filter, a map lookup with a null
 * check, 1 200 straight-line instructions, and 1 000+ instructions of branches and stack work.
 */
import { HostBackend } from "../src/host/backend.js";
import { probeHost } from "../src/host/probe.js";
import {
  AluOp,
  alu64Imm,
  call,
  encodeInsns,
  exit,
  type Insn,
  JmpOp,
  jmpImm,
  ldMapFd,
  ldxMem,
  mov64Imm,
  mov64Reg,
  Size,
  stMem,
  stxMem,
} from "../src/insn/index.js";
import type { BpfBackend } from "../src/uapi/backend.js";
import { Bpf } from "../src/uapi/bpf.js";
import { MapType, ProgType } from "../src/uapi/constants.js";
import { createModelKernel } from "../src/vm/index.js";
import { medianMs, ms, row } from "./util.js";

const MAP = -1;

function programs(): { name: string; insns: Insn[] }[] {
  const straight: Insn[] = [mov64Imm(0, 0)];
  for (let i = 0; i < 1200; i++) straight.push(alu64Imm(AluOp.ADD, 0, i & 7));
  straight.push(exit());
  const branchy: Insn[] = [call(7), mov64Reg(6, 0), mov64Imm(0, 0)];
  for (let i = 0; i < 125; i++) {
    branchy.push(
      jmpImm(JmpOp.JGT, 6, i * 3, 2),
      stxMem(Size.DW, 10, 6, -8 * (1 + (i % 8))),
      ldxMem(Size.DW, 7, 10, -8 * (1 + (i % 8))),
      alu64Imm(AluOp.ADD, 0, 1),
      stMem(Size.DW, 10, -64, i),
      mov64Imm(1, i),
      alu64Imm(AluOp.AND, 1, 15),
      mov64Reg(2, 1),
    );
  }
  branchy.push(exit());
  return [
    { name: "r0 = 0; exit", insns: [mov64Imm(0, 0), exit()] },
    {
      name: "map lookup + null check",
      insns: [
        stMem(Size.W, 10, -4, 0),
        ...ldMapFd(1, MAP),
        mov64Reg(2, 10),
        alu64Imm(AluOp.ADD, 2, -4),
        call(1),
        jmpImm(JmpOp.JEQ, 0, 0, 1),
        ldxMem(Size.DW, 0, 0, 0),
        mov64Imm(0, 0),
        exit(),
      ],
    },
    { name: "1 200 straight-line insns", insns: straight },
    { name: `${branchy.length} insns, 125 branches`, insns: branchy },
  ];
}

function loader(backend: BpfBackend) {
  const bpf = new Bpf(backend);
  const map = bpf.mapCreate({ map_type: MapType.HASH, key_size: 4, value_size: 8, max_entries: 4 });
  const bytes = (insns: Insn[]) =>
    encodeInsns(
      insns.map((i) => (i.code === 0x18 && i.src === 1 && i.imm === MAP ? { ...i, imm: map } : i)),
    );
  return {
    load(insns: Insn[]): { ms: number; processed: string } {
      const code = bytes(insns);
      let processed = "?";
      const once = () => {
        const r = bpf.progLoad({ prog_type: ProgType.SOCKET_FILTER, insns: code });
        backend.close(r.fd);
      };
      const t = medianMs(once, 15);
      const r = bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns: code,
        log_size: 4096,
        log_level: 4,
      });
      processed = /processed (\d+)/.exec(r.log)?.[1] ?? "?";
      backend.close(r.fd);
      return { ms: t, processed };
    },
  };
}

export function run(): void {
  console.log(
    "\nverifier: BPF_PROG_LOAD of a socket filter, model (do_check) vs host kernel (median)",
  );
  const caps = probeHost();
  const model = loader(createModelKernel({ profile: "mainline-6.18" }).spawn());
  const hostBackend = caps.bpf.available ? new HostBackend() : null;
  const host = hostBackend ? loader(hostBackend) : null;
  const w = [32, 12, 10, 12, 10, 8];
  console.log(row(["program", "model", "processed", "host", "processed", "ratio"], w));
  try {
    for (const p of programs()) {
      const m = model.load(p.insns);
      const h = host?.load(p.insns);
      console.log(
        row(
          [
            p.name,
            ms(m.ms),
            m.processed,
            h ? ms(h.ms) : "-",
            h ? h.processed : "-",
            h ? `${(m.ms / h.ms).toFixed(1)}x` : "-",
          ],
          w,
        ),
      );
    }
    if (!host) console.log(`  host skipped: ${caps.bpf.reason}`);
  } finally {
    hostBackend?.dispose();
  }
}

if (process.argv[1]?.endsWith("verifier.js")) run();
