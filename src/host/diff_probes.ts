/**
 * The differential probe matrix: the observations of real-kernel.md §2–§7 as functions over any
 * backend. Each returns normalized results (errno names, "ok", hex), never fd numbers.
 */
import { createHash } from "node:crypto";
import {
  AluOp,
  alu64Imm,
  call,
  encodeInsns,
  exit,
  type Insn,
  ja,
  ldImm64,
  ldMapFd,
  ldMapIdx,
  ldMapValue,
  ldxMem,
  mov64Imm,
  mov64Reg,
  progDigest,
  progTag,
  Size,
  stxMem,
  toHex,
} from "../insn/index.js";
import { MapFlags, Prot } from "../uapi/backend.js";
import type { MapCreateOptions, ProgLoadOptions } from "../uapi/bpf.js";
import {
  BPF_F_SLEEPABLE,
  BpfCmd,
  Helper,
  KeySpec,
  MapFlag,
  MapType,
  ProgType,
} from "../uapi/constants.js";
import { BpfError } from "../uapi/errno.js";
import {
  encode,
  InfoAttr,
  MAP_INFO_SIZE,
  MapCreateAttr,
  MapInfo,
  offsetofend,
  ProgLoadAttr,
} from "../uapi/layout.js";
import type { DiffProbe, Normal, ProbeContext } from "./differential.js";

const INT_MAX = 0x7fffffff;
const INT_MIN = -0x80000000;
const BAD_PTR = 0x10n;
const EXCL_MISMATCH = /program's hash doesn't match map's excl_prog_hash/;

const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const T = encodeInsns([mov64Imm(0, 0), exit()]);
/** P: r1 = map (MAP_FD fd); r0 = 0; exit. Q: P with an extra r0 = 1. */
const P = (fd: number) => encodeInsns([...ldMapFd(1, fd), mov64Imm(0, 0), exit()]);
const Q = (fd: number) => encodeInsns([...ldMapFd(1, fd), mov64Imm(0, 1), mov64Imm(0, 0), exit()]);
const P_IDX = encodeInsns([...ldMapIdx(1, 0), mov64Imm(0, 0), exit()]);
const Q_IDX = encodeInsns([...ldMapIdx(1, 0), mov64Imm(0, 1), mov64Imm(0, 0), exit()]);
const JUNK = (() => {
  const b = new Uint8Array(64);
  b.set([0x30, 0x42, 0x13, 0x37]);
  return b;
})();

function array(o: Partial<MapCreateOptions> = {}): MapCreateOptions {
  return { map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 1, ...o };
}

function map(ctx: ProbeContext, o: Partial<MapCreateOptions> = {}): number {
  return ctx.keep(ctx.bpf.mapCreate(array(o)));
}

/** A socket filter load: "ok" or the errno name, plus whether the log has `logLine`. */
function load(ctx: ProbeContext, o: Partial<ProgLoadOptions>, logLine?: RegExp): Normal {
  const opts: ProgLoadOptions = {
    prog_type: ProgType.SOCKET_FILTER,
    insns: T,
    ...(logLine ? { log_level: 1, log_size: 65536 } : {}),
    ...o,
  };
  try {
    const r = ctx.bpf.progLoad(opts);
    ctx.backend.close(r.fd);
    return logLine ? ["ok", logLine.test(r.log)] : "ok";
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    return logLine ? [e.errnoName, logLine.test(e.log)] : e.errnoName;
  }
}

function tagOf(ctx: ProbeContext, insns: Uint8Array, o: Partial<ProgLoadOptions> = {}): Normal {
  const fd = ctx.keep(ctx.bpf.progLoad({ prog_type: ProgType.SOCKET_FILTER, insns, ...o }).fd);
  return toHex(ctx.bpf.progInfo(fd).tag);
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/** BPF_OBJ_GET_INFO_BY_FD of a map with a raw hash pointer/size and info_len. */
function rawMapHash(
  ctx: ProbeContext,
  fd: number,
  hashPtr: bigint | "buf",
  hashSize: number,
  infoLen = MAP_INFO_SIZE,
): Normal {
  const mem = ctx.backend.memory;
  const buf = hashPtr === "buf" ? mem.alloc(64) : 0n;
  const info = mem.alloc(
    encode(
      MapInfo,
      { hash: hashPtr === "buf" ? buf : hashPtr, hash_size: hashSize },
      MAP_INFO_SIZE,
    ),
  );
  try {
    const attr = encode(InfoAttr, { bpf_fd: fd, info_len: infoLen, info }, 16);
    const r = ctx.backend.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr);
    if (r < 0 || !buf) return ctx.ret(r);
    return toHex(mem.read(buf, 32));
  } finally {
    mem.free(info);
    if (buf) mem.free(buf);
  }
}

