/**
 * The v2 series ("Verify BPF signed loader at load time"), also the scheme of the merged
 * bpf-next version: one detached CMS over insns || value(map_0) || value(map_1) || … where the
 * maps are the exclusive, frozen plain arrays bound through fd_array[0..fd_array_cnt), folded in
 * used_maps order; no signed attributes. The kernel checks it inside bpf_check() once fd_array is
 * resolved; the verdict is binary.
 */
import type { LoaderParts, Scheme, SigningPlan } from "./types.js";

/** enum bpf_sig_verdict of the series. */
export const V2_VERDICTS = { UNSIGNED: 0, VERIFIED: 1 } as const;

/** The signed content of v2: insns followed by every folded map's value. */
export function v2SignedContent(parts: LoaderParts): Uint8Array[] {
  return [parts.insns, ...parts.maps];
}

export const v2: Scheme = {
  name: "v2",
  title: "v2 / bpf-next: kernel folds the metadata into the signed bytes",
  signed:
    "insns || value(map_0) || value(map_1) || … (fd_array[0..fd_array_cnt) maps, used_maps order)",
  checks: [
    {
      at: "bpf_check",
      what: "after fd_array resolution: maps exclusive, frozen, plain arrays; PKCS#7 over insns || values; verdict recorded; admission LSM after it",
    },
    {
      at: "after_resolve",
      what: "v2: a VERIFIED program binding more maps than were folded, or any BTF, is refused (count compare)",
    },
    {
      at: "verifier_bind",
      what: "bpf-next: once verified, binding an uncovered map or any BTF is refused when it happens; fd_array is read once and cached",
    },
  ],
  verdicts: V2_VERDICTS,
  verifiedVerdicts: ["VERIFIED"],
  loaderCheck: "none",
  plan(parts: LoaderParts): SigningPlan {
    return { content: v2SignedContent(parts), attributes: null };
  },
};
