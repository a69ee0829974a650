/**
 * ASN.1 for the kernel model: a BER decoder that behaves like lib/asn1_decoder.c (a grammar is
 * compiled into match/jump/end operations the way scripts/asn1_compiler does it, and the
 * operations are run with the kernel's rules), a plain TLV reader with the same length rules,
 * and an exact DER writer.
 *
 * Decoder rules (kernel-semantics §8.1): input > 65535 bytes → EMSGSIZE; every other decode
 * failure → EBADMSG; indefinite lengths on constructed data and non-minimal lengths are
 * accepted; a length of more than 2 bytes is not; trailing bytes after the outermost element
 * are ignored; an action's failure aborts the decode with that failure.
 */

import { type Failure, fail } from "../uapi/errno.js";

/** The largest input the kernel decoder takes. */
export const ASN1_MAX_INPUT = 65535;
/** Depth of the constructed-type stack (NR_CONS_STACK). */
export const ASN1_MAX_CONS_DEPTH = 10;
const MAX_JUMP_DEPTH = 10;

export const Tag = {
  EOC: 0x00,
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export const CONS_BIT = 0x20;
const LONG_TAG = 0x1f;
const INDEFINITE = 0x80;

// ---------------------------------------------------------------------------------------------
// Grammar
// ---------------------------------------------------------------------------------------------

/**
 * An action callback, as the kernel calls it: the header length, the tag, and the value
 * (`data.subarray(value, value + vlen)`; `value` is an offset into `data`). Return a Failure to
 * abort the decode.
 */
export type Asn1Action<C> = (
  ctx: C,
  hdrlen: number,
  tag: number,
  data: Uint8Array,
  value: number,
  vlen: number,
) => Failure | undefined;

/** A type definition (`Name ::= …`). Referencing it more than once renders it out of line. */
export interface Asn1Type<C> {
  readonly name: string;
  el: Asn1Node<C>;
  refs: number;
}

interface NodeBase<C> {
  act?: Asn1Action<C>;
  /** OPTIONAL / DEFAULT, or an alternative of a CHOICE. */
  skippable?: boolean;
  /** A CHOICE alternative other than the first. */
  conditional?: boolean;
  /** Set on the top element of a type definition. */
  typeDef?: Asn1Type<C>;
}

/** The grammar elements of the kernel's ASN.1 compiler. */
export type Asn1Node<C> =
  | (NodeBase<C> & { readonly k: "any" })
  | (NodeBase<C> & { readonly k: "prim"; readonly tag: number })
  | (NodeBase<C> & { readonly k: "seq"; readonly tag: number; readonly children: Asn1Node<C>[] })
  | (NodeBase<C> & {
      readonly k: "seqof" | "setof";
      readonly tag: number;
      readonly child: Asn1Node<C>;
    })
  | (NodeBase<C> & { readonly k: "choice"; readonly alts: Asn1Node<C>[] })
  | (NodeBase<C> & { readonly k: "ref"; readonly type: Asn1Type<C> })
  | (NodeBase<C> & { readonly k: "implicit"; readonly tag: number; readonly child: Asn1Node<C> });

/** Helpers to write grammars in the shape of the kernel's .asn1 files. */
export function grammar<C>() {
  type N = Asn1Node<C>;
  type A = Asn1Action<C>;
  const opt = <T extends N>(n: T): T => {
    n.skippable = true;
    return n;
  };
  return {
    any: (act?: A): N => ({ k: "any", act }),
    prim: (tag: number, act?: A): N => ({ k: "prim", tag, act }),
    seq: (children: N[], act?: A, tag: number = Tag.SEQUENCE): N => ({
      k: "seq",
      tag,
      children,
      act,
    }),
    seqOf: (child: N, act?: A, tag: number = Tag.SEQUENCE): N => ({ k: "seqof", tag, child, act }),
    setOf: (child: N, act?: A, tag: number = Tag.SET): N => ({ k: "setof", tag, child, act }),
    /** `[n] EXPLICIT X` (also the kernel's default for an unmarked tag). */
    explicit: (n: number, child: N): N => ({
      k: "seq",
      tag: 0xa0 | n,
      children: [child],
    }),
    /** `[n] IMPLICIT X`; the constructed bit comes from X. */
    implicit: (n: number, child: N): N => ({ k: "implicit", tag: 0x80 | n, child }),
    choice: (alts: N[], act?: A): N => {
      alts.forEach((a, i) => {
        a.skippable = true;
        a.conditional = i > 0;
      });
      return { k: "choice", alts, act };
    },
    ref: (type: Asn1Type<C>, act?: A): N => {
      type.refs++;
      return { k: "ref", type, act };
    },
    opt,
    /** Declare a type; fill `el` later with `define` so types may refer to each other. */
    type: (name: string): Asn1Type<C> => ({
      name,
      el: { k: "any" },
      refs: 0,
    }),
    define: (type: Asn1Type<C>, el: N): Asn1Type<C> => {
      el.typeDef = type;
      type.el = el;
      return type;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Compilation into operations
// ---------------------------------------------------------------------------------------------

enum OpKind {
  Match,
  MatchJump,
  MatchAny,
  CondFail,
  Complete,
  Act,
  MaybeAct,
  Return,
  End,
}

interface Op<C> {
  kind: OpKind;
  cond?: boolean;
  skip?: boolean;
  tag?: number;
  act?: Asn1Action<C>;
  /** MatchJump: the subroutine; End of SEQ OF / SET OF: the loop entry. */
  target?: number;
  /** End: a SEQ OF / SET OF; a SET (not used by any grammar here) is not supported. */
  of?: boolean;
}

/** A compiled grammar. */
export interface Asn1Decoder<C> {
  readonly name: string;
  readonly ops: readonly Op<C>[];
}

/** Compile a grammar whose root type is `root`, as scripts/asn1_compiler renders it. */
export function compileGrammar<C>(root: Asn1Type<C>): Asn1Decoder<C> {
  const ops: Op<C>[] = [];
  const outOfLine: Asn1Node<C>[] = [];
  const entries = new Map<Asn1Node<C>, number>();
  const pending: { op: Op<C>; node: Asn1Node<C> }[] = [];

  const render = (e: Asn1Node<C>, tagEl: Asn1Node<C> | null): void => {
    const skippable = !!(e.skippable || tagEl?.skippable);
    const outline = !!((e.typeDef && e.typeDef.refs > 1) || skippable);
    const cond = !!(e.conditional || tagEl?.conditional);
    // The tag comes from an IMPLICIT override when one is being applied.
    const tagOf = (own: number, cons: boolean): number => {
      if (tagEl?.k === "implicit") return tagEl.tag | (cons ? CONS_BIT : 0);
      return own;
    };
    switch (e.k) {
      case "any":
        ops.push({ kind: OpKind.MatchAny, cond, skip: skippable, act: e.act });
        return;
      case "implicit":
        render(e.child, e);
        return;
      case "prim":
        ops.push({
          kind: OpKind.Match,
          cond,
          skip: skippable,
          act: e.act,
          tag: tagOf(e.tag, false),
        });
        return;
      case "ref":
        render(e.type.el, tagEl);
        if (e.act) ops.push({ kind: skippable ? OpKind.MaybeAct : OpKind.Act, act: e.act });
        return;
      case "choice":
        for (const alt of e.alts) render(alt, alt);
        if (!skippable) ops.push({ kind: OpKind.CondFail });
        if (e.act) ops.push({ kind: OpKind.Act, act: e.act });
        return;
      case "seq":
      case "seqof":
      case "setof": {
        const tag = tagOf(e.tag, true);
        if (outline) {
          const op: Op<C> = { kind: OpKind.MatchJump, cond, skip: skippable, tag };
          ops.push(op);
          pending.push({ op, node: e });
          if (!outOfLine.includes(e)) outOfLine.push(e);
          return;
        }
        ops.push({ kind: OpKind.Match, cond, skip: skippable, tag });
        renderBody(e);
        return;
      }
    }
  };

  const renderBody = (e: Asn1Node<C>): void => {
    if (e.k === "seq") {
      for (const c of e.children) render(c, null);
      ops.push({ kind: OpKind.End, act: e.act });
    } else if (e.k === "seqof" || e.k === "setof") {
      const entry = ops.length;
      render(e.child, null);
      ops.push({ kind: OpKind.End, of: true, target: entry, act: e.act });
    }
  };

  render(root.el, null);
  ops.push({ kind: OpKind.Complete });
  for (let i = 0; i < outOfLine.length; i++) {
    const e = outOfLine[i];
    entries.set(e, ops.length);
    renderBody(e);
    ops.push({ kind: OpKind.Return });
  }
  for (const { op, node } of pending) op.target = entries.get(node);
  return { name: root.name, ops };
}

// ---------------------------------------------------------------------------------------------
// The decoder
// ---------------------------------------------------------------------------------------------

const FLAG_INDEFINITE = 0x01;
const FLAG_MATCHED = 0x02;
const FLAG_LAST_MATCHED = 0x04;
const FLAG_CONS = 0x20;

const bad = (what: string): Failure => fail("EBADMSG", `ASN.1: ${what}`);

/**
 * Length of an indefinite-length element whose header ends at `dp`: the content up to and
 * including its EOC. Nested elements may be of any form here (this is how ANY is skipped).
 */
function findIndefiniteLength(
  data: Uint8Array,
  datalen: number,
  start: number,
): { len: number } | Failure {
  let dp = start;
  let level = 1;
  for (;;) {
    if (datalen - dp < 2) {
      return bad(datalen === dp ? "Missing EOC in indefinite len cons" : "Data overrun error");
    }
    const tag = data[dp++];
    if (tag === Tag.EOC) {
      if (data[dp++] !== 0) return bad("Invalid length EOC");
      if (--level <= 0) return { len: dp - start };
      continue;
    }
    if ((tag & 0x1f) === LONG_TAG) {
      let t: number;
      do {
        if (datalen - dp < 2) return bad("Data overrun error");
        t = data[dp++];
      } while (t & 0x80);
    }
    let len = data[dp++];
    if (len > 0x7f) {
      if (len === INDEFINITE) {
        if (!(tag & CONS_BIT)) return bad("Indefinite len primitive not permitted");
        level++;
        continue;
      }
      let n = len - 0x80;
      if (n > 7) return bad("Unsupported length");
      if (n > datalen - dp) return bad("Data overrun error");
      len = 0;
      for (; n > 0; n--) len = len * 256 + data[dp++];
    }
    if (len > datalen - dp) return bad("Data overrun error");
    dp += len;
  }
}

/**
 * Decode `data` with a compiled grammar, calling its actions on `ctx`: the model of
 * asn1_ber_decoder(). Returns undefined on success.
 */
export function asn1BerDecode<C>(
  decoder: Asn1Decoder<C>,
  ctx: C,
  data: Uint8Array,
): Failure | undefined {
  const ops = decoder.ops;
  let datalen = data.length;
  if (datalen > ASN1_MAX_INPUT) return fail("EMSGSIZE", "ASN.1: input longer than 65535 bytes");

  let pc = 0;
  let dp = 0;
  let tdp = 0;
  let len = 0;
  let tag = 0;
  let hdr = 0;
  let flags = 0;
  const consDp: number[] = [];
  const consDatalen: number[] = [];
  const consHdr: number[] = [];
  const jumps: number[] = [];

  for (;;) {
    const op = ops[pc];
    if (op === undefined) return bad("Machine overrun error");
    const matches =
      op.kind === OpKind.Match || op.kind === OpKind.MatchJump || op.kind === OpKind.MatchAny;

    if (matches) {
      if ((op.cond && flags & FLAG_MATCHED) || (op.skip && dp === datalen)) {
        flags &= ~FLAG_LAST_MATCHED;
        pc++;
        continue;
      }
      flags = 0;
      hdr = 2;
      if (datalen - dp < 2) return bad("Data overrun error");
      tag = data[dp++];
      if ((tag & 0x1f) === LONG_TAG) return bad("Long tag not supported");
      if (op.kind !== OpKind.MatchAny) {
        const optag = op.tag!;
        flags |= optag & FLAG_CONS;
        // A constructed grammar tag accepts either form; a primitive one needs primitive data.
        if (((optag ^ tag) & ~(optag & CONS_BIT) & 0xff) !== 0) {
          if (op.skip) {
            pc++;
            dp--;
            continue;
          }
          return bad("Unexpected tag");
        }
      }
      flags |= FLAG_MATCHED;

      len = data[dp++];
      if (len > 0x7f) {
        if (len === INDEFINITE) {
          if (!(tag & CONS_BIT)) return bad("Indefinite len primitive not permitted");
          flags |= FLAG_INDEFINITE;
          if (2 > datalen - dp) return bad("Data overrun error");
        } else {
          let n = len - 0x80;
          if (n > 2) return bad("Unsupported length");
          if (n > datalen - dp) return bad("Data overrun error");
          hdr += n;
          for (len = 0; n > 0; n--) len = (len << 8) | data[dp++];
          if (len > datalen - dp) return bad("Data overrun error");
        }
      } else if (len > datalen - dp) {
        return bad("Data overrun error");
      }

      if (flags & FLAG_CONS) {
        if (consDp.length >= ASN1_MAX_CONS_DEPTH) return bad("Cons stack overflow");
        consDp.push(dp);
        consHdr.push(hdr);
        if (!(flags & FLAG_INDEFINITE)) {
          consDatalen.push(datalen);
          datalen = dp + len;
        } else {
          consDatalen.push(0);
        }
      }
      tdp = dp;
    }

    switch (op.kind) {
      case OpKind.Match:
      case OpKind.MatchAny: {
        if (!(flags & FLAG_CONS) && flags & FLAG_INDEFINITE) {
          const r = findIndefiniteLength(data, datalen, dp);
          if ("ok" in r) return r;
          len = r.len;
        }
        if (op.act) {
          const r = op.act(ctx, hdr, tag, data, dp, len);
          if (r) return r;
        }
        if (!(flags & FLAG_CONS)) dp += len;
        pc++;
        continue;
      }
      case OpKind.MatchJump:
        if (jumps.length >= MAX_JUMP_DEPTH) return bad("Jump stack overflow");
        jumps.push(pc + 1);
        pc = op.target!;
        continue;
      case OpKind.CondFail:
        if (!(flags & FLAG_MATCHED)) return bad("Unexpected tag");
        pc++;
        continue;
      case OpKind.Complete:
        if (jumps.length !== 0 || consDp.length !== 0) return bad("Stacks not empty at completion");
        return undefined;
      case OpKind.End: {
        if (consDp.length === 0) return bad("Cons stack underflow");
        tdp = consDp.pop()!;
        hdr = consHdr.pop()!;
        len = datalen;
        datalen = consDatalen.pop()!;
        if (datalen === 0) {
          // Indefinite length: the element ends at an EOC (or an OF type continues).
          datalen = len;
          if (datalen - dp < 2) return bad("Data overrun error");
          if (data[dp++] !== 0) {
            if (op.of) {
              dp--;
              consDp.push(tdp);
              consHdr.push(hdr);
              consDatalen.push(0);
              pc = op.target!;
              continue;
            }
            return bad("Missing EOC in indefinite len cons");
          }
          if (data[dp++] !== 0) return bad("Invalid length EOC");
          len = dp - tdp - 2;
        } else {
          if (dp < len && op.of) {
            consDp.push(tdp);
            consHdr.push(hdr);
            consDatalen.push(datalen);
            datalen = len;
            pc = op.target!;
            continue;
          }
          if (dp !== len) return bad("Cons length error");
          len -= tdp;
        }
        if (op.act) {
          const r = op.act(ctx, hdr, 0, data, tdp, len);
          if (r) return r;
        }
        pc++;
        continue;
      }
      case OpKind.MaybeAct:
        if (!(flags & FLAG_LAST_MATCHED)) {
          pc++;
          continue;
        }
        if (op.act) {
          const r = op.act(ctx, hdr, tag, data, tdp, len);
          if (r) return r;
        }
        pc++;
        continue;
      case OpKind.Act: {
        const r = op.act!(ctx, hdr, tag, data, tdp, len);
        if (r) return r;
        pc++;
        continue;
      }
      case OpKind.Return:
        if (jumps.length === 0) return bad("Jump stack underflow");
        pc = jumps.pop()!;
        flags |= FLAG_MATCHED | FLAG_LAST_MATCHED;
        continue;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A plain TLV reader with the same rules (for inspection and simple sub-structures)
// ---------------------------------------------------------------------------------------------

/** One element as read from the data. */
export interface Tlv {
  readonly tag: number;
  readonly constructed: boolean;
  /** Offset of the tag byte. */
  readonly start: number;
  readonly hdrlen: number;
  /** Offset of the first value byte. */
  readonly value: number;
  /** Value length (for an indefinite-length element: up to, not including, its EOC). */
  readonly vlen: number;
  /** Offset just past the element (past its EOC when indefinite). */
  readonly end: number;
  readonly indefinite: boolean;
}

/**
 * Read the element at `pos` (which must end by `end`), with the kernel's rules: short tags
 * only, at most 2 length bytes, indefinite length only when constructed.
 */
export function readTlv(data: Uint8Array, pos: number, end: number = data.length): Tlv | Failure {
  if (end > data.length) end = data.length;
  if (end - pos < 2) return bad("Data overrun error");
  const start = pos;
  const tag = data[pos++];
  if ((tag & 0x1f) === LONG_TAG) return bad("Long tag not supported");
  const constructed = (tag & CONS_BIT) !== 0;
  let len = data[pos++];
  let hdrlen = 2;
  if (len === INDEFINITE) {
    if (!constructed) return bad("Indefinite len primitive not permitted");
    const r = findIndefiniteLength(data, end, pos);
    if ("ok" in r) return r;
    return {
      tag,
      constructed,
      start,
      hdrlen,
      value: pos,
      vlen: r.len - 2,
      end: pos + r.len,
      indefinite: true,
    };
  }
  if (len > 0x7f) {
    let n = len - 0x80;
    if (n > 2) return bad("Unsupported length");
    if (n > end - pos) return bad("Data overrun error");
    hdrlen += n;
    for (len = 0; n > 0; n--) len = (len << 8) | data[pos++];
  }
  if (len > end - pos) return bad("Data overrun error");
  return {
    tag,
    constructed,
    start,
    hdrlen,
    value: pos,
    vlen: len,
    end: pos + len,
    indefinite: false,
  };
}

/** The children of a constructed element, read with `readTlv`. */
export function readChildren(data: Uint8Array, parent: Tlv): Tlv[] | Failure {
  const out: Tlv[] = [];
  let pos = parent.value;
  const end = parent.value + parent.vlen;
  while (pos < end) {
    const t = readTlv(data, pos, end);
    if ("ok" in t) return t;
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** The value bytes of an element. */
export function tlvValue(data: Uint8Array, t: Tlv): Uint8Array {
  return data.subarray(t.value, t.value + t.vlen);
}

/** A decoded tree of elements, for display. */
export interface Asn1Tree {
  readonly tlv: Tlv;
  readonly children: Asn1Tree[] | null;
}

/**
 * Parse the whole element at `pos` into a tree; constructed elements are descended into, at most
 * ASN1_MAX_CONS_DEPTH levels deep. Trailing bytes after the element are ignored.
 */
export function parseTree(data: Uint8Array, pos = 0): Asn1Tree | Failure {
  if (data.length > ASN1_MAX_INPUT) return fail("EMSGSIZE", "ASN.1: input longer than 65535 bytes");
  const walk = (t: Tlv, depth: number): Asn1Tree | Failure => {
    if (!t.constructed) return { tlv: t, children: null };
    if (depth >= ASN1_MAX_CONS_DEPTH) return bad("Cons stack overflow");
    const kids = readChildren(data, t);
    if ("ok" in kids) return kids;
    const children: Asn1Tree[] = [];
    for (const k of kids) {
      const c = walk(k, depth + 1);
      if ("ok" in c) return c;
      children.push(c);
    }
    return { tlv: t, children };
  };
  const top = readTlv(data, pos);
  if ("ok" in top) return top;
  return walk(top, 0);
}

// ---------------------------------------------------------------------------------------------
// OIDs
// ---------------------------------------------------------------------------------------------

/** Encode a dotted OID into its content bytes. Throws on a malformed dotted string. */
export function encodeOid(dotted: string): Uint8Array {
  const parts = dotted.split(".").map((p) => {
    if (!/^\d+$/.test(p)) throw new Error(`bad OID ${dotted}`);
    return BigInt(p);
  });
  if (parts.length < 2 || parts[0] > 2n || (parts[0] < 2n && parts[1] > 39n)) {
    throw new Error(`bad OID ${dotted}`);
  }
  const arcs = [parts[0] * 40n + parts[1], ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const bytes: number[] = [Number(arc & 0x7fn)];
    let v = arc >> 7n;
    while (v > 0n) {
      bytes.unshift(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(...bytes);
  }
  return Uint8Array.from(out);
}

/** Decode OID content bytes into dotted form, or null when they are not a valid encoding. */
export function decodeOid(bytes: Uint8Array): string | null {
  if (bytes.length === 0 || bytes[bytes.length - 1] & 0x80) return null;
  // the common case, every arc below 2^28, in plain numbers; otherwise arbitrary precision
  const small = decodeSmallOid(bytes);
  if (small !== undefined) return small;
  const arcs: bigint[] = [];
  let v = 0n;
  let first = true;
  for (const b of bytes) {
    if (first && b === 0x80) return null; // non-minimal arc
    first = false;
    v = (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0n;
      first = true;
    }
  }
  const a0 = arcs[0];
  const head = a0 < 40n ? [0n, a0] : a0 < 80n ? [1n, a0 - 40n] : [2n, a0 - 80n];
  return [...head, ...arcs.slice(1)].join(".");
}

/** decodeOid for OIDs whose arcs all take at most four bytes; undefined when one takes more. */
function decodeSmallOid(bytes: Uint8Array): string | null | undefined {
  let out = "";
  let v = 0;
  let len = 0;
  let first = true;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (len === 0 && b === 0x80) return null; // non-minimal arc
    if (++len > 4) return undefined;
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (first) out = v < 40 ? `0.${v}` : v < 80 ? `1.${v - 40}` : `2.${v - 80}`;
      else out += `.${v}`;
      first = false;
      v = 0;
      len = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// DER writer
// ---------------------------------------------------------------------------------------------

/** Bytes of a DER length (minimal form). */
export function encodeLength(len: number): Uint8Array {
  if (!Number.isInteger(len) || len < 0) throw new Error(`bad length ${len}`);
  if (len < 0x80) return Uint8Array.of(len);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

/** Concatenate byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A DER element: tag (one byte), minimal length, content. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concatBytes(content);
  return concatBytes([Uint8Array.of(tag), encodeLength(body.length), body]);
}

/** Minimal two's-complement content bytes of an integer. */
export function integerBytes(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0xffn);
    out.unshift(b);
    v >>= 8n;
    if ((v === 0n && !(b & 0x80)) || (v === -1n && b & 0x80)) break;
  }
  return Uint8Array.from(out);
}

/** DER constructors. */
export const der = {
  tlv,
  sequence: (...items: Uint8Array[]): Uint8Array => tlv(Tag.SEQUENCE, ...items),
  /** A SET with its members in the given order (sort them yourself for SET OF if needed). */
  set: (...items: Uint8Array[]): Uint8Array => tlv(Tag.SET, ...items),
  /** DER SET OF: members sorted by their encodings. */
  setOf: (...items: Uint8Array[]): Uint8Array =>
    tlv(Tag.SET, ...[...items].sort((a, b) => Buffer.compare(a, b))),
  /** INTEGER from a number/bigint, or from raw content bytes taken as they are. */
  integer: (v: number | bigint | Uint8Array): Uint8Array =>
    tlv(Tag.INTEGER, v instanceof Uint8Array ? v : integerBytes(v)),
  oid: (dotted: string): Uint8Array => tlv(Tag.OID, encodeOid(dotted)),
  octetString: (v: Uint8Array): Uint8Array => tlv(Tag.OCTET_STRING, v),
  bitString: (v: Uint8Array, unused = 0): Uint8Array =>
    tlv(Tag.BIT_STRING, Uint8Array.of(unused), v),
  null: (): Uint8Array => Uint8Array.of(Tag.NULL, 0),
  boolean: (v: boolean): Uint8Array => Uint8Array.of(Tag.BOOLEAN, 1, v ? 0xff : 0),
  utf8: (s: string): Uint8Array => tlv(Tag.UTF8String, new TextEncoder().encode(s)),
  printable: (s: string): Uint8Array => tlv(Tag.PrintableString, new TextEncoder().encode(s)),
  utcTime: (s: string): Uint8Array => tlv(Tag.UTCTime, new TextEncoder().encode(s)),
  generalizedTime: (s: string): Uint8Array => tlv(Tag.GeneralizedTime, new TextEncoder().encode(s)),
  /** `[n]` constructed (EXPLICIT, or IMPLICIT of a constructed type). */
  explicit: (n: number, ...content: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...content),
  /** `[n] IMPLICIT` of a primitive type. */
  implicitPrim: (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content),
  /** `AlgorithmIdentifier { oid, [NULL] }`. */
  algorithm: (dotted: string, params?: Uint8Array | null): Uint8Array =>
    params ? tlv(Tag.SEQUENCE, der.oid(dotted), params) : tlv(Tag.SEQUENCE, der.oid(dotted)),
};

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** Bytes from hex (whitespace and colons ignored). Throws on bad input. */
export function fromHex(hex: string): Uint8Array {
  const h = hex.replace(/[\s:]/g, "");
  if (h.length % 2 || /[^0-9a-fA-F]/.test(h)) throw new Error("bad hex");
  return Uint8Array.from(Buffer.from(h, "hex"));
}

/** Byte-wise equality. */
export function bytesEqual(
  a: Uint8Array | null | undefined,
  b: Uint8Array | null | undefined,
): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
