import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
} from "../../src/insn/index.js";
import { BtfKind } from "../../src/kernel/btf.js";
import type { ModelKernel } from "../../src/kernel/kernel.js";
import type { Caps, ModelProcess } from "../../src/kernel/process.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { BPF_F_SLEEPABLE, BpfCmd, Helper, MapType, ProgType } from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { encode, MapCreateAttr } from "../../src/uapi/layout.js";
import { buildSkb, createModelKernel, KALLSYMS, vmlinuxBtf } from "../../src/vm/index.js";
import { skbCtxOut } from "../../src/vm/skb.js";

function buildSkbOrThrow(f: Uint8Array, ctx: Uint8Array) {
  const s = buildSkb(f, ctx, false);
  if (typeof s === "number") throw new Error(`buildSkb: ${s}`);
  return s;
}

interface Env {
  kernel: ModelKernel;
  proc: ModelProcess;
  bpf: Bpf;
}

function env(caps: Partial<Caps> = {}): Env {
  const kernel = createModelKernel();
  const proc = kernel.spawn(caps);
  return { kernel, proc, bpf: new Bpf(proc) };
}

function loadSyscall(e: Env, insns: Insn[]): number {
  return e.bpf.progLoad({
    prog_type: ProgType.SYSCALL,
    insns: encodeInsns(insns),
    prog_flags: BPF_F_SLEEPABLE,
    license: "GPL",
  }).fd;
}

/** Where the ctx copy lives on the stack (see sysRun). */
const CTX_COPY = -256;

/**
 * Loads a SYSCALL program (r6 = ctx first) and runs it once with `ctx`. The verifier refuses
 * a ctx pointer as a helper's memory argument (as Linux does), so the program works on a
 * copy of the ctx on the stack: copied in first, copied back before each exit (r7 is
 * scratch). `ctxPtr` points into that copy.
 */
function sysRun(e: Env, body: Insn[], ctx: Uint8Array) {
  const n = ctx.length;
  const copyIn: Insn[] = [];
  const copyOut: Insn[] = [];
  for (let i = 0; i < n; i++) {
    copyIn.push(ldxMem(Size.B, 7, 6, i), stxMem(Size.B, 10, 7, CTX_COPY + i));
    copyOut.push(ldxMem(Size.B, 7, 10, CTX_COPY + i), stxMem(Size.B, 6, 7, i));
  }
  const hasJumps = body.some(
    (i) => (i.code & 7) === 5 && (i.code & 0xf0) !== 0x80 && (i.code & 0xf0) !== 0x90,
  );
  const usesCopy =
    body.some((i) => i.src === 10 || i.dst === 10) ||
    body.some((i) => i.code === 0xbf && i.src === 6);
  const wrapped =
    usesCopy && !hasJumps ? body.flatMap((i) => (i.code === 0x95 ? [...copyOut, i] : [i])) : body;
  const fd = loadSyscall(e, [mov64Reg(6, 1), ...(usesCopy && !hasJumps ? copyIn : []), ...wrapped]);
  const r = e.bpf.progTestRun({ prog_fd: fd, ctx_in: ctx });
  return { retval: r.retval | 0, ctx: r.ctx ?? new Uint8Array(0), fd };
}

/** rN = the ctx copy on the stack + off (see sysRun) */
const ctxPtr = (reg: number, off: number): Insn[] => [
  mov64Reg(reg, 10),
  alu64Imm(AluOp.ADD, reg, CTX_COPY + off),
];

function cstr(s: string, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set(new TextEncoder().encode(s));
  return b;
}

/** Copies `n` bytes (multiple of 8) from ctx to the stack at fp-n, r2 = fp-n. */
function ctxToStack(n: number): Insn[] {
  const out: Insn[] = [];
  for (let i = 0; i < n; i += 8) out.push(ldxMem(Size.DW, 0, 6, i), stxMem(Size.DW, 10, 0, -n + i));
  return [...out, mov64Reg(2, 10), alu64Imm(AluOp.ADD, 2, -n)];
}

