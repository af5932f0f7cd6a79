// A parser for little-endian x86 ELF executables (ELF32/EM_386, ELF32 or
// ELF64/EM_X86_64), written against the System V ABI "ELF" specification
// (generic ABI, chapters 4 "Object Files" and 5 "Program Loading").
//
// Nothing in the file is trusted: every offset and size is checked against
// the file before it is read, and every problem is a LoadError with a
// one-line message. 64-bit fields are read as two 32-bit halves and must fit
// in 53 bits (a Number); a field that does not (a higher-half virtual address
// such as 0xffffffff80000000, for instance) is rejected by name.

import { LoadError } from "./load-error.ts";

export const EM_386 = 3;
export const EM_X86_64 = 62;
export const ET_EXEC = 2;
export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** One PT_LOAD program header. */
export interface ElfSegment {
  /** Index of the program header in the table. */
  readonly index: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly paddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

export interface ElfImage {
  readonly elfClass: 32 | 64;
  readonly machine: number;
  readonly entry: number;
  /** The PT_LOAD segments, in program-header order. */
  readonly segments: readonly ElfSegment[];
  /** Number of program headers of any type. */
  readonly programHeaderCount: number;
}

const EI_NIDENT = 16;
const ELF32_EHDR_SIZE = 52;
const ELF64_EHDR_SIZE = 64;
const ELF32_PHDR_SIZE = 32;
const ELF64_PHDR_SIZE = 56;
/** gABI: e_phnum == PN_XNUM means the real count is in section header 0's sh_info. */
const PN_XNUM = 0xffff;

const TYPE_NAMES: Record<number, string> = { 0: "ET_NONE", 1: "ET_REL, a relocatable object", 3: "ET_DYN, a shared object or PIE", 4: "ET_CORE, a core dump" };

/** True if `bytes` starts with the ELF magic \x7fELF. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

export function parseElf(bytes: Uint8Array): ElfImage {
  if (bytes.length === 0) throw new LoadError("not an ELF file (the file is empty)");
  if (!isElf(bytes)) throw new LoadError("not an ELF file (no \\x7fELF magic)");
  if (bytes.length < EI_NIDENT) {
    throw new LoadError(`truncated ELF: the file has ${bytes.length} bytes, fewer than the 16-byte identification`);
  }
  const cls = bytes[4]; // EI_CLASS
  if (cls !== 1 && cls !== 2) throw new LoadError(`unsupported ELF class ${cls} (expected 1 for ELF32 or 2 for ELF64)`);
  const is64 = cls === 2;
  const data = bytes[5]; // EI_DATA
  if (data === 2) throw new LoadError(`big-endian ${is64 ? "ELF64" : "ELF32"} file (EI_DATA 2); x86 executables are little-endian`);
  if (data !== 1) throw new LoadError(`unsupported ELF data encoding ${data} (expected 1, little-endian)`);
  if (bytes[6] !== 1) throw new LoadError(`unsupported ELF identification version ${bytes[6]} (expected 1)`);

  const ehsize = is64 ? ELF64_EHDR_SIZE : ELF32_EHDR_SIZE;
  if (bytes.length < ehsize) {
    throw new LoadError(`truncated ELF: the ${is64 ? "ELF64" : "ELF32"} header needs ${ehsize} bytes, the file has ${bytes.length}`);
  }
  const r = new Reader(bytes);
  const type = r.u16(16);
  if (type !== ET_EXEC) {
    throw new LoadError(`not an executable ELF (e_type ${type}${TYPE_NAMES[type] ? `, ${TYPE_NAMES[type]}` : ""}; expected ET_EXEC)`);
  }
  const machine = r.u16(18);
  if (machine !== EM_386 && machine !== EM_X86_64) {
    throw new LoadError(`ELF for machine ${machine}, not x86 (expected EM_386 = 3 or EM_X86_64 = 62)`);
  }
  if (is64 && machine === EM_386) throw new LoadError("ELF64 file for machine EM_386 (an i386 executable must be ELF32)");
  const version = r.u32(20);
  if (version !== 1) throw new LoadError(`unsupported ELF version ${version} (expected 1)`);

  const entry = is64 ? r.u64(24, "e_entry") : r.u32(24);
  const phoff = is64 ? r.u64(32, "e_phoff") : r.u32(28);
  const hdrSize = r.u16(is64 ? 52 : 40);
  const phentsize = r.u16(is64 ? 54 : 42);
  const phnum = r.u16(is64 ? 56 : 44);
  if (hdrSize < ehsize) throw new LoadError(`bad ELF header: e_ehsize ${hdrSize} is smaller than ${ehsize}`);
  if (phnum === PN_XNUM) throw new LoadError("ELF uses the extended program header count (e_phnum = PN_XNUM), which is not supported");

  const minPhent = is64 ? ELF64_PHDR_SIZE : ELF32_PHDR_SIZE;
  if (phnum > 0 && phentsize < minPhent) {
    throw new LoadError(`bad ELF header: e_phentsize ${phentsize} is smaller than a program header (${minPhent} bytes)`);
  }
  // The whole table first, so a cut-short file names the first missing header.
  for (let i = 0; i < phnum; i++) {
    if (phoff + i * phentsize + minPhent > bytes.length) {
      throw new LoadError(`truncated ELF: program header ${i} lies beyond the end of the file`);
    }
  }
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (r.u32(at) !== PT_LOAD) continue;
    const seg = is64
      ? {
          index: i,
          flags: r.u32(at + 4),
          offset: r.u64(at + 8, `p_offset of program header ${i}`),
          vaddr: r.u64(at + 16, `p_vaddr of program header ${i}`),
          paddr: r.u64(at + 24, `p_paddr of program header ${i}`),
          filesz: r.u64(at + 32, `p_filesz of program header ${i}`),
          memsz: r.u64(at + 40, `p_memsz of program header ${i}`),
          align: r.u64(at + 48, `p_align of program header ${i}`),
        }
      : {
          index: i,
          offset: r.u32(at + 4),
          vaddr: r.u32(at + 8),
          paddr: r.u32(at + 12),
          filesz: r.u32(at + 16),
          memsz: r.u32(at + 20),
          flags: r.u32(at + 24),
          align: r.u32(at + 28),
        };
    if (seg.filesz > seg.memsz) {
      throw new LoadError(`segment ${i} is larger in the file than in memory (p_filesz ${hex(seg.filesz)} > p_memsz ${hex(seg.memsz)})`);
    }
    if (seg.offset + seg.filesz > bytes.length) {
      throw new LoadError(
        `truncated ELF: segment ${i} (file bytes ${hex(seg.offset)}-${hex(seg.offset + seg.filesz)}) lies beyond the end of the file (${hex(bytes.length)} bytes)`,
      );
    }
    // An ELF32 image lives in a 32-bit address space: a segment may end at
    // 4 GiB but not wrap past it. ELF64 addresses are bounded by 2^53 above.
    const limit = is64 ? 2 ** 53 : 2 ** 32;
    if (seg.paddr + seg.memsz > limit || seg.vaddr + seg.memsz > limit) {
      throw new LoadError(`segment ${i} wraps past the end of the ${is64 ? "53-bit" : "32-bit"} address space`);
    }
    segments.push(seg);
  }
  return { elfClass: is64 ? 64 : 32, machine, entry, segments, programHeaderCount: phnum };
}

class Reader {
  private readonly view: DataView;
  constructor(bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  /** A 64-bit field as a Number; LoadError naming `field` if it needs more than 53 bits. */
  u64(at: number, field: string): number {
    const low = this.view.getUint32(at, true);
    const high = this.view.getUint32(at + 4, true);
    if (high >= 2 ** 21) {
      throw new LoadError(`ELF field ${field} = 0x${high.toString(16).padStart(8, "0")}${low.toString(16).padStart(8, "0")} does not fit in 53 bits`);
    }
    return high * 2 ** 32 + low;
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
