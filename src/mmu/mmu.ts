// The MMU: every guest memory access, instruction fetches included, comes
// here as (linear address as two 32-bit halves, access class). A TLB hit to
// RAM costs a tag compare, a shift-and-mask permission check and a typed-array
// load; everything else — misses, Dirty-flag updates, MMIO, accesses that
// cross a page, faults — takes the slow path, which walks the page tables
// (walker.ts) and refills the TLB.
//
// Faults are values: a faulting access returns 0 (or writes nothing), sets
// `faultPending` with the #PF error code and the linear address for CR2, and
// the CPU delivers the exception. Nothing here throws or allocates per access.
//
// The control registers live here because every write to them has TLB
// consequences (SDM 4.10.4): setCr0/setCr3/setCr4/setEfer/setPkru apply them.
// Validating the values (#GP for reserved bits) is the CPU's job, except for
// PAE PDPTE loading, whose failure is reported by a false return.

import type { PhysicalBus } from "../machine/bus.ts";
import type { MachineConfig } from "../machine/config.ts";
import { FETCH_CLASSES, WRITE_CLASSES } from "./access.ts";
import {
  CR0_CD,
  CR0_NW,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_LA57,
  CR4_PAE,
  CR4_PCIDE,
  CR4_PGE,
  CR4_PKE,
  CR4_PSE,
  CR4_SMAP,
  CR4_SMEP,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  MODE_4LEVEL,
  MODE_NONE,
  MODE_PAE,
  isCanonical,
  pagingModeOf,
} from "./paging-mode.ts";
import {
  CONTEXT_SHIFT,
  EMPTY_KEY,
  ENTRY_WORDS,
  MAX_CONTEXT,
  PERM_ALLOWED_SHIFT,
  PERM_DIRTY,
  PERM_NOT_RAM,
  Tlb,
} from "./tlb.ts";
import { PageWalker } from "./walker.ts";
import { explainWalk, type WalkExplanation } from "./explain.ts";

const PAGE_MASK = 0xfff;
const VA_HIGH_MASK = 0x1fff; // linear-address bits 56:44, the part of the page number in the key
const PCID_COUNT = 4096;

// Indices of Mmu.counters. Walks are not counted here: every TLB miss walks.
export const COUNT_FAULTS = 0;
export const COUNT_CR3_WRITES = 1;
export const COUNT_FLUSHES_ALL = 2;
export const COUNT_FLUSHES_PCID = 3;
export const COUNT_INVLPG = 4;

export class Mmu {
  readonly bus: PhysicalBus;
  readonly walker: PageWalker;
  readonly itlb: Tlb;
  readonly dtlb: Tlb;

  // Control registers (64-bit ones as halves).
  cr0 = 0;
  cr3Lo = 0;
  cr3Hi = 0;
  cr4 = 0;
  efer = 0;
  pkru = 0;
  /** Current PCID: CR3[11:0] when CR4.PCIDE=1, else 0. */
  pcid = 0;
  /** Current paging mode (paging-mode.ts MODE_*). */
  mode = MODE_NONE;

  // The last fault, for the CPU to deliver.
  faultPending = false;
  faultErrorCode = 0;
  faultAddressLo = 0;
  faultAddressHi = 0;
  /** High half of the last read64. */
  high = 0;
  /**
   * Bumped whenever cached translations may have changed (any flush, INVLPG,
   * INVPCID, a CR3/CR0/CR4/EFER/PKRU write): a CPU that keeps the current code
   * page's translation outside the TLB checks it before reuse.
   */
  generation = 0;

  readonly counters = new Float64Array(5);
  /** Page faults by walker denial reason (rights.ts DENY_*). */
  readonly faultsByReason = new Float64Array(10);

  // The TLBs' record arrays, held directly so a hit is a few loads. The
  // compiler (src/jit/) inlines the same data-TLB hit path over them.
  readonly dWords: Int32Array;
  readonly dHits: Float64Array;
  readonly dSetMask: number;
  readonly dSetShift: number;
  private readonly iWords: Int32Array;
  private readonly iHits: Float64Array;
  private readonly iSetMask: number;
  private readonly iSetShift: number;
  private readonly ramU8: Uint8Array;
  readonly ramView: DataView;

  /**
   * Code tracking, for the decode cache and compiled code: per 4 KiB page of
   * RAM (RAM offset >>> 12), whether any of it holds code, and which of its
   * 64 chunks of 64 bytes do (two words per page). TLB entries for a page
   * with code never serve writes on the hit path, so every write to it
   * reaches writeSlow, which reports a write to a code chunk (onCodeWrite)
   * before it lands; writes to the page's other chunks cost only the slow path.
   */
  readonly codePages: Uint8Array;
  readonly codeChunks: Int32Array;
  /** Called with the RAM page and the chunks of it (bit masks, chunks 0-31 and 32-63) that a write reached. */
  onCodeWrite: ((ramPage: number, chunksLo: number, chunksHi: number) => void) | null = null;
  /**
   * Set by the slow path when an access reached a device (MMIO) or a code
   * page: compiled code ends its region after the instruction, as the
   * interpreter would then look at interrupts and invalidated code.
   */
  sideEffect = false;

