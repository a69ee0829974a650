/**
 * The verifier's log while do_check runs: appended in pieces, rewound to an earlier position
 * (bpf_vlog_reset, at log_level 1 when a path ends and the walk backtracks, and to join the
 * register state onto the instruction line it belongs to). Kept as chunks so that a long
 * walk (a million instructions) costs linear time.
 */
export class VerifierLogBuf {
  private chunks: string[] = [];
  private ends: number[] = [];
  private total = 0;

  get length(): number {
    return this.total;
  }

  append(s: string): void {
    if (!s) return;
    this.chunks.push(s);
    this.total += s.length;
    this.ends.push(this.total);
  }

  /** bpf_vlog_reset(): drop everything from `pos` on. */
  truncate(pos: number): void {
    if (pos >= this.total) return;
    while (
      this.chunks.length &&
      this.ends[this.ends.length - 1] - this.chunks[this.chunks.length - 1].length >= pos
    ) {
      this.chunks.pop();
      this.ends.pop();
    }
    if (this.chunks.length) {
      const last = this.chunks.length - 1;
      const start = this.ends[last] - this.chunks[last].length;
      this.chunks[last] = this.chunks[last].slice(0, pos - start);
      this.ends[last] = pos;
    }
    this.total = pos;
  }

  toString(): string {
    const s = this.chunks.join("");
    this.chunks = [s];
    this.ends = [s.length];
    return s;
  }
}
