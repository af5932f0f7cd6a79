// The High Precision Event Timer at 0xFED00000, as QEMU's pc machine has it
// (IA-PC HPET Specification 1.0a; QEMU's hw/timer/hpet.c for the values):
// a 64-bit main counter at 100 MHz (period 10,000,000 fs) and three
// comparators, each able to interrupt once (one-shot) or every period.
//
// Registers (1 KiB block, 32- and 64-bit accesses; spec 2.3):
//   0x000 general capabilities and ID (64 bits, read-only): revision 1,
//         NUM_TIM_CAP 2 (three timers), COUNT_SIZE_CAP (64-bit counter),
//         LEG_RT_CAP, vendor 0x8086; high half the period in femtoseconds.
//   0x010 general configuration: ENABLE_CNF (bit 0) runs the counter and
//         allows interrupts; LEG_RT_CNF (bit 1) is legacy replacement routing.
//   0x020 general interrupt status: bit n set when level-triggered timer n
//         matched; writing 1 clears it (and lowers its line).
//   0x0F0 main counter: counts only while ENABLE_CNF is set; writable while
//         halted (a write while running has no effect, as in QEMU).
//   0x100 + 0x20n timer n configuration and capabilities: INT_TYPE (bit 1,
//         1 = level), INT_ENB (2), TYPE (3, 1 = periodic), PER_INT_CAP (4,
//         read-only, set on every timer as QEMU sets it), SIZE_CAP (5,
//         read-only: 64-bit), VAL_SET (6), 32MODE (8), INT_ROUTE (13:9), no
//         FSB delivery (bits 14, 15 zero); high half the routes it offers:
//         QEMU's pc machine (i440FX) offers I/O APIC input 2 only (0x4).
//   0x108 + 0x20n timer n comparator; 0x110 + 0x20n its FSB route register
//         (kept as written, unused, as in QEMU).
// Other offsets read 0 and drop writes. 1- and 2-byte reads give bytes of
// the 32-bit register; 1- and 2-byte writes are dropped (the spec allows
// 32- and 64-bit accesses only, and QEMU refuses narrower ones).
//
// Time: the counter is computed from MachineClock.now() when read, never
// ticked: counter = the value it had when enabled + floor(ns since / 10).
// Each timer schedules one TimerEvent, for its next comparator match, only
// while the HPET is enabled and the timer can interrupt or latch a status
// bit (INT_ENB set or level-triggered).
//
// Comparators (spec 2.3.9.2): a one-shot timer interrupts when the counter
// reaches the comparator. In 64-bit mode a comparator already behind the
// counter when set or enabled matches at once, as in QEMU. In 32-bit mode
// (32MODE, or a 32-bit view of the comparator) only the low 32 bits are
// compared, so the match is always within the next 2^32 ticks; a one-shot
// timer then also interrupts when the low 32 bits of the counter wrap to 0
// before the match, as QEMU does following the spec. A periodic timer adds
// its period to the comparator at each match; writing the comparator in
// periodic mode sets the period, and also the comparator itself when VAL_SET
// is set (which the write clears). Missed periods (time jumped) give one
// interrupt, and the comparator catches up past the counter.
//
// Interrupts: an edge-triggered timer pulses its line at a match; a level-
// triggered one sets its status bit at the match (even with INT_ENB clear,
// spec 2.3.9.2.3) and holds its line high while the bit, INT_ENB and
// ENABLE_CNF are all set. A line is the OR of the timers driving it.
// `raiseGsi(gsi, level)` is QEMU's gsi[] array: gsi n below 16 is ISA IRQ n
// (8259 input n, and I/O APIC pin n, pin 2 for IRQ 0); 16-23 are I/O APIC
// pins. A timer drives gsi INT_ROUTE; in legacy replacement mode (LEG_RT_CNF)
// timer 0 drives ISA IRQ 0 (gsi 0: 8259 IRQ 0, I/O APIC pin 2) and timer 1
// ISA IRQ 8 (gsi 8), and the machine must disconnect the PIT's and the RTC's
// outputs from those IRQs: `onLegacyChange` tells it when the mode changes.

import { type MachineClock, TimerEvent } from "../machine/clock.ts";
import type { MmioDevice } from "../machine/bus.ts";

