/**
 * bpf_prog_verify_signature(): the BPF core's signature checks. Which one runs, and where, is
 * the profile's choice (scheme_hooks.ts); what is signed comes from src/scheme.
 *
 * v2 runs inside bpf_check() once fd_array is resolved: size cap, keyring resolution (logged),
 * copy of the signature, then every used map is folded into the signed buffer after the array /
 * frozen / exclusive checks, the payload size cap, PKCS#7 verification over
 * insns || value(map_0) || value(map_1) || …, and the verdict with keyring type and serial.
 *
 * mainline-6.18 runs in bpf_prog_load() before the LSM hook, over the instructions alone, logs
 * nothing, and reports a failed signature copy as ENOMEM.
 */
import type { Pkcs7Message } from "../crypto/pkcs7.js";
import { verifyPkcs7Message, verifyPkcs7Signature } from "../crypto/verify.js";
import type { AsymmetricKey } from "../crypto/x509.js";
import { v2SignedContent } from "../scheme/v2.js";
import {
  Limits,
  MapType,
  SigKeyring,
  SigVerdict,
  VERIFY_USE_PLATFORM_KEYRING,
  VERIFY_USE_SECONDARY_KEYRING,
} from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { ProgLoadAttr, Values } from "../uapi/layout.js";
import { KEY_SPEC_BPF_KEYRING, type Key } from "./keyring.js";
import type { BpfProg } from "./prog.js";
import type { SyscallCtx } from "./state.js";
import type { VerifierEnv } from "./verifier_env.js";

/** What keyring_id resolved to: a system keyring selector or a user key (bpf_key). */
export type BpfKey = { system: number } | { user: Key };

/** BPF_SIG_KEYRING_BPF: the keyring type of a program verified against `.bpf`. */
export const SIG_KEYRING_BPF = 5;

/** bpf_classify_keyring(): the keyring type recorded for a signed program. */
export function classifyKeyring(keyring_id: number, bpfKeyring = false): number {
  if (bpfKeyring && keyring_id === KEY_SPEC_BPF_KEYRING) return SIG_KEYRING_BPF;
  switch (keyring_id) {
    case 0:
      return SigKeyring.BUILTIN;
    case VERIFY_USE_SECONDARY_KEYRING:
      return SigKeyring.SECONDARY;
    case VERIFY_USE_PLATFORM_KEYRING:
      return SigKeyring.PLATFORM;
    default:
      return SigKeyring.USER;
  }
}

/**
 * bpf_lookup_system_key() / bpf_lookup_user_key(id, 0): null when it does not resolve. With the
 * `.bpf` keyring (bpf-next), KEY_SPEC_BPF_KEYRING names it, and when bpf.keyring_unsealed is
 * set a caller-supplied keyring is refused: "EPERM".
 */
export function lookupKey(ctx: SyscallCtx, keyring_id: number): BpfKey | null | "EPERM" {
  // system_keyring_id_check() takes the s32 as a u64: every negative id is a user id.
  if (keyring_id >= 0 && keyring_id <= VERIFY_USE_PLATFORM_KEYRING) return { system: keyring_id };
  const { profile, keyrings } = ctx.kernel;
  if (profile.bpfKeyring && keyring_id === KEY_SPEC_BPF_KEYRING) {
    return keyrings.bpf ? { user: keyrings.bpf } : null;
  }
  if (profile.keyringUnsealed) return "EPERM";
  const key = keyrings.lookupUserKey(ctx.proc.keyrings, keyring_id, false, true);
  return typeof key === "number" ? null : { user: key };
}

/**
 * bpf_verify_pkcs7_signature() → verify_pkcs7_signature(…, VERIFYING_BPF_SIGNATURE): 0 or a
 * negative errno. `sig` is the DER signature, or the message a caller already parsed from it.
 */
export function verifyWithKey(
  ctx: SyscallCtx,
  content: readonly Uint8Array[],
  sig: Uint8Array | Pkcs7Message,
  key: BpfKey,
): number {
  const { keyrings, profile } = ctx.kernel;
  // Without CONFIG_SYSTEM_DATA_VERIFICATION the whole body is the EOPNOTSUPP stub.
  if (!profile.systemDataVerification) return -Errno.EOPNOTSUPP;
  if ("user" in key) {
    // The check lookup_user_key() deferred (KEY_DEFER_PERM_CHECK).
    const v = key.user.validate(keyrings.now());
    if (v < 0) return v;
  }
  let search: (id: Uint8Array) => AsymmetricKey | null;
  if ("user" in key) {
    search = (id) => keyrings.searchAsymmetric(key.user, id);
  } else {
    const ring =
      key.system === 0
        ? keyrings.builtin
        : key.system === VERIFY_USE_SECONDARY_KEYRING
          ? (keyrings.secondary ?? keyrings.builtin)
          : keyrings.platform;
    // An unavailable platform keyring makes the lookup fail with ENOKEY.
    search = ring ? (id) => keyrings.searchAsymmetric(ring, id) : () => null;
  }
  const r =
    sig instanceof Uint8Array
      ? verifyPkcs7Signature(content, sig, search)
      : verifyPkcs7Message(content, sig, search);
  return r.ok ? 0 : -Errno[r.errno];
}