  // Contexts: a context number names one (PCID, flush generation); see tlb.ts.
  private readonly contextOf = new Int32Array(PCID_COUNT);
  private readonly contextEpoch = new Int32Array(PCID_COUNT).fill(-1);
  private epoch = 0;
  private nextContext = 1;
  private globalContext = 0;
  private currentContext = 0;
  /** currentContext << CONTEXT_SHIFT and globalContext << CONTEXT_SHIFT. */
  currentKey = 0;
  globalKey = 0;
  /** Linear addresses wrap at 4 GiB outside IA-32e paging. */
  private wrap32 = true;

  constructor(bus: PhysicalBus, config: MachineConfig) {
    this.bus = bus;
    this.walker = new PageWalker(bus, config.maxPhysAddrBits, config.gigabytePages);
    this.itlb = new Tlb("ITLB", config.instructionTlb);
    this.dtlb = new Tlb("DTLB", config.dataTlb);
    const d = this.dtlb;
    this.dWords = d.words;
    this.dHits = d.words64;
    this.dSetMask = d.setMask;
    this.dSetShift = d.setShift;
    const i = this.itlb;
    this.iWords = i.words;
    this.iHits = i.words64;
    this.iSetMask = i.setMask;
    this.iSetShift = i.setShift;
    this.ramU8 = bus.ram.u8;
    this.ramView = bus.ram.view;
    this.codePages = new Uint8Array(Math.ceil(bus.ram.size / 4096));
    this.codeChunks = new Int32Array(2 * this.codePages.length);
    this.globalContext = this.allocateContext();
    this.refreshKeys();
  }

  // --- Data accesses: the hot path -----------------------------------------
  // Constants are literals here on purpose: module-level constants compile
  // to context loads with checks on every call (see docs/architecture.md).
  // Entry words: +0 tag, +1 key, +2 perm, +3 RAM offset, +4/+5 hits (tlb.ts).
  // Entries start at multiples of 8, so `e | k` is `e + k` without V8's
  // overflow check.

  /**
   * The data-TLB entry (index of its first word) that serves class `cls` at
   * hi:lo without further thought, or -1. Only the first way of the set is
   * probed: the slow path keeps each set's most recently used entry there.
   * Each entry counts its own hits: one shared counter would chain every
   * access through a store-to-load dependency.
   */
  private dataHit(lo: number, hi: number, cls: number): number {
    const tag = (lo >>> 12) | (hi << 20);
    const e = (tag & this.dSetMask) << this.dSetShift;
    const w = this.dWords;
    if (w[e] !== tag) return -1;
    const k = w[e | 1];
    const vaHigh = (hi >>> 12) & 0x1fff;
    if ((k !== (vaHigh | this.currentKey) && k !== (vaHigh | this.globalKey)) || ((w[e | 2] >>> cls) & 1) === 0) return -1;
    this.dHits[(e >> 1) | 2]++;
    return e;
  }

  read8(lo: number, hi: number, cls: number): number {
    const entry = this.dataHit(lo, hi, cls);
    if (entry >= 0) return this.ramU8[(this.dWords[entry | 3] | (lo & 0xfff)) >>> 0];
    return this.readSlow(lo, hi, cls, 1);
  }

  read16(lo: number, hi: number, cls: number): number {
    if ((lo & 0xfff) <= 0xffe) {
      const entry = this.dataHit(lo, hi, cls);
      if (entry >= 0) return this.ramView.getUint16((this.dWords[entry | 3] | (lo & 0xfff)) >>> 0, true);
    }
    return this.readSlow(lo, hi, cls, 2);
  }

  /** Returns the value as a signed int32. */
  read32(lo: number, hi: number, cls: number): number {
    if ((lo & 0xfff) <= 0xffc) {
      const entry = this.dataHit(lo, hi, cls);
      if (entry >= 0) return this.ramView.getInt32((this.dWords[entry | 3] | (lo & 0xfff)) >>> 0, true);
    }
    return this.readSlow(lo, hi, cls, 4);
  }

  /** Returns the low half (signed int32); the high half is left in `high`. */
  read64(lo: number, hi: number, cls: number): number {
    if ((lo & 0xfff) <= 0xff8) {
      const entry = this.dataHit(lo, hi, cls);
      if (entry >= 0) {
        const offset = (this.dWords[entry | 3] | (lo & 0xfff)) >>> 0;
        this.high = this.ramView.getInt32(offset + 4, true);
        return this.ramView.getInt32(offset, true);
      }
    }
    return this.readSlow(lo, hi, cls, 8);
  }

