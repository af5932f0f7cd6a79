// The 8042 PS/2 controller at ports 0x60 (data) and 0x64 (status/command),
// with the keyboard on its first port (IRQ 1) and a mouse on the auxiliary
// port (IRQ 12), as on QEMU's pc machine. QEMU's pckbd.c is the oracle.
//
// The controller holds one output byte. When it is empty it takes, in this
// order, a reply of its own, a byte from the keyboard (if that port is
// enabled, config bit 4 clear) or one from the mouse (port enabled, bit 5
// clear). Keyboard bytes pass through the set 2 -> set 1 translation when
// config bit 6 is set (0xF0 then a code becomes the code with bit 7 set), as
// on the AT board. An IRQ line is high while the output byte came from its
// port and that port's interrupt is enabled (config bits 0 and 1); reading
// port 0x60 lowers it before the next byte is loaded, so an edge-triggered
// PIC sees one rising edge per byte.
//
// There is no BIOS, so the controller starts in the state SeaBIOS leaves it
// in under QEMU: config byte 0x61 (keyboard IRQ on, mouse port disabled,
// translation on), self test passed (system flag set), A20 enabled.

import type { PortDevice } from "../machine/ports.ts";
import type { IrqLine } from "../machine/irq.ts";
import { Ps2Keyboard } from "./ps2-keyboard.ts";

export const PS2_DATA_PORT = 0x60;
export const PS2_STATUS_PORT = 0x64;

// Status register (port 0x64 read).
export const STATUS_OBF = 0x01;
export const STATUS_IBF = 0x02;
export const STATUS_SYSTEM = 0x04;
export const STATUS_COMMAND = 0x08;
export const STATUS_UNLOCKED = 0x10;
export const STATUS_AUX_OBF = 0x20;

// Configuration ("command") byte.
export const CONFIG_KBD_IRQ = 0x01;
export const CONFIG_AUX_IRQ = 0x02;
export const CONFIG_SYSTEM = 0x04;
export const CONFIG_KBD_DISABLE = 0x10;
export const CONFIG_AUX_DISABLE = 0x20;
export const CONFIG_TRANSLATE = 0x40;

/** SeaBIOS's final configuration byte: keyboard IRQ, mouse port disabled, translation. */
export const POST_BIOS_CONFIG = CONFIG_AUX_DISABLE | CONFIG_TRANSLATE | CONFIG_KBD_IRQ;

// Output port bits (commands 0xD0/0xD1).
const OUT_RESET = 0x01; // 0 = hold the CPU in reset
const OUT_A20 = 0x02;
const OUT_OBF = 0x10;
const OUT_AUX_OBF = 0x20;
/** QEMU's default output port: reset and A20 high, plus bits 2-3 and 6-7. */
const OUT_DEFAULT = 0xcf;

/**
 * The AT keyboard controller's translation of set 2 codes (index) to set 1.
 * Codes from 0x80 up are unchanged except 0x83 (F7) -> 0x41 and 0x84 (SysRq) -> 0x54.
 */
const TRANSLATION = new Uint8Array(256);
{
  const low =
    "ff 43 41 3f 3d 3b 3c 58 64 44 42 40 3e 0f 29 59 65 38 2a 70 1d 10 02 5a 66 71 2c 1f 1e 11 03 5b " +
    "67 2e 2d 20 12 05 04 5c 68 39 2f 21 14 13 06 5d 69 31 30 23 22 15 07 5e 6a 72 32 24 16 08 09 5f " +
    "6b 33 25 17 18 0b 0a 60 6c 34 35 26 27 19 0c 61 6d 73 28 74 1a 0d 62 6e 3a 36 1c 1b 75 2b 63 76 " +
    "55 56 77 78 79 7a 0e 7b 7c 4f 7d 4b 47 7e 7f 6f 52 53 50 4c 4d 48 01 45 57 4e 51 4a 37 49 46 54";
  const codes = low.split(" ");
  for (let i = 0; i < 256; i++) TRANSLATION[i] = i < 128 ? Number.parseInt(codes[i], 16) : i;
  TRANSLATION[0x83] = 0x41;
  TRANSLATION[0x84] = 0x54;
}

/** Set 2 code (or reply byte) -> what the translating controller passes on. */
export function translateToSet1(code: number): number {
  return TRANSLATION[code & 0xff];
}

