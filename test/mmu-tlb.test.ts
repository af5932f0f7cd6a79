// TLB semantics, written from the Intel SDM Vol. 3A section 4.10:
//   4.10.2    translations are cached and used until invalidated (stale entries)
//   4.10.2.4  global pages (CR4.PGE, G flag)
//   4.10.1    PCIDs; 4.10.4.1 MOV to CR3 (bit 63), MOV to CR4 (PGE, PCIDE), INVLPG
//             (the whole large page), INVPCID types 0-3, page faults invalidate
//   4.10.4.3  a stale entry that refuses an access may cause a fault or a re-walk
// plus the TLB's statistics, geometry and the canonical-address rule (SDM 3.3.7.1).
//
// Each data frame holds a distinct marker word, so a read tells which frame a
// linear address currently translates to.

import { describe, expect, it } from "vitest";
import type { MachineConfig } from "../src/machine/config.ts";
import { createMachineMemory } from "../src/machine/memory.ts";
import { MIB } from "../src/machine/ram.ts";
import { PF_P, PF_W, SUPERVISOR_FETCH, SUPERVISOR_READ, SUPERVISOR_WRITE, USER_READ } from "../src/mmu/access.ts";
import type { Mmu } from "../src/mmu/mmu.ts";
import {
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_LA57,
  CR4_PAE,
  CR4_PCIDE,
  CR4_PGE,
  EFER_LME,
  isCanonical,
} from "../src/mmu/paging-mode.ts";
import { G, GIB1, MIB2, P, PageTableBuilder, RW, US, halves, type PagingKind } from "./helpers/page-tables.ts";

const NO_FLUSH = 0x80000000 | 0; // CR3 bit 63, as bit 31 of the high half

// --- Set-up ------------------------------------------------------------------

function machine(kind: PagingKind = "4level", config: Partial<MachineConfig> = {}) {
  const m = createMachineMemory({ ramBytes: 64 * MIB, ...config });
  const pt = new PageTableBuilder(m.bus, kind);
  return { ...m, pt };
}

function enablePaging(mmu: Mmu, pt: PageTableBuilder, cr4Extra = 0): void {
  const long = pt.kind === "4level" || pt.kind === "5level";
  mmu.setEfer(long ? EFER_LME : 0);
  const cr4 = (pt.kind === "32bit" ? 0 : CR4_PAE) | (pt.kind === "5level" ? CR4_LA57 : 0) | cr4Extra;
  expect(mmu.setCr4(cr4)).toBe(true);
  expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
  expect(mmu.setCr0(CR0_PE | CR0_PG | CR0_WP)).toBe(true);
}

/** Frame number n: physical 16 MiB + n * 4 KiB, its first word the marker 0xF0000 + n. */
function frame(n: number): number {
  return 0x01000000 + n * 0x1000;
}
function marker(n: number): number {
  return 0xf0000 + n;
}
function writeMarkers(mmu: Mmu, count = 64): void {
  for (let n = 0; n < count; n++) mmu.bus.write32(frame(n), marker(n));
}

/** Reads the marker at linear `va` (page aligned): which frame the MMU uses now. */
function seen(mmu: Mmu, va: bigint | number, cls = SUPERVISOR_READ): number {
  const [lo, hi] = halves(va);
  const value = mmu.read32(lo, hi, cls);
  expect(mmu.faultPending, `#PF ${mmu.faultErrorCode} reading ${va.toString(16)}`).toBe(false);
  return value;
}

function fetched(mmu: Mmu, va: bigint | number): number {
  const [lo, hi] = halves(va);
  const b = [0, 1, 2, 3].map((i) => mmu.fetch8((lo + i) | 0, hi, SUPERVISOR_FETCH));
  expect(mmu.faultPending).toBe(false);
  return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
}

function explainStale(mmu: Mmu, va: bigint | number): boolean {
  const [lo, hi] = halves(va);
  return mmu.explainWalk(lo, hi, SUPERVISOR_READ).tlb.stale;
}

function invlpg(mmu: Mmu, va: bigint | number): void {
  const [lo, hi] = halves(va);
  mmu.invlpg(lo, hi);
}

const VA = 0x0000_0012_3456_7000n;
const VB = 0x0000_0012_3456_8000n;
const VG = 0xffff_8000_0010_0000n; // a kernel page, mapped global where it matters

// --- Stale translations -----------------------------------------------------------

