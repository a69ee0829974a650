/**
 * bpf_check() as the model has it: structural checks with their log lines, fd_array resolution,
 * ld_imm64 pseudo kinds, exclusive maps in both profiles (kernel-semantics §3–§4, real-kernel §3,
 * patch 1/5: the digest is computed up front only for signed loads), and the coverage check of
 * verified programs.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  call,
  callPseudo,
  exit,
  JmpOp,
  ja,
  jmpImm,
  kfuncCall,
  ldBtfId,
  ldImm64,
  ldImm64Raw,
  ldMapFd,
  ldMapIdx,
  ldMapIdxValue,
  ldMapValue,
  mov64Imm,
  progDigest,
} from "../../src/insn/index.js";
import type { ProfileName } from "../../src/kernel/profile.js";
import {
  BpfCmd,
  KeySpec,
  MapType,
  ProgFlag,
  ProgType,
  Pseudo,
  SigKeyring,
  SigVerdict,
} from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { ProgLoadAttr } from "../../src/uapi/layout.js";
import { btfWithInt } from "../support/btf.js";
import {
  insns,
  load,
  mapOf,
  metaMap,
  progOf,
  RET0,
  rawInsn,
  sha256,
  signer,
  socketFilter,
  sys,
  syscallProg,
  trustInSession,
  u32,
  world,
} from "./support.js";

const EXCL_MISMATCH = "program's hash doesn't match map's excl_prog_hash";
const PROFILES: ProfileName[] = ["v2", "mainline-6.18"];

/** A one-entry ARRAY map, optionally exclusive. */
function array(
  bpf: ReturnType<typeof world>["bpf"],
  excl?: Uint8Array,
  map_type: number = MapType.ARRAY,
) {
  const spec =
    map_type === MapType.RINGBUF
      ? { map_type, key_size: 0, value_size: 0, max_entries: 4096 }
      : { map_type, key_size: 4, value_size: 8, max_entries: map_type === MapType.HASH ? 4 : 1 };
  return bpf.mapCreate({ ...spec, ...(excl ? { excl_prog_hash: excl } : {}) });
}

