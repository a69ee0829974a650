/**
 * What a signing scheme is, as data: which bytes the signature covers, how a signer assembles
 * them from a loader's parts, where in the load path each check runs, and which verdicts the
 * checks can give. One description per scheme (v2.ts, kfunc.ts, hornet.ts); the signer
 * (crypto/sign.ts), the offline verifier (crypto/offline.ts) and the model kernel
 * (kernel/scheme_hooks.ts and the files it calls) all read "what is signed" from here, so it is
 * written once. Pure: no kernel objects, no I/O; the only import is node:crypto for SHA-256.
 */

/** The schemes bpfsign can sign for and verify. */
export type SchemeName = "v2" | "kfunc" | "hornet";

export const SCHEME_NAMES: readonly SchemeName[] = ["v2", "kfunc", "hornet"];

/**
 * Where a check runs, named after the kernel function (or hook) that runs it:
 * - `bpf_check`: inside the verifier, after fd_array is resolved into used_maps (v2, bpf-next);
 * - `bpf_prog_load`: at BPF_PROG_LOAD entry, before the admission LSM hook (mainline, kfunc);
 * - `security_bpf_prog_load_integrity`: an LSM's integrity hook at BPF_PROG_LOAD entry (Hornet);
 * - `bpf_loader_verify_metadata`: a kfunc the loader calls when it runs (kfunc);
 * - `verifier_bind`: each time the verifier binds a map or BTF to the program (bpf-next);
 * - `after_resolve`: after check_and_resolve_insns(), by comparing counts (v2).
 */
export type CheckPoint =
  | "bpf_check"
  | "bpf_prog_load"
  | "security_bpf_prog_load_integrity"
  | "bpf_loader_verify_metadata"
  | "verifier_bind"
  | "after_resolve";

/** One check of a scheme: where it runs and what it establishes. */
export interface SchemeCheck {
  readonly at: CheckPoint;
  readonly what: string;
}

/**
 * The parts of a light-skeleton loader a signer sees: its instructions and the values of the
 * maps the kernel will bind for it, in fd_array order (for a gen_loader loader: one value, the
 * metadata blob of `__loader.map`).
 */
export interface LoaderParts {
  readonly insns: Uint8Array;
  readonly maps: readonly Uint8Array[];
}

/**
 * A signed attribute a scheme adds to the CMS SignerInfo: its OID (dotted) and the byte strings
 * its single value carries, a SEQUENCE OF OCTET STRING in this order (crypto/hornet_attrs.ts
 * writes and reads the DER).
 */
export interface SchemeAttribute {
  readonly oid: string;
  readonly octetStrings: readonly Uint8Array[];
}

/**
 * What the signer hands to CMS: the detached content (chunks hashed as one stream) and, when the
 * scheme needs signed attributes, the extra ones (contentType and messageDigest are implied).
 */
export interface SigningPlan {
  readonly content: readonly Uint8Array[];
  /** null: no signed attributes (bpftool's CMS_NOATTR); else these plus the two required. */
  readonly attributes: readonly SchemeAttribute[] | null;
}

export interface Scheme {
  readonly name: SchemeName;
  /** One line for tables. */
  readonly title: string;
  /** What the signature covers, in words. */
  readonly signed: string;
  /** The checks, in load-path order. */
  readonly checks: readonly SchemeCheck[];
  /** The verdict names the scheme's checks can give, by numeric value. */
  readonly verdicts: Readonly<Record<string, number>>;
  /** The verdicts a policy may treat as "verified". */
  readonly verifiedVerdicts: readonly string[];
  /** Whether the signer must change the loader's instructions (the kfunc scheme's check). */
  readonly loaderCheck: "none" | "kfunc";
  /** Assemble what the signer signs from the loader's parts. */
  plan(parts: LoaderParts): SigningPlan;
}
