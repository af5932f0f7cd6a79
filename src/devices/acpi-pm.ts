// The ACPI fixed-hardware registers of a PIIX4-style power-management
// function, at the I/O addresses QEMU's pc machine uses (its firmware sets
// the PM base to 0x600): the PM1a event block (status and enable), the PM1a
// control block (SCI_EN, SLP_TYP, SLP_EN), the 24-bit PM timer, the GPE0
// block at 0xAFE0, and the APM control port 0xB2 through which a kernel asks
// for ACPI mode (ACPI 6.4, 4.8 "ACPI Hardware Features" and 5.2.9 "FADT").
//
// Sleep states, as QEMU's acpi_pm1_cnt_write (hw/acpi/core.c) and its DSDT
// values: writing PM1a_CNT with SLP_EN (bit 13) set and SLP_TYP (bits 12:10)
// 0 (\_S5_, soft-off) or 2 (\_S4_, which QEMU treats as a shutdown too) calls
// onPowerOff; SLP_TYP 1 (\_S3_, suspend to RAM) calls onSuspend. QEMU's pc
// machine then stops the CPU until system_wakeup, an enabled RTC alarm or
// PM timer event, or a key press wakes it, by a reset into the BIOS's resume
// path; cr3 has no BIOS to resume through, so the machine ends the run there.
// Other types do nothing. The PM timer counts at 3.579545 MHz from MachineClock.now(); it
// is computed when read. TMR_STS is set whenever the timer's bit 23 changes
// (ACPI 4.8.3.3); with TMR_EN set the device schedules one TimerEvent for the
// next such change, so nothing runs per instruction. The SCI line follows
// (PM1_STS & PM1_EN) | (GPE0_STS & GPE0_EN), level-triggered, as QEMU's.

import type { MachineClock } from "../machine/clock.ts";
import { TimerEvent } from "../machine/clock.ts";
import type { IrqLine } from "../machine/irq.ts";
import type { PortDevice } from "../machine/ports.ts";

/** PM I/O base (PIIX4 PMBA as QEMU's firmware programs it). */
export const ACPI_PM_BASE = 0x600;
export const PM1A_EVT_BLK = ACPI_PM_BASE; // PM1_STS (2 bytes), PM1_EN (2 bytes)
export const PM1A_CNT_BLK = ACPI_PM_BASE + 4; // PM1_CNT (2 bytes)
export const PM_TMR_BLK = ACPI_PM_BASE + 8; // PM_TMR (4 bytes, 24 bits used)
/** Ports claimed from ACPI_PM_BASE: the event, control and timer blocks. */
export const ACPI_PM_PORTS = 12;
/** GPE0 block: GPE0_STS (2 bytes), GPE0_EN (2 bytes), as QEMU's PIIX4. */
export const GPE0_BLK = 0xafe0;
export const GPE0_BLK_LEN = 4;
/** The APM control (SMI command) port and its status companion. */
export const SMI_CMD_PORT = 0xb2;
export const APM_STATUS_PORT = 0xb3;
/** Values written to SMI_CMD to enter and leave ACPI mode (QEMU's). */
export const ACPI_ENABLE_VALUE = 0xf1;
export const ACPI_DISABLE_VALUE = 0xf0;
/** The SCI's ISA IRQ. */
export const SCI_IRQ = 9;
/** SLP_TYP for soft-off: the first element of the DSDT's \_S5_ package. */
export const S5_SLEEP_TYPE = 0;
/** SLP_TYP for suspend to RAM (\_S3_) and to disk (\_S4_), QEMU's values. */
export const S3_SLEEP_TYPE = 1;
export const S4_SLEEP_TYPE = 2;
/** ACPI PM timer frequency (ACPI 4.8.3.3). */
export const PM_TIMER_HZ = 3579545;

// PM1_STS / PM1_EN bits (ACPI 4.8.3.1).
export const TMR_STS = 1 << 0;
export const BM_STS = 1 << 4;
export const GBL_STS = 1 << 5;
export const PWRBTN_STS = 1 << 8;
export const SLPBTN_STS = 1 << 9;
export const RTC_STS = 1 << 10;
export const WAK_STS = 1 << 15;
export const TMR_EN = 1 << 0;
/** The PM1_EN bits that exist (QEMU's ACPI_BITMASK_PM1_COMMON_ENABLED). */
const PM1_EN_MASK = TMR_EN | (1 << 5) | (1 << 8) | (1 << 9) | (1 << 10);
// PM1_CNT bits (ACPI 4.8.3.2.1).
export const SCI_EN = 1 << 0;
export const SLP_EN = 1 << 13;
const SLP_TYP_SHIFT = 10;

