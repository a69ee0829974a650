/**
 * verify_pkcs7_signature(…, VERIFYING_BPF_SIGNATURE) as a pure function: detached-data supply,
 * pkcs7_verify() (digests, message-embedded signers and chains), then pkcs7_validate_trust()
 * against one trusted keyring given as a search function. Kernel-semantics §7.5, §8.4, §8.7,
 * §8.8, §8.10, §8.11.
 */

import { createHash } from "node:crypto";
import { type Failure, fail, type Outcome, ok } from "../uapi/errno.js";
import { bytesEqual, Tag } from "./asn1.js";
import { NODE_HASH } from "./oid.js";
import { type Pkcs7Message, type Pkcs7SignerInfo, parsePkcs7 } from "./pkcs7.js";
import { type PublicKeySignature, publicKeyVerifySignature } from "./public_key.js";
import type { AsymmetricKey, X509Certificate } from "./x509.js";

/**
 * Exact-match key search of one trusted keyring, as keyring_search with "ex:<hex>" does:
 * returns the first key whose ids[0] or ids[1] equals id byte-for-byte, or null.
 */
export type KeySearch = (id: Uint8Array) => AsymmetricKey | null;

/** What a successful verification found. */
export interface Pkcs7Verified {
  /** The trusted key that checked the signature (or the top of the embedded chain). */
  readonly signer: AsymmetricKey;
  /** auth_ids[0] of the SignerInfo: the SKID (v3) or serial‖issuer (v1). */
  readonly signerId: Uint8Array;
  readonly digestAlgo: string;
  readonly pkeyAlgo: string;
}

/** A KeySearch over a list of keys, searched in order. */
export function keySearchOf(keys: readonly AsymmetricKey[]): KeySearch {
  return (id) => keys.find((k) => bytesEqual(k.ids[0], id) || bytesEqual(k.ids[1], id)) ?? null;
}

/** Per-verification state the kernel keeps in the certificate and signer structures. */
interface State {
  readonly seen: Set<X509Certificate>;
  readonly verified: Set<X509Certificate>;
  readonly certSigner: Map<X509Certificate, X509Certificate>;
  readonly sinfoSigner: Map<Pkcs7SignerInfo, X509Certificate>;
  readonly unsupported: Set<Pkcs7SignerInfo>;
  /** The key each SignerInfo was validated against. */
  readonly trustedBy: Map<Pkcs7SignerInfo, AsymmetricKey>;
  /** The signed data as digested per hash algorithm, computed once each. */
  readonly digests: Map<string, Uint8Array>;
}

/** Hash the chunks as one stream, or null when the hash is not available. */
function digestChunks(hashAlgo: string, chunks: readonly Uint8Array[]): Uint8Array | null {
  const name = NODE_HASH[hashAlgo];
  if (!name) return null;
  const h = createHash(name);
  for (const c of chunks) h.update(c);
  return new Uint8Array(h.digest());
}

/** pkcs7_digest: fill sig.m for one SignerInfo (over the authattrs when present). */
function pkcs7Digest(
  sinfo: Pkcs7SignerInfo,
  content: readonly Uint8Array[],
  st: State,
): Failure | undefined {
  const sig = sinfo.sig;
  if (!sinfo.authattrs && sinfo.algoTakesData) {
    // ML-DSA signs the data itself; no key of this model can check it, so m stays empty.
    sig.m = new Uint8Array(0);
    return undefined;
  }
  if (!sig.hashAlgo) return fail("ENOPKG", `Sig ${sinfo.index}: no hash algorithm`);
  let d = st.digests.get(sig.hashAlgo);
  if (!d) {
    const computed = digestChunks(sig.hashAlgo, content);
    if (!computed) return fail("ENOPKG", `Sig ${sinfo.index}: hash ${sig.hashAlgo} not available`);
    d = computed;
    st.digests.set(sig.hashAlgo, d);
  }
  if (sinfo.authattrs) {
    if (!sinfo.messageDigest) return fail("EKEYREJECTED", `Sig ${sinfo.index}: No messageDigest`);
    if (sinfo.messageDigest.length !== d.length) {
      return fail(
        "EBADMSG",
        `Sig ${sinfo.index}: Invalid digest size (${sinfo.messageDigest.length})`,
      );
    }
    if (!bytesEqual(sinfo.messageDigest, d)) {
      return fail("EKEYREJECTED", `Sig ${sinfo.index}: Message digest doesn't match`);
    }
    // The digest covers the attributes as a SET OF, not as the [0] they are tagged with.
    const attrs = sinfo.authattrs.slice();
    attrs[0] = Tag.SET;
    if (sinfo.algoTakesData) {
      sig.m = attrs;
    } else {
      const m = digestChunks(sig.hashAlgo, [attrs]);
      if (!m) return fail("ENOPKG", `Sig ${sinfo.index}: hash ${sig.hashAlgo} not available`);
      sig.m = m;
      sig.data = [attrs];
    }
    return undefined;
  }
  sig.m = d;
  sig.data = content;
  return undefined;
}

