// QEMU's firmware configuration device (docs/specs/fw_cfg.rst), the legacy
// I/O interface only: a 16-bit write to 0x510 selects an item and rewinds
// its data offset; each byte read from 0x511 (or 0x510: the two ports form
// one region on x86) returns the next byte of the item, and 0 past its end
// or for an unknown item. Writes to the data port are ignored (read-only
// items). The ID item reports the traditional interface only (bit 1, DMA,
// clear), so guests never look for the DMA address register at 0x514, which
// is not claimed.
//
// Items: signature "QEMU", ID, UUID (zeros), RAM size (64-bit LE), nographic,
// CPU counts (16-bit LE), boot menu, and the file directory (big-endian: u32
// count, then per file u32 size, u16 select key, u16 reserved, 56-byte NUL
// padded name) listing files added with addFile, sorted by name, with keys
// from 0x20 in that order.

import type { PortDevice } from "../machine/ports.ts";

export const FW_CFG_PORT_SELECTOR = 0x510;
export const FW_CFG_PORT_DATA = 0x511;
/** Ports to claim: 0x510-0x511. */
export const FW_CFG_PORTS = 2;

export const FW_CFG_SIGNATURE = 0x00;
export const FW_CFG_ID = 0x01;
export const FW_CFG_UUID = 0x02;
export const FW_CFG_RAM_SIZE = 0x03;
export const FW_CFG_NOGRAPHIC = 0x04;
export const FW_CFG_NB_CPUS = 0x05;
export const FW_CFG_BOOT_MENU = 0x0e;
export const FW_CFG_MAX_CPUS = 0x0f;
export const FW_CFG_FILE_DIR = 0x19;
export const FW_CFG_FILE_FIRST = 0x20;
const FILE_NAME_SIZE = 56;
/** Bit 14 (write channel) and bit 15 (architecture-local) of a selector. */
const SELECTOR_FLAGS = 0xc000;

export interface FwCfgOptions {
  ramBytes: number;
  cpus?: number;
  nographic?: boolean;
}

export class FwCfg implements PortDevice {
  readonly name = "fw-cfg";
  /** Selector as last written. */
  selector = 0;
  /** Offset of the next data byte in the selected item. */
  offset = 0;
  private readonly items = new Map<number, Uint8Array>();
  private readonly files = new Map<string, Uint8Array>();
  private readonly empty = new Uint8Array(0);
  private current: Uint8Array;

  constructor(options: FwCfgOptions) {
    const cpus = options.cpus ?? 1;
    this.items.set(FW_CFG_SIGNATURE, new Uint8Array([0x51, 0x45, 0x4d, 0x55])); // "QEMU"
    this.items.set(FW_CFG_ID, le(1, 4)); // traditional interface, no DMA
    this.items.set(FW_CFG_UUID, new Uint8Array(16));
    this.items.set(FW_CFG_RAM_SIZE, le(options.ramBytes, 8));
    this.items.set(FW_CFG_NOGRAPHIC, le(options.nographic ? 1 : 0, 2));
    this.items.set(FW_CFG_NB_CPUS, le(cpus, 2));
    this.items.set(FW_CFG_BOOT_MENU, le(0, 2));
    this.items.set(FW_CFG_MAX_CPUS, le(cpus, 2));
    this.rebuildDirectory();
    this.current = this.items.get(FW_CFG_SIGNATURE)!;
  }

  /** Adds (or replaces) a named file ("etc/..."), listed in the directory. */
  addFile(name: string, bytes: Uint8Array): void {
    const encoded = new TextEncoder().encode(name);
    if (encoded.length === 0 || encoded.length >= FILE_NAME_SIZE) {
      throw new RangeError(`fw_cfg file name must be 1-55 bytes: ${name}`);
    }
    this.files.set(name, bytes.slice());
    this.rebuildDirectory();
    this.select(this.selector);
  }

  /** The key of a file added with addFile, or -1. */
  fileKey(name: string): number {
    const names = [...this.files.keys()].sort();
    const i = names.indexOf(name);
    return i < 0 ? -1 : FW_CFG_FILE_FIRST + i;
  }

  readPort(_port: number, size: number): number {
    // Only byte reads are valid on the data port (fw_cfg.rst: 8-bit wide on x86).
    if (size !== 1) return size === 2 ? 0xffff : 0xffffffff;
    const item = this.current;
    return this.offset < item.length ? item[this.offset++] : 0;
  }

  writePort(port: number, size: number, value: number): void {
    if (port === FW_CFG_PORT_SELECTOR && size === 2) this.select(value & 0xffff);
    // byte writes are data writes: ignored since QEMU 2.4 for read-only items
  }

  private select(selector: number): void {
    this.selector = selector;
    this.offset = 0;
    this.current = this.items.get(selector & ~SELECTOR_FLAGS) ?? this.empty;
    if (selector & 0x8000) this.current = this.empty; // no architecture-local items
  }

  private rebuildDirectory(): void {
    for (const key of [...this.items.keys()]) if (key >= FW_CFG_FILE_FIRST) this.items.delete(key);
    const names = [...this.files.keys()].sort();
    const dir = new Uint8Array(4 + names.length * 64);
    const view = new DataView(dir.buffer);
    view.setUint32(0, names.length, false);
    names.forEach((name, i) => {
      const bytes = this.files.get(name)!;
      const key = FW_CFG_FILE_FIRST + i;
      const at = 4 + i * 64;
      view.setUint32(at, bytes.length, false);
      view.setUint16(at + 4, key, false);
      dir.set(new TextEncoder().encode(name), at + 8);
      this.items.set(key, bytes);
    });
    this.items.set(FW_CFG_FILE_DIR, dir);
  }
}

/** `value` as `bytes` little-endian bytes (exact up to 2^53). */
function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = value;
  for (let i = 0; i < bytes; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}
