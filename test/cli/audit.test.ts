import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { writeLightSkeleton, writeSignedSkeleton } from "../../src/skeleton/index.js";
import { ProgType } from "../../src/uapi/constants.js";
import { generatedImage } from "../audit/audit_support.js";
import { cli } from "../support/cli.js";
import { cleanupTempDirs, makeTempDir } from "../support/openssl.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { REPO_ROOT, readVector } from "../support/vectors.js";
import { validate } from "./audit_schema.js";

const SCHEMA = JSON.parse(readFileSync(join(REPO_ROOT, "schema/audit.schema.json"), "utf8"));
const CERT = join(REPO_ROOT, "test/fixtures/vectors/keys/test-only-rsa2048.cert.pem");

const dir = makeTempDir("bpfsign-audit-");
after(cleanupTempDirs);

/** Headers: prog_b signed with rsa2048 / rsa3072, unsigned, and a generated signed kprobe. */
function writeHeaders() {
  const d = join(dir, "skels");
  mkdirSync(d, { recursive: true });
  const signed = (key: string) =>
    writeSignedSkeleton(vectorSkeleton("prog_b", true), {
      signature: readVector("prog_b", `sig.${key}.der`),
      exclHash: readVector("prog_b", "excl_hash.bin"),
    });
  writeFileSync(join(d, "a_signed.lskel.h"), signed("rsa2048"));
  writeFileSync(join(d, "b_other_key.lskel.h"), signed("rsa3072"));
  writeFileSync(join(d, "c_unsigned.lskel.h"), writeLightSkeleton(vectorSkeleton("prog_b", false)));
  const k = generatedImage({ progType: ProgType.KPROBE, mapEntries: 4096, signed: true });
  writeFileSync(
    join(d, "d_kprobe.lskel.h"),
    writeSignedSkeleton(
      {
        ...vectorSkeleton("prog_a", true),
        name: "kprobe",
        insns: k.insns,
        data: k.data,
        maps: [{ name: "big", mmap: null }],
        progs: [{ name: "probe", attach: { kind: "none" } }],
        links: ["probe_fd"],
        ctxSize: 24 + 16 + 4,
      },
      { signature: k.signature as Uint8Array, exclHash: k.exclHash as Uint8Array },
    ),
  );
  writeFileSync(join(d, "notes.txt"), "not a skeleton\n");
  return d;
}
const SKELS = writeHeaders();
const H = (f: string) => join(SKELS, f);

const POLICY = join(dir, "fleet.pol");
writeFileSync(
  POLICY,
  `# test policy
policy_name=fleet policy_version=2.0.1
DEFAULT action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE prog_type=kprobe action=DENY
op=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW
op=BPF_PROG_LOAD bpf_signature=VERIFIED max_map_entries>1024 action=DENY
op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER action=ALLOW
`,
);

function report(out: string) {
  const doc = JSON.parse(out);
  assert.deepEqual(validate(SCHEMA, doc), [], "the report follows schema/audit.schema.json");
  return doc;
}

