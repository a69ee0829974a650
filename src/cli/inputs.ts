/**
 * Reading the CLI's inputs: each file is read once, parsed by the layer that owns its format, and
 * any failure becomes an InputError (cannot read) or a MalformedInputError naming the file and
 * the reason (with line and column for headers). Headers are read by skeleton_input.ts, loaded
 * here only when a header is given, so that raw inputs never load the header reader. Policy files
 * are read by policy_input.ts, loaded only by `--policy-file`.
 */
import { loadCertificate, type X509Certificate } from "../crypto/x509.js";
import { decodeInsns, InsnFormatError } from "../insn/insn.js";
import type { LightSkeleton } from "../skeleton/skeleton.js";
import { MalformedInputError } from "./errors.js";
import { readInput } from "./io.js";

export function readCertificate(path: string): X509Certificate {
  const c = loadCertificate(readInput(path, "certificate"));
  if (!c.ok) throw new MalformedInputError(path, "certificate", `${c.reason} (${c.errno})`);
  return c.value;
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

export async function readLoaderInputs(
  file: string | undefined,
  raw: RawOptions,
): Promise<LoaderInputs> {
  if (file) {
    const skeleton = (await import("./skeleton_input.js")).readSkeleton(file);
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
