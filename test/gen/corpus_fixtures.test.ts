/**
 * Consistency of the `bpfsign gen` comparison corpus in test/fixtures/gen (made by
 * scripts/gen-corpus.sh with the v2 bpftool; see the README there). These tests only read the
 * committed files: every object has its two headers (or is a documented negative case), the
 * headers parse, the signed one carries sha256(opts_insn) as its exclusive hash and a signature
 * that verifies with the RSA-2048 test certificate, and the recorded host facts are the ones
 * that show up in the signed bytes.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { verifyOffline } from "../../src/crypto/offline.js";
import { type LightSkeleton, parseLightSkeleton } from "../../src/skeleton/index.js";
import { vectorKeyFiles } from "../support/cms.js";
import { REPO_ROOT } from "../support/vectors.js";

const GEN_DIR = join(REPO_ROOT, "test/fixtures/gen");
const SRC_DIR = join(REPO_ROOT, "bpf/gen");
const VECTOR_OBJ_DIR = join(REPO_ROOT, "test/fixtures/vectors/obj");
const RSA2048_SKID = "744bf0b23fea78c2706cc5b2237f025aa4be3235";
const EM_BPF = 247;

const files = readdirSync(GEN_DIR);
const objects = files
  .filter((f) => f.endsWith(".bpf.o"))
  .map((f) => f.slice(0, -".bpf.o".length))
  .sort();
const negatives = objects.filter((n) => n.startsWith("neg_"));
const positives = objects.filter((n) => !n.startsWith("neg_"));

function read(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(GEN_DIR, name)));
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle);
}

/** The bytes of `ld_imm64 rX, value` from imm onwards: lo32, the second slot's zero head, hi32. */
function ldImm64Tail(value: bigint): Uint8Array {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(Number(value & 0xffffffffn), 0);
  b.writeUInt32LE(Number(value >> 32n), 8);
  return new Uint8Array(b);
}

const skeletons = new Map<string, { unsigned: LightSkeleton; signed: LightSkeleton }>();
function skeletonsOf(name: string) {
  let s = skeletons.get(name);
  if (!s) {
    s = {
      unsigned: parseLightSkeleton(read(`${name}.lskel.h`)),
      signed: parseLightSkeleton(read(`${name}.signed.lskel.h`)),
    };
    skeletons.set(name, s);
  }
  return s;
}

interface HostFacts {
  kernelRelease: string;
  linuxKernelVersion: number;
  pageSize: number;
  possibleCpus: number;
  possibleCpuList: string;
  kconfigSource: string;
  kconfig: Record<string, string | null>;
  kallsyms: string;
  ksymNames: string[];
}
const host = JSON.parse(readFileSync(join(GEN_DIR, "host.json"), "utf8")) as HostFacts;

