/**
 * Reading the CLI's inputs: each file is read once, parsed by the layer that owns its format, and
 * any failure becomes an InputError (cannot read) or a MalformedInputError naming the file and
 * the reason (with line and column for headers).
 */
import { loadCertificate, type X509Certificate } from "../crypto/x509.js";
import { decodeInsns, InsnFormatError } from "../insn/insn.js";
import {
  detectHostOverrides,
  type LightSkeleton,
  parseLightSkeleton,
  SkeletonParseError,
} from "../skeleton/index.js";
import { MalformedInputError } from "./errors.js";
import { readInput } from "./io.js";

export function readCertificate(path: string): X509Certificate {
  const c = loadCertificate(readInput(path, "certificate"));
  if (!c.ok) throw new MalformedInputError(path, "certificate", `${c.reason} (${c.errno})`);
  return c.value;
}

export function readSkeleton(path: string): LightSkeleton {
  const bytes = readInput(path, "light skeleton");
  try {
    return parseLightSkeleton(bytes);
  } catch (e) {
    if (e instanceof SkeletonParseError)
      throw new MalformedInputError(
        path,
        "light skeleton",
        `line ${e.line}, column ${e.column}: ${e.detail}`,
        {
          cause: e,
        },
      );
    throw e;
  }
}

/** The host overrides a loader honours, one line each ("counters.max_entries"), empty for gen_hash. */
export function hostOverrides(insns: Uint8Array, skeleton: LightSkeleton | null): string[] {
  const r = detectHostOverrides(insns, skeleton ? { maps: skeleton.maps.map((m) => m.name) } : {});
  return r.maps.flatMap((m) => m.fields.map((f) => `${m.name ?? `map #${m.index}`}.${f}`));
}

/** Loader instructions from a raw file: whole 8-byte instructions, at least one. */
export function readInsns(path: string): Uint8Array {
  const bytes = readInput(path, "loader instructions");
  if (bytes.length === 0)
    throw new MalformedInputError(path, "loader instructions", "the file is empty");
  try {
    decodeInsns(bytes);
  } catch (e) {
    if (e instanceof InsnFormatError)
      throw new MalformedInputError(path, "loader instructions", e.message);
    throw e;
  }
  return bytes;
}

/** What a loader is made of, from a header or from raw files. */
export interface LoaderInputs {
  /** The header it came from, or null for raw inputs. */
  skeleton: LightSkeleton | null;
  source: string;
  insns: Uint8Array;
  data: Uint8Array;
  signature: Uint8Array | null;
  exclHash: Uint8Array | null;
}

export interface RawOptions {
  insns?: string;
  data?: string;
  sig?: string;
  exclHash?: string;
}

export function readLoaderInputs(file: string | undefined, raw: RawOptions): LoaderInputs {
  if (file) {
    const skeleton = readSkeleton(file);
    return {
      skeleton,
      source: file,
      insns: skeleton.insns,
      data: skeleton.data,
      signature: skeleton.signature,
      exclHash: skeleton.exclHash,
    };
  }
  if (!raw.insns || !raw.data) throw new Error("internal: raw inputs need --insns and --data");
  return {
    skeleton: null,
    source: raw.insns,
    insns: readInsns(raw.insns),
    data: readInput(raw.data, "metadata blob"),
    signature: raw.sig ? readInput(raw.sig, "signature") : null,
    exclHash: raw.exclHash ? readInput(raw.exclHash, "excl_prog_hash") : null,
  };
}
