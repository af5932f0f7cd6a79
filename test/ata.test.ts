import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AtaChannel } from "../src/devices/ata-channel.ts";
import { AtaDisk, guessGeometry } from "../src/devices/ata-disk.ts";
import { DiskImage } from "../src/devices/disk-image.ts";
import { PortBus } from "../src/machine/ports.ts";
import { ALT_STATUS, COMMAND, CONTROL, COUNT, DATA, DEVICE, ERROR, FEATURES, LBA_HIGH, LBA_LOW, LBA_MID, STATUS, lba28, lba48 } from "./helpers/ata-registers.ts";

// Expected values are what QEMU 7.2's ide-hd returned to a probe kernel
// (port reads printed on its debug console) for a 100-sector raw image at
// index 0, unless a comment cites ATA/ATAPI-6.

interface Rig {
  bus: PortBus;
  channel: AtaChannel;
  /** Every level driven on IRQ 14. */
  edges: boolean[];
  /** Rising edges seen. */
  raised: () => number;
}

function rig(master: AtaDisk | null, slave: AtaDisk | null = null, base = DATA, control = CONTROL): Rig {
  const bus = new PortBus();
  const edges: boolean[] = [];
  const channel = new AtaChannel((level) => edges.push(level), master, slave);
  channel.attach(bus, base, control);
  return { bus, channel, edges, raised: () => edges.filter((l) => l).length };
}

/** A disk of `sectors` sectors in memory whose sector n is filled with byte n & 0xff. */
function patternDisk(sectors = 100, index = 0): AtaDisk {
  const bytes = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) bytes.fill(s & 0xff, s * 512, s * 512 + 512);
  return new AtaDisk(DiskImage.fromBytes(bytes), index);
}

const inb = (r: Rig, port: number): number => r.bus.read(port, 1);
const outb = (r: Rig, port: number, v: number): void => r.bus.write(port, 1, v);

/** error, count, lba low, mid, high, device, alt status, status — the probe's line. */
function registers(r: Rig): number[] {
  const out = [];
  for (let p = ERROR; p <= LBA_HIGH + 1; p++) out.push(inb(r, p));
  out.push(inb(r, ALT_STATUS));
  out.push(inb(r, STATUS));
  return out;
}

function readWords(r: Rig, words: number): number[] {
  const out = [];
  for (let i = 0; i < words; i++) out.push(r.bus.read(DATA, 2));
  return out;
}

function readBytes(r: Rig, bytes: number, width: 2 | 4): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += width) {
    const v = r.bus.read(DATA, width);
    for (let k = 0; k < width; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
  }
  return out;
}

function writeBytes(r: Rig, data: Uint8Array, width: 2 | 4): void {
  for (let i = 0; i < data.length; i += width) {
    let v = 0;
    for (let k = 0; k < width; k++) v |= data[i + k]! << (8 * k);
    r.bus.write(DATA, width, v >>> 0);
  }
}

const tempFiles: string[] = [];
afterEach(() => {
  for (const f of tempFiles.splice(0)) fs.rmSync(f, { force: true });
});
function tempImage(bytes: number): string {
  const file = path.join(os.tmpdir(), `cr3-ata-${process.pid}-${tempFiles.length}-${Date.now()}.img`);
  fs.writeFileSync(file, "");
  fs.truncateSync(file, bytes);
  tempFiles.push(file);
  return file;
}

