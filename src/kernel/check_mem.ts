/**
 * Memory access checks (check_mem_access and what it calls): alignment, the stack (bounds,
 * slot types, spills and fills of registers), the ctx (per program type), map values and the
 * packet; and the helper-argument variants (check_helper_mem_access).
 */
import { Errno } from "../uapi/errno.js";
import { ctxAccessValid, mayWritePacket } from "./ctx_access.js";
import {
  coerceRegToSize,
  coerceRegToSizeSx,
  markRegConst,
  markRegKnownZero,
  markRegUnknown,
  regWidth,
} from "./reg_bounds.js";
import { tnumAdd, tnumConst, tnumIsAligned, tnumIsConst, tnumStr } from "./tnum.js";
import {
  BPF_REG_SIZE,
  baseType,
  type CheckEnv,
  curReg,
  type FuncState,
  isSpilledReg,
  MAX_BPF_STACK,
  RegState,
  RegType,
  regTypeStr,
  S64_MIN,
  Stack,
  type StackSlot,
  typeMayBeNull,
} from "./verifier_state.js";

export const BPF_MAX_VAR_OFF = 1 << 29;
export const BPF_MAX_VAR_SIZ = 1 << 29;

/** func(env, reg): the frame a stack pointer points into. */
export function frameOf(env: CheckEnv, reg: RegState): FuncState {
  return env.cur.frame[reg.frameno];
}

/** check_ptr_alignment(): only the stack is strict here (no BPF_F_STRICT_ALIGNMENT). */
function checkPtrAlignment(
  env: CheckEnv,
  reg: RegState,
  off: number,
  size: number,
  strictOnce: boolean,
): number {
  let desc = "";
  let strict = strictOnce;
  switch (reg.type) {
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META: {
      if (!strict || size === 1) return 0;
      const regOff = tnumAdd(reg.varOff, tnumConst(BigInt(2 + reg.off + off)));
      if (!tnumIsAligned(regOff, size)) {
        env.verbose(
          `misaligned packet access off 2+${tnumStr(reg.varOff)}+${reg.off}+${off} size ${size}\n`,
        );
        return -Errno.EACCES;
      }
      return 0;
    }
    case RegType.PTR_TO_MAP_VALUE:
      desc = "value ";
      break;
    case RegType.PTR_TO_CTX:
      desc = "context ";
      break;
    case RegType.PTR_TO_STACK:
      desc = "stack ";
      strict = true;
      break;
  }
  if (!strict || size === 1) return 0;
  const regOff = tnumAdd(reg.varOff, tnumConst(BigInt(reg.off + off)));
  if (!tnumIsAligned(regOff, size)) {
    env.verbose(
      `misaligned ${desc}access off ${tnumStr(reg.varOff)}+${reg.off}+${off} size ${size}\n`,
    );
    return -Errno.EACCES;
  }
  return 0;
}

/** __check_ptr_off_reg(): ctx and the like must be passed unmodified. */
export function checkPtrOffReg(
  env: CheckEnv,
  reg: RegState,
  regno: number,
  fixedOffOk = false,
): number {
  if (reg.off < 0) {
    env.verbose(
      `negative offset ${regTypeStr(reg.type)} ptr R${regno} off=${reg.off} disallowed\n`,
    );
    return -Errno.EACCES;
  }
  if (!fixedOffOk && reg.off) {
    env.verbose(
      `dereference of modified ${regTypeStr(reg.type)} ptr R${regno} off=${reg.off} disallowed\n`,
    );
    return -Errno.EACCES;
  }
  if (!tnumIsConst(reg.varOff) || reg.varOff.value) {
    env.verbose(
      `variable ${regTypeStr(reg.type)} access var_off=${tnumStr(reg.varOff)} disallowed\n`,
    );
    return -Errno.EACCES;
  }
  return 0;
}

