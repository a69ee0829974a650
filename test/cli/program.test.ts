import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { cli } from "../support/cli.js";
import { REPO_ROOT } from "../support/vectors.js";

const VERSION = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version;

describe("the command line parser", () => {
  test("--version and -V print package.json's version", async () => {
    for (const a of ["--version", "-V"])
      assert.deepEqual(await cli([a]), { code: 0, out: `${VERSION}\n`, err: "" });
  });

  test("--help, -h and help list every command with its usage; no command is a usage error", async () => {
    for (const a of [["--help"], ["-h"], ["help"]]) {
      const r = await cli(a);
      assert.equal(r.code, 0);
      for (const c of [
        "sign [options] [in.lskel.h]",
        "verify [options] [in.lskel.h]",
        "inspect [options] <file>",
        "keygen [options]",
        "load [options] <file>",
        "gen [options] skeleton <OBJ.bpf.o> [name NAME]",
        "help [command]",
      ])
        assert.ok(r.out.includes(`\n  ${c} `), `${c} in:\n${r.out}`);
    }
    const none = await cli([]);
    assert.equal(none.code, 64);
    assert.match(none.err, /^Usage: bpfsign \[options\] \[command\]/);
    assert.match(none.err, /bpfsign: no command given\n/);
  });

  test("a command's help lists its arguments and options, with choices and defaults", async () => {
    const a = await cli(["help", "keygen"]);
    const b = await cli(["keygen", "--help"]);
    assert.equal(a.code, 0);
    assert.deepEqual(a, b);
    assert.match(a.out, /^Usage: bpfsign keygen \[options\]\n/);
    assert.match(
      a.out,
      /--type <type> +key type \(choices: "rsa2048", "rsa3072", "ec-p256", "ec-p384", default: "rsa2048"\)/,
    );
    assert.match((await cli(["verify", "-h"])).out, /Arguments:\n {2}in\.lskel\.h +light skeleton/);
  });

  test("usage errors exit 64 and say what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [["frob"], /unknown command 'frob'\n/],
      [["verfy"], /unknown command 'verfy' \(did you mean verify\?\)/],
      [["--frob"], /unknown option '--frob'/],
      [["verify", "--bogus"], /unknown option '--bogus'/],
      [["verify", "--cert"], /'--cert <value>' argument missing/],
      [
        ["sign", "x.lskel.h", "--cert", "c"],
        /give the signing key: --key FILE, --key pkcs11:URI or --signer-cmd CMD/,
      ],
      [["keygen", "--out", "d", "--type", "dsa"], /argument 'dsa' is invalid\. Allowed choices/],
      [["load", "x", "--backend", "vm"], /argument 'vm' is invalid/],
      [["inspect"], /missing required argument 'file'/],
      [["inspect", "a", "b"], /too many arguments for 'inspect': expected 1, got 2/],
      [["verify"], /give a light skeleton \(\.lskel\.h\), or both --insns FILE and --data FILE/],
      [["verify", "x.h", "--insns", "i"], /not both/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 64, args.join(" "));
      assert.match(r.err, message, args.join(" "));
      assert.equal(r.out, "");
    }
  });

  test("options reach the command: repeated, short, negated, defaulted", async () => {
    // Missing input files make each command stop at its first read (exit 66), naming the file,
    // which shows what it was given.
    const v = await cli([
      "verify",
      "--insns",
      "i.bin",
      "--data",
      "d.bin",
      "--cert",
      "a",
      "--cert",
      "b",
    ]);
    assert.equal(v.code, 66);
    assert.match(v.err, /'i\.bin'/);
    const s = await cli(["sign", "h.lskel.h", "--key", "k", "--cert", "c", "-o", "out.h"]);
    assert.equal(s.code, 66);
    assert.match(s.err, /'h\.lskel\.h'/);
    const header = join(REPO_ROOT, "examples/const_ret.lskel.h");
    const full = await cli(["inspect", header]);
    const short = await cli(["inspect", header, "--no-disasm"]);
    assert.equal(full.code, 0);
    assert.equal(short.code, 0);
    assert.match(full.out, /loader instructions:\n/);
    assert.doesNotMatch(short.out, /loader instructions:/);
    assert.ok(full.out.startsWith(short.out));
  });
});

describe("the executable (the bundle npm run build makes, the package's bin)", () => {
  const bin = join(REPO_ROOT, "dist/src/cli/bpfsign.cjs");
  const vectors = join(REPO_ROOT, "test/fixtures/vectors");
  const exec = (args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

  // npm run build makes the bundle after tsc; made again here so that it is this build's even
  // when only tsc ran.
  before(() => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/bundle-cli.mjs")], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
  });

  test("is the package's bin, and answers --version and --help", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
    assert.equal(pkg.bin.bpfsign, "./dist/src/cli/bpfsign.cjs");
    assert.deepEqual(
      { status: exec(["--version"]).status, out: exec(["--version"]).stdout },
      { status: 0, out: `${VERSION}\n` },
    );
    const help = exec(["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: bpfsign \[options\] \[command\]/);
  });

  test("runs a command with its exit codes: verify a vector (0), with the wrong key (2), usage (64)", () => {
    const raw = (cert: string) => [
      "verify",
      "--insns",
      join(vectors, "prog_b/insns.signed.bin"),
      "--data",
      join(vectors, "prog_b/data.bin"),
      "--sig",
      join(vectors, "prog_b/sig.rsa2048.der"),
      "--cert",
      join(vectors, `keys/test-only-${cert}.cert.der`),
    ];
    const ok = exec(raw("rsa2048"));
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /: VERIFIED\n/);
    assert.equal(exec(raw("rsa3072")).status, 2);
    const usage = exec(["verify", "--bogus"]);
    assert.equal(usage.status, 64);
    assert.match(usage.stderr, /^bpfsign: unknown option '--bogus'\n/);
  });
});
