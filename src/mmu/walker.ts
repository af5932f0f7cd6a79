// The page walker: one translation of a linear address under the current
// paging mode, with every check of SDM Vol. 3A ch. 4 in the order hardware
// makes them — per level: present, then reserved bits; at the leaf: the
// access rights of the whole walk (rights.ts).
//
// A walk never allocates and never throws. It leaves its outcome in fields
// (frame, allowed classes, dirty, global, or an error code); a walk without
// `commit` (explainWalk's) also leaves a trace of every entry it read, which
// explain.ts turns into words. With `commit` it
// sets Accessed flags in each entry it used and Dirty in the leaf on a write,
// in guest memory, as the processor does (SDM 4.8); a walk that faults leaves
// the leaf untouched while the entries above it keep the A flags it set.

import type { PhysicalBus } from "../machine/bus.ts";
import { ALL_CLASSES, PF_P, PF_RSVD, WRITE_CLASSES } from "./access.ts";
import { MODE_32BIT, MODE_4LEVEL, MODE_5LEVEL, MODE_NONE, MODE_PAE } from "./paging-mode.ts";
import {
  DENY_NONE,
  DENY_NOT_PRESENT,
  DENY_RESERVED,
  RIGHT_NO_EXECUTE,
  RIGHT_PK_ACCESS_DISABLED,
  RIGHT_PK_WRITE_DISABLED,
  RIGHT_USER,
  RIGHT_WRITABLE,
  accessErrorBits,
  buildRightsTable,
  denialReason,
  type RightsControls,
} from "./rights.ts";

// Which table an entry of the trace came from.
export const LEVEL_PML5 = 0;
export const LEVEL_PML4 = 1;
export const LEVEL_PDPT = 2;
export const LEVEL_PD = 3;
export const LEVEL_PT = 4;
export const TABLE_NAMES = ["PML5", "PML4", "PDPT", "PD", "PT"] as const;
export const ENTRY_NAMES = ["PML5E", "PML4E", "PDPTE", "PDE", "PTE"] as const;

const BIT_P = 0x1;
const BIT_A = 0x20;
const BIT_D = 0x40;
const BIT_PS = 0x80;
const BIT_G = 0x100;
const TWO_32 = 4294967296;
const MAX_LEVELS = 5;

export class PageWalker {
  private readonly bus: PhysicalBus;
  private readonly ram: Int32Array;
  private readonly lowRamPage: Int32Array;
  readonly maxPhysAddrBits: number;
  readonly gigabytePages: boolean;

  // Control state, kept in step with the control registers by the MMU.
  mode = MODE_NONE;
  cr3Lo = 0;
  cr3Hi = 0;
  pse = false;
  pge = false;
  nxe = false;
  /** CR4.PKE under IA-32e paging: protection keys apply. */
  pkActive = false;
  pkru = 0;
  wp = false;
  smep = false;
  smap = false;
  /** SDM 4.7: whether fetch faults set the I/D bit. */
  reportFetch = false;
  private rightsTable: Int32Array;

  /** PAE paging's four PDPTE registers, loaded when CR3 is written (SDM 4.4.1). */
  readonly pdpteLo = new Int32Array(4);
  readonly pdpteHi = new Int32Array(4);

  /** Physical-address bits 32..MAXPHYADDR-1, as a mask of an entry's high half. */
  readonly addressHighMask: number;
  /** Reserved high-half bits of IA-32e entries: 51:MAXPHYADDR (SDM 4.5.4). */
  private readonly reservedHighLong: number;
  /** Reserved high-half bits of PAE PDEs/PTEs: 62:MAXPHYADDR (SDM 4.4.2). */
  private readonly reservedHighPae: number;
  /** Reserved bits of a 32-bit PDE mapping 4 MiB: bit 21 and 20:(M-19) (SDM 4.3). */
  private readonly reserved4MiB: number;

