/**
 * One small program per message the safety analysis (do_check) emits: the model must refuse
 * it with the kernel's errno and first error line; where this machine's kernel can load
 * programs the same program goes there too and both error lines must be equal.
 * Accepting cases (bounded loops, null-checked lookups, packet access after a data_end check,
 * pruning) are compared on the processed count as well.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HostBackend } from "../../src/host/backend.js";
import {
  AluOp,
  AtomicOp,
  alu32Imm,
  alu64Imm,
  alu64Reg,
  atomicOp,
  call,
  callPseudo,
  encodeInsns,
  exit,
  type Insn,
  JmpOp,
  ja,
  jmpImm,
  jmpReg,
  ldImm64,
  ldMapFd,
  ldxMem,
  mov64Imm,
  mov64Reg,
  Size,
  stMem,
  stxMem,
} from "../../src/insn/index.js";
import type { BpfBackend } from "../../src/uapi/backend.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, MapType, ProgType } from "../../src/uapi/constants.js";
import { BpfError, verifierLogReason } from "../../src/uapi/errno.js";
import { createModelKernel } from "../../src/vm/index.js";
import { hostSkip } from "../support/host.js";

const MAP = -1000;

interface Case {
  readonly name: string;
  readonly type?: number;
  readonly insns: Insn[];
  /** errno name and first error line (numbers included), or "ok" with the processed count. */
  readonly expect: { errno: string; line: string } | { processed: number };
}

const SF = ProgType.SOCKET_FILTER;
const TC = ProgType.SCHED_CLS;
const SYS = ProgType.SYSCALL;
const r0ok = [mov64Imm(0, 0), exit()];
const lookup = (keyOff = -8): Insn[] => [
  stMem(Size.DW, 10, keyOff, 0),
  mov64Reg(2, 10),
  alu64Imm(AluOp.ADD, 2, keyOff),
  ...ldMapFd(1, MAP),
  call(1),
];

