// The multiboot2 loader against the Multiboot2 Specification 2.0 (header
// 3.1, machine state 3.3, boot information 3.6) and GRUB 2's choices where
// the spec leaves one. The boot information is read back from guest RAM
// with the parser below, written from the spec's tag layouts.

import { describe, expect, it } from "vitest";
import { buildAcpiTables } from "../src/boot/acpi-tables.ts";
import { LoadError } from "../src/boot/load-error.ts";
import { findMultiboot2Header, framebufferModeFor, loadMultiboot2, multibootVersionOf } from "../src/boot/multiboot2.ts";
import { createMachineMemory, type MachineMemory } from "../src/machine/memory.ts";
import { MIB } from "../src/machine/ram.ts";
import { makeElf } from "./helpers/elf-builder.ts";

const machine = (): MachineMemory => createMachineMemory({ ramBytes: 128 * MIB });

interface HeaderTag {
  type: number;
  flags?: number;
  words?: number[];
}

/** A multiboot2 header: magic, architecture, header_length, checksum, tags (8-byte aligned), end tag. */
function mb2Header(tags: HeaderTag[], architecture = 0): Uint8Array {
  const words: number[] = [];
  for (const t of tags) {
    const body = t.words ?? [];
    const size = 8 + 4 * body.length;
    words.push((t.type & 0xffff) | ((t.flags ?? 0) << 16), size, ...body);
    if (words.length % 2 !== 0) words.push(0);
  }
  words.push(0, 8);
  const length = 16 + 4 * words.length;
  const all = [0xe85250d6, architecture, length, (-(0xe85250d6 + architecture + length)) >>> 0, ...words];
  const out = new Uint8Array(4 * all.length);
  const v = new DataView(out.buffer);
  all.forEach((w, i) => v.setUint32(4 * i, w >>> 0, true));
  return out;
}

/** An ELF32 kernel at 1 MiB: 0x1000 file bytes from offset 0x1000 (holding the header), 0x2000 in memory. */
function kernel(header: Uint8Array, opts: { entry?: number; is64?: boolean; vaddr?: number; size?: number } = {}): Uint8Array {
  const vaddr = opts.vaddr ?? 0x100000;
  const image = makeElf({
    is64: opts.is64,
    entry: opts.entry ?? vaddr + 0x10,
    segments: [{ offset: 0x1000, vaddr, paddr: 0x100000, filesz: 0x1000, memsz: 0x2000 }],
    size: opts.size ?? 0x2000,
  });
  image.set(header, 0x1000);
  image.fill(0xcc, 0x1000 + header.length, 0x2000);
  return image;
}

function loadError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof LoadError) return e.message;
    throw e;
  }
  throw new Error("no LoadError");
}

interface InfoTag {
  type: number;
  at: number;
  size: number;
}

