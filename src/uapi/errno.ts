/**
 * Linux errno values for x86_64 (asm-generic), by name and number, and the one error type the
 * bpf() surface throws.
 */

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  ERANGE: 34,
  EDEADLK: 35,
  ENOSYS: 38,
  ENODATA: 61,
  ENOPKG: 65,
  EPROTO: 71,
  EBADMSG: 74,
  EBADFD: 77,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  ENOKEY: 126,
  EKEYEXPIRED: 127,
  EKEYREVOKED: 128,
  EKEYREJECTED: 129,
  /** Kernel-internal, but it leaks to user space from a few BPF paths. */
  ENOTSUPP: 524,
} as const;

export type ErrnoName = keyof typeof Errno;

const byNumber = new Map<number, ErrnoName>(
  (Object.entries(Errno) as [ErrnoName, number][]).map(([name, no]) => [no, name]),
);

/** The name of an errno number (sign ignored), or `E<number>` when it has none here. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return byNumber.get(n) ?? `E${n}`;
}

/** True when `ret` is a negative errno as kernel-internal functions return it. */
export function isErr(ret: number): boolean {
  return ret < 0 && ret >= -4095;
}

/**
 * The code of a BpfError: "BPF_" and the errno's name ("BPF_EACCES", "BPF_EKEYREJECTED"), or
 * "BPF_E<number>" for an errno this table does not name. It is derived from the errno alone, so
 * a caller may switch on it as on the errno itself.
 */
export type BpfErrorCode = `BPF_${ErrnoName}` | `BPF_E${number}`;

/** The summary lines a verifier log ends with; they never say why a load failed. */
const LOG_SUMMARY = /^(processed \d+ insns|verification time |stack depth |max_states_per_insn )/;

/**
 * The line of a verifier log that says why the load failed (cilium/ebpf's VerifierError idea):
 * the last line that is not blank and not one of the statistics the verifier appends
 * ("processed N insns …", "verification time …", "stack depth …"). Empty when there is none.
 */
export function verifierLogReason(log: string): string {
  const lines = log.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (line && !LOG_SUMMARY.test(line)) return line;
  }
  return "";
}

/**
 * A failed bpf(), keyctl() or mmap() call: the errno by name and number, the command that failed
 * and the verifier log the kernel wrote (empty when none was asked for or none was written).
 *
 * `code` is "BPF_" + the errno name (see BpfErrorCode); `errnoName` is the bare name. When the
 * call left a log, the message leads with the log line that says why ("unknown opcode ff: …"),
 * not with the statistics line a verifier log ends with.
 */
export class BpfError extends Error {
  override readonly name = "BpfError";
  readonly errno: number;
  readonly code: BpfErrorCode;
  /** The errno's name ("EACCES"), or "E<number>" when it has none here. */
  readonly errnoName: string;
  readonly op: string;
  readonly log: string;

  constructor(op: string, errno: number, log = "", detail?: string) {
    const n = Math.abs(errno);
    const name = errnoName(n);
    const failed = `${op} failed with ${name} (${n})`;
    const why = detail === undefined ? verifierLogReason(log) : "";
    super(detail !== undefined ? `${failed}${detail}` : why ? `${why}: ${failed}` : failed);
    this.errno = n;
    this.code = `BPF_${name}` as BpfErrorCode;
    this.errnoName = name;
    this.op = op;
    this.log = log;
  }
}

/** A kernel-style failure: the errno it maps to and a human reason (the kernel's pr_err/log text). */
export interface Failure {
  readonly ok: false;
  readonly errno: ErrnoName;
  readonly reason: string;
}

/** The value of a pure kernel-rule function: a value, or a failure with its errno. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | Failure;

export function fail(errno: ErrnoName, reason: string): Failure {
  return { ok: false, errno, reason };
}

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}
