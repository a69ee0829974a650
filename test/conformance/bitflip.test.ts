/**
 * Property: a single flipped bit in the loader instructions or the metadata never yields a
 * VERIFIED program on the model (v2), and a flipped bit in the signature yields one only where
 * the kernel's PKCS#7 parser does not look. The kernel's decoder masks the constructed bit of
 * tags, takes SET OF and SEQUENCE OF alike, notes but never checks the outer digestAlgorithms
 * OIDs, ignores algorithm parameters, and uses the SignerInfo digest (not the ecdsa-with-SHA*
 * OID) to hash, and the x962 ECDSA decoder masks the constructed bit too: those flips verify on a real kernel too, so the model must accept them. Uses the
 * real signed loaders and signatures of the vectors, with the exclusive map rebound to the loaded
 * instructions' digest so that the signature, not the exclusivity check, decides.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Asn1Tree, decodeOid, parseTree } from "../../src/crypto/asn1.js";
import { progDigest } from "../../src/insn/digest.js";
import { ModelKernel } from "../../src/kernel/kernel.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { KeySpec, SigVerdict } from "../../src/uapi/constants.js";
import { Errno } from "../../src/uapi/errno.js";
import { PROGS, readVector, skipVectors, VECTORS_DIR } from "../support/vectors.js";
import { loadLoader, setupMetaMap } from "./harness.js";

/** ecdsa-with-SHA1/224/256/384/512 and -SHA3-256/384/512: pkcs7_sig_note_pkey_algo takes all. */
const ECDSA_OIDS = new Set([
  "1.2.840.10045.4.1",
  "1.2.840.10045.4.3.1",
  "1.2.840.10045.4.3.2",
  "1.2.840.10045.4.3.3",
  "1.2.840.10045.4.3.4",
  "2.16.840.1.101.3.4.3.10",
  "2.16.840.1.101.3.4.3.11",
  "2.16.840.1.101.3.4.3.12",
]);

/** The signature bits whose flip the kernel's parser tolerates (see the header comment). */
function toleratedBits(sig: Uint8Array): Set<number> {
  const tree = parseTree(sig);
  if ("ok" in tree) throw new Error(`vector signature does not parse: ${tree.reason}`);
  const bits = new Set<number>();
  const byte = (off: number, which = [0, 1, 2, 3, 4, 5, 6, 7]) => {
    for (const b of which) bits.add(off * 8 + b);
  };
  const walk = (n: Asn1Tree) => {
    if (n.tlv.constructed) byte(n.tlv.start, [5]);
    for (const c of n.children ?? []) walk(c);
  };
  walk(tree);
  const signedData = tree.children![1].children![0];
  const [, digestAlgorithms, , ...rest] = signedData.children!;
  const signerInfos = rest[rest.length - 1];
  byte(digestAlgorithms.tlv.start, [0]);
  byte(signerInfos.tlv.start, [0]);
  for (const algo of digestAlgorithms.children!) {
    const oid = algo.children![0].tlv;
    for (let o = oid.value; o < oid.value + oid.vlen; o++) byte(o);
  }
  const signerInfo = signerInfos.children![0];
  const pkeyAlgo = signerInfo.children![signerInfo.children!.length - 2];
  const [oid, params] = pkeyAlgo.children!;
  if (params) byte(params.tlv.start);
  for (let o = oid.tlv.value; o < oid.tlv.value + oid.tlv.vlen; o++) {
    for (let b = 0; b < 8; b++) {
      const v = sig.slice(oid.tlv.value, oid.tlv.value + oid.tlv.vlen);
      v[o - oid.tlv.value] ^= 1 << b;
      if (ECDSA_OIDS.has(decodeOid(v) ?? "")) bits.add(o * 8 + b);
    }
  }
  // The x962 decoder reads the Ecdsa-Sig-Value with the same ASN.1 rules (constructed bit masked).
  if (ECDSA_OIDS.has(decodeOid(sig.subarray(oid.tlv.value, oid.tlv.value + oid.tlv.vlen)) ?? "")) {
    const encryptedDigest = signerInfo.children![signerInfo.children!.length - 1].tlv;
    byte(encryptedDigest.value, [5]);
  }
  return bits;
}

