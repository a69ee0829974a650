/**
 * BPF_BTF_LOAD: the log set-up, the size cap and btf_parse() (btf.ts), then an id and an fd.
 */
import { Errno } from "../uapi/errno.js";
import type { BtfLoadAttr, Values } from "../uapi/layout.js";
import { BTF_MAX_SIZE, parseBtf } from "./btf.js";
import { VerifierLog } from "./log.js";
import type { SyscallCtx } from "./state.js";
import { bpfCapable, putU32 } from "./syscall_common.js";

export function btfLoad(
  ctx: SyscallCtx,
  a: Values<typeof BtfLoadAttr>,
  uattr: Uint8Array,
  size: number,
): number {
  if (!bpfCapable(ctx)) return -Errno.EPERM;
  if (a.btf_flags) return -Errno.EINVAL;
  const log = VerifierLog.init(a.btf_log_level, a.btf_log_buf, a.btf_log_size);
  if (typeof log === "number") return log;
  if (a.btf_size > BTF_MAX_SIZE) return -Errno.E2BIG;
  const data = ctx.uaccess.read(a.btf, a.btf_size);
  const btf = data ? parseBtf(data, log) : -Errno.EFAULT;
  // btf_parse() finalizes the log before the object gets an id, and on its error paths
  // "overwrite[s] err with -ENOSPC or -EFAULT" from finalize_log().
  const { err, trueSize } = log.finalize({ write: (addr, d) => ctx.uaccess.write(addr, d) });
  putU32(uattr, size, 28, trueSize);
  if (err) return err;
  if (typeof btf === "number") return btf;
  btf.id = ctx.kernel.btfs.alloc(btf);
  ctx.kernel.getBtf(btf);
  return ctx.proc.installFd({ kind: "btf", btf });
}
