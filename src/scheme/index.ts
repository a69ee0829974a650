/**
 * The signing schemes bpfsign models, each one pure description (types.ts): `v2` (the series,
 * and its merged bpf-next form), `kfunc` (the in-loader kfunc + post-integrity alternative) and
 * `hornet` (the Hornet LSM). Everything that needs to know what a scheme signs asks here.
 */
import { hornet } from "./hornet.js";
import { addKfuncCheck, kfunc, stripKfuncCheck } from "./kfunc.js";
import type { Scheme, SchemeName } from "./types.js";
import { v2 } from "./v2.js";

export type {
  CheckPoint,
  LoaderParts,
  Scheme,
  SchemeAttribute,
  SchemeName,
  SigningPlan,
} from "./types.js";
export { SCHEME_NAMES } from "./types.js";

const SCHEMES: Readonly<Record<SchemeName, Scheme>> = { v2, kfunc, hornet };

/** The description of a scheme by name. */
export function scheme(name: SchemeName): Scheme {
  return SCHEMES[name];
}

/** Whether a string names a scheme. */
export function isSchemeName(s: string): s is SchemeName {
  return Object.hasOwn(SCHEMES, s);
}

/**
 * The loader's instructions as the scheme's tooling emits them for `metadata`: the gen_loader
 * output itself (v2, hornet), or with the kfunc check in front (kfunc). A loader that already
 * carries a kfunc check has it replaced, so re-signing is idempotent.
 */
export function loaderInsnsFor(
  name: SchemeName,
  insns: Uint8Array,
  metadata: Uint8Array,
): Uint8Array {
  const base = stripKfuncCheck(insns) ?? insns;
  return SCHEMES[name].loaderCheck === "kfunc" ? addKfuncCheck(base, metadata) : base;
}