  // Trace of the last walk without `commit` (explainWalk's): one row per
  // entry read. The entry's physical address is tableHi:tableLo + index *
  // entry size (see entryAddress). Committing walks skip it: they are the
  // TLB-miss path.
  depth = 0;
  readonly traceLevel = new Int8Array(MAX_LEVELS);
  readonly traceIndex = new Int16Array(MAX_LEVELS);
  readonly traceTableLo = new Int32Array(MAX_LEVELS);
  readonly traceTableHi = new Int32Array(MAX_LEVELS);
  readonly traceLo = new Int32Array(MAX_LEVELS);
  readonly traceHi = new Int32Array(MAX_LEVELS);

  // Outcome of the last walk.
  /** Physical address of the 4 KiB frame holding the linear address, as int32 halves. */
  frameLo = 0;
  frameHi = 0;
  /** log2 of the page size: 12, 21, 22 or 30. */
  pageShift = 12;
  /** Classes the translation allows (bit per access class). */
  allowed = 0;
  /** Combined rights bits (rights.ts RIGHT_*). */
  rights = 0;
  /** The leaf's Dirty flag after this walk. */
  dirty = false;
  global = false;
  protectionKey = 0;
  /** On failure: the #PF error code and the reason (rights.ts DENY_*). */
  errorCode = 0;
  denial = DENY_NONE;
  /** On a reserved-bit fault: the offending bits of the entry. */
  reservedLo = 0;
  reservedHi = 0;
  /** Paging-structure entries read by walks, ever. */
  memoryReads = 0;

  constructor(bus: PhysicalBus, maxPhysAddrBits: number, gigabytePages: boolean) {
    this.bus = bus;
    this.ram = bus.ram.i32;
    this.lowRamPage = bus.lowRamPage;
    this.maxPhysAddrBits = maxPhysAddrBits;
    this.gigabytePages = gigabytePages;
    const highBits = maxPhysAddrBits - 32;
    this.addressHighMask = highBits >= 20 ? 0xfffff : (1 << highBits) - 1;
    this.reservedHighLong = 0xfffff & ~this.addressHighMask;
    this.reservedHighPae = 0x7fffffff & ~this.addressHighMask;
    const pse36Bits = Math.min(8, highBits);
    this.reserved4MiB = (1 << 21) | ((0xff & ~((1 << pse36Bits) - 1)) << 13);
    this.rightsTable = buildRightsTable({ wp: false, smep: false, smap: false });
  }

  /** Physical address of the 4 KiB frame holding the linear address. */
  get frame(): number {
    return this.frameHi * TWO_32 + (this.frameLo >>> 0);
  }

  /** Rebuilds the rights table after CR0.WP, CR4.SMEP or CR4.SMAP changed. */
  setRightsControls(c: RightsControls): void {
    this.wp = c.wp;
    this.smep = c.smep;
    this.smap = c.smap;
    this.rightsTable = buildRightsTable(c);
  }

  /**
   * Loads the PAE PDPTE registers from the 32-byte table at `cr3Lo`. Returns
   * false, loading nothing, if a present PDPTE sets a reserved bit: the MOV to
   * CR0/CR3/CR4 then raises #GP(0) (SDM 4.4.1).
   */
  loadPdptes(cr3Lo: number): boolean {
    const base = (cr3Lo & ~0x1f) >>> 0;
    for (let i = 0; i < 4; i++) {
      const lo = this.bus.read64(base + i * 8);
      const hi = this.bus.high;
      if ((lo & BIT_P) !== 0 && ((lo & 0x1e6) !== 0 || (hi & ~this.addressHighMask) !== 0)) return false;
    }
    for (let i = 0; i < 4; i++) {
      this.pdpteLo[i] = this.bus.read64(base + i * 8);
      this.pdpteHi[i] = this.bus.high;
    }
    return true;
  }

  /**
   * Translates linear address hi:lo for an access of class `cls`. Returns
   * true with `frame` etc. set, or false with `errorCode` and `denial` set.
   */
  walk(lo: number, hi: number, cls: number, commit: boolean): boolean {
    if (commit && this.mode === MODE_4LEVEL && this.walk4Fast(lo, hi, cls)) return true;
    return this.walkGeneral(lo, hi, cls, commit);
  }

