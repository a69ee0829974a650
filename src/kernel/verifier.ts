/**
 * bpf_check() as far as the model goes: verifier log set-up, fd_array resolution into used_maps
 * and used_btfs with the exclusive-map check, the signature step and LSM admission (profile v2),
 * the structural checks the kernel makes before and during instruction resolution, the coverage
 * check for verified programs, and the attach checks that decide sleepability. The safety
 * analysis proper (do_check) is not modelled.
 */
import { bytesEqual } from "../crypto/asn1.js";
import { progDigest } from "../insn/digest.js";
import { Limits, MapType, ProgType, Pseudo } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { ProgLoadAttr, Values } from "../uapi/layout.js";
import type { Btf } from "./btf.js";
import { ANALYSED_PROG_TYPES } from "./ctx_access.js";
import { callMapsOf, runDoCheck, statsLine } from "./do_check.js";
import { fixupProgram } from "./fixups.js";
import { BPF_FUNC_MAX_ID, helperAllowed, helperName } from "./helpers.js";
import { VerifierLog } from "./log.js";
import type { BpfMap } from "./map.js";
import type { BpfProg } from "./prog.js";
import { bpfProgVerifySignature, type SignedLoadHooks, signedLoadHooks } from "./scheme_hooks.js";
import type { SyscallCtx } from "./state.js";
import type { BpfFile } from "./types.js";
import { checkBtfProgram, checkPseudoBtfId, kernelKfuncAllowed } from "./verifier_btf_prog.js";
import type { VerifierEnv } from "./verifier_env.js";

const LD_IMM64 = 0x18;
const MAX_BPF_REG = 11;
const U32_MAX = 0xffffffff;

/** Map types a sleepable program may use (check_map_prog_compatibility). */
const SLEEPABLE_MAP_TYPES = new Set<number>([
  MapType.HASH,
  MapType.LRU_HASH,
  MapType.ARRAY,
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.RINGBUF,
  MapType.USER_RINGBUF,
  MapType.INODE_STORAGE,
  MapType.SK_STORAGE,
  MapType.TASK_STORAGE,
  MapType.CGRP_STORAGE,
  MapType.QUEUE,
  MapType.STACK,
  MapType.ARENA,
  MapType.INSN_ARRAY,
  MapType.PROG_ARRAY,
]);

/** Program types that may be loaded sleepable (can_be_sleepable()). */
const SLEEPABLE_PROG_TYPES = new Set<number>([
  ProgType.TRACING,
  ProgType.LSM,
  ProgType.STRUCT_OPS,
  ProgType.KPROBE,
  ProgType.SYSCALL,
]);

/**
 * Field reads of instruction `i` of a raw instruction buffer, without decoding them all. Bytes
 * are combined by hand: a DataView over a small (on-heap) buffer would first move its bytes to a
 * new ArrayBuffer.
 */
class InsnReader {
  constructor(private readonly b: Uint8Array) {}
  code(i: number): number {
    return this.b[i * 8];
  }
  dst(i: number): number {
    return this.b[i * 8 + 1] & 0x0f;
  }
  src(i: number): number {
    return this.b[i * 8 + 1] >> 4;
  }
  off(i: number): number {
    const b = this.b;
    return ((b[i * 8 + 2] | (b[i * 8 + 3] << 8)) << 16) >> 16;
  }
  imm(i: number): number {
    const b = this.b;
    const p = i * 8 + 4;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  }
  insn(i: number) {
    return {
      code: this.code(i),
      dst: this.dst(i),
      src: this.src(i),
      off: this.off(i),
      imm: this.imm(i),
    };
  }
}