/**
 * A PS/2 mouse that never moves: it answers the commands drivers send while
 * probing (reset, identify, enable, sample rate, resolution, status), so that
 * probing succeeds as with QEMU's mouse. Unknown commands get 0xFE (resend).
 */
export class Ps2Mouse {
  onOutputReady: (() => void) | null = null;
  enabled = false;
  remote = false;
  scaling21 = false;
  wrap = false;
  sampleRate = 100;
  resolution = 2;
  private pendingCommand = 0;
  private readonly out: number[] = [];

  reset(): void {
    this.enabled = this.remote = this.scaling21 = this.wrap = false;
    this.sampleRate = 100;
    this.resolution = 2;
    this.pendingCommand = 0;
    this.out.length = 0;
  }

  hasOutput(): boolean {
    return this.out.length > 0;
  }

  readOutput(): number {
    return this.out.shift() ?? 0;
  }

  write(byte: number): void {
    byte &= 0xff;
    const cmd = this.pendingCommand;
    if (cmd !== 0) {
      this.pendingCommand = 0;
      if (cmd === 0xf3) this.sampleRate = byte;
      else this.resolution = byte & 3;
      this.send(0xfa);
      return;
    }
    if (this.wrap && byte !== 0xec && byte !== 0xff) {
      this.send(byte); // wrap mode echoes
      return;
    }
    switch (byte) {
      case 0xe6: this.scaling21 = false; this.send(0xfa); return;
      case 0xe7: this.scaling21 = true; this.send(0xfa); return;
      case 0xe8: // set resolution
      case 0xf3: // set sample rate
        this.pendingCommand = byte;
        this.send(0xfa);
        return;
      case 0xe9: // status request: mode bits, resolution, sample rate
        this.send(0xfa, (this.remote ? 0x40 : 0) | (this.enabled ? 0x20 : 0) | (this.scaling21 ? 0x10 : 0), this.resolution, this.sampleRate);
        return;
      case 0xea: this.remote = false; this.send(0xfa); return;
      case 0xeb: this.send(0xfa, 0x08, 0x00, 0x00); return; // read data: no motion, no buttons
      case 0xec: this.wrap = false; this.send(0xfa); return;
      case 0xee: this.wrap = true; this.send(0xfa); return;
      case 0xf0: this.remote = true; this.send(0xfa); return;
      case 0xf2: this.send(0xfa, 0x00); return; // ID 0: standard PS/2 mouse
      case 0xf4: this.enabled = true; this.send(0xfa); return;
      case 0xf5: this.enabled = false; this.send(0xfa); return;
      case 0xf6:
        this.enabled = this.remote = this.scaling21 = false;
        this.sampleRate = 100;
        this.resolution = 2;
        this.send(0xfa);
        return;
      case 0xff:
        this.reset();
        this.send(0xfa, 0xaa, 0x00);
        return;
      default:
        this.send(0xfe);
    }
  }

  private send(...bytes: number[]): void {
    for (const b of bytes) this.out.push(b);
    if (this.onOutputReady !== null) this.onOutputReady();
  }
}

export class Ps2Controller implements PortDevice {
  readonly name = "i8042";
  readonly keyboard: Ps2Keyboard;
  readonly mouse: Ps2Mouse;
  /** Called when the guest pulses the reset line (0xFE, 0xF0-0xFE even, or output port bit 0 cleared). */
  onReset: (() => void) | null = null;
  /** Called when the output port's A20 bit changes. */
  onA20: ((enabled: boolean) => void) | null = null;

  config = POST_BIOS_CONFIG;
  outputPort = OUT_DEFAULT;
  /** Status bit 2: set by a successful self test (0xAA). */
  systemFlag = true;
  /** Status bit 3: the last write went to port 0x64. */
  lastWriteWasCommand = true;
  /** The output buffer: its byte, whether it is full, whether it came from the mouse port. */
  outputByte = 0;
  outputFull = false;
  outputFromAux = false;
  /** The output buffer holds a keyboard command reply the guest has not read. */
  private outputIsKeyboardReply = false;

  private readonly irq1: IrqLine;
  private readonly irq12: IrqLine;
  private irq1Level = false;
  private irq12Level = false;
  /** Controller command awaiting its data byte on port 0x60, or 0. */
  private pendingCommand = 0;
  /** Controller replies (value | 0x100 when they go out as mouse data). */
  private readonly replies: number[] = [];
  /** Translation saw 0xF0: the next code is a release. */
  private translateBreak = false;

