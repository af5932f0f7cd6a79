// The I/O APIC at 0xFEC00000 (Intel 82093AA datasheet; QEMU's ioapic
// version 0x20): 24 input pins, each with a 64-bit redirection entry that
// turns a line into an interrupt message for a local APIC.
//
// Registers, through an index and a window: IOREGSEL at +0x00 (8 bits),
// IOWIN at +0x10 (4-byte accesses only; others read 0 and are dropped, as in
// QEMU), and the EOI register at +0x40 that version 0x20 adds. QEMU decodes
// offset bits 7:0 only, so the three repeat every 256 bytes of the page.
// Index 0x00 ID (bits 27:24), 0x01 version 0x00170020 (24 entries, version
// 0x20), 0x02 arbitration ID (reads the ID), 0x10 + 2n / 0x11 + 2n the low and
// high halves of entry n. Others read 0.
//
// Entry low half: vector 7:0, delivery mode 10:8, destination mode 11
// (logical), delivery status 12 (read-only, always 0: delivery is
// immediate), polarity 13 (1 = active low), Remote IRR 14 (read-only),
// trigger 15 (1 = level), mask 16. High half: destination 31:24. Every other
// bit is stored as written, as in QEMU. Reset: all masked, 0x00010000.
//
// setIrq(pin, level) takes the electrical level of a pin; an active-low
// entry sees it inverted (QEMU ignores polarity and treats every line as
// active high: a guest that sets the bit for an ISA line differs there).
// Edge entries deliver on the rising (asserting) edge of an unmasked pin; an
// edge while masked is lost (datasheet 3.2.4). Level entries deliver while
// the pin is asserted, unmasked and Remote IRR clear, and set Remote IRR;
// the local APIC's EOI for the vector clears it and, if the pin is still
// asserted, delivers again. Writing an entry re-evaluates its pin, so
// unmasking an asserted level line delivers; switching an entry to edge
// clears Remote IRR (Linux relies on this where there is no EOI register).
//
// Delivery modes: fixed and lowest priority go to the local APIC (one CPU, so
// lowest priority is that CPU). ExtINT asks the 8259 for its vector (the
// INTA cycle) through `onExtInt` and delivers it edge-triggered, as QEMU does;
// without `onExtInt` it is dropped. SMI, NMI, INIT and the reserved modes are
// dropped and counted in `ignoredDeliveries`.

import type { MmioDevice } from "../machine/bus.ts";

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_SIZE = 0x1000;
export const IOAPIC_PINS = 24;
/** Version register: 24 entries (max index 23), version 0x20. */
export const IOAPIC_VERSION = 0x00170020;

const MASKED = 0x10000;
const LEVEL = 0x8000;
const REMOTE_IRR = 0x4000;
const ACTIVE_LOW = 0x2000;
const DELIVERY_STATUS = 0x1000;
const LOGICAL = 0x800;
const READ_ONLY = REMOTE_IRR | DELIVERY_STATUS;

/**
 * Sends an interrupt message to the local APICs: vector, trigger mode, the
 * 8-bit destination (bits 63:56) and whether it is logical. The machine
 * connects it to LocalApic.acceptMessage.
 */
export type ApicMessageSink = (vector: number, levelTriggered: boolean, destination: number, logical: boolean) => void;

export class IoApic implements MmioDevice {
  readonly name = "io-apic";
  private readonly deliver: ApicMessageSink;
  /** ExtINT delivery: the 8259's interrupt acknowledge, returning its vector. */
  onExtInt: (() => number) | null = null;

  private id = 0;
  private select = 0;
  private readonly low = new Int32Array(IOAPIC_PINS);
  private readonly high = new Int32Array(IOAPIC_PINS);
  /** Electrical level of each pin, one bit per pin. */
  private lines = 0;
  /** Deliveries in modes that reach nothing here (SMI, NMI, INIT, reserved). */
  ignoredDeliveries = 0;

  constructor(deliver: ApicMessageSink) {
    this.deliver = deliver;
    this.reset();
  }

  reset(): void {
    this.id = 0;
    this.select = 0;
    this.low.fill(MASKED);
    this.high.fill(0);
  }

