/**
 * User memory of the host backend: real native memory of this process, handed out by address.
 * Heap allocations come from calloc(); mappings made through the backend's mmap() are
 * registered here too so the typed client can read and write them. Reads and writes are
 * bounds-checked against what this object knows to be mapped (with the right protection), so a
 * bad address is a RangeError rather than a crash of the whole process.
 *
 * Small allocations (the keys, values and out-buffers of one bpf() call) come from slabs that
 * are also visible to JavaScript (koffi.view), in size classes with free lists: allocating,
 * filling, reading back and freeing them makes no native call at all.
 */
import type { UserMemory } from "../uapi/backend.js";
import { Prot } from "../uapi/backend.js";
import type { Libc } from "./libc.js";

interface Region {
  readonly start: number;
  /** `start` as the bigint alloc() returns (made once per slab slot) */
  readonly addr: bigint;
  len: number;
  prot: number;
  readonly kind: "heap" | "mapping";
  /** For slab allocations: the slab's bytes and this allocation's offset in them. */
  readonly slab: Uint8Array | null;
  readonly off: number;
  /** For slab slots: whether the slot is allocated now (slots stay registered when free). */
  live: boolean;
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

/** Reads of at most this many bytes are copied byte by byte into an on-heap array. */
const SMALL_COPY = 64;

/** Size classes of slab allocations: multiples of 16 bytes up to this. */
const SMALL_MAX = 512;
const SLAB_SIZE = 64 * 1024;

export class NativeMemory implements UserMemory {
  /** calloc'd allocations and registered mappings, by start address */
  private readonly regions = new Map<number, Region>();
  /** every slab slot ever handed out, by start address, live or free (no map churn per call) */
  private readonly slots = new Map<number, Region>();
  /** Free slab regions by size class (index = size / 16). */
  private readonly freeLists: Region[][] = Array.from({ length: SMALL_MAX / 16 + 1 }, () => []);
  /** Slab base addresses (freed on dispose) and the bump pointer of the newest slab. */
  private readonly slabs: number[] = [];
  private slab: Uint8Array | null = null;
  private slabAddr = 0;
  private slabUsed = SLAB_SIZE;

  constructor(private readonly c: Libc) {}

  alloc(sizeOrInit: number | Uint8Array): bigint {
    const size = typeof sizeOrInit === "number" ? sizeOrInit : sizeOrInit.length;
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`alloc: bad size ${size}`);
    if (size <= SMALL_MAX) {
      const r = this.slabAlloc(size);
      if (typeof sizeOrInit === "number") r.slab!.fill(0, r.off, r.off + size);
      else r.slab!.set(sizeOrInit, r.off);
      return r.addr;
    }
    const addr = this.c.calloc(1, Math.max(size, 1));
    if (!addr) throw new NativeAllocError(size);
    this.regions.set(addr, {
      start: addr,
      addr: 0n,
      len: size,
      prot: Prot.READ | Prot.WRITE,
      kind: "heap",
      slab: null,
      off: 0,
      live: true,
    });
    if (typeof sizeOrInit !== "number" && size) this.c.copyOut(addr, sizeOrInit, size);
    return BigInt(addr);
  }

  /** A region of a slab for `size` bytes (contents not cleared), registered. */
  private slabAlloc(size: number): Region {
    const cls = (size + 15) >> 4 || 1;
    const reused = this.freeLists[cls].pop();
    if (reused) {
      reused.len = size;
      reused.live = true;
      return reused;
    }
    const bytes = cls << 4;
    if (this.slabUsed + bytes > SLAB_SIZE) {
      const addr = this.c.calloc(1, SLAB_SIZE);
      if (!addr) throw new NativeAllocError(SLAB_SIZE);
      this.slabs.push(addr);
      this.slab = new Uint8Array(this.c.view(addr, SLAB_SIZE));
      this.slabAddr = addr;
      this.slabUsed = 0;
    }
    const off = this.slabUsed;
    this.slabUsed += bytes;
    const r: Region = {
      start: this.slabAddr + off,
      addr: BigInt(this.slabAddr + off),
      len: size,
      prot: Prot.READ | Prot.WRITE,
      kind: "heap",
      slab: this.slab,
      off,
      live: true,
    };
    this.slots.set(r.start, r);
    return r;
  }

