/**
 * Host backend cost per BPF_MAP_LOOKUP_ELEM: through the typed client (attr encode, native
 * allocations, koffi call, copy-out), as a raw backend.bpf() call with a prebuilt attr, the bare
 * koffi call of syscall() with an invalid command, and a C program doing the same lookups in a
 * loop (compiled with cc into a temp dir in this run). Skips with the reason when something is
 * missing. Every row is the best of 7 batches of N calls in CPU time of the process (user +
 * system), as the C program reports its loop: on a shared machine CPU time is what the calls
 * cost, wall time also counts the time other processes ran.
 *
 * Goal (issue 11): the typed client at most 2x the C loop per lookup.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostBackend } from "../src/host/backend.js";
import { libc } from "../src/host/libc.js";
import { probeHost } from "../src/host/probe.js";
import { Bpf } from "../src/uapi/bpf.js";
import { BpfCmd, MapType } from "../src/uapi/constants.js";
import { encode, MapElemAttr } from "../src/uapi/layout.js";
import { goal, ratio, row } from "./util.js";

const N = 20000;

const C_SOURCE = `
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static long bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  union bpf_attr a; memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_ARRAY; a.key_size = 4; a.value_size = 8; a.max_entries = 1;
  int fd = bpf(BPF_MAP_CREATE, &a);
  if (fd < 0) { perror("map_create"); return 1; }
  unsigned key = 0; unsigned long long value = 0;
  double best = 1e30;
  for (int rep = 0; rep < 7; rep++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (long i = 0; i < n; i++) {
      memset(&a, 0, sizeof(a));
      a.map_fd = fd; a.key = (unsigned long)&key; a.value = (unsigned long)&value;
      if (bpf(BPF_MAP_LOOKUP_ELEM, &a)) { perror("lookup"); return 1; }
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n;
    if (ns < best) best = ns;
  }
  printf("%.1f\\n", best);
  close(fd);
  return 0;
}
`;

/** The best of 7 batches (after one warm-up batch) in process CPU ms: the C loop's statistic. */
function bestMs(fn: () => void): number {
  fn();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 7; i++) {
    const t = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

/** ns per lookup of the C loop (best of 7 batches), or the reason it could not run. */
function cBaseline(): number | string {
  const dir = mkdtempSync(join(tmpdir(), "bpfsign-bench-"));
  try {
    const src = join(dir, "lookup.c");
    const bin = join(dir, "lookup");
    writeFileSync(src, C_SOURCE);
    try {
      execFileSync("cc", ["-O2", "-o", bin, src], { stdio: "pipe" });
    } catch (e) {
      return `cc failed: ${(e as Error).message.split("\n")[0]}`;
    }
    return Number(
      execFileSync(bin, [String(N)])
        .toString()
        .trim(),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function run(): void {
  const caps = probeHost();
  console.log("\nhost backend: BPF_MAP_LOOKUP_ELEM per call (CPU time, best of 7 batches)");
  if (!caps.bpf.available) {
    console.log(`  skipped: ${caps.bpf.reason}`);
    return;
  }
  const b = new HostBackend();
  try {
    const bpf = new Bpf(b);
    const fd = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 8,
      max_entries: 1,
    });
    const key = new Uint8Array(4);
    const typed = bestMs(() => {
      for (let i = 0; i < N; i++) bpf.mapLookup(fd, key, 8);
    });
    const keyAddr = b.memory.alloc(4);
    const valAddr = b.memory.alloc(8);
    const attr = encode(MapElemAttr, { map_fd: fd, key: keyAddr, value: valAddr }, 32);
    const raw = bestMs(() => {
      for (let i = 0; i < N; i++) b.bpf(BpfCmd.MAP_LOOKUP_ELEM, attr);
    });
    const c = libc();
    const koffiCall = bestMs(() => {
      for (let i = 0; i < N; i++) c.sys3(c.nr.bpf, 0x7fff, 0, 0);
    });
    const cNs = cBaseline();
    const ns = (msPerBatch: number) => (msPerBatch * 1e6) / N;
    const w = [44, 12, 10];
    console.log(row(["path", "ns/call", "vs C"], w));
    const line = (label: string, v: number) =>
      console.log(row([label, v.toFixed(0), typeof cNs === "number" ? ratio(v, cNs) : "-"], w));
    line("typed client bpf.mapLookup()", ns(typed));
    line("raw backend.bpf() with a prebuilt attr", ns(raw));
    line("bare koffi syscall() (EINVAL, no work)", ns(koffiCall));
    if (typeof cNs === "number") {
      line("C loop: syscall(__NR_bpf) lookups", cNs);
      goal({
        name: "host typed client per lookup",
        value: ns(typed) / cNs,
        unit: "x",
        kind: "max",
        target: 2,
        what: "bpf.mapLookup() / the C syscall() loop",
      });
    } else console.log(`  C baseline skipped: ${cNs}`);
  } finally {
    b.dispose();
  }
}

if (process.argv[1]?.endsWith("bench/host.js")) run();