  write8(lo: number, hi: number, cls: number, value: number): void {
    const entry = this.dataHit(lo, hi, cls);
    if (entry >= 0) this.ramU8[(this.dWords[entry | 3] | (lo & 0xfff)) >>> 0] = value;
    else this.writeSlow(lo, hi, cls, 1, value, 0);
  }

  write16(lo: number, hi: number, cls: number, value: number): void {
    if ((lo & 0xfff) <= 0xffe) {
      const entry = this.dataHit(lo, hi, cls);
      if (entry >= 0) {
        this.ramView.setUint16((this.dWords[entry | 3] | (lo & 0xfff)) >>> 0, value & 0xffff, true);
        return;
      }
    }
    this.writeSlow(lo, hi, cls, 2, value, 0);
  }

  write32(lo: number, hi: number, cls: number, value: number): void {
    if ((lo & 0xfff) <= 0xffc) {
      const entry = this.dataHit(lo, hi, cls);
      if (entry >= 0) {
        this.ramView.setInt32((this.dWords[entry | 3] | (lo & 0xfff)) >>> 0, value, true);
        return;
      }
    }
    this.writeSlow(lo, hi, cls, 4, value, 0);
  }

  write64(lo: number, hi: number, cls: number, low: number, high: number): void {
    if ((lo & 0xfff) <= 0xff8) {
      const entry = this.dataHit(lo, hi, cls);
      if (entry >= 0) {
        const offset = (this.dWords[entry | 3] | (lo & 0xfff)) >>> 0;
        this.ramView.setInt32(offset, low, true);
        this.ramView.setInt32(offset + 4, high, true);
        return;
      }
    }
    this.writeSlow(lo, hi, cls, 8, low, high);
  }

  // --- Instruction fetches (ITLB) -------------------------------------------

  private fetchHit(lo: number, hi: number, cls: number): number {
    const tag = (lo >>> 12) | (hi << 20);
    const e = (tag & this.iSetMask) << this.iSetShift;
    const w = this.iWords;
    if (w[e] !== tag) return -1;
    const k = w[e | 1];
    const vaHigh = (hi >>> 12) & 0x1fff;
    if ((k !== (vaHigh | this.currentKey) && k !== (vaHigh | this.globalKey)) || ((w[e | 2] >>> cls) & 1) === 0) return -1;
    this.iHits[(e >> 1) | 2]++;
    return e;
  }

  /** Fetches one instruction byte; `cls` must be a fetch class. */
  fetch8(lo: number, hi: number, cls: number): number {
    const entry = this.fetchHit(lo, hi, cls);
    if (entry >= 0) return this.ramU8[(this.iWords[entry | 3] | (lo & 0xfff)) >>> 0];
    return this.readSlow(lo, hi, cls, 1);
  }

  /** Fetches four instruction bytes (signed int32); `cls` must be a fetch class. */
  fetch32(lo: number, hi: number, cls: number): number {
    if ((lo & 0xfff) <= 0xffc) {
      const entry = this.fetchHit(lo, hi, cls);
      if (entry >= 0) return this.ramView.getInt32((this.iWords[entry | 3] | (lo & 0xfff)) >>> 0, true);
    }
    return this.readSlow(lo, hi, cls, 4);
  }

  /**
   * Translates hi:lo for class `cls` (fetch classes use the ITLB), filling the
   * TLB and setting A/D flags as a real access would. Returns the physical
   * address, or -1 with the fault raised.
   */
  translate(lo: number, hi: number, cls: number): number {
    const tlb = ((FETCH_CLASSES >>> cls) & 1) !== 0 ? this.itlb : this.dtlb;
    const entry = this.lookup(tlb, lo, hi, cls);
    return entry < 0 ? -1 : tlb.frame(entry) + (lo & PAGE_MASK);
  }

  // --- The slow path ---------------------------------------------------------

  /** The access methods' slow path; compiled code calls it once its inlined hit test failed. 8 bytes: high half in `high`. */
  readSlow(lo: number, hi: number, cls: number, size: number): number {
    const tlb = ((FETCH_CLASSES >>> cls) & 1) !== 0 ? this.itlb : this.dtlb;
    const offset = lo & PAGE_MASK;
    if (offset + size > 4096) return this.readCrossing(tlb, lo, hi, cls, size);
    const entry = this.lookup(tlb, lo, hi, cls);
    if (entry < 0) return 0;
    if ((tlb.perm(entry) & PERM_NOT_RAM) !== 0) {
      const pa = tlb.frame(entry) + offset;
      let value: number;
      switch (size) {
        case 1:
          value = this.bus.read8(pa);
          break;
        case 2:
          value = this.bus.read16(pa);
          break;
        case 4:
          value = this.bus.read32(pa);
          break;
        default:
          value = this.bus.read64(pa);
          this.high = this.bus.high;
      }
      this.noteDeviceAccess();
      return value;
    }
    const ramOffset = (tlb.ramOffset(entry) | offset) >>> 0;
    switch (size) {
      case 1:
        return this.ramU8[ramOffset];
      case 2:
        return this.ramView.getUint16(ramOffset, true);
      case 4:
        return this.ramView.getInt32(ramOffset, true);
      default:
        this.high = this.ramView.getInt32(ramOffset + 4, true);
        return this.ramView.getInt32(ramOffset, true);
    }
  }

