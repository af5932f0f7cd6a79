// The ACPI tables a PC firmware leaves in guest RAM (ACPI 6.4, chapter 5),
// laid out as QEMU's pc machine and SeaBIOS lay them out, so that a kernel
// finds and reads the same values under cr3 as under QEMU:
//
// - the RSDP in the BIOS area (16-byte aligned, found by the search of the
//   EBDA's first KiB and 0xE0000-0xFFFFF, ACPI 5.2.5.1), at 0xF5A00 by
//   default; revision 2 with both the RSDT and the XSDT (QEMU's pc machine
//   gives revision 0 and an RSDT only: the XSDT is an addition, so that the
//   multiboot2 "new ACPI" tag has something to carry);
// - the other tables in the last 128 KiB of low RAM, where SeaBIOS keeps its
//   tables and which the multiboot memory maps already mark reserved, in
//   QEMU's order: FACS (64-byte aligned) at the start, the DSDT after it,
//   then the FADT, the MADT, the RSDT and the XSDT;
// - the OEM ID "BOCHS " and OEM table ID "BXPC    ", creator "BXPC", as
//   QEMU writes them: a kernel that prints them prints the same line.
//
// The FADT is QEMU's pc one: revision 1 (116 bytes), SCI on IRQ 9, SMI_CMD
// 0xB2 with ACPI enable/disable 0xF1/0xF0, the PIIX4 PM blocks at
// 0x600/0x604/0x608 and GPE0 at 0xAFE0 (src/devices/acpi-pm.ts serves them).
// The MADT is QEMU's build_madt for one CPU. The DSDT's AML holds only
// Name(\_S5_, Package(4){0, 0, 0, 0}): SLP_TYP 0 for soft-off, QEMU's value.

import type { PhysicalBus } from "../machine/bus.ts";
import type { MachineConfig } from "../machine/config.ts";
import { LOW_RAM_LIMIT, LOW_RAM_LIMIT_LARGE } from "../machine/memory-map.ts";
import {
  ACPI_DISABLE_VALUE,
  ACPI_ENABLE_VALUE,
  GPE0_BLK,
  GPE0_BLK_LEN,
  PM1A_CNT_BLK,
  PM1A_EVT_BLK,
  PM_TMR_BLK,
  S5_SLEEP_TYPE,
  SCI_IRQ,
  SMI_CMD_PORT,
} from "../devices/acpi-pm.ts";

/** Default RSDP address: in the 0xF0000 segment, as SeaBIOS's. */
export const RSDP_ADDRESS = 0xf5a00;
export const RSDP_V1_LENGTH = 20;
export const RSDP_V2_LENGTH = 36;
/** SeaBIOS's high table area: the last 128 KiB of RAM below the PCI hole. */
export const ACPI_TABLES_SIZE = 0x20000;
export const LOCAL_APIC_ADDRESS = 0xfee00000;
export const IO_APIC_ADDRESS = 0xfec00000;
export const IO_APIC_ID = 0;
export const OEM_ID = "BOCHS ";
export const OEM_TABLE_ID = "BXPC    ";
export const CREATOR_ID = "BXPC";

// MADT structure types (ACPI 5.2.12).
export const MADT_LOCAL_APIC = 0;
export const MADT_IO_APIC = 1;
export const MADT_INTERRUPT_OVERRIDE = 2;
export const MADT_LOCAL_APIC_NMI = 4;
/** MADT flags bit 0: dual 8259s present (PCAT_COMPAT). */
export const MADT_PCAT_COMPAT = 1;
/** MPS INTI flags: polarity active high (01), trigger level (11 << 2). */
export const INTI_ACTIVE_HIGH_LEVEL = 0x0d;
/** ISA IRQs QEMU's pc machine routes as PCI (level, active high) interrupts. */
export const PCI_ISA_IRQS: readonly number[] = [5, 9, 10, 11];

// FADT flags (ACPI 5.2.9, table 5.10) QEMU sets: WBINVD, PROC_C1,
// SLP_BUTTON, RTC_S4, USE_PLATFORM_CLOCK.
export const FADT_FLAGS = (1 << 0) | (1 << 2) | (1 << 5) | (1 << 7) | (1 << 15);
export const FADT_REVISION = 1;
export const FADT_LENGTH = 116;
/** CMOS index of the century byte (QEMU's RTC_CENTURY). */
export const RTC_CENTURY_INDEX = 0x32;

