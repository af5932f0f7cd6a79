// Little-endian byte building for the tables and structures the firmware
// side of cr3 writes into guest RAM (ACPI, MP, multiboot2 information).

/** Little-endian bytes, appended to `bytes` (a fresh array, or one the caller shares). */
export class ByteWriter {
  constructor(readonly bytes: number[] = []) {}
  get length(): number {
    return this.bytes.length;
  }
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  /** A 64-bit value given as a Number below 2^53. */
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  /** `s` padded with spaces (or cut) to `n` bytes. */
  ascii(s: string, n: number): this {
    for (let i = 0; i < n; i++) this.u8(i < s.length ? s.charCodeAt(i) : 0x20);
    return this;
  }
  /** Appends `b` as it is. */
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i] & 0xff);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.u8(0);
    return this;
  }
  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}
