/**
 * libbpf's table of program section names (`section_defs[]`): which program type and expected
 * attach type a `SEC("...")` name gives, and what `libbpf_prepare_prog_load()` adds to the load
 * attributes (sleepable / XDP frags flags, BTF attach targets). Matching follows libbpf:
 *
 *   - a name ending in "/" matches any section name with that prefix;
 *   - a name ending in "+" matches the name itself or the name followed by "/" and anything;
 *   - any other name matches only exactly;
 *
 * and the first matching entry wins, in table order.
 */

import { BTF_KIND } from "../btf/btf_types.js";
import { AttachType, ProgFlag, ProgType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";

/** enum bpf_attach_type, now in uapi/constants.ts; exported here too for existing importers. */
export { AttachType };

/**
 * The name and BTF kind under which the kernel's BTF holds a program's attach target (libbpf
 * `btf_get_kernel_prefix_kind()`): raw tracepoints are the typedef `btf_trace_<name>`, LSM
 * programs the function `bpf_lsm_<name>`, iterators `bpf_iter_<name>`, anything else the
 * function `<name>`. Both load back-ends (gen_loader, the direct loader) look it up so.
 */
export function kernelAttachTarget(
  name: string,
  attachType: number,
): { name: string; kind: number } {
  switch (attachType) {
    case AttachType.TRACE_RAW_TP:
      return { name: `btf_trace_${name}`, kind: BTF_KIND.TYPEDEF };
    case AttachType.LSM_MAC:
    case AttachType.LSM_CGROUP:
      return { name: `bpf_lsm_${name}`, kind: BTF_KIND.FUNC };
    case AttachType.TRACE_ITER:
      return { name: `bpf_iter_${name}`, kind: BTF_KIND.FUNC };
    default:
      return { name, kind: BTF_KIND.FUNC };
  }
}

/** enum sec_def_flags: the `cookie` of a libbpf section definition. */
export const SecFlag = {
  NONE: 0,
  /** expected_attach_type is dropped on kernels that lack it (never in gen mode) */
  EXP_ATTACH_OPT: 1,
  /** legacy marker of BPF_PROG_ATTACH-style programs (libbpf itself does not use it) */
  ATTACHABLE: 2,
  ATTACHABLE_OPT: 2 | 1,
  /** the attach target is a BTF id named after the "/" of the section name */
  ATTACH_BTF: 4,
  /** BPF_F_SLEEPABLE */
  SLEEPABLE: 8,
  /** BPF_F_XDP_HAS_FRAGS for XDP programs */
  XDP_FRAGS: 16,
  /** usdt: the uprobe_multi attach type when the kernel has it (always, in gen mode) */
  USDT: 32,
} as const;

/** One row of the table. */
export interface SecDef {
  /** "name", "name+" or "name/" */
  sec: string;
  progType: number;
  expectedAttachType: number;
  flags: number;
}

type Row = [string, number, number, number];

// biome-ignore format: one row per section name reads best as a table
const ROWS: Row[] = [
  ["socket", ProgType.SOCKET_FILTER, 0, SecFlag.NONE],
  ["sk_reuseport/migrate", ProgType.SK_REUSEPORT, AttachType.SK_REUSEPORT_SELECT_OR_MIGRATE, SecFlag.ATTACHABLE],
  ["sk_reuseport", ProgType.SK_REUSEPORT, AttachType.SK_REUSEPORT_SELECT, SecFlag.ATTACHABLE],
  ["kprobe+", ProgType.KPROBE, 0, SecFlag.NONE],
  ["uprobe+", ProgType.KPROBE, 0, SecFlag.NONE],
  ["uprobe.s+", ProgType.KPROBE, 0, SecFlag.SLEEPABLE],
  ["kretprobe+", ProgType.KPROBE, 0, SecFlag.NONE],
  ["uretprobe+", ProgType.KPROBE, 0, SecFlag.NONE],
  ["uretprobe.s+", ProgType.KPROBE, 0, SecFlag.SLEEPABLE],
  ["kprobe.multi+", ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI, SecFlag.NONE],
  ["kretprobe.multi+", ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI, SecFlag.NONE],
  ["kprobe.session+", ProgType.KPROBE, AttachType.TRACE_KPROBE_SESSION, SecFlag.NONE],
  ["uprobe.multi+", ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI, SecFlag.NONE],
  ["uretprobe.multi+", ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI, SecFlag.NONE],
  ["uprobe.session+", ProgType.KPROBE, AttachType.TRACE_UPROBE_SESSION, SecFlag.NONE],
  ["uprobe.multi.s+", ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI, SecFlag.SLEEPABLE],
  ["uretprobe.multi.s+", ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI, SecFlag.SLEEPABLE],
  ["uprobe.session.s+", ProgType.KPROBE, AttachType.TRACE_UPROBE_SESSION, SecFlag.SLEEPABLE],
  ["ksyscall+", ProgType.KPROBE, 0, SecFlag.NONE],
  ["kretsyscall+", ProgType.KPROBE, 0, SecFlag.NONE],
  ["usdt+", ProgType.KPROBE, 0, SecFlag.USDT],
  ["usdt.s+", ProgType.KPROBE, 0, SecFlag.USDT | SecFlag.SLEEPABLE],
  ["tc/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS, SecFlag.NONE],
  ["tc/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS, SecFlag.NONE],
  ["tcx/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS, SecFlag.NONE],
  ["tcx/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS, SecFlag.NONE],
  ["tc", ProgType.SCHED_CLS, 0, SecFlag.NONE],
  ["classifier", ProgType.SCHED_CLS, 0, SecFlag.NONE],
  ["action", ProgType.SCHED_ACT, 0, SecFlag.NONE],
  ["netkit/primary", ProgType.SCHED_CLS, AttachType.NETKIT_PRIMARY, SecFlag.NONE],
  ["netkit/peer", ProgType.SCHED_CLS, AttachType.NETKIT_PEER, SecFlag.NONE],
  ["tracepoint+", ProgType.TRACEPOINT, 0, SecFlag.NONE],
  ["tp+", ProgType.TRACEPOINT, 0, SecFlag.NONE],
  ["tracepoint.s+", ProgType.TRACEPOINT, 0, SecFlag.SLEEPABLE],
  ["tp.s+", ProgType.TRACEPOINT, 0, SecFlag.SLEEPABLE],
  ["raw_tracepoint+", ProgType.RAW_TRACEPOINT, 0, SecFlag.NONE],
  ["raw_tp+", ProgType.RAW_TRACEPOINT, 0, SecFlag.NONE],
  ["raw_tracepoint.s+", ProgType.RAW_TRACEPOINT, 0, SecFlag.SLEEPABLE],
  ["raw_tp.s+", ProgType.RAW_TRACEPOINT, 0, SecFlag.SLEEPABLE],
  ["raw_tracepoint.w+", ProgType.RAW_TRACEPOINT_WRITABLE, 0, SecFlag.NONE],
  ["raw_tp.w+", ProgType.RAW_TRACEPOINT_WRITABLE, 0, SecFlag.NONE],
  ["tp_btf+", ProgType.TRACING, AttachType.TRACE_RAW_TP, SecFlag.ATTACH_BTF],
  ["tp_btf.s+", ProgType.TRACING, AttachType.TRACE_RAW_TP, SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE],
  ["fentry+", ProgType.TRACING, AttachType.TRACE_FENTRY, SecFlag.ATTACH_BTF],
  ["fmod_ret+", ProgType.TRACING, AttachType.MODIFY_RETURN, SecFlag.ATTACH_BTF],
  ["fexit+", ProgType.TRACING, AttachType.TRACE_FEXIT, SecFlag.ATTACH_BTF],
  ["fentry.s+", ProgType.TRACING, AttachType.TRACE_FENTRY, SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE],
  ["fmod_ret.s+", ProgType.TRACING, AttachType.MODIFY_RETURN, SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE],
  ["fexit.s+", ProgType.TRACING, AttachType.TRACE_FEXIT, SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE],
  ["fsession+", ProgType.TRACING, AttachType.TRACE_FSESSION, SecFlag.ATTACH_BTF],
  ["fsession.s+", ProgType.TRACING, AttachType.TRACE_FSESSION, SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE],
  ["fsession.multi+", ProgType.TRACING, AttachType.TRACE_FSESSION_MULTI, 0],
  ["fsession.multi.s+", ProgType.TRACING, AttachType.TRACE_FSESSION_MULTI, SecFlag.SLEEPABLE],
  ["fentry.multi+", ProgType.TRACING, AttachType.TRACE_FENTRY_MULTI, 0],
  ["fexit.multi+", ProgType.TRACING, AttachType.TRACE_FEXIT_MULTI, 0],
  ["fentry.multi.s+", ProgType.TRACING, AttachType.TRACE_FENTRY_MULTI, SecFlag.SLEEPABLE],
  ["fexit.multi.s+", ProgType.TRACING, AttachType.TRACE_FEXIT_MULTI, SecFlag.SLEEPABLE],
  ["freplace+", ProgType.EXT, 0, SecFlag.ATTACH_BTF],
  ["lsm+", ProgType.LSM, AttachType.LSM_MAC, SecFlag.ATTACH_BTF],
  ["lsm.s+", ProgType.LSM, AttachType.LSM_MAC, SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE],
  ["lsm_cgroup+", ProgType.LSM, AttachType.LSM_CGROUP, SecFlag.ATTACH_BTF],
  ["iter+", ProgType.TRACING, AttachType.TRACE_ITER, SecFlag.ATTACH_BTF],
  ["iter.s+", ProgType.TRACING, AttachType.TRACE_ITER, SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE],
  ["syscall", ProgType.SYSCALL, 0, SecFlag.SLEEPABLE],
  ["xdp.frags/devmap", ProgType.XDP, AttachType.XDP_DEVMAP, SecFlag.XDP_FRAGS],
  ["xdp/devmap", ProgType.XDP, AttachType.XDP_DEVMAP, SecFlag.ATTACHABLE],
  ["xdp.frags/cpumap", ProgType.XDP, AttachType.XDP_CPUMAP, SecFlag.XDP_FRAGS],
  ["xdp/cpumap", ProgType.XDP, AttachType.XDP_CPUMAP, SecFlag.ATTACHABLE],
  ["xdp.frags", ProgType.XDP, AttachType.XDP, SecFlag.XDP_FRAGS],
  ["xdp", ProgType.XDP, AttachType.XDP, SecFlag.ATTACHABLE_OPT],
  ["perf_event", ProgType.PERF_EVENT, 0, SecFlag.NONE],
  ["lwt_in", ProgType.LWT_IN, 0, SecFlag.NONE],
  ["lwt_out", ProgType.LWT_OUT, 0, SecFlag.NONE],
  ["lwt_xmit", ProgType.LWT_XMIT, 0, SecFlag.NONE],
  ["lwt_seg6local", ProgType.LWT_SEG6LOCAL, 0, SecFlag.NONE],
  ["sockops", ProgType.SOCK_OPS, AttachType.CGROUP_SOCK_OPS, SecFlag.ATTACHABLE_OPT],
  ["sk_skb/stream_parser", ProgType.SK_SKB, AttachType.SK_SKB_STREAM_PARSER, SecFlag.ATTACHABLE_OPT],
  ["sk_skb/stream_verdict", ProgType.SK_SKB, AttachType.SK_SKB_STREAM_VERDICT, SecFlag.ATTACHABLE_OPT],
  ["sk_skb/verdict", ProgType.SK_SKB, AttachType.SK_SKB_VERDICT, SecFlag.ATTACHABLE_OPT],
  ["sk_skb", ProgType.SK_SKB, 0, SecFlag.NONE],
  ["sk_msg", ProgType.SK_MSG, AttachType.SK_MSG_VERDICT, SecFlag.ATTACHABLE_OPT],
  ["lirc_mode2", ProgType.LIRC_MODE2, AttachType.LIRC_MODE2, SecFlag.ATTACHABLE_OPT],
  ["flow_dissector", ProgType.FLOW_DISSECTOR, AttachType.FLOW_DISSECTOR, SecFlag.ATTACHABLE_OPT],
  ["cgroup_skb/ingress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, SecFlag.ATTACHABLE_OPT],
  ["cgroup_skb/egress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS, SecFlag.ATTACHABLE_OPT],
  ["cgroup/skb", ProgType.CGROUP_SKB, 0, SecFlag.NONE],
  ["cgroup/sock_create", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET_SOCK_CREATE, SecFlag.ATTACHABLE],
  ["cgroup/sock_release", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET_SOCK_RELEASE, SecFlag.ATTACHABLE],
  ["cgroup/sock", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET_SOCK_CREATE, SecFlag.ATTACHABLE_OPT],
  ["cgroup/post_bind4", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET4_POST_BIND, SecFlag.ATTACHABLE],
  ["cgroup/post_bind6", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET6_POST_BIND, SecFlag.ATTACHABLE],
  ["cgroup/bind4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_BIND, SecFlag.ATTACHABLE],
  ["cgroup/bind6", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET6_BIND, SecFlag.ATTACHABLE],
  ["cgroup/connect4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT, SecFlag.ATTACHABLE],
  ["cgroup/connect6", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET6_CONNECT, SecFlag.ATTACHABLE],
  ["cgroup/connect_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_CONNECT, SecFlag.ATTACHABLE],
  ["cgroup/sendmsg4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP4_SENDMSG, SecFlag.ATTACHABLE],
  ["cgroup/sendmsg6", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP6_SENDMSG, SecFlag.ATTACHABLE],
  ["cgroup/sendmsg_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_SENDMSG, SecFlag.ATTACHABLE],
  ["cgroup/recvmsg4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP4_RECVMSG, SecFlag.ATTACHABLE],
  ["cgroup/recvmsg6", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP6_RECVMSG, SecFlag.ATTACHABLE],
  ["cgroup/recvmsg_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_RECVMSG, SecFlag.ATTACHABLE],
  ["cgroup/getpeername4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_GETPEERNAME, SecFlag.ATTACHABLE],
  ["cgroup/getpeername6", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET6_GETPEERNAME, SecFlag.ATTACHABLE],
  ["cgroup/getpeername_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_GETPEERNAME, SecFlag.ATTACHABLE],
  ["cgroup/getsockname4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_GETSOCKNAME, SecFlag.ATTACHABLE],
  ["cgroup/getsockname6", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET6_GETSOCKNAME, SecFlag.ATTACHABLE],
  ["cgroup/getsockname_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_GETSOCKNAME, SecFlag.ATTACHABLE],
  ["cgroup/sysctl", ProgType.CGROUP_SYSCTL, AttachType.CGROUP_SYSCTL, SecFlag.ATTACHABLE],
  ["cgroup/getsockopt", ProgType.CGROUP_SOCKOPT, AttachType.CGROUP_GETSOCKOPT, SecFlag.ATTACHABLE],
  ["cgroup/setsockopt", ProgType.CGROUP_SOCKOPT, AttachType.CGROUP_SETSOCKOPT, SecFlag.ATTACHABLE],
  ["cgroup/dev", ProgType.CGROUP_DEVICE, AttachType.CGROUP_DEVICE, SecFlag.ATTACHABLE_OPT],
  ["struct_ops+", ProgType.STRUCT_OPS, 0, SecFlag.NONE],
  ["struct_ops.s+", ProgType.STRUCT_OPS, 0, SecFlag.SLEEPABLE],
  ["sk_lookup", ProgType.SK_LOOKUP, AttachType.SK_LOOKUP, SecFlag.ATTACHABLE],
  ["netfilter", ProgType.NETFILTER, AttachType.NETFILTER, SecFlag.NONE],
];

/** libbpf's `section_defs[]`, in its order. */
export const SECTION_DEFS: readonly SecDef[] = ROWS.map(
  ([sec, progType, expectedAttachType, flags]) => ({ sec, progType, expectedAttachType, flags }),
);

/** libbpf `sec_def_matches()`. */
export function secDefMatches(def: SecDef, secName: string): boolean {
  const pat = def.sec;
  const last = pat[pat.length - 1];
  if (last === "/") return secName.startsWith(pat);
  if (last === "+") {
    const base = pat.slice(0, -1);
    if (!secName.startsWith(base)) return false;
    return secName.length === base.length || secName[base.length] === "/";
  }
  return secName === pat;
}

/** libbpf `find_sec_def()` without custom handlers: the first matching row, or undefined. */
export function findSecDef(secName: string): SecDef | undefined {
  for (const def of SECTION_DEFS) if (secDefMatches(def, secName)) return def;
  return undefined;
}

/** What `libbpf_prepare_prog_load()` decides in gen mode, where every kernel feature is assumed. */
export interface PreparedLoad {
  expectedAttachType: number;
  progFlags: number;
  /** the BTF attach target to record (`bpf_gen__record_attach_target`), if any */
  attachTarget: { name: string; attachType: number } | null;
  /** set when libbpf fails the load: the reason, and libbpf's errno */
  refusal: { reason: string; errno: number } | null;
}

/**
 * libbpf `libbpf_prepare_prog_load()` for a program in section `secName` with definition `def`,
 * given the expected attach type and flags the program has at load time (gen mode:
 * `kernel_supports()` is true for everything, attach targets are recorded, not looked up).
 */
export function prepareProgLoad(
  def: SecDef,
  secName: string,
  progType: number,
  expectedAttachType: number,
  progFlags: number,
): PreparedLoad {
  const out: PreparedLoad = { expectedAttachType, progFlags, attachTarget: null, refusal: null };
  const f = def.flags;
  if (f & SecFlag.SLEEPABLE) out.progFlags |= ProgFlag.SLEEPABLE;
  if (progType === ProgType.XDP && f & SecFlag.XDP_FRAGS) out.progFlags |= ProgFlag.XDP_HAS_FRAGS;
  if (f & SecFlag.USDT) out.expectedAttachType = AttachType.TRACE_UPROBE_MULTI;
  if (f & SecFlag.ATTACH_BTF) {
    const slash = secName.indexOf("/");
    if (slash < 0) {
      out.refusal = {
        reason: "no BTF-based attach target is specified in the section name",
        errno: -Errno.EINVAL,
      };
      return out;
    }
    if (progType === ProgType.EXT) {
      // libbpf_find_attach_btf_id(): freplace needs a live target program fd.
      out.refusal = { reason: "attach program FD is not set (freplace)", errno: -Errno.EINVAL };
      return out;
    }
    out.attachTarget = { name: secName.slice(slash + 1), attachType: out.expectedAttachType };
  }
  const t = out.expectedAttachType;
  if (
    t === AttachType.TRACE_FENTRY_MULTI ||
    t === AttachType.TRACE_FEXIT_MULTI ||
    t === AttachType.TRACE_FSESSION_MULTI
  ) {
    // tracing_multi_mod_fd(): a "<module>:" target needs the module BTFs, which gen mode never loads.
    const slash = secName.indexOf("/");
    if (slash >= 0 && secName.indexOf(":", slash + 1) >= 0) {
      out.refusal = {
        reason: "module attach target needs module BTF (gen mode)",
        errno: -Errno.EINVAL,
      };
    }
  }
  return out;
}