  /** The walk of `walk`, without the 4-level fast path. */
  walkGeneral(lo: number, hi: number, cls: number, commit: boolean): boolean {
    this.depth = 0;
    switch (this.mode) {
      case MODE_NONE:
        this.frameLo = lo & ~0xfff;
        this.frameHi = 0;
        this.pageShift = 12;
        this.allowed = ALL_CLASSES;
        this.rights = RIGHT_USER | RIGHT_WRITABLE;
        this.dirty = true;
        this.global = false;
        this.protectionKey = 0;
        return true;
      case MODE_32BIT:
        return this.walk32(lo, cls, commit);
      case MODE_PAE:
        return this.walkPae(lo, cls, commit);
      case MODE_4LEVEL:
        return this.walkTables(lo, hi, cls, commit, LEVEL_PML4, this.cr3Lo & ~0xfff, this.cr3Hi & this.addressHighMask);
      case MODE_5LEVEL:
        return this.walkTables(lo, hi, cls, commit, LEVEL_PML5, this.cr3Lo & ~0xfff, this.cr3Hi & this.addressHighMask);
    }
    return false;
  }

  /**
   * The common case of a 4-level walk, in straight-line code: every table in
   * the bus's identity-mapped RAM span, every entry present with its A flag
   * (and for a write the leaf's D flag) already set, no reserved bits, no
   * 1 GiB page, no protection key in play, and rights that allow the access.
   * Such a walk writes nothing, and this returns true with the outcome
   * walkTables would give. Anything else returns false before changing any
   * state, and walkTables does the work (test/walker-fast-path.test.ts holds
   * the two to each other).
   */
  walk4Fast(lo: number, hi: number, cls: number): boolean {
    const addressHigh = this.addressHighMask;
    if ((this.cr3Hi & addressHigh) !== 0) return false;
    const base = this.bus.identityBase;
    const span = this.bus.identitySpan;
    const ram = this.ram;
    const reservedHigh = this.reservedHighLong | (this.nxe ? 0 : 0x80000000);
    const tableHigh = reservedHigh | addressHigh; // a next table must lie below 4 GiB
    // PML4E: P=1, A=1, PS=0 (bits 0, 5, 7).
    let table = this.cr3Lo & ~0xfff;
    if ((table - base) >>> 0 >= span) return false;
    let word = (table >>> 2) + (((hi >>> 7) & 511) << 1);
    let entryLo = ram[word];
    let entryHi = ram[word + 1];
    if ((entryLo & 0xa1) !== 0x21 || (entryHi & tableHigh) !== 0) return false;
    let bits = entryLo;
    let noExecute = entryHi;
    // PDPTE: a 1 GiB page (PS=1) goes to the general walk.
    table = entryLo & ~0xfff;
    if ((table - base) >>> 0 >= span) return false;
    word = (table >>> 2) + ((((lo >>> 30) | (hi << 2)) & 511) << 1);
    entryLo = ram[word];
    entryHi = ram[word + 1];
    if ((entryLo & 0xa1) !== 0x21 || (entryHi & tableHigh) !== 0) return false;
    bits &= entryLo;
    noExecute |= entryHi;
    // PDE: a 2 MiB page, or a page table.
    table = entryLo & ~0xfff;
    if ((table - base) >>> 0 >= span) return false;
    word = (table >>> 2) + (((lo >>> 21) & 511) << 1);
    entryLo = ram[word];
    entryHi = ram[word + 1];
    if ((entryLo & 0x21) !== 0x21 || (entryHi & reservedHigh) !== 0) return false;
    bits &= entryLo;
    noExecute |= entryHi;
    let pageShift: number;
    let frameLo: number;
    if ((entryLo & 0x80) !== 0) {
      if ((entryLo & 0x1fe000) !== 0) return false; // reserved bits 20:13
      pageShift = 21;
      frameLo = (entryLo & 0xffe00000) | (lo & 0x1ff000);
    } else {
      if ((entryHi & addressHigh) !== 0) return false;
      table = entryLo & ~0xfff;
      if ((table - base) >>> 0 >= span) return false;
      word = (table >>> 2) + (((lo >>> 12) & 511) << 1);
      entryLo = ram[word];
      entryHi = ram[word + 1];
      if ((entryLo & 0x21) !== 0x21 || (entryHi & reservedHigh) !== 0) return false;
      bits &= entryLo;
      noExecute |= entryHi;
      pageShift = 12;
      frameLo = entryLo & ~0xfff;
    }
    const rights = ((bits >>> 2) & 1) | (bits & 2) | ((noExecute >>> 31) << 2);
    if (this.pkActive && (rights & RIGHT_USER) !== 0) return false;
    const decision = this.rightsTable[rights];
    if (((decision >>> cls) & 1) === 0) return false;
    if (((WRITE_CLASSES >>> cls) & 1) !== 0 && (entryLo & BIT_D) === 0) return false;
    const frameHi = entryHi & addressHigh;
    this.frameLo = frameLo;
    this.frameHi = frameHi;
    this.pageShift = pageShift;
    this.allowed = decision & ALL_CLASSES;
    this.rights = rights;
    this.dirty = (entryLo & BIT_D) !== 0;
    this.global = this.pge && (entryLo & BIT_G) !== 0;
    this.protectionKey = (entryHi >>> 27) & 15;
    this.denial = DENY_NONE;
    this.memoryReads += pageShift === 12 ? 4 : 3;
    return true;
  }