/** __check_mem_access(): [off, off+size) within [0, memSize). */
function checkMemBounds(
  env: CheckEnv,
  regno: number,
  off: bigint,
  size: number,
  memSize: number,
  zeroOk: boolean,
): number {
  const sizeOk = size > 0 || (size === 0 && zeroOk);
  if (off >= 0n && sizeOk && off + BigInt(size) <= BigInt(memSize)) return 0;
  const reg = curReg(env, regno);
  const o = Number(BigInt.asIntN(32, off));
  switch (reg.type) {
    case RegType.PTR_TO_MAP_VALUE:
      env.verbose(`invalid access to map value, value_size=${memSize} off=${o} size=${size}\n`);
      break;
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
    case RegType.PTR_TO_PACKET_END:
      env.verbose(
        `invalid access to packet, off=${o} size=${size}, R${regno}(id=${reg.id},off=${o},r=${memSize})\n`,
      );
      break;
    default:
      env.verbose(`invalid access to memory, mem_size=${memSize} off=${o} size=${size}\n`);
  }
  return -Errno.EACCES;
}

/** check_mem_region_access(): the fixed and variable offsets of `regno` plus `off`. */
function checkMemRegionAccess(
  env: CheckEnv,
  regno: number,
  off: number,
  size: number,
  memSize: number,
  zeroOk: boolean,
): number {
  const reg = curReg(env, regno);
  const o = BigInt(off);
  if (
    reg.smin < 0n &&
    (reg.smin === S64_MIN || o + reg.smin !== BigInt.asIntN(32, o + reg.smin) || reg.smin + o < 0n)
  ) {
    env.verbose(
      `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.\n`,
    );
    return -Errno.EACCES;
  }
  let err = checkMemBounds(env, regno, reg.smin + o, size, memSize, zeroOk);
  if (err) {
    env.verbose(`R${regno} min value is outside of the allowed memory range\n`);
    return err;
  }
  if (reg.umax >= BigInt(BPF_MAX_VAR_OFF)) {
    env.verbose(`R${regno} unbounded memory access, make sure to bounds check any such access\n`);
    return -Errno.EACCES;
  }
  err = checkMemBounds(env, regno, reg.umax + o, size, memSize, zeroOk);
  if (err) {
    env.verbose(`R${regno} max value is outside of the allowed memory range\n`);
    return err;
  }
  return 0;
}

/** check_map_access_type(): BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG. */
function checkMapAccessType(
  env: CheckEnv,
  reg: RegState,
  off: number,
  size: number,
  write: boolean,
): number {
  const map = reg.map;
  if (!map) return 0;
  const RDONLY_PROG = 1 << 7;
  const WRONLY_PROG = 1 << 8;
  if (write && map.map_flags & RDONLY_PROG) {
    env.verbose(`write into map forbidden, value_size=${map.value_size} off=${off} size=${size}\n`);
    return -Errno.EACCES;
  }
  if (!write && map.map_flags & WRONLY_PROG) {
    env.verbose(`read from map forbidden, value_size=${map.value_size} off=${off} size=${size}\n`);
    return -Errno.EACCES;
  }
  return 0;
}

function checkMapAccess(
  env: CheckEnv,
  regno: number,
  off: number,
  size: number,
  zeroOk: boolean,
): number {
  const reg = curReg(env, regno);
  return checkMemRegionAccess(env, regno, off, size, reg.map?.value_size ?? 0, zeroOk);
}

/** check_packet_access() */
export function checkPacketAccess(
  env: CheckEnv,
  regno: number,
  off: number,
  size: number,
  zeroOk: boolean,
): number {
  const reg = curReg(env, regno);
  if (reg.smin < 0n) {
    env.verbose(
      `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.\n`,
    );
    return -Errno.EINVAL === 0 ? 0 : -Errno.EACCES;
  }
  const err =
    reg.range < 0
      ? -Errno.EINVAL
      : checkMemBounds(env, regno, BigInt(off), size, reg.range, zeroOk);
  if (err) {
    env.verbose(`R${regno} offset is outside of the packet\n`);
    return err;
  }
  env.maxPktOffset = Math.max(env.maxPktOffset, off + Number(reg.umax) + size - 1);
  return 0;
}

