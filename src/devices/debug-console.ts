// QEMU's ISA debug console (`-debugcon stdio`, isa-debugcon) at port 0xE9:
// each byte written goes to the host; a read returns the "readback" value,
// 0xE9 by default, which is how a guest can tell the port is there (Bochs's
// port E9 hack). The device is byte-wide, so a 2- or 4-byte OUT sends its
// bytes low first, and a wide IN returns 0xE9 in every byte.

import type { PortDevice } from "../machine/ports.ts";

export const DEBUG_CONSOLE_PORT = 0xe9;
export const DEBUG_CONSOLE_READBACK = 0xe9;

export class DebugConsole implements PortDevice {
  readonly name = "isa-debugcon";
  /** Called with each byte the guest writes. */
  onOutput: ((byte: number) => void) | null = null;
  readonly readback: number;

  constructor(readback = DEBUG_CONSOLE_READBACK) {
    this.readback = readback & 0xff;
  }

  readPort(_port: number, size: number): number {
    const r = this.readback;
    return size === 1 ? r : size === 2 ? r * 0x101 : (r * 0x01010101) >>> 0;
  }

  writePort(_port: number, size: number, value: number): void {
    if (this.onOutput === null) return;
    for (let i = 0; i < size; i++) this.onOutput((value >>> (8 * i)) & 0xff);
  }
}
