/**
 * The raw system-call surface that both backends (the model kernel and the host kernel) offer.
 * Every call takes what the real system call takes (numbers, attr bytes whose pointer fields
 * are addresses in the caller's memory) and returns what it returns: a non-negative result or a
 * negative errno. Nothing above this interface knows which backend it talks to.
 */

/** The caller's address space: where attr pointers point. */
export interface UserMemory {
  /** Maps `size` zeroed bytes, or a copy of `init`, and returns the address. */
  alloc(sizeOrInit: number | Uint8Array): bigint;
  /** Unmaps an allocation made by alloc(). */
  free(addr: bigint): void;
  /** Copies `len` bytes out of the address space; throws a RangeError on an unmapped address. */
  read(addr: bigint, len: number): Uint8Array;
  /** Copies bytes into the address space; throws a RangeError on an unmapped address. */
  write(addr: bigint, data: Uint8Array): void;
}

export const Prot = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MapFlags = { SHARED: 0x01, PRIVATE: 0x02 } as const;

/** A bpf() command a loader program issued from inside the kernel (bpf_sys_bpf) that failed. */
export interface InnerFailure {
  readonly cmd: number;
  /** The attr as the command saw it (sizeof(union bpf_attr) bytes). */
  readonly attr: Uint8Array;
  /** Positive errno. */
  readonly errno: number;
  /** The verifier log of a failed inner PROG_LOAD ("" otherwise). */
  readonly log: string;
  /**
   * Set when the loader's failing step was a lookup helper, not a command (`cmd` is -1):
   * bpf_btf_find_by_name_kind (with the BTF kind) or bpf_kallsyms_lookup_name, and the name.
   */
  readonly lookup?: { readonly helper: string; readonly name: string; readonly kind?: number };
}

export interface BpfBackend {
  /** "model" or "host". */
  readonly kind: "model" | "host";
  readonly memory: UserMemory;
  /** bpf(2). `attr` is the attr struct itself; the kernel may write fields back into it. */
  bpf(cmd: number, attr: Uint8Array, size?: number): number;
  /** close(2) of a file descriptor. */
  close(fd: number): number;
  /** mmap(2) of a map fd: the address, or a negative errno as a bigint. */
  mmap(length: number, prot: number, flags: number, fd: number, offset?: number): bigint;
  munmap(addr: bigint, length: number): number;
  mprotect(addr: bigint, length: number, prot: number): number;
  /** add_key(2): the new key's serial or a negative errno. */
  addKey(type: string, description: string, payload: Uint8Array | null, keyring: number): number;
  /** keyctl(2) with integer arguments (KEYCTL_GET_KEYRING_ID, LINK, REVOKE, …). */
  keyctl(op: number, ...args: number[]): number;
  /** keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): the new session keyring's serial or -errno. */
  joinSessionKeyring(name: string | null): number;
  /**
   * The inner command that failed during the last run of a loader program, when the backend
   * can see inside the kernel (the model); the host cannot and leaves this out.
   */
  innerFailure?(): InnerFailure | null;
}
