// A Multiboot2 loader (the GNU "Multiboot2 Specification", version 2.0),
// which QEMU's -kernel cannot do: a multiboot2 kernel boots straight from its
// ELF file, with no GRUB and no ISO. Where the specification leaves a choice,
// cr3 does what GRUB 2 does on a PC BIOS, since that is what kernels are
// tested with.
//
// - Header (3.1.1): magic 0xE85250D6, 8-byte aligned, within the first
//   32768 bytes, architecture 0 (i386; 4, 32-bit MIPS, is refused), and
//   magic + architecture + header_length + checksum == 0 mod 2^32. Tags
//   follow, 8-byte aligned, up to the end tag (type 0, size 8). As GRUB,
//   the end tag's type alone ends the tags, and header_length bounds
//   nothing but the checksum: GRUB walks the tags through the 32 KiB it read
//   (xv6-modded's header_length is 16, the fixed part only, with its tags
//   after it).
// - Header tags (3.1.3-3.1.13): information request (1; a required request
//   for a tag cr3 cannot give, the EFI ones and unknown ones, is refused),
//   address (2, the a.out kludge; needs the entry address tag 3), console
//   flags (4), framebuffer (5), module alignment (6; modules are always page
//   aligned), relocatable (10). EFI boot services (7) and the EFI entry
//   addresses (8, 9) only apply on EFI platforms (3.1.8-3.1.10), so a BIOS
//   loader ignores them, as GRUB does. Any other tag without the optional
//   flag is refused.
// - ELF32 and ELF64 PT_LOAD segments go to p_paddr (as GRUB; the entry point
//   is translated through the segment whose p_vaddr range holds e_entry).
//   Segments must lie in RAM the memory map calls available, below 4 GiB.
// - After the kernel, each page aligned: the modules, the ELF sections that
//   have no address (symbol and string tables, as GRUB loads them) and the
//   boot information structure (3.6): total_size, reserved, then in GRUB's
//   order the tags load base address (21), command line (1), boot loader
//   name (2, "cr3"), modules (3), memory map (6), ELF sections (9), basic
//   memory information (4), framebuffer (8), old and new ACPI RSDP (14, 15)
//   and the end tag.
// - Framebuffer: EGA text 80x25 at 0xB8000 (type 2) unless the kernel has a
//   framebuffer tag and the machine offers a linear framebuffer; then RGB
//   (type 1), 32 bpp XRGB8888, whatever depth the tag asked for.
//
// The machine state (3.3) is the CPU's business, as for multiboot1: EAX =
// 0x36D76289, EBX = the information structure's physical address, flat
// 32-bit protected mode, paging off, interrupts off.

import type { PhysicalBus } from "../machine/bus.ts";
import { hex, isElf, parseElf } from "./elf.ts";
import { ByteWriter } from "./byte-writer.ts";
import { LoadError } from "./load-error.ts";
import {
  MULTIBOOT_HEADER_MAGIC,
  MULTIBOOT_SEARCH_BYTES,
  findMultibootHeader,
  memUpperKiB,
  qemuMemoryMap,
  type BootMemory,
  type LoadedModule,
  type LoadedSegment,
  type MemoryMapEntry,
  type MultibootModule,
} from "./multiboot.ts";

export const MULTIBOOT2_HEADER_MAGIC = 0xe85250d6;
export const MULTIBOOT2_BOOTLOADER_MAGIC = 0x36d76289;
export const MULTIBOOT2_SEARCH_BYTES = 32768;
export const ARCHITECTURE_I386 = 0;
export const ARCHITECTURE_MIPS32 = 4;

// Header tag types (3.1.3-3.1.13).
export const HEADER_TAG_END = 0;
export const HEADER_TAG_INFORMATION_REQUEST = 1;
export const HEADER_TAG_ADDRESS = 2;
export const HEADER_TAG_ENTRY_ADDRESS = 3;
export const HEADER_TAG_CONSOLE_FLAGS = 4;
export const HEADER_TAG_FRAMEBUFFER = 5;
export const HEADER_TAG_MODULE_ALIGN = 6;
export const HEADER_TAG_EFI_BS = 7;
export const HEADER_TAG_ENTRY_ADDRESS_EFI32 = 8;
export const HEADER_TAG_ENTRY_ADDRESS_EFI64 = 9;
export const HEADER_TAG_RELOCATABLE = 10;
export const HEADER_TAG_OPTIONAL = 1;
export const CONSOLE_REQUIRED = 1 << 0;
export const CONSOLE_EGA_TEXT_SUPPORTED = 1 << 1;

