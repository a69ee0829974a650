/**
 * The DER of scheme attributes (src/scheme/types.ts SchemeAttribute): the value a signer puts in a
 * SignerInfo's signed attributes, and the reader of Hornet's map-hash attribute back out of a
 * SignerInfo. The scheme describes the attribute (its OID and the byte strings it carries); the
 * bytes are written and read here, with asn1.ts.
 *
 * The reader takes signed attributes from an attacker's PKCS#7, so it is strict DER: every
 * element lies inside its parent, lengths are definite and minimal, and the map-hash attribute is
 * exactly SET { SEQUENCE OF OCTET STRING (32 bytes each) }.
 */
import { HORNET_MAP_HASHES_OID } from "../scheme/hornet.js";
import type { SchemeAttribute } from "../scheme/types.js";
import { bytesEqual, der, encodeLength, encodeOid, readTlv, Tag, type Tlv } from "./asn1.js";

/** The DER of an attribute's single value: SEQUENCE OF OCTET STRING. */
export function encodeSchemeAttributeValue(a: SchemeAttribute): Uint8Array {
  return der.sequence(...a.octetStrings.map(der.octetString));
}

/** The DER value of Hornet's map-hash attribute: SEQUENCE OF OCTET STRING. */
export function encodeMapHashes(hashes: readonly Uint8Array[]): Uint8Array {
  return encodeSchemeAttributeValue({ oid: HORNET_MAP_HASHES_OID, octetStrings: hashes });
}

/** The element at `pos`, inside `end`, in DER (definite, minimal length); null otherwise. */
function derTlv(b: Uint8Array, pos: number, end: number): Tlv | null {
  const t = readTlv(b, pos, end);
  if ("ok" in t || t.indefinite || t.hdrlen !== 1 + encodeLength(t.vlen).length) return null;
  return t;
}

/** The children of a constructed element, each inside it and in DER; null otherwise. */
function derChildren(b: Uint8Array, parent: Tlv): Tlv[] | null {
  const out: Tlv[] = [];
  const end = parent.value + parent.vlen;
  for (let pos = parent.value; pos < end; ) {
    const t = derTlv(b, pos, end);
    if (!t) return null;
    out.push(t);
    pos = t.end;
  }
  return out;
}

const MAP_HASHES_OID_BYTES = encodeOid(HORNET_MAP_HASHES_OID);

/**
 * The map hashes carried in a SignerInfo's raw `[0]` authenticatedAttributes element (as the
 * PKCS#7 parser keeps it): the list, null when the attribute is absent, "malformed" when the
 * attributes are not DER or the attribute's value is not a SEQUENCE OF 32-byte OCTET STRINGs.
 */
export function findMapHashes(authattrs: Uint8Array | null): Uint8Array[] | null | "malformed" {
  if (!authattrs) return null;
  const outer = derTlv(authattrs, 0, authattrs.length);
  const attrs = outer && derChildren(authattrs, outer);
  if (!attrs) return "malformed";
  for (const attr of attrs) {
    if (attr.tag !== Tag.SEQUENCE) return "malformed";
    const parts = derChildren(authattrs, attr);
    if (parts?.length !== 2 || parts[0].tag !== Tag.OID) return "malformed";
    const [oid, set] = parts;
    if (!bytesEqual(authattrs.subarray(oid.value, oid.end), MAP_HASHES_OID_BYTES)) continue;
    if (set.tag !== Tag.SET) return "malformed";
    const values = derChildren(authattrs, set);
    if (values?.length !== 1 || values[0].tag !== Tag.SEQUENCE) return "malformed";
    const items = derChildren(authattrs, values[0]);
    if (!items) return "malformed";
    const hashes: Uint8Array[] = [];
    for (const os of items) {
      if (os.tag !== Tag.OCTET_STRING || os.vlen !== 32) return "malformed";
      hashes.push(authattrs.slice(os.value, os.end));
    }
    return hashes;
  }
  return null;
}