const NS_PER_SECOND = 1e9;
const TIMER_BIT23 = 1 << 23;

export class AcpiPmPorts implements PortDevice {
  readonly name = "acpi-pm";
  private readonly clock: MachineClock;
  private readonly sci: IrqLine | null;
  /** PM1_STS bits other than TMR_STS, which is computed. */
  private status = 0;
  /** Timer ticks when TMR_STS was last cleared: set once bit 23 has changed since. */
  private timerStatusSince = 0;
  enable = 0;
  /** PM1_CNT as last written, SLP_EN excluded (it reads 0). */
  control = 0;
  gpeStatus = 0;
  gpeEnable = 0;
  /** The last byte written to SMI_CMD and to the APM status port. */
  apmControl = 0;
  apmStatus = 0;
  private sciLevel = false;
  private readonly timerEvent: TimerEvent;
  /** True once the guest has asked for soft-off (S5, or S4). */
  poweredOff = false;
  /** True once the guest has entered S3. */
  suspended = false;
  /** Called when the guest enters S5 (soft-off) or S4. */
  onPowerOff: (() => void) | null = null;
  /** Called when the guest enters S3 (suspend to RAM). */
  onSuspend: (() => void) | null = null;
  /** Called on SLP_EN with any other SLP_TYP (the sleep type written). */
  onSleep: ((sleepType: number) => void) | null = null;

  constructor(clock: MachineClock, sci: IrqLine | null = null) {
    this.clock = clock;
    this.sci = sci;
    this.timerEvent = new TimerEvent("acpi-pm-timer", () => this.updateSci());
  }

  /** Claims 0x600-0x60B, 0xAFE0-0xAFE3 and 0xB2-0xB3 on `ports`. */
  attach(ports: { register(first: number, count: number, device: PortDevice): void }): void {
    ports.register(ACPI_PM_BASE, ACPI_PM_PORTS, this);
    ports.register(GPE0_BLK, GPE0_BLK_LEN, this);
    ports.register(SMI_CMD_PORT, 2, this);
  }

  /** Timer ticks since power-on (exact while below 2^53). */
  ticks(): number {
    const ns = this.clock.now();
    const seconds = Math.floor(ns / NS_PER_SECOND);
    const rest = ns - seconds * NS_PER_SECOND;
    return seconds * PM_TIMER_HZ + Math.floor((rest * PM_TIMER_HZ) / NS_PER_SECOND);
  }

  /** PM_TMR: the 24-bit counter (TMR_VAL_EXT is 0 in the FADT). */
  timerValue(): number {
    return this.ticks() % 0x1000000;
  }

  /** PM1_STS with TMR_STS computed from the clock. */
  pm1Status(): number {
    const changed = Math.floor(this.ticks() / TIMER_BIT23) > Math.floor(this.timerStatusSince / TIMER_BIT23);
    return this.status | (changed ? TMR_STS : 0);
  }

  readPort(port: number, size: number): number {
    let v = 0;
    for (let k = size - 1; k >= 0; k--) v = v * 256 + this.readByte(port + k);
    return v;
  }

  writePort(port: number, size: number, value: number): void {
    const offset = port - ACPI_PM_BASE;
    // Whole 16-bit registers at once, so that SLP_TYP and SLP_EN written in
    // one OUT act together; bytes otherwise.
    if (offset >= 0 && offset < 8 && (offset & 1) === 0 && size >= 2) {
      this.writeRegister(offset, value & 0xffff, 0xffff);
      if (size === 4) this.writeRegister(offset + 2, (value >>> 16) & 0xffff, 0xffff);
      return;
    }
    for (let k = 0; k < size; k++) this.writeByte(port + k, (value >>> (8 * k)) & 0xff);
  }

  private readByte(port: number): number {
    const offset = port - ACPI_PM_BASE;
    if (offset >= 0 && offset < ACPI_PM_PORTS) {
      let reg: number;
      if (offset < 2) reg = this.pm1Status();
      else if (offset < 4) reg = this.enable;
      else if (offset < 6) reg = this.control;
      else if (offset < 8) reg = 0; // PM1b / reserved
      else return Math.floor(this.timerValue() / 2 ** (8 * (offset - 8))) & 0xff;
      return (reg >>> (8 * (offset & 1))) & 0xff;
    }
    const gpe = port - GPE0_BLK;
    if (gpe >= 0 && gpe < GPE0_BLK_LEN) {
      const reg = gpe < 2 ? this.gpeStatus : this.gpeEnable;
      return (reg >>> (8 * (gpe & 1))) & 0xff;
    }
    if (port === SMI_CMD_PORT) return this.apmControl;
    if (port === APM_STATUS_PORT) return this.apmStatus;
    return 0xff;
  }