// Boot information tag types (3.6).
export const TAG_END = 0;
export const TAG_CMDLINE = 1;
export const TAG_BOOT_LOADER_NAME = 2;
export const TAG_MODULE = 3;
export const TAG_BASIC_MEMINFO = 4;
export const TAG_BOOTDEV = 5;
export const TAG_MMAP = 6;
export const TAG_VBE = 7;
export const TAG_FRAMEBUFFER = 8;
export const TAG_ELF_SECTIONS = 9;
export const TAG_APM = 10;
export const TAG_EFI32 = 11;
export const TAG_EFI64 = 12;
export const TAG_SMBIOS = 13;
export const TAG_ACPI_OLD = 14;
export const TAG_ACPI_NEW = 15;
export const TAG_NETWORK = 16;
export const TAG_EFI_MMAP = 17;
export const TAG_EFI_BS = 18;
export const TAG_EFI32_IH = 19;
export const TAG_EFI64_IH = 20;
export const TAG_LOAD_BASE_ADDR = 21;

export const FRAMEBUFFER_TYPE_INDEXED = 0;
export const FRAMEBUFFER_TYPE_RGB = 1;
export const FRAMEBUFFER_TYPE_EGA_TEXT = 2;

const TAG_NAMES: Record<number, string> = {
  0: "end",
  1: "command line",
  2: "boot loader name",
  3: "modules",
  4: "basic memory information",
  5: "BIOS boot device",
  6: "memory map",
  7: "VBE information",
  8: "framebuffer information",
  9: "ELF sections",
  10: "APM table",
  11: "EFI 32-bit system table",
  12: "EFI 64-bit system table",
  13: "SMBIOS tables",
  14: "ACPI 1.0 RSDP",
  15: "ACPI 2.0 RSDP",
  16: "networking information",
  17: "EFI memory map",
  18: "EFI boot services not terminated",
  19: "EFI 32-bit image handle",
  20: "EFI 64-bit image handle",
  21: "image load base address",
};
/**
 * Information a kernel may require that cr3 never gives: the EFI tags (no
 * EFI firmware) and SMBIOS (not built). Types 5, 7, 10 and 16 are accepted
 * and omitted, as GRUB on a BIOS omits them when it has none to give.
 */
const UNAVAILABLE_INFORMATION = new Set([TAG_EFI32, TAG_EFI64, TAG_SMBIOS, TAG_EFI_MMAP, TAG_EFI_BS, TAG_EFI32_IH, TAG_EFI64_IH]);
const HEADER_TAG_NAMES: Record<number, string> = {
  1: "information request",
  2: "address",
  3: "entry address",
  4: "console flags",
  5: "framebuffer",
  6: "module alignment",
  7: "EFI boot services",
  8: "EFI i386 entry address",
  9: "EFI amd64 entry address",
  10: "relocatable",
};

export interface Multiboot2HeaderTag {
  readonly type: number;
  readonly flags: number;
  readonly size: number;
  /** Offset of the tag in the image. */
  readonly offset: number;
}

export interface Multiboot2Header {
  /** Byte offset of the magic in the image. */
  readonly offset: number;
  readonly architecture: number;
  readonly headerLength: number;
  readonly tags: readonly Multiboot2HeaderTag[];
  /** Information types the kernel requires (non-optional request tags). */
  readonly requiredInformation: readonly number[];
  readonly address?: { readonly headerAddr: number; readonly loadAddr: number; readonly loadEndAddr: number; readonly bssEndAddr: number };
  readonly entryAddress?: number;
  readonly consoleFlags?: number;
  /** The framebuffer tag's preferences (0: no preference). */
  readonly framebuffer?: { readonly width: number; readonly height: number; readonly depth: number; readonly optional: boolean };
  readonly moduleAlign: boolean;
  readonly relocatable?: { readonly minAddr: number; readonly maxAddr: number; readonly align: number; readonly preference: number };
  /** EFI tags seen and ignored (BIOS platform). */
  readonly efiTagsIgnored: readonly number[];
}

export interface Multiboot2Framebuffer {
  /** Physical address of the linear framebuffer. */
  readonly address: number;
  readonly width: number;
  readonly height: number;
  /** Bytes per row. */
  readonly pitch: number;
}

export interface Multiboot2Options {
  /** The command line (GRUB passes what follows the kernel path). Default "". */
  readonly append?: string;
  readonly modules?: readonly MultibootModule[];
  /** Default "cr3". */
  readonly bootLoaderName?: string;
  /**
   * RSDP copies for tags 14 and 15 (buildAcpiTables' rsdpV1 and rsdpV2); none if absent. As
   * GRUB, tag 15 only when there is a revision 2+ RSDP (QEMU's pc machine has none).
   */
  readonly acpi?: { readonly rsdpV1: Uint8Array; readonly rsdpV2: Uint8Array | null } | null;
  /** The machine's linear framebuffer, given to a kernel whose header asks for one. */
  readonly framebuffer?: Multiboot2Framebuffer | null;
}

