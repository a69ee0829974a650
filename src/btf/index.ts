/** BTF: the parser and serialiser (`Btf`), `.BTF.ext` (`BtfExt`) and C declarations (`BtfDump`). */

export * from "./btf.js";
export * from "./btf_dump.js";
export * from "./btf_ext.js";
