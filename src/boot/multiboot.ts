// A multiboot (version 1) kernel loader that behaves like QEMU's `-kernel`
// option (hw/i386/multiboot.c plus its option ROM, QEMU 7.2), so that a kernel
// sees the same hand-off under cr3 as under QEMU. Spec references are to the
// Multiboot Specification version 0.6.96.
//
// What it does:
// - finds the multiboot header: magic 0x1BADB002, 4-byte aligned, wholly in
//   the first 8192 bytes, magic + flags + checksum == 0 mod 2^32 (§3.1.1-2);
// - honours the header flags (§3.1.2): bit 0 (modules page aligned; cr3,
//   like QEMU, always page-aligns them), bit 1 (memory information; always
//   given), bit 16 (the "a.out kludge" address fields, §3.1.3, which take
//   precedence over ELF headers). Any other required bit (2..15, e.g. bit 2,
//   video mode) is refused with a LoadError naming it;
// - loads ELF32 or ELF64 PT_LOAD segments at p_paddr, zero-filling the bss,
//   refusing anything outside guest RAM, in the VGA/ROM hole 0xA0000-0xFFFFF
//   or above 4 GiB;
// - builds the multiboot information structure (§3.3) as QEMU does: the
//   88-byte structure at 0x9500, the memory map at 0x9000, and after the
//   kernel's last byte (page aligned, counted from the lowest load address)
//   the module list, the strings (module strings first, then the kernel
//   command line "<kernelPath> <append>"), the boot loader name "qemu" and,
//   page aligned, the modules one after the other;
// - writes them in QEMU's order: its option ROM writes the structure and the
//   memory map first, then copies one buffer from the kernel's lowest byte
//   to the end of the modules over them. A kernel that reaches into
//   0x9000-0x9557 (linked low, say) thus finds its own bytes there, and
//   zeros where the buffer holds only page padding (QEMU 7.2's padding is
//   uninitialised host memory; it reads as zeros in practice), as under QEMU.
//
// The machine state at the hand-off (§3.2) is the CPU's business and is not
// set here: EAX = 0x2BADB002, EBX = the information structure's physical
// address, CS a flat 32-bit read/execute code segment (base 0, limit
// 0xFFFFFFFF), DS/ES/FS/GS/SS flat 32-bit read/write data segments, CR0.PE = 1
// and CR0.PG = 0, EFLAGS.IF = 0 and VM = 0, EIP = entry. ESP, GDTR and IDTR
// are undefined; the kernel must set up its own.

import type { PhysicalBus } from "../machine/bus.ts";
import type { MachineConfig } from "../machine/config.ts";
import { LOW_RAM_LIMIT, LOW_RAM_LIMIT_LARGE, HIGH_RAM_BASE } from "../machine/memory-map.ts";
import { hex, isElf, parseElf, PF_X } from "./elf.ts";
import { LoadError } from "./load-error.ts";

export { LoadError } from "./load-error.ts";

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** §3.1.2: the header must lie wholly within the first 8192 bytes of the image. */
export const MULTIBOOT_SEARCH_BYTES = 8192;

export const HEADER_FLAG_PAGE_ALIGN = 1 << 0;
export const HEADER_FLAG_MEMORY_INFO = 1 << 1;
export const HEADER_FLAG_VIDEO_MODE = 1 << 2;
export const HEADER_FLAG_AOUT_KLUDGE = 1 << 16;

// Information structure flags (§3.3).
export const INFO_MEMORY = 1 << 0;
export const INFO_BOOT_DEVICE = 1 << 1;
export const INFO_CMDLINE = 1 << 2;
export const INFO_MODS = 1 << 3;
export const INFO_MMAP = 1 << 6;
export const INFO_BOOT_LOADER_NAME = 1 << 9;
/** What QEMU sets: 0x24F. */
export const QEMU_INFO_FLAGS = INFO_MEMORY | INFO_BOOT_DEVICE | INFO_CMDLINE | INFO_MODS | INFO_MMAP | INFO_BOOT_LOADER_NAME;

/** Where QEMU's option ROM leaves the memory map and the structure (below 640 KiB). */
export const MMAP_ADDRESS = 0x9000;
export const INFO_ADDRESS = 0x9500;
export const INFO_SIZE = 88;
/** QEMU's boot_device: BIOS drive 0x80, no partition (0xFF in each part). */
export const QEMU_BOOT_DEVICE = 0x8000ffff;

const HOLE_BASE = 0xa0000;
const HOLE_END = 0x100000;
const PAGE = 4096;
const MIB = 1024 * 1024;