export interface Multiboot2InfoTag {
  readonly type: number;
  /** Physical address of the tag. */
  readonly address: number;
  readonly size: number;
}

export interface Multiboot2Boot {
  readonly entry: number;
  readonly eax: number;
  /** Physical address of the boot information structure. */
  readonly ebx: number;
  readonly segments: readonly LoadedSegment[];
  readonly header: Multiboot2Header;
  readonly format: "elf32" | "elf64" | "a.out kludge";
  /** Where the image was loaded (tag 21), and how far it was moved from its link address. */
  readonly loadBase: number;
  readonly relocatedBy: number;
  readonly info: {
    readonly totalSize: number;
    readonly tags: readonly Multiboot2InfoTag[];
    readonly memLower: number;
    readonly memUpper: number;
    readonly memoryMap: readonly MemoryMapEntry[];
    readonly framebuffer: { readonly type: number; readonly address: number; readonly width: number; readonly height: number; readonly pitch: number; readonly bpp: number };
  };
  readonly modules: readonly LoadedModule[];
}

const PAGE = 4096;
const MIB = 1024 * 1024;
const SHT_NOBITS = 8;

/**
 * Finds and checks the multiboot2 header. Returns null when no 8-byte aligned
 * magic lies in the first 32 KiB; throws a LoadError when one does but the
 * header is unusable.
 */
export function findMultiboot2Header(image: Uint8Array): Multiboot2Header | null {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(image.length, MULTIBOOT2_SEARCH_BYTES);
  let problem: string | null = null;
  for (let at = 0; at + 16 <= limit; at += 8) {
    if (view.getUint32(at, true) !== MULTIBOOT2_HEADER_MAGIC) continue;
    const architecture = view.getUint32(at + 4, true);
    const headerLength = view.getUint32(at + 8, true);
    const checksum = view.getUint32(at + 12, true);
    if (((MULTIBOOT2_HEADER_MAGIC + architecture + headerLength + checksum) >>> 0) !== 0) {
      problem ??= `multiboot2 header at offset ${hex(at)} has a bad checksum (magic + architecture + header_length + checksum != 0)`;
      continue;
    }
    if (architecture !== ARCHITECTURE_I386) {
      const name = architecture === ARCHITECTURE_MIPS32 ? "32-bit MIPS" : "unknown";
      throw new LoadError(`multiboot2 header at offset ${hex(at)} is for architecture ${architecture} (${name}), not 0 (i386)`);
    }
    return parseHeaderTags(view, at, architecture, headerLength);
  }
  if (problem !== null) throw new LoadError(problem);
  return null;
}

function parseHeaderTags(view: DataView, at: number, architecture: number, headerLength: number): Multiboot2Header {
  const where = `multiboot2 header at offset ${hex(at)}`;
  const end = Math.min(view.byteLength, MULTIBOOT2_SEARCH_BYTES);
  const tags: Multiboot2HeaderTag[] = [];
  const requiredInformation: number[] = [];
  const efiTagsIgnored: number[] = [];
  let address: Multiboot2Header["address"];
  let entryAddress: number | undefined;
  let consoleFlags: number | undefined;
  let framebuffer: Multiboot2Header["framebuffer"];
  let relocatable: Multiboot2Header["relocatable"];
  let moduleAlign = false;
  let sawEnd = false;
  for (let p = at + 16; p + 8 <= end; ) {
    const type = view.getUint16(p, true);
    const flags = view.getUint16(p + 2, true);
    const size = view.getUint32(p + 4, true);
    // GRUB stops at the first tag of type 0 whatever its size says (avocados'
    // end tag says 12 bytes in the last 8 of its header_length).
    if (type === HEADER_TAG_END) {
      sawEnd = true;
      break;
    }
    const tagName = `tag type ${type}${HEADER_TAG_NAMES[type] ? ` (${HEADER_TAG_NAMES[type]})` : ""}`;
    if (size < 8 || p + size > end) {
      throw new LoadError(`${where}: ${tagName} at offset ${hex(p)} has size ${size}, running past the file's first 32 KiB, where a loader reads the header`);
    }
    tags.push({ type, flags, size, offset: p });
    const optional = (flags & HEADER_TAG_OPTIONAL) !== 0;
    const need = (bytes: number): void => {
      if (size < bytes) throw new LoadError(`${where}: ${tagName} has size ${size}, expected ${bytes}`);
    };
    const u32 = (i: number): number => view.getUint32(p + 8 + 4 * i, true);
    switch (type) {
      case HEADER_TAG_INFORMATION_REQUEST:
        if (!optional) {
          for (let i = 0; 8 + 4 * i + 4 <= size; i++) {
            const wanted = u32(i);
            if (UNAVAILABLE_INFORMATION.has(wanted) || !(wanted in TAG_NAMES)) {
              const name = TAG_NAMES[wanted] ?? "unknown";
              throw new LoadError(`${where} requires boot information tag ${wanted} (${name}), which cr3 cannot provide (the request tag is not optional)`);
            }
            requiredInformation.push(wanted);
          }
        }
        break;
      case HEADER_TAG_ADDRESS:
        need(24);
        address = { headerAddr: u32(0), loadAddr: u32(1), loadEndAddr: u32(2), bssEndAddr: u32(3) };
        break;
      case HEADER_TAG_ENTRY_ADDRESS:
        need(12);
        entryAddress = u32(0);
        break;
      case HEADER_TAG_CONSOLE_FLAGS:
        need(12);
        consoleFlags = u32(0);
        break;
      case HEADER_TAG_FRAMEBUFFER:
        need(20);
        framebuffer = { width: u32(0), height: u32(1), depth: u32(2), optional };
        break;
      case HEADER_TAG_MODULE_ALIGN:
        moduleAlign = true;
        break;
      case HEADER_TAG_EFI_BS:
      case HEADER_TAG_ENTRY_ADDRESS_EFI32:
      case HEADER_TAG_ENTRY_ADDRESS_EFI64:
        efiTagsIgnored.push(type);
        break;
      case HEADER_TAG_RELOCATABLE:
        need(24);
        relocatable = { minAddr: u32(0), maxAddr: u32(1), align: u32(2), preference: u32(3) };
        break;
      default:
        if (!optional) throw new LoadError(`${where} has required ${tagName}, which cr3 does not support`);
    }
    p += Math.ceil(size / 8) * 8;
  }
  if (!sawEnd) throw new LoadError(`${where} has no end tag (type 0, size 8) within the file's first 32 KiB`);
  return {
    offset: at,
    architecture,
    headerLength,
    tags,
    requiredInformation,
    address,
    entryAddress,
    consoleFlags,
    framebuffer,
    moduleAlign,
    relocatable,
    efiTagsIgnored,
  };
}