  constructor(irq1: IrqLine, irq12: IrqLine, keyboard = new Ps2Keyboard(), mouse = new Ps2Mouse()) {
    this.irq1 = irq1;
    this.irq12 = irq12;
    this.keyboard = keyboard;
    this.mouse = mouse;
    keyboard.onOutputReady = () => this.fill();
    mouse.onOutputReady = () => this.fill();
  }

  /** Whether the A20 gate (output port bit 1) is open. */
  get a20Enabled(): boolean {
    return (this.outputPort & OUT_A20) !== 0;
  }

  /** Host terminal bytes to keystrokes (see Ps2Keyboard.typeBytes). */
  typeBytes(bytes: ArrayLike<number>): void {
    this.keyboard.typeBytes(bytes);
  }

  /** The status register. */
  get status(): number {
    return (
      (this.outputFull ? STATUS_OBF : 0) |
      (this.systemFlag ? STATUS_SYSTEM : 0) |
      (this.lastWriteWasCommand ? STATUS_COMMAND : 0) |
      STATUS_UNLOCKED |
      (this.outputFull && this.outputFromAux ? STATUS_AUX_OBF : 0)
    );
  }

  readPort(port: number, size: number): number {
    const v = port === PS2_DATA_PORT ? this.readData() : port === PS2_STATUS_PORT ? this.status : 0xff;
    return size === 1 ? v : size === 2 ? 0xff00 | v : (0xffffff00 | v) >>> 0;
  }

  writePort(port: number, _size: number, value: number): void {
    if (port === PS2_DATA_PORT) this.writeData(value & 0xff);
    else if (port === PS2_STATUS_PORT) this.writeCommand(value & 0xff);
  }

  private readData(): number {
    // With nothing new, the last byte is read again (QEMU does; EMM386 relies on it).
    const v = this.outputByte;
    if (this.outputFull) {
      this.outputFull = false;
      this.updateIrqs();
      this.fill();
    }
    return v;
  }

  private writeData(v: number): void {
    this.lastWriteWasCommand = false;
    const cmd = this.pendingCommand;
    this.pendingCommand = 0;
    switch (cmd) {
      case 0:
        // QEMU's 8042 takes a keyboard byte from the keyboard's queue only
        // when port 0x60 is read, and a byte sent to the keyboard discards
        // its unread command replies (ps2_cqueue_reset): a reply waiting in
        // the output buffer goes too. Dreamos64 sends F0 00 and reads two
        // bytes: ACK and the scan code set (0x41), not the first ACK twice.
        if (this.outputFull && this.outputIsKeyboardReply) {
          this.outputFull = false;
          this.outputIsKeyboardReply = false;
          this.updateIrqs();
        }
        this.keyboard.write(v);
        return;
      case 0x60:
        this.config = v;
        if ((v & CONFIG_TRANSLATE) === 0) this.translateBreak = false;
        this.updateIrqs();
        this.fill(); // a port may have been enabled
        return;
      case 0xd1:
        this.writeOutputPort(v);
        return;
      case 0xd2:
        this.reply(v, false);
        return;
      case 0xd3:
        this.reply(v, true);
        return;
      case 0xd4:
        this.mouse.write(v);
        return;
      default: // 0x61-0x7F: internal RAM writes, not kept
        return;
    }
  }