describe("stale translations are used until invalidated", () => {
  it("a remapped PTE is not seen until INVLPG; explainWalk reports the stale entry", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1));
    enablePaging(mmu, pt);
    expect(seen(mmu, VA)).toBe(marker(1));
    pt.map(VA, frame(2));
    expect(seen(mmu, VA)).toBe(marker(1));
    expect(explainStale(mmu, VA)).toBe(true);
    invlpg(mmu, VA);
    expect(explainStale(mmu, VA)).toBe(false);
    expect(seen(mmu, VA)).toBe(marker(2));
    expect(explainStale(mmu, VA)).toBe(false);
  });

  it("INVLPG invalidates only the page given", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1));
    pt.map(VB, frame(3));
    enablePaging(mmu, pt);
    seen(mmu, VA);
    seen(mmu, VB);
    pt.map(VA, frame(2));
    pt.map(VB, frame(4));
    invlpg(mmu, VA);
    expect(seen(mmu, VA)).toBe(marker(2));
    expect(seen(mmu, VB)).toBe(marker(3));
  });

  it("a CR3 write invalidates a non-global page", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1));
    enablePaging(mmu, pt);
    expect(seen(mmu, VA)).toBe(marker(1));
    pt.map(VA, frame(2));
    expect(seen(mmu, VA)).toBe(marker(1));
    expect(explainStale(mmu, VA)).toBe(true);
    expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
    expect(explainStale(mmu, VA)).toBe(false);
    expect(seen(mmu, VA)).toBe(marker(2));
  });

  it("a cached translation survives even when an upper-level entry is made not present", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1));
    enablePaging(mmu, pt);
    seen(mmu, VA);
    pt.modify(VA, "PML4", 0n, P);
    expect(seen(mmu, VA)).toBe(marker(1));
    invlpg(mmu, VA);
    const [lo, hi] = halves(VA);
    mmu.read32(lo, hi, SUPERVISOR_READ);
    expect(mmu.faultPending).toBe(true);
    expect(mmu.faultErrorCode).toBe(0);
  });

  it("instruction fetches use their own cached translation, also invalidated by INVLPG", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1));
    enablePaging(mmu, pt);
    expect(fetched(mmu, VA)).toBe(marker(1));
    expect(mmu.liveEntries()).toEqual({ itlb: 1, dtlb: 0 });
    pt.map(VA, frame(2));
    expect(fetched(mmu, VA)).toBe(marker(1));
    invlpg(mmu, VA);
    expect(fetched(mmu, VA)).toBe(marker(2));
  });
});

// --- Global pages --------------------------------------------------------------------

describe("global pages", () => {
  function globalMachine(pge: boolean) {
    const m = machine();
    writeMarkers(m.mmu);
    m.pt.map(VG, frame(1), { flags: P | RW | G });
    m.pt.map(VA, frame(3));
    enablePaging(m.mmu, m.pt, pge ? CR4_PGE : 0);
    expect(seen(m.mmu, VG)).toBe(marker(1));
    expect(seen(m.mmu, VA)).toBe(marker(3));
    m.pt.map(VG, frame(2), { flags: P | RW | G });
    m.pt.map(VA, frame(4));
    return m;
  }

  it("with CR4.PGE=1, a G=1 page survives CR3 writes and a non-global one does not", () => {
    const { mmu, pt } = globalMachine(true);
    expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
    expect(seen(mmu, VG)).toBe(marker(1));
    expect(seen(mmu, VA)).toBe(marker(4));
    expect(mmu.cachedTranslation(...halves(VG))?.global).toBe(true);
  });

  it("a global page is used after switching to page tables that do not map it at all", () => {
    const { mmu, bus } = globalMachine(true);
    const other = new PageTableBuilder(bus, "4level", 0x400000);
    expect(mmu.setCr3(other.cr3, 0)).toBe(true);
    expect(seen(mmu, VG)).toBe(marker(1));
    const [lo, hi] = halves(VA);
    mmu.read32(lo, hi, SUPERVISOR_READ);
    expect(mmu.faultPending).toBe(true);
  });

  it("INVLPG invalidates a global page", () => {
    const { mmu } = globalMachine(true);
    invlpg(mmu, VG);
    expect(seen(mmu, VG)).toBe(marker(2));
  });

  it("clearing CR4.PGE flushes global pages", () => {
    const { mmu } = globalMachine(true);
    expect(mmu.setCr4(CR4_PAE)).toBe(true);
    expect(seen(mmu, VG)).toBe(marker(2));
    expect(seen(mmu, VA)).toBe(marker(4));
  });

  it("setting CR4.PGE flushes the TLB too", () => {
    const { mmu } = globalMachine(false);
    expect(mmu.setCr4(CR4_PAE | CR4_PGE)).toBe(true);
    expect(seen(mmu, VG)).toBe(marker(2));
    expect(seen(mmu, VA)).toBe(marker(4));
  });

  it("with CR4.PGE=0, G is ignored: a CR3 write invalidates the page", () => {
    const { mmu, pt } = globalMachine(false);
    expect(mmu.cachedTranslation(...halves(VG))?.global).toBe(false);
    expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
    expect(seen(mmu, VG)).toBe(marker(2));
  });

  it("G in a non-leaf entry does not make a page global", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VG, frame(1), { flags: P | RW, parentFlags: P | RW | G });
    enablePaging(mmu, pt, CR4_PGE);
    expect(seen(mmu, VG)).toBe(marker(1));
    pt.map(VG, frame(2), { flags: P | RW, parentFlags: P | RW | G });
    expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
    expect(seen(mmu, VG)).toBe(marker(2));
  });
});