const pubOf = (k: AsymmetricKey) => ({ pkeyAlgo: k.pkeyAlgo, keyObject: k.publicKey });

/** pkcs7_verify_sig_chain: link the signer's certificate up through the message's certs. */
function verifySigChain(msg: Pkcs7Message, sinfo: Pkcs7SignerInfo, st: State): Failure | undefined {
  st.seen.clear();
  let x509 = st.sinfoSigner.get(sinfo)!;
  for (;;) {
    st.seen.add(x509);
    if (x509.selfSigned) {
      st.certSigner.set(x509, x509);
      return undefined;
    }
    const sig = x509.sig;
    let p: X509Certificate | undefined;
    if (sig.authIds[0]) {
      p = msg.certs.find((c) => bytesEqual(c.ids[0], sig.authIds[0]));
      if (p && sig.authIds[1] && !bytesEqual(p.subjectKeyId, sig.authIds[1])) {
        return fail("EKEYREJECTED", `Sig ${sinfo.index}: X.509 chain contains auth-skid nonmatch`);
      }
    } else if (sig.authIds[1]) {
      p = msg.certs.find(
        (c) => c.subjectKeyId !== null && bytesEqual(c.subjectKeyId, sig.authIds[1]),
      );
    }
    if (!p) return undefined;
    if (st.seen.has(p)) return undefined; // "X.509 chain contains loop"
    const r = publicKeyVerifySignature(pubOf(p), x509.sig);
    if (r) return r;
    st.certSigner.set(x509, p);
    if (x509 === p) return undefined;
    x509 = p;
  }
}

/** pkcs7_verify_one */
function verifyOne(
  msg: Pkcs7Message,
  sinfo: Pkcs7SignerInfo,
  content: readonly Uint8Array[],
  st: State,
): Failure | undefined {
  const d = pkcs7Digest(sinfo, content, st);
  if (d) return d;
  // pkcs7_find_key compares only the certificate id (serial‖issuer) with auth_ids[0].
  const signer = msg.certs.find((c) => bytesEqual(c.ids[0], sinfo.sig.authIds[0]));
  if (!signer) return undefined;
  st.sinfoSigner.set(sinfo, signer);
  if (sinfo.hasSigningTime && sinfo.signingTime) {
    const t = sinfo.signingTime.getTime();
    if (t < signer.notBefore.getTime() || t > signer.notAfter.getTime()) {
      return fail("EKEYREJECTED", "Message signed outside of X.509 validity window");
    }
  }
  const r = publicKeyVerifySignature(pubOf(signer), sinfo.sig);
  if (r) return r;
  return verifySigChain(msg, sinfo, st);
}

/** pkcs7_verify with usage VERIFYING_BPF_SIGNATURE. */
function pkcs7Verify(
  msg: Pkcs7Message,
  content: readonly Uint8Array[],
  st: State,
): Failure | undefined {
  if (msg.dataType !== "data") {
    return fail("EKEYREJECTED", "Invalid unspecified sig (not pkcs7-data)");
  }
  let actual: Failure | undefined = fail("ENOPKG", "No supported signature in the message");
  for (const sinfo of msg.signerInfos) {
    const r = verifyOne(msg, sinfo, content, st);
    if (r) {
      if (r.errno === "ENOPKG") {
        st.unsupported.add(sinfo);
        if (actual) actual = r;
        continue;
      }
      return r;
    }
    actual = undefined;
  }
  return actual;
}

type Found = { key: AsymmetricKey } | Failure;

/** find_asymmetric_key with exact ("ex:") matching; id_2 lookups are not used here. */
function findAsymmetricKey(keys: KeySearch, id0: Uint8Array | null, id1: Uint8Array | null): Found {
  const id = id0 ?? id1;
  if (!id) return fail("EINVAL", "no key id to look up");
  const key = keys(id);
  if (!key) return fail("ENOKEY", "no matching key in the keyring");
  if (id0 && id1 && !bytesEqual(key.ids[1], id1)) {
    return fail("EKEYREJECTED", "first key id matches but the second does not");
  }
  return { key };
}

