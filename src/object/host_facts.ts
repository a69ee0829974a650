/**
 * How libbpf turns the generating machine's files into the facts `OpenOptions` carries, as pure
 * functions over the files' text (the caller reads the files):
 *
 *   kernelVersion   get_kernel_version(): /proc/version_signature (Ubuntu), then the "Debian x.y.z"
 *                   in uname's version, then uname's release; KERNEL_VERSION(a, b, c)
 *   nrCpus          libbpf_num_possible_cpus(): /sys/devices/system/cpu/possible
 *   pageSize        sysconf(_SC_PAGE_SIZE) (no parsing)
 *   kconfig         /boot/config-$(uname -r), else /proc/config.gz (gunzipped by the caller)
 *   kallsyms        /proc/kallsyms (as is)
 */

import { Errno, ObjectError } from "./errors.js";

/** KERNEL_VERSION(a, b, c): the patch level saturates at 255. */
export function kernelVersionCode(major: number, minor: number, patch: number): number {
  return ((major << 16) + (minor << 8) + Math.min(patch, 255)) >>> 0;
}

/** sscanf(s, "%u.%u.%u") after `skipWords` whitespace-separated words; null unless all three match. */
function scanVersion(s: string, skipWords: number): [number, number, number] | null {
  let rest = s;
  for (let i = 0; i < skipWords; i++) {
    const m = /^\s*\S+/.exec(rest);
    if (!m) return null;
    rest = rest.slice(m[0].length);
  }
  const m = /^\s*\+?(\d+)\.\s*\+?(\d+)\.\s*\+?(\d+)/.exec(rest);
  if (!m) return null;
  return [Number(m[1]) >>> 0, Number(m[2]) >>> 0, Number(m[3]) >>> 0];
}

/** What `get_kernel_version()` reads. */
export interface UnameFacts {
  /** utsname.release, e.g. "6.18.44-fc-v857" */
  release: string;
  /** utsname.version, e.g. "#1 SMP Debian 4.19.260-1 (2022-09-29)" */
  version: string;
  /** contents of /proc/version_signature when the file exists (Ubuntu kernels) */
  versionSignature?: string;
}

/** libbpf `get_kernel_version()`; 0 when nothing parses (libbpf's "failed to get kernel version"). */
export function getKernelVersion(u: UnameFacts): number {
  if (u.versionSignature !== undefined) {
    const v = scanVersion(u.versionSignature, 2);
    if (v) return kernelVersionCode(...v);
  }
  const deb = u.version.indexOf("Debian ");
  if (deb >= 0) {
    const v = scanVersion(u.version.slice(deb), 1);
    if (v) return kernelVersionCode(...v);
  }
  const v = scanVersion(u.release, 0);
  return v ? kernelVersionCode(...v) : 0;
}

/** libbpf `libbpf_num_possible_cpus()` over the text of /sys/devices/system/cpu/possible. */
export function numPossibleCpus(text: string, source = "/sys/devices/system/cpu/possible"): number {
  const cpus = new Set<number>();
  const fail = (detail: string) =>
    new ObjectError("OBJECT_MISSING_HOST_FACT", source, "", -1, detail, -Errno.EINVAL);
  let s = text;
  while (s.length) {
    if (s[0] === "," || s[0] === "\n") {
      s = s.slice(1);
      continue;
    }
    const m = /^\s*([+-]?\d+)(?:-\s*([+-]?\d+))?/.exec(s);
    if (!m) throw fail(`failed to get CPU range ${JSON.stringify(s)}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start < 0 || start > end) throw fail(`invalid CPU range [${start},${end}]`);
    if (end >= 1 << 22) throw fail(`CPU range [${start},${end}] too large`);
    for (let c = start; c <= end; c++) cpus.add(c);
    s = s.slice(m[0].length);
  }
  if (cpus.size === 0) throw fail("empty CPU range");
  return cpus.size;
}
