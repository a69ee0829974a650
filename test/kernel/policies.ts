/**
 * The two example policies of the design doc ("Enforcement via LSMs") as model LSM modules:
 *
 * - AdmissionPolicy (`lsm/bpf_prog_load`): trust in-kernel loads; otherwise require a valid
 *   signature, and accept a user-keyring signature only when the key/keyring serial is on an
 *   allowlist. Every decision, allow and deny, is appended to an audit stream.
 * - FirstSightingObserver (`lsm/bpf_prog` + `lsm/bpf_prog_free`): records a verified program
 *   the first time an fd to it is minted (that is its load; later sightings are
 *   PROG_GET_FD_BY_ID), keyed by the program object because its id is already 0 when
 *   bpf_prog_free runs, and forgets it there.
 */
import type { LsmModule } from "../../src/kernel/lsm.js";
import type { BpfProg } from "../../src/kernel/prog.js";
import { SigKeyring, SigVerdict } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import type { ProgLoadAttr, Values } from "../../src/uapi/layout.js";

/** struct decision of the doc's audit ring buffer. */
export interface Decision {
  readonly prog_type: number;
  readonly verdict: number;
  readonly ktype: number;
  readonly serial: number;
  readonly ret: number;
}

export class AdmissionPolicy implements LsmModule {
  readonly name = "admit";
  /** trusted_user_keys: serials of user keys/keyrings additionally trusted. */
  readonly trustedUserKeys = new Set<number>();
  /** The audit stream a userspace logger would consume. */
  readonly audit: Decision[] = [];

  bpf_prog_load(
    prog: BpfProg,
    attr: Values<typeof ProgLoadAttr>,
    _token: null,
    kernel: boolean,
  ): number {
    const { verdict, keyring_type: ktype, keyring_serial: serial } = prog.aux.sig;
    if (kernel) return 0; // trust in-kernel loads
    let ret = 0;
    if (verdict !== SigVerdict.VERIFIED) ret = -Errno.EPERM;
    else if (ktype === SigKeyring.USER && !this.trustedUserKeys.has(serial)) ret = -Errno.EPERM;
    this.audit.push({ prog_type: attr.prog_type, verdict, ktype, serial, ret });
    return ret;
  }
}

/** struct rec of the doc's `live` map. */
export interface Rec {
  readonly id: number;
  readonly ktype: number;
  readonly serial: number;
}

export class FirstSightingObserver implements LsmModule {
  readonly name = "observe";
  /** live: program object → record (the doc keys by the struct bpf_prog pointer). */
  readonly live = new Map<BpfProg, Rec>();
  /** Newly-loaded verified programs, in order: the doc's "newly-loaded action". */
  readonly loads: Rec[] = [];
  /** Ids bpf_prog_free saw (always 0: bpf_prog_free_id() ran first). */
  readonly freedIds: number[] = [];

  bpf_prog(prog: BpfProg): number {
    if (prog.aux.sig.verdict !== SigVerdict.VERIFIED) return 0;
    if (this.live.has(prog)) return 0; // seen before: a later fd, not a load
    const r: Rec = {
      id: prog.aux.id,
      ktype: prog.aux.sig.keyring_type,
      serial: prog.aux.sig.keyring_serial,
    };
    this.live.set(prog, r);
    this.loads.push(r);
    return 0;
  }

  bpf_prog_free(prog: BpfProg): void {
    if (!this.live.has(prog)) return;
    this.freedIds.push(prog.aux.id);
    this.live.delete(prog);
  }
}
