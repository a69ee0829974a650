/**
 * The load checks of programs that use the kernel's BTF, as one step of bpf_check(): the CO-RE
 * relocations the loader passed (`core_relos`, applied to the instructions in place), the attach
 * target of TRACING and LSM programs (prog->aux->attach_btf_id), and the context accesses of
 * the tracing program types (which the model's do_check does not analyse; their rules are
 * btf_attach.ts' ctxRules, for an analysis to take over).
 */
import { BTF_KIND, Btf as LibBtf } from "../btf/btf.js";
import { ProgType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { Btf } from "./btf.js";
import {
  attachesThroughBtf,
  checkCtxAccesses,
  ctxRules,
  resolveAttachTarget,
} from "./btf_attach.js";
import { KALLSYMS } from "./kallsyms.js";
import { applyCoreRelos, type CoreReloRecord } from "./relo_core.js";
import type { VerifierEnv } from "./verifier_env.js";
import { profileVmlinuxBtf } from "./vmlinux_btf.js";

/** sizeof(struct bpf_core_relo) */
const CORE_RELO_MIN_SIZE = 16;

const TRACING_TYPES: ReadonlySet<number> = new Set([
  ProgType.KPROBE,
  ProgType.TRACEPOINT,
  ProgType.RAW_TRACEPOINT,
  ProgType.TRACING,
  ProgType.LSM,
]);

/** The kernel's BTF the profile boots with. */
export function kernelBtf(env: VerifierEnv): LibBtf {
  return profileVmlinuxBtf(env.ctx.kernel.profile);
}

/** A loaded BTF object's types as CO-RE reads them (null: unreadable), parsed once per object. */
const coreBtfs = new WeakMap<Btf, LibBtf | null>();

function progBtfForCore(btf: Btf): LibBtf | null {
  let local = coreBtfs.get(btf);
  if (local !== undefined) return local;
  try {
    local = LibBtf.parse(btf.data, "prog BTF");
  } catch {
    local = null;
  }
  coreBtfs.set(btf, local);
  return local;
}

/** check_core_relo(): 0 or a negative errno. */
function coreRelos(env: VerifierEnv): number {
  const { attr, ctx, log, prog } = env;
  if (!attr.core_relo_cnt) return 0;
  const rec = attr.core_relo_rec_size;
  if (rec < CORE_RELO_MIN_SIZE || rec > 252 || rec % 4) {
    log.verbose(`invalid core_relo_rec_size ${rec}\n`);
    return -Errno.EINVAL;
  }
  const file = ctx.proc.file(attr.prog_btf_fd);
  if (file?.kind !== "btf") return file ? -Errno.EINVAL : -Errno.EBADF;
  const raw = ctx.uaccess.read(attr.core_relos, rec * attr.core_relo_cnt);
  if (!raw) return -Errno.EFAULT;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const relos: CoreReloRecord[] = [];
  for (let i = 0; i < attr.core_relo_cnt; i++) {
    relos.push({
      insnOff: dv.getUint32(i * rec, true),
      typeId: dv.getUint32(i * rec + 4, true),
      accessStrOff: dv.getUint32(i * rec + 8, true),
      kind: dv.getUint32(i * rec + 12, true),
    });
  }
  const local = progBtfForCore(file.btf);
  if (!local) {
    log.verbose("the program's BTF cannot be read for CO-RE\n");
    return -Errno.EINVAL;
  }
  return applyCoreRelos(prog.insnsi, relos, local, kernelBtf(env), log);
}

/** The BTF-program step of bpf_check(). */
export function checkBtfProgram(env: VerifierEnv): number {
  const { prog, log } = env;
  let ret = coreRelos(env);
  if (ret) return ret;
  if (attachesThroughBtf(prog.type)) {
    const target = resolveAttachTarget(
      kernelBtf(env),
      prog.type,
      prog.expected_attach_type,
      prog.aux.attach_btf_id,
      prog.sleepable,
      log,
    );
    if (typeof target === "number") return target;
    prog.aux.attach = target;
  }
  if (TRACING_TYPES.has(prog.type)) {
    const rules = ctxRules(prog.type, prog.aux.attach);
    if (rules) {
      ret = checkCtxAccesses(prog.insnsi, rules, log);
      if (ret) return ret;
    }
  }
  return 0;
}

/** kfuncs of the common set (any tracing/LSM/syscall program may call them) the model offers. */
export const COMMON_KFUNCS: readonly string[] = ["bpf_rcu_read_lock", "bpf_rcu_read_unlock"];

/** A kfunc call to the kernel's BTF (offset 0) the model implements for this program type. */
export function kernelKfuncAllowed(env: VerifierEnv, btfId: number): boolean {
  if (!TRACING_TYPES.has(env.prog.type) && env.prog.type !== ProgType.SYSCALL) return false;
  const btf = kernelBtf(env);
  if (btfId <= 0 || btfId >= btf.types.length) return false;
  const t = btf.typeById(btfId);
  return t.kind === BTF_KIND.FUNC && COMMON_KFUNCS.includes(t.name);
}

/**
 * check_pseudo_btf_id() for the kernel's BTF: a typed ksym (a VAR or FUNC of vmlinux) becomes
 * its kallsyms address in the ld_imm64 (patched in place, as the kernel does).
 */
export function checkPseudoBtfId(env: VerifierEnv, insnIdx: number, btfId: number): number {
  const { log, prog } = env;
  const btf = kernelBtf(env);
  if (btfId <= 0 || btfId >= btf.types.length) {
    log.verbose(`ldimm64 insn specifies invalid btf_id ${btfId}.\n`);
    return -Errno.EINVAL;
  }
  const t = btf.typeById(btfId);
  if (t.kind !== BTF_KIND.VAR && t.kind !== BTF_KIND.FUNC) {
    log.verbose(`pseudo btf_id ${btfId} in ldimm64 isn't KIND_VAR or KIND_FUNC\n`);
    return -Errno.EINVAL;
  }
  const addr = KALLSYMS.get(t.name);
  if (addr === undefined) {
    log.verbose(`ldimm64 failed to find the address for kernel symbol '${t.name}'.\n`);
    return -Errno.ENOENT;
  }
  const dv = new DataView(prog.insnsi.buffer, prog.insnsi.byteOffset, prog.insnsi.byteLength);
  dv.setUint32(insnIdx * 8 + 4, Number(addr & 0xffffffffn), true);
  dv.setUint32(insnIdx * 8 + 12, Number(addr >> 32n), true);
  return 0;
}
