// The PC's real-time clock and CMOS RAM: a Motorola MC146818A at ports 0x70
// (index; bit 7 masks NMI) and 0x71 (data), interrupting on IRQ 8. QEMU's
// mc146818rtc is the oracle for what the datasheet leaves open.
//
// Time is never ticked: while the clock runs, the time registers are computed
// from `baseSeconds` (the RTC second that began at machine time `baseNs`) and
// clock.now(). The update-ended (UF), alarm (AF) and periodic (PF) flags of
// register C are computed lazily from the time since they were last settled;
// a TimerEvent is scheduled only for the next edge that would raise IRQ 8,
// and only while no interrupt is pending: as on the chip, the line stays high
// until the guest reads register C, so a guest that never reads C gets one
// interrupt, and lost periodic ticks are dropped (QEMU's "discard" policy).
//
// As in QEMU: the periodic flag is produced only while PIE is set; UF and AF
// are produced whether or not their interrupts are enabled; setting SET clears
// UIE (datasheet, register B bit 7); writing a time register while the clock
// runs sets the time at once, and while SET=1 the written values take effect
// when SET is cleared, keeping the phase of the second. Leaving divider reset
// (register A DV=11x) starts the first update half a second later.
//
// The CMOS bytes a PC BIOS would set are filled in at power-on as QEMU's
// pc_cmos_init does (memory sizes, CPU count, equipment, boot order).

import type { PortDevice } from "../machine/ports.ts";
import { TimerEvent, type MachineClock } from "../machine/clock.ts";
import type { IrqLine } from "../machine/irq.ts";
import { LOW_RAM_LIMIT, LOW_RAM_LIMIT_LARGE } from "../machine/memory-map.ts";

export const RTC_INDEX_PORT = 0x70;
export const RTC_DATA_PORT = 0x71;

// Register indices (datasheet, "Address Map").
export const RTC_SECONDS = 0x00;
export const RTC_SECONDS_ALARM = 0x01;
export const RTC_MINUTES = 0x02;
export const RTC_MINUTES_ALARM = 0x03;
export const RTC_HOURS = 0x04;
export const RTC_HOURS_ALARM = 0x05;
export const RTC_DAY_OF_WEEK = 0x06;
export const RTC_DAY_OF_MONTH = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
export const CMOS_SHUTDOWN_STATUS = 0x0f;
export const CMOS_EQUIPMENT = 0x14;
/** The century byte (ACPI FADT CENTURY), kept in BCD/binary like the year. */
export const RTC_CENTURY = 0x32;
/** IBM PS/2's place for the century; QEMU redirects it to 0x32. */
const RTC_PS2_CENTURY = 0x37;

export const REG_A_UIP = 0x80;
export const REG_B_SET = 0x80;
export const REG_B_PIE = 0x40;
export const REG_B_AIE = 0x20;
export const REG_B_UIE = 0x10;
export const REG_B_SQWE = 0x08;
export const REG_B_DM_BINARY = 0x04;
export const REG_B_24H = 0x02;
export const REG_B_DSE = 0x01;
export const REG_C_IRQF = 0x80;
export const REG_C_PF = 0x40;
export const REG_C_AF = 0x20;
export const REG_C_UF = 0x10;
export const REG_D_VRT = 0x80;

const NS_PER_SECOND = 1_000_000_000;
const SECONDS_PER_DAY = 86400;
/** UIP is set for 8 periods of the 32.768 kHz time base before each update (244 us). */
const UIP_LEAD_NS = (8 * NS_PER_SECOND) / 32768;
const TIME_BASE_HZ = 32768;

export interface CmosRtcOptions {
  /** Wall-clock time at power-on: a Date or ms since the epoch (UTC). */
  startTime: Date | number;
  /** Guest RAM size in bytes, for the memory size bytes. */
  ramBytes: number;
  /** CPU count (CMOS 0x5F holds count - 1); 1 by default. */
  cpus?: number;
}

