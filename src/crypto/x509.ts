/**
 * X.509 certificates as the kernel reads them: x509_cert_parse() (grammar x509.asn1 and
 * x509_akid.asn1 with the parser callbacks), x509_get_sig_params(), x509_check_for_self_signed()
 * and the key ids and description of x509_key_preparse(). Kernel-semantics §8.12.
 */

import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { type Failure, fail, type Outcome, ok } from "../uapi/errno.js";
import {
  type Asn1Action,
  asn1BerDecode,
  bytesEqual,
  CONS_BIT,
  compileGrammar,
  concatBytes,
  grammar,
  Tag,
  toHex,
} from "./asn1.js";
import { EC_CURVE_ALGO, lookUpOid, NODE_HASH, type OidName, X509_SIG_ALGO } from "./oid.js";
import { type PublicKeySignature, publicKeyVerifySignature, spkiFromParts } from "./public_key.js";

/** An asymmetric key as an X.509 certificate puts it in a keyring. */
export interface AsymmetricKey {
  /** kids->id[]: serial‖issuer, SKID (or null), raw subject. */
  readonly ids: readonly [id0: Uint8Array, id1: Uint8Array | null, id2: Uint8Array];
  /** The kernel's name: "rsa", "ecdsa-nist-p256", "ecdsa-nist-p384", … */
  readonly pkeyAlgo: string;
  readonly publicKey: KeyObject;
  /** "<subject CN or O>: <hex(skid or serial)>" */
  readonly description: string;
  readonly subjectKeyId: Uint8Array | null;
  readonly serial: Uint8Array;
  readonly rawIssuer: Uint8Array;
  readonly rawSubject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly selfSigned: boolean;
  readonly der: Uint8Array;
}

/** A parsed certificate: the key plus what chain checks need (struct x509_certificate). */
export interface X509Certificate extends AsymmetricKey {
  /** The certificate's own signature (auth_ids from its AKID and issuer). */
  readonly sig: PublicKeySignature;
  /** The issuer name and subject name as the kernel fabricates them. */
  readonly issuer: string;
  readonly subject: string;
  /** True when the signature's hash is not available (the cert cannot be checked). */
  readonly unsupportedSig: boolean;
  /** KEY_EFLAG_* bits from keyUsage and basicConstraints. */
  readonly keyEflags: number;
}

export const KeyEflag = { DIGITALSIG: 0, KEYCERTSIGN: 1, CA: 2 } as const;

interface Ctx {
  data: Uint8Array;
  lastOid: OidName | null;
  sigAlgo: OidName | null;
  keyAlgo: OidName | null;
  keyAlgoOid: Uint8Array | null;
  tbs: [number, number] | null;
  sig: PublicKeySignature;
  rawSig: Uint8Array | null;
  serial: Uint8Array | null;
  rawIssuer: Uint8Array | null;
  rawSubject: Uint8Array | null;
  issuer: string | null;
  subject: string | null;
  cn: [number, number];
  o: [number, number];
  email: [number, number];
  params: Uint8Array | null;
  key: Uint8Array | null;
  pkeyAlgo: string | null;
  skid: Uint8Array | null;
  rawAkid: Uint8Array | null;
  akidRawIssuer: Uint8Array | null;
  validFrom: number;
  validTo: number;
  keyEflags: number;
}

const bad = (reason: string): Failure => fail("EBADMSG", `X.509: ${reason}`);

// --- callbacks --------------------------------------------------------------------------------

const noteOid: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.lastOid = lookUpOid(d.subarray(v, v + l));
  // Remember the raw OID of the key's AlgorithmIdentifier to rebuild the SPKI for node:crypto.
  if (ctx.rawSubject !== null && ctx.key === null) ctx.keyAlgoOid = d.slice(v, v + l);
  return undefined;
};

const noteTbs: Asn1Action<Ctx> = (ctx, h, _t, _d, v, l) => {
  ctx.tbs = [v - h, l + h];
  return undefined;
};