/** Parses the boot information structure at `pa` (spec 3.6): fixed part, then 8-byte aligned tags to the end tag. */
function parseInfo(m: MachineMemory, pa: number) {
  const u8 = (a: number): number => m.bus.read8(a);
  const u16 = (a: number): number => m.bus.read16(a);
  const u32 = (a: number): number => m.bus.read32(a) >>> 0;
  const u64 = (a: number): number => u32(a) + u32(a + 4) * 2 ** 32;
  const str = (a: number, end: number): string => {
    let s = "";
    for (; a < end && u8(a) !== 0; a++) s += String.fromCharCode(u8(a));
    return s;
  };
  const totalSize = u32(pa);
  const tags: InfoTag[] = [];
  for (let p = pa + 8; p < pa + totalSize; ) {
    expect(p % 8).toBe(0);
    const t = { type: u32(p), size: u32(p + 4), at: p };
    tags.push(t);
    if (t.type === 0) break;
    p += Math.ceil(t.size / 8) * 8;
  }
  const one = (type: number): InfoTag => {
    const found = tags.filter((t) => t.type === type);
    expect(found.length, `tag ${type}`).toBe(1);
    return found[0];
  };
  const has = (type: number): boolean => tags.some((t) => t.type === type);
  return {
    totalSize,
    reserved: u32(pa + 4),
    tags,
    has,
    bytes: (t: InfoTag, from: number, n: number): number[] => Array.from({ length: n }, (_, i) => u8(t.at + from + i)),
    cmdline: () => {
      const t = one(1);
      return str(t.at + 8, t.at + t.size);
    },
    loaderName: () => {
      const t = one(2);
      return str(t.at + 8, t.at + t.size);
    },
    modules: () => tags.filter((t) => t.type === 3).map((t) => ({ start: u32(t.at + 8), end: u32(t.at + 12), cmdline: str(t.at + 16, t.at + t.size) })),
    meminfo: () => {
      const t = one(4);
      return { size: t.size, lower: u32(t.at + 8), upper: u32(t.at + 12) };
    },
    mmap: () => {
      const t = one(6);
      const entrySize = u32(t.at + 8);
      const entries: number[][] = [];
      for (let e = t.at + 16; e < t.at + t.size; e += entrySize) entries.push([u64(e), u64(e + 8), u32(e + 16), u32(e + 20)]);
      return { entrySize, version: u32(t.at + 12), entries };
    },
    framebuffer: () => {
      const t = one(8);
      return {
        size: t.size,
        addr: u64(t.at + 8),
        pitch: u32(t.at + 16),
        width: u32(t.at + 20),
        height: u32(t.at + 24),
        bpp: u8(t.at + 28),
        type: u8(t.at + 29),
        reserved: u16(t.at + 30),
        color: Array.from({ length: 6 }, (_, i) => u8(t.at + 32 + i)),
      };
    },
    elfSections: () => {
      const t = one(9);
      return { size: t.size, num: u32(t.at + 8), entsize: u32(t.at + 12), shndx: u32(t.at + 16), table: t.at + 20 };
    },
    loadBase: () => u32(one(21).at + 8),
  };
}