describe("IDENTIFY DEVICE", () => {
  // Every non-zero word QEMU 7.2 returned for a 100-sector image (QM00001).
  const QEMU_WORDS: Record<number, number> = {
    0: 0x0040, 1: 0x0002, 3: 0x0010, 4: 0x7e00, 5: 0x0200, 6: 0x003f,
    10: 0x514d, 11: 0x3030, 12: 0x3030, 13: 0x3120, 14: 0x2020, 15: 0x2020, 16: 0x2020, 17: 0x2020, 18: 0x2020, 19: 0x2020,
    20: 0x0003, 21: 0x0200, 22: 0x0004, 23: 0x322e, 24: 0x352b, 25: 0x2020, 26: 0x2020,
    27: 0x5145, 28: 0x4d55, 29: 0x2048, 30: 0x4152, 31: 0x4444, 32: 0x4953, 33: 0x4b20,
    34: 0x2020, 35: 0x2020, 36: 0x2020, 37: 0x2020, 38: 0x2020, 39: 0x2020, 40: 0x2020, 41: 0x2020,
    42: 0x2020, 43: 0x2020, 44: 0x2020, 45: 0x2020, 46: 0x2020,
    47: 0x8010, 48: 0x0001, 49: 0x0b00, 51: 0x0200, 52: 0x0200, 53: 0x0007, 54: 0x0002, 55: 0x0010, 56: 0x003f,
    57: 0x07e0, 59: 0x0110, 60: 0x0064, 62: 0x0007, 63: 0x0007, 64: 0x0003,
    65: 0x0078, 66: 0x0078, 67: 0x0078, 68: 0x0078, 69: 0x4000,
    80: 0x00f0, 81: 0x0016, 82: 0x4021, 83: 0x7400, 84: 0x4000, 85: 0x4021, 86: 0x3400, 87: 0x4000, 88: 0x203f,
    93: 0x6001, 100: 0x0064, 106: 0x6000, 169: 0x0001,
  };

  it("returns QEMU's 256 words, with DRQ and an interrupt, then status 0x50", () => {
    const r = rig(patternDisk());
    outb(r, DEVICE, 0xa0);
    // Power-on state (QEMU's ide_reset): error 0, the signature, DRDY|DSC.
    expect(registers(r)).toEqual([0x00, 0x01, 0x01, 0x00, 0x00, 0xa0, 0x50, 0x50]);
    outb(r, COMMAND, 0xec);
    expect(r.raised()).toBe(1);
    expect(inb(r, ALT_STATUS)).toBe(0x58);
    const words = readWords(r, 256);
    const expected = Array.from({ length: 256 }, (_, i) => QEMU_WORDS[i] ?? 0);
    expect(words).toEqual(expected);
    expect(inb(r, STATUS)).toBe(0x50);
    expect(r.bus.read(DATA, 2)).toBe(0); // no DRQ: QEMU returns 0
  });

  it("spells QEMU HARDDISK, firmware 2.5+ and serial QM0000n by drive index", () => {
    const text = (d: AtaDisk, word: number, len: number): string => {
      let s = "";
      for (let i = 0; i < len; i++) s += String.fromCharCode(d.identifyData[word * 2 + (i ^ 1)]!);
      return s.trimEnd();
    };
    const disk = patternDisk(100, 2);
    expect(text(disk, 27, 40)).toBe("QEMU HARDDISK");
    expect(text(disk, 23, 8)).toBe("2.5+");
    expect(text(disk, 10, 20)).toBe("QM00003");
  });

  it("caps the LBA28 count at 2^28 - 1 and gives the full count in words 100-103", () => {
    const sectors = 2 ** 28 + 0x1234;
    const image = DiskImage.open(tempImage(sectors * 512), { snapshot: true });
    const d = new AtaDisk(image).identifyData;
    const word = (w: number): number => d[w * 2]! | (d[w * 2 + 1]! << 8);
    expect([word(60), word(61)]).toEqual([0xffff, 0x0fff]);
    expect([word(100), word(101), word(102), word(103)]).toEqual([0x1234, 0x1000, 0, 0]);
    // 16383 cylinders at most (hd-geometry.c), words 57-58 = 16383 * 16 * 63.
    expect([word(1), word(3), word(6)]).toEqual([16383, 16, 63]);
    expect(word(57) + word(58) * 0x10000).toBe(16383 * 16 * 63);
    image.close();
  });

  it("takes its geometry from an MBR partition ending on a cylinder boundary", () => {
    const bytes = new Uint8Array(4 * 16 * 32 * 512);
    bytes[510] = 0x55;
    bytes[511] = 0xaa;
    const entry = 0x1be;
    bytes[entry + 5] = 15; // end head: 16 heads
    bytes[entry + 6] = 32; // end sector: 32 per track
    bytes[entry + 12] = 100; // a non-zero length
    expect(guessGeometry(DiskImage.fromBytes(bytes))).toEqual({ cylinders: 4, heads: 16, sectorsPerTrack: 32 });
  });

  it("IDENTIFY PACKET DEVICE aborts on a hard disk: error 0x04, status 0x41", () => {
    const r = rig(patternDisk());
    outb(r, COMMAND, 0xa1);
    expect(inb(r, ERROR)).toBe(0x04);
    expect(inb(r, STATUS)).toBe(0x41);
    expect(r.raised()).toBe(1);
  });
});

