/** A minimal raw BTF blob builder for tests (what btf__new_empty() + btf__add_int() produce). */

/** BTF with one signed 4-byte `int` type, like the selftest's btf__add_int(btf, "int", 4, SIGNED). */
export function btfWithInt(): Uint8Array {
  const strings = new TextEncoder().encode("\0int\0");
  const types = new Uint8Array(16);
  const tv = new DataView(types.buffer);
  tv.setUint32(0, 1, true); // name_off -> "int"
  tv.setUint32(4, 1 << 24, true); // kind INT, vlen 0
  tv.setUint32(8, 4, true); // size
  tv.setUint32(12, (1 << 24) | 32, true); // encoding SIGNED, offset 0, bits 32
  return btfBlob(types, strings);
}

/** Header + type section + string section. */
export function btfBlob(types: Uint8Array, strings: Uint8Array): Uint8Array {
  const out = new Uint8Array(24 + types.length + strings.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  dv.setUint8(2, 1);
  dv.setUint8(3, 0);
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, types.length, true);
  dv.setUint32(16, types.length, true);
  dv.setUint32(20, strings.length, true);
  out.set(types, 24);
  out.set(strings, 24 + types.length);
  return out;
}
