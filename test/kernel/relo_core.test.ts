/**
 * The kernel's CO-RE relocations (src/kernel/relo_core.ts) against the model's vmlinux BTF: a
 * program's local types (a flavour `task_struct___local` with another layout, an enum) resolve
 * by essential name to the kernel's, each relocation kind patches its instruction, and a field
 * the kernel lacks poisons the instruction as the kernel does.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BTF_KIND, Btf } from "../../src/btf/btf.js";
import { VerifierLog } from "../../src/kernel/log.js";
import {
  applyCoreRelos,
  CORE_POISON_IMM,
  CoreReloKind,
  type CoreReloRecord,
  essentialName,
} from "../../src/kernel/relo_core.js";
import { memberOffset, modelVmlinuxBtf } from "../../src/kernel/vmlinux_btf.js";

/** The program's BTF: struct task_struct___local { char comm[16]; u64 pid; int tgid; int nope; } */
function localBtf() {
  const b = Btf.empty("prog");
  const int = b.addInt("int", 4, 1);
  const char = b.addInt("char", 1, 2 | 1);
  const u64 = b.addInt("long long unsigned int", 8, 0);
  const comm = b.addArray(int, char, 16);
  const task = b.addComposite(BTF_KIND.STRUCT, "task_struct___local", 32, [
    { name: "comm", type: comm, bitOffset: 0 },
    { name: "pid", type: u64, bitOffset: 128 },
    { name: "tgid", type: int, bitOffset: 192 },
    { name: "nope", type: int, bitOffset: 224 },
  ]);
  const pidType = b.addEnum("pid_type", 4, [
    { name: "PIDTYPE_PID", value: 0 },
    { name: "PIDTYPE_TGID", value: 1 },
    { name: "PIDTYPE_NOPE", value: 9 },
  ]);
  const nothing = b.addComposite(BTF_KIND.STRUCT, "no_such_struct", 4, [
    { name: "x", type: int, bitOffset: 0 },
  ]);
  return { b, task, pidType, nothing, access: (s: string) => b.addString(s) };
}

/** Instructions: ldx w r0 = [r1 + off], mov r0 = imm, ld_imm64 (two slots), exit. */
function insns(...raw: [code: number, regs: number, off: number, imm: number][]): Uint8Array {
  const out = new Uint8Array(raw.length * 8);
  const dv = new DataView(out.buffer);
  raw.forEach(([c, r, o, i], k) => {
    out[k * 8] = c;
    out[k * 8 + 1] = r;
    dv.setInt16(k * 8 + 2, o, true);
    dv.setInt32(k * 8 + 4, i, true);
  });
  return out;
}
const LDX_DW = 0x79;
const LDX_W = 0x61;
const MOV_K = 0xb7;
const imm = (p: Uint8Array, i: number) => new DataView(p.buffer).getInt32(i * 8 + 4, true);
const off = (p: Uint8Array, i: number) => new DataView(p.buffer).getInt16(i * 8 + 2, true);

