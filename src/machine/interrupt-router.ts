// How the PC's interrupt lines reach the CPU.
//
// ISA IRQ n is wired to 8259 input n and to I/O APIC pin n, except IRQ 0 (the
// PIT), which reaches pin 2: the override every PC's MADT and MP table
// declare. The I/O APIC sends its messages to the local APIC. The 8259's INT
// output reaches the CPU through LINT0 when the local APIC lets it (LINT0
// unmasked in ExtINT mode, the virtual-wire mode the BIOS sets, or the APIC
// hardware-disabled; SDM Vol. 3A 10.5.1, MP spec 3.6.2.2).
//
// The router keeps the CPU's `interruptRequested` flag equal to "some
// controller has an interrupt for the CPU", re-evaluated only when a
// controller says its output may have changed, and answers the CPU's INTA.

import type { Cpu, InterruptController } from "../cpu/cpu.ts";
import type { MachineClock } from "./clock.ts";

export interface LegacyPic {
  setIrq(irq: number, level: boolean): void;
  hasInterrupt(): boolean;
  acknowledge(): number;
}

export interface ApicForRouter {
  hasInterrupt(): boolean;
  acknowledge(): number;
  acceptsPicInterrupts(): boolean;
}

export interface IoApicForRouter {
  setIrq(pin: number, level: boolean): void;
}

/** ISA IRQ 0 reaches I/O APIC pin 2 (ACPI interrupt source override, MP spec). */
export function isaIrqToIoApicPin(irq: number): number {
  return irq === 0 ? 2 : irq;
}

export class InterruptRouter implements InterruptController {
  private readonly cpu: Cpu;
  private readonly clock: MachineClock;
  private readonly pic: LegacyPic;
  private readonly lapic: ApicForRouter;
  private readonly ioapic: IoApicForRouter;
  /** Whether host input (serial or keyboard) may still arrive to wake a halted CPU. */
  inputOpen = false;
  /** Virtual ns skipped while halted, and the instruction slots that stands for, since last read. */
  idleInstructions = 0;
  /** Interrupts acknowledged from the local APIC and from the 8259 (INTA cycles that gave a vector). */
  apicInterrupts = 0;
  picInterrupts = 0;

  constructor(cpu: Cpu, clock: MachineClock, pic: LegacyPic, lapic: ApicForRouter, ioapic: IoApicForRouter) {
    this.cpu = cpu;
    this.clock = clock;
    this.pic = pic;
    this.lapic = lapic;
    this.ioapic = ioapic;
  }

  /** An ISA device's IRQ line changed. */
  setIsaIrq(irq: number, level: boolean): void {
    this.pic.setIrq(irq, level);
    this.ioapic.setIrq(isaIrqToIoApicPin(irq), level);
  }

  /** A controller's output may have changed: recompute the CPU's request flag. */
  update(): void {
    const cpu = this.cpu;
    cpu.interruptRequested =
      (cpu.nmiPending && !cpu.nmiBlocked) || this.lapic.hasInterrupt() || (this.pic.hasInterrupt() && this.lapic.acceptsPicInterrupts());
  }

  acknowledge(): number {
    let vector = -1;
    if (this.lapic.hasInterrupt()) {
      vector = this.lapic.acknowledge();
      this.apicInterrupts++;
    } else if (this.pic.hasInterrupt() && this.lapic.acceptsPicInterrupts()) {
      vector = this.pic.acknowledge();
      this.picInterrupts++;
    }
    this.update();
    return vector;
  }

  canInterrupt(): boolean {
    return true;
  }

  /**
   * The CPU is halted with IF=1. Virtual time: jump to the next timer event
   * and fire it, charging the skipped time to the run's budget so that a
   * guest idling forever still returns control. Returns false when only host
   * time or host input can wake it (the caller waits, then runs again).
   */
  waitForInterrupt(): boolean {
    const skipped = this.clock.skipToNextEvent();
    if (skipped < 0) return false;
    const slots = Math.max(1, Math.ceil(skipped / this.clock.nsPerInstruction));
    this.idleInstructions += slots;
    const cpu = this.cpu;
    cpu.remaining = cpu.remaining > slots ? cpu.remaining - slots : 0;
    return true;
  }
}
