/**
 * BPF_BTF_LOAD and BTF objects: capability and attr checks, the header and section checks of
 * btf_parse() with their log lines, the record walk over the type section, ids and info.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BpfCmd } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { BtfLoadAttr, decode, GetIdAttr } from "../../src/uapi/layout.js";
import { btfBlob, btfWithInt } from "../support/btf.js";
import { errnoOf, sys, type World, world } from "./support.js";

/** A raw BPF_BTF_LOAD of `blob` with a 4 KiB log; the result, the log and btf_log_true_size. */
function btfLoad(
  w: World,
  blob: Uint8Array,
  over: Partial<Record<keyof typeof BtfLoadAttr, number | bigint>> = {},
) {
  const logBuf = w.proc.memory.alloc(4096);
  const r = sys(
    w.proc,
    BpfCmd.BTF_LOAD,
    BtfLoadAttr,
    {
      btf: w.proc.memory.alloc(blob),
      btf_size: blob.length,
      btf_log_buf: logBuf,
      btf_log_size: 4096,
      btf_log_level: 1,
      ...over,
    } as Parameters<typeof sys<typeof BtfLoadAttr>>[3],
    40,
  );
  const raw = w.proc.memory.read(logBuf, 4096);
  const log = new TextDecoder().decode(raw.subarray(0, raw.indexOf(0)));
  return { ret: r.ret, log, trueSize: decode(BtfLoadAttr, r.attr).btf_log_true_size };
}

/** Patches a u32 (or u8/u16 when `width` says so) of a copy of the int-BTF blob. */
function patched(at: number, value: number, width: 1 | 2 | 4 = 4): Uint8Array {
  const b = btfWithInt();
  const dv = new DataView(b.buffer);
  if (width === 1) dv.setUint8(at, value);
  else if (width === 2) dv.setUint16(at, value, true);
  else dv.setUint32(at, value, true);
  return b;
}

