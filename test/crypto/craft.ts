/**
 * Crafted CMS messages and X.509 certificates for the crypto tests, built with the DER writer
 * and signed with node:crypto, so that every field can be set to a value a real signer would
 * never produce.
 */

import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { der, encodeOid, Tag, tlv } from "../../src/crypto/asn1.js";
import { OID } from "../../src/crypto/oid.js";
import { parseX509, type X509Certificate } from "../../src/crypto/x509.js";
import { VECTORS_DIR } from "../support/vectors.js";

/** The loader vectors (test/fixtures/vectors, or $BPFSIGN_VECTORS). */
export const VECTORS = VECTORS_DIR;

export interface VectorKey {
  readonly name: "rsa2048" | "rsa3072" | "ecp256";
  readonly priv: KeyObject;
  readonly cert: X509Certificate;
  readonly certPemPath: string;
  readonly rsa: boolean;
}

const vkCache = new Map<string, VectorKey>();

/** One of the published test keys and its parsed certificate. */
export function vectorKey(name: VectorKey["name"]): VectorKey {
  let k = vkCache.get(name);
  if (!k) {
    const certPemPath = `${VECTORS}/keys/test-only-${name}.cert.pem`;
    const cert = parseX509(
      new Uint8Array(readFileSync(`${VECTORS}/keys/test-only-${name}.cert.der`)),
    );
    if (!cert.ok) throw new Error(`vector cert ${name}: ${cert.reason}`);
    k = {
      name,
      priv: createPrivateKey(readFileSync(`${VECTORS}/keys/test-only-${name}.key.pem`)),
      cert: cert.value,
      certPemPath,
      rsa: name !== "ecp256",
    };
    vkCache.set(name, k);
  }
  return k;
}

/** Signed content of a vector program: insns.signed.bin and data.bin. */
export function vectorContent(prog: string): Uint8Array[] {
  return [
    new Uint8Array(readFileSync(`${VECTORS}/${prog}/insns.signed.bin`)),
    new Uint8Array(readFileSync(`${VECTORS}/${prog}/data.bin`)),
  ];
}

export function vectorSig(prog: string, key: string): Uint8Array {
  return new Uint8Array(readFileSync(`${VECTORS}/${prog}/sig.${key}.der`));
}

/** A real Uint8Array (not a Buffer, whose slice() is a view: flipping bits in a "copy" would mutate the original). */
export const cat = (chunks: readonly Uint8Array[]): Uint8Array =>
  new Uint8Array(Buffer.concat(chunks));

/** Sign `data` with a private key, PKCS#1 v1.5 or ECDSA (DER), hashing with `hash`. */
export function rawSign(priv: KeyObject, hash: string, data: Uint8Array): Uint8Array {
  const ec = priv.asymmetricKeyType === "ec";
  return new Uint8Array(sign(hash, data, ec ? { key: priv, dsaEncoding: "der" } : priv));
}

/** An authenticated attribute `SEQUENCE { type, SET { values } }`. */
export function attr(oid: string, ...values: Uint8Array[]): Uint8Array {
  return der.sequence(der.oid(oid), der.set(...values));
}

/** contentType = data and messageDigest = H(content): the two attributes the kernel requires. */
export function stdAttrs(content: Uint8Array, hash = "sha256"): Uint8Array[] {
  return [
    attr(OID.contentType, der.oid(OID.data)),
    attr(OID.messageDigest, der.octetString(createHash(hash).update(content).digest())),
  ];
}

export interface SignerInfoOpts {
  /** SignerInfo version (default 3 for skid, 1 for issuer). */
  readonly version?: number;
  readonly sid?: "skid" | "issuer" | Uint8Array;
  readonly digestOid?: string;
  /** node hash used to make the signature (default sha256). */
  readonly hash?: string;
  readonly pkeyOid?: string;
  /** Signed attributes (their SET is what gets signed), or null for none. */
  readonly attrs?: Uint8Array[] | null;
  /** Use the `[2] EXPLICIT SEQUENCE OF` form for the attributes. */
  readonly attrsAsSequence?: boolean;
  /** Replace the signature bytes. */
  readonly signature?: Uint8Array;
  /** Signing key (default the vector key's). */
  readonly priv?: KeyObject;
}

