// Builds minimal little-endian ELF executables for loader tests.

import { EM_386, EM_X86_64, PF_R, PF_X } from "../../src/boot/elf.ts";

export interface TestSegment {
  type?: number;
  flags?: number;
  offset: number;
  vaddr: number;
  paddr?: number;
  filesz: number;
  memsz: number;
}

/** A minimal little-endian ELF executable: header, program headers, then `size` bytes total. */
export function makeElf(opts: { is64?: boolean; machine?: number; entry: number; segments: TestSegment[]; size: number }): Uint8Array {
  const is64 = opts.is64 ?? false;
  const bytes = new Uint8Array(opts.size);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, opts.machine ?? (is64 ? EM_X86_64 : EM_386), true);
  v.setUint32(20, 1, true);
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  if (is64) {
    v.setBigUint64(24, BigInt(opts.entry), true);
    v.setBigUint64(32, BigInt(ehsize), true);
    v.setUint16(52, ehsize, true);
    v.setUint16(54, phentsize, true);
    v.setUint16(56, opts.segments.length, true);
  } else {
    v.setUint32(24, opts.entry, true);
    v.setUint32(28, ehsize, true);
    v.setUint16(40, ehsize, true);
    v.setUint16(42, phentsize, true);
    v.setUint16(44, opts.segments.length, true);
  }
  opts.segments.forEach((s, i) => {
    const at = ehsize + i * phentsize;
    const paddr = s.paddr ?? s.vaddr;
    const flags = s.flags ?? PF_R | PF_X;
    v.setUint32(at, s.type ?? 1, true);
    if (is64) {
      v.setUint32(at + 4, flags, true);
      v.setBigUint64(at + 8, BigInt(s.offset), true);
      v.setBigUint64(at + 16, BigInt(s.vaddr), true);
      v.setBigUint64(at + 24, BigInt(paddr), true);
      v.setBigUint64(at + 32, BigInt(s.filesz), true);
      v.setBigUint64(at + 40, BigInt(s.memsz), true);
      v.setBigUint64(at + 48, 0x1000n, true);
    } else {
      v.setUint32(at + 4, s.offset, true);
      v.setUint32(at + 8, s.vaddr, true);
      v.setUint32(at + 12, paddr, true);
      v.setUint32(at + 16, s.filesz, true);
      v.setUint32(at + 20, s.memsz, true);
      v.setUint32(at + 24, flags, true);
      v.setUint32(at + 28, 0x1000, true);
    }
  });
  return bytes;
}