describe("bpf_sys_bpf", () => {
  const createAttr = (mapType: number) =>
    encode(
      MapCreateAttr,
      {
        map_type: mapType,
        key_size: 4,
        value_size: 8,
        max_entries: 3,
        map_name: new TextEncoder().encode("from_sys_bpf"),
      },
      72,
    );
  const prog = (cmd: number) => [
    ...ctxToStack(72),
    mov64Imm(1, cmd),
    mov64Imm(3, 72),
    call(Helper.sys_bpf),
    exit(),
  ];

  it("creates a map from an attr in program memory; the fd lands in the caller's process", () => {
    const e = env();
    const r = sysRun(e, prog(BpfCmd.MAP_CREATE), createAttr(MapType.ARRAY));
    assert.ok(r.retval > r.fd, `fd ${r.retval}`);
    const info = e.bpf.mapInfo(r.retval);
    assert.deepEqual([info.type, info.max_entries, info.name], [MapType.ARRAY, 3, "from_sys_bpf"]);
  });
  it("errors of the inner command come back in retval", () => {
    const e = env();
    assert.equal(sysRun(e, prog(BpfCmd.MAP_CREATE), createAttr(0xffff)).retval, -Errno.EINVAL);
  });
  it("commands a SYSCALL program may not issue are EINVAL", () => {
    const e = env();
    for (const cmd of [BpfCmd.MAP_LOOKUP_ELEM, BpfCmd.PROG_TEST_RUN, BpfCmd.OBJ_GET_INFO_BY_FD]) {
      assert.equal(sysRun(e, prog(cmd), createAttr(MapType.ARRAY)).retval, -Errno.EINVAL);
    }
  });
});

describe("SYSCALL test runs", () => {
  it("refuse a ctx smaller than the furthest ctx access, and data_in", () => {
    const e = env();
    const fd = loadSyscall(e, [ldxMem(Size.W, 0, 1, 60), exit()]);
    const errno = (f: () => unknown) => {
      try {
        f();
        return 0;
      } catch (x) {
        return x instanceof BpfError ? x.errno : -1;
      }
    };
    assert.equal(
      errno(() => e.bpf.progTestRun({ prog_fd: fd, ctx_in: new Uint8Array(63) })),
      Errno.EINVAL,
    );
    assert.equal(
      errno(() => e.bpf.progTestRun({ prog_fd: fd })),
      Errno.EINVAL,
    );
    assert.equal(
      errno(() =>
        e.bpf.progTestRun({ prog_fd: fd, ctx_in: new Uint8Array(64), data_in: new Uint8Array(14) }),
      ),
      Errno.EINVAL,
    );
    assert.equal(
      e.bpf.progTestRun({ prog_fd: fd, ctx_in: new Uint8Array(64).fill(1) }).retval,
      0x01010101,
    );
  });
  it("copy the ctx back and report a fault as EFAULT with the reason kept", () => {
    const e = env();
    const w = sysRun(e, [stMem(Size.W, 6, 4, 77), mov64Imm(0, 0), exit()], new Uint8Array(8));
    assert.deepEqual([...w.ctx], [0, 0, 0, 0, 77, 0, 0, 0]);
    // A NULL dereference no longer reaches the interpreter: do_check refuses it at load.
    assert.throws(
      () => sysRun(e, [mov64Imm(1, 0), ldxMem(Size.DW, 0, 1, 16), exit()], new Uint8Array(8)),
      (x: unknown) => x instanceof BpfError && x.errno === Errno.EACCES,
    );
  });
});

