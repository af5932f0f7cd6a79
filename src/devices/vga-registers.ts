// The VGA sequencer (0x3C4/0x3C5) and graphics controller (0x3CE/0x3CF)
// index/data register pairs, holding the text-mode (mode 3) values the BIOS
// leaves: GR06 = 0x0E maps the frame buffer at 0xB8000-0xBFFFF (memory map 3,
// odd/even chaining, text), which is the window cr3's VgaTextBuffer serves.
// The registers are stored and read back with QEMU's writable-bit masks
// (hw/display/vga.c sr_mask/gr_mask); they do not change how memory behaves.
// Wider accesses are split into byte accesses at consecutive ports, as QEMU's
// byte-wide portio does (so OUTW 0x3CE writes the index, then the data).

import type { PortDevice } from "../machine/ports.ts";

export const VGA_SEQ_INDEX = 0x3c4;
export const VGA_GFX_INDEX = 0x3ce;

/** Mode 3 sequencer registers SR00-SR04. */
const SEQ_MODE3 = [0x03, 0x00, 0x03, 0x00, 0x02, 0, 0, 0];
const SEQ_MASK = [0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff];
/** Mode 3 graphics controller registers GR00-GR08. */
const GFX_MODE3 = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff, 0, 0, 0, 0, 0, 0, 0];
const GFX_MASK = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0];

export class VgaRegisters implements PortDevice {
  readonly name = "vga-registers";
  readonly seq = Uint8Array.from(SEQ_MODE3);
  readonly gfx = Uint8Array.from(GFX_MODE3);
  seqIndex = 0;
  gfxIndex = 0;

  /** Claims 0x3C4-0x3C5 and 0x3CE-0x3CF on `ports`. */
  attach(ports: { register(first: number, count: number, device: PortDevice): void }): void {
    ports.register(VGA_SEQ_INDEX, 2, this);
    ports.register(VGA_GFX_INDEX, 2, this);
  }

  readPort(port: number, size: number): number {
    let v = 0;
    for (let k = size - 1; k >= 0; k--) v = (v << 8) | this.readByte(port + k);
    return v >>> 0;
  }

  writePort(port: number, size: number, value: number): void {
    for (let k = 0; k < size; k++) this.writeByte(port + k, (value >>> (8 * k)) & 0xff);
  }

  private readByte(port: number): number {
    switch (port) {
      case VGA_SEQ_INDEX:
        return this.seqIndex;
      case VGA_SEQ_INDEX + 1:
        return this.seq[this.seqIndex];
      case VGA_GFX_INDEX:
        return this.gfxIndex;
      case VGA_GFX_INDEX + 1:
        return this.gfx[this.gfxIndex];
      default:
        return 0xff; // a split wide access running past the pair
    }
  }

  private writeByte(port: number, v: number): void {
    switch (port) {
      case VGA_SEQ_INDEX:
        this.seqIndex = v & 7;
        break;
      case VGA_SEQ_INDEX + 1:
        this.seq[this.seqIndex] = v & SEQ_MASK[this.seqIndex];
        break;
      case VGA_GFX_INDEX:
        this.gfxIndex = v & 0xf;
        break;
      case VGA_GFX_INDEX + 1:
        this.gfx[this.gfxIndex] = v & GFX_MASK[this.gfxIndex];
        break;
    }
  }
}