/**
 * Which loader boots `image`: 1 when it has a valid multiboot (version 1)
 * header, as QEMU's -kernel would use it even if a multiboot2 header is also
 * present; otherwise 2 when it has a valid multiboot2 header. Throws the
 * LoadError that says what is wrong otherwise.
 */
export function multibootVersionOf(image: Uint8Array): 1 | 2 {
  let mb1Error: LoadError | null = null;
  try {
    findMultibootHeader(image);
    return 1;
  } catch (e) {
    if (!(e instanceof LoadError)) throw e;
    mb1Error = e;
  }
  const mb2 = findMultiboot2Header(image); // throws its own, more precise, error
  if (mb2 !== null) return 2;
  if (hasMultiboot1Magic(image)) throw mb1Error;
  throw new LoadError(
    "no multiboot or multiboot2 header: neither magic 0x1BADB002 (4-byte aligned, first 8 KiB) nor 0xE85250D6 (8-byte aligned, first 32 KiB) is in the kernel",
  );
}

function hasMultiboot1Magic(image: Uint8Array): boolean {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (let at = 0; at + 4 <= Math.min(image.length, MULTIBOOT_SEARCH_BYTES); at += 4) {
    if (view.getUint32(at, true) === MULTIBOOT_HEADER_MAGIC) return true;
  }
  return false;
}

/**
 * What GRUB picks under QEMU for a framebuffer tag without a size: the mode
 * QEMU's standard VGA prefers in its EDID, 1280x800 (Dreamos64 asks for
 * 0x0x0 and gets 1280x800x32 from GRUB under QEMU 7.2).
 */
export const NO_PREFERENCE_MODE = { width: 1280, height: 800 } as const;

/**
 * The linear framebuffer size to give this kernel: null when it did not ask
 * for one (EGA text then), else its preferred width and height, with
 * NO_PREFERENCE_MODE where it states none (or an unreasonable one).
 */
export function framebufferModeFor(header: Multiboot2Header): { width: number; height: number } | null {
  const fb = header.framebuffer;
  if (fb === undefined) return null;
  const ok = (v: number, max: number): boolean => v >= 1 && v <= max;
  if (ok(fb.width, 4096) && ok(fb.height, 4096)) return { width: fb.width, height: fb.height };
  return { width: NO_PREFERENCE_MODE.width, height: NO_PREFERENCE_MODE.height };
}

interface Piece {
  readonly paddr: number;
  readonly bytes: Uint8Array;
  readonly memBytes: number;
  readonly source: string;
}

/** PT_LOAD segments with vaddr as a bigint: ELF64 kernels linked in the higher half. */
interface LoadSegment {
  readonly index: number;
  readonly offset: number;
  readonly paddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly vaddr: bigint;
}

