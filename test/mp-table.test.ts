// The MP tables read back as xv6's mp.c reads them: the floating pointer
// searched for in the EBDA's first KiB, the last KiB of base memory, then
// 0xF0000-0xFFFFF (MP spec 1.4, 4.0), checksums summed, entries walked by
// their sizes (table 4-3). Expected values: the MP spec and SeaBIOS's
// mptable.c on QEMU (APIC version 0x14, I/O APIC 0x11 at 0xFEC00000, ISA
// IRQ0 on pin 2, ExtINT on LINT0, NMI on LINT1).

import { describe, expect, it } from "vitest";
import { buildAcpiTables, RSDP_ADDRESS } from "../src/boot/acpi-tables.ts";
import { buildMpTable, MP_FLOATING_POINTER_ADDRESS } from "../src/boot/mp-table.ts";
import { createMachineMemory, type MachineMemory } from "../src/machine/memory.ts";
import { MIB } from "../src/machine/ram.ts";

const machine = (): MachineMemory => createMachineMemory({ ramBytes: 128 * MIB });
const bytesAt = (m: MachineMemory, pa: number, n: number): number[] => Array.from({ length: n }, (_, i) => m.bus.read8(pa + i));
const u16 = (m: MachineMemory, pa: number): number => m.bus.read16(pa);
const u32 = (m: MachineMemory, pa: number): number => m.bus.read32(pa) >>> 0;
const ascii = (m: MachineMemory, pa: number, n: number): string => String.fromCharCode(...bytesAt(m, pa, n));
const sum = (b: number[]): number => b.reduce((s, x) => s + x, 0) & 0xff;

function search(m: MachineMemory, from: number, length: number): number {
  for (let pa = from; pa + 16 <= from + length; pa += 16) {
    if (ascii(m, pa, 4) === "_MP_" && sum(bytesAt(m, pa, 16)) === 0) return pa;
  }
  return -1;
}

/** xv6's mpsearch(): EBDA (BDA 0x40E) or the last KiB of base memory (BDA 0x413), then the BIOS ROM. */
function xv6Search(m: MachineMemory): number {
  const ebda = u16(m, 0x40e) << 4;
  let found = -1;
  if (ebda !== 0) found = search(m, ebda, 1024);
  else found = search(m, u16(m, 0x413) * 1024 - 1024, 1024);
  return found >= 0 ? found : search(m, 0xf0000, 0x10000);
}

describe("MP floating pointer", () => {
  it("is found by xv6's search with SeaBIOS's BDA words, in the 0xF0000 segment", () => {
    const m = machine();
    m.bus.write16(0x40e, 0x9fc0);
    m.bus.write16(0x413, 639);
    const t = buildMpTable(m.bus);
    const pa = xv6Search(m);
    expect(pa).toBe(MP_FLOATING_POINTER_ADDRESS);
    expect(t.floatingPointerAddress).toBe(pa);
    expect(pa).toBeGreaterThanOrEqual(0xf0000);
    expect(pa % 16).toBe(0);
    expect(u32(m, pa + 4)).toBe(t.configAddress);
    expect(m.bus.read8(pa + 8)).toBe(1); // length in paragraphs
    expect(m.bus.read8(pa + 9)).toBe(4); // spec 1.4
    expect(bytesAt(m, pa + 11, 5)).toEqual([0, 0, 0, 0, 0]); // feature bytes: config table present, no IMCR
  });

  it("does not overlap the ACPI RSDP", () => {
    const m = machine();
    const acpi = buildAcpiTables(m);
    const mp = buildMpTable(m.bus);
    const rsdpEnd = acpi.rsdpAddress + 36;
    const mpEnd = mp.configAddress + mp.configLength;
    expect(rsdpEnd <= mp.floatingPointerAddress || mpEnd <= acpi.rsdpAddress).toBe(true);
    expect(acpi.rsdpAddress).toBe(RSDP_ADDRESS);
    // Both still intact after both were written.
    expect(ascii(m, acpi.rsdpAddress, 8)).toBe("RSD PTR ");
    expect(sum(bytesAt(m, acpi.rsdpAddress, 36))).toBe(0);
    expect(search(m, 0xf0000, 0x10000)).toBe(mp.floatingPointerAddress);
  });
});