describe("findMultiboot2Header", () => {
  it("finds an 8-byte aligned header with a good checksum and reads its tags", () => {
    const header = mb2Header([
      { type: 1, words: [1, 6, 14] }, // information request: command line, memory map, old ACPI
      { type: 5, flags: 1, words: [800, 600, 32] }, // framebuffer, optional
      { type: 6 }, // module alignment
    ]);
    const h = findMultiboot2Header(kernel(header));
    expect(h).not.toBeNull();
    expect(h!.offset).toBe(0x1000);
    expect(h!.architecture).toBe(0);
    expect(h!.headerLength).toBe(header.length);
    expect(h!.requiredInformation).toEqual([1, 6, 14]);
    expect(h!.framebuffer).toEqual({ width: 800, height: 600, depth: 32, optional: true });
    expect(h!.moduleAlign).toBe(true);
    expect(h!.tags.map((t) => t.type)).toEqual([1, 5, 6]);
  });

  it("returns null when there is no magic, or it is only 4-byte aligned, or past 32 KiB", () => {
    expect(findMultiboot2Header(new Uint8Array(0x2000))).toBeNull();
    const unaligned = new Uint8Array(0x2000);
    unaligned.set(mb2Header([]), 0x1004);
    expect(findMultiboot2Header(unaligned)).toBeNull();
    const far = new Uint8Array(0x9000);
    far.set(mb2Header([]), 0x8000);
    expect(findMultiboot2Header(far)).toBeNull();
    const last = new Uint8Array(0x9000);
    last.set(mb2Header([]), 0x8000 - 24); // the whole 24-byte header within the first 32 KiB
    expect(findMultiboot2Header(last)?.offset).toBe(0x8000 - 24);
  });

  it("says so when the checksum is wrong", () => {
    const image = kernel(mb2Header([]));
    image[0x100c] ^= 1;
    expect(loadError(() => findMultiboot2Header(image))).toBe(
      "multiboot2 header at offset 0x1000 has a bad checksum (magic + architecture + header_length + checksum != 0)",
    );
  });

  it("refuses a MIPS header", () => {
    expect(loadError(() => findMultiboot2Header(kernel(mb2Header([], 4))))).toBe(
      "multiboot2 header at offset 0x1000 is for architecture 4 (32-bit MIPS), not 0 (i386)",
    );
  });

  it("refuses a required request for information cr3 cannot give (EFI), accepts it when optional", () => {
    expect(loadError(() => findMultiboot2Header(kernel(mb2Header([{ type: 1, words: [6, 12] }]))))).toBe(
      "multiboot2 header at offset 0x1000 requires boot information tag 12 (EFI 64-bit system table), which cr3 cannot provide (the request tag is not optional)",
    );
    expect(loadError(() => findMultiboot2Header(kernel(mb2Header([{ type: 1, words: [99] }]))))).toContain("tag 99 (unknown)");
    expect(findMultiboot2Header(kernel(mb2Header([{ type: 1, flags: 1, words: [6, 12] }])))?.requiredInformation).toEqual([]);
  });

  it("refuses an unknown required header tag, ignores it when optional, ignores the EFI-only tags", () => {
    expect(loadError(() => findMultiboot2Header(kernel(mb2Header([{ type: 42, words: [0] }]))))).toBe(
      "multiboot2 header at offset 0x1000 has required tag type 42, which cr3 does not support",
    );
    expect(findMultiboot2Header(kernel(mb2Header([{ type: 42, flags: 1, words: [0] }])))).not.toBeNull();
    const efi = findMultiboot2Header(kernel(mb2Header([{ type: 7 }, { type: 9, words: [0x100000] }])));
    expect(efi?.efiTagsIgnored).toEqual([7, 9]);
  });

  it("refuses a header without an end tag, or with a tag running past the file's first 32 KiB", () => {
    const image = kernel(mb2Header([]));
    // Turn the end tag (at 0x1010) into an optional tag 42 of size 8, and end the file there.
    image[0x1010] = 42;
    image[0x1012] = 1;
    expect(loadError(() => findMultiboot2Header(image.subarray(0, 0x1018)))).toContain("has no end tag");
    const long = kernel(mb2Header([{ type: 3, words: [0x100010] }]));
    new DataView(long.buffer).setUint32(0x1014, 0x10000, true); // entry tag's size
    expect(loadError(() => findMultiboot2Header(long))).toContain("running past the file's first 32 KiB");
  });

  it("reads the tags past header_length, which bounds nothing but the checksum, as GRUB does (xv6-modded's header_length is 16)", () => {
    const tags = mb2Header([{ type: 5, flags: 1, words: [1920, 1080, 32] }]);
    const v = new DataView(tags.buffer);
    v.setUint32(8, 16, true);
    v.setUint32(12, (-(0xe85250d6 + 0 + 16)) >>> 0, true);
    const header = findMultiboot2Header(kernel(tags));
    expect(header?.headerLength).toBe(16);
    expect(header?.framebuffer).toEqual({ width: 1920, height: 1080, depth: 32, optional: true });
  });

  it("ends the header at a type 0 tag whatever its size, as GRUB does (an end tag of size 12 in the header's last 8 bytes)", () => {
    const image = kernel(mb2Header([{ type: 3, flags: 1, words: [0x100010] }]));
    const endTag = 0x1000 + 16 + 16;
    expect(image[endTag + 4]).toBe(8);
    image[endTag + 4] = 12;
    const header = findMultiboot2Header(image);
    expect(header?.entryAddress).toBe(0x100010);
    expect(header?.tags.map((t) => t.type)).toEqual([3]);
  });
});

