// The ACPI tables in guest RAM, read back the way a kernel reads them: the
// RSDP found by the search of the spec (ACPI 6.4, 5.2.5.1), the RSDT/XSDT
// followed to the FADT and MADT, every checksum summed. Expected values come
// from the ACPI specification and from QEMU's pc machine (hw/i386/acpi-build.c
// and acpi-common.c: FADT revision 1, PM base 0x600, SCI 9, the MADT's
// overrides IRQ0 -> GSI 2 and 5/9/10/11 level active high, _S5_ = 0; the
// HPET table of build_hpet and the IA-PC HPET specification 1.0a, 3.2.4).

import { describe, expect, it } from "vitest";
import { acpiTablesRange, buildAcpiTables, RSDP_ADDRESS, s5Aml } from "../src/boot/acpi-tables.ts";
import { qemuMemoryMap } from "../src/boot/multiboot.ts";
import { createMachineMemory, type MachineMemory } from "../src/machine/memory.ts";
import { MIB } from "../src/machine/ram.ts";

const machine = (ramBytes = 128 * MIB): MachineMemory => createMachineMemory({ ramBytes });

const bytesAt = (m: MachineMemory, pa: number, n: number): number[] => Array.from({ length: n }, (_, i) => m.bus.read8(pa + i));
const u16 = (m: MachineMemory, pa: number): number => m.bus.read16(pa);
const u32 = (m: MachineMemory, pa: number): number => m.bus.read32(pa) >>> 0;
const ascii = (m: MachineMemory, pa: number, n: number): string => String.fromCharCode(...bytesAt(m, pa, n));
const sum = (b: number[]): number => b.reduce((s, x) => s + x, 0) & 0xff;

/** The ACPI RSDP search: EBDA's first KiB, then 0xE0000-0xFFFFF, 16-byte steps, signature and checksum. */
function findRsdp(m: MachineMemory): number {
  const ebda = u16(m, 0x40e) << 4;
  const ranges: Array<[number, number]> = ebda ? [[ebda, ebda + 1024], [0xe0000, 0x100000]] : [[0xe0000, 0x100000]];
  for (const [from, to] of ranges) {
    for (let pa = from; pa < to; pa += 16) {
      if (ascii(m, pa, 8) === "RSD PTR " && sum(bytesAt(m, pa, 20)) === 0) return pa;
    }
  }
  return -1;
}

/** Table header fields, with the checksum verified over `length` bytes. */
function table(m: MachineMemory, pa: number) {
  const length = u32(m, pa + 4);
  return {
    signature: ascii(m, pa, 4),
    length,
    revision: m.bus.read8(pa + 8),
    checksumOk: sum(bytesAt(m, pa, length)) === 0,
    oemId: ascii(m, pa + 10, 6),
    oemTableId: ascii(m, pa + 16, 8),
    creatorId: ascii(m, pa + 28, 4),
  };
}

describe("RSDP", () => {
  it("is found by the spec's search, at the default 0xF5A00, revision 0 (ACPI 1.0) with an RSDT only, as QEMU 7.2's pc", () => {
    const m = machine();
    const t = buildAcpiTables(m);
    const pa = findRsdp(m);
    expect(pa).toBe(RSDP_ADDRESS);
    expect(t.rsdpAddress).toBe(pa);
    expect(pa % 16).toBe(0);
    expect(ascii(m, pa + 9, 6)).toBe("BOCHS ");
    expect(m.bus.read8(pa + 15)).toBe(0);
    expect(u32(m, pa + 16)).toBe(t.rsdtAddress);
    expect(sum(bytesAt(m, pa, 20))).toBe(0);
  });

  it("with -m 1G has QEMU 7.2's bytes: RSDT at 0x3FFE1AD8 and checksum 0x23 (avocados prints both under QEMU)", () => {
    const m = machine(1024 * MIB);
    const t = buildAcpiTables(m);
    expect(u32(m, t.rsdpAddress + 16)).toBe(0x3ffe1ad8);
    expect(m.bus.read8(t.rsdpAddress + 8)).toBe(0x23);
  });

  it("returns a copy of its 20 bytes for multiboot2 tag 14, and no revision 2 RSDP for tag 15", () => {
    const m = machine();
    const t = buildAcpiTables(m);
    expect(Array.from(t.rsdpV1)).toEqual(bytesAt(m, t.rsdpAddress, 20));
    expect(t.rsdpV2).toBeNull();
  });

  it("is still found with a BDA pointing at an empty EBDA", () => {
    const m = machine();
    m.bus.write16(0x40e, 0x9fc0);
    buildAcpiTables(m);
    expect(findRsdp(m)).toBe(RSDP_ADDRESS);
  });
});

