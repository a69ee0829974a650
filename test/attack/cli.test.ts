/**
 * The CLI's scheme flag and `attack` command, in-process: sign a vector header for each scheme,
 * verify it offline under the same scheme (and not under another), load it on the scheme's model
 * profile, and print the attack table.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { CliIo } from "../../src/cli/output.js";
import { run } from "../../src/cli/program.js";
import { kfuncLoaderHash } from "../../src/scheme/kfunc.js";
import { parseLightSkeleton } from "../../src/skeleton/reader.js";
import { writeSignedSkeleton } from "../../src/skeleton/writer.js";
import { makeTempDir } from "../support/openssl.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { REPO_ROOT, skipVectors, VECTORS_DIR } from "../support/vectors.js";

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    env: {},
  };
  const code = await run(args, io);
  return { code, out, err };
}

const KEY = join(VECTORS_DIR, "keys", "test-only-rsa2048.key.pem");
const CERT = join(VECTORS_DIR, "keys", "test-only-rsa2048.cert.pem");

describe("bpfsign --scheme and attack", { skip: skipVectors }, () => {
  const dir = makeTempDir("bpfsign-schemes-");
  const unsigned = join(dir, "prog_b.lskel.h");
  if (!skipVectors) {
    const s = vectorSkeleton("prog_b", true);
    writeFileSync(unsigned, writeSignedSkeleton(s, { signature: new Uint8Array(0) }).subarray(0));
  }

  for (const scheme of ["v2", "kfunc", "hornet"] as const) {
    test(`sign, verify and load with --scheme ${scheme}`, async () => {
      const out = join(dir, `prog_b.${scheme}.lskel.h`);
      const s = await cli([
        "sign",
        unsigned,
        "--key",
        KEY,
        "--cert",
        CERT,
        "--scheme",
        scheme,
        "-o",
        out,
        "--json",
      ]);
      assert.equal(s.code, 0, s.err);
      assert.equal(JSON.parse(s.out).scheme, scheme);
      const header = parseLightSkeleton(readFileSync(out));
      assert.equal(
        kfuncLoaderHash(header.insns) !== null,
        scheme === "kfunc",
        "the kfunc loader carries its check",
      );
      const v = await cli(["verify", out, "--cert", CERT, "--scheme", scheme, "--json"]);
      assert.equal(v.code, 0, v.out);
      const vj = JSON.parse(v.out);
      assert.equal(vj.result, "VERIFIED");
      assert.equal(
        vj.schemeVerdict,
        { v2: "VERIFIED", kfunc: "METADATA_VERIFIED", hornet: "OK" }[scheme],
      );
      const other = scheme === "v2" ? "hornet" : "v2";
      assert.notEqual((await cli(["verify", out, "--cert", CERT, "--scheme", other])).code, 0);
      const l = await cli(["load", out, "--cert", CERT, "--scheme", scheme, "--json"]);
      assert.equal(l.code, 0, l.err);
      assert.equal(
        JSON.parse(l.out).integrity,
        { v2: "bpf:VERIFIED", kfunc: "bpf:METADATA_VERIFIED", hornet: "hornet:OK" }[scheme],
      );
    });
  }

  test("--scheme rejects an unknown name (usage, 64)", async () => {
    const r = await cli(["verify", unsigned, "--cert", CERT, "--scheme", "v3"]);
    assert.equal(r.code, 64);
  });

  test("attack --json: every cell as expected; --scheme keeps that scheme's profiles", async () => {
    const r = await cli([
      "attack",
      join(REPO_ROOT, "examples/const_ret.lskel.h"),
      "--json",
      "--scheme",
      "v2",
      "--attack",
      "fd_array_toctou",
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.profiles, ["v2", "bpf-next", "bpf-next/unsealed", "mainline-6.18"]);
    assert.equal(j.mismatches, 0);
    assert.deepEqual(
      j.rows[0].cells.map((c: { observed: string }) => c.observed),
      [
        "refused@after_resolve EACCES adm=VERIFIED post=bpf:VERIFIED",
        "admitted adm=VERIFIED post=bpf:VERIFIED",
        "admitted adm=VERIFIED post=bpf:VERIFIED",
        "refused@bpf_prog_load EOPNOTSUPP adm=- post=-",
      ],
    );
    // a loader the verifier refuses (an invalid opcode first): the control row is not admitted
    const broken = join(dir, "broken.lskel.h");
    const s = vectorSkeleton("prog_b", true);
    const insns = new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    writeFileSync(broken, writeSignedSkeleton({ ...s, insns }, { signature: new Uint8Array(0) }));
    const m = await cli(["attack", broken, "--scheme", "v2", "--attack", "none", "--json"]);
    assert.equal(m.code, 6, "ATTACK_UNEXPECTED, not the bad-signature exit");
    assert.equal(
      JSON.parse(m.out).mismatches,
      3,
      "mainline-6.18 refuses every signed loader anyway",
    );
    assert.match(m.err, /3 cell\(s\) differ from the designs' expectations/);
    assert.equal(
      (await cli(["attack", join(REPO_ROOT, "examples/const_ret.lskel.h"), "--attack", "nope"]))
        .code,
      64,
    );
  });
});
