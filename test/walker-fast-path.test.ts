// The 4-level fast path (PageWalker.walk4Fast) against the general walk, on
// random page tables and random control bits: whenever the fast path claims
// a translation, the general walk must give the same outcome and must need
// to write nothing (no A or D flag left to set).

import { describe, expect, it } from "vitest";
import { createMachineMemory } from "../src/machine/memory.ts";
import { ACCESS_CLASS_COUNT } from "../src/mmu/access.ts";
import { A, D, G, P, PS, PageTableBuilder, RW, US, halves } from "../src/mmu/page-table-builder.ts";
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, CR4_PKE, CR4_SMAP, CR4_SMEP, EFER_LME, EFER_NXE } from "../src/mmu/paging-mode.ts";

/** A small deterministic PRNG (xorshift32), so failures reproduce. */
function rng(seed: number) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const OUTCOME = ["frame", "pageShift", "allowed", "rights", "dirty", "global", "protectionKey"] as const;

describe("4-level walk fast path", () => {
  it("agrees with the general walk on 200 random address spaces", () => {
    const random = rng(0xc0ffee);
    let claimed = 0;
    let declinedButWalkable = 0;
    for (let round = 0; round < 200; round++) {
      const { mmu, bus, ram } = createMachineMemory({ ramBytes: 16 * 1024 * 1024 });
      const pt = new PageTableBuilder(bus, "4level", 0x100000);
      const flags = () =>
        (random() < 0.95 ? P : 0n) |
        (random() < 0.6 ? RW : 0n) |
        (random() < 0.6 ? US : 0n) |
        (random() < 0.8 ? A : 0n) |
        (random() < 0.5 ? D : 0n) |
        (random() < 0.3 ? G : 0n);
      const addresses: bigint[] = [];
      for (let n = 0; n < 6; n++) {
        const kernel = random() < 0.3;
        const size = random() < 0.2 ? 0x200000 : random() < 0.1 ? 0x40000000 : 0x1000;
        const region = BigInt(Math.floor(random() * 64)) * 0x40000000n;
        const va = (kernel ? 0xffff800000000000n : 0n) + region + BigInt(Math.floor(random() * 512)) * BigInt(size);
        const pa = size === 0x40000000 ? 0x40000000 : size === 0x200000 ? 0x600000 : 0x800000 + n * 0x1000;
        pt.map(va, pa, {
          size,
          flags: flags(),
          xd: random() < 0.2,
          pkey: random() < 0.2 ? 1 + Math.floor(random() * 15) : 0,
          parentFlags: flags() | P,
        });
        addresses.push(va + BigInt(Math.floor(random() * size)) - (BigInt(Math.floor(random() * size)) % 4n));
        // Now and then a reserved bit somewhere on the way (bit 40: above MAXPHYADDR 40).
        if (random() < 0.1) pt.modify(va, ["PML4", "PDPT", "PD"][Math.floor(random() * 3)], 1n << 40n);
        // ... or PS in a PML4E, where it is reserved (SDM 4.5.4).
        if (random() < 0.05) pt.modify(va, "PML4", PS);
      }
      const nxe = random() < 0.7;
      mmu.setEfer(EFER_LME | (nxe ? EFER_NXE : 0));
      mmu.setCr4(
        CR4_PAE |
          (random() < 0.5 ? CR4_PGE : 0) |
          (random() < 0.3 ? CR4_SMEP : 0) |
          (random() < 0.3 ? CR4_SMAP : 0) |
          (random() < 0.3 ? CR4_PKE : 0),
      );
      mmu.setPkru(random() < 0.5 ? 0 : Math.floor(random() * 4294967296) | 0);
      mmu.setCr3(pt.cr3, 0);
      mmu.setCr0(CR0_PE | CR0_PG | (random() < 0.5 ? CR0_WP : 0));
      const walker = mmu.walker;

      for (const va of addresses) {
        const [lo, hi] = halves(va);
        for (let cls = 0; cls < ACCESS_CLASS_COUNT; cls++) {
          const before = ram.u8.slice(0x100000, 0x200000);
          const fast = walker.walk4Fast(lo, hi, cls);
          expect(Buffer.compare(before, ram.u8.subarray(0x100000, 0x200000))).toBe(0);
          const fastOutcome = OUTCOME.map((k) => walker[k]);
          // The general walk: same verdict and outcome.
          const general = walker.walkGeneral(lo, hi, cls, false);
          if (fast) {
            claimed++;
            expect(general, `fast path claimed ${va.toString(16)} class ${cls}`).toBe(true);
            expect(OUTCOME.map((k) => walker[k])).toEqual(fastOutcome);
            // And a committing general walk would have written nothing.
            walker.walkGeneral(lo, hi, cls, true);
            expect(Buffer.compare(before, ram.u8.subarray(0x100000, 0x200000))).toBe(0);
          } else if (general) {
            declinedButWalkable++;
          }
        }
      }
    }
    // Both paths were exercised.
    expect(claimed).toBeGreaterThan(500);
    expect(declinedButWalkable).toBeGreaterThan(100);
  });
});
