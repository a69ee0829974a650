/** The host kernel as a conformance Target (a fresh session keyring per target). */
import type { Target } from "../conformance/harness.js";
import { hostCaps, hostSession } from "../support/host.js";

export function hostTarget(): Target {
  const caps = hostCaps();
  const s = hostSession();
  return {
    name: "host",
    backend: s.backend,
    signatureUnavailable: caps.signatureVerification.available
      ? null
      : caps.signatureVerification.reason,
    registerLsm: null,
    dispose: () => s.dispose(),
  };
}
