/**
 * The adversary's expected outcomes, written from the designs before running them (the tests
 * assert every cell against what the model kernel does). A cell reads
 *
 *   OUTCOME[@WHERE][ ERRNO] adm=VERDICT post=LSM:VERDICT[ COMPROMISED]
 *
 * OUTCOME: `admitted`; `refused` (BPF_PROG_LOAD failed); `loader-refused` (loaded, but the
 * loader's own check stopped it when it ran). WHERE: the hook that refused (`bpf_prog_load`
 * entry check, `bpf_check` signature step, `verifier_bind`, `after_resolve`, the policy at
 * `security_bpf_prog_load` or `post_integrity`, the kfunc `bpf_loader_verify_metadata`).
 * adm: the verdict the admission hook saw for the loader (`-`: not reached). post: the last
 * report to the post-integrity hook (`-`: none). COMPROMISED: the loader was admitted and ran
 * past every check with metadata (or host overrides) the signer did not sign.
 *
 * Every run registers the RequireVerified policy (src/lsm/require_verified.ts), so "refused at
 * post_integrity" is that policy acting on the scheme's verdict; without it Hornet would admit.
 */
import { PROFILE_NAMES, type ProfileName } from "../kernel/profile.js";

/**
 * The columns of the table: every profile, plus bpf-next with `bpf.keyring_unsealed=1`, where the
 * trusted key is in the `.bpf` keyring and loads name it (KEY_SPEC_BPF_KEYRING).
 */
export type TargetName = ProfileName | "bpf-next/unsealed";

export const TARGET_NAMES: readonly TargetName[] = [
  "v2",
  "bpf-next",
  "bpf-next/unsealed",
  ...PROFILE_NAMES.filter((p) => p !== "v2" && p !== "bpf-next"),
];

/** The profile a target runs, and whether bpf.keyring_unsealed is set. */
export function targetProfile(t: TargetName): { profile: ProfileName; keyringUnsealed: boolean } {
  return t === "bpf-next/unsealed"
    ? { profile: "bpf-next", keyringUnsealed: true }
    : { profile: t, keyringUnsealed: false };
}

export const ATTACKS = [
  "none",
  "unsigned",
  "fd_array_toctou",
  "fd_array_slot_swap",
  "bind_extra_map",
  "bind_btf",
  "update_before_freeze",
  "writable_mmap",
  "replay_other_metadata",
  "host_overrides",
  "keyring_swap",
  "signature_truncation",
] as const;

export type AttackName = (typeof ATTACKS)[number];

export const ATTACK_DESCRIPTIONS: Readonly<Record<AttackName, string>> = {
  none: "the signed loader as its tooling made it (control)",
  unsigned: "the signature removed",
  fd_array_toctou:
    "after the check and before use, a racing thread rewrites fd_array[0] to a look-alike exclusive frozen map with other metadata (the v1 fd_array TOCTOU)",
  fd_array_slot_swap:
    "fd_array = {metadata, look-alike} with fd_array_cnt 2; the racing thread swaps the two slots after the check",
  bind_extra_map: "fd_array_cnt 2 binds an extra ordinary (not exclusive, not frozen) array map",
  bind_btf: "fd_array_cnt 2 binds a BTF object after the metadata map",
  update_before_freeze: "the metadata map is updated with other content before it is frozen",
  writable_mmap:
    "the metadata map is mmapable and written through a writable mapping, so it cannot be frozen (EBUSY) and loads unfrozen",
  replay_other_metadata: "a valid signature replayed with other metadata in the map",
  host_overrides: "the host's loader ctx asks for max_entries 0x4000 on the first map",
  keyring_swap:
    "the attacker signs altered metadata with their own key and names their own keyring (keyring_id)",
  signature_truncation: "the signature cut to half its length",
};

/** What decides a cell besides the design: whether the loader honours host overrides. */
export interface SkeletonTraits {
  /** The loader was generated without gen_hash and takes map sizes/values from the host ctx. */
  readonly honoursHostOverrides: boolean;
}

type Row = Readonly<Record<ProfileName, string>>;
type FullRow = Readonly<Record<TargetName, string>>;

const NOSIG = "refused@bpf_prog_load EOPNOTSUPP adm=- post=-";
const OK_V2 = "admitted adm=VERIFIED post=bpf:VERIFIED";
const OK_KFUNC = "admitted adm=OK post=bpf:METADATA_VERIFIED";
const OK_HORNET = "admitted adm=hornet:OK post=hornet:OK";
const KFUNC_CATCHES = "loader-refused@bpf_loader_verify_metadata EINVAL adm=OK post=-";

