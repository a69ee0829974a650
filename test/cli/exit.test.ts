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
import { CertificateProfileError } from "../../src/crypto/certgen.js";
import { KeyLoadError } from "../../src/crypto/keys.js";
import { TrustedCertificateError } from "../../src/crypto/offline.js";
import {
  CertificateLoadError,
  KeyMismatchError,
  SignatureTooLargeError,
} from "../../src/crypto/sign.js";
import { UnsupportedArchError } from "../../src/host/arch.js";
import { HostDisposedError } from "../../src/host/backend.js";
import { HostLibraryError } from "../../src/host/libc.js";
import { NativeAllocError } from "../../src/host/memory.js";
import { InsnFormatError } from "../../src/insn/insn.js";
import { LoaderError, LoaderStep } from "../../src/loader/load_and_run.js";
import { SkeletonParseError, SkeletonWriteError } from "../../src/skeleton/errors.js";
import { BpfError, Errno } from "../../src/uapi/errno.js";
import {
  VmBudgetExceeded,
  VmCallDepthExceeded,
  VmError,
  VmFault,
  VmInvalidInsn,
  VmUnknownHelper,
} from "../../src/vm/errors.js";

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
    [Errno.ENOMEM, ExitCode.NOPERM],
    [Errno.ENOENT, ExitCode.NOPERM],
  ];
  for (const [errno, code] of table) {
    assert.equal(getExitCode({ kind: "error", error: new BpfError("BPF_PROG_LOAD", errno) }), code);
    assert.equal(
      getExitCode({ kind: "error", error: new LoaderError(LoaderStep.LOAD_PROG, errno) }),
      code,
    );
  }
});

test("every error class has a stable code, and each code has its documented exit", () => {
  const table: [Error & { code: string }, string, number][] = [
    // cli
    [new UsageError("x"), "CLI_USAGE", 64],
    [new RefusedError("x"), "CLI_REFUSED", 64],
    [new InputError("f", "certificate", "no such file"), "CLI_INPUT_UNREADABLE", 66],
    [new MalformedInputError("f", "header", "bad"), "CLI_MALFORMED_INPUT", 65],
    [new UnsupportedError("x"), "CLI_UNSUPPORTED", 69],
    [new OutputError("f", "ENOSPC"), "CLI_OUTPUT_UNWRITABLE", 73],
    // crypto
    [new KeyLoadError("k", "not-pem", "x"), "CRYPTO_KEY_NOT_PEM", 65],
    [new KeyLoadError("k", "malformed", "x"), "CRYPTO_KEY_MALFORMED", 65],
    [new KeyLoadError("k", "unsupported-key-type", "x"), "CRYPTO_KEY_UNSUPPORTED_TYPE", 69],
    [new KeyLoadError("k", "passphrase-required", "x"), "CRYPTO_KEY_PASSPHRASE_REQUIRED", 65],
    [new KeyLoadError("k", "wrong-passphrase", "x"), "CRYPTO_KEY_WRONG_PASSPHRASE", 65],
    [new KeyMismatchError("k", "c"), "CRYPTO_KEY_MISMATCH", 65],
    [new CertificateLoadError("c", "malformed", "x"), "CRYPTO_CERT_MALFORMED", 65],
    [new CertificateLoadError("c", "no-subject-key-id", "x"), "CRYPTO_CERT_NO_SUBJECT_KEY_ID", 65],
    [new CertificateProfileError("x"), "CRYPTO_CERT_PROFILE", 65],
    [new SignatureTooLargeError(5000, 4096), "CRYPTO_SIGNATURE_TOO_LARGE", 65],
    [new TrustedCertificateError(0, "ENOPKG", "x"), "CRYPTO_TRUSTED_CERT_ENOPKG", 69],
    [new TrustedCertificateError(1, "EBADMSG", "x"), "CRYPTO_TRUSTED_CERT_EBADMSG", 65],
    // skeleton
    [new SkeletonParseError("bad-escape", 1, 1, "x"), "SKELETON_BAD_ESCAPE", 65],
    [new SkeletonParseError("bad-wrap", 1, 1, "x"), "SKELETON_BAD_WRAP", 65],
    [
      new SkeletonParseError("unterminated-literal", 1, 1, "x"),
      "SKELETON_UNTERMINATED_LITERAL",
      65,
    ],
    [new SkeletonParseError("unexpected-text", 1, 1, "x"), "SKELETON_UNEXPECTED_TEXT", 65],
    [new SkeletonParseError("truncated", 1, 1, "x"), "SKELETON_TRUNCATED", 65],
    [new SkeletonParseError("inconsistent", 1, 1, "x"), "SKELETON_INCONSISTENT", 65],
    [new SkeletonParseError("unsupported", 1, 1, "x"), "SKELETON_UNSUPPORTED", 65],
    [new SkeletonWriteError("name", "x"), "SKELETON_BAD_VALUE", 65],
    // insn
    [new InsnFormatError("bad-length", "x"), "INSN_BAD_LENGTH", 65],
    [new InsnFormatError("out-of-bounds", "x"), "INSN_OUT_OF_BOUNDS", 65],
    [new InsnFormatError("bad-field", "x"), "INSN_BAD_FIELD", 65],
    // uapi / loader
    [new BpfError("BPF_PROG_LOAD", Errno.EACCES), "BPF_EACCES", 77],
    [new BpfError("BPF_PROG_LOAD", 999), "BPF_E999", 77],
    [new LoaderError(LoaderStep.LOAD_PROG, Errno.EKEYREJECTED), "BPF_EKEYREJECTED", 1],
    // vm: a program that stops abnormally is a bug of whoever ran it
    [new VmError(0, "x"), "VM_ERROR", 70],
    [new VmFault(0, 0n, 8, "read", "x"), "VM_FAULT", 70],
    [new VmBudgetExceeded(0, 10), "VM_BUDGET_EXCEEDED", 70],
    [new VmCallDepthExceeded(0, 9), "VM_CALL_DEPTH_EXCEEDED", 70],
    [new VmInvalidInsn(0, 0xff, "x"), "VM_INVALID_INSN", 70],
    [new VmUnknownHelper(0, 999), "VM_UNKNOWN_HELPER", 70],
    // host
    [new HostLibraryError("libc", "x"), "HOST_LIBRARY_UNAVAILABLE", 69],
    [new UnsupportedArchError("mips"), "HOST_UNSUPPORTED_ARCH", 69],
    [new NativeAllocError(8), "HOST_ALLOC_FAILED", 70],
    [new HostDisposedError("bpf"), "HOST_DISPOSED", 70],
  ];
  for (const [error, code, exit] of table) {
    assert.equal(error.code, code, error.name);
    assert.match(error.code, /^[A-Z][A-Z0-9_]*$/);
    assert.equal(getExitCode({ kind: "error", error }), exit, code);
  }
});

