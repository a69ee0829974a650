import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ModelKernel } from "../../src/kernel/kernel.js";
import { describeInstalled } from "../../src/loader/installed.js";
import { LoaderError, LoaderStep, loadAndRun } from "../../src/loader/load_and_run.js";
import { VerdictRecorder } from "../../src/lsm/verdict_recorder.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, MapType } from "../../src/uapi/constants.js";
import { createModelKernel } from "../../src/vm/index.js";
import { vectorImage } from "../support/vector_skeleton.js";
import { PROGS, type ProgName, readVector, skipVectors, vectorCert } from "../support/vectors.js";

/** The lowest free fd: equal before and after a failed load means nothing leaked. */
function nextFd(bpf: Bpf): number {
  const fd = bpf.mapCreate({ map_type: MapType.ARRAY, key_size: 4, value_size: 4, max_entries: 1 });
  bpf.close(fd);
  return fd;
}

function session(kernel = new ModelKernel()) {
  const backend = kernel.spawn();
  const bpf = new Bpf(backend);
  bpf.addKey("asymmetric", "", vectorCert("rsa2048"), KeySpec.SESSION_KEYRING);
  return { backend, bpf };
}

function expectStep(step: string, code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof LoaderError, String(e));
    assert.equal(e.step, step);
    assert.equal(e.errnoName, code);
    assert.equal(e.code, `BPF_${code}`);
    assert.match(e.message, new RegExp(`bpf_load_and_run: ${step} failed with ${code}`));
    return true;
  };
}

test("a loader map exclusive to a 16-byte hash fails at 'failed to create loader map'", {
  skip: skipVectors,
}, () => {
  const { backend, bpf } = session();
  const before = nextFd(bpf);
  const image = { ...vectorImage("prog_b", { signed: true, key: "rsa2048" }) };
  image.exclHash = image.exclHash?.subarray(0, 16) ?? null;
  assert.throws(() => loadAndRun(backend, image), expectStep(LoaderStep.CREATE_MAP, "EINVAL"));
  assert.equal(nextFd(bpf), before);
});

test("metadata that differs from the signed bytes fails at 'failed to load loader prog' with EKEYREJECTED", {
  skip: skipVectors,
}, () => {
  const { backend, bpf } = session();
  const before = nextFd(bpf);
  const image = vectorImage("prog_b", { signed: true, key: "rsa2048" });
  const data = new Uint8Array(image.data);
  data[2000] ^= 1;
  assert.throws(
    () =>
      loadAndRun(
        backend,
        { ...image, data },
        { keyringId: KeySpec.SESSION_KEYRING, log: { level: 1, size: 4096 } },
      ),
    (e) => {
      expectStep(LoaderStep.LOAD_PROG, "EKEYREJECTED")(e);
      assert.match((e as LoaderError).log, /signature/i);
      // The message leads with the log line that says why.
      assert.match(
        (e as LoaderError).message,
        /^signature verification failed: -129: bpf_load_and_run: failed to load loader prog failed with EKEYREJECTED \(129\)$/,
      );
      return true;
    },
  );
  assert.equal(nextFd(bpf), before, "the loader map was closed");
});

test("a signed loader whose signer is not in the keyring fails with ENOKEY", {
  skip: skipVectors,
}, () => {
  const { backend } = session();
  const image = vectorImage("prog_b", { signed: true, key: "rsa3072" });
  assert.throws(
    () => loadAndRun(backend, image, { keyringId: KeySpec.SESSION_KEYRING }),
    expectStep(LoaderStep.LOAD_PROG, "ENOKEY"),
  );
});

test("instructions that are not whole insns are refused before any syscall", () => {
  const { backend } = session();
  assert.throws(
    () =>
      loadAndRun(backend, {
        insns: new Uint8Array(12),
        data: new Uint8Array(8),
        signature: null,
        exclHash: null,
        maps: [],
        progs: [],
      }),
    /12 bytes, not whole insns/,
  );
});

