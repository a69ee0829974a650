/**
 * `bpfsign audit`: offline, for one light skeleton or many — the signature result (as `verify`),
 * what the loader will install (read from its signed metadata and instructions, not run), and,
 * with `--policy-file`, the policy's decision for the loader and each program it loads.
 *
 * One skeleton: a report on stdout (`--json`: one JSON object, schema/audit.schema.json) and,
 * with `--html FILE`, a self-contained HTML page. Several (more than one argument, a directory or
 * a glob): one JSON line per skeleton when stdout is not a terminal (or with `--json`), else a
 * progress bar on stderr and a one-line summary per skeleton.
 *
 * Exit: 0 admitted (or, without a policy, verified); 5 denied by the policy; the `verify` codes
 * when the signature stops the load (1, 2, 4; 3 unsigned without a policy); 64/65/66 for usage,
 * malformed and unreadable inputs. A batch exits with the first non-zero code in input order.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { renderAuditHtml } from "../../audit/html.js";
import {
  AUDIT_SCHEMA_VERSION,
  type AuditReport,
  auditSkeletonWithPlan,
  type KeyringChoice,
} from "../../audit/report.js";
import type { Policy } from "../../policy/model.js";
import { InputError, UsageError } from "../errors.js";
import { type CliOutcome, codeOf } from "../exit.js";
import { readCertificate } from "../inputs.js";
import { writeAtomic } from "../io.js";
import { parseKeyringName } from "../keyring_option.js";
import type { CliIo } from "../output.js";
import { printFields, printJson } from "../output.js";
import { readSkeleton } from "../skeleton_input.js";

export interface AuditOptions {
  cert: string[];
  policyFile?: string;
  keyring: string;
  html?: string;
  json?: boolean;
}

function parseKeyring(s: string): KeyringChoice {
  const k = parseKeyringName(s);
  if (!k)
    throw new UsageError(
      `--keyring must be builtin, secondary, platform, user or user:SERIAL, not '${s}'`,
    );
  return {
    type: k.kind.toUpperCase() as KeyringChoice["type"],
    serial: k.kind === "user" ? k.serial : 0,
  };
}

const GLOB = /[*?[]/;

function globToRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    const close = ch === "[" ? segment.indexOf("]", i + 2) : -1;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (close > 0) {
      const body = segment
        .slice(i + 1, close)
        .replace(/^!/, "^")
        .replace(/\\/g, "\\\\");
      re += `[${body}]`;
      i = close;
    } else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Files matching a glob (`*`, `?`, `[..]` in any segment, `**` for any depth), sorted. */
function expandGlob(pattern: string): string[] {
  const parts = pattern.split("/");
  const out: string[] = [];
  const walk = (dir: string, i: number) => {
    if (i === parts.length) {
      out.push(dir);
      return;
    }
    const seg = parts[i];
    const base = dir === "" ? "." : dir;
    const join2 = (name: string) =>
      dir === "" ? name : dir === "/" ? `/${name}` : `${dir}/${name}`;
    if (seg === "**") {
      walk(dir, i + 1);
      for (const e of safeReaddir(base)) if (e.isDirectory()) walk(join2(e.name), i);
      return;
    }
    if (!GLOB.test(seg)) {
      walk(i === 0 && seg === "" ? "/" : join2(seg), i + 1);
      return;
    }
    const re = globToRegExp(seg);
    for (const e of safeReaddir(base))
      if (re.test(e.name) && (i === parts.length - 1 ? e.isFile() : e.isDirectory()))
        walk(join2(e.name), i + 1);
  };
  walk("", 0);
  return [...new Set(out)].filter((f) => isFile(f)).sort();
}