describe("RSDT", () => {
  it("lists the FADT, the MADT, the HPET and the WAET in QEMU's order; headers carry QEMU's OEM fields and good checksums", () => {
    const m = machine();
    const t = buildAcpiTables(m);
    const rsdt = table(m, t.rsdtAddress);
    expect(rsdt).toMatchObject({ signature: "RSDT", length: 36 + 16, revision: 1, checksumOk: true, oemId: "BOCHS ", oemTableId: "BXPC    ", creatorId: "BXPC" });
    const fromRsdt = [0, 1, 2, 3].map((i) => u32(m, t.rsdtAddress + 36 + 4 * i));
    expect(fromRsdt).toEqual([t.fadtAddress, t.madtAddress, t.hpetAddress, t.waetAddress]);
    expect(fromRsdt.map((pa) => table(m, pa).signature)).toEqual(["FACP", "APIC", "HPET", "WAET"]);
    expect(fromRsdt.every((pa) => table(m, pa).checksumOk)).toBe(true);
  });

  it("and its tables sit where QEMU 7.2 puts them with -m 1G (Dreamos64's log under QEMU: FACP 0x3FFE198C, APIC 0x3FFE1A00, HPET 0x3FFE1A78, WAET 0x3FFE1AB0, RSDT 0x3FFE1AD8)", () => {
    const m = machine(1024 * MIB);
    const t = buildAcpiTables(m);
    expect([t.facsAddress, t.dsdtAddress, t.fadtAddress, t.madtAddress, t.hpetAddress, t.waetAddress, t.rsdtAddress]).toEqual([
      0x3ffe0000, 0x3ffe0040, 0x3ffe198c, 0x3ffe1a00, 0x3ffe1a78, 0x3ffe1ab0, 0x3ffe1ad8,
    ]);
    expect(table(m, t.madtAddress).length).toBe(120);
    // Packed without gaps: each table ends where the next begins.
    expect(t.madtAddress + 120).toBe(t.hpetAddress);
    expect(t.hpetAddress + table(m, t.hpetAddress).length).toBe(t.waetAddress);
  });

  it("HPET is QEMU's build_hpet: 56 bytes, revision 1, block ID 0x8086A201, GAS system memory 0xFED00000, number 0, min tick 0", () => {
    const m = machine();
    const t = buildAcpiTables(m);
    const h = t.hpetAddress;
    expect(table(m, h)).toMatchObject({ signature: "HPET", length: 56, revision: 1, checksumOk: true, oemId: "BOCHS ", oemTableId: "BXPC    " });
    expect(u32(m, h + 36)).toBe(0x8086a201); // event timer block ID
    // Generic Address Structure: space 0 (memory), bit width, bit offset, access size, 64-bit address.
    expect(bytesAt(m, h + 40, 4)).toEqual([0, 0, 0, 0]);
    expect(u32(m, h + 44)).toBe(0xfed00000);
    expect(u32(m, h + 48)).toBe(0);
    expect(m.bus.read8(h + 52)).toBe(0); // HPET number
    expect(u16(m, h + 53)).toBe(0); // minimum clock tick in periodic mode
    expect(m.bus.read8(h + 55)).toBe(0); // page protection
  });

  it("WAET is QEMU's: 40 bytes, revision 1, flags 2 (PM timer good)", () => {
    const m = machine();
    const t = buildAcpiTables(m);
    expect(table(m, t.waetAddress)).toMatchObject({ signature: "WAET", length: 40, revision: 1, checksumOk: true, oemTableId: "BXPC    " });
    expect(u32(m, t.waetAddress + 36)).toBe(2);
  });

  it("sit in the last 128 KiB of low RAM, which the multiboot memory map reserves", () => {
    for (const ram of [128 * MIB, 256 * MIB]) {
      const m = machine(ram);
      const t = buildAcpiTables(m);
      expect(t.reserved).toEqual({ base: ram - 0x20000, length: 0x20000 });
      expect(acpiTablesRange(m.config)).toEqual(t.reserved);
      for (const pa of [t.facsAddress, t.dsdtAddress, t.fadtAddress, t.madtAddress, t.hpetAddress, t.waetAddress, t.rsdtAddress]) {
        expect(pa).toBeGreaterThanOrEqual(ram - 0x20000);
        expect(pa).toBeLessThan(ram);
      }
      const reserved = qemuMemoryMap(m.config).find((e) => e.base === ram - 0x20000);
      expect(reserved).toEqual({ base: ram - 0x20000, length: 0x20000, type: 2 });
    }
  });
});

