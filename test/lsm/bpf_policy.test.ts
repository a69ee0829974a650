/**
 * The design document's two policies as BPF LSM programs (bpf/policy/*.bpf.c): compiled, made
 * into light skeletons by bpfsign gen, loaded into the model kernel and attached; every scenario
 * of the TypeScript stand-ins (test/kernel/policies.ts) with the BPF programs deciding.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Btf } from "../../src/btf/btf.js";
import { BtfExt } from "../../src/btf/btf_ext.js";
import { parseElf } from "../../src/elf/elf.js";
import { VerifierLog } from "../../src/kernel/log.js";
import {
  applyCoreRelos,
  CORE_POISON_IMM,
  type CoreReloRecord,
} from "../../src/kernel/relo_core.js";
import { sysBpf } from "../../src/kernel/syscall.js";
import { modelVmlinuxBtf } from "../../src/kernel/vmlinux_btf.js";
import { decodeCoreRelo } from "../../src/object/relo_core.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { BpfCmd, KeySpec, ProgType, SigKeyring, SigVerdict } from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { encode, ProgLoadAttr } from "../../src/uapi/layout.js";
import { type BpfLsm, createModelKernel } from "../../src/vm/index.js";
import {
  load,
  metaMap,
  RET0,
  sha256,
  signer,
  socketFilter,
  syscallProg,
  trustInSession,
} from "../kernel/support.js";
import { vectorKeyFiles } from "../support/cms.js";
import { hostSession, hostSkip } from "../support/host.js";
import {
  allowKeyring,
  auditReader,
  clangMissing,
  compilePolicy,
  liveEntries,
  loadPolicy,
  type PolicyName,
  policyFixture,
  policyImage,
} from "./bpf_policy_support.js";

const VALUE = new Uint8Array(32).fill(0x5a);
const s = signer();

function world(profile: "v2" | "mainline-6.18" = "v2") {
  const kernel = createModelKernel({ profile });
  const proc = kernel.spawn();
  return { kernel, proc, bpf: new Bpf(proc) };
}
type World = ReturnType<typeof world>;

const images = new Map<string, ReturnType<typeof policyImage>>();
const imageOf = (name: PolicyName, signed = false) => {
  let img = images.get(`${name}${signed}`);
  if (!img) {
    img = policyImage(policyFixture(name), name, signed);
    images.set(`${name}${signed}`, img);
  }
  return img;
};

/**
 * The policy skeleton signed with the test key, verified against the session keyring (which
 * trusts that key), loaded and attached: as a deployment would put a signed policy in place.
 */
function loadSignedPolicy(w: World, name: PolicyName) {
  w.bpf.keyringId(KeySpec.SESSION_KEYRING, true);
  w.bpf.addKey(
    "asymmetric",
    "policy-key",
    vectorKeyFiles("rsa2048").certDer,
    KeySpec.SESSION_KEYRING,
  );
  return loadPolicy(w.proc, imageOf(name, true), KeySpec.SESSION_KEYRING);
}

const signedLoad = (w: World, keyringId: number) => {
  const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
  return load(
    w.bpf,
    syscallProg(RET0, {
      fd_array: [meta],
      fd_array_cnt: 1,
      signature: s.sign(RET0, VALUE),
      keyring_id: keyringId,
    }),
  );
};

describe("the policies build from C", () => {
  const missing = clangMissing();
  for (const name of ["admit", "observe"] as const) {
    test(`${name}.bpf.c compiles with clang and its skeleton loads and attaches on the model`, {
      skip: missing ?? false,
    }, () => {
      const w = world();
      const p = loadPolicy(w.proc, policyImage(compilePolicy(name), name));
      assert.equal(p.links.length, name === "admit" ? 1 : 2);
      assert.deepEqual(
        p.loaded.progs.map((x) => x.name),
        name === "admit" ? ["admit"] : ["observe", "forget"],
      );
      p.close();
      assert.equal(w.kernel.attachments.size, 0, "closing the links detaches the programs");
    });
  }
});

