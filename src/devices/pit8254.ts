// The 8254 programmable interval timer at 0x40-0x43 (Intel 8254 datasheet).
// Channel 0 drives IRQ0, channel 1 (DRAM refresh on old PCs) runs unused,
// channel 2's GATE is port 0x61 bit 0 and its OUT is read at port 0x61 bit 5.
//
// The counters are never ticked: every channel keeps the input-clock edge at
// which its counting element (CE) was loaded, and its count and OUT are
// computed from the machine clock when read. Input clock edge k happens at
// ceil(k * 1e9 / 1193182) ns. Channel 0 schedules one TimerEvent, at the next
// rising edge of OUT, and pulses IRQ0 (raise, then lower) there: the PIC and
// the I/O APIC take ISA IRQ0 on its rising edge.
//
// Datasheet timing kept: a count written is loaded into the CE on the next
// clock edge (so in mode 0 OUT rises N+1 edges after the write); in modes 2
// and 3 OUT rises every N edges after the load. Simplifications:
// - a count written while mode 2 or 3 is counting takes effect at the end of
//   the current period (mode 3 would take it at the end of the half-cycle);
// - a count of 1 in mode 2 or 3 (illegal on the chip) counts as 2;
// - OUT changes caused by programming (not by counting) raise no IRQ0 edge;
// - GATE is applied on the clock edge at which it changes.
// BCD counting is done in decimal (modulus 10000).

import { type MachineClock, TimerEvent } from "../machine/clock.ts";
import type { IrqLine } from "../machine/irq.ts";
import type { PortBus, PortDevice } from "../machine/ports.ts";

export const PIT_BASE = 0x40;
export const PIT_PORTS = 4;
/** The 8254's input clock on a PC, in Hz. */
export const PIT_HZ = 1_193_182;
const NS_PER_SECOND = 1_000_000_000;

/** Input clock edges that have happened by time `ns` (exact for any ns < 2^53). */
export function pitTicksAt(ns: number): number {
  const seconds = Math.floor(ns / NS_PER_SECOND);
  const rest = ns - seconds * NS_PER_SECOND;
  return seconds * PIT_HZ + Math.floor((rest * PIT_HZ) / NS_PER_SECOND);
}

/** The time in ns of input clock edge `tick`: the first ns at which pitTicksAt reaches it. */
export function pitTickTime(tick: number): number {
  const seconds = Math.floor(tick / PIT_HZ);
  const rest = tick - seconds * PIT_HZ;
  return seconds * NS_PER_SECOND + Math.ceil((rest * NS_PER_SECOND) / PIT_HZ);
}

// Access modes (control word RW1-RW0; also the state of a latched count).
const ACCESS_LOW = 1;
const ACCESS_HIGH = 2;
const ACCESS_LOW_HIGH = 3;

// What the counting element is doing.
/** After a control word (or the first byte of a mode-0 count): no counting. */
const IDLE = 0;
/** Modes 1 and 5 with a count written: waiting for a GATE rising edge. */
const WAITING_TRIGGER = 1;
const COUNTING = 2;

class PitChannel {
  /** Mode 0-5 as it behaves (6 and 7 act as 2 and 3). */
  mode = 3;
  /** M2-M0 as programmed, for the read-back status. */
  modeBits = 3;
  bcd = false;
  access = ACCESS_LOW_HIGH;
  /** The count register, decoded: 1 .. modulus (a written 0 is the modulus). */
  countRegister = 0x10000;
  /** The initial count of the running cycle. */
  count = 0x10000;
  state = COUNTING;
  /** The input clock edge at which the CE was loaded with `count`. */
  loadTick = 0;
  /** Counting suspended by GATE low (modes 0, 2, 3, 4). */
  paused = false;
  /** Edges counted since the load when paused. */
  pausedElapsed = 0;
  /** Modes 2, 3: the edge at which `countRegister` replaces `count`; -1 if none. */
  pendingTick = -1;
  /** The edge at which the count register reaches the CE (null count until then). */
  crLoadTick = 0;
  gate = true;
  /** The CE value and OUT while IDLE. */
  idleValue = 0;
  idleOut = true;
  // Read/write flip-flops and latches.
  writeHigh = false;
  lowByte = 0;
  readHigh = false;
  /** 0, or ACCESS_LOW/HIGH/LOW_HIGH: the latched count bytes still to read. */
  latchState = 0;
  latchedCount = 0;
  statusLatched = false;
  status = 0;

  modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  /** Takes in a count whose load time (end of a mode 2/3 period) has come. */
  settle(tick: number): void {
    if (this.pendingTick >= 0 && tick >= this.pendingTick) {
      this.count = this.countRegister;
      this.loadTick = this.pendingTick;
      this.pendingTick = -1;
    }
  }

  private elapsed(tick: number): number {
    return this.paused ? this.pausedElapsed : tick - this.loadTick;
  }

  /** The CE's value at `tick`, as a number in 0 .. modulus - 1. */
  value(tick: number): number {
    if (this.state !== COUNTING) return this.idleValue;
    const n = this.count;
    const modulus = this.modulus();
    const e = this.elapsed(tick);
    if (e < 0) return n % modulus;
    switch (this.mode) {
      case 2:
        return (n - (e % n)) % modulus;
      case 3: {
        // Counts down by two through each half: the high half lasts
        // ceil(N/2) edges, the low half floor(N/2) (datasheet, mode 3).
        const phase = e % n;
        const high = (n + 1) >> 1;
        const even = n - (n & 1);
        return (phase < high ? even - 2 * phase : even - 2 * (phase - high)) % modulus;
      }
      default: // 0, 1, 4, 5: count down and wrap after terminal count
        return (((n - e) % modulus) + modulus) % modulus;
    }
  }

  /** OUT at `tick`. */
  out(tick: number): boolean {
    if (this.state === IDLE) return this.idleOut;
    if (this.state === WAITING_TRIGGER) return true;
    const n = this.count;
    const e = this.elapsed(tick);
    switch (this.mode) {
      case 0: // low until terminal count
        return e >= n;
      case 1: // low from the trigger's load to terminal count
        return e < 0 || e >= n;
      case 2: // low for one clock when the count is 1
        return this.paused || e < 0 || e % n !== n - 1;
      case 3: // high for the first half of each period
        return this.paused || e < 0 || e % n < (n + 1) >> 1;
      default: // 4, 5: low for one clock at terminal count
        return e !== n;
    }
  }

  /** The first edge after `tick` at which OUT rises, or -1. Call settle(tick) first. */
  nextRisingEdge(tick: number): number {
    if (this.state !== COUNTING || this.paused) return -1;
    const n = this.count;
    const e = tick - this.loadTick;
    switch (this.mode) {
      case 0:
      case 1:
        return e < n ? this.loadTick + n : -1;
      case 2:
      case 3:
        return e < n ? this.loadTick + n : this.loadTick + (Math.floor(e / n) + 1) * n;
      default: // 4, 5: OUT comes back up one clock after terminal count
        return e < n + 1 ? this.loadTick + n + 1 : -1;
    }
  }

  /** Control word with RW != 0: mode, access and BCD; stops counting. */
  program(controlWord: number, tick: number): void {
    this.settle(tick);
    this.idleValue = this.value(tick);
    this.access = (controlWord >> 4) & 3;
    this.modeBits = (controlWord >> 1) & 7;
    this.mode = this.modeBits > 5 ? this.modeBits - 4 : this.modeBits;
    this.bcd = (controlWord & 1) !== 0;
    this.state = IDLE;
    this.idleOut = this.mode !== 0;
    this.paused = false;
    this.pendingTick = -1;
    this.crLoadTick = Infinity;
    this.writeHigh = false;
    this.readHigh = false;
    this.latchState = 0;
    this.statusLatched = false;
  }

  /** A byte written to the counter's port. */
  writeByte(byte: number, tick: number): void {
    this.settle(tick);
    switch (this.access) {
      case ACCESS_LOW:
        this.loadCount(byte, tick);
        break;
      case ACCESS_HIGH:
        this.loadCount(byte << 8, tick);
        break;
      default:
        if (!this.writeHigh) {
          this.lowByte = byte;
          this.writeHigh = true;
          // Mode 0: the first byte stops counting and sets OUT low.
          if (this.mode === 0) {
            this.idleValue = this.value(tick);
            this.state = IDLE;
            this.idleOut = false;
          }
        } else {
          this.writeHigh = false;
          this.loadCount(this.lowByte | (byte << 8), tick);
        }
    }
  }

