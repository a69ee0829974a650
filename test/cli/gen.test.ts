/**
 * `bpfsign gen skeleton`: bpftool's argument shape and rules, byte-identical output with the
 * reference run's machine facts given on the command line, typed errors with exit 65 and no
 * output file for bad objects, and a property run over mutated real objects.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { hostOptions } from "../object/trace_support.js";
import { cli } from "../support/cli.js";
import { cleanupTempDirs, makeTempDir } from "../support/openssl.js";
import { REPO_ROOT, VECTORS_DIR } from "../support/vectors.js";

const GEN = join(REPO_ROOT, "test/fixtures/gen");
const KEYS = join(VECTORS_DIR, "keys");
const host = JSON.parse(readFileSync(join(GEN, "host.json"), "utf8")) as {
  linuxKernelVersion: number;
  possibleCpus: number;
  pageSize: number;
  kconfig: Record<string, string>;
};
const dir = makeTempDir("bpfsign-gen-");
after(cleanupTempDirs);

const kconfigFile = join(dir, "config");
writeFileSync(
  kconfigFile,
  Object.entries(host.kconfig)
    .map(([k, v]) => `${k}=${v}\n`)
    .join(""),
);
/** The reference run's machine, on the command line. */
const FACTS = [
  "--kallsyms",
  join(GEN, "kallsyms"),
  "--kconfig",
  kconfigFile,
  "--kernel-version",
  String(host.linuxKernelVersion),
  "--nr-cpus",
  String(host.possibleCpus),
  "--page-size",
  String(host.pageSize),
];
const SIGN = [
  "-S",
  "-k",
  join(KEYS, "test-only-rsa2048.key.pem"),
  "-i",
  join(KEYS, "test-only-rsa2048.cert.pem"),
];

