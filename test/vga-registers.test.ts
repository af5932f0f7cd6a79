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

  it("claims only its two register pairs", () => {
    const { ports } = bus();
    expect(() => ports.register(0x3c4, 1, new VgaRegisters())).toThrow(RangeError);
    expect(() => ports.register(0x3c0, 4, new VgaRegisters())).not.toThrow();
  });
});
