/**
 * BTF: the parser and serialiser (`Btf`), `.BTF.ext` (`BtfExt`), C declarations (`BtfDump`) and
 * whole-BTF C headers (`dumpBtfC`).
 */

export * from "./btf.js";
export * from "./btf_dump.js";
export * from "./btf_dump_c.js";
export * from "./btf_ext.js";
