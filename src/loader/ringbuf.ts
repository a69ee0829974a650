/**
 * The user-space side of a BPF_MAP_TYPE_RINGBUF, as libbpf's ring_buffer reads it: the
 * consumer page is mapped read-write at offset 0, the producer page and the data area
 * (twice, so a record that wraps is contiguous) read-only from one page on. Records are read
 * from the consumer position up to the producer position: an 8-byte header (length with the
 * BUSY and DISCARD bits, page offset), the sample, rounded up to 8 bytes; a BUSY record stops
 * the read (its producer has not committed yet), a discarded one is skipped. The consumer
 * position is published after each record.
 */
import type { BpfBackend } from "../uapi/backend.js";
import { MapFlags, Prot } from "../uapi/backend.js";
import { BpfError } from "../uapi/errno.js";

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HDR = 8;

export class RingBufferConsumer {
  private consAddr = 0n;
  private prodAddr = 0n;
  private readonly mask: number;

  constructor(
    private readonly backend: BpfBackend,
    mapFd: number,
    /** The map's max_entries (a power of two, a multiple of the page size). */
    readonly size: number,
    private readonly pageSize = 4096,
  ) {
    this.mask = size - 1;
    const cons = backend.mmap(pageSize, Prot.READ | Prot.WRITE, MapFlags.SHARED, mapFd, 0);
    if (cons < 0n) throw new BpfError("mmap of the ring buffer's consumer page", Number(-cons));
    this.consAddr = cons;
    const prodLen = pageSize + 2 * size;
    const prod = backend.mmap(prodLen, Prot.READ, MapFlags.SHARED, mapFd, pageSize);
    if (prod < 0n) {
      backend.munmap(cons, pageSize);
      throw new BpfError("mmap of the ring buffer's producer and data pages", Number(-prod));
    }
    this.prodAddr = prod;
  }

  private u64(addr: bigint): number {
    const b = this.backend.memory.read(addr, 8);
    return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  }

  get consumerPos(): number {
    return this.u64(this.consAddr);
  }
  get producerPos(): number {
    return this.u64(this.prodAddr);
  }

  /** Reads every committed record; returns the samples (copies) in order. */
  consume(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const mem = this.backend.memory;
    const data = this.prodAddr + BigInt(this.pageSize);
    let cons = this.consumerPos;
    const prod = this.producerPos;
    while (cons < prod) {
      const at = data + BigInt(cons & this.mask);
      const h = mem.read(at, 4);
      const len = new DataView(h.buffer, h.byteOffset, 4).getUint32(0, true);
      if (len & BUSY) break;
      const size = len & ~(BUSY | DISCARD);
      if (!(len & DISCARD)) out.push(mem.read(at + BigInt(HDR), size).slice());
      cons += (size + HDR + 7) & ~7;
      const pos = new Uint8Array(8);
      new DataView(pos.buffer).setBigUint64(0, BigInt(cons), true);
      mem.write(this.consAddr, pos);
    }
    return out;
  }

  close(): void {
    if (this.consAddr) this.backend.munmap(this.consAddr, this.pageSize);
    if (this.prodAddr) this.backend.munmap(this.prodAddr, this.pageSize + 2 * this.size);
    this.consAddr = 0n;
    this.prodAddr = 0n;
  }
}