// --- Large pages -------------------------------------------------------------------------

describe("INVLPG in a large page", () => {
  it("invalidates every cached 4 KiB part of a 2 MiB page, in both TLBs", () => {
    const { mmu, bus, pt } = machine();
    const base = 0x0000_0000_4000_0000n;
    const oldPa = 0x00400000;
    const newPa = 0x00800000;
    for (const pa of [oldPa, newPa]) {
      for (const off of [0x1000, 0x150000, 0x1ff000]) bus.write32(pa + off, pa + off);
    }
    pt.map(base, oldPa, { size: MIB2 });
    enablePaging(mmu, pt);
    expect(seen(mmu, base + 0x1000n)).toBe(oldPa + 0x1000);
    expect(seen(mmu, base + 0x150000n)).toBe(oldPa + 0x150000);
    expect(fetched(mmu, base + 0x1ff000n)).toBe(oldPa + 0x1ff000);
    pt.map(base, newPa, { size: MIB2 });
    expect(seen(mmu, base + 0x1000n)).toBe(oldPa + 0x1000);
    expect(seen(mmu, base + 0x150000n)).toBe(oldPa + 0x150000);
    invlpg(mmu, base + 0x1000n);
    expect(seen(mmu, base + 0x150000n)).toBe(newPa + 0x150000);
    expect(seen(mmu, base + 0x1000n)).toBe(newPa + 0x1000);
    expect(fetched(mmu, base + 0x1ff000n)).toBe(newPa + 0x1ff000);
  });

  it("invalidates every cached part of a 1 GiB page", () => {
    const { mmu, bus, pt } = machine();
    const base = 0x0000_0040_0000_0000n;
    pt.map(base, 0, { size: GIB1 });
    enablePaging(mmu, pt);
    bus.write32(0x01000000, 0x1111);
    bus.write32(0x02345000, 0x2222);
    expect(seen(mmu, base + 0x01000000n)).toBe(0x1111);
    expect(seen(mmu, base + 0x02345000n)).toBe(0x2222);
    pt.map(base, GIB1, { size: GIB1 }); // physical 1 GiB up: nothing there with 64 MiB of RAM
    invlpg(mmu, base + 0x3fff_f000n);
    expect(seen(mmu, base + 0x01000000n)).toBe(-1);
    expect(seen(mmu, base + 0x02345000n)).toBe(-1);
  });

  it("finds every piece of a large page even after entries moved between the ways of a set", () => {
    // 8 entries, 4 ways: 2 sets; even page numbers share set 0.
    const { mmu, bus, pt } = machine("4level", { dataTlb: { entries: 8, ways: 4 } });
    writeMarkers(mmu);
    const base = 0x0000_0000_4000_0000n;
    for (const pa of [0x00400000, 0x00800000]) for (const off of [0, 0x2000]) bus.write32(pa + off, pa + off);
    pt.map(base, 0x00400000, { size: MIB2, flags: P | RW | G });
    const small0 = 0x1000_0000n;
    const small1 = 0x1000_2000n;
    pt.map(small0, frame(1));
    pt.map(small1, frame(2));
    enablePaging(mmu, pt, CR4_PGE);
    // Interleave large-page pieces and small pages in set 0, then re-touch the first piece.
    expect(seen(mmu, base)).toBe(0x00400000);
    expect(seen(mmu, small0)).toBe(marker(1));
    expect(seen(mmu, base + 0x2000n)).toBe(0x00402000);
    expect(seen(mmu, small1)).toBe(marker(2));
    expect(seen(mmu, base)).toBe(0x00400000);
    expect(seen(mmu, small0)).toBe(marker(1));
    expect(mmu.liveEntries().dtlb).toBe(4);
    expect(mmu.cachedTranslation(...halves(base))).toMatchObject({ global: true, pageShift: 21 });
    expect(mmu.cachedTranslation(...halves(base + 0x2000n))).toMatchObject({ global: true, pageShift: 21 });
    expect(mmu.cachedTranslation(...halves(small1))).toMatchObject({ global: false, pageShift: 12 });
    pt.map(base, 0x00800000, { size: MIB2, flags: P | RW | G });
    invlpg(mmu, base + 0x1000n); // an odd page: set 1, where no piece is cached
    expect(seen(mmu, base)).toBe(0x00800000);
    expect(seen(mmu, base + 0x2000n)).toBe(0x00802000);
    expect(seen(mmu, small0)).toBe(marker(1));
    expect(seen(mmu, small1)).toBe(marker(2));
  });

  it("does not invalidate other pages next to the large page", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    const base = 0x0000_0000_4000_0000n;
    pt.map(base, 0x00400000, { size: MIB2 });
    pt.map(base + BigInt(MIB2), frame(1));
    enablePaging(mmu, pt);
    seen(mmu, base);
    expect(seen(mmu, base + BigInt(MIB2))).toBe(marker(1));
    pt.map(base + BigInt(MIB2), frame(2));
    invlpg(mmu, base + 0x1000n);
    expect(seen(mmu, base + BigInt(MIB2))).toBe(marker(1));
  });
});

