// One ATA (IDE) channel in PIO mode: the command block (data, error/features,
// sector count, LBA low/mid/high, device/head, status/command) and the control
// block (alternate status / device control), a master and a slave drive
// either of which may be absent, and the channel's interrupt line. The PC's
// primary channel is at 0x1F0-0x1F7 and 0x3F6 on IRQ 14, the secondary at
// 0x170-0x177 and 0x376 on IRQ 15.
//
// QEMU's IDE controller (hw/ide/core.c) is the model, checked with a probe
// kernel under QEMU 7.2, and ATA/ATAPI-6 where QEMU is silent:
// - Both drives latch every command-block write (they share the cable), each
//   keeping the previous value of the 8-bit registers for 48-bit commands
//   (read back with HOB, bit 7 of device control; any command-block write
//   clears HOB).
// - With the slave selected but absent, status, alternate status and error
//   read 0 (the other registers read the slave's latched copies); with no
//   drive on the channel every register reads 0. Commands to an absent slave
//   are ignored. Kernels probe the slave this way.
// - Commands complete at once: BSY is never seen, except while SRST is held.
//   PIO data-in (IDENTIFY, reads) raises the interrupt when each block is in
//   the buffer; PIO data-out (writes) raises it after each block is written,
//   the last included; non-data commands raise it at completion. nIEN set
//   means the interrupt is not raised at all. Reading the status register (not
//   the alternate status) or writing a command lowers the line.
// - While BSY or DRQ is set, writes to the command block other than the
//   command register are ignored, and so are commands.
// - Sector count 0 means 256 sectors (65,536 for the EXT commands). After each
//   block the address registers advance to the next sector and the count
//   drops, so on an error they name the failing sector.
// - Sectors beyond the disk's end abort the command (ERR with ABRT, status
//   0x41), as QEMU does; ATA-6 allows ABRT or IDNF here.

import type { IrqLine } from "../machine/irq.ts";
import type { PortBus, PortDevice } from "../machine/ports.ts";
import { MAX_MULTIPLE_SECTORS, type AtaDisk } from "./ata-disk.ts";
import { SECTOR_SIZE } from "./disk-image.ts";

export const ATA_PRIMARY_COMMAND = 0x1f0;
export const ATA_PRIMARY_CONTROL = 0x3f6;
export const ATA_PRIMARY_IRQ = 14;
export const ATA_SECONDARY_COMMAND = 0x170;
export const ATA_SECONDARY_CONTROL = 0x376;
export const ATA_SECONDARY_IRQ = 15;

// Status register bits.
export const ATA_ST_ERR = 0x01;
export const ATA_ST_DRQ = 0x08;
export const ATA_ST_DSC = 0x10;
export const ATA_ST_DF = 0x20;
export const ATA_ST_DRDY = 0x40;
export const ATA_ST_BSY = 0x80;
// Error register bits.
export const ATA_ERR_ABRT = 0x04;
export const ATA_ERR_IDNF = 0x10;
// Device control bits.
export const ATA_CTL_NIEN = 0x02;
export const ATA_CTL_SRST = 0x04;
export const ATA_CTL_HOB = 0x80;
// Device/head register bits.
const DEV_LBA = 0x40;
const DEV_SLAVE = 0x10;
/** Bits 7 and 5, obsolete, always read as one (QEMU's ATA_DEV_ALWAYS_ON). */
const DEV_ALWAYS_ON = 0xa0;

/** What the data register is doing. */
const enum Transfer {
  None = 0,
  /** Device to host, one buffer, no more (IDENTIFY). */
  Out = 1,
  /** Device to host, then the next block of a read. */
  Read = 2,
  /** Host to device, then written to the disk. */
  Write = 3,
}

/** One drive's copy of the task-file registers (kept even for an absent drive). */
class TaskFile {
  feature = 0;
  hobFeature = 0;
  error = 0;
  /** Sector count; after a command starts, the full count still to transfer. */
  count = 0;
  hobCount = 0;
  sector = 0;
  hobSector = 0;
  lcyl = 0;
  hobLcyl = 0;
  hcyl = 0;
  hobHcyl = 0;
  select = DEV_ALWAYS_ON;
  status = ATA_ST_DRDY | ATA_ST_DSC;
  /** The running command uses 48-bit addresses. */
  lba48 = false;
  /** Sectors per DRQ block of READ/WRITE MULTIPLE (0 = disabled). */
  multiple = MAX_MULTIPLE_SECTORS;
}

