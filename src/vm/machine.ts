/**
 * The eBPF interpreter: eleven 64-bit registers kept as pairs of int32 halves, the program
 * stack (eight frames of 512 bytes, as MAX_CALL_FRAMES), bpf-to-bpf calls, helper calls and
 * bounds-checked memory. Semantics follow the kernel's runtime: 32-bit ALU results are
 * zero-extended, shift counts are masked to the operand width, division by zero gives 0 and
 * modulo by zero leaves the dividend (zero-extended for 32-bit), INT_MIN / -1 wraps.
 */
import {
  VmBudgetExceeded,
  VmCallDepthExceeded,
  VmFault,
  VmInvalidInsn,
  VmUnknownHelper,
} from "./errors.js";
import { joinAddr, KernelAddr, KernelMemory, type Region, TASK_SIZE } from "./memory.js";
import type { Program } from "./program.js";

export const MAX_BPF_STACK = 512;
export const MAX_CALL_FRAMES = 8;
/** Default instruction budget of one run. */
export const DEFAULT_BUDGET = 100_000_000;

/** A helper: reads its arguments from r1..r5 of the machine, returns r0. */
export type Helper<E> = (m: Machine<E>) => bigint | number;

export interface MachineOptions<E> {
  /** The environment helpers see (kernel, process, program...). */
  readonly env: E;
  /** Helper implementations by id. */
  readonly helpers?: ReadonlyMap<number, Helper<E>>;
  /** kfunc implementations by BTF id (calls with src_reg BPF_PSEUDO_KFUNC_CALL, off 0). */
  readonly kfuncs?: ReadonlyMap<number, Helper<E>>;
  /** Instructions one run may execute before it is stopped (default DEFAULT_BUDGET). */
  readonly budget?: number;
  /** Memory besides the stack (ctx, maps...). Default: a fresh, empty one. */
  readonly memory?: KernelMemory;
}

/** The packet that legacy LD_ABS / LD_IND instructions read (socket programs). */
export interface LegacyPacket {
  readonly bytes: Uint8Array;
}

let RLO = 0;
let RHI = 0;

/** Unsigned high 32 bits of a 32 × 32 bit product. */
function mulhiU32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

function mul64(ahi: number, alo: number, bhi: number, blo: number): void {
  RLO = Math.imul(alo, blo);
  RHI = (Math.imul(alo, bhi) + Math.imul(ahi, blo) + mulhiU32(alo, blo)) | 0;
}

const M64 = 0xffffffffffffffffn;
const toU64 = (hi: number, lo: number) => joinAddr(hi, lo);
const toS64 = (hi: number, lo: number) => BigInt.asIntN(64, joinAddr(hi, lo));

function set64(v: bigint): void {
  const u = v & M64;
  RLO = Number(u & 0xffffffffn) | 0;
  RHI = Number(u >> 32n) | 0;
}

/** 64-bit div / mod, unsigned or signed (off = 1), with the kernel's zero-divisor results. */
function divmod64(
  ahi: number,
  alo: number,
  bhi: number,
  blo: number,
  signed: boolean,
  mod: boolean,
): void {
  if (bhi === 0 && blo === 0) {
    if (mod) {
      RHI = ahi;
      RLO = alo;
    } else {
      RHI = 0;
      RLO = 0;
    }
    return;
  }
  if (!signed && ahi === 0 && bhi === 0) {
    const a = alo >>> 0;
    const b = blo >>> 0;
    RLO = (mod ? a % b : Math.floor(a / b)) | 0;
    RHI = 0;
    return;
  }
  if (signed) {
    const a = toS64(ahi, alo);
    const b = toS64(bhi, blo);
    // BigInt division truncates toward zero and the remainder takes the dividend's sign, as C.
    set64(mod ? (b === -1n ? 0n : a % b) : a / b);
  } else {
    const a = toU64(ahi, alo);
    const b = toU64(bhi, blo);
    set64(mod ? a % b : a / b);
  }
}

