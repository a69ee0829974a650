/**
 * The kernel-side memory a program can address: its stack, its context, map values, packet
 * data and whatever helpers hand out (hash map values). Each piece is a region at a fake kernel
 * address with its own bounds; everything else is unmapped. A region never crosses a 4 GiB
 * boundary, so the interpreter can match addresses on their two 32-bit halves.
 *
 * It also gives `bpf_sys_bpf` its kernel bpfptr: a `Uaccess` whose pointers are addresses in
 * these regions (`copy_from_kernel_nofault`), not in the calling process.
 */
import type { Uaccess } from "../kernel/uaccess.js";
import { UTF8_DECODER } from "../uapi/layout.js";

export interface Region {
  readonly name: string;
  /** High 32 bits of the start address, as a signed int32. */
  readonly hi: number;
  /** Low 32 bits of the start address, unsigned. */
  readonly lo: number;
  readonly len: number;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly writable: boolean;
}

/** Where the interpreter places the stack, the context, packets and helper allocations. */
export const KernelAddr = {
  /** The eight 512-byte frames of the program stack (r10 of frame 0 is at the end). */
  STACK: 0xffffc90000100000n,
  CTX: 0xffffc90100000000n,
  PACKET: 0xffffc90200000000n,
  /** Memory handed out by helpers (hash map values): one region each, 4 KiB apart or more. */
  DYNAMIC: 0xffffc90300000000n,
  /** Function addresses of `ld_imm64 BPF_PSEUDO_FUNC`: this base + 8 × instruction index. */
  TEXT: 0xffffffffa0000000n,
} as const;

/** User space ends here on x86_64 (TASK_SIZE_MAX rounded): lower addresses are user pointers. */
export const TASK_SIZE = 0x0000800000000000n;

const U32 = 0xffffffffn;

export function splitAddr(addr: bigint): { hi: number; lo: number } {
  return { hi: Number((addr >> 32n) & U32) | 0, lo: Number(addr & U32) };
}

export function joinAddr(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export class KernelMemory {
  readonly regions: Region[] = [];
  private nextDynamic = KernelAddr.DYNAMIC;

  /** Maps `bytes` (shared, not copied) at `addr`. */
  map(name: string, addr: bigint, bytes: Uint8Array, writable = true): Region {
    const { hi, lo } = splitAddr(addr);
    if (lo + bytes.length > 0x1_0000_0000) {
      throw new RangeError(`region ${name} of ${bytes.length} bytes crosses a 4 GiB boundary`);
    }
    const region: Region = {
      name,
      hi,
      lo,
      len: bytes.length,
      u8: bytes,
      dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      writable,
    };
    this.regions.push(region);
    return region;
  }

  /** Maps `bytes` at a fresh address of the dynamic range and returns that address. */
  mapDynamic(name: string, bytes: Uint8Array, writable = true): bigint {
    const addr = this.nextDynamic;
    this.nextDynamic += BigInt(Math.max(4096, Math.ceil(bytes.length / 4096) * 4096 + 4096));
    this.map(name, addr, bytes, writable);
    return addr;
  }

  /** The address a byte array is mapped at, if it is one of the regions. */
  addressOf(bytes: Uint8Array): bigint | undefined {
    for (const r of this.regions) {
      if (
        r.u8.buffer === bytes.buffer &&
        r.u8.byteOffset === bytes.byteOffset &&
        r.len === bytes.length
      ) {
        return joinAddr(r.hi, r.lo);
      }
    }
    return undefined;
  }

  unmap(region: Region): void {
    const i = this.regions.indexOf(region);
    if (i >= 0) this.regions.splice(i, 1);
  }

  /** The region holding [addr, addr + size), given as two 32-bit halves, or undefined. */
  find(hi: number, lo: number, size: number): Region | undefined {
    const rs = this.regions;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      if (r.hi === hi && ((lo - r.lo) >>> 0) + size <= r.len) return r;
    }
    return undefined;
  }

  /** The region and offset of [addr, addr + len), or undefined when not all of it is mapped. */
  resolve(addr: bigint, len: number): { region: Region; off: number } | undefined {
    if (addr < 0n || addr > 0xffffffffffffffffn) return undefined;
    const { hi, lo } = splitAddr(addr);
    const region = this.find(hi, lo, len);
    return region ? { region, off: (lo - region.lo) >>> 0 } : undefined;
  }

  /** A view of [addr, addr + len) or undefined (a fault). */
  view(addr: bigint, len: number): Uint8Array | undefined {
    if (len === 0) return new Uint8Array(0);
    const at = this.resolve(addr, len);
    return at ? at.region.u8.subarray(at.off, at.off + len) : undefined;
  }

  write(addr: bigint, data: Uint8Array): boolean {
    if (data.length === 0) return true;
    const at = this.resolve(addr, data.length);
    if (!at?.region.writable) return false;
    at.region.u8.set(data, at.off);
    return true;
  }

  readCString(addr: bigint, max: number): string | undefined {
    const at = this.resolve(addr, 1);
    if (!at) return undefined;
    const { u8 } = at.region;
    const end = Math.min(u8.length, at.off + max);
    let i = at.off;
    while (i < end && u8[i] !== 0) i++;
    if (i === u8.length && i - at.off < max) return undefined; // ran off the region: a fault
    return UTF8_DECODER.decode(u8.subarray(at.off, i));
  }

  /** KERNEL_BPFPTR: attr pointers are addresses in these regions. */
  uaccess(): Uaccess {
    return {
      is_kernel: true,
      read: (addr, len) => this.view(addr, len),
      write: (addr, data) => this.write(addr, data),
      readCString: (addr, max) => this.readCString(addr, max),
    };
  }
}
