/**
 * Every profile's differences from v2, one test per row of the README's profile table, plus the
 * subtests each design has that v2 does not (bpf-next's newer selftest; the kfunc and Hornet
 * designs' own). Loaders are the vector gen_hash loaders, signed for each design by the same
 * signer the CLI uses (src/adversary/sign_image.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { signImage } from "../../src/adversary/sign_image.js";
import { signerIdentity } from "../../src/crypto/sign.js";
import { KEY_SPEC_BPF_KEYRING } from "../../src/kernel/keyring.js";
import type { PostIntegrityRecord } from "../../src/kernel/lsm.js";
import type { ProfileName } from "../../src/kernel/profile.js";
import { SIG_KEYRING_BPF } from "../../src/kernel/signature.js";
import { encodeLoaderCtx } from "../../src/loader/ctx.js";
import type { LoaderImage } from "../../src/loader/load_and_run.js";
import { KFUNC_VERDICTS } from "../../src/scheme/kfunc.js";
import type { SchemeName } from "../../src/scheme/types.js";
import { Bpf } from "../../src/uapi/bpf.js";
import {
  BPF_F_SLEEPABLE,
  BpfCmd,
  KeySpec,
  MapType,
  ProgType,
  SigKeyring,
  SigVerdict,
} from "../../src/uapi/constants.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import { ProgLoadAttr } from "../../src/uapi/layout.js";
import { createModelKernel } from "../../src/vm/index.js";
import { sys } from "../kernel/support.js";
import { btfWithInt } from "../support/btf.js";
import { cmsSign, makeTestKey } from "../support/openssl.js";
import { vectorSkeleton } from "../support/vector_skeleton.js";
import { skipVectors } from "../support/vectors.js";

const key = makeTestKey("rsa2048", {}, "profile-tests");
const other = makeTestKey("rsa2048", {}, "profile-tests-other");
const id = signerIdentity(key.keyPem, key.certDer);

function insn(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}
const cat = (...p: Uint8Array[]) => new Uint8Array(Buffer.concat(p));
const RET0 = cat(insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0));

interface World {
  kernel: ReturnType<typeof createModelKernel>;
  proc: ReturnType<ReturnType<typeof createModelKernel>["spawn"]>;
  bpf: Bpf;
  post: PostIntegrityRecord[];
  admission: { verdict: number; integrity: string | null }[];
}

function world(profile: ProfileName, opts: { keyringUnsealed?: boolean } = {}): World {
  const kernel = createModelKernel({ profile, ...opts });
  const proc = kernel.spawn();
  const bpf = new Bpf(proc);
  const post: PostIntegrityRecord[] = [];
  const admission: World["admission"] = [];
  kernel.lsm.register({
    name: "watch",
    bpf_prog_load_post_integrity: (r) => {
      if (!r.kernel) post.push(r);
      return 0;
    },
    bpf_prog_load: (p, _a, _t, k) => {
      if (!k)
        admission.push({
          verdict: p.aux.sig.verdict,
          integrity: p.aux.integrity ? `${p.aux.integrity.lsmId}:${p.aux.integrity.verdict}` : null,
        });
      return 0;
    },
  });
  bpf.keyringId(KeySpec.SESSION_KEYRING, true);
  bpf.addKey("asymmetric", "profile-tests", key.certDer, KeySpec.SESSION_KEYRING);
  return { kernel, proc, bpf, post, admission };
}

/** Load a loader image as bpf_load_and_run() does; returns the loader fd or -errno, and the run's retval. */
function loadImage(
  w: World,
  img: LoaderImage,
  o: { data?: Uint8Array; keyringId?: number; run?: boolean } = {},
): { fd: number; retval: number | null; log: string } {
  const data = o.data ?? img.data;
  const mapFd = w.bpf.mapCreate({
    map_type: MapType.ARRAY,
    key_size: 4,
    value_size: data.length,
    max_entries: 1,
    map_name: "__loader.map",
    excl_prog_hash: img.exclHash ?? undefined,
  });
  w.bpf.mapUpdate(mapFd, new Uint8Array(4), data);
  w.bpf.mapFreeze(mapFd);
  try {
    const fd = w.bpf.progLoad({
      prog_type: ProgType.SYSCALL,
      insns: img.insns,
      license: "Dual BSD/GPL",
      prog_flags: BPF_F_SLEEPABLE,
      prog_name: "__loader.prog",
      fd_array: [mapFd],
      fd_array_cnt: img.signature ? 1 : 0,
      ...(img.signature
        ? { signature: img.signature, keyring_id: o.keyringId ?? KeySpec.SESSION_KEYRING }
        : {}),
      log_size: 1 << 14,
    }).fd;
    if (o.run === false) return { fd, retval: null, log: "" };
    const ctx = encodeLoaderCtx({ nrMaps: img.maps.length, nrProgs: img.progs.length });
    return { fd, retval: w.bpf.progTestRun({ prog_fd: fd, ctx_in: ctx }).retval, log: "" };
  } catch (e) {
    if (e instanceof BpfError) return { fd: -e.errno, retval: null, log: e.log };
    throw e;
  }
}

