/**
 * An LSM module that only watches: at the bpf_prog_load admission hook (which the v2 load path
 * calls after the signature check) it records each program's name and the verdict, keyring type
 * and keyring serial the kernel put in prog->aux->sig. That is what a policy module sees, and
 * how `bpfsign load` reports whether the loader was verified.
 */
import type { Lsm } from "../kernel/lsm.js";
import { enumName, SigKeyring, SigVerdict } from "../uapi/constants.js";

export interface RecordedVerdict {
  prog: string;
  verdict: "UNSIGNED" | "VERIFIED";
  keyring_type: string;
  keyring_serial: number;
}

export class VerdictRecorder {
  readonly seen: RecordedVerdict[] = [];
  private readonly unregister: () => void;

  constructor(lsm: Lsm) {
    this.unregister = lsm.register({
      name: "verdict-recorder",
      bpf_prog_load: (prog) => {
        this.seen.push({
          prog: prog.aux.name,
          verdict: prog.aux.sig.verdict === SigVerdict.VERIFIED ? "VERIFIED" : "UNSIGNED",
          keyring_type: enumName(SigKeyring, prog.aux.sig.keyring_type),
          keyring_serial: prog.aux.sig.keyring_serial,
        });
        return 0;
      },
    });
  }

  /** The last verdict recorded for a program of this name. */
  last(prog: string): RecordedVerdict | undefined {
    for (let i = this.seen.length - 1; i >= 0; i--)
      if (this.seen[i].prog === prog) return this.seen[i];
    return undefined;
  }

  dispose(): void {
    this.unregister();
  }
}
