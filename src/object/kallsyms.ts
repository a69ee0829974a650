/**
 * /proc/kallsyms text, read as libbpf's `libbpf_kallsyms_parse()` reads it: per line an address in
 * hex, a type letter and a name (anything after the name is a module tag and ignored). Names are
 * cut at 499 characters as libbpf's sscanf("%499s") does, and a data symbol's `.llvm.<hash>`
 * suffix (LTO) is dropped, so a ksym matches its kernel name.
 *
 * /proc/kallsyms has ~200k lines: one sticky regex per line, and the address is left as text for
 * the caller to convert only for the names it wants.
 */
import { Errno, ObjectError } from "./errors.js";

/** One kallsyms line: address, type letter, name, then anything up to the end of the line. */
const KALLSYMS_LINE = /[ \t]*([0-9a-fA-F]+)[ \t]+(\S)[ \t]+(\S+)[^\n]*(?:\n|$)/y;

/**
 * Calls `visit(name, addrHex, rawName)` for each line in order (blank lines skipped); `name` is the
 * lookup name (cut, `.llvm.` dropped for data symbols), `rawName` the name as written (cut).
 * Returns null at the end, or the first line that is not a kallsyms entry (the walk stops there).
 */
export function scanKallsyms(
  text: string,
  visit: (name: string, addrHex: string, rawName: string) => void,
): string | null {
  let pos = 0;
  while (pos < text.length) {
    const c = text.charCodeAt(pos);
    if (c === 0x0a || c === 0x0d || c === 0x20 || c === 0x09) {
      const eol = text.indexOf("\n", pos);
      if (text.slice(pos, eol < 0 ? text.length : eol).trim() === "") {
        pos = eol < 0 ? text.length : eol + 1;
        continue;
      }
    }
    KALLSYMS_LINE.lastIndex = pos;
    const m = KALLSYMS_LINE.exec(text);
    if (!m) {
      const eol = text.indexOf("\n", pos);
      return text.slice(pos, eol < 0 ? text.length : eol).trim();
    }
    pos = KALLSYMS_LINE.lastIndex;
    const rawName = m[3].slice(0, 499);
    const llvm = m[2] === "d" ? rawName.indexOf(".llvm.") : -1;
    visit(llvm >= 0 ? rawName.slice(0, llvm) : rawName, m[1], rawName);
  }
  return null;
}

/** A kallsyms address as libbpf keeps it: the hex text as an unsigned 64-bit value. */
export function kallsymsAddr(addrHex: string): bigint {
  return BigInt(`0x${addrHex}`) & 0xffffffffffffffffn;
}

/**
 * Every symbol of a kallsyms text with its address (the first line of a name wins, as the kernel's
 * kallsyms_lookup_name() answers). A line that is not an entry is an OBJECT_MISSING_HOST_FACT
 * error naming `source`. Addresses are 0 when kptr_restrict hides them: callers decide what a
 * 0 means.
 */
export function parseKallsyms(text: string, source = "/proc/kallsyms"): Map<string, bigint> {
  const syms = new Map<string, bigint>();
  const bad = scanKallsyms(text, (name, addrHex) => {
    if (!syms.has(name)) syms.set(name, kallsymsAddr(addrHex));
  });
  if (bad !== null)
    throw new ObjectError(
      "OBJECT_MISSING_HOST_FACT",
      source,
      "",
      -1,
      `failed to read kallsyms entry '${bad}'`,
      -Errno.EINVAL,
    );
  return syms;
}
