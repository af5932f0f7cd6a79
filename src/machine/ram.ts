// Guest RAM: one ArrayBuffer and typed-array views over it. Offsets here are
// RAM offsets, not guest-physical addresses; the bus maps one to the other.
// 32-bit values come back as signed int32 (`| 0`), which V8 keeps unboxed;
// 64-bit values are two 32-bit halves, the high half left in `high`.

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

/** Largest RAM cr3 accepts: RAM offsets must fit in 32 bits. */
export const MAX_RAM_BYTES = 4 * GIB - 64 * 1024 * 1024;

export class GuestRam {
  readonly size: number;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly view: DataView;
  /** High half of the last read64. */
  high = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0 || size % 4096 !== 0) {
      throw new RangeError(`RAM size must be a positive multiple of 4 KiB, got ${size}`);
    }
    if (size > MAX_RAM_BYTES) {
      throw new RangeError(`RAM size ${size} exceeds the maximum of ${MAX_RAM_BYTES} bytes`);
    }
    this.size = size;
    this.buffer = new ArrayBuffer(size);
    this.u8 = new Uint8Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  read8(offset: number): number {
    return this.u8[offset];
  }

  read16(offset: number): number {
    return this.view.getUint16(offset, true);
  }

  read32(offset: number): number {
    return (offset & 3) === 0 ? this.i32[offset >>> 2] : this.view.getInt32(offset, true);
  }

  /** Returns the low half; the high half is left in `this.high`. */
  read64(offset: number): number {
    if ((offset & 3) === 0) {
      const index = offset >>> 2;
      this.high = this.i32[index + 1];
      return this.i32[index];
    }
    this.high = this.view.getInt32(offset + 4, true);
    return this.view.getInt32(offset, true);
  }

  write8(offset: number, value: number): void {
    this.u8[offset] = value;
  }

  write16(offset: number, value: number): void {
    this.view.setUint16(offset, value & 0xffff, true);
  }

  write32(offset: number, value: number): void {
    if ((offset & 3) === 0) this.i32[offset >>> 2] = value;
    else this.view.setInt32(offset, value | 0, true);
  }

  write64(offset: number, low: number, high: number): void {
    if ((offset & 3) === 0) {
      const index = offset >>> 2;
      this.i32[index] = low;
      this.i32[index + 1] = high;
    } else {
      this.view.setInt32(offset, low | 0, true);
      this.view.setInt32(offset + 4, high | 0, true);
    }
  }
}
