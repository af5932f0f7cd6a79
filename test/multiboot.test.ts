// The multiboot loader against QEMU's hand-off for the same images
// (test-roms/golden/boot.txt, recorded under -m 256), plus hand-made images.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LoadError } from "../src/boot/load-error.ts";
import { findMultibootHeader, loadMultiboot, MULTIBOOT_HEADER_MAGIC } from "../src/boot/multiboot.ts";
import { createMachineMemory, type MachineMemory } from "../src/machine/memory.ts";
import { PcMachine } from "../src/machine/pc.ts";
import { MIB } from "../src/machine/ram.ts";
import { makeElf } from "./helpers/elf-builder.ts";
const machine = (): MachineMemory => createMachineMemory({ ramBytes: 256 * MIB });
const haveNasm = spawnSync("nasm", ["--version"], { stdio: "ignore" }).status === 0;

function cString(m: MachineMemory, pa: number): string {
  let s = "";
  for (let c = m.bus.read8(pa); c !== 0 && s.length < 512; c = m.bus.read8(++pa)) s += String.fromCharCode(c);
  return s;
}

function u64(m: MachineMemory, pa: number): number {
  return (m.bus.read32(pa) >>> 0) + (m.bus.read32(pa + 4) >>> 0) * 2 ** 32;
}

/** The golden's lines, parsed: what QEMU gave boot.elf. */
function golden(): { flags: number; memLower: number; memUpper: number; cmdline: string; mmapLength: number; mmap: number[][] } {
  const text = readFileSync("test-roms/golden/boot.txt", "utf8");
  const num = (re: RegExp): string => {
    const m = re.exec(text);
    if (m === null) throw new Error(`golden lacks ${re}`);
    return m[1];
  };
  const mmap = [...text.matchAll(/mmap\[\d+\]: base=0x([0-9a-f]+) length=0x([0-9a-f]+) type=(\d+)/g)].map((m) => [
    parseInt(m[1], 16),
    parseInt(m[2], 16),
    Number(m[3]),
  ]);
  return {
    flags: parseInt(num(/multiboot flags: 0x([0-9a-f]+)/), 16),
    memLower: Number(num(/mem_lower=(\d+)/)),
    memUpper: Number(num(/mem_upper=(\d+)/)),
    cmdline: num(/multiboot cmdline: "(.*)"/),
    mmapLength: Number(num(/mmap_length=(\d+)/)),
    mmap,
  };
}

/** Reads the information structure from guest memory as the boot ROM does. */
function readInfo(m: MachineMemory, ebx: number) {
  const r = (o: number): number => m.bus.read32(ebx + o) >>> 0;
  const mmapAddr = r(48), mmapLength = r(44);
  const mmap: number[][] = [];
  for (let p = mmapAddr; p < mmapAddr + mmapLength; p += (m.bus.read32(p) >>> 0) + 4) {
    mmap.push([u64(m, p + 4), u64(m, p + 12), m.bus.read32(p + 20) >>> 0]);
  }
  return {
    flags: r(0),
    memLower: r(4),
    memUpper: r(8),
    bootDevice: r(12),
    cmdline: cString(m, r(16)),
    modsCount: r(20),
    modsAddr: r(24),
    mmapLength,
    mmap,
    loaderName: cString(m, r(64)),
  };
}

