/**
 * The content hash of a one-element plain array map as the kernel computes it
 * (array_map_get_hash(): SHA-256 over the element area, each element padded to 8 bytes). The
 * kfunc and Hornet schemes sign or embed this number, and the kernel recomputes it from the
 * frozen map, so the signer must compute exactly the same bytes.
 */
import { createHash } from "node:crypto";

/** round_up(value_size, 8) bytes: the value followed by zero padding. */
export function arrayMapHash(value: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.ceil(value.length / 8) * 8);
  padded.set(value);
  return new Uint8Array(createHash("sha256").update(padded).digest());
}
