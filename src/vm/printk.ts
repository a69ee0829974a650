/**
 * bpf_trace_printk's format handling (bpf_bprintf_prepare): at most three arguments, the
 * conversions %d %i %u %x %X %c %s %p %px %pK and %% with the l / ll length modifiers. The result
 * is the text appended to the trace buffer, or a negative errno for a format the kernel refuses.
 */
import { Errno } from "../uapi/errno.js";

export const MAX_TRACE_PRINTK_ARGS = 3;

/**
 * Formats `fmt` with 64-bit raw arguments; `readString` reads a NUL-terminated kernel string
 * for %s (undefined on a fault, printed as the kernel's "(efault)").
 */
export function formatTracePrintk(
  fmt: string,
  args: readonly bigint[],
  readString: (addr: bigint) => string | undefined,
): string | number {
  let out = "";
  let n = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c !== "%") {
      out += c;
      continue;
    }
    i++;
    if (fmt[i] === "%") {
      out += "%";
      continue;
    }
    // flags and width are passed through to the kernel's vsnprintf; the model accepts only digits
    let width = "";
    while (i < fmt.length && /[0-9-]/.test(fmt[i])) width += fmt[i++];
    let longs = 0;
    while (fmt[i] === "l" && longs < 2) {
      longs++;
      i++;
    }
    const conv = fmt[i];
    if (conv === undefined) return -Errno.EINVAL;
    if (n >= MAX_TRACE_PRINTK_ARGS) return -Errno.EINVAL;
    const raw = args[n++] ?? 0n;
    const bits = longs ? 64 : 32;
    let text: string;
    switch (conv) {
      case "d":
      case "i":
        text = BigInt.asIntN(bits, raw).toString();
        break;
      case "u":
        text = BigInt.asUintN(bits, raw).toString();
        break;
      case "x":
        text = BigInt.asUintN(bits, raw).toString(16);
        break;
      case "X":
        text = BigInt.asUintN(bits, raw).toString(16).toUpperCase();
        break;
      case "c":
        if (longs) return -Errno.EINVAL;
        text = String.fromCharCode(Number(raw & 0xffn));
        break;
      case "s":
        if (longs) return -Errno.EINVAL;
        text = readString(raw) ?? "(efault)";
        break;
      case "p": {
        if (longs) return -Errno.EINVAL;
        if (fmt[i + 1] === "x" || fmt[i + 1] === "K") i++;
        text = `0x${BigInt.asUintN(64, raw).toString(16).padStart(16, "0")}`;
        break;
      }
      default:
        return -Errno.EINVAL;
    }
    const w = Number.parseInt(width || "0", 10);
    out += width.startsWith("-")
      ? text.padEnd(-w)
      : text.padStart(w, width.startsWith("0") ? "0" : " ");
  }
  return out;
}