/** pkcs7_validate_trust_one */
function validateTrustOne(sinfo: Pkcs7SignerInfo, keys: KeySearch, st: State): Failure | undefined {
  if (st.unsupported.has(sinfo)) return fail("ENOPKG", `Sig ${sinfo.index}: unsupported crypto`);
  let sig: PublicKeySignature = sinfo.sig;
  let last: X509Certificate | null = null;
  let matchedCert: X509Certificate | null = null;
  let key: AsymmetricKey | null = null;

  const markVerified = (top: X509Certificate | null): undefined => {
    if (top) {
      st.verified.add(top);
      for (let p = st.sinfoSigner.get(sinfo); p && p !== top; p = st.certSigner.get(p)) {
        st.verified.add(p);
      }
    }
    return undefined;
  };

  for (let x509 = st.sinfoSigner.get(sinfo); x509; x509 = st.certSigner.get(x509)) {
    if (st.seen.has(x509)) {
      if (st.verified.has(x509)) {
        st.trustedBy.set(sinfo, x509);
        return markVerified(x509);
      }
      return fail("ENOKEY", `Sig ${sinfo.index}: chain already seen and not trusted`);
    }
    st.seen.add(x509);
    const f = findAsymmetricKey(keys, x509.ids[0], x509.subjectKeyId);
    if ("key" in f) {
      key = f.key;
      matchedCert = x509;
      break;
    }
    if (st.certSigner.get(x509) === x509) {
      return fail("ENOKEY", `Sig ${sinfo.index}: unknown self-signed certificate`);
    }
    last = x509;
    sig = last.sig;
  }

  if (!key && last && (last.sig.authIds[0] || last.sig.authIds[1])) {
    const f = findAsymmetricKey(keys, last.sig.authIds[0], last.sig.authIds[1]);
    if ("key" in f) {
      key = f.key;
      matchedCert = last;
    } else if (f.errno !== "ENOKEY") {
      return f;
    }
  }

  if (!key) {
    // Last resort: a trusted key that matches the SignerInfo's own id.
    const f = findAsymmetricKey(keys, sinfo.sig.authIds[0], null);
    if ("key" in f) {
      key = f.key;
      matchedCert = null;
      sig = sinfo.sig;
    } else if (f.errno !== "ENOKEY") {
      return f;
    } else {
      return fail("ENOKEY", `Sig ${sinfo.index}: no trusted key matches the signer`);
    }
  }

  const r = publicKeyVerifySignature(pubOf(key), sig);
  if (r) {
    if (r.errno === "ENOMEM") return r;
    return fail("EKEYREJECTED", `Sig ${sinfo.index}: verification failed: ${r.reason}`);
  }
  st.trustedBy.set(sinfo, key);
  return markVerified(matchedCert);
}

/** pkcs7_validate_trust */
function validateTrust(msg: Pkcs7Message, keys: KeySearch, st: State): Failure | undefined {
  st.seen.clear();
  let cached: Failure | undefined = fail("ENOKEY", "no trusted key matches any signer");
  for (const sinfo of msg.signerInfos) {
    const r = validateTrustOne(sinfo, keys, st);
    if (!r) {
      cached = undefined;
      continue;
    }
    if (r.errno === "ENOKEY") continue;
    if (r.errno === "ENOPKG") {
      if (cached && cached.errno === "ENOKEY") cached = r;
      continue;
    }
    return r;
  }
  return cached;
}

/**
 * Verify a detached PKCS#7 `signature` over the concatenation of `content` chunks against the
 * trusted keys searched by `keys`, as the kernel does for a BPF program signature.
 */
export function verifyPkcs7Signature(
  content: readonly Uint8Array[],
  signature: Uint8Array,
  keys: KeySearch,
  opts: VerifyOptions = {},
): Outcome<Pkcs7Verified> {
  const parsed = parsePkcs7(signature);
  if (!parsed.ok) return parsed;
  return verifyPkcs7Message(content, parsed.value, keys, opts);
}

/** Options of a verification. */
export interface VerifyOptions {
  /**
   * Digests of the whole content the caller already computed, by the kernel's hash name
   * ("sha256"), so the content is not hashed twice. They must be digests of exactly `content`.
   */
  readonly contentDigests?: ReadonlyMap<string, Uint8Array>;
}

/** The steps of verifyPkcs7Signature after parsing. */
export function verifyPkcs7Message(
  content: readonly Uint8Array[],
  msg: Pkcs7Message,
  keys: KeySearch,
  opts: VerifyOptions = {},
): Outcome<Pkcs7Verified> {
  if (msg.data !== null) return fail("EBADMSG", "PKCS#7 signature with non-detached data");
  const st: State = {
    seen: new Set(),
    verified: new Set(),
    certSigner: new Map(),
    sinfoSigner: new Map(),
    unsupported: new Set(),
    trustedBy: new Map(),
    digests: new Map(opts.contentDigests ?? []),
  };
  // The message's SignerInfos are shared objects: clear what an earlier verification computed.
  for (const s of msg.signerInfos) {
    s.sig.m = null;
    s.sig.data = null;
  }
  const v = pkcs7Verify(msg, content, st);
  if (v) return v;
  // is_key_on_revocation_list: no revocation list in this model (-ENOKEY: go on).
  const t = validateTrust(msg, keys, st);
  if (t) return t;
  for (const sinfo of msg.signerInfos) {
    const signer = st.trustedBy.get(sinfo);
    if (!signer) continue;
    return ok({
      signer,
      signerId: sinfo.sig.authIds[0] ?? new Uint8Array(0),
      digestAlgo: sinfo.sig.hashAlgo ?? "",
      pkeyAlgo: sinfo.sig.pkeyAlgo ?? "",
    });
  }
  return fail("ENOKEY", "no trusted key matches any signer");
}
