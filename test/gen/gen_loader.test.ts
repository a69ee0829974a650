/**
 * BpfGen (src/gen/gen_loader.ts) against libbpf's own gen_loader output.
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { BpfGen, GenLoaderError } from "../../src/gen/gen_loader.js";
import { exit, ja, jmpImm, mov64Imm, stxMem } from "../../src/insn/builder.js";
import { checkInsnFields, decodeInsns } from "../../src/insn/insn.js";
import { Class, insnClass, isLdImm64, JmpOp, jmpOp, Size } from "../../src/insn/opcode.js";
import { PROGS, REPO_ROOT, readVector, skipVectors } from "../support/vectors.js";
import { callSequence } from "./gen_loader_arb.js";
import { decodeBlob } from "./gen_loader_blob.js";
import {
  applyCall,
  firstDiff,
  type GenCall,
  type GenOpts,
  mapAttr,
  progAttr,
  replay,
} from "./gen_loader_calls.js";
import { edgeCases } from "./gen_loader_cases.js";
import { digest, type Outcome, readCorpus } from "./gen_loader_corpus.js";
import { harnessMissing, runLibbpf } from "./gen_loader_harness.js";
import { parseTrace } from "./gen_loader_trace.js";

const prog_a = "prog_a";

const FIXTURES = join(REPO_ROOT, "test/fixtures/gen_loader");
function readFixture(dir: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, dir, file)));
}

for (const prog of PROGS) {
  test(`vector ${prog}: replaying the calls decoded from data.bin gives libbpf's bytes`, {
    skip: skipVectors,
  }, () => {
    const data = readVector(prog, "data.bin");
    const { calls } = decodeBlob(data);
    for (const [mode, genHash] of [
      ["unsigned", false],
      ["signed", true],
    ] as const) {
      const want = readVector(prog, `insns.${mode}.bin`);
      const out = replay(calls, { genHash });
      assert.equal(firstDiff(out.data, data), "equal", `${prog} data (${mode})`);
      assert.equal(firstDiff(out.insns, want), "equal", `${prog} insns (${mode})`);
    }
  });
}

for (const [dir, swapped] of [
  ["global_data_le", false],
  ["global_data_be", true],
] as const) {
  test(`bpftool-v2 ${dir}: replay is byte-identical${swapped ? " (big-endian target, swappedEndian)" : ""}`, () => {
    const data = readFixture(dir, "data.bin");
    const { calls } = decodeBlob(data, { swapped });
    for (const [mode, genHash] of [
      ["unsigned", false],
      ["signed", true],
    ] as const) {
      const want = readFixture(dir, `insns.${mode}.bin`);
      const out = replay(calls, { genHash, swappedEndian: swapped });
      assert.equal(firstDiff(out.data, data), "equal", `${dir} data (${mode})`);
      assert.equal(firstDiff(out.insns, want), "equal", `${dir} insns (${mode})`);
    }
  });
}

// ---- §1.10 of the userspace-toolchain reference: the no-map socket filter ------------------

test("prog_a decodes to the worked example's record layout and loader shape", {
  skip: skipVectors,
}, () => {
  const data = readVector(prog_a, "data.bin");
  const { layout, calls } = decodeBlob(data);
  // records: fd_array [0,1280), BTF, its 32-byte attr, "GPL" (8), 2 insns, 1 func_info,
  // line_info, no core_relos (same offset as the attr), the 140-byte attr padded to 144
  assert.equal(layout.btf.off, 1280);
  assert.equal(layout.btf.attrOff, layout.btf.off + Math.ceil(layout.btf.size / 8) * 8);
  const [p] = layout.progs;
  assert.equal(p.licenseOff, layout.btf.attrOff + 32);
  assert.equal(p.insnsOff, p.licenseOff + 8);
  assert.equal(p.insnCnt, 2);
  assert.equal(p.funcInfoOff, p.insnsOff + 16);
  assert.equal(p.lineInfoOff, p.funcInfoOff + 8);
  assert.equal(p.coreRelosOff, p.attrOff);
  assert.equal(data.length, p.attrOff + 144);
  assert.equal(calls[0].op, "init");
  for (const genHash of [false, true]) {
    const insns = decodeInsns(replay(calls, { genHash }).insns);
    assert.equal(insns.length, 105, "840 bytes = 105 slots either way");
    assert.deepEqual(insns[6], ja(11), "goto over the cleanup block: (12/4)*3 + 2");
    assert.deepEqual(insns[41], jmpImm(JmpOp.JSLT, 7, 0, -35), "BTF_LOAD check -> 7");
    assert.deepEqual(insns[95], jmpImm(JmpOp.JSLT, 7, 0, -89), "PROG_LOAD check -> 7");
    // blob references: attr.btf_log_level at BTF attr + 24, attr.btf <- &BTF, PROG_LOAD attr
    assert.equal(insns[20].imm, layout.btf.attrOff + 24);
    assert.equal(insns[31].imm, layout.btf.off);
    assert.equal(insns[91].imm, p.attrOff);
    assert.deepEqual(insns[92], mov64Imm(3, 140));
    assert.deepEqual(insns[102], stxMem(Size.W, 6, 0, 24), "ctx progs[0].prog_fd");
    assert.deepEqual(insns[104], exit());
  }
});

// ---- libbpf's own generator as the oracle ----------------------------------------------------

function outcomeOf(calls: readonly GenCall[], opts: GenOpts): Outcome {
  try {
    const r = replay(calls, opts);
    return { insns: digest(r.insns), data: digest(r.data) };
  } catch (e) {
    if (e instanceof GenLoaderError) return { errno: e.finishErrno };
    throw e;
  }
}

test("corpus: every committed libbpf outcome is reproduced (bytes by sha256, or finish's errno)", () => {
  const cases = readCorpus();
  assert.ok(cases.length >= 60, `${cases.length} cases`);
  for (const c of cases) {
    assert.deepEqual(outcomeOf(c.calls, c.opts), c.expect, c.name);
  }
});

const harnessSkip = harnessMissing();

test("differential: random call sequences give libbpf's bytes (both modes, both byte orders, log levels)", {
  skip: harnessSkip,
}, () => {
  fc.assert(
    fc.property(callSequence, ({ calls, opts }) => {
      const want = runLibbpf(calls, opts);
      assert.ok(!("errno" in want), "well-formed sequences publish");
      const got = replay(calls, opts);
      assert.equal(firstDiff(got.insns, want.insns), "equal", "insns");
      assert.equal(firstDiff(got.data, want.data), "equal", "data");
    }),
    { numRuns: 150 },
  );
});

// ---- failures -------------------------------------------------------------------------------

for (const c of edgeCases()) {
  test(`edge case: ${c.name}`, () => {
    for (const genHash of [false, true]) {
      const gen = new BpfGen({ genHash, logLevel: c.logLevel ?? 0, objName: "edge.bpf.o" });
      let thrown: unknown;
      try {
        for (const call of c.calls) applyCall(gen, call);
      } catch (e) {
        thrown = e;
      }
      if (c.expect === null) {
        assert.equal(thrown, undefined);
        assert.ok(gen.insns.length > 0 && gen.data.length >= 1280);
        continue;
      }
      assert.ok(thrown instanceof GenLoaderError, `threw ${thrown}`);
      assert.equal(thrown.code, c.expect.code);
      assert.equal(thrown.errno, c.expect.errno);
      assert.equal(thrown.finishErrno, c.expect.finishErrno);
      assert.match(thrown.message, /^edge\.bpf\.o: gen_loader: /);
      assert.equal(gen.error, thrown);
      assert.throws(() => gen.insns, /has not finished/, "nothing is published");
      assert.throws(() => gen.data, /has not finished/);
    }
  });
}

test("Total maps exceeds 64: the message names the map and the limit", () => {
  const gen = new BpfGen({ genHash: true, objName: "many.bpf.o" });
  gen.init(0, 65);
  for (let i = 0; i < 65; i++) gen.mapCreate(2, `map${i}`, 4, 4, 1, mapAttr(), i);
  assert.equal(gen.error?.code, "GEN_TOO_MANY_MAPS");
  assert.match(gen.error!.message, /map 'map64': Total maps exceeds 64/);
});

// ---- what gen_hash changes (§1.8) ----------------------------------------------------------

test("gen_hash drops 5 slots per created map and 10 per internal map update; data is unchanged", () => {
  const samples = fc.sample(callSequence, { seed: 7, numRuns: 40 });
  for (const { calls, opts } of samples) {
    const u = replay(calls, { ...opts, genHash: false });
    const s = replay(calls, { ...opts, genHash: true });
    const maps = calls.filter((c) => c.op === "mapCreate" && c.mapIdx >= 0).length;
    const updates = calls.filter((c) => c.op === "mapUpdateElem").length;
    assert.equal((u.insns.length - s.insns.length) / 8, 5 * maps + 10 * updates);
    assert.equal(firstDiff(u.data, s.data), "equal");
  }
});

// ---- structure ------------------------------------------------------------------------------

/** Undo the target byte order of a swapped loader so the host decoder can read it. */
function hostOrder(b: Uint8Array): Uint8Array {
  const out = b.slice();
  for (let p = 0; p < out.length; p += 8) {
    out[p + 1] = ((out[p + 1] & 0x0f) << 4) | (out[p + 1] >> 4);
    out.subarray(p + 2, p + 4).reverse();
    out.subarray(p + 4, p + 8).reverse();
  }
  return out;
}