describe("BPF_BTF_LOAD", () => {
  test("a valid blob loads; its id and size show in info and BTF_GET_FD_BY_ID works", () => {
    const w = world();
    const r = btfLoad(w, btfWithInt());
    assert.ok(r.ret >= 3, r.log);
    assert.equal(r.log, "");
    assert.equal(r.trueSize, 1, "an empty log still counts its NUL");
    const f = w.proc.file(r.ret);
    assert.ok(f?.kind === "btf");
    assert.equal(f.btf.findByNameKind("int", 1), 1);
    assert.equal(f.btf.findByNameKind("long", 1), -Errno.ENOENT);
    const again = sys(w.proc, BpfCmd.BTF_GET_FD_BY_ID, GetIdAttr, { id: f.btf.id }, 4).ret;
    const g = w.proc.file(again);
    assert.ok(g?.kind === "btf" && g.btf === f.btf);
    assert.equal(
      sys(w.proc, BpfCmd.BTF_GET_FD_BY_ID, GetIdAttr, { id: 999 }, 4).ret,
      -Errno.ENOENT,
    );
  });

  test("without CAP_BPF → EPERM; btf_flags → EINVAL; btf_size > 16 MiB → E2BIG", () => {
    const w = world();
    const user = world().kernel.spawn({ bpf: false, sys_admin: false });
    assert.equal(btfLoad({ ...w, proc: user }, btfWithInt()).ret, -Errno.EPERM);
    assert.equal(btfLoad(w, btfWithInt(), { btf_flags: 1 }).ret, -Errno.EINVAL);
    assert.equal(btfLoad(w, btfWithInt(), { btf_size: (16 << 20) + 1 }).ret, -Errno.E2BIG);
  });

  test("the log attrs follow bpf_vlog_init(): level 0 with a buffer → EINVAL", () => {
    const w = world();
    assert.equal(btfLoad(w, btfWithInt(), { btf_log_level: 0 }).ret, -Errno.EINVAL);
    assert.equal(btfLoad(w, btfWithInt(), { btf_log_level: 16 }).ret, -Errno.EINVAL);
    assert.equal(btfLoad(w, btfWithInt(), { btf_log_size: 0 }).ret, -Errno.EINVAL);
  });

  test("a blob pointer that faults → EFAULT", () => {
    const w = world();
    assert.equal(btfLoad(w, btfWithInt(), { btf: 0x10n }).ret, -Errno.EFAULT);
  });

  test("a too-small log buffer turns a parse error into ENOSPC (finalize_log overrides it)", () => {
    const w = world();
    const r = btfLoad(w, patched(0, 0xeb9e, 2), { btf_log_size: 4 });
    assert.equal(r.ret, -Errno.ENOSPC);
    assert.equal(r.log, "ic\n", "rotating mode keeps the tail that fits");
    assert.equal(r.trueSize, "Invalid magic\n".length + 1);
  });

  test("a log buffer that faults → EFAULT, even for a good blob, and no id is used up", () => {
    const w = world();
    const r = btfLoad(w, btfWithInt(), { btf_log_buf: 0x10n });
    assert.equal(r.ret, -Errno.EFAULT);
    assert.equal(w.kernel.btfs.size, 0);
    const ok = btfLoad(w, btfWithInt());
    const f = w.proc.file(ok.ret);
    assert.ok(f?.kind === "btf");
    assert.equal(f.btf.id, 1, "the failed load did not consume an id");
  });

  test("btf_log_true_size is written back only when the attr reaches it (size >= 32)", () => {
    const w = world();
    const attr = new Uint8Array(168);
    const dv = new DataView(attr.buffer);
    const blob = patched(0, 1, 2);
    dv.setBigUint64(0, w.proc.memory.alloc(blob), true);
    dv.setBigUint64(8, w.proc.memory.alloc(256), true);
    dv.setUint32(16, blob.length, true);
    dv.setUint32(20, 256, true);
    dv.setUint32(24, 1, true);
    assert.equal(w.proc.bpf(BpfCmd.BTF_LOAD, attr, 28), -Errno.EINVAL);
    assert.equal(dv.getUint32(28, true), 0);
    assert.equal(w.proc.bpf(BpfCmd.BTF_LOAD, attr, 32), -Errno.EINVAL);
    assert.equal(dv.getUint32(28, true), "Invalid magic\n".length + 1);
  });

  const bad: [string, Uint8Array, string][] = [
    ["shorter than a header", new Uint8Array(23), "btf_header not found"],
    ["bad magic", patched(0, 0xeb9e, 2), "Invalid magic"],
    ["version 2", patched(2, 2, 1), "Unsupported version"],
    ["flags 1", patched(3, 1, 1), "Unsupported flags"],
    ["hdr_len 20", patched(4, 20), "Unsupported btf_header"],
    ["hdr_len past the blob", patched(4, 1000), "Unsupported btf_header"],
    ["type_off 2", patched(8, 2), "Unaligned type_off"],
    ["type_len past the blob", patched(12, 1000), "Total section length too long"],
    ["str_len past the blob", patched(20, 1000), "Total section length too long"],
    ["overlapping sections", patched(16, 8), "Section overlap found"],
    [
      "empty string section",
      btfBlob(new Uint8Array(0), new Uint8Array(0)),
      "Invalid string section",
    ],
    [
      "strings without the leading NUL",
      btfBlob(new Uint8Array(0), new TextEncoder().encode("a\0")),
      "Invalid string section",
    ],
    [
      "strings without the final NUL",
      btfBlob(new Uint8Array(0), new TextEncoder().encode("\0a")),
      "Invalid string section",
    ],
    [
      "a truncated type header",
      btfBlob(new Uint8Array(8), new Uint8Array(1)),
      "[1] type_header is truncated",
    ],
    ["kind 0", btfBlob(new Uint8Array(12), new Uint8Array(1)), "[1] Invalid kind:0"],
    [
      "kind 20",
      btfBlob(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0]), new Uint8Array(1)),
      "[1] Invalid kind:20",
    ],
    [
      "an INT without its 4 trailing bytes",
      btfBlob(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0]), new Uint8Array(1)),
      "[1] Total type section length too long",
    ],
    ["a name offset past the strings", patched(24, 99), "[1] Invalid name_offset:99"],
  ];
  for (const [name, blob, line] of bad) {
    test(`${name} → EINVAL, "${line}"`, () => {
      const w = world();
      const r = btfLoad(w, blob);
      assert.equal(r.ret, -Errno.EINVAL);
      assert.equal(r.log, `${line}\n`);
      assert.equal(r.trueSize, line.length + 2);
      assert.equal(w.kernel.btfs.size, 0);
    });
  }

  test("a BTF object lives while a program or fd holds it", () => {
    const w = world();
    const fd = w.bpf.btfLoad(btfWithInt()).fd;
    const f = w.proc.file(fd);
    assert.ok(f?.kind === "btf");
    const id = f.btf.id;
    w.bpf.close(fd);
    assert.equal(w.kernel.btfs.get(id), undefined);
    assert.equal(
      errnoOf(() => w.bpf.close(fd)),
      Errno.EBADF,
    );
  });
});
