/**
 * The model kernel's vmlinux BTF: a small, valid BTF blob with the types that light-skeleton
 * loaders and the tests look up with bpf_btf_find_by_name_kind (program contexts, tasks, the
 * LSM hook of BPF_PROG_LOAD, a raw tracepoint typedef). Anything else is ENOENT.
 */
import { Btf, BtfKind, parseBtf } from "../kernel/btf.js";
import { VerifierLog } from "../kernel/log.js";

interface TypeSpec {
  readonly name: string;
  readonly kind: number;
  /** size for INT/STRUCT, the referenced type id for PTR/TYPEDEF/FUNC */
  readonly sizeOrType: number;
}

/** Types in id order (id = index + 1). */
const TYPES: readonly TypeSpec[] = [
  { name: "int", kind: BtfKind.INT, sizeOrType: 4 },
  { name: "unsigned int", kind: BtfKind.INT, sizeOrType: 4 },
  { name: "long long unsigned int", kind: BtfKind.INT, sizeOrType: 8 },
  { name: "task_struct", kind: BtfKind.STRUCT, sizeOrType: 9792 },
  { name: "sk_buff", kind: BtfKind.STRUCT, sizeOrType: 232 },
  { name: "__sk_buff", kind: BtfKind.STRUCT, sizeOrType: 192 },
  { name: "bpf_prog", kind: BtfKind.STRUCT, sizeOrType: 112 },
  { name: "bpf_map", kind: BtfKind.STRUCT, sizeOrType: 256 },
  { name: "", kind: BtfKind.FUNC_PROTO, sizeOrType: 1 },
  { name: "bpf_lsm_bpf_prog_load", kind: BtfKind.FUNC, sizeOrType: 9 },
  { name: "bpf_lsm_bpf", kind: BtfKind.FUNC, sizeOrType: 9 },
  { name: "bpf_fentry_test1", kind: BtfKind.FUNC, sizeOrType: 9 },
  { name: "btf_trace_sys_enter", kind: BtfKind.TYPEDEF, sizeOrType: 1 },
  { name: "bpf_iter_task", kind: BtfKind.FUNC, sizeOrType: 9 },
];

function encode(): Uint8Array {
  const strs: number[] = [0];
  const nameOff = new Map<string, number>([["", 0]]);
  for (const t of TYPES) {
    if (nameOff.has(t.name)) continue;
    nameOff.set(t.name, strs.length);
    for (const c of new TextEncoder().encode(t.name)) strs.push(c);
    strs.push(0);
  }
  const typeBytes: number[] = [];
  const u32 = (v: number) => {
    typeBytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  };
  for (const t of TYPES) {
    u32(nameOff.get(t.name) ?? 0);
    u32(t.kind << 24);
    u32(t.sizeOrType);
    if (t.kind === BtfKind.INT) u32(t.sizeOrType * 8); // encoding 0, offset 0, bits
  }
  const hdr = new Uint8Array(24);
  const dv = new DataView(hdr.buffer);
  dv.setUint16(0, 0xeb9f, true);
  hdr[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeBytes.length, true);
  dv.setUint32(16, typeBytes.length, true);
  dv.setUint32(20, strs.length, true);
  return new Uint8Array([...hdr, ...typeBytes, ...strs]);
}

let cached: Btf | null = null;

/** The vmlinux BTF object (parsed with the kernel's own BTF parser). */
export function vmlinuxBtf(): Btf {
  if (cached) return cached;
  const parsed = parseBtf(encode(), VerifierLog.none());
  if (typeof parsed === "number") throw new Error(`model vmlinux BTF does not parse (${parsed})`);
  cached = new Btf(parsed.data, parsed.types, true, "vmlinux");
  return cached;
}