describe("PIO reads and writes", () => {
  it("READ SECTORS (LBA28) through 16-bit data reads", () => {
    const r = rig(patternDisk());
    lba28(r, 42, 1);
    outb(r, COMMAND, 0x20);
    expect(inb(r, STATUS)).toBe(0x58);
    const data = readBytes(r, 512, 2);
    expect(data.every((b) => b === 42)).toBe(true);
    expect(inb(r, STATUS)).toBe(0x50);
    // The registers now name the next sector, the count is spent.
    expect([inb(r, COUNT), inb(r, LBA_LOW)]).toEqual([0, 43]);
  });

  it("WRITE SECTORS then READ SECTORS round trip, 16- and 32-bit", () => {
    for (const width of [2, 4] as const) {
      const r = rig(patternDisk());
      const data = new Uint8Array(1024).map((_, i) => (i * 7 + width) & 0xff);
      lba28(r, 5, 2);
      outb(r, COMMAND, 0x30);
      // QEMU: status 0x58, count 1 (probe 'W' with one sector), no interrupt yet.
      expect(inb(r, ALT_STATUS)).toBe(0x58);
      expect(r.raised()).toBe(0);
      writeBytes(r, data.subarray(0, 512), width);
      expect(r.raised()).toBe(1); // after the first block
      expect(inb(r, STATUS)).toBe(0x58);
      writeBytes(r, data.subarray(512), width);
      expect(r.raised()).toBe(2); // after the last
      expect(registers(r)).toEqual([0x00, 0x00, 0x07, 0x00, 0x00, 0xe0, 0x50, 0x50]);
      lba28(r, 5, 2);
      outb(r, COMMAND, 0x20);
      expect(readBytes(r, 1024, width)).toEqual(data);
    }
  });

  it("READ SECTORS EXT / WRITE SECTORS EXT above 2^28 (a sparse image, in snapshot mode)", () => {
    const sectors = 2 ** 28 + 64;
    const image = DiskImage.open(tempImage(sectors * 512), { snapshot: true });
    const r = rig(new AtaDisk(image));
    const lba = 2 ** 28 + 17;
    const data = new Uint8Array(512).map((_, i) => i ^ 0x5a);
    lba48(r, lba, 1);
    outb(r, COMMAND, 0x34);
    writeBytes(r, data, 4);
    expect(inb(r, STATUS)).toBe(0x50);
    // Next address: LBA low/mid/high and their HOB halves.
    outb(r, CONTROL, 0x80);
    expect([inb(r, LBA_LOW), inb(r, LBA_MID), inb(r, LBA_HIGH)]).toEqual([0x10, 0, 0]);
    outb(r, CONTROL, 0x00);
    expect([inb(r, LBA_LOW), inb(r, LBA_MID), inb(r, LBA_HIGH)]).toEqual([18, 0, 0]);
    lba48(r, lba, 1);
    outb(r, COMMAND, 0x24);
    expect(readBytes(r, 512, 2)).toEqual(data);
    // The same address through LBA28 wraps to sector 17 (bits 27:0): zeros.
    lba28(r, lba, 1);
    outb(r, COMMAND, 0x20);
    expect(readBytes(r, 512, 4).every((b) => b === 0)).toBe(true);
    image.close();
  });

  it("READ SECTORS EXT at 98, count 1 (probe 'E'): 0x58 then 0x50, count 0, LBA low 0x63", () => {
    const r = rig(patternDisk());
    lba48(r, 98, 1);
    outb(r, COMMAND, 0x24);
    expect(registers(r)).toEqual([0x00, 0x00, 0x63, 0x00, 0x00, 0xe0, 0x58, 0x58]);
    expect(readBytes(r, 512, 4).every((b) => b === 98)).toBe(true);
    expect(registers(r)).toEqual([0x00, 0x00, 0x63, 0x00, 0x00, 0xe0, 0x50, 0x50]);
  });

  it("count 0 means 256 sectors for READ SECTORS", () => {
    const r = rig(patternDisk(300));
    lba28(r, 0, 0);
    outb(r, COMMAND, 0x20);
    for (let s = 0; s < 256; s++) {
      expect(inb(r, STATUS)).toBe(0x58);
      expect(readBytes(r, 512, 4)[0]).toBe(s & 0xff);
    }
    expect(inb(r, STATUS)).toBe(0x50);
    expect(r.raised()).toBe(256);
  });

  it("one interrupt per sector for READ SECTORS, one per block for READ/WRITE MULTIPLE", () => {
    const r = rig(patternDisk());
    lba28(r, 10, 3);
    outb(r, COMMAND, 0x20);
    for (let s = 0; s < 3; s++) {
      expect(inb(r, STATUS)).toBe(0x58); // a driver's interrupt handler reads status
      readBytes(r, 512, 2);
    }
    expect(r.raised()).toBe(3);

    const m = rig(patternDisk());
    outb(m, COUNT, 2);
    outb(m, COMMAND, 0xc6); // SET MULTIPLE MODE 2
    expect(inb(m, STATUS)).toBe(0x50);
    lba28(m, 20, 5);
    outb(m, COMMAND, 0xc4); // READ MULTIPLE: blocks of 2, 2, 1
    const got: number[] = [];
    for (const sectors of [2, 2, 1]) {
      expect(inb(m, STATUS)).toBe(0x58);
      const block = readBytes(m, sectors * 512, 4);
      for (let s = 0; s < sectors; s++) got.push(block[s * 512]!);
    }
    expect(got).toEqual([20, 21, 22, 23, 24]);
    expect(inb(m, STATUS)).toBe(0x50);
    expect(m.raised()).toBe(1 + 3); // SET MULTIPLE's completion, then 3 blocks

    lba28(m, 60, 3);
    outb(m, COMMAND, 0xc5); // WRITE MULTIPLE: blocks of 2 then 1
    const before = m.raised();
    writeBytes(m, new Uint8Array(1024).fill(0xee), 2);
    expect(m.raised()).toBe(before + 1);
    expect(inb(m, STATUS)).toBe(0x58);
    writeBytes(m, new Uint8Array(512).fill(0xee), 2);
    expect(m.raised()).toBe(before + 2);
    expect(inb(m, STATUS)).toBe(0x50);
    lba28(m, 59, 5);
    outb(m, COMMAND, 0x20);
    const firsts = [];
    for (let s = 0; s < 5; s++) firsts.push(readBytes(m, 512, 2)[0]);
    expect(firsts).toEqual([59, 0xee, 0xee, 0xee, 63]);
  });

  it("SET MULTIPLE MODE refuses 3 (probe 'm'), accepts 8; IDENTIFY word 59 keeps 0x0110", () => {
    const r = rig(patternDisk());
    outb(r, DEVICE, 0xe0);
    outb(r, COUNT, 3);
    outb(r, COMMAND, 0xc6);
    expect([inb(r, ERROR), inb(r, STATUS)]).toEqual([0x04, 0x41]);
    outb(r, COUNT, 8);
    outb(r, COMMAND, 0xc6);
    expect([inb(r, ERROR), inb(r, STATUS)]).toEqual([0x00, 0x50]);
    outb(r, COMMAND, 0xec);
    expect(readWords(r, 256)[59]).toBe(0x0110);
  });

  it("READ MULTIPLE with multiple mode 0 aborts", () => {
    const r = rig(patternDisk());
    outb(r, COUNT, 0);
    outb(r, COMMAND, 0xc6);
    lba28(r, 0, 1);
    outb(r, COMMAND, 0xc4);
    expect([inb(r, ERROR), inb(r, STATUS)]).toEqual([0x04, 0x41]);
  });

  it("CHS addressing: cylinder 0, head 1, sector 1 is LBA 63 (probe 'C')", () => {
    const r = rig(patternDisk());
    outb(r, DEVICE, 0xa1);
    outb(r, COUNT, 1);
    outb(r, LBA_LOW, 1);
    outb(r, LBA_MID, 0);
    outb(r, LBA_HIGH, 0);
    outb(r, COMMAND, 0x20);
    expect(registers(r)).toEqual([0x00, 0x00, 0x02, 0x00, 0x00, 0xa1, 0x58, 0x58]);
    expect(readBytes(r, 512, 2)[0]).toBe(63);
    expect(registers(r)).toEqual([0x00, 0x00, 0x02, 0x00, 0x00, 0xa1, 0x50, 0x50]);
  });

  it("CHS sector 0 does not exist: the command aborts", () => {
    const r = rig(patternDisk());
    outb(r, DEVICE, 0xa0);
    outb(r, COUNT, 1);
    outb(r, LBA_LOW, 0);
    outb(r, COMMAND, 0x20);
    expect([inb(r, ERROR), inb(r, STATUS)]).toEqual([0x04, 0x41]);
  });
});