export class CmosRtc implements PortDevice {
  readonly name = "mc146818-rtc";
  /** The 128 bytes: registers 0x00-0x0D, then battery-backed RAM. */
  readonly cmos = new Uint8Array(128);
  /** Last index written to port 0x70 (bits 6-0). */
  index = 0;
  /** Bit 7 of the last write to port 0x70. */
  nmiDisabled = false;
  /** Level of IRQ 8 as this device drives it. */
  irqLevel = false;

  private readonly clock: MachineClock;
  private readonly irq: IrqLine;
  private readonly event: TimerEvent;
  /** The RTC second (seconds since 1970, in RTC time) that began at baseNs. */
  private baseSeconds = 0;
  /** Machine time at which second `baseSeconds` began; fixes the update phase. */
  private baseNs = 0;
  /** Register C flags are up to date for events up to this machine time. */
  private settledNs = 0;
  /** Machine time of the next alarm match after settledNs; NaN = not computed. */
  private alarmNs = NaN;
  /** The second the time registers were last filled from; NaN = stale. */
  private shownSecond = NaN;

  constructor(clock: MachineClock, irq8: IrqLine, options: CmosRtcOptions) {
    this.clock = clock;
    this.irq = irq8;
    this.event = new TimerEvent("rtc", () => this.onEvent());
    const c = this.cmos;
    c[RTC_REG_A] = 0x26; // DV=010 (32.768 kHz time base), rate 6 (1024 Hz): QEMU's and the BIOS's value
    c[RTC_REG_B] = REG_B_24H; // BCD, 24-hour
    c[RTC_REG_C] = 0;
    c[RTC_REG_D] = REG_D_VRT;
    const ms = options.startTime instanceof Date ? options.startTime.getTime() : options.startTime;
    const now = clock.now();
    this.baseSeconds = Math.floor(ms / 1000);
    this.baseNs = now - (ms - this.baseSeconds * 1000) * 1_000_000;
    this.settledNs = now;
    this.refreshTime();
    this.fillPcBytes(options.ramBytes, options.cpus ?? 1);
  }

  readPort(port: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(port + i) << (8 * i);
    return v >>> 0;
  }

  writePort(port: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(port + i, (value >>> (8 * i)) & 0xff);
  }

  /** Reads CMOS byte `i` as the guest would (time registers current). */
  read(i: number): number {
    const saved = this.index;
    this.index = i & 0x7f;
    const v = this.readByte(RTC_DATA_PORT);
    this.index = saved;
    return v;
  }

  /** Sets a RAM byte directly (for the machine's setup; not for registers 0x00-0x0D). */
  setByte(i: number, value: number): void {
    if (i >= 0x0e && i < 128) this.cmos[i] = value & 0xff;
  }

  private readByte(port: number): number {
    if (port === RTC_INDEX_PORT) return 0xff; // the index register is write-only (QEMU reads 0xFF)
    if (port !== RTC_DATA_PORT) return 0xff;
    let i = this.index;
    if (i === RTC_PS2_CENTURY) i = this.index = RTC_CENTURY;
    if (isTimeRegister(i)) {
      if (this.running()) this.refreshTime();
      return this.cmos[i];
    }
    switch (i) {
      case RTC_REG_A:
        return this.cmos[RTC_REG_A] | (this.updateInProgress() ? REG_A_UIP : 0);
      case RTC_REG_C:
        return this.readRegisterC();
      case RTC_REG_D:
        return REG_D_VRT;
      default:
        return this.cmos[i];
    }
  }

