/**
 * The object layer's typed error. Every refusal names the object, the ELF section (or BTF type /
 * map / program) it concerns and, where one applies, the byte offset.
 */

import { Errno as UapiErrno } from "../uapi/errno.js";

/** Stable codes of `ObjectError`. */
export type ObjectErrorCode =
  /** the ELF is not a usable BPF object (no symbol table, bad section kinds, bad program bounds) */
  | "OBJECT_BAD_ELF"
  /** .BTF or .BTF.ext is malformed, or a needed BTF type is missing or of the wrong kind */
  | "OBJECT_BAD_BTF"
  /** a map definition libbpf refuses (SEC(".maps") or a global data section) */
  | "OBJECT_BAD_MAP"
  /** a relocation libbpf refuses (bad instruction, unknown symbol, wrong section) */
  | "OBJECT_BAD_RELO"
  /** an extern libbpf cannot classify or resolve (kconfig, ksym) */
  | "OBJECT_BAD_EXTERN"
  /** a program libbpf refuses to load (no type from its section, no attach target, …) */
  | "OBJECT_BAD_PROG"
  /** a fact of the generating machine that the caller did not supply (kconfig, kallsyms, …) */
  | "OBJECT_MISSING_HOST_FACT"
  /** a feature libbpf cannot put into a generated loader (struct_ops, prog-array slots, pins, …) */
  | "OBJECT_UNSUPPORTED";

/** A refusal of the object layer, with libbpf's errno for the same case where it has one. */
export class ObjectError extends Error {
  override readonly name = "ObjectError";
  readonly code: ObjectErrorCode;
  /** the object's name as the caller gave it */
  readonly object: string;
  /** the section (or other place) the error applies to, "" for the whole object */
  readonly section: string;
  /** byte offset inside `section`, or -1 */
  readonly offset: number;
  /** the negative errno libbpf returns for this case (e.g. -22 for -EINVAL), 0 if none */
  readonly errno: number;

  constructor(
    code: ObjectErrorCode,
    object: string,
    section: string,
    offset: number,
    detail: string,
    errno = 0,
  ) {
    const where = section === "" ? "" : ` section '${section}'`;
    const at = offset >= 0 ? ` at offset 0x${offset.toString(16)}` : "";
    super(`${object}:${where}${at}: ${detail}`);
    this.code = code;
    this.object = object;
    this.section = section;
    this.offset = offset;
    this.errno = errno;
  }
}

/**
 * errno values libbpf returns for the refusals modelled here (negated at use): the uapi errno
 * table, plus libbpf's own codes. `ENOTSUP` is userspace's (= EOPNOTSUPP, 95), not the kernel's
 * internal ENOTSUPP (524).
 */
export const Errno = {
  ...UapiErrno,
  ENOTSUP: UapiErrno.EOPNOTSUPP,
  /** LIBBPF_ERRNO__FORMAT */
  LIBBPF_FORMAT: 4003,
  /** LIBBPF_ERRNO__RELOC */
  LIBBPF_RELOC: 4006,
} as const;