  /** Drives input pin `pin` (0-23) to `level` (true = high). Other pins are ignored. */
  setIrq(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const bit = 1 << pin;
    const wasAsserted = this.isAsserted(pin);
    this.lines = level ? this.lines | bit : this.lines & ~bit;
    const asserted = this.isAsserted(pin);
    const entry = this.low[pin];
    if ((entry & LEVEL) !== 0) {
      if (asserted) this.service(pin);
    } else if (asserted && !wasAsserted && (entry & MASKED) === 0) {
      this.send(pin);
    }
  }

  /**
   * EOI for `vector` from the local APIC (or the EOI register): clears Remote
   * IRR of the level entries with that vector, delivering again those whose
   * pin is still asserted.
   */
  eoi(vector: number): void {
    vector &= 0xff;
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const entry = this.low[pin];
      if ((entry & 0xff) !== vector || (entry & LEVEL) === 0 || (entry & REMOTE_IRR) === 0) continue;
      this.low[pin] = entry & ~REMOTE_IRR;
      if (this.isAsserted(pin)) this.service(pin);
    }
  }

  // --- MMIO ---------------------------------------------------------------

  read(offset: number, size: number): number {
    const register = offset & 0xff;
    if (register === 0x00) return this.select;
    if (register === 0x10 && size === 4) return this.readRegister(this.select);
    return 0;
  }

  write(offset: number, size: number, value: number): void {
    const register = offset & 0xff;
    if (register === 0x00) this.select = value & 0xff;
    else if (register === 0x10 && size === 4) this.writeRegister(this.select, value);
    else if (register === 0x40 && size === 4) this.eoi(value & 0xff);
  }

  private readRegister(index: number): number {
    if (index === 0x00 || index === 0x02) return this.id << 24;
    if (index === 0x01) return IOAPIC_VERSION;
    const pin = (index - 0x10) >> 1;
    if (index < 0x10 || pin >= IOAPIC_PINS) return 0;
    return (index & 1) !== 0 ? this.high[pin] : this.low[pin];
  }

  private writeRegister(index: number, value: number): void {
    if (index === 0x00) {
      this.id = (value >>> 24) & 0xf;
      return;
    }
    const pin = (index - 0x10) >> 1;
    if (index < 0x10 || pin >= IOAPIC_PINS) return; // version, arbitration: read-only
    if ((index & 1) !== 0) {
      this.high[pin] = value;
      return;
    }
    let entry = (value & ~READ_ONLY) | (this.low[pin] & READ_ONLY);
    if ((entry & LEVEL) === 0) entry &= ~REMOTE_IRR;
    this.low[pin] = entry;
    if ((entry & LEVEL) !== 0 && this.isAsserted(pin)) this.service(pin);
  }

  // --- Delivery -----------------------------------------------------------

  private isAsserted(pin: number): boolean {
    const high = ((this.lines >> pin) & 1) !== 0;
    return (this.low[pin] & ACTIVE_LOW) !== 0 ? !high : high;
  }

  /** A level entry with its pin asserted: delivers unless masked or awaiting EOI. */
  private service(pin: number): void {
    const entry = this.low[pin];
    if ((entry & (MASKED | REMOTE_IRR)) !== 0) return;
    this.send(pin);
  }

  private send(pin: number): void {
    const entry = this.low[pin];
    const destination = this.high[pin] >>> 24;
    const logical = (entry & LOGICAL) !== 0;
    switch ((entry >> 8) & 7) {
      case 0: // fixed
      case 1: {
        // lowest priority
        const level = (entry & LEVEL) !== 0;
        if (level) this.low[pin] = entry | REMOTE_IRR;
        this.deliver(entry & 0xff, level, destination, logical);
        return;
      }
      case 7: // ExtINT
        if (this.onExtInt !== null) {
          const vector = this.onExtInt();
          if (vector >= 0) this.deliver(vector & 0xff, false, destination, logical);
          else this.ignoredDeliveries++; // the 8259 had no request
        } else this.ignoredDeliveries++;
        return;
      default:
        this.ignoredDeliveries++;
    }
  }
}
