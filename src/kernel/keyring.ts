/**
 * Keys and keyrings as the kernel's key management has them, reduced to what BPF signing
 * touches: the system keyrings (builtin, secondary, platform), the calling process's keyrings
 * (thread, process, session, user, user-session), add_key of "asymmetric" (X.509), "keyring" and
 * "user" keys, keyctl's lookups and life-cycle operations, lookup_user_key() as
 * bpf_lookup_user_key() calls it, and the recursive keyring search that PKCS#7 trust
 * validation performs.
 */
import type { AsymmetricKey } from "../crypto/x509.js";
import { parseX509 } from "../crypto/x509.js";
import { KeySpec } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";

export type KeyType = "keyring" | "asymmetric" | "user";

/** Permission bits (include/linux/key.h). */
export const KeyPerm = {
  VIEW: 0x01,
  READ: 0x02,
  WRITE: 0x04,
  SEARCH: 0x08,
  LINK: 0x10,
  SETATTR: 0x20,
  POS_ALL: 0x3f000000,
  USR_VIEW: 0x00010000,
  USR_READ: 0x00020000,
  USR_SEARCH: 0x00080000,
} as const;

const DEFAULT_KEY_PERM = KeyPerm.POS_ALL | KeyPerm.USR_VIEW;
const DEFAULT_KEYRING_PERM =
  KeyPerm.POS_ALL | KeyPerm.USR_VIEW | KeyPerm.USR_READ | KeyPerm.USR_SEARCH;
/** System keyrings: possessor and user may view, read and search; nobody may write. */
const SYSTEM_KEYRING_PERM = 0x0b0b0000;
/** KEYRING_SEARCH_MAX_DEPTH */
const SEARCH_MAX_DEPTH = 6;

export class Key {
  revoked = false;
  invalidated = false;
  /** Expiry time in the kernel clock's milliseconds, 0 = never. */
  expiry = 0;
  /** Keyrings only: linked keys in insertion order. */
  readonly keys: Key[] = [];

  constructor(
    readonly serial: number,
    readonly type: KeyType,
    public description: string,
    public perm: number,
    public payload: Uint8Array | null = null,
    public asym: AsymmetricKey | null = null,
  ) {}

  get isKeyring(): boolean {
    return this.type === "keyring";
  }

  /** key_validate(): the errno that makes this key unusable now, or 0. */
  validate(now: number): number {
    if (this.invalidated) return -Errno.ENOKEY;
    if (this.revoked) return -Errno.EKEYREVOKED;
    if (this.expiry && now >= this.expiry) return -Errno.EKEYEXPIRED;
    return 0;
  }

  /** What the key grants the (possessing, owning) caller: possessor bits OR user bits. */
  granted(): number {
    return ((this.perm >>> 24) | (this.perm >>> 16)) & 0x3f;
  }
}

/** The keyrings one process (task) sees through KEY_SPEC_* ids. */
export interface ProcessKeyrings {
  thread: Key | null;
  process: Key | null;
  session: Key | null;
}

export interface SystemKeyringConfig {
  /** CONFIG_SECONDARY_TRUSTED_KEYRING: without it, id 1 searches the builtin keyring. */
  readonly secondary: boolean;
  /** CONFIG_INTEGRITY_PLATFORM_KEYRING: without it, id 2 fails with ENOKEY. */
  readonly platform: boolean;
  /** bpf-next: the `.bpf` keyring exists; `sealed`: nothing may be added to it. */
  readonly bpf?: { readonly sealed: boolean };
}

/** KEY_SPEC_BPF_KEYRING: bpf-next's `.bpf` keyring (KeySpec.BPF_KEYRING; the name other modules import). */
export const KEY_SPEC_BPF_KEYRING = KeySpec.BPF_KEYRING;

export class KeyringSet {
  private readonly bySerial = new Map<number, Key>();
  private seed: number;
  readonly builtin: Key;
  readonly secondary: Key | null;
  readonly platform: Key | null;
  /** bpf-next's `.bpf` keyring (KEY_SPEC_BPF_KEYRING), or null. */
  readonly bpf: Key | null;
  /** Whether `.bpf` refuses new links (bpf.keyring_unsealed not set). */
  readonly bpfSealed: boolean;
  /** Per-uid user and user-session keyrings (the model runs everything as uid 0). */
  readonly user: Key;
  readonly userSession: Key;
  /** The model clock for key expiry, in milliseconds. */
  now: () => number = () => Date.now();

