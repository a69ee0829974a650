/**
 * Interpreter speed: M insn/s on a tight ALU loop and on a stack/map load-store loop, and the
 * time to load and run each vector loader (unsigned and signed insns) on the model kernel.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AluOp,
  alu64Imm,
  alu64Reg,
  encodeInsns,
  exit,
  JmpOp,
  jmpImm,
  ldxMem,
  mov64Imm,
  Size,
  stxMem,
} from "../src/insn/index.js";
import { Bpf } from "../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, MapType, ProgType } from "../src/uapi/constants.js";
import {
  createModelKernel,
  decodeProgram,
  execute,
  KernelAddr,
  KernelMemory,
} from "../src/vm/index.js";
import { median, medianMs, ms, row } from "./util.js";

const N = 5_000_000;

function mips(code: Uint8Array, memory?: () => KernelMemory): string {
  const prog = decodeProgram(code);
  const rates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    const r = execute(prog, { budget: 1e9, memory: memory?.() });
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    rates.push(r.executed / s / 1e6);
  }
  return `${median(rates).toFixed(0)} M insn/s`;
}

function loaderMs(prog: string, signed: boolean): string {
  const dir = join(process.env.BPFSIGN_VECTORS ?? "test/fixtures/vectors", prog);
  const insns = new Uint8Array(
    readFileSync(join(dir, signed ? "insns.signed.bin" : "insns.unsigned.bin")),
  );
  const data = new Uint8Array(readFileSync(join(dir, "data.bin")));
  const ctxSize = { prog_a: 28, prog_b: 44, prog_d: 76 }[prog] ?? 24;
  return ms(
    medianMs(() => {
      const kernel = createModelKernel();
      const bpf = new Bpf(kernel.spawn());
      const excl = new Uint8Array(createHash("sha256").update(insns).digest());
      const map = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: data.length,
        max_entries: 1,
        map_name: "__loader.map",
        ...(signed ? { excl_prog_hash: excl } : {}),
      });
      bpf.mapUpdate(map, new Uint8Array(4), data);
      bpf.mapFreeze(map);
      const { fd } = bpf.progLoad({
        prog_type: ProgType.SYSCALL,
        insns,
        prog_flags: BPF_F_SLEEPABLE,
        license: "Dual BSD/GPL",
        fd_array: [map],
      });
      const ctx = new Uint8Array(ctxSize);
      ctx[0] = ctxSize;
      if (bpf.progTestRun({ prog_fd: fd, ctx_in: ctx }).retval !== 0)
        throw new Error(`${prog} loader failed`);
    }, 20),
  );
}

export function run(): void {
  const alu = encodeInsns([
    mov64Imm(0, 0),
    mov64Imm(1, N),
    alu64Reg(AluOp.ADD, 0, 1),
    alu64Imm(AluOp.XOR, 0, 0x55),
    alu64Imm(AluOp.LSH, 0, 1),
    alu64Imm(AluOp.SUB, 1, 1),
    jmpImm(JmpOp.JNE, 1, 0, -5),
    exit(),
  ]);
  const stack = encodeInsns([
    mov64Imm(0, 0),
    mov64Imm(1, N),
    stxMem(Size.DW, 10, 1, -8),
    ldxMem(Size.DW, 2, 10, -8),
    alu64Reg(AluOp.ADD, 0, 2),
    alu64Imm(AluOp.SUB, 1, 1),
    jmpImm(JmpOp.JNE, 1, 0, -5),
    exit(),
  ]);
  // r3 = a map value (a second region besides the stack): load, add, store, and a stack spill
  const mapLoop = encodeInsns([
    mov64Imm(0, 0),
    mov64Imm(1, N),
    { code: 0x18, dst: 3, src: 0, off: 0, imm: Number(KernelAddr.DYNAMIC & 0xffffffffn) | 0 },
    { code: 0, dst: 0, src: 0, off: 0, imm: Number(KernelAddr.DYNAMIC >> 32n) | 0 },
    ldxMem(Size.DW, 2, 3, 8),
    alu64Reg(AluOp.ADD, 2, 1),
    stxMem(Size.DW, 3, 2, 8),
    stxMem(Size.DW, 10, 2, -16),
    alu64Imm(AluOp.SUB, 1, 1),
    jmpImm(JmpOp.JNE, 1, 0, -6),
    exit(),
  ]);
  const withValue = () => {
    const m = new KernelMemory();
    m.map("value", KernelAddr.DYNAMIC, new Uint8Array(64));
    return m;
  };
  const w = [44, 20];
  console.log("eBPF interpreter (median of 5 runs)");
  console.log(row(["tight ALU loop (add/xor/lsh/sub/jne)", mips(alu)], w));
  console.log(row(["stack store/load loop", mips(stack)], w));
  console.log(row(["map value + stack load/store loop", mips(mapLoop, withValue)], w));
  const vectors = join(process.env.BPFSIGN_VECTORS ?? "test/fixtures/vectors", "prog_a");
  if (!existsSync(vectors)) {
    console.log("vector loaders: skipped (test/fixtures/vectors not found; set BPFSIGN_VECTORS)");
    return;
  }
  console.log("\nload + run of the vector loaders on createModelKernel() (median of 20)");
  for (const p of ["prog_a", "prog_b", "prog_d"]) {
    console.log(
      row(
        [`${p} unsigned / signed insns (no signature)`, loaderMs(p, false), loaderMs(p, true)],
        [44, 12, 12],
      ),
    );
  }
}
