/**
 * The package as a user gets it: `npm pack` of a copy of the repository's package files (so
 * `prepack` builds from src/ there, not in this run's dist/), the tarball installed into an
 * empty project, the library imported from "bpfsign" and its subpaths by an ESM script and type
 * checked by a TypeScript one, and the installed `bpfsign` executable run. The install needs
 * the npm registry or npm's cache; the test skips (saying why) only when neither can serve it.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir } from "../support/openssl.js";
import { README_EXAMPLE_OUTPUT, readmeLibraryExample } from "../support/readme.js";
import { REPO_ROOT } from "../support/vectors.js";

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const FIXTURES = join(REPO_ROOT, "test/fixtures/vectors");
const VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    version: string;
  }
).version;

function npm(args: string[], cwd: string, timeout = 60_000) {
  return spawnSync(NPM, args, { cwd, encoding: "utf8", timeout });
}

/** Why the install cannot run here, or null: no registry and no cached dependencies. */
function installUnavailable(): string | null {
  if (npm(["ping"], REPO_ROOT, 15_000).status === 0) return null;
  const missing = ["koffi"].filter((p) => {
    const r = npm(["cache", "ls", p], REPO_ROOT, 15_000);
    return r.status !== 0 || !r.stdout.includes(`/${p}/-/`);
  });
  return missing.length
    ? `the npm registry is unreachable and npm's cache lacks ${missing.join(", ")}`
    : null;
}

/** `npm pack` of a copy of the package's sources; returns the tarball path and its file list. */
function pack(): { tgz: string; files: string[] } {
  const src = makeTempDir("bpfsign-pack-");
  for (const f of ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "LICENSE"])
    cpSync(join(REPO_ROOT, f), join(src, f));
  for (const d of ["src", "scripts"]) cpSync(join(REPO_ROOT, d), join(src, d), { recursive: true });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(src, "node_modules"));
  const out = makeTempDir("bpfsign-tgz-");
  const r = npm(["pack", "--json", "--pack-destination", out], src);
  assert.equal(r.status, 0, `npm pack failed:\n${r.stderr}`);
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  return { tgz: join(out, info.filename), files: info.files.map((f) => f.path).sort() };
}

/**
 * A consumer of the root and four subpaths: re-signs a vector loader (RSA is deterministic, so
 * the signature must equal the vector's), verifies it offline with the right and a wrong
 * certificate, makes a failing bpf() call on the model, and regenerates the vector's signed
 * loader from its object.
 */
const CONSUMER_MJS = `
import { readFileSync } from "node:fs";
import { Bpf, BpfError, createModelKernel, loadCertificate, signLoader, verifyOffline } from "bpfsign";
import { describeSignature } from "bpfsign/crypto";
import { decodeInsns } from "bpfsign/insn";
import { ModelKernel } from "bpfsign/kernel";
import { genSkeleton } from "bpfsign/gen";
const [dir] = process.argv.slice(2);
const read = (f) => new Uint8Array(readFileSync(dir + "/" + f));
const insns = read("prog_b/insns.signed.bin");
const metadata = read("prog_b/data.bin");
const cert = read("keys/test-only-rsa2048.cert.der");
const key = readFileSync(dir + "/keys/test-only-rsa2048.key.pem");
const signed = signLoader({ insns, metadata, key, cert });
const verify = (trusted) => verifyOffline({ insns, metadata, signature: signed.signature,
  exclHash: signed.exclHash, trusted: [trusted] });
const kernel = createModelKernel({ profile: "v2" });
let bpfError = null;
try { new Bpf(kernel.spawn()).progGetFdById(12345); }
catch (e) { bpfError = e instanceof BpfError ? e.errno : String(e); }
console.log(JSON.stringify({
  signature: Buffer.from(signed.signature).toString("hex"),
  result: verify(cert).result,
  other: verify(read("keys/test-only-ecp256.cert.der")).errno,
  signers: describeSignature(signed.signature).value.signers.length,
  insns: decodeInsns(insns).length,
  kernel: kernel instanceof ModelKernel,
  certOk: loadCertificate(cert).ok,
  bpfError,
  generated: Buffer.compare(
    genSkeleton(read("obj/prog_b.bpf.o"), "prog_b.bpf.o", { name: "prog_b", signing: { key, cert } }).insns,
    insns,
  ) === 0,
}));
`;

/** The same API seen through the shipped declarations (the "types" conditions). */
const CONSUMER_TS = `
import { type OfflineReport, signLoader, verifyOffline, type LightSkeleton } from "bpfsign";
import { parsePkcs7 } from "bpfsign/crypto";
import { createModelKernel } from "bpfsign/vm";
import { loadAndRun, type LoadedSkeleton } from "bpfsign/loader";
import type { BpfBackend } from "bpfsign/uapi";
export function check(s: LightSkeleton, key: string, cert: Uint8Array): OfflineReport {
  const signed = signLoader({ insns: s.insns, metadata: s.data, key, cert });
  const backend: BpfBackend = createModelKernel().spawn();
  const loaded: LoadedSkeleton = loadAndRun(backend, s, { keyringId: 0 });
  loaded.close();
  void parsePkcs7;
  return verifyOffline({ insns: s.insns, metadata: s.data, signature: signed.signature,
    exclHash: signed.exclHash, trusted: [cert] });
}
`;

