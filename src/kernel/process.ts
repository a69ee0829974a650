/**
 * A process of the model kernel as a caller of the raw bpf()/keyctl()/mmap() surface: the model
 * backend (BpfBackend). Its per-process state (fds, credentials, keyrings, memory) is a Task;
 * bpf() enters the syscall layer (syscall.ts).
 */
import type { BpfBackend, InnerFailure } from "../uapi/backend.js";
import { MapFlags, Prot } from "../uapi/backend.js";
import { KeyctlOp, MapType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { BpfMap } from "./map.js";
import { PAGE_SIZE } from "./memory.js";
import type { KernelState } from "./state.js";
import { sysBpf } from "./syscall.js";
import { Task } from "./task.js";
import type { Caps } from "./types.js";

export type { BpfFile, Caps } from "./types.js";

export class ModelProcess extends Task implements BpfBackend {
  readonly kind = "model" as const;

  constructor(
    readonly kernel: KernelState,
    pid: number,
    caps: Partial<Caps> = {},
  ) {
    super(pid, caps, kernel.keyrings.newProcessKeyrings(), (file) => kernel.putFile(file));
  }

  innerFailure(): InnerFailure | null {
    return this.kernel.innerFailure;
  }

  bpf(cmd: number, attr: Uint8Array, size = attr.length): number {
    return sysBpf({ kernel: this.kernel, proc: this, uaccess: this.uaccess }, cmd, attr, size);
  }

  /** bpf_map_mmap(): maps the values of an mmapable array, shared with the map itself. */
  mmap(length: number, prot: number, flags: number, fd: number, offset = 0): bigint {
    const file = this.file(fd);
    if (!file) return BigInt(-Errno.EBADF);
    if (file.kind !== "map") return BigInt(-Errno.ENODEV);
    const map = file.map;
    if (length <= 0 || offset % PAGE_SIZE) return BigInt(-Errno.EINVAL);
    if (map.map_type === MapType.RINGBUF) return this.mmapRingbuf(map, length, prot, flags, offset);
    if (!map.hasMmap) return BigInt(-Errno.ENOTSUPP);
    if (!(flags & MapFlags.SHARED)) return BigInt(-Errno.EINVAL);
    const writable = (prot & Prot.WRITE) !== 0;
    if (writable) {
      if (!file.canWrite) return BigInt(-Errno.EACCES);
      if (map.frozen) return BigInt(-Errno.EPERM);
      if (map.map_flags & 0x80) return BigInt(-Errno.EACCES); // BPF_F_RDONLY_PROG
    }
    if (!(map.map_flags & 0x400) || offset + length > map.storage.length) {
      return BigInt(-Errno.EINVAL);
    }
    return this.mapStorage(map, offset, length, prot, true);
  }

  /**
   * Maps `length` bytes of `map`'s storage from `offset` (holding a map reference until the
   * unmap); a writable mapping of a plain map counts in its writecnt while it lasts.
   */
  private mapStorage(
    map: BpfMap,
    offset: number,
    length: number,
    prot: number,
    countWrites: boolean,
  ): bigint {
    const writable = (prot & Prot.WRITE) !== 0;
    const counted = countWrites && writable;
    if (counted) map.writecnt++;
    this.kernel.getMap(map);
    const region = this.memory.mapBuffer(map.storage.subarray(offset), prot, {
      length,
      mapped: { writable },
      onUnmap: () => {
        if (counted) map.writecnt--;
        this.kernel.putMap(map);
      },
    });
    // A mapping made without write access can never gain it (VM_MAYWRITE cleared).
    region.mayWrite = writable;
    return BigInt(region.start);
  }

  /**
   * ringbuf_map_mmap_kern(): the consumer page may be mapped writable, everything from the
   * producer page on only read-only; the whole area is consumer page, producer page and the
   * data pages twice.
   */
  private mmapRingbuf(
    map: BpfMap,
    length: number,
    prot: number,
    flags: number,
    offset: number,
  ): bigint {
    if (!(flags & MapFlags.SHARED)) return BigInt(-Errno.EINVAL);
    const writable = (prot & Prot.WRITE) !== 0;
    if (writable && offset + length > PAGE_SIZE) return BigInt(-Errno.EPERM);
    if (offset + length > map.storage.length) return BigInt(-Errno.EINVAL);
    return this.mapStorage(map, offset, length, prot, false);
  }

  munmap(addr: bigint, length: number): number {
    const r = this.memory.find(Number(addr));
    if (!r || r.start !== Number(addr) || length <= 0) return -Errno.EINVAL;
    this.memory.unmapRegion(r);
    return 0;
  }

  mprotect(addr: bigint, length: number, prot: number): number {
    const r = this.memory.find(Number(addr));
    if (!r || length <= 0) return -Errno.ENOMEM;
    if (prot & Prot.WRITE && !r.mayWrite) return -Errno.EACCES;
    r.prot = prot;
    return 0;
  }

  addKey(type: string, description: string, payload: Uint8Array | null, keyring: number): number {
    return this.kernel.keyrings.addKey(this.keyrings, type, description, payload, keyring);
  }

  keyctl(op: number, ...args: number[]): number {
    const ks = this.kernel.keyrings;
    const [a = 0, b = 0] = args;
    switch (op) {
      case KeyctlOp.GET_KEYRING_ID: {
        const k = ks.lookupUserKey(this.keyrings, a, b !== 0);
        return typeof k === "number" ? k : k.serial;
      }
      case KeyctlOp.REVOKE:
      case KeyctlOp.INVALIDATE: {
        const k = ks.lookupUserKey(this.keyrings, a, false);
        if (typeof k === "number") return k;
        if (op === KeyctlOp.REVOKE) k.revoked = true;
        else k.invalidated = true;
        return 0;
      }
      case KeyctlOp.SETPERM: {
        const k = ks.lookupUserKey(this.keyrings, a, false);
        if (typeof k === "number") return k;
        k.perm = b >>> 0;
        return 0;
      }
      case KeyctlOp.SET_TIMEOUT: {
        const k = ks.lookupUserKey(this.keyrings, a, false);
        if (typeof k === "number") return k;
        k.expiry = b ? ks.now() + b * 1000 : 0;
        return 0;
      }
      case KeyctlOp.LINK:
      case KeyctlOp.UNLINK:
        return ks.link(this.keyrings, a, b, op === KeyctlOp.UNLINK);
      case KeyctlOp.CLEAR: {
        const k = ks.lookupUserKey(this.keyrings, a, false);
        if (typeof k === "number") return k;
        if (!k.isKeyring) return -Errno.ENOTDIR;
        k.keys.length = 0;
        return 0;
      }
      default:
        return -Errno.EOPNOTSUPP;
    }
  }

  joinSessionKeyring(name: string | null): number {
    const ring = this.kernel.keyrings.create("keyring", name ?? "_ses");
    this.keyrings.session = ring;
    return ring.serial;
  }
}