function safeReaddir(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The skeleton files the arguments name, and whether this is a batch. */
function expandArguments(args: readonly string[]): { files: string[]; batch: boolean } {
  const files: string[] = [];
  let batch = args.length > 1;
  for (const a of args) {
    if (GLOB.test(a)) {
      batch = true;
      const hits = expandGlob(a);
      if (!hits.length) throw new InputError(a, "skeletons", "the glob matches no file");
      files.push(...hits);
      continue;
    }
    let dir = false;
    try {
      dir = statSync(a).isDirectory();
    } catch {
      // a missing file: readSkeleton reports it
    }
    if (dir) {
      batch = true;
      const hits = safeReaddir(a)
        .filter((e) => e.isFile() && e.name.endsWith(".lskel.h"))
        .map((e) => join(a, e.name))
        .sort();
      if (!hits.length) throw new InputError(a, "skeletons", "no *.lskel.h file in the directory");
      files.push(...hits);
    } else files.push(a);
  }
  return { files, batch };
}

interface Context {
  trusted: Uint8Array[];
  policy: Policy | null;
  keyring: KeyringChoice;
}

function auditFile(file: string, c: Context) {
  const skel = readSkeleton(file);
  const { report, plan } = auditSkeletonWithPlan(
    {
      source: file,
      insns: skel.insns,
      data: skel.data,
      signature: skel.signature,
      exclHash: skel.exclHash,
      mapNames: skel.maps.map((m) => m.name),
    },
    { trusted: c.trusted, policy: c.policy, keyring: c.keyring },
  );
  return { skel, report, plan };
}

const outcomeOf = (r: AuditReport): CliOutcome => ({
  kind: "audit",
  result: r.signature.result,
  admitted: r.admitted,
});

function verdictText(r: AuditReport): string {
  if (r.admitted === true) return "ADMITTED";
  if (r.admitted === false) return "DENIED";
  if (r.signature.result !== "VERIFIED" && r.signature.result !== "UNSIGNED")
    return `REFUSED (${r.signature.result})`;
  return `NO POLICY (${r.signature.result})`;
}

function printHuman(io: CliIo, r: AuditReport): void {
  io.stdout(`${r.source}: ${verdictText(r)}\n`);
  printFields(
    io,
    [
      ["signature", `${r.signature.result}: ${r.signature.reason}`],
      ["signer (SKID)", r.signature.signer],
      ["trusted key", r.signature.trusted_key],
      ["policy", r.policy ? `${r.policy.name} ${r.policy.version}` : null],
    ],
    "  ",
  );
  for (const m of r.install.maps)
    io.stdout(
      `  map  ${m.name.padEnd(16)} ${m.type.padEnd(12)} key ${m.key_size} value ${m.value_size} max_entries ${m.max_entries} flags 0x${m.map_flags.toString(16)}${m.frozen ? " frozen" : ""}${m.initial_value ? ` init sha256:${m.initial_value.sha256.slice(0, 16)}` : ""}${m.host_overridable.length ? ` host-overridable: ${m.host_overridable.join(",")}` : ""}\n`,
    );
  for (const p of r.install.progs)
    io.stdout(
      `  prog ${p.name.padEnd(16)} ${p.type.padEnd(12)} attach ${p.expected_attach_type}${p.attach_target ? `:${p.attach_target}` : ""} ${p.insn_cnt} insns tag ${p.tag ?? "unpredictable"}${p.helpers.length ? ` helpers ${p.helpers.join(",")}` : ""}${p.kfuncs.length ? ` kfuncs ${p.kfuncs.join(",")}` : ""}${p.maps.length ? ` maps ${p.maps.join(",")}` : ""}\n`,
    );
  if (r.install.btf)
    io.stdout(`  btf  ${r.install.btf.bytes} bytes sha256:${r.install.btf.sha256.slice(0, 16)}\n`);
  if (r.install.host_overrides.overridable)
    io.stdout(
      `  host may change: ${r.install.host_overrides.maps.map((m) => `${m.name ?? `map #${m.index}`}.{${m.fields.join(",")}}`).join(" ")}\n`,
    );
  if (r.decisions)
    for (const d of [r.decisions.loader, ...r.decisions.progs])
      io.stdout(
        `  ${d.action.padEnd(5)} ${d.prog.padEnd(16)} ${d.rule ? `line ${d.rule.line}` : "default"}: ${d.rule_text}${d.reached ? "" : " (not reached)"}\n`,
      );
}

function progressBar(done: number, total: number, name: string): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${name.slice(-40).padEnd(40)}`;
}

export async function runAudit(io: CliIo, args: string[], o: AuditOptions): Promise<CliOutcome> {
  const keyring = parseKeyring(o.keyring);
  const policy = o.policyFile
    ? (await import("../policy_input.js")).readPolicy(o.policyFile)
    : null;
  const trusted = o.cert.map((p) => readCertificate(p).der);
  const ctx: Context = { trusted, policy, keyring };
  const { files, batch } = expandArguments(args);

  if (!batch) {
    const { skel, report, plan } = auditFile(files[0], ctx);
    if (o.html) writeAtomic(o.html, renderAuditHtml(report, skel.insns, plan));
    if (o.json) printJson(io, report);
    else printHuman(io, report);
    return outcomeOf(report);
  }

  if (o.html) throw new UsageError("--html writes one report: give one skeleton");
  const tty = io.stdoutIsTTY === true;
  const lines = !tty || o.json === true;
  const outcomes: CliOutcome[] = [];
  const summary: string[] = [];
  files.forEach((file, i) => {
    if (tty) io.stderr(progressBar(i, files.length, file));
    try {
      const { report } = auditFile(file, ctx);
      outcomes.push(outcomeOf(report));
      if (lines) io.stdout(`${JSON.stringify(report)}\n`);
      summary.push(`${verdictText(report).padEnd(22)} ${file}`);
    } catch (e) {
      outcomes.push({ kind: "error", error: e });
      const code = codeOf(e) ?? "INTERNAL";
      const message = e instanceof Error ? e.message : String(e);
      if (lines)
        io.stdout(
          `${JSON.stringify({ schema_version: AUDIT_SCHEMA_VERSION, source: file, error: { code, message } })}\n`,
        );
      summary.push(`${`ERROR ${code}`.padEnd(22)} ${file}: ${message}`);
    }
  });
  if (tty) {
    io.stderr(`${progressBar(files.length, files.length, "done")}\n`);
    if (!lines) io.stdout(summary.map((s) => `${s}\n`).join(""));
  }
  return { kind: "batch", outcomes };
}
