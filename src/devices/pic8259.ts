// The PC's two 8259A programmable interrupt controllers: the master at
// 0x20/0x21 takes IRQ 0-7, the slave at 0xA0/0xA1 takes IRQ 8-15 and drives
// the master's IR2. The PIIX edge/level control registers (ELCR) sit at
// 0x4D0/0x4D1. Behaviour follows the Intel 8259A datasheet; where the
// datasheet leaves a choice, QEMU's i8259 (the oracle for ROM goldens) decides.
//
// Lines are tracked at their real level. An edge-triggered IR latches its IRR
// bit on a rising edge and keeps it until the INTA cycle, even if the line
// drops before (QEMU does the same; the PIT and other sources pulse their
// line). A level-triggered IR (ELCR bit, or ICW1 LTIM for the whole chip) has
// its IRR bit follow the line, so a request that vanishes before INTA gives a
// spurious IRQ 7 (vector base + 7, no ISR bit set).
//
// The slave is hard-wired to the master's IR2 whatever ICW3 says (as on every
// PC); the IRQ 2 input of setIrq is that cascade and cannot be driven.

import type { PortBus, PortDevice } from "../machine/ports.ts";

export const PIC_MASTER_BASE = 0x20;
export const PIC_SLAVE_BASE = 0xa0;
export const ELCR_BASE = 0x4d0;
/** The master input the slave's INT drives. */
export const CASCADE_IR = 2;

/** One 8259A. */
class Pic8259 {
  /** Interrupt request register. */
  irr = 0;
  /** Interrupt mask register (OCW1). */
  imr = 0;
  /** In-service register. */
  isr = 0;
  /** The current level of the eight IR inputs. */
  lines = 0;
  /** PIIX edge/level control: 1 = level-triggered. */
  elcr = 0;
  /** ICW1 LTIM: every input level-triggered. */
  levelTriggeredChip = false;
  /** ICW2 T7-T3. */
  vectorBase = 0;
  /** 0 = operational; 2, 3, 4 = the ICW expected next on the data port. */
  initStep = 0;
  icw4Needed = false;
  singleMode = false;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  /** OCW3 RIS: the command port reads the ISR (else the IRR). */
  readIsr = false;
  /** OCW3 P: the next read is a poll. */
  pollPending = false;
  /** OCW3 SMM. */
  specialMask = false;
  /** The IR that currently has the highest priority (0 until rotated). */
  highestPriorityIr = 0;

  constructor(
    readonly isMaster: boolean,
    /** ELCR bits that can be set (PIIX: not IRQ 0, 1, 2, 8, 13). */
    readonly elcrWritable: number,
  ) {}

  levelMask(): number {
    return this.levelTriggeredChip ? 0xff : this.elcr;
  }

  setLine(ir: number, level: boolean): void {
    const bit = 1 << ir;
    if (level) {
      // A rising edge latches in either mode; a level line is already in IRR.
      if ((this.lines & bit) === 0) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
      if ((this.levelMask() & bit) !== 0) this.irr &= ~bit;
    }
  }

  /** Level-triggered IRR bits follow their lines (after ELCR or LTIM change). */
  resyncLevelLines(): void {
    const level = this.levelMask();
    this.irr = (this.irr & ~level) | (this.lines & level);
  }

  /** The IR in `mask` with the highest priority, or -1. */
  highestIn(mask: number): number {
    if ((mask & 0xff) === 0) return -1;
    for (let i = 0; i < 8; i++) {
      const ir = (this.highestPriorityIr + i) & 7;
      if ((mask & (1 << ir)) !== 0) return ir;
    }
    return -1;
  }

  /** Priority rank of `ir`: 0 is the highest. */
  rank(ir: number): number {
    return (ir - this.highestPriorityIr) & 7;
  }

