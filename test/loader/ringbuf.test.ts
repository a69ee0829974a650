/**
 * RINGBUF end to end on the model: the kernel side reserves and commits records in the map's
 * data pages, the user-space consumer reads them through the mmap'd consumer/producer/data pages
 * as libbpf's ring_buffer does: in order, across the end of the ring, skipping discarded
 * records, stopping at one still being written, and never seeing a record that did not fit.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BpfMap } from "../../src/kernel/map.js";
import { RingBufferConsumer } from "../../src/loader/ringbuf.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { MapType } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { createModelKernel } from "../../src/vm/index.js";

function setup(size = 4096) {
  const proc = createModelKernel().spawn();
  const bpf = new Bpf(proc);
  const fd = bpf.mapCreate({
    map_type: MapType.RINGBUF,
    key_size: 0,
    value_size: 0,
    max_entries: size,
  });
  const f = proc.file(fd);
  if (f?.kind !== "map") throw new Error("no map");
  const map: BpfMap = f.map;
  /** What a program does: reserve, fill, submit (or discard). */
  const produce = (payload: Uint8Array, discard = false): boolean => {
    const off = map.ringbufReserve(payload.length);
    if (off < 0) return false;
    map.storage.set(payload, off);
    map.ringbufCommit(off, discard);
    return true;
  };
  return { proc, bpf, fd, map, produce, rb: new RingBufferConsumer(proc, fd, size) };
}

const rec = (n: number, len: number) => new Uint8Array(len).map((_, i) => (n * 31 + i) & 0xff);

describe("ring buffer: kernel producer, mmap'd consumer", () => {
  test("records come out in order with their exact bytes; positions advance by 8-byte-rounded lengths", () => {
    const { produce, rb } = setup();
    assert.ok(produce(rec(1, 5)));
    assert.ok(produce(rec(2, 16)));
    assert.deepEqual(rb.consume(), [rec(1, 5), rec(2, 16)]);
    // 8 + 5 → 16, 8 + 16 → 24
    assert.equal(rb.producerPos, 40);
    assert.equal(rb.consumerPos, 40);
    assert.deepEqual(rb.consume(), []);
  });

  test("records survive wrap-around: 200 records of 1000 bytes through a 4 KiB ring", () => {
    const { produce, rb } = setup(4096);
    const seen: Uint8Array[] = [];
    for (let n = 0; n < 200; n++) {
      assert.ok(produce(rec(n, 1000)), `record ${n} fits after consuming`);
      if (n % 3 === 2) seen.push(...rb.consume());
    }
    seen.push(...rb.consume());
    assert.equal(seen.length, 200);
    for (const [n, r] of seen.entries()) assert.deepEqual(r, rec(n, 1000), `record ${n}`);
    assert.ok(rb.producerPos > 4096 * 40, "the positions went round many times");
  });

  test("overflow: a reservation that does not fit returns NULL and is counted; nothing is corrupted", () => {
    const { produce, rb, map } = setup(4096);
    let n = 0;
    while (produce(rec(n, 1000))) n++;
    assert.equal(n, 4, "four 1008-byte records fit in the 4095 bytes a ring of 4 KiB holds");
    assert.equal(map.ringbufDropped, 1);
    assert.ok(produce(rec(7, 8)), "a 16-byte record still fits in the remaining 63 bytes");
    assert.ok(!produce(rec(8, 100)), "a 108-byte one does not");
    assert.equal(map.ringbufDropped, 2);
    const got = rb.consume();
    assert.deepEqual(got, [rec(0, 1000), rec(1, 1000), rec(2, 1000), rec(3, 1000), rec(7, 8)]);
    assert.ok(produce(rec(5, 1000)), "room again after the consumer moved on");
    assert.deepEqual(rb.consume(), [rec(5, 1000)]);
  });

  test("a record larger than the ring is refused outright", () => {
    const { map } = setup(4096);
    assert.equal(map.ringbufReserve(4096), -1);
    assert.equal(map.ringbufDropped, 1);
  });

  test("discarded records are skipped; a record still being written stops the consumer", () => {
    const { produce, rb, map } = setup();
    produce(rec(1, 8), true);
    produce(rec(2, 8));
    const busy = map.ringbufReserve(8);
    produce(rec(3, 8));
    assert.deepEqual(rb.consume(), [rec(2, 8)], "stops at the busy record");
    map.storage.set(rec(4, 8), busy);
    map.ringbufCommit(busy, false);
    assert.deepEqual(rb.consume(), [rec(4, 8), rec(3, 8)]);
  });

  test("the data pages map read-only and the consumer page cannot be mapped writable past page 0", () => {
    const { proc, fd } = setup();
    assert.equal(proc.mmap(8192, 3, 1, fd, 0), BigInt(-Errno.EPERM));
    assert.ok(proc.mmap(4096, 1, 1, fd, 4096) > 0n);
  });
});
