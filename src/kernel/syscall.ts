/**
 * __sys_bpf(): the attr size rules, CHECK_ATTR, the security_bpf() hook, and the commands the
 * model implements (map create / element ops / freeze, program load and test run, object info,
 * get-fd-by-id, BTF load). Every function returns a non-negative result or a negative errno.
 */
import {
  BpfCmd,
  Limits,
  MapFlag,
  MapType,
  ProgFlag,
  ProgType,
  UpdateFlag,
} from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import {
  BTF_INFO_SIZE,
  BtfInfo,
  BtfLoadAttr,
  decode,
  fromCString,
  GetIdAttr,
  InfoAttr,
  LAST_FIELD_END,
  MAP_INFO_SIZE,
  MapCreateAttr,
  MapElemAttr,
  MapFreezeAttr,
  MapInfo,
  MapNextKeyAttr,
  PROG_INFO_SIZE,
  ProgInfo,
  ProgLoadAttr,
  readField,
  TestRunAttr,
  type Values,
  writeField,
} from "../uapi/layout.js";
import { BTF_MAX_SIZE, parseBtf } from "./btf.js";
import { insnPrepareDump } from "./fixups.js";
import { VerifierLog } from "./log.js";
import { BpfMap, checkMapSpec } from "./map.js";
import { BpfProg } from "./prog.js";
import { bpfProgVerifySignatureMainline } from "./signature.js";
import type { SyscallCtx } from "./state.js";
import type { BpfFile } from "./types.js";
import { bpfCheck } from "./verifier.js";

const ALLOWED_PROG_FLAGS =
  ProgFlag.STRICT_ALIGNMENT |
  ProgFlag.ANY_ALIGNMENT |
  ProgFlag.TEST_STATE_FREQ |
  ProgFlag.SLEEPABLE |
  ProgFlag.TEST_RND_HI32 |
  ProgFlag.XDP_HAS_FRAGS |
  ProgFlag.XDP_DEV_BOUND_ONLY |
  ProgFlag.TEST_REG_INVARIANTS |
  ProgFlag.TOKEN_FD;

/** Program types the model accepts; others fail find_prog_type() with EINVAL. */
const MODEL_PROG_TYPES = new Set<number>([
  ProgType.SOCKET_FILTER,
  ProgType.KPROBE,
  ProgType.SCHED_CLS,
  ProgType.SCHED_ACT,
  ProgType.TRACEPOINT,
  ProgType.XDP,
  ProgType.PERF_EVENT,
  ProgType.CGROUP_SKB,
  ProgType.RAW_TRACEPOINT,
  ProgType.SYSCALL,
]);
const NET_ADMIN_TYPES = new Set<number>([
  ProgType.SCHED_CLS,
  ProgType.SCHED_ACT,
  ProgType.XDP,
  ProgType.LWT_IN,
  ProgType.LWT_OUT,
  ProgType.LWT_XMIT,
  ProgType.LWT_SEG6LOCAL,
  ProgType.SK_SKB,
  ProgType.SK_MSG,
  ProgType.FLOW_DISSECTOR,
  ProgType.CGROUP_DEVICE,
  ProgType.CGROUP_SOCK,
  ProgType.CGROUP_SOCK_ADDR,
  ProgType.CGROUP_SOCKOPT,
  ProgType.CGROUP_SYSCTL,
  ProgType.SOCK_OPS,
  ProgType.EXT,
]);
const PERFMON_TYPES = new Set<number>([
  ProgType.KPROBE,
  ProgType.TRACEPOINT,
  ProgType.PERF_EVENT,
  ProgType.RAW_TRACEPOINT,
  ProgType.RAW_TRACEPOINT_WRITABLE,
  ProgType.TRACING,
  ProgType.LSM,
  ProgType.STRUCT_OPS,
]);

