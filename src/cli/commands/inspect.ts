/**
 * `bpfsign inspect`: what a light skeleton (or a bare signature, or raw loader instructions)
 * holds — the skeleton struct, the loader disassembly, the metadata blob's records, the
 * signature's fields and whether the embedded excl_prog_hash is sha256 of the instructions.
 */
import { describeSignature, type SignatureDescription } from "../../crypto/pkcs7.js";
import { disassembleLines, formatInsnListing } from "../../insn/disasm.js";
import { decodeInsns } from "../../insn/insn.js";
import { type MetadataLayout, metadataLayout } from "../../skeleton/metadata_layout.js";
import type { LightSkeleton } from "../../skeleton/skeleton.js";
import { loaderExclHash } from "../../skeleton/writer.js";
import { MalformedInputError } from "../errors.js";
import type { CliOutcome } from "../exit.js";
import { readInsns } from "../inputs.js";
import { readInput } from "../io.js";
import { type CliIo, hex, printFields, printJson } from "../output.js";
import { hostOverrides, readSkeleton } from "../skeleton_input.js";

export interface InspectOptions {
  json?: boolean;
  disasm?: boolean;
}

type Kind = "light skeleton" | "signature" | "loader instructions";

/** Sniffs the file: a C header, a DER SEQUENCE, else raw instructions. */
function sniff(bytes: Uint8Array): Kind {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x09)) i++;
  const head = Buffer.from(bytes.subarray(i, i + 16)).toString("latin1");
  if (head.startsWith("/*") || head.startsWith("//") || head.startsWith("#"))
    return "light skeleton";
  if (bytes[0] === 0x30 && bytes.length > 2 && (bytes[1] & 0x80 ? bytes[1] <= 0x84 : true))
    return "signature";
  return "loader instructions";
}

function signatureSection(path: string, sig: Uint8Array): SignatureDescription {
  const d = describeSignature(sig);
  if (!d.ok) throw new MalformedInputError(path, "signature", `${d.reason} (${d.errno})`);
  return d.value;
}

function printSignature(io: CliIo, d: SignatureDescription): void {
  io.stdout("signature:\n");
  printFields(
    io,
    [
      [
        "size",
        `${d.size} bytes (PKCS#7 SignedData v${d.version}, ${d.detached ? "detached" : "attached"} ${d.contentType})`,
      ],
      ["digest algorithms", d.digestAlgos.join(", ")],
      ["certificates", d.certificates.length],
    ],
    "  ",
  );
  for (const s of d.signers) {
    io.stdout(`  signer ${s.index}:\n`);
    printFields(
      io,
      [
        ["signer id", `${s.sid} ${s.keyId}`],
        ["algorithms", `${s.digestAlgo} / ${s.pkeyAlgo} (${s.encoding})`],
        ["signature value", `${s.signatureSize} bytes`],
        ["signed attributes", s.signedAttributes ? "present" : "none"],
      ],
      "    ",
    );
  }
}

function printLayout(io: CliIo, l: MetadataLayout): void {
  io.stdout("metadata blob:\n");
  for (const r of l.regions)
    io.stdout(
      `  ${String(r.offset).padStart(8)} ${String(r.size).padStart(8)}  ${r.kind.padEnd(16)} ${r.detail}\n`,
    );
}

export function runInspect(io: CliIo, path: string, o: InspectOptions): CliOutcome {
  const bytes = readInput(path, "input");
  const kind = sniff(bytes);
  if (kind === "signature") {
    const d = signatureSection(path, bytes);
    if (o.json) printJson(io, { source: path, kind, signature: d });
    else printSignature(io, d);
    return { kind: "ok" };
  }
  let skel: LightSkeleton | null = null;
  let insns: Uint8Array;
  if (kind === "light skeleton") {
    skel = readSkeleton(path);
    insns = skel.insns;
  } else insns = readInsns(path);
  const sha = loaderExclHash(insns);
  const exclHashMatches = skel?.exclHash ? Buffer.compare(sha, skel.exclHash) === 0 : null;
  const layout = skel ? metadataLayout(insns, skel.data) : null;
  const signature = skel?.signature ? signatureSection(path, skel.signature) : null;
  const overrides = hostOverrides(insns, skel);
  const listing = decodeInsns(insns);
  if (o.json) {
    printJson(io, {
      source: path,
      kind,
      name: skel?.name ?? null,
      maps: skel?.maps.map((m) => ({
        name: m.name,
        mmap: m.mmap && {
          valueSize: m.mmap.valueSize,
          mmapSize: m.mmap.mmapSize,
          readOnly: m.mmap.readOnly,
          initialValue: hex(m.mmap.initialValue),
        },
      })),
      progs: skel?.progs.map((p) => ({ name: p.name, attach: p.attach.kind })),
      hasKeyringId: skel?.hasKeyringId ?? null,
      ctxSize: skel?.ctxSize ?? null,
      insnsBytes: insns.length,
      metadataBytes: skel?.data.length ?? null,
      insnsDigest: hex(sha),
      exclHash: hex(skel?.exclHash),
      exclHashMatches,
      hostOverrides: overrides,
      signature,
      metadata: layout,
      disassembly: o.disasm === false ? undefined : disassembleLines(listing).map((l) => l.text),
    });
    return { kind: "ok" };
  }
  if (skel) {
    printFields(io, [
      ["light skeleton", `${skel.name} (${skel.signature ? "signed" : "unsigned"})`],
      [
        "maps",
        skel.maps
          .map(
            (m) =>
              m.name + (m.mmap ? ` [${m.mmap.readOnly ? "ro" : "rw"} ${m.mmap.valueSize}B]` : ""),
          )
          .join(", ") || "none",
      ],
      ["programs", skel.progs.map((p) => p.name).join(", ") || "none"],
      ["ctx size", skel.ctxSize],
      ["keyring_id field", skel.hasKeyringId ? "yes" : "no"],
      ["loader", `${insns.length} bytes, ${insns.length / 8} insns, sha256 ${hex(sha)}`],
      ["metadata", `${skel.data.length} bytes`],
      [
        "excl_prog_hash",
        exclHashMatches === null
          ? "absent"
          : exclHashMatches
            ? "= sha256(insns)"
            : `MISMATCH (${hex(skel.exclHash)})`,
      ],
    ]);
  } else
    printFields(io, [
      ["loader", `${insns.length} bytes, ${insns.length / 8} insns, sha256 ${hex(sha)}`],
    ]);
  io.stdout(
    overrides.length
      ? `host overrides (not covered by a signature):\n${overrides.map((x) => `  ${x}\n`).join("")}`
      : "host overrides: none\n",
  );
  if (signature) printSignature(io, signature);
  if (layout) printLayout(io, layout);
  if (o.disasm !== false) io.stdout(`loader instructions:\n${formatInsnListing(listing)}\n`);
  return { kind: "ok" };
}
