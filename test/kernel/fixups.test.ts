/**
 * The verifier's rewrites as BPF_OBJ_GET_INFO_BY_FD shows them: inlined map lookups, __sk_buff
 * ctx conversions, branch adjustment around patches and the dump's map ids — while the tag stays
 * the digest of the submitted instructions and the interpreter keeps running them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AluOp,
  alu64Imm,
  call,
  decodeInsns,
  exit,
  type Insn,
  JmpOp,
  jmpImm,
  ldMapFd,
  ldxMem,
  mov64Imm,
  mov64Reg,
  progDigest,
  progTag,
  Size,
  stMem,
  toHex,
} from "../../src/insn/index.js";
import { BPF_ARRAY_VALUE_OFF, HTAB_ELEM_KEY_OFF } from "../../src/kernel/fixups.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { BpfCmd, Helper, MapFlag, MapType, ProgType } from "../../src/uapi/constants.js";
import { encode, MapCreateAttr } from "../../src/uapi/layout.js";
import { createModelKernel } from "../../src/vm/index.js";
import { insns, world } from "./support.js";

type Row = [code: number, dst: number, src: number, off: number, imm: number];
const rows = (b: Uint8Array): Row[] =>
  decodeInsns(b).map((i) => [i.code, i.dst, i.src, i.off, i.imm]);

/** r2 = &key (0 on the stack); r1 = map; call lookup; then `after`. */
function lookupProg(mapFd: number, after: Insn[] = [mov64Imm(0, 0), exit()]): Uint8Array {
  // the key at fp-16: room for the 12-byte HASH key inside the stack (do_check checks it)
  return insns(
    stMem(Size.W, 10, -16, 0),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -16),
    ldMapFd(1, mapFd),
    call(Helper.map_lookup_elem),
    ...after,
  );
}

function xlatedOf(bpf: Bpf, code: Uint8Array, type: number = ProgType.SOCKET_FILTER) {
  const { fd } = bpf.progLoad({ prog_type: type, insns: code });
  return { fd, info: bpf.progInfo(fd, { xlated: true }) };
}