// --- PCIDs ----------------------------------------------------------------------------------

describe("PCIDs", () => {
  /**
   * Two trees: tree 1 maps VA -> frame 1, VB -> frame 5; tree 2 maps VA -> frame 2,
   * VB -> frame 6; both map VG -> frame 9 as a global page. Each PCID has cached VA
   * and VB, then every mapping is moved in memory (VA -> 11 / 12, VB -> 15 / 16,
   * VG -> 19). Current: PCID 2.
   */
  function pcidMachine() {
    const { mmu, bus, ram } = createMachineMemory({ ramBytes: 64 * MIB });
    writeMarkers(mmu);
    const t1 = new PageTableBuilder(bus, "4level", 0x100000);
    const t2 = new PageTableBuilder(bus, "4level", 0x200000);
    const mapAll = (va: number, vb: number, vg: number): void => {
      t1.map(VA, frame(va + 1));
      t2.map(VA, frame(va + 2));
      t1.map(VB, frame(vb + 5));
      t2.map(VB, frame(vb + 6));
      t1.map(VG, frame(vg + 9), { flags: P | RW | G });
      t2.map(VG, frame(vg + 9), { flags: P | RW | G });
    };
    mapAll(0, 0, 0);
    mmu.setEfer(EFER_LME);
    mmu.setCr4(CR4_PAE | CR4_PGE);
    mmu.setCr3(t1.cr3, 0);
    mmu.setCr0(CR0_PE | CR0_PG | CR0_WP);
    expect(mmu.setCr4(CR4_PAE | CR4_PGE | CR4_PCIDE)).toBe(true);
    expect(mmu.setCr3(t1.cr3 | 1, 0)).toBe(true);
    expect(mmu.pcid).toBe(1);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(1), marker(5), marker(9)]);
    expect(mmu.setCr3(t2.cr3 | 2, 0)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(2), marker(6), marker(9)]);
    mapAll(10, 10, 10);
    return { mmu, ram, t1, t2 };
  }

  it("switching between PCIDs with CR3 bit 63 set keeps each PCID's entries", () => {
    const { mmu, t1, t2 } = pcidMachine();
    expect(mmu.setCr3(t1.cr3 | 1, NO_FLUSH)).toBe(true);
    expect(mmu.cr3Hi).toBe(0); // bit 63 is not stored
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(1), marker(5), marker(9)]);
    expect(mmu.setCr3(t2.cr3 | 2, NO_FLUSH)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(2), marker(6), marker(9)]);
    expect(mmu.setCr3(t1.cr3 | 1, NO_FLUSH)).toBe(true);
    expect(seen(mmu, VA)).toBe(marker(1));
  });

  it("a CR3 write without bit 63 flushes the new PCID's non-global entries only", () => {
    const { mmu, t1, t2 } = pcidMachine();
    expect(mmu.setCr3(t1.cr3 | 1, 0)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(11), marker(15), marker(9)]);
    expect(mmu.setCr3(t2.cr3 | 2, NO_FLUSH)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(2), marker(6), marker(9)]);
  });

  it("a CR3 write without bit 63 to the current PCID flushes it", () => {
    const { mmu, t2 } = pcidMachine();
    expect(mmu.setCr3(t2.cr3 | 2, 0)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(12), marker(16), marker(9)]);
  });

  it("INVLPG invalidates the current PCID's entry and the global one, not another PCID's", () => {
    const { mmu, t1 } = pcidMachine();
    invlpg(mmu, VA);
    invlpg(mmu, VG);
    expect(seen(mmu, VA)).toBe(marker(12));
    expect(seen(mmu, VB)).toBe(marker(6));
    expect(seen(mmu, VG)).toBe(marker(19));
    expect(mmu.setCr3(t1.cr3 | 1, NO_FLUSH)).toBe(true);
    expect(seen(mmu, VB)).toBe(marker(5));
  });

  it("INVPCID type 0 invalidates one address in one PCID, not global translations", () => {
    const { mmu, t1, t2 } = pcidMachine();
    mmu.invpcid(0, 1, ...halves(VA)); // PCID 1 is not current
    mmu.invpcid(0, 2, ...halves(VG)); // a global translation: kept
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(2), marker(6), marker(9)]);
    expect(mmu.setCr3(t1.cr3 | 1, NO_FLUSH)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(11), marker(5), marker(9)]);
    mmu.invpcid(0, 1, ...halves(VB)); // the current PCID
    expect(seen(mmu, VB)).toBe(marker(15));
    expect(mmu.setCr3(t2.cr3 | 2, NO_FLUSH)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB)]).toEqual([marker(2), marker(6)]);
  });

  it("INVPCID type 1 invalidates one PCID's non-global entries", () => {
    const { mmu, t1 } = pcidMachine();
    mmu.invpcid(1, 1, 0, 0);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(2), marker(6), marker(9)]);
    expect(mmu.setCr3(t1.cr3 | 1, NO_FLUSH)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(11), marker(15), marker(9)]);
    mmu.invpcid(1, 1, 0, 0); // the current PCID
    expect(mmu.setCr3(t1.cr3 | 1, NO_FLUSH)).toBe(true);
    expect(seen(mmu, VA)).toBe(marker(11));
  });

  it("INVPCID type 2 invalidates everything, global translations included, for all PCIDs", () => {
    const { mmu, t1 } = pcidMachine();
    mmu.invpcid(2, 0, 0, 0);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(12), marker(16), marker(19)]);
    expect(mmu.setCr3(t1.cr3 | 1, NO_FLUSH)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB)]).toEqual([marker(11), marker(15)]);
  });

  it("INVPCID type 3 invalidates everything but global translations, for all PCIDs", () => {
    const { mmu, t1 } = pcidMachine();
    mmu.invpcid(3, 0, 0, 0);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(12), marker(16), marker(9)]);
    expect(mmu.setCr3(t1.cr3 | 1, NO_FLUSH)).toBe(true);
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(11), marker(15), marker(9)]);
  });

  it("clearing CR4.PCIDE flushes everything, global entries and other PCIDs included", () => {
    const { mmu, t1 } = pcidMachine();
    expect(mmu.setCr3(t1.cr3, NO_FLUSH)).toBe(true); // PCID 0, nothing cached for it yet
    expect(mmu.setCr4(CR4_PAE | CR4_PGE)).toBe(true);
    expect(mmu.pcid).toBe(0);
    expect(mmu.liveEntries()).toEqual({ itlb: 0, dtlb: 0 });
    expect([seen(mmu, VA), seen(mmu, VB), seen(mmu, VG)]).toEqual([marker(11), marker(15), marker(19)]);
  });

  it("entries cached under PCID 0 before CR4.PCIDE was set still serve PCID 0", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1));
    enablePaging(mmu, pt);
    seen(mmu, VA);
    pt.map(VA, frame(2));
    expect(mmu.setCr4(CR4_PAE | CR4_PCIDE)).toBe(true);
    expect(seen(mmu, VA)).toBe(marker(1));
    expect(mmu.setCr3(pt.cr3 | 7, 0)).toBe(true);
    expect(seen(mmu, VA)).toBe(marker(2));
    expect(mmu.setCr3(pt.cr3, NO_FLUSH)).toBe(true);
    expect(seen(mmu, VA)).toBe(marker(1));
  });
});

