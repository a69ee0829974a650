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

function tempPathFor(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
}

/** What a file's content may be: bytes, text, or pieces written one after another. */
export type FileData = Uint8Array | string | Iterable<Uint8Array>;

/**
 * Writes and flushes `data` into a new temporary file `tmp`; on failure removes it. Pieces are
 * written as they come, so a producer may hand out views of one reused buffer.
 */
function writeTemp(tmp: string, data: FileData, mode: number): void {
  const pieces: Iterable<Uint8Array> =
    typeof data === "string" ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
  let fd = -1;
  try {
    fd = openSync(tmp, "wx", mode);
    for (const bytes of pieces) {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    removeQuietly(tmp);
    throw e;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, flushed, then
 * renamed over the target. On any failure the temporary file is removed, the target is
 * untouched and an OutputError says why.
 */
export function writeAtomic(path: string, data: FileData, mode = 0o644): void {
  writeAtomicAll([{ path, data }], mode);
}

/**
 * Writes several files all or nothing: every file goes to its temporary first, and only when
 * all of them are written are they renamed over their targets. If a temporary cannot be written
 * no target is touched; if a rename fails, the targets already renamed are removed, so no
 * output of this call remains. An OutputError names the file that failed.
 */
export function writeAtomicAll(
  files: readonly { path: string; data: FileData }[],
  mode = 0o644,
): void {
  const temps: string[] = [];
  let current = "";
  try {
    for (const f of files) {
      current = f.path;
      const tmp = tempPathFor(f.path);
      writeTemp(tmp, f.data, mode);
      temps.push(tmp);
    }
  } catch (e) {
    for (const t of temps) removeQuietly(t);
    throw new OutputError(current, reasonOf(e));
  }
  const renamed: string[] = [];
  for (let i = 0; i < files.length; i++) {
    const path = files[i].path;
    try {
      renameSync(temps[i], path);
      renamed.push(path);
    } catch (e) {
      for (const t of temps.slice(i)) removeQuietly(t);
      for (const r of renamed) removeQuietly(r);
      throw new OutputError(path, reasonOf(e));
    }
  }
}