describe("loading the ROM images like QEMU -kernel -m 256", () => {
  for (const name of ["boot", "paging"]) {
    it(`${name}.elf: header, segments at 1 MiB, entry, information structure as in the golden`, () => {
      const image = readFileSync(`test-roms/images/${name}.elf`);
      const m = machine();
      const boot = loadMultiboot(m, image, { kernelPath: "test-roms/images/boot.elf", append: "" });
      expect(boot.header.offset).toBe(0x1000);
      expect(boot.header.flags).toBe(3);
      expect(boot.format).toBe("elf32");
      expect(boot.entry).toBe(0x100010);
      expect(boot.eax).toBe(0x2badb002);
      expect(boot.segments[0].paddr).toBe(0x100000);
      // The image's bytes are in RAM at p_paddr, and the bss is zero.
      for (const s of boot.segments) {
        const seg = s.source.match(/\d+$/)!;
        const off = image.readUInt32LE(52 + Number(seg[0]) * 32 + 4);
        for (const i of [0, s.fileBytes - 1]) expect(m.bus.read8(s.paddr + i)).toBe(image[off + i]);
        if (s.memBytes > s.fileBytes) expect(m.bus.read8(s.paddr + s.memBytes - 1)).toBe(0);
      }
      const g = golden();
      const info = readInfo(m, boot.ebx);
      expect(info.flags).toBe(g.flags);
      expect(info.memLower).toBe(g.memLower);
      expect(info.memUpper).toBe(g.memUpper);
      expect(info.cmdline).toBe(g.cmdline);
      expect(info.mmapLength).toBe(g.mmapLength);
      expect(info.mmap).toEqual(g.mmap);
      expect(info.mmap).toHaveLength(7);
      expect(info.bootDevice).toBe(0x8000ffff);
      expect(info.modsCount).toBe(0);
      expect(info.loaderName).toBe("qemu");
    });
  }

  it("places the strings after the kernel's page-aligned end, as QEMU's buffer does", () => {
    const m = machine();
    const boot = loadMultiboot(m, readFileSync("test-roms/images/boot.elf"), { kernelPath: "k", append: "a b" });
    const after = kernelPageEnd(boot);
    expect(after).toBeGreaterThan(0x100000);
    expect(boot.info.modsAddress).toBe(after);
    expect(boot.info.cmdlineAddress).toBe(after);
    expect(cString(m, boot.info.cmdlineAddress)).toBe("k a b");
    expect(boot.info.bootLoaderNameAddress).toBe(after + 6);
    expect(boot.ebx).toBe(0x9500);
  });

  it("loads modules page aligned after the information, with their strings", () => {
    const m = machine();
    const a = new Uint8Array(5000).fill(0xaa), b = new Uint8Array([1, 2, 3]);
    const boot = loadMultiboot(m, readFileSync("test-roms/images/boot.elf"), {
      kernelPath: "kern",
      modules: [{ cmdline: "mod1.bin x=1", data: a }, { cmdline: "mod2", data: b }],
    });
    // The information page right after the kernel, then each module on its own pages.
    const info0 = kernelPageEnd(boot);
    const first = info0 + 0x1000;
    const second = first + 0x2000;
    expect(boot.modules.map((x) => [x.start, x.end])).toEqual([
      [first, first + 5000],
      [second, second + 3],
    ]);
    const info = readInfo(m, boot.ebx);
    expect(info.modsCount).toBe(2);
    expect(info.modsAddr).toBe(info0);
    const mod = (i: number, f: number): number => m.bus.read32(info.modsAddr + 16 * i + 4 * f) >>> 0;
    expect([mod(0, 0), mod(0, 1), mod(1, 0), mod(1, 1)]).toEqual([first, first + 5000, second, second + 3]);
    expect(cString(m, mod(0, 2))).toBe("mod1.bin x=1");
    expect(cString(m, mod(1, 2))).toBe("mod2");
    expect(info.cmdline).toBe("kern ");
    expect(m.bus.read8(first + 4999)).toBe(0xaa);
    expect(m.bus.read8(second + 2)).toBe(3);
  });
});

/** A multiboot header at `at` in `image`, with the a.out fields if given. */
function putHeader(image: Uint8Array, at: number, flags: number, aout?: number[]): void {
  const v = new DataView(image.buffer, image.byteOffset);
  v.setUint32(at, MULTIBOOT_HEADER_MAGIC, true);
  v.setUint32(at + 4, flags, true);
  v.setUint32(at + 8, (-(MULTIBOOT_HEADER_MAGIC + flags)) >>> 0, true);
  aout?.forEach((x, i) => v.setUint32(at + 12 + 4 * i, x, true));
}

