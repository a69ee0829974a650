/**
 * PKCS#7 / CMS SignedData as the kernel parses it: pkcs7_parse_message() with the grammar of
 * pkcs7.asn1, its callbacks and pkcs7_check_authattrs(). Kernel-semantics §8.2–§8.3.
 */

import { type Failure, fail, type Outcome, ok } from "../uapi/errno.js";
import {
  type Asn1Action,
  asn1BerDecode,
  CONS_BIT,
  compileGrammar,
  concatBytes,
  decodeOid,
  grammar,
  Tag,
  toHex,
} from "./asn1.js";
import { DIGEST_ALGO, describeOid, lookUpOid, type OidName, PKCS7_PKEY_ALGO } from "./oid.js";
import type { PublicKeySignature } from "./public_key.js";
import { parseX509, type X509Certificate, x509DecodeTime } from "./x509.js";

/** One SignerInfo (struct pkcs7_signed_info). */
export interface Pkcs7SignerInfo {
  /** 1-based position, as the kernel numbers them in messages. */
  readonly index: number;
  readonly version: number;
  /** The SignerIdentifier alternative present in the data. */
  readonly sidKind: "issuerAndSerial" | "skid" | "none";
  /** The signature: s, algorithms and auth_ids[0] (serial‖issuer for v1, the SKID for v3). */
  readonly sig: PublicKeySignature;
  /** The digestAlgorithm OID, dotted. */
  readonly digestAlgoOid: string;
  /** The digestEncryptionAlgorithm OID, dotted. */
  readonly pkeyAlgoOid: string;
  /** ML-DSA: the algorithm signs the data itself. */
  readonly algoTakesData: boolean;
  /** The raw `[0]` authenticatedAttributes element, header included, or null. */
  readonly authattrs: Uint8Array | null;
  /** Value of the messageDigest attribute. */
  readonly messageDigest: Uint8Array | null;
  /** Value of the contentType attribute (registry name or dotted). */
  readonly contentType: string | null;
  /** The signingTime attribute. */
  readonly signingTime: Date | null;
  readonly hasSigningTime: boolean;
}

/** A parsed message (struct pkcs7_message). */
export interface Pkcs7Message {
  readonly version: number;
  /** SignedData.digestAlgorithms, as names or dotted OIDs (noted, not validated). */
  readonly digestAlgos: readonly string[];
  /** The encapsulated content type: "data" or "msIndirectData". */
  readonly dataType: OidName;
  /** Attached content, or null when detached. */
  readonly data: Uint8Array | null;
  readonly certs: readonly X509Certificate[];
  readonly signerInfos: readonly Pkcs7SignerInfo[];
  readonly haveAuthattrs: boolean;
}

interface SinfoBuild {
  version: number;
  sidKind: Pkcs7SignerInfo["sidKind"];
  sig: PublicKeySignature;
  digestAlgoOid: string;
  pkeyAlgoOid: string;
  algoTakesData: boolean;
  authattrs: Uint8Array | null;
  aaSet: Set<string>;
  messageDigest: Uint8Array | null;
  contentType: string | null;
  signingTime: number | null;
}

interface Ctx {
  data: Uint8Array;
  lastOid: OidName | null;
  lastOidBytes: Uint8Array;
  inDigestAlgos: boolean;
  digestAlgos: string[];
  version: number;
  dataType: OidName | null;
  content: Uint8Array | null;
  certs: X509Certificate[];
  msgCerts: X509Certificate[];
  signerInfos: Pkcs7SignerInfo[];
  sinfo: SinfoBuild;
  expectSkid: boolean;
  rawSerial: Uint8Array | null;
  rawIssuer: Uint8Array | null;
  rawSkid: Uint8Array | null;
}

const newSinfo = (): SinfoBuild => ({
  version: 0,
  sidKind: "none",
  sig: {
    s: new Uint8Array(0),
    m: null,
    hashAlgo: null,
    pkeyAlgo: null,
    encoding: null,
    authIds: [null, null, null],
  },
  digestAlgoOid: "",
  pkeyAlgoOid: "",
  algoTakesData: false,
  authattrs: null,
  aaSet: new Set(),
  messageDigest: null,
  contentType: null,
  signingTime: null,
});

const oidText = (b: Uint8Array): string => decodeOid(b) ?? `oid:${toHex(b)}`;

// --- callbacks --------------------------------------------------------------------------------

