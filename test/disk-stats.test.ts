import { describe, expect, it } from "vitest";
import { AtaChannel } from "../src/devices/ata-channel.ts";
import { AtaDisk, driveName } from "../src/devices/ata-disk.ts";
import { DiskImage } from "../src/devices/disk-image.ts";
import { formatStats, runStats, type RunStats } from "../src/cli/stats.ts";
import { PcMachine } from "../src/machine/pc.ts";
import { PortBus } from "../src/machine/ports.ts";
import { COMMAND, CONTROL, COUNT, DATA, DEVICE, STATUS, lba28, lba48 } from "./helpers/ata-registers.ts";

// The --stats disk counters: sectors a disk moved for READ/WRITE (MULTIPLE)
// SECTORS, driven through the primary channel's registers as a guest would.

const ST_ERR = 0x01;
const ST_DRQ = 0x08;

interface Rig {
  bus: PortBus;
  disk: AtaDisk;
}

function rig(sectors = 100, readOnly = false): Rig {
  const bus = new PortBus();
  const disk = new AtaDisk(DiskImage.blank(sectors, { readOnly }), 0);
  new AtaChannel(() => {}, disk, null).attach(bus, DATA, CONTROL);
  return { bus, disk };
}

const outb = (r: Rig, port: number, v: number): void => r.bus.write(port, 1, v);
const inb = (r: Rig, port: number): number => r.bus.read(port, 1);

/** Reads words from the data register while DRQ is set; returns how many. */
function drainWords(r: Rig): number {
  let words = 0;
  while ((inb(r, STATUS) & ST_DRQ) !== 0) {
    r.bus.read(DATA, 2);
    words++;
  }
  return words;
}

/** Writes words to the data register while DRQ is set; returns how many. */
function fillWords(r: Rig): number {
  let words = 0;
  while ((inb(r, STATUS) & ST_DRQ) !== 0) {
    r.bus.write(DATA, 2, 0x1234);
    words++;
  }
  return words;
}

const counters = (d: AtaDisk): [number, number] => [d.sectorsRead, d.sectorsWritten];

describe("disk sector counters", () => {
  it("start at zero", () => {
    expect(counters(rig().disk)).toEqual([0, 0]);
  });

  it("READ SECTORS of 5 counts 5 read, 0 written", () => {
    const r = rig();
    lba28(r, 10, 5);
    outb(r, COMMAND, 0x20);
    expect(drainWords(r)).toBe(5 * 256);
    expect(counters(r.disk)).toEqual([5, 0]);
  });

  it("WRITE SECTORS of 3 counts 3 written, 0 read", () => {
    const r = rig();
    lba28(r, 20, 3);
    outb(r, COMMAND, 0x30);
    expect(fillWords(r)).toBe(3 * 256);
    expect(counters(r.disk)).toEqual([0, 3]);
  });

  it("a write counts the sectors once their data reaches the disk, block by block", () => {
    const r = rig();
    lba28(r, 0, 2);
    outb(r, COMMAND, 0x30);
    for (let i = 0; i < 255; i++) r.bus.write(DATA, 2, 0);
    expect(r.disk.sectorsWritten).toBe(0); // the first sector is one word short
    r.bus.write(DATA, 2, 0);
    expect(r.disk.sectorsWritten).toBe(1);
  });

  it("sector count 0 of READ SECTORS is 256 sectors", () => {
    const r = rig(300);
    lba28(r, 0, 0);
    outb(r, COMMAND, 0x20);
    drainWords(r);
    expect(counters(r.disk)).toEqual([256, 0]);
  });

  it("READ SECTORS EXT and WRITE SECTORS EXT (LBA48) count", () => {
    const r = rig();
    lba48(r, 40, 4);
    outb(r, COMMAND, 0x24);
    drainWords(r);
    lba48(r, 50, 6);
    outb(r, COMMAND, 0x34);
    fillWords(r);
    expect(counters(r.disk)).toEqual([4, 6]);
  });

  it("READ MULTIPLE and WRITE MULTIPLE count every sector of every block, the short last one included", () => {
    const r = rig();
    outb(r, COUNT, 4);
    outb(r, COMMAND, 0xc6); // SET MULTIPLE MODE: blocks of 4
    expect(inb(r, STATUS) & ST_ERR).toBe(0);
    lba28(r, 0, 10);
    outb(r, COMMAND, 0xc4); // READ MULTIPLE: 4 + 4 + 2
    expect(drainWords(r)).toBe(10 * 256);
    lba28(r, 30, 7);
    outb(r, COMMAND, 0xc5); // WRITE MULTIPLE: 4 + 3
    expect(fillWords(r)).toBe(7 * 256);
    lba48(r, 60, 9);
    outb(r, COMMAND, 0x29); // READ MULTIPLE EXT: 4 + 4 + 1
    drainWords(r);
    lba48(r, 70, 2);
    outb(r, COMMAND, 0x39); // WRITE MULTIPLE EXT
    fillWords(r);
    expect(counters(r.disk)).toEqual([19, 9]);
  });

  it("a read or write starting past the disk's end aborts and counts nothing", () => {
    const r = rig(100);
    lba28(r, 100, 4); // sectors 100..103 of a 100-sector disk (0..99)
    outb(r, COMMAND, 0x20);
    expect(inb(r, STATUS) & ST_ERR).toBe(ST_ERR);
    lba48(r, 0x12345678, 1);
    outb(r, COMMAND, 0x24);
    expect(inb(r, STATUS) & ST_ERR).toBe(ST_ERR);
    lba28(r, 100, 1);
    outb(r, COMMAND, 0x30);
    fillWords(r); // the data is taken, then the write aborts
    expect(inb(r, STATUS) & ST_ERR).toBe(ST_ERR);
    expect(counters(r.disk)).toEqual([0, 0]);
  });

  it("a read running off the disk's end counts the sectors moved before the abort", () => {
    const r = rig(100);
    lba28(r, 98, 4); // one sector per block: 98 and 99 are read, 100 aborts
    outb(r, COMMAND, 0x20);
    expect(drainWords(r)).toBe(2 * 256);
    expect(inb(r, STATUS) & ST_ERR).toBe(ST_ERR);
    outb(r, COUNT, 4);
    outb(r, COMMAND, 0xc6);
    lba28(r, 98, 4); // READ MULTIPLE: the one block of 4 does not fit, nothing moves
    outb(r, COMMAND, 0xc4);
    expect(inb(r, STATUS) & ST_ERR).toBe(ST_ERR);
    expect(counters(r.disk)).toEqual([2, 0]);
  });

  it("a write to read-only media aborts and counts nothing", () => {
    const r = rig(10, true);
    lba28(r, 0, 1);
    outb(r, COMMAND, 0x30);
    fillWords(r);
    expect(inb(r, STATUS) & ST_ERR).toBe(ST_ERR);
    expect(r.disk.sectorsWritten).toBe(0);
  });

  it("IDENTIFY DEVICE and READ VERIFY move no sector data and count nothing", () => {
    const r = rig();
    outb(r, DEVICE, 0xa0);
    outb(r, COMMAND, 0xec);
    expect(drainWords(r)).toBe(256);
    lba28(r, 0, 8);
    outb(r, COMMAND, 0x40);
    expect(counters(r.disk)).toEqual([0, 0]);
  });
});