describe("structural checks and their log lines", () => {
  const fail = (code: Uint8Array, errno: number, line: string | RegExp, extra = {}) => {
    const { bpf, kernel } = world();
    const r = load(bpf, socketFilter(code, { log_size: 4096, ...extra }));
    assert.equal(r.errno, errno, r.log);
    if (typeof line === "string") assert.ok(r.log.includes(line), `log:\n${r.log}`);
    else assert.match(r.log, line);
    assert.equal(kernel.progs.size, 0, "no program id was allocated");
    return r;
  };

  test("the last insn must be an exit or a jump", () => {
    fail(insns(mov64Imm(0, 0), mov64Imm(0, 1)), Errno.EINVAL, "last insn is not an exit or jmp");
    fail(insns(mov64Imm(0, 0), ldImm64(1, 5n)), Errno.EINVAL, "last insn is not an exit or jmp");
  });

  test("a trailing JA or JMP32 JA counts as the end of the program", () => {
    const { bpf } = world();
    // reachable (do_check refuses an unreachable trailing jump, as Linux does)
    const r = load(bpf, socketFilter(insns(mov64Imm(0, 0), ja(1), exit(), ja(-2))));
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
    const r32 = load(
      bpf,
      socketFilter(insns(mov64Imm(0, 0), ja(1), exit(), rawInsn(0x06, 0, 0, 0, -2))),
    );
    assert.ok(r32.fd >= 0, `errno ${r32.errno}`);
  });

  test("jumps out of range", () => {
    fail(insns(ja(5), mov64Imm(0, 0), exit()), Errno.EINVAL, "jump out of range from insn 0 to 6");
    fail(
      insns(jmpImm(JmpOp.JEQ, 1, 0, -2), mov64Imm(0, 0), exit()),
      Errno.EINVAL,
      "jump out of range from insn 0 to -1",
    );
    fail(
      insns(mov64Imm(0, 0), rawInsn(0x06, 0, 0, 0, 9), exit()),
      Errno.EINVAL,
      "jump out of range from insn 1 to 11",
    );
  });

  test("a jump into another subprogram is out of range; calls must land inside the program", () => {
    // insn 0 calls the subprogram at 3; insn 1 jumps to 4, inside it
    fail(
      insns(callPseudo(2), ja(2), exit(), mov64Imm(0, 0), exit()),
      Errno.EINVAL,
      "jump out of range from insn 1 to 4",
    );
    fail(insns(callPseudo(7), mov64Imm(0, 0), exit()), Errno.EINVAL, "call to invalid destination");
    fail(
      insns(callPseudo(-2), mov64Imm(0, 0), exit()),
      Errno.EINVAL,
      "call to invalid destination",
    );
    // the subprogram before the callee must end in exit/jmp too
    fail(
      insns(callPseudo(1), mov64Imm(0, 0), mov64Imm(0, 0), exit()),
      Errno.EINVAL,
      "last insn is not an exit or jmp",
    );
  });

  test("a well-formed bpf-to-bpf call loads", () => {
    const { bpf } = world();
    const r = load(bpf, socketFilter(insns(callPseudo(1), exit(), mov64Imm(0, 0), exit())));
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
  });

  test("R11 is invalid, as dst or as src", () => {
    fail(insns(rawInsn(0xb7, 11, 0, 0, 0), RET0), Errno.EINVAL, "R11 is invalid");
    fail(insns(rawInsn(0xbf, 0, 11, 0, 0), RET0), Errno.EINVAL, "R11 is invalid");
    fail(insns(rawInsn(0xbf, 15, 0, 0, 0), RET0), Errno.EINVAL, "R15 is invalid");
  });

  test("unknown opcodes", () => {
    fail(insns(rawInsn(0xff, 0, 0, 0, 0), RET0), Errno.EINVAL, "unknown opcode ff");
    fail(insns(rawInsn(0x8f, 0, 0, 0, 0), RET0), Errno.EINVAL, "unknown opcode 8f"); // NEG has no X form
    fail(insns(rawInsn(0x00, 0, 0, 0, 0), RET0), Errno.EINVAL, "unknown opcode 00");
    fail(insns(rawInsn(0x9d, 0, 0, 0, 0), RET0), Errno.EINVAL, "unknown opcode 9d"); // EXIT|X
  });

  test("ld_imm64: an impure second half → invalid bpf_ld_imm64 insn", () => {
    const [lo, hi] = ldImm64(1, 7n);
    // the second slot is an exit: the pair was cut short
    fail(insns(mov64Imm(0, 0), lo, exit()), Errno.EINVAL, "invalid bpf_ld_imm64 insn");
    fail(insns(lo, { ...hi, dst: 1 }, RET0), Errno.EINVAL, "invalid bpf_ld_imm64 insn");
    fail(insns(lo, { ...hi, src: 1 }, RET0), Errno.EINVAL, "invalid bpf_ld_imm64 insn");
    fail(insns(lo, { ...hi, off: 1 }, RET0), Errno.EINVAL, "invalid bpf_ld_imm64 insn");
  });

  test("ld_imm64: off in the first slot → BPF_LD_IMM64 uses reserved fields", () => {
    const [lo, hi] = ldImm64(1, 7n);
    fail(insns({ ...lo, off: 3 }, hi, RET0), Errno.EINVAL, "BPF_LD_IMM64 uses reserved fields");
  });

  test("ld_imm64: an unknown pseudo src_reg → unrecognized bpf_ld_imm64 insn", () => {
    fail(insns(ldImm64Raw(1, 7, 0, 0), RET0), Errno.EINVAL, "unrecognized bpf_ld_imm64 insn");
    fail(insns(ldImm64Raw(1, 10, 0, 0), RET0), Errno.EINVAL, "unrecognized bpf_ld_imm64 insn");
    // src_reg >= MAX_BPF_REG is caught by the register check that runs first
    fail(insns(ldImm64Raw(1, 11, 0, 0), RET0), Errno.EINVAL, "R11 is invalid");
  });

  test("SYSCALL programs must be sleepable", () => {
    const { bpf } = world();
    const r = load(bpf, { ...syscallProg(RET0), prog_flags: 0, log_size: 4096 });
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /Syscall programs can only be sleepable/);
    const ok = load(bpf, syscallProg(RET0));
    assert.ok(ok.fd >= 0, `sleepable SYSCALL loads (errno ${ok.errno})`);
  });

  test("a sleepable socket filter → EINVAL", () => {
    const r = fail(RET0, Errno.EINVAL, /can be sleepable/, { prog_flags: ProgFlag.SLEEPABLE });
    assert.ok(r.fd < 0);
  });

  test("a sleepable KPROBE loads (can_be_sleepable)", () => {
    const { bpf } = world();
    const r = load(bpf, {
      ...socketFilter(RET0),
      prog_type: ProgType.KPROBE,
      prog_flags: ProgFlag.SLEEPABLE,
    });
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
  });

  test("kfunc calls: negative offset EINVAL, offset without fd_array EPROTO, vmlinux has none", () => {
    fail(
      insns(kfuncCall(5, -1), RET0),
      Errno.EINVAL,
      "negative offset disallowed for kernel module function call",
    );
    fail(
      insns(kfuncCall(5, 1), RET0),
      Errno.EPROTO,
      "kfunc offset > 0 without fd_array is invalid",
    );
    fail(insns(kfuncCall(5, 0), RET0), Errno.EINVAL, "kernel btf_id 5 is not a function");
  });

  test("BPF_PSEUDO_BTF_ID: a vmlinux type that is no VAR/FUNC → EINVAL; an unknown id → EINVAL", () => {
    fail(insns(ldBtfId(1, 5, 0), RET0), Errno.EINVAL, "isn't KIND_VAR or KIND_FUNC");
    fail(insns(ldBtfId(1, 100000, 0), RET0), Errno.EINVAL, "invalid btf_id 100000");
  });

  test("helper calls and a plain ld_imm64 constant are accepted", () => {
    const { bpf, proc } = world();
    const r = load(bpf, socketFilter(insns(ldImm64(1, 0x1122334455667788n), call(5), RET0)));
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
    // an ld_imm64 pair is one processed instruction (as on Linux 6.18)
    assert.equal(progOf(proc, r.fd).aux.verified_insns, 4);
  });

  test("processed line on success", () => {
    const { bpf } = world();
    const r = bpf.progLoad(socketFilter(RET0, { log_size: 4096 }));
    assert.match(r.log, /^processed 2 insns \(limit 1000000\)/m);
  });
});

