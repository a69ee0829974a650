import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InsnFormatError } from "../../src/insn/insn.js";
import { describeInstalled } from "../../src/loader/installed.js";
import { loadAndRun } from "../../src/loader/load_and_run.js";
import { parseLightSkeleton } from "../../src/skeleton/index.js";
import { planInstall } from "../../src/skeleton/install_plan.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, ProgType } from "../../src/uapi/constants.js";
import { createModelKernel } from "../../src/vm/index.js";
import { BPF_PROGRAMS, buildLightSkeleton, toolchainMissing } from "../support/bpftool.js";
import { hostSession, hostSkip } from "../support/host.js";
import { vectorCert } from "../support/vectors.js";
import { type AuditCase, auditCases, generatedLoader, repoHeader } from "./audit_support.js";

/** Loads on the v2 model (the vector key in the session keyring) and reads back what was installed. */
function installOnModel(c: AuditCase) {
  const kernel = createModelKernel({ profile: "v2" });
  const backend = kernel.spawn();
  const bpf = new Bpf(backend);
  bpf.addKey("asymmetric", "", vectorCert("rsa2048"), KeySpec.SESSION_KEYRING);
  const loaded = loadAndRun(backend, c.image, {
    keyringId: c.image.signature ? KeySpec.SESSION_KEYRING : 0,
  });
  try {
    const installed = describeInstalled(backend, loaded);
    // the number of instructions submitted (do_check's processed count may differ from it)
    const verified = loaded.progs.map((p) => {
      const f = backend.file(p.fd);
      return f?.kind === "prog" ? f.prog.len : -1;
    });
    return { installed, verified };
  } finally {
    loaded.close();
  }
}

function comparePrediction(c: AuditCase) {
  const plan = planInstall(c.image.insns, c.image.data, {
    mapNames: c.image.maps.map((m) => m.name),
  });
  const { installed, verified } = installOnModel(c);
  assert.deepEqual(
    plan.maps.map((m) => [
      m.name,
      m.type.toUpperCase(),
      m.key_size,
      m.value_size,
      m.max_entries,
      m.map_flags,
    ]),
    installed.maps.map((m) => [
      m.name,
      m.type,
      m.key_size,
      m.value_size,
      m.max_entries,
      m.map_flags,
    ]),
    `${c.label}: maps`,
  );
  assert.deepEqual(
    plan.progs.map((p, i) => [p.name, p.type.toUpperCase(), p.insn_cnt, p.tag, p.maps.length, i]),
    installed.progs.map((p, i) => [p.name, p.type, verified[i], p.tag, p.nr_map_ids, i]),
    `${c.label}: programs`,
  );
  return plan;
}

describe("audit: the predicted install list equals what the loader installs on the model", () => {
  for (const c of auditCases())
    test(c.label, () => {
      const plan = comparePrediction(c);
      assert.ok(plan.progs.every((p) => p.tag !== null && p.tag_note === null));
    });

  for (const name of BPF_PROGRAMS)
    test(`bpftool-built ${name}.lskel.h`, { skip: toolchainMissing() ?? false }, () => {
      const b = buildLightSkeleton(name);
      comparePrediction({ label: name, image: parseLightSkeleton(b.header) });
    });
});