export class AtaChannel implements PortDevice {
  readonly master: AtaDisk | null;
  readonly slave: AtaDisk | null;

  private readonly irq: IrqLine;
  private readonly regs: readonly [TaskFile, TaskFile] = [new TaskFile(), new TaskFile()];
  /** The selected drive: 0 master, 1 slave (DEV bit of the last device/head write). */
  private unit = 0;
  /** The device control register: nIEN, SRST, HOB. */
  private control = 0;
  private irqLevel = false;
  private commandBase = ATA_PRIMARY_COMMAND;
  private controlPort = ATA_PRIMARY_CONTROL;

  /** The PIO buffer: one DRQ block (up to 16 sectors). */
  private readonly buffer = new Uint8Array(MAX_MULTIPLE_SECTORS * SECTOR_SIZE);
  private dataPos = 0;
  private dataEnd = 0;
  private transfer = Transfer.None;
  /** Sectors per DRQ block of the running read or write. */
  private blockSectors = 1;

  /** Interrupts raised (for tests and statistics). */
  interrupts = 0;

  constructor(irq: IrqLine, master: AtaDisk | null, slave: AtaDisk | null) {
    this.irq = irq;
    this.master = master;
    this.slave = slave;
    for (const unit of [0, 1]) this.setSignature(unit);
  }

  /** Claims the 8 command-block ports at `commandBase` and the control port. */
  attach(ports: PortBus, commandBase: number, controlPort: number): void {
    this.commandBase = commandBase;
    this.controlPort = controlPort;
    ports.register(commandBase, 8, this);
    ports.register(controlPort, 1, this);
  }

  get name(): string {
    return this.commandBase === ATA_SECONDARY_COMMAND ? "ata-secondary" : "ata-primary";
  }

  /** The last interrupt-line level driven. */
  get irqAsserted(): boolean {
    return this.irqLevel;
  }

  // ---- port access ----

  readPort(port: number, size: number): number {
    if (port === this.controlPort) return this.alternateStatus();
    const reg = port - this.commandBase;
    if (reg === 0) {
      if (size === 2) return this.readData16();
      if (size === 4) return this.readData32();
      return 0xff;
    }
    if (size === 1) return this.readRegister(reg);
    // A wide access to byte registers reads consecutive ports, low byte first.
    let value = 0;
    for (let i = 0; i < size; i++) {
      const byte = reg + i <= 7 ? this.readRegister(reg + i) : 0xff;
      value |= byte << (8 * i);
    }
    return value >>> 0;
  }

  writePort(port: number, size: number, value: number): void {
    if (port === this.controlPort) {
      this.writeControl(value & 0xff);
      return;
    }
    const reg = port - this.commandBase;
    if (reg === 0) {
      if (size === 2) this.writeData16(value);
      else if (size === 4) this.writeData32(value);
      return;
    }
    for (let i = 0; i < size && reg + i <= 7; i++) this.writeRegister(reg + i, (value >>> (8 * i)) & 0xff);
  }

  // ---- data register ----

  private readData16(): number {
    const t = this.regs[this.unit];
    if ((t.status & ATA_ST_DRQ) === 0 || this.transfer === Transfer.Write) return 0;
    const p = this.dataPos;
    if (p + 2 > this.dataEnd) return 0;
    const b = this.buffer;
    const value = b[p]! | (b[p + 1]! << 8);
    this.dataPos = p + 2;
    if (p + 2 >= this.dataEnd) this.endOfBuffer();
    return value;
  }

  private readData32(): number {
    const t = this.regs[this.unit];
    if ((t.status & ATA_ST_DRQ) === 0 || this.transfer === Transfer.Write) return 0;
    const p = this.dataPos;
    if (p + 4 > this.dataEnd) return 0;
    const b = this.buffer;
    const value = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    this.dataPos = p + 4;
    if (p + 4 >= this.dataEnd) this.endOfBuffer();
    return value;
  }

  private writeData16(value: number): void {
    const t = this.regs[this.unit];
    if ((t.status & ATA_ST_DRQ) === 0 || this.transfer !== Transfer.Write) return;
    const p = this.dataPos;
    if (p + 2 > this.dataEnd) return;
    this.buffer[p] = value;
    this.buffer[p + 1] = value >>> 8;
    this.dataPos = p + 2;
    if (p + 2 >= this.dataEnd) this.endOfBuffer();
  }