export function loadMultiboot2(memory: BootMemory, image: Uint8Array, options: Multiboot2Options = {}): Multiboot2Boot {
  const header = findMultiboot2Header(image);
  if (header === null) throw new LoadError("no multiboot2 header (magic 0xE85250D6, 8-byte aligned) in the first 32 KiB of the kernel");
  const bus = memory.bus;
  const map = qemuMemoryMap(memory.config);

  let pieces: Piece[] = [];
  let entry: number;
  let format: Multiboot2Boot["format"];
  let elfInfo: ElfSectionSource | null = null;

  if (header.address) {
    // 3.1.5: load_addr -1 means "from the start of the file"; the text starts
    // in the file header_addr - load_addr bytes before the header.
    const a = header.address;
    format = "a.out kludge";
    if (header.entryAddress === undefined) throw new LoadError("multiboot2 header has an address tag but no entry address tag");
    const loadAddr = a.loadAddr === 0xffffffff ? a.headerAddr - header.offset : a.loadAddr;
    if (a.headerAddr < loadAddr) throw new LoadError(`address tag: header_addr ${hex(a.headerAddr)} is below load_addr ${hex(loadAddr)}`);
    const textOffset = header.offset - (a.headerAddr - loadAddr);
    if (textOffset < 0) throw new LoadError(`address tag: load_addr ${hex(loadAddr)} would start ${hex(-textOffset)} bytes before the file`);
    let loadSize: number;
    if (a.loadEndAddr === 0) loadSize = image.length - textOffset;
    else {
      if (a.loadEndAddr < loadAddr) throw new LoadError(`address tag: load_end_addr ${hex(a.loadEndAddr)} is below load_addr ${hex(loadAddr)}`);
      loadSize = a.loadEndAddr - loadAddr;
      if (textOffset + loadSize > image.length) {
        throw new LoadError(`address tag: load_end_addr ${hex(a.loadEndAddr)} asks for ${hex(loadSize)} bytes, past the end of the file`);
      }
    }
    let memSize = loadSize;
    if (a.bssEndAddr !== 0) {
      if (a.bssEndAddr < loadAddr + loadSize) {
        throw new LoadError(`address tag: bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded image ${hex(loadAddr + loadSize)}`);
      }
      memSize = a.bssEndAddr - loadAddr;
    }
    pieces.push({ paddr: loadAddr, bytes: image.subarray(textOffset, textOffset + loadSize), memBytes: memSize, source: "address-tag image" });
    entry = header.entryAddress;
  } else {
    if (!isElf(image)) throw new LoadError("kernel is not an ELF file and its multiboot2 header has no address tag");
    const elf = readLoadSegments(image);
    format = elf.elfClass === 64 ? "elf64" : "elf32";
    for (const s of elf.segments) {
      if (s.memsz === 0) continue;
      pieces.push({ paddr: s.paddr, bytes: image.subarray(s.offset, s.offset + s.filesz), memBytes: s.memsz, source: `ELF segment ${s.index}` });
    }
    if (pieces.length === 0) throw new LoadError("ELF kernel has no loadable segment (PT_LOAD with p_memsz > 0)");
    if (header.entryAddress !== undefined) entry = header.entryAddress;
    else {
      const holder = elf.segments.find((s) => s.vaddr <= elf.entry && elf.entry < s.vaddr + BigInt(s.memsz));
      if (holder === undefined) throw new LoadError(`ELF entry point 0x${elf.entry.toString(16)} lies in no loadable segment`);
      entry = Number(elf.entry - holder.vaddr) + holder.paddr;
    }
    elfInfo = { elfClass: elf.elfClass };
  }

  // Relocatable images (3.1.13): kept at their link address when it
  // satisfies the tag, else moved to the lowest (or highest) aligned place.
  const linkLow = Math.min(...pieces.map((p) => p.paddr));
  const linkHigh = Math.max(...pieces.map((p) => p.paddr + p.memBytes));
  let relocatedBy = 0;
  const rel = header.relocatable;
  if (rel) {
    const size = linkHigh - linkLow;
    const align = rel.align === 0 ? 1 : rel.align;
    const fits = linkLow >= rel.minAddr && linkHigh <= rel.maxAddr && linkLow % align === 0;
    if (!fits) {
      let start: number;
      if (rel.preference === 2) start = Math.floor((rel.maxAddr - size) / align) * align;
      else start = Math.ceil(Math.max(rel.minAddr, MIB) / align) * align;
      if (start < rel.minAddr || start + size > rel.maxAddr) {
        throw new LoadError(`relocatable tag: no ${hex(align)}-aligned place for ${hex(size)} bytes between ${hex(rel.minAddr)} and ${hex(rel.maxAddr)}`);
      }
      relocatedBy = start - linkLow;
      pieces = pieces.map((p) => ({ ...p, paddr: p.paddr + relocatedBy }));
      entry += relocatedBy;
    }
  }
  if (entry < 0 || entry > 0xffffffff) throw new LoadError(`entry point ${hex(entry)} lies outside the 32-bit address space a multiboot2 kernel starts in`);

  for (const p of pieces) checkAvailable(bus, map, p.paddr, p.paddr + p.memBytes, p.source);
  for (let i = 0; i < pieces.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = pieces[i], b = pieces[j];
      if (a.paddr < b.paddr + b.memBytes && b.paddr < a.paddr + a.memBytes) throw new LoadError(`${a.source} overlaps ${b.source} in physical memory`);
    }
  }
  for (const p of pieces) {
    const off = bus.ramOffsetOf(p.paddr);
    bus.ram.u8.set(p.bytes, off);
    bus.ram.u8.fill(0, off + p.bytes.length, off + p.memBytes);
  }
  const loadBase = linkLow + relocatedBy;
  const kernelHigh = linkHigh + relocatedBy;

  // After the kernel: modules (page aligned), then the unloaded ELF
  // sections, then the information structure (page aligned).
  const areaStart = pageAlign(kernelHigh);
  let cursor = areaStart;
  const modules = options.modules ?? [];
  const loadedModules: LoadedModule[] = [];
  const modulePlaces = modules.map((m) => {
    const start = cursor;
    cursor = pageAlign(start + m.data.length);
    return start;
  });
  const sections = elfInfo === null ? null : elfSections(image, elfInfo.elfClass);
  const sectionPlaces: number[] = [];
  if (sections !== null) {
    for (const s of sections.toLoad) {
      cursor = Math.ceil(cursor / s.align) * s.align;
      sectionPlaces.push(cursor);
      cursor += s.size;
    }
  }
  const infoAddress = pageAlign(cursor);

  const enc = new TextEncoder();
  const cstr = (s: string): Uint8Array => {
    const b = enc.encode(s);
    const out = new Uint8Array(b.length + 1);
    out.set(b);
    return out;
  };
  const info = new InfoWriter(infoAddress);
  info.tag(TAG_LOAD_BASE_ADDR, (w) => w.u32(loadBase));
  info.tag(TAG_CMDLINE, (w) => w.raw(cstr(options.append ?? "")));
  info.tag(TAG_BOOT_LOADER_NAME, (w) => w.raw(cstr(options.bootLoaderName ?? "cr3")));
  modules.forEach((m, i) => {
    const start = modulePlaces[i];
    loadedModules.push({ start, end: start + m.data.length, cmdlineAddress: infoAddress + info.length + 16 });
    info.tag(TAG_MODULE, (w) => w.u32(start).u32(start + m.data.length).raw(cstr(m.cmdline)));
  });
  info.tag(TAG_MMAP, (w) => {
    w.u32(24).u32(0); // entry_size, entry_version
    for (const e of map) w.u64(e.base).u64(e.length).u32(e.type).u32(0);
  });
  if (sections !== null) {
    sections.toLoad.forEach((s, i) => sections.patchAddress(s.index, sectionPlaces[i]));
    info.tag(TAG_ELF_SECTIONS, (w) => w.u32(sections.count).u32(sections.entrySize).u32(sections.stringIndex).raw(sections.table));
  }
  const memLower = map[0].type === 1 && map[0].base === 0 ? Math.floor(map[0].length / 1024) : 0;
  const memUpper = memUpperKiB(map);
  info.tag(TAG_BASIC_MEMINFO, (w) => w.u32(memLower).u32(memUpper));

  const fbInfo = chooseConsole(header, options.framebuffer ?? null);
  if (fbInfo !== null) {
    info.tag(TAG_FRAMEBUFFER, (w) => {
      w.u64(fbInfo.address).u32(fbInfo.pitch).u32(fbInfo.width).u32(fbInfo.height).u8(fbInfo.bpp).u8(fbInfo.type).u16(0);
      // XRGB8888: red at bit 16, green at 8, blue at 0, 8 bits each (3.6.12).
      if (fbInfo.type === FRAMEBUFFER_TYPE_RGB) w.u8(16).u8(8).u8(8).u8(8).u8(0).u8(8);
    });
  }
  if (options.acpi) {
    const { rsdpV1, rsdpV2 } = options.acpi;
    info.tag(TAG_ACPI_OLD, (w) => w.raw(rsdpV1));
    if (rsdpV2 !== null) info.tag(TAG_ACPI_NEW, (w) => w.raw(rsdpV2));
  }
  info.tag(TAG_END, () => {});
  const infoBytes = info.finish();

  checkAvailable(bus, map, areaStart, infoAddress + infoBytes.length, "the modules and boot information after the kernel");
  modules.forEach((m, i) => bus.ram.u8.set(m.data, bus.ramOffsetOf(modulePlaces[i])));
  if (sections !== null) {
    sections.toLoad.forEach((s, i) => bus.ram.u8.set(image.subarray(s.fileOffset, s.fileOffset + s.size), bus.ramOffsetOf(sectionPlaces[i])));
  }
  bus.ram.u8.set(infoBytes, bus.ramOffsetOf(infoAddress));

  return {
    entry,
    eax: MULTIBOOT2_BOOTLOADER_MAGIC,
    ebx: infoAddress,
    segments: pieces.map((p) => ({ paddr: p.paddr, fileBytes: p.bytes.length, memBytes: p.memBytes, source: p.source })),
    header,
    format,
    loadBase,
    relocatedBy,
    info: {
      totalSize: infoBytes.length,
      tags: info.tags,
      memLower,
      memUpper,
      memoryMap: map,
      framebuffer: fbInfo ?? { type: -1, address: 0, width: 0, height: 0, pitch: 0, bpp: 0 },
    },
    modules: loadedModules,
  };
}