  private walk32(lo: number, cls: number, commit: boolean): boolean {
    const tableLo = this.cr3Lo & ~0xfff;
    const index = lo >>> 22;
    let word = this.ramWord(tableLo, 0, index << 2);
    const pde = word >= 0 ? this.ram[word] : this.bus.read32((tableLo >>> 0) + index * 4);
    this.memoryReads++;
    if (!commit) this.record(LEVEL_PD, index, tableLo, 0, pde, 0);
    if ((pde & BIT_P) === 0) return this.fail(DENY_NOT_PRESENT, cls);
    const pdeRights = ((pde >>> 2) & 1) | (pde & 2);
    if (this.pse && (pde & BIT_PS) !== 0) {
      // SDM 4.3: a 4 MiB page; PDE bits 20:13 are physical-address bits 39:32 (PSE-36).
      const reserved = pde & this.reserved4MiB;
      if (reserved !== 0) return this.failReserved(cls, reserved, 0);
      const frameLo = (pde & 0xffc00000) | (lo & 0x3ff000);
      return this.finish(cls, commit, word, tableLo, 0, index << 2, pde, pdeRights, 22, frameLo, (pde >>> 13) & 0xff, 0);
    }
    if (commit && (pde & BIT_A) === 0) this.setFlags(word, tableLo, 0, index << 2, pde | BIT_A);
    const ptLo = pde & ~0xfff;
    const pteIndex = (lo >>> 12) & 0x3ff;
    word = this.ramWord(ptLo, 0, pteIndex << 2);
    const pte = word >= 0 ? this.ram[word] : this.bus.read32((ptLo >>> 0) + pteIndex * 4);
    this.memoryReads++;
    if (!commit) this.record(LEVEL_PT, pteIndex, ptLo, 0, pte, 0);
    if ((pte & BIT_P) === 0) return this.fail(DENY_NOT_PRESENT, cls);
    const rights = pdeRights & (((pte >>> 2) & 1) | (pte & 2));
    return this.finish(cls, commit, word, ptLo, 0, pteIndex << 2, pte, rights, 12, pte & ~0xfff, 0, 0);
  }

  private walkPae(lo: number, cls: number, commit: boolean): boolean {
    const index = lo >>> 30;
    const entryLo = this.pdpteLo[index];
    const entryHi = this.pdpteHi[index];
    // The PDPTE comes from its register, not memory: no read, no A flag.
    if (!commit) this.record(LEVEL_PDPT, index, this.cr3Lo & ~0x1f, 0, entryLo, entryHi);
    if ((entryLo & BIT_P) === 0) return this.fail(DENY_NOT_PRESENT, cls);
    return this.walkTables(lo, 0, cls, commit, LEVEL_PD, entryLo & ~0xfff, entryHi & this.addressHighMask);
  }

