/**
 * BPF links of programs attached through BTF (bpf_tracing_link): BPF_LINK_CREATE and
 * BPF_RAW_TRACEPOINT_OPEN make one, the link fd holds the program, and closing the last fd
 * detaches it. LSM programs attach to the hook their attach_btf_id names; the kernel's hook
 * sites run every program attached there, in attach order (bpf_lsm.ts in vm/ runs them).
 */
import type { BpfProg } from "./prog.js";

export class BpfLink {
  refcnt = 0;
  id = 0;
  constructor(
    readonly prog: BpfProg,
    readonly attachType: number,
    /** The hook or attach point (`bpf_prog_load` for lsm/bpf_prog_load). */
    readonly point: string,
  ) {}
}

/** The programs attached at each LSM hook and tracing point, in attach order. */
export class Attachments {
  private readonly byPoint = new Map<string, BpfLink[]>();

  add(link: BpfLink): void {
    const list = this.byPoint.get(link.point) ?? [];
    list.push(link);
    this.byPoint.set(link.point, list);
  }

  remove(link: BpfLink): void {
    const list = this.byPoint.get(link.point);
    const i = list?.indexOf(link) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  /** The programs at `point`, in attach order (a copy: a program may detach another). */
  progs(point: string): BpfProg[] {
    return (this.byPoint.get(point) ?? []).map((l) => l.prog);
  }

  get size(): number {
    let n = 0;
    for (const l of this.byPoint.values()) n += l.length;
    return n;
  }
}