describe("CO-RE relocations applied by the kernel", () => {
  const target = modelVmlinuxBtf();
  const log = () => VerifierLog.init(1, 0n, 0, true) as VerifierLog;

  test("essential names drop the ___flavour", () => {
    assert.equal(essentialName("task_struct___local"), "task_struct");
    assert.equal(essentialName("a___b___c"), "a");
    assert.equal(essentialName("___x"), "___x");
  });

  test("field offsets, sizes, existence, signedness; type id/existence/size; enum values", () => {
    const { b, task, pidType, nothing, access } = localBtf();
    const p = insns(
      [LDX_W, 0x10, 24, 0], // 0: tgid
      [MOV_K, 0, 0, 99], // 1: byte size of comm
      [MOV_K, 0, 0, 99], // 2: nope exists?
      [MOV_K, 0, 0, 99], // 3: comm exists?
      [MOV_K, 0, 0, 99], // 4: type exists
      [MOV_K, 0, 0, 99], // 5: type size
      [MOV_K, 0, 0, 99], // 6: enumval exists TGID
      [MOV_K, 0, 0, 99], // 7: enumval value TGID
      [MOV_K, 0, 0, 99], // 8: enumval exists NOPE
      [MOV_K, 0, 0, 99], // 9: type id target
      [MOV_K, 0, 0, 99], // 10: no_such_struct exists
      [MOV_K, 0, 0, 99], // 11: tgid signed
      [LDX_W, 0x10, 3, 0], // 12: comm[3]
    );
    const relos: CoreReloRecord[] = [
      {
        insnOff: 0,
        typeId: task,
        accessStrOff: access("0:2"),
        kind: CoreReloKind.FIELD_BYTE_OFFSET,
      },
      { insnOff: 8, typeId: task, accessStrOff: access("0:0"), kind: CoreReloKind.FIELD_BYTE_SIZE },
      { insnOff: 16, typeId: task, accessStrOff: access("0:3"), kind: CoreReloKind.FIELD_EXISTS },
      { insnOff: 24, typeId: task, accessStrOff: access("0:0"), kind: CoreReloKind.FIELD_EXISTS },
      { insnOff: 32, typeId: task, accessStrOff: access("0"), kind: CoreReloKind.TYPE_EXISTS },
      { insnOff: 40, typeId: task, accessStrOff: access("0"), kind: CoreReloKind.TYPE_SIZE },
      {
        insnOff: 48,
        typeId: pidType,
        accessStrOff: access("1"),
        kind: CoreReloKind.ENUMVAL_EXISTS,
      },
      { insnOff: 56, typeId: pidType, accessStrOff: access("1"), kind: CoreReloKind.ENUMVAL_VALUE },
      {
        insnOff: 64,
        typeId: pidType,
        accessStrOff: access("2"),
        kind: CoreReloKind.ENUMVAL_EXISTS,
      },
      { insnOff: 72, typeId: task, accessStrOff: access("0"), kind: CoreReloKind.TYPE_ID_TARGET },
      { insnOff: 80, typeId: nothing, accessStrOff: access("0"), kind: CoreReloKind.TYPE_EXISTS },
      { insnOff: 88, typeId: task, accessStrOff: access("0:2"), kind: CoreReloKind.FIELD_SIGNED },
      {
        insnOff: 96,
        typeId: task,
        accessStrOff: access("0:0:3"),
        kind: CoreReloKind.FIELD_BYTE_OFFSET,
      },
    ];
    assert.equal(applyCoreRelos(p, relos, b, target, log()), 0);
    assert.equal(off(p, 0), memberOffset(target, "task_struct", "tgid"));
    assert.equal(imm(p, 1), 16);
    assert.equal(imm(p, 2), 0, "the kernel's task_struct has no 'nope'");
    assert.equal(imm(p, 3), 1);
    assert.equal(imm(p, 4), 1);
    assert.equal(imm(p, 5), target.resolveSize(target.findByName("task_struct", BTF_KIND.STRUCT)));
    assert.equal(imm(p, 6), 1);
    assert.equal(imm(p, 7), 1);
    assert.equal(imm(p, 8), 0);
    assert.equal(imm(p, 9), target.findByName("task_struct", BTF_KIND.STRUCT));
    assert.equal(imm(p, 10), 0);
    assert.equal(imm(p, 11), 1, "pid_t is a signed int");
    assert.equal(off(p, 12), memberOffset(target, "task_struct", "comm") + 3);
  });

  test("a load is resized to the kernel's field size (u64 locally, pid_t in the kernel)", () => {
    const { b, task, access } = localBtf();
    const p = insns([LDX_DW, 0x10, 16, 0]);
    const r = applyCoreRelos(
      p,
      [
        {
          insnOff: 0,
          typeId: task,
          accessStrOff: access("0:1"),
          kind: CoreReloKind.FIELD_BYTE_OFFSET,
        },
      ],
      b,
      target,
      log(),
    );
    assert.equal(r, 0);
    assert.equal(p[0], LDX_W);
    assert.equal(off(p, 0), memberOffset(target, "task_struct", "pid"));
  });

  test("a field the kernel lacks poisons the instruction (call 0xbad2310) and logs why", () => {
    const { b, task, access } = localBtf();
    const p = insns([LDX_W, 0x10, 28, 0]);
    const l = log();
    const r = applyCoreRelos(
      p,
      [
        {
          insnOff: 0,
          typeId: task,
          accessStrOff: access("0:3"),
          kind: CoreReloKind.FIELD_BYTE_OFFSET,
        },
      ],
      b,
      target,
      l,
    );
    assert.equal(r, 0);
    assert.equal(p[0], 0x85);
    assert.equal(imm(p, 0), CORE_POISON_IMM);
    assert.match(
      l.text,
      /task_struct___local \(0:3\) has no match in the kernel's BTF; substituting insn #0/,
    );
  });

  test("bad records are refused: access string, instruction offset, type id", () => {
    const { b, task, access } = localBtf();
    const p = insns([MOV_K, 0, 0, 0]);
    const one = (rec: CoreReloRecord) => applyCoreRelos(p.slice(), [rec], b, target, log());
    assert.equal(one({ insnOff: 0, typeId: task, accessStrOff: access("x:1"), kind: 0 }), -22);
    assert.equal(one({ insnOff: 8, typeId: task, accessStrOff: access("0:1"), kind: 0 }), -22);
    assert.equal(one({ insnOff: 0, typeId: 999, accessStrOff: access("0:1"), kind: 0 }), -22);
    assert.equal(one({ insnOff: 0, typeId: task, accessStrOff: access("0:9"), kind: 0 }), -22);
  });

  test("without prog->aux->sig (mainline-6.18's BTF) the signing fields do not resolve", () => {
    const plain = modelVmlinuxBtf({ sig: false });
    assert.throws(() => memberOffset(plain, "bpf_prog_aux", "sig.verdict"));
    assert.equal(memberOffset(plain, "bpf_prog_aux", "id"), 0);
    // the type ids are the same in both variants (only the member is left out)
    assert.equal(
      plain.findByName("bpf_lsm_bpf_prog_load", BTF_KIND.FUNC),
      target.findByName("bpf_lsm_bpf_prog_load", BTF_KIND.FUNC),
    );
  });
});
