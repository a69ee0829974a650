/**
 * The light-skeleton loader generator: libbpf's gen_loader (tools/lib/bpf/gen_loader.c, the
 * post-series version in which `gen_hash` only drops the host overrides) in TypeScript.
 *
 * When libbpf generates a loader, the object load walk calls `bpf_gen__*` instead of issuing
 * the bpf() commands. Each call appends two things:
 *
 * - records to the *data blob* (the loader map's value): bpf_attr images, raw BTF, target
 *   program instructions, strings. Records start 8-aligned; pointer and fd fields are left
 *   zero in the blob and patched at run time, which keeps the blob signable;
 * - instructions to the *loader program* (a sleepable SYSCALL program) that patch those
 *   fields and issue `bpf_sys_bpf()` with them.
 *
 * Loader program shape: a prologue that zeroes its 136-byte stack area and jumps over a
 * cleanup block (close every fd made so far, return r7), then the body the calls emit, then
 * the epilogue `finish()` appends (hand map and program fds back through the ctx).
 *
 * Register use inside the loader: r6 = ctx, r7 = result of the last command, r8 = the target
 * instruction a ksym/kfunc relocation patches, r9 = scratch (fd being closed, kallsyms result).
 *
 * Errors latch the way libbpf's `gen->error` does: once set, instructions and data stop
 * growing, the remaining calls only do bookkeeping, and `finish()` throws a `GenLoaderError`
 * instead of publishing anything.
 */

import {
  alu32Imm,
  alu64Imm,
  call,
  exit,
  ja,
  jmpImm,
  ldImm64Raw,
  ldxMem,
  mov64Imm,
  mov64Reg,
  stMem,
  stxMem,
} from "../insn/builder.js";
import { bswapInsns, encodeInsns, type Insn } from "../insn/insn.js";
import {
  AluOp,
  JmpOp,
  R0,
  R1,
  R2,
  R3,
  R4,
  R6,
  R7,
  R8,
  R9,
  R10,
  Size,
  type SizeCode,
} from "../insn/opcode.js";
import {
  CORE_RELO_SIZE,
  type CoreRelo,
  type ExternRelo,
  encodeCoreRelos,
  isMapInMap,
  type MapCreateAttr,
  type ObjectLoadOps,
  type ProgLoadAttr,
} from "../object/load_ops.js";
import { kernelAttachTarget } from "../object/section_def.js";
import {
  BPF_SKEL_KERNEL,
  LOADER_CTX_FLAGS,
  LOADER_CTX_LOG_BUF,
  LOADER_CTX_LOG_LEVEL,
  LOADER_CTX_LOG_SIZE,
  MAP_DESC_FD,
  MAP_DESC_INITIAL_VALUE,
  MAP_DESC_MAX_ENTRIES,
  mapDescOffset,
  progDescOffset,
} from "../skeleton/skeleton.js";
import { BpfCmd, Helper, Limits, Pseudo } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import {
  BtfLoadAttr,
  fromCString,
  MapCreateAttr as MapCreateLayout,
  MapElemAttr,
  MapFreezeAttr,
  offsetofend,
  ProgLoadAttr as ProgLoadLayout,
  strlcpyBytes,
  UTF8_DECODER,
  UTF8_ENCODER,
} from "../uapi/layout.js";

// The interface the object load walker drives is object/load_ops.ts. What the generator does
// not write from it: btfVmlinuxValueTypeId (libbpf never copies it into the MAP_CREATE attr),
// kernVersion (the generated attr always carries 0) and attachBtfObjFd (the loader finds the
// attach target's BTF object at run time).

// ---- errors ------------------------------------------------------------------------------------

/** Stable codes of what makes libbpf's generator fail, with the errno it latches. */
export const GEN_ERRORS = {
  /** a blob or instruction buffer would pass INT32_MAX bytes (-ERANGE) */
  GEN_TOO_LARGE: 34,
  /** a branch to the cleanup block does not fit a 16-bit jump offset (-ERANGE) */
  GEN_JUMP_OUT_OF_RANGE: 34,
  /** a 65th map (-E2BIG, "Total maps exceeds 64") */
  GEN_TOO_MANY_MAPS: 7,
  /** a kfunc's BTF fd slot index passes INT16_MAX (-E2BIG) */
  GEN_KFUNC_FD_INDEX: 7,
  /** maps not created in index order (-EDOM, libbpf calls this an internal bug) */
  GEN_MAP_IDX_ORDER: 33,
  /** finish() counts disagree with what was generated (-EFAULT) */
  GEN_COUNT_MISMATCH: 14,
  /** prefix + attach target name do not fit 128 bytes with the NUL (-ENOSPC) */
  GEN_ATTACH_NAME_TOO_LONG: 28,
  /** not libbpf's: a numeric argument that is not an integer in the 32-bit range (EINVAL) */
  GEN_BAD_ARGUMENT: 22,
  /** not libbpf's: insns/data read before a successful finish() (EINVAL) */
  GEN_NOT_FINISHED: 22,
} as const;
export type GenErrorCode = keyof typeof GEN_ERRORS;

/**
 * A generation failure. `code` and `errno` describe the first failure (what libbpf latched
 * first, and warned about); `finishErrno` is what libbpf's bpf_gen__finish() returns, which can
 * differ because later failures overwrite `gen->error` (a map-order or too-many-maps failure
 * leaves the map count short, and finish then reports its count mismatch, EFAULT).
 */
export class GenLoaderError extends Error {
  override readonly name = "GenLoaderError";
  readonly code: GenErrorCode;
  readonly errno: number;
  finishErrno: number;

  constructor(code: GenErrorCode, message: string) {
    super(message);
    this.code = code;
    this.errno = GEN_ERRORS[code];
    this.finishErrno = this.errno;
  }
}

// ---- layout constants ----------------------------------------------------------------------------

