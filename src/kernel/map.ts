/**
 * BPF maps: creation checks, element operations from user space, freeze, mmap write counting,
 * exclusivity (excl_prog_sha) and the content hash of array maps. The model implements ARRAY,
 * PERCPU_ARRAY, HASH and RINGBUF (creation only); other types are refused with EINVAL.
 */
import { createHash } from "node:crypto";
import { MapFlag, MapType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";

/** Possible CPUs of the model (this machine has two). */
export const NR_CPUS = 2;
const MAX_BPF_STACK = 512;
const KMALLOC_MAX_SIZE = 4 << 20;

const ACCESS_MASK = MapFlag.RDONLY | MapFlag.WRONLY | MapFlag.RDONLY_PROG | MapFlag.WRONLY_PROG;
const ARRAY_CREATE_FLAG_MASK =
  MapFlag.NUMA_NODE | MapFlag.MMAPABLE | ACCESS_MASK | MapFlag.PRESERVE_ELEMS | MapFlag.INNER_MAP;
const HTAB_CREATE_FLAG_MASK =
  MapFlag.NO_PREALLOC | MapFlag.NO_COMMON_LRU | MapFlag.NUMA_NODE | ACCESS_MASK | MapFlag.ZERO_SEED;
const RINGBUF_CREATE_FLAG_MASK = MapFlag.NUMA_NODE;

const roundUp8 = (n: number) => (n + 7) & ~7;

/**
 * RINGBUF storage, as the kernel lays out what user space mmaps: the consumer position (u64) at
 * the start of page 0 (user space writes it), the producer position at the start of page 1,
 * and from page 2 the data area. The kernel maps the data pages twice in a row so that a record
 * that wraps around the end is contiguous; the model keeps 2 × max_entries bytes and lets both
 * the producer and the consumer address a record at (pos & mask) contiguously, which is the same
 * view (a record never overlaps a live one: the producer stays less than one ring ahead).
 */
export const RINGBUF_DATA = 2 * 4096;
/** Record header bits of the length word (BPF_RINGBUF_BUSY_BIT / BPF_RINGBUF_DISCARD_BIT). */
export const RINGBUF_BUSY = 0x80000000;
export const RINGBUF_DISCARD = 0x40000000;
export const RINGBUF_HDR_SZ = 8;

export interface MapSpec {
  readonly map_type: number;
  readonly key_size: number;
  readonly value_size: number;
  readonly max_entries: number;
  readonly map_flags: number;
  readonly name: string;
}

/** map_alloc_check + map_alloc for the supported types: 0 or a negative errno. */
export function checkMapSpec(s: MapSpec): number {
  const f = s.map_flags;
  if (f & MapFlag.RDONLY_PROG && f & MapFlag.WRONLY_PROG) return -Errno.EINVAL;
  if (f & MapFlag.RDONLY && f & MapFlag.WRONLY) return -Errno.EINVAL;
  switch (s.map_type) {
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY: {
      if (s.max_entries === 0 || s.key_size !== 4 || s.value_size === 0) return -Errno.EINVAL;
      if (f & ~ARRAY_CREATE_FLAG_MASK) return -Errno.EINVAL;
      if (s.map_type !== MapType.ARRAY && f & (MapFlag.MMAPABLE | MapFlag.INNER_MAP)) {
        return -Errno.EINVAL;
      }
      if (s.value_size > KMALLOC_MAX_SIZE * 4) return -Errno.E2BIG;
      if (roundUp8(s.value_size) * s.max_entries > 0x7fffffff) return -Errno.ENOMEM;
      return 0;
    }
    case MapType.HASH:
    case MapType.LRU_HASH: {
      if (f & ~HTAB_CREATE_FLAG_MASK) return -Errno.EINVAL;
      if (s.max_entries === 0 || s.key_size === 0 || s.value_size === 0) return -Errno.EINVAL;
      if (s.key_size > MAX_BPF_STACK) return -Errno.E2BIG;
      if (s.value_size >= KMALLOC_MAX_SIZE - MAX_BPF_STACK - 48) return -Errno.E2BIG;
      return 0;
    }
    case MapType.ARRAY_OF_MAPS:
    case MapType.HASH_OF_MAPS: {
      if (s.value_size !== 4 || s.max_entries === 0 || s.key_size === 0) return -Errno.EINVAL;
      if (s.map_type === MapType.ARRAY_OF_MAPS && s.key_size !== 4) return -Errno.EINVAL;
      const mask =
        s.map_type === MapType.ARRAY_OF_MAPS ? ARRAY_CREATE_FLAG_MASK : HTAB_CREATE_FLAG_MASK;
      if (f & ~mask || f & MapFlag.MMAPABLE) return -Errno.EINVAL;
      return 0;
    }
    case MapType.PERF_EVENT_ARRAY: {
      // fd_array_map_alloc_check(): the values are perf event fds (not modelled beyond creation)
      if (s.max_entries === 0 || s.key_size !== 4 || s.value_size !== 4) return -Errno.EINVAL;
      if (f & ~(MapFlag.NUMA_NODE | ACCESS_MASK | MapFlag.PRESERVE_ELEMS)) return -Errno.EINVAL;
      return 0;
    }
    case MapType.RINGBUF: {
      if (f & ~RINGBUF_CREATE_FLAG_MASK) return -Errno.EINVAL;
      if (s.key_size || s.value_size) return -Errno.EINVAL;
      const n = s.max_entries;
      if (n === 0 || n & (n - 1) || n % 4096) return -Errno.EINVAL;
      return 0;
    }
    default:
      // Real kernels implement more types; the model does not (documented in the README).
      return -Errno.EINVAL;
  }
}

export class BpfMap {
  id = 0;
  /** File descriptors and programs holding the map. */
  refcnt = 0;
  frozen = false;
  /** Live writable mmaps and in-flight syscall writes (bpf_map_write_active). */
  writecnt = 0;
  /** Sleepable programs using the map. */
  sleepable_refcnt = 0;
  /** SHA-256 of the program allowed to use this map, or null for a shared map. */
  excl_prog_sha: Uint8Array | null = null;
  /** The content-hash cache of struct bpf_map (map->sha). */
  readonly sha = new Uint8Array(32);
  btf_id = 0;
  btf_key_type_id = 0;
  btf_value_type_id = 0;
  btf_vmlinux_value_type_id = 0;
  map_extra = 0n;
  /** ARRAY storage: max_entries slots of round_up(value_size, 8) bytes (×NR_CPUS per cpu). */
  readonly storage: Uint8Array;
  private readonly hash = new Map<string, Uint8Array>();
  readonly elem_size: number;
  /** ARRAY maps: roundup_pow_of_two(max_entries) - 1, the index mask of speculation hardening. */
  readonly index_mask: number;

  /**
   * `bypass_spec_v1` is perfmon_capable() of the creator (bpf_bypass_spec_v1()): the inlined
   * array lookup then skips the index masking.
   */
  constructor(
    readonly spec: MapSpec,
    readonly bypass_spec_v1 = true,
  ) {
    this.elem_size = roundUp8(spec.value_size);
    this.index_mask = 2 ** Math.ceil(Math.log2(Math.max(spec.max_entries, 1))) - 1;
    if (spec.map_type === MapType.ARRAY) {
      let size = this.elem_size * spec.max_entries;
      // An mmapable array keeps its values page-aligned so the whole area can be mapped.
      if (spec.map_flags & MapFlag.MMAPABLE) size = Math.ceil(size / 4096) * 4096;
      this.storage = new Uint8Array(size);
    } else if (spec.map_type === MapType.PERCPU_ARRAY) {
      this.storage = new Uint8Array(this.elem_size * spec.max_entries * NR_CPUS);
    } else if (spec.map_type === MapType.RINGBUF) {
      // the consumer page, the producer page, then the data area twice (see RINGBUF_DATA)
      this.storage = new Uint8Array(RINGBUF_DATA + 2 * spec.max_entries);
    } else {
      this.storage = new Uint8Array(0);
    }
  }

  get map_type(): number {
    return this.spec.map_type;
  }
  get key_size(): number {
    return this.spec.key_size;
  }
  get value_size(): number {
    return this.spec.value_size;
  }
  get max_entries(): number {
    return this.spec.max_entries;
  }
  get map_flags(): number {
    return this.spec.map_flags;
  }
  get name(): string {
    return this.spec.name;
  }

  get isArray(): boolean {
    return this.map_type === MapType.ARRAY || this.map_type === MapType.PERCPU_ARRAY;
  }
  get isPercpu(): boolean {
    return this.map_type === MapType.PERCPU_ARRAY;
  }

  /** The size of a value as user space reads and writes it (per-CPU maps: all CPUs). */
  get userValueSize(): number {
    return this.isPercpu ? this.elem_size * NR_CPUS : this.value_size;
  }

  /** Only plain ARRAY maps implement map_get_hash and map_direct_value_addr. */
  get hasDirectValue(): boolean {
    return this.map_type === MapType.ARRAY;
  }
  get hasGetHash(): boolean {
    return this.map_type === MapType.ARRAY;
  }
  get hasMmap(): boolean {
    return this.map_type === MapType.ARRAY;
  }

  arrayIndex(key: Uint8Array): number {
    return new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
  }

  /** Lookup from user space: the value bytes (a copy) or a negative errno. */
  lookup(key: Uint8Array): Uint8Array | number {
    switch (this.map_type) {
      case MapType.ARRAY: {
        const i = this.arrayIndex(key);
        if (i >= this.max_entries) return -Errno.ENOENT;
        const off = i * this.elem_size;
        return this.storage.slice(off, off + this.value_size);
      }
      case MapType.PERCPU_ARRAY: {
        const i = this.arrayIndex(key);
        if (i >= this.max_entries) return -Errno.ENOENT;
        const out = new Uint8Array(this.elem_size * NR_CPUS);
        for (let cpu = 0; cpu < NR_CPUS; cpu++) {
          const off = (cpu * this.max_entries + i) * this.elem_size;
          out.set(this.storage.subarray(off, off + this.value_size), cpu * this.elem_size);
        }
        return out;
      }
      case MapType.HASH:
      case MapType.LRU_HASH: {
        const v = this.hash.get(hexKey(key));
        return v ? v.slice() : -Errno.ENOENT;
      }
      default:
        return -Errno.ENOTSUPP;
    }
  }

  /** Update from user space: 0 or a negative errno. */
  update(key: Uint8Array, value: Uint8Array, flags: bigint): number {
    const f = Number(flags & 0xffn);
    switch (this.map_type) {
      case MapType.ARRAY:
      case MapType.PERCPU_ARRAY: {
        if (flags > 2n) return -Errno.EINVAL;
        const i = this.arrayIndex(key);
        if (i >= this.max_entries) return -Errno.E2BIG;
        if (f === 1) return -Errno.EEXIST;
        if (this.isPercpu) {
          for (let cpu = 0; cpu < NR_CPUS; cpu++) {
            const off = (cpu * this.max_entries + i) * this.elem_size;
            this.storage.set(
              value.subarray(cpu * this.elem_size, cpu * this.elem_size + this.value_size),
              off,
            );
          }
        } else {
          this.storage.set(value.subarray(0, this.value_size), i * this.elem_size);
        }
        return 0;
      }
      case MapType.HASH:
      case MapType.LRU_HASH: {
        if (flags > 2n) return -Errno.EINVAL;
        const k = hexKey(key);
        const err = checkUpdateFlags(f, this.hash.has(k), this.hash.size, this.max_entries);
        if (err) return err;
        this.hash.set(k, value.slice(0, this.value_size));
        return 0;
      }
      default:
        return -Errno.ENOTSUPP;
    }
  }

  delete(key: Uint8Array): number {
    switch (this.map_type) {
      case MapType.ARRAY:
      case MapType.PERCPU_ARRAY:
        return -Errno.EINVAL;
      case MapType.HASH:
      case MapType.LRU_HASH:
        return this.hash.delete(hexKey(key)) ? 0 : -Errno.ENOENT;
      default:
        return -Errno.ENOTSUPP;
    }
  }

  /** BPF_MAP_GET_NEXT_KEY: the next key or a negative errno. */
  nextKey(key: Uint8Array | null): Uint8Array | number {
    if (this.isArray) {
      const i = key ? this.arrayIndex(key) : 0xffffffff;
      const next = i >= this.max_entries ? 0 : i + 1;
      if (next >= this.max_entries) return -Errno.ENOENT;
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, next, true);
      return out;
    }
    if (this.map_type === MapType.HASH || this.map_type === MapType.LRU_HASH) {
      const keys = [...this.hash.keys()];
      const at = key ? keys.indexOf(hexKey(key)) : -1;
      const next = keys[at < 0 ? 0 : at + 1];
      return next === undefined ? -Errno.ENOENT : Buffer.from(next, "hex");
    }
    return -Errno.ENOTSUPP;
  }

  /**
   * The live value a program's bpf_map_lookup_elem() points at (CPU 0 of a per-CPU array), or
   * undefined when there is no element for `key`.
   */
  valueRef(key: Uint8Array): Uint8Array | undefined {
    if (this.isArray) {
      const i = this.arrayIndex(key);
      if (i >= this.max_entries) return undefined;
      const off = i * this.elem_size;
      return this.storage.subarray(off, off + this.value_size);
    }
    if (this.map_type === MapType.HASH || this.map_type === MapType.LRU_HASH) {
      return this.hash.get(hexKey(key));
    }
    return undefined;
  }

  // ---- RINGBUF -------------------------------------------------------------------------------

  // ---- map-in-map -----------------------------------------------------------------------------

  /** ARRAY_OF_MAPS / HASH_OF_MAPS: the inner map template (inner_map_meta) and the slots. */
  innerMeta: BpfMap | null = null;
  readonly inner = new Map<string, BpfMap>();

  get isMapInMap(): boolean {
    return this.map_type === MapType.ARRAY_OF_MAPS || this.map_type === MapType.HASH_OF_MAPS;
  }

  /** bpf_map_meta_equal(): may `m` go into this outer map? */
  innerCompatible(m: BpfMap): boolean {
    const t = this.innerMeta;
    if (!t || m.isMapInMap) return false;
    const sameMax = (t.map_flags & MapFlag.INNER_MAP) !== 0 || t.max_entries === m.max_entries;
    return (
      t.map_type === m.map_type &&
      t.key_size === m.key_size &&
      t.value_size === m.value_size &&
      (t.map_flags & ~MapFlag.INNER_MAP) === (m.map_flags & ~MapFlag.INNER_MAP) &&
      sameMax
    );
  }

  /** The inner map at `key`, or undefined. */
  innerAt(key: Uint8Array): BpfMap | undefined {
    return this.inner.get(hexKey(key));
  }

  /** Removes the inner map at `key` and returns it (the caller drops its reference), or undefined. */
  deleteInner(key: Uint8Array): BpfMap | undefined {
    const k = hexKey(key);
    const old = this.inner.get(k);
    if (old) this.inner.delete(k);
    return old;
  }

  /** Stores `m` at `key` (the caller took the reference); returns the map it replaced. */
  setInner(key: Uint8Array, m: BpfMap, flags: bigint): BpfMap | undefined | number {
    if (flags > 2n) return -Errno.EINVAL;
    const k = hexKey(key);
    if (this.map_type === MapType.ARRAY_OF_MAPS) {
      if (this.arrayIndex(key) >= this.max_entries) return -Errno.E2BIG;
      if (flags === 1n) return -Errno.EEXIST;
    } else {
      const err = checkUpdateFlags(
        Number(flags),
        this.inner.has(k),
        this.inner.size,
        this.max_entries,
      );
      if (err) return err;
    }
    const old = this.inner.get(k);
    this.inner.set(k, m);
    return old;
  }

  /** Reservations that found no room (the model's count; the kernel just returns NULL). */
  ringbufDropped = 0;

  private posAt(off: number): number {
    return Number(
      new DataView(this.storage.buffer, this.storage.byteOffset).getBigUint64(off, true),
    );
  }
  private setPos(off: number, v: number): void {
    new DataView(this.storage.buffer, this.storage.byteOffset).setBigUint64(off, BigInt(v), true);
  }
  get ringbufConsumerPos(): number {
    return this.posAt(0);
  }
  get ringbufProducerPos(): number {
    return this.posAt(4096);
  }

  /**
   * __bpf_ringbuf_reserve(): the storage offset of a `size`-byte sample (its header is the 8
   * bytes before it, length with the BUSY bit set), or -1 when the ring has no room.
   */
  ringbufReserve(size: number): number {
    const mask = this.max_entries - 1;
    const len = roundUp8(size + RINGBUF_HDR_SZ);
    if (size > 0x3fffffff || len > this.max_entries) {
      this.ringbufDropped++;
      return -1;
    }
    const cons = this.ringbufConsumerPos;
    const prod = this.ringbufProducerPos;
    if (prod + len - cons > mask) {
      this.ringbufDropped++;
      return -1;
    }
    const hdr = RINGBUF_DATA + (prod & mask);
    const dv = new DataView(this.storage.buffer, this.storage.byteOffset);
    dv.setUint32(hdr, (size | RINGBUF_BUSY) >>> 0, true);
    // pg_off: pages between the record and the start of the ring buffer's pages
    dv.setUint32(hdr + 4, (hdr >> 12) >>> 0, true);
    this.setPos(4096, prod + len);
    return hdr + RINGBUF_HDR_SZ;
  }

  /** bpf_ringbuf_commit(): clears BUSY (and sets DISCARD for a discarded record). */
  ringbufCommit(sampleOff: number, discard: boolean): boolean {
    const hdr = sampleOff - RINGBUF_HDR_SZ;
    if (hdr < RINGBUF_DATA || hdr >= RINGBUF_DATA + this.max_entries) return false;
    const dv = new DataView(this.storage.buffer, this.storage.byteOffset);
    const len = dv.getUint32(hdr, true);
    if (!(len & RINGBUF_BUSY)) return false;
    let v = len & ~RINGBUF_BUSY;
    if (discard) v |= RINGBUF_DISCARD;
    dv.setUint32(hdr, v >>> 0, true);
    return true;
  }

  /** map_direct_value_addr(): the value of element 0 (ARRAY with one entry only). */
  directValue(off: number): Uint8Array | number {
    if (!this.hasDirectValue) return -Errno.EINVAL;
    if (this.max_entries !== 1) return -Errno.ENOTSUPP;
    if (off >= this.value_size) return -Errno.EINVAL;
    return this.storage.subarray(0, this.value_size);
  }

  /** array_map_get_hash(): sha256 over every element padded to 8 bytes; cached in map->sha. */
  computeHash(): Uint8Array {
    const h = createHash("sha256");
    h.update(this.storage.subarray(0, this.elem_size * this.max_entries));
    this.sha.set(h.digest());
    return this.sha;
  }
}

/**
 * BPF_NOEXIST / BPF_EXIST (flags already at most 2) against a hash table's key, and the room for
 * a new one: 0 or a negative errno.
 */
function checkUpdateFlags(flags: number, exists: boolean, size: number, max: number): number {
  if (flags === 1 && exists) return -Errno.EEXIST;
  if (flags === 2 && !exists) return -Errno.ENOENT;
  if (!exists && size >= max) return -Errno.E2BIG;
  return 0;
}

function hexKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("hex");
}
