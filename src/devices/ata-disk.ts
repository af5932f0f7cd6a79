// An ATA hard disk as QEMU's ide-hd presents it: its IDENTIFY DEVICE data, its
// CHS geometry, its READ/WRITE MULTIPLE block size, and sector I/O on a
// DiskImage, counted for --stats. The task-file registers and the command
// protocol live in the channel (ata-channel.ts), as on a real cable both
// drives see the same register writes.
//
// The IDENTIFY words are those QEMU 7.2 returns for `-drive
// file=X,format=raw` (read back with a probe kernel under qemu-system-x86_64),
// so guests print the same model, serial and firmware strings.

import { DiskImage, SECTOR_SIZE } from "./disk-image.ts";

/** QEMU's MAX_MULT_SECTORS: READ/WRITE MULTIPLE blocks of up to 16 sectors. */
export const MAX_MULTIPLE_SECTORS = 16;
export const ATA_MODEL = "QEMU HARDDISK";
/** QEMU's hardware version string, reported as the firmware revision. */
export const ATA_FIRMWARE = "2.5+";
/** LBA28 addresses reach 2^28 - 1 sectors; IDENTIFY words 60-61 are capped there. */
export const LBA28_SECTORS = 0x0fffffff;

/** QEMU's names for the IDE drive indexes: hda primary master … hdd secondary slave. */
export function driveName(driveIndex: number): string {
  return "hd" + String.fromCharCode(0x61 + driveIndex);
}

export interface CHSGeometry {
  readonly cylinders: number;
  readonly heads: number;
  readonly sectorsPerTrack: number;
}

export class AtaDisk {
  readonly image: DiskImage;
  /** QEMU's "QMnnnnn": nnnnn is 1 + the drive's index (0 = primary master). */
  readonly serial: string;
  readonly geometry: CHSGeometry;
  /** The 512 bytes IDENTIFY DEVICE returns. */
  readonly identifyData = new Uint8Array(SECTOR_SIZE);
  /**
   * Sectors moved between the medium and the channel's PIO buffer by READ and
   * WRITE (MULTIPLE) SECTORS: counted when a block leaves or reaches the image,
   * so IDENTIFY and commands aborted before any transfer count nothing.
   */
  sectorsRead = 0;
  sectorsWritten = 0;

  constructor(image: DiskImage, driveIndex = 0) {
    this.image = image;
    this.serial = "QM" + String(driveIndex + 1).padStart(5, "0");
    this.geometry = guessGeometry(image);
    this.buildIdentify();
  }

  get sectorCount(): number {
    return this.image.sectorCount;
  }

  get readOnly(): boolean {
    return this.image.readOnly;
  }

  /** True when sectors [lba, lba + count) exist on the disk. */
  contains(lba: number, count: number): boolean {
    return this.image.contains(lba, count);
  }

  /** Reads whole sectors into `into` at `offset`; the range must be contained. */
  read(lba: number, count: number, into: Uint8Array, offset: number): void {
    this.image.read(lba, count, into, offset);
    this.sectorsRead += count;
  }

  /** Writes whole sectors; false on read-only media. The range must be contained. */
  write(lba: number, count: number, from: Uint8Array, offset: number): boolean {
    const written = this.image.write(lba, count, from, offset);
    if (written) this.sectorsWritten += count;
    return written;
  }

  /** FLUSH CACHE: the written sectors reach the image file (not in snapshot mode). */
  flush(): void {
    this.image.flush();
  }