describe("the machine's disks", () => {
  it("are listed in index order with QEMU's names, absent positions skipped", () => {
    const a = new AtaDisk(DiskImage.blank(8), 0);
    const c = new AtaDisk(DiskImage.blank(8), 2);
    const machine = new PcMachine({ drives: [a, null, c] });
    expect(machine.attachedDisks()).toEqual([
      { name: "hda", disk: a },
      { name: "hdc", disk: c },
    ]);
  });

  it("driveName spells indexes 0 to 3 as -hda … -hdd", () => {
    expect([0, 1, 2, 3].map(driveName)).toEqual(["hda", "hdb", "hdc", "hdd"]);
  });

  it("runStats reports each disk's counters", () => {
    const d = new AtaDisk(DiskImage.blank(8), 1);
    d.sectorsRead = 16;
    d.sectorsWritten = 24;
    const stats = runStats(new PcMachine({ drives: [null, d] }), 0, 0);
    expect(stats.disks).toEqual([{ name: "hdb", sectorsRead: 16, sectorsWritten: 24 }]);
  });

  it("runStats reports an empty list without disks", () => {
    expect(runStats(new PcMachine(), 0, 0).disks).toEqual([]);
  });
});

describe("formatStats's disk lines", () => {
  const base: RunStats = {
    instructions: 0, seconds: 0, mips: 0, itlbHits: 0, itlbMisses: 0, codePageHits: 0, dtlbHits: 0, dtlbMisses: 0,
    walks: 0, walkMemoryReads: 0, pageFaults: 0, pageFaultsByCause: {}, cr3Writes: 0, tlbFlushes: 0, invlpgs: 0,
    guestSeconds: 0, idleSeconds: 0, apicInterrupts: 0, picInterrupts: 0, disks: [], jit: null, exitStatus: 0,
  };
  const lines = (s: RunStats): string[] => formatStats(s).trimEnd().split("\n");

  it("one line per disk after the other figures, label in the same 15-column field", () => {
    const out = lines({
      ...base,
      disks: [
        { name: "hda", sectorsRead: 800, sectorsWritten: 1096 },
        { name: "hdd", sectorsRead: 0, sectorsWritten: 0 },
      ],
    });
    expect(out.slice(-2)).toEqual([
      "disk hda       1096 sectors written (137 pages of 4 KiB), 800 read (100 pages)",
      "disk hdd       0 sectors written (0 pages of 4 KiB), 0 read (0 pages)",
    ]);
    expect(out[out.length - 3]!.startsWith("interrupts     ")).toBe(true);
  });

  it("a count that is not a whole number of pages shows the fraction", () => {
    const out = lines({ ...base, disks: [{ name: "hdb", sectorsRead: 1, sectorsWritten: 12 }] });
    expect(out[out.length - 1]).toBe("disk hdb       12 sectors written (1.5 pages of 4 KiB), 1 read (0.125 pages)");
  });

  it("no disk line without disks", () => {
    const out = lines(base);
    expect(out[out.length - 1]!.startsWith("interrupts     ")).toBe(true);
    expect(out.some((l) => l.startsWith("disk"))).toBe(false);
  });
});