/** __sys_bpf(cmd, uattr, size) */
export function sysBpf(ctx: SyscallCtx, cmd: number, uattr: Uint8Array, size: number): number {
  if (size > Limits.PAGE_SIZE) return -Errno.E2BIG;
  if (size > uattr.length) return -Errno.EFAULT;
  for (let i = Limits.ATTR_SIZE; i < size; i++) if (uattr[i]) return -Errno.E2BIG;
  const attr = new Uint8Array(Limits.ATTR_SIZE);
  attr.set(uattr.subarray(0, Math.min(size, Limits.ATTR_SIZE)));

  const lsm = ctx.kernel.lsm.bpf(cmd, attr, size, ctx.uaccess.is_kernel);
  if (lsm) return lsm;

  const last = LAST_FIELD_END[cmd];
  if (last !== undefined)
    for (let i = last; i < Limits.ATTR_SIZE; i++) if (attr[i]) return -Errno.EINVAL;

  switch (cmd) {
    case BpfCmd.MAP_CREATE:
      return mapCreate(ctx, decode(MapCreateAttr, attr));
    case BpfCmd.MAP_LOOKUP_ELEM:
      return mapLookupElem(ctx, decode(MapElemAttr, attr));
    case BpfCmd.MAP_UPDATE_ELEM:
      return mapUpdateElem(ctx, decode(MapElemAttr, attr));
    case BpfCmd.MAP_DELETE_ELEM:
      return mapDeleteElem(ctx, decode(MapElemAttr, attr));
    case BpfCmd.MAP_GET_NEXT_KEY:
      return mapGetNextKey(ctx, decode(MapNextKeyAttr, attr));
    case BpfCmd.MAP_FREEZE:
      return mapFreeze(ctx, decode(MapFreezeAttr, attr));
    case BpfCmd.PROG_LOAD:
      return bpfProgLoad(ctx, decode(ProgLoadAttr, attr), uattr, size);
    case BpfCmd.PROG_TEST_RUN:
      return bpfProgTestRun(ctx, decode(TestRunAttr, attr), uattr, size);
    case BpfCmd.OBJ_GET_INFO_BY_FD:
      return objGetInfoByFd(ctx, decode(InfoAttr, attr), uattr, size);
    case BpfCmd.PROG_GET_FD_BY_ID:
      return progGetFdById(ctx, decode(GetIdAttr, attr).id);
    case BpfCmd.MAP_GET_FD_BY_ID:
      return mapGetFdById(ctx, decode(GetIdAttr, attr));
    case BpfCmd.BTF_GET_FD_BY_ID:
      return btfGetFdById(ctx, decode(GetIdAttr, attr).id);
    case BpfCmd.PROG_GET_NEXT_ID:
    case BpfCmd.MAP_GET_NEXT_ID:
    case BpfCmd.BTF_GET_NEXT_ID:
      return getNextId(ctx, cmd, attr, uattr, size);
    case BpfCmd.BTF_LOAD:
      return btfLoad(ctx, decode(BtfLoadAttr, attr), uattr, size);
    default:
      return -Errno.EINVAL;
  }
}

/** bpf_obj_name_cpy(): only [A-Za-z0-9_.], NUL-terminated within 16 bytes. */
function objName(raw: Uint8Array): string | number {
  const nul = raw.indexOf(0);
  if (nul < 0) return -Errno.EINVAL;
  for (let i = 0; i < nul; i++) {
    const c = raw[i];
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x5f ||
      c === 0x2e;
    if (!ok) return -Errno.EINVAL;
  }
  return fromCString(raw);
}

function bpfCapable(ctx: SyscallCtx): boolean {
  return ctx.proc.caps.bpf || ctx.proc.caps.sys_admin;
}

function putU32(uattr: Uint8Array, size: number, off: number, v: number): void {
  if (off + 4 <= size) new DataView(uattr.buffer, uattr.byteOffset).setUint32(off, v >>> 0, true);
}

