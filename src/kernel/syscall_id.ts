/**
 * Object ids: BPF_{PROG,MAP,BTF}_GET_FD_BY_ID and BPF_{PROG,MAP,BTF}_GET_NEXT_ID.
 */
import { BpfCmd, Limits, MapFlag } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import { decode, GetIdAttr, type Values } from "../uapi/layout.js";
import type { SyscallCtx } from "./state.js";
import { progNewFd, putU32 } from "./syscall_common.js";

export function progGetFdById(ctx: SyscallCtx, id: number): number {
  if (!ctx.proc.caps.sys_admin) return -Errno.EPERM;
  const prog = ctx.kernel.progs.get(id);
  if (!prog || prog.refcnt === 0) return -Errno.ENOENT;
  ctx.kernel.getProg(prog);
  return progNewFd(ctx, prog);
}

export function mapGetFdById(ctx: SyscallCtx, a: Values<typeof GetIdAttr>): number {
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

export function btfGetFdById(ctx: SyscallCtx, id: number): number {
  if (!ctx.proc.caps.sys_admin) return -Errno.EPERM;
  const btf = ctx.kernel.btfs.get(id);
  if (!btf) return -Errno.ENOENT;
  ctx.kernel.getBtf(btf);
  return ctx.proc.installFd({ kind: "btf", btf });
}

export function getNextId(
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
