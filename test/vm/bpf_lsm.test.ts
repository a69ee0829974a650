/**
 * BPF LSM and tracing programs on the model: loads checked against the vmlinux BTF (attach
 * target, sleepable, context accesses), links made and dropped, and the BPF LSM at the model's
 * hook sites — in attach order, first non-zero return denies, void hooks ignore returns, after the
 * TypeScript modules in one chain.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BTF_KIND } from "../../src/btf/btf.js";
import { exit, jmpImm, ldxMem, mov64Imm, Size } from "../../src/insn/index.js";
import { modelVmlinuxBtf } from "../../src/kernel/vmlinux_btf.js";
import { attachProgram } from "../../src/loader/attach.js";
import { Bpf } from "../../src/uapi/bpf.js";
import {
  AttachType,
  BpfCmd,
  KeySpec,
  ProgFlag,
  ProgType,
  SigVerdict,
} from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { cString, encode, ProgLoadAttr } from "../../src/uapi/layout.js";
import { type BpfLsm, createModelKernel } from "../../src/vm/index.js";
import {
  insns,
  load,
  metaMap,
  RET0,
  rawInsn,
  sha256,
  signer,
  socketFilter,
  syscallProg,
  trustInSession,
} from "../kernel/support.js";

const btf = modelVmlinuxBtf();
const fn = (name: string) => btf.findByName(name, BTF_KIND.FUNC);

function world() {
  const kernel = createModelKernel();
  const proc = kernel.spawn();
  const bpf = new Bpf(proc);
  const bpfLsm = kernel.lsm.bpfModule as BpfLsm;
  bpfLsm.trace = true;
  return { kernel, proc, bpf, bpfLsm };
}
type W = ReturnType<typeof world>;

/** BPF_PROG_LOAD of a program attached through BTF; returns { fd | errno, log }. */
function loadBtfProg(
  w: W,
  code: Uint8Array,
  o: { type?: number; eat?: number; target: number; name?: string; flags?: number },
): { fd: number; log: string } {
  const mem = w.proc.memory;
  const logBuf = mem.alloc(4096);
  const attr = encode(
    ProgLoadAttr,
    {
      prog_type: o.type ?? ProgType.LSM,
      expected_attach_type: o.eat ?? AttachType.LSM_MAC,
      attach_btf_id: o.target,
      insn_cnt: code.length / 8,
      insns: mem.alloc(code),
      license: mem.alloc(new TextEncoder().encode("GPL\0")),
      prog_name: cString(o.name ?? "p", 16),
      prog_flags: o.flags ?? 0,
      log_level: 1,
      log_size: 4096,
      log_buf: logBuf,
    },
    168,
  );
  const fd = w.proc.bpf(BpfCmd.PROG_LOAD, attr, 168);
  const log = new TextDecoder().decode(mem.read(logBuf, 4096)).replace(/\0[\s\S]*$/, "");
  return { fd, log };
}

/** return <imm> */
const ret = (imm: number) => insns(mov64Imm(0, imm), exit());
/** post_integrity: deny (EACCES) unless ctx[5] (the verdict) is VERIFIED */
const REQUIRE_VERIFIED = insns(
  ldxMem(Size.DW, 0, 1, 40),
  jmpImm(0x10, 0, SigVerdict.VERIFIED, 2),
  mov64Imm(0, -Errno.EACCES),
  exit(),
  mov64Imm(0, 0),
  exit(),
);

const s = signer();
const VALUE = new Uint8Array(32).fill(0x5a);
const signedLoad = (w: W) => {
  trustInSession(w.bpf, s);
  const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
  return load(
    w.bpf,
    syscallProg(RET0, {
      fd_array: [meta],
      fd_array_cnt: 1,
      signature: s.sign(RET0, VALUE),
      keyring_id: KeySpec.SESSION_KEYRING,
    }),
  );
};

describe("loading programs attached through the model's vmlinux BTF", () => {
  test("an LSM program needs a bpf_lsm_* FUNC and BPF_LSM_MAC", () => {
    const w = world();
    assert.ok(loadBtfProg(w, ret(0), { target: fn("bpf_lsm_bpf_prog_load") }).fd >= 3);
    const noTarget = loadBtfProg(w, ret(0), { target: 0 });
    assert.equal(noTarget.fd, -Errno.EINVAL);
    assert.match(noTarget.log, /Tracing programs must provide btf_id/);
    const notLsm = loadBtfProg(w, ret(0), { target: fn("do_unlinkat") });
    assert.equal(notLsm.fd, -Errno.EINVAL);
    assert.match(notLsm.log, /is not a BPF LSM hook/);
    assert.equal(
      loadBtfProg(w, ret(0), { target: fn("bpf_lsm_bpf"), eat: AttachType.TRACE_FENTRY }).fd,
      -Errno.EINVAL,
    );
  });

  test("sleepable: LSM hooks and iterators may be; fentry may not", () => {
    const w = world();
    const sl = ProgFlag.SLEEPABLE;
    assert.ok(loadBtfProg(w, ret(0), { target: fn("bpf_lsm_bpf_prog_load"), flags: sl }).fd >= 3);
    const fentry = loadBtfProg(w, ret(0), {
      type: ProgType.TRACING,
      eat: AttachType.TRACE_FENTRY,
      target: fn("do_unlinkat"),
      flags: sl,
    });
    assert.equal(fentry.fd, -Errno.EINVAL);
    assert.match(fentry.log, /do_unlinkat is not sleepable/);
  });

  test("the context is the hook's arguments: 8-byte reads inside them, never writes", () => {
    const w = world();
    const target = fn("bpf_lsm_bpf_prog"); // one argument
    assert.ok(loadBtfProg(w, insns(ldxMem(Size.DW, 0, 1, 0), exit()), { target }).fd >= 3);
    for (const [code, why] of [
      [insns(ldxMem(Size.DW, 0, 1, 8), exit()), "past the one argument"],
      [insns(ldxMem(Size.W, 0, 1, 0), exit()), "a 4-byte read"],
      [insns(rawInsn(0x7a, 1, 0, 0, 0), mov64Imm(0, 0), exit()), "a store"],
    ] as const) {
      const r = loadBtfProg(w, code, { target });
      assert.equal(r.fd, -Errno.EACCES, why);
      assert.match(r.log, /invalid bpf_context access/, why);
    }
  });
});

