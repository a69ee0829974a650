/**
 * Helper functions of the model kernel, run by the interpreter against the kernel objects:
 * map access, time and randomness, bpf_trace_printk, skb loads, kernel and user memory reads,
 * and the SYSCALL program helpers (bpf_sys_bpf, bpf_sys_close, bpf_btf_find_by_name_kind,
 * bpf_kallsyms_lookup_name). Which program type may call which is the verifier's business
 * (src/kernel/helpers.ts); this table implements every id listed there.
 */

import { BTF_KIND } from "../btf/btf.js";
import { bpfLoaderVerifyMetadata } from "../kernel/kfunc_verify.js";
import { type BpfMap, RINGBUF_DATA } from "../kernel/map.js";
import type { BpfProg } from "../kernel/prog.js";
import type { KernelState } from "../kernel/state.js";
import { sysBpf } from "../kernel/syscall.js";
import type { Task } from "../kernel/task.js";
import { mapKernelAddress } from "../kernel/verifier.js";
import { COMMON_KFUNCS } from "../kernel/verifier_btf_prog.js";
import { modelVmlinuxBtf, profileVmlinuxBtf } from "../kernel/vmlinux_btf.js";
import { KFUNC_BTF_ID } from "../scheme/kfunc.js";
import type { InnerFailure } from "../uapi/backend.js";
import { BpfCmd, Helper as H, Limits, MapType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import { UTF8_DECODER, UTF8_ENCODER } from "../uapi/layout.js";
import { VmError } from "./errors.js";
import { KALLSYMS } from "./kallsyms.js";
import { KernelObjects } from "./kernel_objects.js";
import type { Helper, Machine } from "./machine.js";
import { TASK_SIZE } from "./memory.js";
import { formatTracePrintk } from "./printk.js";

/** What helpers see of the running program. */
export interface ProgEnv {
  readonly kernel: KernelState;
  /** The process whose bpf() call runs the program (fds, user memory, credentials). */
  readonly proc: Task;
  readonly prog: BpfProg;
  /** skb programs: the packet from skb->data on (what bpf_skb_load_bytes reads). */
  readonly skbData: Uint8Array | null;
  /** The kernel objects mapped for this run (tracing and LSM programs), created on demand. */
  objects?: KernelObjects;
}

type M = Machine<ProgEnv>;

/** Commands bpf_sys_bpf passes on; everything else is -EINVAL. */
export const SYS_BPF_CMDS: ReadonlySet<number> = new Set([
  BpfCmd.MAP_CREATE,
  BpfCmd.MAP_DELETE_ELEM,
  BpfCmd.MAP_UPDATE_ELEM,
  BpfCmd.MAP_FREEZE,
  BpfCmd.MAP_GET_FD_BY_ID,
  BpfCmd.PROG_LOAD,
  BpfCmd.BTF_LOAD,
  BpfCmd.LINK_CREATE,
  BpfCmd.RAW_TRACEPOINT_OPEN,
]);

const u32 = (m: M, i: number) => m.lo[i] >>> 0;
const s32 = (m: M, i: number) => m.lo[i];

/** Bytes of program memory a helper argument points at; a fault when they are not mapped. */
function mem(m: M, addr: bigint, len: number, write = false): Uint8Array {
  if (len === 0) return new Uint8Array(0);
  const at = m.memory.resolve(addr, len);
  if (!at || (write && !at.region.writable)) throw m.fault(addr, len, write ? "write" : "read");
  return at.region.u8.subarray(at.off, at.off + len);
}

function cString(m: M, addr: bigint, size: number): string | number {
  const b = mem(m, addr, size);
  if (size <= 1 || b[size - 1] !== 0) return -Errno.EINVAL;
  return UTF8_DECODER.decode(b.subarray(0, b.indexOf(0)));
}

/** The map an ARG_CONST_MAP_PTR argument names (one of the program's used maps). */
function mapArg(m: M): BpfMap {
  const addr = m.reg(1);
  const map = findReachableMap(m.env.prog, addr);
  if (!map) throw new VmError(m.pc, `r1 = 0x${addr.toString(16)} is not a map the program uses`);
  return map;
}

/** The program's maps and the maps inside its map-in-map maps. */
export function reachableMaps(prog: BpfProg): BpfMap[] {
  const out = [...prog.aux.used_maps];
  for (const map of prog.aux.used_maps) if (map.isMapInMap) out.push(...map.inner.values());
  return out;
}

/** The first of reachableMaps(prog) at kernel address `addr` (without building that list). */
function findReachableMap(prog: BpfProg, addr: bigint): BpfMap | undefined {
  const used = prog.aux.used_maps;
  for (const map of used) if (mapKernelAddress(map) === addr) return map;
  for (const map of used) {
    if (!map.isMapInMap) continue;
    for (const inner of map.inner.values()) if (mapKernelAddress(inner) === addr) return inner;
  }
  return undefined;
}

function mapLookup(m: M): bigint {
  const map = mapArg(m);
  if (map.isMapInMap) {
    const inner = map.innerAt(mem(m, m.reg(2), map.key_size));
    return inner ? mapKernelAddress(inner) : 0n;
  }
  const value = map.valueRef(mem(m, m.reg(2), map.key_size));
  if (!value) return 0n;
  if (map.isArray) return mapKernelAddress(map) + BigInt(value.byteOffset - map.storage.byteOffset);
  return m.memory.addressOf(value) ?? m.memory.mapDynamic(`value of map ${map.name}`, value);
}

function mapUpdate(m: M): number {
  const map = mapArg(m);
  const key = mem(m, m.reg(2), map.key_size).slice();
  const value = mem(m, m.reg(3), map.value_size);
  const flags = m.reg(4);
  if (map.isPercpu) {
    // A program writes the value of the CPU it runs on (the model runs everything on CPU 0).
    if (flags > 2n) return -Errno.EINVAL;
    if (flags === 1n) return -Errno.EEXIST;
    const slot = map.valueRef(key);
    if (!slot) return -Errno.E2BIG;
    slot.set(value);
    return 0;
  }
  return map.update(key, value.slice(), flags);
}

function mapDelete(m: M): number {
  const map = mapArg(m);
  return map.delete(mem(m, m.reg(2), map.key_size));
}

function tracePrintk(m: M): number {
  const size = u32(m, 2);
  const fmt = cString(m, m.reg(1), size);
  if (typeof fmt === "number") return fmt;
  const args = [m.reg(3), m.reg(4), m.reg(5)];
  const text = formatTracePrintk(fmt, args, (addr) => m.memory.readCString(addr, 1024));
  if (typeof text === "number") return text;
  m.env.kernel.trace.push(text);
  return UTF8_ENCODER.encode(text).length;
}

function skbLoadBytes(m: M): number {
  const off = s32(m, 2);
  const len = u32(m, 4);
  const to = mem(m, m.reg(3), len, true);
  const data = m.env.skbData;
  if (!data || off < 0 || off + len > data.length) {
    to.fill(0);
    return -Errno.EFAULT;
  }
  to.set(data.subarray(off, off + len));
  return 0;
}

/** copy_from_kernel_nofault(): user addresses are refused with -ERANGE, holes fault. */
function probeReadKernel(m: M): number {
  const size = u32(m, 2);
  const dst = mem(m, m.reg(1), size, true);
  const src = m.reg(3);
  if (src < TASK_SIZE + 4096n) {
    dst.fill(0);
    return -Errno.ERANGE;
  }
  const v = m.memory.view(src, size);
  if (!v) {
    dst.fill(0);
    return -Errno.EFAULT;
  }
  dst.set(v);
  return 0;
}

/** copy_from_user_nofault() / copy_from_user(): the calling process's memory. */
function readUser(m: M): number {
  const size = u32(m, 2);
  const dst = mem(m, m.reg(1), size, true);
  const src = m.reg(3);
  const v =
    src > 0n && src + BigInt(size) <= TASK_SIZE ? m.env.proc.uaccess.read(src, size) : undefined;
  if (!v) {
    dst.fill(0);
    return -Errno.EFAULT;
  }
  dst.set(v);
  return 0;
}

/** bpf_probe_read_{kernel,user}_str: the string with its NUL, or a negative errno. */
function readStr(user: boolean) {
  return (m: M): number => {
    const size = u32(m, 2);
    const dst = mem(m, m.reg(1), size, true);
    const src = m.reg(3);
    if (size === 0) return 0;
    const okRange = user ? src > 0n && src < TASK_SIZE : src >= TASK_SIZE + 4096n;
    const bytes: number[] = [];
    for (let i = 0; okRange && i < size - 1; i++) {
      const b = user
        ? m.env.proc.uaccess.read(src + BigInt(i), 1)
        : m.memory.view(src + BigInt(i), 1);
      if (!b) {
        dst.fill(0);
        return -Errno.EFAULT;
      }
      if (b[0] === 0) break;
      bytes.push(b[0]);
    }
    if (!okRange) {
      dst.fill(0);
      return user ? -Errno.EFAULT : -Errno.ERANGE;
    }
    dst.set(bytes);
    dst[bytes.length] = 0;
    return bytes.length + 1;
  };
}

function currentComm(m: M): number {
  const size = u32(m, 2);
  const dst = mem(m, m.reg(1), size, true);
  dst.fill(0);
  const comm = UTF8_ENCODER.encode(`model-${m.env.proc.pid}`.slice(0, 15));
  dst.set(comm.subarray(0, Math.max(size - 1, 0)));
  return 0;
}

/** bpf_sys_bpf(cmd, attr, attr_size): __sys_bpf with a kernel bpfptr into program memory. */
function sysBpfHelper(m: M): number {
  const cmd = s32(m, 1);
  const size = u32(m, 3);
  const attr = mem(m, m.reg(2), size);
  if (!SYS_BPF_CMDS.has(cmd)) return -Errno.EINVAL;
  const { kernel, proc } = m.env;
  kernel.lastLoadLog = "";
  const copy = new Uint8Array(Limits.ATTR_SIZE);
  copy.set(attr.subarray(0, Math.min(size, Limits.ATTR_SIZE)));
  const r = sysBpf({ kernel, proc, uaccess: m.memory.uaccess() }, cmd, attr, size);
  if (r < 0) {
    const log = cmd === BpfCmd.PROG_LOAD ? kernel.lastLoadLog : "";
    kernel.innerFailure = { cmd, attr: copy, errno: -r, log };
  }
  return r;
}

function sysClose(m: M): number {
  return m.env.proc.close(s32(m, 1));
}

/** Records a failed lookup of a loader (a weak symbol's may be expected: the last one counts). */
function lookupFailed(m: M, lookup: InnerFailure["lookup"], ret: number): void {
  m.env.kernel.innerFailure = { cmd: -1, attr: new Uint8Array(0), errno: -ret, log: "", lookup };
}

/** bpf_btf_find_by_name_kind(name, name_sz, kind, flags): the vmlinux type id (no module BTF). */
function btfFindByNameKind(m: M): number {
  const name = cString(m, m.reg(1), s32(m, 2) < 0 ? 0 : u32(m, 2));
  if (m.reg(4) !== 0n) return -Errno.EINVAL;
  if (typeof name === "number") return name;
  const kind = u32(m, 3);
  const id = m.env.kernel.vmlinux.findByNameKind(name, kind);
  if (id < 0) lookupFailed(m, { helper: "bpf_btf_find_by_name_kind", name, kind }, id);
  return id;
}

/** bpf_kallsyms_lookup_name(name, name_sz, flags, res) */
function kallsymsLookupName(m: M): number {
  const res = mem(m, m.reg(4), 8, true);
  res.fill(0);
  if (s32(m, 3) !== 0) return -Errno.EINVAL;
  const nameSz = s32(m, 2);
  if (nameSz <= 1) return -Errno.EINVAL;
  const name = cString(m, m.reg(1), nameSz);
  if (typeof name === "number") return name;
  // bpf_dump_raw_ok(): kallsyms_show_value() needs CAP_SYSLOG; the model uses CAP_SYS_ADMIN.
  if (!m.env.proc.caps.sys_admin) return -Errno.EPERM;
  const addr = KALLSYMS.get(name);
  if (addr === undefined) {
    lookupFailed(m, { helper: "bpf_kallsyms_lookup_name", name }, -Errno.ENOENT);
    return -Errno.ENOENT;
  }
  new DataView(res.buffer, res.byteOffset, 8).setBigUint64(0, addr, true);
  return 0;
}

/** The RINGBUF map whose data area holds `addr`, and the storage offset. */
function ringbufOf(m: M, addr: bigint): { map: BpfMap; off: number } {
  for (const map of m.env.prog.aux.used_maps) {
    if (map.map_type !== MapType.RINGBUF) continue;
    const off = Number(addr - mapKernelAddress(map));
    if (off >= RINGBUF_DATA && off < map.storage.length) return { map, off };
  }
  throw new VmError(m.pc, `0x${addr.toString(16)} is not a reserved ring buffer record`);
}

function ringbufReserve(m: M): bigint {
  const map = mapArg(m);
  if (map.map_type !== MapType.RINGBUF || m.reg(3) !== 0n) return 0n;
  const off = map.ringbufReserve(u32(m, 2));
  return off < 0 ? 0n : mapKernelAddress(map) + BigInt(off);
}

function ringbufCommit(discard: boolean) {
  return (m: M): number => {
    const { map, off } = ringbufOf(m, m.reg(1));
    if (!map.ringbufCommit(off, discard))
      throw new VmError(m.pc, "ring buffer record submitted or discarded twice");
    return 0;
  };
}

function ringbufOutput(m: M): number {
  const map = mapArg(m);
  const size = u32(m, 3);
  const data = mem(m, m.reg(2), size);
  if (map.map_type !== MapType.RINGBUF || m.reg(4) & ~3n) return -Errno.EINVAL;
  const off = map.ringbufReserve(size);
  if (off < 0) return -Errno.EAGAIN;
  map.storage.set(data, off);
  map.ringbufCommit(off, false);
  return 0;
}

function ringbufQuery(m: M): bigint {
  const map = mapArg(m);
  switch (m.reg(2)) {
    case 0n:
      return BigInt(map.ringbufProducerPos - map.ringbufConsumerPos);
    case 1n:
      return BigInt(map.max_entries);
    case 2n:
      return BigInt(map.ringbufConsumerPos);
    case 3n:
      return BigInt(map.ringbufProducerPos);
    default:
      return 0n;
  }
}

function objects(m: M): KernelObjects {
  m.env.objects ??= new KernelObjects(profileVmlinuxBtf(m.env.kernel.profile), m.memory);
  return m.env.objects;
}

/** Helper implementations by id. */
export const HELPERS: ReadonlyMap<number, Helper<ProgEnv>> = new Map<number, Helper<ProgEnv>>([
  [H.map_lookup_elem, mapLookup],
  [H.map_update_elem, mapUpdate],
  [H.map_delete_elem, mapDelete],
  [H.ktime_get_ns, (m) => m.env.kernel.boottimeNs()],
  [H.trace_printk, tracePrintk],
  [H.get_prandom_u32, () => (Math.random() * 0x100000000) >>> 0],
  [H.get_smp_processor_id, () => 0],
  [26, skbLoadBytes],
  [42, () => 0],
  [125, (m) => m.env.kernel.boottimeNs()],
  [H.get_current_pid_tgid, (m) => (BigInt(m.env.proc.pid) << 32n) | BigInt(m.env.proc.pid)],
  [H.get_current_uid_gid, () => 0],
  [H.get_current_comm, currentComm],
  [112, readUser],
  [H.probe_read_kernel, probeReadKernel],
  [114, readStr(true)],
  [H.probe_read_kernel_str, readStr(false)],
  [H.copy_from_user, readUser],
  [H.sys_bpf, sysBpfHelper],
  [H.btf_find_by_name_kind, btfFindByNameKind],
  [H.sys_close, sysClose],
  [H.kallsyms_lookup_name, kallsymsLookupName],
  [130, ringbufOutput],
  [131, ringbufReserve],
  [132, ringbufCommit(false)],
  [133, ringbufCommit(true)],
  [134, ringbufQuery],
  [35, (m) => objects(m).task(m.env.proc)],
  // bpf_seq_write(seq, data, len): iterators are not run by the model; nothing is written
  [
    127,
    (m) => {
      mem(m, m.reg(2), u32(m, 3));
      return 0;
    },
  ],
  // bpf_perf_event_output: the model opens no perf events, so every slot is empty
  [25, (m) => (mapArg(m).map_type === MapType.PERF_EVENT_ARRAY ? -Errno.ENOENT : -Errno.EINVAL)],
  // bpf_per_cpu_ptr(ptr, cpu) / bpf_this_cpu_ptr(ptr): the model runs everything on CPU 0
  [153, (m) => (m.reg(2) === 0n ? m.reg(1) : 0n)],
  [154, (m) => m.reg(1)],
  [158, (m) => objects(m).task(m.env.proc)],
]);

let kfuncTable: ReadonlyMap<number, Helper<ProgEnv>> | undefined;

/**
 * kfuncs by BTF id. The verifier lets a program call one only when the profile offers it
 * (scheme_hooks.ts); this table is what the interpreter runs: bpf_loader_verify_metadata(map,
 * hash, hash_size) of the kfunc scheme.
 */
export function kfuncs(): ReadonlyMap<number, Helper<ProgEnv>> {
  // built at the first program run, not at import (the ids come from the model's vmlinux BTF)
  kfuncTable ??= new Map<number, Helper<ProgEnv>>([
    // the common kfuncs of the model's vmlinux BTF (the same ids in every variant)
    ...COMMON_KFUNCS.map(
      (name) =>
        [modelVmlinuxBtf().findByName(name, BTF_KIND.FUNC), () => 0] as [number, Helper<ProgEnv>],
    ),
    [
      KFUNC_BTF_ID,
      (m) =>
        bpfLoaderVerifyMetadata(m.env.kernel, m.env.prog, mapArg(m), mem(m, m.reg(2), u32(m, 3))),
    ],
  ]);
  return kfuncTable;
}
