/**
 * A raw tracepoint program of the kind light skeletons carry (bpf/tracing/events.bpf.c: a
 * RINGBUF of events, an LRU_HASH per pid, a PERCPU_ARRAY total), generated into a skeleton,
 * loaded on the model, run with BPF_PROG_TEST_RUN (the tracepoint's arguments as ctx) and read
 * back: the ring buffer's records through the mmap'd pages, the maps through bpf().
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { genSkeleton } from "../../src/gen/skeleton.js";
import { loadAndRun } from "../../src/loader/load_and_run.js";
import { RingBufferConsumer } from "../../src/loader/ringbuf.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { Errno } from "../../src/uapi/errno.js";
import { createModelKernel } from "../../src/vm/index.js";
import { REPO_ROOT } from "../support/vectors.js";

const OBJ = join(REPO_ROOT, "test/fixtures/tracing/events.bpf.o");

function setup() {
  const kernel = createModelKernel();
  const proc = kernel.spawn();
  const bpf = new Bpf(proc);
  const g = genSkeleton(new Uint8Array(readFileSync(OBJ)), "events.bpf.o");
  const loaded = loadAndRun(proc, {
    insns: g.insns,
    data: g.data,
    signature: null,
    exclHash: null,
    maps: g.object.maps.map((m) => ({ name: m.name, mmap: null })),
    progs: g.object.programs.map((p) => ({ name: p.name })),
  });
  const map = (n: string) => {
    const m = loaded.maps.find((x) => x.name === n);
    if (!m) throw new Error(`no map ${n}`);
    return m.fd;
  };
  const args = (id: number) => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(8, BigInt(id), true);
    return b;
  };
  const fire = (id: number) =>
    bpf.progTestRun({ prog_fd: loaded.progs[0].fd, ctx_in: args(id) }).retval;
  return { kernel, proc, bpf, loaded, map, fire };
}

describe("a raw tracepoint program with RINGBUF, LRU_HASH and PERCPU_ARRAY on the model", () => {
  test("it loads from its light skeleton and each run streams one event", () => {
    const { proc, bpf, map, fire } = setup();
    const rb = new RingBufferConsumer(proc, map("events"), 1 << 14);
    for (const id of [59, 0, 257]) assert.equal(fire(id), 0);
    const events = rb.consume().map((e) => {
      const dv = new DataView(e.buffer, e.byteOffset, e.byteLength);
      return {
        pid: dv.getUint32(0, true),
        syscall: dv.getUint32(4, true),
        ts: dv.getBigUint64(8, true),
        comm: new TextDecoder().decode(e.subarray(16, 32)).replace(/\0+$/, ""),
      };
    });
    assert.deepEqual(
      events.map((e) => [e.pid, e.syscall, e.comm]),
      [59, 0, 257].map((id) => [proc.pid, id, `model-${proc.pid}`]),
    );
    assert.ok(events[0].ts <= events[1].ts && events[1].ts <= events[2].ts);
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, proc.pid, true);
    const count = bpf.mapLookup(map("per_pid"), key, 8);
    assert.equal(new DataView(count.buffer, count.byteOffset).getBigUint64(0, true), 3n);
    const total = bpf.mapLookup(map("total"), new Uint8Array(4), 16);
    const t = new DataView(total.buffer, total.byteOffset);
    assert.deepEqual([t.getBigUint64(0, true), t.getBigUint64(8, true)], [3n, 0n], "CPU 0 only");
  });

  test("the raw_tp test run takes at most 12 arguments and no data", () => {
    const { bpf, loaded } = setup();
    const fd = loaded.progs[0].fd;
    assert.throws(
      () => bpf.progTestRun({ prog_fd: fd, ctx_in: new Uint8Array(13 * 8) }),
      (e: unknown) => (e as { errno?: number }).errno === Errno.EINVAL,
    );
    assert.throws(
      () => bpf.progTestRun({ prog_fd: fd, data_in: new Uint8Array(8) }),
      (e: unknown) => (e as { errno?: number }).errno === Errno.EINVAL,
    );
  });

  test("a full ring buffer drops events, the program goes on", () => {
    const { proc, map, fire } = setup();
    for (let i = 0; i < 600; i++) fire(1);
    const f = proc.file(map("events"));
    assert.equal(f?.kind, "map");
    if (f?.kind !== "map") return;
    // 16 KiB of 40-byte records: 409 fit, the rest were dropped
    assert.equal(f.map.ringbufDropped, 600 - 409);
    assert.equal(new RingBufferConsumer(proc, map("events"), 1 << 14).consume().length, 409);
  });
});