const CASES: Case[] = [
  { name: "R0 !read_ok", insns: [exit()], expect: { errno: "EACCES", line: "R0 !read_ok" } },
  {
    name: "uninitialised source register",
    insns: [alu64Reg(AluOp.ADD, 0, 3), exit()],
    expect: { errno: "EACCES", line: "R3 !read_ok" },
  },
  {
    name: "frame pointer is read only",
    insns: [mov64Imm(10, 0), ...r0ok],
    expect: { errno: "EACCES", line: "frame pointer is read only" },
  },
  {
    name: "invalid mem access 'scalar'",
    insns: [mov64Imm(1, 0), ldxMem(Size.W, 0, 1, 0), exit()],
    expect: { errno: "EACCES", line: "R1 invalid mem access 'scalar'" },
  },
  {
    name: "bitwise operator on a pointer",
    insns: [alu64Imm(AluOp.AND, 1, 7), ...r0ok],
    expect: { errno: "EACCES", line: "R1 bitwise operator &= on pointer prohibited" },
  },
  {
    name: "pointer arithmetic with a multiplication",
    insns: [alu64Imm(AluOp.MUL, 1, 2), ...r0ok],
    expect: { errno: "EACCES", line: "R1 pointer arithmetic with *= operator prohibited" },
  },
  {
    name: "32-bit pointer arithmetic",
    insns: [alu32Imm(AluOp.ADD, 1, 2), ...r0ok],
    expect: { errno: "EACCES", line: "R1 32-bit pointer arithmetic prohibited" },
  },
  {
    name: "pointer += pointer",
    insns: [alu64Reg(AluOp.ADD, 1, 10), ...r0ok],
    expect: { errno: "EACCES", line: "R1 pointer += pointer prohibited" },
  },
  {
    name: "subtraction from the stack pointer",
    insns: [mov64Imm(0, 8), mov64Reg(2, 10), alu64Reg(AluOp.SUB, 2, 0), ...r0ok],
    expect: { errno: "EACCES", line: "R2 subtraction from stack pointer prohibited" },
  },
  {
    name: "unbounded scalar added to a pointer",
    insns: [call(7), mov64Reg(2, 10), alu64Reg(AluOp.ADD, 2, 0), ...r0ok],
    expect: {
      errno: "EINVAL",
      line: "math between fp pointer and register with unbounded min value is not allowed",
    },
  },
  {
    name: "misaligned stack access",
    insns: [stxMem(Size.DW, 10, 1, -4), ...r0ok],
    expect: { errno: "EACCES", line: "misaligned stack access off 0+0+-4 size 8" },
  },
  {
    name: "stack write out of bounds",
    insns: [stMem(Size.DW, 10, 8, 0), ...r0ok],
    expect: { errno: "EACCES", line: "invalid write to stack R10 off=8 size=8" },
  },
  {
    name: "stack read below the limit",
    insns: [ldxMem(Size.DW, 0, 10, -520), exit()],
    expect: { errno: "EACCES", line: "invalid read from stack R10 off=-520 size=8" },
  },
  {
    name: "narrow fill of a spilled pointer",
    insns: [stxMem(Size.DW, 10, 1, -8), ldxMem(Size.W, 0, 10, -8), exit()],
    expect: { errno: "EACCES", line: "invalid size of register fill" },
  },
  {
    name: "narrow spill of a pointer",
    insns: [stxMem(Size.W, 10, 1, -8), ...r0ok],
    expect: { errno: "EACCES", line: "invalid size of register spill" },
  },
  {
    name: "spilled ctx pointer filled back and used",
    insns: [
      stxMem(Size.DW, 10, 1, -8),
      ldxMem(Size.DW, 2, 10, -8),
      ldxMem(Size.W, 0, 2, 0),
      exit(),
    ],
    expect: { processed: 4 },
  },
  {
    name: "modified ctx pointer dereferenced",
    insns: [alu64Imm(AluOp.ADD, 1, 4), ldxMem(Size.W, 0, 1, 0), exit()],
    expect: { errno: "EACCES", line: "dereference of modified ctx ptr R1 off=4 disallowed" },
  },
  {
    name: "socket filter: data is not readable",
    insns: [ldxMem(Size.W, 0, 1, 76), exit()],
    expect: { errno: "EACCES", line: "invalid bpf_context access off=76 size=4" },
  },
  {
    name: "socket filter: only cb[] is writable",
    insns: [stMem(Size.W, 1, 8, 0), ...r0ok],
    expect: { errno: "EACCES", line: "invalid bpf_context access off=8 size=4" },
  },
  {
    name: "socket filter: cb[] write and narrow reads",
    insns: [stMem(Size.W, 1, 48, 1), ldxMem(Size.B, 0, 1, 0), ldxMem(Size.H, 0, 1, 4), exit()],
    expect: { processed: 4 },
  },
  {
    name: "sched_cls: mark is writable",
    type: TC,
    insns: [stMem(Size.W, 1, 8, 1), ...r0ok],
    expect: { processed: 3 },
  },
  {
    name: "sched_cls: packet read without a bounds check",
    type: TC,
    insns: [ldxMem(Size.W, 2, 1, 76), ldxMem(Size.B, 0, 2, 0), exit()],
    expect: { errno: "EACCES", line: "R2 offset is outside of the packet" },
  },
  {
    name: "sched_cls: packet read after the data_end check",
    type: TC,
    insns: [
      ldxMem(Size.W, 2, 1, 76),
      ldxMem(Size.W, 3, 1, 80),
      mov64Reg(4, 2),
      alu64Imm(AluOp.ADD, 4, 14),
      mov64Imm(0, 0),
      jmpReg(JmpOp.JGT, 4, 3, 1),
      ldxMem(Size.H, 0, 2, 12),
      exit(),
    ],
    expect: { processed: 9 },
  },
  {
    name: "map value or null dereferenced",
    insns: [...lookup(), ldxMem(Size.DW, 0, 0, 0), exit()],
    expect: { errno: "EACCES", line: "R0 invalid mem access 'map_value_or_null'" },
  },
  {
    name: "map value after the null check",
    insns: [...lookup(), jmpImm(JmpOp.JEQ, 0, 0, 1), ldxMem(Size.DW, 0, 0, 0), exit()],
    expect: { processed: 9 },
  },
  {
    name: "map value read past its end",
    insns: [...lookup(), jmpImm(JmpOp.JEQ, 0, 0, 1), ldxMem(Size.DW, 0, 0, 16), exit()],
    // "invalid access to map value, value_size=16 off=16 size=8" comes first, then:
    expect: { errno: "EACCES", line: "R0 min value is outside of the allowed memory range" },
  },
  {
    name: "pointer arithmetic on map_value_or_null",
    insns: [...lookup(), alu64Imm(AluOp.ADD, 0, 8), exit()],
    expect: {
      errno: "EACCES",
      line: "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first",
    },
  },
  {
    name: "ctx passed as the map",
    insns: [
      mov64Reg(2, 10),
      alu64Imm(AluOp.ADD, 2, -8),
      stMem(Size.DW, 10, -8, 0),
      call(1),
      ...r0ok,
    ],
    expect: { errno: "EACCES", line: "R1 type=ctx expected=map_ptr" },
  },
  {
    name: "helper the type does not offer",
    insns: [call(166), ...r0ok],
    expect: { errno: "EINVAL", line: "program of this type cannot use helper bpf_sys_bpf#166" },
  },
  {
    name: "bpf_sys_bpf with the ctx as attr (the README's old disagreement)",
    type: SYS,
    insns: [mov64Reg(2, 1), mov64Imm(1, 0), mov64Imm(3, 96), call(166), exit()],
    expect: {
      errno: "EACCES",
      line: "R2 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_",
    },
  },
  {
    name: "helper size argument may be zero",
    type: SYS,
    insns: [
      call(7),
      mov64Reg(2, 0),
      alu64Imm(AluOp.AND, 2, 8),
      mov64Reg(1, 10),
      alu64Imm(AluOp.ADD, 1, -8),
      mov64Imm(3, 0),
      call(113),
      exit(),
    ],
    expect: { processed: 8 },
  },
  {
    name: "helper size argument unbounded",
    type: SYS,
    insns: [
      call(7),
      mov64Reg(2, 0),
      alu64Imm(AluOp.RSH, 2, 1),
      mov64Reg(1, 10),
      alu64Imm(AluOp.ADD, 1, -8),
      mov64Imm(3, 0),
      call(113),
      exit(),
    ],
    expect: {
      errno: "EACCES",
      line: "R2 unbounded memory access, use 'var &= const' or 'if (var < const)'",
    },
  },
  {
    name: "unreachable instruction",
    insns: [...r0ok, ...r0ok],
    expect: { errno: "EINVAL", line: "unreachable insn 2" },
  },
  {
    name: "bounded loop",
    insns: [mov64Imm(0, 0), alu64Imm(AluOp.ADD, 0, 1), jmpImm(JmpOp.JLT, 0, 10, -2), exit()],
    expect: { processed: 22 },
  },
  {
    name: "infinite loop",
    insns: [mov64Imm(0, 0), jmpImm(JmpOp.JEQ, 0, 0, -1), exit()],
    // the log says "infinite loop detected at insn 1", then prints both states
    expect: { errno: "EINVAL", line: "old state: R0=P0 R1=ctx() R10=fp0" },
  },
  {
    name: "pruning: both branches reach the same state",
    insns: [
      call(7),
      mov64Imm(1, 0),
      jmpImm(JmpOp.JEQ, 0, 5, 2),
      mov64Imm(2, 1),
      ja(1),
      mov64Imm(2, 1),
      mov64Imm(3, 1),
      mov64Imm(4, 1),
      mov64Imm(5, 1),
      mov64Imm(6, 1),
      mov64Imm(0, 0),
      exit(),
    ],
    expect: { processed: 18 },
  },
  {
    name: "bpf-to-bpf call",
    insns: [mov64Imm(1, 3), callPseudo(1), exit(), mov64Reg(0, 1), exit()],
    expect: { processed: 5 },
  },
  {
    name: "atomic add on the stack",
    insns: [
      stMem(Size.DW, 10, -8, 0),
      mov64Imm(1, 1),
      atomicOp(Size.DW, AtomicOp.ADD, 10, 1, -8),
      ...r0ok,
    ],
    expect: { processed: 5 },
  },
  {
    name: "atomic on the ctx",
    insns: [mov64Imm(2, 1), atomicOp(Size.W, AtomicOp.ADD, 1, 2, 48), ...r0ok],
    expect: { errno: "EACCES", line: "BPF_ATOMIC stores into R1 ctx is not allowed" },
  },
  {
    name: "ld_imm64 constant is one processed instruction",
    insns: [...ldImm64(0, 1n << 40n), exit()],
    expect: { processed: 2 },
  },
  {
    name: "div by zero",
    insns: [mov64Imm(0, 1), alu64Imm(AluOp.DIV, 0, 0), exit()],
    expect: { errno: "EINVAL", line: "div by zero" },
  },
];

