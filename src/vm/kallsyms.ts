/** The model kernel's symbol table (src/kernel/kallsyms.ts), for the helpers. */
export { KALLSYMS, KERNEL_VARS } from "../kernel/kallsyms.js";
