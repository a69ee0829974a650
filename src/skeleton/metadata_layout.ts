/**
 * What a light-skeleton loader does with its metadata blob, read off its instructions.
 *
 * gen_loader addresses the blob only through `ld_imm64 rX, MAP_IDX_VALUE[0] + off` (fd_array
 * slot 0 is `__loader.map`), so a single pass over the loader, tracking which registers hold a
 * blob address or a constant, recovers every `bpf_sys_bpf(cmd, blob+attr, size)` call, every
 * pointer the loader stores into an attr (`emit_rel_store`) and every blob-to-blob copy (map fds
 * taken from the fd_array scratch area). From those the blob splits into named records: the
 * fd_array scratch, the raw BTF, each map's create attr, initial value and update attr, each
 * program's license, instructions, func_info, line_info and load attr. Pure: bytes in, values out.
 */
import { decodeInsns, type Insn } from "../insn/insn.js";
import { AluOp, Class, LD_IMM64, Mode, Size } from "../insn/opcode.js";
import { BpfCmd, enumName, Helper, Pseudo } from "../uapi/constants.js";
import { BtfLoadAttr, decode, fromCString, MapCreateAttr, ProgLoadAttr } from "../uapi/layout.js";

/** One bpf_sys_bpf() call of the loader. */
export interface LoaderSyscall {
  /** Index of the `call bpf_sys_bpf` instruction. */
  insn: number;
  cmd: number;
  cmdName: string;
  /** Blob offset of the attr. */
  attr: number;
  size: number;
}

export type RegionKind =
  | "fd_array"
  | "btf"
  | "btf_load_attr"
  | "map_create_attr"
  | "map_key"
  | "map_value"
  | "map_update_attr"
  | "map_freeze_attr"
  | "license"
  | "prog_insns"
  | "func_info"
  | "line_info"
  | "core_relos"
  | "prog_load_attr"
  | "padding"
  | "unreferenced";

export interface MetadataRegion {
  offset: number;
  size: number;
  kind: RegionKind;
  /** A one-line human description (names, sizes, types). */
  detail: string;
}

export interface MetadataLayout {
  syscalls: LoaderSyscall[];
  regions: MetadataRegion[];
  /** The maps the loader creates, in fd_array order. */
  maps: {
    name: string;
    type: number;
    key_size: number;
    value_size: number;
    max_entries: number;
    flags: number;
  }[];
  /** The programs the loader loads, in order, with where their instructions sit in the blob. */
  progs: {
    name: string;
    type: number;
    insn_cnt: number;
    insnsOffset: number | null;
    license: string;
  }[];
}

/** fd_array scratch: MAX_USED_MAPS + MAX_KFUNC_DESCS four-byte slots at offset 0. */
const FD_ARRAY_BYTES = (64 + 256) * 4;

type Val = { blob: number } | { imm: bigint } | null;

