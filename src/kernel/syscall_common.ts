/**
 * What the bpf() command families share: bpf_capable(), object names (bpf_obj_name_cpy()),
 * writing a result field back into the caller's attr, and bpf_prog_new_fd() (program load and
 * BPF_PROG_GET_FD_BY_ID both end in it).
 */
import { Errno } from "../uapi/errno.js";
import { fromCString } from "../uapi/layout.js";
import type { BpfProg } from "./prog.js";
import type { SyscallCtx } from "./state.js";

/** bpf_obj_name_cpy(): only [A-Za-z0-9_.], NUL-terminated within 16 bytes. */
export function objName(raw: Uint8Array): string | number {
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

export function bpfCapable(ctx: SyscallCtx): boolean {
  return ctx.proc.caps.bpf || ctx.proc.caps.sys_admin;
}

export function putU32(uattr: Uint8Array, size: number, off: number, v: number): void {
  if (off + 4 <= size) new DataView(uattr.buffer, uattr.byteOffset).setUint32(off, v >>> 0, true);
}

/** bpf_prog_new_fd(): security_bpf_prog() first, then an fd. Drops the reference on failure. */
export function progNewFd(ctx: SyscallCtx, prog: BpfProg): number {
  const sec = ctx.kernel.lsm.bpf_prog(prog);
  if (sec) {
    ctx.kernel.putProg(prog);
    return sec;
  }
  return ctx.proc.installFd({ kind: "prog", prog });
}
