/**
 * The map commands of bpf(): BPF_MAP_CREATE (map_create()), the element operations
 * (lookup, update, delete, get-next-key) and BPF_MAP_FREEZE.
 */
import { Limits, MapFlag, MapType, UpdateFlag } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type {
  MapCreateAttr,
  MapElemAttr,
  MapFreezeAttr,
  MapNextKeyAttr,
  Values,
} from "../uapi/layout.js";
import { BpfMap, checkMapSpec } from "./map.js";
import type { SyscallCtx } from "./state.js";
import { bpfCapable, objName } from "./syscall_common.js";
import type { BpfFile } from "./types.js";

function mapFile(ctx: SyscallCtx, fd: number): Extract<BpfFile, { kind: "map" }> | number {
  const f = ctx.proc.file(fd);
  if (!f) return -Errno.EBADF;
  return f.kind === "map" ? f : -Errno.EINVAL;
}

/**
 * map_create() in the order of kernel-semantics §3.1: attr sanity (BTF ids, map_extra), the
 * type's alloc checks, then the capability checks, then allocation and the name.
 */
export function mapCreate(ctx: SyscallCtx, a: Values<typeof MapCreateAttr>): number {
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
  if (map.isMapInMap) {
    // bpf_map_meta_alloc(): the template the inner maps must match
    const inner = mapFile(ctx, a.inner_map_fd);
    if (typeof inner === "number") return inner;
    if (inner.map.isMapInMap) return -Errno.EINVAL;
    map.innerMeta = inner.map;
  } else if (a.inner_map_fd) {
    return -Errno.EINVAL;
  }
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

export function mapLookupElem(ctx: SyscallCtx, a: Values<typeof MapElemAttr>): number {
  if (a.flags & ~BigInt(UpdateFlag.F_LOCK)) return -Errno.EINVAL;
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!f.canRead) return -Errno.EPERM;
  // BPF_F_LOCK needs a bpf_spin_lock in the value: no model map has one.
  if (a.flags & BigInt(UpdateFlag.F_LOCK)) return -Errno.EINVAL;
  const key = ctx.uaccess.read(a.key, f.map.key_size);
  if (!key) return -Errno.EFAULT;
  if (f.map.isMapInMap) {
    // the user reads the inner map's id
    const inner = f.map.innerAt(key);
    if (!inner) return -Errno.ENOENT;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, inner.id, true);
    return ctx.uaccess.write(a.value, out) ? 0 : -Errno.EFAULT;
  }
  const v = f.map.lookup(key);
  if (typeof v === "number") return v;
  return ctx.uaccess.write(a.value, v) ? 0 : -Errno.EFAULT;
}

/** map_get_sys_perms(): a frozen map has no FMODE_CAN_WRITE left. */
function canWrite(f: Extract<BpfFile, { kind: "map" }>): boolean {
  return f.canWrite && !f.map.frozen;
}

export function mapUpdateElem(ctx: SyscallCtx, a: Values<typeof MapElemAttr>): number {
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!canWrite(f)) return -Errno.EPERM;
  if (a.flags & BigInt(UpdateFlag.F_LOCK)) return -Errno.EINVAL; // no bpf_spin_lock values
  const key = ctx.uaccess.read(a.key, f.map.key_size)?.slice();
  if (!key) return -Errno.EFAULT;
  const value = ctx.uaccess.read(a.value, f.map.userValueSize);
  if (!value) return -Errno.EFAULT;
  if (f.map.isMapInMap) {
    const fd = new DataView(value.buffer, value.byteOffset, 4).getInt32(0, true);
    const inner = mapFile(ctx, fd);
    if (typeof inner === "number") return inner;
    if (!f.map.innerCompatible(inner.map)) return -Errno.EINVAL;
    ctx.kernel.getMap(inner.map);
    const old = f.map.setInner(key, inner.map, a.flags);
    if (typeof old === "number") {
      ctx.kernel.putMap(inner.map);
      return old;
    }
    if (old) ctx.kernel.putMap(old);
    return 0;
  }
  if (f.map.map_type === MapType.PERF_EVENT_ARRAY) return -Errno.EBADF; // no perf event fds
  return f.map.update(key, value, a.flags);
}

export function mapDeleteElem(ctx: SyscallCtx, a: Values<typeof MapElemAttr>): number {
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!canWrite(f)) return -Errno.EPERM;
  const key = ctx.uaccess.read(a.key, f.map.key_size);
  if (!key) return -Errno.EFAULT;
  if (f.map.isMapInMap) {
    const inner = f.map.deleteInner(key);
    if (!inner) return -Errno.ENOENT;
    ctx.kernel.putMap(inner);
    return 0;
  }
  return f.map.delete(key);
}

export function mapGetNextKey(ctx: SyscallCtx, a: Values<typeof MapNextKeyAttr>): number {
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

export function mapFreeze(ctx: SyscallCtx, a: Values<typeof MapFreezeAttr>): number {
  const f = mapFile(ctx, a.map_fd);
  if (typeof f === "number") return f;
  if (!canWrite(f)) return -Errno.EPERM;
  if (f.map.writecnt) return -Errno.EBUSY;
  if (f.map.frozen) return -Errno.EBUSY;
  f.map.frozen = true;
  return 0;
}
