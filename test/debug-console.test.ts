import { describe, expect, it } from "vitest";
import { DEBUG_CONSOLE_PORT, DebugConsole } from "../src/devices/debug-console.ts";
import { PortBus } from "../src/machine/ports.ts";

describe("isa-debugcon at 0xE9", () => {
  it("each written byte goes to onOutput; wide writes send their bytes low first", () => {
    const bus = new PortBus();
    const con = new DebugConsole();
    const out: number[] = [];
    con.onOutput = (b) => out.push(b);
    bus.register(DEBUG_CONSOLE_PORT, 1, con);
    for (const c of "hi\n") bus.write(0xe9, 1, c.charCodeAt(0));
    bus.write(0xe9, 2, 0x4241);
    expect(String.fromCharCode(...out)).toBe("hi\nAB");
  });

  it("reads return QEMU's readback value 0xE9 (in every byte of a wide read)", () => {
    const bus = new PortBus();
    bus.register(0xe9, 1, new DebugConsole());
    expect(bus.read(0xe9, 1)).toBe(0xe9);
    expect(bus.read(0xe9, 2)).toBe(0xe9e9);
    expect(bus.read(0xe9, 4)).toBe(0xe9e9e9e9);
  });

  it("without a listener writes are dropped quietly", () => {
    const con = new DebugConsole();
    expect(() => con.writePort(0xe9, 1, 0x41)).not.toThrow();
  });
});
