/**
 * Helper functions the model kernel offers to programs (the `get_func_proto` tables of the
 * program types), as the verifier's `check_helper_call()` consults them: an id outside
 * `enum bpf_func_id` is an invalid func, an id the program type does not offer cannot be used.
 * The model offers the helpers its interpreter implements (src/vm/helpers.ts); a real kernel
 * offers more, and those fail to load here as they would on a kernel built without them.
 */
import { ProgType } from "../uapi/constants.js";
import type { Caps } from "./types.js";

/** __BPF_FUNC_MAX_ID of Linux 6.18. */
export const BPF_FUNC_MAX_ID = 212;

/** func_id_str[] for the ids the model knows by name. */
export const HELPER_NAMES: Readonly<Record<number, string>> = {
  0: "bpf_unspec",
  1: "bpf_map_lookup_elem",
  2: "bpf_map_update_elem",
  3: "bpf_map_delete_elem",
  4: "bpf_probe_read",
  5: "bpf_ktime_get_ns",
  6: "bpf_trace_printk",
  7: "bpf_get_prandom_u32",
  8: "bpf_get_smp_processor_id",
  9: "bpf_skb_store_bytes",
  12: "bpf_tail_call",
  14: "bpf_get_current_pid_tgid",
  15: "bpf_get_current_uid_gid",
  16: "bpf_get_current_comm",
  25: "bpf_perf_event_output",
  26: "bpf_skb_load_bytes",
  35: "bpf_get_current_task",
  42: "bpf_get_numa_node_id",
  44: "bpf_xdp_adjust_head",
  112: "bpf_probe_read_user",
  113: "bpf_probe_read_kernel",
  114: "bpf_probe_read_user_str",
  115: "bpf_probe_read_kernel_str",
  125: "bpf_ktime_get_boot_ns",
  127: "bpf_seq_write",
  130: "bpf_ringbuf_output",
  131: "bpf_ringbuf_reserve",
  132: "bpf_ringbuf_submit",
  133: "bpf_ringbuf_discard",
  134: "bpf_ringbuf_query",
  153: "bpf_per_cpu_ptr",
  154: "bpf_this_cpu_ptr",
  158: "bpf_get_current_task_btf",
  148: "bpf_copy_from_user",
  166: "bpf_sys_bpf",
  167: "bpf_btf_find_by_name_kind",
  168: "bpf_sys_close",
  179: "bpf_kallsyms_lookup_name",
};

/** func_id_name(): the helper's name, "unknown" out of range (and for ids the model cannot name). */
export function helperName(id: number): string {
  if (id < 0 || id >= BPF_FUNC_MAX_ID) return "unknown";
  return HELPER_NAMES[id] ?? "unknown";
}

/** bpf_base_func_proto() as far as the model implements it. */
const BASE = [1, 2, 3, 5, 7, 8, 14, 42, 125, 130, 131, 132, 133, 134];
/** Helpers of programs that see an sk_buff. */
const SKB = [26];
/** bpf_tracing_func_proto() as far as the model implements it (copy_from_user: sleepable only). */
const TRACING = [15, 16, 25, 35, 112, 113, 114, 115, 127, 153, 154, 158];
/** syscall_prog_func_proto()'s own helpers. */
const SYSCALL = [167, 168, 179];

const SKB_TYPES = new Set<number>([
  ProgType.SOCKET_FILTER,
  ProgType.SCHED_CLS,
  ProgType.SCHED_ACT,
  ProgType.CGROUP_SKB,
]);
const TRACING_TYPES = new Set<number>([
  ProgType.KPROBE,
  ProgType.TRACEPOINT,
  ProgType.PERF_EVENT,
  ProgType.RAW_TRACEPOINT,
  ProgType.SYSCALL,
  ProgType.TRACING,
  ProgType.LSM,
]);

/**
 * env->ops->get_func_proto(func_id, prog) != NULL: whether a program of `progType` may call
 * helper `id`, given the loader's capabilities (bpf_trace_printk and bpf_sys_bpf need
 * CAP_PERFMON).
 */
export function helperAllowed(
  progType: number,
  sleepable: boolean,
  id: number,
  caps: Caps,
): boolean {
  const perfmon = caps.perfmon || caps.sys_admin;
  if (BASE.includes(id)) return true;
  if (id === 6) return perfmon;
  if (SKB_TYPES.has(progType)) return SKB.includes(id);
  if (!TRACING_TYPES.has(progType)) return false;
  if (TRACING.includes(id)) return true;
  if (id === 148) return sleepable;
  if (progType !== ProgType.SYSCALL) return false;
  if (id === 166) return perfmon;
  return SYSCALL.includes(id);
}

/** Every helper id some program type of the model may call (what the interpreter must implement). */
export const MODEL_HELPER_IDS: readonly number[] = [
  ...BASE,
  6,
  ...SKB,
  ...TRACING,
  148,
  166,
  ...SYSCALL,
];
