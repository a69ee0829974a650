/** The conformance suite against the model kernel (profile v2, interpreter installed). */
import { createModelKernel } from "../../src/vm/index.js";
import type { Target } from "./harness.js";
import { signedLoaderSuite } from "./signed_loader.js";

function modelV2(): Target {
  const kernel = createModelKernel({ profile: "v2" });
  const proc = kernel.spawn();
  return {
    name: "model v2",
    backend: proc,
    signatureUnavailable: null,
    registerLsm: (m) => kernel.lsm.register(m),
    dispose: () => proc.exit(),
  };
}

signedLoaderSuite(modelV2);
