/**
 * The host backend: the raw bpf()/keyctl()/mmap() surface over the real system calls of this
 * machine, through koffi. Attr pointers are real addresses (NativeMemory), errno is read after
 * each failed call and returned negated, exactly like the model's processes do.
 *
 * The backend behaves like a sandboxed process: it only closes fds it opened, only unmaps or
 * mprotects mappings it made, and dispose() closes every fd, unmaps every mapping, unlinks every
 * key it added and frees its memory, so a failing test leaks nothing into the test runner.
 */
import { readlinkSync } from "node:fs";
import type { BpfBackend } from "../uapi/backend.js";
import { BpfCmd, KeyctlOp, Limits } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import { type Libc, libc } from "./libc.js";
import { NativeAllocError, NativeMemory } from "./memory.js";

/** bpf() commands whose non-negative result is a new file descriptor. */
const FD_COMMAND_LIST = [
  BpfCmd.MAP_CREATE,
  BpfCmd.PROG_LOAD,
  BpfCmd.OBJ_GET,
  BpfCmd.PROG_GET_FD_BY_ID,
  BpfCmd.MAP_GET_FD_BY_ID,
  BpfCmd.RAW_TRACEPOINT_OPEN,
  BpfCmd.BTF_LOAD,
  BpfCmd.BTF_GET_FD_BY_ID,
  BpfCmd.LINK_CREATE,
  BpfCmd.LINK_GET_FD_BY_ID,
  BpfCmd.ENABLE_STATS,
  BpfCmd.ITER_CREATE,
  BpfCmd.TOKEN_CREATE,
];
/** FD_COMMAND_LIST as a table by command number (1 = makes an fd). */
const FD_COMMANDS = new Uint8Array(Math.max(...FD_COMMAND_LIST) + 1);
for (const c of FD_COMMAND_LIST) FD_COMMANDS[c] = 1;

/** A call on a backend after dispose() (its memory is gone). */
export class HostDisposedError extends Error {
  override readonly name = "HostDisposedError";
  /** Stable code of this error class. */
  readonly code = "HOST_DISPOSED";
  constructor(readonly op: string) {
    super(`host backend: ${op}() called after dispose()`);
  }
}