function mapFile(ctx: SyscallCtx, fd: number): Extract<BpfFile, { kind: "map" }> | number {
  const f = ctx.proc.file(fd);
  if (!f) return -Errno.EBADF;
  return f.kind === "map" ? f : -Errno.EINVAL;
}

// ---- maps ----

/**
 * map_create() in the order of kernel-semantics §3.1: attr sanity (BTF ids, map_extra), the
 * type's alloc checks, then the capability checks, then allocation and the name.
 */
function mapCreate(ctx: SyscallCtx, a: Values<typeof MapCreateAttr>): number {
  if (a.map_flags & MapFlag.TOKEN_FD) return -Errno.EINVAL; // BPF tokens are not modelled
  if (a.btf_vmlinux_value_type_id) {
    if (a.map_type !== MapType.STRUCT_OPS || a.btf_key_type_id || a.btf_value_type_id) {
      return -Errno.EINVAL;
    }
  } else if (a.btf_key_type_id && !a.btf_value_type_id) {
    return -Errno.EINVAL;
  }
  if (a.map_extra) return -Errno.EINVAL;
  const spec = {
    map_type: a.map_type,
    key_size: a.key_size,
    value_size: a.value_size,
    max_entries: a.max_entries,
    map_flags: a.map_flags,
    name: "",
  };
  const err = checkMapSpec(spec);
  if (err) return err;
  const bpfCap = bpfCapable(ctx);
  if (!bpfCap && ctx.kernel.sysctl.unprivileged_bpf_disabled) return -Errno.EPERM;
  // LRU hash maps are not among the map types unprivileged users may create.
  if (!bpfCap && a.map_type === MapType.LRU_HASH) return -Errno.EPERM;
  const name = objName(a.map_name);
  if (typeof name === "number") return name;
  const map = new BpfMap({ ...spec, name }, ctx.proc.caps.perfmon || ctx.proc.caps.sys_admin);
  if (a.btf_key_type_id || a.btf_value_type_id || a.btf_vmlinux_value_type_id) {
    const f = ctx.proc.file(a.btf_fd);
    if (f?.kind !== "btf") return f ? -Errno.EINVAL : -Errno.EBADF;
    map.btf_id = f.btf.id;
    map.btf_key_type_id = a.btf_key_type_id;
    map.btf_value_type_id = a.btf_value_type_id;
    map.btf_vmlinux_value_type_id = a.btf_vmlinux_value_type_id;
  }
  if (a.excl_prog_hash) {
    if (a.excl_prog_hash_size !== Limits.SHA256_DIGEST_SIZE) return -Errno.EINVAL;
    const h = ctx.uaccess.read(a.excl_prog_hash, Limits.SHA256_DIGEST_SIZE);
    if (!h) return -Errno.EFAULT;
    map.excl_prog_sha = h.slice();
  } else if (a.excl_prog_hash_size) {
    return -Errno.EINVAL;
  }
  const sec = ctx.kernel.lsm.bpf_map_create(map, ctx.uaccess.is_kernel);
  if (sec) return sec;
  map.id = ctx.kernel.maps.alloc(map);
  ctx.kernel.getMap(map);
  return ctx.proc.installFd({
    kind: "map",
    map,
    canRead: !(a.map_flags & MapFlag.WRONLY),
    canWrite: !(a.map_flags & MapFlag.RDONLY),
  });
}

function mapLookupElem(ctx: SyscallCtx, a: Values<typeof MapElemAttr>): number {
  if (a.flags & ~BigInt(UpdateFlag.F_LOCK)) return -Errno.EINVAL;
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!f.canRead) return -Errno.EPERM;
  // BPF_F_LOCK needs a bpf_spin_lock in the value: no model map has one.
  if (a.flags & BigInt(UpdateFlag.F_LOCK)) return -Errno.EINVAL;
  const key = ctx.uaccess.read(a.key, f.map.key_size);
  if (!key) return -Errno.EFAULT;
  const v = f.map.lookup(key);
  if (typeof v === "number") return v;
  return ctx.uaccess.write(a.value, v) ? 0 : -Errno.EFAULT;
}

