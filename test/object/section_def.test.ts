/** libbpf's section-name table and its matching and load-preparation rules. */

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AttachType,
  findSecDef,
  kernelAttachTarget,
  prepareProgLoad,
  SECTION_DEFS,
  SecFlag,
  secDefMatches,
} from "../../src/object/section_def.js";
import { ProgType, AttachType as UapiAttachType } from "../../src/uapi/constants.js";

test("section_def: the table has libbpf f7081a6b's 116 rows in its order", () => {
  assert.equal(SECTION_DEFS.length, 116);
  assert.equal(SECTION_DEFS[0].sec, "socket");
  assert.equal(SECTION_DEFS[SECTION_DEFS.length - 1].sec, "netfilter");
  assert.deepEqual(new Set(SECTION_DEFS.map((d) => d.sec)).size, 116, "no duplicate section names");
});

test("section_def: 'name+' matches the name alone or followed by '/', nothing else", () => {
  const kprobe = SECTION_DEFS.find((d) => d.sec === "kprobe+")!;
  assert.equal(secDefMatches(kprobe, "kprobe"), true);
  assert.equal(secDefMatches(kprobe, "kprobe/do_unlinkat"), true);
  assert.equal(secDefMatches(kprobe, "kprobe/"), true);
  assert.equal(secDefMatches(kprobe, "kprobex"), false);
  assert.equal(secDefMatches(kprobe, "kprobe.multi/x"), false);
  assert.equal(secDefMatches(kprobe, "kprob"), false);
});

test("section_def: a plain name matches exactly; 'tc' is not a prefix of 'tcx/ingress'", () => {
  assert.equal(findSecDef("socket")?.progType, ProgType.SOCKET_FILTER);
  assert.equal(findSecDef("socket/extra"), undefined);
  assert.equal(findSecDef("tc")?.progType, ProgType.SCHED_CLS);
  assert.equal(findSecDef("tcx/ingress")?.expectedAttachType, AttachType.TCX_INGRESS);
  assert.equal(findSecDef("tc/ingress")?.expectedAttachType, AttachType.TCX_INGRESS);
  assert.equal(findSecDef("not_a_program_type"), undefined);
  assert.equal(findSecDef(""), undefined);
});

test("section_def: the first matching row wins (more specific rows come first)", () => {
  assert.equal(
    findSecDef("sk_reuseport/migrate")?.expectedAttachType,
    AttachType.SK_REUSEPORT_SELECT_OR_MIGRATE,
  );
  assert.equal(findSecDef("sk_reuseport")?.expectedAttachType, AttachType.SK_REUSEPORT_SELECT);
  assert.equal(findSecDef("xdp.frags/devmap")?.flags, SecFlag.XDP_FRAGS);
  assert.equal(findSecDef("xdp/devmap")?.expectedAttachType, AttachType.XDP_DEVMAP);
  assert.equal(findSecDef("xdp")?.expectedAttachType, AttachType.XDP);
  assert.equal(findSecDef("uprobe.s/bin:fn")?.flags, SecFlag.SLEEPABLE);
  assert.equal(findSecDef("cgroup/sock")?.expectedAttachType, AttachType.CGROUP_INET_SOCK_CREATE);
});

test("section_def: prepare adds BPF_F_SLEEPABLE and records the BTF attach target after '/'", () => {
  const def = findSecDef("lsm.s/file_open")!;
  const p = prepareProgLoad(def, "lsm.s/file_open", def.progType, def.expectedAttachType, 0);
  assert.equal(p.progFlags, 1 << 4);
  assert.deepEqual(p.attachTarget, { name: "file_open", attachType: AttachType.LSM_MAC });
  assert.equal(p.refusal, null);
  const tp = findSecDef("tp_btf/sched_switch")!;
  assert.deepEqual(
    prepareProgLoad(tp, "tp_btf/sched_switch", tp.progType, tp.expectedAttachType, 0).attachTarget,
    { name: "sched_switch", attachType: AttachType.TRACE_RAW_TP },
  );
  const sys = findSecDef("syscall")!;
  assert.equal(prepareProgLoad(sys, "syscall", sys.progType, 0, 0).progFlags, 1 << 4);
});

test("section_def: XDP frags flag, usdt's uprobe_multi attach type (gen mode assumes the kernel has it)", () => {
  const frags = findSecDef("xdp.frags")!;
  assert.equal(
    prepareProgLoad(frags, "xdp.frags", ProgType.XDP, AttachType.XDP, 0).progFlags,
    1 << 5,
  );
  const usdt = findSecDef("usdt/lib:prov:name")!;
  assert.equal(
    prepareProgLoad(usdt, "usdt/lib:prov:name", ProgType.KPROBE, 0, 0).expectedAttachType,
    AttachType.TRACE_UPROBE_MULTI,
  );
});

test("section_def: refusals: BTF-attached program without a target, freplace, module multi-target", () => {
  const fentry = findSecDef("fentry")!;
  assert.equal(
    prepareProgLoad(fentry, "fentry", fentry.progType, fentry.expectedAttachType, 0).refusal?.errno,
    -22,
  );
  const ext = findSecDef("freplace/handler")!;
  assert.match(
    prepareProgLoad(ext, "freplace/handler", ext.progType, 0, 0).refusal?.reason ?? "",
    /attach program FD/,
  );
  const multi = findSecDef("fentry.multi/mod:fn*")!;
  assert.notEqual(
    prepareProgLoad(multi, "fentry.multi/mod:fn*", multi.progType, multi.expectedAttachType, 0)
      .refusal,
    null,
  );
  assert.equal(
    prepareProgLoad(multi, "fentry.multi/fn*", multi.progType, multi.expectedAttachType, 0).refusal,
    null,
  );
});

test("kernelAttachTarget: libbpf's btf_get_kernel_prefix_kind for each attach type", () => {
  assert.equal(AttachType, UapiAttachType, "section_def re-exports the uapi enum");
  assert.deepEqual(kernelAttachTarget("sys_enter", AttachType.TRACE_RAW_TP), {
    name: "btf_trace_sys_enter",
    kind: 8,
  });
  for (const t of [AttachType.LSM_MAC, AttachType.LSM_CGROUP])
    assert.deepEqual(kernelAttachTarget("file_open", t), { name: "bpf_lsm_file_open", kind: 12 });
  assert.deepEqual(kernelAttachTarget("task", AttachType.TRACE_ITER), {
    name: "bpf_iter_task",
    kind: 12,
  });
  for (const t of [AttachType.TRACE_FENTRY, AttachType.TRACE_FEXIT, AttachType.MODIFY_RETURN])
    assert.deepEqual(kernelAttachTarget("do_unlinkat", t), { name: "do_unlinkat", kind: 12 });
});
