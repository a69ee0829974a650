/**
 * Hornet (Blaise Boscaccy's LSM, anchors §1.2, userspace-toolchain §7.4): a PKCS#7 signature on
 * the program's instructions that also carries signed SHA-256 hashes of the maps the program is
 * loaded with. The LSM verifies both at BPF_PROG_LOAD (its integrity hook, before the admission
 * hook), reports one of seven verdicts to the post-integrity hook and enforces nothing itself.
 *
 * Decisions where the reference is silent (also in the README):
 * - Where the map hashes travel: in a signed (authenticated) attribute of the SignerInfo, so
 *   the CMS carries signed attributes: contentType = data, messageDigest = SHA-256(insns), and
 *   the map-hash attribute below. The signature is then over the DER of the attributes, and the
 *   kernel's PKCS#7 parser accepts it (unknown attribute OIDs are ignored, kernel-semantics §8.3)
 *   so the same message also verifies as a plain signature over the instructions.
 * - The attribute: OID HORNET_MAP_HASHES_OID (a 2.25 UUID arc of our own; the real OID was not
 *   found), value SEQUENCE OF OCTET STRING (32 bytes each), one hash per map of
 *   fd_array[0..fd_array_cnt) in that order; the hash is the kernel's array map hash
 *   (map_hash.ts), which needs the map frozen. Its DER is written and read (strictly) by
 *   crypto/hornet_attrs.ts; this file only describes it.
 * - Verdicts (numbered in the order the documentation lists them): UNSIGNED no signature;
 *   FAULT the signature or fd_array cannot be read from user memory; BADSIG the PKCS#7 does not
 *   parse or does not verify (EBADMSG, EKEYREJECTED, EINVAL, ENOPKG); UNKNOWNKEY keyring_id does
 *   not resolve or no trusted key matches (ENOKEY); PARTIALSIG the instructions verify but the
 *   message has no map-hash attribute while maps are bound; UNEXPECTED the instructions verify
 *   but the hashes do not match the bound maps (count, content, or a map that is not a frozen
 *   plain array); OK everything matches.
 * - The keyring is the one keyring_id names, resolved as the BPF core does, so the same test
 *   keys serve every scheme.
 */
import { arrayMapHash } from "./map_hash.js";
import type { LoaderParts, Scheme, SigningPlan } from "./types.js";

/** LSM_INT_VERDICT_* */
export const HORNET_VERDICTS = {
  OK: 0,
  UNSIGNED: 1,
  PARTIALSIG: 2,
  UNKNOWNKEY: 3,
  FAULT: 4,
  UNEXPECTED: 5,
  BADSIG: 6,
} as const;

export type HornetVerdict = keyof typeof HORNET_VERDICTS;

/** The OID of the map-hash attribute (our choice, see the header). */
export const HORNET_MAP_HASHES_OID = "2.25.329800735698586629295641978511506172918";

/** The hashes a Hornet signer embeds: one array map hash per bound map value. */
export function hornetMapHashes(maps: readonly Uint8Array[]): Uint8Array[] {
  return maps.map(arrayMapHash);
}

export const hornet: Scheme = {
  name: "hornet",
  title: "Hornet: insns signed, map hashes in a signed attribute, verdict reported to the LSM",
  signed:
    "signed attributes { contentType, messageDigest = sha256(insns), map hashes (one per fd_array map) }",
  checks: [
    {
      at: "security_bpf_prog_load_integrity",
      what: "PKCS#7 over the instructions with signed attributes; each fd_array map frozen and its hash equal to the signed one; verdict to the post-integrity hook; nothing enforced",
    },
  ],
  verdicts: HORNET_VERDICTS,
  verifiedVerdicts: ["OK"],
  loaderCheck: "none",
  plan(parts: LoaderParts): SigningPlan {
    return {
      content: [parts.insns],
      attributes: [{ oid: HORNET_MAP_HASHES_OID, octetStrings: hornetMapHashes(parts.maps) }],
    };
  },
};
