/**
 * The pure-BigInt ECDSA this model used before its curve arithmetic moved to node (kept only as a
 * reference for the tests): X9.62 verification by simultaneous double-and-add in Jacobian
 * coordinates, and a signer over an arbitrary digest (to make signatures node cannot, e.g. over a
 * digest that is 0 mod n).
 */

export interface RefCurve {
  readonly p: bigint;
  readonly a: bigint;
  readonly n: bigint;
  readonly gx: bigint;
  readonly gy: bigint;
  readonly bits: number;
  readonly size: number;
}

const curve = (p: string, a: string, gxy: string, n: string): RefCurve => {
  const g = gxy.slice(2);
  const half = g.length / 2;
  const nn = BigInt(`0x${n}`);
  const bits = nn.toString(2).length;
  return {
    p: BigInt(`0x${p}`),
    a: BigInt(`0x${a}`),
    n: nn,
    gx: BigInt(`0x${g.slice(0, half)}`),
    gy: BigInt(`0x${g.slice(half)}`),
    bits,
    size: Math.ceil(bits / 8),
  };
};

export const REF_CURVES: Readonly<Record<string, RefCurve>> = {
  "ecdsa-nist-p192": curve(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC",
    "04188DA80EB03090F67CBF20EB43A18800F4FF0AFD82FF101207192B95FFC8DA78631011ED6B24CDD573F977A11E794811",
    "FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831",
  ),
  "ecdsa-nist-p256": curve(
    "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
    "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
    "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
  ),
  "ecdsa-nist-p384": curve(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
    "04AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB73617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
  ),
  "ecdsa-nist-p521": curve(
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC",
    "0400C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650",
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
  ),
};

export const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

export function modInv(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

type Jac = readonly [bigint, bigint, bigint];

function jDouble(c: RefCurve, [x, y, z]: Jac): Jac {
  if (z === 0n || y === 0n) return [0n, 1n, 0n];
  const p = c.p;
  const yy = (y * y) % p;
  const s = (4n * x * yy) % p;
  const zz = (z * z) % p;
  const m = mod(3n * x * x + c.a * zz * zz, p);
  const x3 = mod(m * m - 2n * s, p);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, p);
  return [x3, y3, (2n * y * z) % p];
}

function jAdd(c: RefCurve, P: Jac, Q: Jac): Jac {
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const p = c.p;
  const z1z1 = (P[2] * P[2]) % p;
  const z2z2 = (Q[2] * Q[2]) % p;
  const u1 = (P[0] * z2z2) % p;
  const u2 = (Q[0] * z1z1) % p;
  const s1 = (P[1] * Q[2] * z2z2) % p;
  const s2 = (Q[1] * P[2] * z1z1) % p;
  if (u1 === u2) return s1 === s2 ? jDouble(c, P) : [0n, 1n, 0n];
  const h = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  const hh = (h * h) % p;
  const hhh = (h * hh) % p;
  const v = (u1 * hh) % p;
  const x3 = mod(r * r - hhh - 2n * v, p);
  const y3 = mod(r * (v - x3) - s1 * hhh, p);
  return [x3, y3, (P[2] * Q[2] * h) % p];
}

/** u1·G + u2·Q by simultaneous double-and-add. */
function doubleMul(c: RefCurve, u1: bigint, G: Jac, u2: bigint, Q: Jac): Jac {
  const GQ = jAdd(c, G, Q);
  let R: Jac = [0n, 1n, 0n];
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    R = jDouble(c, R);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) R = jAdd(c, R, GQ);
    else if (b1) R = jAdd(c, R, G);
    else if (b2) R = jAdd(c, R, Q);
  }
  return R;
}

function affineX(c: RefCurve, R: Jac): bigint {
  const zi = modInv(R[2], c.p);
  return (R[0] * zi * zi) % c.p;
}

export function bigOf(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function digestScalar(c: RefCurve, digest: Uint8Array): bigint {
  let e = bigOf(digest);
  const dbits = digest.length * 8;
  if (dbits > c.bits) e >>= BigInt(dbits - c.bits);
  return e;
}

/** The old verdict on (r, s) over `digest` for the public point (qx, qy): true = verified. */
export function refVerify(
  c: RefCurve,
  qx: bigint,
  qy: bigint,
  r: bigint,
  s: bigint,
  digest: Uint8Array,
): boolean {
  if (r === 0n || s === 0n || r >= c.n || s >= c.n) return false;
  const e = digestScalar(c, digest);
  const w = modInv(s, c.n);
  const R = doubleMul(c, mod(e * w, c.n), [c.gx, c.gy, 1n], mod(r * w, c.n), [qx, qy, 1n]);
  if (R[2] === 0n) return false;
  return mod(affineX(c, R), c.n) === r;
}

/** An ECDSA signature (r, s) by private scalar d over `digest` with nonce k (not constant-time). */
export function refSign(
  c: RefCurve,
  d: bigint,
  digest: Uint8Array,
  k: bigint,
): { r: bigint; s: bigint } | null {
  const e = digestScalar(c, digest);
  const R = doubleMul(c, mod(k, c.n), [c.gx, c.gy, 1n], 0n, [c.gx, c.gy, 1n]);
  if (R[2] === 0n) return null;
  const r = mod(affineX(c, R), c.n);
  const s = mod(modInv(k, c.n) * (e + r * d), c.n);
  if (r === 0n || s === 0n) return null;
  return { r, s };
}

/** DER Ecdsa-Sig-Value of (r, s). */
export function derSig(r: bigint, s: bigint): Uint8Array {
  const int = (v: bigint): number[] => {
    let h = v.toString(16);
    if (h.length % 2) h = `0${h}`;
    const b = [...Buffer.from(h, "hex")];
    if (b[0] & 0x80) b.unshift(0);
    return [0x02, b.length, ...b];
  };
  const body = [...int(r), ...int(s)];
  const len = body.length < 0x80 ? [body.length] : [0x81, body.length];
  return Uint8Array.from([0x30, ...len, ...body]);
}