test("property: every loader decodes, jumps land inside, ld_imm64 pairs are whole, it ends in exit", () => {
  fc.assert(
    fc.property(callSequence, ({ calls, opts }) => {
      const { insns: raw, data } = replay(calls, opts);
      const insns = decodeInsns(opts.swappedEndian ? hostOrder(raw) : raw);
      const n = insns.length;
      assert.deepEqual(insns[n - 1], exit());
      for (let i = 0; i < n; i++) {
        const insn = insns[i];
        checkInsnFields(insn, i);
        if (isLdImm64(insn)) {
          assert.ok(i + 1 < n, "ld_imm64 has its second slot");
          assert.deepEqual(
            { ...insns[i + 1], imm: 0 },
            { code: 0, dst: 0, src: 0, off: 0, imm: 0 },
          );
          assert.equal(insn.src, 6, "blob references only (BPF_PSEUDO_MAP_IDX_VALUE)");
          assert.ok(insns[i + 1].imm >= 0 && insns[i + 1].imm < data.length + 8);
          i++;
          continue;
        }
        const cls = insnClass(insn.code);
        const op = jmpOp(insn.code);
        if (cls === Class.JMP && op !== JmpOp.CALL && op !== JmpOp.EXIT) {
          const target = i + 1 + insn.off;
          assert.ok(target >= 0 && target < n, `insn ${i} jumps to ${target} of ${n}`);
          assert.ok(
            !(target > 0 && isLdImm64(insns[target - 1])),
            `insn ${i} jumps into an ld_imm64`,
          );
        }
      }
    }),
    { numRuns: 200 },
  );
});

