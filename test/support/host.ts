/**
 * Host-kernel helpers for tests: the probed capabilities (once per test process), skip reasons
 * for node:test, and a fresh host backend in its own anonymous session keyring whose disposal
 * closes every fd and clears the keyring.
 */
import { HostBackend } from "../../src/host/backend.js";
import { type CapabilityName, type HostCapabilities, probeHost } from "../../src/host/probe.js";
import { KeyctlOp, KeySpec } from "../../src/uapi/constants.js";

let caps: HostCapabilities | null = null;

/** probeHost(), cached for the test process. */
export function hostCaps(): HostCapabilities {
  caps ??= probeHost();
  return caps;
}

/** `false` when every named capability is there, else the reason to skip (for `{ skip }`). */
export function hostSkip(...needs: CapabilityName[]): string | false {
  const c = hostCaps();
  for (const n of ["backend", "bpf", ...needs] as CapabilityName[]) {
    if (!c[n].available) return `host: no ${n}: ${c[n].reason}`;
  }
  return false;
}

export interface HostSession {
  readonly backend: HostBackend;
  /** Serial of the anonymous session keyring this session joined. */
  readonly sessionKeyring: number;
  dispose(): void;
}

/**
 * A host backend in a fresh anonymous session keyring (KEY_SPEC_SESSION_KEYRING then names a
 * keyring only this session fills). dispose() clears that keyring and releases every fd,
 * mapping and allocation of the backend.
 */
export function hostSession(): HostSession {
  const backend = new HostBackend();
  const ses = backend.joinSessionKeyring(null);
  if (ses < 0) {
    backend.dispose();
    throw new Error(`host: joining a new session keyring failed with errno ${-ses}`);
  }
  return {
    backend,
    sessionKeyring: ses,
    dispose() {
      backend.keyctl(KeyctlOp.CLEAR, KeySpec.SESSION_KEYRING);
      backend.dispose();
    },
  };
}