const noteOid: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.lastOidBytes = d.slice(v, v + l);
  ctx.lastOid = lookUpOid(ctx.lastOidBytes);
  return undefined;
};

/** The OID of a DigestAlgorithmIdentifier: noted, and listed while in digestAlgorithms. */
const noteDigestListOid: Asn1Action<Ctx> = (ctx, h, t, d, v, l) => {
  noteOid(ctx, h, t, d, v, l);
  if (ctx.inDigestAlgos) ctx.digestAlgos.push(describeOid(ctx.lastOidBytes));
  return undefined;
};

const checkContentType: Asn1Action<Ctx> = (ctx) => {
  if (ctx.lastOid !== "signedData") return fail("EINVAL", "Only support pkcs7_signedData type");
  return undefined;
};

const noteSignedDataVersion: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  if (l !== 1 || (d[v] !== 1 && d[v] !== 3))
    return fail("EINVAL", "Unsupported SignedData version");
  ctx.version = d[v];
  ctx.inDigestAlgos = true;
  return undefined;
};

const noteContent: Asn1Action<Ctx> = (ctx) => {
  ctx.inDigestAlgos = false;
  if (ctx.lastOid !== "data" && ctx.lastOid !== "msIndirectData") {
    return fail("EINVAL", `Unsupported data type ${oidText(ctx.lastOidBytes)}`);
  }
  ctx.dataType = ctx.lastOid;
  return undefined;
};

const noteData: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.content = d.slice(v, v + l);
  return undefined;
};

const extractCert: Asn1Action<Ctx> = (ctx, h, tag, d, v, l) => {
  if (tag !== (CONS_BIT | Tag.SEQUENCE))
    return fail("EBADMSG", `Cert began with tag ${tag.toString(16)}`);
  let start = v - h;
  let len = l + h;
  // An indefinite-length cert gets two more bytes for its EOC (which the length already holds).
  if (d[start + 1] === 0x80) len += 2;
  if (start + len > d.length) len = d.length - start;
  start = Math.max(0, start);
  const x509 = parseX509(d.slice(start, start + len));
  if (!x509.ok) return x509;
  ctx.certs.push(x509.value);
  return undefined;
};

const noteCertificateList: Asn1Action<Ctx> = (ctx) => {
  ctx.msgCerts = [...ctx.certs, ...ctx.msgCerts];
  ctx.certs = [];
  return undefined;
};

const noteSignerInfoVersion: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  const version = l === 1 ? d[v] : -1;
  if (version === 1) {
    if (ctx.version !== 1) return fail("EBADMSG", "SignedData-SignerInfo version mismatch");
    ctx.expectSkid = false;
  } else if (version === 3) {
    if (ctx.version === 1) return fail("EBADMSG", "SignedData-SignerInfo version mismatch");
    ctx.expectSkid = true;
  } else {
    return fail("EINVAL", "Unsupported SignerInfo version");
  }
  ctx.sinfo.version = version;
  return undefined;
};

const noteIssuer: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.rawIssuer = d.slice(v, v + l);
  ctx.sinfo.sidKind = "issuerAndSerial";
  return undefined;
};

const noteSerial: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.rawSerial = d.slice(v, v + l);
  return undefined;
};

const noteSkid: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.rawSkid = d.slice(v, v + l);
  ctx.sinfo.sidKind = "skid";
  return undefined;
};

const noteDigestAlgo: Asn1Action<Ctx> = (ctx) => {
  ctx.sinfo.digestAlgoOid = oidText(ctx.lastOidBytes);
  const h = ctx.lastOid ? DIGEST_ALGO[ctx.lastOid] : undefined;
  if (!h) return fail("ENOPKG", `Unsupported digest algo: ${oidText(ctx.lastOidBytes)}`);
  ctx.sinfo.sig.hashAlgo = h;
  return undefined;
};

const notePkeyAlgo: Asn1Action<Ctx> = (ctx) => {
  ctx.sinfo.pkeyAlgoOid = oidText(ctx.lastOidBytes);
  const a = ctx.lastOid ? PKCS7_PKEY_ALGO[ctx.lastOid] : undefined;
  if (!a) return fail("ENOPKG", `Unsupported pkey algo: ${oidText(ctx.lastOidBytes)}`);
  ctx.sinfo.sig.pkeyAlgo = a.pkeyAlgo;
  ctx.sinfo.sig.encoding = a.encoding;
  if (a.takesData) ctx.sinfo.algoTakesData = true;
  return undefined;
};