/** Whether `code` names an instruction of the eBPF ISA (the verifier's opcode table). */
export function isKnownOpcode(code: number, src: number): boolean {
  const cls = code & 7;
  switch (cls) {
    case 0x04: // ALU
    case 0x07: {
      // ALU64
      const op = code & 0xf0;
      if (op === 0xd0) return cls === 0x04 || (code & 0x08) === 0; // END; bswap only as ALU64|K
      if (op > 0xd0) return false;
      if (op === 0x80) return (code & 0x08) === 0; // NEG has no X form
      return true;
    }
    case 0x05: // JMP
    case 0x06: {
      // JMP32
      const op = code & 0xf0;
      if (op > 0xd0) return false;
      if (op === 0x80 || op === 0x90) return cls === 0x05 && (code & 0x08) === 0; // CALL, EXIT
      if (op === 0x00) return (code & 0x08) === 0; // JA / gotol
      return true;
    }
    case 0x00: {
      // LD
      const mode = code & 0xe0;
      const size = code & 0x18;
      if (mode === 0x00) return size === 0x18; // ld_imm64
      if (mode === 0x20 || mode === 0x40) return size !== 0x18; // legacy packet access
      return false;
    }
    case 0x01: {
      // LDX
      const mode = code & 0xe0;
      if (mode === 0x60) return true;
      if (mode === 0x80) return (code & 0x18) !== 0x18; // sign-extending loads: B, H, W
      return false;
    }
    case 0x02: // ST
      return (code & 0xe0) === 0x60;
    case 0x03: {
      // STX
      const mode = code & 0xe0;
      if (mode === 0x60) return true;
      if (mode === 0xc0) return (code & 0x18) === 0x00 || (code & 0x18) === 0x18;
      return false;
    }
  }
  void src;
  return false;
}

/**
 * bpf_check(): returns 0 or a negative errno. On success the program holds its used maps and
 * BTFs; on failure every reference taken here is dropped again.
 */
export function bpfCheck(
  ctx: SyscallCtx,
  prog: BpfProg,
  attr: Values<typeof ProgLoadAttr>,
  uattr: Uint8Array,
  uattrSize: number,
): number {
  const log = VerifierLog.init(attr.log_level, attr.log_buf, attr.log_size, ctx.uaccess.is_kernel);
  if (typeof log === "number") return log;
  const hooks = signedLoadHooks(ctx.kernel.profile);
  const env: VerifierEnv = {
    ctx,
    prog,
    attr,
    log,
    used_maps: [],
    used_btfs: [],
    check_signature: hooks.signsInVerifier && attr.signature !== 0n,
    ldImm: new Map(),
    insn_processed: 0,
    fd_array_cache: hooks.cacheFdArray ? new Map() : null,
    kfuncs: new Set(),
  };
  let ret = checkAll(env, hooks);
  log.verbose(statsLine(env));
  const { err, trueSize } = log.finalize({ write: (a, d) => ctx.uaccess.write(a, d) });
  if (err) ret = err;
  if (uattrSize >= 144) new DataView(uattr.buffer, uattr.byteOffset).setUint32(140, trueSize, true);

  if (ret === 0) {
    prog.aux.used_maps = env.used_maps;
    prog.aux.used_btfs = env.used_btfs;
    prog.aux.verified_insns = env.insn_processed;
    for (const [i, ref] of env.ldImm) prog.ldImm.set(i, ref);
    prog.xlated = convertPseudoLdImm64(prog.insnsi, env);
    const fixed = fixupProgram(prog.xlated, prog.ldImm, {
      progType: prog.type,
      jitRequested: ctx.kernel.sysctl.bpf_jit_enable !== 0,
      callMaps: callMapsOf(env),
    });
    prog.fixedUp = fixed.insns;
    prog.fixedUpLdImm = fixed.ldImm;
  } else {
    if (log.keep) ctx.kernel.lastLoadLog = log.text;
    for (const m of env.used_maps) ctx.kernel.putMap(m, prog.sleepable);
    for (const b of env.used_btfs) ctx.kernel.putBtf(b);
  }
  return ret;
}