// --- Page faults invalidate ---------------------------------------------------------

describe("page faults invalidate the TLB entries for the faulting address", () => {
  it("after a write faults on a stale read-only entry whose PTE is now not present, the entry is gone", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1), { flags: P | US }); // read-only, CR0.WP=1
    enablePaging(mmu, pt);
    expect(seen(mmu, VA)).toBe(marker(1));
    pt.modify(VA, "PT", 0n, P);
    expect(seen(mmu, VA)).toBe(marker(1)); // the stale entry serves reads
    const [lo, hi] = halves(VA);
    mmu.write32(lo, hi, SUPERVISOR_WRITE, 0xbad);
    // SDM 4.10.4.3: either a fault from the stale entry (P=1) or from a re-walk (P=0).
    expect(mmu.faultPending).toBe(true);
    expect(mmu.faultErrorCode & PF_W).toBe(PF_W);
    mmu.clearFault();
    expect(mmu.cachedTranslation(lo, hi)).toBeNull();
    mmu.read32(lo, hi, SUPERVISOR_READ);
    expect(mmu.faultPending).toBe(true);
    expect(mmu.faultErrorCode).toBe(0);
    expect(mmu.bus.read32(frame(1))).toBe(marker(1));
  });

  it("after a refused write on a stale read-only entry, reads see the current tables", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1), { flags: P | US });
    enablePaging(mmu, pt);
    expect(seen(mmu, VA)).toBe(marker(1));
    pt.map(VA, frame(2), { flags: P | US });
    expect(seen(mmu, VA)).toBe(marker(1));
    const [lo, hi] = halves(VA);
    mmu.write32((lo + 4) | 0, hi, SUPERVISOR_WRITE, 0x5ca1ab1e);
    expect(mmu.faultPending).toBe(true);
    expect(mmu.faultErrorCode).toBe(PF_P | PF_W);
    mmu.clearFault();
    expect(seen(mmu, VA)).toBe(marker(2));
    expect(mmu.bus.read32(frame(1) + 4)).toBe(0);
    expect(mmu.bus.read32(frame(2) + 4)).toBe(0);
  });

  it("a page made writable is written in the current frame, never through the stale one", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1), { flags: P | US });
    enablePaging(mmu, pt);
    seen(mmu, VA);
    pt.map(VA, frame(2), { flags: P | RW | US });
    const [lo, hi] = halves(VA);
    mmu.write32((lo + 4) | 0, hi, SUPERVISOR_WRITE, 0x5ca1ab1e);
    // SDM 4.10.4.3: a spurious #PF is allowed; a write through frame 1 is not.
    expect(mmu.bus.read32(frame(1) + 4)).toBe(0);
    if (mmu.faultPending) {
      mmu.clearFault();
    } else {
      expect(mmu.bus.read32(frame(2) + 4)).toBe(0x5ca1ab1e);
    }
    expect(seen(mmu, VA)).toBe(marker(2));
  });

  it("a user read refused by a stale supervisor entry sees the current tables afterwards", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1), { flags: P | RW });
    enablePaging(mmu, pt);
    seen(mmu, VA);
    pt.map(VA, frame(2), { flags: P | RW });
    const [lo, hi] = halves(VA);
    mmu.read32(lo, hi, USER_READ);
    expect(mmu.faultPending).toBe(true);
    mmu.clearFault();
    expect(seen(mmu, VA)).toBe(marker(2));
  });
});