describe("map_gen_lookup inlining (do_misc_fixups)", () => {
  test("ARRAY: the call becomes array_map_gen_lookup's 7 insns; the tag is over the submitted insns", () => {
    const { bpf } = world({ profile: "mainline-6.18" });
    const m = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 5,
    });
    const code = lookupProg(m);
    const { info } = xlatedOf(bpf, code);
    const id = bpf.mapInfo(m).id;
    assert.equal(info.xlated_prog_len / 8, code.length / 8 + 6);
    assert.deepEqual(rows(info.xlated!).slice(3, 14), [
      [0x18, 1, 1, 0, id], // ld_imm64 as the dump shows it: MAP_FD + map id
      [0, 0, 0, 0, 0],
      [0x07, 1, 0, 0, BPF_ARRAY_VALUE_OFF], // r1 += offsetof(struct bpf_array, value)
      [0x61, 0, 2, 0, 0], // r0 = *(u32 *)(r2 + 0)
      [0x35, 0, 0, 3, 5], // if r0 >= max_entries goto +3
      [0x67, 0, 0, 0, 3], // r0 <<= 3
      [0x0f, 0, 1, 0, 0], // r0 += r1
      [0x05, 0, 0, 1, 0], // goto +1
      [0xb7, 0, 0, 0, 0], // r0 = 0
      [0xb7, 0, 0, 0, 0],
      [0x95, 0, 0, 0, 0],
    ]);
    assert.equal(toHex(info.tag), toHex(progTag(progDigest(code))));
  });

  test("ARRAY of 12-byte values created without CAP_PERFMON: multiply and index masking", () => {
    const { bpf } = world({}, { perfmon: false, sys_admin: false });
    const m = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 12,
      max_entries: 5,
    });
    const x = rows(xlatedOf(bpf, lookupProg(m)).info.xlated!);
    assert.deepEqual(x.slice(6, 14), [
      [0x61, 0, 2, 0, 0],
      [0x35, 0, 0, 4, 5], // one more insn to jump over
      [0x54, 0, 0, 0, 7], // w0 &= index_mask (roundup_pow_of_two(5) - 1)
      [0x67, 0, 0, 0, 4], // r0 <<= log2(round_up(12, 8))
      [0x0f, 0, 1, 0, 0],
      [0x05, 0, 0, 1, 0],
      [0xb7, 0, 0, 0, 0],
      [0xb7, 0, 0, 0, 0],
    ]);
  });

  test("PERCPU_ARRAY and HASH use their own sequences", () => {
    const { bpf } = world();
    const pa = bpf.mapCreate({
      map_type: MapType.PERCPU_ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 3,
    });
    const percpu = rows(xlatedOf(bpf, lookupProg(pa)).info.xlated!).slice(5, 14);
    assert.deepEqual(percpu, [
      [0x07, 1, 0, 0, BPF_ARRAY_VALUE_OFF],
      [0x61, 0, 2, 0, 0],
      [0x35, 0, 0, 5, 3],
      [0x67, 0, 0, 0, 3],
      [0x0f, 0, 1, 0, 0],
      [0x79, 0, 0, 0, 0], // the per-CPU pointer
      [0xbf, 0, 0, -1, 0], // BPF_MOV64_PERCPU_REG
      [0x05, 0, 0, 1, 0],
      [0xb7, 0, 0, 0, 0],
    ]);
    const h = bpf.mapCreate({
      map_type: MapType.HASH,
      key_size: 12,
      value_size: 8,
      max_entries: 3,
    });
    const hash = rows(xlatedOf(bpf, lookupProg(h)).info.xlated!).slice(5, 8);
    assert.deepEqual(hash, [
      [0x85, 0, 0, 0, Helper.map_lookup_elem],
      [0x15, 0, 0, 1, 0],
      [0x07, 0, 0, 0, HTAB_ELEM_KEY_OFF + 16],
    ]);
  });

  test("no inlining for an inner map, with the JIT off, or when r1 may come from a branch", () => {
    const { bpf } = world();
    const inner = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
      map_flags: MapFlag.INNER_MAP,
    });
    assert.equal(xlatedOf(bpf, lookupProg(inner)).info.xlated_prog_len, lookupProg(inner).length);

    const noJit = world({ bpf_jit_enable: 0 }).bpf;
    const m2 = noJit.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    assert.equal(xlatedOf(noJit, lookupProg(m2)).info.xlated_prog_len, lookupProg(m2).length);

    const m = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    const other = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    // r1 = m; if r6 == 0 goto call; r1 = second; call: the call is a branch target, reached
    // with r1 naming `m` on one path and `second` on the other (r6 is a random number first:
    // do_check refuses reading an uninitialised register)
    const twoPaths = (second: number) =>
      insns(
        call(Helper.get_prandom_u32),
        mov64Reg(6, 0),
        stMem(Size.W, 10, -4, 0),
        mov64Reg(2, 10),
        alu64Imm(AluOp.ADD, 2, -4),
        ldMapFd(1, m),
        jmpImm(JmpOp.JEQ, 6, 0, 2),
        ldMapFd(1, second),
        call(Helper.map_lookup_elem),
        mov64Imm(0, 0),
        exit(),
      );
    // two maps at one call: the map pointer state is poisoned, the call stays
    const poisoned = twoPaths(other);
    assert.equal(xlatedOf(bpf, poisoned).info.xlated_prog_len, poisoned.length);
    // the same map on both paths (record_func_map keeps it): inlined
    const same = twoPaths(m);
    assert.equal(xlatedOf(bpf, same).info.xlated_prog_len, same.length + 6 * 8);
  });

  test("map-in-map: the outer lookup and the lookup in the inner map template are inlined", () => {
    const { bpf, proc } = world();
    const inner = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 4,
    });
    const outerOf = (map_type: number) =>
      proc.bpf(
        BpfCmd.MAP_CREATE,
        encode(
          MapCreateAttr,
          { map_type, key_size: 4, value_size: 4, max_entries: 2, inner_map_fd: inner },
          72,
        ),
      );
    const aom = outerOf(MapType.ARRAY_OF_MAPS);
    const hom = outerOf(MapType.HASH_OF_MAPS);
    assert.ok(aom > 0 && hom > 0);
    // inner = lookup(outer, &0); if (inner) lookup(inner, &0)
    const prog = (outer: number) =>
      lookupProg(outer, [
        jmpImm(JmpOp.JEQ, 0, 0, 4),
        mov64Reg(1, 0),
        mov64Reg(2, 10),
        alu64Imm(AluOp.ADD, 2, -16),
        call(Helper.map_lookup_elem),
        mov64Imm(0, 0),
        exit(),
      ]);
    const a = rows(xlatedOf(bpf, prog(aom)).info.xlated!);
    assert.deepEqual(a.slice(5, 15), [
      [0x07, 1, 0, 0, BPF_ARRAY_VALUE_OFF], // array_of_map_gen_lookup
      [0x61, 0, 2, 0, 0],
      [0x35, 0, 0, 5, 2],
      [0x67, 0, 0, 0, 3],
      [0x0f, 0, 1, 0, 0],
      [0x79, 0, 0, 0, 0], // the inner map's pointer
      [0x15, 0, 0, 1, 0],
      [0x05, 0, 0, 1, 0],
      [0xb7, 0, 0, 0, 0],
      [0x15, 0, 0, 10, 0], // the null check, its offset adjusted over the inner sequence
    ]);
    assert.deepEqual(a.slice(18, 25), [
      [0x07, 1, 0, 0, BPF_ARRAY_VALUE_OFF], // array_map_gen_lookup on the inner template
      [0x61, 0, 2, 0, 0],
      [0x35, 0, 0, 3, 4],
      [0x67, 0, 0, 0, 3],
      [0x0f, 0, 1, 0, 0],
      [0x05, 0, 0, 1, 0],
      [0xb7, 0, 0, 0, 0],
    ]);
    const h = rows(xlatedOf(bpf, prog(hom)).info.xlated!);
    assert.deepEqual(h.slice(5, 10), [
      [0x85, 0, 0, 0, Helper.map_lookup_elem], // htab_of_map_gen_lookup
      [0x15, 0, 0, 2, 0],
      [0x07, 0, 0, 0, HTAB_ELEM_KEY_OFF + 8],
      [0x79, 0, 0, 0, 0],
      [0x15, 0, 0, 10, 0],
    ]);
  });

  test("branches across a patch are adjusted as bpf_patch_insn_data does", () => {
    const { bpf } = world();
    const m = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    // 0: if r1 == 0 goto 9 (over the lookup); 1..6: the lookup; 7: if r0 == 0 goto 9.
    const code = insns(
      jmpImm(JmpOp.JEQ, 1, 0, 8),
      stMem(Size.W, 10, -4, 0),
      mov64Reg(2, 10),
      alu64Imm(AluOp.ADD, 2, -4),
      ldMapFd(1, m),
      call(Helper.map_lookup_elem),
      jmpImm(JmpOp.JEQ, 0, 0, 1),
      ldxMem(Size.DW, 0, 0, 0),
      mov64Imm(0, 0),
      exit(),
    );
    const x = rows(xlatedOf(bpf, code).info.xlated!);
    assert.equal(x.length, 17);
    assert.deepEqual(x[0], [0x15, 1, 0, 8 + 6, 0], "a jump over the patch grows by 6");
    assert.deepEqual(x[13], [0x15, 0, 0, 1, 0], "a jump after the patch keeps its offset");
    assert.deepEqual(x[15], [0xb7, 0, 0, 0, 0]);
  });
});

