/**
 * The facts a decision is made over: a plain record, filled by whoever asks (the LSM module at a
 * hook on the model kernel, or `bpfsign audit` offline from a skeleton). Names of enum values are
 * the lower-case uapi names of names.ts; the signature verdict and keyring type are upper-case as
 * the kernel's enums spell them. `null` means "not known here": a condition on an unknown fact
 * never matches, whatever its operator.
 */
import type { PolicyOp } from "./model.js";

export type VerdictName = "VERIFIED" | "UNSIGNED";
export type KeyringTypeName = "NONE" | "BUILTIN" | "SECONDARY" | "PLATFORM" | "USER";

/** A program a loader will install. */
export interface InstalledProgFacts {
  name: string;
  /** prog_type name, e.g. `socket_filter`, `kprobe` */
  type: string;
  /** expected_attach_type name, or `none` when the program carries none */
  attachType: string;
  /** helper names (or decimal ids) the program calls, sorted, unique */
  helpers: string[];
  /** kfunc names the program calls, sorted, unique */
  kfuncs: string[];
}

/** A map a loader will install. */
export interface InstalledMapFacts {
  name: string;
  /** map_type name, e.g. `array`, `hash` */
  type: string;
  maxEntries: number;
}

/** What a light-skeleton loader will install, known when its metadata is bound at the hook. */
export interface InstallFacts {
  progs: InstalledProgFacts[];
  maps: InstalledMapFacts[];
  /** the loader takes map sizes or initial values from the host (no gen_hash) */
  hostOverrides: boolean;
}

export interface PolicyFacts {
  op: PolicyOp;
  /** prog_name of the program being loaded */
  progName: string;
  /** its prog_type name */
  progType: string;
  /** its expected_attach_type name, or `none` */
  attachType: string;
  /** prog->aux->sig.verdict */
  verdict: VerdictName;
  /** prog->aux->sig.keyring_type */
  keyringType: KeyringTypeName;
  /** prog->aux->sig.keyring_serial; null when unsigned */
  keyringSerial: number | null;
  /** the signer's key id (subject key identifier, lower-case hex), when known */
  signer: string | null;
  /** the load comes from inside the kernel (a loader's bpf_sys_bpf) */
  kernel: boolean;
  /** helpers the program being loaded calls (names), sorted, unique */
  helpers: string[];
  /** kfuncs it calls, when their names are known */
  kfuncs: string[] | null;
  /** for a light-skeleton loader whose metadata is bound: what it will install */
  installs: InstallFacts | null;
}