function divmod32(a: number, b: number, signed: boolean, mod: boolean): number {
  if (b === 0) return mod ? a : 0;
  if (signed) {
    if (b === -1) return mod ? 0 : -a | 0;
    return (mod ? a % b : Math.trunc(a / b)) | 0;
  }
  const ua = a >>> 0;
  const ub = b >>> 0;
  return (mod ? ua % ub : Math.floor(ua / ub)) | 0;
}

function lsh64(hi: number, lo: number, n: number): void {
  if (n === 0) {
    RHI = hi;
    RLO = lo;
  } else if (n < 32) {
    RHI = (hi << n) | (lo >>> (32 - n));
    RLO = lo << n;
  } else {
    RHI = lo << (n - 32);
    RLO = 0;
  }
}

function rsh64(hi: number, lo: number, n: number): void {
  if (n === 0) {
    RHI = hi;
    RLO = lo;
  } else if (n < 32) {
    RLO = (lo >>> n) | (hi << (32 - n));
    RHI = hi >>> n;
  } else {
    RLO = hi >>> (n - 32);
    RHI = 0;
  }
}

function arsh64(hi: number, lo: number, n: number): void {
  if (n === 0) {
    RHI = hi;
    RLO = lo;
  } else if (n < 32) {
    RLO = (lo >>> n) | (hi << (32 - n));
    RHI = hi >> n;
  } else {
    RLO = hi >> (n - 32);
    RHI = hi >> 31;
  }
}

function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

function bswap16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}

const gtU = (ahi: number, alo: number, bhi: number, blo: number) =>
  ahi === bhi ? alo >>> 0 > blo >>> 0 : ahi >>> 0 > bhi >>> 0;
const geU = (ahi: number, alo: number, bhi: number, blo: number) =>
  ahi === bhi ? alo >>> 0 >= blo >>> 0 : ahi >>> 0 > bhi >>> 0;
const gtS = (ahi: number, alo: number, bhi: number, blo: number) =>
  ahi === bhi ? alo >>> 0 > blo >>> 0 : ahi > bhi;
const geS = (ahi: number, alo: number, bhi: number, blo: number) =>
  ahi === bhi ? alo >>> 0 >= blo >>> 0 : ahi > bhi;

const NO_REGION: Region = {
  name: "none",
  hi: 0,
  lo: 0,
  len: 0,
  u8: new Uint8Array(0),
  dv: new DataView(new ArrayBuffer(0)),
  writable: false,
};

export class Machine<E = unknown> {
  /** Low and high halves of r0..r10. */
  readonly lo = new Int32Array(11);
  readonly hi = new Int32Array(11);
  readonly memory: KernelMemory;
  readonly stack = new Uint8Array(MAX_BPF_STACK * MAX_CALL_FRAMES);
  readonly env: E;
  readonly budget: number;
  /** The instruction being executed (helpers report faults against it). */
  pc = 0;
  /** Instructions executed by the last run. */
  executed = 0;
  /** Set for socket programs: what LD_ABS / LD_IND read. */
  packet: LegacyPacket | null = null;
  private readonly helpers: (Helper<E> | undefined)[] = [];
  private readonly kfuncs: ReadonlyMap<number, Helper<E>>;
  private cur: Region = NO_REGION;
  private readonly frameRet = new Int32Array(MAX_CALL_FRAMES);
  private readonly frameSave = new Int32Array(MAX_CALL_FRAMES * 10);

  constructor(
    readonly program: Program,
    opts: MachineOptions<E>,
  ) {
    this.env = opts.env;
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    this.memory = opts.memory ?? new KernelMemory();
    this.memory.map("stack", KernelAddr.STACK, this.stack);
    for (const [id, h] of opts.helpers ?? []) this.helpers[id] = h;
    this.kfuncs = opts.kfuncs ?? new Map();
  }

  /** Register `i` as an unsigned 64-bit value. */
  reg(i: number): bigint {
    return toU64(this.hi[i], this.lo[i]);
  }

  setReg(i: number, v: bigint | number): void {
    if (typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff) {
      this.lo[i] = v | 0;
      this.hi[i] = v < 0 ? -1 : 0;
      return;
    }
    set64(BigInt(v));
    this.lo[i] = RLO;
    this.hi[i] = RHI;
  }

