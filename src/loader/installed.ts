/**
 * What a loader installed, as BPF_OBJ_GET_INFO_BY_FD reports it on any backend: each map's type,
 * name, sizes and flags, each program's type, name, instruction count and tag. Tags equal on two
 * kernels means the loader wrote the same final instructions on both.
 */

import type { BpfBackend } from "../uapi/backend.js";
import { Bpf } from "../uapi/bpf.js";
import { enumName, MapType, ProgType } from "../uapi/constants.js";

export interface InstalledMap {
  name: string;
  type: string;
  key_size: number;
  value_size: number;
  max_entries: number;
  map_flags: number;
}

export interface InstalledProg {
  name: string;
  type: string;
  /** xlated_prog_len / 8 */
  insn_cnt: number;
  tag: string;
  nr_map_ids: number;
}

export interface Installed {
  maps: InstalledMap[];
  progs: InstalledProg[];
}

/** What was loaded: map and program fds (a loader's result, or a direct object load). */
export interface LoadedObjects {
  maps: readonly { fd: number }[];
  progs: readonly { fd: number }[];
}

export function describeInstalled(backend: BpfBackend, loaded: LoadedObjects): Installed {
  const bpf = new Bpf(backend);
  return {
    maps: loaded.maps.map((m) => {
      const i = bpf.mapInfo(m.fd);
      return {
        name: i.name,
        type: enumName(MapType, i.type),
        key_size: i.key_size,
        value_size: i.value_size,
        max_entries: i.max_entries,
        map_flags: i.map_flags,
      };
    }),
    progs: loaded.progs.map((p) => {
      const i = bpf.progInfo(p.fd);
      return {
        name: i.name,
        type: enumName(ProgType, i.type),
        insn_cnt: i.xlated_prog_len / 8,
        tag: Buffer.from(i.tag).toString("hex"),
        nr_map_ids: i.nr_map_ids,
      };
    }),
  };
}