describe("errors", () => {
  it("a read past the end aborts, registers unchanged (probe 'R': 04 01 C8 .. 41)", () => {
    const r = rig(patternDisk());
    lba28(r, 200, 1);
    outb(r, COMMAND, 0x20);
    expect(registers(r)).toEqual([0x04, 0x01, 0xc8, 0x00, 0x00, 0xe0, 0x41, 0x41]);
    expect(r.raised()).toBe(1);
  });

  it("a read that runs off the end fails at the first missing sector (probe 'X')", () => {
    const r = rig(patternDisk());
    lba28(r, 99, 2);
    outb(r, COMMAND, 0x20);
    expect(registers(r)).toEqual([0x00, 0x01, 0x64, 0x00, 0x00, 0xe0, 0x58, 0x58]);
    readBytes(r, 512, 2);
    expect(registers(r)).toEqual([0x04, 0x01, 0x64, 0x00, 0x00, 0xe0, 0x41, 0x41]);
    expect(r.bus.read(DATA, 2)).toBe(0);
  });

  it("a write past the end aborts once the block arrives, and writes nothing", () => {
    const image = DiskImage.blank(10);
    const r = rig(new AtaDisk(image));
    lba28(r, 10, 1);
    outb(r, COMMAND, 0x30);
    expect(inb(r, STATUS)).toBe(0x58);
    writeBytes(r, new Uint8Array(512).fill(1), 2);
    expect([inb(r, ERROR), inb(r, STATUS)]).toEqual([0x04, 0x41]);
  });

  it("unknown commands and DMA commands abort: error 0x04, status 0x41 (probe 'U')", () => {
    for (const command of [0xff, 0x00, 0xc8, 0xca, 0x25, 0xa0]) {
      const r = rig(patternDisk());
      outb(r, DEVICE, 0xa0);
      outb(r, COMMAND, command);
      expect(registers(r)).toEqual([0x04, 0x01, 0x01, 0x00, 0x00, 0xa0, 0x41, 0x41]);
    }
  });

  it("writes to read-only media abort with ABRT and leave the disk as it was", () => {
    const image = DiskImage.fromBytes(new Uint8Array(512 * 4).fill(9), { readOnly: true });
    const r = rig(new AtaDisk(image));
    lba28(r, 1, 1);
    outb(r, COMMAND, 0x30);
    writeBytes(r, new Uint8Array(512), 2);
    expect([inb(r, ERROR), inb(r, STATUS)]).toEqual([0x04, 0x41]);
    lba28(r, 1, 1);
    outb(r, COMMAND, 0x20);
    expect(readBytes(r, 512, 2).every((b) => b === 9)).toBe(true);
  });
});

