import { describe, expect, it } from "vitest";
import { FwCfg } from "../src/devices/fw-cfg.ts";
import { PortBus } from "../src/machine/ports.ts";

function setup(ramBytes = 128 * 1024 * 1024) {
  const bus = new PortBus();
  const fw = new FwCfg({ ramBytes });
  bus.register(0x510, 2, fw);
  const item = (key: number, n: number) => {
    bus.write(0x510, 2, key);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(bus.read(0x511, 1));
    return out;
  };
  return { bus, fw, item };
}

describe("QEMU fw_cfg, legacy I/O interface", () => {
  it("signature (key 0) reads 'QEMU' a byte at a time, then zeros", () => {
    const { item } = setup();
    expect(item(0x0000, 6)).toEqual([0x51, 0x45, 0x4d, 0x55, 0, 0]);
  });

  it("ID (key 1) is 1: traditional interface, no DMA (little-endian u32)", () => {
    const { item } = setup();
    expect(item(0x0001, 4)).toEqual([1, 0, 0, 0]);
  });

  it("RAM size (key 3) is a 64-bit little-endian byte count; 6 GiB uses the high half", () => {
    expect(setup().item(0x0003, 8)).toEqual([0, 0, 0, 0x08, 0, 0, 0, 0]);
    expect(setup(6 * 1024 ** 3).item(0x0003, 8)).toEqual([0, 0, 0, 0x80, 1, 0, 0, 0]);
  });

  it("CPU counts (keys 5 and 0x0F) are 16-bit 1; UUID (key 2) is 16 zeros; boot menu (0x0E) 0", () => {
    const { item } = setup();
    expect(item(0x0005, 2)).toEqual([1, 0]);
    expect(item(0x000f, 2)).toEqual([1, 0]);
    expect(item(0x0002, 17)).toEqual(new Array(17).fill(0));
    expect(item(0x000e, 2)).toEqual([0, 0]);
  });

  it("selecting rewinds the offset; unknown and arch-local keys read 0", () => {
    const { item, bus } = setup();
    expect(item(0x0000, 2)).toEqual([0x51, 0x45]);
    expect(item(0x0000, 1)).toEqual([0x51]);
    expect(item(0x1234, 3)).toEqual([0, 0, 0]);
    expect(item(0x8000, 2)).toEqual([0, 0]);
    bus.write(0x510, 2, 0x4000); // write channel bit: still the signature
    expect(bus.read(0x511, 1)).toBe(0x51);
  });

  it("byte reads at 0x510 also return data (one region on x86); byte writes do not select", () => {
    const { bus } = setup();
    bus.write(0x510, 2, 0x0000);
    expect(bus.read(0x510, 1)).toBe(0x51);
    bus.write(0x510, 1, 0x01);
    expect(bus.read(0x511, 1)).toBe(0x45);
    bus.write(0x511, 1, 0xaa); // data write: ignored
    expect(bus.read(0x511, 1)).toBe(0x4d);
  });

  it("the DMA register at 0x514 is not claimed", () => {
    const { bus } = setup();
    expect(bus.deviceAt(0x514)).toBeNull();
    expect(bus.read(0x514, 4)).toBe(0xffffffff);
  });

  it("file directory (key 0x19): big-endian count 0 with no files", () => {
    const { item } = setup();
    expect(item(0x0019, 5)).toEqual([0, 0, 0, 0, 0]);
  });

  it("files appear in the directory sorted by name, keys from 0x20, and read back", () => {
    const { fw, item } = setup();
    fw.addFile("etc/zz", new Uint8Array([9, 8, 7]));
    fw.addFile("etc/aa", new Uint8Array([1, 2]));
    const dir = item(0x0019, 4 + 2 * 64);
    expect(dir.slice(0, 4)).toEqual([0, 0, 0, 2]);
    expect(dir.slice(4, 12)).toEqual([0, 0, 0, 2, 0x00, 0x20, 0, 0]); // size 2, key 0x20
    expect(String.fromCharCode(...dir.slice(12, 18))).toBe("etc/aa");
    expect(dir[18]).toBe(0);
    expect(dir.slice(68, 76)).toEqual([0, 0, 0, 3, 0x00, 0x21, 0, 0]);
    expect(String.fromCharCode(...dir.slice(76, 82))).toBe("etc/zz");
    expect(fw.fileKey("etc/zz")).toBe(0x21);
    expect(item(0x21, 4)).toEqual([9, 8, 7, 0]);
    expect(item(0x20, 2)).toEqual([1, 2]);
    expect(() => fw.addFile("", new Uint8Array(1))).toThrow(RangeError);
  });
});
