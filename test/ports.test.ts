import { describe, expect, it } from "vitest";
import { PortBus } from "../src/machine/ports.ts";
import type { PortDevice } from "../src/machine/ports.ts";

/** Records accesses and answers reads with a fixed value. */
class Probe implements PortDevice {
  readonly name: string;
  reads: [number, number][] = [];
  writes: [number, number, number][] = [];
  answer: number;
  constructor(name: string, answer = 0x5a) {
    this.name = name;
    this.answer = answer;
  }
  readPort(port: number, size: number): number {
    this.reads.push([port, size]);
    return this.answer;
  }
  writePort(port: number, size: number, value: number): void {
    this.writes.push([port, size, value]);
  }
}

describe("PortBus dispatch", () => {
  it("routes every port of a range to its device with the absolute port and size", () => {
    const bus = new PortBus();
    const a = new Probe("a", 0x11);
    const b = new Probe("b", 0x22);
    bus.register(0x3f8, 8, a);
    bus.register(0x400, 2, b);
    expect(bus.read(0x3f8, 1)).toBe(0x11);
    expect(bus.read(0x3ff, 1)).toBe(0x11);
    expect(bus.read(0x400, 1)).toBe(0x22);
    expect(bus.read(0x401, 1)).toBe(0x22);
    bus.write(0x3fb, 1, 0x83);
    expect(a.reads).toEqual([[0x3f8, 1], [0x3ff, 1]]);
    expect(a.writes).toEqual([[0x3fb, 1, 0x83]]);
    expect(b.reads).toEqual([[0x400, 1], [0x401, 1]]);
    expect(bus.deviceAt(0x3fc)).toBe(a);
    expect(bus.deviceAt(0x3f7)).toBeNull();
    expect(bus.unclaimedReads).toBe(0);
  });

  it("passes 2- and 4-byte accesses whole to the device and masks results to the size", () => {
    const bus = new PortBus();
    const d = new Probe("wide", -1);
    bus.register(0xcf8, 4, d);
    expect(bus.read(0xcf8, 4)).toBe(0xffffffff);
    expect(bus.read(0xcfa, 2)).toBe(0xffff);
    expect(bus.read(0xcfb, 1)).toBe(0xff);
    bus.write(0xcf8, 4, 0x80001234 | 0);
    bus.write(0xcfa, 2, 0x12345);
    bus.write(0xcfc, 2, 0x1);
    expect(d.reads).toEqual([[0xcf8, 4], [0xcfa, 2], [0xcfb, 1]]);
    expect(d.writes).toEqual([[0xcf8, 4, 0x80001234], [0xcfa, 2, 0x2345]]);
    // 0xcfc is outside the device: that write went nowhere.
    expect(bus.unclaimedWrites).toBe(1);
  });

  it("dispatch is a table lookup: cost does not grow with the number of devices", () => {
    const bus = new PortBus();
    const devices: Probe[] = [];
    for (let i = 0; i < 200; i++) {
      const d = new Probe("d" + i, i);
      devices.push(d);
      bus.register(0x1000 + i * 16, 16, d);
    }
    // Every device answers its own value, first and last registered alike.
    expect(bus.read(0x1000, 1)).toBe(0);
    expect(bus.read(0x1000 + 199 * 16 + 15, 1)).toBe(199);
    expect(bus.read(0x1000 + 100 * 16 + 7, 1)).toBe(100);
    // No search: the bus keeps a 65536-entry index table.
    const table = (bus as unknown as { owner: Uint8Array }).owner;
    expect(table).toBeInstanceOf(Uint8Array);
    expect(table.length).toBe(65536);
  });
});

describe("PortBus registration", () => {
  it("rejects overlapping ranges with a RangeError naming both devices", () => {
    const bus = new PortBus();
    bus.register(0x3f8, 8, new Probe("com1"));
    expect(() => bus.register(0x3ff, 2, new Probe("late"))).toThrow(RangeError);
    expect(() => bus.register(0x3f0, 9, new Probe("late"))).toThrow(/late.*overlap.*com1.*0x3f8/);
    // Adjacent ranges are fine.
    bus.register(0x3f0, 8, new Probe("below"));
    bus.register(0x400, 1, new Probe("above"));
  });

  it("a rejected range leaves no ports claimed", () => {
    const bus = new PortBus();
    bus.register(0x3f8, 8, new Probe("com1"));
    expect(() => bus.register(0x3f0, 16, new Probe("late"))).toThrow(RangeError);
    expect(bus.deviceAt(0x3f0)).toBeNull();
    expect(bus.read(0x3f0, 1)).toBe(0xff);
  });

  it("rejects ranges outside the 64 KiB port space and empty ranges", () => {
    const bus = new PortBus();
    expect(() => bus.register(0xffff, 2, new Probe("x"))).toThrow(RangeError);
    expect(() => bus.register(-1, 1, new Probe("x"))).toThrow(RangeError);
    expect(() => bus.register(0x10, 0, new Probe("x"))).toThrow(RangeError);
    bus.register(0xffff, 1, new Probe("top"));
  });

  it("port 0x80 is taken by the POST sink", () => {
    const bus = new PortBus();
    expect(() => bus.register(0x80, 1, new Probe("x"))).toThrow(/post-code/);
  });
});

describe("unclaimed ports", () => {
  it("read all ones, unsigned, and count (golden mmio: port 0x1234: inb=0xff inw=0xffff inl=0xffffffff)", () => {
    const bus = new PortBus();
    expect(bus.read(0x1234, 1)).toBe(0xff);
    expect(bus.read(0x1234, 2)).toBe(0xffff);
    expect(bus.read(0x1234, 4)).toBe(0xffffffff);
    expect(bus.unclaimedReads).toBe(3);
    expect(bus.unclaimedWrites).toBe(0);
  });

  it("drop writes and count them", () => {
    const bus = new PortBus();
    bus.write(0x1234, 1, 0);
    bus.write(0x1234, 4, 0x12345678);
    expect(bus.unclaimedWrites).toBe(2);
    expect(bus.read(0x1234, 1)).toBe(0xff);
    expect(bus.unclaimedReads).toBe(1);
  });
});

describe("port 0x80 (POST code)", () => {
  it("keeps the last value written and reads 0xff, without counting as unclaimed", () => {
    const bus = new PortBus();
    expect(bus.postCode).toBe(0);
    bus.write(0x80, 1, 0x55);
    expect(bus.postCode).toBe(0x55);
    bus.write(0x80, 1, 0xaa);
    expect(bus.postCode).toBe(0xaa);
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(bus.read(0x80, 2)).toBe(0xffff);
    expect(bus.read(0x80, 4)).toBe(0xffffffff);
    expect(bus.postCode).toBe(0xaa);
    expect(bus.unclaimedReads).toBe(0);
    expect(bus.unclaimedWrites).toBe(0);
  });

  it("the neighbours of 0x80 stay unclaimed", () => {
    const bus = new PortBus();
    bus.write(0x81, 1, 0x12);
    bus.write(0x7f, 1, 0x34);
    expect(bus.postCode).toBe(0);
    expect(bus.unclaimedWrites).toBe(2);
  });
});
