/**
 * The load policy as an LSM module of the model kernel, in the manner of IPE: at the
 * `bpf_prog_load` admission hook (and at a post-integrity hook when the kernel grows one) it
 * builds the policy facts of the program, decides, writes an audit record, and refuses a denied
 * load with EACCES (or only records the denial when not enforcing).
 *
 * The facts at the hook: name, type and expected attach type of the program, the verdict,
 * keyring type and serial the signature check recorded (prog->aux->sig), whether the load comes
 * from inside the kernel (a loader's bpf_sys_bpf), the helpers its instructions call, and, for a
 * light-skeleton loader whose metadata map is already bound (a signed v2 load: fd_array_cnt = 1),
 * what the loader will install, read from the frozen metadata value without running it. The
 * signer's key id and kfunc names are not known here (null): rules on them never match at the hook.
 *
 * The hook receives no fd_array, and the kernel copies the bound maps into prog->aux only after
 * the verifier; so the module watches map creation (`bpf_map_create`) and, for a verified
 * SYSCALL program, takes the live, frozen, one-element ARRAY map that is exclusive to the
 * program's digest: the only map such a program can have bound, whose value the signature check
 * has just folded in. When several such maps with different values are alive (the same loader
 * being loaded twice at once with different metadata), the install list is unknown.
 *
 * Audit records, one line each (IPE's key=value style):
 *
 *   ipe_op=BPF_PROG_LOAD ipe_hook=bpf_prog_load enforcing=1 prog_name="count_pkts"
 *     prog_type=socket_filter attach_type=none bpf_signature=UNSIGNED bpf_keyring=NONE
 *     bpf_keyring_serial=- bpf_kernel=TRUE rule="op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW"
 *     rule_line=7 action=ALLOW
 *
 * `rule="DEFAULT action=…"` / `rule="DEFAULT op=… action=…"` with `rule_line=-` when the default
 * decided.
 */

import { bytesEqual } from "../crypto/asn1.js";
import type { Lsm, LsmModule, PostIntegrityRecord } from "../kernel/lsm.js";
import type { BpfMap } from "../kernel/map.js";
import type { BpfProg } from "../kernel/prog.js";
import { type Decision, decide } from "../policy/decide.js";
import type { PolicyFacts } from "../policy/facts.js";
import { formatDefaultRule } from "../policy/format.js";
import type { Policy, PolicyOp } from "../policy/model.js";
import { helpersOf, loaderInstallFacts, loadFacts } from "../skeleton/policy_facts.js";
import { MapType, ProgType, SigVerdict } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { ProgLoadAttr, Values } from "../uapi/layout.js";
import { isVerifiedVerdict } from "./require_verified.js";

export interface PolicyAuditRecord {
  op: PolicyOp;
  hook: "bpf_prog_load" | "bpf_prog_load_post_integrity";
  enforcing: boolean;
  facts: PolicyFacts;
  decision: Decision;
  /** the record as one text line */
  text: string;
}

export interface PolicyModuleOptions {
  /** refuse denied loads (default true); false only records them, as IPE's permissive mode */
  enforce?: boolean;
  /** every record is also handed here (e.g. written to a log) */
  sink?: (record: PolicyAuditRecord) => void;
}

const quote = (s: string) => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;

function auditRecordText(
  hook: string,
  enforcing: boolean,
  f: PolicyFacts,
  d: Decision,
  defaultText: string,
): string {
  return [
    `ipe_op=${d.op}`,
    `ipe_hook=${hook}`,
    `enforcing=${enforcing ? 1 : 0}`,
    `prog_name=${quote(f.progName)}`,
    `prog_type=${f.progType}`,
    `attach_type=${f.attachType}`,
    `bpf_signature=${f.verdict}`,
    `bpf_keyring=${f.keyringType}`,
    `bpf_keyring_serial=${f.keyringSerial ?? "-"}`,
    `bpf_kernel=${f.kernel ? "TRUE" : "FALSE"}`,
    `rule=${quote(d.rule === "default" ? defaultText : d.rule.text)}`,
    `rule_line=${d.rule === "default" ? "-" : d.rule.line}`,
    `action=${d.action}`,
  ].join(" ");
}

export class PolicyModule implements LsmModule {
  readonly name = "bpfsign-policy";
  readonly records: PolicyAuditRecord[] = [];
  readonly enforce: boolean;
  private readonly sink?: (record: PolicyAuditRecord) => void;
  private unregister: (() => void) | null = null;
  /** maps created while installed, for finding a loader's metadata map */
  private maps: BpfMap[] = [];

  constructor(
    readonly policy: Policy,
    options: PolicyModuleOptions = {},
  ) {
    this.enforce = options.enforce ?? true;
    this.sink = options.sink;
  }

