/**
 * `bpfsign keygen`: a signing key and a self-signed certificate with the kernel selftests'
 * profile (subject key id, digitalSignature, CA:FALSE), written atomically; existing files are
 * kept unless --force.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  generateSigningIdentity,
  IDENTITY_TYPES,
  type IdentityType,
} from "../../crypto/certgen.js";
import { RefusedError, UsageError } from "../errors.js";
import type { CliOutcome } from "../exit.js";
import { writeAtomic } from "../io.js";
import { type CliIo, hex, printFields, printJson } from "../output.js";

export interface KeygenOptions {
  out: string;
  type: string;
  subject?: string;
  days?: string;
  force?: boolean;
  json?: boolean;
}

export const KEY_FILE = "signing_key.pem";
export const CERT_PEM_FILE = "signing_cert.pem";
export const CERT_DER_FILE = "signing_cert.der";

export function runKeygen(io: CliIo, o: KeygenOptions): CliOutcome {
  if (!IDENTITY_TYPES.includes(o.type as IdentityType))
    throw new UsageError(`--type must be one of ${IDENTITY_TYPES.join(", ")}, not '${o.type}'`);
  const days = o.days === undefined ? undefined : Number(o.days);
  if (days !== undefined && !(Number.isInteger(days) && days > 0))
    throw new UsageError(`--days must be a positive integer, not '${o.days}'`);
  const paths = [KEY_FILE, CERT_PEM_FILE, CERT_DER_FILE].map((f) => join(o.out, f));
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length && !o.force)
    throw new RefusedError(`${existing.join(", ")} already exist(s); pass --force to replace`);
  const id = generateSigningIdentity({ type: o.type as IdentityType, subject: o.subject, days });
  mkdirSync(o.out, { recursive: true });
  writeAtomic(paths[0], id.privateKeyPem, 0o600);
  writeAtomic(paths[1], id.certificatePem);
  writeAtomic(paths[2], id.certificateDer);
  const summary = {
    type: id.type,
    key: paths[0],
    certificate: paths[1],
    certificateDer: paths[2],
    subjectKeyId: hex(id.subjectKeyId),
    serial: hex(id.serial),
  };
  if (o.json) printJson(io, summary);
  else
    printFields(io, [
      ["type", summary.type],
      ["private key", summary.key],
      ["certificate", `${summary.certificate} (PEM), ${summary.certificateDer} (DER)`],
      ["subject key id", summary.subjectKeyId],
      ["serial", summary.serial],
    ]);
  return { kind: "ok" };
}
