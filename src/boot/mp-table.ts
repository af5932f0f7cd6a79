// The Intel MultiProcessor Specification 1.4 tables (chapter 4) for one CPU,
// as SeaBIOS builds them on QEMU's pc machine: the 16-byte floating pointer
// "_MP_" and, after it, the "PCMP" configuration table, both in the
// 0xF0000 segment (the third place of the spec's search, 4.0: EBDA first
// KiB, last KiB of base memory, then 0xF0000-0xFFFFF; xv6's mp.c does the
// same search, so src/boot/bios-data-area.ts must give it sane EBDA and
// base-memory words).
//
// Entries (4.3): one processor (APIC ID 0, version 0x14, enabled, BSP), the
// PCI bus 0 and ISA bus 1 (SeaBIOS's numbering when PCI is present), the
// I/O APIC (ID 0, version 0x11, 0xFEC00000), the ISA interrupts and two
// local interrupts (ExtINT on LINT0 of APIC 0, NMI on LINT1 of all APICs).
//
// ISA interrupts: IRQ n goes to I/O APIC pin n, except IRQ0, which goes to
// pin 2 (QEMU's IRQ0 override), and IRQ2 (the cascade), which is not listed.
// SeaBIOS lists IRQs 5, 9, 10 and 11 only as PCI device interrupts; cr3 has
// no PCI device with an interrupt pin, so they are listed here as ISA
// interrupts, level-triggered and active high, the same flags the MADT's
// overrides give them.

import type { PhysicalBus } from "../machine/bus.ts";
import { ByteWriter } from "./byte-writer.ts";
import { checksumByte, INTI_ACTIVE_HIGH_LEVEL, IO_APIC_ADDRESS, IO_APIC_ID, LOCAL_APIC_ADDRESS, PCI_ISA_IRQS, writeGuestBytes } from "./acpi-tables.ts";

/** Default floating pointer address, 16-byte aligned in the 0xF0000 segment. */
export const MP_FLOATING_POINTER_ADDRESS = 0xf5b00;
export const MP_FLOATING_POINTER_LENGTH = 16;
export const MP_CONFIG_HEADER_LENGTH = 44;
/** The local APIC version QEMU's APIC reports (version register bits 7:0). */
export const LOCAL_APIC_VERSION = 0x14;
/** The 82093AA I/O APIC version. */
export const IO_APIC_VERSION = 0x11;
export const MP_PCI_BUS_ID = 0;
export const MP_ISA_BUS_ID = 1;

// Entry types (MP spec table 4-3).
export const MP_PROCESSOR = 0;
export const MP_BUS = 1;
export const MP_IO_APIC = 2;
export const MP_IO_INTERRUPT = 3;
export const MP_LOCAL_INTERRUPT = 4;
// Interrupt types (table 4-9).
export const MP_INT = 0;
export const MP_NMI = 1;
export const MP_EXTINT = 3;

export interface MpTableOptions {
  /** Where the floating pointer goes (16-byte aligned, in 0xF0000-0xFFFFF); the configuration table follows it. */
  readonly address?: number;
  /** CPUID.1 EAX and EDX for the processor entry; SeaBIOS's fallbacks 0x600 and 0x201 by default. */
  readonly cpuSignature?: number;
  readonly cpuFeatures?: number;
}

export interface MpTable {
  readonly floatingPointerAddress: number;
  readonly configAddress: number;
  readonly configLength: number;
  readonly entryCount: number;
}