  private loadCount(raw: number, tick: number): void {
    let n = this.bcd ? decodeBcd(raw) : raw;
    if (n === 0) n = this.modulus();
    if ((this.mode === 2 || this.mode === 3) && n === 1) n = 2;
    this.countRegister = n;
    switch (this.mode) {
      case 1:
      case 5:
        // Loaded by the next GATE rising edge; a running cycle goes on.
        if (this.state === IDLE) this.state = WAITING_TRIGGER;
        this.crLoadTick = Infinity;
        break;
      case 2:
      case 3:
        if (this.state === COUNTING && !this.paused && tick >= this.loadTick) {
          this.pendingTick = this.nextRisingEdge(tick);
          this.crLoadTick = this.pendingTick;
          break;
        }
        this.start(tick);
        break;
      default: // 0, 4
        this.start(tick);
    }
  }

  /** The CE takes the count register on the next clock edge. */
  private start(tick: number): void {
    this.count = this.countRegister;
    this.loadTick = tick + 1;
    this.crLoadTick = tick + 1;
    this.pendingTick = -1;
    this.state = COUNTING;
    this.paused = !this.gate && this.mode !== 1 && this.mode !== 5;
    this.pausedElapsed = 0;
  }

  setGate(high: boolean, tick: number): void {
    if (high === this.gate) return;
    this.settle(tick);
    this.gate = high;
    switch (this.mode) {
      case 0:
      case 4: // GATE low suspends counting, high resumes it
        if (this.state !== COUNTING) break;
        if (!high && !this.paused) {
          this.pausedElapsed = Math.max(0, this.elapsed(tick));
          this.paused = true;
        } else if (high && this.paused) {
          this.loadTick = tick - this.pausedElapsed;
          this.paused = false;
        }
        break;
      case 2:
      case 3: // GATE low stops counting with OUT high; a rising edge reloads
        if (this.state !== COUNTING) break;
        if (!high) {
          this.pausedElapsed = Math.max(0, this.elapsed(tick));
          this.paused = true;
          this.pendingTick = -1;
        } else {
          this.start(tick);
        }
        break;
      default: // 1, 5: a rising edge (re)triggers
        if (high && this.state !== IDLE) this.start(tick);
    }
  }

  nullCount(tick: number): boolean {
    return tick < this.crLoadTick;
  }

  /** Counter latch command; ignored while a latched count is unread. */
  latchCount(tick: number): void {
    if (this.latchState !== 0) return;
    this.settle(tick);
    this.latchedCount = this.encode(this.value(tick));
    this.latchState = this.access;
  }

  /** Read-back status: OUT, null count, RW, mode, BCD (datasheet, "Status Byte"). */
  latchStatus(tick: number): void {
    if (this.statusLatched) return;
    this.settle(tick);
    this.status =
      (this.out(tick) ? 0x80 : 0) |
      (this.nullCount(tick) ? 0x40 : 0) |
      (this.access << 4) |
      (this.modeBits << 1) |
      (this.bcd ? 1 : 0);
    this.statusLatched = true;
  }

  readByte(tick: number): number {
    if (this.statusLatched) {
      this.statusLatched = false;
      return this.status;
    }
    switch (this.latchState) {
      case ACCESS_LOW:
        this.latchState = 0;
        return this.latchedCount & 0xff;
      case ACCESS_HIGH:
        this.latchState = 0;
        return this.latchedCount >> 8;
      case ACCESS_LOW_HIGH:
        this.latchState = ACCESS_HIGH;
        return this.latchedCount & 0xff;
    }
    this.settle(tick);
    const count = this.encode(this.value(tick));
    switch (this.access) {
      case ACCESS_LOW:
        return count & 0xff;
      case ACCESS_HIGH:
        return count >> 8;
      default:
        this.readHigh = !this.readHigh;
        return this.readHigh ? count & 0xff : count >> 8;
    }
  }

  private encode(value: number): number {
    return this.bcd ? encodeBcd(value) : value;
  }
}

/** Four BCD digits to a number (nibbles A-F count as 10-15: no throw on bad input). */
function decodeBcd(raw: number): number {
  return (raw & 0xf) + ((raw >> 4) & 0xf) * 10 + ((raw >> 8) & 0xf) * 100 + ((raw >> 12) & 0xf) * 1000;
}

function encodeBcd(value: number): number {
  const ones = value % 10;
  const tens = Math.floor(value / 10) % 10;
  const hundreds = Math.floor(value / 100) % 10;
  const thousands = Math.floor(value / 1000) % 10;
  return ones | (tens << 4) | (hundreds << 8) | (thousands << 12);
}

export class Pit8254 implements PortDevice {
  readonly name = "pit8254";
  private readonly channels = [new PitChannel(), new PitChannel(), new PitChannel()];
  private readonly edgeEvent: TimerEvent;