describe("multibootVersionOf: which loader", () => {
  const mb1Header = (): Uint8Array => {
    const h = new Uint8Array(12);
    const v = new DataView(h.buffer);
    v.setUint32(0, 0x1badb002, true);
    v.setUint32(4, 3, true);
    v.setUint32(8, (-(0x1badb002 + 3)) >>> 0, true);
    return h;
  };

  it("multiboot1 only: 1; multiboot2 only: 2; both: 1, as QEMU -kernel would boot it", () => {
    const one = kernel(new Uint8Array(0));
    one.set(mb1Header(), 0x1000);
    expect(multibootVersionOf(one)).toBe(1);
    expect(multibootVersionOf(kernel(mb2Header([])))).toBe(2);
    const both = kernel(mb2Header([]));
    both.set(mb1Header(), 0x1800);
    expect(multibootVersionOf(both)).toBe(1);
  });

  it("neither: one line naming both magics", () => {
    expect(loadError(() => multibootVersionOf(new Uint8Array(0x2000)))).toBe(
      "no multiboot or multiboot2 header: neither magic 0x1BADB002 (4-byte aligned, first 8 KiB) nor 0xE85250D6 (8-byte aligned, first 32 KiB) is in the kernel",
    );
  });

  it("a broken multiboot1 header and no multiboot2 one: the multiboot1 error", () => {
    const image = kernel(new Uint8Array(0));
    const h = mb1Header();
    h[8] ^= 1;
    image.set(h, 0x1000);
    expect(loadError(() => multibootVersionOf(image))).toContain("bad checksum");
  });
});