describe("ld_imm64 map references", () => {
  test("MAP_FD with a closed fd → EBADF, with a program fd → EINVAL; the log names the fd", () => {
    const { bpf } = world();
    const { fd: p } = bpf.progLoad(socketFilter(RET0));
    let r = load(bpf, socketFilter(insns(ldMapFd(1, 42), RET0), { log_size: 4096 }));
    assert.equal(r.errno, Errno.EBADF);
    assert.match(r.log, /fd 42 is not pointing to valid bpf_map\n/);
    r = load(bpf, socketFilter(insns(ldMapFd(1, p), RET0), { log_size: 4096 }));
    assert.equal(r.errno, Errno.EINVAL);
    assert.ok(r.log.includes(`fd ${p} is not pointing to valid bpf_map\n`));
  });

  test("MAP_FD with a non-zero second imm → unrecognized bpf_ld_imm64 insn", () => {
    const { bpf } = world();
    const m = array(bpf);
    const r = load(bpf, socketFilter(insns(ldImm64Raw(1, 1, m, 1), RET0), { log_size: 4096 }));
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /unrecognized bpf_ld_imm64 insn/);
  });

  test("MAP_VALUE: offsets inside the value load, off >= value_size → EINVAL", () => {
    const { bpf } = world();
    const m = array(bpf); // value_size 8
    const ok = load(bpf, socketFilter(insns(ldMapValue(1, m, 7), RET0)));
    assert.ok(ok.fd >= 0, `off 7 (errno ${ok.errno})`);
    for (const off of [8, 100, -1]) {
      const r = load(bpf, socketFilter(insns(ldMapValue(1, m, off), RET0), { log_size: 4096 }));
      assert.equal(r.errno, Errno.EINVAL, `off ${off}`);
      assert.ok(
        r.log.includes(`invalid access to map value pointer, value_size=8 off=${off >>> 0}`),
        r.log,
      );
    }
  });

  test("MAP_VALUE of a multi-entry ARRAY → ENOTSUPP (524); of a HASH → no direct value access", () => {
    const { bpf } = world();
    const multi = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 2,
    });
    let r = load(bpf, socketFilter(insns(ldMapValue(1, multi, 0), RET0), { log_size: 4096 }));
    assert.equal(r.errno, Errno.ENOTSUPP);
    assert.match(r.log, /invalid access to map value pointer, value_size=8 off=0/);
    const hash = array(bpf, undefined, MapType.HASH);
    r = load(bpf, socketFilter(insns(ldMapValue(1, hash, 0), RET0), { log_size: 4096 }));
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /no direct value access support for this map type/);
  });

  test("MAP_IDX without fd_array → EPROTO; an index past the mapped fd_array → EFAULT", () => {
    const { bpf } = world();
    const m = array(bpf);
    let r = load(bpf, socketFilter(insns(ldMapIdx(1, 0), RET0), { log_size: 4096 }));
    assert.equal(r.errno, Errno.EPROTO);
    assert.match(r.log, /fd_idx without fd_array is invalid/);
    r = load(bpf, socketFilter(insns(ldMapIdxValue(1, 0, 0), RET0), { log_size: 4096 }));
    assert.equal(r.errno, Errno.EPROTO);
    r = load(bpf, socketFilter(insns(ldMapIdx(1, 1000), RET0), { fd_array: [m] }));
    assert.equal(r.errno, Errno.EFAULT);
    r = load(bpf, socketFilter(insns(ldMapIdx(1, -1), RET0), { fd_array: [m] }));
    assert.equal(r.errno, Errno.EFAULT);
  });

  test("MAP_IDX reads fd_array lazily when fd_array_cnt is 0; a bad slot names its fd", () => {
    const { bpf } = world();
    const m = array(bpf);
    const ok = load(bpf, socketFilter(insns(ldMapIdx(1, 1), RET0), { fd_array: [-1, m] }));
    assert.ok(ok.fd >= 0, `slot 0 is never read (errno ${ok.errno})`);
    const r = load(
      bpf,
      socketFilter(insns(ldMapIdx(1, 0), RET0), { fd_array: [-1, m], log_size: 4096 }),
    );
    assert.equal(r.errno, Errno.EBADF);
    assert.match(r.log, /fd -1 is not pointing to valid bpf_map\n/);
  });

  test("resolved maps become used_maps (deduplicated, first-use order); the xlated dump names them by id", () => {
    const { bpf } = world();
    const a = array(bpf);
    const b = array(bpf);
    const code = insns(ldMapFd(1, b), ldMapValue(2, a, 0), ldMapIdx(3, 0), RET0);
    const { fd } = bpf.progLoad(socketFilter(code, { fd_array: [b] }));
    const info = bpf.progInfo(fd, { xlated: true });
    assert.deepEqual(info.map_id_list, [bpf.mapInfo(b).id, bpf.mapInfo(a).id]);
    assert.equal(info.nr_map_ids, 2);
    const x = info.xlated!;
    const dv = new DataView(x.buffer, x.byteOffset, x.byteLength);
    // bpf_insn_prepare_dump(): MAP_FD + id for a map, MAP_VALUE + id and offset for a value.
    const slot = (i: number) => [
      x[i * 8 + 1] >> 4,
      dv.getInt32(i * 8 + 4, true),
      dv.getInt32(i * 8 + 12, true),
    ];
    const [idA, idB] = [bpf.mapInfo(a).id, bpf.mapInfo(b).id];
    assert.deepEqual(
      [slot(0), slot(2), slot(4)],
      [
        [Pseudo.MAP_FD, idB, 0],
        [Pseudo.MAP_VALUE, idA, 0],
        [Pseudo.MAP_FD, idB, 0],
      ],
    );
    assert.equal(code[1] >> 4, 1, "the submitted instructions are untouched");
  });

  test("a program holds its maps: closing the map fd keeps the map until the program goes", () => {
    const { bpf, kernel } = world();
    const m = array(bpf);
    const id = bpf.mapInfo(m).id;
    const { fd } = bpf.progLoad(socketFilter(insns(ldMapFd(1, m), RET0)));
    bpf.close(m);
    assert.ok(kernel.maps.get(id));
    bpf.close(fd);
    assert.equal(kernel.maps.get(id), undefined);
  });

  test("a failed load drops the map references it took", () => {
    const { bpf, proc } = world();
    const m = array(bpf);
    const before = mapOf(proc, m).refcnt;
    const r = load(
      bpf,
      socketFilter(insns(ldMapFd(1, m), mov64Imm(0, 0)), { fd_array: [m], fd_array_cnt: 1 }),
    );
    assert.equal(r.errno, Errno.EINVAL);
    assert.equal(mapOf(proc, m).refcnt, before);
  });
});

