/**
 * The model kernel's vmlinux BTF, built with the BTF library's add functions: the kernel objects
 * a BPF program may read (struct bpf_prog, bpf_prog_aux with the series' `sig`, bpf_map,
 * union bpf_attr, bpf_token, task_struct), the enums of the signing series, the BPF LSM hooks as
 * FUNCs (`bpf_lsm_*`) and the tracing targets the corpus attaches to.
 *
 * The struct layouts are the ones the model really uses: kernel_objects.ts writes the images a
 * program reads (through its BTF-typed arguments) at the member offsets read back from this BTF,
 * so a CO-RE relocation against it resolves to where the bytes are. Struct members are laid out
 * in declaration order with natural alignment (what a C compiler would do for x86_64).
 */
import { BTF_KIND, Btf } from "../btf/btf.js";
import { MapType, ProgType, SigKeyring, SigVerdict } from "../uapi/constants.js";
import {
  BtfLoadAttr,
  GetIdAttr,
  InfoAttr,
  type Layout,
  MapCreateAttr,
  MapElemAttr,
  ProgLoadAttr,
  TestRunAttr,
} from "../uapi/layout.js";
import type { KernelProfile } from "./profile.js";

/** The commands' structs of union bpf_attr the model describes, in the kernel's order. */
const ATTR_LAYOUTS: readonly (readonly [member: string, layout: Layout])[] = [
  ["", MapCreateAttr],
  ["", MapElemAttr],
  ["", ProgLoadAttr],
  ["test", TestRunAttr],
  ["", GetIdAttr],
  ["info", InfoAttr],
  ["", BtfLoadAttr],
];

const INT_SIGNED = 1;
const INT_CHAR = 2;
const INT_BOOL = 4;

type Member = readonly [name: string, type: number];

interface Builder {
  readonly btf: Btf;
  /** A struct or union with members placed at their natural alignment; returns its id. */
  composite(kind: 4 | 5, name: string, members: readonly Member[], id?: number): number;
  array(elem: number, n: number): number;
  ptr(to: number): number;
}

function builder(btf: Btf, intId: () => number): Builder {
  const ptrs = new Map<number, number>();
  return {
    btf,
    composite(kind, name, members) {
      let off = 0;
      let align = 1;
      let size = 0;
      const placed = members.map(([n, t]) => {
        const a = btf.alignOf(t);
        const s = btf.resolveSize(t);
        align = Math.max(align, a);
        if (kind === BTF_KIND.STRUCT) {
          off = Math.ceil(off / a) * a;
          const m = { name: n, type: t, bitOffset: off * 8 };
          off += s;
          return m;
        }
        size = Math.max(size, s);
        return { name: n, type: t, bitOffset: 0 };
      });
      const total =
        kind === BTF_KIND.STRUCT ? Math.ceil(off / align) * align : Math.ceil(size / align) * align;
      return btf.addComposite(kind, name, total, placed);
    },
    array(elem, n) {
      return btf.addArray(intId(), elem, n);
    },
    ptr(to) {
      let p = ptrs.get(to);
      if (p === undefined) {
        p = btf.addRef(BTF_KIND.PTR, "", to);
        ptrs.set(to, p);
      }
      return p;
    },
  };
}

const enumValues = (prefix: string, table: Record<string, number>) =>
  Object.entries(table).map(([k, v]) => ({ name: `${prefix}${k}`, value: v }));

/** The LSM hooks of the BPF subsystem the model calls, in the order of lsm.ts. */
export const BPF_LSM_HOOKS = [
  "bpf",
  "bpf_map_create",
  "bpf_prog_load",
  "bpf_prog_load_post_integrity",
  "bpf_prog",
  "bpf_prog_free",
] as const;
export type BpfLsmHook = (typeof BPF_LSM_HOOKS)[number];

/** The hooks whose return is void (their programs' return values are ignored). */
export const VOID_LSM_HOOKS: ReadonlySet<string> = new Set(["bpf_prog_free"]);

export interface VmlinuxOptions {
  /**
   * struct bpf_prog_aux has the signing series' `sig` (every profile but mainline-6.18, whose
   * Linux 6.18 has none: a program reading it fails its CO-RE relocation there, as on the host).
   */
  readonly sig: boolean;
}