describe("bpf_load_and_run of the vector loaders on the model with the interpreter", {
  skip: skipVectors,
}, () => {
  const PACKET = new Uint8Array(64);
  const expected: Record<ProgName, { maps: string[]; prog: string; tag: string; retval: number }> =
    {
      prog_a: { maps: [], prog: "ret_const", tag: "76b761cdf4203894", retval: 42 },
      prog_b: { maps: ["counters"], prog: "count_pkts", tag: "c95db03ce86ab205", retval: 0 },
      prog_d: {
        maps: ["slots", "prog_d.data", "prog_d.rodata"],
        prog: "ret_magic",
        tag: "8209bdc16cf4e498",
        retval: 0xabad1ded | 0,
      },
    };
  const forms = [
    { label: "unsigned", form: { signed: false } },
    { label: "signed, signature removed", form: { signed: true, key: null } },
    { label: "signed (rsa2048)", form: { signed: true, key: "rsa2048" } },
  ] as const;
  for (const prog of PROGS)
    for (const { label, form } of forms)
      test(`${prog} ${label}: installs its target, which runs`, () => {
        const kernel = createModelKernel();
        const recorder = new VerdictRecorder(kernel.lsm);
        const { backend, bpf } = session(kernel);
        const loaded = loadAndRun(backend, vectorImage(prog, form), {
          keyringId: KeySpec.SESSION_KEYRING,
        });
        try {
          const want = expected[prog];
          const inst = describeInstalled(backend, loaded);
          assert.deepEqual(
            inst.maps.map((m) => m.name),
            want.maps,
          );
          assert.equal(inst.progs[0].name, want.prog);
          assert.equal(inst.progs[0].type, "SOCKET_FILTER");
          assert.equal(inst.progs[0].tag, want.tag);
          const run = bpf.progTestRun({ prog_fd: loaded.progs[0].fd, data_in: PACKET });
          assert.equal(run.retval, want.retval);
          const verdict = recorder.last("__loader.prog");
          assert.equal(verdict?.verdict, "key" in form && form.key ? "VERIFIED" : "UNSIGNED");
          if (prog === "prog_d") {
            const data = loaded.maps[1];
            assert.ok(data.addr !== null, ".data is mapped after the load");
            assert.deepEqual(
              [...backend.memory.read(data.addr, 8)],
              [...readVector("prog_d", "mmap_data.bin")],
            );
          }
        } finally {
          loaded.close();
        }
      });

  test("prog_d: the unsigned loader takes max_entries and initial values from the host; the signed one does not", () => {
    const overrides = {
      maxEntries: { 0: 16 },
      initialValues: { 1: new Uint8Array(64).fill(0x40) },
    };
    const results = (["unsigned", "signed"] as const).map((kind) => {
      const kernel = createModelKernel();
      const { backend, bpf } = session(kernel);
      const image = vectorImage(
        "prog_d",
        kind === "signed" ? { signed: true, key: "rsa2048" } : { signed: false },
      );
      const loaded = loadAndRun(backend, image, { keyringId: KeySpec.SESSION_KEYRING, overrides });
      try {
        const slots = bpf.mapInfo(loaded.maps[0].fd).max_entries;
        const retval = bpf.progTestRun({ prog_fd: loaded.progs[0].fd, data_in: PACKET }).retval;
        return { slots, retval: retval >>> 0 };
      } finally {
        loaded.close();
      }
    });
    assert.deepEqual(results[0], { slots: 16, retval: 0x40404043 });
    assert.deepEqual(results[1], { slots: 2, retval: 0xabad1ded });
  });

  test("a loader returning an error fails at 'error returned by loader prog' and leaves no fds", () => {
    const kernel = createModelKernel();
    const { backend, bpf } = session(kernel);
    const before = nextFd(bpf);
    // prog_b's loader with its map's BPF_MAP_CREATE attr made invalid (key_size 0 at 3072+4):
    // the data is not signed here, so the loader runs and its sys_bpf fails with EINVAL.
    const image = vectorImage("prog_b", { signed: false });
    const data = new Uint8Array(image.data);
    new DataView(data.buffer).setUint32(3072 + 4, 0, true);
    assert.throws(
      () => loadAndRun(backend, { ...image, data }),
      expectStep(LoaderStep.RETVAL, "EINVAL"),
    );
    assert.equal(nextFd(bpf), before);
  });
});
