/**
 * The `bpfsign` command line: commander parses, each command returns a CliOutcome or throws,
 * and getExitCode() turns either into the documented exit code. Runs in-process with injected
 * output so tests call it directly.
 *
 * Start-up: this file declares every command's arguments and options (so `--help` and usage
 * errors need nothing else) but loads a command's module only when that command runs, with a
 * dynamic import in its action. Adding a command is a `program.command(...)` block whose action
 * is one line of the same shape:
 *
 *   .action(async (file, o) => done(await (await import("./commands/NAME.js")).runName(io, file, o)));
 *
 * Its option types come in with `import type` (erased at run time). Keep command modules
 * importing the files they use, not a layer's index, so that one command loads only its own
 * code.
 */
import { Command, CommanderError, Option } from "commander";
import type { InspectOptions } from "./commands/inspect.js";
import type { KeygenOptions } from "./commands/keygen.js";
import type { LoadOptions } from "./commands/load.js";
import type { SignOptions } from "./commands/sign.js";
import type { VerifyOptions } from "./commands/verify.js";
import { UsageError } from "./errors.js";
import type { CliOutcome } from "./exit.js";
import { type CliIo, processIo } from "./output.js";
import { packageVersion } from "./version.js";

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
    .version(packageVersion())
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
    .action(async (file: string | undefined, o: SignOptions) => {
      checkSource(file, o);
      done(await (await import("./commands/sign.js")).runSign(io, file, o));
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
    .action(async (file: string | undefined, o: VerifyOptions) => {
      checkSource(file, o);
      done(await (await import("./commands/verify.js")).runVerify(io, file, o));
    });

  program
    .command("inspect")
    .description(
      "show a light skeleton, signature or loader: disassembly, metadata records, signature fields",
    )
    .argument("<file>", "a .lskel.h, a DER signature, or raw loader instructions")
    .option("--json", "print one JSON object")
    .option("--no-disasm", "leave out the loader disassembly")
    .action(async (file: string, o: InspectOptions) =>
      done(await (await import("./commands/inspect.js")).runInspect(io, file, o)),
    );

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
    .action(async (o: KeygenOptions) =>
      done(await (await import("./commands/keygen.js")).runKeygen(io, o)),
    );

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
    .action(async (file: string, o: LoadOptions) =>
      done(await (await import("./commands/load.js")).runLoad(io, file, o)),
    );

  return program;
}

/**
 * Runs the CLI on `argv` (without node and script) and resolves to the exit code. The exit-code
 * table (exit.ts) is loaded only once there is an outcome to classify: `--help` and `--version`
 * finish without it.
 */
export async function run(argv: string[], io: CliIo = processIo): Promise<number> {
  let outcome: CliOutcome = { kind: "ok" };
  try {
    await build(io, (o) => {
      outcome = o;
    }).parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its message (or the help/version text) already
      if (e.exitCode === 0) return 0;
      outcome = { kind: "error", error: new UsageError(e.message) };
      return (await import("./exit.js")).getExitCode(outcome);
    }
    outcome = { kind: "error", error: e };
    const code = (await import("./exit.js")).getExitCode(outcome);
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(`bpfsign: ${msg}\n`);
    if (code === 70 && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return code;
  }
  return (await import("./exit.js")).getExitCode(outcome);
}