const repeated = (): Failure => fail("EKEYREJECTED", "Repeated/multivalue AuthAttrs not permitted");

const noteAuthenticatedAttr: Asn1Action<Ctx> = (ctx, _h, tag, d, v, l) => {
  const s = ctx.sinfo;
  const first = (bit: string): boolean => {
    if (s.aaSet.has(bit)) return false;
    s.aaSet.add(bit);
    return true;
  };
  const value = d.subarray(v, v + l);
  switch (ctx.lastOid) {
    case "contentType": {
      if (!first("contentType")) return repeated();
      const ct = lookUpOid(value);
      s.contentType = ct ?? oidText(value);
      if (ct !== ctx.dataType) {
        return fail("EBADMSG", "Mismatch between global data type and sinfo content type");
      }
      return undefined;
    }
    case "signingTime": {
      if (!first("signingTime")) return repeated();
      const t = x509DecodeTime(tag, value);
      if (typeof t !== "number") return t;
      s.signingTime = t;
      return undefined;
    }
    case "messageDigest":
      if (!first("messageDigest")) return repeated();
      if (tag !== Tag.OCTET_STRING) return fail("EBADMSG", "messageDigest is not an OCTET STRING");
      s.messageDigest = value.slice();
      return undefined;
    case "smimeCapabilities":
      if (!first("smimeCapabilities")) return repeated();
      if (ctx.dataType !== "msIndirectData") {
        return fail("EKEYREJECTED", "S/MIME Caps only allowed with Authenticode");
      }
      return undefined;
    case "msSpOpusInfo":
    case "msStatementType":
      if (!first(ctx.lastOid)) return repeated();
      if (ctx.dataType !== "msIndirectData") {
        return fail("EKEYREJECTED", "Authenticode AuthAttrs only allowed with Authenticode");
      }
      return undefined;
    default:
      return undefined;
  }
};

const noteSetOfAuthattrs: Asn1Action<Ctx> = (ctx, h, _t, d, v, l) => {
  const s = ctx.sinfo;
  if (!s.aaSet.has("contentType") || !s.aaSet.has("messageDigest")) {
    return fail("EBADMSG", "Missing required AuthAttr");
  }
  if (ctx.dataType !== "msIndirectData" && s.aaSet.has("msSpOpusInfo")) {
    return fail("EBADMSG", "Unexpected Authenticode AuthAttr");
  }
  s.authattrs = d.slice(v - h, v + l);
  return undefined;
};

const noteSignature: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.sinfo.sig = { ...ctx.sinfo.sig, s: d.slice(v, v + l) };
  return undefined;
};

const noteSignedInfo: Asn1Action<Ctx> = (ctx) => {
  const s = ctx.sinfo;
  if (ctx.dataType === "msIndirectData" && !s.authattrs) {
    return fail("EBADMSG", "Authenticode requires AuthAttrs");
  }
  // The id comes from the version (expect_skid), not from the alternative that was present.
  const kid = ctx.expectSkid
    ? (ctx.rawSkid ?? new Uint8Array(0))
    : concatBytes([ctx.rawSerial ?? new Uint8Array(0), ctx.rawIssuer ?? new Uint8Array(0)]);
  s.sig.authIds[0] = kid;
  ctx.signerInfos.push({
    index: ctx.signerInfos.length + 1,
    version: s.version,
    sidKind: s.sidKind,
    sig: s.sig,
    digestAlgoOid: s.digestAlgoOid,
    pkeyAlgoOid: s.pkeyAlgoOid,
    algoTakesData: s.algoTakesData,
    authattrs: s.authattrs,
    messageDigest: s.messageDigest,
    contentType: s.contentType,
    signingTime: s.signingTime === null ? null : new Date(s.signingTime * 1000),
    hasSigningTime: s.aaSet.has("signingTime"),
  });
  ctx.sinfo = newSinfo();
  return undefined;
};

// --- grammar (pkcs7.asn1) ---------------------------------------------------------------------

