/**
 * Access to the memory that attr pointers refer to: the calling process's address space for a
 * bpf() syscall, or program memory when a SYSCALL program calls bpf_sys_bpf() (a kernel bpfptr).
 */
import type { AddressSpace } from "./memory.js";

export interface Uaccess {
  /** True for kernel bpfptrs (copy_from_kernel_nofault), false for user pointers. */
  readonly is_kernel: boolean;
  /** copy_from_user: a view valid until the next write, or undefined on a fault. */
  read(addr: bigint, len: number): Uint8Array | undefined;
  /** copy_to_user: false on a fault. */
  write(addr: bigint, data: Uint8Array): boolean;
  /** strncpy_from_user: at most `max` bytes, undefined on a fault. */
  readCString(addr: bigint, max: number): string | undefined;
}

const MAX_ADDR = BigInt(Number.MAX_SAFE_INTEGER);

export function userAccess(space: AddressSpace): Uaccess {
  const safe = (addr: bigint, len: number) => addr > 0n && addr + BigInt(len) <= MAX_ADDR;
  return {
    is_kernel: false,
    read: (addr, len) =>
      len === 0 ? new Uint8Array(0) : safe(addr, len) ? space.view(Number(addr), len) : undefined,
    write: (addr, data) =>
      data.length === 0 ? true : safe(addr, data.length) && space.copyOut(Number(addr), data),
    readCString: (addr, max) => (safe(addr, 1) ? space.readCString(Number(addr), max) : undefined),
  };
}