  private writeCommand(cmd: number): void {
    this.lastWriteWasCommand = true;
    this.pendingCommand = 0;
    if ((cmd & 0xf0) === 0xf0) {
      // Pulse output port bits 3-0 low where the command's bits are 0; only bit 0 (reset) matters.
      if ((cmd & 1) === 0 && this.onReset !== null) this.onReset();
      return;
    }
    switch (cmd) {
      case 0x20:
        this.reply(this.config, false);
        return;
      case 0x60:
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4:
        this.pendingCommand = cmd;
        return;
      case 0xa7:
        this.config |= CONFIG_AUX_DISABLE;
        this.updateIrqs();
        return;
      case 0xa8:
        this.config &= ~CONFIG_AUX_DISABLE;
        this.fill();
        return;
      case 0xa9: // mouse interface test: 0 = no error
        this.reply(0x00, false);
        return;
      case 0xaa: // controller self test
        this.systemFlag = true;
        this.reply(0x55, false);
        return;
      case 0xab: // keyboard interface test
        this.reply(0x00, false);
        return;
      case 0xad:
        this.config |= CONFIG_KBD_DISABLE;
        this.updateIrqs();
        return;
      case 0xae:
        this.config &= ~CONFIG_KBD_DISABLE;
        this.fill();
        return;
      case 0xc0: // input port: keyboard not inhibited
        this.reply(0x80, false);
        return;
      case 0xd0:
        this.reply(
          (this.outputPort & ~(OUT_OBF | OUT_AUX_OBF)) |
            (this.outputFull ? (this.outputFromAux ? OUT_AUX_OBF : OUT_OBF) : 0),
          false,
        );
        return;
      case 0xdd:
        this.setA20(false);
        return;
      case 0xdf:
        this.setA20(true);
        return;
      default:
        if (cmd >= 0x21 && cmd <= 0x3f) this.reply(0x00, false); // internal RAM reads
        else if (cmd >= 0x61 && cmd <= 0x7f) this.pendingCommand = cmd;
      // other commands are ignored, as QEMU does
    }
  }

  private writeOutputPort(v: number): void {
    const wasA20 = this.a20Enabled;
    this.outputPort = v;
    if (this.a20Enabled !== wasA20 && this.onA20 !== null) this.onA20(this.a20Enabled);
    if ((v & OUT_RESET) === 0 && this.onReset !== null) this.onReset();
  }

  private setA20(on: boolean): void {
    this.writeOutputPort(on ? this.outputPort | OUT_A20 : this.outputPort & ~OUT_A20);
  }

  private reply(v: number, aux: boolean): void {
    this.replies.push(aux ? v | 0x100 : v);
    this.fill();
  }

  /** Loads the output buffer if it is empty and a source has a byte. */
  private fill(): void {
    if (this.outputFull) return;
    if (this.replies.length > 0) {
      const r = this.replies.shift()!;
      this.load(r & 0xff, r > 0xff);
      return;
    }
    if ((this.config & CONFIG_KBD_DISABLE) === 0) {
      while (this.keyboard.hasOutput()) {
        const b = this.keyboard.readOutput();
        if ((this.config & CONFIG_TRANSLATE) === 0) {
          this.load(b, false);
          this.outputIsKeyboardReply = this.keyboard.lastOutputWasReply;
          return;
        }
        if (b === 0xf0) {
          this.translateBreak = true; // swallowed: the next code comes out with bit 7 set
          continue;
        }
        const t = TRANSLATION[b] | (this.translateBreak ? 0x80 : 0);
        this.translateBreak = false;
        this.load(t, false);
        this.outputIsKeyboardReply = this.keyboard.lastOutputWasReply;
        return;
      }
    }
    if ((this.config & CONFIG_AUX_DISABLE) === 0 && this.mouse.hasOutput()) {
      this.load(this.mouse.readOutput(), true);
    }
  }

  private load(v: number, aux: boolean): void {
    this.outputIsKeyboardReply = false;
    this.outputByte = v;
    this.outputFull = true;
    this.outputFromAux = aux;
    this.updateIrqs();
  }

  private updateIrqs(): void {
    const full = this.outputFull;
    const kbd = full && !this.outputFromAux && (this.config & CONFIG_KBD_IRQ) !== 0;
    const aux = full && this.outputFromAux && (this.config & CONFIG_AUX_IRQ) !== 0;
    if (kbd !== this.irq1Level) {
      this.irq1Level = kbd;
      this.irq1(kbd);
    }
    if (aux !== this.irq12Level) {
      this.irq12Level = aux;
      this.irq12(aux);
    }
  }

  /** Machine reset: controller back to its post-BIOS state; devices reset; host keys kept. */
  reset(): void {
    this.config = POST_BIOS_CONFIG;
    this.outputPort = OUT_DEFAULT;
    this.systemFlag = true;
    this.lastWriteWasCommand = true;
    this.pendingCommand = 0;
    this.replies.length = 0;
    this.translateBreak = false;
    this.outputFull = false;
    this.keyboard.reset();
    this.mouse.reset();
    this.updateIrqs();
    this.fill();
  }
}