function progOf(w: World, fd: number) {
  const f = w.proc.file(fd);
  assert.ok(f?.kind === "prog");
  return f.prog;
}

function signedFor(s: SchemeName): LoaderImage {
  return signImage(s, vectorSkeleton("prog_b", true), id);
}

const errno = (fn: () => unknown): number => {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof BpfError) return e.errno;
    throw e;
  }
};

describe("profiles: differences from v2", { skip: skipVectors }, () => {
  test("bpf-next caches fd_array: MAP_IDX resolves to the slot as first read", () => {
    for (const p of ["v2", "bpf-next"] as const) {
      const w = world(p);
      const img = signedFor("v2");
      const evil = w.bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: img.data.length,
        max_entries: 1,
        excl_prog_hash: img.exclHash ?? undefined,
      });
      w.bpf.mapFreeze(evil);
      w.kernel.lsm.register({
        name: "race",
        bpf_prog_load: (_p, attr, _t, k) => {
          if (!k) w.proc.memory.write(attr.fd_array, new Uint8Array(new Int32Array([evil]).buffer));
          return 0;
        },
      });
      const r = loadImage(w, img, { run: false });
      if (p === "v2") {
        assert.equal(r.fd, -Errno.EACCES);
        assert.match(r.log, /signed program uses maps not covered by the signature/);
      } else {
        assert.ok(r.fd > 0, `bpf-next: ${r.fd}`);
        assert.equal(progOf(w, r.fd).aux.used_maps.length, 1, "only the signed map is bound");
      }
      w.proc.exit();
    }
  });

  test("signed_sparse_fd_array_rejected: an uncovered map is refused when bound (bpf-next) or counted after (v2)", () => {
    for (const p of ["v2", "bpf-next"] as const) {
      const w = world(p);
      const map = w.bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
      });
      // r1 = map_idx(0); r0 = 0; exit
      const insns = cat(insn(0x18, 1, 5, 0, 0), insn(0, 0, 0, 0, 0), RET0);
      const sig = cmsSign(insns, key);
      const e = errno(() =>
        w.bpf.progLoad({
          prog_type: ProgType.SOCKET_FILTER,
          insns,
          license: "GPL",
          fd_array: [map],
          signature: sig,
          keyring_id: KeySpec.SESSION_KEYRING,
          log_size: 4096,
        }),
      );
      assert.equal(e, Errno.EACCES, p);
      w.proc.exit();
    }
    const w = world("bpf-next");
    const map = w.bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    const insns = cat(insn(0x18, 1, 5, 0, 0), insn(0, 0, 0, 0, 0), RET0);
    try {
      w.bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns,
        license: "GPL",
        fd_array: [map],
        signature: cmsSign(insns, key),
        keyring_id: KeySpec.SESSION_KEYRING,
        log_size: 4096,
      });
      assert.fail("loaded");
    } catch (e) {
      assert.ok(e instanceof BpfError);
      assert.match(e.log, /binds map .* not covered by the signature/);
      assert.doesNotMatch(e.log, /processed [1-9]/, "refused during resolution");
    }
  });

  test("bpf-next refuses a BTF in a signed fd_array when binding it, before the signature", () => {
    const results: Record<string, number> = {};
    for (const p of ["v2", "bpf-next"] as const) {
      const w = world(p);
      const img = signedFor("v2");
      const mapFd = w.bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: img.data.length,
        max_entries: 1,
        excl_prog_hash: img.exclHash ?? undefined,
      });
      w.bpf.mapUpdate(mapFd, new Uint8Array(4), img.data);
      w.bpf.mapFreeze(mapFd);
      const btf = w.bpf.btfLoad(btfWithInt()).fd;
      const junk = Uint8Array.of(0x30, 0x42, 0x13, 0x37, ...new Uint8Array(60));
      results[p] = errno(() =>
        w.bpf.progLoad({
          prog_type: ProgType.SYSCALL,
          insns: img.insns,
          license: "GPL",
          prog_flags: BPF_F_SLEEPABLE,
          fd_array: [mapFd, btf],
          fd_array_cnt: 2,
          signature: junk,
          keyring_id: KeySpec.SESSION_KEYRING,
        }),
      );
    }
    assert.deepEqual(results, { v2: Errno.EBADMSG, "bpf-next": Errno.EACCES });
  });

  test("signed_module_kfunc_rejected: a module kfunc's BTF is refused for a signed program (bpf-next)", () => {
    const results: Record<string, number> = {};
    for (const p of ["v2", "bpf-next"] as const) {
      const w = world(p);
      const btf = w.bpf.btfLoad(btfWithInt()).fd;
      const insns = cat(insn(0x85, 0, 2, 1, 1), RET0);
      results[p] = errno(() =>
        w.bpf.progLoad({
          prog_type: ProgType.SOCKET_FILTER,
          insns,
          license: "GPL",
          fd_array: [-1, btf],
          signature: cmsSign(insns, key),
          keyring_id: KeySpec.SESSION_KEYRING,
        }),
      );
    }
    assert.deepEqual(results, { v2: Errno.EINVAL, "bpf-next": Errno.EACCES });
  });

  test("signature_zero_size: EINVAL on bpf-next", () => {
    const results: Record<string, number> = {};
    for (const p of ["v2", "bpf-next"] as const) {
      const w = world(p);
      results[p] = errno(() =>
        w.bpf.progLoad({
          prog_type: ProgType.SOCKET_FILTER,
          insns: RET0,
          license: "GPL",
          signature: new Uint8Array(4),
          signature_size: 0,
          keyring_id: KeySpec.SESSION_KEYRING,
        }),
      );
    }
    assert.equal(results["bpf-next"], Errno.EINVAL);
    assert.notEqual(results.v2, Errno.EINVAL);
  });

  test("bpf_keyring_sealed: add_key to .bpf is EPERM, a load naming it ENOKEY; v2 has no .bpf", () => {
    const w = world("bpf-next");
    assert.equal(
      errno(() => w.bpf.addKey("user", "sealprobe", Uint8Array.of(1), KEY_SPEC_BPF_KEYRING)),
      Errno.EPERM,
    );
    const e = errno(() =>
      w.bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns: RET0,
        license: "GPL",
        signature: cmsSign(RET0, key),
        keyring_id: KEY_SPEC_BPF_KEYRING,
      }),
    );
    assert.equal(e, Errno.ENOKEY);
    // Caller-supplied keyrings still work while .bpf is sealed.
    const fd = w.bpf.progLoad({
      prog_type: ProgType.SOCKET_FILTER,
      insns: RET0,
      license: "GPL",
      signature: cmsSign(RET0, key),
      keyring_id: KeySpec.SESSION_KEYRING,
    }).fd;
    assert.equal(progOf(w, fd).aux.sig.keyring_type, SigKeyring.USER);
    const v2 = world("v2");
    const e2 = errno(() =>
      v2.bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns: RET0,
        license: "GPL",
        signature: cmsSign(RET0, key),
        keyring_id: KEY_SPEC_BPF_KEYRING,
      }),
    );
    assert.equal(e2, Errno.EINVAL, "v2: -9 is just an unresolvable keyring id");
  });

  test("bpf_keyring_unsealed: keys go into .bpf, loads verify against it (type BPF), caller keyrings are EPERM", () => {
    const w = world("bpf-next", { keyringUnsealed: true });
    assert.ok(w.bpf.addKey("asymmetric", "bpf-key", key.certDer, KEY_SPEC_BPF_KEYRING) > 0);
    const fd = w.bpf.progLoad({
      prog_type: ProgType.SOCKET_FILTER,
      insns: RET0,
      license: "GPL",
      signature: cmsSign(RET0, key),
      keyring_id: KEY_SPEC_BPF_KEYRING,
    }).fd;
    assert.equal(progOf(w, fd).aux.sig.keyring_type, SIG_KEYRING_BPF);
    assert.equal(progOf(w, fd).aux.sig.verdict, SigVerdict.VERIFIED);
    const e = errno(() =>
      w.bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns: RET0,
        license: "GPL",
        signature: cmsSign(RET0, key),
        keyring_id: KeySpec.SESSION_KEYRING,
      }),
    );
    assert.equal(e, Errno.EPERM);
  });

  test("kfunc: BPF_SIG_OK over the instructions at entry, before the verifier; a v2 signature is refused", () => {
    const w = world("kfunc");
    const img = signedFor("kfunc");
    const r = loadImage(w, img, { run: false });
    assert.ok(r.fd > 0);
    assert.equal(progOf(w, r.fd).aux.sig.verdict, KFUNC_VERDICTS.OK);
    assert.deepEqual(w.admission, [{ verdict: KFUNC_VERDICTS.OK, integrity: null }]);
    assert.equal(w.post.length, 0, "no post-integrity report at load time");
    const v2img = signedFor("v2");
    assert.equal(loadImage(world("kfunc"), v2img, { run: false }).fd, -Errno.EKEYREJECTED);
  });

  test("kfunc: the loader's bpf_loader_verify_metadata promotes the verdict and reports from the kfunc", () => {
    const w = world("kfunc");
    const r = loadImage(w, signedFor("kfunc"));
    assert.equal(r.retval, 0);
    const prog = progOf(w, r.fd);
    assert.equal(prog.aux.sig.verdict, KFUNC_VERDICTS.METADATA_VERIFIED);
    assert.equal(w.post.length, 1);
    const rec = w.post[0];
    assert.equal(rec.prog, prog);
    assert.deepEqual(
      {
        attr: rec.attr,
        lsmId: rec.lsmId,
        scheme: rec.scheme,
        verdict: rec.verdict,
        value: rec.verdictValue,
        source: rec.source,
      },
      {
        attr: null,
        lsmId: "bpf",
        scheme: "kfunc",
        verdict: "METADATA_VERIFIED",
        value: 2,
        source: "kfunc",
      },
    );
  });

  test("kfunc: an LSM denying at post-integrity aborts the kfunc; the verdict stays OK and the loader fails", () => {
    const w = world("kfunc");
    w.kernel.lsm.register({ name: "deny", bpf_prog_load_post_integrity: () => -Errno.EPERM });
    const r = loadImage(w, signedFor("kfunc"));
    assert.equal(r.retval, -Errno.EPERM);
    assert.equal(progOf(w, r.fd).aux.sig.verdict, KFUNC_VERDICTS.OK);
  });

  test("kfunc: tampered metadata loads (OK) but the loader's kfunc check refuses it", () => {
    const w = world("kfunc");
    const img = signedFor("kfunc");
    const data = img.data.slice();
    data[0] ^= 1;
    const r = loadImage(w, img, { data });
    assert.equal(r.retval, -Errno.EINVAL);
    assert.equal(progOf(w, r.fd).aux.sig.verdict, KFUNC_VERDICTS.OK);
    assert.equal(w.post.length, 0);
  });

  test("kfunc: only the kfunc profile offers bpf_loader_verify_metadata", () => {
    for (const p of ["v2", "bpf-next", "hornet"] as const) {
      const w = world(p);
      const img = signImage("kfunc", { ...vectorSkeleton("prog_b", true), signature: null }, id);
      const r = loadImage(w, { ...img, signature: null }, { run: false });
      assert.equal(r.fd, -Errno.EINVAL, p);
      assert.match(r.log, /is not a function/);
    }
  });

  test("hornet: the core verdict stays UNSIGNED; Hornet reports each of its verdicts and enforces nothing", () => {
    const img = signedFor("hornet");
    const cases: [string, (w: World) => ReturnType<typeof loadImage>][] = [
      ["OK", (w) => loadImage(w, img, { run: false })],
      ["UNSIGNED", (w) => loadImage(w, { ...img, signature: null }, { run: false })],
      [
        "PARTIALSIG",
        (w) => loadImage(w, { ...img, signature: cmsSign(img.insns, key) }, { run: false }),
      ],
      [
        "UNKNOWNKEY",
        (w) =>
          loadImage(
            w,
            {
              ...img,
              signature: signImage(
                "hornet",
                vectorSkeleton("prog_b", true),
                signerIdentity(other.keyPem, other.certDer),
              ).signature,
            },
            { run: false },
          ),
      ],
      [
        "UNEXPECTED",
        (w) =>
          loadImage(w, img, { data: img.data.map((b, i) => (i === 0 ? b ^ 1 : b)), run: false }),
      ],
      [
        "BADSIG",
        (w) =>
          loadImage(
            w,
            { ...img, signature: (img.signature as Uint8Array).subarray(0, 100) },
            { run: false },
          ),
      ],
    ];
    for (const [verdict, load] of cases) {
      const w = world("hornet");
      const r = load(w);
      assert.ok(r.fd > 0, `${verdict}: loaded (${r.fd})`);
      assert.equal(progOf(w, r.fd).aux.sig.verdict, SigVerdict.UNSIGNED);
      assert.deepEqual(
        w.post.map((p) => `${p.lsmId}:${p.scheme}:${p.verdict}:${p.source}`),
        [`hornet:hornet:${verdict}:kernel`],
      );
      assert.equal(w.admission[0].integrity, `hornet:${verdict}`, "admission runs after Hornet");
    }
  });

  test("hornet: FAULT when the signature cannot be read from user memory (and the load goes on)", () => {
    const w = world("hornet");
    const ret = sys(w.proc, BpfCmd.PROG_LOAD, ProgLoadAttr, {
      prog_type: ProgType.SOCKET_FILTER,
      insn_cnt: RET0.length / 8,
      insns: w.proc.memory.alloc(RET0),
      license: w.proc.memory.alloc(new TextEncoder().encode("GPL\0")),
      signature: 0xdead0000n,
      signature_size: 64,
      keyring_id: KeySpec.SESSION_KEYRING,
    }).ret;
    assert.ok(ret > 0, `loaded (${ret})`);
    assert.deepEqual(
      w.post.map((p) => p.verdict),
      ["FAULT"],
    );
  });

  test("post-integrity: every profile reports, from the place its design checks, once it passed", () => {
    const seen: Record<string, string> = {};
    const seenUnsigned: Record<string, string> = {};
    const fmt = (w: World) =>
      w.post.map((x) => `${x.lsmId}/${x.scheme}/${x.verdict}/${x.source}`).join(",");
    for (const p of ["v2", "bpf-next", "mainline-6.18", "kfunc", "hornet"] as const) {
      const w = world(p);
      const s: SchemeName = p === "kfunc" ? "kfunc" : p === "hornet" ? "hornet" : "v2";
      const r = loadImage(w, signedFor(s));
      // mainline-6.18 cannot verify here (EOPNOTSUPP): it never reaches its report.
      assert.ok(p === "mainline-6.18" ? r.fd === -Errno.EOPNOTSUPP : r.fd > 0, `${p}: ${r.fd}`);
      seen[p] = fmt(w);
      const u = world(p);
      assert.ok(loadImage(u, { ...signedFor(s), signature: null }, { run: false }).fd > 0);
      seenUnsigned[p] = fmt(u);
    }
    assert.deepEqual(seen, {
      v2: "bpf/v2/VERIFIED/kernel",
      "bpf-next": "bpf/v2/VERIFIED/kernel",
      "mainline-6.18": "",
      kfunc: "bpf/kfunc/METADATA_VERIFIED/kfunc",
      hornet: "hornet/hornet/OK/kernel",
    });
    // Unsigned loads: only Hornet, which reports every verdict, says anything.
    assert.deepEqual(seenUnsigned, {
      v2: "",
      "bpf-next": "",
      "mainline-6.18": "",
      kfunc: "",
      hornet: "hornet/hornet/UNSIGNED/kernel",
    });
  });
});
