// The ACPI tables a PC firmware leaves in guest RAM (ACPI 6.4, chapter 5),
// laid out as QEMU's pc machine and SeaBIOS lay them out, so that a kernel
// finds and reads the same values under cr3 as under QEMU:
//
// - the RSDP in the BIOS area (16-byte aligned, found by the search of the
//   EBDA's first KiB and 0xE0000-0xFFFFF, ACPI 5.2.5.1), at 0xF5A00 by
//   default; revision 0 (ACPI 1.0, 20 bytes) with an RSDT and no XSDT, as
//   QEMU 7.2's pc machine gives it. Kernels check this: avocados asserts
//   revision 0, and GRUB then passes only the "old ACPI" multiboot2 tag;
// - the other tables in the last 128 KiB of low RAM, where SeaBIOS keeps its
//   tables and which the multiboot memory maps already mark reserved, at the
//   offsets QEMU 7.2 gives them there (its tables are packed without
//   alignment after a 6476-byte DSDT): FACS +0, DSDT +0x40, FADT +0x198C,
//   MADT +0x1A00, HPET +0x1A78, WAET +0x1AB0, RSDT +0x1AD8, and the RSDT
//   lists FADT, MADT, HPET, WAET in that order, as QEMU's. A kernel that
//   prints where it found a table prints the same address under cr3 as
//   under QEMU (Dreamos64 and avocados do);
// - the OEM ID "BOCHS " and OEM table ID "BXPC    ", creator "BXPC", as
//   QEMU writes them: a kernel that prints them prints the same line.
//
// The FADT is QEMU's pc one: revision 1 (116 bytes), SCI on IRQ 9, SMI_CMD
// 0xB2 with ACPI enable/disable 0xF1/0xF0, the PIIX4 PM blocks at
// 0x600/0x604/0x608 and GPE0 at 0xAFE0 (src/devices/acpi-pm.ts serves them).
// The MADT is QEMU's build_madt for one CPU. The HPET table is QEMU's
// build_hpet (IA-PC HPET specification 1.0a, 3.2.4): the event timer block
// ID (the capabilities register's low half), the block at 0xFED00000 as a
// system-memory GAS with zero width, offset and access size, HPET number 0,
// minimum periodic tick 0, no page protection. The DSDT's AML holds only
// QEMU's sleep-state packages: \_S3_ {1, 1, 0, 0}, \_S4_ {2, 2, 0, 0} and
// \_S5_ {0, 0, 0, 0}, the SLP_TYP values src/devices/acpi-pm.ts acts on.

import { ByteWriter } from "./byte-writer.ts";
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
  S3_SLEEP_TYPE,
  S4_SLEEP_TYPE,
  S5_SLEEP_TYPE,
  SCI_IRQ,
  SMI_CMD_PORT,
} from "../devices/acpi-pm.ts";
import { HPET_BASE, HPET_CAPABILITIES } from "../devices/hpet.ts";

/** Default RSDP address: in the 0xF0000 segment, as SeaBIOS's. */
export const RSDP_ADDRESS = 0xf5a00;
export const RSDP_V1_LENGTH = 20;
export const RSDP_REVISION = 0;
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
/** WAET flags (Windows ACPI Emulated Devices Table): bit 1, the PM timer needs one read only, as QEMU sets it. */
export const WAET_PM_TIMER_GOOD = 1 << 1;
/** Where QEMU 7.2's pc machine puts each table, from the start of the table area. */
export const QEMU_TABLE_OFFSETS = { facs: 0, dsdt: 0x40, fadt: 0x198c, madt: 0x1a00, hpet: 0x1a78, waet: 0x1ab0, rsdt: 0x1ad8 } as const;
/** ACPI Generic Address Structure address space 0: system memory (ACPI 5.2.3.2). */
export const GAS_SYSTEM_MEMORY = 0;
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
  readonly fadtAddress: number;
  readonly madtAddress: number;
  readonly dsdtAddress: number;
  readonly facsAddress: number;
  readonly waetAddress: number;
  readonly hpetAddress: number;
  /** The RAM the tables occupy, to be kept reserved in memory maps. */
  readonly reserved: { readonly base: number; readonly length: number };
  /** A copy of the RSDP's 20 bytes (the ACPI 1.0 form), for the multiboot2 old ACPI tag. */
  readonly rsdpV1: Uint8Array;
  /** The 36-byte revision 2+ RSDP, for the new ACPI tag: null, as QEMU's pc machine has none. */
  readonly rsdpV2: Uint8Array | null;
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

/** Name(_Sn_, Package(4){type, type, 0, 0}), as QEMU's DSDT gives \_S3_ and \_S4_ (PM1a and PM1b SLP_TYP). */
export function sleepStateAml(state: number, sleepType: number): number[] {
  const element = (v: number): number[] => (v === 0 ? [0x00] : v === 1 ? [0x01] : [0x0a, v & 0xff]);
  const elements = [...element(sleepType), ...element(sleepType), 0x00, 0x00];
  return [0x08, 0x5f, 0x53, 0x30 + state, 0x5f, 0x12, 2 + elements.length, 4, ...elements];
}

