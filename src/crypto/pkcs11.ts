/**
 * PKCS#11 signing through koffi (the FFI the host backend uses; nothing to compile): a private
 * key on a token (an HSM, a smart card, SoftHSM) named by an RFC 7512 `pkcs11:` URI signs the
 * SHA-256 digest of a loader, and a certificate can be read from the token the same way.
 *
 * Every operation is one scope: C_Initialize, find the token, C_OpenSession, C_Login when the
 * token needs it, the work, then C_Logout, C_CloseSession and C_Finalize on every path, errors
 * included. Nothing is kept open between operations.
 *
 * Mechanisms: RSA signs with CKM_RSA_PKCS over a DigestInfo we build from the digest, or, on a
 * token that only hashes and signs, CKM_SHA256_RSA_PKCS over the content (both give the same
 * PKCS#1 v1.5 bytes). ECDSA signs with CKM_ECDSA over the digest (or CKM_ECDSA_SHA256 over the
 * content) and the token's raw r||s is turned into the DER the CMS carries.
 *
 * The PIN comes from the URI (pin-value, or pin-source naming a file) or from an environment
 * variable; it is never part of a message (URIs are shown without pin-value).
 *
 * This file is I/O by nature (it loads a native module and reads a PIN file); the URI parser and
 * the byte helpers are pure.
 */

import { createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { der, readTlv, Tag, tlvValue, toHex } from "./asn1.js";
import { OID } from "./oid.js";
import {
  ecCoordinateBytes,
  ecdsaRawToDer,
  type RawSignatureAlgorithm,
  type RawSigner,
  type SignRequest,
  sha256DigestInfo,
} from "./signer.js";

// ---------------------------------------------------------------------------------------------
// Errors

/** Codes of Pkcs11Error, one per case; the CLI gives each its exit code (README). */
export type Pkcs11ErrorCode =
  | "PKCS11_BAD_URI"
  | "PKCS11_NO_MODULE"
  | "PKCS11_MODULE_NOT_FOUND"
  | "PKCS11_NOT_A_MODULE"
  | "PKCS11_TOKEN_NOT_FOUND"
  | "PKCS11_TOKEN_AMBIGUOUS"
  | "PKCS11_PIN_REQUIRED"
  | "PKCS11_PIN_SOURCE_UNREADABLE"
  | "PKCS11_PIN_INCORRECT"
  | "PKCS11_PIN_LOCKED"
  | "PKCS11_OBJECT_NOT_FOUND"
  | "PKCS11_OBJECT_AMBIGUOUS"
  | "PKCS11_MECHANISM_UNSUPPORTED"
  | "PKCS11_KEY_UNSUPPORTED"
  | "PKCS11_FAILED";

/** A PKCS#11 failure. `rv` is the CK_RV when a call failed (its name is in the message). */
export class Pkcs11Error extends Error {
  override readonly name = "Pkcs11Error";
  constructor(
    readonly code: Pkcs11ErrorCode,
    message: string,
    readonly rv: number | null = null,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Constants (PKCS#11 v2.40 numbers)

const CKR = {
  OK: 0x0,
  ATTRIBUTE_SENSITIVE: 0x11,
  ATTRIBUTE_TYPE_INVALID: 0x12,
  DEVICE_REMOVED: 0x32,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  KEY_TYPE_INCONSISTENT: 0x63,
  MECHANISM_INVALID: 0x70,
  MECHANISM_PARAM_INVALID: 0x71,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  USER_ALREADY_LOGGED_IN: 0x100,
  USER_NOT_LOGGED_IN: 0x101,
  USER_PIN_NOT_INITIALIZED: 0x102,
  BUFFER_TOO_SMALL: 0x150,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
} as const;

const CKR_NAMES: Readonly<Record<number, string>> = {
  1: "CKR_CANCEL",
  2: "CKR_HOST_MEMORY",
  3: "CKR_SLOT_ID_INVALID",
  5: "CKR_GENERAL_ERROR",
  6: "CKR_FUNCTION_FAILED",
  7: "CKR_ARGUMENTS_BAD",
  17: "CKR_ATTRIBUTE_SENSITIVE",
  18: "CKR_ATTRIBUTE_TYPE_INVALID",
  33: "CKR_DATA_LEN_RANGE",
  48: "CKR_DEVICE_ERROR",
  49: "CKR_DEVICE_MEMORY",
  50: "CKR_DEVICE_REMOVED",
  84: "CKR_FUNCTION_NOT_SUPPORTED",
  96: "CKR_KEY_HANDLE_INVALID",
  99: "CKR_KEY_TYPE_INCONSISTENT",
  104: "CKR_KEY_FUNCTION_NOT_PERMITTED",
  112: "CKR_MECHANISM_INVALID",
  113: "CKR_MECHANISM_PARAM_INVALID",
  130: "CKR_OBJECT_HANDLE_INVALID",
  144: "CKR_OPERATION_ACTIVE",
  160: "CKR_PIN_INCORRECT",
  161: "CKR_PIN_INVALID",
  162: "CKR_PIN_LEN_RANGE",
  163: "CKR_PIN_EXPIRED",
  164: "CKR_PIN_LOCKED",
  179: "CKR_SESSION_HANDLE_INVALID",
  224: "CKR_TOKEN_NOT_PRESENT",
  225: "CKR_TOKEN_NOT_RECOGNIZED",
  256: "CKR_USER_ALREADY_LOGGED_IN",
  257: "CKR_USER_NOT_LOGGED_IN",
  258: "CKR_USER_PIN_NOT_INITIALIZED",
  336: "CKR_BUFFER_TOO_SMALL",
  400: "CKR_CRYPTOKI_NOT_INITIALIZED",
  401: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
};

/** The name of a CK_RV ("CKR_PIN_INCORRECT"), or its hex value. */
export function ckrName(rv: number): string {
  return CKR_NAMES[rv] ?? `CKR_0x${rv.toString(16)}`;
}

const CKF = {
  // token flags
  LOGIN_REQUIRED: 0x4,
  PROTECTED_AUTHENTICATION_PATH: 0x100,
  TOKEN_INITIALIZED: 0x400,
  USER_PIN_LOCKED: 0x40000,
  // session flags
  SERIAL_SESSION: 0x4,
} as const;

const CKU_USER = 1;
const CKU_CONTEXT_SPECIFIC = 2;

const CKA = {
  CLASS: 0x0,
  LABEL: 0x3,
  VALUE: 0x11,
  KEY_TYPE: 0x100,
  ID: 0x102,
  MODULUS: 0x120,
  PUBLIC_EXPONENT: 0x122,
  EC_PARAMS: 0x180,
  EC_POINT: 0x181,
  ALWAYS_AUTHENTICATE: 0x202,
} as const;

const CKO = { CERTIFICATE: 1, PUBLIC_KEY: 2, PRIVATE_KEY: 3, SECRET_KEY: 4, DATA: 0 } as const;
const CKK = { RSA: 0, EC: 3 } as const;
const CKM = {
  RSA_PKCS: 0x1,
  SHA256_RSA_PKCS: 0x40,
  ECDSA: 0x1041,
  ECDSA_SHA256: 0x1044,
} as const;

/** Positions in CK_FUNCTION_LIST (after the 2-byte version, one pointer each). */
const FN = {
  C_Initialize: 0,
  C_Finalize: 1,
  C_GetSlotList: 4,
  C_GetTokenInfo: 6,
  C_GetMechanismList: 7,
  C_OpenSession: 12,
  C_CloseSession: 13,
  C_Login: 18,
  C_Logout: 19,
  C_GetAttributeValue: 24,
  C_FindObjectsInit: 26,
  C_FindObjects: 27,
  C_FindObjectsFinal: 28,
  C_SignInit: 42,
  C_Sign: 43,
} as const;

/** Every pointer is passed as an address into memory we allocated (see Arena). */
const PROTOS: Readonly<Record<keyof typeof FN, string>> = {
  C_Initialize: "unsigned long C_Initialize(uintptr_t args)",
  C_Finalize: "unsigned long C_Finalize(uintptr_t reserved)",
  C_GetSlotList: "unsigned long C_GetSlotList(uint8_t present, uintptr_t list, uintptr_t count)",
  C_GetTokenInfo: "unsigned long C_GetTokenInfo(unsigned long slot, uintptr_t info)",
  C_GetMechanismList:
    "unsigned long C_GetMechanismList(unsigned long slot, uintptr_t list, uintptr_t count)",
  C_OpenSession:
    "unsigned long C_OpenSession(unsigned long slot, unsigned long flags, uintptr_t app, uintptr_t notify, uintptr_t session)",
  C_CloseSession: "unsigned long C_CloseSession(unsigned long session)",
  C_Login:
    "unsigned long C_Login(unsigned long session, unsigned long user, uintptr_t pin, unsigned long len)",
  C_Logout: "unsigned long C_Logout(unsigned long session)",
  C_GetAttributeValue:
    "unsigned long C_GetAttributeValue(unsigned long session, unsigned long obj, uintptr_t tmpl, unsigned long count)",
  C_FindObjectsInit:
    "unsigned long C_FindObjectsInit(unsigned long session, uintptr_t tmpl, unsigned long count)",
  C_FindObjects:
    "unsigned long C_FindObjects(unsigned long session, uintptr_t objs, unsigned long max, uintptr_t count)",
  C_FindObjectsFinal: "unsigned long C_FindObjectsFinal(unsigned long session)",
  C_SignInit:
    "unsigned long C_SignInit(unsigned long session, uintptr_t mechanism, unsigned long key)",
  C_Sign:
    "unsigned long C_Sign(unsigned long session, uintptr_t data, unsigned long len, uintptr_t sig, uintptr_t siglen)",
};

/** CK_TOKEN_INFO on LP64: four padded strings (96 bytes), then CK_ULONG flags. */
const TOKEN_INFO_SIZE = 208;
const TOKEN_INFO_FLAGS = 96;
/** CK_ULONG -1: the value of an attribute that cannot be revealed. */
const CK_UNAVAILABLE = 0xffff_ffff_ffff_ffffn;

// ---------------------------------------------------------------------------------------------
// RFC 7512 URIs (pure)

export type Pkcs11ObjectType = "private" | "public" | "cert" | "secret-key" | "data";

/** The attributes of a `pkcs11:` URI this signer uses. */
export interface Pkcs11Uri {
  readonly token?: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serial?: string;
  readonly slotId?: number;
  readonly object?: string;
  readonly id?: Uint8Array;
  readonly type?: Pkcs11ObjectType;
  readonly pinValue?: string;
  readonly pinSource?: string;
  readonly modulePath?: string;
}

const OBJECT_TYPES = new Set<string>(["private", "public", "cert", "secret-key", "data"]);
/** Path attributes that name a module, a library or a slot: accepted, not used for matching. */
const IGNORED_ATTRS = new Set([
  "library-manufacturer",
  "library-description",
  "library-version",
  "slot-description",
  "slot-manufacturer",
  "module-name",
]);

export const isPkcs11Uri = (s: string): boolean => /^pkcs11:/i.test(s);

/** Percent-decode to bytes (RFC 3986); throws on a bad escape. */
function pctDecode(s: string): Uint8Array {
  const out: number[] = [];
  const raw = Buffer.from(s, "utf8");
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x25) {
      out.push(raw[i]);
      continue;
    }
    const hex = raw.subarray(i + 1, i + 3).toString("latin1");
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`bad percent escape at "${s.slice(i)}"`);
    out.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Uint8Array.from(out);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parse a `pkcs11:` URI: path attributes separated by ';' (token, manufacturer, model, serial,
 * slot-id, object, id, type), query attributes after '?' separated by '&' (pin-value,
 * pin-source, module-path). As sign-file and p11-kit do, pin-value and pin-source are also taken
 * from the path. Unknown attributes are refused (they could not be matched), except vendor
 * ones (x-…). Throws Pkcs11Error PKCS11_BAD_URI, whose message never contains the PIN.
 */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  const bad = (why: string) =>
    new Pkcs11Error("PKCS11_BAD_URI", `bad pkcs11 URI ${redactPkcs11Uri(uri)}: ${why}`);
  if (!isPkcs11Uri(uri)) throw bad('it does not start with "pkcs11:"');
  const rest = uri.slice("pkcs11:".length);
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? "" : rest.slice(q + 1);
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  const parts = [
    ...(path ? path.split(";") : []).map((p) => ({ p, inQuery: false })),
    ...(query ? query.split("&") : []).map((p) => ({ p, inQuery: true })),
  ];
  for (const { p, inQuery } of parts) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw bad(`"${p.startsWith("pin-value") ? "pin-value" : p}" is not name=value`);
    const name = p.slice(0, eq).toLowerCase();
    const value = p.slice(eq + 1);
    if (seen.has(name)) throw bad(`attribute ${name} appears twice`);
    seen.add(name);
    let bytes: Uint8Array;
    try {
      bytes = pctDecode(value);
    } catch (e) {
      throw bad(`${name}: ${name === "pin-value" ? "bad percent escape" : (e as Error).message}`);
    }
    const text = (): string => {
      try {
        return utf8.decode(bytes);
      } catch {
        throw bad(`${name} is not UTF-8`);
      }
    };
    switch (name) {
      case "token":
      case "manufacturer":
      case "model":
      case "serial":
      case "object":
        out[name] = text();
        break;
      case "id":
        out.id = bytes;
        break;
      case "slot-id": {
        const t = text();
        if (!/^[0-9]+$/.test(t)) throw bad(`slot-id "${t}" is not a number`);
        out.slotId = Number(t);
        break;
      }
      case "type": {
        const t = text();
        if (!OBJECT_TYPES.has(t)) throw bad(`type "${t}" is not one of ${[...OBJECT_TYPES]}`);
        out.type = t;
        break;
      }
      case "pin-value":
        out.pinValue = text();
        break;
      case "pin-source":
        out.pinSource = text();
        break;
      case "module-path":
        out.modulePath = text();
        break;
      default:
        if (IGNORED_ATTRS.has(name) || name.startsWith("x-")) break;
        throw bad(`unknown ${inQuery ? "query" : "path"} attribute "${name}"`);
    }
  }
  return out as Pkcs11Uri;
}

/** The URI as it may be shown: any pin-value replaced by "***". */
export function redactPkcs11Uri(uri: string): string {
  return uri.replace(/(pin-value=)[^;&?]*/gi, "$1***");
}

// ---------------------------------------------------------------------------------------------
// The module (koffi)

// biome-ignore lint/suspicious/noExplicitAny: koffi is untyped where it is loaded lazily
type Koffi = any;
let koffiModule: Koffi | null = null;

function koffi(): Koffi {
  if (koffiModule) return koffiModule;
  try {
    koffiModule = createRequire(import.meta.url)("koffi");
  } catch (e) {
    throw new Pkcs11Error("PKCS11_FAILED", `cannot load koffi (the FFI): ${(e as Error).message}`);
  }
  return koffiModule;
}

type CkFn = (...args: (number | bigint)[]) => number;
type Functions = Readonly<Record<keyof typeof FN, CkFn>>;

/**
 * Loaded modules by path, with koffi's library handle: koffi unloads a library whose handle is
 * garbage-collected, which would leave the function pointers dangling.
 */
// biome-ignore lint/suspicious/noExplicitAny: koffi library handle
const modules = new Map<string, { fns: Functions; lib: any }>();

/**
 * Load a PKCS#11 module and bind its function list (cached per path). Throws
 * PKCS11_MODULE_NOT_FOUND when there is no such library, PKCS11_NOT_A_MODULE when it cannot be
 * loaded or has no working C_GetFunctionList.
 */
export function loadPkcs11Module(path: string): Functions {
  const cached = modules.get(path);
  if (cached) return cached.fns;
  if (path.includes("/") && !existsSync(path)) {
    throw new Pkcs11Error("PKCS11_MODULE_NOT_FOUND", `PKCS#11 module ${path}: no such file`);
  }
  const k = koffi();
  // biome-ignore lint/suspicious/noExplicitAny: koffi library handle
  let lib: any;
  try {
    // RTLD_DEEPBIND: a module linked against the system's libcrypto (SoftHSM, most HSM
    // clients) must not bind to the OpenSSL symbols node itself exports.
    lib = k.load(path, { deep: true });
  } catch (e) {
    const msg = (e as Error).message;
    if (/No such file/i.test(msg)) {
      throw new Pkcs11Error("PKCS11_MODULE_NOT_FOUND", `PKCS#11 module ${path}: ${msg}`);
    }
    throw new Pkcs11Error(
      "PKCS11_NOT_A_MODULE",
      `${path} is not a PKCS#11 module: it cannot be loaded as a shared library (${msg})`,
    );
  }
  // biome-ignore lint/suspicious/noExplicitAny: koffi function
  let getFunctionList: any;
  try {
    getFunctionList = lib.func("unsigned long C_GetFunctionList(_Out_ void **list)");
  } catch {
    throw new Pkcs11Error(
      "PKCS11_NOT_A_MODULE",
      `${path} is not a PKCS#11 module: it has no C_GetFunctionList`,
    );
  }
  const out: unknown[] = [null];
  const rv = Number(getFunctionList(out));
  if (rv !== CKR.OK || !out[0]) {
    throw new Pkcs11Error(
      "PKCS11_NOT_A_MODULE",
      `${path}: C_GetFunctionList failed with ${ckrName(rv)}`,
      rv,
    );
  }
  const list = k.decode(
    out[0],
    k.struct({ major: "uint8_t", minor: "uint8_t", fns: k.array("void *", 44) }),
  );
  const fns: Partial<Record<keyof typeof FN, CkFn>> = {};
  for (const [name, index] of Object.entries(FN) as [keyof typeof FN, number][]) {
    const ptr = list.fns[index];
    if (!ptr) {
      throw new Pkcs11Error("PKCS11_NOT_A_MODULE", `${path}: its function list has no ${name}`);
    }
    const fn = k.decode(ptr, k.proto(PROTOS[name]));
    fns[name] = (...args) => Number(fn(...args));
  }
  const bound = fns as Functions;
  modules.set(path, { fns: bound, lib });
  return bound;
}

/** Native memory for one call sequence: templates, buffers and out-parameters at stable addresses. */
class Arena {
  private readonly ptr: unknown;
  readonly base: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private used = 0;
  private freed = false;

  constructor(readonly size: number) {
    const k = koffi();
    this.ptr = k.alloc("uint8_t", Math.max(size, 8));
    this.base = Number(k.address(this.ptr));
    const ab: ArrayBuffer = k.view(this.ptr, Math.max(size, 8));
    this.bytes = new Uint8Array(ab);
    this.view = new DataView(ab);
  }

  /** Reserve n zeroed bytes, 8-aligned; returns the offset. */
  take(n: number): number {
    const off = (this.used + 7) & ~7;
    if (off + n > this.size)
      throw new Error(`internal: PKCS#11 arena of ${this.size} bytes is full`);
    this.used = off + n;
    this.bytes.fill(0, off, off + n);
    return off;
  }

  put(data: Uint8Array): number {
    const off = this.take(data.length);
    this.bytes.set(data, off);
    return off;
  }

  addr(off: number): number {
    return this.base + off;
  }

  ulong(off: number): bigint {
    return this.view.getBigUint64(off, true);
  }

  setUlong(off: number, v: number | bigint): void {
    this.view.setBigUint64(off, BigInt(v), true);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    koffi().free(this.ptr);
  }
}

const num = (v: bigint): number => Number(v);

// ---------------------------------------------------------------------------------------------
// Tokens, sessions, objects

/** What C_GetTokenInfo says about a token. */
export interface TokenInfo {
  readonly slot: number;
  readonly label: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serial: string;
  readonly flags: number;
}

function paddedText(b: Uint8Array): string {
  return Buffer.from(b)
    .toString("utf8")
    .replace(/[ \0]+$/, "");
}

function tokenMatches(t: TokenInfo, u: Pkcs11Uri): boolean {
  return (
    (u.token === undefined || t.label === u.token) &&
    (u.manufacturer === undefined || t.manufacturer === u.manufacturer) &&
    (u.model === undefined || t.model === u.model) &&
    (u.serial === undefined || t.serial === u.serial) &&
    (u.slotId === undefined || t.slot === u.slotId)
  );
}

const describeToken = (t: TokenInfo) => `"${t.label}" (slot ${t.slot}, serial ${t.serial})`;

/** One open session on one token, logged in or not. */
interface Session {
  readonly fns: Functions;
  readonly handle: number;
  readonly token: TokenInfo;
  readonly pin: string | null;
  readonly uriText: string;
}

function check(rv: number, what: string, uriText: string): void {
  if (rv === CKR.OK) return;
  if (rv === CKR.TOKEN_NOT_PRESENT || rv === CKR.DEVICE_REMOVED) {
    throw new Pkcs11Error(
      "PKCS11_TOKEN_NOT_FOUND",
      `${uriText}: the token went away (${what}: ${ckrName(rv)})`,
      rv,
    );
  }
  throw new Pkcs11Error("PKCS11_FAILED", `${uriText}: ${what} failed with ${ckrName(rv)}`, rv);
}

function listTokens(fns: Functions, uriText: string): TokenInfo[] {
  const a = new Arena(16);
  let slots: number[];
  try {
    check(fns.C_GetSlotList(1, 0, a.addr(0)), "C_GetSlotList", uriText);
    const n = num(a.ulong(0));
    const b = new Arena(8 * n + 16);
    try {
      b.setUlong(0, n);
      check(fns.C_GetSlotList(1, b.addr(8), b.addr(0)), "C_GetSlotList", uriText);
      const got = num(b.ulong(0));
      slots = Array.from({ length: got }, (_, i) => num(b.ulong(8 + 8 * i)));
    } finally {
      b.free();
    }
  } finally {
    a.free();
  }
  const out: TokenInfo[] = [];
  const info = new Arena(TOKEN_INFO_SIZE);
  try {
    for (const slot of slots) {
      const rv = fns.C_GetTokenInfo(slot, info.base);
      if (rv === CKR.TOKEN_NOT_PRESENT || rv === CKR.TOKEN_NOT_RECOGNIZED) continue;
      check(rv, "C_GetTokenInfo", uriText);
      const b = info.bytes;
      const flags = num(info.ulong(TOKEN_INFO_FLAGS));
      if (!(flags & CKF.TOKEN_INITIALIZED)) continue;
      out.push({
        slot,
        label: paddedText(b.subarray(0, 32)),
        manufacturer: paddedText(b.subarray(32, 64)),
        model: paddedText(b.subarray(64, 80)),
        serial: paddedText(b.subarray(80, 96)),
        flags,
      });
    }
  } finally {
    info.free();
  }
  return out;
}

/** The PIN a URI or the environment gives, or null. pin-source is a file (file: URI or path). */
function resolvePin(
  uri: Pkcs11Uri,
  env: Readonly<Record<string, string | undefined>>,
  pinEnv: string,
): string | null {
  if (uri.pinValue !== undefined) return uri.pinValue;
  if (uri.pinSource !== undefined) {
    const path = uri.pinSource.replace(/^file:(\/\/(?=\/))?/i, "");
    try {
      return readFileSync(path, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new Pkcs11Error(
        "PKCS11_PIN_SOURCE_UNREADABLE",
        `pin-source ${uri.pinSource} cannot be read (${why})`,
      );
    }
  }
  return env[pinEnv] ?? null;
}

function login(s: Session, userType: number): void {
  const pin = s.pin === null ? null : Buffer.from(s.pin, "utf8");
  const a = new Arena(pin ? pin.length + 8 : 8);
  try {
    const off = pin ? a.put(pin) : 0;
    const rv = s.fns.C_Login(s.handle, userType, pin ? a.addr(off) : 0, pin ? pin.length : 0);
    if (rv === CKR.OK || rv === CKR.USER_ALREADY_LOGGED_IN) return;
    const tok = describeToken(s.token);
    if (rv === CKR.PIN_INCORRECT || rv === CKR.PIN_INVALID || rv === CKR.PIN_LEN_RANGE) {
      throw new Pkcs11Error("PKCS11_PIN_INCORRECT", `token ${tok}: wrong PIN (${ckrName(rv)})`, rv);
    }
    if (rv === CKR.PIN_LOCKED) {
      throw new Pkcs11Error("PKCS11_PIN_LOCKED", `token ${tok}: the user PIN is locked`, rv);
    }
    check(rv, "C_Login", s.uriText);
  } finally {
    a.bytes.fill(0);
    a.free();
  }
}

export interface TokenScopeOptions {
  readonly uri: Pkcs11Uri;
  /** How to name the URI in messages (without its PIN). */
  readonly uriText: string;
  readonly module: string;
  readonly pin: string | null;
  /** Log in even when the token says objects are readable without (needed for private keys). */
  readonly needLogin: boolean;
}

/**
 * Run `fn` in one session on the token the URI names: initialise, find the token, open a
 * session, log in when needed, then log out, close and finalise whatever happens.
 */
function withTokenSession<T>(o: TokenScopeOptions, fn: (s: Session) => T): T {
  const fns = loadPkcs11Module(o.module);
  const initRv = fns.C_Initialize(0);
  if (initRv !== CKR.OK && initRv !== CKR.CRYPTOKI_ALREADY_INITIALIZED) {
    throw new Pkcs11Error(
      "PKCS11_NOT_A_MODULE",
      `${o.module}: C_Initialize failed with ${ckrName(initRv)}`,
      initRv,
    );
  }
  const weInitialized = initRv === CKR.OK;
  try {
    const tokens = listTokens(fns, o.uriText);
    const matching = tokens.filter((t) => tokenMatches(t, o.uri));
    if (matching.length === 0) {
      const present = tokens.length ? tokens.map(describeToken).join(", ") : "none";
      throw new Pkcs11Error(
        "PKCS11_TOKEN_NOT_FOUND",
        `${o.uriText}: no token present matches (tokens present: ${present})`,
      );
    }
    if (matching.length > 1) {
      throw new Pkcs11Error(
        "PKCS11_TOKEN_AMBIGUOUS",
        `${o.uriText}: ${matching.length} tokens match (${matching.map(describeToken).join(", ")}); name one with token=, serial= or slot-id=`,
      );
    }
    const token = matching[0];
    const wantLogin = o.needLogin && (token.flags & CKF.LOGIN_REQUIRED) !== 0;
    if (wantLogin && token.flags & CKF.USER_PIN_LOCKED) {
      throw new Pkcs11Error(
        "PKCS11_PIN_LOCKED",
        `token ${describeToken(token)}: the user PIN is locked`,
      );
    }
    const protectedPath = (token.flags & CKF.PROTECTED_AUTHENTICATION_PATH) !== 0;
    if (wantLogin && o.pin === null && !protectedPath) {
      throw new Pkcs11Error(
        "PKCS11_PIN_REQUIRED",
        `token ${describeToken(token)} needs a PIN: give pin-source=FILE or pin-value= in the URI, or set the PIN environment variable`,
      );
    }
    const a = new Arena(8);
    let handle: number;
    try {
      check(
        fns.C_OpenSession(token.slot, CKF.SERIAL_SESSION, 0, 0, a.addr(0)),
        "C_OpenSession",
        o.uriText,
      );
      handle = num(a.ulong(0));
    } finally {
      a.free();
    }
    const s: Session = { fns, handle, token, pin: o.pin, uriText: o.uriText };
    let loggedIn = false;
    try {
      if (wantLogin) {
        login(s, CKU_USER);
        loggedIn = true;
      }
      return fn(s);
    } finally {
      if (loggedIn) fns.C_Logout(handle);
      fns.C_CloseSession(handle);
    }
  } finally {
    if (weInitialized) fns.C_Finalize(0);
  }
}

/** A CK_ATTRIBUTE template with values (CK_ULONG numbers or bytes). */
function writeTemplate(a: Arena, attrs: readonly [number, number | Uint8Array][]): number {
  const tmpl = a.take(24 * attrs.length);
  attrs.forEach(([type, value], i) => {
    const bytes =
      typeof value === "number"
        ? (() => {
            const b = new Uint8Array(8);
            new DataView(b.buffer).setBigUint64(0, BigInt(value), true);
            return b;
          })()
        : value;
    const off = a.put(bytes.length ? bytes : new Uint8Array(1));
    a.setUlong(tmpl + 24 * i, type);
    a.setUlong(tmpl + 24 * i + 8, a.addr(off));
    a.setUlong(tmpl + 24 * i + 16, bytes.length);
  });
  return tmpl;
}

function findObjects(s: Session, attrs: readonly [number, number | Uint8Array][]): number[] {
  const size =
    24 * attrs.length +
    attrs.reduce((n, [, v]) => n + 16 + (typeof v === "number" ? 8 : v.length), 0);
  const a = new Arena(size + 8 * 17);
  try {
    const tmpl = writeTemplate(a, attrs);
    check(
      s.fns.C_FindObjectsInit(s.handle, a.addr(tmpl), attrs.length),
      "C_FindObjectsInit",
      s.uriText,
    );
    const found: number[] = [];
    try {
      const objs = a.take(8 * 16);
      const count = a.take(8);
      for (;;) {
        check(
          s.fns.C_FindObjects(s.handle, a.addr(objs), 16, a.addr(count)),
          "C_FindObjects",
          s.uriText,
        );
        const n = num(a.ulong(count));
        for (let i = 0; i < n; i++) found.push(num(a.ulong(objs + 8 * i)));
        if (n < 16 || found.length > 64) break;
      }
    } finally {
      s.fns.C_FindObjectsFinal(s.handle);
    }
    return found;
  } finally {
    a.free();
  }
}

/** Read attributes of an object; an attribute the token will not reveal is null. */
function getAttributes(s: Session, obj: number, types: readonly number[]): (Uint8Array | null)[] {
  const a = new Arena(24 * types.length);
  let lengths: bigint[];
  try {
    const tmpl = a.take(24 * types.length);
    for (const [i, t] of types.entries()) a.setUlong(tmpl + 24 * i, t);
    const rv = s.fns.C_GetAttributeValue(s.handle, obj, a.addr(tmpl), types.length);
    if (rv !== CKR.OK && rv !== CKR.ATTRIBUTE_SENSITIVE && rv !== CKR.ATTRIBUTE_TYPE_INVALID) {
      check(rv, "C_GetAttributeValue", s.uriText);
    }
    lengths = types.map((_, i) => a.ulong(tmpl + 24 * i + 16));
  } finally {
    a.free();
  }
  const avail = lengths.map((l) => (l === CK_UNAVAILABLE ? -1 : num(l)));
  const total = avail.reduce((n, l) => n + Math.max(l, 0) + 8, 24 * types.length);
  const b = new Arena(total);
  try {
    const tmpl = b.take(24 * types.length);
    const offs = types.map((t, i) => {
      const len = Math.max(avail[i], 0);
      const off = b.take(len);
      b.setUlong(tmpl + 24 * i, t);
      b.setUlong(tmpl + 24 * i + 8, avail[i] < 0 ? 0 : b.addr(off));
      b.setUlong(tmpl + 24 * i + 16, len);
      return off;
    });
    const rv = s.fns.C_GetAttributeValue(s.handle, obj, b.addr(tmpl), types.length);
    if (rv !== CKR.OK && rv !== CKR.ATTRIBUTE_SENSITIVE && rv !== CKR.ATTRIBUTE_TYPE_INVALID) {
      check(rv, "C_GetAttributeValue", s.uriText);
    }
    return types.map((_, i) => {
      const len = b.ulong(tmpl + 24 * i + 16);
      if (avail[i] < 0 || len === CK_UNAVAILABLE) return null;
      return b.bytes.slice(offs[i], offs[i] + num(len));
    });
  } finally {
    b.free();
  }
}

function ulongOf(b: Uint8Array | null): number | null {
  if (b?.length !== 8) return null;
  return num(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
}

/** The one object of class `cls` the URI names; PKCS11_OBJECT_NOT_FOUND / _AMBIGUOUS otherwise. */
function findOne(s: Session, uri: Pkcs11Uri, cls: number, what: string): number {
  const attrs: [number, number | Uint8Array][] = [[CKA.CLASS, cls]];
  if (uri.object !== undefined) attrs.push([CKA.LABEL, Buffer.from(uri.object, "utf8")]);
  if (uri.id !== undefined) attrs.push([CKA.ID, uri.id]);
  const found = findObjects(s, attrs);
  const where = `token ${describeToken(s.token)}`;
  if (found.length === 0) {
    throw new Pkcs11Error(
      "PKCS11_OBJECT_NOT_FOUND",
      `${s.uriText}: no ${what} matches on ${where}${s.pin === null ? " (not logged in: private objects are hidden)" : ""}`,
    );
  }
  if (found.length > 1) {
    const names = found.slice(0, 8).map((h) => {
      const [label, id] = getAttributes(s, h, [CKA.LABEL, CKA.ID]);
      return `object=${label ? Buffer.from(label).toString("utf8") : "?"};id=${id ? toHex(id) : "?"}`;
    });
    throw new Pkcs11Error(
      "PKCS11_OBJECT_AMBIGUOUS",
      `${s.uriText}: ${found.length} ${what}s match on ${where} (${names.join(", ")}); add object= or id= to the URI`,
    );
  }
  return found[0];
}

const EC_CURVE_OF_OID: Readonly<Record<string, string>> = {
  [OID.prime256v1]: "prime256v1",
  [OID.secp384r1]: "secp384r1",
  [OID.secp521r1]: "secp521r1",
};

/** The dotted OID of a DER OBJECT IDENTIFIER (CKA_EC_PARAMS), or null. */
function oidOfParams(params: Uint8Array): string | null {
  for (const [dotted] of Object.entries(EC_CURVE_OF_OID)) {
    if (Buffer.from(der.oid(dotted)).equals(params)) return dotted;
  }
  return null;
}

/** CKA_EC_POINT: a DER OCTET STRING around the point (most tokens) or the bare point. */
function ecPointBytes(v: Uint8Array): Uint8Array {
  const t = readTlv(v, 0);
  if (!("ok" in t) && t.tag === Tag.OCTET_STRING && t.end === v.length) return tlvValue(v, t);
  return v;
}

/** What the signer needs to know about a private key on a token. */
interface KeyInfo {
  readonly algorithm: RawSignatureAlgorithm;
  readonly publicKey: KeyObject | null;
  readonly alwaysAuthenticate: boolean;
  /** Bytes of one signature coordinate (EC) or the modulus (RSA). */
  readonly size: number;
  readonly mechanism: number;
  /** True when the mechanism hashes the content itself (CKM_*SHA256*). */
  readonly hashesContent: boolean;
}

function mechanisms(s: Session): Set<number> {
  const a = new Arena(8);
  try {
    check(s.fns.C_GetMechanismList(s.token.slot, 0, a.addr(0)), "C_GetMechanismList", s.uriText);
    const n = num(a.ulong(0));
    const b = new Arena(8 * n + 8);
    try {
      b.setUlong(0, n);
      check(
        s.fns.C_GetMechanismList(s.token.slot, b.addr(8), b.addr(0)),
        "C_GetMechanismList",
        s.uriText,
      );
      return new Set(Array.from({ length: num(b.ulong(0)) }, (_, i) => num(b.ulong(8 + 8 * i))));
    } finally {
      b.free();
    }
  } finally {
    a.free();
  }
}

function keyInfo(s: Session, key: number, uri: Pkcs11Uri): KeyInfo {
  const [keyType, modulus, exponent, ecParams, id, label, always] = getAttributes(s, key, [
    CKA.KEY_TYPE,
    CKA.MODULUS,
    CKA.PUBLIC_EXPONENT,
    CKA.EC_PARAMS,
    CKA.ID,
    CKA.LABEL,
    CKA.ALWAYS_AUTHENTICATE,
  ]);
  const kt = ulongOf(keyType);
  const mechs = mechanisms(s);
  const alwaysAuthenticate = always !== null && always.length > 0 && always[0] !== 0;
  const unsupported = (what: string) =>
    new Pkcs11Error(
      "PKCS11_MECHANISM_UNSUPPORTED",
      `${s.uriText}: token ${describeToken(s.token)} offers neither ${what} for signing`,
    );
  if (kt === CKK.RSA) {
    let publicKey: KeyObject | null = null;
    if (modulus && exponent) {
      publicKey = createPublicKey({
        key: {
          kty: "RSA",
          n: Buffer.from(modulus).toString("base64url"),
          e: Buffer.from(exponent).toString("base64url"),
        },
        format: "jwk",
      });
    }
    const size = modulus ? modulus.length - (modulus[0] === 0 ? 1 : 0) : 512;
    if (mechs.has(CKM.RSA_PKCS)) {
      return {
        algorithm: "rsa-pkcs1-sha256",
        publicKey,
        alwaysAuthenticate,
        size,
        mechanism: CKM.RSA_PKCS,
        hashesContent: false,
      };
    }
    if (mechs.has(CKM.SHA256_RSA_PKCS)) {
      return {
        algorithm: "rsa-pkcs1-sha256",
        publicKey,
        alwaysAuthenticate,
        size,
        mechanism: CKM.SHA256_RSA_PKCS,
        hashesContent: true,
      };
    }
    throw unsupported("CKM_RSA_PKCS nor CKM_SHA256_RSA_PKCS");
  }
  if (kt === CKK.EC) {
    const oid = ecParams ? oidOfParams(ecParams) : null;
    if (!oid) {
      throw new Pkcs11Error(
        "PKCS11_KEY_UNSUPPORTED",
        `${s.uriText}: the EC key is not on a curve the kernel verifies (P-256, P-384, P-521)`,
      );
    }
    const size = ecCoordinateBytes(EC_CURVE_OF_OID[oid]) ?? 0;
    // The point lives on the public key object with the same id (or label).
    let publicKey: KeyObject | null = null;
    const match: [number, number | Uint8Array][] = [[CKA.CLASS, CKO.PUBLIC_KEY]];
    if (id?.length) match.push([CKA.ID, id]);
    else if (label) match.push([CKA.LABEL, label]);
    else if (uri.object !== undefined) match.push([CKA.LABEL, Buffer.from(uri.object, "utf8")]);
    const pubs = match.length > 1 ? findObjects(s, match) : [];
    if (pubs.length === 1) {
      const [point] = getAttributes(s, pubs[0], [CKA.EC_POINT]);
      if (point) {
        const spki = der.sequence(
          der.algorithm(OID.ecPublicKey, der.oid(oid)),
          der.bitString(ecPointBytes(point)),
        );
        try {
          publicKey = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
        } catch {
          publicKey = null;
        }
      }
    }
    if (mechs.has(CKM.ECDSA)) {
      return {
        algorithm: "ecdsa-sha256",
        publicKey,
        alwaysAuthenticate,
        size,
        mechanism: CKM.ECDSA,
        hashesContent: false,
      };
    }
    if (mechs.has(CKM.ECDSA_SHA256)) {
      return {
        algorithm: "ecdsa-sha256",
        publicKey,
        alwaysAuthenticate,
        size,
        mechanism: CKM.ECDSA_SHA256,
        hashesContent: true,
      };
    }
    throw unsupported("CKM_ECDSA nor CKM_ECDSA_SHA256");
  }
  throw new Pkcs11Error(
    "PKCS11_KEY_UNSUPPORTED",
    `${s.uriText}: the key is of PKCS#11 key type ${kt ?? "(unreadable)"}; only RSA and EC keys sign BPF programs`,
  );
}

function signOnToken(s: Session, key: number, info: KeyInfo, request: SignRequest): Uint8Array {
  let data: Uint8Array;
  if (info.hashesContent) {
    data = Buffer.concat(
      request.content.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)),
    );
  } else {
    data =
      info.algorithm === "rsa-pkcs1-sha256" ? sha256DigestInfo(request.digest) : request.digest;
  }
  const a = new Arena(data.length + 24 + 8 + 1024 + 32);
  try {
    const mech = a.take(24);
    a.setUlong(mech, info.mechanism);
    const rv = s.fns.C_SignInit(s.handle, a.addr(mech), key);
    if (
      rv === CKR.MECHANISM_INVALID ||
      rv === CKR.MECHANISM_PARAM_INVALID ||
      rv === CKR.KEY_TYPE_INCONSISTENT
    ) {
      throw new Pkcs11Error(
        "PKCS11_MECHANISM_UNSUPPORTED",
        `${s.uriText}: the token refuses mechanism 0x${info.mechanism.toString(16)} with this key (${ckrName(rv)})`,
        rv,
      );
    }
    check(rv, "C_SignInit", s.uriText);
    if (info.alwaysAuthenticate) login(s, CKU_CONTEXT_SPECIFIC);
    const dataOff = a.put(data);
    const sig = a.take(1024);
    const len = a.take(8);
    a.setUlong(len, 1024);
    check(
      s.fns.C_Sign(s.handle, a.addr(dataOff), data.length, a.addr(sig), a.addr(len)),
      "C_Sign",
      s.uriText,
    );
    const raw = a.bytes.slice(sig, sig + num(a.ulong(len)));
    if (info.algorithm === "rsa-pkcs1-sha256") return raw;
    if (raw.length !== 2 * info.size) {
      throw new Pkcs11Error(
        "PKCS11_FAILED",
        `${s.uriText}: the token returned a ${raw.length}-byte ECDSA signature, not r||s of ${2 * info.size} bytes`,
      );
    }
    return ecdsaRawToDer(raw);
  } finally {
    a.free();
  }
}

// ---------------------------------------------------------------------------------------------
// The signer and the certificate reader

const DEFAULT_PKCS11_MODULE_ENV = "BPFSIGN_PKCS11_MODULE";
const DEFAULT_PKCS11_PIN_ENV = "BPFSIGN_PKCS11_PIN";

export interface Pkcs11Options {
  /** The `pkcs11:` URI of the object. */
  readonly uri: string;
  /** The module path (--pkcs11-module); else the URI's module-path; else $BPFSIGN_PKCS11_MODULE. */
  readonly module?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The environment variable that holds the PIN when the URI has none (BPFSIGN_PKCS11_PIN). */
  readonly pinEnv?: string;
}

function scope(o: Pkcs11Options, needLogin: boolean): TokenScopeOptions & { parsed: Pkcs11Uri } {
  const uri = parsePkcs11Uri(o.uri);
  const env = o.env ?? process.env;
  const module = o.module ?? uri.modulePath ?? env[DEFAULT_PKCS11_MODULE_ENV];
  const uriText = redactPkcs11Uri(o.uri);
  if (!module) {
    throw new Pkcs11Error(
      "PKCS11_NO_MODULE",
      `${uriText}: no PKCS#11 module: pass --pkcs11-module PATH or set ${DEFAULT_PKCS11_MODULE_ENV}`,
    );
  }
  const pin = resolvePin(uri, env, o.pinEnv ?? DEFAULT_PKCS11_PIN_ENV);
  return { uri, parsed: uri, uriText, module, pin, needLogin };
}

/**
 * A RawSigner for the private key a `pkcs11:` URI names. The key is looked up once here (its
 * type, public key and the mechanism to use); each signature is then one session of its own.
 */
/** A RawSigner on a token, saying which mechanism it signs with. */
export interface Pkcs11Signer extends RawSigner {
  readonly mechanism: "CKM_RSA_PKCS" | "CKM_SHA256_RSA_PKCS" | "CKM_ECDSA" | "CKM_ECDSA_SHA256";
}

const MECHANISM_NAMES: Readonly<Record<number, Pkcs11Signer["mechanism"]>> = {
  [CKM.RSA_PKCS]: "CKM_RSA_PKCS",
  [CKM.SHA256_RSA_PKCS]: "CKM_SHA256_RSA_PKCS",
  [CKM.ECDSA]: "CKM_ECDSA",
  [CKM.ECDSA_SHA256]: "CKM_ECDSA_SHA256",
};

export function pkcs11Signer(o: Pkcs11Options): Pkcs11Signer {
  const sc = scope(o, true);
  if (sc.parsed.type !== undefined && sc.parsed.type !== "private") {
    throw new Pkcs11Error(
      "PKCS11_BAD_URI",
      `${sc.uriText}: a signing key is type=private, not type=${sc.parsed.type}`,
    );
  }
  const info = withTokenSession(sc, (s) =>
    keyInfo(s, findOne(s, sc.parsed, CKO.PRIVATE_KEY, "private key"), sc.parsed),
  );
  return {
    algorithm: info.algorithm,
    name: sc.uriText,
    publicKey: info.publicKey,
    mechanism: MECHANISM_NAMES[info.mechanism],
    sign(request: SignRequest): Uint8Array {
      return withTokenSession(sc, (s) =>
        signOnToken(s, findOne(s, sc.parsed, CKO.PRIVATE_KEY, "private key"), info, request),
      );
    },
    close(): void {},
  };
}

/** The DER certificate a `pkcs11:` URI names (type=cert, or no type). */
export function readPkcs11Certificate(o: Pkcs11Options): Uint8Array {
  const sc = scope(o, false);
  if (sc.parsed.type !== undefined && sc.parsed.type !== "cert") {
    throw new Pkcs11Error(
      "PKCS11_BAD_URI",
      `${sc.uriText}: a certificate is type=cert, not type=${sc.parsed.type}`,
    );
  }
  // Certificates are public objects; log in only when a PIN was given (some tokens hide them).
  return withTokenSession({ ...sc, needLogin: sc.pin !== null }, (s) => {
    const h = findOne(s, sc.parsed, CKO.CERTIFICATE, "certificate");
    const [value] = getAttributes(s, h, [CKA.VALUE]);
    if (!value)
      throw new Pkcs11Error(
        "PKCS11_FAILED",
        `${sc.uriText}: the certificate's CKA_VALUE cannot be read`,
      );
    return value;
  });
}