const noteSigAlgo: Asn1Action<Ctx> = (ctx) => {
  const a = ctx.lastOid ? X509_SIG_ALGO[ctx.lastOid] : undefined;
  if (!a) return fail("ENOPKG", `X.509: unsupported signature algorithm ${ctx.lastOid ?? "?"}`);
  ctx.sig.pkeyAlgo = a.pkeyAlgo;
  ctx.sig.encoding = a.encoding;
  ctx.sig.hashAlgo = a.hashAlgo;
  ctx.sigAlgo = ctx.lastOid;
  return undefined;
};

const noteSignature: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  if (ctx.lastOid !== ctx.sigAlgo) {
    return fail(
      "EINVAL",
      `X.509: signatureAlgorithm (${ctx.lastOid}) differs from tbsCertificate.signature (${ctx.sigAlgo})`,
    );
  }
  const p = ctx.sig.pkeyAlgo;
  if (p === "rsa" || p === "ecrdsa" || p === "ecdsa") {
    if (l < 1 || d[v] !== 0) return bad("signature BIT STRING has unused bits");
    v++;
    l--;
  }
  ctx.rawSig = d.slice(v, v + l);
  return undefined;
};

const noteSerial: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.serial = d.slice(v, v + l);
  return undefined;
};

const nameSegment: Asn1Action<Ctx> = (ctx, _h, _t, _d, v, l) => {
  // The kernel keeps these sizes in a u8 and the offsets in a u16.
  const seg: [number, number] = [v & 0xffff, l & 0xff];
  if (ctx.lastOid === "commonName") ctx.cn = seg;
  else if (ctx.lastOid === "organizationName") ctx.o = seg;
  else if (ctx.lastOid === "emailAddress") ctx.email = seg;
  return undefined;
};

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

function fabricateName(ctx: Ctx): string {
  const seg = ([off, size]: [number, number]) => ctx.data.subarray(off, off + size);
  const [cn, o, email] = [ctx.cn[1], ctx.o[1], ctx.email[1]];
  let name: string;
  if (!cn && !o && !email) name = "";
  else if (cn && o) {
    const c = seg(ctx.cn);
    const org = seg(ctx.o);
    if (
      (cn >= o && bytesEqual(c.subarray(0, o), org)) ||
      (cn >= 7 && o >= 7 && bytesEqual(c.subarray(0, 7), org.subarray(0, 7)))
    ) {
      name = latin1(c);
    } else {
      name = `${latin1(org)}: ${latin1(c)}`;
    }
  } else if (cn) name = latin1(seg(ctx.cn));
  else if (o) name = latin1(seg(ctx.o));
  else name = latin1(seg(ctx.email));
  ctx.cn = [0, 0];
  ctx.o = [0, 0];
  ctx.email = [0, 0];
  return name;
}

const noteIssuer: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.rawIssuer = d.slice(v, v + l);
  if (!ctx.sig.authIds[2]) ctx.sig.authIds[2] = ctx.rawIssuer;
  if (ctx.issuer !== null) return fail("EINVAL", "X.509: issuer named twice");
  ctx.issuer = fabricateName(ctx);
  return undefined;
};

const noteSubject: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.rawSubject = d.slice(v, v + l);
  if (ctx.subject !== null) return fail("EINVAL", "X.509: subject named twice");
  ctx.subject = fabricateName(ctx);
  return undefined;
};

const noteParams: Asn1Action<Ctx> = (ctx, h, _t, d, v, l) => {
  // Only the AlgorithmIdentifier between subject and key (the key's own) counts.
  if (ctx.rawSubject === null || ctx.key !== null) return undefined;
  ctx.params = d.slice(v - h, v + l);
  return undefined;
};

