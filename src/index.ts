/**
 * bpfsign as a library: sign a light skeleton's loader, verify it offline with the kernel's rules,
 * read and write `.lskel.h` headers, and load it with `bpf_load_and_run()` on the model kernel or
 * on the host kernel.
 *
 * ```ts
 * import { createModelKernel, loadAndRun, parseLightSkeleton, signLoader, verifyOffline,
 *   writeSignedSkeleton } from "bpfsign";
 * ```
 *
 * Every export below is named (no re-export of whole modules) so that this file is the list of
 * what the package promises. Power users import a layer directly through a subpath:
 * "bpfsign/crypto", "bpfsign/skeleton", "bpfsign/insn", "bpfsign/kernel", "bpfsign/vm",
 * "bpfsign/loader", "bpfsign/host", "bpfsign/uapi", "bpfsign/gen", "bpfsign/object",
 * "bpfsign/btf", "bpfsign/elf", "bpfsign/policy", "bpfsign/scheme".
 */

// ---- signing and offline verification ----------------------------------------------------------

/**
 * Signing identities: {@link generateSigningIdentity} makes a key and a self-signed certificate
 * with the kernel selftests' profile (subject key id, digitalSignature, CA:FALSE), RSA-2048/3072
 * or ECDSA P-256/P-384.
 */
export {
  generateSigningIdentity,
  IDENTITY_TYPES,
  type IdentityType,
  type SigningIdentity,
} from "./crypto/certgen.js";
/**
 * Offline verification: {@link verifyOffline} checks a loader over the exact bytes the kernel
 * reconstructs (`insns || metadata`) against trusted certificates standing in for the keyring;
 * its report says what the kernel's load would do (`VERIFIED`, `BAD_SIGNATURE`, `UNTRUSTED`,
 * `UNSIGNED`, ...) and with which errno.
 */
export {
  type OfflineInput,
  type OfflineReport,
  type OfflineResult,
  verifyOffline,
} from "./crypto/offline.js";
/** {@link describeSignature}: the fields of a PKCS#7 signature (signers, algorithms, sizes). */
export { describeSignature, type SignatureDescription } from "./crypto/pkcs7.js";
/**
 * Signing: {@link signLoader} signs a loader as `bpftool gen skeleton -S` does, a detached CMS
 * over `insns || metadata` (SHA-256, signer by subject key id, no attributes, no certificates),
 * and returns the metadata map's `excl_prog_hash` (sha256 of the instructions) with it.
 * `MAX_SIG_SIZE` is the largest signature the kernel accepts.
 */
export {
  type CertInput,
  type KeyInput,
  MAX_SIG_SIZE,
  type SignedLoader,
  type SignLoaderInput,
  signLoader,
} from "./crypto/sign.js";
/** {@link loadCertificate}: an X.509 certificate (PEM or DER) parsed as the kernel's key type does. */
export { loadCertificate, type X509Certificate } from "./crypto/x509.js";

// ---- light skeletons (.lskel.h) ----------------------------------------------------------------

/**
 * {@link detectHostOverrides}: the host overrides a loader honours (map sizes and initial values
 * taken from the loading host, outside what a signature covers), as loaders generated without
 * `gen_hash` have.
 */
export { detectHostOverrides, type HostOverrideReport } from "./skeleton/overrides.js";
/**
 * {@link parseLightSkeleton}: a `.lskel.h` that bpftool wrote (Debian's 7.1 or the signing v2
 * format) read into its loader instructions, metadata blob, signature, maps and programs.
 */
export { parseLightSkeleton } from "./skeleton/reader.js";
/** A parsed light skeleton and its parts. */
export type {
  LightSkeleton,
  SkeletonMap,
  SkeletonMmap,
  SkeletonProg,
} from "./skeleton/skeleton.js";
/**
 * Writing headers as bpftool does: {@link writeSignedSkeleton} with a {@link SignedLoader}'s
 * bytes, {@link writeUnsignedSkeleton}, or {@link writeLightSkeleton} as described;
 * {@link loaderExclHash} is sha256 of the loader instructions.
 */
export {
  loaderExclHash,
  writeLightSkeleton,
  writeSignedSkeleton,
  writeUnsignedSkeleton,
} from "./skeleton/writer.js";

// ---- the model kernel --------------------------------------------------------------------------

/**
 * The model kernel without the interpreter ({@link createModelKernel} is the one that runs
 * programs); `kernel.spawn()` gives a process, which is a {@link BpfBackend}.
 */
export { type KernelOptions, ModelKernel } from "./kernel/kernel.js";
/** The model kernel's LSM hook list: register a module to see or refuse BPF operations. */
export type { Lsm, LsmModule } from "./kernel/lsm.js";
/** A process of the model kernel: a bpf() caller with its own memory and keyrings. */
export type { ModelProcess } from "./kernel/process.js";
/** Kernel profiles: `"v2"` (the signing series, the default) and `"mainline-6.18"`. */
export { type KernelProfile, type ProfileName, profile } from "./kernel/profile.js";
/** {@link VerdictRecorder}: an LSM module that records the verdict of each signed load. */
export { type RecordedVerdict, VerdictRecorder } from "./lsm/verdict_recorder.js";
/**
 * {@link createModelKernel}: a model kernel whose programs run on the eBPF interpreter — what
 * everything above the kernel uses.
 */
export { createModelKernel } from "./vm/index.js";

// ---- loading -----------------------------------------------------------------------------------

/** {@link describeInstalled}: the installed maps and programs of a load (types, sizes, tags). */
export {
  describeInstalled,
  type Installed,
  type InstalledMap,
  type InstalledProg,
} from "./loader/installed.js";
/**
 * {@link loadAndRun}: runs a light skeleton's loader as the skeleton's `__load()` does
 * (`bpf_load_and_run()`) on any backend and returns what it installed; a failed step throws a
 * {@link LoaderError}.
 */