/** One SignerInfo over `content` by `key`. */
export function signerInfo(
  content: Uint8Array,
  key: VectorKey,
  o: SignerInfoOpts = {},
): Uint8Array {
  const sidKind = o.sid ?? "skid";
  const sid =
    sidKind instanceof Uint8Array
      ? sidKind
      : sidKind === "skid"
        ? der.implicitPrim(0, key.cert.subjectKeyId ?? new Uint8Array(0))
        : der.sequence(tlv(Tag.SEQUENCE, key.cert.rawIssuer), der.integer(key.cert.serial));
  const version = o.version ?? (sidKind === "issuer" ? 1 : 3);
  const hash = o.hash ?? "sha256";
  const attrs = o.attrs ?? null;
  const setBytes = attrs ? der.set(...attrs) : null;
  const toSign = setBytes ?? content;
  const signature = o.signature ?? rawSign(o.priv ?? key.priv, hash, toSign);
  const pkeyOid = o.pkeyOid ?? (key.rsa ? OID.rsaEncryption : OID.ecdsaWithSha256);
  const attrsEl = setBytes
    ? o.attrsAsSequence
      ? der.explicit(2, der.sequence(...(attrs ?? [])))
      : Uint8Array.from([0xa0, ...setBytes.subarray(1)])
    : new Uint8Array(0);
  return der.sequence(
    der.integer(version),
    sid,
    der.algorithm(o.digestOid ?? OID.sha256),
    attrsEl,
    der.algorithm(pkeyOid, key.rsa && pkeyOid === OID.rsaEncryption ? der.null() : null),
    der.octetString(signature),
  );
}

export interface CmsOpts extends SignerInfoOpts {
  readonly outerType?: string;
  readonly sdVersion?: number;
  readonly digestAlgos?: string[];
  readonly innerType?: string;
  /** Attached content (eContent). */
  readonly eContent?: Uint8Array;
  /** DER certificates to embed in `[0]`. */
  readonly certs?: Uint8Array[];
  /** SignerInfos to use instead of the one made from the options. */
  readonly signerInfos?: Uint8Array[];
  /** Leave the signerInfos field out entirely. */
  readonly noSignerInfos?: boolean;
}

/** A ContentInfo/SignedData message. Defaults give bpftool's shape. */
export function craftCms(content: Uint8Array, key: VectorKey, o: CmsOpts = {}): Uint8Array {
  const sinfos = o.signerInfos ?? [signerInfo(content, key, o)];
  const sdVersion = o.sdVersion ?? ((o.sid ?? "skid") === "issuer" ? 1 : 3);
  const encap = o.eContent
    ? der.sequence(der.oid(o.innerType ?? OID.data), der.explicit(0, der.octetString(o.eContent)))
    : der.sequence(der.oid(o.innerType ?? OID.data));
  const sd = der.sequence(
    der.integer(sdVersion),
    der.set(...(o.digestAlgos ?? [OID.sha256]).map((d) => der.algorithm(d))),
    encap,
    o.certs ? der.explicit(0, ...o.certs) : new Uint8Array(0),
    o.noSignerInfos ? new Uint8Array(0) : der.set(...sinfos),
  );
  return der.sequence(der.oid(o.outerType ?? OID.signedData), der.explicit(0, sd));
}

// --- certificates -----------------------------------------------------------------------------

export const ext = (oid: string, value: Uint8Array, critical = false): Uint8Array =>
  der.sequence(
    der.oid(oid),
    critical ? der.boolean(true) : new Uint8Array(0),
    der.octetString(value),
  );

export const name = (cn: string): Uint8Array =>
  der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8(cn))));

export interface CertOpts {
  readonly subject?: Uint8Array;
  readonly issuer?: Uint8Array;
  readonly serial?: number | bigint;
  readonly sigOid?: string;
  readonly outerSigOid?: string;
  readonly spki?: Uint8Array;
  readonly notBefore?: Uint8Array;
  readonly notAfter?: Uint8Array;
  readonly extensions?: Uint8Array[];
  /** Signature BIT STRING unused-bits byte. */
  readonly unusedBits?: number;
  /** Signing key (default: the vector key's own, i.e. self-signed). */
  readonly signer?: KeyObject;
  /** Sign something other than the TBS. */
  readonly signOver?: Uint8Array;
}

/** A certificate for `key` (by default self-signed with sha256WithRSAEncryption). */
export function craftCert(key: VectorKey, o: CertOpts = {}): Uint8Array {
  const subj = o.subject ?? name("crafted");
  const sigOid = o.sigOid ?? (key.rsa ? OID.sha256WithRSAEncryption : OID.ecdsaWithSha256);
  const algId = (oid: string) =>
    der.algorithm(oid, oid.startsWith("1.2.840.113549") ? der.null() : null);
  const spki =
    o.spki ?? new Uint8Array(createPublicKey(key.priv).export({ format: "der", type: "spki" }));
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(o.serial ?? 0x1234),
    algId(sigOid),
    o.issuer ?? subj,
    der.sequence(
      o.notBefore ?? der.utcTime("260101000000Z"),
      o.notAfter ?? der.generalizedTime("21260101000000Z"),
    ),
    subj,
    spki,
    o.extensions ? der.explicit(3, der.sequence(...o.extensions)) : new Uint8Array(0),
  );
  const sig = rawSign(o.signer ?? key.priv, "sha256", o.signOver ?? tbs);
  return der.sequence(tbs, algId(o.outerSigOid ?? sigOid), der.bitString(sig, o.unusedBits ?? 0));
}

/** The OID content bytes of a dotted OID (for byte-level edits). */
export const oidBytes = (dotted: string): Uint8Array => encodeOid(dotted);
