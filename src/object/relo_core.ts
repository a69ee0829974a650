/**
 * CO-RE relocations. In gen mode libbpf does not apply them: `bpf_object__relocate_core()` only
 * attaches each .BTF.ext CO-RE record to the instruction it concerns (`record_relo_core`), and
 * at load `bpf_program_record_relos()` hands them to `bpf_gen__record_relo_core` so the kernel
 * performs them at BPF_PROG_LOAD. A userspace CO-RE (target BTF as an argument) would live here.
 */

import { Errno, ObjectError } from "./errors.js";
import type { CoreRelo } from "./load_ops.js";
import type { BpfObject, BpfProgram, CoreReloRec } from "./types.js";
import { ReloType } from "./types.js";

/**
 * Decodes a raw little-endian `struct bpf_core_relo` record. The object layer reads
 * `BtfExt`'s `decoded` records; this is kept for callers holding raw records (test/lsm).
 */
export function decodeCoreRelo(rec: Uint8Array): CoreReloRec {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  return {
    insnOff: dv.getUint32(0, true),
    typeId: dv.getUint32(4, true),
    accessStrOff: dv.getUint32(8, true),
    kind: dv.getUint32(12, true),
  };
}

/** The record `bpf_gen__record_relo_core` receives for a relocation now at `insnIdx`. */
export function coreReloForGen(rec: CoreReloRec, insnIdx: number): CoreRelo {
  return {
    insnOff: insnIdx * 8,
    typeId: rec.typeId,
    accessStrOff: rec.accessStrOff,
    kind: rec.kind,
  };
}

/**
 * libbpf `bpf_object__relocate_core()` in gen mode: records a RELO_CORE relocation on the
 * program owning each CO-RE record. `findProg` is libbpf's `find_prog_by_sec_insn`.
 */
export function recordCoreRelos(
  obj: BpfObject,
  findProg: (secIdx: number, insnIdx: number) => BpfProgram | undefined,
): void {
  const ext = obj.btfExt;
  if (!ext || ext.coreRelo.length === 0) return;
  for (const sec of ext.coreRelo) {
    if (sec.secName === "")
      throw new ObjectError(
        "OBJECT_BAD_BTF",
        obj.path,
        ".BTF.ext",
        -1,
        "CO-RE section with an empty name",
        -Errno.EINVAL,
      );
    const secIdx = obj.secNames.indexOf(sec.secName, 1);
    sec.decoded.forEach((rec, i) => {
      if (rec.insnOff % 8)
        throw new ObjectError(
          "OBJECT_BAD_RELO",
          obj.path,
          sec.secName,
          rec.insnOff,
          `CO-RE relo #${i}: insn offset not a multiple of 8`,
          -Errno.EINVAL,
        );
      const prog = secIdx > 0 ? findProg(secIdx, rec.insnOff / 8) : undefined;
      if (!prog?.autoload) return;
      const insnIdx = rec.insnOff / 8 - prog.secInsnOff;
      if (insnIdx >= prog.insns.length / 8)
        throw new ObjectError(
          "OBJECT_BAD_RELO",
          obj.path,
          sec.secName,
          rec.insnOff,
          `CO-RE relo #${i}: past the end of program '${prog.name}'`,
          -Errno.EINVAL,
        );
      prog.relos.push({
        type: ReloType.CORE,
        insnIdx,
        mapIdx: -1,
        symOff: 0,
        extIdx: -1,
        coreRelo: rec,
      });
    });
  }
}
