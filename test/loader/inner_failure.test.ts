/**
 * A light skeleton's loader that fails inside the kernel says what failed: the inner command,
 * the object's name and the errno (and the verifier's log of a failed inner load), on the model;
 * the CLI reports it as a kernel refusal (exit 77), never as an internal error.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { describeInnerFailure } from "../../src/loader/inner_failure.js";
import { LoaderError, LoaderStep, loadAndRun } from "../../src/loader/load_and_run.js";
import { parseLightSkeleton } from "../../src/skeleton/index.js";
import { BpfCmd } from "../../src/uapi/constants.js";
import { createModelKernel } from "../../src/vm/index.js";
import { policyFixture, policyImage } from "../lsm/bpf_policy_support.js";
import { cli } from "../support/cli.js";
import { REPO_ROOT } from "../support/vectors.js";

const lskel = (name: string) => join(REPO_ROOT, "test/fixtures/gen", `${name}.lskel.h`);
const skel = (name: string) => parseLightSkeleton(readFileSync(lskel(name), "utf8"));

describe("loader failures name the inner command", () => {
  test("MAP_CREATE: the map, its type and size (a host override makes the ring buffer 5000 bytes)", () => {
    const proc = createModelKernel().spawn();
    const maps = skel("maps");
    const events = maps.maps.findIndex((m) => m.name === "events");
    assert.throws(
      () => loadAndRun(proc, maps, { overrides: { maxEntries: { [events]: 5000 } } }),
      (e: unknown) => {
        assert.ok(e instanceof LoaderError);
        assert.equal(e.step, LoaderStep.RETVAL);
        assert.equal(e.code, "BPF_EINVAL");
        assert.equal(e.inner?.cmd, BpfCmd.MAP_CREATE);
        assert.match(e.message, /: MAP_CREATE of map 'events' \(RINGBUF, 5000 bytes\): EINVAL$/);
        return true;
      },
    );
  });

  test("PROG_LOAD: the program, its type, the errno and the verifier's log of the inner load", () => {
    // the admission policy on a kernel without prog->aux->sig: its CO-RE loads are poisoned
    const proc = createModelKernel({ profile: "mainline-6.18" }).spawn();
    assert.throws(
      () => loadAndRun(proc, policyImage(policyFixture("admit"), "admit")),
      (e: unknown) => {
        assert.ok(e instanceof LoaderError);
        assert.equal(e.code, "BPF_EINVAL");
        assert.equal(e.inner?.cmd, BpfCmd.PROG_LOAD);
        assert.match(
          e.message,
          /PROG_LOAD of program 'admit' \(LSM, LSM_MAC, attach_btf_id \d+\): EINVAL/,
        );
        assert.match(e.log, /invalid func unknown#195896080/);
        return true;
      },
    );
  });

  test("a lookup: the attach target the kernel's BTF lacks", () => {
    const proc = createModelKernel().spawn();
    const obj = new Uint8Array(
      readFileSync(join(REPO_ROOT, "test/fixtures/policy/absent_target.bpf.o")),
    );
    const image = parseLightSkeleton(genSkeleton(obj, "absent_target.bpf.o").header);
    assert.throws(
      () => loadAndRun(proc, image),
      (e: unknown) =>
        e instanceof LoaderError &&
        e.code === "BPF_ENOENT" &&
        e.message.endsWith(
          ": bpf_btf_find_by_name_kind('no_such_function', FUNC): ENOENT (the kernel's BTF has no such type)",
        ),
    );
  });

  test("a failed lookup of the loader names the helper, the name and the BTF kind", () => {
    assert.equal(
      describeInnerFailure({
        cmd: -1,
        attr: new Uint8Array(0),
        errno: 2,
        log: "",
        lookup: { helper: "bpf_btf_find_by_name_kind", name: "bpf_iter_task_file", kind: 12 },
      }),
      "bpf_btf_find_by_name_kind('bpf_iter_task_file', FUNC): ENOENT (the kernel's BTF has no such type)",
    );
  });

  test("bpfsign load: a kernel refusal inside the loader exits 77 and says what failed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfsign-inner-"));
    try {
      const obj = new Uint8Array(
        readFileSync(join(REPO_ROOT, "test/fixtures/policy/absent_target.bpf.o")),
      );
      const h = join(dir, "absent.lskel.h");
      writeFileSync(h, genSkeleton(obj, "absent_target.bpf.o").header);
      const r = await cli(["load", h]);
      assert.equal(r.code, 77, r.err);
      assert.match(r.err, /bpf_btf_find_by_name_kind\('no_such_function', FUNC\): ENOENT/);
      assert.doesNotMatch(r.err, /at .*\.js:\d+/, "no stack trace");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
