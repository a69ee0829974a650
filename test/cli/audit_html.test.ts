/**
 * The HTML report in a real browser: Debian's Chromium, headless, driven over the DevTools
 * protocol on --remote-debugging-pipe with node's built-ins only. The page must load, log no
 * console errors or exceptions, and show the decision. Skips (with the reason) when there is no
 * chromium on this machine (.ci/run installs it).
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { CliIo } from "../../src/cli/output.js";
import { run } from "../../src/cli/program.js";
import { REPO_ROOT } from "../support/vectors.js";

function findChromium(): string | null {
  for (const c of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      execFileSync("which", [c], { stdio: "pipe" });
      return c;
    } catch {
      // not this one
    }
  }
  return null;
}

const CHROMIUM = findChromium();
const SKIP = CHROMIUM
  ? false
  : "chromium is not installed (apt-get install chromium; .ci/run does)";

interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

/** A headless Chromium and a DevTools protocol client over the pipe (fd 3 in, fd 4 out). */
class Browser {
  private readonly proc: ChildProcess;
  private readonly profile: string;
  private nextId = 1;
  private buf = Buffer.alloc(0);
  private readonly pending = new Map<
    number,
    { ok: (v: unknown) => void; fail: (e: Error) => void }
  >();
  readonly events: CdpEvent[] = [];
  private waiters: { match: (e: CdpEvent) => boolean; ok: (e: CdpEvent) => void }[] = [];

  constructor(binary: string) {
    this.profile = mkdtempSync(join(tmpdir(), "bpfsign-chromium-"));
    this.proc = spawn(
      binary,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-crash-reporter",
        "--disable-breakpad",
        `--user-data-dir=${this.profile}`,
        "--remote-debugging-pipe",
        "about:blank",
      ],
      // its own process group: close() ends the helpers (renderer, utility) with it
      { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"], detached: true },
    );
    const out = this.proc.stdio[4] as Readable;
    out.on("data", (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (let z = this.buf.indexOf(0); z >= 0; z = this.buf.indexOf(0)) {
        const msg = JSON.parse(this.buf.subarray(0, z).toString("utf8"));
        this.buf = this.buf.subarray(z + 1);
        if (msg.id !== undefined) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error) p?.fail(new Error(`${msg.error.message} (${msg.error.code})`));
          else p?.ok(msg.result);
        } else {
          this.events.push(msg);
          this.waiters = this.waiters.filter((w) => {
            if (!w.match(msg)) return true;
            w.ok(msg);
            return false;
          });
        }
      }
    });
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const msg = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    (this.proc.stdio[3] as Writable).write(`${msg}\0`);
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok: ok as (v: unknown) => void, fail });
      setTimeout(() => fail(new Error(`${method}: no answer in 30 s`)), 30_000).unref();
    });
  }

  waitFor(match: (e: CdpEvent) => boolean): Promise<CdpEvent> {
    const hit = this.events.find(match);
    if (hit) return Promise.resolve(hit);
    return new Promise((ok, fail) => {
      this.waiters.push({ match, ok });
      setTimeout(() => fail(new Error("event not seen in 30 s")), 30_000).unref();
    });
  }

  /** Opens `url` in a new tab; returns what the page logged as errors and an evaluator. */
  async open(url: string) {
    const { targetId } = (await this.send("Target.createTarget", { url: "about:blank" })) as {
      targetId: string;
    };
    const { sessionId } = (await this.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    })) as {
      sessionId: string;
    };
    await this.send("Runtime.enable", {}, sessionId);
    await this.send("Log.enable", {}, sessionId);
    await this.send("Page.enable", {}, sessionId);
    await this.send("Page.navigate", { url }, sessionId);
    await this.waitFor((e) => e.method === "Page.loadEventFired" && e.sessionId === sessionId);
    const evaluate = async (expression: string) => {
      const r = (await this.send(
        "Runtime.evaluate",
        { expression, returnByValue: true },
        sessionId,
      )) as {
        result: { value: unknown };
      };
      return r.result.value;
    };
    const errors = () =>
      this.events
        .filter((e) => e.sessionId === sessionId)
        .filter(
          (e) =>
            e.method === "Runtime.exceptionThrown" ||
            (e.method === "Runtime.consoleAPICalled" && e.params.type === "error") ||
            (e.method === "Log.entryAdded" &&
              (e.params.entry as { level: string }).level === "error"),
        )
        .map((e) => JSON.stringify(e.params).slice(0, 300));
    return { evaluate, errors };
  }

  async close() {
    try {
      await this.send("Browser.close");
    } catch {
      // already gone
    }
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((ok) => this.proc.once("exit", ok));
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5_000);
      this.proc.kill();
      await exited;
      clearTimeout(timer);
    }
    // the browser's helper processes can outlive it for a moment, still writing the profile
    // (that once made removing it fail with ENOTEMPTY): end the whole group, then remove
    try {
      if (this.proc.pid) process.kill(-this.proc.pid, "SIGKILL");
    } catch {
      // the group is gone already
    }
    rmSync(this.profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}