function checkAll(env: VerifierEnv, hooks: SignedLoadHooks): number {
  const { prog, ctx } = env;
  let signedMapCnt = 0;
  if (env.attr.signature && hooks.digestUpFront) prog.digest.set(progDigest(prog.insnsi));

  let ret = processFdArray(env, hooks);
  if (ret) return ret;

  if (env.check_signature) {
    ret = bpfProgVerifySignature(env);
    if (ret) return ret;
    signedMapCnt = env.used_maps.length;
  }
  ret = hooks.afterSignature(env);
  if (ret) return ret;
  if (!hooks.admissionAtEntry) {
    ret = ctx.kernel.lsm.bpf_prog_load(prog, env.attr, ctx.uaccess.is_kernel);
    if (ret) return ret;
  }

  ret = addSubprogsAndKfuncs(env, hooks);
  if (ret) return ret;
  ret = checkBtfInfo(env);
  if (ret) return ret;
  ret = checkBtfProgram(env); // CO-RE, attach target, tracing ctx (verifier_btf_prog.ts)
  if (ret) return ret;
  ret = checkAndResolveInsns(env, hooks);
  if (ret) return ret;
  ret = hooks.afterResolve(env, signedMapCnt);
  if (ret) return ret;

  ret = checkAttachBtfId(env);
  if (ret) return ret;
  const analysed = ANALYSED_PROG_TYPES.has(prog.type);
  if (!analysed) {
    ret = checkHelperCalls(env);
    if (ret) return ret;
  }
  prog.aux.max_ctx_offset = maxCtxOffset(prog.insnsi);
  env.insn_processed = prog.len;
  // the safety analysis (do_check) for the program types whose ctx the model knows
  return analysed ? runDoCheck(env) : 0;
}

/**
 * fd_array[i]: the fd read from user memory and the file it names. With the bpf-next cache the
 * first read of a slot is kept for the rest of the load, so a later rewrite of user memory does
 * not change what the slot names.
 */
function fdArraySlot(
  env: VerifierEnv,
  i: number,
): { fd: number; file: BpfFile | undefined } | number {
  const cached = env.fd_array_cache?.get(i);
  if (cached) return cached;
  const { attr, ctx } = env;
  const raw = ctx.uaccess.read(attr.fd_array + BigInt(i) * 4n, 4);
  if (!raw) return -Errno.EFAULT;
  const fd = raw[0] | (raw[1] << 8) | (raw[2] << 16) | (raw[3] << 24);
  const slot = { fd, file: ctx.proc.file(fd) };
  env.fd_array_cache?.set(i, slot);
  return slot;
}

/** process_fd_array(): binds fd_array[0..fd_array_cnt) when fd_array_cnt is given. */
function processFdArray(env: VerifierEnv, hooks: SignedLoadHooks): number {
  const { attr, log } = env;
  const cnt = attr.fd_array_cnt;
  if (!cnt) return 0;
  if (cnt >= Math.floor(U32_MAX / 4)) {
    log.verbose(`fd_array_cnt is too big (${cnt})\n`);
    return -Errno.EINVAL;
  }
  for (let i = 0; i < cnt; i++) {
    const slot = fdArraySlot(env, i);
    if (typeof slot === "number") return slot;
    const { fd, file } = slot;
    if (file?.kind === "map") {
      const r = addUsedMap(env, file.map, hooks);
      if (r < 0) return r;
      continue;
    }
    if (file?.kind === "btf") {
      const r = addUsedBtf(env, file.btf, hooks);
      if (r < 0) return r;
      continue;
    }
    log.verbose(`fd ${fd} is not pointing to valid bpf_map or btf\n`);
    return file ? -Errno.EINVAL : -Errno.EBADF;
  }
  return 0;
}

/** __add_used_map(): the map's index in used_maps, or a negative errno. */
function addUsedMap(env: VerifierEnv, map: BpfMap, hooks: SignedLoadHooks): number {
  const at = env.used_maps.indexOf(map);
  if (at >= 0) return at;
  const refused = hooks.bindMap(env, map);
  if (refused) return refused;
  if (env.used_maps.length >= Limits.MAX_USED_MAPS) {
    env.log.verbose(
      `The total number of maps per program has reached the limit of ${Limits.MAX_USED_MAPS}\n`,
    );
    return -Errno.E2BIG;
  }
  const r = checkMapProgCompatibility(env, map);
  if (r) return r;
  env.ctx.kernel.getMap(map, env.prog.sleepable);
  env.used_maps.push(map);
  return env.used_maps.length - 1;
}

