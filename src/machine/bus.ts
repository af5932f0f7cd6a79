// The physical address map: RAM ranges, MMIO regions and the holes between.
// Guest-physical addresses are plain numbers (exact up to 2^53, enough for
// MAXPHYADDR 52). Reads of nothing return all ones and writes to nothing are
// dropped, as on a PC, and both are counted.
//
// The MMU does not come here on a TLB hit to RAM: it indexes GuestRam with the
// RAM offset cached in the TLB entry. The bus serves page walks, MMIO pages
// and the TLB-fill question "is this frame plain RAM, and where?".

import { GuestRam } from "./ram.ts";

export interface MmioDevice {
  readonly name: string;
  /** Reads 1, 2 or 4 bytes at `offset` from the region's base (unsigned for 1 and 2). */
  read(offset: number, size: number): number;
  /** Writes 1, 2 or 4 bytes at `offset` from the region's base. */
  write(offset: number, size: number, value: number): void;
  /**
   * 8-byte accesses. A device without these sees an 8-byte access as two
   * 4-byte accesses, low half first. `read64` returns the low half and puts
   * the high half in `high[0]`.
   */
  read64?(offset: number, high: Int32Array): number;
  write64?(offset: number, low: number, high: number): void;
  /**
   * Memory-like: its accesses never raise an interrupt, read the clock or
   * stop the run (the VGA text buffer, a framebuffer), so compiled code need
   * not end its region after one (Mmu.sideEffect).
   */
  readonly passive?: boolean;
}

export interface RamRange {
  /** Guest-physical base address (4 KiB aligned). */
  readonly base: number;
  readonly size: number;
  /** Where the range starts in GuestRam. */
  readonly ramOffset: number;
}

interface MmioRegion {
  readonly base: number;
  readonly end: number;
  readonly device: MmioDevice;
}

const PAGE_SHIFT = 12;
const PAGE_SIZE = 4096;
const LOW_FRAMES = 1 << 20; // frames below 4 GiB get a direct lookup table
/** lowFrameOffset value for frames that hold MMIO or nothing. */
const NOT_RAM = -1;

export class PhysicalBus {
  readonly ram: GuestRam;
  readonly ranges: readonly RamRange[];
  private readonly regions: MmioRegion[] = [];
  /**
   * For each 4 KiB frame below 4 GiB: its page number in GuestRam if the
   * whole frame is plain RAM, else -1. The page walker reads entries through
   * it without going through the bus.
   */
  readonly lowRamPage = new Int32Array(LOW_FRAMES).fill(NOT_RAM);
  /**
   * A span of plain RAM whose guest-physical address equals its RAM offset
   * (on a PC, extended memory from 1 MiB): [identityBase, identityBase +
   * identitySpan). The walker and TLB fills test it before lowRamPage, whose
   * 4 MiB would otherwise cost a cache miss per lookup. Shrinks when MMIO is
   * mapped over it.
   */
  identityBase = 0;
  identitySpan = 0;
  private readonly highOut = new Int32Array(1);

  /** High half of the last read64. */
  high = 0;
  openBusReads = 0;
  openBusWrites = 0;
  mmioReads = 0;
  /** A device that is not passive was accessed since the MMU last looked (MmioDevice.passive). */
  deviceAccessed = false;
  mmioWrites = 0;

  constructor(ram: GuestRam, ranges: readonly RamRange[]) {
    this.ram = ram;
    this.ranges = ranges;
    for (const r of ranges) {
      if (r.base % PAGE_SIZE !== 0 || r.size % PAGE_SIZE !== 0 || r.ramOffset % PAGE_SIZE !== 0) {
        throw new RangeError(`RAM range at ${hex(r.base)} is not page aligned`);
      }
      if (r.ramOffset + r.size > ram.size) {
        throw new RangeError(`RAM range at ${hex(r.base)} extends past the end of guest RAM`);
      }
      for (let pa = r.base; pa < r.base + r.size && pa < 2 ** 32; pa += PAGE_SIZE) {
        this.lowRamPage[pa >>> PAGE_SHIFT] = (r.ramOffset + (pa - r.base)) >>> PAGE_SHIFT;
      }
      if (r.base === r.ramOffset && r.base + r.size <= 2 ** 32 && r.size > this.identitySpan) {
        this.identityBase = r.base;
        this.identitySpan = r.size;
      }
    }
  }