  constructor(config: SystemKeyringConfig, seed = 0x2545f491) {
    this.seed = seed >>> 0 || 1;
    this.builtin = this.create("keyring", ".builtin_trusted_keys", SYSTEM_KEYRING_PERM);
    this.secondary = config.secondary
      ? this.create("keyring", ".secondary_trusted_keys", SYSTEM_KEYRING_PERM)
      : null;
    if (this.secondary) this.secondary.keys.push(this.builtin);
    this.platform = config.platform
      ? this.create("keyring", ".platform", SYSTEM_KEYRING_PERM)
      : null;
    this.bpf = config.bpf ? this.create("keyring", ".bpf", DEFAULT_KEYRING_PERM) : null;
    this.bpfSealed = config.bpf?.sealed ?? true;
    this.user = this.create("keyring", "_uid.0", DEFAULT_KEYRING_PERM);
    this.userSession = this.create("keyring", "_uid_ses.0", DEFAULT_KEYRING_PERM);
    this.userSession.keys.push(this.user);
  }

  /** A fresh keyring set for a new process: it inherits the session keyring of its parent. */
  newProcessKeyrings(session: Key | null = null): ProcessKeyrings {
    return {
      thread: null,
      process: null,
      session: session ?? this.create("keyring", "_ses", DEFAULT_KEYRING_PERM),
    };
  }

  get(serial: number): Key | undefined {
    return this.bySerial.get(serial);
  }

  /** Serials are random positive 31-bit numbers in the kernel; here a seeded xorshift. */
  private nextSerial(): number {
    for (;;) {
      let x = this.seed;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.seed = x >>> 0;
      const serial = this.seed & 0x7fffffff;
      if (serial >= 3 && !this.bySerial.has(serial)) return serial;
    }
  }

  create(
    type: KeyType,
    description: string,
    perm = type === "keyring" ? DEFAULT_KEYRING_PERM : DEFAULT_KEY_PERM,
    payload: Uint8Array | null = null,
    asym: AsymmetricKey | null = null,
  ): Key {
    const key = new Key(this.nextSerial(), type, description, perm, payload, asym);
    this.bySerial.set(key.serial, key);
    return key;
  }

  /**
   * Puts a certificate into a system keyring as the kernel does at boot (built-in certificates,
   * or ones a platform firmware provides). Returns the new key or the X.509 parse failure.
   */
  trustSystemCertificate(
    which: "builtin" | "secondary" | "platform",
    der: Uint8Array,
  ): Key | { errno: number; reason: string } {
    const ring =
      which === "builtin" ? this.builtin : which === "secondary" ? this.secondary : this.platform;
    if (!ring) return { errno: Errno.ENOKEY, reason: `the ${which} keyring is not configured` };
    const parsed = parseX509(der);
    if (!parsed.ok) return { errno: Errno[parsed.errno], reason: parsed.reason };
    const key = this.create(
      "asymmetric",
      parsed.value.description,
      DEFAULT_KEY_PERM,
      null,
      parsed.value,
    );
    ring.keys.push(key);
    return key;
  }

  /**
   * lookup_user_key(id, lflags, need_perm) for the calling process: the key, or a negative
   * errno. `create` is KEY_LOOKUP_CREATE (only keyctl and add_key pass it). `deferPermCheck` is
   * need_perm = KEY_DEFER_PERM_CHECK (bpf_lookup_user_key()): then the key_validate() errors of
   * wait_for_key_construction() are tolerated and a revoked, expired or invalidated key still
   * resolves; its user checks key_validate() itself later.
   */
  lookupUserKey(
    proc: ProcessKeyrings,
    id: number,
    create: boolean,
    deferPermCheck = false,
  ): Key | number {
    let key: Key | null | undefined;
    switch (id) {
      case KeySpec.THREAD_KEYRING:
        if (!proc.thread && create) proc.thread = this.create("keyring", "_tid");
        key = proc.thread;
        if (!key) return -Errno.ENOKEY;
        break;
      case KeySpec.PROCESS_KEYRING:
        if (!proc.process && create) proc.process = this.create("keyring", "_pid");
        key = proc.process;
        if (!key) return -Errno.ENOKEY;
        break;
      case KeySpec.SESSION_KEYRING:
        // Without a session keyring the kernel installs the user-session keyring.
        if (!proc.session) proc.session = this.userSession;
        key = proc.session;
        break;
      case KeySpec.USER_KEYRING:
        key = this.user;
        break;
      case KeySpec.USER_SESSION_KEYRING:
        key = this.userSession;
        break;
      case KeySpec.GROUP_KEYRING:
        return -Errno.EINVAL;
      case KeySpec.REQKEY_AUTH_KEY:
      case KeySpec.REQUESTOR_KEYRING:
        return -Errno.ENOKEY;
      case KeySpec.BPF_KEYRING:
        if (!this.bpf) return -Errno.EINVAL;
        key = this.bpf;
        break;
      default:
        if (id < 1) return -Errno.EINVAL;
        key = this.bySerial.get(id);
        if (!key) return -Errno.ENOKEY;
    }
    if (deferPermCheck) return key;
    const v = key.validate(this.now());
    return v < 0 ? v : key;
  }