  private writeData32(value: number): void {
    const t = this.regs[this.unit];
    if ((t.status & ATA_ST_DRQ) === 0 || this.transfer !== Transfer.Write) return;
    const p = this.dataPos;
    if (p + 4 > this.dataEnd) return;
    const b = this.buffer;
    b[p] = value;
    b[p + 1] = value >>> 8;
    b[p + 2] = value >>> 16;
    b[p + 3] = value >>> 24;
    this.dataPos = p + 4;
    if (p + 4 >= this.dataEnd) this.endOfBuffer();
  }

  /** The host has read or filled the whole buffer: DRQ drops and the command moves on. */
  private endOfBuffer(): void {
    const t = this.regs[this.unit];
    t.status &= ~ATA_ST_DRQ;
    switch (this.transfer) {
      case Transfer.Read:
        this.readBlock(t);
        break;
      case Transfer.Write:
        this.writeBlock(t);
        break;
      default:
        this.stopTransfer(t);
    }
  }

  // ---- task-file registers ----

  private get noDrives(): boolean {
    return this.master === null && this.slave === null;
  }

  /** The selected drive reads as absent: the slave when it is missing, or any with no drives. */
  private get selectedAbsent(): boolean {
    return this.noDrives || (this.unit === 1 && this.slave === null);
  }

  private readRegister(reg: number): number {
    const t = this.regs[this.unit];
    const hob = (this.control & ATA_CTL_HOB) !== 0;
    switch (reg) {
      case 1:
        if (this.selectedAbsent) return 0;
        return hob ? t.hobFeature : t.error;
      case 2:
        if (this.noDrives) return 0;
        return hob ? t.hobCount : t.count & 0xff;
      case 3:
        if (this.noDrives) return 0;
        return hob ? t.hobSector : t.sector;
      case 4:
        if (this.noDrives) return 0;
        return hob ? t.hobLcyl : t.lcyl;
      case 5:
        if (this.noDrives) return 0;
        return hob ? t.hobHcyl : t.hcyl;
      case 6:
        if (this.noDrives) return 0;
        return t.select;
      default: {
        // Status: reading it acknowledges the interrupt (ATA-6 5.14.2).
        const status = this.selectedAbsent ? 0 : this.visibleStatus(t);
        this.setIrq(false);
        return status;
      }
    }
  }

  private alternateStatus(): number {
    return this.selectedAbsent ? 0 : this.visibleStatus(this.regs[this.unit]);
  }

  private visibleStatus(t: TaskFile): number {
    return (this.control & ATA_CTL_SRST) !== 0 ? t.status | ATA_ST_BSY : t.status;
  }

  private writeRegister(reg: number, value: number): void {
    const t = this.regs[this.unit];
    this.control &= ~ATA_CTL_HOB; // any command-block write clears HOB
    if (reg === 7) {
      this.setIrq(false);
      this.execute(value);
      return;
    }
    if ((this.visibleStatus(t) & (ATA_ST_BSY | ATA_ST_DRQ)) !== 0) return;
    for (const r of this.regs) {
      switch (reg) {
        case 1:
          r.hobFeature = r.feature;
          r.feature = value;
          break;
        case 2:
          r.hobCount = r.count & 0xff;
          r.count = value;
          break;
        case 3:
          r.hobSector = r.sector;
          r.sector = value;
          break;
        case 4:
          r.hobLcyl = r.lcyl;
          r.lcyl = value;
          break;
        case 5:
          r.hobHcyl = r.hcyl;
          r.hcyl = value;
          break;
        case 6:
          r.select = value | DEV_ALWAYS_ON;
          break;
      }
    }
    if (reg === 6) this.unit = (value & DEV_SLAVE) !== 0 ? 1 : 0;
  }

  private writeControl(value: number): void {
    const wasReset = (this.control & ATA_CTL_SRST) !== 0;
    const reset = (value & ATA_CTL_SRST) !== 0;
    this.control = value;
    if (reset && !wasReset) {
      // SRST asserted: both drives reset and run their diagnostics; BSY
      // shows until SRST is released (ATA-6 9.2).
      for (const unit of [0, 1]) this.softReset(unit);
    } else if (!reset && wasReset && !this.noDrives) {
      this.raiseIrq();
    }
  }

