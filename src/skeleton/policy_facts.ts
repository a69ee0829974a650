/**
 * Policy facts for one program load, from what either side knows: the LSM module on the model
 * kernel (the bpf_prog at the hook) and `bpfsign audit` offline (the skeleton). Both build them
 * here so the two cannot drift apart.
 */
import { decodeInsns } from "../insn/insn.js";
import { Class } from "../insn/opcode.js";
import type { InstallFacts, KeyringTypeName, PolicyFacts, VerdictName } from "../policy/facts.js";
import type { PolicyOp } from "../policy/model.js";
import { attachTypeName, HELPER_NAMES, nameOf, PROG_TYPE_NAMES } from "../policy/names.js";
import { enumName, SigKeyring } from "../uapi/constants.js";
import { installFacts, planInstall } from "./install_plan.js";

/** Helper names a program calls (sorted, unique); unreadable instructions give none. */
export function helpersOf(insns: Uint8Array): string[] {
  if (insns.length % 8) return [];
  const out = new Set<string>();
  for (const x of decodeInsns(insns))
    if (x.code === (Class.JMP | 0x80) && x.src === 0) out.add(nameOf(HELPER_NAMES, x.imm >>> 0));
  return [...out].sort();
}

/**
 * What a light-skeleton loader will install, given its instructions and the metadata value, or
 * null when the loader cannot be read (the facts are then unknown, and `installs_*` never match).
 */
export function loaderInstallFacts(insns: Uint8Array, metadata: Uint8Array): InstallFacts | null {
  try {
    return installFacts(planInstall(insns, metadata));
  } catch {
    return null;
  }
}

export interface LoadDescription {
  op: PolicyOp;
  progName: string;
  progType: number;
  expectedAttachType: number;
  /** prog->aux->sig.verdict (SigVerdict) */
  verified: boolean;
  /** prog->aux->sig.keyring_type (SigKeyring) */
  keyringType: number;
  /** null when not known (a user keyring whose serial the caller did not name) */
  keyringSerial: number | null;
  signer?: string | null;
  kernel: boolean;
  /** the helpers the program calls (helpersOf its instructions) */
  helpers: string[];
  installs: InstallFacts | null;
}

export function loadFacts(d: LoadDescription): PolicyFacts {
  const verdict: VerdictName = d.verified ? "VERIFIED" : "UNSIGNED";
  return {
    op: d.op,
    progName: d.progName,
    progType: nameOf(PROG_TYPE_NAMES, d.progType),
    attachType: attachTypeName(d.progType, d.expectedAttachType),
    verdict,
    keyringType: (d.verified ? enumName(SigKeyring, d.keyringType) : "NONE") as KeyringTypeName,
    keyringSerial: d.verified ? d.keyringSerial : null,
    signer: d.signer ?? null,
    kernel: d.kernel,
    helpers: d.helpers,
    kfuncs: null,
    installs: d.installs,
  };
}
