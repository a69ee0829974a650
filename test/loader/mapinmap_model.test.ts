/**
 * The corpus object mapinmap (bpf/gen/mapinmap.bpf.c): its light skeletons, signed and unsigned,
 * load on the model, and the program's two-level lookups (outer map, then the inner map the slot
 * holds) run. Hand-written programs over the same maps check the verifier's map-in-map rules
 * against the host when the host can run them.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  alu64Imm,
  call,
  exit,
  jmpImm,
  ldMapFd,
  mov64Imm,
  mov64Reg,
  stMem,
} from "../../src/insn/builder.js";
import { encodeInsns } from "../../src/insn/index.js";
import { AluOp, JmpOp, Size } from "../../src/insn/opcode.js";
import { type LoadedSkeleton, loadAndRun } from "../../src/loader/load_and_run.js";
import { parseLightSkeleton } from "../../src/skeleton/index.js";
import type { BpfBackend } from "../../src/uapi/backend.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, MapType, ProgType } from "../../src/uapi/constants.js";
import { BpfError } from "../../src/uapi/errno.js";
import { createModelKernel } from "../../src/vm/index.js";
import { vectorKeyFiles } from "../support/cms.js";
import { hostSession, hostSkip } from "../support/host.js";
import { REPO_ROOT } from "../support/vectors.js";

const skeleton = (signed: boolean) =>
  parseLightSkeleton(
    readFileSync(
      join(REPO_ROOT, "test/fixtures/gen", `mapinmap${signed ? ".signed" : ""}.lskel.h`),
      "utf8",
    ),
  );

function modelSession(): BpfBackend {
  const proc = createModelKernel({ profile: "v2" }).spawn();
  const bpf = new Bpf(proc);
  bpf.keyringId(KeySpec.SESSION_KEYRING, true);
  bpf.addKey("asymmetric", "", vectorKeyFiles("rsa2048").certDer, KeySpec.SESSION_KEYRING);
  return proc;
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const fdOf = (l: LoadedSkeleton, name: string) => {
  const m = l.maps.find((x) => x.name === name);
  assert.ok(m, `map ${name}`);
  return m.fd;
};

/** A packet of `len` bytes (skb->len selects the slot: len & 2). */
const packet = (len: number) => new Uint8Array(len).map((_, i) => i);

/** Runs pick_table on packets and reads the counters the inner maps hold. */
function exercise(backend: BpfBackend, l: LoadedSkeleton) {
  const bpf = new Bpf(backend);
  const prog = l.progs.find((p) => p.name === "pick_table");
  assert.ok(prog);
  const run = (len: number) => bpf.progTestRun({ prog_fd: prog.fd, data_in: packet(len) }).retval;
  const counter = (name: string) =>
    new DataView(bpf.mapLookup(fdOf(l, name), u32(0), 4).buffer).getUint32(0, true);
  const out: Record<string, number> = {};
  out.run64 = run(64); // slot 0: table_a
  out.run66 = run(66); // slot 2: table_b
  out.run70 = run(70); // slot 2
  // the outer array's slots hold map ids from userspace's side
  out.slot0IsA = Number(
    new DataView(bpf.mapLookup(fdOf(l, "tables"), u32(0), 4).buffer).getUint32(0, true) ===
      bpf.mapInfo(fdOf(l, "table_a")).id,
  );
  // a hash map matching by_id's template, put in at key 0: the last lookup finds it
  const inner = bpf.mapCreate({
    map_type: MapType.HASH,
    key_size: 4,
    value_size: 8,
    max_entries: 8,
  });
  bpf.mapUpdate(fdOf(l, "by_id"), u32(0), u32(inner));
  out.runWithById = run(64);
  bpf.mapDelete(fdOf(l, "by_id"), u32(0));
  bpf.close(inner);
  out.table_a = counter("table_a");
  out.table_b = counter("table_b");
  return out;
}

const EXPECTED = {
  run64: 0,
  run66: 0,
  run70: 0,
  slot0IsA: 1,
  runWithById: 1,
  table_a: 2,
  table_b: 2,
};

describe("mapinmap on the model", () => {
  for (const signed of [false, true])
    test(`the ${signed ? "signed" : "unsigned"} skeleton loads and its program looks up through the outer maps`, () => {
      const backend = modelSession();
      const l = loadAndRun(backend, skeleton(signed), {
        keyringId: signed ? KeySpec.SESSION_KEYRING : 0,
      });
      try {
        assert.deepEqual(exercise(backend, l), EXPECTED);
      } finally {
        l.close();
      }
    });
});

test("mapinmap on the host computes the same", { skip: hostSkip("syscallProg") }, () => {
  const h = hostSession();
  try {
    const s = skeleton(true);
    const l = loadAndRun(h.backend, { ...s, signature: null });
    try {
      assert.deepEqual(exercise(h.backend, l), EXPECTED);
    } finally {
      l.close();
    }
  } finally {
    h.dispose();
  }
});