  /** The IR this chip would deliver now (its INT output is high), or -1. */
  pending(): number {
    const requests = this.irr & ~this.imr & 0xff;
    if (requests === 0) return -1;
    if (this.specialMask) {
      // Special mask mode: every unmasked level not itself in service is
      // enabled, lower ones included (datasheet, "Special Mask Mode").
      return this.highestIn(requests & ~this.isr);
    }
    const ir = this.highestIn(requests);
    let inService = this.isr;
    // Special fully nested mode: the master lets a higher slave request
    // through while the cascade is in service.
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << CASCADE_IR);
    const current = this.highestIn(inService);
    if (current >= 0 && this.rank(ir) >= this.rank(current)) return -1;
    return ir;
  }

  /** INTA (or a poll read) for `ir`: IRR to ISR, or AEOI. */
  acknowledge(ir: number): void {
    const bit = 1 << ir;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.highestPriorityIr = (ir + 1) & 7;
    } else {
      this.isr |= bit;
    }
    // A level-triggered request stays in IRR while its line is high.
    if ((this.levelMask() & bit) === 0) this.irr &= ~bit;
  }

  writeCommand(value: number): void {
    if ((value & 0x10) !== 0) {
      this.icw1(value);
    } else if ((value & 0x08) !== 0) {
      // OCW3.
      if ((value & 0x04) !== 0) this.pollPending = true;
      if ((value & 0x02) !== 0) this.readIsr = (value & 0x01) !== 0;
      if ((value & 0x40) !== 0) this.specialMask = (value & 0x20) !== 0;
    } else {
      this.ocw2(value);
    }
  }

  /** ICW1 resets the chip (datasheet, "Initialization Command Words"). */
  private icw1(value: number): void {
    this.levelTriggeredChip = (value & 0x08) !== 0;
    this.singleMode = (value & 0x02) !== 0;
    this.icw4Needed = (value & 0x01) !== 0;
    // The edge sense circuit is reset: edge requests are dropped and an edge
    // line that is high must go low and high again to request.
    this.irr = this.lines & this.levelMask();
    this.imr = 0;
    this.isr = 0;
    this.highestPriorityIr = 0;
    this.specialMask = false;
    this.readIsr = false;
    this.pollPending = false;
    this.rotateOnAutoEoi = false;
    // Without ICW4 its functions are all zero.
    this.autoEoi = false;
    this.specialFullyNested = false;
    this.initStep = 2;
  }

  private ocw2(value: number): void {
    const level = value & 7;
    switch (value >> 5) {
      case 0: // rotate in AEOI mode (clear)
        this.rotateOnAutoEoi = false;
        break;
      case 4: // rotate in AEOI mode (set)
        this.rotateOnAutoEoi = true;
        break;
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        const ir = this.highestIn(this.isr);
        if (ir < 0) break;
        this.isr &= ~(1 << ir);
        if (value >> 5 === 5) this.highestPriorityIr = (ir + 1) & 7;
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << level);
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.highestPriorityIr = (level + 1) & 7;
        break;
      case 6: // set priority: `level` becomes the lowest
        this.highestPriorityIr = (level + 1) & 7;
        break;
      default: // 2: no operation
        break;
    }
  }

  writeData(value: number): void {
    switch (this.initStep) {
      case 2: // ICW2: T7-T3 of the vector (8086 mode)
        this.vectorBase = value & 0xf8;
        this.initStep = this.singleMode ? (this.icw4Needed ? 4 : 0) : 3;
        break;
      case 3: // ICW3: the cascade wiring is fixed on a PC
        this.initStep = this.icw4Needed ? 4 : 0;
        break;
      case 4: // ICW4: uPM (8080 mode is not emulated), AEOI, BUF/MS, SFNM
        this.autoEoi = (value & 0x02) !== 0;
        this.specialFullyNested = (value & 0x10) !== 0;
        this.initStep = 0;
        break;
      default: // OCW1
        this.imr = value;
        break;
    }
  }

  readCommand(): number {
    if (this.pollPending) return this.poll();
    return this.readIsr ? this.isr : this.irr;
  }

  readData(): number {
    if (this.pollPending) return this.poll();
    return this.imr;
  }

  /** The poll word: 0x80 | IR, the read acting as INTA; 0 if no request. */
  private poll(): number {
    this.pollPending = false;
    const ir = this.pending();
    if (ir < 0) return 0;
    this.acknowledge(ir);
    return 0x80 | ir;
  }
}

export class Pic8259Pair implements PortDevice {
  readonly name = "pic8259";
  private readonly master = new Pic8259(true, 0xf8);
  private readonly slave = new Pic8259(false, 0xde);
  /** The master's INT output as last computed. */
  private intOutput = false;
  /** INT was high at some point since the last INTA (a request existed). */
  private requestedSinceAcknowledge = false;
  /** Called when the master's INT output changes. */
  onChange: () => void = () => {};

  /** Claims 0x20-0x21, 0xA0-0xA1 and the ELCR at 0x4D0-0x4D1. */
  attach(ports: PortBus): void {
    ports.register(PIC_MASTER_BASE, 2, this);
    ports.register(PIC_SLAVE_BASE, 2, this);
    ports.register(ELCR_BASE, 2, this);
  }