  /** Registers on the kernel's LSM list (after the modules already there); returns this. */
  install(lsm: Lsm): this {
    this.unregister = lsm.register(this);
    return this;
  }

  dispose(): void {
    this.unregister?.();
    this.unregister = null;
  }

  /** security_bpf_map_create(): remembers the map (never refuses). */
  bpf_map_create(map: BpfMap, _kernel: boolean): number {
    this.maps.push(map);
    return 0;
  }

  /** The metadata value bound to a verified loader at the hook, or null (see the file comment). */
  private boundMetadata(prog: BpfProg): Uint8Array | null {
    this.maps = this.maps.filter((m) => m.refcnt > 0);
    if (prog.type !== ProgType.SYSCALL || prog.aux.sig.verdict !== SigVerdict.VERIFIED) return null;
    const values: Uint8Array[] = [];
    for (const m of this.maps) {
      if (m.map_type !== MapType.ARRAY || m.max_entries !== 1 || !m.frozen) continue;
      if (!m.excl_prog_sha || !bytesEqual(m.excl_prog_sha, prog.digest)) continue;
      const v = m.lookup(new Uint8Array(4));
      if (typeof v !== "number") values.push(v);
    }
    if (values.length === 0 || values.some((v) => !bytesEqual(v, values[0]))) return null;
    return values[0];
  }

  /** The facts of a program at a hook. */
  factsOf(op: PolicyOp, prog: BpfProg, kernel: boolean, verified?: boolean): PolicyFacts {
    const metadata = this.boundMetadata(prog);
    const installs = metadata ? loaderInstallFacts(prog.insnsi, metadata) : null;
    return loadFacts({
      op,
      progName: prog.aux.name,
      progType: prog.type,
      expectedAttachType: prog.expected_attach_type,
      verified: verified ?? prog.aux.sig.verdict === SigVerdict.VERIFIED,
      keyringType: prog.aux.sig.keyring_type,
      keyringSerial: prog.aux.sig.keyring_serial,
      kernel,
      helpers: helpersOf(prog.insnsi),
      installs,
    });
  }

  private judge(
    op: PolicyOp,
    hook: PolicyAuditRecord["hook"],
    prog: BpfProg,
    kernel: boolean,
    verified?: boolean,
  ): number {
    const facts = this.factsOf(op, prog, kernel, verified);
    const decision = decide(this.policy, facts);
    const record: PolicyAuditRecord = {
      op,
      hook,
      enforcing: this.enforce,
      facts,
      decision,
      text: auditRecordText(
        hook,
        this.enforce,
        facts,
        decision,
        formatDefaultRule(this.policy, op),
      ),
    };
    this.records.push(record);
    this.sink?.(record);
    return decision.action === "DENY" && this.enforce ? -Errno.EACCES : 0;
  }

  /** security_bpf_prog_load(): op=BPF_PROG_LOAD. */
  bpf_prog_load(
    prog: BpfProg,
    _attr: Values<typeof ProgLoadAttr>,
    _token: null,
    kernel: boolean,
  ): number {
    return this.judge("BPF_PROG_LOAD", "bpf_prog_load", prog, kernel);
  }

  /**
   * security_bpf_prog_load_post_integrity(): op=BPF_PROG_LOAD_POST_INTEGRITY, called by every
   * profile's integrity check with its record (kernel/lsm.ts). "Verified" is the reported
   * verdict being one its scheme calls verified (v2 VERIFIED, kfunc METADATA_VERIFIED, Hornet
   * OK), not the BPF core's binary verdict. A policy that names no rule and no default for this
   * op is not consulted here, so policies written for admission alone keep their meaning now that
   * the kernel calls the hook on every load.
   */
  bpf_prog_load_post_integrity(rec: PostIntegrityRecord): number {
    const op = "BPF_PROG_LOAD_POST_INTEGRITY";
    if (!this.policy.opDefaults[op] && !this.policy.rules.some((r) => r.op === op)) return 0;
    return this.judge(
      "BPF_PROG_LOAD_POST_INTEGRITY",
      "bpf_prog_load_post_integrity",
      rec.prog,
      rec.kernel,
      isVerifiedVerdict(rec),
    );
  }
}

/** A load the policy module refused (code POLICY_DENIED): names the program and the rule. */
export class PolicyDeniedError extends Error {
  override readonly name = "PolicyDeniedError";
  readonly code = "POLICY_DENIED";
  constructor(
    readonly record: PolicyAuditRecord,
    options?: { cause?: unknown },
  ) {
    const d = record.decision;
    super(
      `the load policy denies '${record.facts.progName}' (${d.rule === "default" ? "default" : `line ${d.rule.line}`}: ${d.explanation})`,
      options,
    );
  }
}
