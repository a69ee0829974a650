/**
 * Helper prototypes (struct bpf_func_proto) for the helpers the model offers, and
 * check_helper_call(): argument types and memory, the map a call names, and the state after
 * the call (caller-saved registers cleared, R0 set from the return type).
 */

import { MapType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import {
  BPF_MAX_VAR_SIZ,
  checkHelperMemAccess,
  checkMemAccess,
  checkPtrOffReg,
  frameOf,
} from "./check_mem.js";
import { helperName } from "./helpers.js";
import { type BpfMap, NR_CPUS } from "./map.js";
import { markRegKnownZero, markRegNotInit, markRegUnknown } from "./reg_bounds.js";
import { tnumIsConst } from "./tnum.js";
import {
  BPF_REG_SIZE,
  baseType,
  type CheckEnv,
  curReg,
  isSpilledScalarReg,
  MEM_RINGBUF,
  PTR_MAYBE_NULL,
  PTR_TRUSTED,
  RegType,
  regTypeStr,
  Stack,
} from "./verifier_state.js";

/** enum bpf_arg_type, base kinds. */
export const Arg = {
  DONTCARE: 0,
  CONST_MAP_PTR: 1,
  PTR_TO_MAP_KEY: 2,
  PTR_TO_MAP_VALUE: 3,
  PTR_TO_MEM: 4,
  CONST_SIZE: 5,
  CONST_SIZE_OR_ZERO: 6,
  PTR_TO_CTX: 7,
  ANYTHING: 8,
} as const;
/** Argument flags. */
export const ArgFlag = {
  RDONLY: 1 << 8,
  UNINIT: 1 << 9,
  WRITE: 1 << 10,
  FIXED_SIZE: 1 << 11,
  ALIGNED: 1 << 12,
};
const UNINIT_MEM = Arg.PTR_TO_MEM | ArgFlag.UNINIT | ArgFlag.WRITE;
const RDONLY_MEM = Arg.PTR_TO_MEM | ArgFlag.RDONLY;

export const Ret = { INTEGER: 0, VOID: 1, PTR_TO_MAP_VALUE_OR_NULL: 2 } as const;

export interface FuncProto {
  readonly ret: number;
  readonly args: readonly number[];
  readonly gplOnly?: boolean;
  readonly mightSleep?: boolean;
  /** MEM_FIXED_SIZE argument sizes, by argument index. */
  readonly argSize?: Readonly<Record<number, number>>;
}

const I = Ret.INTEGER;
const A = Arg.ANYTHING;

/** The prototypes of the helpers in MODEL_HELPER_IDS (helpers.ts). */
export const HELPER_PROTOS: Readonly<Record<number, FuncProto>> = {
  1: { ret: Ret.PTR_TO_MAP_VALUE_OR_NULL, args: [Arg.CONST_MAP_PTR, Arg.PTR_TO_MAP_KEY] },
  2: { ret: I, args: [Arg.CONST_MAP_PTR, Arg.PTR_TO_MAP_KEY, Arg.PTR_TO_MAP_VALUE, A] },
  3: { ret: I, args: [Arg.CONST_MAP_PTR, Arg.PTR_TO_MAP_KEY] },
  5: { ret: I, args: [] },
  6: { ret: I, args: [RDONLY_MEM, Arg.CONST_SIZE], gplOnly: true },
  7: { ret: I, args: [] },
  8: { ret: I, args: [] },
  14: { ret: I, args: [] },
  15: { ret: I, args: [] },
  16: { ret: I, args: [UNINIT_MEM, Arg.CONST_SIZE] },
  26: { ret: I, args: [Arg.PTR_TO_CTX, A, UNINIT_MEM, Arg.CONST_SIZE] },
  42: { ret: I, args: [] },
  112: { ret: I, args: [UNINIT_MEM, Arg.CONST_SIZE_OR_ZERO, A], gplOnly: true },
  113: { ret: I, args: [UNINIT_MEM, Arg.CONST_SIZE_OR_ZERO, A], gplOnly: true },
  114: { ret: I, args: [UNINIT_MEM, Arg.CONST_SIZE_OR_ZERO, A], gplOnly: true },
  115: { ret: I, args: [UNINIT_MEM, Arg.CONST_SIZE_OR_ZERO, A], gplOnly: true },
  125: { ret: I, args: [] },
  // bpf_ringbuf_output / bpf_ringbuf_query (reserve/submit/discard need reference tracking)
  130: { ret: I, args: [Arg.CONST_MAP_PTR, RDONLY_MEM, Arg.CONST_SIZE_OR_ZERO, A] },
  134: { ret: I, args: [Arg.CONST_MAP_PTR, A] },
  148: { ret: I, args: [UNINIT_MEM, Arg.CONST_SIZE_OR_ZERO, A], mightSleep: true },
  166: { ret: I, args: [A, RDONLY_MEM, Arg.CONST_SIZE] },
  167: { ret: I, args: [RDONLY_MEM, Arg.CONST_SIZE, A, A] },
  168: { ret: I, args: [A] },
  179: {
    ret: I,
    args: [
      RDONLY_MEM,
      Arg.CONST_SIZE_OR_ZERO,
      A,
      Arg.PTR_TO_MEM | ArgFlag.UNINIT | ArgFlag.WRITE | ArgFlag.FIXED_SIZE | ArgFlag.ALIGNED,
    ],
    argSize: { 3: 8 },
  },
};

/** The register types an argument kind accepts (compatible_reg_types). */
const MEM_TYPES = [
  RegType.PTR_TO_STACK,
  RegType.PTR_TO_PACKET,
  RegType.PTR_TO_PACKET_META,
  RegType.PTR_TO_MAP_KEY,
  RegType.PTR_TO_MAP_VALUE,
  RegType.PTR_TO_MEM,
  RegType.PTR_TO_MEM | MEM_RINGBUF,
  RegType.PTR_TO_BUF,
  RegType.PTR_TO_BTF_ID | PTR_TRUSTED,
];

function compatibleTypes(argBase: number): number[] {
  switch (argBase) {
    case Arg.PTR_TO_MAP_KEY:
    case Arg.PTR_TO_MAP_VALUE:
    case Arg.PTR_TO_MEM:
      return MEM_TYPES;
    case Arg.CONST_MAP_PTR:
      return [RegType.CONST_PTR_TO_MAP];
    case Arg.PTR_TO_CTX:
      return [RegType.PTR_TO_CTX];
    default:
      return [RegType.SCALAR_VALUE];
  }
}

interface CallMeta {
  map: BpfMap | null;
  raw: { on: boolean; regno: number; size: number };
  constMapKey: bigint;
  msizeMaxValue: bigint;
}

const registerIsNull = (r: ReturnType<typeof curReg>) =>
  r.type === RegType.SCALAR_VALUE && tnumIsConst(r.varOff) && r.varOff.value === 0n;

/** get_constant_map_key(): the key of an array lookup when it is a known constant on the stack. */
function constantMapKey(env: CheckEnv, regno: number, keySize: number): bigint {
  const key = curReg(env, regno);
  if (key.type !== RegType.PTR_TO_STACK || !tnumIsConst(key.varOff)) return -1n;
  const state = frameOf(env, key);
  const stackOff = key.off + Number(BigInt.asIntN(64, key.varOff.value));
  const slot = -stackOff - 1;
  const spi = Math.floor(slot / BPF_REG_SIZE);
  const off = slot % BPF_REG_SIZE;
  const s = state.stack[spi];
  if (!s) return -1n;
  env.noteStackUse(state.frameno, spi);
  let zero = 0;
  for (let i = off; i >= 0 && s.slotType[i] === Stack.ZERO; i--) zero++;
  if (zero >= keySize) return 0n;
  if (!isSpilledScalarReg(s)) return -1n;
  let spill = 0;
  for (let i = off; i >= 0 && s.slotType[i] === Stack.SPILL; i--) spill++;
  if (spill !== keySize) return -1n;
  if (!tnumIsConst(s.spilled.varOff)) return -1n;
  if (key.frameno === env.cur.curframe) env.markPrecise(0, [spi]);
  return s.spilled.varOff.value;
}

/** check_mem_size_reg(): a size argument bounds the memory argument before it. */
function checkMemSizeReg(
  env: CheckEnv,
  regno: number,
  write: boolean,
  zeroOk: boolean,
  meta: CallMeta,
): number {
  const reg = curReg(env, regno);
  meta.msizeMaxValue = reg.umax;
  const raw = tnumIsConst(reg.varOff) ? meta.raw : null;
  if (reg.smin < 0n) {
    env.verbose(`R${regno} min value is negative, either use unsigned or 'var &= const'\n`);
    return -Errno.EACCES;
  }
  if (reg.umin === 0n && !zeroOk) {
    env.verbose(`R${regno} invalid zero-sized read: u64=[${reg.umin},${reg.umax}]\n`);
    return -Errno.EACCES;
  }
  if (reg.umax >= BigInt(BPF_MAX_VAR_SIZ)) {
    env.verbose(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'\n`);
    return -Errno.EACCES;
  }
  const err = checkHelperMemAccess(env, regno - 1, Number(reg.umax), write, zeroOk, raw);
  if (!err) env.markPrecise(1 << regno, []);
  return err;
}

/** check_func_arg() for argument `arg` (register arg+1). */
function checkFuncArg(env: CheckEnv, arg: number, fn: FuncProto, meta: CallMeta): number {
  const argType = fn.args[arg] ?? Arg.DONTCARE;
  const regno = arg + 1;
  if (argType === Arg.DONTCARE) return 0;
  const reg = curReg(env, regno);
  if (reg.type === 0) {
    env.verbose(`R${regno} !read_ok\n`);
    return -Errno.EACCES;
  }
  if (argType === Arg.ANYTHING) return 0;
  const base = argType & 0xff;
  const mayBeNull = false;
  if (!(registerIsNull(reg) && mayBeNull)) {
    const types = compatibleTypes(base);
    if (!types.includes(reg.type)) {
      env.verbose(
        `R${regno} type=${regTypeStr(reg.type)} expected=${types.map(regTypeStr).join(", ")}\n`,
      );
      return -Errno.EACCES;
    }
    // check_func_arg_reg_off()
    switch (baseType(reg.type)) {
      case RegType.PTR_TO_STACK:
      case RegType.PTR_TO_PACKET:
      case RegType.PTR_TO_PACKET_META:
      case RegType.PTR_TO_MAP_KEY:
      case RegType.PTR_TO_MAP_VALUE:
      case RegType.PTR_TO_MEM:
      case RegType.PTR_TO_BUF:
      case RegType.SCALAR_VALUE:
        break;
      default: {
        const err = checkPtrOffReg(env, reg, regno);
        if (err) return err;
      }
    }
  }
  const write = (argType & ArgFlag.WRITE) !== 0;
  switch (base) {
    case Arg.CONST_MAP_PTR:
      meta.map = reg.map;
      break;
    case Arg.PTR_TO_MAP_KEY: {
      if (!meta.map) {
        env.verbose("invalid map_ptr to access map->key\n");
        return -Errno.EACCES;
      }
      const err = checkHelperMemAccess(env, regno, meta.map.key_size, false, false, null);
      if (err) return err;
      const t = meta.map.map_type;
      if (t === MapType.ARRAY || t === MapType.PERCPU_ARRAY) {
        meta.constMapKey = constantMapKey(env, regno, meta.map.key_size);
      }
      break;
    }
    case Arg.PTR_TO_MAP_VALUE:
      if (!meta.map) {
        env.verbose("invalid map_ptr to access map->value\n");
        return -Errno.EACCES;
      }
      return checkHelperMemAccess(env, regno, meta.map.value_size, write, false, null);
    case Arg.PTR_TO_MEM:
      meta.raw.on = (argType & ArgFlag.UNINIT) !== 0;
      if (argType & ArgFlag.FIXED_SIZE) {
        const size = fn.argSize?.[arg] ?? 0;
        const err = checkHelperMemAccess(env, regno, size, write, false, meta.raw);
        if (err) return err;
        if (argType & ArgFlag.ALIGNED) {
          const r = curReg(env, regno);
          const total = BigInt(r.off) + r.varOff.value;
          if (!tnumIsConst(r.varOff) || total % BigInt(size) !== 0n) {
            // check_ptr_alignment(strict): only the stack needs it in practice
            if (r.type === RegType.PTR_TO_STACK) {
              env.verbose(
                `misaligned stack access off ${r.varOff.value}+${r.off}+0 size ${size}\n`,
              );
              return -Errno.EACCES;
            }
          }
        }
      }
      break;
    case Arg.CONST_SIZE:
    case Arg.CONST_SIZE_OR_ZERO: {
      const prev = fn.args[arg - 1] ?? 0;
      return checkMemSizeReg(
        env,
        regno,
        (prev & ArgFlag.WRITE) !== 0,
        base === Arg.CONST_SIZE_OR_ZERO,
        meta,
      );
    }
  }
  return 0;
}

/**
 * check_map_func_compatibility(), the map side, for the map types whose helpers are limited: an
 * outer map (ARRAY_OF_MAPS / HASH_OF_MAPS) is only ever looked up, never updated or deleted
 * from a program.
 */
function checkMapFuncCompatibility(env: CheckEnv, map: BpfMap | null, id: number): number {
  if (!map) return 0;
  switch (map.map_type) {
    case MapType.ARRAY_OF_MAPS:
    case MapType.HASH_OF_MAPS:
      if (id === BPF_FUNC_map_lookup_elem) return 0;
      break;
    default:
      return 0;
  }
  env.verbose(`cannot pass map_type ${map.map_type} into func ${helperName(id)}#${id}\n`);
  return -Errno.EINVAL;
}

const BPF_FUNC_map_lookup_elem = 1;

/** check_helper_call(): 0 or -errno; on success R0..R5 hold the call's result state. */
export function checkHelperCall(env: CheckEnv, id: number, fn: FuncProto | undefined): number {
  if (!fn) {
    env.verbose(`program of this type cannot use helper ${helperName(id)}#${id}\n`);
    return -Errno.EINVAL;
  }
  if (!env.gplCompatible && fn.gplOnly) {
    env.verbose("cannot call GPL-restricted function from non-GPL compatible program\n");
    return -Errno.EINVAL;
  }
  if (!env.sleepable && fn.mightSleep) {
    env.verbose("helper call might sleep in a non-sleepable prog\n");
    return -Errno.EINVAL;
  }
  const meta: CallMeta = {
    map: null,
    raw: { on: false, regno: -1, size: 0 },
    constMapKey: -1n,
    msizeMaxValue: 0n,
  };
  for (let i = 0; i < 5; i++) {
    const err = checkFuncArg(env, i, fn, meta);
    if (err) return err;
  }
  // record_func_map(): the map at this call, poisoned when another path names another map
  if (meta.map) {
    const seen = env.callMaps.get(env.insnIdx);
    if (seen === undefined) env.callMaps.set(env.insnIdx, meta.map);
    else if (seen !== meta.map) env.callMaps.set(env.insnIdx, null);
  }
  const compat = checkMapFuncCompatibility(env, meta.map, id);
  if (compat) return compat;
  // raw mode: the helper fills the stack buffer, byte by byte
  if (meta.raw.on && meta.raw.regno >= 0) {
    for (let i = 0; i < meta.raw.size; i++) {
      const err = checkMemAccess(env, meta.raw.regno, i, 1, true, -1, false, null);
      if (err) return err;
    }
  }
  const regs = env.cur.cur.regs;
  for (let i = 0; i <= 5; i++) markRegNotInit(regs[i]);
  const r0 = regs[0];
  switch (fn.ret) {
    case Ret.INTEGER:
      markRegUnknown(r0);
      break;
    case Ret.VOID:
      markRegNotInit(r0);
      break;
    case Ret.PTR_TO_MAP_VALUE_OR_NULL: {
      markRegKnownZero(r0);
      if (!meta.map) {
        env.verbose("kernel subsystem misconfigured verifier\n");
        return -Errno.EINVAL;
      }
      r0.map = meta.map;
      let type = RegType.PTR_TO_MAP_VALUE | PTR_MAYBE_NULL;
      const t = meta.map.map_type;
      if (
        id === 1 &&
        (t === MapType.ARRAY || t === MapType.PERCPU_ARRAY) &&
        meta.constMapKey >= 0n &&
        meta.constMapKey < BigInt(meta.map.max_entries)
      ) {
        type = RegType.PTR_TO_MAP_VALUE;
      }
      r0.type = type;
      if (type & PTR_MAYBE_NULL) r0.id = ++env.idGen;
      break;
    }
  }
  // do_refine_retval_range(): the *_str helpers return at most the buffer size, the CPU
  // number is below nr_cpu_ids
  if ((id === 114 || id === 115) && fn.ret === Ret.INTEGER) {
    r0.smax = meta.msizeMaxValue;
    r0.s32max = Number(BigInt.asIntN(32, meta.msizeMaxValue));
  }
  if (id === 8) {
    r0.umin = 0n;
    r0.smin = 0n;
    r0.u32min = 0;
    r0.s32min = 0;
    r0.umax = BigInt(NR_CPUS - 1);
    r0.smax = BigInt(NR_CPUS - 1);
    r0.u32max = NR_CPUS - 1;
    r0.s32max = NR_CPUS - 1;
  }
  return 0;
}
