// The machine's time, in nanoseconds since power-on, and the timer events
// devices schedule on it.
//
// Virtual time (the default, QEMU's `-icount` idea): every retired guest
// instruction advances time by 2^shift ns (32 ns unless -icount says), and while the CPU is halted time
// jumps straight to the next event. A run is then the same every time.
// Host time (`--clock host`): time follows the host's monotonic clock.
//
// Devices never poll per instruction: they compute what a register reads
// from now(), and schedule a TimerEvent for the moment something must happen
// (an IRQ edge, a timer expiring). The machine runs the CPU in chunks that end
// at the next deadline and fires due events between chunks; scheduling an
// event earlier than the current chunk's end shortens the chunk.

export type ClockMode = "virtual" | "host";

/**
 * The default virtual rate: 2^5 = 32 ns per instruction, about what cr3
 * retires per host second, so guest time stays near wall time (timer ticks,
 * busy-wait delays and calibration loops take the time the guest expects).
 */
export const DEFAULT_ICOUNT_SHIFT = 5;

/** Something that counts retired instructions (the CPU). */
export interface InstructionCounter {
  icount: number;
}

export class TimerEvent {
  /** When it fires, in ns; Infinity when not scheduled. */
  deadline = Infinity;
  constructor(
    readonly name: string,
    /** Called with the deadline it was scheduled for (not the time it ran). */
    readonly fire: (deadline: number) => void,
  ) {}
}

export class MachineClock {
  readonly mode: ClockMode;
  /** Virtual time: ns per instruction is 2^shift. */
  readonly shift: number;
  readonly nsPerInstruction: number;
  /** Virtual ns skipped while the CPU was halted. */
  private idleNs = 0;
  private counter: InstructionCounter = { icount: 0 };
  private readonly hostStart: number;
  private readonly events: TimerEvent[] = [];
  /** The earliest deadline among `events`. */
  private next = Infinity;
  /**
   * Called when an event is scheduled earlier than the previous earliest
   * deadline, so that the machine can cut the running chunk short.
   */
  onEarlierDeadline: ((deadline: number) => void) | null = null;

  constructor(mode: ClockMode = "virtual", shift = DEFAULT_ICOUNT_SHIFT) {
    if (!Number.isInteger(shift) || shift < 0 || shift > 10) throw new RangeError(`icount shift must be 0..10, got ${shift}`);
    this.mode = mode;
    this.shift = shift;
    this.nsPerInstruction = 2 ** shift;
    this.hostStart = performance.now();
  }

  /** Virtual ns skipped while the CPU was halted, since power-on. */
  get idleNanoseconds(): number {
    return this.idleNs;
  }

  /** Time follows this counter's instructions (virtual mode). */
  attach(counter: InstructionCounter): void {
    this.counter = counter;
  }

  /** Nanoseconds since power-on. */
  now(): number {
    if (this.mode === "host") return Math.floor((performance.now() - this.hostStart) * 1e6);
    return this.idleNs + this.counter.icount * this.nsPerInstruction;
  }

  /** Schedules (or moves) `event` to fire at `deadline` ns. */
  schedule(event: TimerEvent, deadline: number): void {
    if (event.deadline === Infinity) this.events.push(event);
    event.deadline = deadline;
    if (deadline < this.next) {
      this.next = deadline;
      if (this.onEarlierDeadline !== null) this.onEarlierDeadline(deadline);
    } else {
      this.recomputeNext();
    }
  }

  cancel(event: TimerEvent): void {
    if (event.deadline === Infinity) return;
    event.deadline = Infinity;
    const i = this.events.indexOf(event);
    if (i >= 0) this.events.splice(i, 1);
    this.recomputeNext();
  }

  /** The earliest deadline, or Infinity. */
  nextDeadline(): number {
    return this.next;
  }

  /** Virtual time: instructions until `deadline` (at least 1); host time: Infinity. */
  instructionsUntil(deadline: number): number {
    if (this.mode === "host" || deadline === Infinity) return Infinity;
    const ns = deadline - this.now();
    return ns <= 0 ? 1 : Math.ceil(ns / this.nsPerInstruction);
  }

  /** Fires every event whose deadline has passed, earliest first. Returns how many fired. */
  runDue(): number {
    let fired = 0;
    for (;;) {
      const now = this.now();
      if (this.next > now) return fired;
      let earliest: TimerEvent | null = null;
      for (const e of this.events) if (earliest === null || e.deadline < earliest.deadline) earliest = e;
      if (earliest === null) {
        this.next = Infinity;
        return fired;
      }
      const deadline = earliest.deadline;
      this.cancel(earliest);
      earliest.fire(deadline);
      fired++;
    }
  }

  /**
   * The CPU is halted: virtual time jumps to the next event, which then
   * fires. Returns the ns skipped, or -1 if no event is scheduled (or in host
   * mode, where the caller must wait in real time).
   */
  skipToNextEvent(): number {
    if (this.mode === "host" || this.next === Infinity) return -1;
    const skipped = Math.max(0, this.next - this.now());
    this.idleNs += skipped;
    this.runDue();
    return skipped;
  }

  private recomputeNext(): void {
    let next = Infinity;
    for (const e of this.events) if (e.deadline < next) next = e.deadline;
    this.next = next;
  }
}