// ---- real libbpf traces (reftool's gen-trace over the bpf/gen corpus) ----------------------

const TRACES = join(FIXTURES, "traces");
const REF_TRACES = "/work/ref/trace";
const traceOutputs = new Map(
  readFileSync(join(TRACES, "outputs.txt"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [base, , insns, , data] = l.split(" ");
      return [base, { insns, data }] as const;
    }),
);
const traceFiles = readdirSync(TRACES)
  .filter((f) => f.endsWith(".trace.txt"))
  .sort();

test("traces: the committed set covers every object in both modes", () => {
  assert.ok(traceFiles.length >= 32, `${traceFiles.length} traces`);
  for (const f of traceFiles) {
    const base = f.replace(".trace.txt", "");
    const t = parseTrace(readFileSync(join(TRACES, f), "utf8"), f);
    assert.equal(
      t.result.err === 0,
      traceOutputs.has(base),
      `${base} has outputs iff it succeeded`,
    );
  }
});

for (const f of traceFiles) {
  const base = f.replace(".trace.txt", "");
  test(`trace ${base}: every call replayed, state equal at each call, output byte-identical`, () => {
    const t = parseTrace(readFileSync(join(TRACES, f), "utf8"), f);
    const gen = new BpfGen({ genHash: t.genHash, objName: t.object });
    t.lines.forEach((l, i) => {
      if (l.fn !== "init") {
        const at = `${f} line ${i + 2} (${l.fn})`;
        assert.equal(gen.dataSize, l.dataOff, `${at}: data_off`);
        assert.equal(gen.insnSize, l.insnOff, `${at}: insn_off`);
        assert.equal(gen.error ? -gen.error.finishErrno : 0, l.error, `${at}: error`);
      }
      if (l.call) applyCall(gen, l.call);
    });
    const want = traceOutputs.get(base);
    if (t.result.err !== 0) {
      // generation stopped outside gen_loader (extern resolution, prog-array slots): no finish
      assert.equal(want, undefined);
      assert.ok(!t.lines.some((l) => l.fn === "finish"));
      assert.throws(() => gen.insns, /has not finished/);
      return;
    }
    assert.ok(want, `${base} in outputs.txt`);
    assert.equal(gen.insns.length, t.result.insnsSz);
    assert.equal(gen.data.length, t.result.dataSz);
    assert.equal(digest(gen.insns), want.insns, "insns sha256");
    assert.equal(digest(gen.data), want.data, "data sha256");
    const ref = join(REF_TRACES, `${base}.insns.bin`);
    if (existsSync(ref)) {
      assert.equal(firstDiff(gen.insns, new Uint8Array(readFileSync(ref))), "equal");
      const refData = new Uint8Array(readFileSync(join(REF_TRACES, `${base}.data.bin`)));
      assert.equal(firstDiff(gen.data, refData), "equal");
    }
  });
}

