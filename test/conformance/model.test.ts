/**
 * The conformance suite against the model kernel with the interpreter installed, in both
 * profiles: `v2` (the spec's series, where every subtest runs to its last assertion) and
 * `mainline-6.18` (this machine's kernel, where signed loads stop at the signature step with
 * EOPNOTSUPP exactly as they do on the host, and everything before that step still runs).
 */
import { type ProfileName, profile } from "../../src/kernel/profile.js";
import { createModelKernel } from "../../src/vm/index.js";
import type { Target } from "./harness.js";
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
signedLoaderSuite(modelTarget("mainline-6.18"));
