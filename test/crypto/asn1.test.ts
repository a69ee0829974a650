import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  ASN1_MAX_CONS_DEPTH,
  decodeOid,
  der,
  encodeLength,
  encodeOid,
  integerBytes,
  parseTree,
  readTlv,
  Tag,
  tlv,
  toHex,
} from "../../src/crypto/asn1.js";
import { lookUpOid, OID, type OidName } from "../../src/crypto/oid.js";
import { parsePkcs7 } from "../../src/crypto/pkcs7.js";
import { keySearchOf, verifyPkcs7Signature } from "../../src/crypto/verify.js";
import { vectorContent, vectorKey, vectorSig } from "./craft.js";

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s/g, ""), "hex"));

describe("DER writer", () => {
  it("uses minimal lengths", () => {
    assert.equal(toHex(encodeLength(0)), "00");
    assert.equal(toHex(encodeLength(127)), "7f");
    assert.equal(toHex(encodeLength(128)), "8180");
    assert.equal(toHex(encodeLength(255)), "81ff");
    assert.equal(toHex(encodeLength(256)), "820100");
    assert.equal(toHex(encodeLength(65536)), "83010000");
    assert.equal(toHex(tlv(Tag.OCTET_STRING, new Uint8Array(200))).slice(0, 6), "0481c8");
  });

  it("encodes integers in minimal two's complement", () => {
    assert.equal(toHex(integerBytes(0)), "00");
    assert.equal(toHex(integerBytes(127)), "7f");
    assert.equal(toHex(integerBytes(128)), "0080");
    assert.equal(toHex(integerBytes(-1)), "ff");
    assert.equal(toHex(integerBytes(-129)), "ff7f");
    assert.equal(toHex(der.integer(3)), "020103");
  });

  it("encodes and decodes OIDs", () => {
    assert.equal(toHex(encodeOid(OID.signedData)), "2a864886f70d010702");
    assert.equal(toHex(encodeOid(OID.sha256)), "608648016503040201");
    assert.equal(toHex(der.oid(OID.prime256v1)), "06082a8648ce3d030107");
    for (const o of Object.values(OID)) assert.equal(decodeOid(encodeOid(o)), o);
    assert.equal(decodeOid(hex("2a86")), null, "unterminated arc");
    assert.equal(decodeOid(hex("2a80")), null, "non-minimal arc");
    assert.throws(() => encodeOid("3.1"));
  });

  it("decodes any OID bytes as the arbitrary-precision reference does (long arcs included)", () => {
    const reference = (bytes: Uint8Array): string | null => {
      if (bytes.length === 0 || bytes[bytes.length - 1] & 0x80) return null;
      const arcs: bigint[] = [];
      let v = 0n;
      let start = true;
      for (const b of bytes) {
        if (start && b === 0x80) return null;
        start = false;
        v = (v << 7n) | BigInt(b & 0x7f);
        if (!(b & 0x80)) {
          arcs.push(v);
          v = 0n;
          start = true;
        }
      }
      const a0 = arcs[0];
      const head = a0 < 40n ? [0n, a0] : a0 < 80n ? [1n, a0 - 40n] : [2n, a0 - 80n];
      return [...head, ...arcs.slice(1)].join(".");
    };
    const byte = fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x80), fc.nat(0xff));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 16 }), (a) => {
        const bytes = Uint8Array.from(a);
        assert.equal(decodeOid(bytes), reference(bytes));
      }),
      { numRuns: 5000 },
    );
    assert.equal(decodeOid(hex("2a86ffffffff7f")), "1.2.240518168575", "a 38-bit arc");
  });

  it("looks up every registry OID by its bytes, and nothing else", () => {
    for (const [name, dotted] of Object.entries(OID) as [OidName, string][]) {
      assert.equal(OID[lookUpOid(encodeOid(dotted)) ?? name], dotted, name);
    }
    assert.equal(lookUpOid(encodeOid("1.2.840.113549.1.7.3")), null);
    assert.equal(lookUpOid(new Uint8Array(0)), null);
    const sha256 = encodeOid(OID.sha256);
    sha256[sha256.length - 1] ^= 1;
    assert.equal(lookUpOid(sha256), null, "one byte off");
  });

  it("writes the bpftool header shape", () => {
    const d = der.sequence(der.oid(OID.signedData), der.explicit(0, der.null()));
    assert.equal(toHex(d), "300f06092a864886f70d010702a0020500");
    assert.equal(toHex(der.setOf(der.integer(2), der.integer(1))), "3106020101020102");
  });
});

