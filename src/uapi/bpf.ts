/**
 * The typed bpf() surface: builds attr bytes for each command, places the buffers they point to
 * in the backend's memory, and turns a negative return into a BpfError (with the verifier log
 * when one was requested). The same code drives the model and the host backend.
 */
import type { BpfBackend } from "./backend.js";
import { BpfCmd, KeyctlOp, Limits } from "./constants.js";
import { BpfError } from "./errno.js";
import {
  BtfLoadAttr,
  cString,
  decode,
  encode,
  fromCString,
  GetIdAttr,
  InfoAttr,
  MAP_INFO_SIZE,
  MapCreateAttr,
  MapFreezeAttr,
  MapInfo,
  MapNextKeyAttr,
  mapElemAttr,
  offsetofend,
  PROG_INFO_SIZE,
  ProgInfo,
  ProgLoadAttr,
  TestRunAttr,
  UTF8_ENCODER,
  type Values,
} from "./layout.js";

export interface MapCreateOptions {
  map_type: number;
  key_size: number;
  value_size: number;
  max_entries: number;
  map_flags?: number;
  map_name?: string;
  btf_fd?: number;
  btf_key_type_id?: number;
  btf_value_type_id?: number;
  /** The 32-byte digest of the only program allowed to use the map. */
  excl_prog_hash?: Uint8Array;
  /** Defaults to excl_prog_hash.length. */
  excl_prog_hash_size?: number;
}

export interface ProgLoadOptions {
  prog_type: number;
  insns: Uint8Array;
  license?: string;
  prog_flags?: number;
  prog_name?: string;
  expected_attach_type?: number;
  fd_array?: readonly number[];
  fd_array_cnt?: number;
  signature?: Uint8Array;
  /** Defaults to signature.length. */
  signature_size?: number;
  keyring_id?: number;
  /** Verifier log level (default 1 when log_size is given, else 0). */
  log_level?: number;
  /** Size of the log buffer to pass (0 = no log). */
  log_size?: number;
  prog_btf_fd?: number;
  /** The attr size passed to bpf() (default offsetofend(keyring_id) = 168). */
  attr_size?: number;
}

export interface ProgLoadResult {
  readonly fd: number;
  readonly log: string;
  readonly log_true_size: number;
}

export interface TestRunOptions {
  prog_fd: number;
  ctx_in?: Uint8Array;
  data_in?: Uint8Array;
  data_size_out?: number;
  ctx_size_out?: number;
  repeat?: number;
}

export interface TestRunResult {
  readonly retval: number;
  /** ctx after the run: ctx_out when ctx_size_out was given, else the ctx_in memory (SYSCALL programs write it back in place). */
  readonly ctx: Uint8Array | null;
  readonly data_out: Uint8Array | null;
  readonly duration: number;
}

export type MapInfoValues = Omit<Values<typeof MapInfo>, "name"> & {
  readonly name: string;
  readonly hashBytes: Uint8Array | null;
};
export type ProgInfoValues = Omit<Values<typeof ProgInfo>, "name"> & {
  readonly name: string;
  readonly gpl_compatible: boolean;
  readonly map_id_list: number[];
};

/** A scoped set of allocations in backend memory, freed together. */
class Scratch {
  private readonly addrs: bigint[] = [];
  constructor(private readonly b: BpfBackend) {}
  put(data: Uint8Array | number): bigint {
    const a = this.b.memory.alloc(data);
    this.addrs.push(a);
    return a;
  }
  cstr(s: string): bigint {
    return this.put(UTF8_ENCODER.encode(`${s}\0`));
  }
  free(): void {
    for (const a of this.addrs) this.b.memory.free(a);
  }
}

export class Bpf {
  constructor(readonly backend: BpfBackend) {}

  /** The raw syscall: returns the result or a negative errno, never throws. */
  raw(cmd: number, attr: Uint8Array, size = attr.length): number {
    return this.backend.bpf(cmd, attr, size);
  }

  private check(op: string, ret: number, log = ""): number {
    if (ret < 0) throw new BpfError(op, -ret, log);
    return ret;
  }

  private scoped<T>(fn: (s: Scratch) => T): T {
    const s = new Scratch(this.backend);
    try {
      return fn(s);
    } finally {
      s.free();
    }
  }