export interface AcpiTableOptions {
  /** Where the RSDP goes; 16-byte aligned in 0xE0000-0xFFFFF. Default 0xF5A00. */
  readonly rsdpAddress?: number;
  /** Where the tables go; default the start of the last 128 KiB of low RAM. */
  readonly tablesAddress?: number;
}

export interface AcpiTables {
  readonly rsdpAddress: number;
  readonly rsdtAddress: number;
  readonly xsdtAddress: number;
  readonly fadtAddress: number;
  readonly madtAddress: number;
  readonly dsdtAddress: number;
  readonly facsAddress: number;
  /** The RAM the tables occupy, to be kept reserved in memory maps. */
  readonly reserved: { readonly base: number; readonly length: number };
  /** Copies of the RSDP's first 20 bytes (ACPI 1.0 form) and of all 36. */
  readonly rsdpV1: Uint8Array;
  readonly rsdpV2: Uint8Array;
}

/** The guest memory the builder writes: MachineMemory satisfies it. */
export interface AcpiMemory {
  readonly bus: PhysicalBus;
  readonly config: MachineConfig;
}

/** The end of RAM below 4 GiB, as memory-map.ts lays it out. */
export function lowRamEnd(ramBytes: number): number {
  return ramBytes <= LOW_RAM_LIMIT ? ramBytes : LOW_RAM_LIMIT_LARGE;
}

/** The reserved range at the top of low RAM where the tables live by default. */
export function acpiTablesRange(config: MachineConfig): { base: number; length: number } {
  return { base: lowRamEnd(config.ramBytes) - ACPI_TABLES_SIZE, length: ACPI_TABLES_SIZE };
}

/** Little-endian bytes, appended. */
export class ByteWriter {
  readonly bytes: number[] = [];
  get length(): number {
    return this.bytes.length;
  }
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  /** A 64-bit value given as a Number below 2^53. */
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  /** `s` padded with spaces (or cut) to `n` bytes. */
  ascii(s: string, n: number): this {
    for (let i = 0; i < n; i++) this.u8(i < s.length ? s.charCodeAt(i) : 0x20);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.u8(0);
    return this;
  }
  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** The byte that makes bytes [from, to) sum to zero mod 256. */
export function checksumByte(bytes: Uint8Array | readonly number[], from = 0, to = bytes.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i];
  return (256 - (sum & 0xff)) & 0xff;
}

/** The 36-byte system description table header (ACPI 5.2.6); length and checksum filled by finishTable. */
function tableHeader(signature: string, revision: number): ByteWriter {
  return new ByteWriter()
    .ascii(signature, 4)
    .u32(0) // length
    .u8(revision)
    .u8(0) // checksum
    .ascii(OEM_ID, 6)
    .ascii(OEM_TABLE_ID, 8)
    .u32(1) // OEM revision
    .ascii(CREATOR_ID, 4)
    .u32(1); // creator revision
}

function finishTable(w: ByteWriter): Uint8Array {
  const bytes = w.toBytes();
  new DataView(bytes.buffer).setUint32(4, bytes.length, true);
  bytes[9] = checksumByte(bytes);
  return bytes;
}

/** Name(_S5_, Package(4){S5, 0, 0, 0}) in AML (ACPI 20.2.5.1 NameOp, 20.2.5.4 PackageOp). */
export function s5Aml(sleepType: number = S5_SLEEP_TYPE): number[] {
  const element = (v: number): number[] => (v === 0 ? [0x00] : v === 1 ? [0x01] : [0x0a, v & 0xff]); // ZeroOp, OneOp, BytePrefix
  const elements = [...element(sleepType), ...element(0), 0x00, 0x00];
  const pkgLength = 1 + 1 + elements.length; // PkgLength byte + NumElements + elements (one-byte PkgLength)
  return [0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, pkgLength, 4, ...elements];
}

export function buildDsdt(): Uint8Array {
  const w = tableHeader("DSDT", 1);
  for (const b of s5Aml()) w.u8(b);
  return finishTable(w);
}

