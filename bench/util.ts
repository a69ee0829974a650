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

/** One speed or memory goal of issue 11, as measured in this run. */
export interface Goal {
  name: string;
  /** the measured ratio or value, in the unit the goal is stated in */
  value: number;
  /** printed after the value: "x" for ratios, " ms", … */
  unit: string;
  /** "max": value ≤ target passes; "min": value ≥ target passes */
  kind: "max" | "min";
  target: number;
  /** what the value is (a ratio of what to what), printed in the summary */
  what: string;
}

const goals: Goal[] = [];

/** Records a goal and prints its line with the PASS/MISS mark. */
export function goal(g: Goal): void {
  goals.push(g);
  console.log(`  goal: ${goalLine(g)}`);
}

function goalLine(g: Goal): string {
  const pass = g.kind === "max" ? g.value <= g.target : g.value >= g.target;
  const op = g.kind === "max" ? "≤" : "≥";
  return `${pass ? "PASS" : "MISS"} ${g.name}: ${g.value.toFixed(g.unit === "x" ? 2 : 3)}${g.unit} (goal ${op} ${g.target}${g.unit}; ${g.what})`;
}

/** The goals recorded so far, one line each. */
export function goalSummary(): string[] {
  return goals.map(goalLine);
}

/** CPU time (user + system, all threads of this process) of one call in milliseconds. */
export function cpuMs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

/**
 * Medians of several functions measured in turn, one call of each per round (after
 * `warmupRounds` unmeasured rounds, one by default), in CPU time: the goals compare what our code costs with what SHA-256 (or the C loop)
 * costs, and on a machine shared with other work wall time also counts the time other processes
 * ran (on an idle machine the two agree).
 */
export function interleavedMedians(
  fns: (() => void)[],
  rounds: number,
  warmupRounds = 1,
): number[] {
  for (let r = 0; r < warmupRounds; r++) for (const f of fns) f();
  const ts = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) for (const [i, f] of fns.entries()) ts[i].push(cpuMs(f));
  return ts.map(median);
}