  /** The write methods' slow path; compiled code calls it once its inlined hit test failed. */
  writeSlow(lo: number, hi: number, cls: number, size: number, value: number, valueHigh: number): void {
    const offset = lo & PAGE_MASK;
    if (offset + size > 4096) {
      this.writeCrossing(lo, hi, cls, size, value, valueHigh);
      return;
    }
    const tlb = this.dtlb;
    const entry = this.lookup(tlb, lo, hi, cls);
    if (entry < 0) return;
    if ((tlb.perm(entry) & PERM_NOT_RAM) !== 0) {
      const pa = tlb.frame(entry) + offset;
      if (size === 1) this.bus.write8(pa, value);
      else if (size === 2) this.bus.write16(pa, value);
      else if (size === 4) this.bus.write32(pa, value);
      else this.bus.write64(pa, value, valueHigh);
      this.noteDeviceAccess();
      return;
    }
    const ramOffset = (tlb.ramOffset(entry) | offset) >>> 0;
    if (this.codePages[ramOffset >>> 12] !== 0) this.codeWritten(ramOffset, size);
    if (size === 1) this.ramU8[ramOffset] = value;
    else if (size === 2) this.ramView.setUint16(ramOffset, value & 0xffff, true);
    else {
      this.ramView.setInt32(ramOffset, value | 0, true);
      if (size === 8) this.ramView.setInt32(ramOffset + 4, valueHigh | 0, true);
    }
  }

  // An access that crosses into the next page translates both pages, first
  // then second, before it touches either: a fault on the second page
  // reports the second page's address, and a faulting write writes nothing.
  // Each page's frame is kept here, since a later lookup may move its entry.
  private firstFrame = 0;
  private firstRamOffset = 0;
  private firstNotRam = false;
  private secondFrame = 0;
  private secondRamOffset = 0;
  private secondNotRam = false;

  private readCrossing(tlb: Tlb, lo: number, hi: number, cls: number, size: number): number {
    if (!this.translatePages(tlb, lo, hi, cls)) return 0;
    let low = 0;
    let high = 0;
    for (let n = 0; n < size; n++) {
      const offset = (lo & PAGE_MASK) + n;
      const byte =
        offset < 4096
          ? this.physicalByte(this.firstFrame, this.firstRamOffset, this.firstNotRam, offset)
          : this.physicalByte(this.secondFrame, this.secondRamOffset, this.secondNotRam, offset - 4096);
      if (n < 4) low |= byte << (8 * n);
      else high |= byte << (8 * (n - 4));
    }
    this.high = high;
    return size === 2 ? low & 0xffff : low;
  }

  private writeCrossing(lo: number, hi: number, cls: number, size: number, value: number, valueHigh: number): void {
    if (!this.translatePages(this.dtlb, lo, hi, cls)) return;
    for (let n = 0; n < size; n++) {
      const offset = (lo & PAGE_MASK) + n;
      const byte = (n < 4 ? value >>> (8 * n) : valueHigh >>> (8 * (n - 4))) & 0xff;
      if (offset < 4096) this.storePhysicalByte(this.firstFrame, this.firstRamOffset, this.firstNotRam, offset, byte);
      else this.storePhysicalByte(this.secondFrame, this.secondRamOffset, this.secondNotRam, offset - 4096, byte);
    }
  }

  /** Translates the page of hi:lo and the page after it, in that order. */
  private translatePages(tlb: Tlb, lo: number, hi: number, cls: number): boolean {
    const first = this.lookup(tlb, lo, hi, cls);
    if (first < 0) return false;
    this.firstFrame = tlb.frame(first);
    this.firstRamOffset = tlb.ramOffset(first);
    this.firstNotRam = (tlb.perm(first) & PERM_NOT_RAM) !== 0;
    const nextLo = ((lo & ~PAGE_MASK) + 0x1000) | 0;
    const nextHi = nextLo === 0 && !this.wrap32 ? (hi + 1) | 0 : hi;
    const second = this.lookup(tlb, nextLo, nextHi, cls);
    if (second < 0) return false;
    this.secondFrame = tlb.frame(second);
    this.secondRamOffset = tlb.ramOffset(second);
    this.secondNotRam = (tlb.perm(second) & PERM_NOT_RAM) !== 0;
    return true;
  }

  private physicalByte(frame: number, ramOffset: number, notRam: boolean, offset: number): number {
    if (notRam) {
      const value = this.bus.read8(frame + offset);
      this.noteDeviceAccess();
      return value;
    }
    return this.ramU8[(ramOffset | offset) >>> 0];
  }

