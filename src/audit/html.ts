/**
 * The audit as one self-contained HTML page (no scripts, no external resources): the decision,
 * the signature result, the install list as tables, the policy decisions with their rules, the
 * metadata blob's records, and the loader's disassembly in which every instruction that
 * addresses the blob links to (and is coloured by) the record it touches. Pure: returns text.
 */

import { disassembleLines } from "../insn/disasm.js";
import { decodeInsns } from "../insn/insn.js";
import { HELPER_NAMES } from "../policy/names.js";
import type { InstallPlan } from "../skeleton/install_plan.js";
import type { MetadataRegion } from "../skeleton/metadata_layout.js";
import type { AuditReport, DecisionRecord } from "./report.js";

const esc = (s: unknown) =>
  String(s ?? "-")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");

function table(head: string[], rows: unknown[][], cls = ""): string {
  return `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

function verdictOf(r: AuditReport): { cls: string; text: string } {
  if (r.admitted === true) return { cls: "admit", text: "ADMITTED" };
  if (r.admitted === false) return { cls: "deny", text: "DENIED" };
  if (r.signature.result !== "VERIFIED" && r.signature.result !== "UNSIGNED")
    return { cls: "deny", text: `REFUSED BY THE KERNEL (${r.signature.result})` };
  return { cls: "none", text: `NO POLICY (signature ${r.signature.result})` };
}

function decisionRows(ds: DecisionRecord[]): unknown[][] {
  return ds.map((d) => [
    d.op,
    d.prog,
    d.reached ? "yes" : "no",
    d.action,
    d.rule ? `line ${d.rule.line}` : "default",
    d.rule_text,
    d.explanation,
  ]);
}

function regionOf(regions: readonly MetadataRegion[], off: number): MetadataRegion | undefined {
  return regions.find((r) => off >= r.offset && off < r.offset + r.size);
}

const CSS = `
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
#decision{font-size:1.4em;font-weight:bold;padding:.5em 1em;border-radius:4px;display:inline-block}
.admit{background:#d7f5d7;color:#145214}.deny{background:#f8d3d3;color:#7a1010}.none{background:#eee}
pre.disasm{font-size:.8em;line-height:1.35}
pre.disasm a{color:inherit;text-decoration:none}
.k-btf,.k-btf_load_attr{background:#e8e0ff}
.k-map_create_attr,.k-map_update_attr,.k-map_freeze_attr,.k-map_key,.k-map_value{background:#dff0ff}
.k-prog_insns,.k-prog_load_attr,.k-license,.k-func_info,.k-line_info,.k-core_relos{background:#fff3cc}
.k-fd_array{background:#eaeaea}.k-unreferenced{background:#ffe3e3}
.sys{font-weight:bold}
tr:target,span:target{outline:2px solid #c60}
code{font-size:.9em}
`;

/** The page for `report` of the loader `insns` with metadata `data` (plan: planInstall of them). */
export function renderAuditHtml(report: AuditReport, insns: Uint8Array, plan: InstallPlan): string {
  const v = verdictOf(report);
  const regions = plan.layout.regions;
  const syscallAt = new Map(plan.layout.syscalls.map((s) => [s.insn, s]));
  const lines = disassembleLines(decodeInsns(insns), {
    helperName: (id) => (HELPER_NAMES[id] ? `bpf_${HELPER_NAMES[id]}` : undefined),
  });
  const touched = new Set<number>();
  const disasm = lines
    .map((l) => {
      const num = String(l.index).padStart(5);
      const off = plan.blobRefs.get(l.index);
      const sys = syscallAt.get(l.index);
      let text = esc(l.text);
      if (off !== undefined) {
        const r = regionOf(regions, off);
        if (r) {
          touched.add(r.offset);
          text = `<a href="#r${r.offset}" class="k-${r.kind}" title="${esc(`${r.kind} @${off}: ${r.detail}`)}">${text}</a>`;
        }
      }
      if (sys) {
        const r = regionOf(regions, sys.attr);
        text = `<span class="sys" id="i${l.index}">${text}</span>  <span class="k-${r?.kind ?? "none"}">; ${esc(sys.cmdName)} attr @${sys.attr}</span>`;
      }
      return `${num}: ${text}`;
    })
    .join("\n");
  const s = report.signature;
  const ins = report.install;
  const decisions = report.decisions;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bpfsign audit: ${esc(report.source)}</title>
<style>${CSS}</style></head>
<body>
<h1>bpfsign audit of <code>${esc(report.source)}</code></h1>
<div id="decision" class="${v.cls}" data-admitted="${esc(report.admitted)}">${esc(v.text)}</div>
<p>${report.policy ? `Policy <code>${esc(report.policy.name)}</code> version ${esc(report.policy.version)}.` : "No policy given."}</p>
<h2>Signature</h2>
${table(
  ["field", "value"],
  [
    ["result", s.result],
    ["reason", s.reason],
    ["kernel errno", s.errno],
    ["signer (SKID)", s.signer],
    ["trusted key", s.trusted_key],
    ["signed bytes", `${s.insns_bytes} insns + ${s.metadata_bytes} metadata`],
    ["sha256(insns||metadata)", s.digest],
    [
      "excl_prog_hash",
      s.excl_hash_matches === null
        ? "absent"
        : s.excl_hash_matches
          ? "= sha256(insns)"
          : "MISMATCH",
    ],
  ],
  "sig",
)}
<h2>What the loader installs</h2>
<h3>Maps</h3>
${table(
  [
    "#",
    "name",
    "type",
    "key",
    "value",
    "max_entries",
    "flags",
    "frozen",
    "initial value (sha256)",
    "host may change",
  ],
  ins.maps.map((m) => [
    m.index,
    m.name,
    m.type,
    m.key_size,
    m.value_size,
    m.max_entries,
    `0x${m.map_flags.toString(16)}`,
    m.frozen ? "yes" : "no",
    m.initial_value ? `${m.initial_value.bytes} B ${m.initial_value.sha256}` : "-",
    m.host_overridable.join(", ") || "-",
  ]),
  "maps",
)}
<h3>Programs</h3>
${table(
  [
    "#",
    "name",
    "type",
    "attach type",
    "attach target",
    "insns",
    "tag",
    "helpers",
    "kfuncs",
    "ksyms",
    "maps",
  ],
  ins.progs.map((p) => [
    p.index,
    p.name,
    p.type,
    p.expected_attach_type,
    p.attach_target,
    p.insn_cnt,
    p.tag ?? `unpredictable: ${p.tag_note}`,
    p.helpers.join(", ") || "-",
    p.kfuncs.join(", ") || "-",
    p.ksyms.join(", ") || "-",
    p.maps.join(", ") || "-",
  ]),
  "progs",
)}
<p>BTF: ${ins.btf ? `${ins.btf.bytes} bytes, sha256 ${esc(ins.btf.sha256)}` : "none"}.
Host overrides: ${ins.host_overrides.overridable ? esc(ins.host_overrides.maps.map((m) => `${m.name ?? `map #${m.index}`}: ${m.fields.join(", ")}`).join("; ")) : "none (the loader takes nothing from the host)"}.</p>
<h2>Policy decisions</h2>
${
  decisions
    ? table(
        ["op", "program", "reached", "action", "rule", "rule text", "why"],
        decisionRows([decisions.loader, ...decisions.progs, ...decisions.post_integrity]),
        "decisions",
      )
    : `<p>${report.policy ? "The kernel refuses the signature before any policy hook runs." : "No policy given."}</p>`
}
<h2>Metadata records</h2>
${`<table class="regions"><thead><tr><th>offset</th><th>size</th><th>kind</th><th>detail</th><th>used by the loader</th></tr></thead><tbody>${regions
  .map(
    (r) =>
      `<tr id="r${r.offset}" class="k-${r.kind}"><td>${r.offset}</td><td>${r.size}</td><td>${esc(r.kind)}</td><td>${esc(r.detail)}</td><td>${touched.has(r.offset) ? "yes" : "-"}</td></tr>`,
  )
  .join("")}</tbody></table>`}
<h2>Loader disassembly (${lines.length} instructions)</h2>
<pre class="disasm">${disasm}</pre>
</body></html>
`;
}