export const HPET_BASE = 0xfed00000;
export const HPET_SIZE = 0x400;
export const HPET_TIMERS = 3;
/** Main counter period in femtoseconds: 10 ns, 100 MHz. */
export const HPET_PERIOD_FS = 10_000_000;
export const HPET_NS_PER_TICK = 10;
/**
 * General capabilities, low half: vendor 0x8086 (31:16), LEG_RT_CAP (15),
 * COUNT_SIZE_CAP (13), NUM_TIM_CAP 2 (12:8), revision 1. The ACPI HPET table's
 * event timer block ID repeats it.
 */
export const HPET_CAPABILITIES = 0x8086a201;
/** Timer interrupt route capability: I/O APIC input 2 only, QEMU's pc (i440FX) value. */
export const HPET_ROUTE_CAPABILITY = 0x00000004;

// General configuration (spec 2.3.5).
export const HPET_ENABLE_CNF = 1 << 0;
export const HPET_LEG_RT_CNF = 1 << 1;
// Timer n configuration (spec 2.3.8).
export const TN_INT_TYPE_CNF = 1 << 1;
export const TN_INT_ENB_CNF = 1 << 2;
export const TN_TYPE_CNF = 1 << 3;
export const TN_PER_INT_CAP = 1 << 4;
export const TN_SIZE_CAP = 1 << 5;
export const TN_VAL_SET_CNF = 1 << 6;
export const TN_32MODE_CNF = 1 << 8;
export const TN_INT_ROUTE_SHIFT = 9;
export const TN_INT_ROUTE_MASK = 0x1f << TN_INT_ROUTE_SHIFT;
/** The guest-writable configuration bits (QEMU's HPET_TN_CFG_WRITE_MASK without FSB). */
const TN_WRITABLE = TN_INT_TYPE_CNF | TN_INT_ENB_CNF | TN_TYPE_CNF | TN_VAL_SET_CNF | TN_32MODE_CNF | TN_INT_ROUTE_MASK;
const GENERAL_WRITABLE = HPET_ENABLE_CNF | HPET_LEG_RT_CNF;

/** Legacy replacement routes (spec 2.3.5.1): timer 0 to ISA IRQ 0, timer 1 to ISA IRQ 8. */
export const HPET_LEGACY_TIMER0_IRQ = 0;
export const HPET_LEGACY_TIMER1_IRQ = 8;

const TWO32 = 2 ** 32;
/** Ticks beyond which a match is treated as never (keeps ns exact in doubles). */
const FAR_TICKS = 2 ** 48;
const ROUTES = 32;

/** One comparator and its configuration. 64-bit registers as two 32-bit halves (unsigned). */
class HpetTimer {
  config: number;
  cmpLow = 0xffffffff;
  cmpHigh = 0xffffffff;
  periodLow = 0;
  periodHigh = 0;
  fsbLow = 0;
  fsbHigh = 0;
  /** Ticks since the HPET was enabled at which the pending event matches; Infinity when none. */
  matchTick = Infinity;
  /** The pending event is the 32-bit wrap before the match (one-shot, 32-bit mode). */
  wrapPending = false;
  readonly event: TimerEvent;

  constructor(
    readonly index: number,
    fire: (timer: HpetTimer) => void,
  ) {
    this.config = TN_PER_INT_CAP | TN_SIZE_CAP;
    this.event = new TimerEvent(`hpet-timer${index}`, () => fire(this));
  }

  get levelTriggered(): boolean {
    return (this.config & TN_INT_TYPE_CNF) !== 0;
  }
  get interruptEnabled(): boolean {
    return (this.config & TN_INT_ENB_CNF) !== 0;
  }
  get periodic(): boolean {
    return (this.config & TN_TYPE_CNF) !== 0;
  }
  get mode32(): boolean {
    return (this.config & TN_32MODE_CNF) !== 0;
  }
}

export class Hpet implements MmioDevice {
  readonly name = "hpet";
  private readonly clock: MachineClock;
  private readonly raiseGsi: (gsi: number, level: boolean) => void;
  /** Called with the new LEG_RT_CNF when the guest changes it (the machine gates the PIT and RTC IRQs). */
  onLegacyChange: (legacy: boolean) => void = () => {};

  private readonly timers: HpetTimer[] = [];
  private generalConfig = 0;
  private interruptStatus = 0;
  /** The counter value while halted, and the value it had at `enabledAtNs` while running. */
  private baseLow = 0;
  private baseHigh = 0;
  private enabledAtNs = 0;
  /** Level each gsi output is driven at, and the scratch the next levels are computed in. */
  private readonly lineLevel = new Uint8Array(ROUTES);
  private readonly wantedLevel = new Uint8Array(ROUTES);
  /** Scratch for the counter's two halves. */
  private counterLow = 0;
  private counterHigh = 0;
  /** Interrupts signalled (matches of a timer allowed to interrupt), for statistics. */
  interrupts = 0;

