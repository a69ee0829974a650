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
 *   (map_hash.ts), which needs the map frozen.
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
import { createHash } from "node:crypto";
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

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const head = [tag, ...derLength(content.length)];
  const out = new Uint8Array(head.length + content.length);
  out.set(head);
  out.set(content, head.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The DER value of the map-hash attribute: SEQUENCE OF OCTET STRING. */
export function encodeMapHashes(hashes: readonly Uint8Array[]): Uint8Array {
  return tlv(0x30, concat(hashes.map((h) => tlv(0x04, h))));
}

/** One DER element at `at`: tag, content bounds, end; null when it does not fit. */
function readTlv(b: Uint8Array, at: number): { tag: number; start: number; end: number } | null {
  if (at + 2 > b.length) return null;
  const tag = b[at];
  let len = b[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > b.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  const end = start + len;
  return end > b.length ? null : { tag, start, end };
}

/** Dotted OID → its content bytes (base-128 arcs). */
export function oidContent(dotted: string): Uint8Array {
  const p = dotted.split(".").map((x) => BigInt(x));
  const arcs = [p[0] * 40n + p[1], ...p.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const bytes = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) bytes.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...bytes);
  }
  return Uint8Array.from(out);
}

const MAP_HASHES_OID_BYTES = oidContent(HORNET_MAP_HASHES_OID);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The map hashes carried in a SignerInfo's raw `[0]` authenticatedAttributes element (as the
 * PKCS#7 parser keeps it): the list, null when the attribute is absent, "malformed" when the
 * attribute is there but its value is not a SEQUENCE OF 32-byte OCTET STRINGs.
 */
export function findMapHashes(authattrs: Uint8Array | null): Uint8Array[] | null | "malformed" {
  if (!authattrs) return null;
  const outer = readTlv(authattrs, 0);
  if (!outer) return "malformed";
  for (let at = outer.start; at < outer.end; ) {
    const attr = readTlv(authattrs, at);
    if (attr?.tag !== 0x30) return "malformed";
    at = attr.end;
    const oid = readTlv(authattrs, attr.start);
    if (oid?.tag !== 0x06) return "malformed";
    if (!sameBytes(authattrs.subarray(oid.start, oid.end), MAP_HASHES_OID_BYTES)) continue;
    const set = readTlv(authattrs, oid.end);
    if (set?.tag !== 0x31) return "malformed";
    const seq = readTlv(authattrs, set.start);
    if (seq?.tag !== 0x30 || seq.end !== set.end) return "malformed";
    const hashes: Uint8Array[] = [];
    for (let h = seq.start; h < seq.end; ) {
      const os = readTlv(authattrs, h);
      if (os?.tag !== 0x04 || os.end - os.start !== 32) return "malformed";
      hashes.push(authattrs.slice(os.start, os.end));
      h = os.end;
    }
    return hashes;
  }
  return null;
}

/** The hashes a Hornet signer embeds: one array map hash per bound map value. */
export function hornetMapHashes(maps: readonly Uint8Array[]): Uint8Array[] {
  return maps.map(arrayMapHash);
}

/** SHA-256 of the instructions: the messageDigest of a Hornet signature. */
export function hornetInsnsDigest(insns: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(insns).digest());
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
      attributes: [
        { oid: HORNET_MAP_HASHES_OID, value: encodeMapHashes(hornetMapHashes(parts.maps)) },
      ],
    };
  },
};