/** check_stack_access_within_bounds() */
function checkStackAccessWithinBounds(
  env: CheckEnv,
  regno: number,
  off: number,
  size: number,
  write: boolean,
): number {
  const reg = curReg(env, regno);
  const state = frameOf(env, reg);
  const extra = write ? " write to" : " read from";
  let minOff: bigint;
  let maxOff: bigint;
  if (tnumIsConst(reg.varOff)) {
    minOff = BigInt.asIntN(64, reg.varOff.value) + BigInt(off);
    maxOff = minOff + BigInt(size);
  } else {
    if (reg.smax >= BigInt(BPF_MAX_VAR_OFF) || reg.smin <= -BigInt(BPF_MAX_VAR_OFF)) {
      env.verbose(`invalid unbounded variable-offset${extra} stack R${regno}\n`);
      return -Errno.EACCES;
    }
    minOff = reg.smin + BigInt(off);
    maxOff = reg.smax + BigInt(off) + BigInt(size);
  }
  // allow_uninit_stack (CAP_PERFMON): reads may reach below the allocated stack too
  let err = minOff < -BigInt(MAX_BPF_STACK) || minOff > -1n ? -Errno.EACCES : 0;
  if (!err && maxOff > 0n) err = -Errno.EINVAL;
  if (err) {
    if (tnumIsConst(reg.varOff)) {
      env.verbose(`invalid${extra} stack R${regno} off=${off} size=${size}\n`);
    } else {
      env.verbose(
        `invalid variable-offset${extra} stack R${regno} var_off=${tnumStr(reg.varOff)} off=${off} size=${size}\n`,
      );
    }
    return err;
  }
  state.growStack(Number(-minOff));
  return 0;
}

const slotIndex = (off: number) => Math.floor((-off - 1) / BPF_REG_SIZE);

function slotOf(state: FuncState, off: number): { spi: number; k: number; slot: StackSlot } {
  const slot = -off - 1;
  const spi = Math.floor(slot / BPF_REG_SIZE);
  state.growStack((spi + 1) * BPF_REG_SIZE);
  return { spi, k: slot % BPF_REG_SIZE, slot: state.stack[spi] };
}

function scrubSpilledSlot(s: StackSlot, k: number): void {
  if (s.slotType[k] !== Stack.INVALID) s.slotType[k] = Stack.MISC;
}

/** save_register_state(): a spill of `reg` (size bytes) into slot spi. */
function saveRegisterState(s: StackSlot, reg: RegState, size: number): void {
  s.spilled = reg.clone();
  let i = BPF_REG_SIZE;
  for (; i > BPF_REG_SIZE - size; i--) s.slotType[i - 1] = Stack.SPILL;
  for (; i; i--) {
    const t = s.slotType[i - 1];
    if (t === Stack.ZERO || t === Stack.INVALID) continue;
    s.slotType[i - 1] = Stack.MISC;
  }
}

function isSpillableRegtype(t: number): boolean {
  switch (baseType(t)) {
    case RegType.PTR_TO_MAP_VALUE:
    case RegType.PTR_TO_STACK:
    case RegType.PTR_TO_CTX:
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
    case RegType.PTR_TO_PACKET_END:
    case RegType.PTR_TO_FLOW_KEYS:
    case RegType.CONST_PTR_TO_MAP:
    case RegType.PTR_TO_SOCKET:
    case RegType.PTR_TO_SOCK_COMMON:
    case RegType.PTR_TO_TCP_SOCK:
    case RegType.PTR_TO_XDP_SOCK:
    case RegType.PTR_TO_BTF_ID:
    case RegType.PTR_TO_BUF:
    case RegType.PTR_TO_MEM:
    case RegType.PTR_TO_FUNC:
    case RegType.PTR_TO_MAP_KEY:
    case RegType.PTR_TO_ARENA:
      return true;
  }
  return false;
}

/** assign_scalar_id_before_mov() */
export function assignScalarIdBeforeMov(env: CheckEnv, r: RegState): void {
  if (r.type === RegType.SCALAR_VALUE && !r.id && !tnumIsConst(r.varOff)) r.id = ++env.idGen;
}