/** add_used_map() for an ld_imm64 fd. */
function addUsedMapFd(
  env: VerifierEnv,
  fd: number,
  file: BpfFile | undefined,
  hooks: SignedLoadHooks,
): { map: BpfMap } | number {
  if (file?.kind !== "map") {
    env.log.verbose(`fd ${fd} is not pointing to valid bpf_map\n`);
    return file ? -Errno.EINVAL : -Errno.EBADF;
  }
  const r = addUsedMap(env, file.map, hooks);
  return r < 0 ? r : { map: file.map };
}

function addUsedBtf(env: VerifierEnv, btf: Btf, hooks: SignedLoadHooks): number {
  if (env.used_btfs.includes(btf)) return 0;
  const refused = hooks.bindBtf(env, btf);
  if (refused) return refused;
  if (env.used_btfs.length >= Limits.MAX_USED_BTFS) {
    env.log.verbose(
      `The total number of btfs per program has reached the limit of ${Limits.MAX_USED_BTFS}\n`,
    );
    return -Errno.E2BIG;
  }
  env.ctx.kernel.getBtf(btf);
  env.used_btfs.push(btf);
  return 0;
}

/** check_map_prog_compatibility(): the exclusivity check comes first. */
function checkMapProgCompatibility(env: VerifierEnv, map: BpfMap): number {
  const { prog, log } = env;
  if (map.excl_prog_sha && !bytesEqual(map.excl_prog_sha, prog.digest)) {
    log.verbose("program's hash doesn't match map's excl_prog_hash\n");
    return -Errno.EACCES;
  }
  if (prog.sleepable && !SLEEPABLE_MAP_TYPES.has(map.map_type)) {
    log.verbose("Sleepable programs can only use array, hash, ringbuf and local storage maps\n");
    return -Errno.EINVAL;
  }
  return 0;
}

/**
 * add_subprog_and_kfunc() + check_subprogs(): bpf-to-bpf call and function-pointer targets,
 * kfunc BTF fds, jump ranges within each subprogram, and the last instruction of each.
 */
function addSubprogsAndKfuncs(env: VerifierEnv, hooks: SignedLoadHooks): number {
  const { prog, log } = env;
  const r = new InsnReader(prog.insnsi);
  const len = prog.len;
  const starts = new Set<number>([0]);
  for (let i = 0; i < len; i++) {
    const insn = r.insn(i);
    const isCall = insn.code === 0x85;
    if (
      (isCall && insn.src === Pseudo.CALL) ||
      (insn.code === LD_IMM64 && insn.src === Pseudo.FUNC)
    ) {
      const target = i + insn.imm + 1;
      if (target < 0 || target >= len) {
        log.verbose("call to invalid destination\n");
        return -Errno.EINVAL;
      }
      starts.add(target);
    } else if (isCall && insn.src === Pseudo.KFUNC_CALL) {
      const r = checkKfuncCall(env, insn.imm, insn.off, hooks);
      if (r) return r;
      env.kfuncs.add(insn.imm);
    }
    if (insn.code === LD_IMM64) i++;
  }
  const sorted = [...starts].sort((a, c) => a - c);
  for (let s = 0; s < sorted.length; s++) {
    const start = sorted[s];
    const end = s + 1 < sorted.length ? sorted[s + 1] : len;
    for (let i = start; i < end; i++) {
      const code = r.code(i);
      const cls = code & 7;
      if (cls === 0x05 || cls === 0x06) {
        const op = code & 0xf0;
        if (op !== 0x80 && op !== 0x90) {
          const off = cls === 0x06 && op === 0x00 ? r.imm(i) : r.off(i);
          const to = i + off + 1;
          if (to < start || to >= end) {
            log.verbose(`jump out of range from insn ${i} to ${to}\n`);
            return -Errno.EINVAL;
          }
        }
      }
      if (code === LD_IMM64) i++;
    }
    const last = r.code(end - 1);
    if (last !== 0x95 && last !== 0x05 && last !== 0x06) {
      log.verbose("last insn is not an exit or jmp\n");
      return -Errno.EINVAL;
    }
  }
  return 0;
}

