/** libbpf's readings of machine files, as the CLI will feed them to openObject. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ObjectError } from "../../src/object/errors.js";
import {
  getKernelVersion,
  kernelVersionCode,
  numPossibleCpus,
} from "../../src/object/host_facts.js";
import { REPO_ROOT } from "../support/vectors.js";

const host = JSON.parse(readFileSync(join(REPO_ROOT, "test/fixtures/gen/host.json"), "utf8")) as {
  kernelRelease: string;
  linuxKernelVersion: number;
  possibleCpuList: string;
  possibleCpus: number;
};

test("host facts: the traces' machine: release 6.18.44-fc-v857 -> 397868, CPUs 0-1 -> 2", () => {
  assert.equal(
    getKernelVersion({ release: host.kernelRelease, version: "#1 SMP" }),
    host.linuxKernelVersion,
  );
  assert.equal(numPossibleCpus(`${host.possibleCpuList}\n`), host.possibleCpus);
});

test("host facts: Ubuntu's version_signature, then Debian's version string, then the release", () => {
  assert.equal(
    getKernelVersion({
      release: "5.4.0-12-generic",
      version: "#15-Ubuntu SMP",
      versionSignature: "Ubuntu 5.4.0-12.15-generic 5.4.8\n",
    }),
    kernelVersionCode(5, 4, 8),
  );
  assert.equal(
    getKernelVersion({
      release: "4.19.0-22-amd64",
      version: "#1 SMP Debian 4.19.260-1 (2022-09-29)",
    }),
    kernelVersionCode(4, 19, 255),
  );
  assert.equal(getKernelVersion({ release: "6.1", version: "" }), 0);
  assert.equal(kernelVersionCode(6, 18, 44), 397868);
});

test("host facts: CPU lists with ranges, singles and gaps; bad lists are typed errors", () => {
  assert.equal(numPossibleCpus("0-3,8,10-11\n"), 7);
  assert.equal(numPossibleCpus("0"), 1);
  for (const bad of ["", "\n", "3-1", "x", "-1"]) {
    assert.throws(
      () => numPossibleCpus(bad),
      (e: unknown) => e instanceof ObjectError && e.code === "OBJECT_MISSING_HOST_FACT",
      JSON.stringify(bad),
    );
  }
});
