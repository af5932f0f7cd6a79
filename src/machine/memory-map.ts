// Where guest RAM appears in the physical address space of a PC, as QEMU's
// i440fx machine lays it out: conventional memory below 640 KiB, the legacy
// VGA window at 0xA0000-0xBFFFF (MMIO, the RAM beneath it unreachable), the
// ROM area 0xC0000-0xFFFFF backed by RAM, extended memory from 1 MiB, and
// what does not fit below the PCI hole (3 GiB up) relocated above 4 GiB.

import type { RamRange } from "./bus.ts";

export const VGA_WINDOW_BASE = 0xa0000;
export const VGA_WINDOW_END = 0xc0000;
/** Start of the PCI/MMIO hole when RAM does not fit below it. */
export const LOW_RAM_LIMIT_LARGE = 0xc0000000;
/** RAM up to this size fits entirely below 4 GiB. */
export const LOW_RAM_LIMIT = 0xe0000000;
export const HIGH_RAM_BASE = 2 ** 32;

export function pcRamRanges(ramBytes: number): RamRange[] {
  const lowEnd = ramBytes <= LOW_RAM_LIMIT ? ramBytes : LOW_RAM_LIMIT_LARGE;
  const ranges: RamRange[] = [];
  ranges.push({ base: 0, size: Math.min(lowEnd, VGA_WINDOW_BASE), ramOffset: 0 });
  if (lowEnd > VGA_WINDOW_END) {
    ranges.push({ base: VGA_WINDOW_END, size: lowEnd - VGA_WINDOW_END, ramOffset: VGA_WINDOW_END });
  }
  if (ramBytes > lowEnd) {
    ranges.push({ base: HIGH_RAM_BASE, size: ramBytes - lowEnd, ramOffset: lowEnd });
  }
  return ranges;
}
