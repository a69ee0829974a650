/**
 * Differential runs: the same probe functions run against two backends (the model with a
 * profile, the host kernel), each returning a normalized, comparable result — errno names,
 * values, hex bytes; fds become "fd" — and the comparison of the two, with an allow-list whose
 * every entry says why a difference is expected.
 */
import { isDeepStrictEqual } from "node:util";
import type { BpfBackend } from "../uapi/backend.js";
import { Bpf } from "../uapi/bpf.js";
import { BpfError, errnoName } from "../uapi/errno.js";

/** A normalized probe result: JSON-like values only, no fd numbers or addresses. */
export type Normal = string | number | boolean | null | Normal[] | { [k: string]: Normal };

/** What a probe gets: the backend, its typed client and fd bookkeeping. */
export class ProbeContext {
  readonly bpf: Bpf;
  private readonly fds: number[] = [];

  constructor(readonly backend: BpfBackend) {
    this.bpf = new Bpf(backend);
  }

  /** Remembers an fd to close at the end of the probe; returns it. */
  keep(fd: number): number {
    if (fd >= 0) this.fds.push(fd);
    return fd;
  }

  /** Runs a call: "ok" (or the normalized value it returns) or the errno name it failed with. */
  attempt(fn: () => unknown): Normal {
    try {
      const v = fn();
      return v === undefined ? "ok" : (v as Normal);
    } catch (e) {
      if (e instanceof BpfError) return e.errnoName;
      throw e;
    }
  }

  /** A raw return value normalized: "ok" for >= 0, else the errno name. */
  ret(r: number): Normal {
    return r >= 0 ? "ok" : errnoName(r);
  }

  /** Closes every kept fd (in reverse order). */
  release(): void {
    for (const fd of this.fds.splice(0).reverse()) this.backend.close(fd);
  }
}

export interface DiffProbe {
  /** A stable name; the section of real-kernel.md it covers comes first (e.g. "s3.excl_*"). */
  readonly name: string;
  run(ctx: ProbeContext): Normal;
}

/** An expected difference: which probe, why, and when the difference is the expected one. */
export interface AllowedDifference {
  readonly probe: string;
  readonly reason: string;
  /** True when this pair of results is the difference the reason explains. */
  readonly matches: (model: Normal, host: Normal) => boolean;
}

/** A backend for one probe, and how to release it. */
export interface BackendLease {
  readonly backend: BpfBackend;
  dispose(): void;
}

export interface ProbeOutcome {
  readonly name: string;
  readonly model: Normal;
  readonly host: Normal;
  readonly agree: boolean;
  /** The allow-list reason when they differ as expected. */
  readonly allowed: string | null;
}

/** Runs one probe on a fresh backend; a thrown non-BPF error becomes `{ threw: message }`. */
export function runProbe(probe: DiffProbe, lease: BackendLease): Normal {
  const ctx = new ProbeContext(lease.backend);
  try {
    return probe.run(ctx);
  } catch (e) {
    return { threw: (e as Error).message };
  } finally {
    ctx.release();
    lease.dispose();
  }
}

/** Runs every probe on both sides and compares. */
export function differential(
  probes: readonly DiffProbe[],
  model: () => BackendLease,
  host: () => BackendLease,
  allowed: readonly AllowedDifference[] = [],
): ProbeOutcome[] {
  return probes.map((p) => {
    const m = runProbe(p, model());
    const h = runProbe(p, host());
    const agree = isDeepStrictEqual(m, h);
    const allow = agree ? undefined : allowed.find((a) => a.probe === p.name && a.matches(m, h));
    return { name: p.name, model: m, host: h, agree, allowed: allow?.reason ?? null };
  });
}