  private storePhysicalByte(frame: number, ramOffset: number, notRam: boolean, offset: number, byte: number): void {
    if (notRam) {
      this.bus.write8(frame + offset, byte);
      this.noteDeviceAccess();
      return;
    }
    const at = (ramOffset | offset) >>> 0;
    if (this.codePages[at >>> 12] !== 0) this.codeWritten(at, 1);
    this.ramU8[at] = byte;
  }

  /** A device that is not passive saw the access: compiled code must stop after the instruction. */
  private noteDeviceAccess(): void {
    if (this.bus.deviceAccessed) {
      this.bus.deviceAccessed = false;
      this.sideEffect = true;
    }
  }

  // --- Pages holding compiled code ----------------------------------------

  /**
   * Marks RAM bytes [ramOffset, ramOffset + length) (within one page) as
   * code that was decoded or compiled. A page that gains its first code
   * chunk takes its cached entries' hit-path write rights away (their hits
   * are still counted the same, by lookup, so the TLB figures do not change).
   */
  markCode(ramOffset: number, length: number): void {
    const page = ramOffset >>> 12;
    const first = (ramOffset & 0xfff) >>> 6;
    const last = ((ramOffset & 0xfff) + length - 1) >>> 6;
    const chunks = this.codeChunks;
    for (let c = first; c <= last; c++) chunks[2 * page + (c >>> 5)] |= 1 << (c & 31);
    if (this.codePages[page] !== 0) return;
    this.codePages[page] = 1;
    const w = this.dWords;
    for (let e = 0; e < w.length; e += ENTRY_WORDS) {
      if (w[e + 1] !== EMPTY_KEY && (w[e + 2] & PERM_NOT_RAM) === 0 && w[e + 3] >>> 12 === page) w[e + 2] &= ~WRITE_CLASSES;
    }
  }

  /** Forgets all code marks (everything decoded or compiled was dropped). */
  clearCodeMarks(): void {
    this.codePages.fill(0);
    this.codeChunks.fill(0);
  }

  /** A write of `size` bytes at RAM offset `ramOffset` (within one page) on a page with code: reports the code chunks it reaches. */
  private codeWritten(ramOffset: number, size: number): void {
    const page = ramOffset >>> 12;
    const first = (ramOffset & 0xfff) >>> 6;
    const last = ((ramOffset & 0xfff) + size - 1) >>> 6;
    let lo = 0;
    let hi = 0;
    for (let c = first; c <= last; c++) {
      if (c < 32) lo |= 1 << c;
      else hi |= 1 << (c - 32);
    }
    const chunks = this.codeChunks;
    lo &= chunks[2 * page];
    hi &= chunks[2 * page + 1];
    if ((lo | hi) === 0) return;
    chunks[2 * page] &= ~lo;
    chunks[2 * page + 1] &= ~hi;
    if ((chunks[2 * page] | chunks[2 * page + 1]) === 0) this.codePages[page] = 0;
    this.sideEffect = true;
    if (this.onCodeWrite !== null) this.onCodeWrite(page, lo, hi);
  }


  /**
   * The TLB entry holding a translation that allows class `cls` at hi:lo,
   * walking the page tables and filling the TLB on a miss. -1 after a fault.
   */
  private lookup(tlb: Tlb, lo: number, hi: number, cls: number): number {
    const tag = (lo >>> 12) | (hi << 20);
    const vaHigh = (hi >>> 12) & VA_HIGH_MASK;
    const entry = tlb.find(tag, vaHigh | this.currentKey, vaHigh | this.globalKey);
    if (entry >= 0) {
      const perm = tlb.perm(entry);
      // A cached translation serves an allowed access, but a write through an
      // entry whose Dirty flag is clear must walk to set it (SDM 4.8).
      if (((perm >>> (PERM_ALLOWED_SHIFT + cls)) & 1) !== 0 && (((WRITE_CLASSES >>> cls) & 1) === 0 || (perm & PERM_DIRTY) !== 0)) {
        tlb.countHit(entry);
        return tlb.promote(entry);
      }
    }
    // Re-walk on a miss and also when the cached rights refuse: real TLBs may
    // fault on the stale entry instead, but a fresh walk is always allowed.
    tlb.misses++;
    const w = this.walker;
    if (!w.walk(lo, hi, cls, true)) {
      // SDM 4.10.4.1: a page fault invalidates the TLB entries for that page.
      this.itlb.invalidatePage(tag, vaHigh, this.currentContext, this.globalContext);
      this.dtlb.invalidatePage(tag, vaHigh, this.currentContext, this.globalContext);
      this.faultsByReason[w.denial]++;
      this.raisePageFault(lo, hi, w.errorCode);
      return -1;
    }
    const bus = this.bus;
    const ramOffset =
      w.frameHi === 0 && (w.frameLo - bus.identityBase) >>> 0 < bus.identitySpan ? w.frameLo : bus.frameRamOffset(w.frame);
    let fast = ramOffset < 0 ? 0 : w.allowed;
    if (!w.dirty || (ramOffset >= 0 && this.codePages[ramOffset >>> 12] !== 0)) fast &= ~WRITE_CLASSES;
    const perm = fast | (w.allowed << PERM_ALLOWED_SHIFT) | (w.dirty ? PERM_DIRTY : 0) | (ramOffset < 0 ? PERM_NOT_RAM : 0);
    const key = vaHigh | ((w.global ? this.globalContext : this.currentContext) << CONTEXT_SHIFT);
    const victim = entry >= 0 ? entry : this.victimSlot(tlb, tag);
    return tlb.insert(victim, tag, key, perm, ramOffset | 0, w.frameLo, w.frameHi, w.pageShift, this.pcid, w.global);
  }