/**
 * add_kfunc_call(): the model's vmlinux offers only the kfuncs of the profile's hooks (the kfunc
 * scheme's bpf_loader_verify_metadata, to SYSCALL programs), and it loads no kernel modules.
 */
function checkKfuncCall(
  env: VerifierEnv,
  btfId: number,
  offset: number,
  hooks: SignedLoadHooks,
): number {
  const { log, attr, prog } = env;
  if (offset === 0 && hooks.kfuncs.has(btfId) && prog.type === ProgType.SYSCALL) return 0;
  if (offset === 0 && kernelKfuncAllowed(env, btfId)) return 0; // verifier_btf_prog.ts
  if (offset < 0) {
    log.verbose("negative offset disallowed for kernel module function call\n");
    return -Errno.EINVAL;
  }
  if (offset > 0) {
    if (!attr.fd_array) {
      log.verbose("kfunc offset > 0 without fd_array is invalid\n");
      return -Errno.EPROTO;
    }
    const slot = fdArraySlot(env, offset);
    if (typeof slot === "number") return slot;
    const { file } = slot;
    if (file?.kind !== "btf") {
      log.verbose("invalid module BTF fd specified\n");
      return file ? -Errno.EINVAL : -Errno.EBADF;
    }
    // bpf-next refuses the module BTF of a signed program here, when it would be bound.
    const refused = hooks.bindBtf(env, file.btf);
    if (refused) return refused;
    log.verbose("BTF fd for kfunc is not a module BTF\n");
    return -Errno.EINVAL;
  }
  log.verbose(`kernel btf_id ${btfId} is not a function\n`);
  return -Errno.EINVAL;
}

/** check_btf_info(): func_info and line_info records need the program's BTF. */
function checkBtfInfo(env: VerifierEnv): number {
  const { attr, log, ctx, prog } = env;
  if (!attr.func_info_cnt && !attr.line_info_cnt) return 0;
  const file = ctx.proc.file(attr.prog_btf_fd);
  if (file?.kind !== "btf") return file ? -Errno.EINVAL : -Errno.EBADF; // btf_get_by_fd()
  if (attr.func_info_cnt) {
    const rec = attr.func_info_rec_size;
    if (rec < 8 || rec > 252 || rec % 4) {
      log.verbose(`invalid func info rec size ${rec}\n`);
      return -Errno.EINVAL;
    }
    const raw = ctx.uaccess.read(attr.func_info, rec * attr.func_info_cnt);
    if (!raw) return -Errno.EFAULT;
    const first = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, true);
    if (first !== 0) {
      log.verbose(`nonzero insn_off ${first} for the first func info record\n`);
      return -Errno.EINVAL;
    }
  }
  if (attr.line_info_cnt) {
    const rec = attr.line_info_rec_size;
    if (rec < 16 || rec > 252 || rec % 4) {
      log.verbose(`invalid line_info_rec_size ${rec}\n`);
      return -Errno.EINVAL;
    }
    if (!ctx.uaccess.read(attr.line_info, rec * attr.line_info_cnt)) return -Errno.EFAULT;
  }
  prog.aux.btf = file.btf;
  ctx.kernel.getBtf(file.btf);
  prog.aux.func_info_cnt = attr.func_info_cnt;
  prog.aux.line_info_cnt = attr.line_info_cnt;
  return 0;
}

/**
 * check_and_resolve_insns(): computes the digest, then walks the instructions checking
 * registers, opcodes and ld_imm64 forms and binding the maps they name.
 */