describe("MP configuration table", () => {
  /** Entries walked the way xv6 does: 20 bytes for a processor, 8 for everything else. */
  function parse(m: MachineMemory, pa: number) {
    const length = u16(m, pa + 4);
    const entries: number[][] = [];
    for (let p = pa + 44; p < pa + length; ) {
      const size = m.bus.read8(p) === 0 ? 20 : 8;
      entries.push(bytesAt(m, p, size));
      p += size;
    }
    return {
      signature: ascii(m, pa, 4),
      length,
      spec: m.bus.read8(pa + 6),
      checksumOk: sum(bytesAt(m, pa, length)) === 0,
      oem: ascii(m, pa + 8, 8),
      product: ascii(m, pa + 16, 12),
      entryCount: u16(m, pa + 34),
      lapic: u32(m, pa + 36),
      entries,
    };
  }

  it("has a good header: PCMP, spec 1.4, LAPIC at 0xFEE00000, checksum, entry count", () => {
    const m = machine();
    const t = buildMpTable(m.bus);
    const c = parse(m, t.configAddress);
    expect(c).toMatchObject({ signature: "PCMP", spec: 4, checksumOk: true, oem: "BOCHSCPU", product: "0.1         ", lapic: 0xfee00000 });
    expect(c.length).toBe(t.configLength);
    expect(c.entryCount).toBe(c.entries.length);
    expect(c.entryCount).toBe(t.entryCount);
  });

  it("lists one enabled BSP (APIC 0, version 0x14), PCI and ISA buses, and I/O APIC 0", () => {
    const m = machine();
    const t = buildMpTable(m.bus, { cpuSignature: 0x663, cpuFeatures: 0x078bfbfd });
    const e = parse(m, t.configAddress).entries;
    const cpus = e.filter((x) => x[0] === 0);
    expect(cpus.length).toBe(1);
    expect(cpus[0].slice(0, 4)).toEqual([0, 0, 0x14, 0x03]); // APIC ID 0, version, EN | BP
    const le32 = (b: number[], at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
    expect(le32(cpus[0], 4)).toBe(0x663);
    expect(le32(cpus[0], 8)).toBe(0x078bfbfd);
    const buses = e.filter((x) => x[0] === 1).map((x) => [x[1], String.fromCharCode(...x.slice(2, 8))]);
    expect(buses).toEqual([
      [0, "PCI   "],
      [1, "ISA   "],
    ]);
    const ioapics = e.filter((x) => x[0] === 2);
    expect(ioapics.length).toBe(1);
    expect([ioapics[0][1], ioapics[0][2], ioapics[0][3], le32(ioapics[0], 4)]).toEqual([0, 0x11, 1, 0xfec00000]);
    // Order: processors, buses, I/O APICs, then interrupts (MP spec 4.3).
    const types = e.map((x) => x[0]);
    expect(types).toEqual([...types].sort((a, b) => a - b));
  });

  it("routes ISA IRQs to I/O APIC pins: IRQ0 to pin 2, IRQ2 absent, PCI IRQs level high", () => {
    const m = machine();
    const t = buildMpTable(m.bus);
    const ints = parse(m, t.configAddress).entries.filter((x) => x[0] === 3);
    // [type, flags, source bus, source IRQ, destination APIC, destination pin]
    const routes = new Map(ints.map((x) => [x[5], { kind: x[1], flags: x[2] | (x[3] << 8), bus: x[4], apic: x[6], pin: x[7] }]));
    expect([...routes.keys()].sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    for (const [irq, r] of routes) {
      expect(r.kind).toBe(0); // INT
      expect(r.bus).toBe(1); // ISA
      expect(r.apic).toBe(0);
      expect(r.pin).toBe(irq === 0 ? 2 : irq);
      expect(r.flags).toBe([5, 9, 10, 11].includes(irq) ? 0x0d : 0);
    }
  });

  it("has ExtINT on LINT0 of APIC 0 and NMI on LINT1 of all APICs", () => {
    const m = machine();
    const t = buildMpTable(m.bus);
    const locals = parse(m, t.configAddress).entries.filter((x) => x[0] === 4);
    expect(locals).toEqual([
      [4, 3, 0, 0, 1, 0, 0, 0],
      [4, 1, 0, 0, 1, 0, 0xff, 1],
    ]);
  });

  it("refuses a floating pointer address outside 0xF0000-0xFFFFF", () => {
    const m = machine();
    expect(() => buildMpTable(m.bus, { address: 0xe0000 })).toThrow(RangeError);
    expect(() => buildMpTable(m.bus, { address: 0xf0008 })).toThrow(RangeError);
  });
});