interface Outcome {
  errno: string;
  line: string;
  processed: number;
}

function loadOn(backend: BpfBackend, c: Case): Outcome {
  const bpf = new Bpf(backend);
  const map = bpf.mapCreate({
    map_type: MapType.ARRAY,
    key_size: 4,
    value_size: 16,
    max_entries: 2,
  });
  const type = c.type ?? SF;
  const code = encodeInsns(
    c.insns.map((i) => (i.code === 0x18 && i.src === 1 && i.imm === MAP ? { ...i, imm: map } : i)),
  );
  try {
    const r = bpf.progLoad({
      prog_type: type,
      insns: code,
      prog_flags: type === SYS ? BPF_F_SLEEPABLE : 0,
      log_level: 1,
      log_size: 1 << 16,
    });
    backend.close(r.fd);
    return { errno: "", line: "", processed: Number(/processed (\d+)/.exec(r.log)?.[1] ?? -1) };
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    return { errno: e.errnoName, line: verifierLogReason(e.log), processed: -1 };
  } finally {
    backend.close(map);
  }
}

const HOST_SKIP = hostSkip();

describe("do_check messages (model, and the host where it can load)", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const proc = createModelKernel({ profile: "mainline-6.18" }).spawn();
      const m = loadOn(proc, c);
      proc.exit();
      if ("processed" in c.expect) {
        assert.equal(m.errno, "", `refused: ${m.line}`);
        assert.equal(m.processed, c.expect.processed);
      } else {
        assert.deepEqual({ errno: m.errno, line: m.line }, c.expect);
      }
    });
  }
  test("the host kernel gives the same outcome and first error line", { skip: HOST_SKIP }, () => {
    const host = new HostBackend();
    const bad: string[] = [];
    try {
      for (const c of CASES) {
        const h = loadOn(host, c);
        const proc = createModelKernel({ profile: "mainline-6.18" }).spawn();
        const m = loadOn(proc, c);
        proc.exit();
        if (JSON.stringify(h) !== JSON.stringify(m))
          bad.push(`${c.name}: host ${JSON.stringify(h)} model ${JSON.stringify(m)}`);
      }
    } finally {
      host.dispose();
    }
    assert.deepEqual(bad, []);
  });
});