describe("design doc policy (a) as BPF: lsm/bpf_prog_load admission with an allowlist and a RINGBUF audit", () => {
  const setup = () => {
    const w = world();
    const policy = loadSignedPolicy(w, "admit");
    const audit = auditReader(w.proc, policy);
    return { w, policy, audit };
  };

  test("an unsigned load is denied (EPERM) by the program and audited", () => {
    const { w, audit } = setup();
    assert.equal(load(w.bpf, socketFilter(RET0)).errno, Errno.EPERM);
    assert.deepEqual(audit(), [
      {
        prog_type: ProgType.SOCKET_FILTER,
        verdict: SigVerdict.UNSIGNED,
        keyring_type: SigKeyring.NONE,
        keyring_serial: 0,
        ret: -Errno.EPERM,
      },
    ]);
    const bpfLsm = w.kernel.lsm.order.at(-1);
    assert.equal(bpfLsm, "bpf");
  });

  test("which program denied is known to the BPF LSM", () => {
    const { w } = setup();
    load(w.bpf, socketFilter(RET0));
    const denial = (w.kernel.lsm.bpfModule as BpfLsm).lastDenial;
    assert.equal(denial?.hook, "bpf_prog_load");
    assert.equal(denial?.prog, "admit");
    assert.equal(denial?.ret, -Errno.EPERM);
  });

  test("a user keyring that is not allowlisted is denied; once allowlisted (map update), allowed; both audited", () => {
    const { w, policy, audit } = setup();
    trustInSession(w.bpf, s);
    const ses = w.bpf.keyringId(KeySpec.SESSION_KEYRING);
    assert.equal(signedLoad(w, KeySpec.SESSION_KEYRING).errno, Errno.EPERM);
    allowKeyring(w.proc, policy, ses);
    const ok = signedLoad(w, KeySpec.SESSION_KEYRING);
    assert.ok(ok.fd >= 0, `errno ${ok.errno}`);
    const rec = (ret: number) => ({
      prog_type: ProgType.SYSCALL,
      verdict: SigVerdict.VERIFIED,
      keyring_type: SigKeyring.USER,
      keyring_serial: ses,
      ret,
    });
    assert.deepEqual(audit(), [rec(-Errno.EPERM), rec(0)]);
  });

  test("the allowlist holds serials of what keyring_id named, not of the signing key", () => {
    const { w, policy } = setup();
    const keySerial = trustInSession(w.bpf, s);
    allowKeyring(w.proc, policy, keySerial);
    assert.equal(signedLoad(w, KeySpec.SESSION_KEYRING).errno, Errno.EPERM);
  });

  test("a system keyring signature is allowed without the allowlist", () => {
    const { w, audit } = setup();
    w.kernel.keyrings.trustSystemCertificate("builtin", s.certDer);
    const r = signedLoad(w, 0);
    assert.ok(r.fd >= 0, `errno ${r.errno}`);
    assert.deepEqual(
      audit().map((d) => [d.keyring_type, d.keyring_serial, d.ret]),
      [[SigKeyring.BUILTIN, 0, 0]],
    );
  });

  test("a failed signature never reaches admission: no audit record", () => {
    const { w, audit } = setup();
    assert.equal(signedLoad(w, KeySpec.SESSION_KEYRING).errno, Errno.ENOKEY);
    assert.deepEqual(audit(), []);
  });

  test("in-kernel loads (bpf_sys_bpf) are trusted and not audited; the same attr from user space is denied", () => {
    const { w, audit } = setup();
    const kctx = {
      kernel: w.kernel,
      proc: w.proc,
      uaccess: { ...w.proc.uaccess, is_kernel: true },
    };
    const attr = encode(
      ProgLoadAttr,
      {
        prog_type: ProgType.SOCKET_FILTER,
        insn_cnt: 2,
        insns: w.proc.memory.alloc(RET0),
        license: w.proc.memory.alloc(new TextEncoder().encode("GPL\0")),
      },
      168,
    );
    const fd = sysBpf(kctx, BpfCmd.PROG_LOAD, attr, 168);
    assert.ok(fd >= 3, `errno ${-fd}`);
    assert.deepEqual(audit(), []);
    assert.equal(w.proc.bpf(BpfCmd.PROG_LOAD, attr, 168), -Errno.EPERM);
    assert.equal(audit().length, 1);
  });

  test("detached (link closed), the policy no longer decides", () => {
    const { w, policy } = setup();
    for (const l of policy.links) w.proc.close(l.fd);
    assert.ok(load(w.bpf, socketFilter(RET0)).fd >= 0);
  });
});