  /** Words of IDENTIFY DEVICE (ATA/ATAPI-6 section 8.15), with QEMU's values. */
  private buildIdentify(): void {
    const { cylinders, heads, sectorsPerTrack } = this.geometry;
    const total = this.image.sectorCount;
    const put = (word: number, value: number): void => {
      this.identifyData[word * 2] = value & 0xff;
      this.identifyData[word * 2 + 1] = (value >>> 8) & 0xff;
    };
    put(0, 0x0040); // fixed device
    put(1, cylinders);
    put(3, heads);
    put(4, 512 * sectorsPerTrack); // retired: bytes per track
    put(5, 512); // retired: bytes per sector
    put(6, sectorsPerTrack);
    this.putString(10, 20, this.serial);
    put(20, 3); // retired: buffer type
    put(21, 512); // retired: buffer size
    put(22, 4); // obsolete: ECC bytes
    this.putString(23, 8, ATA_FIRMWARE);
    this.putString(27, 40, ATA_MODEL);
    put(47, 0x8000 | MAX_MULTIPLE_SECTORS);
    put(48, 1); // 32-bit PIO
    put(49, (1 << 11) | (1 << 9) | (1 << 8)); // IORDY, LBA, DMA
    put(51, 0x200);
    put(52, 0x200);
    put(53, 7); // words 54-58, 64-70 and 88 are valid
    put(54, cylinders);
    put(55, heads);
    put(56, sectorsPerTrack);
    const chsSectors = cylinders * heads * sectorsPerTrack;
    put(57, chsSectors);
    put(58, chsSectors >>> 16);
    // Word 59 is the multiple setting at power-on (16): QEMU builds IDENTIFY
    // once and does not update it after SET MULTIPLE MODE.
    put(59, 0x100 | MAX_MULTIPLE_SECTORS);
    const lba28 = Math.min(total, LBA28_SECTORS);
    put(60, lba28);
    put(61, lba28 >>> 16);
    put(62, 0x07);
    put(63, 0x07);
    put(64, 0x03); // PIO 3 and 4
    put(65, 120);
    put(66, 120);
    put(67, 120);
    put(68, 120);
    put(69, 0x4000); // deterministic TRIM
    put(80, 0xf0); // ATA-4 to ATA-7
    put(81, 0x16);
    put(82, (1 << 14) | (1 << 5) | 1); // NOP, write cache, SMART
    put(83, (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10)); // FLUSH CACHE EXT, FLUSH CACHE, 48-bit
    put(84, 1 << 14);
    put(85, (1 << 14) | (1 << 5) | 1); // write cache enabled
    put(86, (1 << 13) | (1 << 12) | (1 << 10));
    put(87, 1 << 14);
    put(88, 0x3f | (1 << 13));
    put(93, 0x6001);
    put(100, total % 0x10000);
    put(101, Math.floor(total / 0x10000) % 0x10000);
    put(102, Math.floor(total / 0x100000000) % 0x10000);
    put(103, Math.floor(total / 0x1000000000000) % 0x10000);
    put(106, 0x6000); // one logical sector per physical sector
    put(169, 1); // TRIM supported
  }

  /** ATA strings: two characters per word, the first in the high byte, space padded. */
  private putString(word: number, length: number, text: string): void {
    for (let i = 0; i < length; i++) {
      const c = i < text.length ? text.charCodeAt(i) & 0x7f : 0x20;
      this.identifyData[word * 2 + (i ^ 1)] = c;
    }
  }
}

/**
 * QEMU's geometry guess (hw/block/hd-geometry.c): the heads and sectors of
 * the first MBR partition that ends on a cylinder boundary with at most 16
 * heads; otherwise 16 heads, 63 sectors and as many cylinders as fit
 * (2 to 16383).
 */
export function guessGeometry(image: DiskImage): CHSGeometry {
  const total = image.sectorCount;
  if (total > 0) {
    const mbr = new Uint8Array(SECTOR_SIZE);
    image.read(0, 1, mbr, 0);
    if (mbr[510] === 0x55 && mbr[511] === 0xaa) {
      for (let i = 0; i < 4; i++) {
        const entry = 0x1be + i * 16;
        const endHead = mbr[entry + 5]!;
        const endSector = mbr[entry + 6]! & 63;
        const length = (mbr[entry + 12]! | (mbr[entry + 13]! << 8) | (mbr[entry + 14]! << 16) | (mbr[entry + 15]! << 24)) >>> 0;
        if (length === 0 || endHead === 0 || endSector === 0) continue;
        const heads = endHead + 1;
        const cylinders = Math.floor(total / (heads * endSector));
        if (cylinders < 1 || cylinders > 16383) continue;
        // More than 16 heads means the BIOS translated: use the standard geometry.
        if (heads > 16) break;
        return { cylinders, heads, sectorsPerTrack: endSector };
      }
    }
  }
  const cylinders = Math.min(16383, Math.max(2, Math.floor(total / (16 * 63))));
  return { cylinders, heads: 16, sectorsPerTrack: 63 };
}
