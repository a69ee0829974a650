/**
 * The README's library example, taken from README.md as it stands, so that the tests run the
 * text a reader copies: the first ```js block of the "## Library" section.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./vectors.js";

export function readmeLibraryExample(): string {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Library\n"));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error("README.md has no ```js block in its Library section");
  return m[1];
}

/** What the example prints, line by line. */
export const README_EXAMPLE_OUTPUT = /^VERIFIED\nVERIFIED const_ret 7\n$/;
