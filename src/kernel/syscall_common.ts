/**
 * What the bpf() commands share: bpf_capable(), object names (bpf_obj_name_cpy()) and writing a
 * result field back into the caller's attr.
 */
import { Errno } from "../uapi/errno.js";
import { fromCString } from "../uapi/layout.js";
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
