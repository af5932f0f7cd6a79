// The local APIC of the one CPU, in xAPIC mode: the 4 KiB register page at
// 0xFEE00000 (SDM Vol. 3A chapter 10 "Advanced Programmable Interrupt
// Controller"; chapter 11 in newer editions). APIC ID 0, version 0x14 with
// six LVT entries (0x00050014, what QEMU reports).
//
// Interrupts arrive as vectors in IRR (from the I/O APIC, the timer, a
// self-IPI); the CPU asks hasInterrupt() and takes one with acknowledge(),
// which moves it to ISR; EOI retires the highest ISR vector. Priorities
// (TPR, PPR) are classes of 16 vectors (SDM 10.8.3).
//
// The timer counts down at the 1 GHz bus clock QEMU uses (one tick per ns
// before the divider), so a kernel calibrating it against the PIT finds the
// same rate as under QEMU. The current count is computed from the clock when
// read; an expiry is one TimerEvent. The interrupt comes when the count
// reaches 0, after `initial count` ticks (QEMU waits one tick more); periodic
// mode reloads then and re-arms from the deadline, so it never drifts.
// TSC-deadline mode is not emulated: LVT timer mode 2 behaves as one-shot.
//
// Accesses, as in QEMU: only 4-byte accesses reach a register (others read 0
// and are dropped); the register is chosen by offset bits 11:4, so any offset
// inside a 16-byte slot means that slot's register. Reserved slots read 0 and
// log an illegal register address in ESR (SDM 10.5.3).
//
// The IA32_APIC_BASE MSR (0x1B) lives here too: bit 11 clear disables the
// APIC in hardware (no interrupts, PIC straight to the CPU) and returns it to
// its reset state (SDM 10.4.3 allows this); setting it again re-enables it
// (QEMU refuses that). The page keeps answering MMIO while disabled, as in
// QEMU. Relocating the base is recorded but the page stays at 0xFEE00000.

import type { MachineClock } from "../machine/clock.ts";
import { TimerEvent } from "../machine/clock.ts";
import type { MmioDevice } from "../machine/bus.ts";

export const LAPIC_BASE = 0xfee00000;
export const LAPIC_SIZE = 0x1000;

/** Version register: version 0x14, max LVT entry 5 (QEMU's value). */
export const LAPIC_VERSION = 0x00050014;

const LVT_MASKED = 0x10000;
const LVT_COUNT = 6;
/** LVT slots, in register order from offset 0x320 (1 thermal, 2 performance counters: stored only). */
const LVT_TIMER = 0;
const LVT_LINT0 = 3;
const LVT_LINT1 = 4;
const LVT_ERROR = 5;
/**
 * Bits software can write in each LVT entry (SDM Figure 10-8): vector,
 * delivery mode, polarity, trigger mode, mask, timer mode. Delivery status
 * and remote IRR are read-only and read 0 here (delivery is immediate).
 */
const LVT_WRITABLE = [0x600ff | LVT_MASKED, 0x7ff | LVT_MASKED, 0x7ff | LVT_MASKED, 0xa7ff | LVT_MASKED, 0xa7ff | LVT_MASKED, 0xff | LVT_MASKED];

const SVR_ENABLE = 0x100;
const DELIVERY_EXTINT = 7;

/** ESR bits (SDM 10.5.3). */
export const ESR_SEND_ILLEGAL_VECTOR = 0x20;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 0x40;
export const ESR_ILLEGAL_REGISTER = 0x80;

/** IA32_APIC_BASE bits (SDM 10.4.4). */
const BASE_BSP = 0x100;
const BASE_ENABLE = 0x800;

/** ICR low bits software can write: vector, mode, destination mode, level, trigger, shorthand. */
const ICR_LOW_WRITABLE = 0x000ccfff;

export class LocalApic implements MmioDevice {
  readonly name = "local-apic";
  private readonly clock: MachineClock;
  private readonly timer: TimerEvent;

  /** Called whenever hasInterrupt() or acceptsPicInterrupts() may have changed. */
  onChange: () => void = () => {};
  /** Called on EOI of a level-triggered vector (TMR set): the I/O APIC clears Remote IRR. */
  onLevelEoi: (vector: number) => void = () => {};

