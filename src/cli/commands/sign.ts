/**
 * `bpfsign sign`: signs a light skeleton's loader as `bpftool gen skeleton -L -S` would and
 * writes the signed v2 header (and/or the detached CMS). An unsigned skeleton's loader lets the
 * host override map sizes and initial values outside the signature; that is refused unless
 * --allow-host-overrides. The key may be a PEM file, a PKCS#11 token object or an external
 * signer command (cli/signer_input.ts); the signature is verified against the certificate
 * before anything is written.
 */
import { type SignedLoader, signLoader } from "../../crypto/sign.js";
import { loaderInsnsFor } from "../../scheme/index.js";
import { kfuncLoaderHash } from "../../scheme/kfunc.js";
import { writeSignedSkeleton, writeSignedSkeletonChunks } from "../../skeleton/writer.js";
import { RefusedError, UsageError } from "../errors.js";
import type { CliOutcome } from "../exit.js";
import { type RawOptions, readLoaderInputs } from "../inputs.js";
import { type FileData, writeAtomicAll } from "../io.js";
import { type CliIo, hex, printFields, printJson } from "../output.js";
import { parseScheme } from "../scheme_option.js";
import { checkSignerChoice, resolveSigner, type SignerChoice } from "../signer_input.js";
import { hostOverrides } from "../skeleton_input.js";

/** The key comes from SignerChoice: --key FILE|pkcs11:URI, --cert, --signer-cmd, … */
export interface SignOptions extends RawOptions, SignerChoice {
  output?: string;
  detached?: string;
  allowHostOverrides?: boolean;
  /** v2 (default), kfunc or hornet: what the signature covers (src/scheme). */
  scheme?: string;
  json?: boolean;
}

export async function runSign(
  io: CliIo,
  file: string | undefined,
  o: SignOptions,
): Promise<CliOutcome> {
  checkSignerChoice(o);
  if (!file && !o.detached)
    throw new UsageError(
      "raw inputs (--insns/--data) have no header to write: pass --detached OUT.p7s",
    );
  const inputs = await readLoaderInputs(file, o);
  const overrides = hostOverrides(inputs.insns, inputs.skeleton);
  if (overrides.length && !o.allowHostOverrides) {
    const what = overrides.join(", ");
    throw new RefusedError(
      `${inputs.source}: the loader was generated without gen_hash and takes values from the host at load time, outside what a signature covers (${what}). Regenerate it as a signed skeleton, or pass --allow-host-overrides to sign it anyway`,
    );
  }
  const scheme = parseScheme(o.scheme);
  // The kfunc scheme's loader carries its check: the header gets the new instructions; raw
  // instructions must already carry it (there is no header to write them into).
  const insns = loaderInsnsFor(scheme, inputs.insns, inputs.data);
  if (!inputs.skeleton && scheme === "kfunc" && !kfuncLoaderHash(inputs.insns))
    throw new UsageError(
      "--scheme kfunc with raw --insns: the instructions must already start with the bpf_loader_verify_metadata check (sign the header instead)",
    );
  // The signature is verified against the certificate inside signLoader, before anything is
  // written below.
  const resolved = resolveSigner(o, io.env);
  let signed: SignedLoader;
  try {
    signed = signLoader({
      scheme,
      insns,
      metadata: inputs.data,
      signer: resolved.signer,
      cert: resolved.cert,
      certName: resolved.certName,
    });
  } finally {
    resolved.close();
  }
  const sig = { signature: signed.signature, exclHash: signed.exclHash };
  const header = inputs.skeleton ? { ...inputs.skeleton, insns } : null;
  // Both outputs or neither: a detached signature without its header (or the reverse) would be
  // half of a failed command. A header file is written in pieces as they are encoded (a
  // max-size header is ~57 MB of text: no buffer of that size is made for it).
  const files: { path: string; data: FileData }[] = [];
  if (header !== null && o.output)
    files.push({ path: o.output, data: writeSignedSkeletonChunks(header, sig) });
  if (o.detached) files.push({ path: o.detached, data: signed.signature });
  writeAtomicAll(files);
  if (header !== null && !o.output && !o.json)
    io.stdout(Buffer.from(writeSignedSkeleton(header, sig)).toString("latin1"));
  const summary = {
    source: inputs.source,
    scheme,
    output: o.output ?? (header !== null && !o.json ? "-" : null),
    detached: o.detached ?? null,
    signer: signed.signer,
    signedWith: resolved.signer.name,
    signatureBytes: signed.signature.length,
    exclHash: hex(signed.exclHash),
    insnsBytes: insns.length,
    metadataBytes: inputs.data.length,
    hostOverrides: overrides,
  };
  if (o.json) printJson(io, summary);
  else if (o.output || !header)
    printFields(io, [
      ["signed", summary.source],
      ["signer (SKID)", summary.signer],
      ["signed with", summary.signedWith],
      [
        "signature",
        `${summary.signatureBytes} bytes${summary.detached ? ` -> ${summary.detached}` : ""}`,
      ],
      ["excl_prog_hash", summary.exclHash],
      ["header", summary.output],
    ]);
  return { kind: "ok" };
}
