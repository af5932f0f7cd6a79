// explainWalk's words: what an OS student reads when a kernel page-faults.

import { describe, expect, it } from "vitest";
import { createMachineMemory } from "../src/machine/memory.ts";
import { PF_I, PF_P, PF_RSVD, PF_W, SUPERVISOR_FETCH, SUPERVISOR_READ, SUPERVISOR_WRITE } from "../src/mmu/access.ts";
import { errorCodeText } from "../src/mmu/explain.ts";
import { P, PageTableBuilder, RW, US, halves } from "../src/mmu/page-table-builder.ts";
import { CR0_PE, CR0_PG, CR4_LA57, CR4_PAE, CR4_SMEP, EFER_LME, EFER_NXE } from "../src/mmu/paging-mode.ts";

describe("explainWalk", () => {
  it("shows PAE PDPTEs as registers with only the bits a PDPTE has (SDM 4.4.1)", () => {
    const { mmu, bus } = createMachineMemory({ ramBytes: 16 << 20 });
    const pt = new PageTableBuilder(bus, "pae");
    pt.map(0x40000000, 0x800000, { flags: P | RW | US, xd: true });
    mmu.setEfer(EFER_NXE);
    mmu.setCr4(CR4_PAE | CR4_SMEP);
    mmu.setCr3(pt.cr3, 0);
    mmu.setCr0(CR0_PE | CR0_PG);
    const fetch = mmu.explainWalk(0x40000010, 0, SUPERVISOR_FETCH);
    expect(fetch.levels[0]).toMatchObject({ table: "PDPTE register", index: 1, fromRegister: true, flags: ["P"] });
    expect(fetch.levels[0].entryAddress).toBe(pt.root + 8);
    // SMEP is checked before XD (SDM 4.6.1): a supervisor fetch from a user page.
    expect(fetch.reason).toContain("CR4.SMEP=1");
    expect(fetch.errorCode).toBe(PF_P | PF_I);

    const missing = mmu.explainWalk(0xc0000000, 0, SUPERVISOR_READ);
    expect(missing.levels).toHaveLength(1);
    expect(missing.levels[0].flags).toEqual(["not present"]);
    expect(missing.summary).toBe("#PF read at 0xc0000000 from CPL0: PDPTE register 3 = 0x0 is not present (P=0)");
  });

  it("names the reserved bit and MAXPHYADDR, and stops at the level that has it", () => {
    const { mmu, bus } = createMachineMemory({ ramBytes: 16 << 20 });
    const pt = new PageTableBuilder(bus, "5level");
    const va = 0x00ff800000001000n;
    pt.map(va, 0x800000, { flags: P | RW | US });
    const pdpte = pt.modify(va, "PDPT", 1n << 45n);
    mmu.setEfer(EFER_LME);
    mmu.setCr4(CR4_PAE | CR4_LA57);
    mmu.setCr3(pt.cr3, 0);
    mmu.setCr0(CR0_PE | CR0_PG);
    const [lo, hi] = halves(va + 0x234n);
    const e = mmu.explainWalk(lo, hi, SUPERVISOR_WRITE);
    expect(e.levels.map((l) => l.table)).toEqual(["PML5", "PML4", "PDPT"]);
    expect(e.levels[2].checks.find((c) => c.check === "reserved bits")?.passed).toBe(false);
    expect(e.summary).toBe(
      `#PF write at 0xff800000001234 from CPL0: PDPTE (PDPT[0] at 0x${pdpte.toString(16)}) = 0x${((1n << 45n) | BigInt(pt.readEntry(pdpte) & 0xfffffffn)).toString(16)} sets reserved bits: bit 45 (at or above MAXPHYADDR=40)`,
    );
    expect(e.errorCode).toBe(PF_P | PF_W | PF_RSVD);
  });

  it("spells out every error-code bit", () => {
    expect(errorCodeText(0)).toBe("P=0 not present, W=0 read, U=0 supervisor-mode access");
    expect(errorCodeText(0x3f)).toBe(
      "P=1 protection violation, W=1 write, U=1 user-mode access, RSVD=1 reserved bit set, I=1 instruction fetch, PK=1 protection key",
    );
  });
});
