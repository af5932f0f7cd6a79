import { describe, expect, it } from "vitest";
import { PciHost, makeConfig, setBar } from "../src/devices/pci-host.ts";
import { PortBus } from "../src/machine/ports.ts";

function setup() {
  const bus = new PortBus();
  const pci = new PciHost();
  bus.register(0xcf8, 4, pci);
  bus.register(0xcfc, 4, pci);
  const addr = (b: number, d: number, f: number, reg: number) => 0x80000000 | (b << 16) | (d << 11) | (f << 8) | reg;
  const read = (b: number, d: number, f: number, reg: number, size = 4) => {
    bus.write(0xcf8, 4, addr(b, d, f, reg & 0xfc));
    return bus.read(0xcfc + (reg & 3), size);
  };
  const write = (b: number, d: number, f: number, reg: number, size: number, v: number) => {
    bus.write(0xcf8, 4, addr(b, d, f, reg & 0xfc));
    bus.write(0xcfc + (reg & 3), size, v);
  };
  return { bus, pci, read, write };
}

describe("PCI configuration mechanism #1", () => {
  it("CONFIG_ADDRESS reads back as written; only 32-bit accesses reach it", () => {
    const { bus } = setup();
    bus.write(0xcf8, 4, 0x80000000);
    expect(bus.read(0xcf8, 4)).toBe(0x80000000);
    bus.write(0xcf8, 2, 0x1234); // ignored
    expect(bus.read(0xcf8, 4)).toBe(0x80000000);
    expect(bus.read(0xcf8, 2)).toBe(0xffff);
  });

  it("shows QEMU's pc bus 0: i440FX, PIIX3 ISA (multifunction), PIIX3 IDE, PIIX4 ACPI", () => {
    const { read } = setup();
    expect(read(0, 0, 0, 0x00)).toBe(0x12378086);
    expect(read(0, 0, 0, 0x08)).toBe(0x06000002); // class 06/00/00, rev 02
    expect(read(0, 1, 0, 0x00)).toBe(0x70008086);
    expect(read(0, 1, 0, 0x08) >>> 8).toBe(0x060100);
    expect(read(0, 1, 0, 0x0e, 1)).toBe(0x80); // multifunction
    expect(read(0, 1, 1, 0x00)).toBe(0x70108086);
    expect(read(0, 1, 1, 0x08) >>> 8).toBe(0x010180);
    expect(read(0, 1, 3, 0x00)).toBe(0x71138086);
    expect(read(0, 1, 3, 0x08)).toBe(0x06800003);
    expect(read(0, 1, 3, 0x3d, 1)).toBe(1);
    expect(read(0, 0, 0, 0x2c)).toBe(0x11001af4); // QEMU's subsystem IDs
  });

  it("absent functions, other buses and a clear enable bit read all ones", () => {
    const { read, bus } = setup();
    expect(read(0, 2, 0, 0x00)).toBe(0xffffffff);
    expect(read(0, 1, 2, 0x00)).toBe(0xffffffff);
    expect(read(1, 0, 0, 0x00)).toBe(0xffffffff);
    expect(read(0, 31, 7, 0x00, 2)).toBe(0xffff);
    bus.write(0xcf8, 4, 0x00000000);
    expect(bus.read(0xcfc, 4)).toBe(0xffffffff);
  });

  it("byte and word reads at 0xCFC-0xCFF pick bytes of the register", () => {
    const { read } = setup();
    expect(read(0, 0, 0, 0x00, 1)).toBe(0x86);
    expect(read(0, 0, 0, 0x01, 1)).toBe(0x80);
    expect(read(0, 0, 0, 0x02, 2)).toBe(0x1237);
    expect(read(0, 0, 0, 0x03, 1)).toBe(0x12);
  });

  it("vendor, device and class are read-only; command and interrupt line are writable", () => {
    const { read, write } = setup();
    write(0, 0, 0, 0x00, 4, 0xdeadbeef);
    expect(read(0, 0, 0, 0x00)).toBe(0x12378086);
    write(0, 1, 1, 0x04, 2, 0xffff);
    expect(read(0, 1, 1, 0x04, 2)).toBe(0x0407); // I/O, memory, bus master, INTx disable
    expect(read(0, 1, 1, 0x06, 2)).toBe(0x0280); // status unchanged
    write(0, 1, 3, 0x3c, 1, 0x0b);
    expect(read(0, 1, 3, 0x3c, 1)).toBe(0x0b);
  });

  it("IDE BAR4 sizing: all ones reads back 0xFFFFFFF1 (16 bytes of I/O); an address sticks", () => {
    const { read, write } = setup();
    expect(read(0, 1, 1, 0x20)).toBe(0xc001);
    write(0, 1, 1, 0x20, 4, 0xffffffff);
    expect(read(0, 1, 1, 0x20)).toBe(0xfffffff1);
    write(0, 1, 1, 0x20, 4, 0xd000);
    expect(read(0, 1, 1, 0x20)).toBe(0xd001);
    expect(read(0, 1, 1, 0x10)).toBe(0); // no BAR 0
    write(0, 1, 1, 0x10, 4, 0xffffffff);
    expect(read(0, 1, 1, 0x10)).toBe(0);
  });

  it("addFunction adds a device: a VGA 1234:1111 with a 16 MiB prefetchable framebuffer BAR", () => {
    const { pci, read, write } = setup();
    const vga = makeConfig({ vendor: 0x1234, device: 0x1111, revision: 2, classCode: 0x03, subclass: 0x00, command: 0x0003 });
    setBar(vga, { index: 0, size: 16 << 20, io: false, prefetchable: true, address: 0xfd000000 });
    pci.addFunction(0, 2, 0, vga);
    expect(read(0, 2, 0, 0x00)).toBe(0x11111234);
    expect(read(0, 2, 0, 0x10)).toBe(0xfd000008);
    write(0, 2, 0, 0x10, 4, 0xffffffff);
    expect(read(0, 2, 0, 0x10)).toBe(0xff000008);
    const raw = new Uint8Array(256);
    raw[0] = 0x34;
    pci.addFunction(0, 5, 0, raw, new Uint8Array(256));
    write(0, 5, 0, 0x00, 4, 0xffffffff);
    expect(read(0, 5, 0, 0x00)).toBe(0x34);
    expect(() => pci.addFunction(0, 32, 0, raw)).toThrow(RangeError);
  });

  it("0xCF9 is the PIIX3 reset control register: bit 2 resets", () => {
    const { bus, pci } = setup();
    let resets = 0;
    pci.onReset = () => resets++;
    bus.write(0xcf9, 1, 0x02);
    expect(bus.read(0xcf9, 1)).toBe(0x02);
    expect(resets).toBe(0);
    bus.write(0xcf9, 1, 0x06);
    expect(resets).toBe(1);
  });

  it("the ACPI PM base (PMBA, reg 0x40) reads 0x601 and keeps bit 0", () => {
    const { read, write } = setup();
    expect(read(0, 1, 3, 0x40)).toBe(0x601);
    write(0, 1, 3, 0x40, 4, 0xb000);
    expect(read(0, 1, 3, 0x40)).toBe(0xb001);
  });
});
