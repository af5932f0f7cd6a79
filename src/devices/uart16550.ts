// A 16550A UART (COM1 at 0x3F8 by default), modelled on QEMU's serial device,
// which is the oracle (test-roms/golden/mmio.txt).
//
// Timing is not modelled: a byte written to THR is transmitted at once (THRE
// and TEMT are set again before the write returns, as QEMU does), and the
// receive FIFO's character timeout fires as soon as the FIFO holds fewer
// bytes than the trigger level.
//
// Input works as in QEMU: the host side queues bytes without limit and feeds
// them to the receiver only as it has room (the 16-byte FIFO, or the single
// RBR when FIFOs are off), refilling as the guest reads RBR. Host input thus
// never overruns; OE is set only by loopback bytes arriving at a full
// receiver. Host input is held back while loopback is on.
//
// The interrupt line (IRQ4 on a PC) is the IIR's "interrupt pending" gated by
// MCR.OUT2, as on a PC board, unless `out2GatesInterrupt` is false: QEMU does
// not gate it, and kernels written against QEMU (xv6 leaves MCR = 0) need that.

import type { PortDevice } from "../machine/ports.ts";

export const COM1_BASE = 0x3f8;
export const UART_PORTS = 8;

// Register bits (literals in the hot path; these are for readers and tests).
export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;
export const IIR_NO_INT = 0x01;
export const IIR_THRI = 0x02;
export const IIR_RDI = 0x04;
export const IIR_RLSI = 0x06;
export const IIR_CTI = 0x0c;

const FIFO_SIZE = 16;

/** A growable byte ring for host input (allocates only when it grows). */
class Uint8Queue {
  buf = new Uint8Array(64);
  head = 0;
  count = 0;

  push(b: number): void {
    if (this.count === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      for (let i = 0; i < this.count; i++) bigger[i] = this.buf[(this.head + i) % this.buf.length];
      this.buf = bigger;
      this.head = 0;
    }
    this.buf[(this.head + this.count) % this.buf.length] = b;
    this.count++;
  }

  shift(): number {
    const b = this.buf[this.head];
    this.head = (this.head + 1) % this.buf.length;
    this.count--;
    return b;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}

export class Uart16550 implements PortDevice {
  readonly name: string;
  readonly base: number;

  /** Called with each byte transmitted in normal (not loopback) mode. */
  onOutput: ((byte: number) => void) | null;
  /** Called when the interrupt line changes level. */
  onInterrupt: ((level: boolean) => void) | null;
  /** MCR.OUT2 gates the interrupt line, as on a PC board; false: QEMU's ungated line. */
  out2GatesInterrupt = true;

  rbr = 0;
  ier = 0;
  iir = 0x01;
  lcr = 0;
  mcr = 0x08;
  lsr = 0x60;
  msr = 0xb0;
  scr = 0;
  fcr = 0;
  /** Divisor latch (DLM:DLL). */
  divisor = 0x0c;
  /** Receive FIFO trigger level (1, 4, 8 or 14). */
  triggerLevel = 1;
  /** THR-empty interrupt latched (cleared by an IIR read that reports it, or a THR write). */
  thrPending = false;
  /** Character timeout latched (FIFO mode). */
  timeoutPending = false;
  /** Current level of the interrupt line. */
  irqLevel = false;

  // Receive FIFO ring (16 bytes).
  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  rxCount = 0;
  /** Bytes from the host not yet taken by the receiver. */
  private readonly hostQueue = new Uint8Queue();

  constructor(base = COM1_BASE, name = "uart16550") {
    this.base = base;
    this.name = name;
    this.onOutput = null;
    this.onInterrupt = null;
  }

  /** Back to power-on state (QEMU's serial_reset); the host queue is kept. */
  reset(): void {
    this.rbr = 0;
    this.ier = 0;
    this.iir = 0x01;
    this.lcr = 0;
    this.mcr = 0x08;
    this.lsr = 0x60;
    this.msr = 0xb0;
    this.scr = 0;
    this.fcr = 0;
    this.divisor = 0x0c;
    this.triggerLevel = 1;
    this.thrPending = false;
    this.timeoutPending = false;
    this.rxHead = 0;
    this.rxCount = 0;
    this.updateIrq();
    this.pump();
  }

  /** Host bytes waiting for room in the receiver. */
  get pendingInput(): number {
    return this.hostQueue.count;
  }

  /** Queues bytes arriving on the serial line from the host. */
  receive(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.hostQueue.push(bytes[i] & 0xff);
    this.pump();
  }

  readPort(port: number, size: number): number {
    const off = port - this.base;
    if (size === 1) return this.readReg(off);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = off + i;
      v |= (o < 8 ? this.readReg(o) : 0xff) << (8 * i);
    }
    return v >>> 0;
  }

  writePort(port: number, size: number, value: number): void {
    const off = port - this.base;
    if (size === 1) {
      this.writeReg(off, value & 0xff);
      return;
    }
    for (let i = 0; i < size; i++) {
      const o = off + i;
      if (o < 8) this.writeReg(o, (value >>> (8 * i)) & 0xff);
    }
  }

  /** Reads register `off` (0-7). */
  readReg(off: number): number {
    switch (off) {
      case 0:
        if (this.lcr & 0x80) return this.divisor & 0xff;
        return this.readRbr();
      case 1:
        if (this.lcr & 0x80) return (this.divisor >>> 8) & 0xff;
        return this.ier;
      case 2: {
        const v = this.iir;
        if ((v & 0x0f) === 0x02) {
          this.thrPending = false;
          this.updateIrq();
        }
        return v;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = this.lsr;
        if (v & 0x12) {
          // Reading LSR clears break and overrun.
          this.lsr = v & ~0x12;
          this.updateIrq();
        }
        return v;
      }
      case 6:
        if (this.mcr & 0x10) {
          // Loopback: OUT2 OUT1 RTS DTR -> DCD RI CTS DSR.
          const m = this.mcr;
          return ((m & 0x0c) << 4) | ((m & 0x02) << 3) | ((m & 0x01) << 5);
        } else {
          const v = this.msr;
          if (v & 0x0f) {
            this.msr = v & 0xf0;
            this.updateIrq();
          }
          return v;
        }
      case 7:
        return this.scr;
      default:
        return 0xff;
    }
  }

