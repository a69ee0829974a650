import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  digestZeroedImmOffsets,
  encodeInsns,
  exit,
  type Insn,
  InsnFormatError,
  ldBtfId,
  ldFunc,
  ldImm64,
  ldImm64Raw,
  ldMapFd,
  ldMapIdx,
  ldMapIdxValue,
  ldMapValue,
  mov64Imm,
  progDigest,
  progDigestInput,
  program,
  progTag,
  R0,
  R1,
  toHex,
} from "../../src/insn/index.js";
import { Pseudo } from "../../src/uapi/constants.js";
import { hex, PROGS, readVector, skipVectors, TARGETS, targetInsns } from "../support/vectors.js";

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function tagOf(insns: Insn[]): string {
  return toHex(progTag(progDigest(encodeInsns(insns))));
}

const tail = [mov64Imm(R0, 0), exit()];
const fd = fc.integer({ min: -0x80000000, max: 0x7fffffff });

// Tags the real kernel (Linux 6.18.44) reported for these programs: reference/real-kernel.md §2.
describe("program digest and tag match the kernel", () => {
  test("A: r0 = 0; exit", () => {
    assert.equal(tagOf(program(mov64Imm(R0, 0), exit())), "59f4a931744dcdc6");
  });

  test("B/B': a MAP_FD load hashes the same whatever the fd", () => {
    fc.assert(
      fc.property(fd, (n) => {
        assert.equal(tagOf(program(ldMapFd(R1, n), tail)), "0bd0168676c7c779");
      }),
    );
  });

  test("C: a MAP_VALUE load drops both the fd and the value offset", () => {
    fc.assert(
      fc.property(fd, fd, (n, off) => {
        assert.equal(tagOf(program(ldMapValue(R1, n, off), tail)), "28813e616f1f93d1");
      }),
    );
  });

  test("D/D2: a MAP_IDX index is hashed as it is", () => {
    assert.equal(tagOf(program(ldMapIdx(R1, 0), tail)), "6de516f40cf25b2c");
    assert.equal(tagOf(program(ldMapIdx(R1, 1), tail)), "a21f8a2c54979fac");
  });

  test("E: a plain 64-bit constant is hashed as it is", () => {
    assert.equal(tagOf(program(ldImm64Raw(R1, 0, 0x1234, 0x5678), tail)), "12811b8e56121a02");
    assert.equal(tagOf(program(ldImm64(R1, 0x0000567800001234n), tail)), "12811b8e56121a02");
  });

  test("the tag is the first 8 bytes of the 32-byte SHA-256 digest", () => {
    const bytes = encodeInsns(program(mov64Imm(R0, 0), exit()));
    const digest = progDigest(bytes);
    assert.equal(digest.byteLength, 32);
    assert.equal(toHex(digest), sha256(bytes));
    const tag = progTag(digest);
    assert.equal(tag.byteLength, 8);
    assert.deepEqual(tag, digest.subarray(0, 8));
    tag[0] ^= 0xff;
    assert.notEqual(tag[0], digest[0], "progTag returns a copy");
    assert.throws(() => progTag(new Uint8Array(7)), RangeError);
  });
});

