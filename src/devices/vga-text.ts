// The VGA text-mode buffer at 0xB8000-0xBFFFF (mode 3: 80x25 cells of a
// character byte and an attribute byte). Stores the whole 32 KiB window,
// renders the first page as plain text or ANSI colour, and tells listeners
// which visible cells a write changed.

import type { MmioDevice } from "../machine/bus.ts";
import { CP437 } from "./cp437.ts";

export const VGA_TEXT_BASE = 0xb8000;
export const VGA_TEXT_SIZE = 0x8000;
export const COLUMNS = 80;
export const ROWS = 25;
/** Cells on the visible page. */
export const CELLS = COLUMNS * ROWS;
const VISIBLE_BYTES = CELLS * 2;
/** A blank cell: a space, light grey on black. */
const BLANK_CHAR = 0x20;
const BLANK_ATTR = 0x07;

/** Called with the inclusive range of visible cells a write changed. */
export type VgaChangeListener = (firstCell: number, lastCell: number) => void;

/** VGA colour index -> ANSI colour index. */
const VGA_TO_ANSI = [0, 4, 2, 6, 1, 5, 3, 7] as const;

export class VgaTextBuffer implements MmioDevice {
  readonly name = "vga-text";
  readonly passive = true;
  /** The 32 KiB window. Writing to it directly bypasses change listeners. */
  readonly bytes = new Uint8Array(VGA_TEXT_SIZE);
  // Replaced (never mutated) on subscribe/unsubscribe, so notification can
  // iterate it safely while listeners unsubscribe.
  private listeners: readonly VgaChangeListener[] = [];

  constructor() {
    this.fillBlank();
  }

  read(offset: number, size: number): number {
    const m = this.bytes;
    if (size === 1) return m[offset];
    if (size === 2) return m[offset] | (m[offset + 1] << 8);
    return m[offset] | (m[offset + 1] << 8) | (m[offset + 2] << 16) | (m[offset + 3] << 24);
  }

  write(offset: number, size: number, value: number): void {
    const m = this.bytes;
    if (this.listeners.length === 0) {
      m[offset] = value;
      if (size > 1) {
        m[offset + 1] = value >>> 8;
        if (size > 2) {
          m[offset + 2] = value >>> 16;
          m[offset + 3] = value >>> 24;
        }
      }
      return;
    }
    let first = -1;
    let last = -1;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = (value >>> (8 * i)) & 0xff;
      if (m[o] !== b) {
        m[o] = b;
        if (first < 0) first = o;
        last = o;
      }
    }
    if (first >= 0 && first < VISIBLE_BYTES) {
      this.notify(first >> 1, Math.min(last, VISIBLE_BYTES - 1) >> 1);
    }
  }

  /** Subscribes to visible changes; returns the unsubscribe function. */
  onChange(listener: VgaChangeListener): () => void {
    this.listeners = [...this.listeners, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners = [...this.listeners.slice(0, i), ...this.listeners.slice(i + 1)];
    };
  }

  cell(row: number, col: number): { char: number; attr: number } {
    const i = cellOffset(row, col);
    return { char: this.bytes[i], attr: this.bytes[i + 1] };
  }

  charAt(row: number, col: number): number {
    return this.bytes[cellOffset(row, col)];
  }

  attrAt(row: number, col: number): number {
    return this.bytes[cellOffset(row, col) + 1];
  }

  /** The visible page as text: trailing spaces and trailing empty lines removed. */
  toText(): string {
    const lines: string[] = [];
    for (let row = 0; row < ROWS; row++) {
      let line = "";
      for (let col = 0; col < COLUMNS; col++) line += CP437[this.bytes[(row * COLUMNS + col) * 2]];
      lines.push(line.replace(/ +$/, ""));
    }
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines.join("\n");
  }

  /** The visible page, full width, with ANSI SGR colours; each line ends with a reset. */
  toAnsi(): string {
    const lines: string[] = [];
    for (let row = 0; row < ROWS; row++) {
      let line = "";
      let prevAttr = -1;
      let prevBlink = false;
      for (let col = 0; col < COLUMNS; col++) {
        const i = (row * COLUMNS + col) * 2;
        const attr = this.bytes[i + 1];
        if (attr !== prevAttr) {
          const fg = attr & 0x0f;
          const fgCode = (fg < 8 ? 30 : 90) + VGA_TO_ANSI[fg & 7];
          const bgCode = 40 + VGA_TO_ANSI[(attr >> 4) & 7];
          const blink = (attr & 0x80) !== 0;
          line += `\x1b[${fgCode};${bgCode}${blink ? ";5" : prevBlink ? ";25" : ""}m`;
          prevAttr = attr;
          prevBlink = blink;
        }
        line += CP437[this.bytes[i]];
      }
      lines.push(line + "\x1b[0m");
    }
    return lines.join("\n");
  }

  /** Restores the power-on content (the whole window blank). */
  clear(): void {
    let changed = false;
    for (let i = 0; i < VISIBLE_BYTES; i += 2) {
      if (this.bytes[i] !== BLANK_CHAR || this.bytes[i + 1] !== BLANK_ATTR) {
        changed = true;
        break;
      }
    }
    this.fillBlank();
    if (changed) this.notify(0, CELLS - 1);
  }

  // The video BIOS blanks the whole window on a mode set, not just page 0.
  private fillBlank(): void {
    for (let i = 0; i < VGA_TEXT_SIZE; i += 2) {
      this.bytes[i] = BLANK_CHAR;
      this.bytes[i + 1] = BLANK_ATTR;
    }
  }

  private notify(firstCell: number, lastCell: number): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i](firstCell, lastCell);
  }
}

function cellOffset(row: number, col: number): number {
  if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || row >= ROWS || col < 0 || col >= COLUMNS) {
    throw new RangeError(`no cell at row ${row}, column ${col}`);
  }
  return (row * COLUMNS + col) * 2;
}
