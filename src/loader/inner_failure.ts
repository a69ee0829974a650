/**
 * What a light skeleton's loader was doing when it failed: the inner bpf() command its
 * bpf_sys_bpf call issued, named by the object it was creating, with the errno and, for a
 * program load, the verifier's log ("MAP_CREATE of map 'm' (RINGBUF, 64 KiB): EINVAL").
 */
import type { InnerFailure } from "../uapi/backend.js";
import { AttachType, BpfCmd, enumName, MapType, ProgType } from "../uapi/constants.js";
import { errnoName } from "../uapi/errno.js";
import {
  BtfLoadAttr,
  decode,
  fromCString,
  MapCreateAttr,
  MapElemAttr,
  ProgLoadAttr,
} from "../uapi/layout.js";

const BTF_KIND_NAMES: Record<number, string> = {
  1: "INT",
  4: "STRUCT",
  5: "UNION",
  6: "ENUM",
  8: "TYPEDEF",
  12: "FUNC",
  14: "VAR",
};

function size(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n >> 20} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n >> 10} KiB`;
  return `${n} bytes`;
}

/** One line naming the command, its object and the errno (the log follows on later lines). */
export function describeInnerFailure(f: InnerFailure): string {
  const err = errnoName(f.errno);
  if (f.lookup) {
    const kind =
      f.lookup.kind !== undefined ? `, ${BTF_KIND_NAMES[f.lookup.kind] ?? f.lookup.kind}` : "";
    const what =
      f.lookup.helper === "bpf_btf_find_by_name_kind"
        ? "the kernel's BTF has no such type"
        : "the kernel has no such symbol";
    return `${f.lookup.helper}('${f.lookup.name}'${kind}): ${err} (${what})`;
  }
  switch (f.cmd) {
    case BpfCmd.MAP_CREATE: {
      const a = decode(MapCreateAttr, f.attr);
      const type = enumName(MapType, a.map_type);
      const shape =
        a.map_type === MapType.RINGBUF
          ? size(a.max_entries)
          : `key ${a.key_size}, value ${a.value_size}, ${a.max_entries} entries`;
      return `MAP_CREATE of map '${fromCString(a.map_name)}' (${type}, ${shape}): ${err}`;
    }
    case BpfCmd.PROG_LOAD: {
      const a = decode(ProgLoadAttr, f.attr);
      let what = enumName(ProgType, a.prog_type);
      if (a.expected_attach_type) what += `, ${enumName(AttachType, a.expected_attach_type)}`;
      if (a.attach_btf_id) what += `, attach_btf_id ${a.attach_btf_id}`;
      const head = `PROG_LOAD of program '${fromCString(a.prog_name)}' (${what}): ${err}`;
      const log = f.log.trimEnd();
      return log ? `${head}\n${log}` : head;
    }
    case BpfCmd.BTF_LOAD:
      return `BTF_LOAD of the object's BTF (${size(decode(BtfLoadAttr, f.attr).btf_size)}): ${err}`;
    case BpfCmd.MAP_UPDATE_ELEM:
    case BpfCmd.MAP_DELETE_ELEM:
    case BpfCmd.MAP_FREEZE:
      return `${enumName(BpfCmd, f.cmd)} of map fd ${decode(MapElemAttr, f.attr).map_fd}: ${err}`;
    default:
      return `${enumName(BpfCmd, f.cmd)}: ${err}`;
  }
}
