import { describe, expect, it } from "vitest";
import { IoApic, IOAPIC_BASE } from "../src/devices/io-apic.ts";
import { LocalApic } from "../src/devices/local-apic.ts";
import { MachineClock } from "../src/machine/clock.ts";

const IOREGSEL = 0x00;
const IOWIN = 0x10;
const EOI = 0x40;

const MASKED = 0x10000;
const LEVEL = 0x8000;
const REMOTE_IRR = 0x4000;
const ACTIVE_LOW = 0x2000;
const LOGICAL = 0x800;

interface Message {
  vector: number;
  level: boolean;
  destination: number;
  logical: boolean;
}

function setup() {
  const sent: Message[] = [];
  const io = new IoApic((vector, level, destination, logical) => sent.push({ vector, level, destination, logical }));
  const readReg = (index: number): number => {
    io.write(IOREGSEL, 4, index);
    return io.read(IOWIN, 4) >>> 0;
  };
  const writeReg = (index: number, value: number): void => {
    io.write(IOREGSEL, 4, index);
    io.write(IOWIN, 4, value);
  };
  const entryLow = (pin: number): number => readReg(0x10 + 2 * pin);
  const program = (pin: number, low: number, high = 0): void => {
    writeReg(0x11 + 2 * pin, high);
    writeReg(0x10 + 2 * pin, low);
  };
  return { io, sent, readReg, writeReg, entryLow, program };
}

describe("I/O APIC registers", () => {
  it("is at 0xFEC00000", () => {
    expect(IOAPIC_BASE).toBe(0xfec00000);
  });

  it("ID is bits 27:24, read-write; arbitration reads the ID (QEMU)", () => {
    const { readReg, writeReg } = setup();
    expect(readReg(0x00)).toBe(0);
    writeReg(0x00, 0xff000000);
    expect(readReg(0x00)).toBe(0x0f000000);
    expect(readReg(0x02)).toBe(0x0f000000);
    writeReg(0x02, 0);
    expect(readReg(0x02)).toBe(0x0f000000);
  });

  it("version 0x00170020: 24 entries, version 0x20; read-only", () => {
    const { readReg, writeReg } = setup();
    expect(readReg(0x01)).toBe(0x00170020);
    writeReg(0x01, 0);
    expect(readReg(0x01)).toBe(0x00170020);
  });

  it("IOREGSEL is 8 bits and reads back", () => {
    const { io } = setup();
    io.write(IOREGSEL, 4, 0x1234);
    expect(io.read(IOREGSEL, 4)).toBe(0x34);
    io.write(IOREGSEL, 1, 0x12);
    expect(io.read(IOREGSEL, 1)).toBe(0x12);
  });

  it("redirection entries reset masked (0x00010000, high 0) and read back what is written", () => {
    const { readReg, writeReg } = setup();
    for (let pin = 0; pin < 24; pin++) {
      expect(readReg(0x10 + 2 * pin)).toBe(0x00010000);
      expect(readReg(0x11 + 2 * pin)).toBe(0);
    }
    writeReg(0x10 + 2 * 23, 0x0001a9ff);
    writeReg(0x11 + 2 * 23, 0xff000000);
    expect(readReg(0x10 + 2 * 23)).toBe(0x0001a9ff);
    expect(readReg(0x11 + 2 * 23)).toBe(0xff000000);
  });

  it("delivery status and Remote IRR are read-only", () => {
    const { entryLow, program } = setup();
    program(3, MASKED | LEVEL | REMOTE_IRR | 0x1000 | 0x33);
    expect(entryLow(3)).toBe(MASKED | LEVEL | 0x33);
  });

  it("indexes past the table read 0 and ignore writes", () => {
    const { readReg, writeReg } = setup();
    writeReg(0x40, 0x1234);
    expect(readReg(0x40)).toBe(0);
    expect(readReg(0x03)).toBe(0);
    expect(readReg(0xff)).toBe(0);
  });

  it("IOWIN takes 4-byte accesses only (QEMU): others read 0 and are dropped", () => {
    const { io, readReg } = setup();
    io.write(IOREGSEL, 4, 0x01);
    expect(io.read(IOWIN, 2)).toBe(0);
    expect(io.read(IOWIN, 1)).toBe(0);
    io.write(IOREGSEL, 4, 0x10);
    io.write(IOWIN, 2, 0x30);
    expect(readReg(0x10)).toBe(0x10000);
  });

  it("the registers repeat every 256 bytes of the page (QEMU decodes bits 7:0)", () => {
    const { io } = setup();
    io.write(0x300, 4, 0x01);
    expect(io.read(0x310, 4)).toBe(0x00170020);
    expect(io.read(0x20, 4)).toBe(0);
  });
});