function build(opts: VmlinuxOptions): Btf {
  const btf = Btf.empty("vmlinux");
  let intT = 0;
  const b = builder(btf, () => intT);
  const int = (name: string, size: number, enc: number) => btf.addInt(name, size, enc);
  const typedef = (name: string, t: number) => btf.addRef(BTF_KIND.TYPEDEF, name, t);

  intT = int("int", 4, INT_SIGNED);
  const uint = int("unsigned int", 4, 0);
  const char = int("char", 1, INT_SIGNED | INT_CHAR);
  const uchar = int("unsigned char", 1, 0);
  const ushort = int("short unsigned int", 2, 0);
  const long = int("long", 8, INT_SIGNED);
  const ulong = int("long unsigned int", 8, 0);
  const llong = int("long long int", 8, INT_SIGNED);
  const ullong = int("long long unsigned int", 8, 0);
  const boolT = int("_Bool", 1, INT_BOOL);
  const u8 = typedef("__u8", uchar);
  const u16 = typedef("__u16", ushort);
  const s32 = typedef("__s32", intT);
  const u32 = typedef("__u32", uint);
  const u64 = typedef("__u64", ullong);
  const s64 = typedef("__s64", llong);
  const bool = typedef("bool", boolT);
  const pidT = typedef("pid_t", typedef("__kernel_pid_t", intT));
  const voidPtr = b.ptr(0);
  typedef("u8", u8);
  typedef("u16", u16);
  typedef("u32", u32);
  typedef("s32", s32);
  typedef("u64", u64);
  typedef("s64", s64);
  // the helper definitions of libbpf's bpf_helper_defs.h name these
  typedef("__be16", u16);
  typedef("__be32", u32);
  typedef("__wsum", u32);

  const verdictT = btf.addEnum("bpf_sig_verdict", 4, enumValues("BPF_SIG_", SigVerdict));
  const keyringT = btf.addEnum("bpf_sig_keyring", 4, enumValues("BPF_SIG_KEYRING_", SigKeyring));
  const progTypeT = btf.addEnum("bpf_prog_type", 4, enumValues("BPF_PROG_TYPE_", ProgType));
  const mapTypeT = btf.addEnum("bpf_map_type", 4, enumValues("BPF_MAP_TYPE_", MapType));
  // BPF_ANY / BPF_NOEXIST / BPF_EXIST and BPF_RB_* are in the same anonymous enums as in vmlinux
  btf.addEnum("", 4, [
    { name: "BPF_ANY", value: 0 },
    { name: "BPF_NOEXIST", value: 1 },
    { name: "BPF_EXIST", value: 2 },
    { name: "BPF_F_LOCK", value: 4 },
  ]);
  btf.addEnum("", 4, [
    { name: "BPF_RB_NO_WAKEUP", value: 1 },
    { name: "BPF_RB_FORCE_WAKEUP", value: 2 },
  ]);
  const comm16 = b.array(char, 16);
  const tag8 = b.array(u8, 8);

  // forward declarations so that the objects can point at each other
  const progFwd = btf.addRef(BTF_KIND.FWD, "bpf_prog", 0);
  const taskFwd = btf.addRef(BTF_KIND.FWD, "task_struct", 0);

  // the sig struct exists in both variants (type ids stay the same); only the member differs
  const sigT = b.composite(BTF_KIND.STRUCT, "", [
    ["verdict", verdictT],
    ["keyring_type", keyringT],
    ["keyring_serial", s32],
  ]);
  const auxT = b.composite(BTF_KIND.STRUCT, "bpf_prog_aux", [
    ["id", u32],
    ["verified_insns", u32],
    ["used_map_cnt", u32],
    ["max_ctx_offset", u32],
    ["attach_btf_id", u32],
    ["sleepable", bool],
    ["name", comm16],
    ["load_time", u64],
    ...(opts.sig ? [["sig", sigT] as const] : []),
    ["prog", b.ptr(progFwd)],
  ]);
  b.composite(BTF_KIND.STRUCT, "bpf_prog", [
    ["pages", u16],
    ["len", u32],
    ["type", progTypeT],
    ["expected_attach_type", u32],
    ["tag", tag8],
    ["aux", b.ptr(auxT)],
  ]);
  const mapT = b.composite(BTF_KIND.STRUCT, "bpf_map", [
    ["map_type", mapTypeT],
    ["key_size", u32],
    ["value_size", u32],
    ["max_entries", u32],
    ["map_flags", u32],
    ["id", u32],
    ["name", comm16],
    ["frozen", bool],
    ["excl", bool],
  ]);
  const tokenT = b.composite(BTF_KIND.STRUCT, "bpf_token", [
    ["allowed_cmds", u64],
    ["allowed_maps", u64],
    ["allowed_progs", u64],
    ["allowed_attachs", u64],
  ]);

  // union bpf_attr: one anonymous struct per command layout, from the uapi tables
  const fieldType = (kind: string, len?: number) =>
    kind === "u64"
      ? u64
      : kind === "s32"
        ? s32
        : kind === "u8"
          ? u8
          : kind === "bytes"
            ? b.array(char, len ?? 0)
            : u32;
  const attrStructs = ATTR_LAYOUTS.map(([, layout]) => {
    const fields = Object.entries(layout).sort((x, y) => x[1].off - y[1].off);
    const members = fields.map(([n, f]) => ({
      name: n,
      type: fieldType(f.kind, f.len),
      bitOffset: f.off * 8,
    }));
    const last = members[members.length - 1];
    const end = last.bitOffset / 8 + btf.resolveSize(last.type);
    return btf.addComposite(BTF_KIND.STRUCT, "", Math.ceil(end / 8) * 8, members);
  });
  const attrT = b.composite(
    BTF_KIND.UNION,
    "bpf_attr",
    attrStructs.map((t, i) => [ATTR_LAYOUTS[i][0], t] as const),
  );

  const taskT = b.composite(BTF_KIND.STRUCT, "task_struct", [
    ["__state", uint],
    ["flags", uint],
    ["pid", pidT],
    ["tgid", pidT],
    ["real_parent", b.ptr(taskFwd)],
    ["group_leader", b.ptr(taskFwd)],
    ["comm", comm16],
    ["start_time", u64],
  ]);
  // program contexts the earlier model already named (sizes only)
  btf.addComposite(BTF_KIND.STRUCT, "sk_buff", 232, []);
  btf.addComposite(BTF_KIND.STRUCT, "__sk_buff", 192, []);
  const ptRegs = b.composite(BTF_KIND.STRUCT, "pt_regs", [
    ["r15", ulong],
    ["r14", ulong],
    ["r13", ulong],
    ["r12", ulong],
    ["bp", ulong],
    ["bx", ulong],
    ["r11", ulong],
    ["r10", ulong],
    ["r9", ulong],
    ["r8", ulong],
    ["ax", ulong],
    ["cx", ulong],
    ["dx", ulong],
    ["si", ulong],
    ["di", ulong],
    ["orig_ax", ulong],
    ["ip", ulong],
    ["cs", ulong],
    ["flags", ulong],
    ["sp", ulong],
    ["ss", ulong],
  ]);
  // the context of raw tracepoint programs: the tracepoint's arguments
  btf.addComposite(BTF_KIND.STRUCT, "bpf_raw_tracepoint_args", 0, [
    { name: "args", type: b.array(u64, 0), bitOffset: 0 },
  ]);
  const seqFile = btf.addComposite(BTF_KIND.STRUCT, "seq_file", 0, []);
  const iterMeta = b.composite(BTF_KIND.STRUCT, "bpf_iter_meta", [
    ["seq", b.ptr(seqFile)],
    ["session_id", u64],
    ["seq_num", u64],
  ]);
  b.composite(BTF_KIND.STRUCT, "bpf_iter__task", [
    ["meta", b.ptr(iterMeta)],
    ["task", b.ptr(taskT)],
  ]);

  // the BPF LSM hooks: int bpf_lsm_NAME(args) (void for bpf_prog_free)
  const progPtr = b.ptr(btf.findByName("bpf_prog", BTF_KIND.STRUCT));
  const attrPtr = b.ptr(attrT);
  const tokenPtr = b.ptr(tokenT);
  const mapPtr = b.ptr(mapT);
  const lsmIdT = b.composite(BTF_KIND.STRUCT, "lsm_id", [
    ["name", b.ptr(btf.addRef(BTF_KIND.CONST, "", char))],
    ["id", u64],
  ]);
  const hookArgs: Record<BpfLsmHook, Member[]> = {
    bpf: [
      ["cmd", intT],
      ["attr", attrPtr],
      ["size", uint],
      ["kernel", bool],
    ],
    bpf_map_create: [
      ["map", mapPtr],
      ["attr", attrPtr],
      ["token", tokenPtr],
      ["kernel", bool],
    ],
    bpf_prog_load: [
      ["prog", progPtr],
      ["attr", attrPtr],
      ["token", tokenPtr],
      ["kernel", bool],
    ],
    bpf_prog_load_post_integrity: [
      ["prog", progPtr],
      ["attr", attrPtr],
      ["token", tokenPtr],
      ["kernel", bool],
      ["lsmid", b.ptr(btf.addRef(BTF_KIND.CONST, "", lsmIdT))],
      ["verdict", intT],
    ],
    bpf_prog: [["prog", progPtr]],
    bpf_prog_free: [["prog", progPtr]],
  };
  for (const hook of BPF_LSM_HOOKS) {
    const proto = btf.addFuncProto(
      VOID_LSM_HOOKS.has(hook) ? 0 : intT,
      hookArgs[hook].map(([name, type]) => ({ name, type })),
    );
    btf.addFunc(`bpf_lsm_${hook}`, 1, proto);
  }
  // LSM hooks the model has in its BTF but never calls (programs attach; nothing fires them)
  const fopsT = b.composite(BTF_KIND.STRUCT, "file_operations", [["owner", voidPtr]]);
  const fileT = b.composite(BTF_KIND.STRUCT, "file", [
    ["f_mode", uint],
    ["f_flags", uint],
    ["f_op", b.ptr(btf.addRef(BTF_KIND.CONST, "", fopsT))],
    ["private_data", voidPtr],
  ]);
  // the other BPF objects behind a file's private_data (bpftool's pid_iter reads their ids)
  b.composite(BTF_KIND.STRUCT, "btf", [
    ["id", u32],
    ["data_size", u32],
  ]);
  const linkTypeT = btf.addEnum(
    "bpf_link_type",
    4,
    [
      "UNSPEC",
      "RAW_TRACEPOINT",
      "TRACING",
      "CGROUP",
      "ITER",
      "NETNS",
      "XDP",
      "PERF_EVENT",
      "KPROBE_MULTI",
      "STRUCT_OPS",
      "NETFILTER",
      "TCX",
      "UPROBE_MULTI",
      "NETKIT",
      "SOCKMAP",
    ].map((n, i) => ({ name: `BPF_LINK_TYPE_${n}`, value: i })),
  );
  const linkT = b.composite(BTF_KIND.STRUCT, "bpf_link", [
    ["refcnt", s64],
    ["id", u32],
    ["type", linkTypeT],
    ["ops", voidPtr],
    ["prog", b.ptr(progFwd)],
  ]);
  b.composite(BTF_KIND.STRUCT, "bpf_perf_link", [
    ["link", linkT],
    ["perf_file", b.ptr(fileT)],
  ]);
  b.composite(BTF_KIND.STRUCT, "perf_event", [["bpf_cookie", u64]]);
  btf.addFunc(
    "bpf_lsm_file_open",
    1,
    btf.addFuncProto(intT, [{ name: "file", type: b.ptr(fileT) }]),
  );
  btf.addEnum("pid_type", 4, [
    { name: "PIDTYPE_PID", value: 0 },
    { name: "PIDTYPE_TGID", value: 1 },
    { name: "PIDTYPE_PGID", value: 2 },
    { name: "PIDTYPE_SID", value: 3 },
    { name: "PIDTYPE_MAX", value: 4 },
  ]);
  // tracing targets: fentry functions, raw tracepoints, the task iterator
  btf.addFunc("bpf_fentry_test1", 1, btf.addFuncProto(intT, [{ name: "a", type: intT }]));
  const filenameT = b.composite(BTF_KIND.STRUCT, "filename", [
    ["name", b.ptr(btf.addRef(BTF_KIND.CONST, "", char))],
  ]);
  btf.addFunc(
    "do_unlinkat",
    1,
    btf.addFuncProto(intT, [
      { name: "dfd", type: intT },
      { name: "name", type: b.ptr(filenameT) },
    ]),
  );
  const binprmT = btf.addComposite(BTF_KIND.STRUCT, "linux_binprm", 0, []);
  const execProto = btf.addFuncProto(0, [
    { name: "", type: voidPtr },
    { name: "p", type: b.ptr(taskT) },
    { name: "old_pid", type: pidT },
    { name: "bprm", type: b.ptr(binprmT) },
  ]);
  typedef("btf_trace_sched_process_exec", b.ptr(execProto));
  // kfuncs every tracing program may call, and a per-CPU variable for typed ksyms
  const voidProto = btf.addFuncProto(0, []);
  btf.addFunc("bpf_rcu_read_lock", 1, voidProto);
  btf.addFunc("bpf_rcu_read_unlock", 1, voidProto);
  const activeVar = btf.addVar("bpf_prog_active", 1, intT);
  btf.addDatasec(".data..percpu", [{ type: activeVar, offset: 0, size: 4 }]);
  const sysEnter = btf.addFuncProto(0, [
    { name: "", type: voidPtr },
    { name: "regs", type: b.ptr(ptRegs) },
    { name: "id", type: long },
  ]);
  typedef("btf_trace_sys_enter", b.ptr(sysEnter));
  btf.addFunc(
    "bpf_iter_task",
    1,
    btf.addFuncProto(intT, [
      { name: "meta", type: b.ptr(iterMeta) },
      { name: "task", type: b.ptr(taskT) },
    ]),
  );
  const fileP = b.ptr(btf.findByName("file", BTF_KIND.STRUCT));
  b.composite(BTF_KIND.STRUCT, "bpf_iter__task_file", [
    ["meta", b.ptr(iterMeta)],
    ["task", b.ptr(taskT)],
    ["fd", u32],
    ["file", fileP],
  ]);
  btf.addFunc(
    "bpf_iter_task_file",
    1,
    btf.addFuncProto(intT, [
      { name: "meta", type: b.ptr(iterMeta) },
      { name: "task", type: b.ptr(taskT) },
      { name: "fd", type: u32 },
      { name: "file", type: fileP },
    ]),
  );
  return btf;
}

