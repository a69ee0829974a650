/**
 * `bpfsign btf dump [--format c|raw] [FILE | --model [--profile P]]`: a BTF blob (a raw .BTF
 * file such as /sys/kernel/btf/vmlinux, or the .BTF section of a BPF object) or the model
 * kernel's vmlinux BTF, printed as a C header a BPF program compiles against (`vmlinux.h`, as
 * `bpftool btf dump file F format c` prints it) or as one line per type (`raw`).
 */

import { BTF_KIND, Btf, type BtfType } from "../../btf/btf.js";
import { dumpBtfC } from "../../btf/btf_dump_c.js";
import { parseElf } from "../../elf/elf.js";
import { PROFILE_NAMES, type ProfileName, profile } from "../../kernel/profile.js";
import { modelVmlinuxBtf, vmlinuxOptionsFor } from "../../kernel/vmlinux_btf.js";
import { UsageError } from "../errors.js";
import type { CliOutcome } from "../exit.js";
import { readInput } from "../io.js";
import type { CliIo } from "../output.js";

export interface BtfOptions {
  format?: string;
  model?: boolean;
  /** The model kernel profile whose BTF --model prints (default v2). */
  profile?: string;
}

const KIND_NAMES = Object.fromEntries(Object.entries(BTF_KIND).map(([k, v]) => [v, k]));

function readBtf(file: string): Btf {
  const bytes = readInput(file, "BTF or BPF object");
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const elf = parseElf(bytes, file);
    const sec = elf.sectionByName(".BTF");
    if (!sec) throw new UsageError(`${file} has no .BTF section`);
    return Btf.parse(sec.data, file);
  }
  return Btf.parse(bytes, file);
}

/** One line per type, in the spirit of bpftool's raw format. */
function rawLine(t: BtfType): string {
  const head = `[${t.id}] ${KIND_NAMES[t.kind] ?? t.kind} '${t.name || "(anon)"}'`;
  switch (t.kind) {
    case BTF_KIND.INT:
      return `${head} size=${t.size} bits_offset=${t.offset} nr_bits=${t.bits} encoding=${t.encoding}`;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
      return [
        `${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map(
          (m) =>
            `\t'${m.name || "(anon)"}' type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ""}`,
        ),
      ].join("\n");
    case BTF_KIND.ENUM:
    case BTF_KIND.ENUM64:
      return [
        `${head} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t'${v.name}' val=${v.value}`),
      ].join("\n");
    case BTF_KIND.ARRAY:
      return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case BTF_KIND.FUNC_PROTO:
      return [
        `${head} ret_type_id=${t.returnType} vlen=${t.params.length}`,
        ...t.params.map((p) => `\t'${p.name || "(anon)"}' type_id=${p.type}`),
      ].join("\n");
    case BTF_KIND.DATASEC:
      return [
        `${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => `\ttype_id=${v.type} offset=${v.offset} size=${v.size}`),
      ].join("\n");
    case BTF_KIND.FWD:
      return `${head} fwd_kind=${t.kflag ? "union" : "struct"}`;
    default:
      return "type" in t ? `${head} type_id=${t.type}` : head;
  }
}

export function runBtf(io: CliIo, words: string[], o: BtfOptions): CliOutcome {
  const [sub, file, ...rest] = words;
  if (sub !== "dump")
    throw new UsageError(
      sub === undefined
        ? "missing 'dump' (bpfsign btf dump FILE)"
        : `unknown btf subcommand '${sub}'`,
    );
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (!!file === !!o.model) throw new UsageError("give either a BTF file or --model");
  const format = o.format ?? "c";
  if (format !== "c" && format !== "raw")
    throw new UsageError(`--format must be 'c' or 'raw', not '${format}'`);
  const p = (o.profile ?? "v2") as ProfileName;
  if (!PROFILE_NAMES.includes(p))
    throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(", ")}, not '${p}'`);
  const btf = o.model ? modelVmlinuxBtf(vmlinuxOptionsFor(profile(p))) : readBtf(file as string);
  if (format === "c") io.stdout(dumpBtfC(btf, { vmlinuxHeader: true }));
  else for (const t of btf.types.slice(1)) io.stdout(`${rawLine(t)}\n`);
  return { kind: "ok" };
}
