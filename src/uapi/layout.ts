/**
 * Byte layouts of UAPI structs as tables of fields, and a codec over them. Field names are the
 * kernel's. Offsets are x86_64 (checked against the running kernel's BTF).
 */

export type FieldKind = "u8" | "u32" | "s32" | "u64" | "bytes";

export interface Field {
  readonly off: number;
  readonly kind: FieldKind;
  /** Length of a "bytes" field. */
  readonly len?: number;
}

export type Layout = Readonly<Record<string, Field>>;

type ValueOf<F extends Field> = F["kind"] extends "u64"
  ? bigint
  : F["kind"] extends "bytes"
    ? Uint8Array
    : number;

/** The decoded values of a layout, one property per field. */
export type Values<L extends Layout> = { [K in keyof L]: ValueOf<L[K]> };

const u32 = (off: number) => ({ off, kind: "u32" }) as const;
const s32 = (off: number) => ({ off, kind: "s32" }) as const;
const u64 = (off: number) => ({ off, kind: "u64" }) as const;
const bytes = (off: number, len: number) => ({ off, kind: "bytes", len }) as const;

function fieldEnd(f: Field): number {
  switch (f.kind) {
    case "u8":
      return f.off + 1;
    case "u32":
    case "s32":
      return f.off + 4;
    case "u64":
      return f.off + 8;
    case "bytes":
      return f.off + (f.len ?? 0);
  }
}

/** offsetofend() of a field. */
export function offsetofend<L extends Layout>(layout: L, field: keyof L & string): number {
  return fieldEnd(layout[field]);
}

/** Reads a field; bytes past the end of `buf` read as zero (a short attr is zero-extended). */
export function readField(buf: Uint8Array, f: Field): number | bigint | Uint8Array {
  const end = fieldEnd(f);
  let src = buf;
  if (end > buf.length) {
    src = new Uint8Array(end);
    src.set(buf.subarray(0, Math.min(buf.length, end)));
  }
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (f.kind) {
    case "u8":
      return dv.getUint8(f.off);
    case "u32":
      return dv.getUint32(f.off, true);
    case "s32":
      return dv.getInt32(f.off, true);
    case "u64":
      return dv.getBigUint64(f.off, true);
    case "bytes":
      return src.slice(f.off, end);
  }
}

/** Little-endian stores by byte: no DataView, so a small (on-heap) buffer never has its
 * ArrayBuffer materialised, which costs more than the whole encode. */
function put32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v;
  buf[off + 1] = v >>> 8;
  buf[off + 2] = v >>> 16;
  buf[off + 3] = v >>> 24;
}

export function writeField(buf: Uint8Array, f: Field, value: number | bigint | Uint8Array): void {
  switch (f.kind) {
    case "u8":
      buf[f.off] = Number(value);
      return;
    case "u32":
    case "s32":
      put32(buf, f.off, Number(value));
      return;
    case "u64": {
      const n = Number(value);
      if (n >= 0 && Number.isSafeInteger(n)) {
        put32(buf, f.off, n >>> 0);
        put32(buf, f.off + 4, Math.floor(n / 0x100000000));
      } else {
        const v = BigInt.asUintN(64, BigInt(value as number | bigint));
        put32(buf, f.off, Number(v & 0xffffffffn));
        put32(buf, f.off + 4, Number(v >> 32n));
      }
      return;
    }
    case "bytes": {
      const v = value as Uint8Array;
      const len = f.len ?? 0;
      buf.fill(0, f.off, f.off + len);
      buf.set(v.subarray(0, len), f.off);
      return;
    }
  }
}

/** The end of a layout's last field: the bytes a decode reads. */
function layoutEnd(layout: Layout): number {
  let end = 0;
  for (const name in layout) end = Math.max(end, fieldEnd(layout[name]));
  return end;
}

type Decoder = (buf: Uint8Array) => Record<string, unknown>;
const decoders = new WeakMap<Layout, Decoder>();