  private id = 0;
  private tpr = 0;
  private ldr = 0;
  /** DFR model, bits 31:28: 0xF flat, 0x0 cluster. */
  private dfrModel = 0xf;
  private svr = 0xff;
  private readonly irr = new Int32Array(8);
  private readonly isr = new Int32Array(8);
  private readonly tmr = new Int32Array(8);
  /** What ESR reads: the errors logged before the last ESR write. */
  private esr = 0;
  /** Errors logged since the last ESR write. */
  private pendingErrors = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt = new Int32Array(LVT_COUNT);
  private initialCount = 0;
  /** When the initial count was written (ns), or as if (after a divider change). */
  private loadTime = 0;
  private divideConfig = 0;
  /** The divider is 2^divideShift; the counter ticks every 2^divideShift ns. */
  private divideShift = 1;
  private baseLow = LAPIC_BASE | BASE_BSP | BASE_ENABLE;
  private baseHigh = 0;

  /** IPIs the guest sent that reach no one here (INIT, SIPI, SMI, other CPUs). */
  ipisIgnored = 0;
  /** An NMI for this CPU (an NMI IPI to itself): the CPU's NMI input. */
  onNmi: (() => void) | null = null;
  /** The guest moved the APIC base (the page stays at 0xFEE00000). */
  baseRelocated = false;

  constructor(clock: MachineClock) {
    this.clock = clock;
    this.timer = new TimerEvent("local APIC timer", (deadline) => this.timerExpired(deadline));
    this.resetRegisters();
  }

  /** Power-up/reset state (SDM 10.4.7.1): LVTs masked, SVR 0xFF (software disabled), DFR flat. */
  private resetRegisters(): void {
    this.id = 0;
    this.tpr = 0;
    this.ldr = 0;
    this.dfrModel = 0xf;
    this.svr = 0xff;
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.esr = 0;
    this.pendingErrors = 0;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.lvt.fill(LVT_MASKED);
    this.initialCount = 0;
    this.loadTime = 0;
    this.divideConfig = 0;
    this.divideShift = 1;
    this.clock.cancel(this.timer);
  }

  /**
   * What SeaBIOS leaves before QEMU's -kernel loader runs (src/fw/smp.c,
   * smp_scan): SVR software-enabled (0xFF | 0x100), LINT0 = 0x8700 (ExtINT,
   * level: the 8259 reaches the CPU through the APIC, "virtual wire"),
   * LINT1 = 0x8400 (NMI, level), and in ICR the last IPI it broadcast to wake
   * other CPUs (a SIPI to 0x10000: 0x000C4610).
   */
  biosInit(): void {
    this.writeSvr(this.svr | SVR_ENABLE);
    this.writeLvt(LVT_LINT0, 0x8700);
    this.writeLvt(LVT_LINT1, 0x8400);
    this.icrLow = 0x000c4610;
    this.onChange();
  }

  // --- The CPU's side -----------------------------------------------------

  private get hardwareEnabled(): boolean {
    return (this.baseLow & BASE_ENABLE) !== 0;
  }

  /** Whether the 8259's INTR reaches the CPU: APIC disabled in hardware, or LINT0 an unmasked ExtINT. */
  acceptsPicInterrupts(): boolean {
    if (!this.hardwareEnabled) return true;
    const lint0 = this.lvt[LVT_LINT0];
    return (lint0 & LVT_MASKED) === 0 && ((lint0 >> 8) & 7) === DELIVERY_EXTINT;
  }

  /** A vector in IRR whose priority class is above PPR's, the APIC enabled (SDM 10.8.3.1). */
  hasInterrupt(): boolean {
    if (!this.hardwareEnabled || (this.svr & SVR_ENABLE) === 0) return false;
    const vector = highestBit(this.irr);
    return vector >= 0 && (vector & 0xf0) > (this.ppr() & 0xf0);
  }

  /**
   * The interrupt acknowledge: moves the highest IRR vector to ISR and
   * returns it. If nothing qualifies any more (TPR raised in between), the
   * spurious vector from SVR, which sets no ISR bit (SDM 10.9).
   */
  acknowledge(): number {
    if (!this.hasInterrupt()) return this.svr & 0xff;
    const vector = highestBit(this.irr);
    clearBit(this.irr, vector);
    setBit(this.isr, vector);
    this.onChange();
    return vector;
  }