// --- Statistics and geometry ------------------------------------------------------------

describe("TLB statistics and geometry", () => {
  it("counts hits, misses and walks; a 4-level 4 KiB walk reads 4 entries", () => {
    const { mmu, pt } = machine();
    pt.map(VA, frame(1));
    pt.map(VB, frame(2));
    enablePaging(mmu, pt);
    const [lo, hi] = halves(VA);
    const [loB, hiB] = halves(VB);
    mmu.read8(lo, hi, SUPERVISOR_READ);
    let s = mmu.stats();
    expect([s.dtlbHits, s.dtlbMisses, s.walks, s.walkMemoryReads, s.fills]).toEqual([0, 1, 1, 4, 1]);
    mmu.read32((lo + 8) | 0, hi, SUPERVISOR_READ);
    mmu.read8((lo + 0xfff) | 0, hi, USER_READ);
    s = mmu.stats();
    expect([s.dtlbHits, s.dtlbMisses, s.walks, s.walkMemoryReads]).toEqual([2, 1, 1, 4]);
    mmu.read16(loB, hiB, SUPERVISOR_READ);
    s = mmu.stats();
    expect([s.dtlbHits, s.dtlbMisses, s.walks, s.walkMemoryReads]).toEqual([2, 2, 2, 8]);
    expect([s.itlbHits, s.itlbMisses]).toEqual([0, 0]);
    mmu.fetch8(lo, hi, SUPERVISOR_FETCH);
    mmu.fetch8((lo + 1) | 0, hi, SUPERVISOR_FETCH);
    s = mmu.stats();
    expect([s.itlbHits, s.itlbMisses, s.walks, s.walkMemoryReads]).toEqual([1, 1, 3, 12]);
    expect(s.pageFaults).toBe(0);
  });

  it("walk memory reads: 5 for 5-level, 3 for a 4-level 2 MiB page, 2 for PAE 4 KiB, 2 for 32-bit 4 KiB", () => {
    const cases: [PagingKind, number, number][] = [
      ["5level", 0x1000, 5],
      ["4level", MIB2, 3],
      ["pae", 0x1000, 2],
      ["32bit", 0x1000, 2],
    ];
    for (const [kind, size, reads] of cases) {
      const { mmu, pt } = machine(kind);
      pt.map(0x40000000, 0x00400000, { size });
      enablePaging(mmu, pt);
      mmu.read8(0x40000000, 0, SUPERVISOR_READ);
      expect(mmu.faultPending).toBe(false);
      expect(mmu.stats().walkMemoryReads, kind).toBe(reads);
    }
  });

  it("evicts when a set overflows (4 entries, 2 ways) and reuses invalidated slots without evicting", () => {
    const { mmu, pt } = machine("4level", { dataTlb: { entries: 4, ways: 2 } });
    // Pages 0x10, 0x12, 0x14, 0x16 share set 0 of the two sets; 0x11 is in set 1.
    for (const page of [0x10, 0x11, 0x12, 0x14, 0x16]) pt.map(page * 0x1000, frame(page));
    writeMarkers(mmu, 0x20);
    enablePaging(mmu, pt);
    const read = (page: number): number => seen(mmu, page * 0x1000);
    read(0x10);
    read(0x12);
    read(0x11);
    expect(mmu.stats().evictions).toBe(0);
    expect(mmu.liveEntries().dtlb).toBe(3);
    read(0x14); // set 0 is full
    expect(mmu.stats().evictions).toBe(1);
    expect(mmu.liveEntries().dtlb).toBe(3);
    const missesBefore = mmu.stats().dtlbMisses;
    read(0x10);
    read(0x12);
    read(0x14);
    // Two ways can hold only two of the three pages of set 0.
    expect(mmu.stats().dtlbMisses).toBeGreaterThan(missesBefore);
    expect(mmu.liveEntries().dtlb).toBe(3);

    expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
    expect(mmu.liveEntries().dtlb).toBe(0);
    const evictions = mmu.stats().evictions;
    read(0x10);
    read(0x16);
    read(0x11);
    expect(mmu.stats().evictions).toBe(evictions);
    expect(mmu.liveEntries().dtlb).toBe(3);
  });

  it("a CR3 write empties the TLB without touching entries one by one, however many are live", () => {
    for (const pages of [2, 600]) {
      const { mmu, pt } = machine();
      for (let i = 0; i < pages; i++) pt.map(0x10000000 + i * 0x1000, frame(i % 64));
      enablePaging(mmu, pt);
      for (let i = 0; i < pages; i++) mmu.read8(0x10000000 + i * 0x1000, 0, SUPERVISOR_READ);
      expect(mmu.liveEntries().dtlb, `${pages} pages`).toBe(pages);
      const before = mmu.stats();
      expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
      const after = mmu.stats();
      expect(mmu.liveEntries()).toEqual({ itlb: 0, dtlb: 0 });
      expect(after.invalidations - before.invalidations, `${pages} pages`).toBe(0);
      expect(after.evictions - before.evictions).toBe(0);
      expect(after.cr3Writes - before.cr3Writes).toBe(1);
    }
  });

  it("liveEntries drops to 0 after INVPCID type 2 and after clearing CR0.PG", () => {
    const { mmu, pt } = machine();
    pt.map(VA, frame(1), { flags: P | RW | G });
    pt.map(VB, frame(2));
    enablePaging(mmu, pt, CR4_PGE);
    seen(mmu, VA);
    seen(mmu, VB);
    expect(mmu.liveEntries().dtlb).toBe(2);
    mmu.setCr3(pt.cr3, 0);
    expect(mmu.liveEntries().dtlb).toBe(1); // the global page
    mmu.invpcid(2, 0, 0, 0);
    expect(mmu.liveEntries().dtlb).toBe(0);
    seen(mmu, VA);
    mmu.setCr0(CR0_PE | CR0_WP);
    expect(mmu.liveEntries().dtlb).toBe(0);
  });

  it("stays correct when context numbers run out (2^19 CR3 writes) and start over", () => {
    const { mmu, pt } = machine();
    writeMarkers(mmu);
    pt.map(VA, frame(1));
    pt.map(VG, frame(3), { flags: P | RW | G });
    enablePaging(mmu, pt, CR4_PGE);
    let n = 0;
    for (let i = 0; i < (1 << 19) + 10; i++) {
      mmu.setCr3(pt.cr3, 0);
      if ((i & 0xffff) === 0 || i > (1 << 19) - 10) {
        // Cache, move the page in memory, check the next CR3 write invalidates it.
        pt.map(VA, frame(1 + (n & 1)));
        expect(seen(mmu, VA)).toBe(marker(1 + (n & 1)));
        n++;
      }
    }
    pt.map(VA, frame(1 + (n & 1)));
    mmu.setCr3(pt.cr3, 0);
    expect(seen(mmu, VA)).toBe(marker(1 + (n & 1)));
    expect(seen(mmu, VG)).toBe(marker(3));
    expect(mmu.stats().cr3Writes).toBeGreaterThan(1 << 19);
  });
});