interface ConsoleInfo {
  readonly type: number;
  readonly address: number;
  readonly width: number;
  readonly height: number;
  readonly pitch: number;
  readonly bpp: number;
}

/** The framebuffer tag to give (3.1.11-3.1.12, GRUB's choice); null for none. */
function chooseConsole(header: Multiboot2Header, fb: Multiboot2Framebuffer | null): ConsoleInfo | null {
  const flags = header.consoleFlags;
  const egaAccepted = flags === undefined || (flags & CONSOLE_EGA_TEXT_SUPPORTED) !== 0;
  const required = flags !== undefined && (flags & CONSOLE_REQUIRED) !== 0;
  if (header.framebuffer !== undefined && fb !== null) {
    return { type: FRAMEBUFFER_TYPE_RGB, address: fb.address, width: fb.width, height: fb.height, pitch: fb.pitch, bpp: 32 };
  }
  if (header.framebuffer !== undefined && !header.framebuffer.optional && !egaAccepted) {
    throw new LoadError("the kernel requires a linear framebuffer (multiboot2 framebuffer tag, not optional), and the machine has none");
  }
  if (egaAccepted) return { type: FRAMEBUFFER_TYPE_EGA_TEXT, address: 0xb8000, width: 80, height: 25, pitch: 160, bpp: 16 };
  if (required) throw new LoadError("the kernel requires a console (console flags tag) but supports neither EGA text nor a framebuffer cr3 can give");
  return null;
}