/** map_get_sys_perms(): a frozen map has no FMODE_CAN_WRITE left. */
function canWrite(f: Extract<BpfFile, { kind: "map" }>): boolean {
  return f.canWrite && !f.map.frozen;
}

function mapUpdateElem(ctx: SyscallCtx, a: Values<typeof MapElemAttr>): number {
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!canWrite(f)) return -Errno.EPERM;
  if (a.flags & BigInt(UpdateFlag.F_LOCK)) return -Errno.EINVAL; // no bpf_spin_lock values
  const key = ctx.uaccess.read(a.key, f.map.key_size)?.slice();
  if (!key) return -Errno.EFAULT;
  const value = ctx.uaccess.read(a.value, f.map.userValueSize);
  if (!value) return -Errno.EFAULT;
  return f.map.update(key, value, a.flags);
}

function mapDeleteElem(ctx: SyscallCtx, a: Values<typeof MapElemAttr>): number {
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!canWrite(f)) return -Errno.EPERM;
  const key = ctx.uaccess.read(a.key, f.map.key_size);
  if (!key) return -Errno.EFAULT;
  return f.map.delete(key);
}

function mapGetNextKey(ctx: SyscallCtx, a: Values<typeof MapNextKeyAttr>): number {
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!f.canRead) return -Errno.EPERM;
  let key: Uint8Array | null = null;
  if (a.key) {
    const k = ctx.uaccess.read(a.key, f.map.key_size);
    if (!k) return -Errno.EFAULT;
    key = k.slice();
  }
  const next = f.map.nextKey(key);
  if (typeof next === "number") return next;
  return ctx.uaccess.write(a.next_key, next) ? 0 : -Errno.EFAULT;
}

function mapFreeze(ctx: SyscallCtx, a: Values<typeof MapFreezeAttr>): number {
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!canWrite(f)) return -Errno.EPERM;
  if (f.map.writecnt) return -Errno.EBUSY;
  if (f.map.frozen) return -Errno.EBUSY;
  f.map.frozen = true;
  return 0;
}

// ---- programs ----

function bpfProgLoad(
  ctx: SyscallCtx,
  a: Values<typeof ProgLoadAttr>,
  uattr: Uint8Array,
  size: number,
): number {
  const { kernel, proc } = ctx;
  if (a.prog_flags & ~ALLOWED_PROG_FLAGS) return -Errno.EINVAL;
  if (a.prog_flags & ProgFlag.TOKEN_FD) return -Errno.EINVAL; // BPF tokens are not modelled
  const bpfCap = bpfCapable(ctx);
  if (kernel.sysctl.unprivileged_bpf_disabled && !bpfCap) return -Errno.EPERM;
  const maxInsns = bpfCap ? Limits.COMPLEXITY_LIMIT_INSNS : Limits.BPF_MAXINSNS;
  if (a.insn_cnt === 0 || a.insn_cnt > maxInsns) return -Errno.E2BIG;
  if (a.prog_type !== ProgType.SOCKET_FILTER && a.prog_type !== ProgType.CGROUP_SKB && !bpfCap) {
    return -Errno.EPERM;
  }
  if (NET_ADMIN_TYPES.has(a.prog_type) && !(proc.caps.net_admin || proc.caps.sys_admin))
    return -Errno.EPERM;
  if (PERFMON_TYPES.has(a.prog_type) && !(proc.caps.perfmon || proc.caps.sys_admin))
    return -Errno.EPERM;
  if (a.attach_btf_id || a.attach_prog_fd) {
    // Attach targets (TRACING, LSM, EXT, STRUCT_OPS) are not modelled.
    return -Errno.EINVAL;
  }
  if (
    (a.prog_type === ProgType.SYSCALL || a.prog_type === ProgType.EXT) &&
    a.expected_attach_type
  ) {
    return -Errno.EINVAL;
  }
  const insns = ctx.uaccess.read(a.insns, a.insn_cnt * 8)?.slice();
  if (!insns) return -Errno.EFAULT;
  const license = ctx.uaccess.readCString(a.license, 128);
  if (license === undefined) return -Errno.EFAULT;
  const prog = new BpfProg(
    a.prog_type,
    a.expected_attach_type,
    insns,
    (a.prog_flags & ProgFlag.SLEEPABLE) !== 0,
    isGplCompatible(license),
    license,
  );
  const mainline = kernel.profile.name === "mainline-6.18";
  if (mainline && a.signature) {
    const err = bpfProgVerifySignatureMainline(ctx, prog, a);
    if (err) return err;
  }
  if (!MODEL_PROG_TYPES.has(a.prog_type)) return -Errno.EINVAL;
  prog.aux.load_time = kernel.boottimeNs();
  const name = objName(a.prog_name);
  if (typeof name === "number") return name;
  prog.aux.name = name;
  if (mainline) {
    const err = kernel.lsm.bpf_prog_load(prog, a, ctx.uaccess.is_kernel);
    if (err) {
      kernel.lsm.bpf_prog_free(prog);
      return err;
    }
  }
  const err = bpfCheck(ctx, prog, a, uattr, size);
  if (err < 0) {
    kernel.freeProg(prog);
    return err;
  }
  prog.aux.id = kernel.progs.alloc(prog);
  kernel.getProg(prog);
  return progNewFd(ctx, prog);
}