  constructor(clock: MachineClock, raiseGsi: (gsi: number, level: boolean) => void) {
    this.clock = clock;
    this.raiseGsi = raiseGsi;
    for (let i = 0; i < HPET_TIMERS; i++) this.timers.push(new HpetTimer(i, (t) => this.onTimerEvent(t)));
  }

  /** Power-on state: halted at 0, timers one-shot, disabled, comparators all ones. */
  reset(): void {
    const wasLegacy = this.legacy;
    for (const t of this.timers) {
      this.clock.cancel(t.event);
      t.config = TN_PER_INT_CAP | TN_SIZE_CAP;
      t.cmpLow = t.cmpHigh = 0xffffffff;
      t.periodLow = t.periodHigh = 0;
      t.fsbLow = t.fsbHigh = 0;
      t.matchTick = Infinity;
      t.wrapPending = false;
    }
    this.generalConfig = 0;
    this.interruptStatus = 0;
    this.baseLow = this.baseHigh = 0;
    this.enabledAtNs = 0;
    this.updateLines();
    if (wasLegacy) this.onLegacyChange(false);
  }

  get enabled(): boolean {
    return (this.generalConfig & HPET_ENABLE_CNF) !== 0;
  }

  get legacy(): boolean {
    return (this.generalConfig & HPET_LEG_RT_CNF) !== 0;
  }

  // --- MMIO -----------------------------------------------------------------

  read(offset: number, size: number): number {
    const dword = this.readDword(offset & ~3);
    if (size === 4) return dword | 0;
    const shifted = dword >>> (8 * (offset & 3));
    return size === 1 ? shifted & 0xff : shifted & 0xffff;
  }

  write(offset: number, size: number, value: number): void {
    if (size !== 4 || (offset & 3) !== 0) return;
    this.writeDword(offset, value >>> 0);
  }

  read64(offset: number, high: Int32Array): number {
    // Both halves at the same clock reading: an 8-byte counter read is atomic.
    const low = this.read(offset, 4);
    high[0] = this.read(offset + 4, 4);
    return low;
  }

  write64(offset: number, low: number, high: number): void {
    if ((offset & 7) !== 0) return;
    if (offset >= 0x100 && offset < 0x100 + 0x20 * HPET_TIMERS && (offset & 0x1f) === 0x08) {
      // One write of the whole comparator: with VAL_SET both halves reach it
      // (two 32-bit writes would clear VAL_SET after the first).
      this.writeComparator(this.timers[(offset - 0x100) >>> 5], low >>> 0, high >>> 0, true, true);
      return;
    }
    if (offset === 0x0f0) {
      if (this.enabled) return;
      this.baseLow = low >>> 0;
      this.baseHigh = high >>> 0;
      return;
    }
    this.writeDword(offset, low >>> 0);
    this.writeDword(offset + 4, high >>> 0);
  }

  private readDword(offset: number): number {
    if (offset >= 0x100) {
      const n = (offset - 0x100) >>> 5;
      if (n >= HPET_TIMERS) return 0;
      const t = this.timers[n];
      switch (offset & 0x1f) {
        case 0x00:
          return t.config;
        case 0x04:
          return HPET_ROUTE_CAPABILITY;
        case 0x08:
          return t.cmpLow;
        case 0x0c:
          return t.cmpHigh;
        case 0x10:
          return t.fsbLow;
        case 0x14:
          return t.fsbHigh;
        default:
          return 0;
      }
    }
    switch (offset) {
      case 0x000:
        return HPET_CAPABILITIES;
      case 0x004:
        return HPET_PERIOD_FS;
      case 0x010:
        return this.generalConfig;
      case 0x020:
        return this.interruptStatus;
      case 0x0f0:
        this.readCounter();
        return this.counterLow;
      case 0x0f4:
        this.readCounter();
        return this.counterHigh;
      default:
        return 0;
    }
  }