  /** Writes register `off` (0-7) with a byte. */
  writeReg(off: number, v: number): void {
    switch (off) {
      case 0:
        if (this.lcr & 0x80) this.divisor = (this.divisor & 0xff00) | v;
        else this.transmit(v);
        return;
      case 1:
        if (this.lcr & 0x80) {
          this.divisor = (this.divisor & 0x00ff) | (v << 8);
        } else {
          const changed = (this.ier ^ v) & 0x0f;
          this.ier = v & 0x0f;
          // Enabling THRI with THR empty raises THRE again (QEMU, Bochs).
          if (changed & 0x02) this.thrPending = (this.ier & 0x02) !== 0 && (this.lsr & 0x20) !== 0;
          if (changed) this.updateIrq();
        }
        return;
      case 2:
        this.writeFcr(v);
        return;
      case 3:
        this.lcr = v;
        return;
      case 4: {
        const wasLoop = this.mcr & 0x10;
        this.mcr = v & 0x1f;
        this.updateIrq(); // OUT2 gates the line
        if (wasLoop && !(v & 0x10)) this.pump();
        return;
      }
      case 7:
        this.scr = v;
        return;
      default:
        return; // LSR and MSR are read-only
    }
  }

  private readRbr(): number {
    let v: number;
    if (this.fcr & 0x01) {
      if (this.rxCount === 0) {
        v = 0;
      } else {
        v = this.rx[this.rxHead];
        this.rxHead = (this.rxHead + 1) & 15;
        this.rxCount--;
      }
      if (this.rxCount === 0) this.lsr &= ~0x11;
    } else {
      v = this.rbr;
      this.lsr &= ~0x11;
    }
    this.pump();
    this.timeoutPending = (this.fcr & 0x01) !== 0 && this.rxCount > 0 && this.rxCount < this.triggerLevel;
    this.updateIrq();
    return v;
  }

  private transmit(v: number): void {
    this.lsr &= ~0x60;
    this.thrPending = false;
    this.updateIrq();
    // The byte moves to the shift register and out at once.
    this.lsr |= 0x20;
    this.thrPending = true;
    this.updateIrq();
    if (this.mcr & 0x10) this.receiveByte(v);
    else if (this.onOutput !== null) this.onOutput(v);
    this.lsr |= 0x40;
  }

  private writeFcr(v: number): void {
    // Toggling FIFO enable clears both FIFOs.
    if ((v ^ this.fcr) & 0x01) v |= 0x06;
    if (v & 0x02) {
      this.lsr &= ~0x11;
      this.timeoutPending = false;
      this.rxHead = 0;
      this.rxCount = 0;
    }
    if (v & 0x04) {
      this.lsr |= 0x20;
      this.thrPending = true;
    }
    this.fcr = v & 0xc9;
    if (v & 0x01) {
      this.iir |= 0xc0;
      const t = v & 0xc0;
      this.triggerLevel = t === 0x00 ? 1 : t === 0x40 ? 4 : t === 0x80 ? 8 : 14;
    } else {
      this.iir &= ~0xc0;
    }
    this.pump();
    this.updateIrq();
  }

  /** One byte reaches the receiver (from the host or from loopback). */
  private receiveByte(b: number): void {
    if (this.fcr & 0x01) {
      if (this.rxCount < FIFO_SIZE) {
        this.rx[(this.rxHead + this.rxCount) & 15] = b;
        this.rxCount++;
      } else {
        this.lsr |= 0x02; // overrun: the FIFO keeps its contents
      }
      this.lsr |= 0x01;
      this.timeoutPending = this.rxCount < this.triggerLevel;
    } else {
      if (this.lsr & 0x01) this.lsr |= 0x02;
      this.rbr = b;
      this.lsr |= 0x01;
    }
    this.updateIrq();
  }

  /** Moves host bytes into the receiver while it has room. */
  private pump(): void {
    const q = this.hostQueue;
    if (q.count === 0 || this.mcr & 0x10) return;
    if (this.fcr & 0x01) {
      while (q.count > 0 && this.rxCount < FIFO_SIZE) this.receiveByte(q.shift());
    } else if (!(this.lsr & 0x01)) {
      this.receiveByte(q.shift());
    }
  }

  /** Recomputes IIR with the 16550's priorities and drives the line. */
  private updateIrq(): void {
    const ier = this.ier;
    const lsr = this.lsr;
    let id = 0x01;
    if (ier & 0x04 && lsr & 0x1e) id = 0x06;
    else if (ier & 0x01 && this.timeoutPending) id = 0x0c;
    else if (ier & 0x01 && lsr & 0x01 && (!(this.fcr & 0x01) || this.rxCount >= this.triggerLevel)) id = 0x04;
    else if (ier & 0x02 && this.thrPending) id = 0x02;
    else if (ier & 0x08 && this.msr & 0x0f) id = 0x00;
    this.iir = id | (this.iir & 0xf0);
    const level = id !== 0x01 && ((this.mcr & 0x08) !== 0 || !this.out2GatesInterrupt);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      if (this.onInterrupt !== null) this.onInterrupt(level);
    }
  }
}
