/**
 * The scheme descriptions (src/scheme): what each signs, as bytes, checked through the signer,
 * an independent verifier (openssl cms -verify), the kernel's PKCS#7 rules and the offline
 * verifier, so that "what is signed" written once in the scheme is what every user of it does.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { der } from "../../src/crypto/asn1.js";
import { encodeMapHashes, findMapHashes } from "../../src/crypto/hornet_attrs.js";
import { verifyOffline } from "../../src/crypto/offline.js";
import { parsePkcs7 } from "../../src/crypto/pkcs7.js";
import { signCms, signerIdentity, signForScheme, signLoader } from "../../src/crypto/sign.js";
import { keySearchOf, verifyPkcs7Signature } from "../../src/crypto/verify.js";
import { loadCertificate } from "../../src/crypto/x509.js";
import { HORNET_MAP_HASHES_OID, hornet } from "../../src/scheme/hornet.js";
import { isSchemeName, SCHEME_NAMES, scheme } from "../../src/scheme/index.js";
import {
  addKfuncCheck,
  KFUNC_CHECK_INSNS,
  kfunc,
  kfuncLoaderHash,
  kfuncMetadataHash,
  stripKfuncCheck,
} from "../../src/scheme/kfunc.js";
import { arrayMapHash } from "../../src/scheme/map_hash.js";
import { v2 } from "../../src/scheme/v2.js";
import { Bpf } from "../../src/uapi/bpf.js";
import { MapType } from "../../src/uapi/constants.js";
import { createModelKernel } from "../../src/vm/index.js";
import { makeTestKey, opensslCmsVerify } from "../support/openssl.js";
import { REPO_ROOT, readVector, skipVectors } from "../support/vectors.js";

const key = makeTestKey("rsa2048", {}, "scheme-tests");
const id = signerIdentity(key.keyPem, key.certDer);
const trusted = (() => {
  const c = loadCertificate(key.certDer);
  assert.ok(c.ok);
  return c.value;
})();
const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());

describe("scheme descriptions", { skip: skipVectors }, () => {
  const insns = skipVectors ? new Uint8Array(8) : readVector("prog_b", "insns.signed.bin");
  const data = skipVectors ? new Uint8Array(8) : readVector("prog_b", "data.bin");

  test("three schemes, looked up by name", () => {
    assert.deepEqual(SCHEME_NAMES, ["v2", "kfunc", "hornet"]);
    for (const n of SCHEME_NAMES) assert.equal(scheme(n).name, n);
    assert.ok(isSchemeName("hornet"));
    assert.ok(!isSchemeName("mainline") && !isSchemeName("toString"));
    assert.deepEqual(Object.keys(hornet.verdicts), [
      "OK",
      "UNSIGNED",
      "PARTIALSIG",
      "UNKNOWNKEY",
      "FAULT",
      "UNEXPECTED",
      "BADSIG",
    ]);
    assert.deepEqual(kfunc.verdicts, { UNSIGNED: 0, OK: 1, METADATA_VERIFIED: 2 });
    assert.deepEqual(v2.verdicts, { UNSIGNED: 0, VERIFIED: 1 });
  });

  test("v2 signs insns || metadata: signForScheme is bpftool's CMS byte for byte", () => {
    const plan = v2.plan({ insns, maps: [data] });
    assert.deepEqual(plan.content, [insns, data]);
    assert.equal(plan.attributes, null);
    const a = signForScheme("v2", { insns, maps: [data] }, id);
    assert.deepEqual(a, signCms([insns, data], id));
    assert.deepEqual(
      signLoader({ insns, metadata: data, key: key.keyPem, cert: key.certDer }).signature,
      a,
    );
    assert.ok(opensslCmsVerify(new Uint8Array(Buffer.concat([insns, data])), a, key.certPemPath));
  });

  test("kfunc signs the insns only; the loader carries sha256(metadata) in its check", () => {
    assert.deepEqual(kfunc.plan({ insns, maps: [data] }).content, [insns]);
    const loader = addKfuncCheck(insns, data);
    assert.equal(loader.length, insns.length + KFUNC_CHECK_INSNS * 8);
    assert.deepEqual(kfuncLoaderHash(loader), kfuncMetadataHash(data));
    assert.deepEqual(kfuncMetadataHash(data), sha256(data), "gen_loader blobs are 8-byte aligned");
    assert.deepEqual(stripKfuncCheck(loader), insns);
    assert.equal(kfuncLoaderHash(insns), null, "a plain gen_loader loader has no check");
    const sig = signForScheme("kfunc", { insns: loader, maps: [data] }, id);
    assert.ok(opensslCmsVerify(loader, sig, key.certPemPath));
  });

  test("hornet signs signed attributes: messageDigest = sha256(insns) and the map hashes", () => {
    const plan = hornet.plan({ insns, maps: [data] });
    assert.deepEqual(plan.content, [insns]);
    assert.equal(plan.attributes?.[0].oid, HORNET_MAP_HASHES_OID);
    const sig = signForScheme("hornet", { insns, maps: [data] }, id);
    // openssl checks the messageDigest attribute against the content and the signature over the attributes.
    assert.ok(opensslCmsVerify(insns, sig, key.certPemPath));
    const msg = parsePkcs7(sig);
    assert.ok(msg.ok);
    const si = msg.value.signerInfos[0];
    assert.deepEqual(si.messageDigest, sha256(insns));
    assert.deepEqual(findMapHashes(si.authattrs), [arrayMapHash(data)]);
    // The kernel's PKCS#7 rules accept it as a signature over the instructions.
    assert.ok(verifyPkcs7Signature([insns], sig, keySearchOf([trusted])).ok);
    assert.ok(!verifyPkcs7Signature([insns, data], sig, keySearchOf([trusted])).ok);
  });

  test("map-hash attribute codec: absent, present, malformed", () => {
    assert.equal(findMapHashes(null), null);
    const h = [sha256(Uint8Array.of(1)), sha256(Uint8Array.of(2))];
    const value = encodeMapHashes(h);
    assert.equal(value[0], 0x30);
    assert.equal(value.length, 2 + 2 * 34);
    const sig = signForScheme("v2", { insns, maps: [data] }, id);
    const msg = parsePkcs7(sig);
    assert.ok(msg.ok);
    assert.equal(findMapHashes(msg.value.signerInfos[0].authattrs), null, "v2 has no authattrs");
    assert.equal(findMapHashes(Uint8Array.of(0xa0, 0x05, 0x30, 0x03, 0x02)), "malformed");
  });

  test("map-hash attribute reader is strict DER: children inside their parent, minimal lengths", () => {
    const h = sha256(Uint8Array.of(1));
    const attr = (value: Uint8Array) =>
      der.explicit(0, der.sequence(der.oid(HORNET_MAP_HASHES_OID), der.set(value)));
    const good = attr(encodeMapHashes([h]));
    assert.deepEqual(findMapHashes(good), [h]);
    // a SET and SEQUENCE that claim 4 and 2 bytes while the OCTET STRING inside runs on for
    // 32 more (still inside the attribute and the buffer): the hash overruns its parents
    const oid = der.oid(HORNET_MAP_HASHES_OID);
    const body = Uint8Array.of(...oid, 0x31, 4, 0x30, 2, 0x04, 0x20, ...h);
    const overrun = der.explicit(0, der.tlv(0x30, body));
    assert.equal(findMapHashes(overrun), "malformed");
    // a non-minimal length: 32 written as 0x81 0x20
    const nonMinimal = attr(Uint8Array.of(0x30, 35, 0x04, 0x81, 0x20, ...h));
    assert.equal(findMapHashes(nonMinimal), "malformed");
    // the same bytes with a minimal length parse
    assert.deepEqual(findMapHashes(attr(Uint8Array.of(0x30, 34, 0x04, 0x20, ...h))), [h]);
    // an indefinite-length outer element is not DER either
    assert.equal(findMapHashes(Uint8Array.of(0xa0, 0x80, 0x00, 0x00)), "malformed");
  });

  test("arrayMapHash is the kernel's array map hash (value padded to 8 bytes)", () => {
    const kernel = createModelKernel();
    const proc = kernel.spawn();
    const bpf = new Bpf(proc);
    const value = Uint8Array.from({ length: 13 }, (_, i) => i * 7 + 1);
    const fd = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: 13,
      max_entries: 1,
    });
    bpf.mapUpdate(fd, new Uint8Array(4), value);
    bpf.mapFreeze(fd);
    const f = proc.file(fd);
    assert.ok(f?.kind === "map");
    assert.deepEqual(f.map.computeHash(), arrayMapHash(value));
    assert.notDeepEqual(arrayMapHash(value), sha256(value));
    proc.exit();
  });

  test("the offline verifier applies each scheme's rules", () => {
    const other = data.slice();
    other[other.length - 1] ^= 1;
    const cases = [
      {
        s: "v2",
        insns,
        sig: signForScheme("v2", { insns, maps: [data] }, id),
        verdict: "VERIFIED",
      },
      {
        s: "kfunc",
        insns: addKfuncCheck(insns, data),
        sig: signForScheme("kfunc", { insns: addKfuncCheck(insns, data), maps: [data] }, id),
        verdict: "METADATA_VERIFIED",
      },
      {
        s: "hornet",
        insns,
        sig: signForScheme("hornet", { insns, maps: [data] }, id),
        verdict: "OK",
      },
    ] as const;
    for (const c of cases) {
      const base = {
        insns: c.insns,
        signature: c.sig,
        exclHash: sha256(c.insns),
        trusted: [key.certDer],
        scheme: c.s,
      };
      const good = verifyOffline({ ...base, metadata: data });
      assert.equal(good.result, "VERIFIED", `${c.s}: ${good.reason}`);
      assert.equal(good.schemeVerdict, c.verdict);
      assert.equal(good.scheme, c.s);
      const bad = verifyOffline({ ...base, metadata: other });
      assert.equal(bad.result, "BAD_SIGNATURE", `${c.s} with other metadata`);
    }
    // What the other metadata gets per scheme: v2 fails the signature; kfunc admits (OK) but its
    // loader check fails; Hornet says UNEXPECTED.
    const verdictOf = (s: "v2" | "kfunc" | "hornet", i: number) =>
      verifyOffline({
        insns: cases[i].insns,
        metadata: other,
        signature: cases[i].sig,
        exclHash: null,
        trusted: [key.certDer],
        scheme: s,
      }).schemeVerdict;
    assert.equal(verdictOf("v2", 0), null);
    assert.equal(verdictOf("kfunc", 1), "OK");
    assert.equal(verdictOf("hornet", 2), "UNEXPECTED");
    // A signature checked under another scheme's rules does not verify.
    const cross = verifyOffline({
      insns,
      metadata: data,
      signature: cases[0].sig,
      exclHash: null,
      trusted: [key.certDer],
      scheme: "hornet",
    });
    assert.equal(cross.schemeVerdict, "BADSIG");
    const noCheck = verifyOffline({
      insns,
      metadata: data,
      signature: signForScheme("kfunc", { insns, maps: [data] }, id),
      exclHash: null,
      trusted: [key.certDer],
      scheme: "kfunc",
    });
    assert.equal(
      noCheck.result,
      "BAD_SIGNATURE",
      "a kfunc signature on a loader without the check",
    );
    assert.equal(noCheck.schemeVerdict, "OK");
  });
});

test("src/scheme sits below crypto and kernel: it imports only its own files and node:", () => {
  const dir = join(REPO_ROOT, "src/scheme");
  for (const f of readdirSync(dir)) {
    const text = readFileSync(join(dir, f), "utf8");
    for (const m of text.matchAll(/from "([^"]+)"/g)) {
      assert.ok(m[1].startsWith("./") || m[1].startsWith("node:"), `${f} imports ${m[1]}`);
    }
  }
});