  /**
   * The entry of `tag`'s set to replace: the set's next way in round-robin
   * order. Counted as an eviction only if that entry was still live (empty
   * entries and entries of flushed contexts are free).
   */
  private victimSlot(tlb: Tlb, tag: number): number {
    const e = tlb.nextVictim(tag);
    const k = tlb.words[e + 1];
    if (k !== EMPTY_KEY) {
      const context = k >>> CONTEXT_SHIFT;
      if (context === this.currentContext || context === this.globalContext || this.isLive(k, tlb.pcid(e))) tlb.evictions++;
    }
    return e;
  }

  /** Whether an entry's key still belongs to a live context (for PCID `pcid`). */
  private isLive(key: number, pcid: number): boolean {
    const context = key >>> CONTEXT_SHIFT;
    if (context === this.globalContext) return true;
    return this.contextEpoch[pcid] === this.epoch && this.contextOf[pcid] === context;
  }

  private raisePageFault(lo: number, hi: number, errorCode: number): void {
    this.faultPending = true;
    this.faultErrorCode = errorCode;
    this.faultAddressLo = lo | 0;
    this.faultAddressHi = this.wrap32 ? 0 : hi | 0;
    this.counters[COUNT_FAULTS]++;
  }

  /** Forgets the pending fault once the CPU has taken it. */
  clearFault(): void {
    this.faultPending = false;
  }

  // --- Contexts and flushes -------------------------------------------------

  private allocateContext(): number {
    if (this.nextContext >= MAX_CONTEXT) {
      // Context numbers exhausted: empty the TLBs and start over.
      this.itlb.clear();
      this.dtlb.clear();
      this.epoch++;
      this.nextContext = 1;
      this.globalContext = this.nextContext++;
    }
    return this.nextContext++;
  }

  private contextFor(pcid: number): number {
    if (this.contextEpoch[pcid] !== this.epoch) {
      const context = this.allocateContext();
      this.contextOf[pcid] = context;
      this.contextEpoch[pcid] = this.epoch;
    }
    return this.contextOf[pcid];
  }

  private refreshKeys(): void {
    this.generation++;
    this.currentContext = this.contextFor(this.pcid);
    this.currentKey = this.currentContext << CONTEXT_SHIFT;
    this.globalKey = this.globalContext << CONTEXT_SHIFT;
  }

  /** Invalidates every entry, global ones included, for all PCIDs. */
  flushAll(): void {
    this.epoch++;
    this.globalContext = this.allocateContext();
    this.refreshKeys();
    this.counters[COUNT_FLUSHES_ALL]++;
  }

  /** Invalidates the non-global entries of every PCID. */
  flushNonGlobal(): void {
    this.epoch++;
    this.refreshKeys();
    this.counters[COUNT_FLUSHES_ALL]++;
  }

  /** Invalidates the non-global entries of one PCID. */
  flushPcid(pcid: number): void {
    const context = this.allocateContext();
    this.contextOf[pcid] = context;
    this.contextEpoch[pcid] = this.epoch;
    this.refreshKeys();
    this.counters[COUNT_FLUSHES_PCID]++;
  }

  /** INVLPG: the page's entries for the current PCID and its global entries (SDM 4.10.4.1). */
  invlpg(lo: number, hi: number): void {
    const tag = (lo >>> 12) | (hi << 20);
    const vaHigh = (hi >>> 12) & VA_HIGH_MASK;
    this.itlb.invalidatePage(tag, vaHigh, this.currentContext, this.globalContext);
    this.dtlb.invalidatePage(tag, vaHigh, this.currentContext, this.globalContext);
    this.generation++;
    this.counters[COUNT_INVLPG]++;
  }