describe("other commands (probe results)", () => {
  function after(command: number, setup?: (r: Rig) => void): number[] {
    const r = rig(patternDisk());
    lba28(r, 0x64, 1);
    setup?.(r);
    outb(r, COMMAND, command);
    return registers(r);
  }

  it("CHECK POWER MODE: count 0xFF, status 0x50", () => {
    expect(after(0xe5)).toEqual([0x00, 0xff, 0x64, 0x00, 0x00, 0xe0, 0x50, 0x50]);
  });

  it("EXECUTE DEVICE DIAGNOSTIC: error 0x01 and the ATA signature", () => {
    expect(after(0x90)).toEqual([0x01, 0x01, 0x01, 0x00, 0x00, 0xa0, 0x50, 0x50]);
  });

  it("STANDBY IMMEDIATE: status 0x40 (no DSC)", () => {
    expect(after(0xe0)[7]).toBe(0x40);
  });

  it("READ VERIFY, SEEK, RECALIBRATE, INITIALIZE DEVICE PARAMETERS, FLUSH CACHE: 0x50", () => {
    for (const command of [0x40, 0x42, 0x70, 0x10, 0x91, 0xe7, 0xea]) expect(after(command)[7]).toBe(0x50);
  });

  it("SET FEATURES: 0x99 aborts, 0x02 and transfer mode 0x0C (PIO 4) are accepted", () => {
    expect(after(0xef, (r) => outb(r, FEATURES, 0x99)).slice(6)).toEqual([0x41, 0x41]);
    expect(after(0xef, (r) => outb(r, FEATURES, 0x02))[7]).toBe(0x50);
    expect(
      after(0xef, (r) => {
        outb(r, FEATURES, 0x03);
        outb(r, COUNT, 0x0c);
      })[7],
    ).toBe(0x50);
  });

  it("READ NATIVE MAX ADDRESS in CHS mode: LBA 99 is C/H/S 0/1/37", () => {
    const r = rig(patternDisk());
    outb(r, DEVICE, 0xa0);
    outb(r, COMMAND, 0xf8);
    expect(registers(r)).toEqual([0x00, 0x01, 0x25, 0x00, 0x00, 0xa1, 0x50, 0x50]);
  });
});