  /** Places a device at [base, base + size). MMIO takes precedence over RAM beneath it. */
  mapMmio(base: number, size: number, device: MmioDevice): void {
    const end = base + size;
    for (const r of this.regions) {
      if (base < r.end && r.base < end) {
        throw new RangeError(`MMIO region ${device.name} at ${hex(base)} overlaps ${r.device.name}`);
      }
    }
    this.regions.push({ base, end, device });
    this.regions.sort((a, b) => a.base - b.base);
    const identityEnd = this.identityBase + this.identitySpan;
    if (base < identityEnd && this.identityBase < end) {
      // Keep the larger side of the identity span that the region leaves.
      const below = Math.max(0, Math.floor(base / PAGE_SIZE) * PAGE_SIZE - this.identityBase);
      const aboveStart = Math.ceil(end / PAGE_SIZE) * PAGE_SIZE;
      const above = Math.max(0, identityEnd - aboveStart);
      if (above > below) {
        this.identityBase = aboveStart;
        this.identitySpan = above;
      } else {
        this.identitySpan = below;
      }
    }
    for (let frame = Math.floor(base / PAGE_SIZE); frame * PAGE_SIZE < end && frame < LOW_FRAMES; frame++) {
      this.lowRamPage[frame] = NOT_RAM;
    }
  }

  /**
   * The RAM offset of the 4 KiB frame holding `pa`, if the whole frame is plain
   * RAM; -1 if any of it is MMIO or unbacked (accesses must then come to the bus).
   */
  frameRamOffset(pa: number): number {
    if (pa - this.identityBase < this.identitySpan && pa >= this.identityBase) return pa - (pa % PAGE_SIZE);
    if (pa < 2 ** 32) {
      const page = this.lowRamPage[pa >>> PAGE_SHIFT];
      return page === NOT_RAM ? -1 : page * PAGE_SIZE;
    }
    const frame = pa - (pa % PAGE_SIZE);
    for (const r of this.regions) if (frame < r.end && r.base < frame + PAGE_SIZE) return -1;
    return this.ramOffsetOf(frame);
  }

  /** The RAM offset of byte `pa` if it is RAM not covered by MMIO, else -1. */
  ramOffsetOf(pa: number): number {
    if (pa < 2 ** 32) {
      const page = this.lowRamPage[pa >>> PAGE_SHIFT];
      if (page !== NOT_RAM) return page * PAGE_SIZE + (pa & 0xfff);
    }
    if (this.regionAt(pa) !== null) return -1;
    for (const r of this.ranges) {
      if (pa >= r.base && pa < r.base + r.size) return r.ramOffset + (pa - r.base);
    }
    return -1;
  }

  /** A one-line description of what lives at `pa`, for explanations. */
  describe(pa: number): string {
    const region = this.regionAt(pa);
    if (region !== null) return `MMIO ${region.device.name} (+${hex(pa - region.base)})`;
    if (this.ramOffsetOf(pa) >= 0) return "RAM";
    return "nothing (open bus)";
  }

  private regionAt(pa: number): MmioRegion | null {
    for (const r of this.regions) if (pa >= r.base && pa < r.end) return r;
    return null;
  }

  // --- Accesses -----------------------------------------------------------

  read8(pa: number): number {
    const off = this.ramOffsetOf(pa);
    if (off >= 0) return this.ram.u8[off];
    return this.slowRead(pa, 1);
  }

  read16(pa: number): number {
    if ((pa & 0xfff) <= 0xffe) {
      const off = this.ramOffsetOf(pa);
      if (off >= 0) return this.ram.read16(off);
      return this.slowRead(pa, 2);
    }
    return this.read8(pa) | (this.read8(pa + 1) << 8);
  }