  private softReset(unit: number): void {
    const t = this.regs[unit];
    t.feature = t.hobFeature = t.hobCount = t.hobSector = t.hobLcyl = t.hobHcyl = 0;
    t.lba48 = false;
    t.multiple = MAX_MULTIPLE_SECTORS;
    t.select = DEV_ALWAYS_ON;
    this.stopTransfer(t);
    this.setSignature(unit);
    t.status = ATA_ST_DRDY | ATA_ST_DSC;
    t.error = 0x01; // diagnostics passed
  }

  /**
   * The signature a drive leaves after reset or EXECUTE DEVICE DIAGNOSTIC
   * (ATA-6 9.12): count 1, LBA low 1, LBA mid/high 0 for an ATA drive;
   * QEMU leaves 0xFF in LBA mid/high where there is no drive.
   */
  private setSignature(unit: number): void {
    const t = this.regs[unit];
    const present = (unit === 0 ? this.master : this.slave) !== null;
    t.select = DEV_ALWAYS_ON | (t.select & DEV_SLAVE);
    t.count = 1;
    t.sector = 1;
    t.lcyl = present ? 0 : 0xff;
    t.hcyl = present ? 0 : 0xff;
  }

  // ---- interrupt ----

  private raiseIrq(): void {
    if ((this.control & ATA_CTL_NIEN) !== 0) return;
    this.interrupts++;
    if (!this.irqLevel) {
      this.irqLevel = true;
      this.irq(true);
    }
  }

  private setIrq(level: boolean): void {
    if (this.irqLevel === level) return;
    this.irqLevel = level;
    this.irq(level);
  }

  // ---- commands ----

  private execute(command: number): void {
    const t = this.regs[this.unit];
    const disk = this.unit === 0 ? this.master : this.slave;
    if (this.unit === 1 && disk === null) return; // no slave to answer
    if ((this.visibleStatus(t) & (ATA_ST_BSY | ATA_ST_DRQ)) !== 0) return;
    t.error = 0;
    if (disk === null) {
      // A slave without its master: commands to the empty master position fail.
      this.abort(t);
      return;
    }
    switch (command) {
      case 0xec: // IDENTIFY DEVICE
        this.buffer.set(disk.identifyData);
        t.status = ATA_ST_DRDY | ATA_ST_DSC;
        this.startTransfer(t, SECTOR_SIZE, Transfer.Out);
        this.raiseIrq();
        return;
      case 0x20: // READ SECTORS
      case 0x21: // READ SECTORS without retries
      case 0x24: // READ SECTORS EXT
        this.startRead(t, command === 0x24, 1);
        return;
      case 0xc4: // READ MULTIPLE
      case 0x29: // READ MULTIPLE EXT
        if (t.multiple === 0) return this.abort(t);
        this.startRead(t, command === 0x29, t.multiple);
        return;
      case 0x30: // WRITE SECTORS
      case 0x31: // WRITE SECTORS without retries
      case 0x34: // WRITE SECTORS EXT
      case 0x3c: // WRITE VERIFY
        this.startWrite(t, command === 0x34, 1);
        return;
      case 0xc5: // WRITE MULTIPLE
      case 0x39: // WRITE MULTIPLE EXT
        if (t.multiple === 0) return this.abort(t);
        this.startWrite(t, command === 0x39, t.multiple);
        return;
      case 0x40: // READ VERIFY SECTORS
      case 0x41: // READ VERIFY SECTORS without retries
      case 0x42: // READ VERIFY SECTORS EXT (QEMU does not check the range)
        this.takeCount(t, command === 0x42);
        return this.complete(t, true);
      case 0xc6: // SET MULTIPLE MODE: a power of two up to 16, or 0
        return this.setMultiple(t);
      case 0xe7: // FLUSH CACHE
      case 0xea: // FLUSH CACHE EXT
        try {
          disk.flush();
        } catch {
          return this.abort(t);
        }
        return this.complete(t, true);
      case 0xef: // SET FEATURES
        return this.setFeatures(t);
      case 0xe5: // CHECK POWER MODE
      case 0x98:
        t.count = 0xff; // active or idle
        return this.complete(t, true);
      case 0xf8: // READ NATIVE MAX ADDRESS
      case 0x27: // READ NATIVE MAX ADDRESS EXT
        if (disk.sectorCount === 0) return this.abort(t);
        this.takeCount(t, command === 0x27);
        this.setAddress(t, disk, disk.sectorCount - 1);
        return this.complete(t, true);
      case 0x90: // EXECUTE DEVICE DIAGNOSTIC
        this.setSignature(this.unit);
        t.status = ATA_ST_DRDY | ATA_ST_DSC;
        t.error = 0x01; // device 0 passed, device 1 passed or absent
        this.raiseIrq();
        return;
      case 0x10: // RECALIBRATE
      case 0x70: // SEEK
      case 0x91: // INITIALIZE DEVICE PARAMETERS (QEMU keeps its geometry)
      case 0xf5: // SECURITY FREEZE LOCK
        return this.complete(t, true);
      case 0xe0: // STANDBY IMMEDIATE
      case 0xe1: // IDLE IMMEDIATE
      case 0xe2: // STANDBY
      case 0xe3: // IDLE
      case 0xe6: // SLEEP
      case 0x94:
      case 0x95:
      case 0x96:
      case 0x97:
      case 0x99:
        return this.complete(t, false);
      default:
        // IDENTIFY PACKET DEVICE (0xA1) and PACKET are for ATAPI drives; DMA
        // commands need a bus-master controller cr3 does not have.
        return this.abort(t);
    }
  }