  private writeByte(port: number, v: number): void {
    if (port === RTC_INDEX_PORT) {
      this.index = v & 0x7f;
      this.nmiDisabled = (v & 0x80) !== 0;
      return;
    }
    if (port !== RTC_DATA_PORT) return;
    let i = this.index;
    if (i === RTC_PS2_CENTURY) i = this.index = RTC_CENTURY;
    if (isTimeRegister(i)) {
      if (this.running()) {
        const now = this.clock.now();
        this.settle(now);
        this.refreshTime();
        this.cmos[i] = v;
        this.setBaseFromRegisters(now, this.phase(now));
        this.reschedule(now);
      } else {
        this.cmos[i] = v; // takes effect when SET is cleared
      }
      return;
    }
    switch (i) {
      case RTC_SECONDS_ALARM:
      case RTC_MINUTES_ALARM:
      case RTC_HOURS_ALARM: {
        const now = this.clock.now();
        this.settle(now);
        this.cmos[i] = v;
        this.alarmNs = NaN;
        this.reschedule(now);
        return;
      }
      case RTC_REG_A:
        this.writeRegisterA(v);
        return;
      case RTC_REG_B:
        this.writeRegisterB(v);
        return;
      case RTC_REG_C:
      case RTC_REG_D:
        return; // read-only
      default:
        this.cmos[i] = v;
    }
  }

  // --- Modes -------------------------------------------------------------

  /** The divider chain runs (DV = 000, 001 or 010, as QEMU accepts). */
  private ticking(a = this.cmos[RTC_REG_A]): boolean {
    return (a & 0x70) <= 0x20;
  }

  /** The time advances: dividers running and SET clear. */
  private running(a = this.cmos[RTC_REG_A], b = this.cmos[RTC_REG_B]): boolean {
    return (b & REG_B_SET) === 0 && (a & 0x70) <= 0x20;
  }

  /** ns since the current second began (0 <= phase < 1e9). */
  private phase(now: number): number {
    const p = (now - this.baseNs) % NS_PER_SECOND;
    return p < 0 ? p + NS_PER_SECOND : p;
  }

  private updateInProgress(): boolean {
    return this.running() && this.phase(this.clock.now()) >= NS_PER_SECOND - UIP_LEAD_NS;
  }

  private writeRegisterA(v: number): void {
    const now = this.clock.now();
    this.settle(now);
    const oldA = this.cmos[RTC_REG_A];
    const b = this.cmos[RTC_REG_B];
    if (this.running(oldA, b)) this.refreshTime();
    this.cmos[RTC_REG_A] = v & 0x7f; // UIP is read-only
    const newA = this.cmos[RTC_REG_A];
    if (!this.ticking(oldA) && this.ticking(newA)) {
      // Leaving divider reset: the first update comes 500 ms later (datasheet, DV bits).
      if (this.running(newA, b)) this.setBaseFromRegisters(now, NS_PER_SECOND / 2);
      else this.baseNs = now - NS_PER_SECOND / 2;
    }
    this.alarmNs = NaN;
    this.reschedule(now);
  }

  private writeRegisterB(v: number): void {
    const now = this.clock.now();
    this.settle(now);
    const a = this.cmos[RTC_REG_A];
    const oldB = this.cmos[RTC_REG_B];
    if (this.running(a, oldB)) this.refreshTime();
    if (v & REG_B_SET) v &= ~REG_B_UIE; // setting SET clears UIE (datasheet, register B)
    this.cmos[RTC_REG_B] = v;
    if (!this.running(a, oldB) && this.running(a, v)) this.setBaseFromRegisters(now, this.phase(now));
    this.shownSecond = NaN; // the format may have changed
    // A flag already set when its interrupt becomes enabled interrupts at once;
    // with no enabled flag set the line drops (QEMU's cmos_ioport_write).
    const c = this.cmos[RTC_REG_C];
    if (v & c & 0x70) {
      this.cmos[RTC_REG_C] = c | REG_C_IRQF;
      this.setIrq(true);
    } else {
      this.cmos[RTC_REG_C] = c & ~REG_C_IRQF;
      this.setIrq(false);
    }
    this.alarmNs = NaN;
    this.reschedule(now);
  }

  private readRegisterC(): number {
    const now = this.clock.now();
    this.settle(now);
    const c = this.cmos[RTC_REG_C];
    this.cmos[RTC_REG_C] = 0;
    if (c & REG_C_AF) this.alarmNs = NaN;
    this.setIrq(false);
    this.reschedule(now);
    return c;
  }

  // --- Flags and the interrupt ---------------------------------------------