/** FACS (ACPI 5.2.10): 64 bytes, no checksum, no header. */
export function buildFacs(): Uint8Array {
  return new ByteWriter().ascii("FACS", 4).u32(64).zeros(56).toBytes();
}

export function buildFadt(facsAddress: number, dsdtAddress: number): Uint8Array {
  const w = tableHeader("FACP", FADT_REVISION)
    .u32(facsAddress) // FIRMWARE_CTRL
    .u32(dsdtAddress) // DSDT
    .u8(1) // INT_MODEL (ACPI 1.0): multiple APIC, as QEMU sets it
    .u8(0) // reserved / Preferred_PM_Profile
    .u16(SCI_IRQ) // SCI_INT
    .u32(SMI_CMD_PORT) // SMI_CMD
    .u8(ACPI_ENABLE_VALUE)
    .u8(ACPI_DISABLE_VALUE)
    .u8(0) // S4BIOS_REQ
    .u8(0) // reserved / PSTATE_CNT
    .u32(PM1A_EVT_BLK)
    .u32(0) // PM1b_EVT_BLK
    .u32(PM1A_CNT_BLK)
    .u32(0) // PM1b_CNT_BLK
    .u32(0) // PM2_CNT_BLK
    .u32(PM_TMR_BLK)
    .u32(GPE0_BLK)
    .u32(0) // GPE1_BLK
    .u8(4) // PM1_EVT_LEN
    .u8(2) // PM1_CNT_LEN
    .u8(0) // PM2_CNT_LEN
    .u8(4) // PM_TMR_LEN
    .u8(GPE0_BLK_LEN)
    .u8(0) // GPE1_BLK_LEN
    .u8(0) // GPE1_BASE
    .u8(0) // reserved / CST_CNT
    .u16(0xfff) // P_LVL2_LAT: C2 not supported
    .u16(0xfff) // P_LVL3_LAT: C3 not supported
    .u16(0) // FLUSH_SIZE
    .u16(0) // FLUSH_STRIDE
    .u8(0) // DUTY_OFFSET
    .u8(0) // DUTY_WIDTH
    .u8(0) // DAY_ALRM
    .u8(0) // MON_ALRM
    .u8(RTC_CENTURY_INDEX) // CENTURY
    .u16(0) // reserved in revision 1 (IAPC_BOOT_ARCH later)
    .u8(0) // reserved
    .u32(FADT_FLAGS);
  return finishTable(w);
}

export function buildMadt(): Uint8Array {
  const w = tableHeader("APIC", 1).u32(LOCAL_APIC_ADDRESS).u32(MADT_PCAT_COMPAT);
  // Processor Local APIC: ACPI processor UID 0, APIC ID 0, enabled.
  w.u8(MADT_LOCAL_APIC).u8(8).u8(0).u8(0).u32(1);
  // I/O APIC: ID 0, reserved, address, GSI base 0.
  w.u8(MADT_IO_APIC).u8(12).u8(IO_APIC_ID).u8(0).u32(IO_APIC_ADDRESS).u32(0);
  // Interrupt source overrides, bus 0 (ISA): IRQ0 -> GSI 2 conforming, and
  // the PCI-routed IRQs identity mapped, level-triggered, active high.
  w.u8(MADT_INTERRUPT_OVERRIDE).u8(10).u8(0).u8(0).u32(2).u16(0);
  for (const irq of PCI_ISA_IRQS) w.u8(MADT_INTERRUPT_OVERRIDE).u8(10).u8(0).u8(irq).u32(irq).u16(INTI_ACTIVE_HIGH_LEVEL);
  // Local APIC NMI: all processors (UID 0xFF), flags conforming, LINT1.
  w.u8(MADT_LOCAL_APIC_NMI).u8(6).u8(0xff).u16(0).u8(1);
  return finishTable(w);
}

export function buildRsdt(entries: readonly number[]): Uint8Array {
  const w = tableHeader("RSDT", 1);
  for (const e of entries) w.u32(e);
  return finishTable(w);
}

export function buildXsdt(entries: readonly number[]): Uint8Array {
  const w = tableHeader("XSDT", 1);
  for (const e of entries) w.u64(e);
  return finishTable(w);
}