/** Slots of fd_array reserved for maps; kfunc BTF fds follow (the direct loader uses the same layout). */
export const MAX_USED_MAPS = 64;
const MAX_KFUNC_DESCS = 256;
const MAX_FD_ARRAY_SZ = MAX_USED_MAPS + MAX_KFUNC_DESCS;
const INT32_MAX = 0x7fffffff;
const INT16_MAX = 0x7fff;

/** The loader's own stack area: `{ u32 btf_fd; u32 inner_map_fd; u32 prog_fd[32]; }`. */
const STACK_SZ = 4 + 4 + 4 * 32;
const STACK_BTF_FD = -STACK_SZ;
const STACK_INNER_MAP_FD = -STACK_SZ + 4;
const stackProgFd = (i: number): number => s16(-STACK_SZ + 8 + 4 * i);

/** `struct bpf_insn` field offsets (imm at 4, off at 2; the register byte at 1). */
const INSN_SZ = 8;
const INSN_OFF = 2;
const INSN_IMM = 4;
const INSN_REGS = 1;

const ATTACH_TARGET_SZ = 128;
const FUNC_INFO_SZ = 8;
const LINE_INFO_SZ = 16;

const BTF_LOAD_ATTR_SZ = offsetofend(BtfLoadAttr, "btf_log_level");
const MAP_CREATE_ATTR_SZ = offsetofend(MapCreateLayout, "map_extra");
const MAP_UPDATE_ATTR_SZ = offsetofend(MapElemAttr, "flags");
const MAP_FREEZE_ATTR_SZ = offsetofend(MapFreezeAttr, "map_fd");
const PROG_LOAD_ATTR_SZ = offsetofend(ProgLoadLayout, "core_relo_rec_size");
/** `attach_btf_obj_fd` shares its slot with `attach_prog_fd`. */
const PROG_ATTACH_BTF_OBJ_FD = ProgLoadLayout.attach_prog_fd.off;

function s16(v: number): number {
  return (v << 16) >> 16;
}

function roundup8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function bpfSize(bytes: number): SizeCode {
  switch (bytes) {
    case 8:
      return Size.DW;
    case 4:
      return Size.W;
    case 2:
      return Size.H;
    default:
      return Size.B;
  }
}

/** A NUL-terminated C string. */
function cStr(s: string): Uint8Array {
  const b = UTF8_ENCODER.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Byte-swap `count` consecutive u32 words in place. */
function bswap32InPlace(buf: Uint8Array, off: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const p = off + 4 * i;
    let t = buf[p];
    buf[p] = buf[p + 3];
    buf[p + 3] = t;
    t = buf[p + 1];
    buf[p + 1] = buf[p + 2];
    buf[p + 2] = t;
  }
}

/** One distinct extern of the current program (`struct ksym_desc`). */
interface KsymDesc {
  name: string;
  ref: number;
  kind: number;
  /** kfunc: fd_array index of its BTF fd */
  off: number;
  /** typeless ksym: no fd to close */
  typeless: boolean;
  /** blob offset of the first instruction that uses it */
  insn: number;
  isLd64: boolean;
}

export interface BpfGenOptions {
  /** the signed-loader form: no host overrides of max_entries and initial values */
  genHash: boolean;
  /** generate for a target of the other byte order (a big-endian BPF object on this host) */
  swappedEndian?: boolean;
  /**
   * libbpf's `log_level` of bpf_gen__init; non-zero adds bpf_trace_printk() debug output.
   * bpf_object__load() always passes 0.
   */
  logLevel?: number;
  /** the object's name, for error messages */
  objName?: string;
}

/**
 * The generator. Call the methods in libbpf's load order (init, loadBtf, per map mapCreate /
 * mapUpdateElem / mapFreeze / populateOuterMap, per program recordAttachTarget / recordExtern /
 * recordReloCore / progLoad, finish); after `finish()` read `insns` and `data`.
 */
export class BpfGen implements ObjectLoadOps {
  private readonly genHash: boolean;
  private readonly swapped: boolean;
  private readonly objName: string;
  private logLevel: number;

  private code: Insn[] = [];
  private blob = new Uint8Array(4096);
  private blobLen = 0;

  private cleanupLabel = 0;
  private nrProgs = 0;
  private nrMaps = 0;
  private err: GenLoaderError | null = null;

  private relos: ExternRelo[] = [];
  private coreRelos: CoreRelo[] = [];
  private attachTarget = "";
  private attachKind = 0;
  private attachTargetBytes = new Uint8Array(0);
  private ksyms: KsymDesc[] = [];
  private fdArray = 0;
  private nrFdArray = 0;

  private published: { insns: Uint8Array; data: Uint8Array } | null = null;

  constructor(opts: BpfGenOptions) {
    this.genHash = opts.genHash;
    this.swapped = opts.swappedEndian ?? false;
    this.logLevel = opts.logLevel ?? 0;
    this.objName = opts.objName ?? "object";
  }

  /** The loader program (`gen_loader_opts.insns`), target byte order; set by finish(). */
  get insns(): Uint8Array {
    if (!this.published) throw this.notFinished();
    return this.published.insns;
  }

  /** The data blob (`gen_loader_opts.data`); set by finish(). */
  get data(): Uint8Array {
    if (!this.published) throw this.notFinished();
    return this.published.data;
  }

  private notFinished(): GenLoaderError {
    return new GenLoaderError(
      "GEN_NOT_FINISHED",
      `${this.objName}: gen_loader has not finished${this.err ? ` (${this.err.message})` : ""}`,
    );
  }