  mapCreate(o: MapCreateOptions): number {
    return this.scoped((s) => {
      const attr = encode(
        MapCreateAttr,
        {
          map_type: o.map_type,
          key_size: o.key_size,
          value_size: o.value_size,
          max_entries: o.max_entries,
          map_flags: o.map_flags ?? 0,
          map_name: cString(o.map_name ?? "", Limits.OBJ_NAME_LEN),
          btf_fd: o.btf_fd ?? 0,
          btf_key_type_id: o.btf_key_type_id ?? 0,
          btf_value_type_id: o.btf_value_type_id ?? 0,
          excl_prog_hash: o.excl_prog_hash ? s.put(o.excl_prog_hash) : 0n,
          excl_prog_hash_size: o.excl_prog_hash_size ?? o.excl_prog_hash?.length ?? 0,
        },
        offsetofend(MapCreateAttr, "excl_prog_hash_size"),
      );
      return this.check("BPF_MAP_CREATE", this.raw(BpfCmd.MAP_CREATE, attr));
    });
  }

  mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = 0n): void {
    this.scoped((s) => {
      const attr = mapElemAttr(fd, s.put(key), s.put(value), flags);
      this.check("BPF_MAP_UPDATE_ELEM", this.raw(BpfCmd.MAP_UPDATE_ELEM, attr));
    });
  }

  mapLookup(fd: number, key: Uint8Array, valueSize: number): Uint8Array {
    // the hot path of a map reader: two allocations freed in order, without a Scratch
    const mem = this.backend.memory;
    const out = mem.alloc(valueSize);
    try {
      const k = mem.alloc(key);
      try {
        const attr = mapElemAttr(fd, k, out);
        this.check("BPF_MAP_LOOKUP_ELEM", this.raw(BpfCmd.MAP_LOOKUP_ELEM, attr));
      } finally {
        mem.free(k);
      }
      return mem.read(out, valueSize);
    } finally {
      mem.free(out);
    }
  }

  mapDelete(fd: number, key: Uint8Array): void {
    this.scoped((s) => {
      const attr = mapElemAttr(fd, s.put(key), 0n);
      this.check("BPF_MAP_DELETE_ELEM", this.raw(BpfCmd.MAP_DELETE_ELEM, attr));
    });
  }

  /** The key after `key` (or the first key when null); null at the end. */
  mapNextKey(fd: number, key: Uint8Array | null, keySize: number): Uint8Array | null {
    return this.scoped((s) => {
      const out = s.put(keySize);
      const attr = encode(
        MapNextKeyAttr,
        { map_fd: fd, key: key ? s.put(key) : 0n, next_key: out },
        24,
      );
      const r = this.raw(BpfCmd.MAP_GET_NEXT_KEY, attr);
      if (r === -2) return null;
      this.check("BPF_MAP_GET_NEXT_KEY", r);
      return this.backend.memory.read(out, keySize);
    });
  }

  mapFreeze(fd: number): void {
    const attr = encode(MapFreezeAttr, { map_fd: fd }, 4);
    this.check("BPF_MAP_FREEZE", this.raw(BpfCmd.MAP_FREEZE, attr));
  }

  progLoad(o: ProgLoadOptions): ProgLoadResult {
    return this.scoped((s) => {
      const logSize = o.log_size ?? 0;
      const logBuf = logSize ? s.put(logSize) : 0n;
      let fdArray = 0n;
      if (o.fd_array) {
        const fds = new Uint8Array(Math.max(o.fd_array.length, 1) * 4);
        const dv = new DataView(fds.buffer);
        o.fd_array.forEach((fd, i) => {
          dv.setInt32(i * 4, fd, true);
        });
        fdArray = s.put(fds);
      }
      const size = o.attr_size ?? offsetofend(ProgLoadAttr, "keyring_id");
      const attr = encode(
        ProgLoadAttr,
        {
          prog_type: o.prog_type,
          insn_cnt: o.insns.length / 8,
          insns: s.put(o.insns),
          license: s.cstr(o.license ?? "GPL"),
          log_level: o.log_level ?? (logSize ? 1 : 0),
          log_size: logSize,
          log_buf: logBuf,
          prog_flags: o.prog_flags ?? 0,
          prog_name: cString(o.prog_name ?? "", Limits.OBJ_NAME_LEN),
          expected_attach_type: o.expected_attach_type ?? 0,
          prog_btf_fd: o.prog_btf_fd ?? 0,
          fd_array: fdArray,
          fd_array_cnt: o.fd_array_cnt ?? 0,
          signature: o.signature ? s.put(o.signature) : 0n,
          signature_size: o.signature_size ?? o.signature?.length ?? 0,
          keyring_id: o.keyring_id ?? 0,
        },
        Math.max(size, Limits.ATTR_SIZE),
      );
      const ret = this.raw(BpfCmd.PROG_LOAD, attr, size);
      const log = logSize ? fromCString(this.backend.memory.read(logBuf, logSize)) : "";
      const log_true_size = decode(ProgLoadAttr, attr).log_true_size;
      this.check("BPF_PROG_LOAD", ret, log);
      return { fd: ret, log, log_true_size };
    });
  }

  progTestRun(o: TestRunOptions): TestRunResult {
    return this.scoped((s) => {
      const ctxIn = o.ctx_in ? s.put(o.ctx_in) : 0n;
      const dataOutSize = o.data_size_out ?? (o.data_in ? o.data_in.length : 0);
      const dataOut = dataOutSize ? s.put(dataOutSize) : 0n;
      const ctxOut = o.ctx_size_out ? s.put(o.ctx_size_out) : 0n;
      const attr = encode(
        TestRunAttr,
        {
          prog_fd: o.prog_fd,
          ctx_in: ctxIn,
          ctx_size_in: o.ctx_in?.length ?? 0,
          data_in: o.data_in ? s.put(o.data_in) : 0n,
          data_size_in: o.data_in?.length ?? 0,
          data_out: dataOut,
          data_size_out: dataOutSize,
          ctx_out: ctxOut,
          ctx_size_out: o.ctx_size_out ?? 0,
          repeat: o.repeat ?? 0,
        },
        offsetofend(TestRunAttr, "batch_size"),
      );
      this.check("BPF_PROG_TEST_RUN", this.raw(BpfCmd.PROG_TEST_RUN, attr));
      const r = decode(TestRunAttr, attr);
      const mem = this.backend.memory;
      // ctx_out when the caller asked for it (skb programs write it); otherwise the ctx_in memory,
      // which SYSCALL programs write back in place.
      const ctx = ctxOut
        ? mem.read(ctxOut, Math.min(r.ctx_size_out, o.ctx_size_out ?? 0))
        : o.ctx_in
          ? mem.read(ctxIn, o.ctx_in.length)
          : null;
      return {
        retval: r.retval | 0,
        ctx,
        data_out: dataOut ? mem.read(dataOut, Math.min(r.data_size_out, dataOutSize)) : null,
        duration: r.duration,
      };
    });
  }

  /** BPF_OBJ_GET_INFO_BY_FD on a map; with `hash` the frozen array's content hash too. */
  mapInfo(
    fd: number,
    opts: { hash?: boolean; hash_size?: number; info_len?: number } = {},
  ): MapInfoValues {
    return this.scoped((s) => {
      const hashSize = opts.hash_size ?? 32;
      const hashBuf = opts.hash ? s.put(Math.max(hashSize, 32)) : 0n;
      const info = encode(
        MapInfo,
        { hash: hashBuf, hash_size: opts.hash ? hashSize : 0 },
        MAP_INFO_SIZE,
      );
      const infoLen = opts.info_len ?? MAP_INFO_SIZE;
      const infoAddr = s.put(info);
      const attr = encode(InfoAttr, { bpf_fd: fd, info_len: infoLen, info: infoAddr }, 16);
      this.check("BPF_OBJ_GET_INFO_BY_FD", this.raw(BpfCmd.OBJ_GET_INFO_BY_FD, attr));
      const v = decode(MapInfo, this.backend.memory.read(infoAddr, MAP_INFO_SIZE));
      return {
        ...v,
        name: fromCString(v.name),
        hashBytes: opts.hash ? this.backend.memory.read(hashBuf, 32) : null,
      };
    });
  }

  progInfo(
    fd: number,
    opts: { xlated?: boolean } = {},
  ): ProgInfoValues & { xlated: Uint8Array | null } {
    return this.scoped((s) => {
      const maxMaps = Limits.MAX_USED_MAPS;
      const mapIds = s.put(maxMaps * 4);
      const xlatedCap = opts.xlated ? 1 << 20 : 0;
      const xlated = xlatedCap ? s.put(xlatedCap) : 0n;
      const infoAddr = s.put(
        encode(
          ProgInfo,
          {
            nr_map_ids: maxMaps,
            map_ids: mapIds,
            xlated_prog_insns: xlated,
            xlated_prog_len: xlatedCap,
          },
          PROG_INFO_SIZE,
        ),
      );
      const attr = encode(InfoAttr, { bpf_fd: fd, info_len: PROG_INFO_SIZE, info: infoAddr }, 16);
      this.check("BPF_OBJ_GET_INFO_BY_FD", this.raw(BpfCmd.OBJ_GET_INFO_BY_FD, attr));
      const v = decode(ProgInfo, this.backend.memory.read(infoAddr, PROG_INFO_SIZE));
      const idsRaw = this.backend.memory.read(mapIds, Math.min(v.nr_map_ids, maxMaps) * 4);
      const dv = new DataView(idsRaw.buffer, idsRaw.byteOffset, idsRaw.byteLength);
      const map_id_list = Array.from({ length: idsRaw.length / 4 }, (_, i) =>
        dv.getUint32(i * 4, true),
      );
      return {
        ...v,
        name: fromCString(v.name),
        gpl_compatible: (v.flags & 1) === 1,
        map_id_list,
        xlated: xlatedCap
          ? this.backend.memory.read(xlated, Math.min(v.xlated_prog_len, xlatedCap))
          : null,
      };
    });
  }

  progGetFdById(id: number): number {
    const attr = encode(GetIdAttr, { id }, 4);
    return this.check("BPF_PROG_GET_FD_BY_ID", this.raw(BpfCmd.PROG_GET_FD_BY_ID, attr));
  }

  mapGetFdById(id: number, open_flags = 0): number {
    const attr = encode(GetIdAttr, { id, open_flags }, 12);
    return this.check("BPF_MAP_GET_FD_BY_ID", this.raw(BpfCmd.MAP_GET_FD_BY_ID, attr));
  }

  btfLoad(data: Uint8Array, logSize = 0): { fd: number; log: string } {
    return this.scoped((s) => {
      const logBuf = logSize ? s.put(logSize) : 0n;
      const attr = encode(
        BtfLoadAttr,
        {
          btf: s.put(data),
          btf_size: data.length,
          btf_log_buf: logBuf,
          btf_log_size: logSize,
          btf_log_level: logSize ? 1 : 0,
        },
        offsetofend(BtfLoadAttr, "btf_log_true_size"),
      );
      const ret = this.raw(BpfCmd.BTF_LOAD, attr);
      const log = logSize ? fromCString(this.backend.memory.read(logBuf, logSize)) : "";
      this.check("BPF_BTF_LOAD", ret, log);
      return { fd: ret, log };
    });
  }

  close(fd: number): void {
    const r = this.backend.close(fd);
    if (r < 0) throw new BpfError("close", -r);
  }

  /** mmap(2) of a map fd; throws BpfError on failure. */
  mmap(fd: number, length: number, prot: number, flags: number, offset = 0): bigint {
    const r = this.backend.mmap(length, prot, flags, fd, offset);
    if (r < 0n) throw new BpfError("mmap", Number(-r));
    return r;
  }

  addKey(type: string, description: string, payload: Uint8Array | null, keyring: number): number {
    return this.check(`add_key(${type})`, this.backend.addKey(type, description, payload, keyring));
  }

  /** KEYCTL_GET_KEYRING_ID: the serial behind a KEY_SPEC_* id. */
  keyringId(id: number, create = false): number {
    return this.check(
      "keyctl(GET_KEYRING_ID)",
      this.backend.keyctl(KeyctlOp.GET_KEYRING_ID, id, create ? 1 : 0),
    );
  }

  keyctl(op: number, ...args: number[]): number {
    return this.check(`keyctl(${op})`, this.backend.keyctl(op, ...args));
  }
}
