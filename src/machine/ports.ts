// The x86 I/O port space: 65536 byte-wide ports reached by IN and OUT.
// A table of 65536 device indices makes dispatch O(1). Reads of unclaimed
// ports return all ones and writes to them are dropped, as on a PC, and both
// are counted. Port 0x80 (POST code) is claimed by a built-in sink.

export interface PortDevice {
  readonly name: string;
  /**
   * Reads 1, 2 or 4 bytes at absolute port `port`. A wide access that starts
   * in the device's range is passed whole to it; the device decides.
   */
  readPort(port: number, size: number): number;
  /** Writes 1, 2 or 4 bytes at absolute port `port` (value's low `size` bytes). */
  writePort(port: number, size: number, value: number): void;
}

export const PORT_COUNT = 0x10000;
export const POST_PORT = 0x80;

/** Port 0x80: accepts writes, reads 0xff (QEMU's ioport80 reads all ones). */
class PostCodeSink implements PortDevice {
  readonly name = "post-code";
  postCode = 0;
  readPort(_port: number, size: number): number {
    return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
  }
  writePort(_port: number, _size: number, value: number): void {
    this.postCode = value & 0xff;
  }
}

export class PortBus {
  /** For each port: its device's index in `devices`, 0 when unclaimed. */
  private readonly owner = new Uint8Array(PORT_COUNT);
  /** Slot 0 stands for "unclaimed" and is never called. */
  private readonly devices: PortDevice[] = [new PostCodeSink()];
  private readonly post = new PostCodeSink();

  unclaimedReads = 0;
  unclaimedWrites = 0;

  constructor() {
    this.register(POST_PORT, 1, this.post);
  }

  /** The last byte written to port 0x80. */
  get postCode(): number {
    return this.post.postCode;
  }

  /** Claims ports [first, first + count) for `device`. */
  register(first: number, count: number, device: PortDevice): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1 || first < 0 || first + count > PORT_COUNT) {
      throw new RangeError(`ports ${hex(first)}+${count} for ${device.name} are outside 0x0-0xffff`);
    }
    for (let p = first; p < first + count; p++) {
      const o = this.owner[p];
      if (o !== 0) {
        throw new RangeError(
          `ports ${hex(first)}-${hex(first + count - 1)} for ${device.name} overlap ${this.devices[o].name} at ${hex(p)}`,
        );
      }
    }
    let index = this.devices.indexOf(device, 1);
    if (index < 0) {
      if (this.devices.length > 255) throw new RangeError("too many port devices (255 at most)");
      index = this.devices.length;
      this.devices.push(device);
    }
    this.owner.fill(index, first, first + count);
  }

  /** The device claiming `port`, or null. */
  deviceAt(port: number): PortDevice | null {
    const o = this.owner[port & 0xffff];
    return o === 0 ? null : this.devices[o];
  }

  /** IN of 1, 2 or 4 bytes; the result is unsigned. */
  read(port: number, size: number): number {
    const o = this.owner[port & 0xffff];
    if (o === 0) {
      this.unclaimedReads++;
      return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    }
    const v = this.devices[o].readPort(port & 0xffff, size);
    return size === 4 ? v >>> 0 : size === 2 ? v & 0xffff : v & 0xff;
  }

  /** OUT of 1, 2 or 4 bytes. */
  write(port: number, size: number, value: number): void {
    const o = this.owner[port & 0xffff];
    if (o === 0) {
      this.unclaimedWrites++;
      return;
    }
    this.devices[o].writePort(port & 0xffff, size, size === 4 ? value >>> 0 : size === 2 ? value & 0xffff : value & 0xff);
  }
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}