function keySerial(key: BpfKey): number {
  return "user" in key ? key.user.serial : 0;
}

function recordVerdict(
  ctx: SyscallCtx,
  prog: BpfProg,
  keyring_id: number,
  key: BpfKey,
  verdict: number = SigVerdict.VERIFIED,
): void {
  prog.aux.sig.keyring_serial = keySerial(key);
  prog.aux.sig.keyring_type = classifyKeyring(keyring_id, ctx.kernel.profile.bpfKeyring);
  prog.aux.sig.verdict = verdict;
}

/** The v2 signature step, called from bpf_check() after process_fd_array(). */
export function bpfProgVerifySignature(env: VerifierEnv): number {
  const { attr, log, ctx, prog } = env;
  if (attr.signature_size > Limits.MAX_SIGNATURE_SIZE) return -Errno.EINVAL;
  // bpf-next's selftest signature_zero_size: a signature pointer with size 0 is EINVAL.
  if (ctx.kernel.profile.bpfKeyring && attr.signature_size === 0) return -Errno.EINVAL;
  const key = lookupKey(ctx, attr.keyring_id);
  if (key === "EPERM") {
    log.verbose("caller-supplied keyrings are not allowed: use the .bpf keyring\n");
    return -Errno.EPERM;
  }
  if (!key) {
    log.verbose(`cannot resolve signing keyring with keyring_id ${attr.keyring_id}\n`);
    return -Errno.EINVAL;
  }
  const sig = ctx.uaccess.read(attr.signature, attr.signature_size)?.slice();
  if (!sig) return -Errno.EFAULT;

  let dataSize = prog.insnsi.length;
  for (const map of env.used_maps) {
    if (map.map_type !== MapType.ARRAY || !map.hasDirectValue) {
      log.verbose(`signed program metadata map '${map.name}' must be an array\n`);
      return -Errno.EINVAL;
    }
    if (!map.frozen) {
      log.verbose(`signed program metadata map '${map.name}' must be frozen\n`);
      return -Errno.EPERM;
    }
    if (!map.excl_prog_sha) {
      log.verbose(`signed program metadata map '${map.name}' must be exclusive\n`);
      return -Errno.EPERM;
    }
    dataSize += map.value_size;
  }
  if (dataSize > Limits.DYNPTR_MAX_SIZE) {
    log.verbose(`signed payload too large: ${dataSize} bytes\n`);
    return -Errno.E2BIG;
  }
  const values: Uint8Array[] = [];
  for (const map of env.used_maps) {
    const value = map.directValue(0);
    if (typeof value === "number") {
      log.verbose(`failed to read signed metadata map '${map.name}': ${value}\n`);
      return value;
    }
    values.push(value);
  }
  const content = v2SignedContent({ insns: prog.insnsi, maps: values });
  const err = verifyWithKey(ctx, content, sig, key);
  if (err) {
    log.verbose(`signature verification failed: ${err}\n`);
    return err;
  }
  log.verbose("signature verification passed\n");
  recordVerdict(ctx, prog, attr.keyring_id, key);
  return 0;
}

/**
 * The signature check in bpf_prog_load() over the instructions alone, no log: mainline's, and
 * the kfunc scheme's admission check (which records `verdict` = BPF_SIG_OK).
 */
export function bpfProgVerifySignatureInsns(
  ctx: SyscallCtx,
  prog: BpfProg,
  attr: Values<typeof ProgLoadAttr>,
  verdict: number = SigVerdict.VERIFIED,
): number {
  if (attr.signature_size > Limits.MAX_SIGNATURE_SIZE) return -Errno.EINVAL;
  const key = lookupKey(ctx, attr.keyring_id);
  if (key === "EPERM") return -Errno.EPERM;
  if (!key) return -Errno.EINVAL;
  const sig = ctx.uaccess.read(attr.signature, attr.signature_size)?.slice();
  if (!sig) return -Errno.ENOMEM;
  const err = verifyWithKey(ctx, [prog.insnsi], sig, key);
  if (!err) recordVerdict(ctx, prog, attr.keyring_id, key, verdict);
  return err;
}
