/**
 * The adversary: each named attack (expected.ts) run against a profile of the model kernel, with
 * a real light-skeleton loader signed for the profile's scheme. The run registers, in order, an
 * observer (what the admission and post-integrity hooks saw for the loader), the attacker's
 * "racing thread" (which acts at the admission hook: after every profile's signature check and
 * before the verifier resolves the loader's instructions), and the RequireVerified policy. The
 * loader is loaded as bpf_load_and_run() does (exclusive frozen metadata map in fd_array[0],
 * fd_array_cnt 1, the session keyring) and run once; the observation is formatted as a cell of
 * the table.
 */
import { generateSigningIdentity } from "../crypto/certgen.js";
import { type SignerIdentity, signerIdentity } from "../crypto/sign.js";
import { KEY_SPEC_BPF_KEYRING } from "../kernel/keyring.js";
import { signedLoadHooks } from "../kernel/scheme_hooks.js";
import { encodeLoaderCtx } from "../loader/ctx.js";
import type { LoaderImage } from "../loader/load_and_run.js";
import { RequireVerified } from "../lsm/require_verified.js";
import { scheme } from "../scheme/index.js";
import { Bpf } from "../uapi/bpf.js";
import { BPF_F_SLEEPABLE, KeySpec, MapFlag, MapType, ProgType } from "../uapi/constants.js";
import { BpfError, errnoName } from "../uapi/errno.js";
import { createModelKernel } from "../vm/index.js";
import { type AttackName, type TargetName, targetProfile } from "./expected.js";
import { profileScheme, signImage } from "./sign_image.js";

/** What one attack on one profile did. */
export interface Observation {
  readonly outcome: "admitted" | "refused" | "loader-refused";
  readonly at: string | null;
  readonly errno: string | null;
  /** The verdict the admission hook saw for the loader, or null when it was not reached. */
  readonly admission: string | null;
  /** The last post-integrity report for the loader ("lsm:VERDICT"), or null. */
  readonly post: string | null;
  readonly compromised: boolean;
}

/** An observation as a table cell (the format of expected.ts). */
export function formatCell(o: Observation): string {
  const where = o.at ? `@${o.at}` : "";
  const errno = o.errno ? ` ${o.errno}` : "";
  return `${o.outcome}${where}${errno} adm=${o.admission ?? "-"} post=${o.post ?? "-"}${o.compromised ? " COMPROMISED" : ""}`;
}

/** The keys an attack run uses: the trusted signer and the attacker's own. */
export interface AttackKeys {
  readonly trusted: SignerIdentity;
  readonly trustedCert: Uint8Array;
  readonly attacker: SignerIdentity;
  readonly attackerCert: Uint8Array;
}

/** Fresh RSA-2048 keys for the trusted signer and the attacker. */
export function attackKeys(): AttackKeys {
  const t = generateSigningIdentity({ type: "rsa2048", subject: "bpfsign trusted signer" });
  const a = generateSigningIdentity({ type: "rsa2048", subject: "bpfsign attacker" });
  return {
    trusted: signerIdentity(t.privateKeyPem, t.certificateDer),
    trustedCert: t.certificateDer,
    attacker: signerIdentity(a.privateKeyPem, a.certificateDer),
    attackerCert: a.certificateDer,
  };
}

const LOADER_NAME = "__loader.prog";

/** The metadata with its last byte changed: what the attacker wants the loader to run with. */
function alteredMetadata(data: Uint8Array): Uint8Array {
  const out = data.slice();
  out[out.length - 1] ^= 0x5a;
  return out;
}