export {
  type LoadAndRunOptions,
  type LoadedMap,
  type LoadedSkeleton,
  LoaderError,
  loadAndRun,
} from "./loader/load_and_run.js";

// ---- backends and the typed bpf() client -------------------------------------------------------

/** {@link HostBackend}: the host kernel, the real `bpf(2)`, `keyctl(2)` and `mmap(2)` through koffi. */
export { HostBackend } from "./host/backend.js";
/** {@link probeHost}: what the running kernel supports (signature verification, key types, ...). */
export { type HostCapabilities, probeHost } from "./host/probe.js";
/** A kernel as a `bpf()` entry point with process memory: a model process or the host. */
export type { BpfBackend } from "./uapi/backend.js";
/**
 * {@link Bpf}: the typed `bpf()` client over any backend (map and program commands,
 * `BPF_PROG_TEST_RUN`, info queries, keys); a failed call throws a {@link BpfError}.
 */
export {
  Bpf,
  type MapCreateOptions,
  type ProgLoadOptions,
  type ProgLoadResult,
  type TestRunOptions,
  type TestRunResult,
} from "./uapi/bpf.js";
/** The uapi numbers: commands, map and program types, key specs, limits, verdicts. */
export { BpfCmd, KeySpec, Limits, MapType, ProgType, SigVerdict } from "./uapi/constants.js";

// ---- errors ------------------------------------------------------------------------------------

/** A certificate profile {@link generateSigningIdentity} cannot make. */
export { CertificateProfileError } from "./crypto/certgen.js";
/** A private key that cannot be loaded (format, passphrase, type). */
export { KeyLoadError } from "./crypto/keys.js";
/** A trusted certificate given to {@link verifyOffline} that cannot be used. */
export { TrustedCertificateError } from "./crypto/offline.js";
/** Signing failures: an unusable certificate, a key that does not match it, a signature too big. */
export {
  CertificateLoadError,
  KeyMismatchError,
  SignatureTooLargeError,
} from "./crypto/sign.js";
/** The host backend has no system call numbers for this CPU architecture. */
export { UnsupportedArchError } from "./host/arch.js";
/** A call on a {@link HostBackend} after `dispose()`. */
export { HostDisposedError } from "./host/backend.js";
/** The host backend cannot reach libc's system calls here (koffi missing or failing). */
export { HostLibraryError } from "./host/libc.js";
/** Bytes that are not whole, well-formed BPF instructions. */
export { InsnFormatError } from "./insn/insn.js";
/** A header that is not a light skeleton bpfsign can read, or a skeleton it cannot write. */
export { SkeletonParseError, SkeletonWriteError } from "./skeleton/errors.js";
/**
 * A failed `bpf()` call ({@link BpfError}: `errno` is the kernel's error number, `log` the
 * verifier log when one was asked for), and the errno numbers and names.
 */
export { BpfError, Errno, errnoName } from "./uapi/errno.js";

// ---- generating light skeletons (bpfsign gen) --------------------------------------------------

export { BtfError } from "./btf/btf.js";
/** Signing with a token or an external command: configuration, token and command failures. */
export { SignerCommandError, SignerOutputError } from "./crypto/external_signer.js";
export { Pkcs11Error } from "./crypto/pkcs11.js";
export { SignatureCheckError, SignerConfigError } from "./crypto/signer.js";
/** Typed errors of the ELF reader and the BTF library. */
export { ElfError } from "./elf/elf.js";
/** A generation failure libbpf's gen_loader would latch ({@link GenLoaderError}). */
/** libbpf's gen_loader: the loader program and metadata blob of a walked object. */
export { BpfGen, type BpfGenOptions, GenLoaderError } from "./gen/gen_loader.js";
/**
 * {@link genSkeleton}: a light skeleton straight from a BPF ELF object, byte for byte what
 * `bpftool gen skeleton -L` writes (with the signing series' libbpf and bpftool), and with
 * `signing` the hashing-mode loader signed over `insns || metadata` (`-S`). The machine facts
 * libbpf reads while generating (kallsyms, kernel config and version, CPUs, page size) are
 * `facts`; those a program uses end up inside the signed bytes.
 */
export {
  type GeneratedSkeleton,
  type GenSkeletonOptions,
  genSkeleton,
  type SkeletonSigning,
} from "./gen/skeleton.js";
/** The header writer's description and its error. */
export { type LightSkeletonSpec, LightSkeletonSpecError } from "./gen/skeleton_header.js";
/**
 * {@link loadObjectFile}: a BPF object loaded straight into a backend (the model or the host)
 * by the same load walker that generates loaders, without a loader program.
 */
export {
  DirectObjectLoad,
  type KernelSymbols,
  type LoadObjectFileOptions,
  loadObjectFile,
  ObjectLoadError,
} from "./loader/object_load.js";
/** A load policy that does not parse, and a load a policy refused. */
export { PolicyDeniedError } from "./lsm/policy_module.js";
/**
 * The object layer: libbpf's open and gen-mode load of a BPF ELF object, pure. The load walker
 * {@link loadObject} drives any {@link ObjectLoadOps}: {@link BpfGen} records a loader,
 * {@link DirectObjectLoad} issues the calls on a backend.
 */
export {
  loadObject,
  ObjectError,
  type ObjectLoadOps,
  type OpenOptions,
  openObject,
} from "./object/index.js";
export { PolicyParseError } from "./policy/errors.js";
/** The signing schemes `genSkeleton`, `signLoader` and the model's profiles know. */
export type { SchemeName } from "./scheme/types.js";
