/**
 * The libc entry points the host backend calls through koffi, bound once per process. Every
 * function returns what libc returns; callers read `errno()` right after a failed call.
 * On x86_64 and arm64 Linux a variadic `syscall()` takes its integer arguments exactly like a
 * fixed-argument function, so each shape of call gets its own fixed prototype.
 */
import { createRequire } from "node:module";
import { type SyscallNumbers, syscallNumbers } from "./arch.js";

/** libc (or koffi itself) could not be loaded on this machine. */
export class HostLibraryError extends Error {
  override readonly name = "HostLibraryError";
  /** Stable code of this error class. */
  readonly code = "HOST_LIBRARY_UNAVAILABLE";
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`host backend: cannot load ${what}: ${reason}`);
  }
}

type Fn<A extends unknown[], R> = (...args: A) => R;

export interface Libc {
  readonly nr: SyscallNumbers;
  /** syscall(nr, a, ptr, c): bpf(cmd, attr, size). */
  readonly sys3: Fn<[number, number, number, number], number>;
  /** syscall(nr, type, desc, payload, plen, ring): add_key. */
  readonly sysAddKey: Fn<[number, string, string, number, number, number], number>;
  /** syscall(nr, op, a, b, c, d): keyctl with integer arguments. */
  readonly sys5: Fn<[number, number, number, number, number, number], number>;
  /** syscall(nr, op, name): keyctl(KEYCTL_JOIN_SESSION_KEYRING, name). */
  readonly sysStr: Fn<[number, number, string | null], number>;
  readonly close: Fn<[number], number>;
  readonly mmap: Fn<[number, number, number, number, number, number], number>;
  readonly munmap: Fn<[number, number], number>;
  readonly mprotect: Fn<[number, number, number], number>;
  readonly calloc: Fn<[number, number], number>;
  readonly free: Fn<[number], void>;
  /** memcpy from an address into a JS buffer. */
  readonly copyIn: Fn<[Uint8Array, number, number], unknown>;
  /** memcpy from a JS buffer to an address. */
  readonly copyOut: Fn<[number, Uint8Array, number], unknown>;
  /**
   * An ArrayBuffer over native memory at `addr` (no copy; koffi.view). Valid until that memory is
   * freed: only NativeMemory hands these out, over memory it owns.
   */
  readonly view: Fn<[number, number], ArrayBuffer>;
  /** The calling thread's errno. */
  errno(): number;
}

let bound: Libc | null = null;

/** The libc bindings; throws HostLibraryError or UnsupportedArchError when unavailable. */
export function libc(): Libc {
  if (bound) return bound;
  const nr = syscallNumbers();
  if (process.platform !== "linux") {
    throw new HostLibraryError("libc.so.6", `platform ${process.platform} is not Linux`);
  }
  // koffi is loaded lazily so that importing the host backend never fails on its own.
  // biome-ignore lint/suspicious/noExplicitAny: koffi's loader is untyped at this point
  let koffi: any;
  try {
    koffi = createRequire(import.meta.url)("koffi");
  } catch (e) {
    throw new HostLibraryError("koffi", (e as Error).message);
  }
  // biome-ignore lint/suspicious/noExplicitAny: koffi library handle
  let lib: any;
  try {
    lib = koffi.load("libc.so.6");
  } catch (e) {
    throw new HostLibraryError("libc.so.6", (e as Error).message);
  }
  bound = {
    nr,
    sys3: lib.func("long syscall(long nr, long a, uintptr_t ptr, long c)"),
    sysAddKey: lib.func(
      "long syscall(long nr, const char *type, const char *desc, uintptr_t payload, size_t plen, long ring)",
    ),
    sys5: lib.func("long syscall(long nr, long op, long a, long b, long c, long d)"),
    sysStr: lib.func("long syscall(long nr, long op, const char *name)"),
    close: lib.func("int close(int fd)"),
    mmap: lib.func(
      "intptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)",
    ),
    munmap: lib.func("int munmap(uintptr_t addr, size_t len)"),
    mprotect: lib.func("int mprotect(uintptr_t addr, size_t len, int prot)"),
    calloc: lib.func("uintptr_t calloc(size_t n, size_t size)"),
    free: lib.func("void free(uintptr_t ptr)"),
    copyIn: lib.func("void *memcpy(_Out_ uint8_t *dst, uintptr_t src, size_t n)"),
    copyOut: lib.func("void *memcpy(uintptr_t dst, const uint8_t *src, size_t n)"),
    view: (addr: number, len: number) => koffi.view(addr, len) as ArrayBuffer,
    errno: () => koffi.errno() as number,
  };
  return bound;
}
