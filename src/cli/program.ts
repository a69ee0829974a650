/**
 * The `bpfsign` command line: a table of commands (arguments, options, help text) parsed with
 * node's own `util.parseArgs`; each command returns a CliOutcome or throws, and getExitCode()
 * turns either into the documented exit code. Runs in-process with injected output so tests
 * call it directly.
 *
 * Start-up: the table is all that loads before a command runs (so `--help` and usage errors need
 * nothing else); a command's module is imported by its `run` only when it runs, and exit.ts
 * once there is an outcome to classify. Adding a command is one entry in COMMANDS whose `run`
 * is one line of the same shape:
 *
 *   run: async (io, [file], o) => (await import("./commands/NAME.js")).runName(io, file, o),
 *
 * Its option types come in with `import type` (erased at run time). Keep command modules
 * importing the files they use, not a layer's index, so that one command loads only its own
 * code.
 */
import { parseArgs } from "node:util";
import { SCHEME_NAMES } from "../scheme/types.js";
import type { AttackOptions } from "./commands/attack.js";
import type { AuditOptions } from "./commands/audit.js";
import type { BtfOptions } from "./commands/btf.js";
import type { GenOptions } from "./commands/gen.js";
import type { InspectOptions } from "./commands/inspect.js";
import type { KeygenOptions } from "./commands/keygen.js";
import type { LoadOptions } from "./commands/load.js";
import type { SignOptions } from "./commands/sign.js";
import type { VerifyOptions } from "./commands/verify.js";
import { UsageError } from "./errors.js";
import type { CliOutcome } from "./exit.js";
import { type CliIo, processIo } from "./output.js";
import { packageVersion } from "./version.js";

/** One option: `flags` as in help text ("-o, --output <file>", "--json", "--no-disasm"). */
export interface OptionSpec {
  flags: string;
  help: string;
  /** May be given more than once; the value is the list (default []). */
  repeat?: boolean;
  choices?: readonly string[];
  default?: string;
  required?: boolean;
}