describe("TLV reader (kernel length rules)", () => {
  it("reads short, long and non-minimal lengths", () => {
    const t = readTlv(hex("04 81 02 aa bb"), 0);
    assert.ok(!("ok" in t));
    assert.equal(t.vlen, 2);
    assert.equal(t.hdrlen, 3);
  });

  it("rejects what the kernel rejects with EBADMSG", () => {
    const cases = {
      "3 length bytes": "04 83 00 00 01 aa",
      "long-form tag": "1f 81 01 00",
      "indefinite primitive": "04 80 00 00",
      overrun: "04 05 aa",
      "truncated header": "04",
      "missing EOC": "30 80 02 01 01",
    };
    for (const [what, h] of Object.entries(cases)) {
      const r = readTlv(hex(h), 0);
      assert.ok("ok" in r && r.errno === "EBADMSG", what);
    }
  });

  it("accepts an indefinite-length constructed element", () => {
    const t = readTlv(hex("30 80 02 01 05 00 00"), 0);
    assert.ok(!("ok" in t));
    assert.equal(t.indefinite, true);
    assert.equal(t.vlen, 3);
    assert.equal(t.end, 7);
  });

  it("limits nesting to the cons stack depth and input to 65535 bytes", () => {
    let d: Uint8Array = der.null();
    for (let i = 0; i < ASN1_MAX_CONS_DEPTH; i++) d = der.sequence(d);
    assert.ok(!("ok" in parseTree(d)));
    const deeper = parseTree(der.sequence(d));
    assert.ok("ok" in deeper && deeper.errno === "EBADMSG");
    const big = parseTree(new Uint8Array(65536));
    assert.ok("ok" in big && big.errno === "EMSGSIZE");
  });
});

describe("grammar decoder on real signatures", () => {
  const key = vectorKey("rsa2048");
  const content = vectorContent("prog_a");
  const sig = vectorSig("prog_a", "rsa2048");
  const verify = (s: Uint8Array) => verifyPkcs7Signature(content, s, keySearchOf([key.cert]));

  it("ignores trailing bytes after the outermost element", () => {
    const r = verify(Buffer.concat([sig, hex("deadbeef00")]));
    assert.ok(r.ok);
  });

  it("accepts non-minimal lengths (BER)", () => {
    // 30 82 01 73 → 30 82 01 73 is already long; re-encode the version INTEGER as 02 81 01 03.
    const i = Buffer.from(sig).indexOf(hex("020103"));
    const patched = Buffer.concat([sig.subarray(0, i), hex("02810103"), sig.subarray(i + 3)]);
    // Fix up the three enclosing lengths (ContentInfo, [0], SignedData) by one.
    for (const at of [2, 17, 21]) patched.writeUInt16BE(patched.readUInt16BE(at) + 1, at);
    assert.ok(verify(patched).ok);
  });

  it("accepts indefinite lengths on constructed types", () => {
    // Re-wrap the outer ContentInfo and [0] with indefinite lengths.
    const inner = sig.subarray(19); // SignedData TLV
    const body = Buffer.concat([hex("06092a864886f70d010702"), hex("a080"), inner, hex("0000")]);
    const msg = Buffer.concat([hex("3080"), body, hex("0000")]);
    assert.ok(verify(msg).ok);
  });

  it("fails on EMSGSIZE before anything else", () => {
    const big = new Uint8Array(65536);
    big.set(sig);
    const r = parsePkcs7(big);
    assert.ok(!r.ok && r.errno === "EMSGSIZE");
    assert.ok(parsePkcs7(big.subarray(0, 65535)).ok, "65535 bytes with trailing zeros parses");
  });

  it("reports decode failures as EBADMSG", () => {
    for (const cut of [0, 1, 2, 10, 100, sig.length - 1]) {
      const r = parsePkcs7(sig.subarray(0, cut));
      assert.ok(!r.ok && r.errno === "EBADMSG", `cut at ${cut}`);
    }
  });
});