/** Boot information tags, each 8-byte aligned, after total_size and reserved. */
class InfoWriter {
  private readonly out: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  readonly tags: Multiboot2InfoTag[] = [];
  constructor(private readonly base: number) {}
  get length(): number {
    return this.out.length;
  }
  tag(type: number, body: (w: ByteWriter) => void): void {
    const start = this.out.length;
    const w = new ByteWriter(this.out);
    w.u32(type).u32(0);
    body(w);
    const size = this.out.length - start;
    for (let i = 0; i < 4; i++) this.out[start + 4 + i] = (size >>> (8 * i)) & 0xff;
    this.tags.push({ type, address: this.base + start, size });
    while (this.out.length % 8 !== 0) this.out.push(0);
  }
  finish(): Uint8Array {
    const bytes = Uint8Array.from(this.out);
    new DataView(bytes.buffer).setUint32(0, bytes.length, true);
    return bytes;
  }
}

/**
 * The PT_LOAD segments, through parseElf; an ELF64 kernel whose virtual
 * addresses lie in the higher half (beyond parseElf's 53 bits) is read here
 * with its p_vaddr and e_entry as bigints, its physical addresses still
 * checked to fit below 4 GiB.
 */
function readLoadSegments(image: Uint8Array): { elfClass: 32 | 64; entry: bigint; segments: LoadSegment[] } {
  try {
    const elf = parseElf(image);
    return {
      elfClass: elf.elfClass,
      entry: BigInt(elf.entry),
      segments: elf.segments.map((s) => ({ index: s.index, offset: s.offset, paddr: s.paddr, filesz: s.filesz, memsz: s.memsz, vaddr: BigInt(s.vaddr) })),
    };
  } catch (e) {
    if (!(e instanceof LoadError) || !/does not fit in 53 bits/.test(e.message) || image[4] !== 2) throw e;
  }
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const u64 = (at: number): bigint => v.getBigUint64(at, true);
  const small = (at: number, what: string): number => {
    const x = u64(at);
    if (x >= 2n ** 32n) throw new LoadError(`ELF field ${what} = 0x${x.toString(16)} lies above 4 GiB, out of reach of a multiboot2 kernel`);
    return Number(x);
  };
  const phoff = small(32, "e_phoff");
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > image.length) throw new LoadError(`truncated ELF: program header ${i} lies beyond the end of the file`);
    if (v.getUint32(at, true) !== 1) continue;
    const seg = {
      index: i,
      offset: small(at + 8, `p_offset of program header ${i}`),
      vaddr: u64(at + 16),
      paddr: small(at + 24, `p_paddr of program header ${i}`),
      filesz: small(at + 32, `p_filesz of program header ${i}`),
      memsz: small(at + 40, `p_memsz of program header ${i}`),
    };
    if (seg.filesz > seg.memsz) throw new LoadError(`segment ${i} is larger in the file than in memory`);
    if (seg.offset + seg.filesz > image.length) throw new LoadError(`truncated ELF: segment ${i} lies beyond the end of the file`);
    segments.push(seg);
  }
  return { elfClass: 64, entry: u64(24), segments };
}

