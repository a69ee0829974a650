/** BPF_PROG_LOAD for tests: the fd or the errno, and the log, instead of a thrown BpfError. */
import type { Bpf, ProgLoadOptions } from "../../src/uapi/bpf.js";
import { BpfError } from "../../src/uapi/errno.js";

export interface LoadOutcome {
  /** The fd, or -errno (the selftest compares `fd` with `-EPERM` and so on). */
  readonly fd: number;
  readonly errno: number;
  readonly log: string;
}

export function tryLoad(bpf: Bpf, o: ProgLoadOptions): LoadOutcome {
  try {
    const r = bpf.progLoad(o);
    return { fd: r.fd, errno: 0, log: r.log };
  } catch (e) {
    if (e instanceof BpfError) return { fd: -e.errno, errno: e.errno, log: e.log };
    throw e;
  }
}