  /** A fault at the current instruction, with the reason found from the memory map. */
  fault(addr: bigint, size: number, access: "read" | "write"): VmFault {
    let why = "unmapped address";
    if (addr < TASK_SIZE && addr >= 0x1000n) why = "user address (use bpf_copy_from_user)";
    else if (addr < 0x1000n) why = "NULL pointer dereference";
    for (const r of this.memory.regions) {
      const start = joinAddr(r.hi, r.lo);
      if (addr >= start && addr < start + BigInt(r.len)) {
        why =
          r.writable || access === "read"
            ? `out of bounds of ${r.name} (${r.len} bytes)`
            : `${r.name} is read-only`;
        break;
      }
      if (addr + BigInt(size) > start && addr < start) why = `straddles the start of ${r.name}`;
    }
    return new VmFault(this.pc, addr, size, access, why);
  }

  /** Effective address of `reg + off`: the offset into `this.cur`, or a fault. */
  private ea(b: number, off: number, size: number, write: boolean): number {
    const blo = this.lo[b];
    const alo = (blo + off) | 0;
    let ahi = this.hi[b];
    if (off >= 0) {
      if (alo >>> 0 < blo >>> 0) ahi = (ahi + 1) | 0;
    } else if (alo >>> 0 > blo >>> 0) ahi = (ahi - 1) | 0;
    let r = this.cur;
    if (r.hi !== ahi || ((alo - r.lo) >>> 0) + size > r.len || (write && !r.writable)) {
      const found = this.memory.find(ahi, alo >>> 0, size);
      if (found === undefined || (write && !found.writable)) {
        throw this.fault(joinAddr(ahi, alo), size, write ? "write" : "read");
      }
      r = found;
      this.cur = r;
    }
    return (alo - r.lo) >>> 0;
  }

  private load(p: number, size: number, d: number): void {
    const dv = this.cur.dv;
    switch (size) {
      case 1:
        this.lo[d] = dv.getUint8(p);
        break;
      case 2:
        this.lo[d] = dv.getUint16(p, true);
        break;
      case 4:
        this.lo[d] = dv.getInt32(p, true);
        break;
      default:
        this.lo[d] = dv.getInt32(p, true);
        this.hi[d] = dv.getInt32(p + 4, true);
        return;
    }
    this.hi[d] = 0;
  }

  private store(p: number, size: number, vlo: number, vhi: number): void {
    const dv = this.cur.dv;
    switch (size) {
      case 1:
        dv.setUint8(p, vlo & 0xff);
        break;
      case 2:
        dv.setUint16(p, vlo & 0xffff, true);
        break;
      case 4:
        dv.setInt32(p, vlo, true);
        break;
      default:
        dv.setInt32(p, vlo, true);
        dv.setInt32(p + 4, vhi, true);
    }
  }