  read32(pa: number): number {
    if ((pa & 0xfff) <= 0xffc) {
      const off = this.ramOffsetOf(pa);
      if (off >= 0) return this.ram.read32(off);
      return this.slowRead(pa, 4);
    }
    return this.readBytes(pa, 4);
  }

  /** Returns the low half; the high half is left in `this.high`. */
  read64(pa: number): number {
    if ((pa & 0xfff) <= 0xff8) {
      const off = this.ramOffsetOf(pa);
      if (off >= 0) {
        const low = this.ram.read64(off);
        this.high = this.ram.high;
        return low;
      }
      const region = this.regionAt(pa);
      if (region !== null && region.device.read64 !== undefined && pa + 8 <= region.end) {
        this.mmioReads++;
        if (region.device.passive !== true) this.deviceAccessed = true;
        const low = region.device.read64(pa - region.base, this.highOut);
        this.high = this.highOut[0];
        return low;
      }
    }
    const low = this.read32(pa);
    this.high = this.read32(pa + 4);
    return low;
  }

  write8(pa: number, value: number): void {
    const off = this.ramOffsetOf(pa);
    if (off >= 0) this.ram.u8[off] = value;
    else this.slowWrite(pa, 1, value & 0xff);
  }

  write16(pa: number, value: number): void {
    if ((pa & 0xfff) <= 0xffe) {
      const off = this.ramOffsetOf(pa);
      if (off >= 0) this.ram.write16(off, value);
      else this.slowWrite(pa, 2, value & 0xffff);
      return;
    }
    this.write8(pa, value);
    this.write8(pa + 1, value >>> 8);
  }

  write32(pa: number, value: number): void {
    if ((pa & 0xfff) <= 0xffc) {
      const off = this.ramOffsetOf(pa);
      if (off >= 0) this.ram.write32(off, value);
      else this.slowWrite(pa, 4, value | 0);
      return;
    }
    for (let i = 0; i < 4; i++) this.write8(pa + i, value >>> (8 * i));
  }

  write64(pa: number, low: number, high: number): void {
    if ((pa & 0xfff) <= 0xff8) {
      const off = this.ramOffsetOf(pa);
      if (off >= 0) {
        this.ram.write64(off, low, high);
        return;
      }
      const region = this.regionAt(pa);
      if (region !== null && region.device.write64 !== undefined && pa + 8 <= region.end) {
        this.mmioWrites++;
        if (region.device.passive !== true) this.deviceAccessed = true;
        region.device.write64(pa - region.base, low | 0, high | 0);
        return;
      }
    }
    this.write32(pa, low);
    this.write32(pa + 4, high);
  }

  /** An access of `size` bytes that lies within one page and is not plain RAM. */
  private slowRead(pa: number, size: number): number {
    const region = this.regionAt(pa);
    if (region !== null) {
      if (pa + size > region.end) return this.readBytes(pa, size);
      this.mmioReads++;
      if (region.device.passive !== true) this.deviceAccessed = true;
      const value = region.device.read(pa - region.base, size);
      return size === 4 ? value | 0 : value & (size === 1 ? 0xff : 0xffff);
    }
    if (size > 1 && this.ramOffsetOf(pa + size - 1) >= 0) return this.readBytes(pa, size);
    this.openBusReads++;
    return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
  }

  private slowWrite(pa: number, size: number, value: number): void {
    const region = this.regionAt(pa);
    if (region !== null) {
      if (pa + size > region.end) {
        for (let i = 0; i < size; i++) this.write8(pa + i, value >>> (8 * i));
        return;
      }
      this.mmioWrites++;
      if (region.device.passive !== true) this.deviceAccessed = true;
      region.device.write(pa - region.base, size, value);
      return;
    }
    if (size > 1 && this.ramOffsetOf(pa + size - 1) >= 0) {
      for (let i = 0; i < size; i++) this.write8(pa + i, value >>> (8 * i));
      return;
    }
    this.openBusWrites++;
  }

  private readBytes(pa: number, size: number): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.read8(pa + i) << (8 * i);
    return size === 4 ? value | 0 : value;
  }
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}