describe("FADT", () => {
  it("is QEMU's pc FADT: revision 1, 116 bytes, PIIX4 PM blocks, SCI 9, SMI 0xB2", () => {
    const m = machine();
    const t = buildAcpiTables(m);
    const f = t.fadtAddress;
    expect(table(m, f)).toMatchObject({ signature: "FACP", length: 116, revision: 1, checksumOk: true });
    expect(u32(m, f + 36)).toBe(t.facsAddress); // FIRMWARE_CTRL
    expect(u32(m, f + 40)).toBe(t.dsdtAddress); // DSDT
    expect(u16(m, f + 46)).toBe(9); // SCI_INT
    expect(u32(m, f + 48)).toBe(0xb2); // SMI_CMD
    expect(m.bus.read8(f + 52)).toBe(0xf1); // ACPI_ENABLE
    expect(m.bus.read8(f + 53)).toBe(0xf0); // ACPI_DISABLE
    expect(u32(m, f + 56)).toBe(0x600); // PM1a_EVT_BLK
    expect(u32(m, f + 60)).toBe(0); // PM1b_EVT_BLK
    expect(u32(m, f + 64)).toBe(0x604); // PM1a_CNT_BLK
    expect(u32(m, f + 76)).toBe(0x608); // PM_TMR_BLK
    expect(u32(m, f + 80)).toBe(0xafe0); // GPE0_BLK
    expect(bytesAt(m, f + 88, 6)).toEqual([4, 2, 0, 4, 4, 0]); // PM1_EVT_LEN .. GPE1_BLK_LEN
    expect(u16(m, f + 96)).toBe(0xfff); // P_LVL2_LAT
    expect(u16(m, f + 98)).toBe(0xfff); // P_LVL3_LAT
    expect(m.bus.read8(f + 108)).toBe(0x32); // CENTURY
    // WBINVD | PROC_C1 | SLP_BUTTON | RTC_S4 | USE_PLATFORM_CLOCK; TMR_VAL_EXT (bit 8) clear: a 24-bit timer.
    expect(u32(m, f + 112)).toBe(0x80a5);
  });

  it("points at a 64-byte aligned FACS and a DSDT holding \\_S5_ = Package{0, 0, 0, 0}", () => {
    const m = machine();
    const t = buildAcpiTables(m);
    expect(t.facsAddress % 64).toBe(0);
    expect(ascii(m, t.facsAddress, 4)).toBe("FACS");
    expect(u32(m, t.facsAddress + 4)).toBe(64);
    const dsdt = table(m, t.dsdtAddress);
    expect(dsdt).toMatchObject({ signature: "DSDT", checksumOk: true });
    const aml = bytesAt(m, t.dsdtAddress + 36, dsdt.length - 36);
    // The usual power-off recipe: find "_S5_", NameOp before it, PackageOp after, skip PkgLength and NumElements.
    const at = aml.findIndex((_, i) => ascii(m, t.dsdtAddress + 36 + i, 4) === "_S5_");
    expect(at).toBeGreaterThan(0);
    expect(aml[at - 1]).toBe(0x08);
    expect(aml[at + 4]).toBe(0x12);
    let p = at + 5;
    p += ((aml[p] & 0xc0) >> 6) + 2;
    const slpTypA = aml[p] === 0x0a ? aml[p + 1] : aml[p];
    expect(slpTypA).toBe(0);
    expect(aml[at + 6]).toBe(4); // NumElements
  });

  it("also holds QEMU's \\_S3_ = Package{1, 1, 0, 0} and \\_S4_ = Package{2, 2, 0, 0}, byte for byte as QEMU 7.2's DSDT", () => {
    // The AML after each name in the DSDT QEMU 7.2's pc machine gives: PackageOp,
    // PkgLength, NumElements 4, then One One Zero Zero and BytePrefix 2 twice, Zero Zero.
    const m = machine();
    const t = buildAcpiTables(m);
    const dsdt = table(m, t.dsdtAddress);
    const after = (name: string, n: number): number[] => {
      for (let i = 36; i + 4 <= dsdt.length; i++) {
        if (ascii(m, t.dsdtAddress + i, 4) === name) return bytesAt(m, t.dsdtAddress + i + 4, n);
      }
      return [];
    };
    expect(after("_S3_", 8)).toEqual([0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00, 0x08]);
    expect(after("_S4_", 9)).toEqual([0x12, 0x08, 0x04, 0x0a, 0x02, 0x0a, 0x02, 0x00, 0x00]);
  });

  it("encodes other sleep types with BytePrefix when they are not 0 or 1", () => {
    expect(s5Aml(0)).toEqual([0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00]);
    expect(s5Aml(5)).toEqual([0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00]);
  });
});