function loadError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LoadError);
    return (e as Error).message;
  }
  throw new Error("no LoadError");
}

describe("hand-made kernels", () => {
  it("a.out kludge: loads from header_addr/load_addr, zero bss, entry_addr", () => {
    // A flat binary: text starts at file offset 0 = load_addr 0x200000, header at 0x40.
    const image = new Uint8Array(0x300).fill(0x90);
    putHeader(image, 0x40, 0x10003, [0x200040, 0x200000, 0x200200, 0x204000, 0x200100]);
    const m = machine();
    m.bus.write8(0x200200, 0x77); // must be cleared as bss
    m.bus.write8(0x200300, 0x77);
    const boot = loadMultiboot(m, image, { kernelPath: "flat" });
    expect(boot.format).toBe("a.out kludge");
    expect(boot.entry).toBe(0x200100);
    expect(boot.segments).toEqual([{ paddr: 0x200000, fileBytes: 0x200, memBytes: 0x4000, source: "a.out kludge image" }]);
    expect(m.bus.read32(0x200040) >>> 0).toBe(MULTIBOOT_HEADER_MAGIC);
    expect(m.bus.read8(0x2001ff)).toBe(0x90);
    expect(m.bus.read8(0x200200)).toBe(0);
    expect(m.bus.read8(0x200300)).toBe(0);
    expect(boot.info.cmdlineAddress).toBe(0x204000);
    expect(readInfo(m, boot.ebx).cmdline).toBe("flat ");
  });

  it("a.out kludge with load_end_addr 0 loads to the end of the file; bad fields are refused", () => {
    const image = new Uint8Array(0x1100).fill(0x90);
    putHeader(image, 0x1000, 0x10000, [0x301000, 0x300000, 0, 0, 0x300000]);
    const boot = loadMultiboot(machine(), image);
    expect(boot.segments[0]).toMatchObject({ paddr: 0x300000, fileBytes: 0x1100, memBytes: 0x1100 });
    putHeader(image, 0x1000, 0x10000, [0x400000, 0x300000, 0, 0, 0x300000]);
    expect(loadError(() => loadMultiboot(machine(), image))).toBe("a.out kludge: load_addr 0x300000 would start 0xff000 bytes before the file");
    putHeader(image, 0x1000, 0x10000, [0x301000, 0x300000, 0x302000, 0, 0x300000]);
    expect(loadError(() => loadMultiboot(machine(), image))).toBe(
      "a.out kludge: load_end_addr 0x302000 asks for 0x2000 bytes, past the end of the file",
    );
  });

  it("ELF64 kernel with p_paddr != p_vaddr: loaded at p_paddr, entry translated", () => {
    const image = makeElf({
      is64: true,
      entry: 0x40_0000_0010,
      size: 0x2000,
      segments: [{ offset: 0x1000, vaddr: 0x40_0000_0000, paddr: 0x200000, filesz: 0x20, memsz: 0x1000 }],
    });
    image.fill(0xcc, 0x1000, 0x1020);
    putHeader(image, 0x1000, 0);
    const m = machine();
    const boot = loadMultiboot(m, image);
    expect(boot.format).toBe("elf64");
    expect(boot.entry).toBe(0x200010);
    expect(m.bus.read32(0x200000) >>> 0).toBe(MULTIBOOT_HEADER_MAGIC);
    expect(m.bus.read8(0x20001f)).toBe(0xcc);
    expect(m.bus.read8(0x200020)).toBe(0);
  });

  it("no header in the first 8 KiB", () => {
    const image = makeElf({ entry: 0x100000, size: 0x3000, segments: [{ offset: 0x2000, vaddr: 0x100000, filesz: 0x10, memsz: 0x10 }] });
    putHeader(image, 0x2000, 0); // at 8 KiB: too late
    expect(loadError(() => loadMultiboot(machine(), image))).toBe(
      "no multiboot header (magic 0x1BADB002, 4-byte aligned) in the first 8192 bytes of the kernel",
    );
    expect(() => findMultibootHeader(image.subarray(0, 0x1ff0))).toThrow(LoadError);
    putHeader(image, 0x1ff4, 0); // the last place a 12-byte header fits
    expect(findMultibootHeader(image).offset).toBe(0x1ff4);
  });

  it("bad checksum, unaligned header and unsupported required flags", () => {
    const image = new Uint8Array(0x100);
    putHeader(image, 0x10, 0);
    image[0x18] ^= 1;
    expect(loadError(() => findMultibootHeader(image))).toBe(
      "multiboot header at offset 0x10 has a bad checksum (magic + flags + checksum != 0)",
    );
    const unaligned = new Uint8Array(0x100);
    putHeader(unaligned, 0x12, 0);
    expect(() => findMultibootHeader(unaligned)).toThrow("no multiboot header");
    putHeader(image, 0x10, 1 << 2);
    expect(loadError(() => findMultibootHeader(image))).toBe(
      "multiboot header requires flag bit 2 (video mode table), which this loader does not support",
    );
    putHeader(image, 0x10, 1 << 9);
    expect(loadError(() => findMultibootHeader(image))).toContain("flag bit 9 (unknown)");
    putHeader(image, 0x10, 3 | (1 << 20)); // optional bits above 16 are ignored
    expect(findMultibootHeader(image).flags).toBe(3 | (1 << 20));
  });

  it("not ELF and no a.out kludge", () => {
    const image = new Uint8Array(0x100);
    putHeader(image, 0, 3);
    expect(loadError(() => loadMultiboot(machine(), image))).toBe(
      "kernel is not an ELF file and its multiboot header does not set flag bit 16 (a.out kludge)",
    );
  });

  const oneSegment = (paddr: number, memsz: number): Uint8Array => {
    const image = makeElf({ entry: paddr, size: 0x2000, segments: [{ offset: 0x1000, vaddr: paddr, filesz: 0x10, memsz }] });
    putHeader(image, 0x1000, 0);
    return image;
  };

  it("a segment outside RAM", () => {
    expect(loadError(() => loadMultiboot(machine(), oneSegment(0x10000000, 0x1000)))).toBe(
      "ELF segment 0 (0x10000000-0x10000fff) lies outside guest RAM (0x0-0x9ffff, 0xc0000-0xfffffff)",
    );
    expect(loadError(() => loadMultiboot(machine(), oneSegment(0xfffff00, 0x1000)))).toContain("lies outside guest RAM");
  });

  it("a segment in the VGA/ROM hole", () => {
    expect(loadError(() => loadMultiboot(machine(), oneSegment(0x9f000, 0x2000)))).toBe(
      "ELF segment 0 (0x9f000-0xa0fff) overlaps the VGA/ROM hole 0xa0000-0xfffff",
    );
    expect(loadError(() => loadMultiboot(machine(), oneSegment(0xf0000, 0x100)))).toContain("VGA/ROM hole");
    expect(loadMultiboot(machine(), oneSegment(0x10000, 0x1000)).entry).toBe(0x10000);
  });

  it("a kernel over the information area is loaded over it, as QEMU's option ROM copies its buffer after writing it", () => {
    // Segment at 0x8000-0x9fff (16 bytes of file, then bss): the structure at
    // 0x9500 and the map at 0x9000 lie in its bss, so they read as zeros.
    let m = machine();
    let boot = loadMultiboot(m, oneSegment(0x8000, 0x2000));
    expect(boot.ebx).toBe(0x9500);
    expect(m.bus.read32(0x9500)).toBe(0);
    expect(m.bus.read32(0x9000)).toBe(0);
    expect(cString(m, 0xa000)).toBe("kernel "); // the command line after the kernel, where QEMU puts it
    // A kernel ending at 0x9000: its command line lands on the map, and the
    // structure at 0x9500 is the buffer's page padding (zeros).
    m = machine();
    boot = loadMultiboot(m, oneSegment(0x1000, 0x8000), { kernelPath: "k" });
    expect(boot.info.cmdlineAddress).toBe(0x9000);
    expect(cString(m, 0x9000)).toBe("k ");
    expect(m.bus.read32(0x9500)).toBe(0);
    // Just above the structure (0x9558), nothing is overwritten.
    m = machine();
    boot = loadMultiboot(m, oneSegment(0x9558, 0x100));
    expect(readInfo(m, boot.ebx).flags).toBe(0x24f);
    expect(readInfo(m, boot.ebx).mmap).toHaveLength(7);
  });

  it("the modules must fit in RAM too", () => {
    expect(
      loadError(() => loadMultiboot(machine(), oneSegment(0x100000, 0x10), { modules: [{ cmdline: "big", data: new Uint8Array(256 * MIB) }] })),
    ).toContain("the multiboot information and modules after the kernel");
  });
});