const cached = new Map<boolean, Btf>();

/** The model's vmlinux BTF (built once per variant; do not modify). */
export function modelVmlinuxBtf(opts: VmlinuxOptions = { sig: true }): Btf {
  let btf = cached.get(opts.sig);
  if (!btf) {
    btf = build(opts);
    cached.set(opts.sig, btf);
  }
  return btf;
}

/** The variant a kernel profile boots with. */
export function vmlinuxOptionsFor(profile: KernelProfile): VmlinuxOptions {
  return { sig: profile.scheme !== "mainline" };
}

/** The model vmlinux BTF a kernel profile boots with (built once per variant). */
export function profileVmlinuxBtf(profile: KernelProfile): Btf {
  return modelVmlinuxBtf(vmlinuxOptionsFor(profile));
}

const offsets = new WeakMap<Btf, Map<string, number>>();

/**
 * Byte offset of `member` (a path "sig.verdict" through named and anonymous members) in a struct
 * or union of `btf`; throws when there is none. Cached per BTF.
 */
export function memberOffset(btf: Btf, structName: string, path: string): number {
  const off = findMemberOffset(btf, structName, path);
  if (off < 0) throw new Error(`vmlinux BTF: ${structName} has no ${path}`);
  return off;
}

/** memberOffset() without the throw: -1 when the struct or the member is not there. */
export function findMemberOffset(btf: Btf, structName: string, path: string): number {
  let cache = offsets.get(btf);
  if (!cache) {
    cache = new Map();
    offsets.set(btf, cache);
  }
  const key = `${structName}.${path}`;
  let off = cache.get(key);
  if (off === undefined) {
    off = findOffset(btf, structName, path);
    cache.set(key, off);
  }
  return off;
}

function findOffset(btf: Btf, structName: string, path: string): number {
  let id = btf.findByName(structName, BTF_KIND.STRUCT);
  if (id < 0) id = btf.findByName(structName, BTF_KIND.UNION);
  if (id < 0) return -1;
  let off = 0;
  for (const name of path.split(".")) {
    const found = findMember(btf, id, name);
    if (!found) return -1;
    off += found.bitOffset / 8;
    id = found.type;
  }
  return off;
}

function findMember(
  btf: Btf,
  id: number,
  name: string,
): { bitOffset: number; type: number } | undefined {
  const t = btf.skipModsAndTypedefs(id);
  if (t.kind !== BTF_KIND.STRUCT && t.kind !== BTF_KIND.UNION) return undefined;
  for (const m of t.members) {
    if (m.name === name) return { bitOffset: m.bitOffset, type: m.type };
    if (m.name === "") {
      const inner = findMember(btf, m.type, name);
      if (inner) return { bitOffset: m.bitOffset + inner.bitOffset, type: inner.type };
    }
  }
  return undefined;
}
