// The primary IDE channel's registers (ATA/ATAPI-6 7.1) and the register
// writes that address a transfer, shared by the ATA tests.

import type { PortBus } from "../../src/machine/ports.ts";

export const DATA = 0x1f0;
export const ERROR = 0x1f1;
export const FEATURES = 0x1f1;
export const COUNT = 0x1f2;
export const LBA_LOW = 0x1f3;
export const LBA_MID = 0x1f4;
export const LBA_HIGH = 0x1f5;
export const DEVICE = 0x1f6;
export const STATUS = 0x1f7;
export const COMMAND = 0x1f7;
export const ALT_STATUS = 0x3f6;
export const CONTROL = 0x3f6;

const outb = (bus: PortBus, port: number, v: number): void => bus.write(port, 1, v);

/** Device (LBA mode, address bits 24-27), count and the low 24 address bits. */
export function lba28({ bus }: { bus: PortBus }, lba: number, count: number, device = 0xe0): void {
  outb(bus, DEVICE, device | ((lba >>> 24) & 0x0f));
  outb(bus, COUNT, count);
  outb(bus, LBA_LOW, lba & 0xff);
  outb(bus, LBA_MID, (lba >>> 8) & 0xff);
  outb(bus, LBA_HIGH, (lba >>> 16) & 0xff);
}

/** Both bytes of each 48-bit register: the previous (high) value first. */
export function lba48({ bus }: { bus: PortBus }, lba: number, count: number): void {
  outb(bus, DEVICE, 0x40);
  outb(bus, COUNT, (count >>> 8) & 0xff);
  outb(bus, COUNT, count & 0xff);
  const high = Math.floor(lba / 0x1000000);
  outb(bus, LBA_LOW, high & 0xff);
  outb(bus, LBA_LOW, lba & 0xff);
  outb(bus, LBA_MID, (high >>> 8) & 0xff);
  outb(bus, LBA_MID, (lba >>> 8) & 0xff);
  outb(bus, LBA_HIGH, (high >>> 16) & 0xff);
  outb(bus, LBA_HIGH, (lba >>> 16) & 0xff);
}
