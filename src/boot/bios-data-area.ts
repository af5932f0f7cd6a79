// The BIOS Data Area at 0x400 and the Extended BIOS Data Area below 640 KiB,
// filled in as a PC BIOS (SeaBIOS on QEMU) leaves them before it starts a
// kernel. Kernels read them: xv6 finds the MP floating pointer through the
// EBDA segment at 0x40E or the base-memory size at 0x413 (MP spec 1.4, 4.0),
// others read the COM1 port address at 0x400 or the text mode at 0x449.

import type { PhysicalBus } from "../machine/bus.ts";

export const BDA_BASE = 0x400;
/** The EBDA: the last KiB of conventional memory, reserved in the memory map. */
export const EBDA_BASE = 0x9fc00;
export const EBDA_KIB = 1;
export const BASE_MEMORY_KIB = EBDA_BASE / 1024; // 639

export function writeBiosDataArea(bus: PhysicalBus, comPorts: readonly number[] = [0x3f8]): void {
  const w16 = (pa: number, v: number) => bus.write16(pa, v);
  for (let i = 0; i < 4; i++) w16(BDA_BASE + 2 * i, comPorts[i] ?? 0); // 0x400: COM1-4 I/O bases
  w16(0x40e, EBDA_BASE >>> 4); // EBDA segment
  // 0x410 equipment word: bit 1 math coprocessor absent (0), bits 5:4 = 10b 80x25 colour, bits 11:9 serial ports.
  w16(0x410, (2 << 4) | (Math.min(comPorts.length, 7) << 9));
  w16(0x413, BASE_MEMORY_KIB); // conventional memory in KiB below the EBDA
  bus.write8(0x449, 3); // video mode 3: 80x25 colour text
  w16(0x44a, 80); // columns
  w16(0x463, 0x3d4); // CRT controller base port
  bus.write8(0x484, 24); // rows - 1
  w16(EBDA_BASE, EBDA_KIB); // the EBDA's first word: its size in KiB
}