describe("design doc policy (b) as BPF: first sighting at lsm/bpf_prog, forgotten at lsm/bpf_prog_free", () => {
  const setup = () => {
    const w = world();
    const policy = loadSignedPolicy(w, "observe");
    trustInSession(w.bpf, s);
    const meta = metaMap(w.bpf, VALUE, { excl: sha256(RET0) });
    const sig = s.sign(RET0, VALUE);
    const load1 = () =>
      w.bpf.progLoad(
        syscallProg(RET0, {
          fd_array: [meta],
          fd_array_cnt: 1,
          signature: sig,
          keyring_id: KeySpec.SESSION_KEYRING,
        }),
      );
    const counts = () => {
      const fd = policy.mapFd("counts");
      const read = (i: number) => {
        const k = new Uint8Array(4);
        k[0] = i;
        const v = w.bpf.mapLookup(fd, k, 8);
        return Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true));
      };
      return { loads: read(0), freed: read(1) };
    };
    return { w, policy, load1, counts };
  };

  test("a load is recorded once with its id and keyring; later fds by id are not loads", () => {
    const { w, policy, load1, counts } = setup();
    const { fd } = load1();
    const id = w.bpf.progInfo(fd).id;
    const ses = w.bpf.keyringId(KeySpec.SESSION_KEYRING);
    const live = liveEntries(w.proc, policy);
    assert.deepEqual(
      live.map((e) => [e.id, e.ktype, e.serial]),
      [[id, SigKeyring.USER, ses]],
    );
    w.bpf.progGetFdById(id);
    w.bpf.progGetFdById(id);
    assert.equal(liveEntries(w.proc, policy).length, 1);
    assert.equal(counts().loads, 1);
  });

  test("the key is the program's stable kernel address (the same for every fd)", () => {
    const { w, policy, load1 } = setup();
    const { fd } = load1();
    const key = liveEntries(w.proc, policy)[0].key;
    assert.ok(key >= 0xffff888100000000n, `0x${key.toString(16)}`);
    w.bpf.progGetFdById(w.bpf.progInfo(fd).id);
    assert.equal(liveEntries(w.proc, policy)[0].key, key);
  });

  test("bpf_prog_free removes the entry; a reload counts as a new load", () => {
    const { w, policy, load1, counts } = setup();
    const first = load1();
    const id1 = w.bpf.progInfo(first.fd).id;
    const extra = w.bpf.progGetFdById(id1);
    w.bpf.close(first.fd);
    assert.equal(liveEntries(w.proc, policy).length, 1, "one fd still open");
    w.bpf.close(extra);
    assert.equal(liveEntries(w.proc, policy).length, 0);
    assert.equal(counts().freed, 1);
    const second = load1();
    const id2 = w.bpf.progInfo(second.fd).id;
    assert.notEqual(id2, id1);
    assert.deepEqual(
      liveEntries(w.proc, policy).map((e) => e.id),
      [id2],
    );
    assert.equal(counts().loads, 2);
  });

  test("unsigned programs are never recorded", () => {
    const { w, policy } = setup();
    const { fd } = w.bpf.progLoad(socketFilter(RET0));
    w.bpf.progGetFdById(w.bpf.progInfo(fd).id);
    assert.deepEqual(liveEntries(w.proc, policy), []);
  });
});