/** BPF_PROG_LOAD of T with a raw signature pointer, size and keyring. */
function rawSigned(ctx: ProbeContext, insns: Uint8Array, sig: bigint, size: number, ring: number) {
  const mem = ctx.backend.memory;
  const ins = mem.alloc(insns);
  const lic = mem.alloc(new TextEncoder().encode("GPL\0"));
  try {
    const attr = encode(
      ProgLoadAttr,
      {
        prog_type: ProgType.SOCKET_FILTER,
        insn_cnt: insns.length / 8,
        insns: ins,
        license: lic,
        signature: sig,
        signature_size: size,
        keyring_id: ring,
      },
      offsetofend(ProgLoadAttr, "keyring_id"),
    );
    const r = ctx.backend.bpf(BpfCmd.PROG_LOAD, attr);
    if (r >= 0) ctx.backend.close(r);
    return ctx.ret(r);
  } finally {
    mem.free(ins);
    mem.free(lic);
  }
}

function signed(ctx: ProbeContext, ring: number, o: Partial<ProgLoadOptions> = {}): Normal {
  return load(ctx, { signature: JUNK, keyring_id: ring, ...o });
}

/** SYSCALL program: copy a 96-byte MAP_CREATE attr from ctx to the stack, bpf_sys_bpf() it. */
function sysBpfProg(): Uint8Array {
  const ins: Insn[] = [mov64Reg(6, 1)];
  for (let off = 0; off < 96; off += 8) {
    ins.push(ldxMem(Size.DW, 2, 6, off), stxMem(Size.DW, 10, 2, off - 96));
  }
  ins.push(
    mov64Imm(1, BpfCmd.MAP_CREATE),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -96),
    mov64Imm(3, 96),
    call(Helper.sys_bpf),
    exit(),
  );
  return encodeInsns(ins);
}

const probe = (name: string, run: (ctx: ProbeContext) => Normal): DiffProbe => ({ name, run });

