/** Numbers of the BPF and keys UAPI (include/uapi/linux/bpf.h, keyctl.h) that bpfsign uses. */

export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36,
} as const;
/** BPF_PROG_RUN is the newer name of BPF_PROG_TEST_RUN. */
export const BPF_PROG_RUN = BpfCmd.PROG_TEST_RUN;

export const MapType = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
  INSN_ARRAY: 34,
} as const;

export const ProgType = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
  NETFILTER: 32,
} as const;

/** Name of a value in one of the enums above, for messages and disassembly. */
export function enumName(table: Record<string, number>, value: number): string {
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return String(value);
}

/** enum bpf_attach_type (include/uapi/linux/bpf.h of the libbpf the project builds on). */
export const AttachType = {
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5,
  CGROUP_DEVICE: 6,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8,
  CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  LIRC_MODE2: 16,
  FLOW_DISSECTOR: 17,
  CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19,
  CGROUP_UDP6_RECVMSG: 20,
  CGROUP_GETSOCKOPT: 21,
  CGROUP_SETSOCKOPT: 22,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
  XDP_CPUMAP: 35,
  SK_LOOKUP: 36,
  XDP: 37,
  SK_SKB_VERDICT: 38,
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  LSM_CGROUP: 43,
  STRUCT_OPS: 44,
  NETFILTER: 45,
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
  TRACE_UPROBE_MULTI: 48,
  CGROUP_UNIX_CONNECT: 49,
  CGROUP_UNIX_SENDMSG: 50,
  CGROUP_UNIX_RECVMSG: 51,
  CGROUP_UNIX_GETPEERNAME: 52,
  CGROUP_UNIX_GETSOCKNAME: 53,
  NETKIT_PRIMARY: 54,
  NETKIT_PEER: 55,
  TRACE_KPROBE_SESSION: 56,
  TRACE_UPROBE_SESSION: 57,
  TRACE_FSESSION: 58,
  TRACE_FENTRY_MULTI: 59,
  TRACE_FEXIT_MULTI: 60,
  TRACE_FSESSION_MULTI: 61,
} as const;

/** `prog_flags` of BPF_PROG_LOAD. */
export const ProgFlag = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6,
  TEST_REG_INVARIANTS: 1 << 7,
  TOKEN_FD: 1 << 16,
} as const;
export const BPF_F_SLEEPABLE = ProgFlag.SLEEPABLE;

/** `map_flags` of BPF_MAP_CREATE. */
export const MapFlag = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
  LINK: 1 << 13,
  PATH_FD: 1 << 14,
  VTYPE_BTF_OBJ_FD: 1 << 15,
  TOKEN_FD: 1 << 16,
  SEGV_ON_FAULT: 1 << 17,
  NO_USER_CONV: 1 << 18,
} as const;
export const BPF_F_RDONLY_PROG = MapFlag.RDONLY_PROG;
export const BPF_F_MMAPABLE = MapFlag.MMAPABLE;

/** `flags` of BPF_MAP_UPDATE_ELEM. */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2, F_LOCK: 4 } as const;

/** `src_reg` of an `ld_imm64` and of a call. */
export const Pseudo = {
  MAP_FD: 1,
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
  CALL: 1,
  KFUNC_CALL: 2,
} as const;

/** Helper function ids (enum bpf_func_id) that loaders and the tests use. */
export const Helper = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  probe_read: 4,
  ktime_get_ns: 5,
  trace_printk: 6,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  get_current_pid_tgid: 14,
  get_current_uid_gid: 15,
  get_current_comm: 16,
  probe_read_kernel: 113,
  probe_read_kernel_str: 115,
  copy_from_user: 148,
  sys_bpf: 166,
  btf_find_by_name_kind: 167,
  sys_close: 168,
  kallsyms_lookup_name: 179,
} as const;

/** Special keyring ids of keyctl(2) (KEY_SPEC_*). */
export const KeySpec = {
  THREAD_KEYRING: -1,
  PROCESS_KEYRING: -2,
  SESSION_KEYRING: -3,
  USER_KEYRING: -4,
  USER_SESSION_KEYRING: -5,
  GROUP_KEYRING: -6,
  REQKEY_AUTH_KEY: -7,
  REQUESTOR_KEYRING: -8,
  /** bpf-next's `.bpf` keyring. */
  BPF_KEYRING: -9,
} as const;

/** keyctl(2) operations. */
export const KeyctlOp = {
  GET_KEYRING_ID: 0,
  JOIN_SESSION_KEYRING: 1,
  UPDATE: 2,
  REVOKE: 3,
  CHOWN: 4,
  SETPERM: 5,
  DESCRIBE: 6,
  CLEAR: 7,
  LINK: 8,
  UNLINK: 9,
  SEARCH: 10,
  READ: 11,
  SET_TIMEOUT: 15,
  INVALIDATE: 21,
} as const;

/** System keyring selectors that `keyring_id` 0, 1 and 2 stand for (certs/system_keyring.c). */
export const VERIFY_USE_BUILTIN_KEYRING = 0;
export const VERIFY_USE_SECONDARY_KEYRING = 1;
export const VERIFY_USE_PLATFORM_KEYRING = 2;

/** enum bpf_sig_verdict of the series. */
export const SigVerdict = { UNSIGNED: 0, VERIFIED: 1 } as const;
/** enum bpf_sig_keyring of the series. */
export const SigKeyring = { NONE: 0, BUILTIN: 1, SECONDARY: 2, PLATFORM: 3, USER: 4 } as const;

/** Kernel limits that the load path enforces. */
export const Limits = {
  /** sizeof(union bpf_attr) */
  ATTR_SIZE: 168,
  PAGE_SIZE: 4096,
  /** KMALLOC_MAX_CACHE_SIZE on x86_64: the signature size cap. */
  MAX_SIGNATURE_SIZE: 8192,
  /** DYNPTR_MAX_SIZE: the cap on insns || folded maps. */
  DYNPTR_MAX_SIZE: (1 << 24) - 1,
  MAX_USED_MAPS: 64,
  MAX_USED_BTFS: 64,
  BPF_MAXINSNS: 4096,
  COMPLEXITY_LIMIT_INSNS: 1_000_000,
  OBJ_NAME_LEN: 16,
  TAG_SIZE: 8,
  SHA256_DIGEST_SIZE: 32,
  LOG_MASK: 15,
  /** UINT_MAX >> 2: the largest accepted log_size. */
  LOG_SIZE_MAX: 0xffffffff >>> 2,
  /** U16_MAX: ctx_size_in limit of SYSCALL test runs. */
  SYSCALL_CTX_MAX: 0xffff,
} as const;

/** Verifier log levels. */
export const LogLevel = { LEVEL1: 1, LEVEL2: 2, STATS: 4, FIXED: 8 } as const;