describe("a kernel without prog->aux->sig (mainline-6.18 profile)", () => {
  test("the policies' CO-RE relocation of sig fails: the instruction is poisoned and the load refused", () => {
    const w = world("mainline-6.18");
    assert.throws(
      () => loadPolicy(w.proc, imageOf("admit")),
      (e: Error) => {
        assert.match(
          e.message,
          /PROG_LOAD of program 'admit' \(LSM, LSM_MAC, attach_btf_id \d+\): EINVAL/,
        );
        assert.match(
          e.message,
          /has no match in the kernel's BTF; substituting insn #\d+ w\/ invalid insn/,
        );
        assert.match(e.message, /invalid func unknown#195896080/);
        return true;
      },
    );
  });
});

/** The admission program's instructions and CO-RE records, straight from the object. */
function admitCoreInputs() {
  const elf = parseElf(policyFixture("admit"), "admit.bpf.o");
  const text = elf.sectionByName("lsm/bpf_prog_load");
  const btfSec = elf.sectionByName(".BTF");
  const extSec = elf.sectionByName(".BTF.ext");
  if (!text || !btfSec || !extSec) throw new Error("admit.bpf.o lacks its sections");
  const local = Btf.parse(btfSec.data, "admit.bpf.o");
  const ext = BtfExt.parse(extSec.data, local, "admit.bpf.o");
  const relos: CoreReloRecord[] = ext.coreRelo
    .filter((s) => s.secName === "lsm/bpf_prog_load")
    .flatMap((s) => s.records.map(decodeCoreRelo));
  return { insns: text.data, local, relos };
}

/** The instructions CO-RE poisons when the admission program is relocated against `target`. */
function poisoned(target: Btf): number[] {
  const { insns, local, relos } = admitCoreInputs();
  const p = insns.slice();
  const log = VerifierLog.init(1, 0n, 0, true) as VerifierLog;
  assert.equal(applyCoreRelos(p, relos, local, target, log), 0, log.text);
  const dv = new DataView(p.buffer);
  const out: number[] = [];
  for (let i = 0; i < p.length / 8; i++)
    if (p[i * 8] === 0x85 && dv.getInt32(i * 8 + 4, true) === CORE_POISON_IMM) out.push(i);
  return out;
}

const HOST_BTF = "/sys/kernel/btf/vmlinux";

describe("the same policy on this machine's kernel", () => {
  test("CO-RE: the series' kernel resolves every access; Linux 6.18 (model profile and this host's BTF) has no prog->aux->sig and the same three loads are poisoned", {
    skip: existsSync(HOST_BTF) ? false : `${HOST_BTF} is absent`,
  }, () => {
    assert.deepEqual(poisoned(modelVmlinuxBtf({ sig: true })), []);
    const mainline = poisoned(modelVmlinuxBtf({ sig: false }));
    assert.equal(mainline.length, 3, "verdict, keyring_type and keyring_serial");
    const host = Btf.parse(new Uint8Array(readFileSync(HOST_BTF)), HOST_BTF);
    assert.deepEqual(poisoned(host), mainline);
  });

  test("loading the admission skeleton: this host refuses LSM programs with EPERM before its verifier runs", {
    skip: hostSkip("syscallProg", "testRun"),
  }, (t) => {
    const h = hostSession();
    try {
      assert.throws(
        () => loadPolicy(h.backend, imageOf("admit")),
        (e: unknown) =>
          e instanceof BpfError && e.errnoName === "EPERM" && e.log.indexOf("relo") < 0,
      );
      t.diagnostic(
        "host: EPERM for the inner LSM PROG_LOAD (every trampoline program type is refused here); " +
          "model mainline-6.18: EINVAL, invalid func unknown#195896080 (the poisoned sig loads)",
      );
    } finally {
      h.dispose();
    }
  });
});