describe("func_info and line_info (check_btf_info)", () => {
  /** A raw socket-filter load with BTF info fields and a log. */
  const withInfo = (
    w: ReturnType<typeof world>,
    over: Partial<Record<keyof typeof ProgLoadAttr, number | bigint>>,
  ) => {
    const logBuf = w.proc.memory.alloc(4096);
    const ret = sys(w.proc, BpfCmd.PROG_LOAD, ProgLoadAttr, {
      prog_type: ProgType.SOCKET_FILTER,
      insn_cnt: 2,
      insns: w.proc.memory.alloc(RET0),
      license: w.proc.memory.alloc(new TextEncoder().encode("GPL\0")),
      log_level: 1,
      log_size: 4096,
      log_buf: logBuf,
      ...over,
    } as Parameters<typeof sys<typeof ProgLoadAttr>>[3]).ret;
    const raw = w.proc.memory.read(logBuf, 4096);
    return { ret, log: new TextDecoder().decode(raw.subarray(0, raw.indexOf(0))) };
  };
  /** One 8-byte bpf_func_info record: insn_off, type_id. */
  const funcInfo = (w: ReturnType<typeof world>, insn_off = 0) => {
    const rec = new Uint8Array(8);
    new DataView(rec.buffer).setUint32(0, insn_off, true);
    return w.proc.memory.alloc(rec);
  };

  test("records with the program's BTF load, and show in prog info", () => {
    const w = world();
    const btf = w.bpf.btfLoad(btfWithInt()).fd;
    const r = withInfo(w, {
      prog_btf_fd: btf,
      func_info_rec_size: 8,
      func_info_cnt: 1,
      func_info: funcInfo(w),
    });
    assert.ok(r.ret >= 3, r.log);
    const info = w.bpf.progInfo(r.ret);
    assert.equal(info.nr_func_info, 1);
    assert.equal(info.func_info_rec_size, 8);
    assert.ok(info.btf_id > 0);
  });

  test("prog_btf_fd closed → EBADF; stdin or a map → EINVAL", () => {
    const w = world();
    const m = array(w.bpf);
    const info = { func_info_rec_size: 8, func_info_cnt: 1, func_info: funcInfo(w) };
    assert.equal(withInfo(w, { ...info, prog_btf_fd: 99 }).ret, -Errno.EBADF);
    assert.equal(withInfo(w, { ...info, prog_btf_fd: 0 }).ret, -Errno.EINVAL);
    assert.equal(withInfo(w, { ...info, prog_btf_fd: m }).ret, -Errno.EINVAL);
  });

  test("bad record sizes, a faulting array, a non-zero first insn_off", () => {
    const w = world();
    const btf = w.bpf.btfLoad(btfWithInt()).fd;
    const base = { prog_btf_fd: btf, func_info_cnt: 1, func_info: funcInfo(w) };
    for (const size of [4, 10, 256]) {
      const r = withInfo(w, { ...base, func_info_rec_size: size });
      assert.equal(r.ret, -Errno.EINVAL);
      assert.ok(r.log.includes(`invalid func info rec size ${size}\n`), r.log);
    }
    assert.equal(
      withInfo(w, { ...base, func_info_rec_size: 8, func_info: 0x10n }).ret,
      -Errno.EFAULT,
    );
    const r = withInfo(w, { ...base, func_info_rec_size: 8, func_info: funcInfo(w, 1) });
    assert.equal(r.ret, -Errno.EINVAL);
    assert.match(r.log, /nonzero insn_off 1 for the first func info record/);
    const l = withInfo(w, {
      prog_btf_fd: btf,
      line_info_rec_size: 8,
      line_info_cnt: 1,
      line_info: funcInfo(w),
    });
    assert.equal(l.ret, -Errno.EINVAL);
    assert.match(l.log, /invalid line_info_rec_size 8/);
  });
});