describe("loadMultiboot2: an ELF32 kernel", () => {
  function boot(tags: HeaderTag[] = [], options: Parameters<typeof loadMultiboot2>[2] = {}) {
    const m = machine();
    const acpi = buildAcpiTables(m);
    const image = kernel(mb2Header(tags));
    const b = loadMultiboot2(m, image, { acpi, ...options });
    return { m, b, acpi, image, info: parseInfo(m, b.ebx) };
  }

  it("loads the segment at p_paddr, zeroes the bss, enters at e_entry with EAX = 0x36D76289", () => {
    const { m, b, image } = boot();
    expect(b.eax).toBe(0x36d76289);
    expect(b.entry).toBe(0x100010);
    expect(b.format).toBe("elf32");
    expect(b.segments).toEqual([{ paddr: 0x100000, fileBytes: 0x1000, memBytes: 0x2000, source: "ELF segment 0" }]);
    for (const off of [0, 0x10, 0xfff]) expect(m.bus.read8(0x100000 + off)).toBe(image[0x1000 + off]);
    expect(m.bus.read8(0x101000)).toBe(0);
    expect(m.bus.read8(0x101fff)).toBe(0);
  });

  it("puts the information structure after the kernel, page aligned, below 4 GiB, 8-byte aligned tags, total_size exact", () => {
    const { b, info } = boot();
    expect(b.ebx).toBe(0x102000);
    expect(b.ebx % 8).toBe(0);
    expect(info.reserved).toBe(0);
    const end = info.tags[info.tags.length - 1];
    expect(end).toMatchObject({ type: 0, size: 8 });
    expect(info.totalSize).toBe(end.at + 8 - b.ebx);
    expect(info.totalSize).toBe(b.info.totalSize);
  });

  it("gives GRUB's tags in GRUB's order: load base, command line, loader name, memory map, ELF sections, meminfo, framebuffer, ACPI", () => {
    const { info } = boot();
    expect(info.tags.map((t) => t.type)).toEqual([21, 1, 2, 6, 9, 4, 8, 14, 0]);
  });

  it("command line and boot loader name", () => {
    expect(boot([], { append: "console=ttyS0 quiet" }).info.cmdline()).toBe("console=ttyS0 quiet");
    const plain = boot();
    expect(plain.info.cmdline()).toBe("");
    expect(plain.info.loaderName()).toBe("cr3");
  });

  it("basic memory information: 639 KiB low, upper memory up to the firmware's reserved 128 KiB", () => {
    const mi = boot().info.meminfo();
    expect(mi).toEqual({ size: 16, lower: 639, upper: 128 * 1024 - 1024 - 128 });
  });

  it("memory map: entry_size 24, version 0, QEMU's E820 map with the ACPI tables' 128 KiB reserved", () => {
    const { info, acpi } = boot();
    const mm = info.mmap();
    expect(mm.entrySize).toBe(24);
    expect(mm.version).toBe(0);
    expect(mm.entries).toEqual([
      [0, 0x9fc00, 1, 0],
      [0x9fc00, 0x400, 2, 0],
      [0xf0000, 0x10000, 2, 0],
      [0x100000, 128 * MIB - 0x100000 - 0x20000, 1, 0],
      [128 * MIB - 0x20000, 0x20000, 2, 0],
      [0xfffc0000, 0x40000, 2, 0],
      [0xfd00000000, 0x300000000, 2, 0],
    ]);
    const reserved = mm.entries.find((e) => e[0] <= acpi.madtAddress && acpi.madtAddress < e[0] + e[1]);
    expect(reserved?.[2]).toBe(2);
  });

  it("EGA text framebuffer by default: 80x25 at 0xB8000, pitch 160, 16 bpp, type 2", () => {
    const fb = boot().info.framebuffer();
    expect(fb).toMatchObject({ size: 32, addr: 0xb8000, pitch: 160, width: 80, height: 25, bpp: 16, type: 2, reserved: 0 });
  });

  it("RGB framebuffer when the kernel's tag asks and the machine has one: 32 bpp, red 16, green 8, blue 0", () => {
    const fbTag = { type: 5, words: [1280, 720, 32] };
    const { info, b } = boot([fbTag], { framebuffer: { address: 0xfd000000, width: 1280, height: 720, pitch: 5120 } });
    const fb = info.framebuffer();
    expect(fb).toMatchObject({ size: 38, addr: 0xfd000000, pitch: 5120, width: 1280, height: 720, bpp: 32, type: 1 });
    expect(fb.color).toEqual([16, 8, 8, 8, 0, 8]);
    expect(framebufferModeFor(b.header)).toEqual({ width: 1280, height: 720 });
  });

  it("framebufferModeFor: none without a tag, 1280x800 when the tag states no size (GRUB under QEMU: its VGA's EDID-preferred mode)", () => {
    expect(framebufferModeFor(findMultiboot2Header(kernel(mb2Header([])))!)).toBeNull();
    expect(framebufferModeFor(findMultiboot2Header(kernel(mb2Header([{ type: 5, words: [0, 0, 0] }])))!)).toEqual({ width: 1280, height: 800 });
  });

  it("a required framebuffer with EGA text refused and no framebuffer: LoadError", () => {
    const m = machine();
    const image = kernel(mb2Header([{ type: 4, words: [1] }, { type: 5, words: [800, 600, 32] }]));
    expect(loadError(() => loadMultiboot2(m, image))).toContain("requires a linear framebuffer");
  });

  it("the old ACPI tag carries the revision 0 RSDP's 20 bytes; no new ACPI tag, as GRUB finds no revision 2 RSDP under QEMU", () => {
    const { m, info, acpi } = boot();
    const rsdp = (n: number): number[] => Array.from({ length: n }, (_, i) => m.bus.read8(acpi.rsdpAddress + i));
    const old = info.tags.find((t) => t.type === 14)!;
    expect(old.size).toBe(8 + 20);
    expect(info.bytes(old, 8, 20)).toEqual(rsdp(20));
    expect(info.tags.find((t) => t.type === 15)).toBeUndefined();
  });

  it("a new ACPI tag when given a revision 2 RSDP", () => {
    const rsdpV2 = Uint8Array.from({ length: 36 }, (_, i) => i + 1);
    const { info } = boot([], { acpi: { rsdpV1: rsdpV2.slice(0, 20), rsdpV2 } });
    const neu = info.tags.find((t) => t.type === 15)!;
    expect(neu.size).toBe(8 + 36);
    expect(info.bytes(neu, 8, 36)).toEqual(Array.from(rsdpV2));
  });

  it("no ACPI tags without RSDP copies", () => {
    const m = machine();
    const b = loadMultiboot2(m, kernel(mb2Header([])));
    const info = parseInfo(m, b.ebx);
    expect(info.has(14) || info.has(15)).toBe(false);
  });

  it("modules: page aligned after the kernel, with their strings and bytes, the information after them", () => {
    const m = machine();
    const a = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const c = Uint8Array.from([1, 2, 3]);
    const b = loadMultiboot2(m, kernel(mb2Header([{ type: 6 }])), {
      modules: [
        { cmdline: "initrd.img arg", data: a },
        { cmdline: "second", data: c },
      ],
    });
    const mods = parseInfo(m, b.ebx).modules();
    expect(mods).toEqual([
      { start: 0x102000, end: 0x102000 + 5000, cmdline: "initrd.img arg" },
      { start: 0x104000, end: 0x104003, cmdline: "second" },
    ]);
    expect(m.bus.read8(0x102000 + 4999)).toBe(4999 & 0xff);
    expect(m.bus.read8(0x104002)).toBe(3);
    expect(b.ebx).toBe(0x105000);
    expect(b.modules.map((x) => [x.start, x.end])).toEqual(mods.map((x) => [x.start, x.end]));
  });

  it("image load base (tag 21) is the lowest loaded address", () => {
    expect(boot().info.loadBase()).toBe(0x100000);
  });
});

