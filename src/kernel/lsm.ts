/**
 * LSM hooks of the BPF subsystem. Modules register in order; for int hooks the first non-zero
 * return wins (call_int_hook), void hooks run for every module.
 *
 * security_bpf_prog_load_post_integrity() is the one integrity interface of every profile
 * (spec/004 and Hornet's call): whichever scheme verified a program reports its verdict here,
 * with the record below, so that one policy module can enforce "verified" whatever the scheme.
 * Who calls it, per profile (scheme_hooks.ts): v2 and bpf-next from bpf_check() right after a
 * signature verified; mainline-6.18 from bpf_prog_load() after its check passed; kfunc from the
 * kfunc bpf_loader_verify_metadata() when the loader runs (only there); hornet from Hornet's
 * integrity hook at BPF_PROG_LOAD entry, for every load and with every verdict (Hornet enforces
 * nothing itself). Unsigned loads reach no integrity check in the BPF core's designs: a policy
 * sees them at admission. A BPF LSM program would report with source "bpf_lsm".
 */
import type { SchemeName } from "../scheme/types.js";
import type { ProgLoadAttr, Values } from "../uapi/layout.js";
import type { BpfMap } from "./map.js";
import type { BpfProg } from "./prog.js";

/**
 * The arguments of security_bpf_prog_load_post_integrity(prog, attr, token, kernel, lsmid,
 * verdict), as one plain record. Policy code reads `verdict` (a name of `scheme`'s verdict enum,
 * e.g. "VERIFIED", "METADATA_VERIFIED", "OK", "UNEXPECTED") and `kernel`; `verdictValue` is the
 * number the kernel would pass.
 */
export interface PostIntegrityRecord {
  /** The program whose integrity was checked (a loader, for the kfunc scheme). */
  readonly prog: BpfProg;
  /** Its BPF_PROG_LOAD attr; null when reported after the load returned (from a kfunc). */
  readonly attr: Values<typeof ProgLoadAttr> | null;
  /** BPF tokens are not modelled. */
  readonly token: null;
  /** The load came from the kernel (a loader's bpf_sys_bpf), not from a user bpf() call. */
  readonly kernel: boolean;
  /** The reporting LSM's id: "bpf" (the BPF core's own check), "hornet". */
  readonly lsmId: string;
  /** Which scheme's verdicts `verdict` names ("mainline": the insns-only check of 6.18). */
  readonly scheme: SchemeName | "mainline";
  readonly verdict: string;
  readonly verdictValue: number;
  /** Where the report came from: a kernel path, a kfunc a loader called, a BPF LSM program. */
  readonly source: "kernel" | "kfunc" | "bpf_lsm";
}

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
  /** security_bpf_prog_load_post_integrity(): a scheme's verdict; non-zero denies. */
  bpf_prog_load_post_integrity?(rec: PostIntegrityRecord): number;
}

export class Lsm {
  private readonly registered: LsmModule[] = [];
  /** The BPF LSM, last in the chain (as in the kernel's default lsm= order). */
  private bpfLsm: LsmModule | null = null;
  private modules: LsmModule[] = [];

  /** Installs the BPF LSM (runs attached BPF programs), always after the registered modules. */
  setBpfLsm(module: LsmModule | null): void {
    this.bpfLsm = module;
    this.rebuild();
  }

  private rebuild(): void {
    this.modules = this.bpfLsm ? [...this.registered, this.bpfLsm] : [...this.registered];
  }

  /** The BPF LSM module, if installed. */
  get bpfModule(): LsmModule | null {
    return this.bpfLsm;
  }

  /** The chain in call order (module names). */
  get order(): string[] {
    return this.modules.map((m) => m.name);
  }

  register(module: LsmModule): () => void {
    this.registered.push(module);
    this.rebuild();
    return () => {
      const i = this.registered.indexOf(module);
      if (i >= 0) this.registered.splice(i, 1);
      this.rebuild();
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

  /**
   * security_bpf_prog_load_post_integrity(): records the report on the program
   * (prog->aux->integrity) and asks every module; the first non-zero return denies.
   */
  bpf_prog_load_post_integrity(rec: PostIntegrityRecord): number {
    rec.prog.aux.integrity = { lsmId: rec.lsmId, scheme: rec.scheme, verdict: rec.verdict };
    for (const m of this.modules) {
      const r = m.bpf_prog_load_post_integrity?.(rec) ?? 0;
      if (r) return r;
    }
    return 0;
  }

  bpf_map_create(map: BpfMap, kernel: boolean): number {
    for (const m of this.modules) {
      const r = m.bpf_map_create?.(map, kernel) ?? 0;
      if (r) return r;
    }
    return 0;
  }
}