  private atomic(pc: number, code: number, d: number, s: number, off: number, op: number): void {
    const size = code === 0xdb ? 8 : 4;
    const lo = this.lo;
    const hi = this.hi;
    if (op === 0x100) {
      // load-acquire: dst = *(src + off)
      const p = this.ea(s, off, size, false);
      this.load(p, size, d);
      return;
    }
    if (op === 0x110) {
      // store-release: *(dst + off) = src
      const p = this.ea(d, off, size, true);
      this.store(p, size, lo[s], hi[s]);
      return;
    }
    const p = this.ea(d, off, size, true);
    const dv = this.cur.dv;
    const olo = dv.getInt32(p, true);
    const ohi = size === 8 ? dv.getInt32(p + 4, true) : 0;
    let nlo: number;
    let nhi: number;
    switch (op & ~1) {
      case 0x00: {
        nlo = (olo + lo[s]) | 0;
        nhi = (ohi + hi[s] + (nlo >>> 0 < olo >>> 0 ? 1 : 0)) | 0;
        break;
      }
      case 0x40:
        nlo = olo | lo[s];
        nhi = ohi | hi[s];
        break;
      case 0x50:
        nlo = olo & lo[s];
        nhi = ohi & hi[s];
        break;
      case 0xa0:
        nlo = olo ^ lo[s];
        nhi = ohi ^ hi[s];
        break;
      case 0xe0:
        if (op !== 0xe1)
          throw new VmInvalidInsn(pc, code, `unknown atomic op 0x${op.toString(16)}`);
        nlo = lo[s];
        nhi = hi[s];
        break;
      case 0xf0: {
        if (op !== 0xf1)
          throw new VmInvalidInsn(pc, code, `unknown atomic op 0x${op.toString(16)}`);
        const eq = size === 8 ? olo === lo[0] && ohi === hi[0] : olo === lo[0];
        if (eq) this.store(p, size, lo[s], hi[s]);
        lo[0] = olo;
        hi[0] = ohi;
        return;
      }
      default:
        throw new VmInvalidInsn(pc, code, `unknown atomic op 0x${op.toString(16)}`);
    }
    this.store(p, size, nlo, nhi);
    if (op & 1) {
      lo[s] = olo;
      hi[s] = ohi;
    }
  }

