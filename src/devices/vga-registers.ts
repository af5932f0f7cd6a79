// The VGA's I/O registers, holding the text-mode (mode 3) values the BIOS
// leaves: the sequencer (0x3C4/0x3C5), graphics controller (0x3CE/0x3CF),
// CRT controller (0x3D4/0x3D5: kernels move the hardware cursor through
// CR0E/CR0F and read it back), attribute controller (0x3C0/0x3C1 with its
// index/data flip-flop, reset by reading 0x3DA), miscellaneous output
// (write 0x3C2, read 0x3CC), input status 1 (0x3DA, whose retrace bits toggle
// on every read so that retrace-polling loops end) and the DAC palette
// (0x3C6-0x3C9). The graphics controller's GR06 = 0x0E maps the frame buffer at 0xB8000-0xBFFFF (memory map 3,
// odd/even chaining, text), which is the window cr3's VgaTextBuffer serves.
// The registers are stored and read back with QEMU's writable-bit masks
// (hw/display/vga.c sr_mask/gr_mask); they do not change how memory behaves.
// Wider accesses are split into byte accesses at consecutive ports, as QEMU's
// byte-wide portio does (so OUTW 0x3CE writes the index, then the data).

import type { PortDevice } from "../machine/ports.ts";

export const VGA_SEQ_INDEX = 0x3c4;
export const VGA_GFX_INDEX = 0x3ce;
export const VGA_CRTC_INDEX = 0x3d4;
export const VGA_ATTR_INDEX = 0x3c0;
export const VGA_MISC_WRITE = 0x3c2;
export const VGA_MISC_READ = 0x3cc;
export const VGA_DAC_MASK = 0x3c6;
export const VGA_DAC_READ_INDEX = 0x3c7;
export const VGA_DAC_WRITE_INDEX = 0x3c8;
export const VGA_DAC_DATA = 0x3c9;
export const VGA_INPUT_STATUS_1 = 0x3da;

/** Mode 3 CRT controller registers CR00-CR18 (the standard 80x25 text timing). */
const CRTC_MODE3 = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
/** Mode 3 attribute controller registers AR00-AR14: the EGA palette, mode control 0x0C, etc. */
const ATTR_MODE3 = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08, 0x00,
];

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
  readonly crtc = new Uint8Array(0x20);
  readonly attr = new Uint8Array(0x20);
  /** The DAC's 256 colours, 3 six-bit components each. */
  readonly dac = new Uint8Array(768);
  seqIndex = 0;
  gfxIndex = 0;
  crtcIndex = 0;
  attrIndex = 0x20; // PAS set: the screen is on
  /** The attribute controller's flip-flop: false means the next 0x3C0 write is an index. */
  attrData = false;
  misc = 0x67; // colour, 0x3Dx addresses, RAM enabled, 28 MHz clock
  inputStatus = 0;
  dacMask = 0xff;
  dacReadIndex = 0;
  dacWriteIndex = 0;
  /** Which component (0-2) of the current DAC entry comes next. */
  dacComponent = 0;
  /** The DAC state register 0x3C7: 0 after a write index, 3 after a read index. */
  dacState = 0;

  constructor() {
    this.crtc.set(CRTC_MODE3);
    this.attr.set(ATTR_MODE3);
  }

  /** The hardware cursor's offset in characters (CR0E:CR0F). */
  get cursorOffset(): number {
    return (this.crtc[0x0e] << 8) | this.crtc[0x0f];
  }

  /** Claims the VGA's ports 0x3C0-0x3CF and 0x3D4-0x3D5, 0x3DA on `ports`. */
  attach(ports: { register(first: number, count: number, device: PortDevice): void }): void {
    ports.register(VGA_ATTR_INDEX, 3, this); // 0x3C0-0x3C2
    ports.register(VGA_SEQ_INDEX, 2, this);
    ports.register(VGA_DAC_MASK, 4, this); // 0x3C6-0x3C9
    ports.register(VGA_MISC_READ, 1, this);
    ports.register(VGA_GFX_INDEX, 2, this);
    ports.register(VGA_CRTC_INDEX, 2, this);
    ports.register(VGA_INPUT_STATUS_1, 1, this);
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
      case VGA_CRTC_INDEX:
        return this.crtcIndex;
      case VGA_CRTC_INDEX + 1:
        return this.crtcIndex < 0x19 ? this.crtc[this.crtcIndex] : 0xff;
      case VGA_ATTR_INDEX:
        return this.attrIndex;
      case VGA_ATTR_INDEX + 1:
        return this.attr[this.attrIndex & 0x1f];
      case VGA_MISC_WRITE:
        return 0x10; // input status 0: switch sense, as QEMU reads it
      case VGA_MISC_READ:
        return this.misc;
      case VGA_DAC_MASK:
        return this.dacMask;
      case VGA_DAC_READ_INDEX:
        return this.dacState;
      case VGA_DAC_WRITE_INDEX:
        return this.dacWriteIndex;
      case VGA_DAC_DATA: {
        const v = this.dac[this.dacReadIndex * 3 + this.dacComponent];
        if (++this.dacComponent === 3) {
          this.dacComponent = 0;
          this.dacReadIndex = (this.dacReadIndex + 1) & 0xff;
        }
        return v;
      }
      case VGA_INPUT_STATUS_1:
        // Reading resets the attribute flip-flop; display-enable and vertical-retrace toggle.
        this.attrData = false;
        this.inputStatus ^= 0x09;
        return this.inputStatus;
      default:
        return 0xff; // a split wide access running past the registers
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
      case VGA_CRTC_INDEX:
        this.crtcIndex = v;
        break;
      case VGA_CRTC_INDEX + 1:
        // CR11 bit 7 protects CR00-CR07 (except CR07 bit 4).
        if (this.crtcIndex >= 0x19) break;
        if (this.crtcIndex <= 7 && (this.crtc[0x11] & 0x80) !== 0) {
          if (this.crtcIndex === 7) this.crtc[7] = (this.crtc[7] & ~0x10) | (v & 0x10);
          break;
        }
        this.crtc[this.crtcIndex] = v;
        break;
      case VGA_ATTR_INDEX:
        if (!this.attrData) this.attrIndex = v & 0x3f;
        else if ((this.attrIndex & 0x1f) < 0x15) this.attr[this.attrIndex & 0x1f] = v;
        this.attrData = !this.attrData;
        break;
      case VGA_MISC_WRITE:
        this.misc = v & 0xef;
        break;
      case VGA_DAC_MASK:
        this.dacMask = v;
        break;
      case VGA_DAC_READ_INDEX:
        this.dacReadIndex = v;
        this.dacComponent = 0;
        this.dacState = 3;
        break;
      case VGA_DAC_WRITE_INDEX:
        this.dacWriteIndex = v;
        this.dacComponent = 0;
        this.dacState = 0;
        break;
      case VGA_DAC_DATA:
        this.dac[this.dacWriteIndex * 3 + this.dacComponent] = v & 0x3f;
        if (++this.dacComponent === 3) {
          this.dacComponent = 0;
          this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff;
        }
        break;
    }
  }
}
