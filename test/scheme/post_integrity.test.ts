/**
 * The post-integrity hook itself (src/kernel/lsm.ts) and the policy written against it
 * (src/lsm/require_verified.ts), without a load path: modules in order, the first non-zero
 * return wins, the report is recorded on the program, and the policy's decisions per scheme.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Lsm, type PostIntegrityRecord } from "../../src/kernel/lsm.js";
import { BpfProg } from "../../src/kernel/prog.js";
import { isVerifiedVerdict, RequireVerified } from "../../src/lsm/require_verified.js";
import { ProgType } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";

const prog = () => new BpfProg(ProgType.SYSCALL, 0, new Uint8Array(16), true, true, "GPL");
const rec = (p: BpfProg, over: Partial<PostIntegrityRecord> = {}): PostIntegrityRecord => ({
  prog: p,
  attr: null,
  token: null,
  kernel: false,
  lsmId: "bpf",
  scheme: "v2",
  verdict: "VERIFIED",
  verdictValue: 1,
  source: "kernel",
  ...over,
});

describe("security_bpf_prog_load_post_integrity", () => {
  test("modules in order, the first non-zero return denies, the report is kept on the program", () => {
    const lsm = new Lsm();
    const calls: string[] = [];
    lsm.register({
      name: "a",
      bpf_prog_load_post_integrity: () => {
        calls.push("a");
        return 0;
      },
    });
    lsm.register({
      name: "b",
      bpf_prog_load_post_integrity: () => {
        calls.push("b");
        return -Errno.EACCES;
      },
    });
    lsm.register({
      name: "c",
      bpf_prog_load_post_integrity: () => {
        calls.push("c");
        return -Errno.EPERM;
      },
    });
    const p = prog();
    assert.equal(
      lsm.bpf_prog_load_post_integrity(
        rec(p, { lsmId: "hornet", scheme: "hornet", verdict: "OK" }),
      ),
      -Errno.EACCES,
    );
    assert.deepEqual(calls, ["a", "b"]);
    assert.deepEqual(p.aux.integrity, { lsmId: "hornet", scheme: "hornet", verdict: "OK" });
  });

  test("which verdicts count as verified, per scheme", () => {
    const yes = [
      ["v2", "VERIFIED"],
      ["mainline", "VERIFIED"],
      ["kfunc", "METADATA_VERIFIED"],
      ["hornet", "OK"],
    ] as const;
    const no = [
      ["v2", "UNSIGNED"],
      ["kfunc", "OK"],
      ["hornet", "PARTIALSIG"],
      ["hornet", "UNEXPECTED"],
      ["hornet", "VERIFIED"],
    ] as const;
    for (const [scheme, verdict] of yes)
      assert.ok(isVerifiedVerdict({ scheme, verdict }), `${scheme} ${verdict}`);
    for (const [scheme, verdict] of no)
      assert.ok(!isVerifiedVerdict({ scheme, verdict }), `${scheme} ${verdict}`);
  });

  test("RequireVerified: denies unverified user loads at post-integrity, unsigned unreported ones at admission, never kernel loads", () => {
    const lsm = new Lsm();
    const policy = new RequireVerified(lsm);
    const p = prog();
    assert.equal(
      lsm.bpf_prog_load_post_integrity(rec(p, { verdict: "UNSIGNED", verdictValue: 0 })),
      -Errno.EPERM,
    );
    assert.equal(
      lsm.bpf_prog_load_post_integrity(rec(p, { verdict: "UNSIGNED", kernel: true })),
      0,
    );
    assert.equal(lsm.bpf_prog_load_post_integrity(rec(p)), 0);
    const unsigned = prog();
    assert.equal(lsm.bpf_prog_load(unsigned, {} as never, false), -Errno.EPERM);
    assert.equal(lsm.bpf_prog_load(unsigned, {} as never, true), 0);
    const okAtEntry = prog();
    okAtEntry.aux.sig.verdict = 1; // kfunc BPF_SIG_OK: the kfunc will report later
    assert.equal(lsm.bpf_prog_load(okAtEntry, {} as never, false), 0);
    assert.deepEqual(
      policy.denials.map((d) => d.hook),
      ["post_integrity", "security_bpf_prog_load"],
    );
    policy.dispose();
    assert.equal(lsm.bpf_prog_load(prog(), {} as never, false), 0, "unregistered");
  });
});