  /** Sets the register C flags for every update, alarm and periodic edge in (settledNs, now]. */
  private settle(now: number): void {
    const from = this.settledNs;
    if (now <= from) return;
    const a = this.cmos[RTC_REG_A];
    const b = this.cmos[RTC_REG_B];
    let c = this.cmos[RTC_REG_C];
    if (this.ticking(a)) {
      if ((c & REG_C_UF) === 0) {
        if (Math.floor((now - this.baseNs) / NS_PER_SECOND) > Math.floor((from - this.baseNs) / NS_PER_SECOND)) {
          c |= REG_C_UF;
        }
      }
      if ((c & REG_C_AF) === 0 && this.running(a, b)) {
        if (Number.isNaN(this.alarmNs)) this.alarmNs = this.nextAlarm(from);
        if (this.alarmNs <= now) {
          c |= REG_C_AF;
          this.alarmNs = NaN;
        }
      }
      if ((c & REG_C_PF) === 0 && (b & REG_B_PIE) !== 0 && (a & 0x0f) !== 0) {
        if (nextPeriodicEdge(from, a & 0x0f) <= now) c |= REG_C_PF;
      }
    }
    this.cmos[RTC_REG_C] = c;
    this.settledNs = now;
    this.updateIrqFlag();
  }

  /** IRQF = an enabled flag is set (datasheet, register C bit 7); raises IRQ 8 when it becomes set. */
  private updateIrqFlag(): void {
    const c = this.cmos[RTC_REG_C];
    if ((c & REG_C_IRQF) === 0 && (c & this.cmos[RTC_REG_B] & 0x70) !== 0) {
      this.cmos[RTC_REG_C] = c | REG_C_IRQF;
      this.setIrq(true);
    }
  }

  private setIrq(level: boolean): void {
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq(level);
  }

  /** Schedules the earliest edge that would set IRQF, if none is pending. */
  private reschedule(now: number): void {
    const a = this.cmos[RTC_REG_A];
    const b = this.cmos[RTC_REG_B];
    const c = this.cmos[RTC_REG_C];
    let next = Infinity;
    if ((c & REG_C_IRQF) === 0 && this.ticking(a)) {
      if ((b & REG_B_UIE) !== 0 && (c & REG_C_UF) === 0) {
        next = this.baseNs + (Math.floor((now - this.baseNs) / NS_PER_SECOND) + 1) * NS_PER_SECOND;
      }
      if ((b & REG_B_AIE) !== 0 && (c & REG_C_AF) === 0 && this.running(a, b)) {
        if (Number.isNaN(this.alarmNs)) this.alarmNs = this.nextAlarm(this.settledNs);
        if (this.alarmNs < next) next = this.alarmNs;
      }
      if ((b & REG_B_PIE) !== 0 && (c & REG_C_PF) === 0 && (a & 0x0f) !== 0) {
        const edge = nextPeriodicEdge(now, a & 0x0f);
        if (edge < next) next = edge;
      }
    }
    if (next === Infinity) this.clock.cancel(this.event);
    else if (next !== this.event.deadline) this.clock.schedule(this.event, next);
  }

  private onEvent(): void {
    const now = this.clock.now();
    this.settle(now);
    this.reschedule(now);
  }

  // --- Time registers ------------------------------------------------------

  private currentSecond(now: number): number {
    return this.baseSeconds + Math.floor((now - this.baseNs) / NS_PER_SECOND);
  }

