/**
 * Programs that attach through BTF (TRACING: fentry/fexit/fmod_ret/raw_tp/iter; LSM) and the
 * context rules of the tracing program types, in a form a safety analysis can use.
 *
 * bpf_check_attach_target(): `attach_btf_id` names a type of the kernel's BTF — a FUNC
 * `bpf_lsm_<hook>` for LSM, a FUNC for fentry/fexit, a TYPEDEF `btf_trace_<tp>` (a pointer to
 * the tracepoint's prototype) for BTF raw tracepoints, a FUNC `bpf_iter_<target>` for
 * iterators. The prototype gives the program its arguments: the context is an array of u64,
 * one slot per argument (fexit: one more, the return value), read-only, read 8 bytes at a time;
 * a pointer argument is a BTF-typed pointer (PTR_TO_BTF_ID) whose loads read the kernel object.
 */
import { BTF_KIND, type Btf } from "../btf/btf.js";
import { AttachType, ProgType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { VerifierLog } from "./log.js";

/** One argument slot of a BTF-typed context. */
export interface CtxArg {
  readonly name: string;
}

/** What a program attached through BTF learned at load (prog->aux->attach_*). */
export interface AttachTarget {
  readonly btfId: number;
  /** The FUNC/TYPEDEF name (`bpf_lsm_bpf_prog_load`). */
  readonly name: string;
  /** LSM: the hook (`bpf_prog_load`); raw_tp: the tracepoint; iter: the target; else the name. */
  readonly point: string;
  readonly args: readonly CtxArg[];
}

/** The context rules of a program type (what btf_ctx_access / the *_is_valid_access check). */
export interface CtxRules {
  /** Bytes of context the program may read. */
  readonly size: number;
  /** Every access must be this many bytes (0: any of 1, 2, 4, 8). */
  readonly accessSize: number;
  readonly writable: boolean;
}

/** sizeof(struct pt_regs) on x86_64: the context of kprobe programs. */
const PT_REGS_SIZE = 168;
/** MAX_BPF_FUNC_ARGS */
const MAX_ARGS = 12;

const BTF_TYPES: ReadonlySet<number> = new Set([ProgType.TRACING, ProgType.LSM]);

/** Program types whose attach point comes from attach_btf_id. */
export function attachesThroughBtf(progType: number): boolean {
  return BTF_TYPES.has(progType);
}

/** bpf_prog_load_check_attach() for the BTF types: the expected_attach_type each allows. */
export function checkExpectedAttach(progType: number, eat: number): number {
  if (progType === ProgType.LSM) return eat === AttachType.LSM_MAC ? 0 : -Errno.EINVAL;
  if (progType === ProgType.TRACING) {
    const ok: number[] = [
      AttachType.TRACE_RAW_TP,
      AttachType.TRACE_FENTRY,
      AttachType.TRACE_FEXIT,
      AttachType.MODIFY_RETURN,
      AttachType.TRACE_ITER,
    ];
    return ok.includes(eat) ? 0 : -Errno.EINVAL;
  }
  return 0;
}

function argsOf(btf: Btf, protoId: number, skipFirst: boolean): CtxArg[] | null {
  const proto = btf.typeById(protoId);
  if (proto.kind !== BTF_KIND.FUNC_PROTO) return null;
  const params = skipFirst ? proto.params.slice(1) : proto.params;
  return params.map((p) => ({ name: p.name }));
}

/**
 * bpf_check_attach_target() against the kernel's BTF: the target, or a negative errno with the
 * kernel's message in the log.
 */
export function resolveAttachTarget(
  btf: Btf,
  progType: number,
  eat: number,
  attachBtfId: number,
  sleepable: boolean,
  log: VerifierLog,
): AttachTarget | number {
  if (!attachBtfId) {
    log.verbose("Tracing programs must provide btf_id\n");
    return -Errno.EINVAL;
  }
  if (attachBtfId >= btf.types.length) {
    log.verbose(`attach_btf_id ${attachBtfId} is invalid\n`);
    return -Errno.EINVAL;
  }
  const t = btf.typeById(attachBtfId);
  const name = t.name;
  if (!name) {
    log.verbose(`attach_btf_id ${attachBtfId} doesn't have a name\n`);
    return -Errno.EINVAL;
  }
  if (progType === ProgType.TRACING && eat === AttachType.TRACE_RAW_TP) {
    if (t.kind !== BTF_KIND.TYPEDEF) {
      log.verbose(`attach_btf_id ${attachBtfId} is not a typedef\n`);
      return -Errno.EINVAL;
    }
    if (!name.startsWith("btf_trace_")) {
      log.verbose(`attach_btf_id ${attachBtfId} points to wrong type name ${name}\n`);
      return -Errno.EINVAL;
    }
    const ptr = btf.typeById(t.type);
    const proto = ptr.kind === BTF_KIND.PTR ? ptr.type : 0;
    const args = proto ? argsOf(btf, proto, true) : null;
    if (!args) {
      log.verbose(`attach_btf_id ${attachBtfId} is not a pointer to a function prototype\n`);
      return -Errno.EINVAL;
    }
    return { btfId: attachBtfId, name, point: name.slice(10), args };
  }
  if (t.kind !== BTF_KIND.FUNC) {
    log.verbose(`attach_btf_id ${attachBtfId} is not a function\n`);
    return -Errno.EINVAL;
  }
  const proto = btf.typeById(t.type);
  if (proto.kind !== BTF_KIND.FUNC_PROTO) return -Errno.EINVAL;
  let args = argsOf(btf, t.type, false) ?? [];
  if (args.length > MAX_ARGS) {
    log.verbose(`The function ${name} has ${args.length} arguments. Too many.\n`);
    return -Errno.EINVAL;
  }
  let point = name;
  if (progType === ProgType.LSM) {
    // any bpf_lsm_* function of the BTF is an attach point; the model's hook sites call only
    // those of the BPF subsystem (BPF_LSM_HOOKS), the others never fire
    if (!name.startsWith("bpf_lsm_")) {
      log.verbose(`attach_btf_id ${attachBtfId} (${name}) is not a BPF LSM hook\n`);
      return -Errno.EINVAL;
    }
    point = name.slice(8);
    // every hook of the BPF subsystem runs in process context: all are sleepable-capable
  } else if (eat === AttachType.TRACE_ITER) {
    if (!name.startsWith("bpf_iter_")) {
      log.verbose(`${name} is not an iterator target\n`);
      return -Errno.EINVAL;
    }
    point = name.slice(9);
  } else if (eat === AttachType.TRACE_FEXIT || eat === AttachType.MODIFY_RETURN) {
    args = [...args, { name: "ret" }];
  }
  if (sleepable && progType === ProgType.TRACING && eat !== AttachType.TRACE_ITER) {
    log.verbose(`${name} is not sleepable\n`);
    return -Errno.EINVAL;
  }
  return { btfId: attachBtfId, name, point, args };
}

/** The context rules of a loaded program (what its type's is_valid_access allows). */
export function ctxRules(progType: number, target: AttachTarget | null): CtxRules | null {
  switch (progType) {
    case ProgType.TRACING:
    case ProgType.LSM:
      return {
        size: (target?.args.length ?? 0) * 8,
        accessSize: 8,
        writable: false,
      };
    case ProgType.RAW_TRACEPOINT:
      return { size: MAX_ARGS * 8, accessSize: 8, writable: false };
    case ProgType.KPROBE:
      return { size: PT_REGS_SIZE, accessSize: 0, writable: false };
    case ProgType.TRACEPOINT:
      // a tracepoint's record: the model checks the upper bound against the event at run time
      return { size: 0xffff, accessSize: 0, writable: false };
    default:
      return null;
  }
}

const SIZE_BYTES = [4, 2, 1, 8];

/**
 * The context accesses of a program against its type's rules: every load through the context
 * pointer (r1 at entry, and its copies) must be inside the context, of the allowed size and
 * 8-byte aligned for BTF contexts; stores to it are refused when it is read-only. The model's
 * stand-in for check_ctx_access() on the types do_check does not analyse: it follows the context
 * pointer through register copies in program order (a call or another write ends a copy).
 * Returns 0 or -EACCES with the kernel's message.
 */
export function checkCtxAccesses(insns: Uint8Array, rules: CtxRules, log: VerifierLog): number {
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  let ctxRegs = 1 << 1;
  for (let i = 0; i < insns.length / 8; i++) {
    const code = insns[i * 8];
    const regs = insns[i * 8 + 1];
    const dst = regs & 0xf;
    const src = regs >> 4;
    const off = dv.getInt16(i * 8 + 2, true);
    const cls = code & 7;
    if (cls === 0x01 || cls === 0x02 || cls === 0x03) {
      const base = cls === 0x01 ? src : dst;
      if (ctxRegs & (1 << base)) {
        const size = SIZE_BYTES[(code >> 3) & 3];
        if (cls !== 0x01 && !rules.writable) {
          log.verbose(`${i}: invalid bpf_context access off=${off} size=${size}\n`);
          return -Errno.EACCES;
        }
        const aligned = rules.accessSize ? off % rules.accessSize === 0 : off % size === 0;
        const sized = rules.accessSize === 0 || size === rules.accessSize;
        if (off < 0 || off + size > rules.size || !aligned || !sized) {
          log.verbose(`${i}: invalid bpf_context access off=${off} size=${size}\n`);
          return -Errno.EACCES;
        }
      }
      if (cls === 0x01) ctxRegs &= ~(1 << dst);
    } else if (cls === 0x04 || cls === 0x07) {
      const isCopy = code === 0xbf && off === 0;
      if (isCopy && ctxRegs & (1 << src)) ctxRegs |= 1 << dst;
      else ctxRegs &= ~(1 << dst);
    } else if (code === 0x18) {
      ctxRegs &= ~(1 << dst);
      i++;
    } else if (code === 0x85) {
      ctxRegs &= ~0x3f;
    }
  }
  return 0;
}