  private writeByte(port: number, byte: number): void {
    const offset = port - ACPI_PM_BASE;
    if (offset >= 0 && offset < ACPI_PM_PORTS) {
      if (offset < 8) this.writeRegister(offset & ~1, byte << (8 * (offset & 1)), 0xff << (8 * (offset & 1)));
      return; // the timer is read-only
    }
    const gpe = port - GPE0_BLK;
    if (gpe >= 0 && gpe < GPE0_BLK_LEN) {
      const shift = 8 * (gpe & 1);
      if (gpe < 2) this.gpeStatus &= ~(byte << shift); // write 1 to clear
      else this.gpeEnable = (this.gpeEnable & ~(0xff << shift)) | (byte << shift);
      this.updateSci();
      return;
    }
    if (port === SMI_CMD_PORT) {
      this.apmControl = byte;
      // QEMU's PIIX4: the ACPI enable/disable commands set or clear SCI_EN
      // (ACPI 4.8.2.5, legacy/ACPI mode transition).
      if (byte === ACPI_ENABLE_VALUE) this.control |= SCI_EN;
      else if (byte === ACPI_DISABLE_VALUE) this.control &= ~SCI_EN;
      return;
    }
    if (port === APM_STATUS_PORT) this.apmStatus = byte;
  }

  /** A write of the bytes in `mask` to the 16-bit register at `offset` (0, 2, 4 or 6). */
  private writeRegister(offset: number, value: number, mask: number): void {
    const v = value & mask;
    switch (offset) {
      case 0: // PM1_STS: write 1 to clear
        if (v & TMR_STS) this.timerStatusSince = this.ticks();
        this.status &= ~v;
        break;
      case 2:
        this.enable = ((this.enable & ~mask) | v) & PM1_EN_MASK;
        break;
      case 4: {
        this.control = ((this.control & ~mask) | v) & ~SLP_EN;
        if (v & SLP_EN) {
          const sleepType = (((this.control & ~mask) | v) >>> SLP_TYP_SHIFT) & 7;
          if (sleepType === S5_SLEEP_TYPE || sleepType === S4_SLEEP_TYPE) {
            this.poweredOff = true;
            if (this.onPowerOff !== null) this.onPowerOff();
          } else if (sleepType === S3_SLEEP_TYPE) {
            this.suspended = true;
            if (this.onSuspend !== null) this.onSuspend();
          } else if (this.onSleep !== null) {
            this.onSleep(sleepType);
          }
        }
        break;
      }
      default:
        break; // PM1b control: absent
    }
    this.updateSci();
  }

  /** Raises a fixed event (PWRBTN_STS, SLPBTN_STS, RTC_STS...) as the hardware would. */
  raiseStatus(bits: number): void {
    this.status |= bits & ~TMR_STS;
    this.updateSci();
  }

  /** Sets a GPE0 status bit. */
  raiseGpe(bit: number): void {
    this.gpeStatus |= 1 << bit;
    this.updateSci();
  }

  /** The SCI level, and the timer event while TMR_EN waits for the next bit-23 change. */
  private updateSci(): void {
    const sts = this.pm1Status();
    const level = (sts & this.enable) !== 0 || (this.gpeStatus & this.gpeEnable) !== 0;
    if (level !== this.sciLevel) {
      this.sciLevel = level;
      if (this.sci !== null) this.sci(level);
    }
    if ((this.enable & TMR_EN) !== 0 && (sts & TMR_STS) === 0) {
      const next = (Math.floor(this.ticks() / TIMER_BIT23) + 1) * TIMER_BIT23;
      // The first nanosecond at which ticks() reaches `next`.
      const seconds = Math.floor(next / PM_TIMER_HZ);
      const rest = next - seconds * PM_TIMER_HZ;
      const deadline = seconds * NS_PER_SECOND + Math.ceil((rest * NS_PER_SECOND) / PM_TIMER_HZ);
      if (this.timerEvent.deadline !== deadline) this.clock.schedule(this.timerEvent, deadline);
    } else {
      this.clock.cancel(this.timerEvent);
    }
  }
}
