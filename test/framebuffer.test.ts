// The linear framebuffer through the physical bus, as a kernel writes it:
// 32-bit XRGB8888 pixels (blue at the lowest address), 1-, 2-, 4- and
// 8-byte accesses, and the RGBA picture a screenshot takes.

import { describe, expect, it } from "vitest";
import { LFB_BASE, LinearFramebuffer } from "../src/devices/framebuffer.ts";
import { createMachineMemory } from "../src/machine/memory.ts";
import { MIB } from "../src/machine/ram.ts";

function setup(width = 1024, height = 768) {
  const m = createMachineMemory({ ramBytes: 64 * MIB });
  const fb = new LinearFramebuffer(width, height);
  m.bus.mapMmio(LFB_BASE, fb.size, fb);
  return { bus: m.bus, fb };
}

describe("LinearFramebuffer", () => {
  it("defaults to 1024x768, pitch 4096, 16 MiB of video memory at QEMU's 0xFD000000", () => {
    const fb = new LinearFramebuffer();
    expect([fb.width, fb.height, fb.pitch, fb.size]).toEqual([1024, 768, 4096, 16 * MIB]);
    expect(LFB_BASE).toBe(0xfd000000);
  });

  it("a 32-bit store of 0x00RRGGBB at (x, y) = base + y * pitch + 4x is that pixel", () => {
    const { bus, fb } = setup();
    bus.write32(LFB_BASE + 3 * fb.pitch + 4 * 5, 0x00112233);
    const rgba = fb.toRgba();
    const at = (3 * 1024 + 5) * 4;
    expect(Array.from(rgba.subarray(at, at + 4))).toEqual([0x11, 0x22, 0x33, 255]);
    expect(Array.from(rgba.subarray(0, 4))).toEqual([0, 0, 0, 255]);
  });

  it("bytes are blue, green, red, unused from the lowest address", () => {
    const { bus, fb } = setup(4, 2);
    bus.write8(LFB_BASE + 0, 0x30); // blue
    bus.write8(LFB_BASE + 1, 0x20); // green
    bus.write16(LFB_BASE + 2, 0xff10); // red, and the unused byte
    expect(bus.read32(LFB_BASE) >>> 0).toBe(0xff102030);
    expect(bus.read8(LFB_BASE + 2)).toBe(0x10);
    expect(bus.read16(LFB_BASE + 1)).toBe(0x1020);
    expect(Array.from(fb.toRgba().subarray(0, 4))).toEqual([0x10, 0x20, 0x30, 255]);
  });

  it("8-byte accesses write and read two pixels", () => {
    const { bus, fb } = setup(4, 2);
    bus.write64(LFB_BASE + 8, 0x00aabbcc, 0x00010203);
    expect(fb.pixels[2]).toBe(0x00aabbcc);
    expect(fb.pixels[3]).toBe(0x00010203);
    const low = bus.read64(LFB_BASE + 8);
    expect([low >>> 0, bus.high >>> 0]).toEqual([0x00aabbcc, 0x00010203]);
  });

  it("unaligned 4-byte accesses span two pixels", () => {
    const { bus, fb } = setup(4, 2);
    bus.write32(LFB_BASE + 2, 0x44332211);
    expect(fb.pixels[0] >>> 0).toBe(0x22110000);
    expect(fb.pixels[1]).toBe(0x4433);
    expect(bus.read32(LFB_BASE + 2) >>> 0).toBe(0x44332211);
  });

  it("memory past the visible rows is there for back buffers and not in the picture", () => {
    const { bus, fb } = setup(4, 2);
    bus.write32(LFB_BASE + 2 * fb.pitch, 0x00ffffff);
    expect(bus.read32(LFB_BASE + 2 * fb.pitch) >>> 0).toBe(0x00ffffff);
    expect(fb.toRgba().length).toBe(4 * 2 * 4);
    expect(fb.toRgba().every((b, i) => (i % 4 === 3 ? b === 255 : b === 0))).toBe(true);
  });

  it("refuses absurd sizes", () => {
    expect(() => new LinearFramebuffer(0, 10)).toThrow(RangeError);
    expect(() => new LinearFramebuffer(100000, 10)).toThrow(RangeError);
  });
});