  /** Numeric arguments must be integers a C int or __u32 can hold. */
  private args(call: string, values: Record<string, number>): void {
    for (const [name, v] of Object.entries(values)) {
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
        throw new GenLoaderError(
          "GEN_BAD_ARGUMENT",
          `${this.objName}: gen_loader ${call}: ${name} ${v} is not a 32-bit integer`,
        );
      }
    }
  }

  /** Bytes in the data blob so far (libbpf's `data_cur - data_start`). */
  get dataSize(): number {
    return this.blobLen;
  }

  /** Bytes of loader instructions so far (libbpf's `insn_cur - insn_start`). */
  get insnSize(): number {
    return this.insnBytes();
  }

  /** The latched error, if any (libbpf's `gen->error`). */
  get error(): GenLoaderError | null {
    return this.err;
  }

  // ---- buffers ------------------------------------------------------------------------------

  /** Latch a failure: the first one is kept, later ones only change what finish returns. */
  private fail(code: GenErrorCode, what: string): void {
    if (this.err) this.err.finishErrno = GEN_ERRORS[code];
    else this.err = new GenLoaderError(code, `${this.objName}: gen_loader: ${what}`);
  }

  private insnBytes(): number {
    return this.code.length * INSN_SZ;
  }

  private emit(...insns: Insn[]): void {
    for (const insn of insns) {
      if (this.err) return;
      if (this.insnBytes() + INSN_SZ > INT32_MAX) {
        this.fail("GEN_TOO_LARGE", `loader instructions pass ${INT32_MAX} bytes`);
        return;
      }
      this.code.push(insn);
    }
  }

  /** Append `size` bytes (from `bytes`, or zeros) padded to 8; returns the record's offset. */
  private addData(bytes: Uint8Array | null, size: number = bytes?.length ?? 0): number {
    if (size > INT32_MAX) {
      this.fail("GEN_TOO_LARGE", `a data record of ${size} bytes`);
      return 0;
    }
    if (this.err) return 0;
    const size8 = roundup8(size);
    if (size8 > INT32_MAX || this.blobLen + size8 > INT32_MAX) {
      this.fail("GEN_TOO_LARGE", `the data blob passes ${INT32_MAX} bytes`);
      return 0;
    }
    const off = this.blobLen;
    const need = off + size8;
    if (need > this.blob.length) {
      const grown = new Uint8Array(Math.max(need, this.blob.length * 2));
      grown.set(this.blob.subarray(0, off));
      this.blob = grown;
    }
    this.blob.fill(0, off, need);
    if (bytes) this.blob.set(bytes.subarray(0, size), off);
    this.blobLen = need;
    return off;
  }

  /** A zeroed attr image whose fields are written in the target's byte order. */
  private attr(size: number): { bytes: Uint8Array; view: DataView } {
    const bytes = new Uint8Array(size);
    return { bytes, view: new DataView(bytes.buffer) };
  }

  private put32(view: DataView, off: number, v: number): void {
    view.setUint32(off, v >>> 0, !this.swapped);
  }

  private put64(view: DataView, off: number, v: bigint): void {
    view.setBigUint64(off, BigInt.asUintN(64, v), !this.swapped);
  }

  /** Blob offset of fd_array slot `index` (a C int, so it wraps like libbpf's). */
  private fdArrayOff(index: number): number {
    return (this.fdArray + index * 4) | 0;
  }

  // ---- instruction idioms ------------------------------------------------------------------

  /** `reg = &blob[off]` (an ld_imm64 of the loader map's value). */
  private ldBlob(reg: number, off: number): void {
    this.emit(...ldImm64Raw(reg, Pseudo.MAP_IDX_VALUE, 0, off));
  }

  /** `*(u64 *)&blob[off] = &blob[data]` */
  private relStore(off: number, data: number): void {
    this.ldBlob(R0, data);
    this.ldBlob(R1, off);
    this.emit(stxMem(Size.DW, R1, R0, 0));
  }

  private blob2blob(off: number, size: number, blobOff: number): void {
    this.ldBlob(R2, blobOff);
    this.emit(ldxMem(bpfSize(size), R0, R2, 0));
    this.ldBlob(R1, off);
    this.emit(stxMem(bpfSize(size), R1, R0, 0));
  }

  private blob2ctx(ctxOff: number, size: number, blobOff: number): void {
    this.ldBlob(R1, blobOff);
    this.emit(ldxMem(bpfSize(size), R0, R1, 0));
    this.emit(stxMem(bpfSize(size), R6, R0, s16(ctxOff)));
  }

  /** Copy a ctx field into the blob; with `nonZero`, only when the ctx value is not zero. */
  private ctx2blob(off: number, size: number, ctxOff: number, nonZero: boolean): void {
    this.emit(ldxMem(bpfSize(size), R0, R6, s16(ctxOff)));
    if (nonZero) this.emit(jmpImm(JmpOp.JEQ, R0, 0, 3));
    this.ldBlob(R1, off);
    this.emit(stxMem(bpfSize(size), R1, R0, 0));
  }

  private stack2blob(off: number, size: number, stackOff: number): void {
    this.emit(ldxMem(bpfSize(size), R0, R10, stackOff));
    this.ldBlob(R1, off);
    this.emit(stxMem(bpfSize(size), R1, R0, 0));
  }

  private stack2ctx(ctxOff: number, size: number, stackOff: number): void {
    this.emit(ldxMem(bpfSize(size), R0, R10, stackOff));
    this.emit(stxMem(bpfSize(size), R6, R0, s16(ctxOff)));
  }

  /** `r7 = bpf_sys_bpf(cmd, &blob[attr], size)` */
  private sysBpf(cmd: number, attr: number, size: number): void {
    this.emit(mov64Imm(R1, cmd));
    this.ldBlob(R2, attr);
    this.emit(mov64Imm(R3, size), call(Helper.sys_bpf), mov64Reg(R7, R0));
  }

  /** `if r7 s< 0 goto cleanup` */
  private checkErr(): void {
    const off = -(this.insnBytes() - this.cleanupLabel) / INSN_SZ - 1;
    if (off >= -0x8000 && off <= 0x7fff) this.emit(jmpImm(JmpOp.JSLT, R7, 0, off));
    else this.fail("GEN_JUMP_OUT_OF_RANGE", `cleanup branch offset ${off} does not fit 16 bits`);
  }

  /**
   * bpf_trace_printk() of a message and up to two registers (only with a log level). `text` is
   * the message after printf formatting; `regs` the registers its `%d`s print.
   */
  private debug(reg1: number, reg2: number, text: string): void {
    if (!this.logLevel) return;
    // libbpf formats into a 1024-byte buffer and appends " r=%d" only when that fits
    const full = UTF8_ENCODER.encode(text);
    const buf = full.length > 1023 ? full.subarray(0, 1023) : full;
    let msg = buf;
    if (full.length < 1024 - 7 && reg1 >= 0 && reg2 < 0) {
      msg = new Uint8Array(buf.length + 5);
      msg.set(buf);
      msg.set(UTF8_ENCODER.encode(" r=%d"), buf.length);
    }
    const len = msg.length + 1;
    const withNul = new Uint8Array(len);
    withNul.set(msg);
    const addr = this.addData(withNul);
    this.ldBlob(R1, addr);
    this.emit(mov64Imm(R2, len));
    if (reg1 >= 0) this.emit(mov64Reg(R3, reg1));
    if (reg2 >= 0) this.emit(mov64Reg(R4, reg2));
    this.emit(call(Helper.trace_printk));
  }

  private debugRet(text: string): void {
    this.debug(R7, -1, text);
  }

  /** close(r1) if it is a valid fd */
  private sysCloseR1(): void {
    this.emit(jmpImm(JmpOp.JSLE, R1, 0, 2 + (this.logLevel ? 6 : 0)));
    this.emit(mov64Reg(R9, R1), call(Helper.sys_close));
    this.debug(R9, R0, "close(%d) = %d");
  }

  private sysCloseStack(stackOff: number): void {
    this.emit(ldxMem(Size.W, R1, R10, stackOff));
    this.sysCloseR1();
  }

  private sysCloseBlob(blobOff: number): void {
    this.ldBlob(R0, blobOff);
    this.emit(ldxMem(Size.W, R1, R0, 0));
    this.sysCloseR1();
  }

  // ---- the bpf_gen__* calls ---------------------------------------------------------------------

  /** bpf_gen__init: reserve the fd_array area, emit the prologue and the cleanup block. */
  init(nrProgs: number, nrMaps: number): void {
    this.args("init", { nrProgs, nrMaps });
    this.fdArray = this.addData(null, MAX_FD_ARRAY_SZ * 4);
    this.emit(mov64Reg(R6, R1));
    // zero the stack area: probe_read_kernel(r10 - 136, 136, NULL) fails and clears it
    this.emit(
      mov64Reg(R1, R10),
      alu64Imm(AluOp.ADD, R1, -STACK_SZ),
      mov64Imm(R2, STACK_SZ),
      mov64Imm(R3, 0),
      call(Helper.probe_read_kernel),
    );
    const nrProgsSz = 8 + 4 * nrProgs;
    const closeMapInsns = 6 + (this.logLevel ? 6 : 0);
    this.emit(ja(s16(Math.floor(nrProgsSz / 4) * 3 + 2 + nrMaps * closeMapInsns)));
    this.cleanupLabel = this.insnBytes();
    for (let i = 0; i < nrProgsSz; i += 4) {
      this.emit(
        ldxMem(Size.W, R1, R10, s16(-STACK_SZ + i)),
        jmpImm(JmpOp.JSLE, R1, 0, 1),
        call(Helper.sys_close),
      );
    }
    for (let i = 0; i < nrMaps; i++) this.sysCloseBlob(this.fdArrayOff(i));
    this.emit(mov64Reg(R0, R7), exit());
  }

  /** bpf_gen__load_btf */
  loadBtf(raw: Uint8Array): void {
    const size = BTF_LOAD_ATTR_SZ;
    const btfData = this.addData(raw);
    const a = this.attr(size);
    this.put32(a.view, BtfLoadAttr.btf_size.off, raw.length);
    const attr = this.addData(a.bytes);
    this.ctx2blob(attr + BtfLoadAttr.btf_log_level.off, 4, LOADER_CTX_LOG_LEVEL, false);
    this.ctx2blob(attr + BtfLoadAttr.btf_log_size.off, 4, LOADER_CTX_LOG_SIZE, false);
    this.ctx2blob(attr + BtfLoadAttr.btf_log_buf.off, 8, LOADER_CTX_LOG_BUF, false);
    this.relStore(attr + BtfLoadAttr.btf.off, btfData);
    this.sysBpf(BpfCmd.BTF_LOAD, attr, size);
    this.debugRet(`btf_load size ${raw.length}`);
    this.checkErr();
    this.emit(stxMem(Size.W, R10, R7, STACK_BTF_FD));
  }

  /** bpf_gen__map_create; `mapIdx` -1 creates the inner map of the next map-in-map. */
  mapCreate(
    mapType: number,
    name: string,
    keySize: number,
    valueSize: number,
    maxEntries: number,
    attr: MapCreateAttr,
    mapIdx: number,
  ): void {
    this.args("map_create", {
      mapType,
      keySize,
      valueSize,
      maxEntries,
      mapIdx,
      btfKeyTypeId: attr.btfKeyTypeId,
      btfValueTypeId: attr.btfValueTypeId,
      mapFlags: attr.mapFlags,
      numaNode: attr.numaNode,
      mapIfindex: attr.mapIfindex,
    });
    const size = MAP_CREATE_ATTR_SZ;
    const L = MapCreateLayout;
    const a = this.attr(size);
    this.put32(a.view, L.map_type.off, mapType);
    this.put32(a.view, L.key_size.off, keySize);
    this.put32(a.view, L.value_size.off, valueSize);
    this.put32(a.view, L.map_flags.off, attr.mapFlags);
    this.put64(a.view, L.map_extra.off, attr.mapExtra);
    a.bytes.set(strlcpyBytes(name, Limits.OBJ_NAME_LEN), L.map_name.off);
    this.put32(a.view, L.numa_node.off, attr.numaNode);
    this.put32(a.view, L.map_ifindex.off, attr.mapIfindex);
    this.put32(a.view, L.max_entries.off, maxEntries);
    this.put32(a.view, L.btf_key_type_id.off, attr.btfKeyTypeId);
    this.put32(a.view, L.btf_value_type_id.off, attr.btfValueTypeId);
    const createAttr = this.addData(a.bytes);

    if (attr.btfValueTypeId) this.stack2blob(createAttr + L.btf_fd.off, 4, STACK_BTF_FD);
    const isOuter = isMapInMap(mapType);
    if (isOuter) this.stack2blob(createAttr + L.inner_map_fd.off, 4, STACK_INNER_MAP_FD);
    // an unsigned loader lets the host resize the map (a zero in the ctx keeps the default)
    if (mapIdx >= 0 && !this.genHash) {
      const ctxOff = mapDescOffset(mapIdx) + MAP_DESC_MAX_ENTRIES;
      this.ctx2blob(createAttr + L.max_entries.off, 4, ctxOff, true);
    }
    this.sysBpf(BpfCmd.MAP_CREATE, createAttr, size);
    this.debugRet(
      `map_create ${name} idx ${mapIdx} type ${mapType | 0} value_size ${valueSize | 0} value_btf_id ${attr.btfValueTypeId | 0}`,
    );
    this.checkErr();
    if (mapIdx < 0) {
      this.emit(stxMem(Size.W, R10, R7, STACK_INNER_MAP_FD));
    } else if (mapIdx !== this.nrMaps) {
      this.fail(
        "GEN_MAP_IDX_ORDER",
        `map '${name}' created as map_idx ${mapIdx}, expected ${this.nrMaps}`,
      );
      return;
    } else {
      let idx = 0;
      if (this.nrMaps === MAX_USED_MAPS) {
        this.fail("GEN_TOO_MANY_MAPS", `map '${name}': Total maps exceeds ${MAX_USED_MAPS}`);
      } else {
        idx = this.nrMaps++;
      }
      this.ldBlob(R1, this.fdArrayOff(idx));
      this.emit(stxMem(Size.W, R1, R7, 0));
    }
    if (isOuter) this.sysCloseStack(STACK_INNER_MAP_FD);
  }

  /** bpf_gen__map_update_elem: key 0 of an internal map (.data, .rodata, .bss, .kconfig). */
  mapUpdateElem(mapIdx: number, value: Uint8Array): void {
    this.args("map_update_elem", { mapIdx });
    const size = MAP_UPDATE_ATTR_SZ;
    const valueSize = value.length;
    const valueOff = this.addData(value);
    const keyOff = this.addData(new Uint8Array(4));
    if (!this.genHash) {
      // an unsigned loader lets the host replace the initial value:
      // copy_from_user, or probe_read_kernel when the ctx is in kernel memory
      const ctxOff = mapDescOffset(mapIdx) + MAP_DESC_INITIAL_VALUE;
      this.emit(ldxMem(Size.DW, R3, R6, s16(ctxOff)), jmpImm(JmpOp.JEQ, R3, 0, 8));
      this.ldBlob(R1, valueOff);
      this.emit(
        mov64Imm(R2, valueSize),
        ldxMem(Size.W, R0, R6, LOADER_CTX_FLAGS),
        jmpImm(JmpOp.JSET, R0, BPF_SKEL_KERNEL, 2),
        call(Helper.copy_from_user),
        ja(1),
        call(Helper.probe_read_kernel),
      );
    }
    const attr = this.addData(null, size);
    this.blob2blob(attr + MapElemAttr.map_fd.off, 4, this.fdArrayOff(mapIdx));
    this.relStore(attr + MapElemAttr.key.off, keyOff);
    this.relStore(attr + MapElemAttr.value.off, valueOff);
    this.sysBpf(BpfCmd.MAP_UPDATE_ELEM, attr, size);
    this.debugRet(`update_elem idx ${mapIdx} value_size ${valueSize}`);
    this.checkErr();
  }

  /** bpf_gen__map_freeze */
  mapFreeze(mapIdx: number): void {
    this.args("map_freeze", { mapIdx });
    const size = MAP_FREEZE_ATTR_SZ;
    const attr = this.addData(null, size);
    this.blob2blob(attr + MapFreezeAttr.map_fd.off, 4, this.fdArrayOff(mapIdx));
    this.sysBpf(BpfCmd.MAP_FREEZE, attr, size);
    this.debugRet("map_freeze");
    this.checkErr();
  }

  /** bpf_gen__populate_outer_map: outer[slot] = fd of map `innerMapIdx`. */
  populateOuterMap(outerMapIdx: number, slot: number, innerMapIdx: number): void {
    this.args("populate_outer_map", { outerMapIdx, slot, innerMapIdx });
    const size = MAP_UPDATE_ATTR_SZ;
    const k = this.attr(4);
    this.put32(k.view, 0, slot);
    const keyOff = this.addData(k.bytes);
    const attr = this.addData(null, size);
    this.blob2blob(attr + MapElemAttr.map_fd.off, 4, this.fdArrayOff(outerMapIdx));
    this.relStore(attr + MapElemAttr.key.off, keyOff);
    this.relStore(attr + MapElemAttr.value.off, this.fdArrayOff(innerMapIdx));
    this.sysBpf(BpfCmd.MAP_UPDATE_ELEM, attr, size);
    this.debugRet(`populate_outer_map outer ${outerMapIdx} key ${slot} inner ${innerMapIdx}`);
    this.checkErr();
  }

  /** bpf_gen__record_attach_target: the next program looks up its kernel attach target. */
  recordAttachTarget(name: string, attachType: number): void {
    this.args("record_attach_target", { attachType });
    const target = kernelAttachTarget(name, attachType);
    this.attachKind = target.kind;
    const full = UTF8_ENCODER.encode(target.name);
    if (full.length >= ATTACH_TARGET_SZ) {
      this.attachTarget = UTF8_DECODER.decode(full.subarray(0, ATTACH_TARGET_SZ - 1));
      this.attachTargetBytes = full.subarray(0, ATTACH_TARGET_SZ - 1);
      this.fail(
        "GEN_ATTACH_NAME_TOO_LONG",
        `attach target '${target.name}' is ${full.length} bytes, at most ${ATTACH_TARGET_SZ - 1} fit`,
      );
    } else {
      this.attachTarget = target.name;
      this.attachTargetBytes = full;
    }
  }

  private emitFindAttachTarget(): void {
    const nameBytes = new Uint8Array(this.attachTargetBytes.length + 1);
    nameBytes.set(this.attachTargetBytes);
    const len = nameBytes.length;
    const name = this.addData(nameBytes);
    this.ldBlob(R1, name);
    this.emit(
      mov64Imm(R2, len),
      mov64Imm(R3, this.attachKind),
      mov64Imm(R4, 0),
      call(Helper.btf_find_by_name_kind),
      mov64Reg(R7, R0),
    );
    this.debugRet(`find_by_name_kind(${this.attachTarget},${this.attachKind})`);
    this.checkErr();
    // r7 = btf_id | btf_obj_fd << 32
  }

  /** bpf_gen__record_extern: a ksym or kfunc reference of the next program. */
  recordExtern(
    name: string,
    isWeak: boolean,
    isTypeless: boolean,
    isLd64: boolean,
    kind: number,
    insnIdx: number,
  ): void {
    this.args("record_extern", { kind, insnIdx });
    this.relos.push({ name, isWeak, isTypeless, isLd64, kind, insnIdx });
  }

  /** bpf_gen__record_relo_core: a CO-RE relocation the kernel applies to the next program. */
  recordReloCore(relo: CoreRelo): void {
    this.args("record_relo_core", { ...relo });
    this.coreRelos.push({ ...relo });
  }

  private ksymDesc(relo: ExternRelo): KsymDesc {
    for (const k of this.ksyms) {
      if (k.kind === relo.kind && k.isLd64 === relo.isLd64 && k.name === relo.name) {
        k.ref++;
        return k;
      }
    }
    const k: KsymDesc = {
      name: relo.name,
      kind: relo.kind,
      ref: 1,
      off: 0,
      typeless: false,
      insn: 0,
      isLd64: relo.isLd64,
    };
    this.ksyms.push(k);
    return k;
  }

  /** r7 = btf_find_by_name_kind(name, kind): btf_id | btf_obj_fd << 32 */
  private findByNameKind(relo: ExternRelo): void {
    const name = cStr(relo.name);
    const nameOff = this.addData(name);
    this.ldBlob(R1, nameOff);
    this.emit(
      mov64Imm(R2, name.length),
      mov64Imm(R3, relo.kind),
      mov64Imm(R4, 0),
      call(Helper.btf_find_by_name_kind),
      mov64Reg(R7, R0),
    );
    this.debugRet(`find_by_name_kind(${relo.name},${relo.kind})`);
  }

  /** r7 = kallsyms_lookup_name(name, len, 0, &res); r9 = res */
  private kallsymsLookupName(relo: ExternRelo): void {
    const name = cStr(relo.name);
    const nameOff = this.addData(name);
    const resOff = this.addData(null, 8);
    this.ldBlob(R1, nameOff);
    this.emit(mov64Imm(R2, name.length), mov64Imm(R3, 0));
    this.ldBlob(R4, resOff);
    this.emit(
      mov64Reg(R7, R4),
      call(Helper.kallsyms_lookup_name),
      ldxMem(Size.DW, R9, R7, 0),
      mov64Reg(R7, R0),
    );
    this.debugRet(`kallsyms_lookup_name(${relo.name},${relo.kind})`);
  }

  /** Allocate an fd_array slot for a kfunc's BTF fd (beyond 256 kfuncs: extra blob words). */
  private kfuncBtfFdSlot(): number {
    if (this.nrFdArray === MAX_KFUNC_DESCS) {
      const cur = this.addData(null, 4);
      return Math.trunc((cur - this.fdArray) / 4);
    }
    return MAX_USED_MAPS + this.nrFdArray++;
  }

  /** A kfunc call (r8 = the call insn): imm = BTF id, off = fd_array slot of its module BTF. */
  private reloKfunc(relo: ExternRelo, insn: number): void {
    const k = this.ksymDesc(relo);
    if (k.ref > 1) {
      this.blob2blob(insn + INSN_IMM, 4, k.insn + INSN_IMM);
      this.blob2blob(insn + INSN_OFF, 2, k.insn + INSN_OFF);
    } else {
      k.insn = insn;
      this.findByNameKind(relo);
      if (!relo.isWeak) this.checkErr();
      const idx = this.kfuncBtfFdSlot();
      if (idx > INT16_MAX) {
        this.fail(
          "GEN_KFUNC_FD_INDEX",
          `BTF fd index ${idx} for kfunc '${relo.name}' exceeds ${INT16_MAX}`,
        );
        return;
      }
      k.off = idx;
      this.emit(
        jmpImm(JmpOp.JSGE, R7, 0, 3),
        stMem(Size.W, R8, INSN_IMM, 0),
        stMem(Size.H, R8, INSN_OFF, 0),
        ja(10),
        stxMem(Size.W, R8, R7, INSN_IMM),
        mov64Reg(R9, R7),
        alu64Imm(AluOp.RSH, R9, 32),
      );
      this.ldBlob(R0, this.fdArrayOff(idx));
      this.emit(
        stxMem(Size.W, R0, R9, 0),
        jmpImm(JmpOp.JNE, R9, 0, 2),
        stMem(Size.H, R8, INSN_OFF, 0),
        ja(1),
        stMem(Size.H, R8, INSN_OFF, idx),
      );
    }
    if (!this.logLevel) return;
    this.emit(ldxMem(Size.W, R7, R8, INSN_IMM), ldxMem(Size.H, R9, R8, INSN_OFF));
    this.debug(R7, R9, ` func (${relo.name}:count=${k.ref}): imm: %d, off: %d`);
    this.ldBlob(R0, this.fdArrayOff(k.off));
    this.emit(ldxMem(Size.W, R9, R0, 0));
    this.debug(R9, -1, ` func (${relo.name}:count=${k.ref}): btf_fd`);
  }

  private ksymReloLog(relo: ExternRelo, ref: number): void {
    if (!this.logLevel) return;
    const t = relo.isTypeless ? 1 : 0;
    const w = relo.isWeak ? 1 : 0;
    this.emit(ldxMem(Size.W, R7, R8, INSN_IMM), ldxMem(Size.H, R9, R8, INSN_SZ + INSN_IMM));
    this.debug(R7, R9, ` var t=${t} w=${w} (${relo.name}:count=${ref}): imm[0]: %d, imm[1]: %d`);
    this.emit(ldxMem(Size.B, R9, R8, INSN_REGS));
    this.debug(R9, -1, ` var t=${t} w=${w} (${relo.name}:count=${ref}): insn.reg`);
  }

  /** A typeless ksym ld_imm64 (r8 = the insn): the symbol's address from kallsyms. */
  private reloKsymTypeless(relo: ExternRelo, insn: number): void {
    const k = this.ksymDesc(relo);
    if (k.ref > 1) {
      this.blob2blob(insn + INSN_IMM, 4, k.insn + INSN_IMM);
      this.blob2blob(insn + INSN_SZ + INSN_IMM, 4, k.insn + INSN_SZ + INSN_IMM);
    } else {
      k.insn = insn;
      k.typeless = true;
      this.kallsymsLookupName(relo);
      // a missing symbol (-ENOENT) leaves the address 0, weak or not
      this.emit(jmpImm(JmpOp.JEQ, R7, -Errno.ENOENT, 1));
      this.checkErr();
      this.emit(
        stxMem(Size.W, R8, R9, INSN_IMM),
        alu64Imm(AluOp.RSH, R9, 32),
        stxMem(Size.W, R8, R9, INSN_SZ + INSN_IMM),
      );
    }
    this.ksymReloLog(relo, k.ref);
  }

  /** A typed ksym ld_imm64 (r8 = the insn): BTF id and BTF object fd of the variable. */
  private reloKsymBtf(relo: ExternRelo, insn: number): void {
    const k = this.ksymDesc(relo);
    if (k.ref > 1) {
      this.blob2blob(insn + INSN_SZ + INSN_IMM, 4, k.insn + INSN_SZ + INSN_IMM);
      this.blob2blob(insn + INSN_IMM, 4, k.insn + INSN_IMM);
      // a zero BTF id (weak, not found): fall into the src_reg clearing below
      this.emit(jmpImm(JmpOp.JNE, R0, 0, 3));
    } else {
      k.insn = insn;
      this.findByNameKind(relo);
      if (!relo.isWeak) this.checkErr();
      this.emit(
        jmpImm(JmpOp.JSGE, R7, 0, 3),
        stMem(Size.W, R8, INSN_IMM, 0),
        stMem(Size.W, R8, INSN_SZ + INSN_IMM, 0),
        ja(4),
        stxMem(Size.W, R8, R7, INSN_IMM),
        alu64Imm(AluOp.RSH, R7, 32),
        stxMem(Size.W, R8, R7, INSN_SZ + INSN_IMM),
        ja(3),
      );
    }
    // not found: clear BPF_PSEUDO_BTF_ID from src_reg (keep dst_reg's nibble)
    const keepDst = this.swapped ? 0xf0 : 0x0f;
    this.emit(
      ldxMem(Size.B, R9, R8, INSN_REGS),
      alu32Imm(AluOp.AND, R9, keepDst),
      stxMem(Size.B, R8, R9, INSN_REGS),
    );
    this.ksymReloLog(relo, k.ref);
  }

  private emitRelos(insnsOff: number): void {
    for (const relo of this.relos) {
      const insn = (insnsOff + INSN_SZ * relo.insnIdx) | 0;
      this.ldBlob(R8, insn);
      if (relo.isLd64) {
        if (relo.isTypeless) this.reloKsymTypeless(relo, insn);
        else this.reloKsymBtf(relo, insn);
      } else {
        this.reloKfunc(relo, insn);
      }
    }
  }

  /** After PROG_LOAD, close the module BTF fds the relocations opened; forget the externs. */
  private cleanupRelos(): void {
    for (const k of this.ksyms) {
      if (k.isLd64 && !k.typeless) {
        this.sysCloseBlob(k.insn + INSN_SZ + INSN_IMM);
      } else if (!k.isLd64) {
        this.sysCloseBlob(this.fdArrayOff(k.off));
        if (k.off < MAX_FD_ARRAY_SZ) this.nrFdArray--;
      }
    }
    this.ksyms = [];
    this.relos = [];
    this.coreRelos = [];
  }

  /** bpf_gen__prog_load */
  progLoad(
    progType: number,
    name: string,
    license: string,
    insns: Uint8Array,
    attr: ProgLoadAttr,
    _progIdx: number,
  ): void {
    this.args("prog_load", {
      progType,
      expectedAttachType: attr.expectedAttachType,
      progFlags: attr.progFlags,
      progIfindex: attr.progIfindex,
      attachBtfId: attr.attachBtfId,
      funcInfoCnt: attr.funcInfoCnt,
      funcInfoRecSize: attr.funcInfoRecSize,
      lineInfoCnt: attr.lineInfoCnt,
      lineInfoRecSize: attr.lineInfoRecSize,
    });
    const L = ProgLoadLayout;
    const size = PROG_LOAD_ATTR_SZ;
    const insnCnt = Math.floor(insns.length / INSN_SZ);
    const funcInfoSz = attr.funcInfoCnt * attr.funcInfoRecSize;
    const lineInfoSz = attr.lineInfoCnt * attr.lineInfoRecSize;
    const coreReloCnt = this.coreRelos.length;

    const licenseOff = this.addData(cStr(license));
    const insnsOff = this.addData(insns, insnCnt * INSN_SZ);
    if (this.swapped && !this.err) bswapInsns(this.blob, insnsOff, insnCnt);

    const a = this.attr(size);
    this.put32(a.view, L.prog_type.off, progType);
    this.put32(a.view, L.expected_attach_type.off, attr.expectedAttachType);
    this.put32(a.view, L.attach_btf_id.off, attr.attachBtfId);
    this.put32(a.view, L.prog_ifindex.off, attr.progIfindex);
    this.put32(a.view, L.insn_cnt.off, insnCnt);
    this.put32(a.view, L.prog_flags.off, attr.progFlags);
    this.put32(a.view, L.func_info_rec_size.off, attr.funcInfoRecSize);
    this.put32(a.view, L.func_info_cnt.off, attr.funcInfoCnt);
    const funcInfo = this.addData(attr.funcInfo ?? new Uint8Array(0), funcInfoSz);
    this.put32(a.view, L.line_info_rec_size.off, attr.lineInfoRecSize);
    this.put32(a.view, L.line_info_cnt.off, attr.lineInfoCnt);
    const lineInfo = this.addData(attr.lineInfo ?? new Uint8Array(0), lineInfoSz);
    this.put32(a.view, L.core_relo_rec_size.off, CORE_RELO_SIZE);
    this.put32(a.view, L.core_relo_cnt.off, coreReloCnt);
    const coreRelos = this.addData(encodeCoreRelos(this.coreRelos));
    if (this.swapped && !this.err) {
      // libbpf swaps whole struct bpf_func_info / bpf_line_info records, whatever rec_size says
      bswap32InPlace(this.blob, funcInfo, (attr.funcInfoCnt * FUNC_INFO_SZ) / 4);
      bswap32InPlace(this.blob, lineInfo, (attr.lineInfoCnt * LINE_INFO_SZ) / 4);
      bswap32InPlace(this.blob, coreRelos, (coreReloCnt * CORE_RELO_SIZE) / 4);
    }
    const nameField = strlcpyBytes(name, Limits.OBJ_NAME_LEN);
    a.bytes.set(nameField, L.prog_name.off);
    const loadAttr = this.addData(a.bytes);

    this.relStore(loadAttr + L.license.off, licenseOff);
    this.relStore(loadAttr + L.insns.off, insnsOff);
    this.relStore(loadAttr + L.func_info.off, funcInfo);
    this.relStore(loadAttr + L.line_info.off, lineInfo);
    this.relStore(loadAttr + L.core_relos.off, coreRelos);
    this.relStore(loadAttr + L.fd_array.off, this.fdArray);
    this.ctx2blob(loadAttr + L.log_level.off, 4, LOADER_CTX_LOG_LEVEL, false);
    this.ctx2blob(loadAttr + L.log_size.off, 4, LOADER_CTX_LOG_SIZE, false);
    this.ctx2blob(loadAttr + L.log_buf.off, 8, LOADER_CTX_LOG_BUF, false);
    this.stack2blob(loadAttr + L.prog_btf_fd.off, 4, STACK_BTF_FD);
    if (this.attachKind) {
      this.emitFindAttachTarget();
      this.ldBlob(R0, loadAttr);
      this.emit(
        stxMem(Size.W, R0, R7, L.attach_btf_id.off),
        alu64Imm(AluOp.RSH, R7, 32),
        stxMem(Size.W, R0, R7, PROG_ATTACH_BTF_OBJ_FD),
      );
    }
    this.emitRelos(insnsOff);
    this.sysBpf(BpfCmd.PROG_LOAD, loadAttr, size);
    // libbpf prints the attr's (target byte order) insn_cnt and the truncated name
    this.debugRet(
      `prog_load ${fromCString(nameField)} insn_cnt ${a.view.getInt32(L.insn_cnt.off, true)}`,
    );
    this.cleanupRelos();
    if (this.attachKind) {
      this.sysCloseBlob(loadAttr + PROG_ATTACH_BTF_OBJ_FD);
      this.attachKind = 0;
    }
    this.checkErr();
    this.emit(stxMem(Size.W, R10, R7, stackProgFd(this.nrProgs)));
    this.nrProgs++;
  }

  /** bpf_gen__finish: the epilogue, then publish (or throw the latched error). */
  finish(nrProgs: number, nrMaps: number): void {
    this.args("finish", { nrProgs, nrMaps });
    if (nrProgs < this.nrProgs || nrMaps !== this.nrMaps) {
      this.fail(
        "GEN_COUNT_MISMATCH",
        `nr_progs ${nrProgs}/${this.nrProgs} nr_maps ${nrMaps}/${this.nrMaps} mismatch`,
      );
      throw this.err;
    }
    this.sysCloseStack(STACK_BTF_FD);
    for (let i = 0; i < this.nrProgs; i++) {
      this.stack2ctx(progDescOffset(this.nrMaps, i), 4, stackProgFd(i));
    }
    for (let i = 0; i < this.nrMaps; i++) {
      this.blob2ctx(mapDescOffset(i) + MAP_DESC_FD, 4, this.fdArrayOff(i));
    }
    this.emit(mov64Imm(R0, 0), exit());
    if (this.err) throw this.err;
    const insns = encodeInsns(this.code);
    if (this.swapped) bswapInsns(insns, 0, this.code.length);
    this.published = { insns, data: this.blob.slice(0, this.blobLen) };
  }
}
