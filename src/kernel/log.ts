/**
 * The verifier log (kernel/bpf/log.c): bpf_vlog_init() argument checks, messages collected only
 * when a level and a buffer are given, the rotating (default) and fixed (BPF_LOG_FIXED) modes,
 * the true size reported back, and ENOSPC when the buffer was too small.
 */
import { Limits, LogLevel } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";

export interface LogSink {
  /** copy_to_user into the log buffer; false on a fault. */
  write(addr: bigint, data: Uint8Array): boolean;
}

export class VerifierLog {
  private chunks: string[] = [];
  private length = 0;

  private constructor(
    readonly level: number,
    readonly ubuf: bigint,
    readonly len_total: number,
    /** Keep the messages even without a buffer (the model's record of an inner load's log). */
    readonly keep = false,
  ) {}

  /** bpf_vlog_init(): the log, or -EINVAL for an inconsistent level/buffer/size triple. */
  static init(level: number, ubuf: bigint, len_total: number, keep = false): VerifierLog | number {
    if (!!ubuf !== !!len_total) return -Errno.EINVAL;
    if (ubuf && level === 0) return -Errno.EINVAL;
    if (level & ~Limits.LOG_MASK) return -Errno.EINVAL;
    if (len_total > Limits.LOG_SIZE_MAX) return -Errno.EINVAL;
    return new VerifierLog(level, ubuf, len_total, keep);
  }

  /** A log that records nothing (loads that never reach the verifier). */
  static none(): VerifierLog {
    return new VerifierLog(0, 0n, 0);
  }

  /** bpf_verifier_log_needed() */
  get needed(): boolean {
    return this.level !== 0 && this.ubuf !== 0n;
  }

  /** verbose(): appends one message (the caller supplies the trailing newline). */
  verbose(msg: string): void {
    if (!this.needed && !this.keep) return;
    this.chunks.push(msg);
    this.length += Buffer.byteLength(msg);
  }

  /** Everything logged so far, untruncated. */
  get text(): string {
    return this.chunks.join("");
  }

  /**
   * bpf_vlog_finalize(): writes the (possibly truncated) log into the user buffer and returns
   * { err, trueSize } where err is 0, -ENOSPC (buffer too small) or -EFAULT, and trueSize is
   * the buffer size that would have held the whole log (log_true_size).
   */
  finalize(sink: LogSink): { err: number; trueSize: number } {
    if (this.level === 0) return { err: 0, trueSize: 0 };
    const trueSize = this.length + 1;
    if (!this.ubuf) return { err: 0, trueSize };
    const all = Buffer.from(this.text);
    const room = this.len_total - 1;
    let kept: Uint8Array;
    if (all.length <= room) kept = all;
    else if (this.level & LogLevel.FIXED) kept = all.subarray(0, room);
    else kept = all.subarray(all.length - room);
    const out = new Uint8Array(kept.length + 1);
    out.set(kept);
    if (!sink.write(this.ubuf, out)) return { err: -Errno.EFAULT, trueSize };
    return { err: trueSize > this.len_total ? -Errno.ENOSPC : 0, trueSize };
  }
}
