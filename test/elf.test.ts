// ELF parsing: header validation (each malformed case with its one-line
// message), program headers, the real ROM images.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EM_386, EM_X86_64, parseElf, PF_R, PF_W } from "../src/boot/elf.ts";
import { LoadError } from "../src/boot/load-error.ts";
import { makeElf } from "./helpers/elf-builder.ts";
const good32 = (): Uint8Array =>
  makeElf({
    entry: 0x100010,
    size: 0x3000,
    segments: [
      { offset: 0x1000, vaddr: 0x100000, filesz: 0x800, memsz: 0x800 },
      { type: 4, offset: 0, vaddr: 0, filesz: 0, memsz: 0 }, // PT_NOTE, skipped
      { offset: 0x2000, vaddr: 0x101000, filesz: 0x100, memsz: 0x2000, flags: PF_R | PF_W },
    ],
  });

function message(bytes: Uint8Array): string {
  try {
    parseElf(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(LoadError);
    const m = (e as Error).message;
    expect(m).not.toContain("\n");
    return m;
  }
  throw new Error("parseElf accepted a malformed file");
}

describe("parseElf: a well-formed image", () => {
  it("reads the ELF32 header and only the PT_LOAD segments", () => {
    const elf = parseElf(good32());
    expect(elf.elfClass).toBe(32);
    expect(elf.machine).toBe(EM_386);
    expect(elf.entry).toBe(0x100010);
    expect(elf.programHeaderCount).toBe(3);
    expect(elf.segments.map((s) => [s.index, s.offset, s.vaddr, s.paddr, s.filesz, s.memsz])).toEqual([
      [0, 0x1000, 0x100000, 0x100000, 0x800, 0x800],
      [2, 0x2000, 0x101000, 0x101000, 0x100, 0x2000],
    ]);
    expect(elf.segments[1].flags).toBe(PF_R | PF_W);
  });

  it("reads an ELF64 image with distinct physical and virtual addresses", () => {
    const elf = parseElf(
      makeElf({ is64: true, entry: 0x40_0000_0010, size: 0x2000, segments: [{ offset: 0x1000, vaddr: 0x40_0000_0000, paddr: 0x200000, filesz: 0x10, memsz: 0x20 }] }),
    );
    expect(elf.elfClass).toBe(64);
    expect(elf.machine).toBe(EM_X86_64);
    expect(elf.entry).toBe(0x40_0000_0010);
    expect(elf.segments[0]).toMatchObject({ vaddr: 0x40_0000_0000, paddr: 0x200000, filesz: 0x10, memsz: 0x20 });
  });

  // binutils' readelf is the oracle for real images: the values follow any rebuild.
  const haveReadelf = spawnSync("readelf", ["--version"], { stdio: "ignore" }).status === 0;
  if (!haveReadelf) console.warn("elf tests: readelf not found: the ROM image comparison is skipped (Debian: apt-get install binutils)");
  it.skipIf(!haveReadelf)("parses every ROM image as readelf does", () => {
    for (const rom of ["boot", "paging", "pm32", "isa64"]) {
      const path = `test-roms/images/${rom}.elf`;
      const text = spawnSync("readelf", ["-lhW", path], { encoding: "utf8" }).stdout;
      const entry = Number(/Entry point address:\s+(0x[0-9a-f]+)/.exec(text)![1]);
      const loads = [...text.matchAll(/^\s+LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)/gm)].map((m) =>
        m.slice(1, 6).map(Number),
      );
      expect(loads.length, `${rom}: LOAD headers`).toBeGreaterThan(0);
      const elf = parseElf(readFileSync(path));
      expect(elf.elfClass, rom).toBe(32);
      expect(elf.entry, rom).toBe(entry);
      expect(elf.segments.map((s) => [s.offset, s.vaddr, s.paddr, s.filesz, s.memsz]), rom).toEqual(loads);
    }
  });
});

