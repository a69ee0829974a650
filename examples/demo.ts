/**
 * `npm start`: a real BPF object to a signed light skeleton to a verified load on the model
 * kernel, with bpfsign alone. examples/global_data.bpf.o was compiled by clang from
 * bpf/global_data.bpf.c (scripts/gen-examples.sh; a socket filter with an ARRAY map and
 * .data/.rodata/.bss globals). The demo makes a signing identity, generates the signed skeleton
 * as `bpftool gen skeleton -L -S` (with the signing series) does, re-reads the header, verifies
 * it offline, then runs bpf_load_and_run on the model: the kernel folds the metadata map into the
 * signed content and verifies the loader against the session keyring, the LSM hook sees the
 * verdict, the loader creates the maps and the socket filter, and the filter runs once. Finally a
 * one-bit change to the metadata is rejected before anything runs.
 */
import { readFileSync } from "node:fs";
import { generateSigningIdentity } from "../src/crypto/certgen.js";
import { verifyOffline } from "../src/crypto/offline.js";
import { genSkeleton } from "../src/gen/skeleton.js";
import { describeInstalled } from "../src/loader/installed.js";
import { LoaderError, loadAndRun } from "../src/loader/load_and_run.js";
import { VerdictRecorder } from "../src/lsm/verdict_recorder.js";
import { parseLightSkeleton } from "../src/skeleton/index.js";
import { Bpf } from "../src/uapi/bpf.js";
import { KeySpec } from "../src/uapi/constants.js";
import { createModelKernel } from "../src/vm/index.js";

const OBJECT = new URL("../../examples/global_data.bpf.o", import.meta.url);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function main(): void {
  // 1. A signing identity with the kernel selftests' certificate profile.
  const id = generateSigningIdentity({ type: "rsa2048", subject: "bpfsign demo key" });

  // 2. The signed light skeleton, generated from the object (gen_hash loader, CMS over
  //    insns || metadata, excl_prog_hash = sha256(insns)).
  const gen = genSkeleton(new Uint8Array(readFileSync(OBJECT)), "global_data.bpf.o", {
    name: "global_data",
    signing: { key: id.privateKeyPem, cert: id.certificateDer },
  });
  const skel = parseLightSkeleton(gen.header);
  console.log(
    `generated ${skel.name}.lskel.h (${gen.header.length} bytes): maps ${skel.maps.map((m) => m.name).join(", ")}; programs ${skel.progs.map((p) => p.name).join(", ")}`,
  );
  console.log(
    `loader ${skel.insns.length / 8} insns, metadata ${skel.data.length} bytes; signed: ${gen.signed?.signature.length}-byte CMS by key id ${gen.signed?.signer}, excl_prog_hash ${hex(skel.exclHash ?? new Uint8Array()).slice(0, 16)}…`,
  );

  // 3. Offline verification with the kernel's rules.
  const offline = verifyOffline({
    insns: skel.insns,
    metadata: skel.data,
    signature: skel.signature,
    exclHash: skel.exclHash,
    trusted: [id.certificateDer],
  });
  console.log(`offline verify: ${offline.result} (${offline.reason})`);

  // 4. bpf_load_and_run on the model kernel with the certificate in the session keyring.
  const kernel = createModelKernel({ profile: "v2" });
  const recorder = new VerdictRecorder(kernel.lsm);
  const proc = kernel.spawn();
  const bpf = new Bpf(proc);
  const key = bpf.addKey("asymmetric", "", id.certificateDer, KeySpec.SESSION_KEYRING);
  console.log(
    `certificate added to session keyring ${bpf.keyringId(KeySpec.SESSION_KEYRING)} as key ${key}`,
  );
  const loaded = loadAndRun(proc, skel, { keyringId: KeySpec.SESSION_KEYRING });
  try {
    const v = recorder.last("__loader.prog");
    console.log(
      `loader admitted: verdict ${v?.verdict}, keyring ${v?.keyring_type} serial ${v?.keyring_serial}`,
    );
    const installed = describeInstalled(proc, loaded);
    for (const p of installed.progs)
      console.log(`installed: ${p.type} '${p.name}', ${p.insn_cnt} insns, tag ${p.tag}`);
    const run = bpf.progTestRun({ prog_fd: loaded.progs[0].fd, data_in: new Uint8Array(64) });
    console.log(
      `ran '${loaded.progs[0].name}' on a 64-byte packet: retval 0x${(run.retval >>> 0).toString(16)}`,
    );
  } finally {
    loaded.close();
  }

  // 5. The same skeleton with one metadata bit flipped: rejected at load, nothing runs.
  const data = new Uint8Array(skel.data);
  data[data.length - 16] ^= 1;
  try {
    loadAndRun(
      proc,
      { ...skel, data },
      { keyringId: KeySpec.SESSION_KEYRING, log: { level: 1, size: 4096 } },
    );
    throw new Error("a tampered skeleton loaded");
  } catch (e) {
    if (!(e instanceof LoaderError)) throw e;
    console.log(`tampered metadata: ${e.step}: ${e.errnoName}`);
    const line = e.log.split("\n").find((l) => /signature/i.test(l));
    if (line) console.log(`  verifier log: ${line}`);
  }
}

main();