  /** Fills registers 0-9 and the century from the running clock. */
  private refreshTime(): void {
    const s = this.currentSecond(this.clock.now());
    if (s === this.shownSecond) return;
    this.shownSecond = s;
    const days = Math.floor(s / SECONDS_PER_DAY);
    let tod = s - days * SECONDS_PER_DAY;
    const hour = Math.floor(tod / 3600);
    tod -= hour * 3600;
    const minute = Math.floor(tod / 60);
    const second = tod - minute * 60;
    civilFromDays(days, civil);
    const c = this.cmos;
    c[RTC_SECONDS] = this.encode(second);
    c[RTC_MINUTES] = this.encode(minute);
    if (c[RTC_REG_B] & REG_B_24H) {
      c[RTC_HOURS] = this.encode(hour);
    } else {
      // 12-hour mode: 12, 1..11 with bit 7 = PM (datasheet, "Time, Calendar and Alarm Data Modes").
      c[RTC_HOURS] = this.encode(hour % 12 === 0 ? 12 : hour % 12) | (hour >= 12 ? 0x80 : 0);
    }
    c[RTC_DAY_OF_WEEK] = this.encode((((days + 4) % 7) + 7) % 7 + 1); // 1 = Sunday; 1970-01-01 was a Thursday
    c[RTC_DAY_OF_MONTH] = this.encode(civil[2]);
    c[RTC_MONTH] = this.encode(civil[1]);
    c[RTC_YEAR] = this.encode(civil[0] % 100);
    c[RTC_CENTURY] = this.encode(Math.floor(civil[0] / 100));
  }

  /** The clock restarts from what the time registers hold, `phase` ns into a second. */
  private setBaseFromRegisters(now: number, phase: number): void {
    const c = this.cmos;
    const second = this.decode(c[RTC_SECONDS]);
    const minute = this.decode(c[RTC_MINUTES]);
    let hour = this.decode(c[RTC_HOURS] & 0x7f);
    if ((c[RTC_REG_B] & REG_B_24H) === 0) hour = (hour % 12) + (c[RTC_HOURS] & 0x80 ? 12 : 0);
    const year = this.decode(c[RTC_CENTURY]) * 100 + this.decode(c[RTC_YEAR]);
    const days = daysFromCivil(year, this.decode(c[RTC_MONTH]), this.decode(c[RTC_DAY_OF_MONTH]));
    this.baseSeconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    this.baseNs = now - phase;
    this.shownSecond = NaN;
    this.alarmNs = NaN;
  }

  private encode(v: number): number {
    return this.cmos[RTC_REG_B] & REG_B_DM_BINARY ? v : ((v / 10) << 4) | v % 10;
  }

  private decode(v: number): number {
    return this.cmos[RTC_REG_B] & REG_B_DM_BINARY ? v : (v >> 4) * 10 + (v & 0x0f);
  }

  /** An alarm byte: -1 for "don't care" (11xxxxxx, datasheet), else its value. */
  private alarmField(v: number): number {
    return (v & 0xc0) === 0xc0 ? -1 : this.decode(v);
  }