  /**
   * The state SeaBIOS leaves on QEMU's i440fx PC, which the CPU finds when a
   * kernel is booted straight from its image:
   * - pic_setup/pic_reset: ICW1 0x11 (edge, cascade, ICW4), ICW2 0x08 and
   *   0x70, ICW3 0x04 and 0x02, ICW4 0x01 (8086, normal EOI), then all IRQs
   *   masked but the cascade (IMR 0xFB, 0xFF);
   * - enable_hwirq then unmasks IRQ 0 (timer, clock_setup), 8 (RTC), 1 and
   *   12 (PS/2, ps2port_setup), 13 (FPU, mathcp_setup), 6 (floppy_setup) and
   *   14 (ata_setup): IMR 0xB8 on the master and 0x8E on the slave;
   * - piix_isa_bridge_setup routes PCI INTA-D to IRQ 10, 10, 11, 11 and makes
   *   them level-triggered: ELCR 0x00, 0x0C.
   * Nothing is in service or requested and OCW3 selects the IRR.
   */
  biosInit(): void {
    for (const [base, vector, icw3, imr] of [
      [PIC_MASTER_BASE, 0x08, 0x04, 0xb8],
      [PIC_SLAVE_BASE, 0x70, 0x02, 0x8e],
    ]) {
      this.writeByte(base, 0x11);
      this.writeByte(base + 1, vector);
      this.writeByte(base + 1, icw3);
      this.writeByte(base + 1, 0x01);
      this.writeByte(base + 1, imr);
    }
    this.writeByte(ELCR_BASE, 0x00);
    this.writeByte(ELCR_BASE + 1, 0x0c);
  }

  /** Drives ISA IRQ line `irq` (0-15). IRQ 2 is the cascade and is ignored. */
  setIrq(irq: number, level: boolean): void {
    if (irq < 0 || irq > 15 || irq === CASCADE_IR) return;
    if (irq < 8) this.master.setLine(irq, level);
    else this.slave.setLine(irq - 8, level);
    this.update();
  }

  /** The master's INT output: the CPU's INTR pin. */
  hasInterrupt(): boolean {
    return this.intOutput;
  }

  /**
   * The INTA cycle: returns the vector, moving the request to in-service
   * (or not, in AEOI mode). A request that vanished before INTA gives the
   * spurious vector base + 7 with no ISR bit; on the slave, the master still
   * puts IR2 in service. Returns -1 if INT was not asserted since the last
   * INTA.
   */
  acknowledge(): number {
    const ir = this.master.pending();
    let vector: number;
    if (ir < 0) {
      if (!this.requestedSinceAcknowledge) return -1;
      vector = this.master.vectorBase + 7;
    } else if (ir === CASCADE_IR) {
      const slaveIr = this.slave.pending();
      if (slaveIr >= 0) {
        this.slave.acknowledge(slaveIr);
        vector = this.slave.vectorBase + slaveIr;
      } else {
        vector = this.slave.vectorBase + 7;
      }
      this.master.acknowledge(ir);
    } else {
      this.master.acknowledge(ir);
      vector = this.master.vectorBase + ir;
    }
    this.requestedSinceAcknowledge = false;
    this.update();
    return vector;
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
    let value: number;
    switch (port) {
      case PIC_MASTER_BASE:
        value = this.master.readCommand();
        break;
      case PIC_MASTER_BASE + 1:
        value = this.master.readData();
        break;
      case PIC_SLAVE_BASE:
        value = this.slave.readCommand();
        break;
      case PIC_SLAVE_BASE + 1:
        value = this.slave.readData();
        break;
      case ELCR_BASE:
        return this.master.elcr;
      case ELCR_BASE + 1:
        return this.slave.elcr;
      default:
        return 0xff; // the byte of a wide access beyond this device's ports
    }
    // A poll read acknowledges.
    this.update();
    return value & 0xff;
  }

  private writeByte(port: number, value: number): void {
    switch (port) {
      case PIC_MASTER_BASE:
        this.master.writeCommand(value);
        break;
      case PIC_MASTER_BASE + 1:
        this.master.writeData(value);
        break;
      case PIC_SLAVE_BASE:
        this.slave.writeCommand(value);
        break;
      case PIC_SLAVE_BASE + 1:
        this.slave.writeData(value);
        break;
      case ELCR_BASE:
        this.master.elcr = value & this.master.elcrWritable;
        this.master.resyncLevelLines();
        break;
      case ELCR_BASE + 1:
        this.slave.elcr = value & this.slave.elcrWritable;
        this.slave.resyncLevelLines();
        break;
      default:
        return;
    }
    this.update();
  }

  /** Feeds the slave's INT to the master's IR2 and re-evaluates INT. */
  private update(): void {
    this.master.setLine(CASCADE_IR, this.slave.pending() >= 0);
    const out = this.master.pending() >= 0;
    if (out) this.requestedSinceAcknowledge = true;
    if (out !== this.intOutput) {
      this.intOutput = out;
      this.onChange();
    }
  }
}