describe("bpfsign audit", () => {
  test("a signed skeleton the policy admits: exit 0, install list, decisions with rules, schema-valid JSON", async () => {
    const r = await cli([
      "audit",
      H("a_signed.lskel.h"),
      "--cert",
      CERT,
      "--policy-file",
      POLICY,
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    const doc = report(r.out);
    assert.equal(doc.signature.result, "VERIFIED");
    assert.equal(doc.admitted, true);
    assert.deepEqual(doc.policy, { name: "fleet", version: "2.0.1" });
    assert.deepEqual(
      doc.install.maps.map((m: { name: string; max_entries: number }) => [m.name, m.max_entries]),
      [["counters", 4]],
    );
    assert.equal(doc.install.progs[0].tag, "c95db03ce86ab205");
    assert.deepEqual(doc.decisions.loader.rule, {
      line: 7,
      text: "op=BPF_PROG_LOAD bpf_signature=VERIFIED bpf_keyring=USER action=ALLOW",
    });
    assert.deepEqual(
      doc.decisions.progs.map((d: { prog: string; action: string; reached: boolean }) => [
        d.prog,
        d.action,
        d.reached,
      ]),
      [["count_pkts", "ALLOW", true]],
    );
  });

  test("a kprobe loader with a 4096-entry map is denied: exit 5, the rule that matched", async () => {
    const r = await cli(["audit", H("d_kprobe.lskel.h"), "--cert", CERT, "--policy-file", POLICY]);
    assert.equal(r.code, 5, r.err);
    assert.match(r.out, /: DENIED\n/);
    assert.match(
      r.out,
      /DENY {2}__loader.prog {4}line 6: op=BPF_PROG_LOAD bpf_signature=VERIFIED max_map_entries>1024 action=DENY/,
    );
    assert.match(r.out, /DENY {2}probe .*line 4: .* \(not reached\)/);
  });

  test("signature results keep verify's codes: untrusted 2; unsigned 3 without a policy, 5 when the policy denies", async () => {
    assert.equal(
      (await cli(["audit", H("b_other_key.lskel.h"), "--cert", CERT, "--policy-file", POLICY]))
        .code,
      2,
    );
    const untrusted = await cli([
      "audit",
      H("b_other_key.lskel.h"),
      "--cert",
      CERT,
      "--policy-file",
      POLICY,
      "--json",
    ]);
    assert.equal(report(untrusted.out).decisions, null);
    assert.equal((await cli(["audit", H("c_unsigned.lskel.h")])).code, 3);
    assert.equal((await cli(["audit", H("a_signed.lskel.h"), "--cert", CERT])).code, 0);
    const denied = await cli(["audit", H("c_unsigned.lskel.h"), "--policy-file", POLICY, "--json"]);
    assert.equal(denied.code, 5);
    assert.equal(report(denied.out).decisions.loader.rule, null);
  });

  test("--keyring: a policy on the keyring type and serial", async () => {
    const pol = join(dir, "serial.pol");
    writeFileSync(
      pol,
      "policy_name=s policy_version=1.0.0\nDEFAULT action=DENY\nop=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW\nop=BPF_PROG_LOAD bpf_keyring_serial=77 action=ALLOW\n",
    );
    const base = ["audit", H("a_signed.lskel.h"), "--cert", CERT, "--policy-file", pol];
    assert.equal((await cli([...base, "--keyring", "user:77"])).code, 0);
    assert.equal((await cli([...base, "--keyring", "user:78"])).code, 5);
    assert.equal((await cli([...base])).code, 5, "an unknown serial matches nothing");
    assert.equal((await cli([...base, "--keyring", "platform"])).code, 5);
    const bad = await cli([...base, "--keyring", "builtin:3"]);
    assert.equal(bad.code, 64);
  });

  test("bpf_signer: the signer's subject key id, as verify reports it", async () => {
    const pol = (skid: string) => {
      const f = join(dir, `signer-${skid.slice(0, 4)}.pol`);
      writeFileSync(
        f,
        `policy_name=s policy_version=1.0.0\nDEFAULT action=DENY\nop=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW\nop=BPF_PROG_LOAD bpf_signer=${skid} action=ALLOW\n`,
      );
      return f;
    };
    const base = ["audit", H("a_signed.lskel.h"), "--cert", CERT, "--policy-file"];
    const skid = "74:4b:f0:b2:3f:ea:78:c2:70:6c:c5:b2:23:7f:02:5a:a4:be:32:35";
    assert.equal((await cli([...base, pol(skid)])).code, 0);
    assert.equal((await cli([...base, pol("00".repeat(20))])).code, 5);
  });

  test("a recursive glob finds the headers in subdirectories", async () => {
    const r = await cli(["audit", join(dir, "**", "*_*.lskel.h")]);
    assert.deepEqual(
      r.out
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l).source.split("/").at(-1)),
      ["a_signed.lskel.h", "b_other_key.lskel.h", "c_unsigned.lskel.h", "d_kprobe.lskel.h"],
    );
  });

  test("bad inputs: a policy error names file, line and column (65); a missing file 66; a bad header 65", async () => {
    const pol = join(dir, "bad.pol");
    writeFileSync(
      pol,
      "policy_name=b policy_version=1.0.0\nDEFAULT action=DENY\nop=BPF_PROG_LOAD max_map_entries=>5 action=DENY\n",
    );
    const r = await cli(["audit", H("a_signed.lskel.h"), "--policy-file", pol]);
    assert.equal(r.code, 65);
    assert.match(
      r.err,
      new RegExp(`${pol.replaceAll("/", "\\/")}:3:34: expected a value, found '>'`),
    );
    assert.equal((await cli(["audit", join(dir, "missing.lskel.h")])).code, 66);
    assert.equal((await cli(["audit", H("notes.txt")])).code, 65);
  });

  test("batch, not a terminal: one schema-valid JSON line per skeleton, errors included; exit = first non-zero", async () => {
    const r = await cli(["audit", SKELS, H("notes.txt"), "--cert", CERT, "--policy-file", POLICY]);
    const lines = r.out.trimEnd().split("\n").map(report);
    assert.deepEqual(
      lines.map((l) => [
        l.source.split("/").at(-1),
        l.admitted ?? l.error?.code ?? l.signature.result,
      ]),
      [
        ["a_signed.lskel.h", true],
        ["b_other_key.lskel.h", "UNTRUSTED"],
        ["c_unsigned.lskel.h", false],
        ["d_kprobe.lskel.h", false],
        ["notes.txt", "CLI_MALFORMED_INPUT"],
      ],
    );
    assert.equal(r.code, 2, "b_other_key is the first non-zero");
    assert.equal(r.err, "");
  });

  test("batch on a terminal: a progress bar on stderr and a summary line per skeleton; globs expand", async () => {
    const r = await cli(
      ["audit", join(SKELS, "[ac]_*.lskel.h"), "--cert", CERT, "--policy-file", POLICY],
      {},
      true,
    );
    assert.match(r.err, /\r\[\.{30}\] 0\/2 /);
    assert.match(r.err, /\r\[#{30}\] 2\/2 done/);
    assert.deepEqual(
      r.out
        .trimEnd()
        .split("\n")
        .map((l) => l.replace(/ +/, " ").replace(SKELS, "D")),
      ["ADMITTED D/a_signed.lskel.h", "DENIED D/c_unsigned.lskel.h"],
    );
    assert.equal(r.code, 5);
    const none = await cli(["audit", join(SKELS, "*.nothing")]);
    assert.equal(none.code, 66);
  });

  test("--html writes one self-contained page; with several skeletons it is a usage error", async () => {
    const page = join(dir, "report.html");
    const r = await cli([
      "audit",
      H("a_signed.lskel.h"),
      "--cert",
      CERT,
      "--policy-file",
      POLICY,
      "--html",
      page,
    ]);
    assert.equal(r.code, 0);
    const html = readFileSync(page, "utf8");
    assert.match(html, /<div id="decision" class="admit" data-admitted="true">ADMITTED<\/div>/);
    assert.doesNotMatch(html, /<script|src=|href="http/);
    assert.match(html, /<a href="#r\d+" class="k-prog_load_attr"/);
    assert.equal((await cli(["audit", SKELS, "--html", page])).code, 64);
  });

  test("the validator rejects what the schema forbids", () => {
    const good = JSON.parse(
      JSON.stringify({ schema_version: 1, source: "x", error: { code: "X_Y", message: "m" } }),
    );
    assert.deepEqual(validate(SCHEMA, good), []);
    assert.notDeepEqual(validate(SCHEMA, { ...good, extra: 1 }), []);
    assert.notDeepEqual(validate(SCHEMA, { ...good, error: { code: "lower", message: "m" } }), []);
    assert.notDeepEqual(validate(SCHEMA, { ...good, schema_version: 2 }), []);
  });
});

describe("bpfsign load --policy-file", () => {
  test("the model enforces the policy: admitted loads print the audit records; a denial exits 5", async () => {
    const ok = await cli(["load", H("a_signed.lskel.h"), "--cert", CERT, "--policy-file", POLICY]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(
      ok.out,
      /^policy ipe_op=BPF_PROG_LOAD ipe_hook=bpf_prog_load enforcing=1 prog_name="__loader.prog" .* rule_line=7 action=ALLOW$/m,
    );
    const no = await cli(["load", H("d_kprobe.lskel.h"), "--cert", CERT, "--policy-file", POLICY]);
    assert.equal(no.code, 5);
    assert.match(no.err, /the load policy denies '__loader.prog' \(line 6: /);
    assert.equal(
      (await cli(["load", H("a_signed.lskel.h"), "--backend", "host", "--policy-file", POLICY]))
        .code,
      64,
    );
  });
});
