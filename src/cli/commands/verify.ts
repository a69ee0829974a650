/** `bpfsign verify`: the offline verifier over a header or raw inputs, with the kernel's rules. */
import { type OfflineReport, verifyOffline } from "../../crypto/offline.js";
import type { CliOutcome } from "../exit.js";
import { type RawOptions, readCertificate, readLoaderInputs } from "../inputs.js";
import { type CliIo, printFields, printJson } from "../output.js";
import { parseScheme } from "../scheme_option.js";

export interface VerifyOptions extends RawOptions {
  cert: string[];
  scheme?: string;
  json?: boolean;
}

function verifyJson(source: string, r: OfflineReport) {
  return {
    source,
    result: r.result,
    errno: r.errno,
    signer: r.signer,
    trustedKey: r.trustedKey,
    digest: r.digest,
    insnsDigest: r.insnsDigest,
    insnsBytes: r.insnsBytes,
    metadataBytes: r.metadataBytes,
    exclHashMatches: r.exclHashMatches,
    reason: r.reason,
    scheme: r.scheme,
    schemeVerdict: r.schemeVerdict,
  };
}

export async function runVerify(
  io: CliIo,
  file: string | undefined,
  o: VerifyOptions,
): Promise<CliOutcome> {
  const inputs = await readLoaderInputs(file, o);
  const trusted = o.cert.map(readCertificate);
  const report = verifyOffline({
    insns: inputs.insns,
    metadata: inputs.data,
    signature: inputs.signature,
    exclHash: inputs.exclHash,
    trusted,
    scheme: parseScheme(o.scheme),
  });
  if (o.json) printJson(io, verifyJson(inputs.source, report));
  else {
    io.stdout(`${inputs.source}: ${report.result}\n`);
    printFields(
      io,
      [
        ["reason", report.reason],
        ["scheme", `${report.scheme} (verdict ${report.schemeVerdict ?? "none"})`],
        ["kernel errno", report.errno ?? "none"],
        ["signer (SKID)", report.signer],
        ["trusted key", report.trustedKey],
        ["signed bytes", `${report.insnsBytes} insns + ${report.metadataBytes} metadata`],
        ["sha256(insns||metadata)", report.digest],
        [
          "excl_prog_hash",
          report.exclHashMatches === null
            ? "absent"
            : report.exclHashMatches
              ? "= sha256(insns)"
              : "MISMATCH",
        ],
      ],
      "  ",
    );
  }
  return { kind: "verify", result: report.result };
}
