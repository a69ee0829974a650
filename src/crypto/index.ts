/**
 * Crypto ("bpfsign/crypto"): bpftool's CMS signer, private keys, signing identities, X.509,
 * PKCS#7 parsing and verification with the kernel's rules, and the offline verifier.
 */
export {
  CertificateProfileError,
  DEFAULT_SUBJECT,
  generateSigningIdentity,
  IDENTITY_TYPES,
  type IdentityType,
  type SigningIdentity,
  selfSignedCertificate,
  subjectKeyIdOf,
} from "./certgen.js";
export { describeKey, KeyLoadError, loadPrivateKey, type SigningKey } from "./keys.js";
export {
  type OfflineInput,
  type OfflineReport,
  type OfflineResult,
  TrustedCertificateError,
  trustedKeys,
  verifyOffline,
} from "./offline.js";
export {
  describeSignature,
  type Pkcs7Message,
  type Pkcs7SignerInfo,
  parsePkcs7,
  type SignatureDescription,
} from "./pkcs7.js";
export {
  type CertInput,
  CertificateLoadError,
  type KeyInput,
  KeyMismatchError,
  loadSigningCertificate,
  MAX_SIG_SIZE,
  SignatureTooLargeError,
  type SignedLoader,
  type SignerIdentity,
  type SignLoaderInput,
  signCms,
  signerIdentity,
  signLoader,
} from "./sign.js";
export { type KeySearch, keySearchOf, verifyPkcs7Message, verifyPkcs7Signature } from "./verify.js";
export {
  type AsymmetricKey,
  derToPem,
  loadCertificate,
  parseX509,
  pemToDer,
  type X509Certificate,
} from "./x509.js";
