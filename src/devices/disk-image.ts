// The backing store of an emulated hard disk: a raw image file (QEMU's
// format=raw) or bytes in memory, addressed in 512-byte sectors.
//
// Writes never go straight to the file. Each written sector is kept whole in
// memory ("dirty") and reaches the file only on flush() — the guest's FLUSH
// CACHE, or the end of the run — so the file never holds half a sector of a
// guest write. In snapshot mode (QEMU's snapshot=on / -snapshot) the file is
// opened read-only and flush() writes nothing: the guest's writes live and die
// with the run.
//
// Sizes that are not a multiple of 512 are rounded up, as QEMU's block layer
// does (a 1000-byte image has 2 sectors): the missing tail reads as zeros and
// a flushed write to the last sector extends the file to a whole sector.

import * as fs from "node:fs";

export const SECTOR_SIZE = 512;

/** An image that cannot be opened; the message is one line naming the file. */
export class DiskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiskError";
  }
}

export interface DiskImageOptions {
  /** Keep every write in memory; never write the file (QEMU's snapshot=on). */
  readonly snapshot?: boolean;
  /** Read-only media: writes are refused (the disk reports an error). */
  readonly readOnly?: boolean;
}

export class DiskImage {
  /** The file's path, or null for an image in memory. */
  readonly path: string | null;
  readonly sectorCount: number;
  readonly snapshot: boolean;
  readonly readOnly: boolean;

  /** The whole image, for images in memory; null for files. */
  private readonly bytes: Uint8Array | null;
  private fd: number;
  /** The file's size in bytes when opened (reads past it are zeros). */
  private readonly fileBytes: number;
  /** Sectors written since the last flush (all writes, in snapshot mode). */
  private readonly dirty = new Map<number, Uint8Array>();

  private constructor(
    path: string | null,
    bytes: Uint8Array | null,
    fd: number,
    fileBytes: number,
    options: DiskImageOptions,
  ) {
    this.path = path;
    this.bytes = bytes;
    this.fd = fd;
    this.fileBytes = fileBytes;
    this.sectorCount = Math.ceil(fileBytes / SECTOR_SIZE);
    this.snapshot = options.snapshot === true;
    this.readOnly = options.readOnly === true;
  }

