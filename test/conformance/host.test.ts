/**
 * The conformance suite against the host kernel. The suite runs in a child process
 * (dist/test/host/conformance_suite.js) and each of its subtests is reported here: a pass is a
 * pass, a skip keeps its reason, and a failure fails — unless it is in ALLOWED below, where the
 * reason says why this kernel cannot perform the check. On a machine without bpf() everything
 * skips with the probe's reason.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { formatCapabilities } from "../../src/host/probe.js";
import { hostCaps, hostSkip } from "../support/host.js";
import { EXTRA_SUBTESTS, SELFTEST_SUBTESTS } from "./signed_loader.js";

/**
 * Subtests allowed to fail on this kernel, each with the reason it cannot perform the check, and
 * only when the load stopped with EOPNOTSUPP (-95). Empty: the subtests whose checks come after
 * the signature step route through stopIfUnverifiable() and skip with that reason themselves.
 */
const ALLOWED: Readonly<Record<string, string>> = {};

interface SubResult {
  readonly name: string;
  readonly status: "ok" | "not ok";
  readonly skip: string | null;
  readonly detail: string;
}

/** The direct subtests of the suite in TAP output (indent 4). */
function parseTap(tap: string): SubResult[] {
  const lines = tap.split("\n");
  const out: SubResult[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {4}(ok|not ok) \d+ - (\S+)(?: # SKIP ?(.*))?$/.exec(lines[i]);
    if (!m) continue;
    const detail: string[] = [];
    for (let j = i + 1; j < lines.length && lines[j].startsWith("      "); j++)
      detail.push(lines[j]);
    out.push({
      name: m[2],
      status: m[1] as "ok" | "not ok",
      skip: m[3] === undefined ? null : m[3] || "skipped",
      detail: detail.join("\n"),
    });
  }
  return out;
}

test("host capabilities", (t) => {
  for (const line of formatCapabilities(hostCaps())) t.diagnostic(line);
});

const skip = hostSkip("syscallProg");

describe("signed_loader (host)", () => {
  if (skip) {
    test("every subtest", (t) => t.skip(skip));
    return;
  }
  const suite = fileURLToPath(new URL("../host/conformance_suite.js", import.meta.url));
  // The child must report TAP on stdout, not to this runner (NODE_TEST_CONTEXT would do that).
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync(process.execPath, ["--test", "--test-reporter=tap", suite], {
    encoding: "utf8",
    env,
  });
  const results = parseTap(run.stdout);
  test("the suite ran every subtest", () => {
    assert.deepEqual(
      results.map((r) => r.name),
      [...SELFTEST_SUBTESTS, ...EXTRA_SUBTESTS],
      `expected the suite's subtests in order, got:\n${run.stdout}${run.stderr}`,
    );
  });
  for (const r of results) {
    test(r.name, (t) => {
      if (r.status === "ok") {
        if (r.skip) t.skip(r.skip);
        return;
      }
      const why = ALLOWED[r.name];
      if (why && /-95 !== /.test(r.detail)) {
        t.skip(`allowed on this kernel: ${why}`);
        return;
      }
      assert.fail(`${r.name} failed on the host:\n${r.detail}`);
    });
  }
});
