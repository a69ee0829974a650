/**
 * Types the kernel's files share and that depend on nothing above the kernel objects: what an
 * fd refers to and the credentials of a caller.
 */
import type { Btf } from "./btf.js";
import type { BpfLink } from "./link.js";
import type { BpfMap } from "./map.js";
import type { BpfProg } from "./prog.js";

/** What an fd of a model process refers to. */
export type BpfFile =
  | {
      readonly kind: "map";
      readonly map: BpfMap;
      readonly canRead: boolean;
      readonly canWrite: boolean;
    }
  | { readonly kind: "prog"; readonly prog: BpfProg }
  | { readonly kind: "btf"; readonly btf: Btf }
  | { readonly kind: "link"; readonly link: BpfLink }
  /** A file that is no BPF object (the stdio fds): lookups of it as a map/prog/BTF give EINVAL. */
  | { readonly kind: "other"; readonly name: string };

/** The capabilities the bpf() checks look at. */
export interface Caps {
  bpf: boolean;
  sys_admin: boolean;
  net_admin: boolean;
  perfmon: boolean;
}