describe("bpfsign gen skeleton", () => {
  for (const name of ["multiprog", "kconfig", "hostdep", "ksyms"]) {
    test(`${name}: -L and -L -S headers equal the v2 bpftool's`, async () => {
      const obj = join(GEN, `${name}.bpf.o`);
      const u = await cli(["gen", "skeleton", "-L", obj, "name", name, ...FACTS]);
      assert.equal(u.code, 0, u.err);
      assert.equal(u.out, readFileSync(join(GEN, `${name}.lskel.h`), "latin1"));
      const out = join(dir, `${name}.signed.lskel.h`);
      const s = await cli(["gen", "skeleton", ...SIGN, obj, "name", name, "-o", out, ...FACTS]);
      assert.equal(s.code, 0, s.err);
      assert.equal(s.out, "");
      assert.deepEqual(readFileSync(out), readFileSync(join(GEN, `${name}.signed.lskel.h`)));
    });
  }

  test("the default name is bpftool's: the file name without .o, sanitised", async () => {
    const r = await cli(["gen", "skeleton", join(GEN, "nomaps.bpf.o")]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /#ifndef __NOMAPS_BPF_SKEL_H__/);
    assert.match(r.out, /struct nomaps_bpf \{/);
  });

  test("--json summarises, and the signed verify round-trips", async () => {
    const out = join(dir, "maps.json.lskel.h");
    const r = await cli([
      "gen",
      "skeleton",
      ...SIGN,
      join(GEN, "maps.bpf.o"),
      "name",
      "maps",
      "-o",
      out,
      "--json",
      ...FACTS,
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.signed, true);
    assert.equal(j.signer, "744bf0b23fea78c2706cc5b2237f025aa4be3235");
    assert.deepEqual(j.maps, ["pkt_counts", "flows", "scratch", "recent", "events"]);
    assert.deepEqual(j.progs, ["count_flows"]);
    const v = await cli(["verify", out, "--cert", join(KEYS, "test-only-rsa2048.cert.pem")]);
    assert.equal(v.code, 0, v.out + v.err);
  });

  test("bpftool's rules for -S, -k and -i are usage errors (exit 64)", async () => {
    const obj = join(GEN, "nomaps.bpf.o");
    const s = await cli(["gen", "skeleton", "-S", obj]);
    assert.equal(s.code, 64);
    assert.match(s.err, /-i <identity_x509_cert> and -k <private_key> .*must be supplied with -S/);
    const k = await cli(["gen", "skeleton", "-k", join(KEYS, "test-only-rsa2048.key.pem"), obj]);
    assert.equal(k.code, 64);
    assert.match(k.err, /--sign \(or -S\) must be explicitly passed/);
    assert.equal((await cli(["gen", "skel", obj])).code, 64);
    assert.equal((await cli(["gen", "skeleton"])).code, 64);
    assert.equal((await cli(["gen", "skeleton", obj, "nom", "x"])).code, 64);
    assert.equal((await cli(["gen", "skeleton", obj, "--nr-cpus", "0"])).code, 64);
  });

  test("a malformed object: exit 65 naming the file and offset, and no output file", async () => {
    const bad = join(dir, "bad.bpf.o");
    const obj = readFileSync(join(GEN, "globals.bpf.o"));
    writeFileSync(bad, obj.subarray(0, 300));
    const out = join(dir, "bad.lskel.h");
    const r = await cli(["gen", "skeleton", bad, "-o", out]);
    assert.equal(r.code, 65);
    assert.match(r.err, /bad\.bpf\.o/);
    assert.match(r.err, /offset/);
    assert.equal(existsSync(out), false);
    const notElf = await cli(["gen", "skeleton", join(GEN, "README.md"), "-o", out]);
    assert.equal(notElf.code, 65);
    assert.match(notElf.err, /ELF/);
    assert.equal(existsSync(out), false);
  });

  test("a strong ksym missing from kallsyms: refused as bpftool refuses, no output", async () => {
    const empty = join(dir, "empty-kallsyms");
    writeFileSync(empty, "");
    const out = join(dir, "neg.lskel.h");
    const r = await cli([
      "gen",
      "skeleton",
      join(GEN, "neg_ksym.bpf.o"),
      "-o",
      out,
      "--kallsyms",
      empty,
    ]);
    assert.equal(r.code, 65);
    assert.match(r.err, /bpfsign_no_such_kernel_symbol/);
    assert.equal(existsSync(out), false);
  });
  test("an unreadable object: exit 66", async () => {
    assert.equal((await cli(["gen", "skeleton", join(dir, "missing.bpf.o")])).code, 66);
  });
});

describe("gen over mutated real objects", () => {
  test("never a crash: every outcome is a header or a typed error (counts printed)", () => {
    const objs = readdirSync(GEN)
      .filter((f) => f.endsWith(".bpf.o") && !f.startsWith("neg_"))
      .map((f) => ({ f, bytes: new Uint8Array(readFileSync(join(GEN, f))) }));
    const counts = new Map<string, number>();
    const facts = hostOptions();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: objs.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        // one run in ten also truncates the object
        fc.tuple(fc.integer({ min: 0, max: 9 }), fc.nat()),
        (which, flips, cut) => {
          const { f, bytes } = objs[which];
          let b = bytes.slice();
          for (const [at, v] of flips) b[at % b.length] = v;
          if (cut[0] === 0) b = b.subarray(0, cut[1] % b.length);
          let outcome: string;
          try {
            genSkeleton(b, f, { facts });
            outcome = "generated";
          } catch (e) {
            const code = (e as { code?: unknown }).code;
            assert.ok(
              typeof code === "string" && /^(ELF|BTF|OBJECT|GEN)_/.test(code),
              `${f}: untyped ${e instanceof Error ? e.stack : String(e)}`,
            );
            outcome = code;
          }
          counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
        },
      ),
      { numRuns: 400, seed: 0x9e7 },
    );
    const report = [...counts].sort((a, b) => b[1] - a[1]);
    console.log(`gen over mutated objects: ${report.map(([k, v]) => `${k} ${v}`).join(", ")}`);
    assert.ok(counts.size > 3);
  });
});

describe("bpfsign gen skeleton --scheme", () => {
  const expected = {
    v2: { verdict: "VERIFIED", integrity: "bpf:VERIFIED" },
    kfunc: { verdict: "VERIFIED", integrity: "bpf:METADATA_VERIFIED" },
    hornet: { verdict: "UNSIGNED", integrity: "hornet:OK" },
  } as const;
  for (const [scheme, want] of Object.entries(expected)) {
    test(`${scheme}: the generated signed skeleton loads on its profile with the scheme's verdicts`, async () => {
      const out = join(dir, `global_data.${scheme}.lskel.h`);
      const obj = join(REPO_ROOT, "examples/global_data.bpf.o");
      const g = await cli(["gen", "skeleton", ...SIGN, "--scheme", scheme, obj, "-o", out]);
      assert.equal(g.code, 0, g.err);
      const certPem = join(KEYS, "test-only-rsa2048.cert.pem");
      const l = await cli(["load", out, "--scheme", scheme, "--cert", certPem, "--run", "--json"]);
      assert.equal(l.code, 0, l.err);
      const j = JSON.parse(l.out);
      assert.equal(j.verdict, want.verdict);
      assert.equal(j.integrity, want.integrity);
      assert.equal(j.runs[0].retval, 0x55667792);
    });
  }
  test("--scheme without -S is a usage error", async () => {
    const obj = join(REPO_ROOT, "examples/global_data.bpf.o");
    assert.equal((await cli(["gen", "skeleton", "--scheme", "kfunc", obj])).code, 64);
  });
});

describe("bpfsign gen skeleton: machine facts from the command line", () => {
  test("a corrupt gzipped --kconfig is malformed input (65), not a crash", async () => {
    const bad = join(dir, "config.gz");
    writeFileSync(bad, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5]));
    const r = await cli(["gen", "skeleton", join(GEN, "kconfig.bpf.o"), "--kconfig", bad]);
    assert.equal(r.code, 65);
    assert.match(r.err, /malformed kernel config .*config\.gz.*gzip/);
  });
  test("a gzipped --kconfig is read as /proc/config.gz is", async () => {
    const gz = join(dir, "config2.gz");
    writeFileSync(gz, gzipSync(readFileSync(kconfigFile)));
    const args = FACTS.map((a) => (a === kconfigFile ? gz : a));
    const r = await cli([
      "gen",
      "skeleton",
      join(GEN, "kconfig.bpf.o"),
      "name",
      "kconfig",
      ...args,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, readFileSync(join(GEN, "kconfig.lskel.h"), "latin1"));
  });
  test("--page-size must be a power of two", async () => {
    const r = await cli(["gen", "skeleton", join(GEN, "hostdep.bpf.o"), "--page-size", "3000"]);
    assert.equal(r.code, 64);
    assert.match(r.err, /power of two/);
  });
  test("an empty name falls back to the file's name, as bpftool's does", async () => {
    const r = await cli(["gen", "skeleton", join(GEN, "nomaps.bpf.o"), "name", ""]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /struct nomaps_bpf \{/);
  });
  test("one page size for ringbuf sizes and mmap sizes: 64 KiB pages", () => {
    const out = genSkeleton(readFileSync(join(GEN, "hostdep.bpf.o")), "hostdep.bpf.o", {
      facts: { ...hostOptions(), pageSize: 65536 },
    });
    // the 5000-byte ring rounds up to one 64 KiB page
    const ring = out.object.maps.find((m) => m.name === "odd_ring");
    assert.equal(ring?.def.maxEntries, 65536);
    // and the header maps global data in pages of the same size
    const g = genSkeleton(readFileSync(join(GEN, "globals.bpf.o")), "globals.bpf.o", {
      facts: { ...hostOptions(), pageSize: 65536 },
    });
    const text = Buffer.from(g.header).toString("latin1");
    assert.match(text, /skel_prep_map_data\(\(void \*\)data, 65536,/);
    assert.doesNotMatch(text, /skel_prep_map_data\(\(void \*\)data, 4096,/);
  });
});

test("load OBJ.bpf.o refuses the skeleton-only options, --scheme included (exit 64)", async () => {
  const obj = join(GEN, "nomaps.bpf.o");
  for (const extra of [
    ["--scheme", "kfunc"],
    ["--scheme", "v2"],
    ["--keyring", "user"],
  ]) {
    const r = await cli(["load", obj, ...extra]);
    assert.equal(r.code, 64, extra.join(" "));
    assert.match(r.err, /--scheme apply to light skeletons, not objects/);
  }
  assert.equal((await cli(["load", obj])).code, 0);
});