  /** Ends a non-data command: DRDY (and DSC where QEMU sets it), then the interrupt. */
  private complete(t: TaskFile, seekComplete: boolean): void {
    t.status = seekComplete ? ATA_ST_DRDY | ATA_ST_DSC : ATA_ST_DRDY;
    this.raiseIrq();
  }

  /** ERR with ABRT in the error register, and the interrupt. */
  private abort(t: TaskFile): void {
    this.stopTransfer(t);
    t.status = ATA_ST_DRDY | ATA_ST_ERR;
    t.error = ATA_ERR_ABRT;
    this.raiseIrq();
  }

  private setMultiple(t: TaskFile): void {
    const n = t.count & 0xff;
    if (n !== 0 && (n > MAX_MULTIPLE_SECTORS || (n & (n - 1)) !== 0)) return this.abort(t);
    t.multiple = n;
    this.complete(t, true);
  }

  /** SET FEATURES: the subcommands QEMU accepts; others abort. */
  private setFeatures(t: TaskFile): void {
    switch (t.feature) {
      case 0x02: // enable write cache
      case 0x82: // disable write cache
      case 0xcc: // revert to power-on defaults
      case 0x66:
      case 0xaa: // read look-ahead
      case 0x55:
      case 0x05: // advanced power management
      case 0x85:
      case 0x69:
      case 0x67:
      case 0x96:
      case 0x9a:
      case 0x42: // automatic acoustic management
      case 0xc2:
        return this.complete(t, true);
      case 0x03: {
        // Set transfer mode: PIO default/PIO n, single-word, multiword or Ultra DMA.
        const mode = (t.count & 0xff) >> 3;
        if (mode === 0 || mode === 1 || mode === 2 || mode === 4 || mode === 8) return this.complete(t, true);
        return this.abort(t);
      }
      default:
        return this.abort(t);
    }
  }

  /** The sector count as the command uses it: 0 is 256, or 65,536 for EXT commands. */
  private takeCount(t: TaskFile, lba48: boolean): void {
    t.lba48 = lba48;
    if (!lba48) {
      if (t.count === 0) t.count = 256;
    } else {
      const lo = t.count & 0xff;
      t.count = lo === 0 && t.hobCount === 0 ? 65536 : (t.hobCount << 8) | lo;
    }
  }

  /** The address in the registers: LBA28, LBA48, or CHS with the IDENTIFY geometry. */
  private address(t: TaskFile, disk: AtaDisk): number {
    if ((t.select & DEV_LBA) !== 0) {
      const low = ((t.hcyl << 16) | (t.lcyl << 8) | t.sector) >>> 0;
      if (!t.lba48) return ((t.select & 0x0f) << 24) + low;
      return ((t.hobHcyl << 16) | (t.hobLcyl << 8) | t.hobSector) * 0x1000000 + low;
    }
    if (t.sector === 0) return -1; // sectors count from 1 in CHS
    const { heads, sectorsPerTrack } = disk.geometry;
    const cylinder = (t.hcyl << 8) | t.lcyl;
    return (cylinder * heads + (t.select & 0x0f)) * sectorsPerTrack + t.sector - 1;
  }