describe("registers, drive selection and reset", () => {
  it("HOB reads the previous feature and count (probe 'H')", () => {
    const r = rig(patternDisk());
    outb(r, COUNT, 0x12);
    outb(r, COUNT, 0x34);
    outb(r, FEATURES, 0x56);
    outb(r, FEATURES, 0x78);
    outb(r, CONTROL, 0x80);
    expect([inb(r, ERROR), inb(r, COUNT)]).toEqual([0x56, 0x12]);
    outb(r, CONTROL, 0x00);
    expect([inb(r, ERROR), inb(r, COUNT)]).toEqual([0x00, 0x34]);
  });

  it("any command-block write clears HOB", () => {
    const r = rig(patternDisk());
    outb(r, COUNT, 0x12);
    outb(r, COUNT, 0x34);
    outb(r, CONTROL, 0x80);
    outb(r, LBA_LOW, 0x01);
    expect(inb(r, COUNT)).toBe(0x34);
  });

  it("an absent slave reads status, alternate status and error 0, the rest latched (probe 's')", () => {
    const r = rig(patternDisk());
    // At power-on the missing slave's LBA mid/high hold 0xFF (QEMU's signature for no drive).
    outb(r, DEVICE, 0xb0);
    expect(registers(r)).toEqual([0x00, 0x01, 0x01, 0xff, 0xff, 0xb0, 0x00, 0x00]);
    // Writes reach its latches as they reach the master's (the probe ran after SeaBIOS had zeroed them).
    outb(r, DEVICE, 0xa0);
    outb(r, COUNT, 0x34);
    outb(r, LBA_MID, 0);
    outb(r, LBA_HIGH, 0);
    outb(r, DEVICE, 0xb0);
    expect(registers(r)).toEqual([0x00, 0x34, 0x01, 0x00, 0x00, 0xb0, 0x00, 0x00]);
    // IDENTIFY to it is ignored: no interrupt, no data.
    outb(r, COMMAND, 0xec);
    expect(r.raised()).toBe(0);
    expect(inb(r, STATUS)).toBe(0);
    expect(r.bus.read(DATA, 2)).toBe(0);
    // The master is still there.
    outb(r, DEVICE, 0xa0);
    expect(inb(r, STATUS)).toBe(0x50);
  });

  it("a present slave answers IDENTIFY with its own serial", () => {
    const r = rig(patternDisk(100, 0), patternDisk(50, 1));
    outb(r, DEVICE, 0xb0);
    expect(inb(r, STATUS)).toBe(0x50);
    outb(r, COMMAND, 0xec);
    const words = readWords(r, 256);
    expect(words[13]).toBe(0x3220); // "QM00002": "2 "
    expect(words[60]).toBe(50);
  });

  it("a channel with no drives reads 0 everywhere", () => {
    const r = rig(null, null, 0x170, 0x376);
    for (const unit of [0xa0, 0xb0]) {
      outb(r, 0x176, unit);
      for (let p = 0x171; p <= 0x177; p++) expect(r.bus.read(p, 1)).toBe(0);
      expect(r.bus.read(0x376, 1)).toBe(0);
    }
  });

  it("SRST: BSY while held, then the signature; an absent slave shows LBA mid/high 0xFF (probe 'Z')", () => {
    const r = rig(patternDisk());
    lba28(r, 0x22, 0x12);
    outb(r, CONTROL, 0x06);
    expect(inb(r, ALT_STATUS) & 0x80).toBe(0x80);
    outb(r, CONTROL, 0x02);
    expect(registers(r)).toEqual([0x01, 0x01, 0x01, 0x00, 0x00, 0xa0, 0x50, 0x50]);
    outb(r, DEVICE, 0xb0);
    expect(registers(r)).toEqual([0x00, 0x01, 0x01, 0xff, 0xff, 0xb0, 0x00, 0x00]);
    expect(r.raised()).toBe(0); // nIEN was set throughout
  });

  it("SRST cancels a transfer in progress", () => {
    const r = rig(patternDisk());
    lba28(r, 3, 2);
    outb(r, COMMAND, 0x20);
    expect(inb(r, STATUS)).toBe(0x58);
    outb(r, CONTROL, 0x04);
    outb(r, CONTROL, 0x00);
    expect(inb(r, STATUS)).toBe(0x50);
    expect(r.bus.read(DATA, 2)).toBe(0);
  });

  it("register writes and commands are ignored while DRQ is set", () => {
    const r = rig(patternDisk());
    lba28(r, 7, 1);
    outb(r, COMMAND, 0x20);
    outb(r, LBA_LOW, 0x55);
    outb(r, COMMAND, 0xe5);
    expect([inb(r, LBA_LOW), inb(r, COUNT), inb(r, STATUS)]).toEqual([8, 0, 0x58]);
    expect(readBytes(r, 512, 2)[0]).toBe(7);
  });
});

