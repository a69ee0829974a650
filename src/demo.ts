/**
 * `npm start`: a short end-to-end run on the model kernel. It makes a throwaway signing key and
 * certificate with the openssl CLI, signs a tiny loader-shaped program together with its
 * metadata (bpftool's CMS recipe), loads it signed into the model, prints the verdict the LSM
 * admission hook saw, then shows a tampered load being rejected.
 */
import { EXAMPLE_INSNS, loadSigned, metadataMap, OpensslSigner, sha256 } from "./example.js";
import { decodeInsns, disassemble } from "./insn/index.js";
import { ModelKernel } from "./kernel/kernel.js";
import { Bpf } from "./uapi/bpf.js";
import { enumName, KeySpec, SigKeyring, SigVerdict } from "./uapi/constants.js";
import { BpfError } from "./uapi/errno.js";

function main(): void {
  // 1. A signing key and a self-signed certificate with the kernel selftest profile.
  const signer = new OpensslSigner("bpfsign demo key");
  try {
    // 2. A tiny loader-shaped program: it reads its metadata map through fd_array[0].
    const insns = EXAMPLE_INSNS;
    const metadata = new TextEncoder().encode("metadata the signature covers\0\0\0");
    const excl = sha256(insns);
    console.log("program:");
    for (const line of disassemble(decodeInsns(insns))) console.log(`  ${line}`);
    console.log(
      `metadata: ${metadata.length} bytes, excl_prog_hash = sha256(insns) = ${Buffer.from(excl).toString("hex").slice(0, 16)}…`,
    );

    // 3. Sign insns || metadata the way bpftool does.
    const signature = signer.sign(Buffer.concat([insns, metadata]));
    console.log(
      `signature: ${signature.length} bytes of detached CMS (openssl cms, bpftool's flags)`,
    );

    // 4. Load it signed into the model kernel.
    const kernel = new ModelKernel({ profile: "v2" });
    let admitted = { verdict: -1, keyring_type: -1, keyring_serial: -1 };
    kernel.lsm.register({
      name: "demo-observer",
      bpf_prog_load(prog) {
        admitted = { ...prog.aux.sig };
        return 0;
      },
    });
    const bpf = new Bpf(kernel.spawn());
    const keySerial = bpf.addKey("asymmetric", "", signer.certDer, KeySpec.SESSION_KEYRING);
    const session = bpf.keyringId(KeySpec.SESSION_KEYRING);
    console.log(`certificate added to the session keyring ${session} as key ${keySerial}`);

    const load = (meta: Uint8Array, label: string) => {
      const map = metadataMap(bpf, insns, meta);
      try {
        const r = loadSigned(bpf, insns, map, signature, 4096);
        console.log(`\n${label}: loaded as fd ${r.fd}`);
        console.log(
          `  verdict ${enumName(SigVerdict, admitted.verdict)}, keyring type ${enumName(SigKeyring, admitted.keyring_type)}, keyring serial ${admitted.keyring_serial}`,
        );
        console.log(`  log: ${r.log.split("\n")[0]}`);
        bpf.close(r.fd);
      } catch (e) {
        if (!(e instanceof BpfError)) throw e;
        console.log(`\n${label}: rejected with ${e.code} (${e.errno})`);
        console.log(`  log: ${e.log.split("\n")[0]}`);
      } finally {
        bpf.close(map);
      }
    };
    load(metadata, "signed load");
    const tampered = metadata.slice();
    tampered[0] ^= 0x01;
    load(tampered, "tampered metadata (one bit flipped)");
  } finally {
    signer.dispose();
  }
}

main();