  /** PAE from the page directory down, and IA-32e paging from the top. */
  private walkTables(
    lo: number,
    hi: number,
    cls: number,
    commit: boolean,
    startLevel: number,
    tableLo: number,
    tableHi: number,
  ): boolean {
    const long = startLevel <= LEVEL_PML4;
    const reservedHigh = (long ? this.reservedHighLong : this.reservedHighPae) | (this.nxe ? 0 : 0x80000000);
    let rights = RIGHT_USER | RIGHT_WRITABLE;
    let noExecute = 0;
    for (let level = startLevel; ; level++) {
      const index = tableIndex(level, lo, hi);
      const word = this.ramWord(tableLo, tableHi, index << 3);
      let entryLo: number;
      let entryHi: number;
      if (word >= 0) {
        entryLo = this.ram[word];
        entryHi = this.ram[word + 1];
      } else {
        entryLo = this.bus.read64(tableHi * TWO_32 + (tableLo >>> 0) + index * 8);
        entryHi = this.bus.high;
      }
      this.memoryReads++;
      if (!commit) this.record(level, index, tableLo, tableHi, entryLo, entryHi);
      if ((entryLo & BIT_P) === 0) return this.fail(DENY_NOT_PRESENT, cls);
      let reservedLo = 0;
      let pageShift = 0;
      if (level === LEVEL_PT) {
        pageShift = 12;
      } else if ((entryLo & BIT_PS) !== 0) {
        if (level <= LEVEL_PML4) {
          reservedLo = BIT_PS; // SDM 4.5.4: PS is reserved in PML5Es and PML4Es
        } else if (level === LEVEL_PDPT) {
          // 1 GiB page: bits 29:13 reserved; PS itself reserved without 1 GiB support.
          reservedLo = this.gigabytePages ? entryLo & 0x3fffe000 : BIT_PS;
          pageShift = 30;
        } else {
          reservedLo = entryLo & 0x1fe000; // 2 MiB page: bits 20:13 reserved
          pageShift = 21;
        }
      }
      const reservedHi = entryHi & reservedHigh;
      if (reservedLo !== 0 || reservedHi !== 0) return this.failReserved(cls, reservedLo, reservedHi);
      rights &= ((entryLo >>> 2) & 1) | (entryLo & 2);
      noExecute |= entryHi >>> 31;
      if (pageShift !== 0) {
        const frameHi = entryHi & this.addressHighMask;
        let frameLo: number;
        if (pageShift === 12) frameLo = entryLo & ~0xfff;
        else if (pageShift === 21) frameLo = (entryLo & 0xffe00000) | (lo & 0x1ff000);
        else frameLo = (entryLo & 0xc0000000) | (lo & 0x3ffff000);
        let leafRights = rights | (noExecute !== 0 ? RIGHT_NO_EXECUTE : 0);
        let key = 0;
        if (long) {
          key = (entryHi >>> 27) & 15; // bits 62:59
          if (this.pkActive && (rights & RIGHT_USER) !== 0) {
            const bits = this.pkru >>> (2 * key);
            if ((bits & 1) !== 0) leafRights |= RIGHT_PK_ACCESS_DISABLED;
            if ((bits & 2) !== 0) leafRights |= RIGHT_PK_WRITE_DISABLED;
          }
        }
        return this.finish(cls, commit, word, tableLo, tableHi, index << 3, entryLo, leafRights, pageShift, frameLo, frameHi, key);
      }
      if (commit && (entryLo & BIT_A) === 0) this.setFlags(word, tableLo, tableHi, index << 3, entryLo | BIT_A);
      tableLo = entryLo & ~0xfff;
      tableHi = entryHi & this.addressHighMask;
    }
  }

