import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  call,
  encodeInsns,
  exit,
  ldxMem,
  mov64Imm,
  mov64Reg,
  Size,
  stMem,
} from "../../src/insn/index.js";
import { helperAllowed, MODEL_HELPER_IDS } from "../../src/kernel/helpers.js";
import { maxCtxOffset } from "../../src/kernel/verifier.js";
import { BPF_F_SLEEPABLE, Helper, ProgType } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { HELPERS } from "../../src/vm/helpers.js";
import { insns, load, progOf, RET0, socketFilter, syscallProg, world } from "./support.js";

const ROOT = { bpf: true, sys_admin: true, net_admin: true, perfmon: true };

describe("check_helper_call: helper ids at load", () => {
  it("an id outside enum bpf_func_id is an invalid func", () => {
    const { bpf } = world();
    for (const id of [212, 300, -1]) {
      const r = load(bpf, { ...socketFilter(insns(call(id), RET0)), log_size: 4096 });
      assert.equal(r.errno, Errno.EINVAL);
      assert.match(r.log, new RegExp(`^invalid func unknown#${id}\\n`, "m"));
    }
  });
  it("a helper the program type does not offer cannot be used", () => {
    const { bpf } = world();
    const r = load(bpf, { ...socketFilter(insns(call(Helper.sys_bpf), RET0)), log_size: 4096 });
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /^program of this type cannot use helper bpf_sys_bpf#166\n/m);
    const k = load(bpf, {
      prog_type: ProgType.KPROBE,
      insns: insns(call(Helper.copy_from_user), RET0),
      license: "GPL",
      log_size: 4096,
    });
    assert.match(
      k.log,
      /cannot use helper bpf_copy_from_user#148/,
      "copy_from_user needs a sleepable program",
    );
  });
  it("bpf_sys_bpf needs CAP_PERFMON", () => {
    const { bpf } = world({}, { perfmon: false, sys_admin: false });
    const r = load(bpf, { ...syscallProg(insns(call(Helper.sys_bpf), RET0)), log_size: 4096 });
    assert.equal(r.errno, Errno.EINVAL);
    assert.match(r.log, /cannot use helper bpf_sys_bpf#166/);
    const ok = load(bpf, syscallProg(insns(call(Helper.sys_close), RET0)));
    assert.ok(ok.fd >= 0);
  });
  it("SYSCALL programs get the loader's helpers; socket filters the map and skb ones", () => {
    for (const id of [113, 148, 166, 167, 168, 179, 1, 6])
      assert.ok(helperAllowed(ProgType.SYSCALL, true, id, ROOT), `${id}`);
    for (const id of [1, 2, 3, 26])
      assert.ok(helperAllowed(ProgType.SOCKET_FILTER, false, id, ROOT), `${id}`);
    for (const id of [113, 148, 166])
      assert.ok(!helperAllowed(ProgType.SOCKET_FILTER, false, id, ROOT), `${id}`);
    assert.ok(!helperAllowed(ProgType.SYSCALL, true, 26, ROOT));
  });
  it("the interpreter implements every helper the model offers", () => {
    for (const id of MODEL_HELPER_IDS) assert.ok(HELPERS.has(id), `helper ${id}`);
  });
});

describe("max_ctx_offset", () => {
  it("follows r1 through copies and ends at calls and overwrites", () => {
    assert.equal(maxCtxOffset(encodeInsns([mov64Reg(6, 1), ldxMem(Size.W, 0, 6, 60), exit()])), 64);
    assert.equal(
      maxCtxOffset(
        encodeInsns([
          mov64Reg(6, 1),
          stMem(Size.DW, 6, 24, 0),
          call(5),
          ldxMem(Size.DW, 0, 1, 100),
          exit(),
        ]),
      ),
      32,
    );
    assert.equal(maxCtxOffset(encodeInsns([mov64Imm(1, 0), ldxMem(Size.W, 0, 1, 8), exit()])), 0);
  });
  it("is recorded at load", () => {
    const { bpf, proc } = world();
    const fd = load(bpf, {
      ...syscallProg(insns(ldxMem(Size.DW, 0, 1, 16), exit())),
      prog_flags: BPF_F_SLEEPABLE,
    }).fd;
    assert.equal(progOf(proc, fd).aux.max_ctx_offset, 24);
  });
});
