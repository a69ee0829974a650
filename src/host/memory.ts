/**
 * User memory of the host backend: real native memory of this process, handed out by address.
 * Heap allocations come from calloc(); mappings made through the backend's mmap() are
 * registered here too so the typed client can read and write them. Reads and writes are
 * bounds-checked against what this object knows to be mapped (with the right protection), so a
 * bad address is a RangeError rather than a crash of the whole process.
 */
import type { UserMemory } from "../uapi/backend.js";
import { Prot } from "../uapi/backend.js";
import type { Libc } from "./libc.js";

interface Region {
  readonly start: number;
  len: number;
  prot: number;
  readonly kind: "heap" | "mapping";
}

/** The native allocator failed. */
export class NativeAllocError extends Error {
  override readonly name = "NativeAllocError";
  /** Stable code of this error class. */
  readonly code = "HOST_ALLOC_FAILED";
  constructor(readonly size: number) {
    super(`host memory: calloc of ${size} bytes failed`);
  }
}

export class NativeMemory implements UserMemory {
  private readonly regions = new Map<number, Region>();

  constructor(private readonly c: Libc) {}

  alloc(sizeOrInit: number | Uint8Array): bigint {
    const size = typeof sizeOrInit === "number" ? sizeOrInit : sizeOrInit.length;
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`alloc: bad size ${size}`);
    const addr = this.c.calloc(1, Math.max(size, 1));
    if (!addr) throw new NativeAllocError(size);
    this.regions.set(addr, { start: addr, len: size, prot: Prot.READ | Prot.WRITE, kind: "heap" });
    if (typeof sizeOrInit !== "number" && size) this.c.copyOut(addr, sizeOrInit, size);
    return BigInt(addr);
  }

  free(addr: bigint): void {
    const a = Number(addr);
    const r = this.regions.get(a);
    if (r?.kind !== "heap") throw new RangeError(`free: 0x${addr.toString(16)} was not allocated`);
    this.regions.delete(a);
    this.c.free(a);
  }

  read(addr: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    if (len === 0) return out;
    this.check(addr, len, Prot.READ, "read");
    this.c.copyIn(out, Number(addr), len);
    return out;
  }

  write(addr: bigint, data: Uint8Array): void {
    if (data.length === 0) return;
    this.check(addr, data.length, Prot.WRITE, "write");
    this.c.copyOut(Number(addr), data, data.length);
  }

  /** Registers a mapping made by mmap() so it can be read and written. */
  addMapping(start: number, len: number, prot: number): void {
    this.regions.set(start, { start, len, prot, kind: "mapping" });
  }

  /** The registered mapping containing [addr, addr+len), or undefined. */
  mappingAt(addr: number, len = 1): Region | undefined {
    const r = this.containing(addr, len);
    return r?.kind === "mapping" ? r : undefined;
  }

  /** Forgets [start, start+len) of the mappings (after munmap), splitting where needed. */
  removeMapping(start: number, len: number): void {
    const end = start + len;
    for (const r of [...this.regions.values()]) {
      if (r.kind !== "mapping") continue;
      const rEnd = r.start + r.len;
      if (rEnd <= start || r.start >= end) continue;
      this.regions.delete(r.start);
      if (r.start < start) this.addMapping(r.start, start - r.start, r.prot);
      if (rEnd > end) this.addMapping(end, rEnd - end, r.prot);
    }
  }

  /** The registered mappings, for cleanup. */
  mappings(): { start: number; len: number }[] {
    return [...this.regions.values()]
      .filter((r) => r.kind === "mapping")
      .map((r) => ({ start: r.start, len: r.len }));
  }

  /** Number of live heap allocations (for leak checks). */
  liveAllocations(): number {
    let n = 0;
    for (const r of this.regions.values()) if (r.kind === "heap") n++;
    return n;
  }

  /** Frees every heap allocation. */
  dispose(): void {
    for (const r of [...this.regions.values()]) {
      if (r.kind === "heap") {
        this.regions.delete(r.start);
        this.c.free(r.start);
      }
    }
  }

  private containing(addr: number, len: number): Region | undefined {
    const exact = this.regions.get(addr);
    if (exact && len <= exact.len) return exact;
    for (const r of this.regions.values()) {
      if (addr >= r.start && addr + len <= r.start + r.len) return r;
    }
    return undefined;
  }

  private check(addr: bigint, len: number, need: number, op: string): void {
    const r = this.containing(Number(addr), len);
    if (!r || (r.prot & need) === 0) {
      throw new RangeError(
        `${op}: [0x${addr.toString(16)}, +${len}) is not ${need === Prot.READ ? "readable" : "writable"} host memory`,
      );
    }
  }
}
