// PCI configuration mechanism #1 (PCI Local Bus spec 3.0, 3.2.2.3.2): the
// CONFIG_ADDRESS register at 0xCF8 (32-bit accesses only; bit 31 enables,
// bus 23-16, device 15-11, function 10-8, register 7-2) and CONFIG_DATA at
// 0xCFC-0xCFF (1, 2 or 4 bytes at register + (port & 3)). The PIIX3's reset
// control register shares 0xCF9 for byte accesses (bit 2 with bit 1 = reset).
//
// Functions are 256-byte configuration spaces with a mask of the bits the
// guest may write, so BAR sizing works as on hardware (write all ones, read
// back the size mask). Absent functions read all ones. Bus 0 shows what
// QEMU's `pc` (i440FX) machine shows, in the state SeaBIOS leaves it in:
//   00:00.0 i440FX host bridge 8086:1237 rev 02, class 06/00/00
//   00:01.0 PIIX3 ISA bridge   8086:7000,        class 06/01/00, multifunction
//   00:01.1 PIIX3 IDE          8086:7010,        class 01/01/80, BAR4 bus master I/O (16 bytes)
//   00:01.3 PIIX4 ACPI (PM)    8086:7113 rev 03, class 06/80/00, PM base 0x600 (reg 0x40)
// Subsystem IDs are QEMU's 1AF4:1100. Writes change only masked bits;
// everything else is read-only.

import type { PortDevice } from "../machine/ports.ts";

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
const RESET_CONTROL_PORT = 0xcf9;

export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_BAR0 = 0x10;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

/** A function's identity and header fields. */
export interface PciFunctionSpec {
  vendor: number;
  device: number;
  revision?: number;
  classCode: number;
  subclass: number;
  progIf?: number;
  /** Header type byte (0 for a type 0 header; set bit 7 on function 0 of a multifunction device). */
  headerType?: number;
  command?: number;
  status?: number;
  subsystemVendor?: number;
  subsystem?: number;
  interruptPin?: number;
  interruptLine?: number;
}

/** A BAR to declare with `setBar`: I/O or 32-bit memory, size a power of two. */
export interface PciBar {
  index: number;
  size: number;
  io: boolean;
  /** Initial address (as firmware would have assigned it). */
  address?: number;
  prefetchable?: boolean;
}

export interface PciFunction {
  readonly config: Uint8Array;
  /** Per byte: the bits the guest may change. */
  readonly writable: Uint8Array;
}

/** A 256-byte type 0 configuration space for `spec`, with QEMU's default writable bits. */
export function makeConfig(spec: PciFunctionSpec): PciFunction {
  const config = new Uint8Array(256);
  const view = new DataView(config.buffer);
  view.setUint16(0x00, spec.vendor, true);
  view.setUint16(0x02, spec.device, true);
  view.setUint16(PCI_COMMAND, spec.command ?? 0, true);
  view.setUint16(PCI_STATUS, spec.status ?? 0, true);
  config[0x08] = spec.revision ?? 0;
  config[0x09] = spec.progIf ?? 0;
  config[0x0a] = spec.subclass;
  config[0x0b] = spec.classCode;
  config[0x0e] = spec.headerType ?? 0;
  view.setUint16(0x2c, spec.subsystemVendor ?? 0x1af4, true);
  view.setUint16(0x2e, spec.subsystem ?? 0x1100, true);
  config[PCI_INTERRUPT_LINE] = spec.interruptLine ?? 0;
  config[PCI_INTERRUPT_PIN] = spec.interruptPin ?? 0;
  const writable = new Uint8Array(256);
  // QEMU's pci_init_wmask: command I/O, memory, bus master, INTx disable;
  // cache line size; interrupt line; the device-specific area 0x40-0xFF.
  writable[PCI_COMMAND] = 0x07;
  writable[PCI_COMMAND + 1] = 0x04;
  writable[0x0c] = 0xff;
  writable[PCI_INTERRUPT_LINE] = 0xff;
  writable.fill(0xff, 0x40);
  return { config, writable };
}

/** Declares a BAR: its type bits read-only, its address bits writable above the size. */
export function setBar(fn: PciFunction, bar: PciBar): void {
  if (bar.index < 0 || bar.index > 5 || bar.size < (bar.io ? 4 : 16) || (bar.size & (bar.size - 1)) !== 0) {
    throw new RangeError(`bad BAR ${bar.index} of ${bar.size} bytes`);
  }
  const offset = PCI_BAR0 + 4 * bar.index;
  const typeBits = bar.io ? 0x1 : bar.prefetchable ? 0x8 : 0x0;
  const mask = ~(bar.size - 1) >>> 0;
  const view = new DataView(fn.config.buffer);
  view.setUint32(offset, (((bar.address ?? 0) & mask) | typeBits) >>> 0, true);
  // I/O BARs decode 16 address bits on a PC; QEMU still lets all 32 be written.
  new DataView(fn.writable.buffer).setUint32(offset, mask & ~(bar.io ? 0x3 : 0xf), true);
}

export class PciHost implements PortDevice {
  readonly name = "pci-host";
  /** CONFIG_ADDRESS as last written (32 bits). */
  address = 0;
  /** PIIX3 reset control register (0xCF9). */
  resetControl = 0;
  /** Called on a hard or soft reset through 0xCF9. */
  onReset: (() => void) | null = null;
  /** Functions by (bus << 8) | (device << 3) | function. */
  private readonly functions = new Map<number, PciFunction>();

  /** A host with QEMU's i440FX/PIIX3 functions on bus 0; `piix` = false for an empty bus. */
  constructor(piix = true) {
    if (piix) this.addPcFunctions();
  }

