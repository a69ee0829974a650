/** Instructions: opcodes, the 8-byte wire form, the kernel digest, an assembler, a disassembler. */

export * from "./builder.js";
export * from "./digest.js";
export * from "./disasm.js";
export * from "./insn.js";
export * from "./opcode.js";