describe("fd_array with fd_array_cnt (process_fd_array)", () => {
  test("a program fd → EINVAL, a closed fd → EBADF, each with the log line", () => {
    const { bpf } = world();
    const { fd: p } = bpf.progLoad(socketFilter(RET0));
    let r = load(bpf, socketFilter(RET0, { fd_array: [p], fd_array_cnt: 1, log_size: 4096 }));
    assert.equal(r.errno, Errno.EINVAL);
    assert.ok(r.log.includes(`fd ${p} is not pointing to valid bpf_map or btf\n`), r.log);
    r = load(bpf, socketFilter(RET0, { fd_array: [77], fd_array_cnt: 1, log_size: 4096 }));
    assert.equal(r.errno, Errno.EBADF);
    assert.ok(r.log.includes("fd 77 is not pointing to valid bpf_map or btf\n"), r.log);
  });

  test("entries are processed in order: the first bad one decides", () => {
    const { bpf } = world();
    const m = array(bpf);
    const r = load(
      bpf,
      socketFilter(RET0, { fd_array: [m, 70, 71], fd_array_cnt: 3, log_size: 4096 }),
    );
    assert.equal(r.errno, Errno.EBADF);
    assert.match(r.log, /fd 70 is not pointing/);
    assert.doesNotMatch(r.log, /fd 71/);
  });

  test("fd_array NULL with fd_array_cnt 1 → EFAULT; a count past the array → EFAULT", () => {
    const { bpf } = world();
    const m = array(bpf);
    assert.equal(load(bpf, socketFilter(RET0, { fd_array_cnt: 1 })).errno, Errno.EFAULT);
    assert.equal(
      load(bpf, socketFilter(RET0, { fd_array: [m], fd_array_cnt: 5 })).errno,
      Errno.EFAULT,
    );
  });

  test("fd_array_cnt >= U32_MAX / 4 → EINVAL with the count in the log", () => {
    const { bpf } = world();
    const r = load(
      bpf,
      socketFilter(RET0, { fd_array: [0], fd_array_cnt: 0x3fffffff, log_size: 4096 }),
    );
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /fd_array_cnt is too big \(1073741823\)/);
  });

  test("maps are bound even when no instruction uses them; duplicates count once", () => {
    const { bpf } = world();
    const a = array(bpf);
    const b = array(bpf);
    const a2 = bpf.mapGetFdById(bpf.mapInfo(a).id);
    const { fd } = bpf.progLoad(socketFilter(RET0, { fd_array: [b, a, b, a2], fd_array_cnt: 4 }));
    assert.deepEqual(bpf.progInfo(fd).map_id_list, [bpf.mapInfo(b).id, bpf.mapInfo(a).id]);
  });

  test("BTF fds go to used_btfs; an unsigned program with BTF in fd_array loads", () => {
    const { bpf, proc } = world();
    const btf = bpf.btfLoad(btfWithInt()).fd;
    const m = array(bpf);
    const { fd } = bpf.progLoad(socketFilter(RET0, { fd_array: [btf, m, btf], fd_array_cnt: 3 }));
    const p = progOf(proc, fd);
    assert.equal(p.aux.used_btfs.length, 1);
    assert.equal(p.aux.used_maps.length, 1);
    assert.equal(p.aux.sig.verdict, SigVerdict.UNSIGNED);
  });

  test("more than 64 distinct maps → E2BIG with the limit in the log", () => {
    const { bpf } = world();
    const maps = Array.from({ length: 65 }, () => array(bpf));
    const ok = load(bpf, socketFilter(RET0, { fd_array: maps.slice(0, 64), fd_array_cnt: 64 }));
    assert.ok(ok.fd >= 0, `64 maps (errno ${ok.errno})`);
    const r = load(bpf, socketFilter(RET0, { fd_array: maps, fd_array_cnt: 65, log_size: 4096 }));
    assert.equal(r.errno, Errno.E2BIG);
    assert.match(r.log, /The total number of maps per program has reached the limit of 64/);
  });
});

