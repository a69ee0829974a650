/**
 * The program commands of bpf(): BPF_PROG_LOAD (bpf_prog_load(): flags, capabilities, the
 * profile's entry check (scheme_hooks.ts: mainline's and kfunc's signature check, Hornet's
 * integrity hook), the admission hook where the profile has it, then bpf_check() in
 * verifier.ts) and BPF_PROG_TEST_RUN.
 */
import { Limits, ProgFlag, ProgType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { ProgLoadAttr, TestRunAttr, Values } from "../uapi/layout.js";
import { attachesThroughBtf, checkExpectedAttach } from "./btf_attach.js";
import { BpfProg } from "./prog.js";
import { signedLoadHooks } from "./scheme_hooks.js";
import type { SyscallCtx } from "./state.js";
import { bpfCapable, objName, progNewFd, putU32 } from "./syscall_common.js";
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
  ProgType.TRACING,
  ProgType.LSM,
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

export function bpfProgLoad(
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
  // attaching to another program (EXT, fentry on a BPF program) and module BTF are not modelled
  if (a.attach_prog_fd) return -Errno.EINVAL;
  if (a.attach_btf_id && !attachesThroughBtf(a.prog_type)) return -Errno.EINVAL;
  if (checkExpectedAttach(a.prog_type, a.expected_attach_type)) return -Errno.EINVAL;
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
  const hooks = signedLoadHooks(kernel.profile);
  {
    const err = hooks.atProgLoad(ctx, prog, a);
    if (err) return err;
  }
  if (!MODEL_PROG_TYPES.has(a.prog_type)) return -Errno.EINVAL;
  prog.aux.load_time = kernel.boottimeNs();
  const name = objName(a.prog_name);
  if (typeof name === "number") return name;
  prog.aux.name = name;
  prog.aux.attach_btf_id = a.attach_btf_id;
  if (hooks.admissionAtEntry) {
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

export function bpfProgTestRun(
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
