import assert from "node:assert/strict";
import { test } from "node:test";
import { ModelKernel } from "../../src/kernel/kernel.js";
import { LoaderError, LoaderStep, loadAndRun } from "../../src/loader/load_and_run.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, MapType } from "../../src/uapi/constants.js";
import { vectorImage } from "../support/vector_skeleton.js";
import { skipVectors, vectorCert } from "../support/vectors.js";

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
    assert.equal(e.code, code);
    assert.match(e.message, new RegExp(`^bpf_load_and_run: ${step} failed with ${code}`));
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
