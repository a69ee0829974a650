import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  BTF_FUNC_EXTERN,
  BTF_FUNC_GLOBAL,
  BTF_INT_BOOL,
  BTF_INT_SIGNED,
  BTF_KIND,
  BTF_VAR_GLOBAL_ALLOCATED,
  BTF_VAR_GLOBAL_EXTERN,
  Btf,
  type BtfType,
} from "../../src/btf/btf.js";
import { parseElf } from "../../src/elf/elf.js";
import { clangMissing, compileBpfC, fixture, fixturePath } from "../elf/tools.js";
import { REPO_ROOT } from "../support/vectors.js";
import { expectBtfError } from "./expect.js";
import { applyGenFixups } from "./libbpf_fixups.js";
import { oracleMissing, runOracle } from "./oracle.js";
import { SCENARIO_OBJECTS, SCENARIOS } from "./scenarios.js";

function btfOf(path: string): { elf: ReturnType<typeof parseElf>; bytes: Uint8Array; btf: Btf } {
  const elf = parseElf(fixture(path), path);
  const bytes = elf.sectionByName(".BTF")!.data;
  return { elf, bytes, btf: Btf.parse(bytes, path) };
}

function byName<K extends BtfType["kind"]>(
  btf: Btf,
  name: string,
  kind: K,
): Extract<BtfType, { kind: K }> {
  const id = btf.findByName(name, kind);
  assert.ok(id > 0, `${name} not found`);
  return btf.typeById(id) as Extract<BtfType, { kind: K }>;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("Btf.parse on clang output", () => {
  test("externs: kinds, linkage, kfunc params, DATASECs as clang leaves them", () => {
    const { btf } = btfOf("btf/externs.bpfel.o");
    assert.equal(btf.littleEndian, true);
    assert.equal(btf.types[0].kind, BTF_KIND.UNKN);
    const ksyms = byName(btf, ".ksyms", BTF_KIND.DATASEC);
    assert.equal(ksyms.size, 0);
    assert.deepEqual(
      ksyms.vars.map((v) => btf.typeById(v.type).name),
      ["bpf_rcu_read_lock", "bpf_kfunc_two", "bpf_prog_active", "bpf_link_fops"],
    );
    const kfunc = byName(btf, "bpf_kfunc_two", BTF_KIND.FUNC);
    assert.equal(kfunc.linkage, BTF_FUNC_EXTERN);
    const proto = btf.typeById(kfunc.type);
    assert.equal(proto.kind, BTF_KIND.FUNC_PROTO);
    if (proto.kind !== BTF_KIND.FUNC_PROTO) return;
    assert.deepEqual(
      proto.params.map((p) => p.nameOff),
      [0, 0],
    );
    assert.equal(btf.typeById(proto.returnType).name, "int");
    const hz = byName(btf, "CONFIG_HZ", BTF_KIND.VAR);
    assert.equal(hz.linkage, BTF_VAR_GLOBAL_EXTERN);
    assert.equal(btf.resolveSize(hz.type), 8);
    const bool = byName(btf, "_Bool", BTF_KIND.INT);
    assert.equal(bool.encoding, BTF_INT_BOOL);
    assert.equal(bool.bits, 8);
    const fops = byName(btf, "bpf_link_fops", BTF_KIND.VAR);
    const c = btf.typeById(fops.type);
    assert.ok(c.kind === BTF_KIND.CONST && c.type === 0, "const void");
    assert.equal(byName(btf, "task_view", BTF_KIND.STRUCT).members.length, 3);
  });

  test("dump_vars: bitfields with kind_flag, type/decl tags, floats, enums, anonymous types", () => {
    const { btf } = btfOf("btf/dump_vars.bpfel.o");
    const anon = btf.typeById(byName(btf, "d_anon", BTF_KIND.VAR).type);
    assert.equal(anon.kind, BTF_KIND.STRUCT);
    if (anon.kind !== BTF_KIND.STRUCT) return;
    assert.equal(anon.kflag, true);
    const flag = anon.members.find((m) => m.name === "flag")!;
    const mode = anon.members.find((m) => m.name === "mode")!;
    assert.equal(flag.bitfieldSize, 1);
    assert.equal(mode.bitfieldSize, 3);
    assert.equal(mode.bitOffset, flag.bitOffset + 1);
    const tag = btf.types.find((t) => t.kind === BTF_KIND.TYPE_TAG);
    assert.ok(tag && tag.name === "user" && tag.kind === BTF_KIND.TYPE_TAG && !tag.kflag);
    const decl = btf.types.find((t) => t.kind === BTF_KIND.DECL_TAG);
    assert.ok(decl && decl.kind === BTF_KIND.DECL_TAG && decl.name === "tagged");
    assert.equal(decl.componentIdx, -1);
    assert.equal(btf.typeById(decl.type).name, "d_tagged");
    assert.equal(byName(btf, "float", BTF_KIND.FLOAT).size, 4);
    assert.equal(byName(btf, "double", BTF_KIND.FLOAT).size, 8);
    const color = byName(btf, "color", BTF_KIND.ENUM);
    assert.deepEqual(
      color.values.map((v) => [v.name, v.value]),
      [
        ["RED", 0],
        ["GREEN", 5],
        ["BLUE", color.signed ? -1 : 0xffffffff],
      ],
    );
    assert.equal(byName(btf, "small", BTF_KIND.ENUM).size, 1);
    assert.equal(byName(btf, "big", BTF_KIND.ENUM).size, 8);
    assert.equal(byName(btf, "__int128", BTF_KIND.INT).size, 16);
  });

  test("a big-endian object decodes to the same types", () => {
    for (const name of ["btf/externs", "elf/global_data"]) {
      const le = btfOf(`${name}.bpfel.o`).btf;
      const be = btfOf(`${name}.bpfeb.o`).btf;
      assert.equal(be.littleEndian, false);
      assert.deepEqual(be.types, le.types);
    }
  });

  test("queries: findByName, resolveSize, alignOf, skipModsAndTypedefs", () => {
    const { btf } = btfOf("btf/dump_vars.bpfel.o");
    assert.equal(btf.findByName("void"), 0);
    assert.equal(btf.findByName("point", BTF_KIND.UNKN), 0);
    assert.equal(btf.findByName("nope"), -1);
    assert.equal(btf.findByName("point", BTF_KIND.TYPEDEF), -1);
    const point = btf.findByName("point", BTF_KIND.STRUCT);
    assert.equal(btf.findByName("point"), point);
    const varType = (n: string) => byName(btf, n, BTF_KIND.VAR).type;
    const sizes: [string, number, number][] = [
      ["d_point", 8, 4],
      ["d_matrix", 24, 4],
      ["d_ptr", 8, 8],
      ["d_fn", 8, 8],
      ["d_name", 16, 1],
      ["d_u128", 16, 8],
      ["d_packed", 5, 1],
      ["d_aligned", 32, 8],
      ["b_counts", 192, 8],
      ["r_msg", 8, 1],
      ["d_small", 1, 1],
    ];
    for (const [name, size, align] of sizes) {
      assert.equal(btf.resolveSize(varType(name)), size, `size of ${name}`);
      assert.equal(btf.alignOf(varType(name)), align, `align of ${name}`);
    }
    // a VAR resolves through to its type; void and functions do not resolve
    assert.equal(btf.resolveSize(byName(btf, "d_point", BTF_KIND.VAR).id), 8);
    assert.equal(btf.resolveSize(0), -22);
    assert.equal(btf.resolveSize(byName(btf, "dump_vars", BTF_KIND.FUNC).id), -22);
    assert.equal(btf.alignOf(byName(btf, "dump_vars", BTF_KIND.FUNC).id), 0);
    const ro = btf.skipModsAndTypedefs(varType("r_int"));
    assert.equal(ro.kind, BTF_KIND.INT);
    assert.equal(btf.skipModsAndTypedefs(varType("d_point_t")).id, point);
    expectBtfError(
      () => btf.typeById(btf.typeCount),
      "BTF_BAD_TYPE_ID",
      `type id ${btf.typeCount}`,
    );
    expectBtfError(() => btf.nameOf(1 << 20), "BTF_BAD_NAME");
  });
});

describe("this machine's kernel BTF", () => {
  test("/sys/kernel/btf/vmlinux parses, serialises to itself, answers queries", (t) => {
    const path = "/sys/kernel/btf/vmlinux";
    if (!existsSync(path))
      return t.skip(`${path} not present (kernel without CONFIG_DEBUG_INFO_BTF)`);
    const bytes = new Uint8Array(readFileSync(path));
    const start = performance.now();
    const btf = Btf.parse(bytes, "vmlinux");
    t.diagnostic(
      `${btf.typeCount} types, ${bytes.length} bytes parsed in ${(performance.now() - start).toFixed(0)} ms`,
    );
    assert.ok(btf.typeCount > 1000);
    assert.deepEqual(Buffer.from(btf.rawData()), Buffer.from(bytes));
    const task = btf.findByName("task_struct", BTF_KIND.STRUCT);
    assert.ok(task > 0);
    assert.ok(btf.resolveSize(task) > 1000);
    assert.equal(btf.alignOf(btf.findByName("u64", BTF_KIND.TYPEDEF)), 8);
  });
});

describe("rawData matches libbpf's btf__raw_data", () => {
  const digests = JSON.parse(
    readFileSync(fixturePath("btf/libbpf_raw_data.json"), "utf8"),
  ) as Record<string, { sha256: string; length: number; returned: number[] }>;
  for (const obj of SCENARIO_OBJECTS) {
    for (const sc of SCENARIOS) {
      const key = `${obj} | ${sc.name}`;
      test(`${key} (committed libbpf digest)`, () => {
        const { elf, btf } = btfOf(obj);
        const { returned } = sc.run(elf, btf);
        const raw = btf.rawData();
        const want = digests[key];
        assert.ok(want, `no digest for ${key}`);
        assert.equal(raw.length, want.length);
        assert.equal(sha256(raw), want.sha256);
        assert.deepEqual(returned, want.returned);
      });
      test(`${key} (live libbpf oracle)`, (t) => {
        const why = oracleMissing();
        if (why) return t.skip(why);
        const { elf, bytes, btf } = btfOf(obj);
        const { ops, returned } = sc.run(elf, btf);
        const { raw, printed } = runOracle(bytes, ops);
        assert.deepEqual(returned, printed);
        assert.deepEqual(Buffer.from(btf.rawData()), Buffer.from(raw));
      });
    }
  }

  for (const src of [
    "bpf/const_ret",
    "bpf/array_count",
    "bpf/global_data",
    "test/fixtures/btf/externs",
    "test/fixtures/btf/dump_vars",
  ]) {
    for (const target of ["bpfel", "bpfeb"] as const) {
      test(`${src}.bpf.c built now (${target}): every scenario equals the live oracle`, (t) => {
        const why = clangMissing() ?? oracleMissing();
        if (why) return t.skip(why);
        const obj = compileBpfC(join(REPO_ROOT, `${src}.bpf.c`), target);
        for (const sc of SCENARIOS) {
          const elf = parseElf(new Uint8Array(readFileSync(obj)), obj);
          const bytes = elf.sectionByName(".BTF")!.data;
          const btf = Btf.parse(bytes, obj);
          const { ops, returned } = sc.run(elf, btf);
          const { raw, printed } = runOracle(bytes, ops);
          assert.deepEqual(returned, printed, sc.name);
          assert.deepEqual(Buffer.from(btf.rawData()), Buffer.from(raw), sc.name);
        }
      });
    }
  }

  test("an untouched BTF serialises to its input bytes, either byte order", () => {
    for (const obj of SCENARIO_OBJECTS) {
      const { bytes, btf } = btfOf(obj);
      assert.deepEqual(Buffer.from(btf.rawData()), Buffer.from(bytes), obj);
    }
  });

  test("gen-mode fix-ups on externs: what changed", () => {
    const { elf, btf } = btfOf("btf/externs.bpfel.o");
    applyGenFixups(elf, btf);
    assert.equal(btf.isModified, true);
    const dummy = byName(btf, "dummy_ksym", BTF_KIND.VAR);
    assert.equal(dummy.id, btf.typeCount - 1);
    assert.equal(dummy.linkage, BTF_VAR_GLOBAL_ALLOCATED);
    // find_int_btf_id takes the first 32-bit INT, signed or not
    const int32 = btf.types.find((t) => t.kind === BTF_KIND.INT && t.bits === 32)!;
    assert.equal(dummy.type, int32.id);
    assert.equal(int32.name, "unsigned int");
    const ksyms = byName(btf, ".ksyms", BTF_KIND.DATASEC);
    assert.equal(ksyms.size, 16);
    assert.deepEqual(
      ksyms.vars.map((v) => [btf.typeById(v.type).name, v.offset, v.size]),
      [
        ["dummy_ksym", 0, 4],
        ["dummy_ksym", 4, 4],
        ["bpf_prog_active", 8, 4],
        ["bpf_link_fops", 12, 4],
      ],
    );
    assert.equal(byName(btf, "bpf_rcu_read_lock", BTF_KIND.FUNC).linkage, BTF_FUNC_GLOBAL);
    const two = byName(btf, "bpf_kfunc_two", BTF_KIND.FUNC);
    const proto = btf.typeById(two.type);
    assert.ok(proto.kind === BTF_KIND.FUNC_PROTO);
    assert.deepEqual(
      proto.params.map((p) => p.name),
      ["dummy_ksym", "dummy_ksym"],
    );
    const kconfig = byName(btf, ".kconfig", BTF_KIND.DATASEC);
    // sorted by alignment (desc), size (asc), name: CONFIG_HZ(8), LINUX_KERNEL_VERSION(4),
    // CONFIG_BPF_SYSCALL(1), CONFIG_DEFAULT_HOSTNAME(16 x char)
    assert.deepEqual(
      kconfig.vars.map((v) => [btf.typeById(v.type).name, v.offset]),
      [
        ["CONFIG_HZ", 0],
        ["LINUX_KERNEL_VERSION", 8],
        ["CONFIG_BPF_SYSCALL", 12],
        ["CONFIG_DEFAULT_HOSTNAME", 13],
      ],
    );
    assert.equal(kconfig.size, 29);
    const data = byName(btf, ".data", BTF_KIND.DATASEC);
    assert.equal(data.size, 16);
    assert.equal(byName(btf, "hidden_counter", BTF_KIND.VAR).linkage, 0);
    assert.equal(byName(btf, "hidden_sub", BTF_KIND.FUNC).linkage, 0);
    assert.deepEqual(
      data.vars.map((v) => v.offset),
      [...data.vars.map((v) => v.offset)].sort((a, b) => a - b),
    );
  });
});

describe("mutators", () => {
  test("refuse the wrong kind, a bad index, a bad referenced id", () => {
    const { btf } = btfOf("elf/global_data.bpfel.o");
    const data = btf.findByName(".data", BTF_KIND.DATASEC);
    const bias = btf.findByName("bias", BTF_KIND.VAR);
    expectBtfError(() => btf.setDatasecSize(bias, 1), "BTF_BAD_TYPE", "is var, not datasec");
    expectBtfError(() => btf.setVarSecinfoOffset(data, 2, 0), "BTF_BAD_TYPE", "no var_secinfo #2");
    expectBtfError(() => btf.setVarLinkage(data, 0), "BTF_BAD_TYPE");
    expectBtfError(() => btf.setFuncLinkage(bias, 0), "BTF_BAD_TYPE");
    expectBtfError(() => btf.setParamNameOff(bias, 0, 0), "BTF_BAD_TYPE");
    expectBtfError(() => btf.addVar("x", 1, btf.typeCount), "BTF_BAD_TYPE_ID");
    expectBtfError(() => btf.addVar("", 1, 0), "BTF_BAD_TYPE");
    expectBtfError(() => btf.addVar("x", 7, 0), "BTF_BAD_TYPE");
    expectBtfError(() => btf.addInt("i", 3, 0), "BTF_BAD_TYPE");
    expectBtfError(() => btf.addFunc("f", 3, 0), "BTF_BAD_TYPE");
    // nothing above changed the data
    assert.equal(btf.isModified, false);
  });

  test("addString compares bytes: distinct invalid UTF-8 names are not one string", () => {
    const bytes = btfOf("elf/global_data.bpfel.o").bytes.slice();
    const dv = new DataView(bytes.buffer);
    const strStart = 24 + dv.getUint32(16, true);
    // turn the names "int" and "tag" into "\xffnt" and "\xfeag"
    const btf0 = Btf.parse(bytes);
    const intOff = btf0.typeById(btf0.findByName("int")).nameOff;
    const tagOff = btf0.typeById(btf0.findByName("tag")).nameOff;
    bytes[strStart + intOff] = 0xff;
    bytes[strStart + tagOff] = 0xfe;
    const btf = Btf.parse(bytes);
    assert.equal(btf.nameOf(intOff), "\ufffdnt");
    const off = btf.addString("\ufffdnt");
    assert.notEqual(off, intOff);
    assert.equal(btf.addString("\ufffdnt"), off);
    assert.equal(btf.addString("bias"), btf.typeById(btf.findByName("bias")).nameOff);
  });

  test("in-place mutations keep the type objects current; ids of added types follow", () => {
    const { btf } = btfOf("elf/global_data.bpfel.o");
    const dataId = btf.findByName(".data", BTF_KIND.DATASEC);
    const data = btf.typeById(dataId);
    btf.setDatasecSize(dataId, 12);
    btf.setVarSecinfoOffset(dataId, 1, 8);
    assert.ok(data.kind === BTF_KIND.DATASEC);
    assert.equal(data.size, 12);
    assert.equal(data.vars[1].offset, 8);
    btf.setVarSecinfo(dataId, 0, { offset: 16, size: 4 });
    btf.sortDatasecVars(dataId);
    assert.deepEqual(
      data.vars.map((v) => [btf.typeById(v.type).name, v.offset]),
      [
        ["tag", 8],
        ["bias", 16],
      ],
    );
    assert.equal(btf.isModified, false);
    const n = btf.typeCount;
    assert.equal(btf.addInt("my_bool", 1, BTF_INT_BOOL), n);
    const added = btf.typeById(n);
    assert.ok(added.kind === BTF_KIND.INT && added.encoding === BTF_INT_BOOL && added.bits === 8);
    assert.equal(btf.addString("my_bool"), added.nameOff);
    assert.equal(btf.isModified, true);
    // the serialised result parses back to the same types
    const again = Btf.parse(btf.rawData());
    assert.deepEqual(again.types, btf.types);
    assert.equal(BTF_INT_SIGNED, 1);
  });
});