/** bpf_prog_new_fd(): security_bpf_prog() first, then an fd. Drops the reference on failure. */
function progNewFd(ctx: SyscallCtx, prog: BpfProg): number {
  const sec = ctx.kernel.lsm.bpf_prog(prog);
  if (sec) {
    ctx.kernel.putProg(prog);
    return sec;
  }
  return ctx.proc.installFd({ kind: "prog", prog });
}

/** license_is_gpl_compatible() */
function isGplCompatible(license: string): boolean {
  return [
    "GPL",
    "GPL v2",
    "GPL and additional rights",
    "Dual BSD/GPL",
    "Dual MIT/GPL",
    "Dual MPL/GPL",
  ].includes(license);
}

function bpfProgTestRun(
  ctx: SyscallCtx,
  a: Values<typeof TestRunAttr>,
  uattr: Uint8Array,
  size: number,
): number {
  if ((a.ctx_size_in === 0) !== (a.ctx_in === 0n)) return -Errno.EINVAL;
  if ((a.ctx_size_out === 0) !== (a.ctx_out === 0n)) return -Errno.EINVAL;
  const f = ctx.proc.file(a.prog_fd);
  if (!f) return -Errno.EBADF;
  if (f.kind !== "prog") return -Errno.EINVAL;
  const runner = ctx.kernel.testRunners.get(f.prog.type);
  if (!runner) return -Errno.ENOTSUPP;
  const io = {
    attr: a,
    ctx_in: null as Uint8Array | null,
    data_in: null as Uint8Array | null,
    retval: 0,
    data_out: null as Uint8Array | null,
    ctx_out: null as Uint8Array | null,
    duration: 0,
  };
  if (a.ctx_size_in) {
    const c = ctx.uaccess.read(a.ctx_in, a.ctx_size_in);
    if (!c) return -Errno.EFAULT;
    io.ctx_in = c.slice();
  }
  if (a.data_size_in) {
    const d = ctx.uaccess.read(a.data_in, a.data_size_in);
    if (!d) return -Errno.EFAULT;
    io.data_in = d.slice();
  }
  const err = runner(ctx, f.prog, io);
  if (err) return err;
  putU32(uattr, size, 4, io.retval);
  putU32(uattr, size, 36, io.duration);
  if (f.prog.type === ProgType.SYSCALL && io.ctx_out && a.ctx_size_in) {
    // bpf_prog_test_run_syscall() copies the context back to ctx_in.
    if (!ctx.uaccess.write(a.ctx_in, io.ctx_out.subarray(0, a.ctx_size_in))) return -Errno.EFAULT;
  } else {
    if (io.data_out && a.data_out) {
      const n = Math.min(io.data_out.length, a.data_size_out || io.data_out.length);
      if (!ctx.uaccess.write(a.data_out, io.data_out.subarray(0, n))) return -Errno.EFAULT;
      putU32(uattr, size, 12, io.data_out.length);
      if (n < io.data_out.length) return -Errno.ENOSPC;
    }
    if (io.ctx_out && a.ctx_out) {
      const n = Math.min(io.ctx_out.length, a.ctx_size_out);
      if (!ctx.uaccess.write(a.ctx_out, io.ctx_out.subarray(0, n))) return -Errno.EFAULT;
      putU32(uattr, size, 44, io.ctx_out.length);
    }
  }
  return 0;
}