const registerIsNull = (r: RegState) =>
  r.type === RegType.SCALAR_VALUE && tnumIsConst(r.varOff) && r.varOff.value === 0n;

/** check_stack_write_fixed_off() */
function checkStackWriteFixedOff(
  env: CheckEnv,
  state: FuncState,
  off: number,
  size: number,
  valueRegno: number,
  stImm: number | null,
): number {
  const { spi, slot: s } = slotOf(state, off);
  const slot = -off - 1;
  const cur = env.cur.cur;
  env.scratchStack(spi);
  if (size === BPF_REG_SIZE && off % BPF_REG_SIZE === 0) env.noteStackDef(state.frameno, spi);
  const reg = valueRegno >= 0 ? cur.regs[valueRegno] : null;
  if (reg && off % BPF_REG_SIZE === 0 && reg.type === RegType.SCALAR_VALUE) {
    const fits = regWidth(reg) <= 8 * size;
    if (fits) assignScalarIdBeforeMov(env, reg);
    saveRegisterState(s, reg, size);
    if (!fits) s.spilled.id = 0;
    if (state === cur) env.noteStackAccess(spi);
  } else if (!reg && off % BPF_REG_SIZE === 0 && stImm !== null) {
    const tmp = new RegState();
    markRegConst(tmp, BigInt(stImm));
    saveRegisterState(s, tmp, size);
    if (state === cur) env.noteStackAccess(spi);
  } else if (reg && isSpillableRegtype(reg.type)) {
    if (size !== BPF_REG_SIZE) {
      env.verbose("invalid size of register spill\n");
      return -Errno.EACCES;
    }
    if (state !== cur && reg.type === RegType.PTR_TO_STACK) {
      env.verbose("cannot spill pointers to stack into stack frame of the caller\n");
      return -Errno.EINVAL;
    }
    saveRegisterState(s, reg, size);
    if (state === cur) env.noteStackAccess(spi);
  } else {
    let type: number = Stack.MISC;
    s.spilled = new RegState();
    if (isSpilledReg(s)) for (let i = 0; i < BPF_REG_SIZE; i++) scrubSpilledSlot(s, i);
    if ((reg && registerIsNull(reg)) || (!reg && stImm === 0)) type = Stack.ZERO;
    for (let i = 0; i < size; i++) s.slotType[(slot - i) % BPF_REG_SIZE] = type;
  }
  return 0;
}

/** check_stack_write_var_off() */
function checkStackWriteVarOff(
  env: CheckEnv,
  state: FuncState,
  ptrRegno: number,
  off: number,
  size: number,
  valueRegno: number,
  stImm: number | null,
): number {
  const ptr = curReg(env, ptrRegno);
  const minOff = Number(ptr.smin) + off;
  const maxOff = Number(ptr.smax) + off + size;
  const value = valueRegno >= 0 ? curReg(env, valueRegno) : null;
  const writingZero = (value && registerIsNull(value)) || (!value && stImm === 0);
  for (let i = minOff; i < maxOff; i++) {
    const { slot: s, k, spi } = slotOf(state, i);
    env.scratchStack(spi);
    s.spilled = new RegState();
    let t: number = Stack.MISC;
    if (writingZero && s.slotType[k] === Stack.ZERO) t = Stack.ZERO;
    s.slotType[k] = t;
  }
  return 0;
}

/** mark_reg_stack_read(): all-zero bytes give a known zero, anything else an unknown scalar. */
function markRegStackRead(
  env: CheckEnv,
  state: FuncState,
  minOff: number,
  maxOff: number,
  dst: number,
): void {
  for (let i = minOff; i < maxOff; i++) env.noteStackUse(state.frameno, slotIndex(i));
  let zeros = 0;
  for (let i = minOff; i < maxOff; i++) {
    const { slot: s, k } = slotOf(state, i);
    if (s.slotType[k] !== Stack.ZERO) break;
    zeros++;
  }
  const r = env.cur.cur.regs[dst];
  if (zeros === maxOff - minOff) markRegConst(r, 0n);
  else markRegUnknown(r);
}