describe("exclusive maps (excl_prog_hash vs prog->digest)", () => {
  // P = { r1 = map (ld_imm64); r0 = 0; exit }, Q = P with one more insn, T = { r0 = 0; exit }
  const P = (fd: number) => insns(ldMapFd(1, fd), RET0);
  const Q = (fd: number) => insns(ldMapFd(1, fd), mov64Imm(0, 1), RET0);
  const P_IDX = insns(ldMapIdx(1, 0), RET0);
  const Q_IDX = insns(ldMapIdx(1, 0), mov64Imm(0, 1), RET0);
  const T = RET0;
  /** The digest computed independently: sha256 of P with the map fd imm zeroed. */
  const P_DIGEST = sha256(P(0));

  test("the model's digest is sha256 of the insns with MAP_FD imms zeroed", () => {
    assert.deepEqual(progDigest(P(17)), P_DIGEST);
    assert.deepEqual(progDigest(P_IDX), sha256(P_IDX), "MAP_IDX is hashed as-is");
  });

  for (const profile of PROFILES) {
    describe(profile, () => {
      test("P via MAP_FD loads, twice, with different fds for the map; tag = digest[0..8]", () => {
        const { bpf } = world({ profile });
        const m = array(bpf, P_DIGEST);
        const first = load(bpf, socketFilter(P(m)));
        assert.ok(first.fd >= 0, `errno ${first.errno}`);
        const m2 = bpf.mapGetFdById(bpf.mapInfo(m).id);
        const second = load(bpf, socketFilter(P(m2)));
        assert.ok(second.fd >= 0, "exclusivity is not one-shot");
        assert.deepEqual(bpf.progInfo(first.fd).tag, P_DIGEST.subarray(0, 8));
      });

      test("another program (Q) → EACCES with the log line", () => {
        const { bpf, kernel } = world({ profile });
        const m = array(bpf, P_DIGEST);
        const r = load(bpf, socketFilter(Q(m), { log_size: 4096 }));
        assert.equal(r.errno, Errno.EACCES);
        assert.ok(r.log.includes(EXCL_MISMATCH), r.log);
        assert.equal(kernel.progs.size, 0);
      });

      test("P written as MAP_IDX is another program → EACCES", () => {
        const { bpf } = world({ profile });
        const m = array(bpf, P_DIGEST);
        const r = load(bpf, socketFilter(P_IDX, { fd_array: [m], log_size: 4096 }));
        assert.equal(r.errno, Errno.EACCES);
        assert.ok(r.log.includes(EXCL_MISMATCH));
      });

      test("a map keyed to sha256 of the raw MAP_FD form (fd still in imm) → EACCES", () => {
        const { bpf } = world({ profile });
        const fd = 3 + 0; // the map below gets the lowest free fd
        const m = array(bpf, sha256(P(fd)));
        assert.equal(m, fd);
        const r = load(bpf, socketFilter(P(m)));
        assert.equal(r.errno, Errno.EACCES);
      });

      test("P_IDX through fd_array without fd_array_cnt loads (digest computed before MAP_IDX)", () => {
        const { bpf } = world({ profile });
        const m = array(bpf, sha256(P_IDX));
        const r = load(bpf, socketFilter(P_IDX, { fd_array: [m] }));
        assert.ok(r.fd >= 0, `errno ${r.errno}`);
        assert.equal(load(bpf, socketFilter(Q_IDX, { fd_array: [m] })).errno, Errno.EACCES);
      });

      test("unsigned + fd_array_cnt: the digest is still zero, so the matching program → EACCES", () => {
        const { bpf } = world({ profile });
        const m = array(bpf, sha256(P_IDX));
        const r = load(
          bpf,
          socketFilter(P_IDX, { fd_array: [m], fd_array_cnt: 1, log_size: 4096 }),
        );
        assert.equal(r.errno, Errno.EACCES);
        assert.ok(r.log.includes(EXCL_MISMATCH));
        const t = bpf.mapCreate({
          map_type: MapType.ARRAY,
          key_size: 4,
          value_size: 8,
          max_entries: 1,
          excl_prog_hash: sha256(T),
        });
        assert.equal(
          load(bpf, socketFilter(T, { fd_array: [t], fd_array_cnt: 1 })).errno,
          Errno.EACCES,
        );
        const plain = load(bpf, socketFilter(T));
        assert.ok(plain.fd >= 0, "T itself loads without the map");
      });

      test("unsigned + fd_array_cnt: a zero-hash exclusive map is accepted for ANY program", () => {
        const { bpf } = world({ profile });
        const zero = array(bpf, new Uint8Array(32));
        for (const [name, code] of [
          ["T", T],
          ["P_IDX", P_IDX],
          ["Q_IDX", Q_IDX],
        ] as const) {
          const r = load(bpf, socketFilter(code, { fd_array: [zero], fd_array_cnt: 1 }));
          assert.ok(r.fd >= 0, `${name} (errno ${r.errno})`);
          assert.deepEqual(bpf.progInfo(r.fd).map_id_list, [bpf.mapInfo(zero).id]);
        }
      });

      test("a zero-hash map through fd_array without cnt, or through MAP_FD → EACCES", () => {
        const { bpf } = world({ profile });
        const zero = array(bpf, new Uint8Array(32));
        assert.equal(load(bpf, socketFilter(P_IDX, { fd_array: [zero] })).errno, Errno.EACCES);
        assert.equal(load(bpf, socketFilter(P(zero))).errno, Errno.EACCES);
      });

      test("control: a non-exclusive map through fd_array_cnt serves T and P_IDX", () => {
        const { bpf } = world({ profile });
        const m = array(bpf);
        for (const code of [T, P_IDX]) {
          const r = load(bpf, socketFilter(code, { fd_array: [m], fd_array_cnt: 1 }));
          assert.ok(r.fd >= 0, `errno ${r.errno}`);
        }
      });

      for (const [name, type] of [
        ["HASH", MapType.HASH],
        ["PERCPU_ARRAY", MapType.PERCPU_ARRAY],
        ["RINGBUF", MapType.RINGBUF],
      ] as const) {
        test(`${name}: P loads, Q → EACCES`, () => {
          const { bpf } = world({ profile });
          const m = array(bpf, P_DIGEST, type);
          const ok = load(bpf, socketFilter(P(m)));
          assert.ok(ok.fd >= 0, `errno ${ok.errno}`);
          assert.equal(load(bpf, socketFilter(Q(m))).errno, Errno.EACCES);
        });
      }
    });
  }

  test("v2, signed: the digest is computed up front, so a zero-hash map is refused before the signature", () => {
    const { bpf } = world({ profile: "v2" });
    const zero = metaMap(bpf, new Uint8Array(16), { excl: new Uint8Array(32) });
    const r = load(
      bpf,
      syscallProg(T, {
        fd_array: [zero],
        fd_array_cnt: 1,
        signature: new Uint8Array([0x30, 0x42, 0x13, 0x37]),
        keyring_id: KeySpec.SESSION_KEYRING,
        log_size: 4096,
      }),
    );
    assert.equal(r.errno, Errno.EACCES);
    assert.ok(r.log.includes(EXCL_MISMATCH));
    assert.doesNotMatch(r.log, /signature verification/);
  });

  test("v2, signed: the matching map passes the exclusivity check and the signature decides", () => {
    const { bpf } = world({ profile: "v2" });
    const m = metaMap(bpf, new Uint8Array(16), { excl: sha256(T) });
    const r = load(
      bpf,
      syscallProg(T, {
        fd_array: [m],
        fd_array_cnt: 1,
        signature: new Uint8Array([0x30, 0x42, 0x13, 0x37]),
        keyring_id: KeySpec.SESSION_KEYRING,
        log_size: 4096,
      }),
    );
    assert.equal(r.errno, Errno.EBADMSG);
    assert.match(r.log, /signature verification failed: -74/);
  });
});

