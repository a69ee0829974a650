import assert from "node:assert/strict";
import { test } from "node:test";
import {
  InputError,
  MalformedInputError,
  OutputError,
  RefusedError,
  UnsupportedError,
  UsageError,
} from "../../src/cli/errors.js";
import { ExitCode, getExitCode, type VerifyResultName } from "../../src/cli/exit.js";
import { LoaderError, LoaderStep } from "../../src/loader/load_and_run.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";

test("verification results map to the documented codes", () => {
  const table: [VerifyResultName, number][] = [
    ["VERIFIED", 0],
    ["BAD_SIGNATURE", 1],
    ["UNTRUSTED", 2],
    ["UNSIGNED", 3],
    ["EXCL_HASH_MISMATCH", 4],
    ["MALFORMED", 65],
    ["UNSUPPORTED", 69],
  ];
  for (const [result, code] of table)
    assert.equal(getExitCode({ kind: "verify", result }), code, result);
  assert.equal(getExitCode({ kind: "ok" }), 0);
});

test("error classes map to sysexits codes", () => {
  const table: [unknown, number][] = [
    [new UsageError("x"), 64],
    [new RefusedError("x"), 64],
    [new InputError("f", "certificate", "no such file"), 66],
    [new MalformedInputError("f", "light skeleton", "bad escape"), 65],
    [new UnsupportedError("x"), 69],
    [new OutputError("f", "ENOSPC"), 73],
    [new TypeError("bug"), 70],
    ["a thrown string", 70],
  ];
  for (const [error, code] of table)
    assert.equal(getExitCode({ kind: "error", error }), code, String(error));
});

test("kernel errnos of a failed load map onto the verification classes", () => {
  const table: [number, number][] = [
    [Errno.EKEYREJECTED, ExitCode.BAD_SIGNATURE],
    [Errno.ENOKEY, ExitCode.UNTRUSTED],
    [Errno.EBADMSG, ExitCode.DATAERR],
    [Errno.EINVAL, ExitCode.DATAERR],
    [Errno.ENOPKG, ExitCode.UNAVAILABLE],
    [Errno.EOPNOTSUPP, ExitCode.UNAVAILABLE],
    [Errno.EPERM, ExitCode.NOPERM],
    [Errno.EACCES, ExitCode.NOPERM],
    [Errno.ENOMEM, ExitCode.SOFTWARE],
  ];
  for (const [errno, code] of table) {
    assert.equal(getExitCode({ kind: "error", error: new BpfError("BPF_PROG_LOAD", errno) }), code);
    assert.equal(
      getExitCode({ kind: "error", error: new LoaderError(LoaderStep.LOAD_PROG, errno) }),
      code,
    );
  }
});