/** check_stack_read_fixed_off() */
function checkStackReadFixedOff(
  env: CheckEnv,
  state: FuncState,
  off: number,
  size: number,
  dst: number,
): number {
  const { slot: s } = slotOf(state, off);
  for (let i = off; i < off + size; i++) env.noteStackUse(state.frameno, slotIndex(i));
  const slot = -off - 1;
  const stype = s.slotType;
  const regs = env.cur.cur.regs;
  if (isSpilledReg(s)) {
    let spillSize = 1;
    for (let i = BPF_REG_SIZE - 1; i > 0 && stype[i - 1] === Stack.SPILL; i--) spillSize++;
    const reg = s.spilled;
    if (size !== BPF_REG_SIZE || spillSize !== BPF_REG_SIZE) {
      if (reg.type !== RegType.SCALAR_VALUE) {
        env.verbose("invalid size of register fill\n");
        return -Errno.EACCES;
      }
      if (dst < 0) return 0;
      // bpf_stack_narrow_access_ok(): the low bytes of the spill (little endian)
      const narrowOk = off % BPF_REG_SIZE === 0;
      if (size <= spillSize && narrowOk) {
        regs[dst].copyFrom(reg);
        regs[dst].precise = false;
        if (regWidth(reg) > size * 8) regs[dst].id = 0;
        if (state === env.cur.cur) env.noteStackAccess(slotIndex(off));
      } else {
        let spillCnt = 0;
        let zeroCnt = 0;
        for (let i = 0; i < size; i++) {
          const t = stype[(slot - i) % BPF_REG_SIZE];
          if (t === Stack.SPILL) {
            spillCnt++;
            continue;
          }
          if (t === Stack.MISC || t === Stack.INVALID) continue;
          if (t === Stack.ZERO) {
            zeroCnt++;
            continue;
          }
          env.verbose(`invalid read from stack off ${off}+${i} size ${size}\n`);
          return -Errno.EACCES;
        }
        if (spillCnt === size && tnumIsConst(reg.varOff) && reg.varOff.value === 0n)
          markRegConst(regs[dst], 0n);
        else if (zeroCnt === size) markRegConst(regs[dst], 0n);
        else markRegUnknown(regs[dst]);
      }
    } else if (dst >= 0) {
      regs[dst].copyFrom(reg);
      regs[dst].precise = false;
      if (state === env.cur.cur) env.noteStackAccess(slotIndex(off));
    }
    return 0;
  }
  for (let i = 0; i < size; i++) {
    const t = stype[(slot - i) % BPF_REG_SIZE];
    if (t === Stack.MISC || t === Stack.ZERO || t === Stack.INVALID) continue;
    env.verbose(`invalid read from stack off ${off}+${i} size ${size}\n`);
    return -Errno.EACCES;
  }
  if (dst >= 0) markRegStackRead(env, state, off, off + size, dst);
  return 0;
}

/**
 * check_stack_range_initialized(): `access_size` bytes from the stack pointer `regno` + off
 * for a helper. Returns 0 or -errno; a write (clobber) turns the bytes into MISC.
 */
