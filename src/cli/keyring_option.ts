/**
 * `--keyring`, as `audit` and `load` read it: one of the names builtin, secondary, platform (the
 * system keyrings, VERIFY_USE_*_KEYRING), user (the session keyring `--cert` fills) or
 * user:SERIAL, case-insensitive; `load` also takes a bpf_attr keyring_id number. Each command
 * words its own usage error.
 */
import {
  KeySpec,
  VERIFY_USE_BUILTIN_KEYRING,
  VERIFY_USE_PLATFORM_KEYRING,
  VERIFY_USE_SECONDARY_KEYRING,
} from "../uapi/constants.js";
import { UsageError } from "./errors.js";

export type SystemKeyring = "builtin" | "secondary" | "platform";

export interface KeyringName {
  kind: SystemKeyring | "user";
  /** user:SERIAL's serial; null for the other names and for a bare `user` */
  serial: number | null;
}

/** A keyring name (see above), or null when `s` is not one. */
export function parseKeyringName(s: string): KeyringName | null {
  const m = /^(builtin|secondary|platform|user)(?::(\d+))?$/i.exec(s);
  if (!m) return null;
  const kind = m[1].toLowerCase() as KeyringName["kind"];
  if (m[2] !== undefined && kind !== "user") return null;
  return { kind, serial: m[2] === undefined ? null : Number(m[2]) };
}

const SYSTEM_KEYRING_ID: Record<SystemKeyring, number> = {
  builtin: VERIFY_USE_BUILTIN_KEYRING,
  secondary: VERIFY_USE_SECONDARY_KEYRING,
  platform: VERIFY_USE_PLATFORM_KEYRING,
};

/**
 * `load --keyring`: the bpf_attr keyring_id, either as a number (a key serial, or a negative
 * KEY_SPEC_* value such as -3 for the session keyring) or a keyring name (`user` is
 * KEY_SPEC_SESSION_KEYRING); and, for builtin, secondary and platform, the system keyring the
 * model trusts the --cert certificates in.
 */
export function parseLoadKeyring(s: string): { id: number; system: SystemKeyring | null } {
  let id: number | null = null;
  let system: SystemKeyring | null = null;
  if (/^-?\d+$/.test(s)) id = Number(s);
  else {
    const k = parseKeyringName(s);
    if (k?.kind === "user") id = k.serial ?? KeySpec.SESSION_KEYRING;
    else if (k) {
      id = SYSTEM_KEYRING_ID[k.kind];
      system = k.kind;
    }
  }
  if (id === null || id < -(2 ** 31) || id >= 2 ** 31)
    throw new UsageError(
      `--keyring must be a 32-bit keyring id (a key serial or a negative KEY_SPEC value), builtin, secondary, platform, user or user:SERIAL, not '${s}'`,
    );
  return { id, system };
}

/** `load --keyring`'s keyring_id (parseLoadKeyring). */
export function parseKeyringId(s: string): number {
  return parseLoadKeyring(s).id;
}