  /**
   * keyring_search() for an asymmetric key whose id[0] or id[1] equals `id` exactly ("ex:"),
   * starting at `keyring`, as find_asymmetric_key() does: depth-first, nested keyrings up to
   * six deep, skipping unusable keys and keyrings the caller may not search. Returns null when
   * nothing matches, the start is not a keyring, or it may not be searched (all ENOKEY).
   */
  searchAsymmetric(keyring: Key, id: Uint8Array): AsymmetricKey | null {
    if (!keyring.isKeyring) return null;
    if (!(keyring.granted() & KeyPerm.SEARCH)) return null;
    const now = this.now();
    const seen = new Set<Key>();
    const walk = (ring: Key, depth: number): AsymmetricKey | null => {
      seen.add(ring);
      for (const k of ring.keys) {
        if (k.type !== "asymmetric" || !k.asym || k.validate(now) < 0) continue;
        const [id0, id1] = k.asym.ids;
        if (bytesEqual(id0, id) || (id1 && bytesEqual(id1, id))) return k.asym;
      }
      if (depth >= SEARCH_MAX_DEPTH) return null;
      for (const k of ring.keys) {
        if (!k.isKeyring || seen.has(k) || k.validate(now) < 0) continue;
        if (!(k.granted() & KeyPerm.SEARCH)) continue;
        const found = walk(k, depth + 1);
        if (found) return found;
      }
      return null;
    };
    return walk(keyring, 1);
  }

  /** add_key(type, description, payload, keyring): the serial or a negative errno. */
  addKey(
    proc: ProcessKeyrings,
    type: string,
    description: string,
    payload: Uint8Array | null,
    dest: number,
  ): number {
    if (type !== "asymmetric" && type !== "keyring" && type !== "user") {
      return type.startsWith(".") ? -Errno.EPERM : -Errno.ENODEV;
    }
    if (type === "keyring" && description.startsWith(".")) return -Errno.EPERM;
    const ring = this.lookupUserKey(proc, dest, true);
    if (typeof ring === "number") return ring;
    if (!ring.isKeyring) return -Errno.ENOTDIR;
    // A sealed keyring's restriction refuses every link (restrict_link_reject).
    if (ring === this.bpf && this.bpfSealed) return -Errno.EPERM;
    if (!(ring.granted() & KeyPerm.WRITE)) return -Errno.EACCES;

    let asym: AsymmetricKey | null = null;
    if (type === "keyring") {
      if (payload?.length) return -Errno.EINVAL;
      if (!description) return -Errno.EINVAL;
    } else if (type === "user") {
      if (!description || !payload || payload.length === 0 || payload.length > 32767) {
        return -Errno.EINVAL;
      }
    } else {
      if (!payload || payload.length === 0) return -Errno.EINVAL;
      const parsed = parseX509(payload);
      if (!parsed.ok) return -Errno[parsed.errno];
      asym = parsed.value;
      if (!description) description = asym.description;
    }
    // add_key() updates a key of the same type and description in place, when it can.
    const existing = ring.keys.find(
      (k) => k.type === type && k.description === description && !k.revoked && !k.invalidated,
    );
    if (existing && type !== "keyring") {
      existing.payload = payload;
      existing.asym = asym;
      return existing.serial;
    }
    const key = this.create(type, description, undefined, type === "user" ? payload : null, asym);
    ring.keys.push(key);
    return key.serial;
  }

  /** KEYCTL_LINK / KEYCTL_UNLINK. */
  link(proc: ProcessKeyrings, keyId: number, ringId: number, unlink: boolean): number {
    const key = this.lookupUserKey(proc, keyId, false);
    if (typeof key === "number") return key;
    const ring = this.lookupUserKey(proc, ringId, true);
    if (typeof ring === "number") return ring;
    if (!ring.isKeyring) return -Errno.ENOTDIR;
    // A sealed keyring's restriction refuses every link (restrict_link_reject).
    if (ring === this.bpf && this.bpfSealed) return -Errno.EPERM;
    if (!(ring.granted() & KeyPerm.WRITE)) return -Errno.EACCES;
    const i = ring.keys.indexOf(key);
    if (unlink) {
      if (i < 0) return -Errno.ENOENT;
      ring.keys.splice(i, 1);
    } else if (i < 0) {
      if (key === ring || (key.isKeyring && this.reaches(key, ring))) return -Errno.EDEADLK;
      ring.keys.push(key);
    }
    return 0;
  }

  private reaches(from: Key, to: Key): boolean {
    const stack = [from];
    const seen = new Set<Key>();
    while (stack.length) {
      const k = stack.pop() as Key;
      if (k === to) return true;
      if (seen.has(k)) continue;
      seen.add(k);
      for (const c of k.keys) if (c.isKeyring) stack.push(c);
    }
    return false;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