const extractKeyData: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.keyAlgo = ctx.lastOid;
  switch (ctx.lastOid) {
    case "rsaEncryption":
      ctx.pkeyAlgo = "rsa";
      break;
    case "gost2012PKey256":
    case "gost2012PKey512":
      ctx.pkeyAlgo = "ecrdsa";
      break;
    case "ecPublicKey": {
      const p = ctx.params;
      if (!p || p.length < 2 || p[0] !== Tag.OID || p[1] !== p.length - 2) {
        return bad("EC parameters are not an OID");
      }
      const curve = lookUpOid(p.subarray(2));
      const algo = curve ? EC_CURVE_ALGO[curve] : undefined;
      if (!algo) return fail("ENOPKG", "X.509: unsupported EC curve");
      ctx.pkeyAlgo = algo;
      break;
    }
    case "mlDsa44":
      ctx.pkeyAlgo = "ml-dsa44";
      break;
    case "mlDsa65":
      ctx.pkeyAlgo = "ml-dsa65";
      break;
    case "mlDsa87":
      ctx.pkeyAlgo = "ml-dsa87";
      break;
    default:
      return fail("ENOPKG", `X.509: unsupported key algorithm ${ctx.lastOid ?? "?"}`);
  }
  if (l < 1 || d[v] !== 0) return bad("key BIT STRING has unused bits");
  ctx.key = d.slice(v + 1, v + l);
  return undefined;
};

const processExtension: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  const val = d.subarray(v, v + l);
  switch (ctx.lastOid) {
    case "subjectKeyIdentifier":
      if (ctx.skid || l < 3) return bad("bad or repeated subjectKeyIdentifier");
      if (val[0] !== Tag.OCTET_STRING || val[1] !== l - 2) return bad("bad subjectKeyIdentifier");
      ctx.skid = val.slice(2);
      return undefined;
    case "keyUsage":
      if (val[0] !== Tag.BIT_STRING || l < 4 || val[2] >= 8) return bad("bad keyUsage");
      if (val[3] & 0x80) ctx.keyEflags |= 1 << KeyEflag.DIGITALSIG;
      if (val[1] === 0x02 && val[2] <= 2 && val[3] & 0x04) {
        ctx.keyEflags |= 1 << KeyEflag.KEYCERTSIGN;
      } else if (l > 4 && val[1] === 0x03 && val[3] & 0x04) {
        ctx.keyEflags |= 1 << KeyEflag.KEYCERTSIGN;
      }
      return undefined;
    case "authorityKeyIdentifier":
      ctx.rawAkid = val.slice();
      return undefined;
    case "basicConstraints":
      if (val[0] !== (CONS_BIT | Tag.SEQUENCE) || l < 2 || val[1] !== l - 2) {
        return bad("bad basicConstraints");
      }
      if (val[1] === 0) return undefined;
      if (l >= 5 && val[2] === Tag.BOOLEAN && val[3] === 1 && val[4] === 0xff) {
        ctx.keyEflags |= 1 << KeyEflag.CA;
        return undefined;
      }
      return bad("bad basicConstraints");
    default:
      return undefined;
  }
};

/**
 * x509_decode_time: UTCTime (13 chars) or GeneralizedTime (15 chars), 'Z' only. Returns
 * seconds since the epoch.
 */
export function x509DecodeTime(tag: number, value: Uint8Array): number | Failure {
  let p = 0;
  const dd = (): number | null => {
    const a = value[p] - 0x30;
    const b = value[p + 1] - 0x30;
    p += 2;
    if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return null;
    return a * 10 + b;
  };
  const invalid = (): Failure => fail("EBADMSG", "X.509: invalid time");
  let year: number;
  if (tag === Tag.UTCTime) {
    if (value.length !== 13) return fail("EBADMSG", "X.509: unsupported time");
    const y = dd();
    if (y === null) return invalid();
    year = y >= 50 ? y + 1900 : y + 2000;
  } else if (tag === Tag.GeneralizedTime) {
    if (value.length !== 15) return fail("EBADMSG", "X.509: unsupported time");
    const hi = dd();
    const lo = dd();
    if (hi === null || lo === null) return invalid();
    year = hi * 100 + lo;
    if (year >= 1950 && year <= 2049) return invalid();
  } else {
    return fail("EBADMSG", "X.509: unsupported time");
  }
  const f = [dd(), dd(), dd(), dd(), dd()];
  if (f.some((x) => x === null)) return invalid();
  const [mon, day, hour, min, sec] = f as number[];
  if (value[p] !== 0x5a) return fail("EBADMSG", "X.509: unsupported time");
  if (year < 1970 || mon < 1 || mon > 12) return invalid();
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monLen = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mon - 1];
  if (day < 1 || day > monLen || hour > 24 || min > 59 || sec > 60) return invalid();
  return Date.UTC(year, mon - 1, day, hour, min, sec) / 1000;
}

