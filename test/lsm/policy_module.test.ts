import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BpfProg } from "../../src/kernel/prog.js";
import { LoaderError, LoaderStep, loadAndRun } from "../../src/loader/load_and_run.js";
import { PolicyModule } from "../../src/lsm/policy_module.js";
import { VerdictRecorder } from "../../src/lsm/verdict_recorder.js";
import { parsePolicy } from "../../src/policy/index.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, MapType, ProgType, SigKeyring, SigVerdict } from "../../src/uapi/constants.js";
import { createModelKernel } from "../../src/vm/index.js";
import { generatedImage } from "../audit/audit_support.js";
import { vectorImage } from "../support/vector_skeleton.js";
import { vectorCert } from "../support/vectors.js";

const POLICY = `policy_name=lsm-test policy_version=0.1.0
DEFAULT action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE prog_type=kprobe action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED installs_prog_type=kprobe max_map_entries>1024 action=DENY
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER action=ALLOW
op=BPF_PROG_LOAD_POST_INTEGRITY bpf_signature=UNSIGNED action=DENY
op=BPF_PROG_LOAD_POST_INTEGRITY action=ALLOW
`;

function session() {
  const kernel = createModelKernel({ profile: "v2" });
  const backend = kernel.spawn();
  const bpf = new Bpf(backend);
  const serial = bpf.keyringId(KeySpec.SESSION_KEYRING, true);
  bpf.addKey("asymmetric", "", vectorCert("rsa2048"), KeySpec.SESSION_KEYRING);
  return { kernel, backend, serial };
}

const opts = { keyringId: KeySpec.SESSION_KEYRING };

/**
 * The admission records: the v2 kernel also calls the post-integrity hook (before admission) for
 * a load whose signature verified.
 */
const adm = (m: PolicyModule) => m.records.filter((r) => r.hook === "bpf_prog_load");

