import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseKeyringId } from "../../src/cli/keyring_option.js";
import {
  parseLightSkeleton,
  writeSignedSkeleton,
  writeUnsignedSkeleton,
} from "../../src/skeleton/index.js";
import { buildLightSkeleton, toolchainMissing } from "../support/bpftool.js";
import { cli, type Ran } from "../support/cli.js";
import { hostCaps, hostSkip } from "../support/host.js";
import { makeTempDir } from "../support/openssl.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { readVector, skipVectors, VECTORS_DIR } from "../support/vectors.js";

function json(r: Ran): Record<string, unknown> {
  return JSON.parse(r.out) as Record<string, unknown>;
}

const KEYS = join(VECTORS_DIR, "keys");
const key = (k: string) => join(KEYS, `test-only-${k}.key.pem`);
const cert = (k: string, form = "pem") => join(KEYS, `test-only-${k}.cert.${form}`);

/** A signed v2 header of a vector program in a temp dir. */
function signedVectorHeader(
  dir: string,
  prog: "prog_a" | "prog_b" | "prog_d",
  k = "rsa2048",
): string {
  const p = join(dir, `${prog}.${k}.lskel.h`);
  writeFileSync(
    p,
    writeSignedSkeleton(vectorSkeleton(prog, true), {
      signature: readVector(prog, `sig.${k}.der`),
    }),
  );
  return p;
}