describe("__sk_buff ctx conversion (convert_ctx_accesses)", () => {
  test("socket filters read sk_buff fields; SYSCALL ctx reads stay as they are", () => {
    const { bpf } = world();
    const code = insns(
      mov64Reg(6, 1),
      ldxMem(Size.W, 0, 6, 0), // len
      ldxMem(Size.W, 2, 1, 4), // pkt_type
      ldxMem(Size.H, 3, 1, 0), // a narrow read: not converted by the model
      exit(),
    );
    const x = rows(xlatedOf(bpf, code).info.xlated!);
    assert.deepEqual(x, [
      [0xbf, 6, 1, 0, 0],
      [0x61, 0, 6, 112, 0],
      [0x71, 2, 1, 128, 0],
      [0x54, 2, 0, 0, 7],
      [0x69, 3, 1, 0, 0],
      [0x95, 0, 0, 0, 0],
    ]);
    const sys = insns(ldxMem(Size.W, 0, 1, 0), exit());
    const { fd } = bpf.progLoad({ prog_type: ProgType.SYSCALL, prog_flags: 1 << 4, insns: sys });
    assert.deepEqual(rows(bpf.progInfo(fd, { xlated: true }).xlated!), rows(sys));
  });
});

test("the interpreter runs the submitted instructions: an inlined lookup still counts", () => {
  const kernel = createModelKernel();
  const proc = kernel.spawn();
  const bpf = new Bpf(proc);
  const m = bpf.mapCreate({ map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 2 });
  const code = lookupProg(m, [
    jmpImm(JmpOp.JEQ, 0, 0, 2),
    mov64Imm(1, 3),
    { code: 0xdb, dst: 0, src: 1, off: 0, imm: AluOp.ADD }, // lock *(u64 *)(r0 + 0) += r1
    mov64Imm(0, 0),
    exit(),
  ]);
  const { fd, info } = xlatedOf(bpf, code);
  assert.equal(info.xlated_prog_len, code.length + 6 * 8);
  for (let i = 0; i < 2; i++) bpf.progTestRun({ prog_fd: fd, data_in: new Uint8Array(64) });
  assert.deepEqual([...bpf.mapLookup(m, new Uint8Array(4), 8)], [6, 0, 0, 0, 0, 0, 0, 0]);
});