describe("loadMultiboot2: other images", () => {
  it("address tag (a.out kludge): loads from the file offset header_addr - load_addr before the header, zeroes bss, uses the entry tag", () => {
    // A flat binary: the header at file offset 0x40, to be loaded so that it lands at 0x200040.
    const header = mb2Header([
      { type: 2, words: [0x200040, 0x200000, 0x200100, 0x201000] },
      { type: 3, words: [0x200080] },
    ]);
    const image = new Uint8Array(0x100);
    image.fill(0xab);
    image.set(header, 0x40);
    const m = machine();
    const b = loadMultiboot2(m, image);
    expect(b.format).toBe("a.out kludge");
    expect(b.entry).toBe(0x200080);
    expect(b.segments).toEqual([{ paddr: 0x200000, fileBytes: 0x100, memBytes: 0x1000, source: "address-tag image" }]);
    expect(m.bus.read8(0x200000)).toBe(0xab);
    expect(m.bus.read32(0x200040) >>> 0).toBe(0xe85250d6);
    expect(m.bus.read8(0x200100)).toBe(0);
    expect(parseInfo(m, b.ebx).loadBase()).toBe(0x200000);
    expect(b.ebx).toBe(0x201000);
  });

  it("address tag without an entry tag: LoadError", () => {
    const image = new Uint8Array(0x100);
    image.set(mb2Header([{ type: 2, words: [0x200000, 0x200000, 0, 0] }]), 0);
    expect(loadError(() => loadMultiboot2(machine(), image))).toBe("multiboot2 header has an address tag but no entry address tag");
  });

  it("entry address tag overrides e_entry", () => {
    const m = machine();
    const b = loadMultiboot2(m, kernel(mb2Header([{ type: 3, words: [0x100400] }])));
    expect(b.entry).toBe(0x100400);
  });

  it("ELF64 linked in the higher half: loaded at p_paddr, entry translated to physical", () => {
    const m = machine();
    // Both are exact doubles (53 significant bits at most), so the builder's BigInt() keeps them.
    const high = 0xffffffff80100000;
    const image = kernel(mb2Header([]), { is64: true, vaddr: high, entry: high + 0x800 });
    const b = loadMultiboot2(m, image);
    expect(b.format).toBe("elf64");
    expect(b.entry).toBe(0x100800);
    expect(m.bus.read32(0x101000 - 0x1000) >>> 0).toBe(0xe85250d6);
  });

  it("relocatable tag: kept at its link address when allowed, else moved to the lowest aligned place", () => {
    const inRange = loadMultiboot2(machine(), kernel(mb2Header([{ type: 10, words: [0x100000, 0x1000000, 0x1000, 1] }])));
    expect(inRange.relocatedBy).toBe(0);
    const m = machine();
    const b = loadMultiboot2(m, kernel(mb2Header([{ type: 10, words: [0x400000, 0x1000000, 0x200000, 1] }])));
    expect(b.loadBase).toBe(0x400000);
    expect(b.relocatedBy).toBe(0x300000);
    expect(b.entry).toBe(0x400010);
    expect(m.bus.read32(0x400000) >>> 0).toBe(0xe85250d6);
    expect(parseInfo(m, b.ebx).loadBase()).toBe(0x400000);
  });

  it("refuses segments in the VGA/BIOS hole or over the firmware's reserved top of RAM", () => {
    const low = makeElf({ entry: 0xa0000, segments: [{ offset: 0x1000, vaddr: 0xa0000, filesz: 0x100, memsz: 0x100 }], size: 0x2000 });
    low.set(mb2Header([]), 0x1000);
    expect(loadError(() => loadMultiboot2(machine(), low))).toMatch(/^ELF segment 0 \(0xa0000-0xa00ff\) is not in available RAM/);
    const top = 128 * MIB - 0x10000;
    const over = makeElf({ entry: top, segments: [{ offset: 0x1000, vaddr: top, filesz: 0x100, memsz: 0x100 }], size: 0x2000 });
    over.set(mb2Header([]), 0x1000);
    expect(loadError(() => loadMultiboot2(machine(), over))).toContain("is not in available RAM");
  });

  it("ELF sections tag: the section headers, unloaded sections copied after the kernel with sh_addr set", () => {
    // Sections: null, .text (allocated at 0x100000), .symtab (address 0: to be loaded), .shstrtab (address 0).
    const image = kernel(mb2Header([]), { size: 0x3000 });
    const v = new DataView(image.buffer);
    const shoff = 0x2800;
    v.setUint32(32, shoff, true); // e_shoff
    v.setUint16(46, 40, true); // e_shentsize
    v.setUint16(48, 4, true); // e_shnum
    v.setUint16(50, 3, true); // e_shstrndx
    const sh = (i: number, type: number, flags: number, addr: number, offset: number, size: number, align: number): void => {
      const at = shoff + 40 * i;
      v.setUint32(at + 4, type, true);
      v.setUint32(at + 8, flags, true);
      v.setUint32(at + 12, addr, true);
      v.setUint32(at + 16, offset, true);
      v.setUint32(at + 20, size, true);
      v.setUint32(at + 32, align, true);
    };
    sh(1, 1, 6, 0x100000, 0x1000, 0x1000, 16);
    sh(2, 2, 0, 0, 0x2000, 0x30, 4);
    sh(3, 3, 0, 0, 0x2100, 0x11, 1);
    image.fill(0x5a, 0x2000, 0x2030);
    image.fill(0x77, 0x2100, 0x2111);
    const m = machine();
    const b = loadMultiboot2(m, image);
    const es = parseInfo(m, b.ebx).elfSections();
    expect([es.num, es.entsize, es.shndx, es.size]).toEqual([4, 40, 3, 20 + 4 * 40]);
    const shAddr = (i: number): number => m.bus.read32(es.table + 40 * i + 12) >>> 0;
    expect(shAddr(1)).toBe(0x100000);
    const symtab = shAddr(2);
    const strtab = shAddr(3);
    expect(symtab).toBeGreaterThanOrEqual(0x102000);
    expect(symtab % 4).toBe(0);
    expect(strtab).toBeGreaterThanOrEqual(symtab + 0x30);
    expect(strtab + 0x11).toBeLessThanOrEqual(b.ebx);
    expect(m.bus.read8(symtab)).toBe(0x5a);
    expect(m.bus.read8(symtab + 0x2f)).toBe(0x5a);
    expect(m.bus.read8(strtab + 0x10)).toBe(0x77);
    // Everything else in the table is the file's.
    expect(m.bus.read32(es.table + 40 * 2 + 16) >>> 0).toBe(0x2000);
  });

  it("without a header: LoadError", () => {
    expect(loadError(() => loadMultiboot2(machine(), new Uint8Array(0x2000)))).toBe(
      "no multiboot2 header (magic 0xE85250D6, 8-byte aligned) in the first 32 KiB of the kernel",
    );
  });
});
