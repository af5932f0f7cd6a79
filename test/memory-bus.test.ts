// GuestRam and PhysicalBus: byte order, unaligned and page-crossing accesses,
// the PC physical address map, open bus, MMIO dispatch and validation.

import { describe, expect, it } from "vitest";
import { PhysicalBus, type MmioDevice } from "../src/machine/bus.ts";
import { HIGH_RAM_BASE, LOW_RAM_LIMIT, LOW_RAM_LIMIT_LARGE, pcRamRanges } from "../src/machine/memory-map.ts";
import { GIB, GuestRam, MAX_RAM_BYTES, MIB } from "../src/machine/ram.ts";
import { machineConfig } from "../src/machine/config.ts";
import { SUPERVISOR_READ, SUPERVISOR_WRITE } from "../src/mmu/access.ts";
import { Mmu } from "../src/mmu/mmu.ts";
import { CR0_PE, CR0_PG, CR4_PAE, EFER_LME } from "../src/mmu/paging-mode.ts";
import { PageTableBuilder } from "./helpers/page-tables.ts";

const RAM_64M = 64 * MIB;

function pcBus(size = RAM_64M): { ram: GuestRam; bus: PhysicalBus } {
  const ram = new GuestRam(size);
  return { ram, bus: new PhysicalBus(ram, pcRamRanges(size)) };
}

type Call = ["read" | "write" | "read64" | "write64", number, ...number[]];

/** A device that records every access and answers reads from a byte array. */
class FakeDevice implements MmioDevice {
  readonly name: string;
  readonly calls: Call[] = [];
  readonly bytes: Uint8Array;
  constructor(name: string, size: number) {
    this.name = name;
    this.bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) this.bytes[i] = (i * 7 + 0x31) & 0xff;
  }
  read(offset: number, size: number): number {
    this.calls.push(["read", offset, size]);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.bytes[offset + i] << (8 * i);
    return size === 4 ? v | 0 : v;
  }
  write(offset: number, size: number, value: number): void {
    this.calls.push(["write", offset, size, value]);
    for (let i = 0; i < size; i++) this.bytes[offset + i] = value >>> (8 * i);
  }
}

/** The same, with whole 8-byte accesses. */
class FakeDevice64 extends FakeDevice {
  read64(offset: number, high: Int32Array): number {
    this.calls.push(["read64", offset]);
    const dv = new DataView(this.bytes.buffer);
    high[0] = dv.getInt32(offset + 4, true);
    return dv.getInt32(offset, true);
  }
  write64(offset: number, low: number, high: number): void {
    this.calls.push(["write64", offset, low, high]);
    const dv = new DataView(this.bytes.buffer);
    dv.setInt32(offset, low, true);
    dv.setInt32(offset + 4, high, true);
  }
}

