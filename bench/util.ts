/** Shared measuring helpers for the `npm run bench` sections. Each section prints its own table. */

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Wall time of one call in milliseconds. */
export function timeMs(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Median wall time over `runs` calls after one warm-up call. */
export function medianMs(fn: () => void, runs: number): number {
  fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) ts.push(timeMs(fn));
  return median(ts);
}

export function ms(x: number): string {
  return `${x.toFixed(3)} ms`;
}

export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

/** One table row: the first cell left-aligned, the rest right-aligned to the given widths. */
export function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" ");
}