/** One positional argument: `[name]` optional, `<name>` required. */
interface ArgumentSpec {
  name: string;
  required: boolean;
  help: string;
  /** the last argument only: takes every remaining positional (`<name...>`) */
  variadic?: boolean;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

interface CommandSpec {
  name: string;
  /** The argument part of the usage line when the generated one would mislead (bpftool's words). */
  usage?: string;
  summary: string;
  args: ArgumentSpec[];
  options: OptionSpec[];
  /**
   * Runs the command: positional arguments by position, options by camelCase name (`o` is typed
   * by each command as its own options interface; the table's parsing guarantees its shape).
   */
  run(io: CliIo, args: (string | undefined)[], o: never): Promise<CliOutcome> | CliOutcome;
}

/** A header argument or the raw pair --insns/--data, not both. */
function checkSource(file: string | undefined, o: { insns?: string; data?: string }): void {
  if (file && (o.insns || o.data))
    throw new UsageError("give either a light skeleton or --insns/--data, not both");
  if (!file && !(o.insns && o.data))
    throw new UsageError("give a light skeleton (.lskel.h), or both --insns FILE and --data FILE");
}

const arg = (name: string, help: string): ArgumentSpec => ({ name, required: true, help });
const optArg = (name: string, help: string): ArgumentSpec => ({ name, required: false, help });
const JSON_OPTION: OptionSpec = { flags: "--json", help: "print one JSON object" };
const SCHEME_OPTION: OptionSpec = {
  flags: "--scheme <name>",
  help: "signing scheme: v2 (kernel folds the metadata), kfunc (loader kfunc check), hornet (map hashes in the PKCS#7)",
  choices: SCHEME_NAMES,
};

/**
 * The options that choose the signing key (SignerChoice in signer_input.ts): a PEM file or a
 * pkcs11: URI, its certificate, the PKCS#11 module, where the PIN or passphrase is, or an
 * external signer command. `sign` takes them; `gen skeleton -S` takes the same list and passes
 * its parsed options to resolveSigner.
 */
const SIGNER_OPTIONS: readonly OptionSpec[] = [
  {
    flags: "--key <file|uri>",
    help: "private key: a PEM file (PKCS#8, PKCS#1 or SEC1; may be encrypted) or a pkcs11: URI",
  },
  {
    flags: "--cert <file|uri>",
    help: "certificate with a subject key id: a PEM or DER file, or a pkcs11: URI (default with a pkcs11 key: the token's certificate of the same object)",
  },
  {
    flags: "--pkcs11-module <path>",
    help: "PKCS#11 module for pkcs11: URIs (default $BPFSIGN_PKCS11_MODULE)",
  },
  {
    flags: "--pin-env <name>",
    help: "environment variable holding the token PIN when the URI has none (default BPFSIGN_PKCS11_PIN)",
  },
  {
    flags: "--signer-cmd <cmd>",
    help: "sign with an external command instead of --key: it reads the SHA-256 digest on stdin and writes the raw signature to stdout (README)",
  },
  {
    flags: "--passphrase-env <name>",
    help: "environment variable holding the key's passphrase (default BPFSIGN_PASSPHRASE)",
  },
];

const COMMANDS: readonly CommandSpec[] = [
  {
    name: "sign",
    summary: "sign a light skeleton's loader (insns || metadata) as bpftool gen skeleton -S does",
    args: [optArg("in.lskel.h", "light skeleton to sign")],
    options: [
      ...SIGNER_OPTIONS,
      { flags: "-o, --output <file>", help: "write the signed header here (default: stdout)" },
      { flags: "--detached <file>", help: "also write the detached CMS signature (DER)" },
      { flags: "--insns <file>", help: "raw loader instructions instead of a header" },
      { flags: "--data <file>", help: "raw metadata blob instead of a header" },
      {
        flags: "--allow-host-overrides",
        help: "sign a loader that takes map sizes/initial values from the host",
      },
      SCHEME_OPTION,
      { flags: "--json", help: "print a JSON summary" },
    ],
    run: async (io, [file], o: SignOptions) => {
      checkSource(file, o);
      return (await import("./commands/sign.js")).runSign(io, file, o);
    },
  },
  {
    name: "verify",
    summary:
      "verify a signed light skeleton offline against trusted certificates (the kernel's rules)",
    args: [optArg("in.lskel.h", "light skeleton to verify")],
    options: [
      { flags: "--cert <file>", help: "trusted certificate (repeatable)", repeat: true },
      { flags: "--insns <file>", help: "raw loader instructions instead of a header" },
      { flags: "--data <file>", help: "raw metadata blob instead of a header" },
      { flags: "--sig <file>", help: "raw detached signature (with --insns/--data)" },
      { flags: "--excl-hash <file>", help: "raw excl_prog_hash (with --insns/--data)" },
      SCHEME_OPTION,
      JSON_OPTION,
    ],
    run: async (io, [file], o: VerifyOptions) => {
      checkSource(file, o);
      return (await import("./commands/verify.js")).runVerify(io, file, o);
    },
  },
  {
    name: "inspect",
    summary:
      "show a light skeleton, signature or loader: disassembly, metadata records, signature fields",
    args: [arg("file", "a .lskel.h, a DER signature, or raw loader instructions")],
    options: [JSON_OPTION, { flags: "--no-disasm", help: "leave out the loader disassembly" }],
    run: async (io, [file], o: InspectOptions) =>
      (await import("./commands/inspect.js")).runInspect(io, file as string, o),
  },
  {
    name: "keygen",
    summary: "create a signing key and a self-signed certificate (kernel selftest profile)",
    args: [],
    options: [
      {
        flags: "--out <dir>",
        help: "directory for signing_key.pem, signing_cert.pem, signing_cert.der",
        required: true,
      },
      {
        flags: "--type <type>",
        help: "key type",
        choices: ["rsa2048", "rsa3072", "ec-p256", "ec-p384"],
        default: "rsa2048",
      },
      { flags: "--subject <cn>", help: "certificate common name" },
      { flags: "--days <n>", help: "validity in days" },
      { flags: "--force", help: "replace existing files" },
      { flags: "--json", help: "print a JSON summary" },
    ],
    run: async (io, _args, o: KeygenOptions) =>
      (await import("./commands/keygen.js")).runKeygen(io, o),
  },
  {
    name: "load",
    summary:
      "run a light skeleton's loader (or load a BPF object directly) and report the verdict and what it installed",
    args: [arg("file", "a light skeleton (.lskel.h), or a BPF ELF object loaded without a loader")],
    options: [
      {
        flags: "--cert <file>",
        help: "certificate to trust: added to the session keyring (repeatable)",
        repeat: true,
      },
      {
        flags: "--keyring <kind|id>",
        help: "builtin, secondary or platform (--cert certificates trusted there, model), user (the session keyring), user:SERIAL, or a keyring_id (a key serial or a negative KEY_SPEC value); default: user with --cert, else 0",
      },
      {
        flags: "--policy <file>",
        help: "a BPF LSM policy skeleton (.lskel.h) loaded and attached first (repeatable, model backend)",
        repeat: true,
      },
      {
        flags: "--policy-map <map=key[:value]>",
        help: "fill a policy map (integers, or 'session' for the session keyring's serial; value default 1)",
        repeat: true,
      },
      {
        flags: "--backend <kind>",
        help: "kernel to load into",
        choices: ["model", "host"],
        default: "model",
      },
      { flags: "--run", help: "run each installed socket filter once on a 64-byte packet" },
      SCHEME_OPTION,
      {
        flags: "--policy-file <file>",
        help: "enforce this load policy with an LSM module (model backend)",
      },
      JSON_OPTION,
    ],
    run: async (io, [file], o: LoadOptions) =>
      (await import("./commands/load.js")).runLoad(io, file as string, o),
  },
  {
    name: "btf",
    usage: "dump [FILE | --model] [--format c|raw]",
    summary:
      "print a BTF (a raw BTF file, a BPF object's .BTF, or the model kernel's vmlinux) as C (vmlinux.h) or raw",
    args: [
      {
        name: "dump [FILE]",
        required: true,
        variadic: true,
        help: "'dump' and the BTF file (e.g. /sys/kernel/btf/vmlinux) unless --model",
      },
    ],
    options: [
      { flags: "--model", help: "the model kernel's vmlinux BTF" },
      {
        flags: "--profile <name>",
        help: "with --model: the kernel profile (mainline-6.18 has no prog->aux->sig)",
        choices: ["v2", "bpf-next", "mainline-6.18", "kfunc", "hornet"],
      },
      { flags: "--format <fmt>", help: "c (a vmlinux.h) or raw", choices: ["c", "raw"] },
    ],
    run: async (io, words, o: BtfOptions) =>
      (await import("./commands/btf.js")).runBtf(io, words as string[], o),
  },
  {
    name: "gen",
    usage: "skeleton <OBJ.bpf.o> [name NAME]",
    summary:
      "a (signed) light skeleton from a BPF object, as bpftool gen skeleton -L [-S] writes it",
    args: [
      {
        name: "skeleton OBJ [name NAME]",
        required: true,
        variadic: true,
        help: "bpftool's words: 'skeleton', the BPF ELF object, and optionally 'name' and the skeleton name",
      },
    ],
    options: [
      { flags: "-L, --use-loader", help: "light skeleton (always; accepted for bpftool's shape)" },
      { flags: "-S, --sign", help: "sign the loader (hashing mode) over insns || metadata" },
      { ...SCHEME_OPTION, help: "what -S signs: v2 (bpftool's), kfunc or hornet" },
      { flags: "-k, --key <file|uri>", help: "private key with -S: a PEM file or a pkcs11: URI" },
      {
        flags: "-i, --cert <file|uri>",
        help: "certificate with -S: a PEM or DER file, or a pkcs11: URI",
      },
      ...SIGNER_OPTIONS.filter((s) => !/^--(key|cert) /.test(s.flags)),
      { flags: "-o, --output <file>", help: "write the header here (default: stdout)" },
      {
        flags: "--kallsyms <file>",
        help: "kallsyms lines for typeless ksyms (default: /proc/kallsyms)",
      },
      {
        flags: "--kconfig <file>",
        help: "kernel config for CONFIG_* externs (default: /boot/config-$(uname -r) or /proc/config.gz)",
      },
      {
        flags: "--kernel-version <a.b.c>",
        help: "LINUX_KERNEL_VERSION (default: this kernel's, as libbpf reads it)",
      },
      {
        flags: "--nr-cpus <n>",
        help: "possible CPUs for PERF_EVENT_ARRAY maps (default: /sys/devices/system/cpu/possible)",
      },
      { flags: "--page-size <n>", help: "page size for ringbuf and mmap sizes (default 4096)" },
      { flags: "--json", help: "print a JSON summary instead of the header (with -o)" },
    ],
    run: async (io, words, o: GenOptions) =>
      (await import("./commands/gen.js")).runGen(io, words as string[], o),
  },
  {
    name: "attack",
    summary:
      "run the named attacks against every kernel profile (v2, bpf-next, mainline-6.18, kfunc, hornet) and print the table",
    args: [arg("in.lskel.h", "light skeleton whose loader is attacked")],
    options: [
      { ...SCHEME_OPTION, help: "only the profiles that verify this scheme" },
      { flags: "--attack <name>", help: "only this attack (repeatable)", repeat: true },
      { flags: "--markdown", help: "print a Markdown table" },
      JSON_OPTION,
    ],
    run: async (io, [file], o: AttackOptions) =>
      (await import("./commands/attack.js")).runAttackCommand(io, file as string, o),
  },
  {
    name: "audit",
    summary:
      "offline: a skeleton's signature, what its loader will install, and whether a policy admits it",
    args: [
      {
        name: "skeleton",
        required: true,
        variadic: true,
        help: "a .lskel.h, a directory of them, or a glob (batch: one JSON line each)",
      },
    ],
    options: [
      { flags: "--cert <file>", help: "trusted certificate (repeatable)", repeat: true },
      { flags: "--policy-file <file>", help: "the load policy to decide with" },
      {
        flags: "--keyring <kind>",
        help: "keyring a signed loader is verified against: builtin, secondary, platform, user or user:SERIAL",
        default: "user",
      },
      { flags: "--html <file>", help: "also write a self-contained HTML report (one skeleton)" },
      JSON_OPTION,
    ],
    run: async (io, args, o: AuditOptions) =>
      (await import("./commands/audit.js")).runAudit(io, args as string[], o),
  },
];

const DESCRIPTION =
  "Sign, verify, inspect, load and audit BPF light skeletons (signed loaders, scheme v2)";
const HELP_OPTION: OptionSpec = { flags: "-h, --help", help: "display help for command" };

/** The parts of an option's flags: long name, short letter, whether it takes a value. */
function flagParts(flags: string): { long: string; short?: string; value: boolean } {
  const m = /^(?:-(\w), )?--([\w-]+)( <[^>]+>)?$/.exec(flags);
  if (!m) throw new Error(`internal: bad option flags '${flags}'`);
  return { short: m[1], long: m[2], value: m[3] !== undefined };
}

const camel = (s: string) => s.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

function usageOf(c: CommandSpec): string {
  if (c.usage) return ["bpfsign", c.name, "[options]", c.usage].join(" ");
  const args = c.args.map((a) => {
    const name = a.variadic ? `${a.name}...` : a.name;
    return a.required ? `<${name}>` : `[${name}]`;
  });
  return ["bpfsign", c.name, "[options]", ...args].join(" ");
}

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}\n`).join("");
}

function optionHelp(o: OptionSpec): string {
  const extra = [
    o.choices && `choices: ${o.choices.map((c) => `"${c}"`).join(", ")}`,
    o.default !== undefined && `default: "${o.default}"`,
  ].filter(Boolean);
  return extra.length ? `${o.help} (${extra.join(", ")})` : o.help;
}

function commandHelp(c: CommandSpec): string {
  let s = `Usage: ${usageOf(c)}\n\n${c.summary}\n`;
  if (c.args.length) s += `\nArguments:\n${table(c.args.map((a) => [a.name, a.help]))}`;
  const opts = [...c.options, HELP_OPTION];
  return `${s}\nOptions:\n${table(opts.map((o) => [o.flags, optionHelp(o)]))}`;
}

function programHelp(): string {
  const cmds: [string, string][] = COMMANDS.map((c) => [
    usageOf(c).slice("bpfsign ".length),
    c.summary,
  ]);
  cmds.push(["help [command]", "display help for command"]);
  return (
    `Usage: bpfsign [options] [command]\n\n${DESCRIPTION}\n\nOptions:\n` +
    table([
      ["-V, --version", "output the version number"],
      [HELP_OPTION.flags, HELP_OPTION.help],
    ]) +
    `\nCommands:\n${table(cmds)}`
  );
}

/** The closest command name to a mistyped one, if any is close (edit distance ≤ 2). */
function suggest(word: string): string | undefined {
  const dist = (a: string, b: string) => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const cur = [i];
      for (let j = 1; j <= b.length; j++)
        cur[j] = Math.min(
          prev[j] + 1,
          cur[j - 1] + 1,
          prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      prev = cur;
    }
    return prev[b.length];
  };
  const best = COMMANDS.map((c) => ({ name: c.name, d: dist(word, c.name) })).sort(
    (a, b) => a.d - b.d,
  )[0];
  return best && best.d <= 2 ? best.name : undefined;
}

/** Parses a command's arguments and options into what its `run` takes. */
function parseCommand(c: CommandSpec, argv: string[]): { args: (string | undefined)[]; o: Values } {
  type ParseOption = { type: "string" | "boolean"; short?: string; multiple?: boolean };
  const options: Record<string, ParseOption> = {};
  for (const spec of c.options) {
    const f = flagParts(spec.flags);
    const o: ParseOption = { type: f.value ? "string" : "boolean" };
    if (f.short) o.short = f.short;
    if (spec.repeat) o.multiple = true;
    options[f.long] = o;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (!err.code?.startsWith("ERR_PARSE_ARGS_")) throw e;
    const m = /^Unknown option '([^']+)'/.exec(err.message);
    throw new UsageError(m ? `unknown option '${m[1]}'` : err.message);
  }
  const { values, positionals } = parsed;
  const variadic = c.args.at(-1)?.variadic === true;
  if (!variadic && positionals.length > c.args.length)
    throw new UsageError(
      `too many arguments for '${c.name}': expected ${c.args.length}, got ${positionals.length}`,
    );
  const missing = c.args.find((a, i) => a.required && positionals[i] === undefined);
  if (missing) throw new UsageError(`missing required argument '${missing.name}'`);
  const o: Values = {};
  for (const spec of c.options) {
    const f = flagParts(spec.flags);
    const v = values[f.long];
    if (f.long.startsWith("no-")) {
      o[camel(f.long.slice(3))] = v ? false : undefined;
      continue;
    }
    if (v === undefined && spec.required)
      throw new UsageError(`required option '${spec.flags}' not specified`);
    if (typeof v === "string" && spec.choices && !spec.choices.includes(v))
      throw new UsageError(
        `option '${spec.flags}' argument '${v}' is invalid. Allowed choices are ${spec.choices.join(", ")}.`,
      );
    o[camel(f.long)] = v ?? spec.default ?? (spec.repeat ? [] : undefined);
  }
  return { args: variadic ? [...positionals] : c.args.map((_, i) => positionals[i]), o };
}

/** Runs `argv`: null when help or the version was printed, else the command's outcome. */
async function dispatch(argv: string[], io: CliIo): Promise<CliOutcome | null> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(programHelp());
    throw new UsageError("no command given");
  }
  if (first === "-V" || first === "--version") {
    io.stdout(`${packageVersion()}\n`);
    return null;
  }
  if (first === "-h" || first === "--help" || (first === "help" && rest.length === 0)) {
    io.stdout(programHelp());
    return null;
  }
  const name = first === "help" ? rest[0] : first;
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) {
    if (name.startsWith("-")) throw new UsageError(`unknown option '${name}'`);
    const s = suggest(name);
    throw new UsageError(`unknown command '${name}'${s ? ` (did you mean ${s}?)` : ""}`);
  }
  if (first === "help" || rest.includes("-h") || rest.includes("--help")) {
    io.stdout(commandHelp(c));
    return null;
  }
  const { args, o } = parseCommand(c, rest);
  return c.run(io, args, o as never);
}

/**
 * Runs the CLI on `argv` (without node and script) and resolves to the exit code. The exit-code
 * table (exit.ts) is loaded only once there is an outcome to classify: `--help` and `--version`
 * finish without it.
 */
export async function run(argv: string[], io: CliIo = processIo): Promise<number> {
  let outcome: CliOutcome | null;
  try {
    outcome = await dispatch(argv, io);
    if (outcome === null) return 0;
  } catch (e) {
    const { getExitCode } = await import("./exit.js");
    const code = getExitCode({ kind: "error", error: e });
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(`bpfsign: ${msg}\n`);
    if (e instanceof UsageError) io.stderr("(bpfsign --help lists the commands and options)\n");
    if (code === 70 && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return code;
  }
  return (await import("./exit.js")).getExitCode(outcome);
}