describe("I/O APIC delivery", () => {
  it("edge: an unmasked rising edge delivers once; a held line does not repeat", () => {
    const { io, sent, program, entryLow } = setup();
    program(1, 0x31);
    io.setIrq(1, true);
    io.setIrq(1, true);
    expect(sent).toEqual([{ vector: 0x31, level: false, destination: 0, logical: false }]);
    expect(entryLow(1) & REMOTE_IRR).toBe(0);
    io.setIrq(1, false);
    io.setIrq(1, true);
    expect(sent.length).toBe(2);
  });

  it("edge: an edge while masked is lost (82093AA 3.2.4)", () => {
    const { io, sent, program } = setup();
    program(4, MASKED | 0x34);
    io.setIrq(4, true);
    io.setIrq(4, false);
    program(4, 0x34);
    expect(sent).toEqual([]);
  });

  it("level: delivers with Remote IRR set, waits for EOI, then delivers again while asserted", () => {
    const { io, sent, program, entryLow } = setup();
    program(9, LEVEL | 0x39);
    io.setIrq(9, true);
    expect(sent).toEqual([{ vector: 0x39, level: true, destination: 0, logical: false }]);
    expect(entryLow(9) & REMOTE_IRR).toBe(REMOTE_IRR);
    io.setIrq(9, true);
    expect(sent.length).toBe(1);
    io.eoi(0x38); // another vector
    expect(sent.length).toBe(1);
    io.eoi(0x39); // line still asserted
    expect(sent.length).toBe(2);
    expect(entryLow(9) & REMOTE_IRR).toBe(REMOTE_IRR);
    io.setIrq(9, false);
    io.eoi(0x39);
    expect(sent.length).toBe(2);
    expect(entryLow(9) & REMOTE_IRR).toBe(0);
  });

  it("level: a line asserted while masked is delivered when unmasked", () => {
    const { io, sent, program } = setup();
    program(10, MASKED | LEVEL | 0x3a);
    io.setIrq(10, true);
    expect(sent).toEqual([]);
    program(10, LEVEL | 0x3a);
    expect(sent.map((m) => m.vector)).toEqual([0x3a]);
  });

  it("level: a line that drops before unmasking is not delivered", () => {
    const { io, sent, program } = setup();
    program(10, MASKED | LEVEL | 0x3a);
    io.setIrq(10, true);
    io.setIrq(10, false);
    program(10, LEVEL | 0x3a);
    expect(sent).toEqual([]);
  });

  it("the EOI register (version 0x20) clears Remote IRR like the local APIC's EOI", () => {
    const { io, sent, program, entryLow } = setup();
    program(11, LEVEL | 0x3b);
    io.setIrq(11, true);
    io.setIrq(11, false);
    io.write(EOI, 4, 0x3b);
    expect(entryLow(11) & REMOTE_IRR).toBe(0);
    io.setIrq(11, true);
    expect(sent.length).toBe(2);
  });

  it("switching an entry to edge clears Remote IRR", () => {
    const { io, program, entryLow } = setup();
    program(5, LEVEL | 0x35);
    io.setIrq(5, true);
    expect(entryLow(5) & REMOTE_IRR).toBe(REMOTE_IRR);
    program(5, MASKED | 0x35);
    expect(entryLow(5) & REMOTE_IRR).toBe(0);
  });

  it("polarity: an active-low edge entry fires on the falling edge", () => {
    const { io, sent, program } = setup();
    io.setIrq(6, true); // idle high
    program(6, ACTIVE_LOW | 0x36);
    expect(sent).toEqual([]);
    io.setIrq(6, false);
    expect(sent.map((m) => m.vector)).toEqual([0x36]);
    io.setIrq(6, true);
    expect(sent.length).toBe(1);
  });

  it("polarity: an active-low level entry sees a low line as asserted", () => {
    const { io, sent, program } = setup();
    program(7, ACTIVE_LOW | LEVEL | 0x37); // line is low: asserted
    expect(sent.map((m) => m.vector)).toEqual([0x37]);
    io.setIrq(7, true);
    io.eoi(0x37); // deasserted: no redelivery
    expect(sent.length).toBe(1);
  });

  it("passes the destination (bits 63:56) and destination mode", () => {
    const { io, sent, program } = setup();
    program(12, LOGICAL | 0x3c, 0x01000000);
    io.setIrq(12, true);
    expect(sent).toEqual([{ vector: 0x3c, level: false, destination: 1, logical: true }]);
  });

  it("lowest priority goes to the local APIC like fixed", () => {
    const { io, sent, program } = setup();
    program(13, 0x100 | 0x3d);
    io.setIrq(13, true);
    expect(sent.map((m) => m.vector)).toEqual([0x3d]);
  });

  it("ExtINT asks the 8259 for its vector; NMI, SMI and INIT are dropped", () => {
    const { io, sent, program } = setup();
    program(0, 0x700);
    io.setIrq(0, true);
    expect(sent).toEqual([]);
    expect(io.ignoredDeliveries).toBe(1);
    io.onExtInt = () => 0x20;
    io.setIrq(0, false);
    io.setIrq(0, true);
    expect(sent).toEqual([{ vector: 0x20, level: false, destination: 0, logical: false }]);
    for (const mode of [2, 4, 5]) {
      program(14, (mode << 8) | LEVEL | 0x3e);
      io.setIrq(14, true);
      io.setIrq(14, false);
    }
    expect(sent.length).toBe(1);
    expect(io.ignoredDeliveries).toBe(4);
  });

  it("pins outside 0-23 are ignored", () => {
    const { io, sent } = setup();
    io.setIrq(24, true);
    io.setIrq(-1, true);
    expect(sent).toEqual([]);
  });
});