/**
 * A decoder for one layout, made once: straight-line reads at constant offsets into one object
 * literal (a stable shape, no per-field dispatch), about eight times faster than walking the
 * field table. Field names are emitted as JSON strings and offsets as integers, so the source is
 * made only of values this module checked.
 */
function decoderOf(layout: Layout): Decoder {
  let d = decoders.get(layout);
  if (d) return d;
  const end = layoutEnd(layout);
  const props: string[] = [];
  for (const name in layout) {
    const f = layout[name];
    if (!Number.isSafeInteger(f.off) || f.off < 0)
      throw new RangeError(`field ${name}: bad offset`);
    const at = f.off;
    const read =
      f.kind === "u8"
        ? `b[${at}]`
        : f.kind === "u32"
          ? `v.getUint32(${at}, true)`
          : f.kind === "s32"
            ? `v.getInt32(${at}, true)`
            : f.kind === "u64"
              ? `v.getBigUint64(${at}, true)`
              : `b.slice(${at}, ${fieldEnd(f)})`;
    props.push(`${JSON.stringify(name)}: ${read}`);
  }
  const body = [
    // a short attr is zero-extended: decode a zeroed copy of the layout's size
    `if (b.length < ${end}) { const z = new Uint8Array(${end}); z.set(b); b = z; }`,
    "const v = new DataView(b.buffer, b.byteOffset, b.byteLength);",
    `return { ${props.join(", ")} };`,
  ].join("\n");
  d = new Function("b", body) as Decoder;
  decoders.set(layout, d);
  return d;
}

/** Decodes every field of `layout` from `buf` (missing tail bytes read as zero). */
export function decode<L extends Layout>(layout: L, buf: Uint8Array): Values<L> {
  return decoderOf(layout)(buf) as Values<L>;
}

/**
 * The 32 bytes of a BPF_MAP_*_ELEM attr (map_fd, key, value, flags): what `encode(MapElemAttr,
 * …, 32)` makes, without the generic field walk (the per-lookup path of a map reader).
 */
export function mapElemAttr(map_fd: number, key: bigint, value: bigint, flags = 0n): Uint8Array {
  const buf = new Uint8Array(32);
  writeField(buf, MapElemAttr.map_fd, map_fd);
  writeField(buf, MapElemAttr.key, key);
  writeField(buf, MapElemAttr.value, value);
  if (flags) writeField(buf, MapElemAttr.flags, flags);
  return buf;
}

/** Encodes the given fields into a zeroed buffer of `size` bytes. */
export function encode<L extends Layout>(
  layout: L,
  values: Partial<Values<L>>,
  size: number,
): Uint8Array {
  const buf = new Uint8Array(size);
  for (const name in values) {
    const v = values[name];
    if (v === undefined) continue;
    const f = layout[name];
    if (!f) throw new TypeError(`no field ${name} in layout`);
    if (fieldEnd(f) > size) throw new RangeError(`field ${name} ends past ${size} bytes`);
    writeField(buf, f, v as number | bigint | Uint8Array);
  }
  return buf;
}

/** One UTF-8 codec each for the whole process (making one per call costs more than using it). */
export const UTF8_ENCODER = new TextEncoder();
export const UTF8_DECODER = new TextDecoder();

/** A C string field (prog_name, map_name) as bytes, NUL-padded to `len`. */
export function cString(s: string, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(UTF8_ENCODER.encode(s).subarray(0, len));
  return out;
}

/**
 * A fixed `char[len]` field filled the way libbpf_strlcpy() fills it (prog_name, map_name): at
 * most `len - 1` bytes of `s`, NUL-terminated and NUL-padded to `len`.
 */
export function strlcpyBytes(s: string, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(UTF8_ENCODER.encode(s).subarray(0, len - 1));
  return out;
}

