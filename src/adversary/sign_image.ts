/**
 * A light skeleton's loader signed for a scheme, as that design's tooling would produce it:
 * v2 signs insns || metadata; kfunc puts the bpf_loader_verify_metadata check in front of the
 * loader (src/scheme/kfunc.ts) and signs the instructions; Hornet signs the instructions with the
 * metadata map's hash in a signed attribute. excl_prog_hash is SHA-256 of the final insns.
 */
import { createHash } from "node:crypto";
import { type SignerIdentity, signForScheme } from "../crypto/sign.js";
import type { ProfileName } from "../kernel/profile.js";
import type { LoaderImage } from "../loader/load_and_run.js";
import { loaderInsnsFor } from "../scheme/index.js";
import type { SchemeName } from "../scheme/types.js";

/** The scheme a profile's kernel verifies (mainline-6.18 is given v2 signatures). */
export function profileScheme(p: ProfileName): SchemeName {
  return p === "kfunc" ? "kfunc" : p === "hornet" ? "hornet" : "v2";
}

/** Sign `image` (signed or not) for a scheme with `id`. */
export function signImage(name: SchemeName, image: LoaderImage, id: SignerIdentity): LoaderImage {
  const insns = loaderInsnsFor(name, image.insns, image.data);
  const signature = signForScheme(name, { insns, maps: [image.data] }, id);
  const exclHash = new Uint8Array(createHash("sha256").update(insns).digest());
  return { ...image, insns, signature, exclHash };
}