  private writeDword(offset: number, value: number): void {
    if (offset >= 0x100) {
      const n = (offset - 0x100) >>> 5;
      if (n >= HPET_TIMERS) return;
      const t = this.timers[n];
      switch (offset & 0x1f) {
        case 0x00:
          this.writeTimerConfig(t, value);
          return;
        case 0x08:
          this.writeComparator(t, value, 0, true, false);
          return;
        case 0x0c:
          this.writeComparator(t, 0, value, false, true);
          return;
        case 0x10:
          t.fsbLow = value;
          return;
        case 0x14:
          t.fsbHigh = value;
          return;
        default:
          return; // capabilities half and reserved: read-only
      }
    }
    switch (offset) {
      case 0x010:
        this.writeGeneralConfig(value);
        return;
      case 0x020:
        this.clearStatus(value);
        return;
      // The counter takes writes while halted. QEMU keeps a write made while
      // running in its halted copy, which the next halt overwrites: no effect.
      case 0x0f0:
        if (!this.enabled) this.baseLow = value;
        return;
      case 0x0f4:
        if (!this.enabled) this.baseHigh = value;
        return;
      default:
        return;
    }
  }

  // --- Registers ------------------------------------------------------------

  private writeGeneralConfig(value: number): void {
    const old = this.generalConfig;
    const now = (old & ~GENERAL_WRITABLE) | (value & GENERAL_WRITABLE);
    if (old & HPET_ENABLE_CNF && !(now & HPET_ENABLE_CNF)) {
      // Halt: keep the value the counter has now.
      this.readCounter();
      this.baseLow = this.counterLow;
      this.baseHigh = this.counterHigh;
    }
    this.generalConfig = now;
    if (!(old & HPET_ENABLE_CNF) && now & HPET_ENABLE_CNF) {
      // The counter resumes from the halted value.
      this.enabledAtNs = this.clock.now();
      for (const t of this.timers) this.arm(t);
    } else if (old & HPET_ENABLE_CNF && !(now & HPET_ENABLE_CNF)) {
      for (const t of this.timers) this.disarm(t);
    }
    this.updateLines();
    if ((old ^ now) & HPET_LEG_RT_CNF) this.onLegacyChange((now & HPET_LEG_RT_CNF) !== 0);
  }

  private clearStatus(value: number): void {
    this.interruptStatus &= ~(value & ((1 << HPET_TIMERS) - 1));
    this.updateLines();
  }

  private writeTimerConfig(t: HpetTimer, value: number): void {
    const old = t.config;
    t.config = (old & ~TN_WRITABLE) | (value & TN_WRITABLE);
    // Switching to edge drops a latched level status (QEMU; the spec leaves the bit meaningless).
    if (old & TN_INT_TYPE_CNF && !(t.config & TN_INT_TYPE_CNF)) this.interruptStatus &= ~(1 << t.index);
    if (t.mode32) {
      t.cmpHigh = 0;
      t.periodHigh = 0;
    }
    if (this.enabled) this.arm(t);
    this.updateLines();
  }

  /** A comparator write of the low half, the high half, or both (spec 2.3.9.2.2 for periodic mode). */
  private writeComparator(t: HpetTimer, low: number, high: number, writeLow: boolean, writeHigh: boolean): void {
    if (t.mode32) {
      if (!writeLow) return; // the high half is zero in 32-bit mode
      high = 0;
      writeHigh = true;
    }
    if (!t.periodic || t.config & TN_VAL_SET_CNF) {
      if (writeLow) t.cmpLow = low;
      if (writeHigh) t.cmpHigh = high;
    }
    if (t.periodic) {
      if (writeLow) t.periodLow = low;
      if (writeHigh) t.periodHigh = high;
    }
    t.config &= ~TN_VAL_SET_CNF;
    if (this.enabled) this.arm(t);
  }

  // --- Counter and matches --------------------------------------------------

  /** Ticks since ENABLE_CNF was set (the HPET must be enabled). */
  private ticksSinceEnable(): number {
    return Math.floor((this.clock.now() - this.enabledAtNs) / HPET_NS_PER_TICK);
  }

  /** Leaves the main counter's value in counterLow/counterHigh. */
  private readCounter(): void {
    if (!this.enabled) {
      this.counterLow = this.baseLow;
      this.counterHigh = this.baseHigh;
      return;
    }
    this.counterAt(this.ticksSinceEnable());
  }

  /** Leaves base + `ticks` (mod 2^64) in counterLow/counterHigh. */
  private counterAt(ticks: number): void {
    const low = this.baseLow + (ticks % TWO32);
    this.counterLow = low >>> 0;
    this.counterHigh = (this.baseHigh + Math.floor(ticks / TWO32) + (low >= TWO32 ? 1 : 0)) >>> 0;
  }