  private setAddress(t: TaskFile, disk: AtaDisk, lba: number): void {
    if ((t.select & DEV_LBA) !== 0) {
      t.sector = lba & 0xff;
      t.lcyl = (lba >>> 8) & 0xff;
      t.hcyl = (lba >>> 16) & 0xff;
      if (t.lba48) {
        const high = Math.floor(lba / 0x1000000);
        t.hobSector = high & 0xff;
        t.hobLcyl = (high >>> 8) & 0xff;
        t.hobHcyl = (high >>> 16) & 0xff;
      } else {
        t.select = (t.select & 0xf0) | ((lba >>> 24) & 0x0f);
      }
      return;
    }
    const { heads, sectorsPerTrack } = disk.geometry;
    const cylinder = Math.floor(lba / (heads * sectorsPerTrack));
    const rest = lba % (heads * sectorsPerTrack);
    t.hcyl = (cylinder >>> 8) & 0xff;
    t.lcyl = cylinder & 0xff;
    t.select = (t.select & 0xf0) | (Math.floor(rest / sectorsPerTrack) & 0x0f);
    t.sector = (rest % sectorsPerTrack) + 1;
  }

  private selectedDisk(): AtaDisk {
    return (this.unit === 0 ? this.master : this.slave)!;
  }

  private startRead(t: TaskFile, lba48: boolean, blockSectors: number): void {
    this.takeCount(t, lba48);
    this.blockSectors = blockSectors;
    this.readBlock(t);
  }

  /** Fills the buffer with the next block and raises the interrupt, or ends the read. */
  private readBlock(t: TaskFile): void {
    t.status = ATA_ST_DRDY | ATA_ST_DSC;
    t.error = 0;
    if (t.count === 0) {
      this.stopTransfer(t);
      return;
    }
    const disk = this.selectedDisk();
    const n = Math.min(t.count, this.blockSectors);
    const lba = this.address(t, disk);
    if (!disk.contains(lba, n)) return this.abort(t);
    try {
      disk.read(lba, n, this.buffer, 0);
    } catch {
      return this.abort(t);
    }
    this.setAddress(t, disk, lba + n);
    t.count -= n;
    this.startTransfer(t, n * SECTOR_SIZE, Transfer.Read);
    this.raiseIrq();
  }

  private startWrite(t: TaskFile, lba48: boolean, blockSectors: number): void {
    this.takeCount(t, lba48);
    this.blockSectors = blockSectors;
    t.status = ATA_ST_DRDY | ATA_ST_DSC;
    this.startTransfer(t, Math.min(t.count, blockSectors) * SECTOR_SIZE, Transfer.Write);
  }

  /** The host filled a block: write it whole, then ask for the next or end; interrupt either way. */
  private writeBlock(t: TaskFile): void {
    const disk = this.selectedDisk();
    const n = Math.min(t.count, this.blockSectors);
    const lba = this.address(t, disk);
    if (!disk.contains(lba, n)) return this.abort(t);
    let written: boolean;
    try {
      written = disk.write(lba, n, this.buffer, 0);
    } catch {
      written = false;
    }
    if (!written) return this.abort(t); // read-only media
    t.count -= n;
    this.setAddress(t, disk, lba + n);
    t.status = ATA_ST_DRDY | ATA_ST_DSC;
    if (t.count === 0) this.stopTransfer(t);
    else this.startTransfer(t, Math.min(t.count, this.blockSectors) * SECTOR_SIZE, Transfer.Write);
    this.raiseIrq();
  }

  private startTransfer(t: TaskFile, bytes: number, kind: Transfer): void {
    this.transfer = kind;
    this.dataPos = 0;
    this.dataEnd = bytes;
    if ((t.status & ATA_ST_ERR) === 0) t.status |= ATA_ST_DRQ;
  }

  private stopTransfer(t: TaskFile): void {
    this.transfer = Transfer.None;
    this.dataPos = 0;
    this.dataEnd = 0;
    t.status &= ~ATA_ST_DRQ;
  }
}
