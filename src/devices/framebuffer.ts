// A linear framebuffer: 32 bits per pixel, XRGB8888 (blue in the byte at
// the lowest address, then green, red and an unused byte), rows `pitch`
// bytes apart, mapped by default at 0xFD000000 where QEMU's standard VGA puts
// its linear framebuffer (PCI BAR 0). The region is the whole video memory
// (16 MiB, as QEMU's default vgamem), so a kernel may keep a back buffer past
// the visible rows. This is what a multiboot2 kernel's framebuffer tag
// describes (type 1, RGB); there is no mode setting through ports.

import type { MmioDevice } from "../machine/bus.ts";

export const LFB_BASE = 0xfd000000;
export const DEFAULT_FB_WIDTH = 1024;
export const DEFAULT_FB_HEIGHT = 768;
export const FB_BPP = 32;
/** QEMU's default VGA memory. */
export const DEFAULT_VRAM_BYTES = 16 * 1024 * 1024;
// XRGB8888 field positions and sizes, as the multiboot2 framebuffer tag gives them.
export const RED_POSITION = 16;
export const GREEN_POSITION = 8;
export const BLUE_POSITION = 0;
export const COLOR_MASK_SIZE = 8;

export class LinearFramebuffer implements MmioDevice {
  readonly name = "framebuffer";
  readonly passive = true;
  readonly width: number;
  readonly height: number;
  /** Bytes per row. */
  readonly pitch: number;
  /** Bytes of the MMIO region (the video memory), a multiple of 4 KiB. */
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly pixels: Uint32Array;
  private readonly view: DataView;
  /** Counts writes, so a screenshot or a display can tell whether anything changed. */
  writes = 0;

  constructor(width = DEFAULT_FB_WIDTH, height = DEFAULT_FB_HEIGHT, vramBytes = DEFAULT_VRAM_BYTES) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 16384 || height > 16384) {
      throw new RangeError(`framebuffer size ${width}x${height} is out of range`);
    }
    this.width = width;
    this.height = height;
    this.pitch = width * 4;
    this.size = Math.ceil(Math.max(vramBytes, this.pitch * height) / 4096) * 4096;
    const buffer = new ArrayBuffer(this.size);
    this.bytes = new Uint8Array(buffer);
    this.pixels = new Uint32Array(buffer);
    this.view = new DataView(buffer);
  }

  read(offset: number, size: number): number {
    if (size === 4) return (offset & 3) === 0 ? this.pixels[offset >>> 2] | 0 : this.view.getInt32(offset, true);
    if (size === 1) return this.bytes[offset];
    return this.view.getUint16(offset, true);
  }

  write(offset: number, size: number, value: number): void {
    this.writes++;
    if (size === 4) {
      if ((offset & 3) === 0) this.pixels[offset >>> 2] = value;
      else this.view.setInt32(offset, value | 0, true);
    } else if (size === 1) {
      this.bytes[offset] = value;
    } else {
      this.view.setUint16(offset, value & 0xffff, true);
    }
  }

  read64(offset: number, high: Int32Array): number {
    if ((offset & 3) === 0) {
      const i = offset >>> 2;
      high[0] = this.pixels[i + 1];
      return this.pixels[i] | 0;
    }
    high[0] = this.view.getInt32(offset + 4, true);
    return this.view.getInt32(offset, true);
  }

  write64(offset: number, low: number, high: number): void {
    this.writes++;
    if ((offset & 3) === 0) {
      const i = offset >>> 2;
      this.pixels[i] = low;
      this.pixels[i + 1] = high;
    } else {
      this.view.setInt32(offset, low, true);
      this.view.setInt32(offset + 4, high, true);
    }
  }

  /** The visible picture as RGBA bytes (alpha 255), row by row, for a PNG. */
  toRgba(): Uint8Array {
    const out = new Uint8Array(this.width * this.height * 4);
    const src = this.bytes;
    let o = 0;
    for (let y = 0; y < this.height; y++) {
      let i = y * this.pitch;
      for (let x = 0; x < this.width; x++, i += 4, o += 4) {
        out[o] = src[i + 2];
        out[o + 1] = src[i + 1];
        out[o + 2] = src[i];
        out[o + 3] = 255;
      }
    }
    return out;
  }
}