/** The text of a NUL-terminated byte field. */
export function fromCString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return UTF8_DECODER.decode(nul < 0 ? b : b.subarray(0, nul));
}

// ---- union bpf_attr members ----

export const MapCreateAttr = {
  map_type: u32(0),
  key_size: u32(4),
  value_size: u32(8),
  max_entries: u32(12),
  map_flags: u32(16),
  inner_map_fd: u32(20),
  numa_node: u32(24),
  map_name: bytes(28, 16),
  map_ifindex: u32(44),
  btf_fd: u32(48),
  btf_key_type_id: u32(52),
  btf_value_type_id: u32(56),
  btf_vmlinux_value_type_id: u32(60),
  map_extra: u64(64),
  value_type_btf_obj_fd: s32(72),
  map_token_fd: s32(76),
  excl_prog_hash: u64(80),
  excl_prog_hash_size: u32(88),
} as const satisfies Layout;

export const MapElemAttr = {
  map_fd: u32(0),
  key: u64(8),
  value: u64(16),
  flags: u64(24),
} as const satisfies Layout;
/** BPF_MAP_GET_NEXT_KEY names the third field next_key. */
export const MapNextKeyAttr = {
  map_fd: u32(0),
  key: u64(8),
  next_key: u64(16),
} as const satisfies Layout;

export const MapFreezeAttr = { map_fd: u32(0) } as const satisfies Layout;

export const ProgLoadAttr = {
  prog_type: u32(0),
  insn_cnt: u32(4),
  insns: u64(8),
  license: u64(16),
  log_level: u32(24),
  log_size: u32(28),
  log_buf: u64(32),
  kern_version: u32(40),
  prog_flags: u32(44),
  prog_name: bytes(48, 16),
  prog_ifindex: u32(64),
  expected_attach_type: u32(68),
  prog_btf_fd: u32(72),
  func_info_rec_size: u32(76),
  func_info: u64(80),
  func_info_cnt: u32(88),
  line_info_rec_size: u32(92),
  line_info: u64(96),
  line_info_cnt: u32(104),
  attach_btf_id: u32(108),
  attach_prog_fd: u32(112),
  core_relo_cnt: u32(116),
  fd_array: u64(120),
  core_relos: u64(128),
  core_relo_rec_size: u32(136),
  log_true_size: u32(140),
  prog_token_fd: s32(144),
  fd_array_cnt: u32(148),
  signature: u64(152),
  signature_size: u32(160),
  keyring_id: s32(164),
} as const satisfies Layout;

/** BPF_RAW_TRACEPOINT_OPEN's raw_tracepoint struct. */
export const RawTracepointOpenAttr = {
  name: u64(0),
  prog_fd: u32(8),
  cookie: u64(16),
} as const satisfies Layout;

/** BPF_LINK_CREATE's common head. */
export const LinkCreateAttr = {
  prog_fd: u32(0),
  target_fd: u32(4),
  attach_type: u32(8),
  flags: u32(12),
} as const satisfies Layout;

export const TestRunAttr = {
  prog_fd: u32(0),
  retval: u32(4),
  data_size_in: u32(8),
  data_size_out: u32(12),
  data_in: u64(16),
  data_out: u64(24),
  repeat: u32(32),
  duration: u32(36),
  ctx_size_in: u32(40),
  ctx_size_out: u32(44),
  ctx_in: u64(48),
  ctx_out: u64(56),
  flags: u32(64),
  cpu: u32(68),
  batch_size: u32(72),
} as const satisfies Layout;

export const GetIdAttr = {
  id: u32(0),
  next_id: u32(4),
  open_flags: u32(8),
  fd_by_id_token_fd: s32(12),
} as const satisfies Layout;

export const InfoAttr = {
  bpf_fd: u32(0),
  info_len: u32(4),
  info: u64(8),
} as const satisfies Layout;

