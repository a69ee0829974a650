/** The ELF64 reader for BPF objects: {@link parseElf} and its typed {@link ElfError}. */
export {
  ElfError,
  type ElfFile,
  type ElfRel,
  type ElfSection,
  type ElfSymbol,
  EM_BPF,
  parseElf,
} from "./elf.js";
