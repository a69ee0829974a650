/**
 * Which key signs: the command-line choice (--key FILE | --key pkcs11:URI | --signer-cmd CMD,
 * with --cert FILE | --cert pkcs11:URI) turned into a RawSigner and the signing certificate.
 * Used by `bpfsign sign` and `bpfsign gen skeleton -S`:
 *
 *   const { signer, cert, certName, close } = resolveSigner(choice, io.env);
 *   try { signLoader({ insns, metadata, signer, cert, certName }) } finally { close() }
 *
 * Secrets never come from a plain argument: a key's passphrase from $BPFSIGN_PASSPHRASE (or the
 * variable --passphrase-env names), a token PIN from the URI (pin-value, pin-source) or
 * $BPFSIGN_PKCS11_PIN (or --pin-env).
 */
import { externalSigner } from "../crypto/external_signer.js";
import { loadPrivateKey } from "../crypto/keys.js";
import {
  isPkcs11Uri,
  Pkcs11Error,
  parsePkcs11Uri,
  pkcs11Signer,
  readPkcs11Certificate,
  redactPkcs11Uri,
} from "../crypto/pkcs11.js";
import { loadSigningCertificate } from "../crypto/sign.js";
import { fileKeySigner, type RawSigner } from "../crypto/signer.js";
import type { X509Certificate } from "../crypto/x509.js";
import { UsageError } from "./errors.js";
import { readInput } from "./io.js";

const DEFAULT_PASSPHRASE_ENV = "BPFSIGN_PASSPHRASE";

/** The signing options of a command line. */
export interface SignerChoice {
  /** A PEM private key file, or a `pkcs11:` URI of a private key. */
  readonly key?: string;
  /** A certificate file (PEM/DER) or a `pkcs11:` URI; optional with a pkcs11 key (then the
   * token's certificate with the key's object/id is used). */
  readonly cert?: string;
  /** The PKCS#11 module (else the URI's module-path, else $BPFSIGN_PKCS11_MODULE). */
  readonly pkcs11Module?: string;
  /** An external signer command (see crypto/external_signer.ts), instead of --key. */
  readonly signerCmd?: string;
  /** The variable holding a PEM key's passphrase (default BPFSIGN_PASSPHRASE). */
  readonly passphraseEnv?: string;
  /** The variable holding a token PIN when the URI has none (default BPFSIGN_PKCS11_PIN). */
  readonly pinEnv?: string;
}

export interface ResolvedSigner {
  readonly signer: RawSigner;
  readonly cert: X509Certificate;
  /** How the certificate is named in messages (a path or a URI without its PIN). */
  readonly certName: string;
  /** Release the signer. */
  close(): void;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The certificate URI that goes with a key URI: the same token and object, type=cert. */
export function certUriOfKeyUri(keyUri: string): string {
  const q = keyUri.indexOf("?");
  const path = q < 0 ? keyUri : keyUri.slice(0, q);
  const query = q < 0 ? "" : keyUri.slice(q);
  const attrs = path
    .slice("pkcs11:".length)
    .split(";")
    .filter((a) => a && !/^type=/i.test(a));
  return `pkcs11:${[...attrs, "type=cert"].join(";")}${query}`;
}

function loadCert(choice: SignerChoice, env: Env): { cert: X509Certificate; certName: string } {
  let certRef = choice.cert;
  if (certRef === undefined) {
    if (choice.key !== undefined && isPkcs11Uri(choice.key)) certRef = certUriOfKeyUri(choice.key);
    else throw new UsageError("--cert is required (the certificate of the signing key)");
  }
  if (isPkcs11Uri(certRef)) {
    const certName = redactPkcs11Uri(certRef);
    let der: Uint8Array;
    try {
      der = readPkcs11Certificate({
        uri: certRef,
        module: choice.pkcs11Module,
        env,
        pinEnv: choice.pinEnv,
      });
    } catch (e) {
      if (choice.cert === undefined && e instanceof Pkcs11Error) {
        throw new Pkcs11Error(
          e.code,
          `${e.message}; the token holds no certificate for this key: pass --cert FILE or --cert pkcs11:…;type=cert`,
          e.rv,
        );
      }
      throw e;
    }
    return { cert: loadSigningCertificate(der, certName), certName };
  }
  return {
    cert: loadSigningCertificate(readInput(certRef, "certificate"), certRef),
    certName: certRef,
  };
}

/** The usage checks of a choice that need no file: one key source. Throws UsageError. */
export function checkSignerChoice(choice: SignerChoice): void {
  if (choice.key === undefined && choice.signerCmd === undefined) {
    throw new UsageError("give the signing key: --key FILE, --key pkcs11:URI or --signer-cmd CMD");
  }
  if (choice.key !== undefined && choice.signerCmd !== undefined) {
    throw new UsageError("give either --key or --signer-cmd, not both");
  }
}

/**
 * Resolve the signing options into a signer and its certificate. Throws UsageError for a choice
 * that does not make one signer, the PKCS11_/SIGNER_/CRYPTO_ errors of the layers otherwise.
 */
export function resolveSigner(choice: SignerChoice, env: Env): ResolvedSigner {
  checkSignerChoice(choice);
  const usesPkcs11 =
    (choice.key !== undefined && isPkcs11Uri(choice.key)) ||
    (choice.cert !== undefined && isPkcs11Uri(choice.cert));
  if (choice.pkcs11Module !== undefined && !usesPkcs11) {
    throw new UsageError("--pkcs11-module goes with a pkcs11: URI in --key or --cert");
  }
  if (choice.pinEnv !== undefined && !usesPkcs11) {
    throw new UsageError("--pin-env goes with a pkcs11: URI in --key or --cert");
  }
  if (choice.pinEnv !== undefined && env[choice.pinEnv] === undefined) {
    throw new UsageError(`--pin-env ${choice.pinEnv}: the variable is not set`);
  }
  if (choice.key !== undefined && isPkcs11Uri(choice.key)) {
    // Refuse a malformed URI before anything is loaded.
    parsePkcs11Uri(choice.key);
  }
  if (choice.signerCmd !== undefined) {
    // The command's algorithm and signature size come from the certificate.
    const { cert, certName } = loadCert(choice, env);
    const signer = externalSigner({ command: choice.signerCmd, publicKey: cert.publicKey, env });
    return { signer, cert, certName, close: () => signer.close() };
  }
  let signer: RawSigner;
  if (isPkcs11Uri(choice.key!)) {
    signer = pkcs11Signer({
      uri: choice.key!,
      module: choice.pkcs11Module,
      env,
      pinEnv: choice.pinEnv,
    });
  } else {
    const passEnv = choice.passphraseEnv ?? DEFAULT_PASSPHRASE_ENV;
    const passphrase = env[passEnv];
    if (choice.passphraseEnv && passphrase === undefined) {
      throw new UsageError(`--passphrase-env ${choice.passphraseEnv}: the variable is not set`);
    }
    const path = choice.key!;
    const key = loadPrivateKey(readInput(path, "private key"), { passphrase, input: path });
    signer = fileKeySigner(key, path);
  }
  const { cert, certName } = loadCert(choice, env);
  return { signer, cert, certName, close: () => signer.close() };
}