// ---- object info ----

/** bpf_check_uarg_tail_zero() then copy_from_user of min(info_len, expected) bytes. */
function readInfo(
  ctx: SyscallCtx,
  a: Values<typeof InfoAttr>,
  expected: number,
): Uint8Array | number {
  if (a.info_len > Limits.PAGE_SIZE) return -Errno.E2BIG;
  if (a.info_len > expected) {
    const tail = ctx.uaccess.read(a.info + BigInt(expected), a.info_len - expected);
    if (!tail) return -Errno.EFAULT;
    if (tail.some((b) => b !== 0)) return -Errno.E2BIG;
  }
  const len = Math.min(a.info_len, expected);
  const info = new Uint8Array(expected);
  const src = ctx.uaccess.read(a.info, len);
  if (!src) return -Errno.EFAULT;
  info.set(src);
  return info;
}

function writeInfo(
  ctx: SyscallCtx,
  a: Values<typeof InfoAttr>,
  info: Uint8Array,
  uattr: Uint8Array,
  size: number,
): number {
  const len = Math.min(a.info_len, info.length);
  if (!ctx.uaccess.write(a.info, info.subarray(0, len))) return -Errno.EFAULT;
  putU32(uattr, size, 4, len);
  return 0;
}

function objGetInfoByFd(
  ctx: SyscallCtx,
  a: Values<typeof InfoAttr>,
  uattr: Uint8Array,
  size: number,
): number {
  const f = ctx.proc.file(a.bpf_fd);
  if (!f) return -Errno.EBADFD;
  if (f.kind === "map") return mapGetInfo(ctx, f.map, a, uattr, size);
  if (f.kind === "prog") return progGetInfo(ctx, f.prog, a, uattr, size);
  if (f.kind === "btf") return btfGetInfo(ctx, f.btf, a, uattr, size);
  return -Errno.EINVAL;
}

function mapGetInfo(
  ctx: SyscallCtx,
  map: BpfMap,
  a: Values<typeof InfoAttr>,
  uattr: Uint8Array,
  size: number,
): number {
  const info = readInfo(ctx, a, MAP_INFO_SIZE);
  if (typeof info === "number") return info;
  const hashPtr = readField(info, MapInfo.hash) as bigint;
  const hashSize = readField(info, MapInfo.hash_size) as number;
  info.fill(0);
  const set = (k: keyof typeof MapInfo, v: number | bigint | Uint8Array) =>
    writeField(info, MapInfo[k], v);
  set("type", map.map_type);
  set("id", map.id);
  set("key_size", map.key_size);
  set("value_size", map.value_size);
  set("max_entries", map.max_entries);
  set("map_flags", map.map_flags);
  set("name", new TextEncoder().encode(map.name));
  set("btf_id", map.btf_id);
  set("btf_key_type_id", map.btf_key_type_id);
  set("btf_value_type_id", map.btf_value_type_id);
  set("btf_vmlinux_value_type_id", map.btf_vmlinux_value_type_id);
  set("map_extra", map.map_extra);
  set("hash", hashPtr);
  set("hash_size", hashSize);
  if (hashPtr) {
    if (!map.hasGetHash) return -Errno.EINVAL;
    if (hashSize !== Limits.SHA256_DIGEST_SIZE) return -Errno.EINVAL;
    if (!map.frozen) return -Errno.EPERM;
    if (!ctx.uaccess.write(hashPtr, map.computeHash())) return -Errno.EFAULT;
  } else if (hashSize) {
    return -Errno.EINVAL;
  }
  return writeInfo(ctx, a, info, uattr, size);
}