describe("coverage check of verified programs", () => {
  const s = signer();
  const VALUE = new Uint8Array(24).map((_, i) => i + 1);

  /** A signed SYSCALL load of `code` with `fd_array` (the first `cnt` slots bound). */
  const signedLoad = (
    w: ReturnType<typeof world>,
    code: Uint8Array,
    fd_array: number[],
    cnt: number,
    signedValues: Uint8Array[],
  ) =>
    load(
      w.bpf,
      syscallProg(code, {
        fd_array,
        fd_array_cnt: cnt,
        signature: s.sign(code, ...signedValues),
        keyring_id: KeySpec.SESSION_KEYRING,
        log_size: 4096,
      }),
    );

  test("an extra map reached by ld_imm64 MAP_FD → EACCES: maps not covered", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const extra = array(w.bpf);
    const code = insns(ldMapFd(1, extra), RET0);
    const meta = metaMap(w.bpf, VALUE, { excl: progDigest(code) });
    const r = signedLoad(w, code, [meta], 1, [VALUE]);
    assert.equal(r.errno, Errno.EACCES, r.log);
    assert.match(r.log, /signature verification passed/);
    assert.match(r.log, /signed program uses maps not covered by the signature/);
    assert.equal(w.kernel.progs.size, 0);
  });

  test("an extra map and a BTF → maps and BTF", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const extra = array(w.bpf);
    const btf = w.bpf.btfLoad(btfWithInt()).fd;
    const code = insns(ldMapFd(1, extra), RET0);
    const meta = metaMap(w.bpf, VALUE, { excl: progDigest(code) });
    const r = signedLoad(w, code, [meta, btf], 2, [VALUE]);
    assert.equal(r.errno, Errno.EACCES);
    assert.match(r.log, /signed program uses maps and BTF not covered by the signature/);
  });

  test("a map in an fd_array slot past fd_array_cnt, reached by MAP_IDX → maps", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const code = insns(ldMapIdx(1, 1), RET0);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(code) });
    const swapped = metaMap(w.bpf, VALUE, { excl: sha256(code), name: "swapped" });
    const r = signedLoad(w, code, [meta, swapped], 1, [VALUE]);
    assert.equal(r.errno, Errno.EACCES);
    assert.match(r.log, /signed program uses maps not covered by the signature/);
  });

  test("signed without bound maps, then an instruction binds one → maps", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const extra = array(w.bpf);
    const code = insns(ldMapFd(1, extra), RET0);
    const r = signedLoad(w, code, [], 0, []);
    assert.equal(r.errno, Errno.EACCES);
    assert.match(r.log, /signed program uses maps not covered/);
  });

  test("an instruction that reaches the folded map itself is covered: the load is VERIFIED", () => {
    const w = world();
    trustInSession(w.bpf, s);
    const code = insns(ldMapIdxValue(1, 0, 0), RET0);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(code) });
    const r = signedLoad(w, code, [meta], 1, [VALUE]);
    assert.ok(r.fd >= 0, `errno ${r.errno}\n${r.log}`);
    const p = progOf(w.proc, r.fd);
    assert.equal(p.aux.sig.verdict, SigVerdict.VERIFIED);
    assert.equal(p.aux.sig.keyring_type, SigKeyring.USER);
    assert.equal(p.aux.used_maps.length, 1);
  });

  test("unsigned programs may use extra maps and BTF freely", () => {
    const w = world();
    const extra = array(w.bpf);
    const btf = w.bpf.btfLoad(btfWithInt()).fd;
    const meta = metaMap(w.bpf, VALUE, { excl: null });
    const r = load(
      w.bpf,
      syscallProg(insns(ldMapFd(1, extra), RET0), { fd_array: [meta, btf], fd_array_cnt: 2 }),
    );
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
    assert.equal(progOf(w.proc, r.fd).aux.sig.verdict, SigVerdict.UNSIGNED);
  });

  test("the raw attr path: BPF_PROG_LOAD with the signature pointer set but unsigned maps", () => {
    const w = world();
    const ret = sys(w.proc, BpfCmd.PROG_LOAD, ProgLoadAttr, {
      prog_type: ProgType.SOCKET_FILTER,
      insn_cnt: 2,
      insns: w.proc.memory.alloc(RET0),
      license: w.proc.memory.alloc(new TextEncoder().encode("GPL\0")),
      signature: w.proc.memory.alloc(u32(0)),
      signature_size: 4,
      keyring_id: KeySpec.USER_KEYRING,
    }).ret;
    assert.equal(ret, -Errno.EBADMSG, "a signature pointer makes it a signed load");
  });
});
