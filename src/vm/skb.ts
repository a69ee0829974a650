/**
 * The `struct __sk_buff` a socket program sees, built over a test packet as
 * bpf_prog_test_run_skb() builds its sk_buff: eth_type_trans() on the frame (protocol,
 * pkt_type, the Ethernet header pulled for non-L2 programs), the loopback device, and the
 * fields a caller may preset through ctx_in (convert___skb_to_skb) and gets back in ctx_out.
 */
import { Errno } from "../uapi/errno.js";

export const SK_BUFF_SIZE = 192;
export const ETH_HLEN = 14;
/** PAGE_SIZE - NET_SKB_PAD - SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86_64. */
export const MAX_TEST_PACKET = 4096 - 64 - 320;
const LOOPBACK_IFINDEX = 1;

/** Offsets in struct __sk_buff. */
export const Skb = {
  len: 0,
  pkt_type: 4,
  mark: 8,
  queue_mapping: 12,
  protocol: 16,
  priority: 32,
  ingress_ifindex: 36,
  ifindex: 40,
  cb: 48,
  hash: 68,
  tstamp: 152,
  wire_len: 160,
  gso_segs: 164,
  gso_size: 176,
  hwtstamp: 184,
} as const;

/** Ranges of __sk_buff a test run may preset: everything else must be zero. */
const SETTABLE: readonly [number, number][] = [
  [Skb.mark, Skb.mark + 4],
  [Skb.priority, Skb.ifindex + 4],
  [Skb.cb, Skb.cb + 20],
  [Skb.tstamp, Skb.gso_segs + 4],
  [Skb.gso_size, Skb.gso_size + 4],
  [Skb.hwtstamp, Skb.hwtstamp + 8],
];

const PACKET_HOST = 0;
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;

export interface SkbImage {
  /** The __sk_buff the program reads (and may write cb[] of). */
  readonly ctx: Uint8Array;
  /** The frame as given (data_in), shared with the program. */
  readonly frame: Uint8Array;
  /** skb->data on: the frame without the Ethernet header unless the program type is L2. */
  readonly data: Uint8Array;
}

/** eth_type_trans()'s pkt_type for a frame's destination address (lo's address is all zero). */
function pktType(frame: Uint8Array): number {
  const dst = frame.subarray(0, 6);
  if (dst.every((b) => b === 0xff)) return PACKET_BROADCAST;
  if (dst[0] & 1) return PACKET_MULTICAST;
  return dst.every((b) => b === 0) ? PACKET_HOST : PACKET_OTHERHOST;
}

/** Builds the __sk_buff for a test run, or a negative errno for a bad data_in / ctx_in. */
export function buildSkb(
  frame: Uint8Array | null,
  ctxIn: Uint8Array | null,
  isL2: boolean,
): SkbImage | number {
  if (!frame || frame.length < ETH_HLEN || frame.length > MAX_TEST_PACKET) return -Errno.EINVAL;
  const ctx = new Uint8Array(SK_BUFF_SIZE);
  const dv = new DataView(ctx.buffer);
  if (ctxIn) {
    // bpf_ctx_init(): bytes past the struct must be zero
    for (let i = SK_BUFF_SIZE; i < ctxIn.length; i++) if (ctxIn[i]) return -Errno.E2BIG;
    const given = ctxIn.subarray(0, SK_BUFF_SIZE);
    for (let i = 0; i < given.length; i++) {
      if (given[i] && !SETTABLE.some(([a, b]) => i >= a && i < b)) return -Errno.EINVAL;
    }
    ctx.set(given);
  }
  const data = isL2 ? frame : frame.subarray(ETH_HLEN);
  const wire = dv.getUint32(Skb.wire_len, true);
  if (wire && (wire < data.length || wire > 65536)) return -Errno.EINVAL;
  if (dv.getUint32(Skb.gso_segs, true) > 65535) return -Errno.EINVAL;
  const ifindex = dv.getUint32(Skb.ifindex, true);
  if (ifindex && ifindex !== LOOPBACK_IFINDEX) return -Errno.ENODEV;
  dv.setUint32(Skb.len, data.length, true);
  dv.setUint32(Skb.pkt_type, pktType(frame), true);
  // skb->protocol is __be16: the frame's two EtherType bytes as they lie in memory.
  dv.setUint32(Skb.protocol, frame[12] | (frame[13] << 8), true);
  dv.setUint32(Skb.ifindex, LOOPBACK_IFINDEX, true);
  if (!wire) dv.setUint32(Skb.wire_len, data.length, true);
  return { ctx, frame, data };
}

/** convert_skb_to___skb(): what a test run hands back as ctx_out. */
export function skbCtxOut(ctx: Uint8Array): Uint8Array {
  const out = new Uint8Array(SK_BUFF_SIZE);
  for (const [a, b] of SETTABLE) out.set(ctx.subarray(a, b), a);
  return out;
}
