/**
 * System-call numbers of the calls the host backend makes directly, per CPU architecture (the
 * rest go through libc). One table, so a new architecture is one entry.
 */

export interface SyscallNumbers {
  readonly bpf: number;
  readonly add_key: number;
  readonly keyctl: number;
}

/** arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h (arm64). */
const TABLE: Readonly<Record<string, SyscallNumbers>> = {
  x64: { bpf: 321, add_key: 248, keyctl: 250 },
  arm64: { bpf: 280, add_key: 217, keyctl: 219 },
};

/** The host's CPU architecture has no entry in the syscall table. */
export class UnsupportedArchError extends Error {
  override readonly name = "UnsupportedArchError";
  /** Stable code of this error class. */
  readonly code = "HOST_UNSUPPORTED_ARCH";
  constructor(readonly arch: string) {
    super(
      `host backend: no system-call numbers for architecture "${arch}" (known: ${Object.keys(TABLE).join(", ")})`,
    );
  }
}

/** The syscall numbers for `arch` (Node's `process.arch` naming); throws UnsupportedArchError. */
export function syscallNumbers(arch: string = process.arch): SyscallNumbers {
  const n = TABLE[arch];
  if (!n) throw new UnsupportedArchError(arch);
  return n;
}
