/** File I/O at the CLI's edge: typed read errors and atomic writes (temp file + rename). */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { InputError, OutputError } from "./errors.js";

function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT":
      return "no such file (ENOENT)";
    case "EACCES":
      return "permission denied (EACCES)";
    case "EISDIR":
      return "is a directory (EISDIR)";
    default:
      return err.code ? `${err.message}` : String(e);
  }
}

/** Reads a whole input file; `what` names it in the error ("light skeleton", "certificate"). */
export function readInput(path: string, what: string): Uint8Array {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new InputError(path, what, reasonOf(e));
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, flushed, then
 * renamed over the target. On any failure the temporary file is removed, the target is
 * untouched and an OutputError says why.
 */
export function writeAtomic(path: string, data: Uint8Array | string, mode = 0o644): void {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let fd = -1;
  try {
    fd = openSync(tmp, "wx", mode);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created
    }
    throw new OutputError(path, reasonOf(e));
  }
}