/** Programs over the outer array `tables` (fd): each is loaded, or refused with a log. */
const PROGRAMS = {
  /** The outer lookup's result passed to a second lookup without a null check. */
  noNullCheck: (fd: number) => [
    stMem(Size.W, 10, -4, 0),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -4),
    ...ldMapFd(1, fd),
    call(1),
    mov64Reg(1, 0),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -4),
    call(1),
    mov64Imm(0, 0),
    exit(),
  ],
  /** The same with the null check: the inner lookup's value is read (inner value_size 4). */
  nullChecked: (fd: number) => [
    stMem(Size.W, 10, -4, 0),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -4),
    ...ldMapFd(1, fd),
    call(1),
    jmpImm(JmpOp.JEQ, 0, 0, 7),
    mov64Reg(1, 0),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -4),
    call(1),
    jmpImm(JmpOp.JEQ, 0, 0, 2),
    stMem(Size.W, 0, 0, 0),
    jmpImm(JmpOp.JA, 0, 0, 0),
    mov64Imm(0, 0),
    exit(),
  ],
  /**
   * Writing past the inner map's value (value_size 4): the inner template's sizes apply (the
   * constant key 0 of an array makes the value non-null, so the access is checked as a range).
   */
  innerOutOfBounds: (fd: number) => [
    stMem(Size.W, 10, -4, 0),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -4),
    ...ldMapFd(1, fd),
    call(1),
    jmpImm(JmpOp.JEQ, 0, 0, 6),
    mov64Reg(1, 0),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -4),
    call(1),
    jmpImm(JmpOp.JEQ, 0, 0, 1),
    stMem(Size.W, 0, 4, 0),
    mov64Imm(0, 0),
    exit(),
  ],
  /** An outer map is only looked up: updating it from a program is refused. */
  updateOuter: (fd: number) => [
    stMem(Size.W, 10, -4, 0),
    mov64Reg(2, 10),
    alu64Imm(AluOp.ADD, 2, -4),
    mov64Reg(3, 10),
    alu64Imm(AluOp.ADD, 3, -4),
    mov64Imm(4, 0),
    ...ldMapFd(1, fd),
    call(2),
    mov64Imm(0, 0),
    exit(),
  ],
};

type Outcome = { ok: true } | { ok: false; errno: string; last: string };

function tryPrograms(backend: BpfBackend, l: LoadedSkeleton): Record<string, Outcome> {
  const bpf = new Bpf(backend);
  const out: Record<string, Outcome> = {};
  for (const [name, make] of Object.entries(PROGRAMS)) {
    try {
      const p = bpf.progLoad({
        prog_type: ProgType.SOCKET_FILTER,
        insns: encodeInsns(make(fdOf(l, "tables"))),
        license: "GPL",
        log_size: 65536,
      });
      bpf.close(p.fd);
      out[name] = { ok: true };
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      const lines = e.log.split("\n").filter((x) => x && !x.startsWith("processed"));
      out[name] = { ok: false, errno: e.errnoName, last: lines.at(-1) ?? "" };
    }
  }
  return out;
}

/**
 * The instruction lines of the level-2 log of nullChecked (the ld_imm64 left out: the model
 * shows map_fd[N] where the host prints the map's kernel address).
 */
function nullCheckedTrace(backend: BpfBackend, l: LoadedSkeleton): string[] {
  const bpf = new Bpf(backend);
  const p = bpf.progLoad({
    prog_type: ProgType.SOCKET_FILTER,
    insns: encodeInsns(PROGRAMS.nullChecked(fdOf(l, "tables"))),
    license: "GPL",
    log_size: 1 << 16,
    log_level: 2,
  });
  bpf.close(p.fd);
  return p.log.split("\n").filter((x) => /^\d+: \(/.test(x) && !x.includes("(18)"));
}

const REFUSALS: Record<string, Outcome> = {
  noNullCheck: { ok: false, errno: "EACCES", last: "R1 type=map_value_or_null expected=map_ptr" },
  nullChecked: { ok: true },
  innerOutOfBounds: {
    ok: false,
    errno: "EACCES",
    last: "R0 min value is outside of the allowed memory range",
  },
  updateOuter: {
    ok: false,
    errno: "EINVAL",
    last: "cannot pass map_type 12 into func bpf_map_update_elem#2",
  },
};

test("map-in-map verifier rules on the model", () => {
  const backend = modelSession();
  const l = loadAndRun(backend, skeleton(false));
  try {
    assert.deepEqual(tryPrograms(backend, l), REFUSALS);
    // the outer value is a map_value_or_null of the outer map; after the null check a map_ptr
    // to the inner map template (which has no name) whose lookup gives its 4-byte value
    const trace = nullCheckedTrace(backend, l).join("\n");
    assert.match(
      trace,
      /call bpf_map_lookup_elem#1 +; R0=map_value_or_null\(id=1,map=tables,ks=4,vs=4\)/,
    );
    assert.match(trace, /if r0 == 0x0 goto pc\+7 +; R0=map_ptr\(ks=4,vs=4\)\n/);
    assert.match(trace, /10: \(85\) call bpf_map_lookup_elem#1 +; R0=map_value\(ks=4,vs=4\)\n/);
  } finally {
    l.close();
  }
});

test("map-in-map verifier rules on the host agree", { skip: hostSkip("syscallProg") }, () => {
  const h = hostSession();
  try {
    const l = loadAndRun(h.backend, { ...skeleton(true), signature: null });
    const m = modelSession();
    const ml = loadAndRun(m, skeleton(false));
    try {
      assert.deepEqual(tryPrograms(h.backend, l), REFUSALS);
      assert.deepEqual(nullCheckedTrace(m, ml), nullCheckedTrace(h.backend, l));
    } finally {
      ml.close();
      l.close();
    }
  } finally {
    h.dispose();
  }
});