const sizeBytes = (code: number): number =>
  ({ [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 })[code & 0x18] ?? 0;

/** Scans the loader: syscalls, pointer stores (dst blob offset → src blob offset) and copies. */
function scan(list: readonly Insn[]) {
  const regs: Val[] = new Array(11).fill(null);
  const syscalls: LoaderSyscall[] = [];
  const pointers = new Map<number, number>();
  const copies = new Map<number, number>();
  /** A register loaded from blob memory: which blob offset it came from. */
  const loadedFrom: (number | null)[] = new Array(11).fill(null);
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    const cls = x.code & 7;
    if (x.code === LD_IMM64 && i + 1 < list.length) {
      const hi = list[i + 1];
      regs[x.dst] =
        x.src === Pseudo.MAP_IDX_VALUE && x.imm === 0
          ? { blob: hi.imm >>> 0 }
          : x.src === 0
            ? { imm: BigInt(x.imm >>> 0) | (BigInt(hi.imm >>> 0) << 32n) }
            : null;
      loadedFrom[x.dst] = null;
      i++;
      continue;
    }
    if (
      (cls === Class.ALU64 || cls === Class.ALU) &&
      (x.code & 0xf0) === AluOp.MOV &&
      !(x.code & 8)
    ) {
      regs[x.dst] = { imm: BigInt(x.imm) };
      loadedFrom[x.dst] = null;
      continue;
    }
    if (cls === Class.LDX && (x.code & 0xe0) === Mode.MEM) {
      const base = regs[x.src];
      loadedFrom[x.dst] = base && "blob" in base ? base.blob + x.off : null;
      regs[x.dst] = null;
      continue;
    }
    if (cls === Class.STX && (x.code & 0xe0) === Mode.MEM) {
      const dst = regs[x.dst];
      const src = regs[x.src];
      if (dst && "blob" in dst) {
        const at = dst.blob + x.off;
        if (src && "blob" in src && sizeBytes(x.code) === 8) pointers.set(at, src.blob);
        else if (loadedFrom[x.src] !== null) copies.set(at, loadedFrom[x.src] as number);
      }
      continue;
    }
    if (x.code === (Class.JMP | 0x80) && x.src === 0) {
      if (x.imm === Helper.sys_bpf) {
        const cmd = regs[1];
        const attr = regs[2];
        const size = regs[3];
        if (cmd && "imm" in cmd && attr && "blob" in attr && size && "imm" in size)
          syscalls.push({
            insn: i,
            cmd: Number(cmd.imm),
            cmdName: enumName(BpfCmd, Number(cmd.imm)),
            attr: attr.blob,
            size: Number(size.imm),
          });
      }
      for (let r = 0; r <= 5; r++) {
        regs[r] = null;
        loadedFrom[r] = null;
      }
      continue;
    }
    if (cls === Class.ALU64 || cls === Class.ALU || cls === Class.LDX) {
      regs[x.dst] = null;
      loadedFrom[x.dst] = null;
    }
  }
  return { syscalls, pointers, copies };
}

export function metadataLayout(insns: Uint8Array, data: Uint8Array): MetadataLayout {
  return metadataLayoutOf(decodeInsns(insns), data);
}