  /**
   * Power-on state as QEMU resets it: every channel in mode 3 with count
   * 65536 loaded at time 0 (lo/hi access, binary), GATE high on channels 0
   * and 1, low on channel 2. Channel 0 thus interrupts at ~18.2 Hz from the
   * start.
   */
  constructor(
    private readonly clock: MachineClock,
    private readonly irq0: IrqLine,
  ) {
    const tick = this.nowTick();
    for (const ch of this.channels) {
      ch.loadTick = tick;
      ch.crLoadTick = tick;
    }
    this.channels[2].gate = false;
    this.channels[2].paused = true;
    this.edgeEvent = new TimerEvent("pit-channel0", (deadline) => this.onChannel0Edge(deadline));
    this.rescheduleChannel0();
  }

  attach(ports: PortBus): void {
    ports.register(PIT_BASE, PIT_PORTS, this);
  }

  /**
   * The state SeaBIOS's pit_setup leaves: channel 0 in mode 2 (rate
   * generator), lo/hi access, binary, count 0 = 65536, i.e. IRQ0 every
   * 65536 / 1193182 s (~18.2 Hz). Channels 1 and 2 keep their reset state
   * (SeaBIOS on QEMU uses the ACPI PM timer and skips its channel-2 TSC
   * calibration).
   */
  biosInit(): void {
    this.writeByte(PIT_BASE + 3, 0x34);
    this.writeByte(PIT_BASE, 0x00);
    this.writeByte(PIT_BASE, 0x00);
  }

  /** Drives channel `channel`'s GATE input. */
  setGate(channel: number, high: boolean): void {
    this.channels[channel].setGate(high, this.nowTick());
    if (channel === 0) this.rescheduleChannel0();
  }

  gate(channel: number): boolean {
    return this.channels[channel].gate;
  }

  /** Channel `channel`'s OUT now. */
  output(channel: number): boolean {
    const ch = this.channels[channel];
    const tick = this.nowTick();
    ch.settle(tick);
    return ch.out(tick);
  }

  readPort(port: number, size: number): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.readByte(port + i) << (8 * i);
    return value >>> 0;
  }

  writePort(port: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(port + i, (value >>> (8 * i)) & 0xff);
  }

  private readByte(port: number): number {
    const index = port - PIT_BASE;
    if (index < 0 || index > 3) return 0xff; // beyond this device in a wide access
    if (index === 3) return 0; // the control word register cannot be read (QEMU reads 0)
    return this.channels[index].readByte(this.nowTick());
  }

  private writeByte(port: number, value: number): void {
    const index = port - PIT_BASE;
    if (index < 0 || index > 3) return;
    const tick = this.nowTick();
    if (index < 3) {
      this.channels[index].writeByte(value, tick);
      if (index === 0) this.rescheduleChannel0();
      return;
    }
    const select = value >> 6;
    if (select === 3) {
      // Read-back: bit 5 low latches counts, bit 4 low latches status, for
      // each channel whose bit (1-3) is set.
      for (let c = 0; c < 3; c++) {
        if ((value & (2 << c)) === 0) continue;
        if ((value & 0x20) === 0) this.channels[c].latchCount(tick);
        if ((value & 0x10) === 0) this.channels[c].latchStatus(tick);
      }
      return;
    }
    const channel = this.channels[select];
    if ((value & 0x30) === 0) {
      channel.latchCount(tick);
      return;
    }
    channel.program(value, tick);
    if (select === 0) this.rescheduleChannel0();
  }

  private nowTick(): number {
    return pitTicksAt(this.clock.now());
  }

  private rescheduleChannel0(): void {
    const tick = this.nowTick();
    const ch = this.channels[0];
    ch.settle(tick);
    const edge = ch.nextRisingEdge(tick);
    if (edge < 0) this.clock.cancel(this.edgeEvent);
    else this.clock.schedule(this.edgeEvent, pitTickTime(edge));
  }

  private onChannel0Edge(deadline: number): void {
    this.irq0(true);
    this.irq0(false);
    // The next edge after this one; edges already past (host time after a
    // stall) are merged into this one rather than fired in a burst.
    const tick = Math.max(pitTicksAt(deadline), this.nowTick());
    const ch = this.channels[0];
    ch.settle(tick);
    const edge = ch.nextRisingEdge(tick);
    if (edge >= 0) this.clock.schedule(this.edgeEvent, pitTickTime(edge));
  }
}