describe("parseElf: malformed files, one line each", () => {
  it("empty file", () => {
    expect(message(new Uint8Array(0))).toBe("not an ELF file (the file is empty)");
  });

  it("wrong magic", () => {
    const b = good32();
    b[1] = 0x45 + 1;
    expect(message(b)).toBe("not an ELF file (no \\x7fELF magic)");
    expect(message(new TextEncoder().encode("MZ\x90\x00 a PE file"))).toBe("not an ELF file (no \\x7fELF magic)");
  });

  it("identification cut short", () => {
    expect(message(good32().subarray(0, 10))).toBe("truncated ELF: the file has 10 bytes, fewer than the 16-byte identification");
  });

  it("bad class", () => {
    const b = good32();
    b[4] = 3;
    expect(message(b)).toBe("unsupported ELF class 3 (expected 1 for ELF32 or 2 for ELF64)");
  });

  it("64-bit big-endian", () => {
    const b = makeElf({ is64: true, entry: 0, size: 0x100, segments: [] });
    b[5] = 2;
    expect(message(b)).toBe("big-endian ELF64 file (EI_DATA 2); x86 executables are little-endian");
  });

  it("header cut short", () => {
    expect(message(good32().subarray(0, 40))).toBe("truncated ELF: the ELF32 header needs 52 bytes, the file has 40");
  });

  it("not an executable", () => {
    const b = good32();
    b[16] = 3;
    expect(message(b)).toBe("not an executable ELF (e_type 3, ET_DYN, a shared object or PIE; expected ET_EXEC)");
  });

  it("wrong machine", () => {
    expect(message(makeElf({ machine: 40, entry: 0, size: 0x100, segments: [] }))).toBe(
      "ELF for machine 40, not x86 (expected EM_386 = 3 or EM_X86_64 = 62)",
    );
    expect(message(makeElf({ is64: true, machine: EM_386, entry: 0, size: 0x100, segments: [] }))).toBe(
      "ELF64 file for machine EM_386 (an i386 executable must be ELF32)",
    );
  });

  it("wrong version", () => {
    const b = good32();
    b[20] = 2;
    expect(message(b)).toBe("unsupported ELF version 2 (expected 1)");
  });

  it("truncated program headers", () => {
    // Header 0 ends at 52 + 32 = 84, header 2 at 52 + 96 = 148.
    expect(message(good32().subarray(0, 140))).toBe("truncated ELF: program header 2 lies beyond the end of the file");
    const b = good32();
    new DataView(b.buffer).setUint32(28, 0xfffffff0, true); // e_phoff
    expect(message(b)).toBe("truncated ELF: program header 0 lies beyond the end of the file");
  });

  it("program header entries too small", () => {
    const b = good32();
    new DataView(b.buffer).setUint16(42, 16, true);
    expect(message(b)).toBe("bad ELF header: e_phentsize 16 is smaller than a program header (32 bytes)");
  });

  it("segment beyond the file", () => {
    expect(message(good32().subarray(0, 0x2080))).toBe(
      "truncated ELF: segment 2 (file bytes 0x2000-0x2100) lies beyond the end of the file (0x2080 bytes)",
    );
    const huge = makeElf({ entry: 0, size: 0x200, segments: [{ offset: 0xffffff00, vaddr: 0x100000, filesz: 0x200, memsz: 0x200 }] });
    expect(message(huge)).toBe("truncated ELF: segment 0 (file bytes 0xffffff00-0x100000100) lies beyond the end of the file (0x200 bytes)");
  });

  it("segment larger in the file than in memory", () => {
    const b = makeElf({ entry: 0, size: 0x200, segments: [{ offset: 0x100, vaddr: 0x100000, filesz: 0x80, memsz: 0x40 }] });
    expect(message(b)).toBe("segment 0 is larger in the file than in memory (p_filesz 0x80 > p_memsz 0x40)");
  });

  it("ELF32 segment wrapping past 4 GiB", () => {
    const b = makeElf({ entry: 0, size: 0x200, segments: [{ offset: 0x100, vaddr: 0xfffff000, filesz: 0x10, memsz: 0x2000 }] });
    expect(message(b)).toBe("segment 0 wraps past the end of the 32-bit address space");
  });

  it("64-bit value that does not fit 53 bits", () => {
    const b = makeElf({ is64: true, entry: 0, size: 0x200, segments: [{ offset: 0x100, vaddr: 0, filesz: 0, memsz: 0 }] });
    new DataView(b.buffer).setBigUint64(64 + 16, 0xffffffff80000000n, true);
    expect(message(b)).toBe("ELF field p_vaddr of program header 0 = 0xffffffff80000000 does not fit in 53 bits");
  });

  it("extended program-header count", () => {
    const b = good32();
    new DataView(b.buffer).setUint16(44, 0xffff, true);
    expect(message(b)).toBe("ELF uses the extended program header count (e_phnum = PN_XNUM), which is not supported");
  });
});