describe("the BPF LSM at the model's hook sites", () => {
  test("attached (raw_tracepoint_open), a program at bpf_prog_load denies with its return; closing the link detaches", () => {
    const w = world();
    const p = loadBtfProg(w, ret(-Errno.EPERM), {
      target: fn("bpf_lsm_bpf_prog_load"),
      name: "deny",
    });
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, 0, "not attached yet");
    const link = attachProgram(w.proc, "deny", p.fd, ProgType.LSM);
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, Errno.EPERM);
    assert.deepEqual(w.bpfLsm.lastDenial, {
      hook: "bpf_prog_load",
      prog: "deny",
      progId: w.bpfLsm.lastDenial?.progId,
      ret: -Errno.EPERM,
    });
    w.proc.close(link.fd);
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, 0);
    assert.equal(w.kernel.attachments.size, 0);
  });

  test("programs run in attach order; the first non-zero return stops the chain", () => {
    const w = world();
    const a = loadBtfProg(w, ret(0), { target: fn("bpf_lsm_bpf_prog_load"), name: "allow" });
    const b = loadBtfProg(w, ret(-Errno.EACCES), {
      target: fn("bpf_lsm_bpf_prog_load"),
      name: "b",
    });
    const c = loadBtfProg(w, ret(-Errno.EPERM), { target: fn("bpf_lsm_bpf_prog_load"), name: "c" });
    for (const [n, x] of [
      ["allow", a],
      ["b", b],
      ["c", c],
    ] as const)
      attachProgram(w.proc, n, x.fd, ProgType.LSM);
    w.bpfLsm.decisions.length = 0;
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, Errno.EACCES);
    assert.deepEqual(
      w.bpfLsm.decisions.map((d) => [d.prog, d.ret]),
      [
        ["allow", 0],
        ["b", -Errno.EACCES],
      ],
    );
  });

  test("TypeScript modules come first in the chain, the BPF LSM last", () => {
    const w = world();
    const p = loadBtfProg(w, ret(-Errno.EACCES), { target: fn("bpf_lsm_bpf_prog_load") });
    attachProgram(w.proc, "p", p.fd, ProgType.LSM);
    const off = w.kernel.lsm.register({ name: "ts", bpf_prog_load: () => -Errno.EPERM });
    assert.deepEqual(w.kernel.lsm.order, ["ts", "bpf"]);
    w.bpfLsm.decisions.length = 0;
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, Errno.EPERM);
    assert.deepEqual(w.bpfLsm.decisions, [], "the BPF program never ran");
    off();
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, Errno.EACCES);
  });

  test("bpf_prog_load_post_integrity: the verdict argument; an unverified signature never reaches it", () => {
    const w = world();
    const p = loadBtfProg(w, REQUIRE_VERIFIED, {
      target: fn("bpf_lsm_bpf_prog_load_post_integrity"),
    });
    attachProgram(w.proc, "p", p.fd, ProgType.LSM);
    const ok = signedLoad(w);
    assert.ok(ok.fd >= 0, `errno ${ok.errno}`);
    assert.deepEqual(
      w.bpfLsm.decisions.filter((d) => d.hook === "bpf_prog_load_post_integrity").map((d) => d.ret),
      [0],
    );
  });

  test("void hooks (bpf_prog_free) run every program and ignore the returns", () => {
    const w = world();
    const p = loadBtfProg(w, ret(-Errno.EPERM), { target: fn("bpf_lsm_bpf_prog_free"), name: "f" });
    attachProgram(w.proc, "f", p.fd, ProgType.LSM);
    const { fd } = w.bpf.progLoad(socketFilter(RET0));
    w.bpfLsm.decisions.length = 0;
    w.bpf.close(fd);
    assert.deepEqual(
      w.bpfLsm.decisions.map((d) => [d.hook, d.ret]),
      [["bpf_prog_free", -Errno.EPERM]],
    );
    assert.equal(w.bpfLsm.lastDenial, null);
  });

  test("a return outside [-MAX_ERRNO, 0] denies with EPERM and is recorded", () => {
    const w = world();
    const p = loadBtfProg(w, ret(7), { target: fn("bpf_lsm_bpf") });
    attachProgram(w.proc, "p", p.fd, ProgType.LSM);
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, Errno.EPERM);
    assert.match(String(w.kernel.lastRunError), /returned 7, outside \[-4095, 0\]/);
  });

  test("an iterator attaches with BPF_LINK_CREATE (BPF_TRACE_ITER), not at a hook", () => {
    const w = world();
    const p = loadBtfProg(w, ret(0), {
      type: ProgType.TRACING,
      eat: AttachType.TRACE_ITER,
      target: fn("bpf_iter_task"),
    });
    assert.ok(p.fd >= 3, p.log);
    const link = attachProgram(w.proc, "it", p.fd, ProgType.TRACING);
    assert.equal(link.how, "link_create");
    assert.equal(w.kernel.attachments.size, 0);
  });
});