  /** Machine time of the first update after `after` whose new time matches the alarm. */
  private nextAlarm(after: number): number {
    const c = this.cmos;
    const as = this.alarmField(c[RTC_SECONDS_ALARM]);
    const am = this.alarmField(c[RTC_MINUTES_ALARM]);
    const rawHour = c[RTC_HOURS_ALARM];
    let ah = this.alarmField(rawHour);
    if (ah >= 0 && (c[RTC_REG_B] & REG_B_24H) === 0) {
      ah = (this.decode(rawHour & 0x7f) % 12) + (rawHour & 0x80 ? 12 : 0); // 12-hour: bit 7 = PM
    }
    const k = Math.floor((after - this.baseNs) / NS_PER_SECOND);
    const s = this.baseSeconds + k;
    const tod = ((s % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY;
    const d = secondsUntilMatch(tod, ah, am, as);
    return d === Infinity ? Infinity : this.baseNs + (k + d) * NS_PER_SECOND;
  }

  // --- PC CMOS bytes -------------------------------------------------------

  private fillPcBytes(ramBytes: number, cpus: number): void {
    const c = this.cmos;
    const below4g = ramBytes <= LOW_RAM_LIMIT ? ramBytes : LOW_RAM_LIMIT_LARGE;
    const above4g = ramBytes - below4g;
    const KiB = 1024;
    const MiB = 1024 * KiB;
    const base = Math.min(Math.floor(below4g / KiB), 640);
    c[0x15] = base & 0xff;
    c[0x16] = base >> 8;
    const ext = below4g > MiB ? Math.min(Math.floor((below4g - MiB) / KiB), 65535) : 0;
    c[0x17] = c[0x30] = ext & 0xff;
    c[0x18] = c[0x31] = ext >> 8;
    const above16m = below4g > 16 * MiB ? Math.min(Math.floor((below4g - 16 * MiB) / (64 * KiB)), 65535) : 0;
    c[0x34] = above16m & 0xff;
    c[0x35] = above16m >> 8;
    const high = Math.floor(above4g / (64 * KiB));
    c[0x5b] = high & 0xff;
    c[0x5c] = (high >>> 8) & 0xff;
    c[0x5d] = (high >>> 16) & 0xff;
    c[0x5f] = (cpus - 1) & 0xff;
    c[0x10] = 0x00; // no floppy drives
    c[CMOS_EQUIPMENT] = 0x06; // FPU present (bit 1), PS/2 mouse (bit 2), no floppies
    c[0x3d] = 0x12; // boot order "cad": first hard disk (2), then floppy (1)
    c[0x38] = 0x30; // third boot device CD-ROM (3); floppy boot signature check on
  }
}

/** Scratch for civilFromDays: [year, month 1-12, day 1-31]. */
const civil = new Int32Array(3);

/** Proleptic Gregorian date of a day number (0 = 1970-01-01), into `out`. */
function civilFromDays(days: number, out: Int32Array): void {
  // Shift to a calendar whose years start on March 1st, in 400-year eras.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  out[0] = yoe + era * 400 + (month <= 2 ? 1 : 0);
  out[1] = month;
  out[2] = day;
}

/** Day number (0 = 1970-01-01) of a proleptic Gregorian date. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Seconds (1..86400) from time of day `tod` to the next time of day whose
 * hour, minute and second match (-1 matches anything); Infinity if none does.
 */
function secondsUntilMatch(tod: number, hour: number, minute: number, second: number): number {
  const end = tod + 1 + SECONDS_PER_DAY;
  for (let t = tod + 1; t < end; ) {
    const d = t % SECONDS_PER_DAY;
    const h = Math.floor(d / 3600);
    const m = Math.floor(d / 60) % 60;
    const s = d % 60;
    if (hour >= 0 && h !== hour) {
      t += 3600 - (d % 3600);
      continue;
    }
    if (minute >= 0 && m !== minute) {
      t += 60 - s;
      continue;
    }
    if (second >= 0 && s !== second) {
      t += second > s && second < 60 ? second - s : 60 - s;
      continue;
    }
    return t - tod;
  }
  return Infinity;
}

/** The periodic interrupt's period in 32.768 kHz cycles for rate select 1-15 (datasheet table 3). */
export function periodicCycles(rate: number): number {
  return rate <= 2 ? 1 << (rate + 6) : 1 << (rate - 1);
}

/** Machine time of the first periodic edge strictly after `t` (edges on multiples of the period since power-on). */
function nextPeriodicEdge(t: number, rate: number): number {
  const cycles = periodicCycles(rate);
  const sec = Math.floor(t / NS_PER_SECOND);
  const tick = sec * TIME_BASE_HZ + Math.floor(((t - sec * NS_PER_SECOND) * TIME_BASE_HZ) / NS_PER_SECOND);
  const next = (Math.floor(tick / cycles) + 1) * cycles;
  const nextSec = Math.floor(next / TIME_BASE_HZ);
  return nextSec * NS_PER_SECOND + Math.ceil(((next - nextSec * TIME_BASE_HZ) * NS_PER_SECOND) / TIME_BASE_HZ);
}

/** The registers that hold the time and date (seconds to year, and the century byte). */
function isTimeRegister(i: number): boolean {
  return (
    i === RTC_SECONDS || i === RTC_MINUTES || i === RTC_HOURS || i === RTC_DAY_OF_WEEK ||
    i === RTC_DAY_OF_MONTH || i === RTC_MONTH || i === RTC_YEAR || i === RTC_CENTURY
  );
}
