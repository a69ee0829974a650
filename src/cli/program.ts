/**
 * The `bpfsign` command line: commander parses, each command returns a CliOutcome or throws,
 * and getExitCode() turns either into the documented exit code. Runs in-process with injected
 * output so tests call it directly.
 */
import { Command, CommanderError, Option } from "commander";
import { runInspect } from "./commands/inspect.js";
import { runKeygen } from "./commands/keygen.js";
import { runLoad } from "./commands/load.js";
import { runSign } from "./commands/sign.js";
import { runVerify } from "./commands/verify.js";
import { UsageError } from "./errors.js";
import { type CliOutcome, getExitCode } from "./exit.js";
import { type CliIo, processIo } from "./output.js";

const collect = (v: string, prev: string[]) => [...prev, v];

/** A header argument or the raw pair --insns/--data, not both. */
function checkSource(file: string | undefined, o: { insns?: string; data?: string }): void {
  if (file && (o.insns || o.data))
    throw new UsageError("give either a light skeleton or --insns/--data, not both");
  if (!file && !(o.insns && o.data))
    throw new UsageError("give a light skeleton (.lskel.h), or both --insns FILE and --data FILE");
}

function build(io: CliIo, done: (o: CliOutcome) => void): Command {
  const program = new Command("bpfsign")
    .description("Sign, verify, inspect and load BPF light skeletons (signed loaders, scheme v2)")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError();

  program
    .command("sign")
    .description(
      "sign a light skeleton's loader (insns || metadata) as bpftool gen skeleton -S does",
    )
    .argument("[in.lskel.h]", "light skeleton to sign")
    .requiredOption("--key <file>", "private key (PEM: PKCS#8, PKCS#1 or SEC1; may be encrypted)")
    .requiredOption("--cert <file>", "certificate with a subject key id (PEM or DER)")
    .option("-o, --output <file>", "write the signed header here (default: stdout)")
    .option("--detached <file>", "also write the detached CMS signature (DER)")
    .option("--insns <file>", "raw loader instructions instead of a header")
    .option("--data <file>", "raw metadata blob instead of a header")
    .option(
      "--passphrase-env <name>",
      "environment variable holding the key's passphrase (default BPFSIGN_PASSPHRASE)",
    )
    .option(
      "--allow-host-overrides",
      "sign a loader that takes map sizes/initial values from the host",
    )
    .option("--json", "print a JSON summary")
    .action((file, o) => {
      checkSource(file, o);
      done(runSign(io, file, o));
    });

  program
    .command("verify")
    .description(
      "verify a signed light skeleton offline against trusted certificates (the kernel's rules)",
    )
    .argument("[in.lskel.h]", "light skeleton to verify")
    .option("--cert <file>", "trusted certificate (repeatable)", collect, [])
    .option("--insns <file>", "raw loader instructions instead of a header")
    .option("--data <file>", "raw metadata blob instead of a header")
    .option("--sig <file>", "raw detached signature (with --insns/--data)")
    .option("--excl-hash <file>", "raw excl_prog_hash (with --insns/--data)")
    .option("--json", "print one JSON object")
    .action((file, o) => {
      checkSource(file, o);
      done(runVerify(io, file, o));
    });

  program
    .command("inspect")
    .description(
      "show a light skeleton, signature or loader: disassembly, metadata records, signature fields",
    )
    .argument("<file>", "a .lskel.h, a DER signature, or raw loader instructions")
    .option("--json", "print one JSON object")
    .option("--no-disasm", "leave out the loader disassembly")
    .action((file, o) => done(runInspect(io, file, o)));

  program
    .command("keygen")
    .description("create a signing key and a self-signed certificate (kernel selftest profile)")
    .requiredOption(
      "--out <dir>",
      "directory for signing_key.pem, signing_cert.pem, signing_cert.der",
    )
    .addOption(
      new Option("--type <type>", "key type")
        .choices(["rsa2048", "rsa3072", "ec-p256", "ec-p384"])
        .default("rsa2048"),
    )
    .option("--subject <cn>", "certificate common name")
    .option("--days <n>", "validity in days")
    .option("--force", "replace existing files")
    .option("--json", "print a JSON summary")
    .action((o) => done(runKeygen(io, o)));

  program
    .command("load")
    .description("run a light skeleton's loader and report the verdict and what it installed")
    .argument("<in.lskel.h>", "light skeleton to load")
    .option(
      "--cert <file>",
      "certificate to trust: added to the session keyring (repeatable)",
      collect,
      [],
    )
    .option(
      "--keyring <id>",
      "keyring_id to pass (default: the session keyring with --cert, else 0)",
    )
    .addOption(
      new Option("--backend <kind>", "kernel to load into")
        .choices(["model", "host"])
        .default("model"),
    )
    .option("--run", "run each installed socket filter once on a 64-byte packet")
    .option("--json", "print one JSON object")
    .action((file, o) => done(runLoad(io, file, o)));

  return program;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export function run(argv: string[], io: CliIo = processIo): number {
  let outcome: CliOutcome = { kind: "ok" };
  try {
    build(io, (o) => {
      outcome = o;
    }).parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its message (or the help/version text) already
      if (e.exitCode === 0) return 0;
      return getExitCode({ kind: "error", error: new UsageError(e.message) });
    }
    outcome = { kind: "error", error: e };
    const code = getExitCode(outcome);
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(`bpfsign: ${msg}\n`);
    if (code === 70 && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return code;
  }
  return getExitCode(outcome);
}