describe("bpfsign verify", { skip: skipVectors }, () => {
  const dir = makeTempDir();
  test("a signed vector header verifies with its certificate (exit 0, JSON fields)", async () => {
    const h = signedVectorHeader(dir, "prog_b");
    const r = await cli(["verify", h, "--cert", cert("rsa2048"), "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = json(r);
    assert.equal(j.result, "VERIFIED");
    assert.equal(j.errno, null);
    assert.equal(j.signer, "744bf0b23fea78c2706cc5b2237f025aa4be3235");
    assert.equal(j.digest, "06bb8e84e39764747bac0dccf95f0a4bda9c2a85e1b0b5184e3755b9c4634a0a");
    assert.equal(j.insnsBytes, 1032);
    assert.equal(j.metadataBytes, 3696);
    assert.equal(j.exclHashMatches, true);
  });
  test("another key's certificate: UNTRUSTED, ENOKEY, exit 2; several certs: the right one verifies", async () => {
    const h = signedVectorHeader(dir, "prog_a", "ecp256");
    const r = await cli(["verify", h, "--cert", cert("rsa2048", "der"), "--json"]);
    assert.equal(r.code, 2);
    assert.deepEqual([json(r).result, json(r).errno], ["UNTRUSTED", "ENOKEY"]);
    const ok = await cli(["verify", h, "--cert", cert("rsa2048"), "--cert", cert("ecp256")]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /VERIFIED/);
  });
  test("raw inputs: one flipped metadata bit is BAD_SIGNATURE (exit 1); a wrong excl hash exit 4", async () => {
    const data = new Uint8Array(readVector("prog_d", "data.bin"));
    data[100] ^= 4;
    const dataPath = join(dir, "data.flipped");
    writeFileSync(dataPath, data);
    const raw = [
      "--insns",
      join(VECTORS_DIR, "prog_d/insns.signed.bin"),
      "--sig",
      join(VECTORS_DIR, "prog_d/sig.rsa3072.der"),
    ];
    const bad = await cli([
      "verify",
      ...raw,
      "--data",
      dataPath,
      "--cert",
      cert("rsa3072"),
      "--json",
    ]);
    assert.equal(bad.code, 1);
    assert.deepEqual([json(bad).result, json(bad).errno], ["BAD_SIGNATURE", "EKEYREJECTED"]);
    const wrong = join(dir, "excl.wrong");
    writeFileSync(wrong, new Uint8Array(32));
    const r = await cli([
      "verify",
      ...raw,
      "--data",
      join(VECTORS_DIR, "prog_d/data.bin"),
      "--excl-hash",
      wrong,
      "--cert",
      cert("rsa3072"),
      "--json",
    ]);
    assert.equal(r.code, 4);
    assert.equal(json(r).result, "EXCL_HASH_MISMATCH");
    assert.equal(json(r).exclHashMatches, false);
  });
  test("an unsigned header is UNSIGNED (exit 3)", async () => {
    const p = join(dir, "unsigned.lskel.h");
    writeFileSync(p, writeUnsignedSkeleton(vectorSkeleton("prog_b", false)));
    const r = await cli(["verify", p, "--cert", cert("rsa2048")]);
    assert.equal(r.code, 3);
    assert.match(r.out, /UNSIGNED/);
  });
  test("a malformed header exits 65 naming the file, line and column; a missing file exits 66", async () => {
    const h = readFileSync(signedVectorHeader(dir, "prog_a"), "latin1");
    const at = h.indexOf("\\x", h.indexOf("opts_insn"));
    const p = join(dir, "broken.lskel.h");
    writeFileSync(p, `${h.slice(0, at)}\\q${h.slice(at + 2)}`, "latin1");
    const r = await cli(["verify", p, "--cert", cert("rsa2048")]);
    assert.equal(r.code, 65);
    assert.match(r.err, /malformed light skeleton '.*broken\.lskel\.h': line \d+, column \d+: /);
    const m = await cli(["verify", join(dir, "nope.lskel.h"), "--cert", cert("rsa2048")]);
    assert.equal(m.code, 66);
    assert.match(m.err, /cannot read light skeleton '.*nope\.lskel\.h': no such file \(ENOENT\)/);
  });
  test("usage errors exit 64", async () => {
    assert.equal((await cli(["verify"])).code, 64);
    assert.equal((await cli(["frobnicate"])).code, 64);
    assert.equal((await cli(["verify", "x.h", "--insns", "y"])).code, 64);
    assert.equal((await cli(["--version"])).code, 0);
  });
});

describe("bpfsign sign", { skip: skipVectors }, () => {
  const dir = makeTempDir();
  test("re-signing a signed header with RSA gives the vector signature byte for byte, and verifies", async () => {
    const src = signedVectorHeader(dir, "prog_b", "rsa3072");
    const out = join(dir, "resigned.lskel.h");
    const det = join(dir, "resigned.p7s");
    const r = await cli([
      "sign",
      src,
      "--key",
      key("rsa2048"),
      "--cert",
      cert("rsa2048"),
      "-o",
      out,
      "--detached",
      det,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(new Uint8Array(readFileSync(det)), readVector("prog_b", "sig.rsa2048.der"));
    // exactly the header bpftool would have written with that key
    assert.equal(
      readFileSync(out, "latin1"),
      readFileSync(signedVectorHeader(dir, "prog_b", "rsa2048"), "latin1"),
    );
    assert.equal((await cli(["verify", out, "--cert", cert("rsa2048")])).code, 0);
  });
  test("an -o that cannot be written (exit 73) leaves no --detached signature behind", async () => {
    const src = signedVectorHeader(dir, "prog_b", "rsa3072");
    const det = join(dir, "half.p7s");
    const r = await cli([
      "sign",
      src,
      "--key",
      key("rsa2048"),
      "--cert",
      cert("rsa2048"),
      "-o",
      join(dir, "no-such-dir", "out.lskel.h"),
      "--detached",
      det,
    ]);
    assert.equal(r.code, 73, r.err);
    assert.equal(existsSync(det), false, "no detached signature");
  });
  test("raw inputs need --detached; the detached signature equals the vector's", async () => {
    const raw = [
      "--insns",
      join(VECTORS_DIR, "prog_a/insns.signed.bin"),
      "--data",
      join(VECTORS_DIR, "prog_a/data.bin"),
    ];
    assert.equal(
      (await cli(["sign", ...raw, "--key", key("rsa2048"), "--cert", cert("rsa2048")])).code,
      64,
    );
    const det = join(dir, "a.p7s");
    const r = await cli([
      "sign",
      ...raw,
      "--key",
      key("rsa2048"),
      "--cert",
      cert("rsa2048", "der"),
      "--detached",
      det,
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(new Uint8Array(readFileSync(det)), readVector("prog_a", "sig.rsa2048.der"));
    assert.equal(
      json(r).exclHash,
      Buffer.from(readVector("prog_a", "excl_hash.bin")).toString("hex"),
    );
  });
  test("an unsigned loader that takes host overrides is refused (exit 64) unless --allow-host-overrides", async () => {
    const p = join(dir, "prog_d.unsigned.lskel.h");
    writeFileSync(p, writeUnsignedSkeleton(vectorSkeleton("prog_d", false)));
    const out = join(dir, "prog_d.signed.lskel.h");
    const r = await cli(["sign", p, "--key", key("ecp256"), "--cert", cert("ecp256"), "-o", out]);
    assert.equal(r.code, 64);
    assert.match(
      r.err,
      /without gen_hash.*slots\.max_entries.*data\.initial_value.*--allow-host-overrides/,
    );
    assert.equal(existsSync(out), false, "nothing written");
    const ok = await cli([
      "sign",
      p,
      "--key",
      key("ecp256"),
      "--cert",
      cert("ecp256"),
      "-o",
      out,
      "--allow-host-overrides",
    ]);
    assert.equal(ok.code, 0, ok.err);
    const s = parseLightSkeleton(readFileSync(out));
    assert.ok(s.signature && s.hasKeyringId);
    assert.equal((await cli(["verify", out, "--cert", cert("ecp256")])).code, 0);
  });
  test("a key that does not match the certificate exits 65; a missing key 66", async () => {
    const src = signedVectorHeader(dir, "prog_a");
    const r = await cli([
      "sign",
      src,
      "--key",
      key("rsa3072"),
      "--cert",
      cert("rsa2048"),
      "-o",
      join(dir, "x.h"),
    ]);
    assert.equal(r.code, 65);
    assert.equal(existsSync(join(dir, "x.h")), false);
    assert.equal(
      (await cli(["sign", src, "--key", join(dir, "none.pem"), "--cert", cert("rsa2048")])).code,
      66,
    );
  });
  test("an encrypted key takes its passphrase from the environment, never from the command line", async () => {
    const enc = join(dir, "enc.pem");
    execFileSync("openssl", [
      "pkcs8",
      "-topk8",
      "-v2",
      "aes-256-cbc",
      "-in",
      key("rsa2048"),
      "-out",
      enc,
      "-passout",
      "pass:s3cret",
    ]);
    const src = signedVectorHeader(dir, "prog_a");
    const args = [
      "sign",
      src,
      "--key",
      enc,
      "--cert",
      cert("rsa2048"),
      "--detached",
      join(dir, "e.p7s"),
      "-o",
      join(dir, "e.h"),
    ];
    const none = await cli(args);
    assert.equal(none.code, 65);
    assert.doesNotMatch(none.err, /s3cret/);
    assert.equal((await cli(args, { BPFSIGN_PASSPHRASE: "wrong" })).code, 65);
    assert.equal((await cli(args, { BPFSIGN_PASSPHRASE: "s3cret" })).code, 0);
    assert.equal(
      (await cli([...args, "--passphrase-env", "MY_PASS"], { MY_PASS: "s3cret" })).code,
      0,
    );
    assert.equal((await cli([...args, "--passphrase-env", "UNSET_PASS"])).code, 64);
  });
});

describe("bpfsign keygen", () => {
  for (const type of ["rsa2048", "ec-p256"])
    test(`${type}: key (0600) and certificate; the identity signs and verifies`, {
      skip: skipVectors,
    }, async () => {
      const dir = join(makeTempDir(), "id");
      const r = await cli(["keygen", "--out", dir, "--type", type, "--json"]);
      assert.equal(r.code, 0, r.err);
      const j = json(r);
      assert.equal(statSync(join(dir, "signing_key.pem")).mode & 0o777, 0o600);
      const text = execFileSync("openssl", [
        "x509",
        "-in",
        join(dir, "signing_cert.pem"),
        "-noout",
        "-text",
      ]).toString();
      assert.match(text, /CA:FALSE/);
      assert.match(text, /Digital Signature/);
      assert.match(
        text,
        new RegExp((j.subjectKeyId as string).toUpperCase().replace(/(..)(?!$)/g, "$1:")),
      );
      const h = join(dir, "a.lskel.h");
      const s = await cli([
        "sign",
        signedVectorHeader(dir, "prog_a"),
        "--key",
        join(dir, "signing_key.pem"),
        "--cert",
        join(dir, "signing_cert.der"),
        "-o",
        h,
      ]);
      assert.equal(s.code, 0, s.err);
      const v = await cli(["verify", h, "--cert", join(dir, "signing_cert.pem"), "--json"]);
      assert.equal(json(v).signer, j.subjectKeyId);
      assert.equal(v.code, 0);
      assert.equal(
        (await cli(["keygen", "--out", dir])).code,
        64,
        "existing files kept without --force",
      );
      assert.equal((await cli(["keygen", "--out", dir, "--force"])).code, 0);
    });
  test("an unknown type is a usage error", async () => {
    assert.equal((await cli(["keygen", "--out", makeTempDir(), "--type", "dsa"])).code, 64);
  });
});

describe("bpfsign inspect", { skip: skipVectors }, () => {
  const dir = makeTempDir();
  test("a signed header: struct, excl hash check, signature fields, metadata records, disassembly", async () => {
    const h = signedVectorHeader(dir, "prog_d");
    const r = await cli(["inspect", h]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /light skeleton:\s+prog_d \(signed\)/);
    assert.match(r.out, /maps:\s+slots, data \[rw 8B\], rodata \[ro 4B\]/);
    assert.match(r.out, /excl_prog_hash:\s+= sha256\(insns\)/);
    assert.match(r.out, /host overrides: none/);
    assert.match(r.out, /skid 744bf0b23fea78c2706cc5b2237f025aa4be3235/i);
    assert.match(r.out, /3264\s+8\s+map_value\s+initial value of 'prog_d.data'/);
    assert.match(r.out, /call .*166|sys_bpf/);
    const j = json(await cli(["inspect", h, "--json", "--no-disasm"]));
    assert.equal(j.exclHashMatches, true);
    assert.equal(j.disassembly, undefined);
    assert.equal((j.metadata as { progs: { name: string }[] }).progs[0].name, "ret_magic");
  });
  test("an unsigned header lists its host overrides; a signature file and raw instructions are recognized", async () => {
    const p = join(dir, "b.lskel.h");
    writeFileSync(p, writeUnsignedSkeleton(vectorSkeleton("prog_b", false)));
    assert.match(
      (await cli(["inspect", p])).out,
      /host overrides \(not covered by a signature\):\n\s+counters\.max_entries/,
    );
    const sig = await cli(["inspect", join(VECTORS_DIR, "prog_b/sig.ecp256.der"), "--json"]);
    assert.equal(sig.code, 0, sig.err);
    assert.equal(json(sig).kind, "signature");
    const raw = await cli(["inspect", join(VECTORS_DIR, "prog_b/insns.unsigned.bin"), "--json"]);
    assert.equal(json(raw).kind, "loader instructions");
    assert.deepEqual(json(raw).hostOverrides, ["map #0.max_entries"]);
  });
});

describe("bpfsign load", { skip: skipVectors }, () => {
  const dir = makeTempDir();
  test("a signed vector header on the model: VERIFIED by the session keyring, installs and runs", async () => {
    const h = signedVectorHeader(dir, "prog_d", "rsa3072");
    const r = await cli(["load", h, "--cert", cert("rsa3072"), "--run", "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = json(r) as {
      verdict: string;
      keyring_type: string;
      maps: { name: string; max_entries: number }[];
      progs: { name: string; tag: string }[];
      runs: { retval: number }[];
    };
    assert.equal(j.verdict, "VERIFIED");
    assert.equal(j.keyring_type, "USER");
    assert.deepEqual(
      j.maps.map((m) => m.name),
      ["slots", "prog_d.data", "prog_d.rodata"],
    );
    assert.equal(j.progs[0].tag, "8209bdc16cf4e498");
    assert.equal(j.runs[0].retval, 0xabad1ded | 0);
  });
  test("without a trusted certificate the load fails with the errno name and exit 2", async () => {
    const h = signedVectorHeader(dir, "prog_a");
    const r = await cli(["load", h]);
    assert.equal(r.code, 2);
    assert.match(r.err, /failed to load loader prog failed with ENOKEY/);
  });
  test("--keyring takes a number or audit's names; 'user' is the session keyring --cert fills", async () => {
    const h = signedVectorHeader(dir, "prog_d", "rsa3072");
    const r = await cli(["load", h, "--cert", cert("rsa3072"), "--keyring", "user", "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(json(r).keyring_id, -3);
    assert.equal(json(r).verdict, "VERIFIED");
    for (const bad of ["", " ", "1e3", "0x10", "builtin:3", "2147483648"]) {
      const b = await cli(["load", h, "--cert", cert("rsa3072"), "--keyring", bad]);
      assert.equal(b.code, 64, `--keyring '${bad}'`);
      assert.match(b.err, /--keyring must be/);
    }
  });
  test("an unsigned vector header loads UNSIGNED", async () => {
    const p = join(dir, "a.lskel.h");
    writeFileSync(p, writeUnsignedSkeleton(vectorSkeleton("prog_a", false)));
    const r = await cli(["load", p, "--run"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /verdict:\s+UNSIGNED/);
    assert.match(r.out, /prog ret_const\s+SOCKET_FILTER\s+2 insns tag 76b761cdf4203894/);
    assert.match(r.out, /run {2}ret_const\s+retval 42/);
  });
});

describe("bpfsign on real Debian bpftool 7.1 headers", {
  skip: toolchainMissing() ?? skipVectors,
}, () => {
  test("inspect and load each, signing the one without host overrides", async () => {
    const dir = makeTempDir();
    const b = buildLightSkeleton("const_ret");
    const signed = join(dir, "const_ret.signed.lskel.h");
    assert.equal(
      (
        await cli([
          "sign",
          b.headerPath,
          "--key",
          key("rsa2048"),
          "--cert",
          cert("rsa2048"),
          "-o",
          signed,
        ])
      ).code,
      0,
    );
    const r = await cli(["load", signed, "--cert", cert("rsa2048"), "--run", "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(json(r).verdict, "VERIFIED");
    for (const name of ["array_count", "global_data"] as const) {
      const h = buildLightSkeleton(name).headerPath;
      assert.equal(
        (
          await cli([
            "sign",
            h,
            "--key",
            key("rsa2048"),
            "--cert",
            cert("rsa2048"),
            "-o",
            join(dir, "x.h"),
          ])
        ).code,
        64,
      );
      const l = await cli(["load", h, "--run", "--json"]);
      assert.equal(l.code, 0, l.err);
      assert.equal(json(l).verdict, "UNSIGNED");
    }
  });
});

describe("bpfsign load --backend host", () => {
  const skip = hostSkip("bpf", "syscallProg", "testRun") || toolchainMissing() || false;
  test("an unsigned Debian-bpftool skeleton loads into the running kernel and its filter runs", {
    skip,
  }, async () => {
    const h = buildLightSkeleton("const_ret").headerPath;
    const r = await cli(["load", h, "--backend", "host", "--run", "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = json(r) as {
      backend: string;
      verdict: unknown;
      progs: { name: string; type: string }[];
      runs: { retval: number }[];
    };
    assert.equal(j.backend, "host");
    assert.equal(j.verdict, null, "the host kernel does not report the verdict");
    assert.deepEqual(
      j.progs.map((p) => [p.name, p.type]),
      [["const_ret", "SOCKET_FILTER"]],
    );
    assert.equal(j.runs[0].retval, 7);
  });
  test("a signed skeleton on this host stops at the signature step (EOPNOTSUPP, exit 69) when it cannot verify", {
    skip:
      skip ||
      skipVectors ||
      (hostCaps().signatureVerification.available ? "this kernel verifies signatures" : false),
  }, async () => {
    const h = signedVectorHeader(makeTempDir(), "prog_a");
    const r = await cli(["load", h, "--backend", "host", "--cert", cert("rsa2048")]);
    assert.equal(r.code, 69);
    assert.match(r.err, /failed to load loader prog failed with EOPNOTSUPP/);
  });
});

test("parseKeyringId: numbers (negative KEY_SPEC values too) and builtin/secondary/platform/user[:SERIAL]", () => {
  assert.equal(parseKeyringId("-3"), -3);
  assert.equal(parseKeyringId("0"), 0);
  assert.equal(parseKeyringId("212804"), 212804);
  assert.equal(parseKeyringId("builtin"), 0);
  assert.equal(parseKeyringId("Secondary"), 1);
  assert.equal(parseKeyringId("platform"), 2);
  assert.equal(parseKeyringId("user"), -3);
  assert.equal(parseKeyringId("user:77"), 77);
  for (const bad of ["", " ", "1e3", "1.0", "-", "platform:2", "user:", "-2147483649"])
    assert.throws(() => parseKeyringId(bad), /--keyring must be/, bad);
});