export function buildDsdt(): Uint8Array {
  const w = tableHeader("DSDT", 1);
  for (const b of [...sleepStateAml(3, S3_SLEEP_TYPE), ...sleepStateAml(4, S4_SLEEP_TYPE), ...s5Aml()]) w.u8(b);
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

/** The HPET description table (IA-PC HPET 1.0a, 3.2.4): 56 bytes, revision 1. */
export function buildHpetTable(): Uint8Array {
  const w = tableHeader("HPET", 1)
    .u32(HPET_CAPABILITIES) // event timer block ID
    .u8(GAS_SYSTEM_MEMORY)
    .u8(0) // register bit width
    .u8(0) // register bit offset
    .u8(0) // access size
    .u64(HPET_BASE)
    .u8(0) // HPET number
    .u16(0) // main counter minimum clock tick in periodic mode
    .u8(0); // page protection and OEM attribute
  return finishTable(w);
}

/** WAET (Microsoft's Windows ACPI Emulated Devices Table): a header and a flags word. */
export function buildWaet(): Uint8Array {
  return finishTable(tableHeader("WAET", 1).u32(WAET_PM_TIMER_GOOD));
}

/** The 20-byte revision 0 RSDP (ACPI 1.0; ACPI 5.2.5.3's first 20 bytes) with its checksum. */
export function buildRsdp(rsdtAddress: number): Uint8Array {
  const bytes = new ByteWriter()
    .ascii("RSD PTR ", 8)
    .u8(0) // checksum of the 20 bytes
    .ascii(OEM_ID, 6)
    .u8(RSDP_REVISION)
    .u32(rsdtAddress)
    .toBytes();
  bytes[8] = checksumByte(bytes, 0, RSDP_V1_LENGTH);
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

/** Writes the RSDP, RSDT, FADT, FACS, DSDT, MADT, HPET and WAET into guest RAM. */
export function buildAcpiTables(memory: AcpiMemory, options: AcpiTableOptions = {}): AcpiTables {
  const bus = memory.bus;
  const rsdpAddress = options.rsdpAddress ?? RSDP_ADDRESS;
  if (rsdpAddress % 16 !== 0 || rsdpAddress < 0xe0000 || rsdpAddress + RSDP_V1_LENGTH > 0x100000) {
    throw new RangeError(`RSDP address 0x${rsdpAddress.toString(16)} must be 16-byte aligned in 0xE0000-0xFFFFF`);
  }
  const base = options.tablesAddress ?? acpiTablesRange(memory.config).base;
  if (base % 64 !== 0) throw new RangeError("the ACPI tables' base must be 64-byte aligned (the FACS's alignment)");

  const at = QEMU_TABLE_OFFSETS;
  const facsAddress = base + at.facs;
  const dsdtAddress = base + at.dsdt;
  const fadtAddress = base + at.fadt;
  const madtAddress = base + at.madt;
  const hpetAddress = base + at.hpet;
  const waetAddress = base + at.waet;
  const rsdtAddress = base + at.rsdt;
  const facs = buildFacs();
  const dsdt = buildDsdt();
  const fadt = buildFadt(facsAddress, dsdtAddress);
  const madt = buildMadt();
  const hpet = buildHpetTable();
  const waet = buildWaet();
  const rsdt = buildRsdt([fadtAddress, madtAddress, hpetAddress, waetAddress]);
  const placed: Array<[number, Uint8Array, string]> = [
    [facsAddress, facs, "FACS"],
    [dsdtAddress, dsdt, "DSDT"],
    [fadtAddress, fadt, "FADT"],
    [madtAddress, madt, "MADT"],
    [hpetAddress, hpet, "HPET"],
    [waetAddress, waet, "WAET"],
    [rsdtAddress, rsdt, "RSDT"],
  ];
  for (let i = 0; i + 1 < placed.length; i++) {
    if (placed[i][0] + placed[i][1].length > placed[i + 1][0]) throw new Error(`ACPI ${placed[i][2]} outgrew its place before the ${placed[i + 1][2]}`);
  }
  const end = rsdtAddress + rsdt.length;
  if (options.tablesAddress === undefined && end > base + ACPI_TABLES_SIZE) throw new Error("ACPI tables outgrew their area");

  for (const [pa, bytes, what] of placed) writeGuestBytes(bus, pa, bytes, what);
  const rsdp = buildRsdp(rsdtAddress);
  writeGuestBytes(bus, rsdpAddress, rsdp, "RSDP");

  return {
    rsdpAddress,
    rsdtAddress,
    fadtAddress,
    madtAddress,
    dsdtAddress,
    facsAddress,
    waetAddress,
    hpetAddress,
    reserved: options.tablesAddress === undefined ? { base, length: ACPI_TABLES_SIZE } : { base, length: align(end - base, 4096) },
    rsdpV1: rsdp.slice(),
    rsdpV2: null,
  };
}