// --- Canonical addresses ---------------------------------------------------------------

describe("canonical addresses", () => {
  const hiOf = (va: bigint): number => halves(va)[1];

  it("48-bit: bits 63:47 must all equal bit 47", () => {
    const { mmu, pt } = machine();
    enablePaging(mmu, pt);
    expect(mmu.isCanonical(hiOf(0x0000_7fff_ffff_ffffn))).toBe(true);
    expect(mmu.isCanonical(hiOf(0x0000_8000_0000_0000n))).toBe(false);
    expect(mmu.isCanonical(hiOf(0xffff_8000_0000_0000n))).toBe(true);
    expect(mmu.isCanonical(hiOf(0xffff_7fff_ffff_ffffn))).toBe(false);
    expect(mmu.isCanonical(hiOf(0x0001_0000_0000_0000n))).toBe(false);
    expect(mmu.isCanonical(hiOf(0xffff_ffff_ffff_ffffn))).toBe(true);
    expect(mmu.isCanonical(0)).toBe(true);
    expect(isCanonical(hiOf(0x0000_8000_0000_0000n), false)).toBe(false);
    expect(isCanonical(hiOf(0x8000_0000_0000_0000n), false)).toBe(false);
  });

  it("57-bit with CR4.LA57=1: bits 63:56 must all equal bit 56", () => {
    const { mmu, pt } = machine("5level");
    enablePaging(mmu, pt);
    expect(mmu.isCanonical(hiOf(0x0000_8000_0000_0000n))).toBe(true);
    expect(mmu.isCanonical(hiOf(0x00ff_ffff_ffff_ffffn))).toBe(true);
    expect(mmu.isCanonical(hiOf(0x0100_0000_0000_0000n))).toBe(false);
    expect(mmu.isCanonical(hiOf(0xff00_0000_0000_0000n))).toBe(true);
    expect(mmu.isCanonical(hiOf(0xfeff_ffff_ffff_ffffn))).toBe(false);
    expect(mmu.isCanonical(hiOf(0xffff_8000_0000_0000n))).toBe(true);
    expect(mmu.isCanonical(hiOf(0x7f00_0000_0000_0000n))).toBe(false);
    expect(isCanonical(hiOf(0x0100_0000_0000_0000n), true)).toBe(false);
    expect(isCanonical(hiOf(0x00ff_0000_0000_0000n), true)).toBe(true);
  });
});
