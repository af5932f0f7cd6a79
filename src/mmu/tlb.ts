// A set-associative TLB held in typed arrays: no object per entry, no Map.
//
// Entries are records of 8 int32 words (32 bytes) in one Int32Array, so a hit
// touches one cache line and one array:
//   +0 tag      linear-address bits 43:12
//   +1 key      linear-address bits 56:44 | context << 13, or EMPTY_KEY
//   +2 perm     rights already resolved by the walk (below)
//   +3 ramOff   RAM offset of the frame, as int32 bits (RAM reaches 4 GiB)
//   +4,+5       hits served by this slot, a float64 (exact past 2^32); it
//               belongs to the slot, not the entry, and stays put when
//               entries move between ways: the total is the sum
//   +6,+7       guest-physical frame address, low and high halves
// An entry is named by the index of its first word (a multiple of 8).
// Fields the hit path never reads live in a side word per entry, `meta`
// (indexed by entry number, word index / 8): page shift | PCID << 8 |
// global << 20.
//
// A context number stands for one (PCID, flush generation) pair, or for
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
// perm packs:
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

export const ENTRY_WORDS = 8;
export const W_TAG = 0;
export const W_KEY = 1;
export const W_PERM = 2;
export const W_RAM = 3;
const W_FRAME_LO = 6;
const W_FRAME_HI = 7;

const TWO_32 = 4294967296;
const META_GLOBAL = 1 << 20;

export class Tlb {
  readonly name: string;
  readonly entries: number;
  readonly ways: number;
  readonly setMask: number;
  /** log2 of the words in a set: a set's first word is (tag & setMask) << setShift. */
  readonly setShift: number;
  /** Words in a set. */
  readonly setWords: number;

  readonly words: Int32Array;
  /** Float64 view of `words`, for the hit counters. */
  readonly words64: Float64Array;
  readonly meta: Int32Array;
  /** Per set, the way evicted last. */
  private readonly victim: Uint8Array;
  /** Some entry may come from a page larger than 4 KiB (INVLPG must search). */
  hasLargePages = false;

  // Fills are not counted: every successful walk fills once (Mmu.stats).
  misses = 0;
  evictions = 0;
  invalidations = 0;

  constructor(name: string, geometry: TlbGeometry) {
    this.name = name;
    this.entries = geometry.entries;
    this.ways = geometry.ways;
    // `| 0` keeps these small integers (Math.log2 returns a double).
    this.setMask = (geometry.entries / geometry.ways - 1) | 0;
    this.setShift = Math.log2(geometry.ways * ENTRY_WORDS) | 0;
    this.setWords = (geometry.ways * ENTRY_WORDS) | 0;
    const buffer = new ArrayBuffer(geometry.entries * ENTRY_WORDS * 4);
    this.words = new Int32Array(buffer);
    this.words64 = new Float64Array(buffer);
    this.meta = new Int32Array(this.entries);
    this.victim = new Uint8Array(this.setMask + 1);
    for (let e = 0; e < this.entries * ENTRY_WORDS; e += ENTRY_WORDS) this.words[e + W_KEY] = EMPTY_KEY;
  }

  /** First word of the set for page tag `tag`. */
  setStart(tag: number): number {
    return (tag & this.setMask) << this.setShift;
  }

  /** The entry holding page `tag` under either key, or -1. */
  find(tag: number, keyCurrent: number, keyGlobal: number): number {
    const w = this.words;
    const start = this.setStart(tag);
    for (let e = start; e < start + this.setWords; e += ENTRY_WORDS) {
      if (w[e + W_TAG] === tag) {
        const k = w[e + W_KEY];
        if (k === keyCurrent || k === keyGlobal) return e;
      }
    }
    return -1;
  }

  pageShift(e: number): number {
    return this.meta[e >> 3] & 0xff;
  }

  pcid(e: number): number {
    return (this.meta[e >> 3] >>> 8) & 0xfff;
  }

  isGlobal(e: number): boolean {
    return (this.meta[e >> 3] & META_GLOBAL) !== 0;
  }

  key(e: number): number {
    return this.words[e + W_KEY];
  }

  perm(e: number): number {
    return this.words[e + W_PERM];
  }

  ramOffset(e: number): number {
    return this.words[e + W_RAM];
  }

  frame(e: number): number {
    return this.words[e + W_FRAME_HI] * TWO_32 + (this.words[e + W_FRAME_LO] >>> 0);
  }

  /**
   * Moves entry `e` to the first way of its set, swapping it with the entry
   * there, and returns its new index. The hit path probes only that way.
   */
  promote(e: number): number {
    const first = e & ~(this.setWords - 1);
    if (e !== first) {
      this.swapEntries(first, e);
    }
    return first;
  }

