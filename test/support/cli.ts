/** Runs the bpfsign command line in-process with captured output (tests of src/cli). */
import type { CliIo } from "../../src/cli/output.js";
import { run } from "../../src/cli/program.js";

export interface Ran {
  code: number;
  out: string;
  err: string;
}

/** `bpfsign ARGS…` with the environment `env` (and stdout a terminal when `tty`). */
export async function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
  tty?: boolean,
): Promise<Ran> {
  let out = "";
  let err = "";
  const io: CliIo = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    env,
  };
  if (tty !== undefined) io.stdoutIsTTY = tty;
  const code = await run(args, io);
  return { code, out, err };
}
