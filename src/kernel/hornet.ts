/**
 * The Hornet LSM's integrity check (anchors §1.2; the scheme is src/scheme/hornet.ts): at
 * BPF_PROG_LOAD entry it verifies the PKCS#7 over the instructions (with its signed attributes),
 * reads fd_array[0..fd_array_cnt) from user memory itself, and compares each map's content hash
 * with the hashes signed in the map-hash attribute. It returns a verdict and enforces nothing;
 * scheme_hooks.ts reports the verdict to the post-integrity hook.
 *
 * Because Hornet reads fd_array at entry and the verifier reads it again later, a racing thread
 * that rewrites fd_array between the two changes what is bound after Hornet said OK (the v1
 * fd_array TOCTOU): the attack suite shows it.
 */

import { bytesEqual } from "../crypto/asn1.js";
import { findMapHashes } from "../crypto/hornet_attrs.js";
import { parsePkcs7 } from "../crypto/pkcs7.js";
import type { HornetVerdict } from "../scheme/hornet.js";
import { Limits, MapType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { ProgLoadAttr, Values } from "../uapi/layout.js";
import type { BpfProg } from "./prog.js";
import { lookupKey, verifyWithKey } from "./signature.js";
import type { SyscallCtx } from "./state.js";

/** hornet_bpf_prog_load_integrity(): the verdict for one program load. */
export function hornetCheck(
  ctx: SyscallCtx,
  prog: BpfProg,
  attr: Values<typeof ProgLoadAttr>,
): HornetVerdict {
  if (!attr.signature) return "UNSIGNED";
  if (attr.signature_size === 0 || attr.signature_size > Limits.MAX_SIGNATURE_SIZE) return "BADSIG";
  const sig = ctx.uaccess.read(attr.signature, attr.signature_size)?.slice();
  if (!sig) return "FAULT";
  const key = lookupKey(ctx, attr.keyring_id);
  if (!key || key === "EPERM") return "UNKNOWNKEY";
  const msg = parsePkcs7(sig);
  if (!msg.ok) return "BADSIG";
  const err = verifyWithKey(ctx, [prog.insnsi], msg.value, key);
  if (err === -Errno.ENOKEY) return "UNKNOWNKEY";
  if (err) return "BADSIG";

  const maps = [];
  for (let i = 0; i < attr.fd_array_cnt; i++) {
    const raw = ctx.uaccess.read(attr.fd_array + BigInt(i * 4), 4);
    if (!raw) return "FAULT";
    const fd = new DataView(raw.buffer, raw.byteOffset, 4).getInt32(0, true);
    const file = ctx.proc.file(fd);
    if (file?.kind !== "map") continue; // Hornet hashes maps; other fds are the verifier's business
    const map = file.map;
    if (map.map_type !== MapType.ARRAY || !map.frozen) return "UNEXPECTED";
    maps.push(map);
  }
  const signed = findMapHashes(msg.value.signerInfos[0]?.authattrs ?? null);
  if (signed === "malformed") return "BADSIG";
  if (signed === null) return maps.length ? "PARTIALSIG" : "OK";
  if (signed.length !== maps.length) return "UNEXPECTED";
  for (let i = 0; i < maps.length; i++) {
    if (!bytesEqual(maps[i].computeHash(), signed[i])) return "UNEXPECTED";
  }
  return "OK";
}