const noteNotBefore: Asn1Action<Ctx> = (ctx, _h, tag, d, v, l) => {
  const t = x509DecodeTime(tag, d.subarray(v, v + l));
  if (typeof t !== "number") return t;
  ctx.validFrom = t;
  return undefined;
};

const noteNotAfter: Asn1Action<Ctx> = (ctx, _h, tag, d, v, l) => {
  const t = x509DecodeTime(tag, d.subarray(v, v + l));
  if (typeof t !== "number") return t;
  ctx.validTo = t;
  return undefined;
};

const akidNoteKid: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  if (!ctx.sig.authIds[1]) ctx.sig.authIds[1] = d.slice(v, v + l);
  return undefined;
};

const akidNoteName: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  ctx.akidRawIssuer = d.slice(v, v + l);
  return undefined;
};

const akidNoteSerial: Asn1Action<Ctx> = (ctx, _h, _t, d, v, l) => {
  if (!ctx.akidRawIssuer || ctx.sig.authIds[0]) return undefined;
  ctx.sig.authIds[0] = concatBytes([d.subarray(v, v + l), ctx.akidRawIssuer]);
  return undefined;
};

// --- grammars ---------------------------------------------------------------------------------

const g = grammar<Ctx>();

function nameType(nameSeg: Asn1Action<Ctx>) {
  const ava = g.define(
    g.type("AttributeValueAssertion"),
    g.seq([g.prim(Tag.OID, noteOid), g.any(nameSeg)]),
  );
  const rdn = g.define(g.type("RelativeDistinguishedName"), g.setOf(g.ref(ava)));
  return g.define(g.type("Name"), g.seqOf(g.ref(rdn)));
}

const x509Decoder = (() => {
  const algId = g.define(
    g.type("AlgorithmIdentifier"),
    g.seq([g.prim(Tag.OID, noteOid), g.opt(g.any(noteParams))]),
  );
  const name = nameType(nameSegment);
  const time = g.define(
    g.type("Time"),
    g.choice([g.prim(Tag.UTCTime), g.prim(Tag.GeneralizedTime)]),
  );
  const validity = g.define(
    g.type("Validity"),
    g.seq([g.ref(time, noteNotBefore), g.ref(time, noteNotAfter)]),
  );
  const spki = g.define(
    g.type("SubjectPublicKeyInfo"),
    g.seq([g.ref(algId), g.prim(Tag.BIT_STRING, extractKeyData)]),
  );
  const uniqueId = g.define(g.type("UniqueIdentifier"), g.prim(Tag.BIT_STRING));
  const extension = g.define(
    g.type("Extension"),
    g.seq([
      g.prim(Tag.OID, noteOid),
      g.opt(g.prim(Tag.BOOLEAN)),
      g.prim(Tag.OCTET_STRING, processExtension),
    ]),
  );
  const extensions = g.define(g.type("Extensions"), g.seqOf(g.ref(extension)));
  const version = g.define(g.type("Version"), g.prim(Tag.INTEGER));
  const serial = g.define(g.type("CertificateSerialNumber"), g.prim(Tag.INTEGER));
  const tbs = g.define(
    g.type("TBSCertificate"),
    g.seq([
      g.opt(g.explicit(0, g.ref(version))),
      g.ref(serial, noteSerial),
      g.ref(algId, noteSigAlgo),
      g.ref(name, noteIssuer),
      g.ref(validity),
      g.ref(name, noteSubject),
      g.ref(spki),
      g.opt(g.implicit(1, g.ref(uniqueId))),
      g.opt(g.implicit(2, g.ref(uniqueId))),
      g.opt(g.explicit(3, g.ref(extensions))),
    ]),
  );
  const cert = g.define(
    g.type("Certificate"),
    g.seq([g.ref(tbs, noteTbs), g.ref(algId), g.prim(Tag.BIT_STRING, noteSignature)]),
  );
  return compileGrammar(cert);
})();

