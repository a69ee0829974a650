/**
 * The kernel objects a BTF-typed pointer argument points at, as bytes in the interpreter's
 * memory: struct bpf_prog and its bpf_prog_aux, struct bpf_map, union bpf_attr, struct
 * task_struct. Each is written at the member offsets of the model's vmlinux BTF
 * (src/kernel/vmlinux_btf.ts), so what a program reads through a CO-RE-relocated load is the
 * model's state at the moment of the call (a snapshot, mapped read-only: the programs of these
 * types may not write kernel objects). Every object keeps one address for its lifetime, so a
 * policy may key a map by the pointer, as the design document's observer does.
 */
import { BTF_KIND, type Btf } from "../btf/btf.js";
import type { BpfMap } from "../kernel/map.js";
import type { BpfProg } from "../kernel/prog.js";
import type { Task } from "../kernel/task.js";
import { findMemberOffset } from "../kernel/vmlinux_btf.js";
import { UTF8_ENCODER } from "../uapi/layout.js";
import type { KernelMemory } from "./memory.js";

/** Where kernel objects live: one 4 KiB slot each (the direct map). */
const OBJECTS_BASE = 0xffff888100000000n;
const SLOT = 0x1000n;

const addresses = new WeakMap<object, bigint>();
let nextSlot = 0n;

/** The stable address of a kernel object (allocated on first use). */
export function objectAddress(obj: object): bigint {
  let a = addresses.get(obj);
  if (a === undefined) {
    a = OBJECTS_BASE + nextSlot * SLOT;
    nextSlot = (nextSlot + 1n) % 0xf0000n;
    addresses.set(obj, a);
  }
  return a;
}

/** A second object per owner (aux of a prog). */
const auxKeys = new WeakMap<object, object>();
function auxOf(obj: object): object {
  let k = auxKeys.get(obj);
  if (!k) {
    k = {};
    auxKeys.set(obj, k);
  }
  return k;
}

const sizes = new WeakMap<Btf, Map<string, number>>();

/** sizeof(struct NAME) (or union) in `btf`, cached. */
function sizeOf(btf: Btf, name: string): number {
  let m = sizes.get(btf);
  if (!m) {
    m = new Map();
    sizes.set(btf, m);
  }
  let n = m.get(name);
  if (n === undefined) {
    let id = btf.findByName(name, BTF_KIND.STRUCT);
    if (id < 0) id = btf.findByName(name, BTF_KIND.UNION);
    n = btf.resolveSize(id);
    m.set(name, n);
  }
  return n;
}

class Image {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  constructor(
    private readonly btf: Btf,
    private readonly struct: string,
  ) {
    this.bytes = new Uint8Array(sizeOf(btf, struct));
    this.dv = new DataView(this.bytes.buffer);
  }
  /** Writes `v` at member `path` if the BTF has it (a profile without `sig` has no sig). */
  private at(path: string): number {
    return findMemberOffset(this.btf, this.struct, path);
  }
  u8(path: string, v: number): this {
    const o = this.at(path);
    if (o >= 0) this.dv.setUint8(o, v);
    return this;
  }
  u16(path: string, v: number): this {
    const o = this.at(path);
    if (o >= 0) this.dv.setUint16(o, v, true);
    return this;
  }
  u32(path: string, v: number): this {
    const o = this.at(path);
    if (o >= 0) this.dv.setUint32(o, v >>> 0, true);
    return this;
  }
  u64(path: string, v: bigint): this {
    const o = this.at(path);
    if (o >= 0) this.dv.setBigUint64(o, BigInt.asUintN(64, v), true);
    return this;
  }
  str(path: string, s: string, max: number): this {
    const o = this.at(path);
    if (o >= 0) this.bytes.set(UTF8_ENCODER.encode(s).subarray(0, max - 1), o);
    return this;
  }
  raw(path: string, b: Uint8Array): this {
    const o = this.at(path);
    if (o >= 0) this.bytes.set(b, o);
    return this;
  }
}

/** Maps images of the kernel objects into one run's memory, each once. */
export class KernelObjects {
  private readonly mapped = new Set<bigint>();
  constructor(
    private readonly btf: Btf,
    private readonly memory: KernelMemory,
  ) {}

  /** Maps the image `build` makes at `key`'s address, built only when not mapped yet. */
  private place(key: object, name: string, build: () => Uint8Array): bigint {
    const addr = objectAddress(key);
    if (!this.mapped.has(addr)) {
      this.memory.map(name, addr, build(), false);
      this.mapped.add(addr);
    }
    return addr;
  }

  /** struct bpf_prog and its aux. */
  prog(prog: BpfProg): bigint {
    const a = prog.aux;
    const progAddr = objectAddress(prog);
    const auxAddr = this.place(
      auxOf(prog),
      `bpf_prog_aux of ${a.name}`,
      () =>
        new Image(this.btf, "bpf_prog_aux")
          .u32("id", a.id)
          .u32("verified_insns", a.verified_insns)
          .u32("used_map_cnt", a.used_maps.length)
          .u32("max_ctx_offset", a.max_ctx_offset)
          .u32("attach_btf_id", a.attach_btf_id)
          .u8("sleepable", prog.sleepable ? 1 : 0)
          .str("name", a.name, 16)
          .u64("load_time", a.load_time)
          .u32("sig.verdict", a.sig.verdict)
          .u32("sig.keyring_type", a.sig.keyring_type)
          .u32("sig.keyring_serial", a.sig.keyring_serial)
          .u64("prog", progAddr).bytes,
    );
    return this.place(
      prog,
      `bpf_prog ${a.name}`,
      () =>
        new Image(this.btf, "bpf_prog")
          .u16("pages", Math.ceil((prog.len * 8) / 4096))
          .u32("len", prog.len)
          .u32("type", prog.type)
          .u32("expected_attach_type", prog.expected_attach_type)
          .raw("tag", prog.tag)
          .u64("aux", auxAddr).bytes,
    );
  }

  /** struct bpf_map */
  map(map: BpfMap): bigint {
    return this.place(
      map,
      `bpf_map ${map.name}`,
      () =>
        new Image(this.btf, "bpf_map")
          .u32("map_type", map.map_type)
          .u32("key_size", map.key_size)
          .u32("value_size", map.value_size)
          .u32("max_entries", map.max_entries)
          .u32("map_flags", map.map_flags)
          .u32("id", map.id)
          .str("name", map.name, 16)
          .u8("frozen", map.frozen ? 1 : 0)
          .u8("excl", map.excl_prog_sha ? 1 : 0).bytes,
    );
  }

  /** union bpf_attr: the attr bytes as the command copied them in. */
  attr(key: object, bytes: Uint8Array): bigint {
    return this.place(key, "bpf_attr", () => {
      const img = new Uint8Array(Math.max(sizeOf(this.btf, "bpf_attr"), bytes.length));
      img.set(bytes);
      return img;
    });
  }

  /** struct task_struct of a model process (bpf_get_current_task). */
  task(task: Task): bigint {
    return this.place(
      task,
      `task ${task.pid}`,
      () =>
        new Image(this.btf, "task_struct")
          .u32("pid", task.pid)
          .u32("tgid", task.pid)
          .str("comm", `model-${task.pid}`, 16)
          .u64("real_parent", objectAddress(task))
          .u64("group_leader", objectAddress(task)).bytes,
    );
  }
}
