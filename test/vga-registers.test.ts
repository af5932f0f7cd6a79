import { describe, expect, it } from "vitest";
import { PortBus } from "../src/machine/ports.ts";
import { VgaRegisters } from "../src/devices/vga-registers.ts";

describe("VgaRegisters", () => {
  const bus = () => {
    const ports = new PortBus();
    const vga = new VgaRegisters();
    vga.attach(ports);
    return { ports, vga };
  };

  it("reads back the text-mode GR06 the BIOS leaves (memory map 3: 0xB8000)", () => {
    const { vga } = bus();
    vga.writePort(0x3ce, 1, 0x06);
    expect(vga.readPort(0x3ce, 1)).toBe(0x06);
    expect(vga.readPort(0x3cf, 1)).toBe(0x0e);
  });

  it("keeps only the writable bits, and splits a word write into index then data", () => {
    const { vga } = bus();
    vga.writePort(0x3ce, 2, 0xff05); // GR05 <- 0xff
    expect(vga.gfxIndex).toBe(5);
    expect(vga.readPort(0x3cf, 1)).toBe(0x7b);
    vga.writePort(0x3c4, 1, 0x0a); // index masked to 3 bits
    expect(vga.readPort(0x3c4, 1)).toBe(0x02);
    expect(vga.readPort(0x3c5, 1)).toBe(0x03);
  });

  it("claims the VGA's colour ports and leaves the monochrome ones (0x3B4) free", () => {
    const { ports } = bus();
    for (const p of [0x3c0, 0x3c4, 0x3c9, 0x3cc, 0x3cf, 0x3d4, 0x3d5, 0x3da]) {
      expect(() => ports.register(p, 1, new VgaRegisters())).toThrow(RangeError);
    }
    expect(() => ports.register(0x3b4, 2, new VgaRegisters())).not.toThrow();
  });

  it("the CRT controller holds the cursor a kernel sets and reads back (CR0E:CR0F)", () => {
    const { ports, vga } = bus();
    ports.write(0x3d4, 1, 0x0e);
    expect(ports.read(0x3d5, 1)).toBe(0); // the cursor starts at the top left
    ports.write(0x3d5, 1, 0x07);
    ports.write(0x3d4, 2, 0xd00f); // OUTW: index 0x0F, then data 0xD0
    expect(vga.cursorOffset).toBe(0x7d0);
    ports.write(0x3d4, 1, 0x0a);
    expect(ports.read(0x3d5, 1)).toBe(0x0d); // mode 3's cursor start line
  });

  it("CR11 bit 7 write-protects CR00-CR07", () => {
    const { ports } = bus();
    ports.write(0x3d4, 2, 0x0000); // CR00 <- 0 is dropped: mode 3 leaves CR11 = 0x8e, protected
    ports.write(0x3d4, 1, 0x00);
    expect(ports.read(0x3d5, 1)).toBe(0x5f);
    ports.write(0x3d4, 2, 0x0e11); // clear the protect bit
    ports.write(0x3d4, 2, 0x1200);
    ports.write(0x3d4, 1, 0x00);
    expect(ports.read(0x3d5, 1)).toBe(0x12);
  });

  it("input status 1 toggles its retrace bits on each read and resets the attribute flip-flop", () => {
    const { ports, vga } = bus();
    const a = ports.read(0x3da, 1);
    const b = ports.read(0x3da, 1);
    expect((a ^ b) & 0x08).toBe(0x08);
    ports.write(0x3c0, 1, 0x31); // index 0x11 with PAS
    expect(vga.attrData).toBe(true);
    ports.read(0x3da, 1);
    expect(vga.attrData).toBe(false);
    ports.write(0x3c0, 1, 0x11);
    ports.write(0x3c0, 1, 0x05); // overscan colour
    expect(ports.read(0x3c1, 1)).toBe(0x05);
  });

  it("the DAC takes and returns colours three components at a time", () => {
    const { ports } = bus();
    ports.write(0x3c8, 1, 7);
    for (const c of [0x3f, 0x20, 0x41]) ports.write(0x3c9, 1, c);
    ports.write(0x3c7, 1, 7);
    expect([ports.read(0x3c9, 1), ports.read(0x3c9, 1), ports.read(0x3c9, 1)]).toEqual([0x3f, 0x20, 0x01]);
    expect(ports.read(0x3c7, 1)).toBe(3);
    expect(ports.read(0x3cc, 1)).toBe(0x67);
  });
});