const KEYS = ["rsa2048", "ecp256"] as const;

function setup(key: (typeof KEYS)[number]) {
  const kernel = new ModelKernel();
  const verdicts: number[] = [];
  kernel.lsm.register({
    name: "verdict-recorder",
    bpf_prog(prog) {
      verdicts.push(prog.aux.sig.verdict);
      return 0;
    },
  });
  const bpf = new Bpf(kernel.spawn());
  const cert = new Uint8Array(readFileSync(join(VECTORS_DIR, "keys", `test-only-${key}.cert.der`)));
  bpf.addKey("asymmetric", "vector", cert, KeySpec.SESSION_KEYRING);
  const load = (insns: Uint8Array, data: Uint8Array, sig: Uint8Array) => {
    const map = setupMetaMap(bpf, data, progDigest(insns));
    const r = loadLoader(bpf, insns, map, sig, KeySpec.SESSION_KEYRING, 1);
    bpf.close(map);
    if (r.fd >= 0) bpf.close(r.fd);
    return r;
  };
  return { load, verdicts };
}

const flip = (b: Uint8Array, bit: number) => {
  const c = b.slice();
  c[bit >> 3] ^= 1 << (bit & 7);
  return c;
};

describe("single bit flips never verify", { skip: skipVectors }, () => {
  for (const prog of PROGS) {
    for (const key of KEYS) {
      test(`${prog} signed with ${key}`, () => {
        const insns = readVector(prog, "insns.signed.bin");
        const data = readVector(prog, "data.bin");
        const sig = readVector(prog, `sig.${key}.der`);
        const { load, verdicts } = setup(key);
        const tolerated = toleratedBits(sig);

        const good = load(insns, data, sig);
        assert.ok(good.fd >= 0, `untampered load verifies (errno ${good.errno})`);
        assert.deepEqual(verdicts, [SigVerdict.VERIFIED]);
        verdicts.length = 0;

        const part = fc.constantFrom("insns", "metadata", "signature");
        fc.assert(
          fc.property(part, fc.nat(), (which, n) => {
            const target = which === "insns" ? insns : which === "metadata" ? data : sig;
            const bit = n % (target.length * 8);
            const r =
              which === "insns"
                ? load(flip(insns, bit), data, sig)
                : which === "metadata"
                  ? load(insns, flip(data, bit), sig)
                  : load(insns, data, flip(sig, bit));
            if (which === "signature" && tolerated.has(bit)) {
              assert.ok(r.fd >= 0, `tolerated signature bit ${bit} verifies`);
              verdicts.length = 0;
              return;
            }
            assert.ok(r.fd < 0, `${which} bit ${bit} flipped: load must fail`);
            if (which !== "signature") assert.equal(r.errno, Errno.EKEYREJECTED);
            assert.deepEqual(verdicts, [], "no program minted an fd");
          }),
          { numRuns: 150, seed: 0x5eed },
        );
      });
    }
  }

  for (const key of KEYS) {
    test(`every signature bit of prog_a/${key}: only the tolerated ones verify`, () => {
      const insns = readVector("prog_a", "insns.signed.bin");
      const data = readVector("prog_a", "data.bin");
      const sig = readVector("prog_a", `sig.${key}.der`);
      const { load } = setup(key);
      const verified = new Set<number>();
      for (let bit = 0; bit < sig.length * 8; bit++) {
        if (load(insns, data, flip(sig, bit)).fd >= 0) verified.add(bit);
      }
      assert.deepEqual(
        [...verified].sort((a, b) => a - b),
        [...toleratedBits(sig)].sort((a, b) => a - b),
      );
      assert.ok(verified.size < sig.length, `${verified.size} of ${sig.length * 8} flips verify`);
    });
  }
});