const x509AkidDecoder = (() => {
  const keyId = g.define(g.type("KeyIdentifier"), g.prim(Tag.OCTET_STRING, akidNoteKid));
  const serial = g.define(g.type("CertificateSerialNumber"), g.prim(Tag.INTEGER, akidNoteSerial));
  const name = nameType(nameSegment);
  const otherName = g.define(g.type("OtherName"), g.seq([g.prim(Tag.OID), g.explicit(0, g.any())]));
  const ediPartyName = g.define(
    g.type("EDIPartyName"),
    g.seq([g.opt(g.explicit(0, g.any())), g.explicit(1, g.any())]),
  );
  const generalName = g.define(
    g.type("GeneralName"),
    g.choice([
      g.implicit(0, g.ref(otherName)),
      g.implicit(1, g.prim(Tag.IA5String)),
      g.implicit(2, g.prim(Tag.IA5String)),
      g.explicit(3, g.any()),
      g.explicit(4, g.ref(name, akidNoteName)),
      g.implicit(5, g.ref(ediPartyName)),
      g.implicit(6, g.prim(Tag.IA5String)),
      g.implicit(7, g.prim(Tag.OCTET_STRING)),
      g.implicit(8, g.prim(Tag.OID)),
    ]),
  );
  const generalNames = g.define(g.type("GeneralNames"), g.seqOf(g.ref(generalName)));
  const akid = g.define(
    g.type("AuthorityKeyIdentifier"),
    g.seq([
      g.opt(g.implicit(0, g.ref(keyId))),
      g.opt(g.implicit(1, g.ref(generalNames))),
      g.opt(g.implicit(2, g.ref(serial))),
    ]),
  );
  return compileGrammar(akid);
})();

// --- parse ------------------------------------------------------------------------------------

/** Hash `data` with a kernel hash name, or null when the hash is not available. */
export function kernelHash(hashAlgo: string, data: Uint8Array): Uint8Array | null {
  const n = NODE_HASH[hashAlgo];
  if (!n) return null;
  return Uint8Array.from(createHash(n).update(data).digest());
}

