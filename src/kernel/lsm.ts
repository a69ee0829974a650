/**
 * LSM hooks of the BPF subsystem. Modules register in order; for int hooks the first non-zero
 * return wins (call_int_hook), void hooks run for every module.
 */
import type { ProgLoadAttr, Values } from "../uapi/layout.js";
import type { BpfMap } from "./map.js";
import type { BpfProg } from "./prog.js";

export interface LsmModule {
  readonly name: string;
  /** security_bpf(): every bpf() command, with the attr as copied in. */
  bpf?(cmd: number, attr: Uint8Array, size: number, kernel: boolean): number;
  /** security_bpf_prog_load(): admission of a program load (see the profile for where). */
  bpf_prog_load?(
    prog: BpfProg,
    attr: Values<typeof ProgLoadAttr>,
    token: null,
    kernel: boolean,
  ): number;
  /** security_bpf_prog(): every time a program fd is minted. */
  bpf_prog?(prog: BpfProg): number;
  /** security_bpf_prog_free(): when a program is freed (its id is already 0). */
  bpf_prog_free?(prog: BpfProg): void;
  /** security_bpf_map_create() */
  bpf_map_create?(map: BpfMap, kernel: boolean): number;
}

export class Lsm {
  private readonly modules: LsmModule[] = [];

  register(module: LsmModule): () => void {
    this.modules.push(module);
    return () => {
      const i = this.modules.indexOf(module);
      if (i >= 0) this.modules.splice(i, 1);
    };
  }

  bpf(cmd: number, attr: Uint8Array, size: number, kernel: boolean): number {
    for (const m of this.modules) {
      const r = m.bpf?.(cmd, attr, size, kernel) ?? 0;
      if (r) return r;
    }
    return 0;
  }

  bpf_prog_load(prog: BpfProg, attr: Values<typeof ProgLoadAttr>, kernel: boolean): number {
    for (const m of this.modules) {
      const r = m.bpf_prog_load?.(prog, attr, null, kernel) ?? 0;
      if (r) return r;
    }
    return 0;
  }

  bpf_prog(prog: BpfProg): number {
    for (const m of this.modules) {
      const r = m.bpf_prog?.(prog) ?? 0;
      if (r) return r;
    }
    return 0;
  }

  bpf_prog_free(prog: BpfProg): void {
    for (const m of this.modules) m.bpf_prog_free?.(prog);
  }

  bpf_map_create(map: BpfMap, kernel: boolean): number {
    for (const m of this.modules) {
      const r = m.bpf_map_create?.(map, kernel) ?? 0;
      if (r) return r;
    }
    return 0;
  }
}