const work = mkdtempSync(join(tmpdir(), "bpfsign-html-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function writeReport(args: string[], file: string): Promise<number> {
  const io: CliIo = { stdout: () => {}, stderr: () => {}, env: {} };
  return run(["audit", ...args, "--html", file], io);
}

describe("the audit HTML report in headless Chromium", { skip: SKIP }, () => {
  test("renders, logs no errors, shows the decision; a page with an error is caught", async () => {
    const browser = new Browser(CHROMIUM as string);
    try {
      const pol = join(work, "p.pol");
      writeFileSync(
        pol,
        "policy_name=p policy_version=1.0.0\nDEFAULT action=DENY\nop=BPF_PROG_LOAD bpf_kernel=TRUE action=ALLOW\nop=BPF_PROG_LOAD bpf_signature=VERIFIED action=ALLOW\n",
      );
      const cert = join(REPO_ROOT, "test/fixtures/vectors/keys/test-only-rsa2048.cert.pem");
      const dir = join(REPO_ROOT, "test/fixtures/skeleton_header");
      const admitted = join(work, "admitted.html");
      const denied = join(work, "denied.html");
      assert.equal(
        await writeReport(
          [join(dir, "custom.v2.signed.lskel.h"), "--cert", cert, "--policy-file", pol],
          admitted,
        ),
        0,
      );
      assert.equal(
        await writeReport([join(dir, "custom.v2.lskel.h"), "--policy-file", pol], denied),
        5,
      );

      for (const [file, want, cls] of [
        [admitted, "ADMITTED", "admit"],
        [denied, "DENIED", "deny"],
      ]) {
        const page = await browser.open(pathToFileURL(file).href);
        assert.equal(await page.evaluate("document.getElementById('decision').textContent"), want);
        assert.equal(await page.evaluate("document.getElementById('decision').className"), cls);
        const shown = await page.evaluate(
          "(() => { const r = document.getElementById('decision').getBoundingClientRect(); return r.width > 0 && r.height > 0; })()",
        );
        assert.equal(shown, true, "the decision is laid out");
        assert.equal(
          await page.evaluate("document.querySelectorAll('table.maps tbody tr').length"),
          7,
        );
        assert.equal(
          await page.evaluate("document.querySelectorAll('table.progs tbody tr').length"),
          1,
        );
        const links = (await page.evaluate(
          "[...document.querySelectorAll('pre.disasm a')].filter(a => document.getElementById(a.getAttribute('href').slice(1))).length",
        )) as number;
        assert.ok(links > 10, `${links} disassembly lines link to a metadata record`);
        assert.equal(
          await page.evaluate(
            "getComputedStyle(document.querySelector('pre.disasm a.k-prog_insns')).backgroundColor",
          ),
          "rgb(255, 243, 204)",
          "records are highlighted by kind",
        );
        assert.deepEqual(page.errors(), [], `no console errors in ${file}`);
      }

      // the harness sees errors when there are some
      const bad = join(work, "bad.html");
      writeFileSync(
        bad,
        "<!DOCTYPE html><title>x</title><script>console.error('boom'); undefinedFn();</script>",
      );
      const page = await browser.open(pathToFileURL(bad).href);
      await browser.waitFor((e) => e.method === "Runtime.exceptionThrown");
      assert.equal(page.errors().length >= 2, true, page.errors().join("\n"));
    } finally {
      await browser.close();
    }
  });
});