  /** Swaps two entries of one set (their slots' hit counters stay put). */
  private swapEntries(a: number, b: number): void {
    const w = this.words;
    let t = w[a];
    w[a] = w[b];
    w[b] = t;
    t = w[a + 1];
    w[a + 1] = w[b + 1];
    w[b + 1] = t;
    t = w[a + 2];
    w[a + 2] = w[b + 2];
    w[b + 2] = t;
    t = w[a + 3];
    w[a + 3] = w[b + 3];
    w[b + 3] = t;
    t = w[a + 6];
    w[a + 6] = w[b + 6];
    w[b + 6] = t;
    t = w[a + 7];
    w[a + 7] = w[b + 7];
    w[b + 7] = t;
    t = this.meta[a >> 3];
    this.meta[a >> 3] = this.meta[b >> 3];
    this.meta[b >> 3] = t;
  }

  /** Counts a hit found by the slow path (the hit path counts inline). */
  countHit(e: number): void {
    this.words64[(e >> 1) + 2]++;
  }

  /**
   * The way of `tag`'s set to fill next: ways 1 to n-1 in turn (the new
   * entry goes to way 0, and the entry it displaces moves to that way).
   */
  nextVictim(tag: number): number {
    if (this.ways === 1) return this.setStart(tag);
    const set = tag & this.setMask;
    let way = this.victim[set] + 1;
    if (way >= this.ways) way = 1;
    this.victim[set] = way;
    return this.setStart(tag) + way * ENTRY_WORDS;
  }

  /**
   * Writes a new entry into the first way of `tag`'s set, where the hit path
   * looks, after moving the entry there into `victim` (another way of the
   * set, free or chosen for eviction). `victim` may be the first way itself.
   * Returns the entry's index (the set's first word).
   */
  insert(
    victim: number,
    tag: number,
    key: number,
    perm: number,
    ramOffset: number,
    frameLo: number,
    frameHi: number,
    pageShift: number,
    pcid: number,
    global: boolean,
  ): number {
    const w = this.words;
    const e = this.setStart(tag);
    if (victim !== e) {
      // The displaced first-way entry moves to the victim's place.
      w[victim] = w[e];
      w[victim + 1] = w[e + 1];
      w[victim + 2] = w[e + 2];
      w[victim + 3] = w[e + 3];
      w[victim + 6] = w[e + 6];
      w[victim + 7] = w[e + 7];
      this.meta[victim >> 3] = this.meta[e >> 3];
    }
    w[e + W_TAG] = tag;
    w[e + W_KEY] = key;
    w[e + W_PERM] = perm;
    w[e + W_RAM] = ramOffset;
    w[e + W_FRAME_LO] = frameLo;
    w[e + W_FRAME_HI] = frameHi;
    this.meta[e >> 3] = pageShift | (pcid << 8) | (global ? META_GLOBAL : 0);
    if (pageShift > 12) this.hasLargePages = true;
    return e;
  }

  /** Total hits. */
  hits(): number {
    let total = 0;
    for (let e = 0; e < this.entries * ENTRY_WORDS; e += ENTRY_WORDS) total += this.words64[(e >> 1) + 2];
    return total;
  }

  /**
   * Drops every entry for the page containing linear page `tag` (with high
   * bits `vaHigh`) whose context is `contextA` or `contextB`, including every
   * piece of a large page that contains it.
   */
  invalidatePage(tag: number, vaHigh: number, contextA: number, contextB: number): void {
    const w = this.words;
    const keyA = vaHigh | (contextA << CONTEXT_SHIFT);
    const keyB = vaHigh | (contextB << CONTEXT_SHIFT);
    const start = this.setStart(tag);
    for (let e = start; e < start + this.setWords; e += ENTRY_WORDS) {
      if (w[e + W_TAG] === tag && (w[e + W_KEY] === keyA || w[e + W_KEY] === keyB)) this.drop(e);
    }
    if (!this.hasLargePages) return;
    for (let n = 0; n < this.entries; n++) {
      const shift = (this.meta[n] & 0xff) - 12;
      const e = n * ENTRY_WORDS;
      const k = w[e + W_KEY];
      if (shift <= 0 || k === EMPTY_KEY) continue;
      if ((k & ((1 << CONTEXT_SHIFT) - 1)) !== vaHigh) continue;
      const context = k >>> CONTEXT_SHIFT;
      if (context !== contextA && context !== contextB) continue;
      if (w[e + W_TAG] >>> shift === tag >>> shift) this.drop(e);
    }
  }

  /** Empties every entry: the only O(entries) flush, needed once per 2^19 contexts. */
  clear(): void {
    for (let e = 0; e < this.entries * ENTRY_WORDS; e += ENTRY_WORDS) this.words[e + W_KEY] = EMPTY_KEY;
    this.hasLargePages = false;
  }

  private drop(e: number): void {
    this.words[e + W_KEY] = EMPTY_KEY;
    this.invalidations++;
  }
}
