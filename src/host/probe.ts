/**
 * Capability detection by probing: each capability is decided by trying the smallest operation
 * that needs it and reading the errno, never by comparing kernel versions. probeBackend() works
 * on any BpfBackend; probeHost() binds the host backend first and reports why when it cannot.
 */
import { createHash } from "node:crypto";
import { release } from "node:os";
import { generateSigningIdentity } from "../crypto/certgen.js";
import { encodeInsns, exit, mov64Imm } from "../insn/index.js";
import type { BpfBackend } from "../uapi/backend.js";
import { Bpf } from "../uapi/bpf.js";
import {
  BPF_F_SLEEPABLE,
  KeyctlOp,
  KeySpec,
  MapFlag,
  MapType,
  ProgType,
} from "../uapi/constants.js";
import { BpfError, Errno, errnoName } from "../uapi/errno.js";
import { HostBackend } from "./backend.js";

/** The key types whose certificates the probe tries to add. */
export type ProbeKeyKind = "ec-p256" | "rsa2048";

/** One probed capability: whether it is there and what the probe saw. */
export interface Capability {
  readonly available: boolean;
  readonly reason: string;
}

export interface HostCapabilities {
  /** Kernel release and CPU architecture, for the record only (nothing is decided by them). */
  readonly kernel: string;
  readonly arch: string;
  /** The host backend could be bound (libc through koffi, known syscall numbers). */
  readonly backend: Capability;
  /** bpf() is permitted: a 1-entry ARRAY map can be created. */
  readonly bpf: Capability;
  /** A sleepable SYSCALL program loads. */
  readonly syscallProg: Capability;
  /** BPF_PROG_TEST_RUN runs a SYSCALL program with a ctx. */
  readonly testRun: Capability;
  /** BPF_PROG_LOAD knows signature/keyring_id (a junk signature is not refused with E2BIG). */
  readonly signedLoadAttr: Capability;
  /** PKCS#7 verification of signed loads (a junk signature fails other than EOPNOTSUPP). */
  readonly signatureVerification: Capability;
  /** signature_size above 8192 is refused with EINVAL before anything else. */
  readonly signatureSizeCap: Capability;
  /** add_key("asymmetric") of an EC P-256 certificate succeeds. */
  readonly ecdsaKeys: Capability;
  /** add_key("asymmetric") of an RSA-2048 certificate succeeds. */
  readonly rsaKeys: Capability;
  /** BPF_MAP_CREATE accepts excl_prog_hash. */
  readonly exclusiveMaps: Capability;
  /** BPF_OBJ_GET_INFO_BY_FD returns the SHA-256 of a frozen ARRAY map. */
  readonly mapHash: Capability;
  /** A BPF_F_MMAPABLE array can be mapped shared. */
  readonly mmapableArray: Capability;
  /** The program tag is the first 8 bytes of SHA-256 of the instructions. */
  readonly sha256Tag: Capability;
}

export type CapabilityName = Exclude<keyof HostCapabilities, "kernel" | "arch">;

const yes = (reason: string): Capability => ({ available: true, reason });
const no = (reason: string): Capability => ({ available: false, reason });

function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof BpfError) return e.errno;
    throw e;
  }
}

const TRIVIAL = encodeInsns([mov64Imm(0, 0), exit()]);

