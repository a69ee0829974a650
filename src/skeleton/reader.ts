/**
 * Reads a `.lskel.h` written by bpftool: unsigned ones (Debian's bpftool 7.1 with inline arrays,
 * newer ones with `static const char` arrays) and signed v2 ones (`opts_sig`, `opts_excl_hash`,
 * `keyring_id`).
 *
 * Three steps: split the text into lines, decoding each byte-array literal in place with the
 * exact `print_hex` grammar (literal.ts); pick the values out of the lines (names, sizes,
 * literals); render those values with the writer and compare line by line. Any difference is a
 * `SkeletonParseError` at the first differing byte, so everything accepted is exactly what bpftool
 * writes for those values, and writing it back gives the same bytes.
 */

import { SkeletonParseError } from "./errors.js";
import { decodeLiteral } from "./literal.js";
import {
  type LightSkeleton,
  loaderCtxSize,
  type SkeletonAttach,
  type SkeletonDialect,
  type SkeletonMap,
  type SkeletonProg,
  type SkeletonView,
} from "./skeleton.js";
import { type HeaderLine, renderLines } from "./writer.js";

/** A line as found in the text, with positions for errors. */
interface ScannedLine extends HeaderLine {
  /** 1-based line of `head` */
  line: number;
  /** line and 1-based column of the closing quote, for literal lines */
  tailLine: number;
  tailColumn: number;
}

const NEWLINE = 0x0a;

function toBytes(text: Uint8Array | string): Uint8Array {
  // a Buffer view (no copy): its indexOf is a native byte search
  return typeof text === "string"
    ? Buffer.from(text, "latin1")
    : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1");
}

/** Splits the header into lines, decoding literals. */
function scan(buf: Uint8Array): ScannedLine[] {
  const lines: ScannedLine[] = [];
  let pos = 0;
  let line = 1;
  while (pos < buf.length) {
    let nl = buf.indexOf(NEWLINE, pos);
    if (nl < 0) {
      throw new SkeletonParseError(
        "truncated",
        line,
        buf.length - pos + 1,
        "text ends without a newline",
      );
    }
    if (nl - pos >= 2 && buf[nl - 1] === 0x5c && buf[nl - 2] === 0x22) {
      const head = latin1(buf, pos, nl - 2);
      const lit = decodeLiteral(buf, nl + 1, line + 1);
      const lastLineStart = buf.lastIndexOf(NEWLINE, lit.end) + 1;
      const tailLine = line + 1 + lit.continuations;
      const tailColumn = lit.end - lastLineStart + 1;
      nl = buf.indexOf(NEWLINE, lit.end);
      if (nl < 0) {
        throw new SkeletonParseError(
          "truncated",
          tailLine,
          buf.length - lastLineStart + 1,
          "text ends without a newline",
        );
      }
      lines.push({
        head,
        literal: lit.bytes,
        tail: latin1(buf, lit.end + 1, nl),
        line,
        tailLine,
        tailColumn,
      });
      line = tailLine + 1;
    } else {
      lines.push({
        head: latin1(buf, pos, nl),
        literal: null,
        tail: "",
        line,
        tailLine: line,
        tailColumn: 0,
      });
      line++;
    }
    pos = nl + 1;
  }
  return lines;
}