/** True when `fd` is open on a BPF map, program, BTF or link (anon_inode:bpf-*). */
function isBpfObjectFd(fd: number): boolean {
  if (!Number.isInteger(fd) || fd < 0) return false;
  try {
    return /^anon_inode:(\[?bpf|btf)/.test(readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    return false;
  }
}

const PAGE = Limits.PAGE_SIZE;
const pageRound = (n: number) => Math.ceil(n / PAGE) * PAGE;
const MAP_ANONYMOUS = 0x20;

export class HostBackend implements BpfBackend {
  readonly kind = "host" as const;
  readonly memory: NativeMemory;
  private readonly c: Libc;
  private readonly fds = new Set<number>();
  private readonly keys: { serial: number; keyring: number }[] = [];
  /** One page of native memory the attr is copied through, and a JS view of it. */
  private readonly attrPage: number;
  private readonly attrView: Uint8Array;
  /** Views of the attr page's first `len` bytes, by len (made once each). */
  private readonly attrOut: Uint8Array[] = [];
  private disposed = false;

  /** Binds libc; throws HostLibraryError / UnsupportedArchError where that is impossible. */
  constructor() {
    this.c = libc();
    this.memory = new NativeMemory(this.c);
    this.attrPage = this.c.calloc(1, PAGE);
    if (!this.attrPage) throw new NativeAllocError(PAGE);
    this.attrView = new Uint8Array(this.c.view(this.attrPage, PAGE));
  }

  private fail(): number {
    return -(this.c.errno() || Errno.EINVAL);
  }

  bpf(cmd: number, attr: Uint8Array, size = attr.length): number {
    if (this.disposed) throw new HostDisposedError("bpf");
    // The kernel reads min(size, PAGE_SIZE) bytes at most (larger sizes are E2BIG unread).
    const len = attr.length;
    const span = Math.max(len, Math.min(size >>> 0, PAGE));
    if (span > PAGE) return this.bpfLarge(cmd, attr, size, span);
    // one native call: the attr goes in and comes back through the page's view
    const page = this.attrView;
    page.set(attr);
    if (span > len) page.fill(0, len, span);
    const ret = this.c.sys3(this.c.nr.bpf, cmd, this.attrPage, size);
    const result = ret < 0 ? this.fail() : ret;
    attr.set(this.attrOut[len] ?? this.attrOutView(len));
    if (result >= 0 && FD_COMMANDS[cmd] === 1) this.fds.add(result);
    return result;
  }

  private attrOutView(len: number): Uint8Array {
    const v = this.attrView.subarray(0, len);
    this.attrOut[len] = v;
    return v;
  }

  /** bpf() with an attr larger than a page: through a native buffer of its own. */
  private bpfLarge(cmd: number, attr: Uint8Array, size: number, span: number): number {
    const owned = this.memory.alloc(span);
    const buf = Number(owned);
    try {
      this.c.copyOut(buf, attr, attr.length);
      const ret = this.c.sys3(this.c.nr.bpf, cmd, buf, size);
      const result = ret < 0 ? this.fail() : ret;
      this.c.copyIn(attr, buf, attr.length);
      if (result >= 0 && FD_COMMANDS[cmd] === 1) this.fds.add(result);
      return result;
    } finally {
      this.memory.free(owned);
    }
  }

  /**
   * close(2) of an fd this backend opened, or of a BPF object fd created on its behalf (a
   * SYSCALL program run through BPF_PROG_TEST_RUN installs fds in this process). Any other fd
   * gives EBADF: it is not ours to close.
   */
  close(fd: number): number {
    if (!this.fds.has(fd) && !isBpfObjectFd(fd)) return -Errno.EBADF;
    this.fds.delete(fd);
    return this.c.close(fd) < 0 ? this.fail() : 0;
  }

  /** The BPF fds this backend holds open, lowest first. */
  openFds(): number[] {
    return [...this.fds].sort((a, b) => a - b);
  }

  /** mmap(2) of anonymous memory or of a BPF fd that close() would accept (one a loader made). */
  mmap(length: number, prot: number, flags: number, fd: number, offset = 0): bigint {
    if (!(flags & MAP_ANONYMOUS) && !this.fds.has(fd) && !isBpfObjectFd(fd)) {
      return BigInt(-Errno.EBADF);
    }
    const r = this.c.mmap(0, length, prot, flags, fd, offset);
    if (r === -1) return BigInt(this.fail());
    this.memory.addMapping(r, pageRound(length), prot);
    return BigInt(r);
  }

  munmap(addr: bigint, length: number): number {
    const a = Number(addr);
    if (a % PAGE || length <= 0) return -Errno.EINVAL;
    if (!this.memory.mappingAt(a, pageRound(length))) return -Errno.EINVAL;
    if (this.c.munmap(a, length) < 0) return this.fail();
    this.memory.removeMapping(a, pageRound(length));
    return 0;
  }

  mprotect(addr: bigint, length: number, prot: number): number {
    const a = Number(addr);
    const region = this.memory.mappingAt(a, pageRound(length));
    if (!region) return -Errno.ENOMEM;
    if (this.c.mprotect(a, length, prot) < 0) return this.fail();
    if (region.start === a && pageRound(length) >= region.len) region.prot = prot;
    else {
      this.memory.removeMapping(a, pageRound(length));
      this.memory.addMapping(a, pageRound(length), prot);
    }
    return 0;
  }

  addKey(type: string, description: string, payload: Uint8Array | null, keyring: number): number {
    const buf = payload ? this.memory.alloc(payload) : 0n;
    try {
      const ret = this.c.sysAddKey(
        this.c.nr.add_key,
        type,
        description,
        Number(buf),
        payload?.length ?? 0,
        keyring,
      );
      if (ret < 0) return this.fail();
      this.keys.push({ serial: ret, keyring });
      return ret;
    } finally {
      if (buf) this.memory.free(buf);
    }
  }

  keyctl(op: number, ...args: number[]): number {
    const [a = 0, b = 0, c = 0, d = 0] = args;
    const ret = this.c.sys5(this.c.nr.keyctl, op, a, b, c, d);
    return ret < 0 ? this.fail() : ret;
  }

  joinSessionKeyring(name: string | null): number {
    const ret = this.c.sysStr(this.c.nr.keyctl, KeyctlOp.JOIN_SESSION_KEYRING, name);
    return ret < 0 ? this.fail() : ret;
  }

  /** Closes every fd, unmaps every mapping, unlinks every added key, frees all memory. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of this.memory.mappings()) {
      this.c.munmap(m.start, m.len);
      this.memory.removeMapping(m.start, m.len);
    }
    for (const fd of this.openFds()) this.close(fd);
    for (const k of this.keys.splice(0).reverse()) {
      this.keyctl(KeyctlOp.UNLINK, k.serial, k.keyring);
    }
    this.memory.dispose();
    this.c.free(this.attrPage);
  }
}