/** Parse a DER (or BER) X.509 certificate as x509_cert_parse + x509_key_preparse do. */
export function parseX509(der: Uint8Array): Outcome<X509Certificate> {
  const ctx: Ctx = {
    data: der,
    lastOid: null,
    sigAlgo: null,
    keyAlgo: null,
    keyAlgoOid: null,
    tbs: null,
    sig: {
      s: new Uint8Array(0),
      m: null,
      hashAlgo: null,
      pkeyAlgo: null,
      encoding: null,
      authIds: [null, null, null],
    },
    rawSig: null,
    serial: null,
    rawIssuer: null,
    rawSubject: null,
    issuer: null,
    subject: null,
    cn: [0, 0],
    o: [0, 0],
    email: [0, 0],
    params: null,
    key: null,
    pkeyAlgo: null,
    skid: null,
    rawAkid: null,
    akidRawIssuer: null,
    validFrom: 0,
    validTo: 0,
    keyEflags: 0,
  };
  const r = asn1BerDecode(x509Decoder, ctx, der);
  if (r) return r;
  if (ctx.rawAkid) {
    // The AKID is decoded on its own, with its own offsets.
    const akidCtx: Ctx = { ...ctx, data: ctx.rawAkid };
    const ra = asn1BerDecode(x509AkidDecoder, akidCtx, ctx.rawAkid);
    if (ra) return ra;
  }
  // The grammar lets a certificate end early; without these parts there is nothing to use.
  if (
    !ctx.tbs ||
    !ctx.rawSig ||
    !ctx.key ||
    !ctx.pkeyAlgo ||
    !ctx.serial ||
    !ctx.rawIssuer ||
    !ctx.rawSubject
  ) {
    return bad("certificate is incomplete");
  }

  const keyAlgoOid = ctx.keyAlgoOid;
  if (ctx.pkeyAlgo === "ecrdsa" || ctx.pkeyAlgo.startsWith("ml-dsa")) {
    return fail("ENOPKG", `X.509: ${ctx.pkeyAlgo} keys are known but not supported by this model`);
  }
  let publicKey: KeyObject;
  try {
    const spki = spkiFromParts(keyAlgoOid ?? new Uint8Array(0), ctx.params, ctx.key);
    publicKey = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  } catch {
    return bad("public key cannot be decoded");
  }

  // x509_get_sig_params
  const sig: PublicKeySignature = { ...ctx.sig, s: ctx.rawSig, authIds: ctx.sig.authIds };
  const tbs = der.subarray(ctx.tbs[0], ctx.tbs[0] + ctx.tbs[1]);
  let unsupportedSig = false;
  const m = kernelHash(sig.hashAlgo ?? "", tbs);
  if (m) sig.m = m;
  else unsupportedSig = true;

  const id0 = concatBytes([ctx.serial, ctx.rawIssuer]);
  const pub = { pkeyAlgo: ctx.pkeyAlgo, keyObject: publicKey };

  // x509_check_for_self_signed
  let selfSigned = false;
  if (bytesEqual(ctx.rawSubject, ctx.rawIssuer)) {
    let candidate = true;
    if (sig.authIds[0] || sig.authIds[1]) {
      const a = bytesEqual(ctx.skid, sig.authIds[1]);
      const b = bytesEqual(id0, sig.authIds[0]);
      if (!a && !b) candidate = false;
      else if (a !== b && sig.authIds[0] && sig.authIds[1]) {
        return fail("EKEYREJECTED", "X.509: AKID only partly matches a self-signed certificate");
      }
    }
    if (candidate && !unsupportedSig) {
      const v = publicKeyVerifySignature(pub, sig);
      if (v === undefined) selfSigned = true;
      else if (v.errno === "ENOPKG") unsupportedSig = true;
      else return v;
    }
  }

  const skid = ctx.skid;
  const description = `${ctx.subject ?? ""}: ${toHex(skid ?? ctx.serial)}`;
  return ok({
    ids: [id0, skid, ctx.rawSubject],
    pkeyAlgo: ctx.pkeyAlgo,
    publicKey,
    description,
    subjectKeyId: skid,
    serial: ctx.serial,
    rawIssuer: ctx.rawIssuer,
    rawSubject: ctx.rawSubject,
    notBefore: new Date(ctx.validFrom * 1000),
    notAfter: new Date(ctx.validTo * 1000),
    selfSigned,
    der,
    sig,
    issuer: ctx.issuer ?? "",
    subject: ctx.subject ?? "",
    unsupportedSig,
    keyEflags: ctx.keyEflags,
  });
}

// --- PEM / loading ----------------------------------------------------------------------------

/**
 * The DER bytes of the first PEM block (with `label`, e.g. "CERTIFICATE", when given), or null
 * when there is none.
 */
export function pemToDer(text: string, label?: string): Uint8Array | null {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (label && m[1] !== label) continue;
    const body = m[2].replace(/\s+/g, "");
    if (/[^A-Za-z0-9+/=]/.test(body)) return null;
    return Uint8Array.from(Buffer.from(body, "base64"));
  }
  return null;
}

/** DER text of bytes as PEM. */
export function derToPem(der: Uint8Array, label = "CERTIFICATE"): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** True when bytes look like a DER certificate the way bpftool's read_x509 sniffs them. */
export function looksLikeDer(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x30 && bytes[1] >= 0x81 && bytes[1] <= 0x84;
}

/** Load a certificate file's bytes, DER or PEM (sniffed like bpftool), and parse it. */
export function loadCertificate(bytes: Uint8Array): Outcome<X509Certificate> {
  if (looksLikeDer(bytes)) return parseX509(bytes);
  const der = pemToDer(Buffer.from(bytes).toString("latin1"), "CERTIFICATE");
  if (!der) return fail("EINVAL", "not a DER or PEM certificate");
  return parseX509(der);
}

/** The kernel's `asymmetric_key_id_same`. */
export const keyIdSame = (a: Uint8Array | null | undefined, b: Uint8Array | null | undefined) =>
  bytesEqual(a, b);