describe("gen corpus: the fixture set", () => {
  it("has at least ten objects, one per bpf/gen source, and two negative cases", () => {
    assert.ok(positives.length >= 10, `only ${positives.length} positive objects`);
    assert.deepEqual(negatives, ["neg_ksym", "neg_progarray"]);
    const sources = readdirSync(SRC_DIR)
      .filter((f) => f.endsWith(".bpf.c"))
      .map((f) => f.slice(0, -".bpf.c".length))
      .sort();
    assert.deepEqual(sources, objects);
  });

  it("gives every positive object both headers and no header without an object", () => {
    for (const name of positives) {
      assert.ok(files.includes(`${name}.lskel.h`), `${name}.lskel.h missing`);
      assert.ok(files.includes(`${name}.signed.lskel.h`), `${name}.signed.lskel.h missing`);
    }
    for (const f of files.filter((f) => f.endsWith(".lskel.h"))) {
      const name = f.replace(/(\.signed)?\.lskel\.h$/, "");
      assert.ok(positives.includes(name), `${f} has no positive object`);
    }
  });

  it("records bpftool's refusal of each negative object, unsigned and signed", () => {
    const text = readFileSync(join(GEN_DIR, "expected-errors.txt"), "utf8");
    const blocks = text.split(/^== /m).filter((b) => b.length > 0);
    assert.equal(blocks.length, negatives.length * 2);
    for (const name of negatives) {
      for (const mode of ["unsigned", "signed"]) {
        const block = blocks.find((b) => b.startsWith(`${name}.bpf.o ${mode}\n`));
        assert.ok(block, `no entry for ${name} ${mode}`);
        const exit = /^exit: (\d+)$/m.exec(block);
        assert.ok(exit && Number(exit[1]) !== 0, `${name} ${mode}: no non-zero exit status`);
        assert.match(block, /^stderr: Error: failed to load object file$/m);
      }
    }
    assert.match(text, /extern 'bpfsign_no_such_kernel_symbol' \(strong\): not resolved/);
  });

  it("holds BPF ELF objects whose debug info names ./NAME.bpf.c and no machine path", () => {
    const check = (dir: string, name: string) => {
      const obj = new Uint8Array(readFileSync(join(dir, `${name}.bpf.o`)));
      assert.deepEqual([...obj.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${name}: not ELF`);
      assert.equal(obj[4], 2, `${name}: not ELFCLASS64`);
      assert.equal(obj[5], 1, `${name}: not little endian`);
      assert.equal(obj[18] | (obj[19] << 8), EM_BPF, `${name}: e_machine`);
      const text = Buffer.from(obj).toString("latin1");
      assert.ok(text.includes(`./${name}.bpf.c`), `${name}: no ./${name}.bpf.c in the object`);
      assert.ok(!/\/(work|tmp|home|root)\//.test(text), `${name}: a machine path in the object`);
    };
    for (const name of objects) check(GEN_DIR, name);
    for (const name of ["prog_a", "prog_b", "prog_d"]) check(VECTOR_OBJ_DIR, name);
  });
});

describe("gen corpus: the headers", () => {
  const cert = vectorKeyFiles("rsa2048");
  const otherCert = vectorKeyFiles("rsa3072");

  for (const name of positives) {
    it(`${name}: both headers parse, name the object and describe the same maps and programs`, () => {
      const { unsigned, signed } = skeletonsOf(name);
      assert.equal(unsigned.name, name);
      assert.equal(signed.name, name);
      assert.equal(unsigned.signature, null);
      assert.equal(unsigned.exclHash, null);
      assert.equal(unsigned.hasKeyringId, false);
      assert.equal(signed.hasKeyringId, true);
      assert.deepEqual(signed.maps, unsigned.maps);
      assert.deepEqual(signed.progs, unsigned.progs);
      assert.deepEqual(signed.data, unsigned.data, "opts_data differs between the two headers");
      assert.ok(signed.insns.length > 0 && signed.insns.length % 8 === 0);
      // the signed loader never reads max_entries / initial values from the ctx, so it is
      // never longer; they are equal only when nothing in the object has such an override
      assert.ok(signed.insns.length <= unsigned.insns.length);
    });

    it(`${name}: opts_excl_hash is sha256(opts_insn) and the signature verifies with the RSA-2048 certificate`, () => {
      const { signed } = skeletonsOf(name);
      assert.ok(signed.signature && signed.exclHash);
      assert.deepEqual(signed.exclHash, sha256(signed.insns));
      const input = {
        insns: signed.insns,
        metadata: signed.data,
        signature: signed.signature,
        exclHash: signed.exclHash,
      };
      const good = verifyOffline({ ...input, trusted: [cert.certDer] });
      assert.equal(good.result, "VERIFIED", good.reason);
      assert.equal(good.signer, RSA2048_SKID);
      assert.equal(good.digest, Buffer.from(sha256(signed.insns, signed.data)).toString("hex"));
      assert.equal(verifyOffline({ ...input, trusted: [otherCert.certDer] }).result, "UNTRUSTED");
      const tampered = new Uint8Array(signed.data);
      tampered[tampered.length - 1] ^= 1;
      const bad = verifyOffline({ ...input, metadata: tampered, trusted: [cert.certDer] });
      assert.equal(bad.result, "BAD_SIGNATURE");
    });
  }

  it("nomaps and subprogs: without maps or global data the two loaders are the same bytes", () => {
    for (const name of ["nomaps", "subprogs"]) {
      const { unsigned, signed } = skeletonsOf(name);
      assert.deepEqual(signed.insns, unsigned.insns, name);
    }
    const maps = skeletonsOf("maps");
    assert.ok(maps.signed.insns.length < maps.unsigned.insns.length);
  });

  it("bigrodata: the 32 KiB table is the .rodata initial value and is in the signed blob", () => {
    const { signed } = skeletonsOf("bigrodata");
    const rodata = signed.maps.find((m) => m.name === "rodata");
    assert.ok(rodata?.mmap);
    assert.equal(rodata.mmap.initialValue.length, 32768);
    assert.equal(rodata.mmap.mmapSize, 32768);
    assert.ok(indexOf(signed.data, rodata.mmap.initialValue) > 0);
  });
});

describe("gen corpus: the gen_loader call traces", () => {
  const traced = [...objects, "prog_a", "prog_b", "prog_d"];

  function traceOf(name: string, mode: "unsigned" | "signed"): string[][] {
    const text = readFileSync(join(GEN_DIR, "trace", `${name}.${mode}.trace.txt`), "utf8");
    return text
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => l.split(" "));
  }
  function field(line: string[], key: string): string {
    const tok = line.find((t) => t.startsWith(`${key}=`));
    assert.ok(tok !== undefined, `no ${key} in ${line[0]}`);
    return tok.slice(key.length + 1);
  }

  it("has both traces of every object and of the three vector objects", () => {
    const names = readdirSync(join(GEN_DIR, "trace")).filter((f) => f.endsWith(".trace.txt"));
    assert.deepEqual(
      names.sort(),
      traced.flatMap((n) => [`${n}.signed.trace.txt`, `${n}.unsigned.trace.txt`]).sort(),
    );
  });

  for (const name of traced) {
    it(`${name}: the trace ends where the header's loader does and loads its programs in order`, () => {
      for (const mode of ["unsigned", "signed"] as const) {
        const lines = traceOf(name, mode);
        assert.equal(
          lines[0].join(" "),
          `# gen-trace v1 object=${name}.bpf.o name=${name} gen_hash=${mode === "signed" ? 1 : 0}`,
        );
        const result = lines[lines.length - 1];
        assert.equal(result[0], "result");
        if (negatives.includes(name)) {
          assert.notEqual(field(result, "err"), "0");
          continue;
        }
        assert.equal(field(result, "err"), "0");
        const progLoads = lines.filter((l) => l[0] === "prog_load");
        const maps = lines.filter((l) => l[0] === "map_create" && field(l, "map_idx") !== "-1");
        assert.deepEqual(
          maps.map((l) => Number(field(l, "map_idx"))),
          maps.map((_, i) => i),
        );
        if (name.startsWith("prog_")) continue; // their headers are not in this directory
        const skel = skeletonsOf(name)[mode];
        assert.equal(Number(field(result, "insns_sz")), skel.insns.length);
        assert.equal(Number(field(result, "data_sz")), skel.data.length);
        assert.deepEqual(
          progLoads.map((l) => field(l, "name")),
          skel.progs.map((p) => p.name),
        );
        assert.equal(maps.length, skel.maps.length);
      }
    });
  }
});

describe("gen corpus: host facts", () => {
  it("host.json has every documented field", () => {
    assert.match(host.kernelRelease, /^\d+\.\d+\.\d+/);
    assert.ok(Number.isInteger(host.linuxKernelVersion) && host.linuxKernelVersion > 0);
    const [maj, min, patch] = host.kernelRelease.split(/[.-]/).map(Number);
    assert.equal(host.linuxKernelVersion, (maj << 16) + (min << 8) + Math.min(patch, 255));
    assert.ok(host.pageSize >= 4096 && (host.pageSize & (host.pageSize - 1)) === 0);
    assert.ok(Number.isInteger(host.possibleCpus) && host.possibleCpus > 0);
    assert.equal(typeof host.possibleCpuList, "string");
    assert.equal(typeof host.kconfigSource, "string");
    assert.deepEqual(Object.keys(host.kconfig).sort(), ["CONFIG_BPF_JIT", "CONFIG_HZ"]);
    assert.equal(host.kallsyms, "kallsyms");
    assert.ok(host.ksymNames.includes("__start_BTF"));
  });

  it("kallsyms holds only lines for the looked-up names, and the typeless ksym addresses are in the ksyms blob", () => {
    const lines = readFileSync(join(GEN_DIR, host.kallsyms), "utf8").split("\n").filter(Boolean);
    const ksyms = skeletonsOf("ksyms").signed;
    const found = new Set<string>();
    for (const line of lines) {
      const m = /^([0-9a-f]{16}) (\w) (\S+)/.exec(line);
      assert.ok(m, `bad kallsyms line ${line}`);
      const name = m[3].replace(/\.llvm\.\d+$/, "");
      assert.ok(host.ksymNames.includes(name), `${name} was not looked up`);
      found.add(name);
      if (name === "__start_BTF" || name === "__stop_BTF") {
        assert.ok(indexOf(ksyms.data, ldImm64Tail(BigInt(`0x${m[1]}`))) > 0, `${name} address`);
      }
    }
    assert.ok(found.has("__start_BTF") && found.has("__stop_BTF"));
    assert.ok(!found.has("bpf_no_such_symbol"));
  });

  it("kconfig: the .kconfig initial value holds the recorded host values", () => {
    const { signed } = skeletonsOf("kconfig");
    const kconfig = signed.maps.find((m) => m.name === "kconfig");
    assert.ok(kconfig?.mmap);
    const v = Buffer.from(kconfig.mmap.initialValue);
    // libbpf lays out .kconfig by descending alignment, then ascending size, then name:
    // CONFIG_HZ at 0, LINUX_KERNEL_VERSION at 4, CONFIG_BPF_JIT at 8, LINUX_HAS_BPF_COOKIE at 9
    assert.equal(v.length, 10);
    assert.equal(v.readInt32LE(0), Number(host.kconfig.CONFIG_HZ ?? 0));
    assert.equal(v.readUInt32LE(4), host.linuxKernelVersion);
    assert.equal(v[8], host.kconfig.CONFIG_BPF_JIT === "y" ? 1 : 0);
    assert.equal(v[9], 1, "LINUX_HAS_BPF_COOKIE is assumed true when generating");
    assert.ok(indexOf(signed.data, kconfig.mmap.initialValue) > 0);
  });
});