/** Programs whose whole log (not only the error line) must read as the host's. */
const TRACE_CASES: { name: string; type: number; insns: Insn[] }[] = [
  {
    name: "a refused branch path (level 1 keeps only the failing path)",
    type: SF,
    insns: [
      call(7),
      mov64Reg(1, 0),
      mov64Imm(0, 0),
      jmpImm(JmpOp.JSGT, 1, 5, 2),
      mov64Imm(0, 1),
      exit(),
      ldxMem(Size.W, 3, 1, 0),
      exit(),
    ],
  },
  {
    name: "stack spills, narrow stores and a variable offset",
    type: SF,
    insns: [
      call(7),
      mov64Reg(1, 0),
      alu64Imm(AluOp.AND, 1, 6),
      stMem(Size.W, 10, -4, 1),
      stxMem(Size.DW, 10, 1, -16),
      mov64Reg(2, 10),
      alu64Reg(AluOp.ADD, 2, 1),
      stMem(Size.W, 2, -16, 0),
      ...r0ok,
    ],
  },
  {
    name: "packet bounds in sched_cls",
    type: TC,
    insns: [
      ldxMem(Size.W, 2, 1, 76),
      ldxMem(Size.W, 3, 1, 80),
      mov64Reg(4, 2),
      alu64Imm(AluOp.ADD, 4, 14),
      mov64Imm(0, 0),
      jmpReg(JmpOp.JGT, 4, 3, 1),
      ldxMem(Size.H, 0, 2, 12),
      ldxMem(Size.W, 0, 2, 14),
      exit(),
    ],
  },
  {
    name: "a bounded loop",
    type: SF,
    insns: [mov64Imm(0, 0), alu64Imm(AluOp.ADD, 0, 1), jmpImm(JmpOp.JLT, 0, 4, -2), exit()],
  },
];

function logOn(backend: BpfBackend, type: number, insns: Insn[], level: number): string {
  const bpf = new Bpf(backend);
  try {
    return bpf.progLoad({
      prog_type: type,
      insns: encodeInsns(insns),
      log_level: level,
      log_size: 1 << 16,
    }).log;
  } catch (e) {
    if (e instanceof BpfError) return e.log;
    throw e;
  }
}

describe("do_check log trace (levels 1 and 2) as the host writes it", () => {
  for (const c of TRACE_CASES) {
    test(c.name, { skip: HOST_SKIP }, () => {
      const host = new HostBackend();
      try {
        for (const level of [1, 2]) {
          const proc = createModelKernel({ profile: "mainline-6.18" }).spawn();
          const m = logOn(proc, c.type, c.insns, level);
          proc.exit();
          // level 2's mark_precise lines are not modelled
          const h = logOn(host, c.type, c.insns, level)
            .split("\n")
            .filter((l) => !l.startsWith("mark_precise:"))
            .join("\n");
          assert.equal(m, h, `level ${level}`);
        }
      } finally {
        host.dispose();
      }
    });
  }
});