  /**
   * Opens a raw image file. Throws DiskError (one line, naming the file) when
   * it cannot be opened as the options need: missing, not a regular file, or
   * not writable without snapshot/read-only (QEMU refuses those too).
   */
  static open(path: string, options: DiskImageOptions = {}): DiskImage {
    const writable = options.snapshot !== true && options.readOnly !== true;
    let fd: number;
    try {
      fd = fs.openSync(path, writable ? "r+" : "r");
    } catch (e) {
      throw new DiskError(openErrorMessage(path, e, writable));
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) {
        throw new DiskError(`could not open disk image '${path}': it is not a regular file`);
      }
      return new DiskImage(path, null, fd, stat.size, options);
    } catch (e) {
      fs.closeSync(fd);
      if (e instanceof DiskError) throw e;
      throw new DiskError(`could not open disk image '${path}': ${(e as Error).message}`);
    }
  }

  /** An image in memory holding `bytes` (copied; rounded up to whole sectors). */
  static fromBytes(bytes: Uint8Array, options: DiskImageOptions = {}): DiskImage {
    const size = Math.ceil(bytes.length / SECTOR_SIZE) * SECTOR_SIZE;
    const copy = new Uint8Array(size);
    copy.set(bytes);
    return new DiskImage(null, copy, -1, size, options);
  }

  /** A zero-filled image in memory of `sectors` sectors. */
  static blank(sectors: number, options: DiskImageOptions = {}): DiskImage {
    return DiskImage.fromBytes(new Uint8Array(sectors * SECTOR_SIZE), options);
  }

  /** True when sectors [lba, lba + count) all exist. */
  contains(lba: number, count: number): boolean {
    return lba >= 0 && count >= 0 && lba + count <= this.sectorCount;
  }

  /** Sectors written but not yet in the file (every write, in snapshot mode). */
  get dirtySectors(): number {
    return this.dirty.size;
  }

  /** Reads sectors [lba, lba + count) into `into` at `offset`. The range must be contained. */
  read(lba: number, count: number, into: Uint8Array, offset: number): void {
    let run = 0; // sectors in the current run not found among the dirty ones
    for (let i = 0; i < count; i++) {
      const written = this.dirty.size === 0 ? undefined : this.dirty.get(lba + i);
      if (written === undefined) {
        run++;
        continue;
      }
      this.readBacking(lba + i - run, run, into, offset + (i - run) * SECTOR_SIZE);
      run = 0;
      into.set(written, offset + i * SECTOR_SIZE);
    }
    this.readBacking(lba + count - run, run, into, offset + (count - run) * SECTOR_SIZE);
  }

  /**
   * Writes sectors [lba, lba + count) from `from` at `offset`, whole sectors
   * only. Returns false (nothing written) on read-only media. The range must be contained.
   */
  write(lba: number, count: number, from: Uint8Array, offset: number): boolean {
    if (this.readOnly) return false;
    for (let i = 0; i < count; i++) {
      const start = offset + i * SECTOR_SIZE;
      if (this.bytes !== null && !this.snapshot) {
        this.bytes.set(from.subarray(start, start + SECTOR_SIZE), (lba + i) * SECTOR_SIZE);
        continue;
      }
      let sector = this.dirty.get(lba + i);
      if (sector === undefined) {
        sector = new Uint8Array(SECTOR_SIZE);
        this.dirty.set(lba + i, sector);
      }
      sector.set(from.subarray(start, start + SECTOR_SIZE));
    }
    return true;
  }

  /**
   * Writes the dirty sectors to the file, whole sectors in ascending order,
   * and asks the OS to make them durable. Nothing happens in snapshot mode
   * or for images in memory.
   */
  flush(): void {
    if (this.snapshot || this.fd < 0 || this.dirty.size === 0) return;
    const sectors = [...this.dirty.keys()].sort((a, b) => a - b);
    let i = 0;
    while (i < sectors.length) {
      let end = i + 1;
      while (end < sectors.length && sectors[end] === sectors[end - 1]! + 1) end++;
      const run = new Uint8Array((end - i) * SECTOR_SIZE);
      for (let k = i; k < end; k++) run.set(this.dirty.get(sectors[k]!)!, (k - i) * SECTOR_SIZE);
      writeFully(this.fd, run, sectors[i]! * SECTOR_SIZE);
      i = end;
    }
    fs.fdatasyncSync(this.fd);
    this.dirty.clear();
  }

  /** Flushes, then releases the file. The image must not be used afterwards. */
  close(): void {
    this.flush();
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Reads sectors from the file or memory, zeros past the file's end. */
  private readBacking(lba: number, count: number, into: Uint8Array, offset: number): void {
    if (count === 0) return;
    const length = count * SECTOR_SIZE;
    const position = lba * SECTOR_SIZE;
    if (this.bytes !== null) {
      into.set(this.bytes.subarray(position, position + length), offset);
      return;
    }
    let done = 0;
    const available = Math.max(0, Math.min(length, this.fileBytes - position));
    while (done < available) {
      const n = fs.readSync(this.fd, into, offset + done, available - done, position + done);
      if (n === 0) break;
      done += n;
    }
    into.fill(0, offset + done, offset + length);
  }
}

function writeFully(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) {
    done += fs.writeSync(fd, data, done, data.length - done, position + done);
  }
}

function openErrorMessage(path: string, e: unknown, writable: boolean): string {
  const code = (e as NodeJS.ErrnoException).code;
  const start = `could not open disk image '${path}'`;
  switch (code) {
    case "ENOENT":
      return `${start}: no such file`;
    case "EISDIR":
      return `${start}: it is a directory`;
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return writable
        ? `${start} for writing: permission denied (add snapshot=on or -snapshot to keep the guest's writes in memory)`
        : `${start}: permission denied`;
    default:
      return `${start}: ${(e as Error).message}`;
  }
}