  /**
   * INVPCID (SDM Vol. 2 INVPCID): type 0 one address in one PCID, 1 one PCID,
   * 2 everything including globals, 3 everything but globals. The CPU checks
   * the type and the address's canonicality before calling.
   */
  invpcid(type: number, pcid: number, lo: number, hi: number): void {
    pcid &= 0xfff;
    switch (type) {
      case 0: {
        if (this.contextEpoch[pcid] !== this.epoch) return; // nothing cached for it
        const context = this.contextOf[pcid];
        const tag = (lo >>> 12) | (hi << 20);
        const vaHigh = (hi >>> 12) & VA_HIGH_MASK;
        this.itlb.invalidatePage(tag, vaHigh, context, context);
        this.dtlb.invalidatePage(tag, vaHigh, context, context);
        this.generation++;
        return;
      }
      case 1:
        this.flushPcid(pcid);
        return;
      case 2:
        this.flushAll();
        return;
      default:
        this.flushNonGlobal();
    }
  }

  // --- Control registers ---------------------------------------------------

  /**
   * MOV to CR3. With CR4.PCIDE=1, bit 63 (hi bit 31) set keeps the new PCID's
   * entries and is not stored (SDM 4.10.4.1). Returns false, changing nothing,
   * when PAE paging is on and the new PDPTEs set reserved bits (#GP(0)).
   */
  setCr3(lo: number, hi: number): boolean {
    const pcide = (this.cr4 & CR4_PCIDE) !== 0;
    const keep = pcide && (hi & 0x80000000) !== 0;
    if (this.mode === MODE_PAE && !this.walker.loadPdptes(lo)) return false;
    this.cr3Lo = lo | 0;
    this.cr3Hi = hi & 0x7fffffff;
    this.walker.cr3Lo = this.cr3Lo;
    this.walker.cr3Hi = this.cr3Hi;
    this.pcid = pcide ? lo & 0xfff : 0;
    this.counters[COUNT_CR3_WRITES]++;
    if (keep) this.refreshKeys();
    else this.flushPcid(this.pcid);
    return true;
  }

  /**
   * MOV to CR0. EFER.LMA follows CR0.PG while EFER.LME=1 (SDM Vol. 3A,
   * "Initializing IA-32e Mode"). Returns
   * false, changing nothing, if entering PAE paging fails to load the PDPTEs.
   */
  setCr0(value: number): boolean {
    const changed = this.cr0 ^ value;
    let efer = this.efer;
    if ((changed & CR0_PG) !== 0) {
      efer = (value & CR0_PG) !== 0 && (efer & EFER_LME) !== 0 ? efer | EFER_LMA : efer & ~EFER_LMA;
    }
    if (!this.reloadPdptesIfNeeded(value, this.cr4, efer, (changed & (CR0_PG | CR0_CD | CR0_NW)) !== 0)) return false;
    this.cr0 = value | 0;
    this.efer = efer;
    // SDM requires a full flush only when PG goes 1 -> 0; cached entries
    // hold rights resolved with CR0.WP, so WP changes flush too (as QEMU does).
    if ((changed & (CR0_PG | CR0_WP | CR0_PE)) !== 0) this.flushAll();
    this.applyControls();
    return true;
  }

  /** MOV to CR4. Returns false, changing nothing, if the PDPTEs fail to load. */
  setCr4(value: number): boolean {
    const changed = this.cr4 ^ value;
    // SDM 4.4.1: under PAE paging, changing PAE, PGE, PSE or SMEP reloads the PDPTEs.
    const pdpteBits = CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP;
    if (!this.reloadPdptesIfNeeded(this.cr0, value, this.efer, (changed & pdpteBits) !== 0)) return false;
    this.cr4 = value | 0;
    // SDM 4.10.4.1: PGE changes and PCIDE 1 -> 0 flush everything; PAE and
    // SMEP 0 -> 1 flush the current PCID. This MMU flushes everything on any
    // of these and on the other bits its cached rights were resolved with.
    const flushBits = CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_LA57;
    const pcidOff = (changed & CR4_PCIDE) !== 0 && (value & CR4_PCIDE) === 0;
    if ((changed & flushBits) !== 0 || pcidOff) {
      this.flushAll();
    }
    this.pcid = (value & CR4_PCIDE) !== 0 ? this.cr3Lo & 0xfff : 0;
    this.applyControls();
    return true;
  }

  /** WRMSR to IA32_EFER. LMA is the processor's to set (setCr0); a write keeps it. */
  setEfer(value: number): void {
    const next = (value & ~EFER_LMA) | (this.efer & EFER_LMA);
    const changed = this.efer ^ next;
    this.efer = next;
    if ((changed & EFER_NXE) !== 0) this.flushAll();
    this.applyControls();
  }

  /** WRPKRU. Cached entries hold rights resolved with PKRU, so they go. */
  setPkru(value: number): void {
    this.pkru = value | 0;
    this.walker.pkru = this.pkru;
    if ((this.cr4 & CR4_PKE) !== 0) this.flushAll();
  }

  /** Whether hi:lo is canonical for the current CR4.LA57 (SDM 3.3.7.1). */
  isCanonical(hi: number): boolean {
    return isCanonical(hi, (this.cr4 & CR4_LA57) !== 0);
  }