  /** MOV to CR8: TPR[7:4] = CR8[3:0], TPR[3:0] = 0 (SDM 10.8.6.1). */
  setTaskPriorityFromCr8(cr8: number): void {
    this.tpr = (cr8 & 0xf) << 4;
    this.onChange();
  }

  /** MOV from CR8: TPR[7:4]. */
  taskPriorityForCr8(): number {
    return this.tpr >> 4;
  }

  // --- Interrupt sources --------------------------------------------------

  /**
   * A fixed (or lowest-priority) interrupt for this CPU: sets IRR, and TMR
   * if level-triggered (cleared if edge). Vectors 0-15 are illegal: ESR
   * "receive illegal vector" and nothing else (SDM 10.5.3).
   */
  acceptInterrupt(vector: number, levelTriggered: boolean): void {
    vector &= 0xff;
    if (!this.hardwareEnabled) return;
    if (vector < 16) {
      this.logError(ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    setBit(this.irr, vector);
    if (levelTriggered) setBit(this.tmr, vector);
    else clearBit(this.tmr, vector);
    this.onChange();
  }

  /**
   * A message on the APIC bus (from the I/O APIC): accepted if its
   * destination names this APIC (SDM 10.6.2), then as acceptInterrupt.
   */
  acceptMessage(vector: number, levelTriggered: boolean, destination: number, logical: boolean): void {
    if (this.matchesDestination(destination & 0xff, logical)) this.acceptInterrupt(vector, levelTriggered);
  }

  /**
   * Whether an 8-bit destination selects this APIC (SDM 10.6.2). Physical:
   * the APIC ID, or 0xFF (broadcast). Logical: 0xFF is a broadcast; the flat
   * model matches any common LDR bit, the cluster model the cluster (bits
   * 7:4, 0xF = all) and a common member bit. An undefined DFR model: delivered.
   */
  matchesDestination(destination: number, logical: boolean): boolean {
    if (destination === 0xff) return true;
    if (!logical) return destination === this.id;
    if (this.dfrModel === 0xf) return (destination & this.ldr) !== 0;
    if (this.dfrModel === 0x0) {
      const cluster = destination >> 4;
      return (cluster === 0xf || cluster === this.ldr >> 4) && (destination & this.ldr & 0xf) !== 0;
    }
    return true;
  }

  // --- IA32_APIC_BASE MSR -------------------------------------------------

  /** WRMSR 0x1B. BSP (bit 8) is read-only; x2APIC (bit 10) is not offered and stays 0. */
  setBaseMsr(lo: number, hi: number): void {
    const wasEnabled = this.hardwareEnabled;
    const base = lo & 0xfffff000;
    if (base !== (LAPIC_BASE | 0) || (hi & 0xfffff) !== 0) this.baseRelocated = true;
    this.baseLow = base | (this.baseLow & BASE_BSP) | (lo & BASE_ENABLE);
    this.baseHigh = hi & 0xfffff;
    if (wasEnabled && !this.hardwareEnabled) {
      this.resetRegisters();
      this.onChange();
    } else if (!wasEnabled && this.hardwareEnabled) {
      this.onChange();
    }
  }

  /**
   * WRMSR 0x1B from the CPU (its LocalApicLink), after the CPU has refused
   * reserved bits (0-7, 9, 10 and above MAXPHYADDR) with #GP. Never refuses.
   */
  writeBaseMsr(lo: number, hi: number): boolean {
    this.setBaseMsr(lo, hi);
    return true;
  }

  /** RDMSR 0x1B, low half. */
  baseMsrLow(): number {
    return this.baseLow | 0;
  }

  /** RDMSR 0x1B, high half. */
  baseMsrHigh(): number {
    return this.baseHigh;
  }

  // --- MMIO ---------------------------------------------------------------

  read(offset: number, size: number): number {
    if (size !== 4) return 0;
    const index = (offset >> 4) & 0xff;
    switch (index) {
      case 0x02:
        return this.id << 24;
      case 0x03:
        return LAPIC_VERSION;
      case 0x08:
        return this.tpr;
      case 0x09:
        return 0; // APR: no arbitration among one CPU (QEMU reads 0 too)
      case 0x0a:
        return this.ppr();
      case 0x0b:
        return 0; // EOI is write-only
      case 0x0d:
        return this.ldr << 24;
      case 0x0e:
        return (this.dfrModel << 28) | 0x0fffffff;
      case 0x0f:
        return this.svr;
      case 0x28:
        return this.esr;
      case 0x30:
        return this.icrLow;
      case 0x31:
        return this.icrHigh;
      case 0x38:
        return this.initialCount | 0;
      case 0x39:
        return this.currentCount() | 0;
      case 0x3e:
        return this.divideConfig;
    }
    if (index >= 0x10 && index <= 0x17) return this.isr[index - 0x10];
    if (index >= 0x18 && index <= 0x1f) return this.tmr[index - 0x18];
    if (index >= 0x20 && index <= 0x27) return this.irr[index - 0x20];
    if (index >= 0x32 && index <= 0x37) return this.lvt[index - 0x32];
    this.logError(ESR_ILLEGAL_REGISTER);
    return 0;
  }

  write(offset: number, size: number, value: number): void {
    if (size !== 4) return;
    const index = (offset >> 4) & 0xff;
    switch (index) {
      case 0x02:
        this.id = value >>> 24;
        return;
      case 0x08:
        this.tpr = value & 0xff;
        this.onChange();
        return;
      case 0x0b:
        this.endOfInterrupt();
        return;
      case 0x0d:
        this.ldr = value >>> 24;
        return;
      case 0x0e:
        this.dfrModel = value >>> 28;
        return;
      case 0x0f:
        this.writeSvr(value);
        return;
      case 0x28:
        // Write-then-read (SDM 10.5.3): ESR shows what was logged since the last write.
        this.esr = this.pendingErrors;
        this.pendingErrors = 0;
        return;
      case 0x30:
        this.icrLow = value & ICR_LOW_WRITABLE;
        this.sendIpi();
        return;
      case 0x31:
        this.icrHigh = value & 0xff000000;
        return;
      case 0x38:
        this.initialCount = value >>> 0;
        this.loadTime = this.clock.now();
        this.rearmTimer();
        return;
      case 0x3e:
        this.writeDivideConfig(value);
        return;
      case 0x03: // version
      case 0x09: // APR
      case 0x0a: // PPR
      case 0x39: // current count
        return; // read-only: ignored
    }
    if (index >= 0x10 && index <= 0x27) return; // ISR, TMR, IRR: read-only
    if (index >= 0x32 && index <= 0x37) {
      this.writeLvt(index - 0x32, value);
      return;
    }
    this.logError(ESR_ILLEGAL_REGISTER);
  }

  // --- Registers with behaviour -------------------------------------------

  /** PPR (SDM 10.8.3.1): TPR if its class is at least the highest in-service class, else that class. */
  private ppr(): number {
    const isrv = highestBit(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }

  /** EOI (SDM 10.8.5): retire the highest in-service vector; a level one goes on to the I/O APIC. */
  private endOfInterrupt(): void {
    const vector = highestBit(this.isr);
    if (vector < 0) return;
    clearBit(this.isr, vector);
    if (testBit(this.tmr, vector)) this.onLevelEoi(vector);
    this.onChange();
  }

  /** SVR: vector and enable bit (QEMU keeps bits 8:0). Software disable masks every LVT (SDM 10.4.7.2). */
  private writeSvr(value: number): void {
    this.svr = value & 0x1ff;
    if ((this.svr & SVR_ENABLE) === 0) {
      for (let i = 0; i < LVT_COUNT; i++) this.lvt[i] |= LVT_MASKED;
      this.rearmTimer();
    }
    this.onChange();
  }

  /** An LVT entry. While software-disabled the mask bit stays set (SDM 10.4.7.2). */
  private writeLvt(slot: number, value: number): void {
    let entry = value & LVT_WRITABLE[slot];
    if ((this.svr & SVR_ENABLE) === 0) entry |= LVT_MASKED;
    this.lvt[slot] = entry;
    if (slot === LVT_TIMER) this.rearmTimer();
    else if (slot === LVT_LINT0) this.onChange();
  }

  /**
   * ICR low write sends an IPI (SDM 10.6.1). With one CPU only a fixed or
   * lowest-priority IPI that names this APIC (shorthand self or all, or a
   * matching destination) does anything: it sets IRR, edge-triggered; an NMI
   * to itself reaches the CPU's NMI input (the vector is ignored). INIT, SIPI,
   * SMI and IPIs for other CPUs are dropped harmlessly. Delivery
   * status (bit 12) always reads 0: the send completes at once.
   */
  private sendIpi(): void {
    const vector = this.icrLow & 0xff;
    const mode = (this.icrLow >> 8) & 7;
    const shorthand = (this.icrLow >> 18) & 3;
    const logical = (this.icrLow & 0x800) !== 0;
    const toSelf =
      shorthand === 1 || shorthand === 2 || (shorthand === 0 && this.matchesDestination(this.icrHigh >>> 24, logical));
    if (mode === 4 && toSelf && this.onNmi !== null) {
      this.onNmi();
      return;
    }
    if (mode !== 0 && mode !== 1) {
      this.ipisIgnored++;
      return;
    }
    if (vector < 16) {
      this.logError(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    if (toSelf) this.acceptInterrupt(vector, false);
    else this.ipisIgnored++;
  }

  /**
   * Logs an error for ESR and, on the first error since the last ESR write,
   * raises the LVT error interrupt if unmasked (SDM 10.5.3). An illegal error
   * vector is itself only logged.
   */
  private logError(bit: number): void {
    const first = this.pendingErrors === 0;
    this.pendingErrors |= bit;
    const entry = this.lvt[LVT_ERROR];
    if (!first || (entry & LVT_MASKED) !== 0 || !this.hardwareEnabled) return;
    const vector = entry & 0xff;
    if (vector < 16) {
      this.pendingErrors |= ESR_RECEIVE_ILLEGAL_VECTOR;
      return;
    }
    this.acceptInterrupt(vector, false);
  }

  // --- Timer (SDM 10.5.4) -------------------------------------------------

  /** Divide configuration bits 3,1:0: 0b000 = 2, 0b001 = 4, ... 0b110 = 128, 0b111 = 1. */
  private writeDivideConfig(value: number): void {
    const count = this.currentCount();
    this.divideConfig = value & 0xb;
    const code = (this.divideConfig & 3) | ((this.divideConfig >> 1) & 4);
    this.divideShift = (code + 1) & 7;
    // The counter keeps its value and goes on at the new rate.
    if (this.initialCount !== 0) {
      this.loadTime = this.clock.now() - (this.initialCount - count) * 2 ** this.divideShift;
      this.rearmTimer();
    }
  }

  private isPeriodic(): boolean {
    return ((this.lvt[LVT_TIMER] >> 17) & 3) === 1;
  }

  /** The current count, from the time since the initial count was written. */
  private currentCount(): number {
    const initial = this.initialCount;
    if (initial === 0) return 0;
    const ticks = Math.floor((this.clock.now() - this.loadTime) / 2 ** this.divideShift);
    if (this.isPeriodic()) return initial - (ticks % initial);
    return ticks >= initial ? 0 : initial - ticks;
  }

  /** Schedules the next expiry, or none (masked, stopped, a one-shot already spent). */
  private rearmTimer(): void {
    this.clock.cancel(this.timer);
    if ((this.lvt[LVT_TIMER] & LVT_MASKED) !== 0 || this.initialCount === 0) return;
    const period = this.initialCount * 2 ** this.divideShift;
    const elapsed = this.clock.now() - this.loadTime;
    if (this.isPeriodic()) {
      this.clock.schedule(this.timer, this.loadTime + (Math.floor(elapsed / period) + 1) * period);
    } else if (elapsed < period) {
      this.clock.schedule(this.timer, this.loadTime + period);
    }
  }

  private timerExpired(deadline: number): void {
    const entry = this.lvt[LVT_TIMER];
    if ((entry & LVT_MASKED) !== 0 || this.initialCount === 0) return;
    if (this.isPeriodic()) this.clock.schedule(this.timer, deadline + this.initialCount * 2 ** this.divideShift);
    this.acceptInterrupt(entry & 0xff, false);
  }
}

/** The highest set bit of a 256-bit register held as 8 words, or -1. */
function highestBit(words: Int32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = words[i];
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

function setBit(words: Int32Array, bit: number): void {
  words[bit >> 5] |= 1 << (bit & 31);
}

function clearBit(words: Int32Array, bit: number): void {
  words[bit >> 5] &= ~(1 << (bit & 31));
}

function testBit(words: Int32Array, bit: number): boolean {
  return (words[bit >> 5] & (1 << (bit & 31))) !== 0;
}
