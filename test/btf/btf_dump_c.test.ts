/**
 * A whole BTF as C (dumpBtfC, `bpfsign btf dump --format c`): the model kernel's vmlinux BTF and,
 * where this machine has one, the running kernel's, printed in an order clang accepts; and the
 * add functions the model's BTF is built with round-trip through rawData/parse.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { BTF_KIND, Btf } from "../../src/btf/btf.js";
import { dumpBtfC } from "../../src/btf/btf_dump_c.js";
import { modelVmlinuxBtf } from "../../src/kernel/vmlinux_btf.js";

function tool(name: string): boolean {
  try {
    execFileSync(name, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const HAVE_CLANG = tool("clang");
const HOST_BTF = "/sys/kernel/btf/vmlinux";

/** Compiles `prog` against `header` for the BPF target; returns clang's errors ("" = ok). */
function compile(header: string, prog: string): string {
  const dir = mkdtempSync(join(tmpdir(), "bpfsign-btf-"));
  try {
    writeFileSync(join(dir, "vmlinux.h"), header);
    writeFileSync(join(dir, "p.c"), `#include "vmlinux.h"\n${prog}\n`);
    try {
      execFileSync("clang", ["-target", "bpf", "-O2", "-c", "p.c", "-o", "p.o"], {
        cwd: dir,
        stdio: ["ignore", "ignore", "pipe"],
      });
      return "";
    } catch (e) {
      return String((e as { stderr?: Buffer }).stderr ?? e);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const definedStructs = (c: string) =>
  new Set([...c.matchAll(/^(struct|union) (\w+) \{$/gm)].map((m) => `${m[1]} ${m[2]}`));

describe("dumpBtfC", () => {
  const model = dumpBtfC(modelVmlinuxBtf(), { vmlinuxHeader: true });

  test("the model's vmlinux.h: guard, pragma, dependencies before their users", () => {
    assert.match(model, /^#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n/);
    assert.match(model, /preserve_access_index/);
    const at = (s: string) => {
      const i = model.indexOf(s);
      assert.ok(i >= 0, `missing ${s}`);
      return i;
    };
    assert.ok(at("typedef unsigned int __u32;") < at("struct bpf_prog_aux {"));
    assert.ok(at("enum bpf_sig_verdict {") < at("struct bpf_prog_aux {"));
    assert.ok(at("struct bpf_prog_aux {") < at("struct bpf_prog {"));
    assert.match(model, /\tBPF_SIG_VERIFIED = 1,\n/);
    assert.match(model, /\tBPF_SIG_KEYRING_USER = 4,\n/);
    assert.match(
      model,
      /\tstruct \{\n\t\tenum bpf_sig_verdict verdict;\n\t\tenum bpf_sig_keyring keyring_type;\n\t\t__s32 keyring_serial;\n\t\} sig;/,
    );
    assert.match(model, /^union bpf_attr \{$/m);
  });

  test("the model's vmlinux.h compiles, and a program reads prog->aux->sig through it", {
    skip: HAVE_CLANG ? false : "clang is not installed",
  }, () => {
    assert.equal(
      compile(
        model,
        "int f(struct bpf_prog *p) { return p->aux->sig.verdict == BPF_SIG_VERIFIED; }",
      ),
      "",
    );
  });

  test("the running kernel's BTF dumps to a header clang accepts, with bpftool's set of structs", {
    skip: !existsSync(HOST_BTF)
      ? `${HOST_BTF} is absent`
      : !HAVE_CLANG
        ? "clang is not installed"
        : false,
  }, () => {
    const btf = Btf.parse(new Uint8Array(readFileSync(HOST_BTF)), HOST_BTF);
    const c = dumpBtfC(btf, { vmlinuxHeader: true });
    assert.equal(compile(c, "int f(struct task_struct *t) { return t->pid; }"), "");
    if (!tool("bpftool")) return;
    const ref = execFileSync("bpftool", ["btf", "dump", "file", HOST_BTF, "format", "c"], {
      maxBuffer: 1 << 30,
    }).toString();
    assert.deepEqual(definedStructs(c), definedStructs(ref));
  });

  test("the add functions round-trip: rawData parses back to the same types", () => {
    const b = Btf.empty("t");
    const int = b.addInt("int", 4, 1);
    const p = b.addRef(BTF_KIND.PTR, "", int);
    const arr = b.addArray(int, int, 3);
    const s = b.addComposite(BTF_KIND.STRUCT, "s", 24, [
      { name: "a", type: int, bitOffset: 0 },
      { name: "p", type: p, bitOffset: 64 },
      { name: "v", type: arr, bitOffset: 128 },
    ]);
    const e = b.addEnum("e", 4, [{ name: "E1", value: 7 }]);
    const fp = b.addFuncProto(int, [{ name: "x", type: p }]);
    b.addFunc("f", 1, fp);
    b.addRef(BTF_KIND.TYPEDEF, "s_t", s);
    b.addRef(BTF_KIND.FWD, "u", 1);
    const v = b.addVar("g", 1, int);
    b.addDatasec(".data", [{ type: v, offset: 0, size: 4 }]);
    const again = Btf.parse(b.rawData(), "again");
    assert.deepEqual(again.types, b.types);
    assert.equal(again.resolveSize(s), 24);
    assert.equal(again.typeById(e).kind, BTF_KIND.ENUM);
  });
});
