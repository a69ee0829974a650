/**
 * __sys_bpf(): the entry of every bpf() command. It applies the attr size rules, the
 * security_bpf() hook and CHECK_ATTR, then hands the decoded attr to the command's family:
 * syscall_map.ts (maps), syscall_prog.ts (program load and test run), syscall_info.ts (object
 * info), syscall_id.ts (ids), syscall_btf.ts (BTF). Every command returns a non-negative result
 * or a negative errno.
 */
import { BpfCmd, Limits } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import {
  BtfLoadAttr,
  decode,
  GetIdAttr,
  InfoAttr,
  LAST_FIELD_END,
  LinkCreateAttr,
  MapCreateAttr,
  MapElemAttr,
  MapFreezeAttr,
  MapNextKeyAttr,
  ProgLoadAttr,
  RawTracepointOpenAttr,
  TestRunAttr,
} from "../uapi/layout.js";
import type { SyscallCtx } from "./state.js";
import { btfLoad } from "./syscall_btf.js";
import { btfGetFdById, getNextId, mapGetFdById, progGetFdById } from "./syscall_id.js";
import { objGetInfoByFd } from "./syscall_info.js";
import { linkCreate, rawTracepointOpen } from "./syscall_link.js";
import {
  mapCreate,
  mapDeleteElem,
  mapFreeze,
  mapGetNextKey,
  mapLookupElem,
  mapUpdateElem,
} from "./syscall_map.js";
import { bpfProgLoad, bpfProgTestRun } from "./syscall_prog.js";

/** __sys_bpf(cmd, uattr, size) */
export function sysBpf(ctx: SyscallCtx, cmd: number, uattr: Uint8Array, size: number): number {
  const prev = ctx.kernel.current;
  ctx.kernel.current = ctx.proc;
  try {
    return sysBpfCurrent(ctx, cmd, uattr, size);
  } finally {
    ctx.kernel.current = prev;
  }
}

function sysBpfCurrent(ctx: SyscallCtx, cmd: number, uattr: Uint8Array, size: number): number {
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
    case BpfCmd.RAW_TRACEPOINT_OPEN: {
      const a = decode(RawTracepointOpenAttr, attr);
      return rawTracepointOpen(ctx, a.name, a.prog_fd);
    }
    case BpfCmd.LINK_CREATE: {
      const a = decode(LinkCreateAttr, attr);
      return linkCreate(ctx, a.prog_fd, a.target_fd, a.attach_type, a.flags);
    }
    default:
      return -Errno.EINVAL;
  }
}