/** metadataLayout over the loader's instructions already decoded. */
export function metadataLayoutOf(list: readonly Insn[], data: Uint8Array): MetadataLayout {
  const { syscalls, pointers, copies } = scan(list);
  const regions: MetadataRegion[] = [];
  const maps: MetadataLayout["maps"] = [];
  const progs: MetadataLayout["progs"] = [];
  const slice = (off: number, len: number) => data.subarray(off, Math.min(off + len, data.length));
  const add = (offset: number, size: number, kind: RegionKind, detail: string) => {
    if (offset >= 0 && size > 0 && offset < data.length)
      regions.push({ offset, size: Math.min(size, data.length - offset), kind, detail });
  };
  const ptr = (attr: number, field: { off: number }) => pointers.get(attr + field.off);
  const cstrAt = (off: number | undefined) =>
    off === undefined ? "" : fromCString(slice(off, 256));

  if (data.length >= FD_ARRAY_BYTES)
    add(0, FD_ARRAY_BYTES, "fd_array", "fd_array scratch: 64 map fds, 256 kfunc BTF fds");
  for (const c of syscalls) {
    const attrBytes = slice(c.attr, c.size);
    switch (c.cmd) {
      case BpfCmd.BTF_LOAD: {
        const a = decode(BtfLoadAttr, attrBytes);
        const btf = ptr(c.attr, BtfLoadAttr.btf);
        if (btf !== undefined) add(btf, a.btf_size, "btf", `raw BTF, ${a.btf_size} bytes`);
        add(c.attr, c.size, "btf_load_attr", `BPF_BTF_LOAD attr (${c.size} bytes)`);
        break;
      }
      case BpfCmd.MAP_CREATE: {
        const a = decode(MapCreateAttr, attrBytes);
        const name = fromCString(a.map_name);
        maps.push({
          name,
          type: a.map_type,
          key_size: a.key_size,
          value_size: a.value_size,
          max_entries: a.max_entries,
          flags: a.map_flags,
        });
        add(
          c.attr,
          c.size,
          "map_create_attr",
          `BPF_MAP_CREATE '${name}' type ${a.map_type} key ${a.key_size} value ${a.value_size} max_entries ${a.max_entries} flags 0x${a.map_flags.toString(16)}`,
        );
        break;
      }
      case BpfCmd.MAP_UPDATE_ELEM: {
        const fdFrom = copies.get(c.attr);
        const idx = fdFrom !== undefined && fdFrom < FD_ARRAY_BYTES ? fdFrom / 4 : -1;
        const m = maps[idx];
        const key = pointers.get(c.attr + 8);
        const value = pointers.get(c.attr + 16);
        const who = m ? `'${m.name}'` : `map #${idx}`;
        if (key !== undefined) add(key, m?.key_size ?? 4, "map_key", `key of the update of ${who}`);
        if (value !== undefined && m)
          add(value, m.value_size, "map_value", `initial value of ${who}, ${m.value_size} bytes`);
        add(c.attr, c.size, "map_update_attr", `BPF_MAP_UPDATE_ELEM attr for ${who}`);
        break;
      }
      case BpfCmd.MAP_FREEZE: {
        const fdFrom = copies.get(c.attr);
        const m = fdFrom !== undefined ? maps[fdFrom / 4] : undefined;
        add(c.attr, 8, "map_freeze_attr", `BPF_MAP_FREEZE attr for ${m ? `'${m.name}'` : "a map"}`);
        break;
      }
      case BpfCmd.PROG_LOAD: {
        const a = decode(ProgLoadAttr, attrBytes);
        const name = fromCString(a.prog_name);
        const insnsOff = ptr(c.attr, ProgLoadAttr.insns);
        const licOff = ptr(c.attr, ProgLoadAttr.license);
        const license = cstrAt(licOff);
        progs.push({
          name,
          type: a.prog_type,
          insn_cnt: a.insn_cnt,
          insnsOffset: insnsOff ?? null,
          license,
        });
        if (licOff !== undefined)
          add(licOff, license.length + 1, "license", `license "${license}" of '${name}'`);
        if (insnsOff !== undefined)
          add(
            insnsOff,
            a.insn_cnt * 8,
            "prog_insns",
            `instructions of '${name}', ${a.insn_cnt} insns`,
          );
        // The record arrays the attr points at: [field, count, record size, kind].
        const arrays = [
          [ProgLoadAttr.func_info, a.func_info_cnt, a.func_info_rec_size, "func_info"],
          [ProgLoadAttr.line_info, a.line_info_cnt, a.line_info_rec_size, "line_info"],
          [ProgLoadAttr.core_relos, a.core_relo_cnt, 16, "core_relos"],
        ] as const;
        for (const [field, cnt, recSize, kind] of arrays) {
          const at = ptr(c.attr, field);
          if (at !== undefined && cnt)
            add(at, cnt * recSize, kind, `${kind} of '${name}', ${cnt} records`);
        }
        add(
          c.attr,
          c.size,
          "prog_load_attr",
          `BPF_PROG_LOAD attr for '${name}' type ${a.prog_type}, ${a.insn_cnt} insns`,
        );
        break;
      }
    }
  }
  regions.sort((a, b) => a.offset - b.offset || b.size - a.size);
  // Fill what no instruction references (alignment padding, debug strings, ksym names).
  const out: MetadataRegion[] = [];
  const gap = (offset: number, end: number) => {
    if (end <= offset) return;
    const zero = end - offset < 8 && slice(offset, end - offset).every((b) => b === 0);
    out.push(
      zero
        ? { offset, size: end - offset, kind: "padding", detail: "zero padding to 8 bytes" }
        : {
            offset,
            size: end - offset,
            kind: "unreferenced",
            detail: "not referenced by a syscall record",
          },
    );
  };
  let at = 0;
  for (const r of regions) {
    gap(at, r.offset);
    out.push(r);
    at = Math.max(at, r.offset + r.size);
  }
  gap(at, data.length);
  return { syscalls, regions: out, maps, progs };
}