export interface MultibootHeader {
  /** Byte offset of the magic in the image. */
  readonly offset: number;
  readonly flags: number;
  /** The §3.1.3 address fields, present when flag bit 16 is set. */
  readonly aout?: {
    readonly headerAddr: number;
    readonly loadAddr: number;
    readonly loadEndAddr: number;
    readonly bssEndAddr: number;
    readonly entryAddr: number;
  };
}

export interface MultibootModule {
  /** The module's string, as QEMU gives it: the -initrd path and any arguments after it. */
  readonly cmdline: string;
  readonly data: Uint8Array;
}

export interface MultibootOptions {
  /** The -kernel path; it starts the command line. Default "kernel". */
  readonly kernelPath?: string;
  /** The -append text. Default "". */
  readonly append?: string;
  readonly modules?: readonly MultibootModule[];
  /** Default "qemu", as QEMU says. */
  readonly bootLoaderName?: string;
}

export interface LoadedSegment {
  readonly paddr: number;
  /** Bytes copied from the image. */
  readonly fileBytes: number;
  /** Bytes occupied in memory; those past fileBytes are zeroed. */
  readonly memBytes: number;
  /** "ELF segment 2" or "a.out kludge image". */
  readonly source: string;
}

export interface LoadedModule {
  readonly start: number;
  /** One past the last byte (QEMU's mod_end). */
  readonly end: number;
  readonly cmdlineAddress: number;
}

export interface MemoryMapEntry {
  readonly base: number;
  readonly length: number;
  /** 1 available, 2 reserved. */
  readonly type: number;
}

export interface MultibootBoot {
  readonly entry: number;
  readonly eax: number;
  /** Physical address of the information structure. */
  readonly ebx: number;
  readonly segments: readonly LoadedSegment[];
  readonly header: MultibootHeader;
  readonly format: "elf32" | "elf64" | "a.out kludge";
  readonly info: {
    readonly flags: number;
    readonly memLower: number;
    readonly memUpper: number;
    readonly cmdlineAddress: number;
    readonly bootLoaderNameAddress: number;
    readonly modsAddress: number;
    readonly mmapAddress: number;
    readonly mmapLength: number;
    readonly memoryMap: readonly MemoryMapEntry[];
  };
  readonly modules: readonly LoadedModule[];
}

/** The guest memory the loader writes: MachineMemory satisfies it. */
export interface BootMemory {
  readonly bus: PhysicalBus;
  readonly config: MachineConfig;
}

const REQUIRED_BIT_NAMES: Record<number, string> = { 2: "video mode table" };

/** Finds and validates the multiboot header. */
const MULTIBOOT2_HEADER_MAGIC = 0xe85250d6;
const MULTIBOOT2_SEARCH_BYTES = 32768;