  free(addr: bigint): void {
    const a = Number(addr);
    const slot = this.slots.get(a);
    if (slot?.live) {
      slot.live = false;
      this.freeLists[(slot.len + 15) >> 4 || 1].push(slot);
      return;
    }
    const r = this.regions.get(a);
    if (r?.kind !== "heap") throw new RangeError(`free: 0x${addr.toString(16)} was not allocated`);
    this.regions.delete(a);
    this.c.free(a);
  }

  read(addr: bigint, len: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    const a = Number(addr);
    // the common case first: the whole of a live slab slot, from its start
    const r = this.liveSlot(a, len) ?? this.check(a, len, Prot.READ, "read");
    const slab = r.slab;
    if (slab) {
      const from = r.off + (a - r.start);
      // a byte loop into a small on-heap array costs less than slice(), which gives the copy
      // an ArrayBuffer of its own
      if (len > SMALL_COPY) return slab.slice(from, from + len);
      const out = new Uint8Array(len);
      for (let i = 0; i < len; i++) out[i] = slab[from + i];
      return out;
    }
    const out = new Uint8Array(len);
    this.c.copyIn(out, a, len);
    return out;
  }

  write(addr: bigint, data: Uint8Array): void {
    if (data.length === 0) return;
    const a = Number(addr);
    const r = this.check(a, data.length, Prot.WRITE, "write");
    if (r.slab) r.slab.set(data, r.off + (a - r.start));
    else this.c.copyOut(a, data, data.length);
  }

  /** Registers a mapping made by mmap() so it can be read and written. */
  addMapping(start: number, len: number, prot: number): void {
    this.regions.set(start, {
      start,
      addr: 0n,
      len,
      prot,
      kind: "mapping",
      slab: null,
      off: 0,
      live: true,
    });
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
    for (const r of this.slots.values()) if (r.live) n++;
    return n;
  }

  /** Frees every heap allocation and the slabs. */
  dispose(): void {
    for (const r of [...this.regions.values()]) {
      if (r.kind === "heap") {
        this.regions.delete(r.start);
        if (!r.slab) this.c.free(r.start);
      }
    }
    for (const r of this.slots.values()) r.live = false;
    this.slots.clear();
    for (const list of this.freeLists) list.length = 0;
    for (const s of this.slabs.splice(0)) this.c.free(s);
    this.slab = null;
    this.slabUsed = SLAB_SIZE;
  }

  /** The live slab slot starting at `addr` with at least `len` bytes, or undefined. */
  private liveSlot(addr: number, len: number): Region | undefined {
    const slot = this.slots.get(addr);
    return slot?.live && len <= slot.len ? slot : undefined;
  }

  private containing(addr: number, len: number): Region | undefined {
    const slot = this.liveSlot(addr, len);
    if (slot) return slot;
    const exact = this.regions.get(addr);
    if (exact && len <= exact.len) return exact;
    for (const r of this.regions.values()) {
      if (addr >= r.start && addr + len <= r.start + r.len) return r;
    }
    for (const r of this.slots.values()) {
      if (r.live && addr >= r.start && addr + len <= r.start + r.len) return r;
    }
    return undefined;
  }

  private check(addr: number, len: number, need: number, op: string): Region {
    const r = this.containing(addr, len);
    if (!r || (r.prot & need) === 0) {
      throw new RangeError(
        `${op}: [0x${addr.toString(16)}, +${len}) is not ${need === Prot.READ ? "readable" : "writable"} host memory`,
      );
    }
    return r;
  }
}