/** Probes every capability on `backend` (which stays usable; every object made is closed). */
export function probeBackend(backend: BpfBackend): Omit<HostCapabilities, "kernel" | "arch"> {
  const bpf = new Bpf(backend);
  const fds: number[] = [];
  const keep = (fd: number) => {
    fds.push(fd);
    return fd;
  };
  const unavailable = (why: string) => no(why);
  try {
    let mapFd = -1;
    const mapErr = errnoOf(() => {
      mapFd = keep(
        bpf.mapCreate({ map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 1 }),
      );
    });
    const bpfCap = mapErr
      ? no(`BPF_MAP_CREATE of a 1-entry ARRAY failed with ${errnoName(mapErr)}`)
      : yes("BPF_MAP_CREATE of a 1-entry ARRAY succeeded");
    if (!bpfCap.available) {
      const why = `bpf() not permitted (${bpfCap.reason})`;
      return {
        backend: yes("bound"),
        bpf: bpfCap,
        syscallProg: unavailable(why),
        testRun: unavailable(why),
        signedLoadAttr: unavailable(why),
        signatureVerification: unavailable(why),
        signatureSizeCap: unavailable(why),
        ecdsaKeys: probeKey(backend, "ec-p256"),
        rsaKeys: probeKey(backend, "rsa2048"),
        exclusiveMaps: unavailable(why),
        mapHash: unavailable(why),
        mmapableArray: unavailable(why),
        sha256Tag: unavailable(why),
      };
    }

    let progFd = -1;
    const load = (extra: object = {}) =>
      errnoOf(() => {
        progFd = keep(
          bpf.progLoad({
            prog_type: ProgType.SYSCALL,
            prog_flags: BPF_F_SLEEPABLE,
            insns: TRIVIAL,
            ...extra,
          }).fd,
        );
      });
    const progErr = load();
    const syscallProg = progErr
      ? no(`sleepable SYSCALL program load failed with ${errnoName(progErr)}`)
      : yes("sleepable SYSCALL program `r0 = 0; exit` loaded");

    let testRun = no("no SYSCALL program to run");
    let sha256Tag = no("no program to read the tag of");
    if (!progErr) {
      const runErr = errnoOf(() => bpf.progTestRun({ prog_fd: progFd, ctx_in: new Uint8Array(8) }));
      testRun = runErr
        ? no(`BPF_PROG_TEST_RUN failed with ${errnoName(runErr)}`)
        : yes("BPF_PROG_TEST_RUN ran a SYSCALL program with an 8-byte ctx");
      const tag = bpf.progInfo(progFd).tag;
      const want = createHash("sha256").update(TRIVIAL).digest().subarray(0, 8);
      sha256Tag = Buffer.from(tag).equals(want)
        ? yes(`tag ${Buffer.from(tag).toString("hex")} = sha256(insns)[0:8]`)
        : no(
            `tag ${Buffer.from(tag).toString("hex")} is not sha256(insns)[0:8] (SHA-1 era kernel?)`,
          );
    }

    const junk = new Uint8Array(64);
    junk.set([0x30, 0x42, 0x13, 0x37]);
    const sigErr = load({ signature: junk, keyring_id: KeySpec.SESSION_KEYRING });
    let signedLoadAttr: Capability;
    let signatureVerification: Capability;
    if (sigErr === Errno.E2BIG) {
      signedLoadAttr = no("BPF_PROG_LOAD refuses the signature/keyring_id attr fields (E2BIG)");
      signatureVerification = no("the kernel has no signed program loads (E2BIG)");
    } else if (sigErr === Errno.EOPNOTSUPP) {
      signedLoadAttr = yes("a junk signature reaches the verification step");
      signatureVerification = no(
        "signed loads fail with EOPNOTSUPP (CONFIG_SYSTEM_DATA_VERIFICATION is off)",
      );
    } else if (sigErr === 0) {
      signedLoadAttr = yes("signed load accepted");
      signatureVerification = no("a junk signature was accepted: the kernel does not verify");
    } else {
      signedLoadAttr = yes("a junk signature reaches the verification step");
      signatureVerification = yes(
        `a junk signature is rejected with ${errnoName(sigErr)} (verification runs)`,
      );
    }
    const capErr = signedLoadAttr.available
      ? load({
          signature: new Uint8Array(8193),
          signature_size: 8193,
          keyring_id: KeySpec.SESSION_KEYRING,
        })
      : -1;
    const signatureSizeCap =
      capErr === Errno.EINVAL
        ? yes("signature_size 8193 is refused with EINVAL")
        : no(
            capErr < 0
              ? "no signed loads"
              : `signature_size 8193 gave ${capErr ? errnoName(capErr) : "success"}, not EINVAL`,
          );

    const exclErr = errnoOf(() =>
      keep(
        bpf.mapCreate({
          map_type: MapType.ARRAY,
          key_size: 4,
          value_size: 8,
          max_entries: 1,
          excl_prog_hash: new Uint8Array(32),
        }),
      ),
    );
    const exclusiveMaps = exclErr
      ? no(`BPF_MAP_CREATE with excl_prog_hash failed with ${errnoName(exclErr)}`)
      : yes("BPF_MAP_CREATE accepts a 32-byte excl_prog_hash");

    const hashErr = errnoOf(() => {
      bpf.mapFreeze(mapFd);
      bpf.mapInfo(mapFd, { hash: true });
    });
    const mapHash = hashErr
      ? no(`map hash of a frozen ARRAY failed with ${errnoName(hashErr)}`)
      : yes("BPF_OBJ_GET_INFO_BY_FD returns the hash of a frozen ARRAY");

    const mm = probeMmap(bpf, keep);

    return {
      backend: yes("bound"),
      bpf: bpfCap,
      syscallProg,
      testRun,
      signedLoadAttr,
      signatureVerification,
      signatureSizeCap,
      ecdsaKeys: probeKey(backend, "ec-p256"),
      rsaKeys: probeKey(backend, "rsa2048"),
      exclusiveMaps,
      mapHash,
      mmapableArray: mm,
      sha256Tag,
    };
  } finally {
    for (const fd of fds) backend.close(fd);
  }
}

