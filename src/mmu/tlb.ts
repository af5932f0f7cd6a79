// A set-associative TLB held in typed arrays: no object per entry, no Map.
//
// Each entry maps one 4 KiB linear page. It is tagged by
//   tag: linear-address bits 43:12, and
//   key: linear-address bits 56:44 | context << 13,
// where a context number stands for one (PCID, flush generation) pair, or for
// "global". Flushing a PCID hands it a fresh context number, so every entry
// of the old one stops matching at once: a CR3 write costs the same with 64 or
// 4096 live entries. Context numbers are never reused until a wipe empties
// the arrays (after 2^19 - 2 allocations).
//
// A translation from a large page is cached for the 4 KiB page accessed and
// remembers its page size, so INVLPG anywhere in the large page can find and
// drop every piece of it (SDM 4.10.4.1: INVLPG on an address in a large page
// invalidates the whole page).
//
// `perm` packs the rights already resolved by the walk:
//   bits 0..8    classes a hit may serve without further thought: allowed, the
//                page is RAM, and for writes the Dirty flag is already set;
//   bits 16..24  classes allowed at all;
//   bit 29       the leaf's Dirty flag is set;
//   bit 30       the frame is not plain RAM (MMIO or nothing): go to the bus.

import type { TlbGeometry } from "../machine/config.ts";

export const PERM_ALLOWED_SHIFT = 16;
export const PERM_DIRTY = 1 << 29;
export const PERM_NOT_RAM = 1 << 30;

export const CONTEXT_SHIFT = 13;
/** Keys are (VA bits 56:44) | context << 13; context 2^19-1 would make key -1 (empty). */
export const MAX_CONTEXT = (1 << 19) - 1;
export const EMPTY_KEY = -1;

export type LivenessTest = (key: number, pcid: number) => boolean;

export class Tlb {
  readonly name: string;
  readonly entries: number;
  readonly ways: number;
  readonly waysShift: number;
  readonly setMask: number;

  readonly tag: Int32Array;
  readonly key: Int32Array;
  readonly perm: Int32Array;
  /** RAM offset of the frame, as int32 bits (RAM reaches 4 GiB); valid unless PERM_NOT_RAM. */
  readonly ramOffset: Int32Array;
  /** Guest-physical address of the 4 KiB frame. */
  readonly frame: Float64Array;
  readonly pageShift: Uint8Array;
  readonly pcid: Uint16Array;
  readonly global: Uint8Array;
  private readonly victim: Uint8Array;
  /** Some entry may come from a page larger than 4 KiB (INVLPG must search). */
  hasLargePages = false;

  // Statistics. Float64Array so that counts past 2^31 stay unboxed.
  readonly counters = new Float64Array(5);
  static readonly HITS = 0;
  static readonly MISSES = 1;
  static readonly FILLS = 2;
  static readonly EVICTIONS = 3;
  static readonly INVALIDATIONS = 4;

  constructor(name: string, geometry: TlbGeometry) {
    this.name = name;
    this.entries = geometry.entries;
    this.ways = geometry.ways;
    this.waysShift = Math.log2(geometry.ways);
    this.setMask = geometry.entries / geometry.ways - 1;
    const n = geometry.entries;
    this.tag = new Int32Array(n);
    this.key = new Int32Array(n).fill(EMPTY_KEY);
    this.perm = new Int32Array(n);
    this.ramOffset = new Int32Array(n);
    this.frame = new Float64Array(n);
    this.pageShift = new Uint8Array(n);
    this.pcid = new Uint16Array(n);
    this.global = new Uint8Array(n);
    this.victim = new Uint8Array(this.setMask + 1);
  }

  /** First slot of the set for page tag `tag`. */
  setStart(tag: number): number {
    return (tag & this.setMask) << this.waysShift;
  }

  /** The slot holding page (tag, vaHigh) under either key, or -1. */
  find(tag: number, keyCurrent: number, keyGlobal: number): number {
    const start = this.setStart(tag);
    for (let i = start; i < start + this.ways; i++) {
      if (this.tag[i] === tag) {
        const k = this.key[i];
        if (k === keyCurrent || k === keyGlobal) return i;
      }
    }
    return -1;
  }

  /**
   * Picks the slot for a new entry: the old entry for the same page if any,
   * else a free or dead slot, else the next victim in round-robin order.
   * `isLive` tells whether a key (of an entry filled under `pcid`) still
   * belongs to a live context.
   */
  chooseSlot(tag: number, keyCurrent: number, keyGlobal: number, isLive: LivenessTest): number {
    const existing = this.find(tag, keyCurrent, keyGlobal);
    if (existing >= 0) return existing;
    const start = this.setStart(tag);
    for (let i = start; i < start + this.ways; i++) {
      if (this.key[i] === EMPTY_KEY || !isLive(this.key[i], this.pcid[i])) return i;
    }
    const set = tag & this.setMask;
    const way = this.victim[set];
    this.victim[set] = (way + 1) & (this.ways - 1);
    this.counters[Tlb.EVICTIONS]++;
    return start + way;
  }

  fill(
    slot: number,
    tag: number,
    key: number,
    perm: number,
    ramOffset: number,
    frame: number,
    pageShift: number,
    pcid: number,
    global: boolean,
  ): void {
    this.tag[slot] = tag;
    this.key[slot] = key;
    this.perm[slot] = perm;
    this.ramOffset[slot] = ramOffset;
    this.frame[slot] = frame;
    this.pageShift[slot] = pageShift;
    this.pcid[slot] = pcid;
    this.global[slot] = global ? 1 : 0;
    if (pageShift > 12) this.hasLargePages = true;
    this.counters[Tlb.FILLS]++;
  }

  /**
   * Drops every entry for the page containing linear page `tag` (with high
   * bits `vaHigh`) whose context is `contextA` or `contextB`, including every
   * piece of a large page that contains it.
   */
  invalidatePage(tag: number, vaHigh: number, contextA: number, contextB: number): void {
    const keyA = vaHigh | (contextA << CONTEXT_SHIFT);
    const keyB = vaHigh | (contextB << CONTEXT_SHIFT);
    const start = this.setStart(tag);
    for (let i = start; i < start + this.ways; i++) {
      if (this.tag[i] === tag && (this.key[i] === keyA || this.key[i] === keyB)) this.drop(i);
    }
    if (!this.hasLargePages) return;
    for (let i = 0; i < this.entries; i++) {
      const shift = this.pageShift[i] - 12;
      if (shift === 0 || this.key[i] === EMPTY_KEY) continue;
      if ((this.key[i] & ((1 << CONTEXT_SHIFT) - 1)) !== vaHigh) continue;
      const context = this.key[i] >>> CONTEXT_SHIFT;
      if (context !== contextA && context !== contextB) continue;
      if (this.tag[i] >>> shift === tag >>> shift) this.drop(i);
    }
  }

  /** Empties every slot: the only O(entries) flush, needed once per 2^19 contexts. */
  clear(): void {
    this.key.fill(EMPTY_KEY);
    this.hasLargePages = false;
  }

  /** Number of slots whose key is still live. */
  countLive(isLive: LivenessTest): number {
    let n = 0;
    for (let i = 0; i < this.entries; i++) if (this.key[i] !== EMPTY_KEY && isLive(this.key[i], this.pcid[i])) n++;
    return n;
  }

  private drop(slot: number): void {
    this.key[slot] = EMPTY_KEY;
    this.counters[Tlb.INVALIDATIONS]++;
  }
}
