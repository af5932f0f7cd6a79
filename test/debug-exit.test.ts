import { describe, expect, it } from "vitest";
import { DEBUG_EXIT_BASE, DebugExit } from "../src/devices/debug-exit.ts";
import { PortBus } from "../src/machine/ports.ts";

function setup(): { bus: PortBus; dev: DebugExit; calls: number[] } {
  const bus = new PortBus();
  const dev = new DebugExit();
  const calls: number[] = [];
  dev.onExit = (s) => calls.push(s);
  bus.register(dev.base, dev.size, dev);
  return { bus, dev, calls };
}

describe("isa-debug-exit (iobase 0xf4, iosize 4)", () => {
  it("sits at 0xf4-0xf7", () => {
    const { bus, dev } = setup();
    expect(DEBUG_EXIT_BASE).toBe(0xf4);
    for (let p = 0xf4; p <= 0xf7; p++) expect(bus.deviceAt(p)).toBe(dev);
    expect(bus.deviceAt(0xf3)).toBeNull();
    expect(bus.deviceAt(0xf8)).toBeNull();
  });

  it("no exit until written", () => {
    const { dev, calls } = setup();
    expect(dev.exitRequested).toBe(false);
    expect(dev.exitStatus).toBe(0);
    expect(calls).toEqual([]);
  });

  it("status is (v << 1) | 1: 0 -> 1 (golden mmio: exit status 1), 1 -> 3, 0x10 -> 0x21", () => {
    for (const [v, status] of [[0, 1], [1, 3], [0x10, 0x21]]) {
      const { bus, dev, calls } = setup();
      bus.write(0xf4, 1, v);
      expect(dev.exitRequested).toBe(true);
      expect(dev.exitStatus).toBe(status);
      expect(calls).toEqual([status]);
    }
  });

  it("takes the whole value of 2- and 4-byte writes, at any of its ports", () => {
    const { bus, dev } = setup();
    bus.write(0xf4, 2, 0x1234);
    expect(dev.exitStatus).toBe(0x2469);
    bus.write(0xf6, 4, 0x80000000 | 0);
    expect(dev.exitStatus).toBe(0x100000001);
    bus.write(0xf7, 1, 0x1ff);
    expect(dev.exitStatus).toBe(0x1ff);
  });

  it("reads return 0 (QEMU's debug_exit_read) and request nothing", () => {
    const { bus, dev } = setup();
    expect(bus.read(0xf4, 1)).toBe(0);
    expect(bus.read(0xf4, 2)).toBe(0);
    expect(bus.read(0xf4, 4)).toBe(0);
    expect(dev.exitRequested).toBe(false);
  });
});
