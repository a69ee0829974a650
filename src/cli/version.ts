/** The package's version, read from its package.json (one source of truth for `--version`). */
import { readFileSync } from "node:fs";

/** `version` of the package.json three levels above this file (dist/src/cli/ → package root). */
export function packageVersion(): string {
  const url = new URL("../../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}
