/**
 * The conformance suite against the model kernel with the interpreter installed, in every
 * profile: `v2` (the spec's series, where every subtest runs to its last assertion), `bpf-next`
 * (the series as merged: every subtest too), `mainline-6.18` (this machine's kernel, where signed
 * loads stop at the signature step with EOPNOTSUPP exactly as they do on the host, and
 * everything before that step still runs), and the two alternative designs, `kfunc` and
 * `hornet`, with the subtests they have (the others skip saying why; each design's own subtests
 * are in test/scheme/profiles.test.ts).
 */
import { type ProfileName, profile } from "../../src/kernel/profile.js";
import { createModelKernel } from "../../src/vm/index.js";
import type { Target } from "./harness.js";
import { newerSelftestSuite } from "./newer_selftest.js";
import { signedLoaderSuite } from "./signed_loader.js";

function modelTarget(name: ProfileName): () => Target {
  const target = (): Target => {
    const kernel = createModelKernel({ profile: name });
    const proc = kernel.spawn();
    return {
      name: `model ${name}`,
      backend: proc,
      signatureUnavailable: profile(name).systemDataVerification
        ? null
        : "CONFIG_SYSTEM_DATA_VERIFICATION is off in this profile",
      registerLsm: (m) => kernel.lsm.register(m),
      dispose: () => proc.exit(),
    };
  };
  Object.defineProperty(target, "name", { value: `model ${name}` });
  return target;
}

signedLoaderSuite(modelTarget("v2"));
signedLoaderSuite(modelTarget("bpf-next"));
// The newest selftest's extra subtests: the merged series' design.
newerSelftestSuite(modelTarget("bpf-next"));
signedLoaderSuite(modelTarget("mainline-6.18"));
/** Subtests about v2's signed bytes (insns || metadata) and its check inside the verifier. */
const V2_CONTENT =
  "this design signs the instructions only (the metadata is checked elsewhere): see test/scheme/profiles.test.ts";
const KFUNC_ENTRY =
  "the kfunc design checks the signature at BPF_PROG_LOAD entry, before fd_array is looked at, and logs nothing";
const HORNET_NO_ENFORCE =
  "Hornet enforces nothing: a bad signature is a verdict for the post-integrity hook, and the load goes on";

signedLoaderSuite(modelTarget("kfunc"), {
  loadtime_no_map: V2_CONTENT,
  loadtime_with_map: V2_CONTENT,
  signature_authenticates_insns: V2_CONTENT,
  loadtime_vector_signatures: V2_CONTENT,
  lsm_signature_verdict: V2_CONTENT,
  signed_nonexcl_fd_array_rejected: KFUNC_ENTRY,
  signed_nonarray_fd_array_rejected: KFUNC_ENTRY,
  signed_btf_fd_array_rejected: KFUNC_ENTRY,
  signature_failure_logs: KFUNC_ENTRY,
});
signedLoaderSuite(modelTarget("hornet"), {
  signature_authenticates_insns: V2_CONTENT,
  lsm_signature_verdict: V2_CONTENT,
  signature_enforced: HORNET_NO_ENFORCE,
  signed_nonexcl_fd_array_rejected: HORNET_NO_ENFORCE,
  signed_btf_fd_array_rejected: HORNET_NO_ENFORCE,
  signature_failure_logs: HORNET_NO_ENFORCE,
  signature_too_large: HORNET_NO_ENFORCE,
  signature_bad_keyring: HORNET_NO_ENFORCE,
});