describe("I/O APIC with the local APIC", () => {
  function machine() {
    const clock = new MachineClock("virtual", 0);
    clock.attach({ icount: 0 });
    const lapic = new LocalApic(clock);
    lapic.biosInit();
    const io = new IoApic((v, level, dest, logical) => lapic.acceptMessage(v, level, dest, logical));
    lapic.onLevelEoi = (v) => io.eoi(v);
    const program = (pin: number, low: number, high = 0): void => {
      io.write(IOREGSEL, 4, 0x11 + 2 * pin);
      io.write(IOWIN, 4, high);
      io.write(IOREGSEL, 4, 0x10 + 2 * pin);
      io.write(IOWIN, 4, low);
    };
    const lapicEoi = (): void => lapic.write(0xb0, 4, 0);
    return { lapic, io, program, lapicEoi };
  }

  it("a level interrupt still asserted at EOI comes back; once lowered it does not", () => {
    const { lapic, io, program, lapicEoi } = machine();
    program(9, LEVEL | 0x49);
    io.setIrq(9, true);
    expect(lapic.hasInterrupt()).toBe(true);
    expect(lapic.acknowledge()).toBe(0x49);
    expect(lapic.hasInterrupt()).toBe(false);
    lapicEoi(); // device still asserting
    expect(lapic.hasInterrupt()).toBe(true);
    expect(lapic.acknowledge()).toBe(0x49);
    io.setIrq(9, false); // handler acknowledged the device
    lapicEoi();
    expect(lapic.hasInterrupt()).toBe(false);
  });

  it("destinations: physical ID 0 and a matching logical LDR reach the CPU, others do not", () => {
    const { lapic, io, program, lapicEoi } = machine();
    program(1, 0x51, 0x01000000); // physical APIC 1: another CPU
    io.setIrq(1, true);
    expect(lapic.hasInterrupt()).toBe(false);
    lapic.write(0xd0, 4, 0x01000000); // LDR bit 0
    program(2, LOGICAL | 0x52, 0x01000000);
    io.setIrq(2, true);
    expect(lapic.acknowledge()).toBe(0x52);
    lapicEoi();
    program(3, 0x53, 0);
    io.setIrq(3, true);
    expect(lapic.acknowledge()).toBe(0x53);
  });
});
