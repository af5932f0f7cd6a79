// A page-table builder: map linear → physical with chosen flags at any level
// and page size, for tests, benchmarks, demos and anyone setting up a guest
// address space by hand. Not on the hot path, so BigInt is welcome here.

import type { PhysicalBus } from "../machine/bus.ts";

export type PagingKind = "32bit" | "pae" | "4level" | "5level";

export const P = 1n << 0n;
export const RW = 1n << 1n;
export const US = 1n << 2n;
export const PWT = 1n << 3n;
export const PCD = 1n << 4n;
export const A = 1n << 5n;
export const D = 1n << 6n;
export const PS = 1n << 7n;
export const G = 1n << 8n;
export const XD = 1n << 63n;

export const KIB4 = 0x1000;
export const MIB2 = 0x200000;
export const MIB4 = 0x400000;
export const GIB1 = 0x40000000;

export interface MapOptions {
  /** Page size in bytes: 4 KiB, 2 MiB (PAE/IA-32e), 1 GiB (IA-32e), 4 MiB (32-bit). */
  size?: number;
  /** Leaf flags; default P|RW|US. XD and the key are separate options. */
  flags?: bigint;
  xd?: boolean;
  /** Protection key (IA-32e leaves only). */
  pkey?: number;
  /** Flags for the non-leaf entries created or reused on the way, default P|RW|US. */
  parentFlags?: bigint;
  /** Per-level override of the parent flags, by table name: "PML5", "PML4", "PDPT", "PD". */
  parents?: Partial<Record<string, bigint>>;
}

export class PageTableBuilder {
  readonly bus: PhysicalBus;
  readonly kind: PagingKind;
  /** Physical address of the top-level table (the PDPT for PAE). */
  readonly root: number;
  private next: number;

  /** Tables are allocated from physical `arenaBase` upwards, 4 KiB each, zeroed. */
  constructor(bus: PhysicalBus, kind: PagingKind, arenaBase = 0x100000) {
    this.bus = bus;
    this.kind = kind;
    this.next = arenaBase;
    this.root = this.allocTable();
  }

  get entryBytes(): number {
    return this.kind === "32bit" ? 4 : 8;
  }

  /** The CR3 value (low half) for this tree. */
  get cr3(): number {
    return this.root;
  }

  allocTable(): number {
    const address = this.next;
    this.next += 4096;
    for (let i = 0; i < 4096; i += 4) this.bus.write32(address + i, 0);
    return address;
  }

  /** Table names and index shifts from the top, for this paging kind. */
  levels(): { name: string; shift: number; bits: number }[] {
    switch (this.kind) {
      case "32bit":
        return [
          { name: "PD", shift: 22, bits: 10 },
          { name: "PT", shift: 12, bits: 10 },
        ];
      case "pae":
        return [
          { name: "PDPT", shift: 30, bits: 2 },
          { name: "PD", shift: 21, bits: 9 },
          { name: "PT", shift: 12, bits: 9 },
        ];
      case "4level":
        return [
          { name: "PML4", shift: 39, bits: 9 },
          { name: "PDPT", shift: 30, bits: 9 },
          { name: "PD", shift: 21, bits: 9 },
          { name: "PT", shift: 12, bits: 9 },
        ];
      case "5level":
        return [
          { name: "PML5", shift: 48, bits: 9 },
          { name: "PML4", shift: 39, bits: 9 },
          { name: "PDPT", shift: 30, bits: 9 },
          { name: "PD", shift: 21, bits: 9 },
          { name: "PT", shift: 12, bits: 9 },
        ];
    }
  }

  readEntry(address: number): bigint {
    if (this.entryBytes === 4) return BigInt(this.bus.read32(address) >>> 0);
    const lo = this.bus.read64(address) >>> 0;
    return (BigInt(this.bus.high >>> 0) << 32n) | BigInt(lo);
  }

  writeEntry(address: number, value: bigint): void {
    if (this.entryBytes === 4) this.bus.write32(address, Number(value & 0xffffffffn) | 0);
    else this.bus.write64(address, Number(value & 0xffffffffn) | 0, Number((value >> 32n) & 0xffffffffn) | 0);
  }

  /** Maps the page at `va` to physical `pa`. Returns the leaf entry's physical address. */
  map(va: bigint | number, pa: bigint | number, options: MapOptions = {}): number {
    const v = BigInt.asUintN(64, BigInt(va));
    const size = options.size ?? KIB4;
    const levels = this.levels();
    const leafShift = BigInt(Math.log2(size));
    let table = this.root;
    for (const level of levels) {
      const index = Number((v >> BigInt(level.shift)) & ((1n << BigInt(level.bits)) - 1n));
      const address = table + index * this.entryBytes;
      if (BigInt(level.shift) === leafShift) {
        let entry = (options.flags ?? P | RW | US) | BigInt(pa);
        if (size !== KIB4) entry |= PS;
        if (options.xd) entry |= XD;
        if (options.pkey) entry |= BigInt(options.pkey) << 59n;
        this.writeEntry(address, entry);
        return address;
      }
      const parentFlags = options.parents?.[level.name] ?? options.parentFlags ?? P | RW | US;
      let entry = this.readEntry(address);
      let next: number;
      if ((entry & P) === 0n || (entry & PS) !== 0n) {
        next = this.allocTable();
      } else {
        next = Number(entry & 0xffffffffff000n);
      }
      // PAE PDPTEs have no R/W or U/S bits (reserved): only P and the address.
      entry = this.kind === "pae" && level.name === "PDPT" ? P | BigInt(next) : parentFlags | BigInt(next);
      this.writeEntry(address, entry);
      table = next;
    }
    throw new Error(`no ${size}-byte pages at this level for ${this.kind}`);
  }

  /** Physical address of the entry for `va` at table `name`, following the present entries above it. */
  entryAddress(va: bigint | number, name: string): number {
    const v = BigInt.asUintN(64, BigInt(va));
    let table = this.root;
    for (const level of this.levels()) {
      const index = Number((v >> BigInt(level.shift)) & ((1n << BigInt(level.bits)) - 1n));
      const address = table + index * this.entryBytes;
      if (level.name === name) return address;
      const entry = this.readEntry(address);
      if ((entry & P) === 0n) throw new Error(`${level.name} entry for ${v.toString(16)} is not present`);
      table = Number(entry & 0xffffffffff000n);
    }
    throw new Error(`no table ${name} in ${this.kind}`);
  }

  /** Sets or clears bits of the entry for `va` at table `name`; returns its address. */
  modify(va: bigint | number, name: string, set: bigint, clear = 0n): number {
    const address = this.entryAddress(va, name);
    this.writeEntry(address, (this.readEntry(address) & ~clear) | set);
    return address;
  }
}

/** Splits a 64-bit linear address into the (lo, hi) halves the MMU takes. */
export function halves(va: bigint | number): [number, number] {
  const v = BigInt.asUintN(64, BigInt(va));
  return [Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0];
}