const RE_STRUCT = /^struct ([A-Za-z_][A-Za-z0-9_]*) \{$/;
const RE_MAP_DESC = /^\t\tstruct bpf_map_desc ([A-Za-z_][A-Za-z0-9_]*);$/;
const RE_PROG_DESC = /^\t\tstruct bpf_prog_desc ([A-Za-z_][A-Za-z0-9_]*);$/;
const RE_LINK = /^\t\tint ([A-Za-z_][A-Za-z0-9_]*);$/;
const RE_VIEW_OPEN = /^\tstruct [A-Za-z_][A-Za-z0-9_]* \{$/;
const RE_VIEW_CLOSE = /^\t\} \*([A-Za-z_][A-Za-z0-9_]*);$/;
const RE_PROG_FD = /^\tint prog_fd = skel->progs\.([A-Za-z_][A-Za-z0-9_]*)\.prog_fd;$/;
const RE_RAW_TP = /^\tint fd = skel_raw_tracepoint_open\("([^"\\]*)", prog_fd\);$/;
const RE_PREP_STATIC =
  /^\t\tskel->([A-Za-z_][A-Za-z0-9_]*) = (?:\(__typeof__\(skel->[A-Za-z0-9_]+\)\))?skel_prep_map_data\(\(void \*\)data, (\d{1,15}),$/;
const RE_PREP_INLINE_HEAD =
  /^\tskel->([A-Za-z_][A-Za-z0-9_]*) = (?:\(__typeof__\(skel->[A-Za-z0-9_]+\)\))?skel_prep_map_data\(\(void \*\)$/;
const RE_PREP_INLINE_TAIL = /^, (\d{1,15}), (\d{1,15})\);$/;
const RE_FINALIZE =
  /^\tskel->([A-Za-z_][A-Za-z0-9_]*) = (?:\(__typeof__\(skel->[A-Za-z0-9_]+\)\))?skel_finalize_map_data\(/;
const RE_FINALIZE_ARGS = /^\t+\d{1,15}, (PROT_READ(?: \| PROT_WRITE)?), /;
const RE_OPTS_STATIC =
  /^\tstatic const char opts_(data|insn|sig|excl_hash)\[\] __attribute__\(\(__aligned__\(8\)\)\) = $/;
const RE_OPTS_INLINE = /^\topts\.(data|insns) = \(void \*\)$/;
const RE_OPTS_SIZE = /^\topts\.(data_sz|insns_sz) = (\d{1,15});$/;

function fail(
  line: number,
  column: number,
  detail: string,
  reason: SkeletonParseError["reason"] = "unexpected-text",
): never {
  throw new SkeletonParseError(reason, line, column, detail);
}

function attachOf(l: ScannedLine | undefined, prog: string, after: ScannedLine): SkeletonAttach {
  if (!l) fail(after.line + 1, 1, `X__${prog}__attach() ends early`, "truncated");
  const h = l.head;
  if (h === "\tint fd = ((void)prog_fd, 0); /* auto-attach not supported */")
    return { kind: "none" };
  if (h === "\tint fd = skel_raw_tracepoint_open(NULL, prog_fd);") return { kind: "tracing" };
  if (h === "\tint fd = skel_link_create(prog_fd, 0, BPF_TRACE_ITER);") return { kind: "iter" };
  const m = RE_RAW_TP.exec(h);
  if (m) return { kind: "raw_tracepoint", tracepoint: m[1] };
  return fail(l.line, 1, `unrecognised attach statement for program '${prog}'`);
}

const PREAMBLE: (string | RegExp)[] = [
  "/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */",
  "/* THIS FILE IS AUTOGENERATED BY BPFTOOL! */",
  /^#ifndef __[A-Za-z0-9_]+_SKEL_H__$/,
  /^#define __[A-Za-z0-9_]+_SKEL_H__$/,
  "",
  "#include <bpf/skel_internal.h>",
  "",
];

/** The fixed opening lines, checked first so that damage there is reported where it is. */
function checkPreamble(lines: ScannedLine[]): void {
  for (const [k, want] of PREAMBLE.entries()) {
    const l = lines[k];
    if (!l)
      fail(k === 0 ? 1 : lines[k - 1].tailLine + 1, 1, "header ends in its preamble", "truncated");
    const ok = typeof want === "string" ? l.head === want : want.test(l.head);
    if (!ok || l.literal !== null) {
      const col = typeof want === "string" ? firstDifference(l.head, want) : 0;
      fail(
        l.line,
        col + 1,
        `expected ${quote(typeof want === "string" ? want : want.source)}, found ${quote(l.head)}`,
      );
    }
  }
}

/** Picks the values out of the scanned lines (before the exact comparison). */
function extract(lines: ScannedLine[]): LightSkeleton {
  checkPreamble(lines);
  let i = lines.findIndex((l) => RE_STRUCT.test(l.head) && l.literal === null);
  if (i < 0)
    fail(
      lines.length > 0 ? lines[lines.length - 1].line : 1,
      1,
      "no `struct X {` skeleton struct",
      "truncated",
    );
  const name = RE_STRUCT.exec(lines[i].head)![1];
  const maps: SkeletonMap[] = [];
  const progs: SkeletonProg[] = [];
  const links: string[] = [];
  const views: SkeletonView[] = [];
  let hasKeyringId = false;
  // the struct body
  for (i++; i < lines.length && lines[i].head !== "};"; i++) {
    const l = lines[i];
    if (l.head === "\tstruct {") {
      const start = l;
      const members: ScannedLine[] = [];
      for (i++; i < lines.length && !lines[i].head.startsWith("\t} "); i++) members.push(lines[i]);
      if (i >= lines.length) fail(start.line, 1, "unclosed member struct", "truncated");
      const kind = lines[i].head;
      const pick = (re: RegExp, m: ScannedLine): string =>
        re.exec(m.head)?.[1] ?? fail(m.line, 1, `unexpected member in \`${kind.slice(3)}\``);
      if (kind === "\t} maps;")
        for (const m of members) maps.push({ name: pick(RE_MAP_DESC, m), mmap: null });
      else if (kind === "\t} progs;") {
        for (const m of members)
          progs.push({ name: pick(RE_PROG_DESC, m), attach: { kind: "none" } });
      } else if (kind === "\t} links;") for (const m of members) links.push(pick(RE_LINK, m));
      else if (kind === "\t} struct_ops;") {
        fail(
          lines[i].line,
          1,
          "struct_ops maps are not supported by light skeletons",
          "unsupported",
        );
      } else fail(lines[i].line, 1, "unknown member struct");
    } else if (l.head === "\t__s32 keyring_id;") {
      hasKeyringId = true;
    } else if (RE_VIEW_OPEN.test(l.head)) {
      const viewLines = [l.head];
      for (i++; i < lines.length && !RE_VIEW_CLOSE.test(lines[i].head); i++) {
        if (lines[i].literal !== null || lines[i].head === "};")
          fail(lines[i].line, 1, "unclosed datasec struct");
        viewLines.push(lines[i].head);
      }
      if (i >= lines.length) fail(l.line, 1, "unclosed datasec struct", "truncated");
      viewLines.push(lines[i].head);
      views.push({ ident: RE_VIEW_CLOSE.exec(lines[i].head)![1], lines: viewLines });
    }
    // anything else is reported by the comparison
  }

  const byName = new Map(maps.map((m) => [m.name, m]));
  const progByName = new Map(progs.map((p) => [p.name, p]));
  let data: Uint8Array | null = null;
  let insns: Uint8Array | null = null;
  let signature: Uint8Array | null = null;
  let exclHash: Uint8Array | null = null;
  let arrays: SkeletonDialect["arrays"] = "static";
  let casts = false;
  let asserts: string[] | null = null;
  const sizes: { field: string; value: number; line: number }[] = [];
  let pendingData: Uint8Array | null = null;

  for (; i < lines.length; i++) {
    const l = lines[i];
    const h = l.head;
    if (l.literal !== null) {
      const optsStatic = RE_OPTS_STATIC.exec(h);
      const optsInline = RE_OPTS_INLINE.exec(h);
      const prepInline = RE_PREP_INLINE_HEAD.exec(h);
      if (optsStatic) {
        const m = optsStatic;
        if (m[1] === "data") data = l.literal;
        else if (m[1] === "insn") insns = l.literal;
        else if (m[1] === "sig") signature = l.literal;
        else exclHash = l.literal;
      } else if (optsInline) {
        const m = optsInline;
        arrays = "inline";
        if (m[1] === "data") data = l.literal;
        else insns = l.literal;
      } else if (h === "\t\tstatic const char data[] __attribute__((__aligned__(8))) = ") {
        pendingData = l.literal;
      } else if (prepInline) {
        const m = prepInline;
        const map = byName.get(m[1]);
        const t = RE_PREP_INLINE_TAIL.exec(l.tail);
        if (map && t) {
          const valueSize = Number(t[2]);
          if (valueSize !== l.literal.length) {
            fail(
              l.tailLine,
              l.tailColumn,
              `value size ${valueSize} of map '${map.name}' differs from its ${l.literal.length}-byte initial value`,
              "inconsistent",
            );
          }
          map.mmap = {
            initialValue: l.literal,
            mmapSize: Number(t[1]),
            valueSize,
            readOnly: false,
          };
        }
      }
      continue;
    }
    const progFd = RE_PROG_FD.exec(h);
    const prepStatic = RE_PREP_STATIC.exec(h);
    const finalize = RE_FINALIZE.exec(h);
    const optsSize = RE_OPTS_SIZE.exec(h);
    if (progFd) {
      const m = progFd;
      const p = progByName.get(m[1]);
      if (p) p.attach = attachOf(lines[i + 1], p.name, l);
    } else if (prepStatic) {
      const m = prepStatic;
      const map = byName.get(m[1]);
      if (map && pendingData) {
        map.mmap = {
          initialValue: pendingData,
          mmapSize: Number(m[2]),
          valueSize: pendingData.length,
          readOnly: false,
        };
      }
      pendingData = null;
    } else if (finalize) {
      const m = finalize;
      const map = byName.get(m[1]);
      const args = lines[i + 1] ? RE_FINALIZE_ARGS.exec(lines[i + 1].head) : null;
      if (map?.mmap && args) map.mmap.readOnly = args[1] === "PROT_READ";
    } else if (optsSize) {
      const m = optsSize;
      sizes.push({ field: m[1], value: Number(m[2]), line: l.line });
    } else if (h === `\tskel = (struct ${name} *)skel_alloc(sizeof(*skel));`) {
      casts = true;
    } else if (h === "#define _Static_assert static_assert" && asserts === null) {
      asserts = [];
      for (i += 2; i < lines.length && lines[i].head !== "#ifdef __cplusplus"; i++)
        asserts.push(lines[i].head);
    }
  }

  const last = lines[lines.length - 1];
  if (data === null) fail(last.line + 1, 1, "no loader data array (opts_data)", "truncated");
  if (insns === null)
    fail(last.line + 1, 1, "no loader instruction array (opts_insn)", "truncated");
  for (const s of sizes) {
    const actual = s.field === "data_sz" ? data.length : insns.length;
    if (s.value !== actual) {
      fail(
        s.line,
        17,
        `opts.${s.field} = ${s.value} but the array holds ${actual} bytes`,
        "inconsistent",
      );
    }
  }
  if (insns.length % 8 !== 0) {
    const at = lines.find((l) => l.literal === insns)!;
    fail(
      at.tailLine,
      at.tailColumn,
      `loader instructions are ${insns.length} bytes, not a multiple of 8`,
      "inconsistent",
    );
  }
  if (hasKeyringId !== (signature !== null)) {
    const at =
      lines.find((l) => l.head === "\t__s32 keyring_id;") ??
      lines.find((l) => l.literal === signature)!;
    fail(
      at.line,
      1,
      hasKeyringId ? "keyring_id in an unsigned skeleton" : "signed skeleton without keyring_id",
      "inconsistent",
    );
  }
  if (signature !== null && exclHash === null) {
    const at = lines.find((l) => l.literal === signature)!;
    fail(at.tailLine, at.tailColumn + 1, "opts_sig without opts_excl_hash", "inconsistent");
  }
  return {
    name,
    dialect: { arrays, casts },
    maps,
    progs,
    links,
    hasKeyringId,
    views,
    asserts,
    data,
    insns,
    signature,
    exclHash,
    ctxSize: loaderCtxSize(maps.length, progs.length),
  };
}

function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let k = 0;
  while (k < n && a.charCodeAt(k) === b.charCodeAt(k)) k++;
  return k;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.length === b.length && Buffer.compare(a, b) === 0);
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

/** Compares the scanned lines with what bpftool writes for the extracted values. */
function compare(actual: ScannedLine[], expected: HeaderLine[]): void {
  for (let k = 0; k < expected.length; k++) {
    const e = expected[k];
    const a = actual[k];
    if (!a) {
      const last = actual[actual.length - 1];
      fail(
        last ? last.tailLine + 1 : 1,
        1,
        `header ends early; expected ${quote(e.head)}`,
        "truncated",
      );
    }
    if (a.head !== e.head) {
      const col = firstDifference(a.head, e.head);
      fail(a.line, col + 1, `expected ${quote(e.head)}, found ${quote(a.head)}`);
    }
    if ((a.literal === null) !== (e.literal === null)) {
      fail(
        a.line,
        a.head.length + 1,
        e.literal ? "expected a byte-array literal here" : "unexpected byte-array literal",
      );
    }
    if (a.literal && e.literal && !sameBytes(a.literal, e.literal)) {
      fail(
        a.line,
        a.head.length + 1,
        "byte-array literal differs from the one this place needs",
        "inconsistent",
      );
    }
    if (a.tail !== e.tail) {
      const col = firstDifference(a.tail, e.tail);
      fail(
        a.tailLine,
        a.tailColumn + 1 + col,
        `expected ${quote(e.tail)} after the literal, found ${quote(a.tail)}`,
      );
    }
  }
  if (actual.length > expected.length) {
    const extra = actual[expected.length];
    fail(extra.line, 1, `text after the end of the header: ${quote(extra.head)}`);
  }
}

/**
 * Parses a light skeleton header. Throws `SkeletonParseError` (with line and column) for anything
 * that is not exactly what bpftool writes.
 */
export function parseLightSkeleton(text: Uint8Array | string): LightSkeleton {
  const buf = toBytes(text);
  const lines = scan(buf);
  if (lines.length === 0) fail(1, 1, "empty header", "truncated");
  const skel = extract(lines);
  compare(lines, renderLines(skel));
  return skel;
}