describe("interrupt line", () => {
  it("reading status lowers IRQ 14, reading alternate status does not", () => {
    const r = rig(patternDisk());
    lba28(r, 0, 1);
    outb(r, COMMAND, 0x20);
    expect(r.channel.irqAsserted).toBe(true);
    inb(r, ALT_STATUS);
    expect(r.channel.irqAsserted).toBe(true);
    inb(r, STATUS);
    expect(r.channel.irqAsserted).toBe(false);
    expect(r.edges).toEqual([true, false]);
  });

  it("a new command lowers a pending interrupt before raising its own", () => {
    const r = rig(patternDisk());
    outb(r, COMMAND, 0xe5);
    outb(r, COMMAND, 0xe5);
    expect(r.edges).toEqual([true, false, true]);
  });

  it("nIEN suppresses every interrupt of a multi-sector read and write", () => {
    const r = rig(patternDisk());
    outb(r, CONTROL, 0x02);
    lba28(r, 0, 4);
    outb(r, COMMAND, 0x20);
    for (let s = 0; s < 4; s++) {
      expect(inb(r, ALT_STATUS)).toBe(0x58); // polled mode
      readBytes(r, 512, 4);
    }
    lba28(r, 0, 2);
    outb(r, COMMAND, 0x30);
    writeBytes(r, new Uint8Array(1024), 4);
    expect(inb(r, STATUS)).toBe(0x50);
    expect(r.edges).toEqual([]);
    outb(r, CONTROL, 0x00);
    outb(r, COMMAND, 0xe7);
    expect(r.edges).toEqual([true]);
  });
});

describe("the secondary channel and the image file", () => {
  it("works at 0x170-0x177 / 0x376", () => {
    const r = rig(patternDisk(100, 2), null, 0x170, 0x376);
    r.bus.write(0x176, 1, 0xe0);
    r.bus.write(0x172, 1, 1);
    r.bus.write(0x173, 1, 9);
    r.bus.write(0x174, 1, 0);
    r.bus.write(0x175, 1, 0);
    r.bus.write(0x177, 1, 0x20);
    expect(r.bus.read(0x376, 1)).toBe(0x58);
    expect(r.bus.read(0x170, 4)).toBe(0x09090909);
    expect(r.raised()).toBe(1);
  });

  it("FLUSH CACHE writes the dirty sectors to the file; before it the file is untouched", () => {
    const file = tempImage(8 * 512);
    const image = DiskImage.open(file);
    const r = rig(new AtaDisk(image));
    lba28(r, 3, 1);
    outb(r, COMMAND, 0x30);
    writeBytes(r, new Uint8Array(512).fill(0xab), 2);
    expect(fs.readFileSync(file).subarray(3 * 512, 4 * 512).every((b) => b === 0)).toBe(true);
    outb(r, COMMAND, 0xe7);
    expect(inb(r, STATUS)).toBe(0x50);
    const after = fs.readFileSync(file);
    expect(after.subarray(3 * 512, 4 * 512).every((b) => b === 0xab)).toBe(true);
    expect(after.length).toBe(8 * 512);
    image.close();
  });
});
