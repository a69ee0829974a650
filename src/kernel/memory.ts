/**
 * A model process's address space: page-aligned regions with protections, separated by unmapped
 * guard pages so that a read past the end of an allocation faults as it would in a real process.
 */
import type { UserMemory } from "../uapi/backend.js";
import { Prot } from "../uapi/backend.js";
import { UTF8_DECODER } from "../uapi/layout.js";

export const PAGE_SIZE = 4096;

export interface Region {
  readonly start: number;
  readonly end: number;
  readonly buf: Uint8Array;
  prot: number;
  /** False once a read-only shared mapping lost VM_MAYWRITE (mprotect to write is refused). */
  mayWrite: boolean;
  /** Called when the region is unmapped (mmap'ed maps drop their write count here). */
  readonly onUnmap?: () => void;
  /** Set for regions created by mmap() of a map fd. */
  readonly mapped?: { writable: boolean };
}

/** Lowest address handed out: everything below (including 0 and 0x10) is never mapped. */
const BASE = 0x10000000;

const pageAlign = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

export class AddressSpace implements UserMemory {
  private regions: Region[] = [];
  private next = BASE;

  alloc(sizeOrInit: number | Uint8Array): bigint {
    const init = typeof sizeOrInit === "number" ? undefined : sizeOrInit;
    const size = init ? init.length : (sizeOrInit as number);
    const buf = new Uint8Array(Math.max(size, 0));
    if (init) buf.set(init);
    return BigInt(this.mapBuffer(buf, Prot.READ | Prot.WRITE).start);
  }

  free(addr: bigint): void {
    const r = this.find(Number(addr));
    if (!r || r.start !== Number(addr)) throw new RangeError(`free of unmapped address ${addr}`);
    this.unmapRegion(r);
  }

  read(addr: bigint, len: number): Uint8Array {
    const v = this.copyIn(Number(addr), len);
    if (!v) throw new RangeError(`read of ${len} bytes at unmapped address 0x${addr.toString(16)}`);
    return v;
  }

  write(addr: bigint, data: Uint8Array): void {
    if (!this.copyOut(Number(addr), data, true)) {
      throw new RangeError(
        `write of ${data.length} bytes at unmapped address 0x${addr.toString(16)}`,
      );
    }
  }

  /**
   * Maps `buf` itself (no copy) at a fresh page-aligned address. The mapping covers
   * `length` bytes (default: the whole buffer).
   */
  mapBuffer(
    buf: Uint8Array,
    prot: number,
    extra: { onUnmap?: () => void; mapped?: { writable: boolean }; length?: number } = {},
  ): Region {
    const length = extra.length ?? buf.length;
    const start = this.next;
    this.next = start + pageAlign(Math.max(length, 1)) + PAGE_SIZE;
    const region: Region = {
      start,
      end: start + length,
      buf: buf.subarray(0, length),
      prot,
      mayWrite: true,
      onUnmap: extra.onUnmap,
      mapped: extra.mapped,
    };
    this.regions.push(region);
    return region;
  }

  /** The region that contains `addr`, if any. */
  find(addr: number): Region | undefined {
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid];
      if (addr < r.start) hi = mid - 1;
      else if (addr >= r.end && !(r.start === r.end && addr === r.start)) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  unmapRegion(r: Region): void {
    const i = this.regions.indexOf(r);
    if (i < 0) return;
    this.regions.splice(i, 1);
    r.onUnmap?.();
  }

  /**
   * Kernel-side copy_from_user: `len` bytes, or undefined on a fault. Returns a view into the
   * region when the range lies in one region (callers that keep the bytes must copy them).
   */
  view(addr: number, len: number): Uint8Array | undefined {
    if (len === 0) return new Uint8Array(0);
    const r = this.find(addr);
    if (!r || !(r.prot & Prot.READ)) return undefined;
    if (addr + len <= r.end) return r.buf.subarray(addr - r.start, addr - r.start + len);
    return this.copyIn(addr, len);
  }

  /** copy_from_user into a fresh buffer, following adjacent regions; undefined on a fault. */
  copyIn(addr: number, len: number): Uint8Array | undefined {
    if (len === 0) return new Uint8Array(0);
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const r = this.find(a);
      // A zero-length region holds no byte at its address: touching it faults.
      if (!r || !(r.prot & Prot.READ) || r.end <= a) return undefined;
      const n = Math.min(len - done, r.end - a);
      out.set(r.buf.subarray(a - r.start, a - r.start + n), done);
      done += n;
    }
    return out;
  }

  /** copy_to_user; false on a fault. `force` lets user-space writes ignore nothing but prot. */
  copyOut(addr: number, data: Uint8Array, _force = false): boolean {
    let done = 0;
    // Check the whole range first so that a fault writes nothing.
    while (done < data.length) {
      const a = addr + done;
      const r = this.find(a);
      if (!r || !(r.prot & Prot.WRITE) || r.end <= a) return false;
      done += Math.min(data.length - done, r.end - a);
    }
    done = 0;
    while (done < data.length) {
      const a = addr + done;
      const r = this.find(a) as Region;
      const n = Math.min(data.length - done, r.end - a);
      r.buf.set(data.subarray(done, done + n), a - r.start);
      done += n;
    }
    return true;
  }

  /** Reads a NUL-terminated string of at most `max` bytes (strncpy_from_user). */
  readCString(addr: number, max: number): string | undefined {
    // the usual case: the string and its NUL inside one readable region
    const r = this.find(addr);
    if (r && r.prot & Prot.READ) {
      const from = addr - r.start;
      const to = Math.min(r.end - r.start, from + max);
      const nul = r.buf.subarray(from, to).indexOf(0);
      if (nul >= 0) return UTF8_DECODER.decode(r.buf.subarray(from, from + nul));
      if (to - from === max) return UTF8_DECODER.decode(r.buf.subarray(from, to));
    }
    const bytes: number[] = [];
    for (let i = 0; i < max; i++) {
      const b = this.view(addr + i, 1);
      if (!b) return undefined;
      if (b[0] === 0) break;
      bytes.push(b[0]);
    }
    return UTF8_DECODER.decode(new Uint8Array(bytes));
  }
}