export function checkStackRangeInitialized(
  env: CheckEnv,
  regno: number,
  off: number,
  accessSize: number,
  zeroOk: boolean,
  write: boolean,
  rawMode: { on: boolean; regno: number; size: number } | null,
): number {
  const reg = curReg(env, regno);
  const state = frameOf(env, reg);
  let err = checkStackAccessWithinBounds(env, regno, off, accessSize, write);
  if (err) return err;
  let minOff: number;
  let maxOff: number;
  let raw = rawMode;
  if (tnumIsConst(reg.varOff)) {
    minOff = maxOff = Number(BigInt.asIntN(64, reg.varOff.value)) + off;
  } else {
    if (raw?.on) raw = null;
    minOff = Number(reg.smin) + off;
    maxOff = Number(reg.smax) + off;
  }
  if (raw?.on) {
    raw.regno = regno;
    raw.size = accessSize;
    return 0;
  }
  void zeroOk;
  for (let i = minOff; i < maxOff + accessSize; i++) {
    if (!write) env.noteStackUse(state.frameno, slotIndex(i));
    const slot = -i - 1;
    const spi = Math.floor(slot / BPF_REG_SIZE);
    if (state.allocatedStack <= slot) {
      env.verbose("allocated_stack too small\n");
      return -Errno.EFAULT;
    }
    const s = state.stack[spi];
    const k = slot % BPF_REG_SIZE;
    const t = s.slotType[k];
    if (t === Stack.MISC) continue;
    if (t === Stack.ZERO || t === Stack.INVALID) {
      if (write) s.slotType[k] = Stack.MISC;
      continue;
    }
    if (isSpilledReg(s)) {
      if (write) {
        markRegUnknown(s.spilled);
        for (let j = 0; j < BPF_REG_SIZE; j++) scrubSpilledSlot(s, j);
      }
      continue;
    }
    if (tnumIsConst(reg.varOff)) {
      env.verbose(
        `invalid read from stack R${regno} off ${minOff}+${i - minOff} size ${accessSize}\n`,
      );
    } else {
      env.verbose(
        `invalid read from stack R${regno} var_off ${tnumStr(reg.varOff)}+${i - minOff} size ${accessSize}\n`,
      );
    }
    err = -Errno.EACCES;
    return err;
  }
  return 0;
}

/** check_stack_read() */
function checkStackRead(
  env: CheckEnv,
  ptrRegno: number,
  off: number,
  size: number,
  dst: number,
): number {
  const reg = curReg(env, ptrRegno);
  const state = frameOf(env, reg);
  const varOff = !tnumIsConst(reg.varOff);
  if (dst < 0 && varOff) {
    env.verbose(
      `variable offset stack pointer cannot be passed into helper function; var_off=${tnumStr(reg.varOff)} off=${off} size=${size}\n`,
    );
    return -Errno.EACCES;
  }
  if (!varOff)
    return checkStackReadFixedOff(
      env,
      state,
      off + Number(BigInt.asIntN(64, reg.varOff.value)),
      size,
      dst,
    );
  const err = checkStackRangeInitialized(env, ptrRegno, off, size, false, false, null);
  if (err) return err;
  const minOff = Number(reg.smin) + off;
  const maxOff = Number(reg.smax) + off;
  markRegStackRead(env, state, minOff, maxOff + size, dst);
  return 0;
}

/** check_stack_write() */
function checkStackWrite(
  env: CheckEnv,
  ptrRegno: number,
  off: number,
  size: number,
  valueRegno: number,
  stImm: number | null,
): number {
  const reg = curReg(env, ptrRegno);
  const state = frameOf(env, reg);
  if (tnumIsConst(reg.varOff)) {
    return checkStackWriteFixedOff(
      env,
      state,
      off + Number(BigInt.asIntN(64, reg.varOff.value)),
      size,
      valueRegno,
      stImm,
    );
  }
  return checkStackWriteVarOff(env, state, ptrRegno, off, size, valueRegno, stImm);
}

/**
 * check_mem_access(): a load (valueRegno = destination, or -1) or store (valueRegno = the
 * stored register, or -1 for BPF_ST with `stImm`) of `size` bytes at regno + off.
 */
