/** The host-kernel backend: real bpf(2)/keyctl(2)/mmap(2) through koffi, and its probes. */
export * from "./arch.js";
export * from "./backend.js";
export * from "./libc.js";
export * from "./memory.js";
export * from "./probe.js";