describe("audit: what the loader's records say", () => {
  test("prog_d: initial values, frozen .rodata, the maps the program uses, host overrides of the unsigned loader", () => {
    const signed = auditCases().find((c) => c.label === "prog_d signed (rsa2048)")!;
    const unsigned = auditCases().find((c) => c.label === "prog_d unsigned")!;
    const s = planInstall(signed.image.insns, signed.image.data);
    const u = planInstall(unsigned.image.insns, unsigned.image.data);
    assert.deepEqual(
      s.maps.map((m) => [m.name, m.frozen, m.initial_value?.bytes ?? null, m.host_overridable]),
      [
        ["slots", false, null, []],
        ["prog_d.data", false, 8, []],
        ["prog_d.rodata", true, 4, []],
      ],
    );
    assert.deepEqual(s.progs[0].maps, ["slots", "prog_d.data", "prog_d.rodata"]);
    assert.deepEqual(s.progs[0].helpers, ["map_lookup_elem"]);
    assert.equal(s.hostOverrides.overridable, false);
    assert.equal(u.hostOverrides.overridable, true);
    assert.deepEqual(
      u.maps.map((m) => m.host_overridable),
      [["max_entries"], ["initial_value", "max_entries"], ["initial_value", "max_entries"]],
    );
    // same blob, same values
    assert.deepEqual(
      s.maps.map((m) => m.initial_value?.sha256),
      u.maps.map((m) => m.initial_value?.sha256),
    );
    assert.ok(s.btf && s.btf.bytes > 0);
  });

  test("mix: attach types and the attach targets the loader looks up in kernel BTF", () => {
    const plan = planInstall(
      repoHeader("test/fixtures/skeleton_header/mix.v2.lskel.h").image.insns,
      repoHeader("test/fixtures/skeleton_header/mix.v2.lskel.h").image.data,
    );
    const byType = plan.progs.map(
      (p) => `${p.type}/${p.expected_attach_type}/${p.attach_target ?? "-"}`,
    );
    for (const want of [
      "tracing/trace_fentry/do_unlinkat",
      "tracing/trace_fexit/do_unlinkat",
      "tracing/trace_raw_tp/btf_trace_sched_switch",
      "lsm/lsm_mac/bpf_lsm_file_open",
      "tracing/trace_iter/bpf_iter_task",
      "socket_filter/none/-",
      "xdp/xdp/-",
    ])
      assert.ok(byType.includes(want), `${want} in ${byType.join(" ")}`);
  });

  test("a kfunc call: the loader patches imm and off, so the tag is not predicted; the kfunc is named", () => {
    const g = generatedLoader({ progType: ProgType.SOCKET_FILTER, kfunc: "bpf_dynptr_from_skb" });
    const plan = planInstall(g.insns, g.data);
    const p = plan.progs[0];
    assert.equal(p.tag, null);
    assert.match(
      p.tag_note ?? "",
      /patches 2 instruction field\(s\) at run time \(bpf_dynptr_from_skb\)/,
    );
    assert.deepEqual(p.kfuncs, ["bpf_dynptr_from_skb"]);
    assert.deepEqual(
      p.patches.map((x) => [x.insn, x.field, x.symbol]),
      [
        [0, "imm", "bpf_dynptr_from_skb"],
        [0, "off", "bpf_dynptr_from_skb"],
      ],
    );
  });
});

describe("audit: the predicted install list equals what the loader installs on the host kernel", () => {
  // Signed loads end in EOPNOTSUPP on this kernel: the host runs the unsigned loaders, which
  // install the same objects. The host's translated instruction count can exceed the submitted
  // one (it inlines map lookups), so the count compared here is the submitted one on the model
  // only; name, type, sizes, flags, tag and map count are compared on the host.
  const cases = auditCases().filter((c) => c.image.signature === null);
  for (const c of cases)
    test(`host: ${c.label}`, { skip: hostSkip("syscallProg", "testRun") }, () => {
      const plan = planInstall(c.image.insns, c.image.data);
      const s = hostSession();
      try {
        const loaded = loadAndRun(s.backend, c.image);
        try {
          const installed = describeInstalled(s.backend, loaded);
          assert.deepEqual(
            plan.maps.map((m) => [
              m.name,
              m.type.toUpperCase(),
              m.key_size,
              m.value_size,
              m.max_entries,
              m.map_flags,
            ]),
            installed.maps.map((m) => [
              m.name,
              m.type,
              m.key_size,
              m.value_size,
              m.max_entries,
              m.map_flags,
            ]),
          );
          assert.deepEqual(
            plan.progs.map((p) => [p.name, p.type.toUpperCase(), p.tag, p.maps.length]),
            installed.progs.map((p) => [p.name, p.type, p.tag, p.nr_map_ids]),
          );
        } finally {
          loaded.close();
        }
      } finally {
        s.dispose();
      }
    });
});

describe("audit: robustness", () => {
  test("mutated loaders and metadata: a plan, or an InsnFormatError (code INSN_*), never a crash", () => {
    const bases = auditCases().slice(0, 6);
    fc.assert(
      fc.property(
        fc.nat({ max: bases.length - 1 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat({ max: 255 })), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.option(fc.nat()),
        (which, edits, cut) => {
          const insns = new Uint8Array(bases[which].image.insns);
          let data = new Uint8Array(bases[which].image.data);
          for (const [inInsns, at, v] of edits) {
            const b = inInsns ? insns : data;
            b[at % b.length] = v;
          }
          if (cut !== null) data = data.subarray(0, cut % (data.length + 1));
          try {
            const plan = planInstall(insns, data);
            for (const p of plan.progs) assert.ok(p.tag === null || /^[0-9a-f]{16}$/.test(p.tag));
          } catch (e) {
            assert.ok(e instanceof InsnFormatError, String(e));
            assert.match(e.code, /^INSN_/);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

test("auditSkeletonWithPlan returns the plan its report's install section was built from", async () => {
  const { auditSkeletonWithPlan } = await import("../../src/audit/report.js");
  const h = repoHeader("test/fixtures/skeleton_header/mix.v2.lskel.h");
  const { report, plan } = auditSkeletonWithPlan(
    { source: "mix", insns: h.image.insns, data: h.image.data, signature: null, exclHash: null },
    { trusted: [], policy: null },
  );
  assert.deepEqual(plan, planInstall(h.image.insns, h.image.data, {}));
  assert.deepEqual(report.install.progs, plan.progs);
  assert.deepEqual(report.install.maps, plan.maps);
});