export function checkMemAccess(
  env: CheckEnv,
  regno: number,
  offIn: number,
  size: number,
  write: boolean,
  valueRegno: number,
  isLdsx: boolean,
  stImm: number | null = null,
  strictOnce = false,
): number {
  const regs = env.cur.cur.regs;
  const reg = regs[regno];
  let err = checkPtrAlignment(env, reg, offIn, size, strictOnce);
  if (err) return err;
  const off = offIn + reg.off;
  const readInto = !write && valueRegno >= 0;
  switch (reg.type) {
    case RegType.PTR_TO_MAP_VALUE: {
      err = checkMapAccessType(env, reg, off, size, write);
      if (err) return err;
      err = checkMapAccess(env, regno, off, size, false);
      if (err) return err;
      if (readInto) {
        const map = reg.map;
        const rdonly = map && map.map_flags & (1 << 7) && map.frozen;
        if (rdonly && tnumIsConst(reg.varOff) && map.hasDirectValue) {
          const at = off + Number(reg.varOff.value);
          const v = map.directValue(0);
          if (typeof v !== "number" && at + size <= v.length) {
            let x = 0n;
            for (let i = size - 1; i >= 0; i--) x = (x << 8n) | BigInt(v[at + i]);
            markRegConst(regs[valueRegno], x);
          } else markRegUnknown(regs[valueRegno]);
        } else markRegUnknown(regs[valueRegno]);
      }
      break;
    }
    case RegType.PTR_TO_CTX: {
      err = checkPtrOffReg(env, reg, regno);
      if (err) return err;
      const info = ctxAccessValid(env.progType, off, size, write, isLdsx);
      if (!info) {
        env.verbose(`invalid bpf_context access off=${off} size=${size}\n`);
        return -Errno.EACCES;
      }
      env.maxCtxOffset = Math.max(env.maxCtxOffset, off + size);
      if (readInto) {
        const dst = regs[valueRegno];
        if (info.regType === RegType.SCALAR_VALUE) markRegUnknown(dst);
        else {
          markRegKnownZero(dst);
          if (typeMayBeNull(info.regType)) dst.id = ++env.idGen;
          dst.type = info.regType;
        }
      }
      break;
    }
    case RegType.PTR_TO_STACK:
      err = checkStackAccessWithinBounds(env, regno, off, size, write);
      if (err) return err;
      err = write
        ? checkStackWrite(env, regno, off, size, valueRegno, valueRegno < 0 ? stImm : null)
        : checkStackRead(env, regno, off, size, valueRegno);
      if (err) return err;
      break;
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
      if (write && !mayWritePacket(env.progType)) {
        env.verbose("cannot write into packet\n");
        return -Errno.EACCES;
      }
      err = checkPacketAccess(env, regno, off, size, false);
      if (err) return err;
      if (readInto) markRegUnknown(regs[valueRegno]);
      break;
    case RegType.CONST_PTR_TO_MAP:
      if (write) {
        env.verbose("only read from bpf_array is supported\n");
        return -Errno.EACCES;
      }
      env.verbose(`R${regno} invalid mem access '${regTypeStr(reg.type)}'\n`);
      return -Errno.EACCES;
    default:
      env.verbose(`R${regno} invalid mem access '${regTypeStr(reg.type)}'\n`);
      return -Errno.EACCES;
  }
  if (size < BPF_REG_SIZE && readInto && regs[valueRegno].type === RegType.SCALAR_VALUE) {
    if (!isLdsx) coerceRegToSize(regs[valueRegno], size);
    else coerceRegToSizeSx(regs[valueRegno], size);
  }
  return 0;
}

/**
 * check_helper_mem_access(): `accessSize` bytes at register `regno` for a helper argument.
 */
export function checkHelperMemAccess(
  env: CheckEnv,
  regno: number,
  accessSize: number,
  write: boolean,
  zeroOk: boolean,
  raw: { on: boolean; regno: number; size: number } | null,
): number {
  const reg = curReg(env, regno);
  switch (baseType(reg.type)) {
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
      return checkPacketAccess(env, regno, reg.off, accessSize, zeroOk);
    case RegType.PTR_TO_MAP_VALUE:
      if (checkMapAccessType(env, reg, reg.off, accessSize, write)) return -Errno.EACCES;
      return checkMemRegionAccess(
        env,
        regno,
        reg.off,
        accessSize,
        reg.map?.value_size ?? 0,
        zeroOk,
      );
    case RegType.PTR_TO_STACK:
      return checkStackRangeInitialized(env, regno, reg.off, accessSize, zeroOk, write, raw);
    default:
      if (zeroOk && accessSize === 0 && registerIsNull(reg)) return 0;
      env.verbose(
        `R${regno} type=${regTypeStr(reg.type)} expected=${regTypeStr(RegType.PTR_TO_STACK)}\n`,
      );
      return -Errno.EACCES;
  }
}
