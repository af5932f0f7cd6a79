// The code cache: entry points (RAM offset of an instruction plus the mode
// key it was compiled for) in a direct-mapped table of typed arrays, each
// with its hotness count and, once compiled, its region and label; and the
// regions made from each RAM page, so a write to the page can drop them.

/** A compiled region: one function, entered at a label. */
export interface CompiledRegion {
  run: (label: number) => number;
  /** The linear page it was compiled at (its direct jumps and RIPs assume it). */
  pageLo: number;
  pageHi: number;
  ramPage: number;
  /** The page's 64-byte chunks its instructions occupy (bits of chunks 0-31 and 32-63). */
  chunksLo: number;
  chunksHi: number;
  valid: boolean;
}

/** Table slots (a power of two). */
const SLOTS = 1 << 16;
const SLOT_MASK = SLOTS - 1;

export class CodeCache {
  /** RAM offset + 1 of the entry point in each slot (0: empty). */
  readonly address = new Int32Array(SLOTS);
  readonly modeKey = new Int32Array(SLOTS);
  readonly count = new Int32Array(SLOTS);
  readonly label = new Int32Array(SLOTS);
  readonly region: (CompiledRegion | null)[] = new Array<CompiledRegion | null>(SLOTS).fill(null);
  private readonly byPage = new Map<number, CompiledRegion[]>();
  invalidations = 0;

  /** The slot for (RAM offset, mode key). */
  slotOf(ramAddress: number, key: number): number {
    return (ramAddress ^ (ramAddress >>> 12) ^ Math.imul(key, 0x9e3779b1)) & SLOT_MASK;
  }

  /** Puts `region`'s entry at `label` into the table (replacing whatever held the slot). */
  enter(ramAddress: number, key: number, region: CompiledRegion, label: number): void {
    const slot = this.slotOf(ramAddress, key);
    this.address[slot] = ramAddress + 1;
    this.modeKey[slot] = key;
    this.count[slot] = 0;
    this.label[slot] = label;
    this.region[slot] = region;
  }

  add(region: CompiledRegion): void {
    const list = this.byPage.get(region.ramPage);
    if (list === undefined) this.byPage.set(region.ramPage, [region]);
    else list.push(region);
  }

  /** A write reached chunks of RAM page `ramPage`: the regions made from them are gone (their slots start counting again). */
  invalidate(ramPage: number, chunksLo: number, chunksHi: number): void {
    const list = this.byPage.get(ramPage);
    if (list === undefined) return;
    const keep: CompiledRegion[] = [];
    for (const r of list) {
      if ((r.chunksLo & chunksLo) !== 0 || (r.chunksHi & chunksHi) !== 0) {
        r.valid = false;
        this.invalidations++;
      } else keep.push(r);
    }
    if (keep.length === 0) this.byPage.delete(ramPage);
    else this.byPage.set(ramPage, keep);
  }

  /** Forgets everything (the guest's RAM was rewritten from outside, say). */
  clear(): void {
    for (const list of this.byPage.values()) for (const r of list) r.valid = false;
    this.byPage.clear();
    this.address.fill(0);
    this.region.fill(null);
  }
}