describe("MADT", () => {
  /** The MADT's interrupt controller structures, parsed. */
  function madt(m: MachineMemory, pa: number) {
    const length = u32(m, pa + 4);
    const entries: number[][] = [];
    for (let p = pa + 44; p < pa + length; p += m.bus.read8(p + 1)) entries.push(bytesAt(m, p, m.bus.read8(p + 1)));
    return { localApic: u32(m, pa + 36), flags: u32(m, pa + 40), entries, length };
  }
  const le32 = (b: number[], at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

  it("has QEMU's layout: LAPIC 0, I/O APIC 0 at 0xFEC00000, five overrides, LINT1 NMI (120 bytes)", () => {
    const m = machine();
    const t = buildAcpiTables(m);
    const h = table(m, t.madtAddress);
    expect(h).toMatchObject({ signature: "APIC", revision: 1, checksumOk: true, length: 120 });
    const d = madt(m, t.madtAddress);
    expect(d.localApic).toBe(0xfee00000);
    expect(d.flags).toBe(1); // PCAT_COMPAT
    expect(d.entries.map((e) => e[0])).toEqual([0, 1, 2, 2, 2, 2, 2, 4]);
    // Processor Local APIC: UID 0, APIC ID 0, enabled.
    expect(d.entries[0]).toEqual([0, 8, 0, 0, 1, 0, 0, 0]);
    // I/O APIC: ID 0, address, GSI base 0.
    const io = d.entries[1];
    expect([io[1], io[2], le32(io, 4), le32(io, 8)]).toEqual([12, 0, 0xfec00000, 0]);
    // Interrupt Source Overrides: [bus, source, GSI, flags].
    const overrides = d.entries.slice(2, 7).map((e) => [e[2], e[3], le32(e, 4), e[8] | (e[9] << 8)]);
    expect(overrides).toEqual([
      [0, 0, 2, 0],
      [0, 5, 5, 0x0d],
      [0, 9, 9, 0x0d],
      [0, 10, 10, 0x0d],
      [0, 11, 11, 0x0d],
    ]);
    // Local APIC NMI: all processors, flags 0, LINT1.
    expect(d.entries[7]).toEqual([4, 6, 0xff, 0, 0, 1]);
  });
});

describe("placement options", () => {
  it("refuses an RSDP address outside the search area or unaligned", () => {
    const m = machine();
    expect(() => buildAcpiTables(m, { rsdpAddress: 0xd0000 })).toThrow(RangeError);
    expect(() => buildAcpiTables(m, { rsdpAddress: 0xf5a08 })).toThrow(RangeError);
  });

  it("places the tables where asked", () => {
    const m = machine();
    const t = buildAcpiTables(m, { rsdpAddress: 0xe0000, tablesAddress: 0xe1000 });
    expect(findRsdp(m)).toBe(0xe0000);
    expect(t.facsAddress).toBe(0xe1000);
    expect(table(m, u32(m, 0xe0000 + 16)).signature).toBe("RSDT");
  });
});