function progGetInfo(
  ctx: SyscallCtx,
  prog: BpfProg,
  a: Values<typeof InfoAttr>,
  uattr: Uint8Array,
  size: number,
): number {
  const info = readInfo(ctx, a, PROG_INFO_SIZE);
  if (typeof info === "number") return info;
  const get = (k: keyof typeof ProgInfo) => readField(info, ProgInfo[k]);
  const userMapIds = get("map_ids") as bigint;
  const userNrMapIds = get("nr_map_ids") as number;
  const userXlated = get("xlated_prog_insns") as bigint;
  const userXlatedLen = get("xlated_prog_len") as number;
  info.fill(0);
  const set = (k: keyof typeof ProgInfo, v: number | bigint | Uint8Array) =>
    writeField(info, ProgInfo[k], v);
  set("type", prog.type);
  set("id", prog.aux.id);
  set("tag", prog.tag);
  set("load_time", prog.aux.load_time);
  set("name", new TextEncoder().encode(prog.aux.name));
  set("flags", prog.gpl_compatible ? 1 : 0);
  set("nr_map_ids", prog.aux.used_maps.length);
  set("verified_insns", prog.aux.verified_insns);
  set("btf_id", prog.aux.btf?.id ?? 0);
  set("nr_func_info", prog.aux.func_info_cnt);
  set("nr_line_info", prog.aux.line_info_cnt);
  set("func_info_rec_size", prog.aux.func_info_cnt ? 8 : 0);
  set("line_info_rec_size", prog.aux.line_info_cnt ? 16 : 0);
  set("xlated_prog_len", prog.fixedUp.length);
  if (userMapIds && userNrMapIds) {
    const n = Math.min(userNrMapIds, prog.aux.used_maps.length);
    const ids = new Uint8Array(n * 4);
    const dv = new DataView(ids.buffer);
    for (let i = 0; i < n; i++) dv.setUint32(i * 4, prog.aux.used_maps[i].id, true);
    if (!ctx.uaccess.write(userMapIds, ids)) return -Errno.EFAULT;
    set("map_ids", userMapIds);
  }
  if (userXlated && userXlatedLen) {
    const dump = insnPrepareDump(prog.fixedUp, prog.fixedUpLdImm);
    const n = Math.min(userXlatedLen, dump.length);
    if (!ctx.uaccess.write(userXlated, dump.subarray(0, n))) return -Errno.EFAULT;
    set("xlated_prog_insns", userXlated);
  }
  return writeInfo(ctx, a, info, uattr, size);
}

function btfGetInfo(
  ctx: SyscallCtx,
  btf: { id: number; data: Uint8Array; kernel: boolean },
  a: Values<typeof InfoAttr>,
  uattr: Uint8Array,
  size: number,
): number {
  const info = readInfo(ctx, a, BTF_INFO_SIZE);
  if (typeof info === "number") return info;
  const ubtf = readField(info, BtfInfo.btf) as bigint;
  const ulen = readField(info, BtfInfo.btf_size) as number;
  if (ubtf && ulen < btf.data.length) return -Errno.ENOSPC;
  if (ubtf && !ctx.uaccess.write(ubtf, btf.data)) return -Errno.EFAULT;
  writeField(info, BtfInfo.btf_size, btf.data.length);
  writeField(info, BtfInfo.id, btf.id);
  writeField(info, BtfInfo.kernel_btf, btf.kernel ? 1 : 0);
  return writeInfo(ctx, a, info, uattr, size);
}