/** A BTF object with one `int` (what bind_btf binds). */
function btfWithInt(): Uint8Array {
  const strings = new TextEncoder().encode("\0int\0");
  const out = new Uint8Array(24 + 16 + strings.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  dv.setUint8(2, 1);
  dv.setUint32(4, 24, true);
  dv.setUint32(12, 16, true);
  dv.setUint32(16, 16, true);
  dv.setUint32(20, strings.length, true);
  dv.setUint32(24, 1, true);
  dv.setUint32(28, 1 << 24, true);
  dv.setUint32(32, 4, true);
  dv.setUint32(36, (1 << 24) | 32, true);
  out.set(strings, 40);
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Run one attack on one target (a profile). `image` is the skeleton's loader (signed or not). */
export function runAttack(
  target: TargetName,
  attack: AttackName,
  image: LoaderImage,
  keys: AttackKeys,
): Observation {
  const { profile: profileName, keyringUnsealed } = targetProfile(target);
  const kernel = createModelKernel({ profile: profileName, keyringUnsealed });
  const proc = kernel.spawn();
  const bpf = new Bpf(proc);
  const schemeName = profileScheme(profileName);
  const verdictNames = scheme(schemeName).verdicts;
  const verdictName = (v: number) =>
    Object.keys(verdictNames).find((k) => verdictNames[k] === v) ?? String(v);

  // The trusted key in the session keyring, as verify_sig_setup.sh puts it (in the `.bpf`
  // keyring when it is unsealed, since caller keyrings are then refused).
  bpf.keyringId(KeySpec.SESSION_KEYRING, true);
  const trustedRing = keyringUnsealed ? KEY_SPEC_BPF_KEYRING : KeySpec.SESSION_KEYRING;
  bpf.addKey("asymmetric", "trusted", keys.trustedCert, trustedRing);

  // What the hooks saw for the (user-loaded) loader.
  let admission: string | null = null;
  let post: string | null = null;
  let race: ((attr: { fd_array: bigint }) => void) | null = null;
  const unObserve = kernel.lsm.register({
    name: "observer",
    bpf_prog_load: (prog, _attr, _t, isKernel) => {
      // The loader is the only program the attacker's process loads itself.
      if (isKernel) return 0;
      const i = prog.aux.integrity;
      admission =
        i && i.lsmId !== "bpf" ? `${i.lsmId}:${i.verdict}` : verdictName(prog.aux.sig.verdict);
      return 0;
    },
    bpf_prog_load_post_integrity: (rec) => {
      if (!rec.kernel) post = `${rec.lsmId}:${rec.verdict}`;
      return 0;
    },
  });
  const unRace = kernel.lsm.register({
    name: "racing-thread",
    bpf_prog_load: (_prog, attr, _t, isKernel) => {
      if (!isKernel && race) {
        race(attr);
        race = null;
      }
      return 0;
    },
  });
  const policy = new RequireVerified(kernel.lsm);

  try {
    // The loader as the profile's tooling signs it, and what the attacker changes.
    let signed = signImage(schemeName, image, keys.trusted);
    let data = signed.data;
    let signature: Uint8Array | null = signed.signature;
    let keyringId: number = trustedRing;
    const extra: number[] = [];
    let fdArrayCnt = 1;
    let mapFlags = 0;
    let overrides = false;
    const altered = alteredMetadata(image.data);

    const lookAlike = (excl: Uint8Array) => {
      const fd = bpf.mapCreate({
        map_type: MapType.ARRAY,
        key_size: 4,
        value_size: altered.length,
        max_entries: 1,
        map_name: "__loader.map",
        excl_prog_hash: excl,
      });
      bpf.mapUpdate(fd, new Uint8Array(4), altered);
      bpf.mapFreeze(fd);
      return fd;
    };
    const writeSlot = (attr: { fd_array: bigint }, i: number, fd: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, fd, true);
      proc.memory.write(attr.fd_array + BigInt(i * 4), b);
    };

    switch (attack) {
      case "none":
        break;
      case "unsigned":
        // bpf_load_and_run() binds the map through fd_array_cnt only for signed loaders.
        signature = null;
        fdArrayCnt = 0;
        break;
      case "fd_array_toctou": {
        const evil = lookAlike(signed.exclHash as Uint8Array);
        race = (attr) => writeSlot(attr, 0, evil);
        break;
      }
      case "fd_array_slot_swap": {
        const evil = lookAlike(signed.exclHash as Uint8Array);
        extra.push(evil);
        fdArrayCnt = 2;
        race = (attr) => {
          const raw = proc.memory.read(attr.fd_array, 8);
          const dv = new DataView(raw.buffer, raw.byteOffset, 8);
          const a = dv.getInt32(0, true);
          const b = dv.getInt32(4, true);
          writeSlot(attr, 0, b);
          writeSlot(attr, 1, a);
        };
        break;
      }
      case "bind_extra_map": {
        extra.push(
          bpf.mapCreate({ map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 1 }),
        );
        fdArrayCnt = 2;
        break;
      }
      case "bind_btf":
        extra.push(bpf.btfLoad(btfWithInt()).fd);
        fdArrayCnt = 2;
        break;
      case "update_before_freeze":
      case "replay_other_metadata":
        data = altered;
        break;
      case "writable_mmap":
        mapFlags = MapFlag.MMAPABLE;
        break;
      case "host_overrides":
        overrides = true;
        break;
      case "keyring_swap": {
        const ring = bpf.addKey("keyring", "attacker", null, KeySpec.SESSION_KEYRING);
        bpf.addKey("asymmetric", "attacker", keys.attackerCert, ring);
        signed = signImage(schemeName, { ...image, data: altered }, keys.attacker);
        data = signed.data;
        signature = signed.signature;
        keyringId = ring;
        break;
      }
      case "signature_truncation":
        signature = (signature as Uint8Array).subarray(0, (signature as Uint8Array).length >> 1);
        break;
    }

    // bpf_load_and_run(): the exclusive metadata map, filled and frozen.
    const mapFd = bpf.mapCreate({
      map_type: MapType.ARRAY,
      key_size: 4,
      value_size: signed.data.length,
      max_entries: 1,
      map_flags: mapFlags,
      map_name: "__loader.map",
      excl_prog_hash: signed.exclHash ?? undefined,
    });
    if (attack === "writable_mmap") {
      const len = Math.ceil(signed.data.length / 4096) * 4096;
      const addr = bpf.mmap(mapFd, len, 3 /* PROT_READ|PROT_WRITE */, 1 /* MAP_SHARED */);
      proc.memory.write(addr, altered);
      try {
        bpf.mapFreeze(mapFd);
      } catch {
        // EBUSY: a writable mapping is live; the attacker loads the unfrozen map.
      }
    } else {
      bpf.mapUpdate(mapFd, new Uint8Array(4), data);
      bpf.mapFreeze(mapFd);
    }

    let progFd: number;
    try {
      progFd = bpf.progLoad({
        prog_type: ProgType.SYSCALL,
        insns: signed.insns,
        license: "Dual BSD/GPL",
        prog_flags: BPF_F_SLEEPABLE,
        prog_name: LOADER_NAME,
        fd_array: [mapFd, ...extra],
        fd_array_cnt: fdArrayCnt,
        ...(signature ? { signature, keyring_id: keyringId } : {}),
        log_level: 1,
        log_size: 1 << 16,
      }).fd;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      const denial = policy.denials[0];
      const at = denial
        ? denial.hook
        : /not covered by the signature/.test(e.log)
          ? "after_resolve"
          : /binds map|may not bind BTF/.test(e.log)
            ? "verifier_bind"
            : signedLoadHooks(kernel.profile).signsInVerifier
              ? "bpf_check"
              : "bpf_prog_load";
      return {
        outcome: "refused",
        at,
        errno: errnoName(e.errno),
        admission,
        post,
        compromised: false,
      };
    }

    // Run the loader once (bpf_load_and_run's BPF_PROG_RUN), with host overrides if asked.
    const nrMaps = image.maps.length;
    const ctx = encodeLoaderCtx({
      nrMaps,
      nrProgs: image.progs.length,
      maps: overrides ? Array.from({ length: nrMaps }, () => ({ max_entries: 0x4000 })) : undefined,
    });
    const loaderFile = proc.file(progFd);
    const loader = loaderFile?.kind === "prog" ? loaderFile.prog : null;
    // What the loader was admitted with (it then uses its metadata map as scratch space).
    const bound = loader?.aux.used_maps[0];
    const boundValue = bound?.directValue(0);
    const unsignedMetadata = boundValue instanceof Uint8Array && !sameBytes(boundValue, image.data);
    let retval: number;
    try {
      retval = bpf.progTestRun({ prog_fd: progFd, ctx_in: ctx }).retval;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      retval = -e.errno;
    }
    const kfuncStopped =
      schemeName === "kfunc" &&
      retval !== 0 &&
      loader !== null &&
      loader.aux.sig.verdict !== scheme("kfunc").verdicts.METADATA_VERIFIED;
    if (kfuncStopped) {
      return {
        outcome: "loader-refused",
        at: "bpf_loader_verify_metadata",
        errno: errnoName(-retval),
        admission,
        post,
        compromised: false,
      };
    }
    // Did the loader run with anything the trusted signer did not sign?
    let overridden = false;
    for (let id = kernel.maps.nextAfter(0); id !== undefined; id = kernel.maps.nextAfter(id)) {
      if (kernel.maps.get(id)?.max_entries === 0x4000) overridden = true;
    }
    return {
      outcome: "admitted",
      at: null,
      // A loader that fails on its own (not a check) says why.
      errno: retval === 0 ? null : errnoName(-retval),
      admission,
      post,
      compromised: unsignedMetadata || overridden,
    };
  } finally {
    policy.dispose();
    unRace();
    unObserve();
    proc.exit();
  }
}
