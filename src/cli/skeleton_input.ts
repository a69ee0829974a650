/**
 * Light skeleton inputs: a `.lskel.h` read and parsed (a parse error becomes a
 * MalformedInputError with line and column), and the host overrides a loader honours.
 */
import { SkeletonParseError } from "../skeleton/errors.js";
import { detectHostOverrides } from "../skeleton/overrides.js";
import { parseLightSkeleton } from "../skeleton/reader.js";
import type { LightSkeleton } from "../skeleton/skeleton.js";
import { MalformedInputError } from "./errors.js";
import { readInput } from "./io.js";

export function readSkeleton(path: string): LightSkeleton {
  return parseSkeletonBytes(readInput(path, "light skeleton"), path);
}

/** A `.lskel.h` already read from `path` (named in the error), parsed. */
export function parseSkeletonBytes(bytes: Uint8Array, path: string): LightSkeleton {
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