// ---- ids ----

function progGetFdById(ctx: SyscallCtx, id: number): number {
  if (!ctx.proc.caps.sys_admin) return -Errno.EPERM;
  const prog = ctx.kernel.progs.get(id);
  if (!prog || prog.refcnt === 0) return -Errno.ENOENT;
  ctx.kernel.getProg(prog);
  return progNewFd(ctx, prog);
}

function mapGetFdById(ctx: SyscallCtx, a: Values<typeof GetIdAttr>): number {
  if (a.open_flags & ~(MapFlag.RDONLY | MapFlag.WRONLY)) return -Errno.EINVAL;
  if (!ctx.proc.caps.sys_admin) return -Errno.EPERM;
  // bpf_get_file_flag() runs after the capability check.
  if (a.open_flags & MapFlag.RDONLY && a.open_flags & MapFlag.WRONLY) return -Errno.EINVAL;
  const map = ctx.kernel.maps.get(a.id);
  if (!map) return -Errno.ENOENT;
  ctx.kernel.getMap(map);
  return ctx.proc.installFd({
    kind: "map",
    map,
    canRead: !(a.open_flags & MapFlag.WRONLY),
    canWrite: !(a.open_flags & MapFlag.RDONLY),
  });
}

function btfGetFdById(ctx: SyscallCtx, id: number): number {
  if (!ctx.proc.caps.sys_admin) return -Errno.EPERM;
  const btf = ctx.kernel.btfs.get(id);
  if (!btf) return -Errno.ENOENT;
  ctx.kernel.getBtf(btf);
  return ctx.proc.installFd({ kind: "btf", btf });
}

function getNextId(
  ctx: SyscallCtx,
  cmd: number,
  attr: Uint8Array,
  uattr: Uint8Array,
  size: number,
): number {
  // bpf_obj_get_next_id(): CHECK_ATTR and the start id come before the capability.
  for (let i = 8; i < Limits.ATTR_SIZE; i++) if (attr[i]) return -Errno.EINVAL;
  const start = decode(GetIdAttr, attr).id;
  if (start >= 0x7fffffff) return -Errno.EINVAL;
  if (!ctx.proc.caps.sys_admin) return -Errno.EPERM;
  const table =
    cmd === BpfCmd.PROG_GET_NEXT_ID
      ? ctx.kernel.progs
      : cmd === BpfCmd.MAP_GET_NEXT_ID
        ? ctx.kernel.maps
        : ctx.kernel.btfs;
  const next = table.nextAfter(start);
  if (next === undefined) return -Errno.ENOENT;
  putU32(uattr, size, 4, next);
  return 0;
}

// ---- BTF ----

function btfLoad(
  ctx: SyscallCtx,
  a: Values<typeof BtfLoadAttr>,
  uattr: Uint8Array,
  size: number,
): number {
  if (!bpfCapable(ctx)) return -Errno.EPERM;
  if (a.btf_flags) return -Errno.EINVAL;
  const log = VerifierLog.init(a.btf_log_level, a.btf_log_buf, a.btf_log_size);
  if (typeof log === "number") return log;
  if (a.btf_size > BTF_MAX_SIZE) return -Errno.E2BIG;
  const data = ctx.uaccess.read(a.btf, a.btf_size);
  const btf = data ? parseBtf(data, log) : -Errno.EFAULT;
  // btf_parse() finalizes the log before the object gets an id, and on its error paths
  // "overwrite[s] err with -ENOSPC or -EFAULT" from finalize_log().
  const { err, trueSize } = log.finalize({ write: (addr, d) => ctx.uaccess.write(addr, d) });
  putU32(uattr, size, 28, trueSize);
  if (err) return err;
  if (typeof btf === "number") return btf;
  btf.id = ctx.kernel.btfs.alloc(btf);
  ctx.kernel.getBtf(btf);
  return ctx.proc.installFd({ kind: "btf", btf });
}
