/**
 * A small ELF64 writer for tests: lays out the given sections after the header, appends a
 * `.shstrtab` and the section header table. Section `i` of `sections` gets index `i + 1`.
 */

export interface BuiltSection {
  name: string;
  type: number;
  flags?: bigint;
  data?: Uint8Array;
  /** sh_size for SHT_NOBITS (else data.length) */
  size?: number;
  link?: number;
  info?: number;
  addralign?: number;
  entsize?: number;
}

export interface BuildOptions {
  littleEndian?: boolean;
  machine?: number;
  type?: number;
}

/** Writes an ELF64 relocatable object holding `sections` (plus the null section and .shstrtab). */
export function buildElf(sections: BuiltSection[], opts: BuildOptions = {}): Uint8Array {
  const le = opts.littleEndian ?? true;
  const enc = new TextEncoder();
  const names: number[] = [0];
  const nameOffs: number[] = [];
  for (const s of [...sections, { name: ".shstrtab" }]) {
    nameOffs.push(names.length);
    names.push(...enc.encode(s.name), 0);
  }
  const all: BuiltSection[] = [
    ...sections,
    { name: ".shstrtab", type: 3, data: new Uint8Array(names), addralign: 1 },
  ];
  let off = 64;
  const offs: number[] = [];
  for (const s of all) {
    off = (off + 7) & ~7;
    offs.push(off);
    if (s.type !== 8) off += s.data?.length ?? 0;
  }
  const shoff = (off + 7) & ~7;
  const shnum = all.length + 1;
  const out = new Uint8Array(shoff + shnum * 64);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, le ? 1 : 2, 1], 0);
  dv.setUint16(16, opts.type ?? 1, le);
  dv.setUint16(18, opts.machine ?? 247, le);
  dv.setUint32(20, 1, le);
  dv.setBigUint64(40, BigInt(shoff), le);
  dv.setUint16(52, 64, le);
  dv.setUint16(58, 64, le);
  dv.setUint16(60, shnum, le);
  dv.setUint16(62, shnum - 1, le);
  all.forEach((s, i) => {
    if (s.type !== 8 && s.data) out.set(s.data, offs[i]);
    const h = shoff + (i + 1) * 64;
    dv.setUint32(h, nameOffs[i], le);
    dv.setUint32(h + 4, s.type, le);
    dv.setBigUint64(h + 8, s.flags ?? 0n, le);
    dv.setBigUint64(h + 24, BigInt(offs[i]), le);
    dv.setBigUint64(h + 32, BigInt(s.size ?? s.data?.length ?? 0), le);
    dv.setUint32(h + 40, s.link ?? 0, le);
    dv.setUint32(h + 44, s.info ?? 0, le);
    dv.setBigUint64(h + 48, BigInt(s.addralign ?? 1), le);
    dv.setBigUint64(h + 56, BigInt(s.entsize ?? 0), le);
  });
  return out;
}