// ---- arguments ------------------------------------------------------------------------------

test("arguments that are not 32-bit integers are refused with GEN_BAD_ARGUMENT", () => {
  const gen = new BpfGen({ genHash: false, objName: "args.bpf.o" });
  gen.init(1, 1);
  for (const bad of [Number.NaN, 1.5, 2 ** 32, -(2 ** 31) - 1]) {
    assert.throws(
      () => gen.mapCreate(2, "m", 4, bad, 1, mapAttr(), 0),
      (e: unknown) =>
        e instanceof GenLoaderError &&
        e.code === "GEN_BAD_ARGUMENT" &&
        e.errno === 22 &&
        /args\.bpf\.o: gen_loader map_create: valueSize/.test(e.message),
    );
  }
  assert.throws(() => gen.recordExtern("k", false, false, false, 12, Number.NaN), {
    code: "GEN_BAD_ARGUMENT",
  });
  assert.throws(() => gen.insns, { code: "GEN_NOT_FINISHED" });
});

test("property: 32-bit arguments anywhere never crash with anything but a GenLoaderError", () => {
  const i32 = fc.oneof(
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.constantFrom(-1, 0, 1, 0x7fff, 0x8000, 0x7fffffff, 0xffffffff),
  );
  fc.assert(
    fc.property(fc.array(i32, { minLength: 12, maxLength: 12 }), fc.boolean(), (v, genHash) => {
      const gen = new BpfGen({ genHash, logLevel: v[11] & 1 });
      try {
        gen.init(v[0] & 0xff, v[1] & 0xff);
        gen.mapCreate(v[2], "m", v[3], v[4], v[5], mapAttr({ mapFlags: v[6] }), v[7]);
        gen.mapUpdateElem(v[7], new Uint8Array(v[8] & 0x3f));
        gen.mapFreeze(v[8]);
        gen.populateOuterMap(v[9], v[10], v[2]);
        gen.recordAttachTarget("t", v[3]);
        gen.recordExtern("k", v[4] < 0, v[5] < 0, v[6] < 0, v[9], v[10]);
        gen.recordReloCore({ insnOff: v[0], typeId: v[1], accessStrOff: v[2], kind: v[3] });
        gen.progLoad(v[4], "p", "GPL", new Uint8Array(16), progAttr({ attachBtfId: v[5] }), 0);
        gen.finish(v[0] & 0xff, v[1] & 0xff);
      } catch (e) {
        assert.ok(e instanceof GenLoaderError, String(e));
      }
    }),
    { numRuns: 300 },
  );
});

const TRACES_BE = join(FIXTURES, "traces_be");
const beOutputs = new Map(
  readFileSync(join(TRACES_BE, "outputs.txt"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [base, , insns, , data] = l.split(" ");
      return [base, { insns, data }] as const;
    }),
);

for (const f of readdirSync(TRACES_BE).filter((f) => f.endsWith(".trace.txt"))) {
  const obj = f.replace(".unsigned.trace.txt", "");
  test(`big-endian trace ${obj}: swappedEndian replay equals libbpf's cross-endian loader (both modes)`, () => {
    const t = parseTrace(readFileSync(join(TRACES_BE, f), "utf8"), f);
    for (const [mode, genHash] of [
      ["unsigned", false],
      ["signed", true],
    ] as const) {
      const gen = new BpfGen({ genHash, swappedEndian: true, objName: t.object });
      t.lines.forEach((l, i) => {
        if (!genHash && l.fn !== "init") {
          assert.equal(gen.dataSize, l.dataOff, `${f} line ${i + 2}: data_off`);
          assert.equal(gen.insnSize, l.insnOff, `${f} line ${i + 2}: insn_off`);
        }
        if (l.call) applyCall(gen, l.call);
      });
      const want = beOutputs.get(`${obj}.${mode}`);
      assert.ok(want, `${obj}.${mode} in outputs.txt`);
      assert.equal(digest(gen.insns), want.insns, `${mode} insns`);
      assert.equal(digest(gen.data), want.data, `${mode} data`);
    }
  });
}