describe("a kernel linked low, over QEMU's information area (test/guest/multiboot-low.asm)", () => {
  // QEMU 7.2 boots it (qemu-system-x86_64 -kernel test/guest/multiboot-low.elf,
  // -m 256, isa-debug-exit, COM1 on stdio) and it prints these lines: EBX is
  // 0x9500, the structure there is zeros (page padding of QEMU's buffer), the
  // kernel's data replaced the memory map at 0x9000 and its bss follows.
  const QEMU_LINES = ["ebx=0x9500 flags=0x0 mmap_addr=0x0 mmap_length=0x0", "at 0x9000: 0x5441444b at 0x9100: 0x0", ""];

  it("boots and finds what it finds under QEMU", () => {
    let out = "";
    const pc = new PcMachine({ debugExit: { base: 0xf4, size: 4 }, serialOut: (b) => (out += String.fromCharCode(b)) });
    pc.loadMultiboot(readFileSync("test/guest/multiboot-low.elf"), { kernelPath: "test/guest/multiboot-low.elf" });
    expect(pc.runToEnd(1e6)).toEqual({ kind: "exit", status: 1 });
    expect(out.split("\n")).toEqual(QEMU_LINES);
  });

  it.skipIf(!haveNasm)("test/guest/multiboot-low.elf is what nasm builds from multiboot-low.asm", () => {
    const dir = mkdtempSync(join(tmpdir(), "cr3-guest-"));
    try {
      const out = join(dir, "multiboot-low.elf");
      const r = spawnSync("nasm", ["-f", "bin", "test/guest/multiboot-low.asm", "-o", out], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(out).equals(readFileSync("test/guest/multiboot-low.elf"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("multiboot2 kernels", () => {
  it("are recognised and refused in one line that says what was found", () => {
    // A multiboot2 header (magic, architecture 0 = i386, length 16, checksum) at offset 0x1008.
    const image = new Uint8Array(0x2000);
    const view = new DataView(image.buffer);
    const magic = 0xe85250d6;
    view.setUint32(0x1008, magic, true);
    view.setUint32(0x100c, 0, true);
    view.setUint32(0x1010, 16, true);
    view.setUint32(0x1014, (-(magic + 0 + 16)) >>> 0, true);
    expect(loadError(() => findMultibootHeader(image))).toBe(
      "found a multiboot2 header at offset 0x1008, but cr3 loads only multiboot1 kernels so far (magic 0x1BADB002 in the first 8192 bytes)",
    );
    // A bad checksum is not a header: the plain message stays.
    view.setUint32(0x1014, 0, true);
    expect(loadError(() => findMultibootHeader(image))).toBe(
      "no multiboot header (magic 0x1BADB002, 4-byte aligned) in the first 8192 bytes of the kernel",
    );
  });
});

/** The first page boundary at or after the end of the kernel's loaded segments. */
function kernelPageEnd(boot: { segments: readonly { paddr: number; memBytes: number }[] }): number {
  const end = Math.max(...boot.segments.map((s) => s.paddr + s.memBytes));
  return Math.ceil(end / 0x1000) * 0x1000;
}