  private finish(
    cls: number,
    commit: boolean,
    word: number,
    tableLo: number,
    tableHi: number,
    byteOffset: number,
    entryLo: number,
    rights: number,
    pageShift: number,
    frameLo: number,
    frameHi: number,
    key: number,
  ): boolean {
    const decision = this.rightsTable[rights];
    this.rights = rights;
    this.protectionKey = key;
    if (((decision >>> cls) & 1) === 0) {
      this.denial = denialReason(cls, rights, this);
      this.errorCode = PF_P | accessErrorBits(cls, this.reportFetch) | (((decision >>> (16 + cls)) & 1) << 5);
      return false;
    }
    const setBits = ((WRITE_CLASSES >>> cls) & 1) !== 0 ? BIT_A | BIT_D : BIT_A;
    if (commit && (entryLo & setBits) !== setBits) this.setFlags(word, tableLo, tableHi, byteOffset, entryLo | setBits);
    this.allowed = decision & ALL_CLASSES;
    this.dirty = ((commit ? entryLo | setBits : entryLo) & BIT_D) !== 0;
    this.global = this.pge && (entryLo & BIT_G) !== 0;
    this.pageShift = pageShift;
    this.frameLo = frameLo;
    this.frameHi = frameHi;
    this.denial = DENY_NONE;
    return true;
  }

  private fail(denial: number, cls: number): boolean {
    this.denial = denial;
    this.errorCode = accessErrorBits(cls, this.reportFetch);
    return false;
  }

  private failReserved(cls: number, reservedLo: number, reservedHi: number): boolean {
    this.denial = DENY_RESERVED;
    this.reservedLo = reservedLo;
    this.reservedHi = reservedHi;
    // SDM 4.7: RSVD is reported together with P.
    this.errorCode = PF_P | PF_RSVD | accessErrorBits(cls, this.reportFetch);
    return false;
  }

  private record(level: number, index: number, tableLo: number, tableHi: number, lo: number, hi: number): void {
    const d = this.depth++;
    this.traceLevel[d] = level;
    this.traceIndex[d] = index;
    this.traceTableLo[d] = tableLo;
    this.traceTableHi[d] = tableHi;
    this.traceLo[d] = lo;
    this.traceHi[d] = hi;
  }

  /**
   * The Int32Array index of the paging-structure entry at byte `byteOffset`
   * of the table at tableHi:tableLo, when that table is plain RAM below
   * 4 GiB (the usual case); -1 sends the access through the bus.
   */
  private ramWord(tableLo: number, tableHi: number, byteOffset: number): number {
    if (tableHi !== 0) return -1;
    // Unsigned compare: inside the bus's identity-mapped RAM span?
    if ((tableLo - this.bus.identityBase) >>> 0 < this.bus.identitySpan) return ((tableLo >>> 0) + byteOffset) >>> 2;
    const page = this.lowRamPage[tableLo >>> 12];
    return page < 0 ? -1 : (page << 10) | (byteOffset >>> 2);
  }

  /** Writes an entry's low dword back with A (and D) set (SDM 4.8). */
  private setFlags(word: number, tableLo: number, tableHi: number, byteOffset: number, value: number): void {
    if (word >= 0) this.ram[word] = value;
    else this.bus.write32(tableHi * TWO_32 + (tableLo >>> 0) + byteOffset, value);
  }

  /** Physical address of trace row `d`'s entry. */
  entryAddress(d: number): number {
    const size = this.mode === MODE_32BIT ? 4 : 8;
    return this.traceTableHi[d] * TWO_32 + (this.traceTableLo[d] >>> 0) + this.traceIndex[d] * size;
  }
}

function tableIndex(level: number, lo: number, hi: number): number {
  switch (level) {
    case LEVEL_PML5:
      return (hi >>> 16) & 511; // bits 56:48
    case LEVEL_PML4:
      return (hi >>> 7) & 511; // bits 47:39
    case LEVEL_PDPT:
      return ((lo >>> 30) | (hi << 2)) & 511; // bits 38:30
    case LEVEL_PD:
      return (lo >>> 21) & 511; // bits 29:21
    default:
      return (lo >>> 12) & 511; // bits 20:12
  }
}