interface ElfSectionSource {
  readonly elfClass: 32 | 64;
}

interface ElfSections {
  readonly count: number;
  readonly entrySize: number;
  readonly stringIndex: number;
  /** A copy of the section header table, sh_addr patched for the sections loaded here. */
  readonly table: Uint8Array;
  readonly toLoad: ReadonlyArray<{ index: number; fileOffset: number; size: number; align: number }>;
  patchAddress(index: number, address: number): void;
}

/**
 * The section header table for the ELF sections tag (3.6.13; num, entsize
 * and shndx as 32-bit fields, as GRUB writes them), and the sections GRUB
 * would load: those with a size, no address and contents in the file.
 * Null (no tag contents) when the table is absent or lies outside the file.
 */
function elfSections(image: Uint8Array, elfClass: 32 | 64): ElfSections | null {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const is64 = elfClass === 64;
  const shoff = is64 ? (v.getUint32(44, true) === 0 ? v.getUint32(40, true) : -1) : v.getUint32(32, true);
  const entrySize = v.getUint16(is64 ? 58 : 46, true);
  const count = v.getUint16(is64 ? 60 : 48, true);
  const stringIndex = v.getUint16(is64 ? 62 : 50, true);
  const minEntry = is64 ? 64 : 40;
  if (count === 0 || shoff <= 0 || entrySize < minEntry || shoff + count * entrySize > image.length) {
    return { count: 0, entrySize: minEntry, stringIndex: 0, table: new Uint8Array(0), toLoad: [], patchAddress() {} };
  }
  const table = image.slice(shoff, shoff + count * entrySize);
  const t = new DataView(table.buffer);
  const toLoad: Array<{ index: number; fileOffset: number; size: number; align: number }> = [];
  for (let i = 0; i < count; i++) {
    const at = i * entrySize;
    const type = t.getUint32(at + 4, true);
    const addressZero = is64 ? t.getUint32(at + 16, true) === 0 && t.getUint32(at + 20, true) === 0 : t.getUint32(at + 12, true) === 0;
    const fileOffset = is64 ? (t.getUint32(at + 28, true) === 0 ? t.getUint32(at + 24, true) : -1) : t.getUint32(at + 16, true);
    const size = is64 ? (t.getUint32(at + 36, true) === 0 ? t.getUint32(at + 32, true) : -1) : t.getUint32(at + 20, true);
    const alignField = is64 ? t.getUint32(at + 48, true) : t.getUint32(at + 32, true);
    if (!addressZero || size <= 0 || type === SHT_NOBITS || fileOffset < 0 || fileOffset + size > image.length) continue;
    toLoad.push({ index: i, fileOffset, size, align: alignField > 1 && alignField <= PAGE ? alignField : 1 });
  }
  return {
    count,
    entrySize,
    stringIndex,
    table,
    toLoad,
    patchAddress(index: number, address: number): void {
      const at = index * entrySize + (is64 ? 16 : 12);
      t.setUint32(at, address, true);
      if (is64) t.setUint32(at + 4, 0, true);
    },
  };
}

function pageAlign(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}


/** Refuses [start, end) unless the memory map calls all of it available and it is plain RAM. */
function checkAvailable(bus: PhysicalBus, map: readonly MemoryMapEntry[], start: number, end: number, what: string): void {
  if (end <= start) return;
  const span = `${what} (${hex(start)}-${hex(end - 1)})`;
  if (end > 2 ** 32) throw new LoadError(`${span} lies above 4 GiB, out of reach of a 32-bit multiboot2 kernel`);
  const available = map.some((e) => e.type === 1 && start >= e.base && end <= e.base + e.length);
  if (!available) {
    const ranges = map.filter((e) => e.type === 1).map((e) => `${hex(e.base)}-${hex(e.base + e.length - 1)}`).join(", ");
    throw new LoadError(`${span} is not in available RAM (${ranges})`);
  }
  for (let pa = start - (start % PAGE); pa < end; pa += PAGE) {
    if (bus.frameRamOffset(pa) < 0) throw new LoadError(`${span} overlaps memory-mapped I/O at ${hex(pa)}`);
  }
}