function probeMmap(bpf: Bpf, keep: (fd: number) => number): Capability {
  let fd = -1;
  const err = errnoOf(() => {
    fd = keep(
      bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: MapFlag.MMAPABLE,
      }),
    );
  });
  if (err) return no(`BPF_F_MMAPABLE ARRAY creation failed with ${errnoName(err)}`);
  const addr = bpf.backend.mmap(4096, 1, 1, fd, 0);
  if (addr < 0n) return no(`mmap of a BPF_F_MMAPABLE array failed with ${errnoName(Number(addr))}`);
  bpf.backend.munmap(addr, 4096);
  return yes("a BPF_F_MMAPABLE array maps MAP_SHARED");
}

/** add_key("asymmetric") of a fresh self-signed certificate into a throwaway keyring. */
function probeKey(backend: BpfBackend, kind: ProbeKeyKind): Capability {
  const ring = backend.addKey("keyring", "bpfsign-probe", null, KeySpec.SESSION_KEYRING);
  if (ring < 0) return no(`cannot create a keyring to probe in: ${errnoName(ring)}`);
  try {
    const serial = backend.addKey(
      "asymmetric",
      `bpfsign-probe-${kind}`,
      generateSigningIdentity({ type: kind, subject: `bpfsign probe ${kind}` }).certificateDer,
      ring,
    );
    return serial < 0
      ? no(`add_key("asymmetric") of a ${kind} certificate failed with ${errnoName(serial)}`)
      : yes(`add_key("asymmetric") of a ${kind} certificate succeeded`);
  } finally {
    backend.keyctl(KeyctlOp.CLEAR, ring);
    backend.keyctl(KeyctlOp.UNLINK, ring, KeySpec.SESSION_KEYRING);
  }
}

/** Probes this machine through the host backend; every capability says why when it is missing. */
export function probeHost(): HostCapabilities {
  const head = { kernel: release(), arch: process.arch };
  let backend: HostBackend;
  try {
    backend = new HostBackend();
  } catch (e) {
    const why = no(`host backend unavailable: ${(e as Error).message}`);
    return {
      ...head,
      backend: why,
      bpf: why,
      syscallProg: why,
      testRun: why,
      signedLoadAttr: why,
      signatureVerification: why,
      signatureSizeCap: why,
      ecdsaKeys: why,
      rsaKeys: why,
      exclusiveMaps: why,
      mapHash: why,
      mmapableArray: why,
      sha256Tag: why,
    };
  }
  try {
    return { ...head, ...probeBackend(backend) };
  } finally {
    backend.dispose();
  }
}

/** One line per capability, for logs and test diagnostics. */
export function formatCapabilities(caps: HostCapabilities): string[] {
  const lines = [`kernel ${caps.kernel} (${caps.arch})`];
  for (const [k, v] of Object.entries(caps)) {
    if (typeof v === "object") lines.push(`${v.available ? "yes" : "no "} ${k}: ${v.reason}`);
  }
  return lines;
}
