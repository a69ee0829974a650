/**
 * Context access rules per program type (the is_valid_access callbacks of the program types'
 * verifier ops): which offsets and sizes of the ctx a program may read or write, and what a
 * read yields (a scalar, or a packet pointer for __sk_buff's data/data_end/data_meta).
 */
import { ProgType } from "../uapi/constants.js";
import { PTR_MAYBE_NULL, RegType } from "./verifier_state.js";

export interface CtxAccessInfo {
  /** The register type a read gives. */
  regType: number;
}

/** struct __sk_buff field offsets (uapi/linux/bpf.h). */
const SKB = {
  mark: 8,
  queue_mapping: 12,
  priority: 32,
  tc_index: 44,
  cb0: 48,
  cb4End: 68,
  tc_classid: 72,
  data: 76,
  data_end: 80,
  family: 88,
  remote_ip4: 92,
  local_ip4: 96,
  remote_ip6: 100,
  local_ip6: 116,
  local_portEnd: 140,
  data_meta: 140,
  flow_keys: 144,
  tstamp: 152,
  wire_len: 160,
  sk: 168,
  tstamp_type: 180,
  hwtstamp: 184,
  size: 192,
} as const;

const inField = (off: number, start: number, size: number) => off >= start && off < start + size;

/** bpf_skb_is_valid_access() */
function skbValid(
  off: number,
  size: number,
  write: boolean,
  ldsx: boolean,
  info: CtxAccessInfo,
): boolean {
  if (off < 0 || off >= SKB.size) return false;
  if (off % size !== 0) return false;
  if (off >= SKB.cb0 && off < SKB.cb4End) return off + size <= SKB.cb4End;
  if (
    inField(off, SKB.data, 4) ||
    inField(off, SKB.data_meta, 4) ||
    inField(off, SKB.data_end, 4)
  ) {
    return !ldsx && size === 4;
  }
  if (
    inField(off, SKB.remote_ip6, 16) ||
    inField(off, SKB.local_ip6, 16) ||
    inField(off, SKB.remote_ip4, 4) ||
    inField(off, SKB.local_ip4, 4)
  ) {
    return size === 4;
  }
  if (inField(off, SKB.flow_keys, 8)) return false;
  if (inField(off, SKB.hwtstamp, 8)) return !write && size === 8;
  if (inField(off, SKB.tstamp, 8)) return size === 8;
  if (off === SKB.sk) {
    if (write || size !== 8) return false;
    info.regType = RegType.PTR_TO_SOCK_COMMON | PTR_MAYBE_NULL;
    return true;
  }
  if (off === SKB.tstamp_type) return false;
  if (off > SKB.tstamp_type && off < SKB.hwtstamp) return false;
  if (write) return size === 4;
  return size <= 4 && (size & (size - 1)) === 0;
}

/** sk_filter_is_valid_access() */
function socketFilterValid(
  off: number,
  size: number,
  write: boolean,
  ldsx: boolean,
  info: CtxAccessInfo,
): boolean {
  if (
    inField(off, SKB.tc_classid, 4) ||
    inField(off, SKB.data, 4) ||
    inField(off, SKB.data_meta, 4) ||
    inField(off, SKB.data_end, 4) ||
    (off >= SKB.family && off < SKB.local_portEnd) ||
    inField(off, SKB.tstamp, 8) ||
    inField(off, SKB.wire_len, 4) ||
    inField(off, SKB.hwtstamp, 8)
  ) {
    return false;
  }
  if (write && !(off >= SKB.cb0 && off < SKB.cb4End)) return false;
  return skbValid(off, size, write, ldsx, info);
}

/** tc_cls_act_is_valid_access() */
function tcClsActValid(
  off: number,
  size: number,
  write: boolean,
  ldsx: boolean,
  info: CtxAccessInfo,
): boolean {
  if (write) {
    const ok =
      inField(off, SKB.mark, 4) ||
      inField(off, SKB.tc_index, 4) ||
      inField(off, SKB.priority, 4) ||
      inField(off, SKB.tc_classid, 4) ||
      (off >= SKB.cb0 && off < SKB.cb4End) ||
      inField(off, SKB.tstamp, 8) ||
      inField(off, SKB.queue_mapping, 4);
    if (!ok) return false;
  }
  if (inField(off, SKB.data, 4)) info.regType = RegType.PTR_TO_PACKET;
  else if (inField(off, SKB.data_meta, 4)) info.regType = RegType.PTR_TO_PACKET_META;
  else if (inField(off, SKB.data_end, 4)) info.regType = RegType.PTR_TO_PACKET_END;
  else if (off >= SKB.family && off < SKB.local_portEnd) return false;
  else if (off === SKB.tstamp_type) return size === 1;
  return skbValid(off, size, write, ldsx, info);
}

/** syscall_prog_is_valid_access(): any aligned offset below U16_MAX. */
function syscallValid(off: number, size: number): boolean {
  if (off < 0 || off >= 0xffff) return false;
  return off % size === 0;
}

/**
 * env->ops->is_valid_access(): null when the program type has no ctx rules in the model
 * (the access is then refused).
 */
export function ctxAccessValid(
  progType: number,
  off: number,
  size: number,
  write: boolean,
  ldsx: boolean,
): CtxAccessInfo | null {
  const info: CtxAccessInfo = { regType: RegType.SCALAR_VALUE };
  let ok: boolean;
  switch (progType) {
    case ProgType.SOCKET_FILTER:
      ok = socketFilterValid(off, size, write, ldsx, info);
      break;
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
      ok = tcClsActValid(off, size, write, ldsx, info);
      break;
    case ProgType.SYSCALL:
      ok = syscallValid(off, size);
      break;
    default:
      ok = false;
  }
  return ok ? info : null;
}

/** Program types whose ctx the model knows (the analysis runs for these). */
export const ANALYSED_PROG_TYPES: ReadonlySet<number> = new Set<number>([
  ProgType.SOCKET_FILTER,
  ProgType.SCHED_CLS,
  ProgType.SCHED_ACT,
  ProgType.SYSCALL,
]);

/** may_access_skb(): program types that may use legacy BPF_LD_[ABS|IND]. */
export function mayAccessSkb(progType: number): boolean {
  return (
    progType === ProgType.SOCKET_FILTER ||
    progType === ProgType.SCHED_CLS ||
    progType === ProgType.SCHED_ACT
  );
}

/** may_access_direct_pkt_data() for writes (reads: any program type with packet pointers). */
export function mayWritePacket(progType: number): boolean {
  return progType === ProgType.SCHED_CLS || progType === ProgType.SCHED_ACT;
}
