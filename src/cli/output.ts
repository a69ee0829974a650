/** Where a command writes: injected so commands run in-process under test. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** stdout is a terminal (progress bars instead of JSON lines); absent means no */
  stdoutIsTTY?: boolean;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  get stdoutIsTTY() {
    return process.stdout.isTTY === true;
  },
};

export function hex(bytes: Uint8Array | null | undefined): string | null {
  return bytes ? Buffer.from(bytes).toString("hex") : null;
}

/** One JSON document on stdout, newline-terminated. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(
    `${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? hex(v) : v), 2)}\n`,
  );
}

/** Aligned `key: value` lines. */
export function printFields(
  io: CliIo,
  fields: [string, string | number | null][],
  indent = "",
): void {
  const w = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) io.stdout(`${indent}${`${k}:`.padEnd(w + 1)} ${v ?? "-"}\n`);
}
