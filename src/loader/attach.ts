/**
 * Attaching a light skeleton's programs as its generated `__attach()` does for the program
 * types attached through BTF: BPF_RAW_TRACEPOINT_OPEN with a NULL name (LSM, fentry/fexit,
 * BTF raw tracepoints), BPF_LINK_CREATE with BPF_TRACE_ITER for iterators. Each link is an fd;
 * closing it detaches the program.
 */
import type { BpfBackend } from "../uapi/backend.js";
import { AttachType, BpfCmd, ProgType } from "../uapi/constants.js";
import { BpfError, Errno } from "../uapi/errno.js";
import { encode, LinkCreateAttr, RawTracepointOpenAttr } from "../uapi/layout.js";

export interface AttachedLink {
  readonly prog: string;
  readonly fd: number;
  readonly how: "raw_tracepoint_open" | "link_create";
}

/** Attaches one program fd; throws a BpfError naming the program and the command. */
export function attachProgram(
  backend: BpfBackend,
  name: string,
  progFd: number,
  progType: number,
): AttachedLink {
  const rto = encode(RawTracepointOpenAttr, { name: 0n, prog_fd: progFd }, 24);
  let fd = backend.bpf(BpfCmd.RAW_TRACEPOINT_OPEN, rto);
  if (fd >= 0) return { prog: name, fd, how: "raw_tracepoint_open" };
  if (progType === ProgType.TRACING && fd === -Errno.EINVAL) {
    const lc = encode(
      LinkCreateAttr,
      { prog_fd: progFd, target_fd: 0, attach_type: AttachType.TRACE_ITER, flags: 0 },
      48,
    );
    fd = backend.bpf(BpfCmd.LINK_CREATE, lc);
    if (fd >= 0) return { prog: name, fd, how: "link_create" };
  }
  throw new BpfError(`attach of program '${name}'`, -fd);
}