export function findMultibootHeader(image: Uint8Array): MultibootHeader {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(image.length, MULTIBOOT_SEARCH_BYTES);
  let badChecksumAt = -1;
  for (let at = 0; at + 12 <= limit; at += 4) {
    if (view.getUint32(at, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = view.getUint32(at + 4, true);
    const checksum = view.getUint32(at + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) {
      if (badChecksumAt < 0) badChecksumAt = at;
      continue;
    }
    for (let bit = 2; bit <= 15; bit++) {
      if (flags & (1 << bit)) {
        const name = REQUIRED_BIT_NAMES[bit] ?? "unknown";
        throw new LoadError(`multiboot header requires flag bit ${bit} (${name}), which this loader does not support`);
      }
    }
    if (!(flags & HEADER_FLAG_AOUT_KLUDGE)) return { offset: at, flags };
    if (at + 32 > limit) {
      throw new LoadError(`multiboot header at offset ${hex(at)} sets flag bit 16 but its address fields lie beyond the first 8192 bytes or the file`);
    }
    const f = (i: number): number => view.getUint32(at + 12 + 4 * i, true);
    return {
      offset: at,
      flags,
      aout: { headerAddr: f(0), loadAddr: f(1), loadEndAddr: f(2), bssEndAddr: f(3), entryAddr: f(4) },
    };
  }
  if (badChecksumAt >= 0) {
    throw new LoadError(`multiboot header at offset ${hex(badChecksumAt)} has a bad checksum (magic + flags + checksum != 0)`);
  }
  // Multiboot2 header: magic, architecture, header length, checksum, 8-byte
  // aligned in the first 32 KiB (Multiboot2 specification, section 3.1.1).
  for (let at = 0; at + 16 <= Math.min(image.length, MULTIBOOT2_SEARCH_BYTES); at += 8) {
    if (view.getUint32(at, true) !== MULTIBOOT2_HEADER_MAGIC) continue;
    const sum = (MULTIBOOT2_HEADER_MAGIC + view.getUint32(at + 4, true) + view.getUint32(at + 8, true) + view.getUint32(at + 12, true)) >>> 0;
    if (sum === 0) {
      throw new LoadError(
        `found a multiboot2 header at offset ${hex(at)}, but cr3 loads only multiboot1 kernels so far (magic 0x1BADB002 in the first 8192 bytes)`,
      );
    }
  }
  throw new LoadError("no multiboot header (magic 0x1BADB002, 4-byte aligned) in the first 8192 bytes of the kernel");
}

/**
 * The BIOS memory map (E820) QEMU 7.2 + SeaBIOS give an i440fx machine, as the
 * multiboot option ROM copies it: the EBDA's last KiB below 640 KiB and the
 * BIOS at 0xF0000 reserved, SeaBIOS's 128 KiB of tables at the top of low
 * RAM, the 256 KiB flash below 4 GiB, RAM above 4 GiB if any, and with 40 or
 * more physical-address bits the AMD HyperTransport window at 1012 GiB.
 */
export function qemuMemoryMap(config: MachineConfig): MemoryMapEntry[] {
  const ram = config.ramBytes;
  const lowEnd = ram <= LOW_RAM_LIMIT ? ram : LOW_RAM_LIMIT_LARGE;
  if (lowEnd < 2 * MIB) throw new LoadError(`multiboot needs at least 2 MiB of RAM, the machine has ${ram} bytes`);
  const map: MemoryMapEntry[] = [
    { base: 0, length: 0x9fc00, type: 1 },
    { base: 0x9fc00, length: 0x400, type: 2 },
    { base: 0xf0000, length: 0x10000, type: 2 },
    { base: HOLE_END, length: lowEnd - HOLE_END - 0x20000, type: 1 },
    { base: lowEnd - 0x20000, length: 0x20000, type: 2 },
    { base: 0xfffc0000, length: 0x40000, type: 2 },
  ];
  if (ram > lowEnd) map.push({ base: HIGH_RAM_BASE, length: ram - lowEnd, type: 1 });
  if (config.maxPhysAddrBits >= 40) map.push({ base: 0xfd00000000, length: 0x300000000, type: 2 });
  return map;
}

/** mem_upper as QEMU's option ROM computes it: KiB of available RAM contiguous from 1 MiB, below 4 GiB. */
export function memUpperKiB(map: readonly MemoryMapEntry[]): number {
  let top = MIB;
  for (let grown = true; grown; ) {
    grown = false;
    for (const e of map) {
      if (e.type === 1 && e.base + e.length <= 2 ** 32 && e.base <= top && top < e.base + e.length) {
        top = e.base + e.length;
        grown = true;
      }
    }
  }
  return (top - MIB) / 1024;
}

interface Piece {
  readonly paddr: number;
  readonly bytes: Uint8Array;
  readonly memBytes: number;
  readonly source: string;
}

export function loadMultiboot(memory: BootMemory, image: Uint8Array, options: MultibootOptions = {}): MultibootBoot {
  const header = findMultibootHeader(image);
  const pieces: Piece[] = [];
  let entry: number;
  let format: MultibootBoot["format"];

  if (header.aout) {
    // §3.1.3: header_addr is where the magic lands; load_addr the start of the
    // text, so the text starts in the file header_addr - load_addr bytes
    // before the header. load_end_addr 0: to the end of the file;
    // bss_end_addr 0: no bss.
    const a = header.aout;
    format = "a.out kludge";
    if (a.headerAddr < a.loadAddr) {
      throw new LoadError(`a.out kludge: header_addr ${hex(a.headerAddr)} is below load_addr ${hex(a.loadAddr)}`);
    }
    const textOffset = header.offset - (a.headerAddr - a.loadAddr);
    if (textOffset < 0) {
      throw new LoadError(`a.out kludge: load_addr ${hex(a.loadAddr)} would start ${hex(-textOffset)} bytes before the file`);
    }
    let loadSize: number;
    if (a.loadEndAddr === 0) loadSize = image.length - textOffset;
    else {
      if (a.loadEndAddr < a.loadAddr) throw new LoadError(`a.out kludge: load_end_addr ${hex(a.loadEndAddr)} is below load_addr ${hex(a.loadAddr)}`);
      loadSize = a.loadEndAddr - a.loadAddr;
      if (textOffset + loadSize > image.length) {
        throw new LoadError(`a.out kludge: load_end_addr ${hex(a.loadEndAddr)} asks for ${hex(loadSize)} bytes, past the end of the file`);
      }
    }
    let memSize = loadSize;
    if (a.bssEndAddr !== 0) {
      if (a.bssEndAddr < a.loadAddr + loadSize) {
        throw new LoadError(`a.out kludge: bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded image ${hex(a.loadAddr + loadSize)}`);
      }
      memSize = a.bssEndAddr - a.loadAddr;
    }
    pieces.push({ paddr: a.loadAddr, bytes: image.subarray(textOffset, textOffset + loadSize), memBytes: memSize, source: "a.out kludge image" });
    entry = a.entryAddr;
  } else {
    if (!isElf(image)) {
      throw new LoadError("kernel is not an ELF file and its multiboot header does not set flag bit 16 (a.out kludge)");
    }
    const elf = parseElf(image);
    format = elf.elfClass === 64 ? "elf64" : "elf32";
    entry = elf.entry;
    for (const s of elf.segments) {
      if (s.memsz === 0) continue;
      pieces.push({ paddr: s.paddr, bytes: image.subarray(s.offset, s.offset + s.filesz), memBytes: s.memsz, source: `ELF segment ${s.index}` });
      // e_entry is a virtual address; like QEMU's ELF loader, translate it
      // through the executable segment holding it when p_vaddr != p_paddr.
      if ((s.flags & PF_X) && s.vaddr !== s.paddr && elf.entry >= s.vaddr && elf.entry < s.vaddr + s.filesz) {
        entry = elf.entry - s.vaddr + s.paddr;
      }
    }
    if (pieces.length === 0) throw new LoadError("ELF kernel has no loadable segment (PT_LOAD with p_memsz > 0)");
  }
  if (entry > 0xffffffff) throw new LoadError(`entry point ${hex(entry)} lies above 4 GiB, out of reach of a 32-bit multiboot entry`);

  for (const p of pieces) checkRegion(memory.bus, p.paddr, p.paddr + p.memBytes, p.source);
  for (let i = 0; i < pieces.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = pieces[i], b = pieces[j];
      if (a.paddr < b.paddr + b.memBytes && b.paddr < a.paddr + a.memBytes) {
        throw new LoadError(`${a.source} overlaps ${b.source} in physical memory`);
      }
    }
  }
  // QEMU's buffer: the kernel from its lowest to its highest byte, then (page
  // aligned) the module list, the strings and the loader name, then (page
  // aligned) each module.
  const kernelLow = Math.min(...pieces.map((p) => p.paddr));
  const kernelHigh = Math.max(...pieces.map((p) => p.paddr + p.memBytes));
  const modules = options.modules ?? [];
  const enc = new TextEncoder();
  const cstr = (s: string): Uint8Array => {
    const b = enc.encode(s);
    const out = new Uint8Array(b.length + 1);
    out.set(b);
    return out;
  };
  const kernelCmdline = cstr(`${options.kernelPath ?? "kernel"} ${options.append ?? ""}`);
  const moduleStrings = modules.map((m) => cstr(m.cmdline));
  const loaderName = cstr(options.bootLoaderName ?? "qemu");
  const modsAddress = kernelLow + pageAlign(kernelHigh - kernelLow);
  let cursor = modsAddress + 16 * modules.length;
  const stringsLength = kernelCmdline.length + moduleStrings.reduce((n, s) => n + s.length, 0);
  const bootLoaderNameAddress = cursor + stringsLength;
  let bufferEnd = kernelLow + pageAlign(bootLoaderNameAddress + loaderName.length - kernelLow);
  const modulePlaces = modules.map((m) => {
    const start = bufferEnd;
    bufferEnd = kernelLow + pageAlign(start + m.data.length - kernelLow);
    return start;
  });
  checkRegion(memory.bus, modsAddress, bufferEnd, "the multiboot information and modules after the kernel");
  const cmdlineAddress = cursor + moduleStrings.reduce((n, s) => n + s.length, 0);

  // First what QEMU's option ROM writes in real mode. The memory map (§3.3
  // mmap_*): entries of size (20, not counting itself), base_addr, length,
  // type, as the option ROM copies them from E820.
  const bus = memory.bus;
  const map = qemuMemoryMap(memory.config);
  map.forEach((e, i) => {
    const at = MMAP_ADDRESS + 24 * i;
    bus.write32(at, 20);
    bus.write64(at + 4, e.base % 2 ** 32, Math.floor(e.base / 2 ** 32));
    bus.write64(at + 12, e.length % 2 ** 32, Math.floor(e.length / 2 ** 32));
    bus.write32(at + 20, e.type);
  });
  const mmapLength = 24 * map.length;
  // mem_lower from INT 12h (SeaBIOS: 640 KiB less the 1 KiB EBDA).
  const memLower = map[0].length / 1024;
  const memUpper = memUpperKiB(map);

  for (let i = 0; i < INFO_SIZE; i += 4) bus.write32(INFO_ADDRESS + i, 0);
  bus.write32(INFO_ADDRESS + 0, QEMU_INFO_FLAGS);
  bus.write32(INFO_ADDRESS + 4, memLower);
  bus.write32(INFO_ADDRESS + 8, memUpper);
  bus.write32(INFO_ADDRESS + 12, QEMU_BOOT_DEVICE);
  bus.write32(INFO_ADDRESS + 16, cmdlineAddress);
  bus.write32(INFO_ADDRESS + 20, modules.length);
  bus.write32(INFO_ADDRESS + 24, modsAddress);
  bus.write32(INFO_ADDRESS + 44, mmapLength);
  bus.write32(INFO_ADDRESS + 48, MMAP_ADDRESS);
  bus.write32(INFO_ADDRESS + 64, bootLoaderNameAddress);

  // Then QEMU's buffer, kernelLow to bufferEnd, over them: padding reads as
  // zeros, the kernel's segments, the module list, strings and modules.
  const infoEnd = INFO_ADDRESS + INFO_SIZE;
  if (kernelLow < infoEnd && MMAP_ADDRESS < bufferEnd) {
    bus.ram.u8.fill(0, bus.ramOffsetOf(Math.max(kernelLow, MMAP_ADDRESS)), bus.ramOffsetOf(Math.min(bufferEnd, infoEnd)));
  }
  for (const p of pieces) {
    const off = bus.ramOffsetOf(p.paddr);
    bus.ram.u8.set(p.bytes, off);
    bus.ram.u8.fill(0, off + p.bytes.length, off + p.memBytes);
  }
  const put = (pa: number, bytes: Uint8Array): void => bus.ram.u8.set(bytes, bus.ramOffsetOf(pa));
  const loaded: LoadedModule[] = [];
  modules.forEach((m, i) => {
    put(cursor, moduleStrings[i]);
    const entryAt = modsAddress + 16 * i;
    const start = modulePlaces[i];
    put(start, m.data);
    bus.write32(entryAt, start);
    bus.write32(entryAt + 4, start + m.data.length);
    bus.write32(entryAt + 8, cursor);
    bus.write32(entryAt + 12, 0);
    loaded.push({ start, end: start + m.data.length, cmdlineAddress: cursor });
    cursor += moduleStrings[i].length;
  });
  put(cmdlineAddress, kernelCmdline);
  put(bootLoaderNameAddress, loaderName);

  return {
    entry,
    eax: MULTIBOOT_BOOTLOADER_MAGIC,
    ebx: INFO_ADDRESS,
    segments: pieces.map((p) => ({ paddr: p.paddr, fileBytes: p.bytes.length, memBytes: p.memBytes, source: p.source })),
    header,
    format,
    info: {
      flags: QEMU_INFO_FLAGS,
      memLower,
      memUpper,
      cmdlineAddress,
      bootLoaderNameAddress,
      modsAddress,
      mmapAddress: MMAP_ADDRESS,
      mmapLength,
      memoryMap: map,
    },
    modules: loaded,
  };
}

function pageAlign(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}

/** Refuses [start, end) unless it is plain RAM the loader may write. */
function checkRegion(bus: PhysicalBus, start: number, end: number, what: string): void {
  if (end <= start) return;
  const span = `${what} (${hex(start)}-${hex(end - 1)})`;
  if (end > 2 ** 32) throw new LoadError(`${span} lies above 4 GiB, out of reach of a 32-bit multiboot kernel`);
  if (start < HOLE_END && HOLE_BASE < end) {
    throw new LoadError(`${span} overlaps the VGA/ROM hole ${hex(HOLE_BASE)}-${hex(HOLE_END - 1)}`);
  }
  const inRam = bus.ranges.some((r) => start >= r.base && end <= r.base + r.size);
  if (!inRam) {
    const ranges = bus.ranges.map((r) => `${hex(r.base)}-${hex(r.base + r.size - 1)}`).join(", ");
    throw new LoadError(`${span} lies outside guest RAM (${ranges})`);
  }
  // MMIO mapped over RAM (the VGA window is already excluded above).
  for (let pa = start - (start % PAGE); pa < end; pa += PAGE) {
    if (bus.frameRamOffset(pa) < 0) throw new LoadError(`${span} overlaps memory-mapped I/O at ${hex(pa)}`);
  }
}
