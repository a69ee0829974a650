/**
 * bpf_loader_verify_metadata(map, hash, hash_size): the kfunc of the kfunc scheme
 * (src/scheme/kfunc.ts), called by a signed loader when it runs. The metadata map must be a
 * frozen plain array exclusive to the calling loader, and its content hash must equal the hash
 * the loader carries in its signed instructions. For a program whose verdict is BPF_SIG_OK it
 * then fires the post-integrity hook and, when no LSM objects, promotes the verdict to
 * BPF_SIG_METADATA_VERIFIED; an LSM's error is returned and leaves the verdict at OK (spec/004).
 * An unsigned loader gets the comparison only.
 */
import { bytesEqual } from "../crypto/asn1.js";
import { KFUNC_VERDICTS } from "../scheme/kfunc.js";
import { MapType } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import type { BpfMap } from "./map.js";
import type { BpfProg } from "./prog.js";
import type { KernelState } from "./state.js";

export function bpfLoaderVerifyMetadata(
  kernel: KernelState,
  prog: BpfProg,
  map: BpfMap,
  hash: Uint8Array,
): number {
  if (hash.length !== 32) return -Errno.EINVAL;
  if (map.map_type !== MapType.ARRAY || map.max_entries !== 1) return -Errno.EINVAL;
  if (!map.frozen) return -Errno.EPERM;
  if (!map.excl_prog_sha || !bytesEqual(map.excl_prog_sha, prog.digest)) return -Errno.EPERM;
  if (!bytesEqual(map.computeHash(), hash)) return -Errno.EINVAL;
  if (prog.aux.sig.verdict !== KFUNC_VERDICTS.OK) return 0;
  const r = kernel.lsm.bpf_prog_load_post_integrity({
    prog,
    attr: null,
    token: null,
    kernel: false,
    lsmId: "bpf",
    scheme: "kfunc",
    verdict: "METADATA_VERIFIED",
    verdictValue: KFUNC_VERDICTS.METADATA_VERIFIED,
    source: "kfunc",
  });
  if (r) return r;
  prog.aux.sig.verdict = KFUNC_VERDICTS.METADATA_VERIFIED;
  return 0;
}