  /** Computes the timer's next match from its comparator and schedules it (QEMU's hpet_set_timer). */
  private arm(t: HpetTimer): void {
    this.disarm(t);
    if (!this.enabled || !(t.interruptEnabled || t.levelTriggered)) return;
    const now = this.ticksSinceEnable();
    this.counterAt(now);
    if (t.mode32) {
      const delta = (t.cmpLow - this.counterLow) >>> 0;
      t.matchTick = now + delta;
      const untilWrap = TWO32 - this.counterLow;
      if (!t.periodic && delta > untilWrap) {
        t.wrapPending = true;
        this.schedule(t, now + untilWrap);
        return;
      }
    } else if (t.cmpHigh < this.counterHigh || (t.cmpHigh === this.counterHigh && t.cmpLow < this.counterLow)) {
      t.matchTick = now; // already passed: matches at once
    } else {
      const borrow = t.cmpLow < this.counterLow ? 1 : 0;
      const diffHigh = (t.cmpHigh - this.counterHigh - borrow) >>> 0;
      const diff = diffHigh * TWO32 + ((t.cmpLow - this.counterLow) >>> 0);
      t.matchTick = diff >= FAR_TICKS ? Infinity : now + diff;
    }
    this.schedule(t, t.matchTick);
  }

  private disarm(t: HpetTimer): void {
    this.clock.cancel(t.event);
    t.matchTick = Infinity;
    t.wrapPending = false;
  }

  private schedule(t: HpetTimer, tick: number): void {
    if (tick === Infinity || tick >= FAR_TICKS) return;
    this.clock.schedule(t.event, this.enabledAtNs + tick * HPET_NS_PER_TICK);
  }

  private onTimerEvent(t: HpetTimer): void {
    if (!this.enabled) return;
    if (t.wrapPending) {
      t.wrapPending = false;
      this.schedule(t, t.matchTick);
    } else if (t.periodic) {
      const period = t.periodHigh * TWO32 + t.periodLow;
      if (period === 0 || period >= FAR_TICKS) {
        t.matchTick = Infinity;
      } else {
        // Add the period at the match; if time jumped past more periods, catch up past now.
        const now = this.ticksSinceEnable();
        let next = t.matchTick + period;
        if (next <= now) next += (Math.floor((now - next) / period) + 1) * period;
        t.matchTick = next;
        this.counterAt(next);
        t.cmpLow = this.counterLow;
        t.cmpHigh = t.mode32 ? 0 : this.counterHigh;
        this.schedule(t, next);
      }
    } else {
      t.matchTick = Infinity;
    }
    this.signal(t);
  }

  /** A match: latch the level status, and interrupt if the timer and the HPET allow it. */
  private signal(t: HpetTimer): void {
    if (t.levelTriggered) {
      this.interruptStatus |= 1 << t.index;
    } else if (t.interruptEnabled && this.enabled) {
      const gsi = this.routeOf(t);
      this.interrupts++;
      if (this.lineLevel[gsi] === 0) {
        this.raiseGsi(gsi, true);
        this.raiseGsi(gsi, false);
      }
      return;
    }
    if (t.interruptEnabled) this.interrupts++;
    this.updateLines();
  }

  private routeOf(t: HpetTimer): number {
    if (this.legacy && t.index <= 1) return t.index === 0 ? HPET_LEGACY_TIMER0_IRQ : HPET_LEGACY_TIMER1_IRQ;
    return (t.config & TN_INT_ROUTE_MASK) >>> TN_INT_ROUTE_SHIFT;
  }

  /** Drives every line at the OR of the level-triggered timers asserting it. */
  private updateLines(): void {
    const wanted = this.wantedLevel;
    wanted.fill(0);
    if (this.enabled) {
      for (const t of this.timers) {
        if (t.levelTriggered && t.interruptEnabled && this.interruptStatus & (1 << t.index)) wanted[this.routeOf(t)] = 1;
      }
    }
    for (let gsi = 0; gsi < ROUTES; gsi++) {
      if (wanted[gsi] !== this.lineLevel[gsi]) {
        this.lineLevel[gsi] = wanted[gsi];
        this.raiseGsi(gsi, wanted[gsi] === 1);
      }
    }
  }
}