function checkAndResolveInsns(env: VerifierEnv, hooks: SignedLoadHooks): number {
  const { prog, log, attr, ctx } = env;
  prog.digest.set(progDigest(prog.insnsi));
  const r = new InsnReader(prog.insnsi);
  const len = prog.len;
  for (let i = 0; i < len; i++) {
    const code = r.code(i);
    if (r.dst(i) >= MAX_BPF_REG) {
      log.verbose(`R${r.dst(i)} is invalid\n`);
      return -Errno.EINVAL;
    }
    if (r.src(i) >= MAX_BPF_REG) {
      log.verbose(`R${r.src(i)} is invalid\n`);
      return -Errno.EINVAL;
    }
    if (code !== LD_IMM64) {
      if (!isKnownOpcode(code, r.src(i))) {
        log.verbose(`unknown opcode ${code.toString(16).padStart(2, "0")}\n`);
        return -Errno.EINVAL;
      }
      continue;
    }
    const insn = r.insn(i);
    const hi = i + 1 < len ? r.insn(i + 1) : undefined;
    if (!hi || hi.code || hi.dst || hi.src || hi.off) {
      log.verbose("invalid bpf_ld_imm64 insn\n");
      return -Errno.EINVAL;
    }
    if (insn.off !== 0) {
      log.verbose("BPF_LD_IMM64 uses reserved fields\n");
      return -Errno.EINVAL;
    }
    switch (insn.src) {
      case 0:
      case Pseudo.FUNC:
        break;
      case Pseudo.BTF_ID: {
        if (!hi.imm) {
          const ret = checkPseudoBtfId(env, i, insn.imm); // verifier_btf_prog.ts
          if (ret) return ret;
          break;
        }
        const file = ctx.proc.file(hi.imm);
        if (file?.kind !== "btf") {
          log.verbose("invalid module BTF object FD specified.\n");
          return -Errno.EINVAL;
        }
        // bpf-next refuses a ksym's module BTF for a signed program when it would be bound.
        const refused = hooks.bindBtf(env, file.btf);
        if (refused) return refused;
        log.verbose(`BTF fd ${hi.imm} is not a module BTF\n`);
        return -Errno.EINVAL;
      }
      case Pseudo.MAP_FD:
      case Pseudo.MAP_VALUE:
      case Pseudo.MAP_IDX:
      case Pseudo.MAP_IDX_VALUE: {
        const isValue = insn.src === Pseudo.MAP_VALUE || insn.src === Pseudo.MAP_IDX_VALUE;
        if (!isValue && hi.imm !== 0) {
          log.verbose("unrecognized bpf_ld_imm64 insn\n");
          return -Errno.EINVAL;
        }
        let fd = insn.imm;
        let file: BpfFile | undefined;
        if (insn.src === Pseudo.MAP_IDX || insn.src === Pseudo.MAP_IDX_VALUE) {
          if (!attr.fd_array) {
            log.verbose("fd_idx without fd_array is invalid\n");
            return -Errno.EPROTO;
          }
          const slot = fdArraySlot(env, insn.imm >>> 0);
          if (typeof slot === "number") return slot;
          fd = slot.fd;
          file = slot.file;
        } else {
          const refused = hooks.rawMapFd(env);
          if (refused) return refused;
          file = ctx.proc.file(fd);
        }
        const used = addUsedMapFd(env, fd, file, hooks);
        if (typeof used === "number") return used;
        const map = used.map;
        if (isValue) {
          const off = hi.imm >>> 0;
          if (!map.hasDirectValue) {
            log.verbose("no direct value access support for this map type\n");
            return -Errno.EINVAL;
          }
          const v = map.directValue(off);
          if (typeof v === "number") {
            log.verbose(
              `invalid access to map value pointer, value_size=${map.value_size} off=${off}\n`,
            );
            return v;
          }
          env.ldImm.set(i, { map, off });
        } else {
          env.ldImm.set(i, { map });
        }
        break;
      }
      default:
        log.verbose("unrecognized bpf_ld_imm64 insn\n");
        return -Errno.EINVAL;
    }
    i++;
  }
  return 0;
}

/**
 * check_helper_call()'s prototype lookup for every helper call: an id outside enum bpf_func_id
 * is an invalid func, one the program type does not offer cannot be used.
 */
function checkHelperCalls(env: VerifierEnv): number {
  const { prog, log, ctx } = env;
  const r = new InsnReader(prog.insnsi);
  for (let i = 0; i < prog.len; i++) {
    const code = r.code(i);
    if (code === LD_IMM64) {
      i++;
      continue;
    }
    if (code !== 0x85 || r.src(i) !== 0) continue;
    const id = r.imm(i);
    if (id < 0 || id >= BPF_FUNC_MAX_ID) {
      log.verbose(`invalid func ${helperName(id)}#${id}\n`);
      return -Errno.EINVAL;
    }
    if (!helperAllowed(prog.type, prog.sleepable, id, ctx.proc.caps)) {
      log.verbose(`program of this type cannot use helper ${helperName(id)}#${id}\n`);
      return -Errno.EINVAL;
    }
  }
  return 0;
}