test("the object-file layers' codes (ELF_, BTF_, OBJECT_, GEN_) mean malformed input", () => {
  // Stand-ins for the error classes of src/elf, src/btf, src/object and src/gen: exit.ts decides
  // on the code alone, whatever the class.
  class StandIn extends Error {
    constructor(readonly code: string) {
      super(code);
    }
  }
  for (const code of ["ELF_TRUNCATED", "BTF_BAD_TYPE", "OBJECT_BAD_RELO", "GEN_TOO_MANY_MAPS"]) {
    assert.equal(getExitCode({ kind: "error", error: new StandIn(code) }), ExitCode.DATAERR, code);
    assert.equal(getExitCode({ kind: "error", error: { code } }), ExitCode.DATAERR, code);
  }
  // An unknown prefix, a non-string code and a Node system error are not classified.
  assert.equal(getExitCode({ kind: "error", error: new StandIn("SOMETHING_ELSE") }), 70);
  assert.equal(getExitCode({ kind: "error", error: { code: 65 } }), 70);
  assert.equal(
    getExitCode({ kind: "error", error: Object.assign(new Error("x"), { code: "ENOENT" }) }),
    70,
  );
  assert.equal(getExitCode({ kind: "error", error: null }), 70);
});

test("attack: 0 when every cell is as expected, ATTACK_UNEXPECTED (6) otherwise", () => {
  assert.equal(ExitCode.ATTACK_UNEXPECTED, 6);
  assert.equal(getExitCode({ kind: "attack", mismatches: 0 }), 0);
  assert.equal(getExitCode({ kind: "attack", mismatches: 3 }), 6);
  const used = Object.entries(ExitCode).filter(([k, v]) => v === 6 && k !== "ATTACK_UNEXPECTED");
  assert.deepEqual(used, [], "6 means nothing else");
});

test("codeOf: a string code property, else null (audit's batch lines use it too)", async () => {
  const { codeOf } = await import("../../src/cli/exit.js");
  assert.equal(codeOf(new OutputError("f", "ENOSPC")), "CLI_OUTPUT_UNWRITABLE");
  assert.equal(codeOf({ code: 7 }), null);
  assert.equal(codeOf("x"), null);
  assert.equal(codeOf(null), null);
});