describe("GuestRam", () => {
  it("stores 8/16/32/64-bit values little-endian", () => {
    const ram = new GuestRam(0x2000);
    ram.write32(0x10, 0x11223344);
    expect([...ram.u8.subarray(0x10, 0x14)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    ram.write16(0x20, 0xbeef);
    expect([...ram.u8.subarray(0x20, 0x22)]).toEqual([0xef, 0xbe]);
    ram.write8(0x30, 0x5a);
    expect(ram.u8[0x30]).toBe(0x5a);
    ram.write64(0x40, 0x89abcdef | 0, 0x01234567);
    expect([...ram.u8.subarray(0x40, 0x48)]).toEqual([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
  });

  it("loads 8/16/32/64-bit values little-endian, 32-bit ones as signed int32", () => {
    const ram = new GuestRam(0x2000);
    ram.u8.set([0x01, 0x02, 0x03, 0x84, 0x05, 0x06, 0x07, 0xf8], 0x100);
    expect(ram.read8(0x100)).toBe(0x01);
    expect(ram.read16(0x102)).toBe(0x8403);
    expect(ram.read32(0x100)).toBe(0x84030201 | 0);
    expect(ram.read32(0x100)).toBeLessThan(0);
    expect(ram.read64(0x100)).toBe(0x84030201 | 0);
    expect(ram.high).toBe(0xf8070605 | 0);
  });

  it("handles unaligned 16/32/64-bit accesses", () => {
    const ram = new GuestRam(0x2000);
    ram.write32(0x201, 0xa1b2c3d4 | 0);
    expect([...ram.u8.subarray(0x201, 0x205)]).toEqual([0xd4, 0xc3, 0xb2, 0xa1]);
    expect(ram.read32(0x201)).toBe(0xa1b2c3d4 | 0);
    expect(ram.read16(0x203)).toBe(0xa1b2);
    ram.write64(0x303, 0x44332211, 0x88776655 | 0);
    expect([...ram.u8.subarray(0x303, 0x30b)]).toEqual([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    expect(ram.read64(0x303)).toBe(0x44332211);
    expect(ram.high).toBe(0x88776655 | 0);
    ram.write16(0x3ff, 0x1234);
    expect([ram.u8[0x3ff], ram.u8[0x400]]).toEqual([0x34, 0x12]);
  });

  it("rejects sizes that are not positive multiples of 4 KiB or exceed the maximum", () => {
    for (const bad of [0, -4096, 4095, 4097, 1.5 * 4096, Number.NaN]) {
      expect(() => new GuestRam(bad), `size ${bad}`).toThrow(RangeError);
    }
    expect(() => new GuestRam(MAX_RAM_BYTES + 4096)).toThrow(/maximum/);
    expect(() => new GuestRam(4095)).toThrow(/multiple of 4 KiB/);
    expect(MAX_RAM_BYTES).toBe(4 * GIB - 64 * MIB);
    expect(new GuestRam(4096).size).toBe(4096);
  });
});

describe("PhysicalBus over RAM", () => {
  it("loads and stores 8/16/32/64-bit values little-endian at their physical addresses", () => {
    const { ram, bus } = pcBus();
    bus.write8(0x5000, 0xab);
    bus.write16(0x5002, 0xcdef);
    bus.write32(0x5004, 0x87654321 | 0);
    bus.write64(0x5008, 0x0badf00d, 0xdeadbeef | 0);
    expect([...ram.u8.subarray(0x5000, 0x5010)]).toEqual([
      0xab, 0x00, 0xef, 0xcd, 0x21, 0x43, 0x65, 0x87, 0x0d, 0xf0, 0xad, 0x0b, 0xef, 0xbe, 0xad, 0xde,
    ]);
    expect(bus.read8(0x5000)).toBe(0xab);
    expect(bus.read16(0x5002)).toBe(0xcdef);
    expect(bus.read32(0x5004)).toBe(0x87654321 | 0);
    expect(bus.read64(0x5008)).toBe(0x0badf00d);
    expect(bus.high).toBe(0xdeadbeef | 0);
    expect(bus.openBusReads + bus.openBusWrites).toBe(0);
  });

  it("handles unaligned accesses that cross a 4 KiB boundary within RAM", () => {
    const { ram, bus } = pcBus();
    bus.write16(0x1fff, 0x2211);
    expect([ram.u8[0x1fff], ram.u8[0x2000]]).toEqual([0x11, 0x22]);
    expect(bus.read16(0x1fff)).toBe(0x2211);

    bus.write32(0x2ffe, 0xaabbccdd | 0);
    expect([...ram.u8.subarray(0x2ffe, 0x3002)]).toEqual([0xdd, 0xcc, 0xbb, 0xaa]);
    expect(bus.read32(0x2ffe)).toBe(0xaabbccdd | 0);
    expect(bus.read32(0x2ffd)).toBe(0xbbccdd00 | 0); // byte 0x2ffd was never written

    for (const start of [0x3ff9, 0x3ffc, 0x3fff]) {
      bus.write64(start, 0x44332211, 0x88776655 | 0);
      expect([...ram.u8.subarray(start, start + 8)], `write64 at ${start.toString(16)}`).toEqual([
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
      ]);
      expect(bus.read64(start)).toBe(0x44332211);
      expect(bus.high).toBe(0x88776655 | 0);
    }
    expect(bus.openBusReads + bus.openBusWrites).toBe(0);
  });
});

describe("The PC physical address map", () => {
  it("lays out RAM below 640 KiB and from 0xC0000 up when RAM fits below 3.5 GiB", () => {
    expect(pcRamRanges(RAM_64M)).toEqual([
      { base: 0, size: 0xa0000, ramOffset: 0 },
      { base: 0xc0000, size: RAM_64M - 0xc0000, ramOffset: 0xc0000 },
    ]);
    expect(pcRamRanges(LOW_RAM_LIMIT)).toEqual([
      { base: 0, size: 0xa0000, ramOffset: 0 },
      { base: 0xc0000, size: LOW_RAM_LIMIT - 0xc0000, ramOffset: 0xc0000 },
    ]);
  });

  it("has RAM below 0xA0000, nothing in the VGA window 0xA0000-0xBFFFF, RAM in 0xC0000-0xFFFFF and extended memory", () => {
    const { ram, bus } = pcBus();
    for (const pa of [0x0, 0x9fffc, 0xc0000, 0xffffc, 0x100000, RAM_64M - 4]) {
      bus.write32(pa, 0x5a5a0000 | (pa >>> 12));
      expect(bus.read32(pa), `RAM at ${pa.toString(16)}`).toBe(0x5a5a0000 | (pa >>> 12));
      // With <= 3.5 GiB of RAM, physical address == RAM offset.
      expect(ram.read32(pa)).toBe(0x5a5a0000 | (pa >>> 12));
    }
    expect(bus.openBusReads + bus.openBusWrites).toBe(0);

    for (const pa of [0xa0000, 0xb0000, 0xbfffc, RAM_64M, 0xfffffffc]) {
      const reads = bus.openBusReads;
      const writes = bus.openBusWrites;
      bus.write32(pa, 0x12345678);
      expect(bus.openBusWrites, `write at ${pa.toString(16)}`).toBe(writes + 1);
      expect(bus.read32(pa), `read at ${pa.toString(16)}`).toBe(-1);
      expect(bus.openBusReads).toBe(reads + 1);
      expect(bus.ramOffsetOf(pa)).toBe(-1);
    }
    // The RAM hidden under the VGA window was not written.
    expect(ram.read32(0xa0000)).toBe(0);
    expect(ram.read32(0xb0000)).toBe(0);
    expect(ram.read32(0xbfffc)).toBe(0);
    expect(bus.frameRamOffset(0x9f000)).toBe(0x9f000);
    expect(bus.frameRamOffset(0xa0000)).toBe(-1);
    expect(bus.frameRamOffset(0xbf000)).toBe(-1);
    expect(bus.frameRamOffset(0xc0000)).toBe(0xc0000);
  });

  it("reads all ones from unbacked addresses at every width, counts them and drops writes", () => {
    const { bus } = pcBus();
    const hole = 0xa8000;
    expect(bus.read8(hole)).toBe(0xff);
    expect(bus.openBusReads).toBe(1);
    expect(bus.read16(hole + 2)).toBe(0xffff);
    expect(bus.openBusReads).toBe(2);
    expect(bus.read32(hole + 4)).toBe(-1);
    expect(bus.openBusReads).toBe(3);
    expect(bus.read64(hole + 8)).toBe(-1);
    expect(bus.high).toBe(-1);
    expect(bus.openBusReads).toBeGreaterThan(3);

    bus.write8(hole, 0);
    expect(bus.openBusWrites).toBe(1);
    bus.write16(hole, 0);
    expect(bus.openBusWrites).toBe(2);
    bus.write32(hole, 0);
    expect(bus.openBusWrites).toBe(3);
    bus.write64(hole, 0, 0);
    expect(bus.openBusWrites).toBeGreaterThan(3);
    expect(bus.read32(hole)).toBe(-1);
    expect(bus.read8(hole)).toBe(0xff);
    expect(bus.describe(hole)).toMatch(/open bus/);
    expect(bus.mmioReads + bus.mmioWrites).toBe(0);
  });

  it("relocates RAM above 4 GiB when the configuration exceeds 3.5 GiB, and RAM at 4 GiB works", () => {
    const size = LOW_RAM_LIMIT + 16 * MIB; // 3.5 GiB + 16 MiB
    const highSize = size - LOW_RAM_LIMIT_LARGE;
    expect(pcRamRanges(size)).toEqual([
      { base: 0, size: 0xa0000, ramOffset: 0 },
      { base: 0xc0000, size: LOW_RAM_LIMIT_LARGE - 0xc0000, ramOffset: 0xc0000 },
      { base: HIGH_RAM_BASE, size: highSize, ramOffset: LOW_RAM_LIMIT_LARGE },
    ]);
    expect(HIGH_RAM_BASE).toBe(2 ** 32);
    expect(LOW_RAM_LIMIT_LARGE).toBe(3 * GIB);

    const { ram, bus } = pcBus(size);
    // Last bytes of low RAM, just below the 3 GiB PCI hole.
    bus.write32(LOW_RAM_LIMIT_LARGE - 4, 0x0c0ffee0);
    expect(ram.read32(LOW_RAM_LIMIT_LARGE - 4)).toBe(0x0c0ffee0);
    // The hole from 3 GiB to 4 GiB is not RAM.
    for (const pa of [LOW_RAM_LIMIT_LARGE, 0xe0000000, 0xfffff000]) {
      const writes = bus.openBusWrites;
      bus.write32(pa, 0x11111111);
      expect(bus.openBusWrites).toBe(writes + 1);
      expect(bus.read32(pa)).toBe(-1);
    }
    // RAM at 4 GiB is RAM offset 3 GiB (past 2^31: the offset must not go negative).
    bus.write64(HIGH_RAM_BASE, 0x76543210, 0xfedcba98 | 0);
    expect(ram.read32(LOW_RAM_LIMIT_LARGE)).toBe(0x76543210);
    expect(ram.read32(LOW_RAM_LIMIT_LARGE + 4)).toBe(0xfedcba98 | 0);
    expect(bus.read64(HIGH_RAM_BASE)).toBe(0x76543210);
    expect(bus.high).toBe(0xfedcba98 | 0);
    expect(bus.read8(HIGH_RAM_BASE + 3)).toBe(0x76);
    expect(bus.read16(HIGH_RAM_BASE + 1)).toBe(0x5432);
    expect(bus.ramOffsetOf(HIGH_RAM_BASE + 0x1234)).toBe(LOW_RAM_LIMIT_LARGE + 0x1234);
    expect(bus.frameRamOffset(HIGH_RAM_BASE + 0x1234)).toBe(LOW_RAM_LIMIT_LARGE + 0x1000);
    // The last byte of high RAM, and nothing after it.
    const lastHigh = HIGH_RAM_BASE + highSize - 1;
    bus.write8(lastHigh, 0x9c);
    expect(ram.u8[size - 1]).toBe(0x9c);
    expect(bus.read8(lastHigh)).toBe(0x9c);
    const reads = bus.openBusReads;
    expect(bus.read8(lastHigh + 1)).toBe(0xff);
    expect(bus.openBusReads).toBe(reads + 1);
    // A 4-byte read straddling 4 GiB: two bytes of hole, then two bytes of high RAM.
    expect(bus.read32(HIGH_RAM_BASE - 2)).toBe(0x3210ffff);

    // MMIO placed over part of a frame of relocated RAM above 4 GiB takes precedence there too.
    const dev = new FakeDevice("high", 0x10);
    bus.mapMmio(HIGH_RAM_BASE + 0x100010, 0x10, dev);
    bus.write32(HIGH_RAM_BASE + 0x100018, 0x5555aaaa);
    expect(dev.calls).toEqual([["write", 8, 4, 0x5555aaaa]]);
    expect(ram.read32(LOW_RAM_LIMIT_LARGE + 0x100018)).toBe(0);
    bus.write32(HIGH_RAM_BASE + 0x100000, 0x7777);
    expect(ram.read32(LOW_RAM_LIMIT_LARGE + 0x100000)).toBe(0x7777);
    expect(bus.frameRamOffset(HIGH_RAM_BASE + 0x100000)).toBe(-1); // not all of the frame is RAM
    expect(bus.frameRamOffset(HIGH_RAM_BASE + 0x101000)).toBe(LOW_RAM_LIMIT_LARGE + 0x101000);

    // Through paging too: RAM offsets past 2^31 (2.5 GiB, and 4 GiB physical = 3 GiB offset).
    const mmu = new Mmu(bus, machineConfig({ ramBytes: size }));
    const pt = new PageTableBuilder(bus, "4level");
    pt.map(0x1000_0000, 0xa000_0000);
    pt.map(0x1000_1000, HIGH_RAM_BASE + 0x5000);
    mmu.setEfer(EFER_LME);
    mmu.setCr4(CR4_PAE);
    mmu.setCr3(pt.cr3, 0);
    mmu.setCr0(CR0_PE | CR0_PG);
    mmu.write32(0x1000_1010, 0, SUPERVISOR_WRITE, 0x600d4a11);
    expect(ram.read32(LOW_RAM_LIMIT_LARGE + 0x5010)).toBe(0x600d4a11);
    expect(mmu.read32(0x1000_1010, 0, SUPERVISOR_READ)).toBe(0x600d4a11);
    // An 8-byte write crossing from the 2.5 GiB frame into the 4 GiB one.
    mmu.write64(0x1000_0ffc, 0, SUPERVISOR_WRITE, 0x44332211, 0x08070605);
    expect(ram.read32(0xa000_0ffc)).toBe(0x44332211);
    expect(ram.read32(LOW_RAM_LIMIT_LARGE + 0x5000)).toBe(0x08070605);
    expect(mmu.read64(0x1000_0ffc, 0, SUPERVISOR_READ)).toBe(0x44332211);
    expect(mmu.high).toBe(0x08070605);

    // Page tables in RAM above 4 GiB.
    const high = new PageTableBuilder(bus, "4level", HIGH_RAM_BASE + 0x200000);
    high.map(0x2000_0000, HIGH_RAM_BASE + 0x5000);
    expect(mmu.setCr3(high.cr3 % 2 ** 32, 1)).toBe(true);
    expect(mmu.read32(0x2000_0010, 0, SUPERVISOR_READ)).toBe(0x600d4a11);
    expect(ram.read32(LOW_RAM_LIMIT_LARGE + 0x200000) & 0x20).toBe(0x20); // A in the PML4E
    expect(mmu.faultPending).toBe(false);
    expect(mmu.faultPending).toBe(false);
  });
});

describe("PhysicalBus validation", () => {
  it("rejects RAM ranges that are not page aligned or extend past guest RAM", () => {
    const ram = new GuestRam(0x10000);
    expect(() => new PhysicalBus(ram, [{ base: 0x800, size: 0x1000, ramOffset: 0 }])).toThrow(/page aligned/);
    expect(() => new PhysicalBus(ram, [{ base: 0, size: 0x1800, ramOffset: 0 }])).toThrow(/page aligned/);
    expect(() => new PhysicalBus(ram, [{ base: 0, size: 0x1000, ramOffset: 0x10 }])).toThrow(/page aligned/);
    expect(() => new PhysicalBus(ram, [{ base: 0, size: 0x11000, ramOffset: 0 }])).toThrow(/past the end/);
    expect(() => new PhysicalBus(ram, [{ base: 0x100000, size: 0x1000, ramOffset: 0x10000 }])).toThrow(/past the end/);
    expect(() => new PhysicalBus(ram, [{ base: 0x100000, size: 0x10000, ramOffset: 0 }])).not.toThrow();
  });
});

describe("MMIO dispatch", () => {
  const BASE = 0xfebf0000;

  it("passes 1, 2 and 4-byte reads and writes to the device with region-relative offsets and sizes", () => {
    const { bus } = pcBus();
    const dev = new FakeDevice("fake", 0x100);
    bus.mapMmio(BASE, 0x100, dev);
    expect(bus.read8(BASE + 5)).toBe(dev.bytes[5]);
    expect(bus.read16(BASE + 6)).toBe(dev.bytes[6] | (dev.bytes[7] << 8));
    const expected32 = (dev.bytes[8] | (dev.bytes[9] << 8) | (dev.bytes[10] << 16) | (dev.bytes[11] << 24)) | 0;
    expect(bus.read32(BASE + 8)).toBe(expected32);
    expect(dev.calls).toEqual([
      ["read", 5, 1],
      ["read", 6, 2],
      ["read", 8, 4],
    ]);
    expect(bus.mmioReads).toBe(3);
    dev.calls.length = 0;

    bus.write8(BASE + 0x21, 0xab);
    bus.write16(BASE + 0x22, 0xcdef);
    bus.write32(BASE + 0xfc, 0x89abcdef | 0);
    expect(dev.calls).toEqual([
      ["write", 0x21, 1, 0xab],
      ["write", 0x22, 2, 0xcdef],
      ["write", 0xfc, 4, 0x89abcdef | 0],
    ]);
    expect(bus.mmioWrites).toBe(3);
    expect(bus.read32(BASE + 0xfc)).toBe(0x89abcdef | 0);
    expect(bus.openBusReads + bus.openBusWrites).toBe(0);
    expect(bus.describe(BASE + 0x10)).toBe("MMIO fake (+0x10)");
  });

  it("masks what a device returns to the access size and returns 32-bit values as signed int32", () => {
    const { bus } = pcBus();
    const dev: MmioDevice = { name: "wide", read: () => 0xfedcba98, write: () => {} };
    bus.mapMmio(BASE, 0x10, dev);
    expect(bus.read8(BASE)).toBe(0x98);
    expect(bus.read16(BASE)).toBe(0xba98);
    expect(bus.read32(BASE)).toBe(0xfedcba98 | 0);
  });

  it("splits 8-byte accesses into two 4-byte ones, low half first, for a device without read64/write64", () => {
    const { bus } = pcBus();
    const dev = new FakeDevice("fake32", 0x100);
    bus.mapMmio(BASE, 0x100, dev);
    const dv = new DataView(dev.bytes.buffer);
    expect(bus.read64(BASE + 0x10)).toBe(dv.getInt32(0x10, true));
    expect(bus.high).toBe(dv.getInt32(0x14, true));
    expect(dev.calls).toEqual([
      ["read", 0x10, 4],
      ["read", 0x14, 4],
    ]);
    dev.calls.length = 0;
    bus.write64(BASE + 0x18, 0x11223344, 0x55667788);
    expect(dev.calls).toEqual([
      ["write", 0x18, 4, 0x11223344],
      ["write", 0x1c, 4, 0x55667788],
    ]);
  });

  it("passes 8-byte accesses whole to a device with read64/write64", () => {
    const { bus } = pcBus();
    const dev = new FakeDevice64("fake64", 0x100);
    bus.mapMmio(BASE, 0x100, dev);
    const dv = new DataView(dev.bytes.buffer);
    expect(bus.read64(BASE + 0x40)).toBe(dv.getInt32(0x40, true));
    expect(bus.high).toBe(dv.getInt32(0x44, true));
    bus.write64(BASE + 0x48, 0x0a0b0c0d, 0xf1f2f3f4 | 0);
    expect(dev.calls).toEqual([
      ["read64", 0x40],
      ["write64", 0x48, 0x0a0b0c0d, 0xf1f2f3f4 | 0],
    ]);
    expect(bus.mmioReads).toBe(1);
    expect(bus.mmioWrites).toBe(1);
  });

  it("lets MMIO take precedence over the RAM beneath it, even within part of a frame", () => {
    const { ram, bus } = pcBus();
    const dev = new FakeDevice("over-ram", 0x1000);
    bus.mapMmio(0x200000, 0x1000, dev);
    bus.write32(0x200010, 0x12345678);
    expect(ram.read32(0x200010)).toBe(0);
    expect(dev.calls).toEqual([["write", 0x10, 4, 0x12345678]]);
    expect(bus.frameRamOffset(0x200000)).toBe(-1);

    const small = new FakeDevice("small", 0x10);
    bus.mapMmio(0x300010, 0x10, small);
    bus.write32(0x300000, 0x0a0a0a0a);
    expect(ram.read32(0x300000)).toBe(0x0a0a0a0a);
    bus.write32(0x300014, 0x0b0b0b0b);
    expect(ram.read32(0x300014)).toBe(0);
    expect(small.calls).toEqual([["write", 4, 4, 0x0b0b0b0b]]);
    expect(bus.frameRamOffset(0x300000)).toBe(-1);
    expect(bus.ramOffsetOf(0x300000)).toBe(0x300000);
    expect(bus.ramOffsetOf(0x300014)).toBe(-1);
  });

  it("rejects an MMIO region that overlaps one already mapped and accepts an adjacent one", () => {
    const { bus } = pcBus();
    bus.mapMmio(0xfe000000, 0x2000, new FakeDevice("first", 0x2000));
    const overlapping: [number, number][] = [
      [0xfe000000, 0x2000], // identical
      [0xfdfff000, 0x2000], // overlaps the start
      [0xfe001000, 0x2000], // overlaps the end
      [0xfe000800, 0x100], // inside
      [0xfdff0000, 0x100000], // around
      [0xfe001fff, 1], // last byte
    ];
    for (const [base, size] of overlapping) {
      expect(() => bus.mapMmio(base, size, new FakeDevice("second", size)), `${base.toString(16)}+${size}`).toThrow(
        RangeError,
      );
    }
    expect(() => bus.mapMmio(0xfe002000, 0x1000, new FakeDevice("after", 0x1000))).not.toThrow();
    expect(() => bus.mapMmio(0xfdfff000, 0x1000, new FakeDevice("before", 0x1000))).not.toThrow();
  });
});