function rows(t: SkeletonTraits): Readonly<Record<AttackName, Row>> {
  const ov = t.honoursHostOverrides ? " COMPROMISED" : "";
  return {
    none: {
      v2: OK_V2,
      "bpf-next": OK_V2,
      "mainline-6.18": NOSIG,
      kfunc: OK_KFUNC,
      hornet: OK_HORNET,
    },
    unsigned: {
      // No integrity check reports on an unsigned load in the BPF core's designs: the policy's
      // admission rule catches it.
      v2: "refused@security_bpf_prog_load EPERM adm=UNSIGNED post=-",
      "bpf-next": "refused@security_bpf_prog_load EPERM adm=UNSIGNED post=-",
      "mainline-6.18": "refused@security_bpf_prog_load EPERM adm=UNSIGNED post=-",
      kfunc: "refused@security_bpf_prog_load EPERM adm=UNSIGNED post=-",
      hornet: "refused@post_integrity EPERM adm=- post=hornet:UNSIGNED",
    },
    fd_array_toctou: {
      // v2 re-reads the slot when resolving MAP_IDX: a second map, caught by the count.
      v2: "refused@after_resolve EACCES adm=VERIFIED post=bpf:VERIFIED",
      // bpf-next resolved the slot once and uses the cached map: the rewrite has no effect.
      "bpf-next": OK_V2,
      "mainline-6.18": NOSIG,
      kfunc: KFUNC_CATCHES,
      // Hornet hashed the map fd_array named at entry; the verifier binds what it names later.
      hornet: `${OK_HORNET} COMPROMISED`,
    },
    fd_array_slot_swap: {
      v2: "refused@bpf_check EKEYREJECTED adm=- post=-",
      "bpf-next": "refused@bpf_check EKEYREJECTED adm=- post=-",
      "mainline-6.18": NOSIG,
      kfunc: KFUNC_CATCHES,
      hornet: "refused@post_integrity EPERM adm=- post=hornet:UNEXPECTED",
    },
    bind_extra_map: {
      v2: "refused@bpf_check EPERM adm=- post=-",
      "bpf-next": "refused@bpf_check EPERM adm=- post=-",
      "mainline-6.18": NOSIG,
      // The kfunc checks map 0 only; the extra map is bound but the loader never uses it.
      kfunc: OK_KFUNC,
      hornet: "refused@post_integrity EPERM adm=- post=hornet:UNEXPECTED",
    },
    bind_btf: {
      v2: "refused@after_resolve EACCES adm=VERIFIED post=bpf:VERIFIED",
      "bpf-next": "refused@verifier_bind EACCES adm=- post=-",
      "mainline-6.18": NOSIG,
      kfunc: OK_KFUNC,
      // Hornet hashes maps; a BTF fd is the verifier's business.
      hornet: OK_HORNET,
    },
    update_before_freeze: {
      v2: "refused@bpf_check EKEYREJECTED adm=- post=-",
      "bpf-next": "refused@bpf_check EKEYREJECTED adm=- post=-",
      "mainline-6.18": NOSIG,
      kfunc: KFUNC_CATCHES,
      hornet: "refused@post_integrity EPERM adm=- post=hornet:UNEXPECTED",
    },
    writable_mmap: {
      v2: "refused@bpf_check EPERM adm=- post=-",
      "bpf-next": "refused@bpf_check EPERM adm=- post=-",
      "mainline-6.18": NOSIG,
      kfunc: "loader-refused@bpf_loader_verify_metadata EPERM adm=OK post=-",
      hornet: "refused@post_integrity EPERM adm=- post=hornet:UNEXPECTED",
    },
    replay_other_metadata: {
      v2: "refused@bpf_check EKEYREJECTED adm=- post=-",
      "bpf-next": "refused@bpf_check EKEYREJECTED adm=- post=-",
      "mainline-6.18": NOSIG,
      kfunc: KFUNC_CATCHES,
      hornet: "refused@post_integrity EPERM adm=- post=hornet:UNEXPECTED",
    },
    host_overrides: {
      v2: OK_V2 + ov,
      "bpf-next": OK_V2 + ov,
      "mainline-6.18": NOSIG,
      kfunc: OK_KFUNC + ov,
      hornet: OK_HORNET + ov,
    },
    keyring_swap: {
      // Every scheme trusts the keyring the caller names: the verdict does not say whose key.
      v2: `${OK_V2} COMPROMISED`,
      "bpf-next": `${OK_V2} COMPROMISED`,
      "mainline-6.18": NOSIG,
      kfunc: `${OK_KFUNC} COMPROMISED`,
      hornet: `${OK_HORNET} COMPROMISED`,
    },
    signature_truncation: {
      v2: "refused@bpf_check EBADMSG adm=- post=-",
      "bpf-next": "refused@bpf_check EBADMSG adm=- post=-",
      "mainline-6.18": NOSIG,
      kfunc: "refused@bpf_prog_load EBADMSG adm=- post=-",
      hornet: "refused@post_integrity EPERM adm=- post=hornet:BADSIG",
    },
  };
}

/**
 * bpf-next with the `.bpf` keyring unsealed behaves as bpf-next, except that a caller-supplied
 * keyring is refused (EPERM) before the signature is looked at.
 */
function withUnsealed(attack: AttackName, row: Row): FullRow {
  return {
    ...row,
    "bpf-next/unsealed":
      attack === "keyring_swap" ? "refused@bpf_check EPERM adm=- post=-" : row["bpf-next"],
  };
}

/** The expected cell for an attack on a target. */
export function expectedOutcome(attack: AttackName, target: TargetName, t: SkeletonTraits): string {
  return withUnsealed(attack, rows(t)[attack])[target];
}
