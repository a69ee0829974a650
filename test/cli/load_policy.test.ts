/**
 * `bpfsign load --policy`: the design document's policies as BPF LSM skeletons (made by
 * `bpfsign gen`) loaded and attached first, then the target; the decision, which program denied,
 * the audit records decoded with the policy's record type, the allowlist filled from the
 * command line, and the errors of a policy that cannot be put in place.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { policyFixture } from "../lsm/bpf_policy_support.js";
import { cli } from "../support/cli.js";
import { REPO_ROOT } from "../support/vectors.js";

const KEYS = join(REPO_ROOT, "test/fixtures/vectors/keys");
const CERT = join(KEYS, "test-only-rsa2048.cert.pem");
const GEN = join(REPO_ROOT, "test/fixtures/gen");
const UNSIGNED = join(GEN, "nomaps.lskel.h");
const SIGNED = join(GEN, "nomaps.signed.lskel.h");

let dir = "";
let admit = "";
let observe = "";

before(() => {
  dir = mkdtempSync(join(tmpdir(), "bpfsign-policy-cli-"));
  admit = join(dir, "admit.lskel.h");
  observe = join(dir, "observe.lskel.h");
  writeFileSync(
    admit,
    genSkeleton(policyFixture("admit"), "admit.bpf.o", { name: "admit" }).header,
  );
  writeFileSync(
    observe,
    genSkeleton(policyFixture("observe"), "observe.bpf.o", { name: "observe" }).header,
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("bpfsign load --policy", () => {
  test("an unsigned skeleton is denied by the admission program: exit 5, errno and program named, audited", async () => {
    const r = await cli(["load", UNSIGNED, "--policy", admit]);
    assert.equal(r.code, 5, r.err);
    assert.match(r.err, /denied with EPERM \(1\) by program 'admit' at lsm\/bpf_prog_load/);
    assert.match(
      r.err,
      /audit .*admit\.lskel\.h audit: struct admission_record \{ prog_type=31, verdict=0, keyring_type=0, keyring_serial=0, ret=-1 \}/,
    );
  });

  test("a user-keyring signature is denied until --policy-map allowlists the session keyring", async () => {
    const denied = await cli(["load", SIGNED, "--cert", CERT, "--policy", admit]);
    assert.equal(denied.code, 5);
    const r = await cli([
      "load",
      SIGNED,
      "--cert",
      CERT,
      "--policy",
      admit,
      "--policy-map",
      "allowed_keyrings=session",
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.decision, { admitted: true });
    assert.equal(j.verdict, "VERIFIED");
    assert.deepEqual(j.policies[0].programs, [
      {
        name: "admit",
        type: "LSM",
        hook: "lsm/bpf_prog_load",
        linkFd: j.policies[0].programs[0].linkFd,
      },
    ]);
    assert.equal(j.audit.length, 1);
    assert.equal(j.audit[0].type, "struct admission_record");
    assert.equal(j.audit[0].fields.keyring_type, 4);
    assert.equal(j.audit[0].fields.keyring_serial, j.keyring_serial);
    assert.equal(j.audit[0].fields.ret, 0);
  });

  test("--keyring builtin: the certificate goes to the builtin keyring and the system signature is admitted", async () => {
    const r = await cli([
      "load",
      SIGNED,
      "--cert",
      CERT,
      "--keyring",
      "builtin",
      "--policy",
      admit,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /verdict: +VERIFIED \(keyring BUILTIN, serial 0\)/);
    assert.match(r.out, /keyring_type=1, keyring_serial=0, ret=0/);
  });

  test("two policies, in order: a later unsigned policy is itself denied by the admission program", async () => {
    const late = await cli([
      "load",
      SIGNED,
      "--cert",
      CERT,
      "--policy",
      admit,
      "--policy",
      observe,
    ]);
    assert.equal(late.code, 77);
    assert.match(late.err, /policy .*observe\.lskel\.h: load failed: .*EPERM/);
    const r = await cli([
      "load",
      SIGNED,
      "--cert",
      CERT,
      "--policy",
      observe,
      "--policy",
      admit,
      "--policy-map",
      "allowed_keyrings=session",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /program observe \(LSM\) attached at lsm\/bpf_prog\n/);
    assert.match(r.out, /program forget \(LSM\) attached at lsm\/bpf_prog_free\n/);
  });

  test("a policy that cannot be loaded is an error naming it and the step, not an allow", async () => {
    const bad = join(dir, "broken.lskel.h");
    writeFileSync(bad, "not a skeleton\n");
    const r = await cli(["load", UNSIGNED, "--policy", bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /policy .*broken\.lskel\.h: reading the skeleton failed/);
    const m = await cli(["load", UNSIGNED, "--policy", admit, "--policy-map", "nope=1"]);
    assert.equal(m.code, 64);
    assert.match(m.err, /no policy has a map named 'nope'/);
  });

  test("--policy is for the model kernel", async () => {
    const r = await cli(["load", UNSIGNED, "--policy", admit, "--backend", "host"]);
    assert.equal(r.code, 64);
  });
});