describe("the policy LSM module on the model kernel", () => {
  test("a signed vector loader is admitted by the user-keyring rule and its program by bpf_kernel=TRUE", () => {
    const { kernel, backend, serial } = session();
    const m = new PolicyModule(parsePolicy(POLICY)).install(kernel.lsm);
    const loaded = loadAndRun(
      backend,
      vectorImage("prog_b", { signed: true, key: "rsa2048" }),
      opts,
    );
    loaded.close();
    assert.deepEqual(
      m.records.map((r) => [
        r.hook,
        r.facts.progName,
        r.decision.action,
        r.decision.rule === "default" ? 0 : r.decision.rule.line,
      ]),
      [
        ["bpf_prog_load_post_integrity", "__loader.prog", "ALLOW", 8],
        ["bpf_prog_load", "__loader.prog", "ALLOW", 6],
        ["bpf_prog_load", "count_pkts", "ALLOW", 4],
      ],
    );
    const loader = adm(m)[0];
    assert.equal(loader.facts.keyringSerial, serial);
    assert.deepEqual(loader.facts.installs?.maps, [
      { name: "counters", type: "array", maxEntries: 4 },
    ]);
    assert.equal(
      loader.text,
      `ipe_op=BPF_PROG_LOAD ipe_hook=bpf_prog_load enforcing=1 prog_name="__loader.prog" prog_type=syscall attach_type=none bpf_signature=VERIFIED bpf_keyring=USER bpf_keyring_serial=${serial} bpf_kernel=FALSE rule="op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER action=ALLOW" rule_line=6 action=ALLOW`,
    );
    assert.match(
      adm(m)[1].text,
      /prog_name="count_pkts" prog_type=socket_filter .* bpf_signature=UNSIGNED bpf_keyring=NONE bpf_keyring_serial=- bpf_kernel=TRUE rule="op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW" rule_line=4 action=ALLOW$/,
    );
  });

  test("a signed loader that would install a kprobe with a 4096-entry map is refused at admission (EACCES)", () => {
    const { kernel, backend } = session();
    const m = new PolicyModule(parsePolicy(POLICY)).install(kernel.lsm);
    const image = generatedImage({ progType: ProgType.KPROBE, mapEntries: 4096, signed: true });
    assert.throws(
      () => loadAndRun(backend, image, opts),
      (e) => e instanceof LoaderError && e.step === LoaderStep.LOAD_PROG && e.code === "BPF_EACCES",
    );
    assert.equal(adm(m).length, 1);
    assert.match(
      adm(m)[0].decision.explanation,
      /line 5 matched: .*installs_prog_type=kprobe \(installs_prog_type is \{kprobe\}\), max_map_entries>1024 \(max_map_entries is 4096\)/,
    );
  });

  test("an unsigned loader's kprobe is refused when the loader loads it: the loader returns -EACCES", () => {
    const { kernel, backend } = session();
    const m = new PolicyModule(
      parsePolicy(`${POLICY}`.replace("DEFAULT action=DENY", "DEFAULT action=ALLOW")),
    ).install(kernel.lsm);
    const image = generatedImage({ progType: ProgType.KPROBE, mapEntries: 16, signed: false });
    assert.throws(
      () => loadAndRun(backend, image, opts),
      (e) => e instanceof LoaderError && e.step === LoaderStep.RETVAL && e.code === "BPF_EACCES",
    );
    assert.deepEqual(
      m.records.map((r) => [r.facts.progName, r.facts.kernel, r.decision.action, r.facts.installs]),
      [
        ["__loader.prog", false, "ALLOW", null],
        ["probe", true, "DENY", null],
      ],
    );
  });

  test("permissive mode records the denial and lets the load through", () => {
    const { kernel, backend } = session();
    const m = new PolicyModule(parsePolicy(POLICY), { enforce: false }).install(kernel.lsm);
    const loaded = loadAndRun(backend, vectorImage("prog_a", { signed: false }), opts);
    loaded.close();
    assert.equal(m.records[0].decision.action, "DENY");
    assert.equal(m.records[0].decision.rule, "default");
    assert.match(
      m.records[0].text,
      /enforcing=0 .* rule="DEFAULT action=DENY" rule_line=- action=DENY$/,
    );
  });

  test("coexists with other modules: each sees the load in registration order, the first refusal wins", () => {
    const { kernel, backend } = session();
    const recorder = new VerdictRecorder(kernel.lsm);
    const m = new PolicyModule(parsePolicy(POLICY)).install(kernel.lsm);
    const seen: string[] = [];
    const after = kernel.lsm.register({
      name: "after",
      bpf_prog_load: (p) => {
        seen.push(p.aux.name);
        return 0;
      },
    });
    loadAndRun(backend, vectorImage("prog_a", { signed: true, key: "rsa2048" }), opts).close();
    assert.deepEqual(
      recorder.seen.map((r) => r.verdict),
      ["VERIFIED", "UNSIGNED"],
    );
    assert.deepEqual(seen, ["__loader.prog", "ret_const"]);
    // the policy denies an unsigned loader: modules registered after it are not asked
    seen.length = 0;
    assert.throws(
      () => loadAndRun(backend, vectorImage("prog_a", { signed: false }), opts),
      /EACCES/,
    );
    assert.deepEqual(seen, []);
    assert.equal(recorder.last("__loader.prog")?.verdict, "UNSIGNED");
    // a module before it that refuses first: the policy is not consulted
    after();
    m.dispose();
    const veto = kernel.lsm.register({ name: "veto", bpf_prog_load: () => -1 });
    const m2 = new PolicyModule(parsePolicy(POLICY)).install(kernel.lsm);
    assert.throws(
      () => loadAndRun(backend, vectorImage("prog_a", { signed: true, key: "rsa2048" }), opts),
      /EPERM/,
    );
    assert.equal(adm(m2).length, 0);
    veto();
    recorder.dispose();
  });

  test("op=BPF_PROG_LOAD_POST_INTEGRITY rules decide when the post-integrity hook calls the module", () => {
    const m = new PolicyModule(parsePolicy(POLICY));
    const prog = new BpfProg(
      ProgType.SOCKET_FILTER,
      0,
      new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]),
      false,
      true,
      "GPL",
    );
    prog.aux.name = "direct";
    const rec = (verdict: string) => ({
      prog,
      attr: null,
      token: null,
      kernel: false,
      lsmId: "bpf",
      scheme: "v2" as const,
      verdict,
      verdictValue: verdict === "VERIFIED" ? 1 : 0,
      source: "kernel" as const,
    });
    assert.equal(m.bpf_prog_load_post_integrity(rec("UNSIGNED")), -13);
    prog.aux.sig = {
      verdict: SigVerdict.VERIFIED,
      keyring_type: SigKeyring.BUILTIN,
      keyring_serial: 0,
    };
    assert.equal(m.bpf_prog_load_post_integrity(rec("VERIFIED")), 0);
    assert.deepEqual(
      m.records.map((r) => [
        r.op,
        r.hook,
        r.decision.action,
        r.decision.rule === "default" ? 0 : r.decision.rule.line,
      ]),
      [
        ["BPF_PROG_LOAD_POST_INTEGRITY", "bpf_prog_load_post_integrity", "DENY", 7],
        ["BPF_PROG_LOAD_POST_INTEGRITY", "bpf_prog_load_post_integrity", "ALLOW", 8],
      ],
    );
    assert.match(
      m.records[1].text,
      /^ipe_op=BPF_PROG_LOAD_POST_INTEGRITY ipe_hook=bpf_prog_load_post_integrity .* bpf_keyring=BUILTIN bpf_keyring_serial=0 /,
    );
  });

  test("two live metadata maps exclusive to the same loader with different values: the install list is unknown", () => {
    const { kernel, backend } = session();
    const m = new PolicyModule(parsePolicy(POLICY)).install(kernel.lsm);
    const image = vectorImage("prog_b", { signed: true, key: "rsa2048" });
    const bpf = new Bpf(backend);
    const decoy = bpf.mapCreate({
      map_type: MapType.ARRAY,
      map_name: "decoy",
      key_size: 4,
      value_size: image.data.length,
      max_entries: 1,
      excl_prog_hash: image.exclHash ?? undefined,
    });
    const other = new Uint8Array(image.data);
    other[2000] ^= 0xff;
    bpf.mapUpdate(decoy, new Uint8Array(4), other);
    bpf.mapFreeze(decoy);
    loadAndRun(backend, image, opts).close();
    assert.equal(adm(m)[0].facts.installs, null);
    // with the decoy closed, the same load sees its install list again
    bpf.close(decoy);
    loadAndRun(backend, image, opts).close();
    assert.deepEqual(
      adm(m)[2].facts.installs?.maps.map((x) => x.name),
      ["counters"],
    );
  });
});