export const DIFF_PROBES: readonly DiffProbe[] = [
  // §2 program tag / digest
  probe("s2.tag_trivial", (ctx) => [tagOf(ctx, T), toHex(progTag(progDigest(T)))]),
  probe("s2.tag_map_fd_independent_of_fd", (ctx) => {
    const a = tagOf(ctx, P(map(ctx)));
    const b = tagOf(ctx, P(map(ctx)));
    return [a, a === b, a === toHex(progTag(progDigest(P(0))))];
  }),
  probe("s2.tag_map_value_offset_dropped", (ctx) => {
    const m = map(ctx);
    const v = (off: number) =>
      tagOf(ctx, encodeInsns([...ldMapValue(1, m, off), mov64Imm(0, 0), exit()]));
    return [v(4), v(4) === v(0)];
  }),
  probe("s2.tag_map_idx_hashed_as_is", (ctx) => {
    const m = map(ctx);
    const idx = (i: number) =>
      tagOf(ctx, encodeInsns([...ldMapIdx(1, i), mov64Imm(0, 0), exit()]), { fd_array: [m, m] });
    return [idx(0), idx(1), idx(0) === idx(1)];
  }),
  probe("s2.tag_ld_imm64_constant", (ctx) =>
    tagOf(ctx, encodeInsns([...ldImm64(1, 0x1122334455667788n), mov64Imm(0, 0), exit()])),
  ),
  // §3 exclusive maps
  probe("s3.excl_map_fd", (ctx) => {
    const m = map(ctx, { excl_prog_hash: progDigest(P(0)) });
    return [
      load(ctx, { insns: P(m) }),
      load(ctx, { insns: P(m) }),
      load(ctx, { insns: Q(m) }, EXCL_MISMATCH),
    ];
  }),
  probe("s3.excl_raw_hash_with_fd", (ctx) => {
    const m0 = map(ctx);
    const m = map(ctx, { excl_prog_hash: sha256(P(m0 + 1)) });
    return m === m0 + 1 ? load(ctx, { insns: P(m) }) : "fd not as planned";
  }),
  probe("s3.excl_idx_form_vs_fd_form", (ctx) => {
    const m = map(ctx, { excl_prog_hash: progDigest(P(0)) });
    return load(ctx, { insns: P_IDX, fd_array: [m] }, EXCL_MISMATCH);
  }),
  probe("s3.excl_idx_fd_array_cnt_quirk", (ctx) => {
    const m = map(ctx, { excl_prog_hash: progDigest(P_IDX) });
    return [
      load(ctx, { insns: P_IDX, fd_array: [m] }),
      load(ctx, { insns: P_IDX, fd_array: [m], fd_array_cnt: 1 }, EXCL_MISMATCH),
      load(ctx, { insns: Q_IDX, fd_array: [m] }),
      load(ctx, { insns: Q_IDX, fd_array: [m], fd_array_cnt: 1 }),
    ];
  }),
  probe("s3.excl_bound_unreferenced", (ctx) => {
    const m = map(ctx, { excl_prog_hash: progDigest(T) });
    return [load(ctx, { insns: T, fd_array: [m], fd_array_cnt: 1 }), load(ctx, { insns: T })];
  }),
  probe("s3.nonexcl_fd_array_cnt", (ctx) => {
    const m = map(ctx);
    return [
      load(ctx, { insns: T, fd_array: [m], fd_array_cnt: 1 }),
      load(ctx, { insns: P_IDX, fd_array: [m], fd_array_cnt: 1 }),
    ];
  }),
  probe("s3.excl_zero_hash", (ctx) => {
    const m = map(ctx, { excl_prog_hash: new Uint8Array(32) });
    return [
      load(ctx, { insns: T, fd_array: [m], fd_array_cnt: 1 }),
      load(ctx, { insns: P_IDX, fd_array: [m], fd_array_cnt: 1 }),
      load(ctx, { insns: Q_IDX, fd_array: [m], fd_array_cnt: 1 }),
      load(ctx, { insns: P_IDX, fd_array: [m] }),
      load(ctx, { insns: P(m) }),
    ];
  }),
  probe("s3.excl_hash_sizes", (ctx) =>
    [0, 1, 16, 20, 31, 32, 33, 48, 64, 0xffffffff].map((n) =>
      ctx.attempt(() => {
        ctx.keep(
          ctx.bpf.mapCreate(array({ excl_prog_hash: new Uint8Array(64), excl_prog_hash_size: n })),
        );
      }),
    ),
  ),
  probe("s3.excl_hash_pointers", (ctx) => {
    const raw = (ptr: bigint, size: number) => {
      const attr = encode(
        MapCreateAttr,
        {
          map_type: MapType.ARRAY,
          key_size: 4,
          value_size: 8,
          max_entries: 1,
          excl_prog_hash: ptr,
          excl_prog_hash_size: size,
        },
        offsetofend(MapCreateAttr, "excl_prog_hash_size"),
      );
      return ctx.ret(ctx.keep(ctx.backend.bpf(BpfCmd.MAP_CREATE, attr)));
    };
    return [raw(0n, 32), raw(0n, 0), raw(BAD_PTR, 32)];
  }),
  probe("s3.excl_any_map_type", (ctx) =>
    [
      { map_type: MapType.HASH, max_entries: 4 },
      { map_type: MapType.PERCPU_ARRAY },
      { map_type: MapType.RINGBUF, key_size: 0, value_size: 0, max_entries: 4096 },
    ].map((o) =>
      ctx.attempt(() => {
        const m = map(ctx, { ...o, excl_prog_hash: progDigest(P(0)) });
        return [load(ctx, { insns: P(m) }), load(ctx, { insns: Q(m) })];
      }),
    ),
  ),
  // §4 freeze
  probe("s4.freeze_array", (ctx) => {
    const m = map(ctx);
    const k = new Uint8Array(4);
    return [
      ctx.attempt(() => ctx.bpf.mapUpdate(m, k, new Uint8Array(8).fill(1))),
      ctx.attempt(() => ctx.bpf.mapFreeze(m)),
      ctx.attempt(() => ctx.bpf.mapUpdate(m, k, new Uint8Array(8).fill(2))),
      ctx.attempt(() => toHex(ctx.bpf.mapLookup(m, k, 8))),
      ctx.attempt(() => ctx.bpf.mapFreeze(m)),
    ];
  }),
  probe("s4.freeze_hash", (ctx) => {
    const m = map(ctx, { map_type: MapType.HASH, max_entries: 4 });
    return [
      ctx.attempt(() => ctx.bpf.mapFreeze(m)),
      ctx.attempt(() => ctx.bpf.mapUpdate(m, new Uint8Array(4), new Uint8Array(8))),
    ];
  }),
  probe("s4.freeze_mmap", (ctx) => {
    const b = ctx.backend;
    const mm = () => map(ctx, { map_flags: MapFlag.MMAPABLE });
    const out: Normal[] = [];
    let m = mm();
    let rw = b.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.SHARED, m);
    out.push(
      rw >= 0n ? "ok" : String(rw),
      ctx.attempt(() => ctx.bpf.mapFreeze(m)),
    );
    if (rw >= 0n) b.munmap(rw, 4096);
    m = mm();
    const ro = b.mmap(4096, Prot.READ, MapFlags.SHARED, m);
    out.push(ctx.attempt(() => ctx.bpf.mapFreeze(m)));
    if (ro >= 0n) {
      out.push(ctx.ret(b.mprotect(ro, 4096, Prot.READ | Prot.WRITE)));
      b.munmap(ro, 4096);
    }
    const after = (prot: number, flags: number) => {
      const a = b.mmap(4096, prot, flags, m);
      if (a >= 0n) b.munmap(a, 4096);
      return ctx.ret(Number(a >= 0n ? 0n : a));
    };
    out.push(after(Prot.READ | Prot.WRITE, MapFlags.SHARED), after(Prot.READ, MapFlags.SHARED));
    const m2 = mm();
    const priv = b.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.PRIVATE, m2);
    if (priv >= 0n) b.munmap(priv, 4096);
    out.push(ctx.ret(Number(priv >= 0n ? 0n : priv)));
    rw = b.mmap(4096, Prot.READ | Prot.WRITE, MapFlags.SHARED, m2);
    if (rw >= 0n) {
      out.push(
        ctx.ret(b.mprotect(rw, 4096, Prot.READ)),
        ctx.attempt(() => ctx.bpf.mapFreeze(m2)),
      );
      b.munmap(rw, 4096);
      out.push(ctx.attempt(() => ctx.bpf.mapFreeze(m2)));
    }
    return out;
  }),
  // §5 map hash
  probe("s5.hash_unfrozen_checks", (ctx) => {
    const m = map(ctx);
    return [
      rawMapHash(ctx, m, "buf", 32),
      rawMapHash(ctx, m, "buf", 16),
      rawMapHash(ctx, m, 0n, 32),
      rawMapHash(ctx, m, BAD_PTR, 32),
    ];
  }),
  probe("s5.hash_values", (ctx) =>
    [
      [8, 1],
      [8, 4],
      [4, 3],
      [12, 2],
    ].map(([vs, n]) => {
      const m = map(ctx, { value_size: vs, max_entries: n });
      const slot = Math.ceil(vs / 8) * 8;
      const all = new Uint8Array(slot * n);
      for (let i = 0; i < n; i++) {
        const v = new Uint8Array(vs).map((_, j) => 0x11 * (i + 1) + j);
        all.set(v, i * slot);
        ctx.bpf.mapUpdate(m, u32le(i), v);
      }
      ctx.bpf.mapFreeze(m);
      const h = rawMapHash(ctx, m, "buf", 32);
      return [h, h === toHex(sha256(all))];
    }),
  ),
  probe("s5.hash_mmapable", (ctx) => {
    const m = map(ctx, { map_flags: MapFlag.MMAPABLE });
    const before = rawMapHash(ctx, m, "buf", 32);
    ctx.bpf.mapFreeze(m);
    return [before, rawMapHash(ctx, m, "buf", 32) === toHex(sha256(new Uint8Array(8)))];
  }),
  probe("s5.hash_frozen_sizes_and_pointers", (ctx) => {
    const m = map(ctx);
    ctx.bpf.mapFreeze(m);
    return [
      ...[0, 1, 20, 31, 33, 64].map((n) => rawMapHash(ctx, m, "buf", n)),
      rawMapHash(ctx, m, 0n, 32),
      rawMapHash(ctx, m, 0n, 0),
      rawMapHash(ctx, m, BAD_PTR, 32),
      rawMapHash(ctx, m, "buf", 32, 88) !== "EINVAL",
      rawMapHash(ctx, m, "buf", 32, 96),
    ];
  }),
  probe("s5.hash_other_map_types", (ctx) =>
    [
      { map_type: MapType.HASH, max_entries: 4 },
      { map_type: MapType.PERCPU_ARRAY },
      { map_type: MapType.RINGBUF, key_size: 0, value_size: 0, max_entries: 4096 },
    ].map((o) => {
      const m = map(ctx, o);
      const unfrozen = rawMapHash(ctx, m, "buf", 32);
      ctx.attempt(() => ctx.bpf.mapFreeze(m));
      return [unfrozen, rawMapHash(ctx, m, "buf", 32)];
    }),
  ),
  // §6 signature path
  probe("s6.signature_gated_on_pointer", (ctx) => [
    load(ctx, {}),
    rawSigned(ctx, T, 0n, 64, INT_MAX),
  ]),
  probe("s6.signature_keyrings", (ctx) => {
    const ring = ctx.bpf.addKey("keyring", "bpfsign-diff", null, KeySpec.SESSION_KEYRING);
    const user = ctx.bpf.addKey("user", "bpfsign-diff-user", Uint8Array.of(1), ring);
    return [0, 1, 2, 3, -1, -2, -3, -4, -5, INT_MAX, INT_MIN, ring, user].map((k) =>
      signed(ctx, k),
    );
  }),
  probe("s6.signature_sizes", (ctx) => {
    const big = new Uint8Array(8193);
    return [
      signed(ctx, KeySpec.SESSION_KEYRING, { signature_size: 0 }),
      signed(ctx, KeySpec.SESSION_KEYRING, { signature: big, signature_size: 8192 }),
      signed(ctx, KeySpec.SESSION_KEYRING, { signature: big, signature_size: 8193 }),
      signed(ctx, INT_MAX, { signature: big, signature_size: 8193 }),
      signed(ctx, INT_MAX, { signature: big, signature_size: 8192 }),
      signed(ctx, KeySpec.SESSION_KEYRING, { signature_size: 64 << 20 }),
      signed(ctx, INT_MAX, { signature_size: 64 << 20 }),
      signed(ctx, KeySpec.SESSION_KEYRING, { signature_size: 0xffffffff }),
    ];
  }),
  probe("s6.signature_bad_pointer", (ctx) => [
    rawSigned(ctx, T, BAD_PTR, 64, KeySpec.SESSION_KEYRING),
    rawSigned(ctx, T, BAD_PTR, 64, INT_MAX),
  ]),
  probe("s6.signature_before_verifier", (ctx) => {
    const noExit = encodeInsns([mov64Imm(0, 0), ja(-1)]);
    const withSig = ctx.attempt(() => {
      ctx.bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns: noExit,
        signature: JUNK,
        keyring_id: KeySpec.SESSION_KEYRING,
        log_level: 1,
        log_size: 4096,
      });
    });
    let log = "";
    try {
      ctx.bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns: encodeInsns([mov64Imm(0, 0)]),
        log_size: 4096,
      });
    } catch (e) {
      if (e instanceof BpfError)
        log = `${e.errnoName} ${/last insn is not an exit or jmp/.test(e.log)}`;
    }
    return [withSig, log];
  }),
  // §7 SYSCALL programs and bpf_sys_bpf
  probe("s7.syscall_needs_sleepable", (ctx) => [
    load(ctx, { prog_type: ProgType.SYSCALL }, /Syscall programs can only be sleepable/),
    load(ctx, { prog_type: ProgType.SYSCALL, prog_flags: BPF_F_SLEEPABLE }),
  ]),
  probe("s7.sys_bpf_ctx_pointer_refused", (ctx) =>
    load(
      ctx,
      {
        prog_type: ProgType.SYSCALL,
        prog_flags: BPF_F_SLEEPABLE,
        insns: encodeInsns([
          mov64Reg(2, 1),
          mov64Imm(1, BpfCmd.MAP_CREATE),
          mov64Imm(3, 96),
          call(Helper.sys_bpf),
          exit(),
        ]),
      },
      /R2 type=ctx expected=/,
    ),
  ),
  probe("s7.sys_bpf_map_create_run", (ctx) => {
    const fd = ctx.keep(
      ctx.bpf.progLoad({
        prog_type: ProgType.SYSCALL,
        prog_flags: BPF_F_SLEEPABLE,
        insns: sysBpfProg(),
      }).fd,
    );
    const attr = (type: number) =>
      encode(MapCreateAttr, { map_type: type, key_size: 4, value_size: 8, max_entries: 3 }, 96);
    const run = (ctxIn: Uint8Array | undefined) =>
      ctx.attempt(() => {
        const r = ctx.bpf.progTestRun({ prog_fd: fd, ...(ctxIn ? { ctx_in: ctxIn } : {}) });
        if (r.retval < 0) return `retval ${r.retval}`;
        const info = ctx.bpf.mapInfo(r.retval);
        ctx.backend.close(r.retval);
        return `map ${info.type}/${info.key_size}/${info.value_size}/${info.max_entries}`;
      });
    return [
      run(attr(MapType.ARRAY)),
      run(attr(MapType.ARRAY).subarray(0, 64)),
      run(undefined),
      run(attr(0xffff)),
    ];
  }),
];
