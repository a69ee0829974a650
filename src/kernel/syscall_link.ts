/**
 * BPF_LINK_CREATE and BPF_RAW_TRACEPOINT_OPEN for programs attached through BTF
 * (bpf_tracing_prog_attach): an LSM program attaches to its hook with BPF_LSM_MAC, a TRACING
 * program to its fentry/fexit/raw_tp point (iterators with BPF_TRACE_ITER make an iterator
 * link). The returned fd is the link; closing it detaches the program.
 */
import { AttachType, ProgType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import { BpfLink } from "./link.js";
import type { SyscallCtx } from "./state.js";

function attach(ctx: SyscallCtx, progFd: number, attachType: number): number {
  const f = ctx.proc.file(progFd);
  if (!f) return -Errno.EBADF;
  if (f.kind !== "prog") return -Errno.EINVAL;
  const prog = f.prog;
  if (prog.type !== ProgType.LSM && prog.type !== ProgType.TRACING) return -Errno.EINVAL;
  if (attachType !== prog.expected_attach_type) return -Errno.EINVAL;
  const target = prog.aux.attach;
  if (!target) return -Errno.EINVAL;
  ctx.kernel.getProg(prog);
  const link = new BpfLink(prog, attachType, target.point);
  link.refcnt = 1;
  link.id = ctx.kernel.links.alloc(link);
  if (attachType !== AttachType.TRACE_ITER) ctx.kernel.attachments.add(link);
  return ctx.proc.installFd({ kind: "link", link });
}

/** BPF_RAW_TRACEPOINT_OPEN with a NULL name: the program's own attach point. */
export function rawTracepointOpen(ctx: SyscallCtx, name: bigint, progFd: number): number {
  const f = ctx.proc.file(progFd);
  if (f?.kind === "prog" && (f.prog.type === ProgType.LSM || f.prog.type === ProgType.TRACING)) {
    if (name !== 0n) return -Errno.EINVAL;
    if (f.prog.expected_attach_type === AttachType.TRACE_ITER) return -Errno.EINVAL;
    return attach(ctx, progFd, f.prog.expected_attach_type);
  }
  // classic raw tracepoints by name are not modelled (no tracepoints fire in the model)
  return f ? -Errno.EINVAL : -Errno.EBADF;
}

/** BPF_LINK_CREATE for the BTF attach types. */
export function linkCreate(
  ctx: SyscallCtx,
  progFd: number,
  targetFd: number,
  attachType: number,
  flags: number,
): number {
  if (flags) return -Errno.EINVAL;
  const btfTypes: number[] = [
    AttachType.LSM_MAC,
    AttachType.TRACE_FENTRY,
    AttachType.TRACE_FEXIT,
    AttachType.MODIFY_RETURN,
    AttachType.TRACE_RAW_TP,
    AttachType.TRACE_ITER,
  ];
  if (!btfTypes.includes(attachType)) return -Errno.EINVAL;
  if (targetFd && attachType !== AttachType.TRACE_ITER) return -Errno.EINVAL;
  return attach(ctx, progFd, attachType);
}
