/**
 * BPF_OBJ_GET_INFO_BY_FD: struct bpf_map_info, bpf_prog_info and bpf_btf_info as the kernel
 * fills them, including the map content hash and the translated instructions.
 */
import { Limits } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import {
  BTF_INFO_SIZE,
  BtfInfo,
  type InfoAttr,
  MAP_INFO_SIZE,
  MapInfo,
  PROG_INFO_SIZE,
  ProgInfo,
  readField,
  UTF8_ENCODER,
  type Values,
  writeField,
} from "../uapi/layout.js";
import { insnPrepareDump } from "./fixups.js";
import type { BpfMap } from "./map.js";
import type { BpfProg } from "./prog.js";
import type { SyscallCtx } from "./state.js";
import { putU32 } from "./syscall_common.js";

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

export function objGetInfoByFd(
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
  set("name", UTF8_ENCODER.encode(map.name));
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
  set("name", UTF8_ENCODER.encode(prog.aux.name));
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