/** The configuration table's entries, the spec's order: processors, buses, I/O APICs, interrupts. */
function configEntries(options: MpTableOptions): { writer: ByteWriter; count: number } {
  const w = new ByteWriter();
  let count = 0;
  // Processor (20 bytes): APIC ID, version, flags EN | BP, signature, features, reserved.
  w.u8(MP_PROCESSOR).u8(0).u8(LOCAL_APIC_VERSION).u8(0x03);
  w.u32(options.cpuSignature ?? 0x600).u32(options.cpuFeatures ?? 0x201).zeros(8);
  count++;
  w.u8(MP_BUS).u8(MP_PCI_BUS_ID).ascii("PCI", 6);
  w.u8(MP_BUS).u8(MP_ISA_BUS_ID).ascii("ISA", 6);
  count += 2;
  w.u8(MP_IO_APIC).u8(IO_APIC_ID).u8(IO_APIC_VERSION).u8(1).u32(IO_APIC_ADDRESS);
  count++;
  for (const [irq, pin, flags] of isaInterruptRoutes()) {
    w.u8(MP_IO_INTERRUPT).u8(MP_INT).u16(flags).u8(MP_ISA_BUS_ID).u8(irq).u8(IO_APIC_ID).u8(pin);
    count++;
  }
  // Local interrupts: ExtINT to LINT0 of APIC 0, NMI to LINT1 of every APIC (0xFF).
  w.u8(MP_LOCAL_INTERRUPT).u8(MP_EXTINT).u16(0).u8(MP_ISA_BUS_ID).u8(0).u8(0).u8(0);
  w.u8(MP_LOCAL_INTERRUPT).u8(MP_NMI).u16(0).u8(MP_ISA_BUS_ID).u8(0).u8(0xff).u8(1);
  count += 2;
  return { writer: w, count };
}

/** [ISA IRQ, I/O APIC pin, MPS INTI flags] for each listed ISA interrupt. */
export function isaInterruptRoutes(): Array<[number, number, number]> {
  const routes: Array<[number, number, number]> = [];
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue;
    routes.push([irq, irq === 0 ? 2 : irq, PCI_ISA_IRQS.includes(irq) ? INTI_ACTIVE_HIGH_LEVEL : 0]);
  }
  return routes;
}

export function buildMpTable(bus: PhysicalBus, options: MpTableOptions = {}): MpTable {
  const pointerAddress = options.address ?? MP_FLOATING_POINTER_ADDRESS;
  if (pointerAddress % 16 !== 0 || pointerAddress < 0xf0000 || pointerAddress >= 0x100000) {
    throw new RangeError(`MP floating pointer address 0x${pointerAddress.toString(16)} must be 16-byte aligned in 0xF0000-0xFFFFF`);
  }
  const configAddress = pointerAddress + MP_FLOATING_POINTER_LENGTH;
  const { writer: entries, count } = configEntries(options);
  const header = new ByteWriter()
    .ascii("PCMP", 4)
    .u16(MP_CONFIG_HEADER_LENGTH + entries.length) // base table length
    .u8(4) // spec revision 1.4
    .u8(0) // checksum
    .ascii("BOCHSCPU", 8) // OEM ID, as SeaBIOS
    .ascii("0.1", 12) // product ID
    .u32(0) // OEM table pointer
    .u16(0) // OEM table size
    .u16(count)
    .u32(LOCAL_APIC_ADDRESS)
    .u16(0) // extended table length
    .u8(0) // extended table checksum
    .u8(0); // reserved
  const config = Uint8Array.from([...header.bytes, ...entries.bytes]);
  config[7] = checksumByte(config);
  if (configAddress + config.length > 0x100000) throw new RangeError("the MP configuration table would cross 1 MiB");

  const pointer = new ByteWriter()
    .ascii("_MP_", 4)
    .u32(configAddress)
    .u8(1) // length in 16-byte units
    .u8(4) // spec revision 1.4
    .u8(0) // checksum
    .u8(0) // feature 1: 0, a configuration table is present
    .u8(0) // feature 2: IMCRP clear, virtual wire mode
    .zeros(3)
    .toBytes();
  pointer[10] = checksumByte(pointer);

  writeGuestBytes(bus, pointerAddress, pointer, "MP floating pointer");
  writeGuestBytes(bus, configAddress, config, "MP configuration table");
  return { floatingPointerAddress: pointerAddress, configAddress, configLength: config.length, entryCount: count };
}