describe("SYSCALL helpers", () => {
  it("bpf_btf_find_by_name_kind looks in the model vmlinux BTF", () => {
    const e = env();
    const find = (name: Uint8Array, size: number, kind: number, flags = 0) =>
      sysRun(
        e,
        [
          ...ctxPtr(1, 0),
          mov64Imm(2, size),
          mov64Imm(3, kind),
          mov64Imm(4, flags),
          call(Helper.btf_find_by_name_kind),
          exit(),
        ],
        name,
      ).retval;
    const id = vmlinuxBtf().findByNameKind("task_struct", BtfKind.STRUCT);
    assert.ok(id > 0);
    assert.equal(find(cstr("task_struct", 16), 12, BtfKind.STRUCT), id);
    assert.equal(find(cstr("task_struct", 16), 12, BtfKind.TYPEDEF), -Errno.ENOENT);
    assert.equal(find(cstr("no_such_type", 16), 13, BtfKind.STRUCT), -Errno.ENOENT);
    assert.equal(
      find(cstr("task_struct", 16), 11, BtfKind.STRUCT),
      -Errno.EINVAL,
      "not NUL-terminated",
    );
    assert.equal(find(cstr("task_struct", 16), 12, BtfKind.STRUCT, 1), -Errno.EINVAL, "flags");
  });
  it("bpf_kallsyms_lookup_name writes the address or 0", () => {
    const look = (e: Env, name: string, size: number, flags = 0) => {
      const ctx = cstr(name, 40);
      ctx.fill(0xee, 32);
      const r = sysRun(
        e,
        [
          ...ctxPtr(1, 0),
          mov64Imm(2, size),
          mov64Imm(3, flags),
          ...ctxPtr(4, 32),
          call(Helper.kallsyms_lookup_name),
          exit(),
        ],
        ctx,
      );
      return {
        ret: r.retval,
        res: new DataView(r.ctx.buffer, r.ctx.byteOffset).getBigUint64(32, true),
      };
    };
    const e = env();
    assert.deepEqual(look(e, "bpf_sys_bpf", 12), { ret: 0, res: KALLSYMS.get("bpf_sys_bpf") });
    assert.deepEqual(look(e, "not_a_symbol", 13), { ret: -Errno.ENOENT, res: 0n });
    assert.deepEqual(look(e, "bpf_sys_bpf", 12, 1), { ret: -Errno.EINVAL, res: 0n });
    assert.deepEqual(look(e, "bpf_sys_bpf", 1), { ret: -Errno.EINVAL, res: 0n });
    assert.deepEqual(look(env({ sys_admin: false }), "bpf_sys_bpf", 12), {
      ret: -Errno.EPERM,
      res: 0n,
    });
  });
  it("bpf_sys_close closes an fd of the calling process", () => {
    const e = env();
    const mapFd = e.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 4,
      max_entries: 1,
    });
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setInt32(0, mapFd, true);
    const body = [ldxMem(Size.W, 1, 6, 0), call(Helper.sys_close), exit()];
    assert.equal(sysRun(e, body, ctx).retval, 0);
    assert.equal(e.proc.file(mapFd), undefined);
    new DataView(ctx.buffer).setInt32(0, 900, true);
    assert.equal(sysRun(e, body, ctx).retval, -Errno.EBADF);
  });
  it("bpf_probe_read_kernel zero-fills on failure (the loader prologue's bzero)", () => {
    const e = env();
    const body = [
      ...ctxPtr(1, 0),
      mov64Imm(2, 16),
      mov64Imm(3, 0),
      call(Helper.probe_read_kernel),
      exit(),
    ];
    const r = sysRun(e, body, new Uint8Array(16).fill(0xaa));
    assert.equal(r.retval, -Errno.ERANGE);
    assert.deepEqual([...r.ctx], new Array(16).fill(0));
    // a kernel address that is mapped: the program's own stack
    const ok = sysRun(
      e,
      [
        stMem(Size.DW, 10, -8, 1234),
        ...ctxPtr(1, 0),
        mov64Imm(2, 8),
        mov64Reg(3, 10),
        alu64Imm(AluOp.ADD, 3, -8),
        call(Helper.probe_read_kernel),
        exit(),
      ],
      new Uint8Array(8),
    );
    assert.equal(ok.retval, 0);
    assert.equal(new DataView(ok.ctx.buffer, ok.ctx.byteOffset).getBigUint64(0, true), 1234n);
  });
  it("bpf_copy_from_user reads the caller's memory, -EFAULT and zeros otherwise", () => {
    const e = env();
    const user = e.proc.memory.alloc(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const ctx = new Uint8Array(16);
    const dv = new DataView(ctx.buffer);
    dv.setBigUint64(8, user, true);
    const body = [
      ...ctxPtr(1, 0),
      mov64Imm(2, 8),
      ldxMem(Size.DW, 3, 6, 8),
      call(Helper.copy_from_user),
      exit(),
    ];
    const r = sysRun(e, body, ctx);
    assert.equal(r.retval, 0);
    assert.deepEqual([...r.ctx.subarray(0, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
    dv.setBigUint64(8, 0x20n, true);
    ctx.fill(9, 0, 8);
    const bad = sysRun(e, body, ctx);
    assert.equal(bad.retval, -Errno.EFAULT);
    assert.deepEqual([...bad.ctx.subarray(0, 8)], new Array(8).fill(0));
  });
  it("bpf_trace_printk writes to the kernel's trace buffer", () => {
    const e = env();
    const fmt = cstr("x=%d u=%u %s|\n", 24);
    const ctx = new Uint8Array(32);
    ctx.set(fmt);
    ctx.set(cstr("hi", 8), 24);
    const r = sysRun(
      e,
      [
        ...ctxPtr(1, 0),
        mov64Imm(2, 24),
        mov64Imm(3, -5),
        mov64Imm(4, -1),
        ...ctxPtr(5, 24),
        call(Helper.trace_printk),
        exit(),
      ],
      ctx,
    );
    assert.deepEqual(e.kernel.trace, ["x=-5 u=4294967295 hi|\n"]);
    assert.equal(r.retval, "x=-5 u=4294967295 hi|\n".length);
    const bad = cstr("%q", 8);
    assert.equal(
      sysRun(e, [...ctxPtr(1, 0), mov64Imm(2, 3), call(Helper.trace_printk), exit()], bad).retval,
      -Errno.EINVAL,
    );
  });
});

describe("socket filter test runs", () => {
  const frame = (n: number) => {
    const f = new Uint8Array(n);
    f[12] = 0x08; // IPv4
    for (let i = 14; i < n; i++) f[i] = i;
    return f;
  };
  const load = (e: Env, insns: Insn[]) =>
    e.bpf.progLoad({ prog_type: ProgType.SOCKET_FILTER, insns: encodeInsns(insns), license: "GPL" })
      .fd;

  it("see skb->len without the Ethernet header, protocol and the packet through LD_ABS", () => {
    const e = env();
    const lenFd = load(e, [ldxMem(Size.W, 0, 1, 0), exit()]);
    assert.equal(e.bpf.progTestRun({ prog_fd: lenFd, data_in: frame(64) }).retval, 50);
    const protoFd = load(e, [ldxMem(Size.W, 0, 1, 16), exit()]);
    assert.equal(e.bpf.progTestRun({ prog_fd: protoFd, data_in: frame(64) }).retval, 0x0008);
    const abs = load(e, [mov64Reg(6, 1), { code: 0x28, dst: 0, src: 0, off: 0, imm: 2 }, exit()]);
    assert.equal(e.bpf.progTestRun({ prog_fd: abs, data_in: frame(64) }).retval, (16 << 8) | 17);
    const past = load(e, [
      mov64Reg(6, 1),
      mov64Imm(0, 7),
      { code: 0x20, dst: 0, src: 0, off: 0, imm: 48 },
      exit(),
    ]);
    assert.equal(
      e.bpf.progTestRun({ prog_fd: past, data_in: frame(64) }).retval,
      0,
      "short packet ends with 0",
    );
  });
  it("bpf_skb_load_bytes copies from skb->data", () => {
    const e = env();
    const fd = load(e, [
      mov64Imm(2, 4),
      mov64Reg(3, 10),
      alu64Imm(AluOp.ADD, 3, -8),
      mov64Imm(4, 4),
      call(26),
      jmpImm(JmpOp.JNE, 0, 0, 1),
      ldxMem(Size.W, 0, 10, -8),
      exit(),
    ]);
    assert.equal(e.bpf.progTestRun({ prog_fd: fd, data_in: frame(64) }).retval, 0x15141312);
    assert.equal(e.bpf.progTestRun({ prog_fd: fd, data_in: frame(20) }).retval | 0, -Errno.EFAULT);
  });
  it("hash map helpers: lookup, update, delete", () => {
    const e = env();
    const map = e.bpf.mapCreate({
      map_type: MapType.HASH,
      key_size: 4,
      value_size: 8,
      max_entries: 4,
    });
    const fd = load(e, [
      stMem(Size.W, 10, -4, 7),
      ...ldMapFd(1, map),
      mov64Reg(2, 10),
      alu64Imm(AluOp.ADD, 2, -4),
      call(Helper.map_lookup_elem),
      jmpImm(JmpOp.JEQ, 0, 0, 4),
      ldxMem(Size.DW, 1, 0, 0),
      alu64Imm(AluOp.ADD, 1, 1),
      stxMem(Size.DW, 0, 1, 0),
      { code: 0x05, dst: 0, src: 0, off: 10, imm: 0 },
      stMem(Size.DW, 10, -16, 5),
      ...ldMapFd(1, map),
      mov64Reg(2, 10),
      alu64Imm(AluOp.ADD, 2, -4),
      mov64Reg(3, 10),
      alu64Imm(AluOp.ADD, 3, -16),
      mov64Imm(4, 0),
      call(Helper.map_update_elem),
      mov64Imm(0, 1),
      exit(),
    ]);
    const run = () => e.bpf.progTestRun({ prog_fd: fd, data_in: frame(14) }).retval;
    run();
    const key = new Uint8Array([7, 0, 0, 0]);
    assert.equal(new DataView(e.bpf.mapLookup(map, key, 8).buffer).getBigUint64(0, true), 5n);
    run();
    run();
    assert.equal(new DataView(e.bpf.mapLookup(map, key, 8).buffer).getBigUint64(0, true), 7n);
    const del = load(e, [
      stMem(Size.W, 10, -4, 7),
      ...ldMapFd(1, map),
      mov64Reg(2, 10),
      alu64Imm(AluOp.ADD, 2, -4),
      call(Helper.map_delete_elem),
      exit(),
    ]);
    assert.equal(e.bpf.progTestRun({ prog_fd: del, data_in: frame(14) }).retval, 0);
    assert.equal(e.bpf.progTestRun({ prog_fd: del, data_in: frame(14) }).retval | 0, -Errno.ENOENT);
  });
  it("test-run attrs: short packets, preset fields, cb round trip", () => {
    const e = env();
    const fd = load(e, [
      ldxMem(Size.W, 0, 1, 48),
      alu64Imm(AluOp.ADD, 0, 1),
      stxMem(Size.W, 1, 0, 52),
      exit(),
    ]);
    const errno = (f: () => unknown) => {
      try {
        f();
        return 0;
      } catch (x) {
        return x instanceof BpfError ? x.errno : -1;
      }
    };
    assert.equal(
      errno(() => e.bpf.progTestRun({ prog_fd: fd, data_in: new Uint8Array(13) })),
      Errno.EINVAL,
    );
    const badCtx = new Uint8Array(192);
    badCtx[0] = 1; // len may not be preset
    assert.equal(
      errno(() =>
        e.bpf.progTestRun({ prog_fd: fd, data_in: frame(20), ctx_in: badCtx, ctx_size_out: 192 }),
      ),
      Errno.EINVAL,
    );
    const ctx = new Uint8Array(192);
    ctx[48] = 9; // cb[0]
    const r = e.bpf.progTestRun({
      prog_fd: fd,
      data_in: frame(20),
      ctx_in: ctx,
      ctx_size_out: 192,
      repeat: 5,
    });
    assert.equal(r.retval, 10);
    // ctx_out carries cb[] as the program left it (convert_skb_to___skb)
    const out = skbCtxOut(buildSkbOrThrow(frame(20), ctx).ctx);
    assert.deepEqual([...out.subarray(48, 52)], [9, 0, 0, 0]);
    assert.equal(out[0], 0, "len is not handed back");
    assert.deepEqual(r.data_out, frame(20));
  });
});