describe("digest zeroing follows bpf_prog_calc_tag", () => {
  function zeroedSlots(insns: Insn[]): number[] {
    return digestZeroedImmOffsets(encodeInsns(insns)).map((at) => (at - 4) / 8);
  }

  test("MAP_FD and MAP_VALUE zero both slots' imm; other pseudo kinds zero nothing", () => {
    assert.deepEqual(zeroedSlots(program(ldMapFd(R1, 3), tail)), [0, 1]);
    assert.deepEqual(zeroedSlots(program(ldMapValue(R1, 3, 8), tail)), [0, 1]);
    for (const pair of [
      ldImm64(R1, -1n),
      ldMapIdx(R1, 2),
      ldMapIdxValue(R1, 2, 8),
      ldBtfId(R1, 77, 4),
      ldFunc(R1, 3),
    ]) {
      assert.deepEqual(zeroedSlots(program(pair, tail)), []);
      const bytes = encodeInsns(program(pair, tail));
      assert.equal(toHex(progDigest(bytes)), sha256(bytes));
    }
  });

  test("the second slot is zeroed only when it is a pure second half", () => {
    for (const patch of [{ off: 1 }, { dst: 1 }, { src: 1 }, { code: 0x05 }] as Partial<Insn>[]) {
      const [lo, hi] = ldMapValue(R1, 3, 8);
      assert.deepEqual(zeroedSlots([lo, { ...hi, ...patch }, ...tail]), [0]);
    }
  });

  test("a map load right after a map first half is not seen as a new map load", () => {
    // slot 1 is not a pure second half, so the state resets without zeroing it; slot 2
    // (a pure-looking slot) is then hashed raw as well
    const [lo1] = ldMapFd(R1, 3);
    const [lo2, hi2] = ldMapFd(R1, 4);
    assert.deepEqual(zeroedSlots([lo1, lo2, hi2, ...tail]), [0]);
  });

  test("every slot is examined, second halves included", () => {
    // a plain ld_imm64 whose high word happens to look like a MAP_FD first half: the kernel
    // loop does not skip second halves, so it treats slot 1 as a map load
    const lo = ldImm64(R1, 0n)[0];
    const fakeHi: Insn = { code: 0x18, dst: 0, src: Pseudo.MAP_FD, off: 0, imm: 9 };
    const hi: Insn = { code: 0, dst: 0, src: 0, off: 0, imm: 5 };
    assert.deepEqual(zeroedSlots([lo, fakeHi, hi, ...tail]), [1, 2]);
  });

  test("a MAP_FD first half as the last slot zeroes its own imm only", () => {
    assert.deepEqual(zeroedSlots([...tail, ldMapFd(R1, 3)[0]]), [2]);
  });

  test("progDigestInput: no copy when nothing changes, a zeroed copy otherwise", () => {
    const plain = encodeInsns(program(ldMapIdxValue(R1, 0, 16), tail));
    assert.equal(progDigestInput(plain), plain);
    const fd0 = encodeInsns(program(ldMapFd(R1, 0), tail));
    assert.equal(progDigestInput(fd0), fd0, "imm already zero: nothing to copy");

    const withFd = encodeInsns(program(ldMapValue(R1, 7, 8), tail));
    const before = hex(withFd);
    const input = progDigestInput(withFd);
    assert.notEqual(input, withFd);
    assert.equal(hex(withFd), before, "the caller's bytes are not modified");
    assert.equal(hex(input), hex(encodeInsns(program(ldMapValue(R1, 0, 0), tail))));
  });

  test("zeroing equals re-encoding with the map imms set to 0 (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.tuple(fd).map(([n]) => ldMapFd(R1, n)),
            fc.tuple(fd, fd).map(([n, o]) => ldMapValue(R1, n, o)),
            fc.tuple(fd).map(([n]) => ldMapIdx(R1, n)),
            fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => ldImm64(R1, v)),
            fc.constant([mov64Imm(R0, 1)]),
          ),
          { maxLength: 12 },
        ),
        (parts) => {
          const zeroed = parts.map((p) =>
            p.length === 2 && (p[0].src === Pseudo.MAP_FD || p[0].src === Pseudo.MAP_VALUE)
              ? [
                  { ...p[0], imm: 0 },
                  { ...p[1], imm: 0 },
                ]
              : p,
          );
          const bytes = encodeInsns(program(...parts, tail));
          assert.equal(hex(progDigestInput(bytes)), hex(encodeInsns(program(...zeroed, tail))));
        },
      ),
    );
  });

  test("a ragged length is refused", () => {
    assert.throws(
      () => progDigest(new Uint8Array(12)),
      (err: unknown) => err instanceof InsnFormatError && err.reason === "bad-length",
    );
  });
});

describe("digests of the vector loaders", { skip: skipVectors }, () => {
  for (const prog of PROGS) {
    test(`${prog}: digest of insns.signed.bin is excl_hash.bin, without any zeroing`, () => {
      const insns = readVector(prog, "insns.signed.bin");
      assert.equal(hex(progDigest(insns)), hex(readVector(prog, "excl_hash.bin")));
      assert.equal(progDigestInput(insns), insns);
      assert.equal(sha256(insns), hex(readVector(prog, "excl_hash.bin")));
    });

    test(`${prog}: the target program in data.bin has the tag the kernel reported`, () => {
      const { attrOff, insnCnt, tag } = TARGETS[prog];
      const data = readVector(prog, "data.bin");
      const attr = new DataView(data.buffer, data.byteOffset + attrOff, 8);
      assert.equal(attr.getUint32(0, true), 1, "prog_type SOCKET_FILTER");
      assert.equal(attr.getUint32(4, true), insnCnt, "insn_cnt");
      assert.equal(toHex(progTag(progDigest(targetInsns(prog)))), tag);
    });
  }

  test("prog_b/prog_d: the unsigned loader has another digest", () => {
    for (const prog of ["prog_b", "prog_d"] as const) {
      assert.notEqual(
        hex(progDigest(readVector(prog, "insns.unsigned.bin"))),
        hex(readVector(prog, "excl_hash.bin")),
      );
    }
    assert.equal(
      hex(progDigest(readVector("prog_a", "insns.unsigned.bin"))),
      hex(readVector("prog_a", "excl_hash.bin")),
    );
  });
});