const pkcs7Decoder = (() => {
  const g = grammar<Ctx>();
  const contentType = g.define(g.type("ContentType"), g.prim(Tag.OID, noteOid));
  const data = g.define(g.type("Data"), g.any(noteData));
  const contentInfo = g.define(
    g.type("ContentInfo"),
    g.seq([g.ref(contentType), g.opt(g.explicit(0, g.ref(data)))]),
  );
  const digestAlgId = g.define(
    g.type("DigestAlgorithmIdentifier"),
    g.seq([g.prim(Tag.OID, noteDigestListOid), g.opt(g.any())]),
  );
  const digestAlgIds = g.define(
    g.type("DigestAlgorithmIdentifiers"),
    g.choice([g.setOf(g.ref(digestAlgId)), g.seqOf(g.ref(digestAlgId))]),
  );
  const certificate = g.define(g.type("Certificate"), g.any(extractCert));
  const extendedCertificate = g.define(g.type("ExtendedCertificate"), g.ref(certificate));
  const extCertOrCert = g.define(
    g.type("ExtendedCertificateOrCertificate"),
    g.choice([g.ref(certificate), g.implicit(0, g.ref(extendedCertificate))]),
  );
  const extCertsAndCerts = g.define(
    g.type("ExtendedCertificatesAndCertificates"),
    g.setOf(g.ref(extCertOrCert)),
  );
  const certificates = g.define(g.type("Certificates"), g.seqOf(g.ref(certificate)));
  const certificateList = g.define(g.type("CertificateList"), g.seqOf(g.ref(certificate)));
  const crls = g.define(g.type("CertificateRevocationLists"), g.setOf(g.ref(certificateList)));
  const crlSequence = g.define(g.type("CRLSequence"), g.seqOf(g.ref(certificateList)));

  const ava = g.define(
    g.type("AttributeValueAssertion"),
    g.seq([g.prim(Tag.OID, noteOid), g.any()]),
  );
  const rdn = g.define(g.type("RelativeDistinguishedName"), g.setOf(g.ref(ava)));
  const name = g.define(g.type("Name"), g.seqOf(g.ref(rdn)));
  const serial = g.define(g.type("CertificateSerialNumber"), g.prim(Tag.INTEGER));
  const issuerAndSerial = g.define(
    g.type("IssuerAndSerialNumber"),
    g.seq([g.ref(name, noteIssuer), g.ref(serial, noteSerial)]),
  );
  const skid = g.define(g.type("SubjectKeyIdentifier"), g.prim(Tag.OCTET_STRING, noteSkid));
  const signerIdentifier = g.define(
    g.type("SignerIdentifier"),
    g.choice([g.ref(issuerAndSerial), g.implicit(0, g.ref(skid))]),
  );
  const authAttr = g.define(
    g.type("AuthenticatedAttribute"),
    g.seq([g.prim(Tag.OID, noteOid), g.setOf(g.any(noteAuthenticatedAttr))]),
  );
  const setOfAuthAttrs = g.define(g.type("SetOfAuthenticatedAttribute"), g.setOf(g.ref(authAttr)));
  const unauthAttr = g.define(
    g.type("UnauthenticatedAttribute"),
    g.seq([g.prim(Tag.OID), g.setOf(g.any())]),
  );
  const digestEncAlgId = g.define(
    g.type("DigestEncryptionAlgorithmIdentifier"),
    g.seq([g.prim(Tag.OID, noteOid), g.opt(g.any())]),
  );
  const encryptedDigest = g.define(
    g.type("EncryptedDigest"),
    g.prim(Tag.OCTET_STRING, noteSignature),
  );
  const signerInfo = g.define(
    g.type("SignerInfo"),
    g.seq(
      [
        g.prim(Tag.INTEGER, noteSignerInfoVersion),
        g.ref(signerIdentifier),
        g.ref(digestAlgId, noteDigestAlgo),
        g.opt(
          g.choice([
            g.implicit(0, g.ref(setOfAuthAttrs, noteSetOfAuthattrs)),
            g.explicit(2, g.seqOf(g.ref(authAttr))),
          ]),
        ),
        g.ref(digestEncAlgId, notePkeyAlgo),
        g.ref(encryptedDigest),
        g.opt(
          g.choice([
            g.implicit(1, g.setOf(g.ref(unauthAttr))),
            g.implicit(3, g.seqOf(g.ref(unauthAttr))),
          ]),
        ),
      ],
      noteSignedInfo,
    ),
  );
  const signerInfos = g.define(
    g.type("SignerInfos"),
    g.choice([g.setOf(g.ref(signerInfo)), g.seqOf(g.ref(signerInfo))]),
  );
  const signedData = g.define(
    g.type("SignedData"),
    g.seq([
      g.prim(Tag.INTEGER, noteSignedDataVersion),
      g.ref(digestAlgIds),
      g.ref(contentInfo, noteContent),
      g.opt(
        g.choice(
          [g.implicit(0, g.ref(extCertsAndCerts)), g.implicit(2, g.ref(certificates))],
          noteCertificateList,
        ),
      ),
      g.opt(g.choice([g.implicit(1, g.ref(crls)), g.implicit(3, g.ref(crlSequence))])),
      g.ref(signerInfos),
    ]),
  );
  const root = g.define(
    g.type("PKCS7ContentInfo"),
    g.seq([g.ref(contentType, checkContentType), g.opt(g.explicit(0, g.ref(signedData)))]),
  );
  return compileGrammar(root);
})();

