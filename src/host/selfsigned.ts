/**
 * A minimal self-signed X.509 v3 certificate made in-process (node:crypto key, DER writer of
 * src/crypto), so probing whether the host accepts a key type needs no openssl binary.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { der } from "../crypto/asn1.js";
import { OID } from "../crypto/oid.js";

export type ProbeKeyKind = "ec-p256" | "rsa2048";

function name(cn: string): Uint8Array {
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8(cn))));
}

/** DER of a self-signed certificate for a fresh key of `kind` with common name `cn`. */
export function selfSignedCert(kind: ProbeKeyKind, cn: string): Uint8Array {
  const { publicKey, privateKey } =
    kind === "ec-p256"
      ? generateKeyPairSync("ec", { namedCurve: "prime256v1" })
      : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const sigAlg =
    kind === "ec-p256"
      ? der.algorithm(OID.ecdsaWithSha256)
      : der.algorithm(OID.sha256WithRSAEncryption, der.null());
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(0x5eed),
    sigAlg,
    name(cn),
    der.sequence(der.utcTime("250101000000Z"), der.utcTime("491231235959Z")),
    name(cn),
    spki,
  );
  const signature = new Uint8Array(sign("sha256", tbs, privateKey));
  return der.sequence(tbs, sigAlg, der.bitString(signature));
}