test("npm pack ships the library and CLI; installed, its API imports and its bin runs", async (t) => {
  const { tgz, files } = pack();

  // What ships: the built library and CLI with their declarations, the licence and the README.
  for (const f of files)
    assert.match(
      f,
      /^(dist\/src\/.+\.(js|d\.ts|cjs|cjs\.cache)|LICENSE|README\.md|package\.json)$/,
      f,
    );
  for (const f of [
    "LICENSE",
    "dist/src/index.js",
    "dist/src/index.d.ts",
    "dist/src/cli/bpfsign.cjs",
    "dist/src/cli/bpfsign-cli.cjs",
    "dist/src/cli/bpfsign-cli.cjs.cache",
    ...[
      "crypto",
      "skeleton",
      "insn",
      "kernel",
      "vm",
      "loader",
      "host",
      "uapi",
      "gen",
      "object",
      "btf",
      "elf",
      "policy",
      "scheme",
    ].flatMap((l) => [`dist/src/${l}/index.js`, `dist/src/${l}/index.d.ts`]),
  ])
    assert.ok(files.includes(f), `${f} is missing from the tarball`);
  assert.ok(!files.some((f) => /demo|example/.test(f)), "the demo's helpers must not ship");

  const proj = makeTempDir("bpfsign-user-");
  writeFileSync(
    join(proj, "package.json"),
    JSON.stringify({ name: "user", version: "1.0.0", private: true, type: "module" }),
  );
  const inst = npm(["install", "--no-audit", "--no-fund", "--prefer-offline", tgz], proj, 120_000);
  if (inst.status !== 0) {
    const why = installUnavailable();
    if (why) {
      console.log(`# skipped: ${why}`);
      t.skip(why);
      return;
    }
    assert.fail(`npm install of the tarball failed:\n${inst.stderr}`);
  }

  // The library, from the package root and three subpaths, in a plain ESM script.
  writeFileSync(join(proj, "use.mjs"), CONSUMER_MJS);
  const used = JSON.parse(
    execFileSync(process.execPath, ["use.mjs", FIXTURES], { cwd: proj, encoding: "utf8" }),
  );
  assert.equal(
    used.signature,
    Buffer.from(readFileSync(join(FIXTURES, "prog_b/sig.rsa2048.der"))).toString("hex"),
    "RSA signing is deterministic: the installed signer reproduces the vector's signature",
  );
  assert.deepEqual(
    { ...used, signature: undefined },
    {
      signature: undefined,
      result: "VERIFIED",
      other: "ENOKEY",
      signers: 1,
      insns: readFileSync(join(FIXTURES, "prog_b/insns.signed.bin")).length / 8,
      kernel: true,
      certOk: true,
      bpfError: 2, // ENOENT: no program with that id
      generated: true, // bpfsign/gen regenerates the vector's signed loader from its object
    },
  );

  // The README's library example, as written, against the installed package.
  copyFileSync(join(REPO_ROOT, "examples/const_ret.lskel.h"), join(proj, "const_ret.lskel.h"));
  writeFileSync(join(proj, "readme.mjs"), readmeLibraryExample());
  assert.match(
    execFileSync(process.execPath, ["readme.mjs"], { cwd: proj, encoding: "utf8" }),
    README_EXAMPLE_OUTPUT,
  );

  // The declarations: a TypeScript consumer type-checks against the installed package.
  writeFileSync(join(proj, "use.ts"), CONSUMER_TS);
  writeFileSync(
    join(proj, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        typeRoots: [join(REPO_ROOT, "node_modules/@types")],
        types: ["node"],
      },
      files: ["use.ts"],
    }),
  );
  const tsc = spawnSync(join(REPO_ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], {
    cwd: proj,
    encoding: "utf8",
  });
  assert.equal(tsc.status, 0, `the installed declarations do not type-check:\n${tsc.stdout}`);

  // The executable, as npx finds it, and `bpfsign verify` on a vector with its exit codes.
  const version = spawnSync("npx", ["--offline", "bpfsign", "--version"], {
    cwd: proj,
    encoding: "utf8",
  });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout, `${VERSION}\n`);
  const bin = join(proj, "node_modules/.bin/bpfsign");
  const raw = (k: string) => [
    "verify",
    "--insns",
    join(FIXTURES, "prog_b/insns.signed.bin"),
    "--data",
    join(FIXTURES, "prog_b/data.bin"),
    "--sig",
    join(FIXTURES, `prog_b/sig.${k}.der`),
    "--cert",
    join(FIXTURES, "keys/test-only-rsa2048.cert.der"),
  ];
  const ok = spawnSync(bin, raw("rsa2048"), { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /insns\.signed\.bin: VERIFIED\n/);
  const untrusted = spawnSync(bin, [...raw("ecp256"), "--json"], { encoding: "utf8" });
  assert.equal(untrusted.status, 2, untrusted.stderr);
  assert.equal(JSON.parse(untrusted.stdout).result, "UNTRUSTED");
  const usage = spawnSync(bin, ["verify"], { encoding: "utf8" });
  assert.equal(usage.status, 64);
});