const SIZE_BYTES = [4, 2, 1, 8];

/**
 * prog->aux->max_ctx_offset: the end of the furthest context access. The model has no data
 * flow analysis, so it follows the context pointer through register copies in program order
 * (r1 at entry; a copy makes another context register; any other write or a call ends one).
 */
export function maxCtxOffset(insns: Uint8Array): number {
  const r = new InsnReader(insns);
  const len = insns.length / 8;
  let ctxRegs = 1 << 1;
  let max = 0;
  for (let i = 0; i < len; i++) {
    const code = r.code(i);
    const cls = code & 7;
    const dst = r.dst(i);
    const src = r.src(i);
    if (cls === 0x01 || cls === 0x02 || cls === 0x03) {
      const base = cls === 0x01 ? src : dst;
      if (ctxRegs & (1 << base)) max = Math.max(max, r.off(i) + SIZE_BYTES[(code >> 3) & 3]);
      if (cls === 0x01) ctxRegs &= ~(1 << dst);
      if (cls === 0x03 && (code & 0xe0) === 0xc0 && r.imm(i) & 1) ctxRegs &= ~(1 << src);
    } else if (cls === 0x04 || cls === 0x07) {
      const isCopy = code === 0xbf && r.off(i) === 0;
      if (isCopy && ctxRegs & (1 << src)) ctxRegs |= 1 << dst;
      else ctxRegs &= ~(1 << dst);
    } else if (code === LD_IMM64) {
      ctxRegs &= ~(1 << dst);
      i++;
    } else if (code === 0x85) {
      ctxRegs &= ~0x3f;
    }
  }
  return max;
}

/** check_attach_btf_id(): which program types may be sleepable; SYSCALL programs must be. */
function checkAttachBtfId(env: VerifierEnv): number {
  const { prog, log } = env;
  if (prog.sleepable && !SLEEPABLE_PROG_TYPES.has(prog.type)) {
    log.verbose(
      "Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable\n",
    );
    return -Errno.EINVAL;
  }
  if (prog.type === ProgType.SYSCALL && !prog.sleepable) {
    log.verbose("Syscall programs can only be sleepable\n");
    return -Errno.EINVAL;
  }
  return 0;
}

/**
 * convert_pseudo_ld_imm64(): every ld_imm64 but BPF_PSEUDO_FUNC loses its src_reg, and map
 * references become the (model) kernel address of the map or of its value.
 */
function convertPseudoLdImm64(insns: Uint8Array, env: VerifierEnv): Uint8Array {
  if (!env.used_maps.length && !env.used_btfs.length) return insns;
  const out = insns.slice();
  // little-endian stores by hand (no DataView over a small buffer, see InsnReader)
  const put32 = (at: number, v: number) => {
    out[at] = v;
    out[at + 1] = v >>> 8;
    out[at + 2] = v >>> 16;
    out[at + 3] = v >>> 24;
  };
  for (let i = 0; i < out.length / 8; i++) {
    const p = i * 8;
    if (out[p] !== LD_IMM64) continue;
    const src = out[p + 1] >> 4;
    if (src !== Pseudo.FUNC) out[p + 1] &= 0x0f;
    const ref = env.ldImm.get(i);
    if (ref) {
      const addr = mapKernelAddress(ref.map) + BigInt(ref.off ?? 0);
      put32(p + 4, Number(addr & 0xffffffffn));
      put32(p + 12, Number(addr >> 32n));
    }
    i++;
  }
  return out;
}

/** A stable fake kernel address for a map (its id in the high bits of the direct map range). */
export function mapKernelAddress(map: BpfMap): bigint {
  return 0xffff888000000000n + (BigInt(map.id) << 24n);
}
