/**
 * `bpfsign gen skeleton OBJ.bpf.o [name NAME] [-S -k KEY -i CERT] [-o OUT]`: a light skeleton
 * straight from a BPF object, with bpftool's argument shape (`-L` is accepted and implied). The
 * header is what bpftool with the series' libbpf and bpftool writes, byte for byte; with `-S`
 * the loader is the hashing-mode one, signed over `insns || metadata`.
 *
 * What libbpf reads from the generating machine is read here, lazily (cli/machine_facts.ts),
 * and can be replaced with --kallsyms, --kconfig, --kernel-version, --nr-cpus, --page-size.
 * Nothing is written unless the whole header was generated (and its signature verified).
 */
import { basename } from "node:path";
import { genSkeleton } from "../../gen/skeleton.js";
import { UsageError } from "../errors.js";
import type { CliOutcome } from "../exit.js";
import { readInput, writeAtomic } from "../io.js";
import { type MachineFactOptions, machineFacts } from "../machine_facts.js";
import { type CliIo, hex, printJson } from "../output.js";
import { parseScheme } from "../scheme_option.js";
import { checkSignerChoice, resolveSigner, type SignerChoice } from "../signer_input.js";

export interface GenOptions extends SignerChoice, MachineFactOptions {
  /** v2 (default), kfunc or hornet: what -S signs (src/scheme) */
  scheme?: string;
  useLoader?: boolean;
  sign?: boolean;
  output?: string;
  json?: boolean;
}

/** bpftool's positional words after `gen`: `skeleton FILE [name NAME]`. */
function parseWords(words: string[]): { file: string; name?: string } {
  const [sub, file, ...rest] = words;
  if (sub !== "skeleton")
    throw new UsageError(
      sub === undefined
        ? "missing 'skeleton' (bpfsign gen skeleton OBJ.bpf.o)"
        : `unknown gen subcommand '${sub}' (only 'skeleton')`,
    );
  if (file === undefined)
    throw new UsageError("missing the BPF object file (bpfsign gen skeleton OBJ.bpf.o)");
  if (rest.length === 0) return { file };
  if (rest[0] === "name" && rest.length === 2) return { file, name: rest[1] };
  throw new UsageError(`unexpected '${rest.join(" ")}' after the object (only 'name NAME')`);
}

/** bpftool's rules for -S / -k / -i (main.c), with --signer-cmd as an alternative to -k. */
function checkSigning(o: GenOptions): void {
  const hasKey = o.key !== undefined || o.signerCmd !== undefined;
  if (o.sign && !(hasKey && o.cert !== undefined) && !(o.key?.startsWith("pkcs11:") ?? false))
    throw new UsageError(
      "-i <identity_x509_cert> and -k <private_key> (or --signer-cmd) must be supplied with -S for signing",
    );
  if (!o.sign && (hasKey || o.cert !== undefined))
    throw new UsageError(
      "--sign (or -S) must be explicitly passed with -i <identity_x509_cert> and -k <private_key> to sign the programs",
    );
  if (o.sign) checkSignerChoice(o);
}

export async function runGen(io: CliIo, words: string[], o: GenOptions): Promise<CliOutcome> {
  const { file, name } = parseWords(words);
  checkSigning(o);
  const scheme = parseScheme(o.scheme);
  if (scheme !== "v2" && !o.sign) throw new UsageError("--scheme applies to signed skeletons (-S)");
  const bytes = readInput(file, "BPF object");
  const facts = machineFacts(o);
  const resolved = o.sign ? resolveSigner(o, io.env) : null;
  let out: ReturnType<typeof genSkeleton>;
  try {
    out = genSkeleton(bytes, basename(file), {
      name,
      facts,
      scheme,
      signing: resolved
        ? { signer: resolved.signer, cert: resolved.cert, certName: resolved.certName }
        : undefined,
    });
  } finally {
    resolved?.close();
  }
  for (const w of out.warnings) io.stderr(`${w}\n`);
  if (o.output) writeAtomic(o.output, out.header);
  else if (!o.json) io.stdout(Buffer.from(out.header).toString("latin1"));
  if (o.json)
    printJson(io, {
      object: file,
      name: out.name,
      output: o.output ?? null,
      signed: out.signed !== null,
      scheme,
      signer: out.signed?.signer ?? null,
      exclHash: hex(out.signed?.exclHash),
      insnsBytes: out.insns.length,
      metadataBytes: out.data.length,
      maps: out.object.maps.map((m) => m.name),
      progs: out.object.programs
        .filter((p) => p.secIdx !== out.object.textShndx)
        .map((p) => p.name),
      warnings: out.warnings,
    });
  return { kind: "ok" };
}