  private reloadPdptesIfNeeded(cr0: number, cr4: number, efer: number, relevantChange: boolean): boolean {
    const mode = pagingModeOf(cr0, cr4, efer);
    if (mode !== MODE_PAE || (!relevantChange && this.mode === MODE_PAE)) return true;
    return this.walker.loadPdptes(this.cr3Lo);
  }

  private applyControls(): void {
    const w = this.walker;
    this.mode = pagingModeOf(this.cr0, this.cr4, this.efer);
    this.wrap32 = this.mode < MODE_4LEVEL;
    w.mode = this.mode;
    w.pse = (this.cr4 & CR4_PSE) !== 0;
    w.pge = (this.cr4 & CR4_PGE) !== 0;
    w.nxe = (this.efer & EFER_NXE) !== 0;
    w.pkActive = (this.cr4 & CR4_PKE) !== 0 && this.mode >= MODE_4LEVEL;
    w.reportFetch = (this.cr4 & CR4_SMEP) !== 0 || (w.nxe && this.mode >= MODE_PAE);
    const wp = (this.cr0 & CR0_WP) !== 0;
    const smep = (this.cr4 & CR4_SMEP) !== 0;
    const smap = (this.cr4 & CR4_SMAP) !== 0;
    if (wp !== w.wp || smep !== w.smep || smap !== w.smap) w.setRightsControls({ wp, smep, smap });
    this.refreshKeys();
  }

  // --- Introspection -----------------------------------------------------

  /** Live entries in each TLB (O(entries); for statistics and tests). */
  liveEntries(): { itlb: number; dtlb: number } {
    const count = (tlb: Tlb): number => {
      let n = 0;
      for (let i = 0; i < tlb.entries; i++) {
        const k = tlb.key(i * ENTRY_WORDS);
        if (k !== EMPTY_KEY && this.isLive(k, tlb.pcid(i * ENTRY_WORDS))) n++;
      }
      return n;
    };
    return { itlb: count(this.itlb), dtlb: count(this.dtlb) };
  }

  /**
   * What the TLB currently holds for hi:lo (data TLB, or the ITLB when
   * `fetch`), without walking: the frame and resolved rights, or null.
   */
  cachedTranslation(lo: number, hi: number, fetch = false): CachedTranslation | null {
    const tlb = fetch ? this.itlb : this.dtlb;
    const tag = (lo >>> 12) | (hi << 20);
    const vaHigh = (hi >>> 12) & VA_HIGH_MASK;
    const e = tlb.find(tag, vaHigh | this.currentKey, vaHigh | this.globalKey);
    if (e < 0) return null;
    const perm = tlb.perm(e);
    return {
      frame: tlb.frame(e),
      allowed: (perm >>> PERM_ALLOWED_SHIFT) & 0x1ff,
      dirty: (perm & PERM_DIRTY) !== 0,
      global: tlb.isGlobal(e),
      pageShift: tlb.pageShift(e),
      pcid: tlb.pcid(e),
    };
  }

  /**
   * Explains, in words, how hi:lo translates for class `cls` right now, and
   * whether the TLB disagrees (a missing INVLPG). No side effects.
   */
  explainWalk(lo: number, hi: number, cls: number, cpl?: number): WalkExplanation {
    return explainWalk(this, lo, hi, cls, cpl);
  }

  /** Counters, as a plain object (not for the hot path). */
  stats(): MmuStats {
    const d = this.dtlb;
    const i = this.itlb;
    return {
      dtlbHits: d.hits(),
      dtlbMisses: d.misses,
      itlbHits: i.hits(),
      itlbMisses: i.misses,
      fills: d.misses + i.misses - this.counters[COUNT_FAULTS],
      evictions: d.evictions + i.evictions,
      invalidations: d.invalidations + i.invalidations,
      walks: d.misses + i.misses,
      walkMemoryReads: this.walker.memoryReads,
      pageFaults: this.counters[COUNT_FAULTS],
      cr3Writes: this.counters[COUNT_CR3_WRITES],
      fullFlushes: this.counters[COUNT_FLUSHES_ALL],
      pcidFlushes: this.counters[COUNT_FLUSHES_PCID],
      invlpgs: this.counters[COUNT_INVLPG],
    };
  }
}

export interface CachedTranslation {
  frame: number;
  allowed: number;
  dirty: boolean;
  global: boolean;
  pageShift: number;
  pcid: number;
}

export interface MmuStats {
  dtlbHits: number;
  dtlbMisses: number;
  itlbHits: number;
  itlbMisses: number;
  fills: number;
  evictions: number;
  invalidations: number;
  walks: number;
  walkMemoryReads: number;
  pageFaults: number;
  cr3Writes: number;
  fullFlushes: number;
  pcidFlushes: number;
  invlpgs: number;
}