  /** LD_ABS / LD_IND: a big-endian read of the packet, or undefined when out of bounds. */
  private legacyLoad(pc: number, code: number, off: number): number | undefined {
    if (!this.packet) throw new VmInvalidInsn(pc, code, "legacy packet access without a packet");
    const b = this.packet.bytes;
    const size = code & 0x18 ? ((code & 0x18) === 0x08 ? 2 : 1) : 4;
    if (off < 0 || off + size > b.length) return undefined;
    if (size === 1) return b[off];
    if (size === 2) return (b[off] << 8) | b[off + 1];
    return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3] | 0;
  }

  private callHelper(pc: number, id: number): void {
    const h = this.helpers[id];
    if (h === undefined) throw new VmUnknownHelper(pc, id);
    this.pc = pc;
    this.setReg(0, h(this));
  }

  /**
   * Runs the program from instruction 0 with r1..r5 = `args` and returns r0 (unsigned 64-bit).
   * Throws a VmError when the program faults, runs out of budget or calls too deep.
   */
  run(args: readonly (bigint | number)[] = []): bigint {
    const lo = this.lo;
    const hi = this.hi;
    lo.fill(0);
    hi.fill(0);
    for (let i = 0; i < args.length && i < 5; i++) this.setReg(i + 1, args[i]);
    this.setReg(10, KernelAddr.STACK + BigInt(this.stack.length));
    const { word, imm, len } = this.program;
    let pc = 0;
    let depth = 0;
    let left = this.budget;
    try {
      for (;;) {
        if (--left < 0) throw new VmBudgetExceeded(pc, this.budget);
        const w = word[pc];
        const d = (w >> 8) & 15;
        const s = (w >> 12) & 15;
        const k = imm[pc];
        switch (w & 0xff) {
          // ---- ALU64 ----
          case 0x07: {
            const a = lo[d];
            const r = (a + k) | 0;
            hi[d] = (hi[d] + (k >> 31) + (r >>> 0 < a >>> 0 ? 1 : 0)) | 0;
            lo[d] = r;
            break;
          }
          case 0x0f: {
            const a = lo[d];
            const r = (a + lo[s]) | 0;
            hi[d] = (hi[d] + hi[s] + (r >>> 0 < a >>> 0 ? 1 : 0)) | 0;
            lo[d] = r;
            break;
          }
          case 0x17: {
            const a = lo[d];
            hi[d] = (hi[d] - (k >> 31) - (a >>> 0 < k >>> 0 ? 1 : 0)) | 0;
            lo[d] = (a - k) | 0;
            break;
          }
          case 0x1f: {
            const a = lo[d];
            const b = lo[s];
            hi[d] = (hi[d] - hi[s] - (a >>> 0 < b >>> 0 ? 1 : 0)) | 0;
            lo[d] = (a - b) | 0;
            break;
          }
          case 0x27:
            mul64(hi[d], lo[d], k >> 31, k);
            lo[d] = RLO;
            hi[d] = RHI;
            break;
          case 0x2f:
            mul64(hi[d], lo[d], hi[s], lo[s]);
            lo[d] = RLO;
            hi[d] = RHI;
            break;
          case 0x37:
          case 0x97:
            divmod64(hi[d], lo[d], k >> 31, k, w >> 16 === 1, (w & 0xff) === 0x97);
            lo[d] = RLO;
            hi[d] = RHI;
            break;
          case 0x3f:
          case 0x9f:
            divmod64(hi[d], lo[d], hi[s], lo[s], w >> 16 === 1, (w & 0xff) === 0x9f);
            lo[d] = RLO;
            hi[d] = RHI;
            break;
          case 0x47:
            lo[d] |= k;
            hi[d] |= k >> 31;
            break;
          case 0x4f:
            lo[d] |= lo[s];
            hi[d] |= hi[s];
            break;
          case 0x57:
            lo[d] &= k;
            hi[d] &= k >> 31;
            break;
          case 0x5f:
            lo[d] &= lo[s];
            hi[d] &= hi[s];
            break;
          case 0x67:
          case 0x6f:
            lsh64(hi[d], lo[d], (w & 8 ? lo[s] : k) & 63);
            lo[d] = RLO;
            hi[d] = RHI;
            break;
          case 0x77:
          case 0x7f:
            rsh64(hi[d], lo[d], (w & 8 ? lo[s] : k) & 63);
            lo[d] = RLO;
            hi[d] = RHI;
            break;
          case 0xc7:
          case 0xcf:
            arsh64(hi[d], lo[d], (w & 8 ? lo[s] : k) & 63);
            lo[d] = RLO;
            hi[d] = RHI;
            break;
          case 0x87: {
            const a = lo[d];
            lo[d] = -a | 0;
            hi[d] = (~hi[d] + (a === 0 ? 1 : 0)) | 0;
            break;
          }
          case 0xa7:
            lo[d] ^= k;
            hi[d] ^= k >> 31;
            break;
          case 0xaf:
            lo[d] ^= lo[s];
            hi[d] ^= hi[s];
            break;
          case 0xb7:
            lo[d] = k;
            hi[d] = k >> 31;
            break;
          case 0xbf: {
            const off = w >> 16;
            const v = lo[s];
            if (off === 0) {
              lo[d] = v;
              hi[d] = hi[s];
            } else if (off === 8) {
              lo[d] = (v << 24) >> 24;
              hi[d] = lo[d] >> 31;
            } else if (off === 16) {
              lo[d] = (v << 16) >> 16;
              hi[d] = lo[d] >> 31;
            } else if (off === 32) {
              lo[d] = v;
              hi[d] = v >> 31;
            } else {
              this.pc = pc;
              throw new VmInvalidInsn(
                pc,
                0xbf,
                `mov with off ${off} (addr_space_cast) is not supported`,
              );
            }
            break;
          }
          case 0xd7:
          case 0xdc: {
            // bswap (ALU64 END) and to-big-endian (ALU END TO_BE) on a little-endian machine
            if (k === 16) {
              lo[d] = bswap16(lo[d]);
              hi[d] = 0;
            } else if (k === 32) {
              lo[d] = bswap32(lo[d]);
              hi[d] = 0;
            } else if (k === 64) {
              const l = lo[d];
              lo[d] = bswap32(hi[d]);
              hi[d] = bswap32(l);
            } else throw new VmInvalidInsn(pc, w & 0xff, `byte swap of width ${k}`);
            break;
          }
          case 0xd4:
            if (k === 16) {
              lo[d] &= 0xffff;
              hi[d] = 0;
            } else if (k === 32) hi[d] = 0;
            else if (k !== 64) throw new VmInvalidInsn(pc, 0xd4, `byte swap of width ${k}`);
            break;
          // ---- ALU (32-bit, zero-extending) ----
          case 0x04:
            lo[d] = (lo[d] + k) | 0;
            hi[d] = 0;
            break;
          case 0x0c:
            lo[d] = (lo[d] + lo[s]) | 0;
            hi[d] = 0;
            break;
          case 0x14:
            lo[d] = (lo[d] - k) | 0;
            hi[d] = 0;
            break;
          case 0x1c:
            lo[d] = (lo[d] - lo[s]) | 0;
            hi[d] = 0;
            break;
          case 0x24:
            lo[d] = Math.imul(lo[d], k);
            hi[d] = 0;
            break;
          case 0x2c:
            lo[d] = Math.imul(lo[d], lo[s]);
            hi[d] = 0;
            break;
          case 0x34:
          case 0x94:
            lo[d] = divmod32(lo[d], k, w >> 16 === 1, (w & 0xff) === 0x94);
            hi[d] = 0;
            break;
          case 0x3c:
          case 0x9c:
            lo[d] = divmod32(lo[d], lo[s], w >> 16 === 1, (w & 0xff) === 0x9c);
            hi[d] = 0;
            break;
          case 0x44:
            lo[d] |= k;
            hi[d] = 0;
            break;
          case 0x4c:
            lo[d] |= lo[s];
            hi[d] = 0;
            break;
          case 0x54:
            lo[d] &= k;
            hi[d] = 0;
            break;
          case 0x5c:
            lo[d] &= lo[s];
            hi[d] = 0;
            break;
          case 0x64:
            lo[d] <<= k & 31;
            hi[d] = 0;
            break;
          case 0x6c:
            lo[d] <<= lo[s] & 31;
            hi[d] = 0;
            break;
          case 0x74:
            lo[d] = lo[d] >>> (k & 31);
            hi[d] = 0;
            break;
          case 0x7c:
            lo[d] = lo[d] >>> (lo[s] & 31);
            hi[d] = 0;
            break;
          case 0xc4:
            lo[d] >>= k & 31;
            hi[d] = 0;
            break;
          case 0xcc:
            lo[d] >>= lo[s] & 31;
            hi[d] = 0;
            break;
          case 0x84:
            lo[d] = -lo[d] | 0;
            hi[d] = 0;
            break;
          case 0xa4:
            lo[d] ^= k;
            hi[d] = 0;
            break;
          case 0xac:
            lo[d] ^= lo[s];
            hi[d] = 0;
            break;
          case 0xb4:
            lo[d] = k;
            hi[d] = 0;
            break;
          case 0xbc: {
            const off = w >> 16;
            const v = lo[s];
            lo[d] = off === 8 ? (v << 24) >> 24 : off === 16 ? (v << 16) >> 16 : v;
            hi[d] = 0;
            break;
          }
          // ---- JMP (64-bit compares) ----
          case 0x05:
            pc += w >> 16;
            break;
          case 0x15:
            if (lo[d] === k && hi[d] === k >> 31) pc += w >> 16;
            break;
          case 0x1d:
            if (lo[d] === lo[s] && hi[d] === hi[s]) pc += w >> 16;
            break;
          case 0x55:
            if (lo[d] !== k || hi[d] !== k >> 31) pc += w >> 16;
            break;
          case 0x5d:
            if (lo[d] !== lo[s] || hi[d] !== hi[s]) pc += w >> 16;
            break;
          case 0x45:
            if ((lo[d] & k) !== 0 || (hi[d] & (k >> 31)) !== 0) pc += w >> 16;
            break;
          case 0x4d:
            if ((lo[d] & lo[s]) !== 0 || (hi[d] & hi[s]) !== 0) pc += w >> 16;
            break;
          case 0x25:
            if (gtU(hi[d], lo[d], k >> 31, k)) pc += w >> 16;
            break;
          case 0x2d:
            if (gtU(hi[d], lo[d], hi[s], lo[s])) pc += w >> 16;
            break;
          case 0x35:
            if (geU(hi[d], lo[d], k >> 31, k)) pc += w >> 16;
            break;
          case 0x3d:
            if (geU(hi[d], lo[d], hi[s], lo[s])) pc += w >> 16;
            break;
          case 0xa5:
            if (gtU(k >> 31, k, hi[d], lo[d])) pc += w >> 16;
            break;
          case 0xad:
            if (gtU(hi[s], lo[s], hi[d], lo[d])) pc += w >> 16;
            break;
          case 0xb5:
            if (geU(k >> 31, k, hi[d], lo[d])) pc += w >> 16;
            break;
          case 0xbd:
            if (geU(hi[s], lo[s], hi[d], lo[d])) pc += w >> 16;
            break;
          case 0x65:
            if (gtS(hi[d], lo[d], k >> 31, k)) pc += w >> 16;
            break;
          case 0x6d:
            if (gtS(hi[d], lo[d], hi[s], lo[s])) pc += w >> 16;
            break;
          case 0x75:
            if (geS(hi[d], lo[d], k >> 31, k)) pc += w >> 16;
            break;
          case 0x7d:
            if (geS(hi[d], lo[d], hi[s], lo[s])) pc += w >> 16;
            break;
          case 0xc5:
            if (gtS(k >> 31, k, hi[d], lo[d])) pc += w >> 16;
            break;
          case 0xcd:
            if (gtS(hi[s], lo[s], hi[d], lo[d])) pc += w >> 16;
            break;
          case 0xd5:
            if (geS(k >> 31, k, hi[d], lo[d])) pc += w >> 16;
            break;
          case 0xdd:
            if (geS(hi[s], lo[s], hi[d], lo[d])) pc += w >> 16;
            break;
          // ---- JMP32 ----
          case 0x06:
            pc += k; // gotol
            break;
          case 0x16:
            if (lo[d] === k) pc += w >> 16;
            break;
          case 0x1e:
            if (lo[d] === lo[s]) pc += w >> 16;
            break;
          case 0x56:
            if (lo[d] !== k) pc += w >> 16;
            break;
          case 0x5e:
            if (lo[d] !== lo[s]) pc += w >> 16;
            break;
          case 0x46:
            if ((lo[d] & k) !== 0) pc += w >> 16;
            break;
          case 0x4e:
            if ((lo[d] & lo[s]) !== 0) pc += w >> 16;
            break;
          case 0x26:
            if (lo[d] >>> 0 > k >>> 0) pc += w >> 16;
            break;
          case 0x2e:
            if (lo[d] >>> 0 > lo[s] >>> 0) pc += w >> 16;
            break;
          case 0x36:
            if (lo[d] >>> 0 >= k >>> 0) pc += w >> 16;
            break;
          case 0x3e:
            if (lo[d] >>> 0 >= lo[s] >>> 0) pc += w >> 16;
            break;
          case 0xa6:
            if (lo[d] >>> 0 < k >>> 0) pc += w >> 16;
            break;
          case 0xae:
            if (lo[d] >>> 0 < lo[s] >>> 0) pc += w >> 16;
            break;
          case 0xb6:
            if (lo[d] >>> 0 <= k >>> 0) pc += w >> 16;
            break;
          case 0xbe:
            if (lo[d] >>> 0 <= lo[s] >>> 0) pc += w >> 16;
            break;
          case 0x66:
            if (lo[d] > k) pc += w >> 16;
            break;
          case 0x6e:
            if (lo[d] > lo[s]) pc += w >> 16;
            break;
          case 0x76:
            if (lo[d] >= k) pc += w >> 16;
            break;
          case 0x7e:
            if (lo[d] >= lo[s]) pc += w >> 16;
            break;
          case 0xc6:
            if (lo[d] < k) pc += w >> 16;
            break;
          case 0xce:
            if (lo[d] < lo[s]) pc += w >> 16;
            break;
          case 0xd6:
            if (lo[d] <= k) pc += w >> 16;
            break;
          case 0xde:
            if (lo[d] <= lo[s]) pc += w >> 16;
            break;
          // ---- calls and exit ----
          case 0x85: {
            if (s === 0) {
              this.callHelper(pc, k);
              break;
            }
            if (s === 2 && this.kfuncs.has(k)) {
              this.pc = pc;
              this.setReg(0, (this.kfuncs.get(k) as Helper<E>)(this));
              break;
            }
            if (s !== 1) {
              this.pc = pc;
              throw new VmInvalidInsn(
                pc,
                0x85,
                s === 2 ? "kfunc calls are not supported" : `call with src_reg ${s}`,
              );
            }
            if (depth + 1 >= MAX_CALL_FRAMES) {
              this.pc = pc;
              throw new VmCallDepthExceeded(pc, depth + 2);
            }
            const base = depth * 10;
            for (let r = 0; r < 5; r++) {
              this.frameSave[base + 2 * r] = lo[6 + r];
              this.frameSave[base + 2 * r + 1] = hi[6 + r];
            }
            this.frameRet[depth] = pc + 1;
            depth++;
            // The callee's frame lies below the caller's.
            const fp = KernelAddr.STACK + BigInt(this.stack.length - depth * MAX_BPF_STACK);
            lo[10] = Number(fp & 0xffffffffn) | 0;
            hi[10] = Number(fp >> 32n) | 0;
            pc += k + 1;
            continue;
          }
          case 0x95: {
            if (depth === 0) {
              this.executed = this.budget - left;
              return toU64(hi[0], lo[0]);
            }
            depth--;
            const base = depth * 10;
            for (let r = 0; r < 5; r++) {
              lo[6 + r] = this.frameSave[base + 2 * r];
              hi[6 + r] = this.frameSave[base + 2 * r + 1];
            }
            pc = this.frameRet[depth];
            continue;
          }
          // ---- ld_imm64 ----
          case 0x18:
            lo[d] = k;
            hi[d] = imm[pc + 1];
            pc += 2;
            continue;
          // ---- loads and stores ----
          case 0x61:
          case 0x69:
          case 0x71:
          case 0x79: {
            const size = SIZE[(w >> 3) & 3];
            this.pc = pc;
            this.load(this.ea(s, w >> 16, size, false), size, d);
            break;
          }
          case 0x81:
          case 0x89:
          case 0x91: {
            const size = SIZE[(w >> 3) & 3];
            this.pc = pc;
            const p = this.ea(s, w >> 16, size, false);
            const dv = this.cur.dv;
            lo[d] =
              size === 1 ? dv.getInt8(p) : size === 2 ? dv.getInt16(p, true) : dv.getInt32(p, true);
            hi[d] = lo[d] >> 31;
            break;
          }
          case 0x62:
          case 0x6a:
          case 0x72:
          case 0x7a: {
            const size = SIZE[(w >> 3) & 3];
            this.pc = pc;
            this.store(this.ea(d, w >> 16, size, true), size, k, k >> 31);
            break;
          }
          case 0x63:
          case 0x6b:
          case 0x73:
          case 0x7b: {
            const size = SIZE[(w >> 3) & 3];
            this.pc = pc;
            this.store(this.ea(d, w >> 16, size, true), size, lo[s], hi[s]);
            break;
          }
          case 0xc3:
          case 0xdb:
            this.pc = pc;
            this.atomic(pc, w & 0xff, d, s, w >> 16, k);
            break;
          // ---- legacy packet loads ----
          case 0x20:
          case 0x28:
          case 0x30:
          case 0x40:
          case 0x48:
          case 0x50: {
            this.pc = pc;
            const off = (w & 0x40 ? lo[s] + k : k) | 0;
            const v = this.legacyLoad(pc, w & 0xff, off);
            if (v === undefined) {
              // The kernel ends the program with 0 when the packet is too short.
              this.executed = this.budget - left;
              return 0n;
            }
            lo[0] = v;
            hi[0] = 0;
            break;
          }
          default:
            this.pc = pc;
            if (pc < 0 || pc >= len) throw new VmInvalidInsn(pc, 0, "fell off the program");
            throw new VmInvalidInsn(pc, w & 0xff, "unknown opcode");
        }
        pc++;
      }
    } finally {
      this.executed = this.budget - Math.max(left, 0);
    }
  }
}

/** Access sizes by BPF_SIZE >> 3: W, H, B, DW. */
const SIZE = [4, 2, 1, 8];