export const BtfLoadAttr = {
  btf: u64(0),
  btf_log_buf: u64(8),
  btf_size: u32(16),
  btf_log_size: u32(20),
  btf_log_level: u32(24),
  btf_log_true_size: u32(28),
  btf_flags: u32(32),
  btf_token_fd: s32(36),
} as const satisfies Layout;

// ---- info structs ----

export const MapInfo = {
  type: u32(0),
  id: u32(4),
  key_size: u32(8),
  value_size: u32(12),
  max_entries: u32(16),
  map_flags: u32(20),
  name: bytes(24, 16),
  ifindex: u32(40),
  btf_vmlinux_value_type_id: u32(44),
  netns_dev: u64(48),
  netns_ino: u64(56),
  btf_id: u32(64),
  btf_key_type_id: u32(68),
  btf_value_type_id: u32(72),
  btf_vmlinux_id: u32(76),
  map_extra: u64(80),
  hash: u64(88),
  hash_size: u32(96),
} as const satisfies Layout;
export const MAP_INFO_SIZE = 104;

export const ProgInfo = {
  type: u32(0),
  id: u32(4),
  tag: bytes(8, 8),
  jited_prog_len: u32(16),
  xlated_prog_len: u32(20),
  jited_prog_insns: u64(24),
  xlated_prog_insns: u64(32),
  load_time: u64(40),
  created_by_uid: u32(48),
  nr_map_ids: u32(52),
  map_ids: u64(56),
  name: bytes(64, 16),
  ifindex: u32(80),
  /** Bit 0 is gpl_compatible. */
  flags: u32(84),
  netns_dev: u64(88),
  netns_ino: u64(96),
  nr_jited_ksyms: u32(104),
  nr_jited_func_lens: u32(108),
  jited_ksyms: u64(112),
  jited_func_lens: u64(120),
  btf_id: u32(128),
  func_info_rec_size: u32(132),
  func_info: u64(136),
  nr_func_info: u32(144),
  nr_line_info: u32(148),
  line_info: u64(152),
  jited_line_info: u64(160),
  nr_jited_line_info: u32(168),
  line_info_rec_size: u32(172),
  jited_line_info_rec_size: u32(176),
  nr_prog_tags: u32(180),
  prog_tags: u64(184),
  run_time_ns: u64(192),
  run_cnt: u64(200),
  recursion_misses: u64(208),
  verified_insns: u32(216),
  attach_btf_obj_id: u32(220),
  attach_btf_id: u32(224),
} as const satisfies Layout;
export const PROG_INFO_SIZE = 232;

/** struct bpf_btf_info */
export const BtfInfo = {
  btf: u64(0),
  btf_size: u32(8),
  id: u32(12),
  name: u64(16),
  name_len: u32(24),
  kernel_btf: u32(28),
} as const satisfies Layout;
export const BTF_INFO_SIZE = 32;

/**
 * The last field of each command's attr (CMD_LAST_FIELD): bytes after its end, up to
 * sizeof(union bpf_attr), must be zero or the command fails with EINVAL.
 */
export const LAST_FIELD_END: Readonly<Record<number, number>> = {
  0: offsetofend(MapCreateAttr, "excl_prog_hash_size"),
  1: offsetofend(MapElemAttr, "flags"),
  2: offsetofend(MapElemAttr, "flags"),
  3: offsetofend(MapElemAttr, "flags"),
  4: offsetofend(MapNextKeyAttr, "next_key"),
  5: offsetofend(ProgLoadAttr, "keyring_id"),
  10: offsetofend(TestRunAttr, "batch_size"),
  13: 4,
  14: offsetofend(GetIdAttr, "fd_by_id_token_fd"),
  15: offsetofend(InfoAttr, "info"),
  18: offsetofend(BtfLoadAttr, "btf_token_fd"),
  19: offsetofend(GetIdAttr, "fd_by_id_token_fd"),
  21: offsetofend(MapElemAttr, "flags"),
  22: offsetofend(MapFreezeAttr, "map_fd"),
};