/** Parse a PKCS#7/CMS SignedData blob the way pkcs7_parse_message() does. */
export function parsePkcs7(data: Uint8Array): Outcome<Pkcs7Message> {
  const ctx: Ctx = {
    data,
    lastOid: null,
    lastOidBytes: new Uint8Array(0),
    inDigestAlgos: false,
    digestAlgos: [],
    version: 0,
    dataType: null,
    content: null,
    certs: [],
    msgCerts: [],
    signerInfos: [],
    sinfo: newSinfo(),
    expectSkid: false,
    rawSerial: null,
    rawIssuer: null,
    rawSkid: null,
  };
  const r = asn1BerDecode(pkcs7Decoder, ctx, data);
  if (r) return r;

  // pkcs7_check_authattrs
  const sinfos = ctx.signerInfos;
  if (sinfos.length === 0) return fail("EINVAL", "Inconsistently supplied authAttrs");
  const want = sinfos[0].authattrs !== null;
  for (const s of sinfos) {
    if ((s.authattrs !== null) !== want) return fail("EINVAL", "Inconsistently supplied authAttrs");
    if (!s.authattrs && s.algoTakesData) s.sig.hashAlgo = "none";
  }
  if (!ctx.dataType) return fail("EINVAL", "no content type");
  return ok({
    version: ctx.version,
    digestAlgos: ctx.digestAlgos,
    dataType: ctx.dataType,
    data: ctx.content,
    certs: ctx.msgCerts,
    signerInfos: sinfos,
    haveAuthattrs: want,
  });
}

/** A summary of a signature for display (an `inspect` command). */
export interface SignatureDescription {
  readonly size: number;
  readonly version: number;
  readonly digestAlgos: readonly string[];
  readonly contentType: string;
  readonly detached: boolean;
  readonly certificates: readonly {
    subject: string;
    issuer: string;
    skid: string | null;
    serial: string;
  }[];
  readonly signers: readonly {
    index: number;
    version: number;
    sid: Pkcs7SignerInfo["sidKind"];
    /** hex of auth_ids[0]: the SKID (v3) or serial‖issuer (v1) */
    keyId: string;
    digestAlgo: string;
    pkeyAlgo: string;
    encoding: string;
    signatureSize: number;
    signedAttributes: boolean;
    signingTime: string | null;
  }[];
}

/** Parse and summarize a signature; failures are the parser's. */
export function describeSignature(signature: Uint8Array): Outcome<SignatureDescription> {
  const m = parsePkcs7(signature);
  if (!m.ok) return m;
  const msg = m.value;
  return ok({
    size: signature.length,
    version: msg.version,
    digestAlgos: msg.digestAlgos,
    contentType: msg.dataType,
    detached: msg.data === null,
    certificates: msg.certs.map((c) => ({
      subject: c.subject,
      issuer: c.issuer,
      skid: c.subjectKeyId ? toHex(c.subjectKeyId) : null,
      serial: toHex(c.serial),
    })),
    signers: msg.signerInfos.map((s) => ({
      index: s.index,
      version: s.version,
      sid: s.sidKind,
      keyId: toHex(s.sig.authIds[0] ?? new Uint8Array(0)),
      digestAlgo: s.sig.hashAlgo ?? s.digestAlgoOid,
      pkeyAlgo: s.sig.pkeyAlgo ?? s.pkeyAlgoOid,
      encoding: s.sig.encoding ?? "",
      signatureSize: s.sig.s.length,
      signedAttributes: s.authattrs !== null,
      signingTime: s.signingTime ? s.signingTime.toISOString() : null,
    })),
  });
}