  /**
   * Adds (or replaces) a function. `config` is its 256-byte space;
   * `writableMask` the bits the guest may change (default: QEMU's generic
   * mask from makeConfig, without BARs). Returns the stored function.
   */
  addFunction(bus: number, device: number, fn: number, config: Uint8Array | PciFunction, writableMask?: Uint8Array): PciFunction {
    if (bus < 0 || bus > 255 || device < 0 || device > 31 || fn < 0 || fn > 7) {
      throw new RangeError(`no PCI function ${bus}:${device}.${fn}`);
    }
    let f: PciFunction;
    if (config instanceof Uint8Array) {
      if (config.length !== 256) throw new RangeError("a configuration space is 256 bytes");
      const writable = writableMask ?? makeConfig({ vendor: 0, device: 0, classCode: 0, subclass: 0 }).writable;
      f = { config: config.slice(), writable: writable.slice() };
    } else {
      f = config;
    }
    this.functions.set((bus << 8) | (device << 3) | fn, f);
    return f;
  }

  /** The function at bus:device.fn, or undefined. */
  functionAt(bus: number, device: number, fn: number): PciFunction | undefined {
    return this.functions.get((bus << 8) | (device << 3) | fn);
  }

  readPort(port: number, size: number): number {
    if (port >= PCI_CONFIG_DATA) return this.readData(port & 3, size);
    if (port === PCI_CONFIG_ADDRESS && size === 4) return this.address >>> 0;
    if (port === RESET_CONTROL_PORT && size === 1) return this.resetControl;
    return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
  }

  writePort(port: number, size: number, value: number): void {
    if (port >= PCI_CONFIG_DATA) {
      this.writeData(port & 3, size, value);
    } else if (port === PCI_CONFIG_ADDRESS && size === 4) {
      this.address = value >>> 0;
    } else if (port === RESET_CONTROL_PORT && size === 1) {
      // PIIX3 RCR: bit 1 = hard reset, bit 2 = do it (QEMU resets on bit 2).
      this.resetControl = value & 0x02;
      if (value & 0x04 && this.onReset !== null) this.onReset();
    }
  }

  /** The selected function, or undefined if disabled or absent. */
  private selected(): PciFunction | undefined {
    const a = this.address;
    if ((a & 0x80000000) === 0) return undefined;
    return this.functions.get((a >>> 8) & 0xffff);
  }

  private readData(byteInPort: number, size: number): number {
    const f = this.selected();
    if (f === undefined) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const offset = (this.address & 0xfc) + byteInPort;
    let v = 0;
    for (let i = 0; i < size; i++) v |= (offset + i < 256 ? f.config[offset + i] : 0xff) << (8 * i);
    return v >>> 0;
  }

  private writeData(byteInPort: number, size: number, value: number): void {
    const f = this.selected();
    if (f === undefined) return;
    const offset = (this.address & 0xfc) + byteInPort;
    for (let i = 0; i < size && offset + i < 256; i++) {
      const m = f.writable[offset + i];
      f.config[offset + i] = (f.config[offset + i] & ~m) | ((value >>> (8 * i)) & m);
    }
  }

  private addPcFunctions(): void {
    // Command bits as SeaBIOS leaves them: it sets I/O and memory enables on every device.
    const host = makeConfig({ vendor: 0x8086, device: 0x1237, revision: 0x02, classCode: 0x06, subclass: 0x00, command: 0x0003 });
    this.addFunction(0, 0, 0, host);

    const isa = makeConfig({
      vendor: 0x8086, device: 0x7000, classCode: 0x06, subclass: 0x01, headerType: 0x80,
      command: 0x0007, status: 0x0200, // QEMU's PIIX3 reset values: I/O, memory, bus master; medium DEVSEL
    });
    // PIRQA-D routed to IRQ 10, 10, 11, 11 (SeaBIOS's pci_irqs).
    isa.config.set([10, 10, 11, 11], 0x60);
    this.addFunction(0, 1, 0, isa);

    const ide = makeConfig({
      vendor: 0x8086, device: 0x7010, classCode: 0x01, subclass: 0x01, progIf: 0x80,
      command: 0x0003, status: 0x0280, // medium DEVSEL, fast back-to-back (QEMU piix_ide_reset)
    });
    // Bus master IDE registers: 16 bytes of I/O, placed where SeaBIOS puts the
    // first I/O BAR when no other device has one (0xC000).
    setBar(ide, { index: 4, size: 16, io: true, address: 0xc000 });
    // IDE timing registers: primary and secondary channels decoded (SeaBIOS piix_ide_setup).
    ide.config.set([0x00, 0x80, 0x00, 0x80], 0x40);
    this.addFunction(0, 1, 1, ide);

    const pm = makeConfig({
      vendor: 0x8086, device: 0x7113, revision: 0x03, classCode: 0x06, subclass: 0x80,
      interruptPin: 1, interruptLine: 9, // SCI on IRQ 9
    });
    pm.config.set([0x01, 0x06], 0x40); // PMBA: I/O base 0x600 (bit 0 reads 1: I/O space)
    pm.writable[0x40] = 0xc0; // PMBA bits 15-6 writable, bit 0 fixed
    pm.config[0x80] = 0x01; // PMREGMISC: PM I/O space enabled
    pm.config.set([0x01, 0x07], 0x90); // SMBus base 0x700
    pm.config[0xd2] = 0x09; // SMBus host enabled, SCI routing
    this.addFunction(0, 1, 3, pm);
  }
}