/** The 36-byte revision-2 RSDP (ACPI 5.2.5.3) with both checksums. */
export function buildRsdp(rsdtAddress: number, xsdtAddress: number): Uint8Array {
  const bytes = new ByteWriter()
    .ascii("RSD PTR ", 8)
    .u8(0) // checksum of the first 20 bytes
    .ascii(OEM_ID, 6)
    .u8(2) // revision
    .u32(rsdtAddress)
    .u32(RSDP_V2_LENGTH)
    .u64(xsdtAddress)
    .u8(0) // extended checksum
    .zeros(3)
    .toBytes();
  bytes[8] = checksumByte(bytes, 0, RSDP_V1_LENGTH);
  bytes[32] = checksumByte(bytes, 0, RSDP_V2_LENGTH);
  return bytes;
}

/** Copies `bytes` into guest RAM at `pa`; a configuration error if it is not all RAM. */
export function writeGuestBytes(bus: PhysicalBus, pa: number, bytes: Uint8Array, what: string): void {
  const first = bus.ramOffsetOf(pa);
  const last = bus.ramOffsetOf(pa + bytes.length - 1);
  if (first < 0 || last !== first + bytes.length - 1) {
    throw new RangeError(`${what} at 0x${pa.toString(16)} (${bytes.length} bytes) is not in guest RAM`);
  }
  bus.ram.u8.set(bytes, first);
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Writes the RSDP, RSDT, XSDT, FADT, FACS, DSDT and MADT into guest RAM. */
export function buildAcpiTables(memory: AcpiMemory, options: AcpiTableOptions = {}): AcpiTables {
  const bus = memory.bus;
  const rsdpAddress = options.rsdpAddress ?? RSDP_ADDRESS;
  if (rsdpAddress % 16 !== 0 || rsdpAddress < 0xe0000 || rsdpAddress + RSDP_V2_LENGTH > 0x100000) {
    throw new RangeError(`RSDP address 0x${rsdpAddress.toString(16)} must be 16-byte aligned in 0xE0000-0xFFFFF`);
  }
  const base = options.tablesAddress ?? acpiTablesRange(memory.config).base;
  if (base % 64 !== 0) throw new RangeError("the ACPI tables' base must be 64-byte aligned (the FACS's alignment)");

  const facsAddress = base;
  const facs = buildFacs();
  const dsdtAddress = facsAddress + facs.length;
  const dsdt = buildDsdt();
  const fadtAddress = align(dsdtAddress + dsdt.length, 8);
  const fadt = buildFadt(facsAddress, dsdtAddress);
  const madtAddress = align(fadtAddress + fadt.length, 8);
  const madt = buildMadt();
  const rsdtAddress = align(madtAddress + madt.length, 8);
  const rsdt = buildRsdt([fadtAddress, madtAddress]);
  const xsdtAddress = align(rsdtAddress + rsdt.length, 8);
  const xsdt = buildXsdt([fadtAddress, madtAddress]);
  const end = xsdtAddress + xsdt.length;
  if (options.tablesAddress === undefined && end > base + ACPI_TABLES_SIZE) throw new Error("ACPI tables outgrew their area");

  writeGuestBytes(bus, facsAddress, facs, "FACS");
  writeGuestBytes(bus, dsdtAddress, dsdt, "DSDT");
  writeGuestBytes(bus, fadtAddress, fadt, "FADT");
  writeGuestBytes(bus, madtAddress, madt, "MADT");
  writeGuestBytes(bus, rsdtAddress, rsdt, "RSDT");
  writeGuestBytes(bus, xsdtAddress, xsdt, "XSDT");
  const rsdp = buildRsdp(rsdtAddress, xsdtAddress);
  writeGuestBytes(bus, rsdpAddress, rsdp, "RSDP");

  return {
    rsdpAddress,
    rsdtAddress,
    xsdtAddress,
    fadtAddress,
    madtAddress,
    dsdtAddress,
    facsAddress,
    reserved: options.tablesAddress === undefined ? { base, length: ACPI_TABLES_SIZE } : { base, length: align(end - base, 4096) },
    rsdpV1: rsdp.slice(0, RSDP_V1_LENGTH),
    rsdpV2: rsdp.slice(),
  };
}
