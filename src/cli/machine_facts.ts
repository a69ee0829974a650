/**
 * The generating machine's facts, read the way libbpf reads them while it generates a loader
 * (object/host_facts.ts parses; this file does the I/O): possible CPUs, kernel version, kernel
 * config, kallsyms, page size. Each is read only when the object asks for it (the object layer
 * reads its options lazily), and each may be replaced from the command line so that a build is
 * reproducible on another machine.
 */
import { existsSync } from "node:fs";
import { release, version } from "node:os";
import { gunzipSync } from "node:zlib";
import { getKernelVersion, numPossibleCpus } from "../object/host_facts.js";
import type { OpenOptions } from "../object/types.js";
import { MalformedInputError, UsageError } from "./errors.js";
import { readInput } from "./io.js";

/** Replacements for what would be read from this machine. */
export interface MachineFactOptions {
  /** a file with /proc/kallsyms lines */
  kallsyms?: string;
  /** a kernel config file (.config text, or gzipped as /proc/config.gz) */
  kconfig?: string;
  /** LINUX_KERNEL_VERSION as "a.b.c" or the KERNEL_VERSION() number */
  kernelVersion?: string;
  /** libbpf_num_possible_cpus() */
  nrCpus?: string;
  /** sysconf(_SC_PAGE_SIZE) */
  pageSize?: string;
}

function positive(v: string, what: string): number {
  if (!/^\d+$/.test(v) || Number(v) <= 0)
    throw new UsageError(`${what} must be a positive integer, got '${v}'`);
  return Number(v);
}

function pageSizeOf(v: string): number {
  const n = positive(v, "--page-size");
  if ((n & (n - 1)) !== 0 || n > 1 << 30)
    throw new UsageError(`--page-size must be a power of two, got '${v}'`);
  return n;
}

function kernelVersionOf(v: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (m) return getKernelVersion({ release: v, version: "" });
  if (/^\d+$/.test(v)) return Number(v);
  throw new UsageError(`--kernel-version must be a.b.c or a number, got '${v}'`);
}

/** A kernel config's text; gzipped as /proc/config.gz is, or plain. */
function configText(bytes: Uint8Array, path: string): string {
  const gz = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (!gz) return new TextDecoder().decode(bytes);
  try {
    return new TextDecoder().decode(gunzipSync(bytes));
  } catch (e) {
    throw new MalformedInputError(
      path,
      "kernel config",
      `not a valid gzip stream (${(e as Error).message})`,
    );
  }
}

/** This machine's kernel config: /boot/config-$(uname -r), else /proc/config.gz; undefined when neither exists. */
function machineKconfig(): string | undefined {
  for (const p of [`/boot/config-${release()}`, "/proc/config.gz"]) {
    if (existsSync(p)) return configText(readInput(p, "kernel config"), p);
  }
  return undefined;
}

function readIfExists(p: string, what: string): string | undefined {
  return existsSync(p) ? new TextDecoder().decode(readInput(p, what)) : undefined;
}

/** The possible CPUs of this machine (libbpf's libbpf_num_possible_cpus()), if it says. */
function machineNrCpus(): number | undefined {
  const text = readIfExists("/sys/devices/system/cpu/possible", "possible CPU list");
  return text === undefined ? undefined : numPossibleCpus(text);
}

/**
 * OpenOptions whose machine facts come from the command line or, when the object first asks,
 * from this machine. The page size defaults to 4096 (x86_64; give --page-size elsewhere).
 */
export function machineFacts(o: MachineFactOptions): OpenOptions {
  const pageSize = o.pageSize ? pageSizeOf(o.pageSize) : 4096;
  const kernelVersion =
    o.kernelVersion !== undefined
      ? kernelVersionOf(o.kernelVersion)
      : getKernelVersion({
          release: release(),
          version: version(),
          versionSignature: readIfExists("/proc/version_signature", "kernel version signature"),
        });
  const nrCpus = o.nrCpus !== undefined ? positive(o.nrCpus, "--nr-cpus") : undefined;
  let possibleCpus: { v: number | undefined } | null = null;
  let kconfig: { v: string | undefined } | null = null;
  let kallsyms: { v: string | undefined } | null = null;
  const facts: OpenOptions = {
    pageSize,
    kernelVersion,
    get nrCpus(): number | undefined {
      if (nrCpus !== undefined) return nrCpus;
      possibleCpus ??= { v: machineNrCpus() };
      return possibleCpus.v;
    },
    get kconfig(): string | undefined {
      kconfig ??= {
        v: o.kconfig
          ? configText(readInput(o.kconfig, "kernel config"), o.kconfig)
          : machineKconfig(),
      };
      return kconfig.v;
    },
    get kallsyms(): string | undefined {
      kallsyms ??= {
        v: o.kallsyms
          ? new TextDecoder().decode(readInput(o.kallsyms, "kallsyms"))
          : readIfExists("/proc/kallsyms", "kallsyms"),
      };
      return kallsyms.v;
    },
  };
  return facts;
}
