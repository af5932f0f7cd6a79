// The page walker across paging modes, written from the Intel SDM Vol. 3A:
//   4.3   32-bit paging (4 KiB, 4 MiB with CR4.PSE, PSE-36)
//   4.4   PAE paging (PDPTE registers loaded at MOV to CR3, 4 KiB and 2 MiB pages)
//   4.5   4-level and 5-level paging (4 KiB, 2 MiB, 1 GiB pages), reserved bits
//   4.7   page-fault error codes (P, W/R, U/S, RSVD, I/D) and CR2
//   4.8   accessed and dirty flags
// Expected physical addresses, error codes and flag values come from these
// rules and the page tables each case builds.

import { describe, expect, it } from "vitest";
import { VGA_TEXT_BASE } from "../src/devices/vga-text.ts";
import { PhysicalBus } from "../src/machine/bus.ts";
import { machineConfig, type MachineConfig } from "../src/machine/config.ts";
import { createMachineMemory } from "../src/machine/memory.ts";
import { GuestRam, MIB } from "../src/machine/ram.ts";
import {
  PF_I,
  PF_P,
  PF_RSVD,
  PF_U,
  PF_W,
  SUPERVISOR_AC_READ,
  SUPERVISOR_FETCH,
  SUPERVISOR_READ,
  SUPERVISOR_WRITE,
  USER_FETCH,
  USER_READ,
  USER_WRITE,
} from "../src/mmu/access.ts";
import { Mmu } from "../src/mmu/mmu.ts";
import {
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_LA57,
  CR4_PAE,
  CR4_PGE,
  CR4_PSE,
  CR4_SMAP,
  CR4_SMEP,
  EFER_LME,
  EFER_NXE,
  isCanonical,
} from "../src/mmu/paging-mode.ts";
import {
  A,
  D,
  GIB1,
  MIB2,
  MIB4,
  P,
  PageTableBuilder,
  PS,
  RW,
  US,
  XD,
  halves,
  type PagingKind,
} from "./helpers/page-tables.ts";

// --- Set-up ------------------------------------------------------------------

interface Controls {
  pse?: boolean;
  nxe?: boolean;
  smep?: boolean;
  wp?: boolean;
}

function machine(kind: PagingKind, config: Partial<MachineConfig> = {}) {
  const m = createMachineMemory({ ramBytes: 64 * MIB, ...config });
  const pt = new PageTableBuilder(m.bus, kind);
  return { ...m, pt };
}

/** Turns paging on in mode `kind` with CR3 = the builder's root. */
function enablePaging(mmu: Mmu, pt: PageTableBuilder, c: Controls = {}): void {
  const long = pt.kind === "4level" || pt.kind === "5level";
  mmu.setEfer((long ? EFER_LME : 0) | (c.nxe ? EFER_NXE : 0));
  const cr4 =
    (pt.kind === "32bit" ? 0 : CR4_PAE) |
    (pt.kind === "5level" ? CR4_LA57 : 0) |
    (c.pse ? CR4_PSE : 0) |
    (c.smep ? CR4_SMEP : 0);
  expect(mmu.setCr4(cr4)).toBe(true);
  expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
  expect(mmu.setCr0(CR0_PE | CR0_PG | (c.wp === false ? 0 : CR0_WP))).toBe(true);
}

function tr(mmu: Mmu, va: bigint | number, cls = SUPERVISOR_READ): number {
  const [lo, hi] = halves(va);
  return mmu.translate(lo, hi, cls);
}

function rd32(mmu: Mmu, va: bigint | number, cls = SUPERVISOR_READ): number {
  const [lo, hi] = halves(va);
  return mmu.read32(lo, hi, cls);
}

function wr32(mmu: Mmu, va: bigint | number, value: number, cls = SUPERVISOR_WRITE): void {
  const [lo, hi] = halves(va);
  mmu.write32(lo, hi, cls, value);
}

function expectNoFault(mmu: Mmu): void {
  expect(mmu.faultPending, `unexpected #PF, error code ${mmu.faultErrorCode.toString(16)}`).toBe(false);
}

/** Expects a pending #PF with `code` and CR2 = `va`, then clears it. */
function expectFault(mmu: Mmu, va: bigint | number, code: number): void {
  expect(mmu.faultPending, "a #PF").toBe(true);
  expect(mmu.faultErrorCode.toString(2), "error code").toBe(code.toString(2));
  const [lo, hi] = halves(va);
  expect([mmu.faultAddressHi, mmu.faultAddressLo], "CR2").toEqual([hi, lo]);
  mmu.clearFault();
}

const TABLES: Record<PagingKind, string[]> = {
  "32bit": ["PD", "PT"],
  pae: ["PDPT", "PD", "PT"],
  "4level": ["PML4", "PDPT", "PD", "PT"],
  "5level": ["PML5", "PML4", "PDPT", "PD", "PT"],
};

/** Physical addresses of every entry on the way to `va`, by table name. */
function entryAddresses(pt: PageTableBuilder, va: bigint, leaf = "PT"): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of TABLES[pt.kind]) {
    out[name] = pt.entryAddress(va, name);
    if (name === leaf) break;
  }
  return out;
}

function flag(pt: PageTableBuilder, address: number, bit: bigint): boolean {
  return (pt.readEntry(address) & bit) !== 0n;
}

const DATA = 0x01000000; // physical frames for data, well clear of the table arena at 0x100000

// --- Translation ---------------------------------------------------------------

describe("translation in 32-bit paging", () => {
  it("translates a 4 KiB page through the PDE and PTE", () => {
    const { mmu, ram, pt } = machine("32bit");
    pt.map(0x00401000, DATA + 0x23000);
    enablePaging(mmu, pt);
    expect(tr(mmu, 0x00401abc)).toBe(DATA + 0x23abc);
    ram.write32(DATA + 0x23abc, 0x600df00d);
    expect(rd32(mmu, 0x00401abc)).toBe(0x600df00d);
    expectNoFault(mmu);
  });

  it("translates a 4 MiB page when CR4.PSE=1", () => {
    const { mmu, pt } = machine("32bit");
    pt.map(0x00800000, 0x02000000, { size: MIB4 });
    enablePaging(mmu, pt, { pse: true });
    expect(tr(mmu, 0x00923456)).toBe(0x02123456);
    expect(tr(mmu, 0x00bfffff)).toBe(0x023fffff);
    expectNoFault(mmu);
  });

  it("does not use PDE bit 12 (PAT) of a 4 MiB page as an address bit", () => {
    const { mmu, pt } = machine("32bit");
    pt.map(0x00800000, 0x02000000, { size: MIB4, flags: P | RW | US | (1n << 12n) });
    enablePaging(mmu, pt, { pse: true });
    expect(tr(mmu, 0x00800010)).toBe(0x02000010);
    expectNoFault(mmu);
  });

  it("ignores PDE.PS when CR4.PSE=0: the PDE references a page table", () => {
    const { mmu, bus, pt } = machine("32bit");
    pt.map(0x00c00000, 0x02000000, { size: MIB4 });
    // Treated as a page-table address, 0x02000000 holds PTE 5 -> 0x03456000.
    bus.write32(0x02000000 + 5 * 4, 0x03456000 | 0x7);
    enablePaging(mmu, pt, { pse: false });
    expect(tr(mmu, 0x00c05123)).toBe(0x03456123);
    expectNoFault(mmu);
    // Index 6 of that "page table" is zero: not present.
    expect(tr(mmu, 0x00c06000)).toBe(-1);
    expectFault(mmu, 0x00c06000, 0);
  });

  it("takes physical-address bits 39:32 of a 4 MiB page from PDE bits 20:13 (PSE-36)", () => {
    const { mmu, pt } = machine("32bit");
    pt.map(0x01000000, 0x00400000, { size: MIB4 });
    pt.modify(0x01000000, "PD", 0x12n << 13n);
    enablePaging(mmu, pt, { pse: true });
    expect(tr(mmu, 0x01012345)).toBe(0x12_0041_2345);
    expectNoFault(mmu);
  });

  it("with MAXPHYADDR=36, uses PDE bits 16:13 for address bits 35:32 and reserves bits 21:17", () => {
    const { mmu, pt } = machine("32bit", { maxPhysAddrBits: 36 });
    pt.map(0x01000000, 0x00400000, { size: MIB4 });
    pt.modify(0x01000000, "PD", 0xfn << 13n);
    pt.map(0x01400000, 0x00800000, { size: MIB4 });
    pt.modify(0x01400000, "PD", 1n << 17n);
    enablePaging(mmu, pt, { pse: true });
    expect(tr(mmu, 0x01000010)).toBe(0xf_0040_0010);
    expectNoFault(mmu);
    expect(tr(mmu, 0x01400010)).toBe(-1);
    expectFault(mmu, 0x01400010, PF_P | PF_RSVD);
  });
});

describe("translation in PAE paging", () => {
  it("translates 4 KiB and 2 MiB pages", () => {
    const { mmu, ram, pt } = machine("pae");
    pt.map(0x40201000, DATA + 0x54000);
    pt.map(0x80400000, 0x00a00000, { size: MIB2 });
    enablePaging(mmu, pt);
    expect(tr(mmu, 0x40201fff)).toBe(DATA + 0x54fff);
    expect(tr(mmu, 0x80512345)).toBe(0x00b12345);
    ram.write32(0x00b12344, 0x0defaced);
    expect(rd32(mmu, 0x80512344)).toBe(0x0defaced);
    expectNoFault(mmu);
  });

  it("locates the PDPT with CR3 bits 31:5 (32-byte aligned, not page aligned)", () => {
    const { mmu, bus, pt } = machine("pae");
    pt.map(0x40000000, DATA);
    const other = new PageTableBuilder(bus, "pae", 0x200000);
    other.map(0x40000000, DATA + 0x7000);
    // A second PDPT 0x40 bytes into the first one's page, whose entry 1 is the other tree's.
    for (let i = 0; i < 4; i++) pt.writeEntry(pt.root + 0x40 + 8 * i, pt.readEntry(pt.root + 8 * i));
    pt.writeEntry(pt.root + 0x40 + 8, other.readEntry(other.root + 8));
    enablePaging(mmu, pt);
    expect(tr(mmu, 0x40000123)).toBe(DATA + 0x123);
    expect(mmu.setCr3(pt.root + 0x40, 0)).toBe(true);
    expect(tr(mmu, 0x40000123)).toBe(DATA + 0x7123);
  });
});

describe("translation in 4-level paging", () => {
  it("translates 4 KiB, 2 MiB and 1 GiB pages, in both canonical halves", () => {
    const { mmu, pt } = machine("4level");
    pt.map(0x0000_7f12_3456_7000n, DATA + 0x1000);
    pt.map(0xffff_8000_0020_0000n, 0x00c00000, { size: MIB2 });
    pt.map(0x0000_0040_0000_0000n, 0x4000_0000, { size: GIB1 });
    pt.map(0xffff_ffff_c000_0000n, 0x1_8000_0000, { size: GIB1 });
    enablePaging(mmu, pt);
    expect(tr(mmu, 0x0000_7f12_3456_7abcn)).toBe(DATA + 0x1abc);
    expect(tr(mmu, 0xffff_8000_003f_fff0n)).toBe(0x00dffff0);
    expect(tr(mmu, 0x0000_0040_1234_5678n)).toBe(0x5234_5678);
    expect(tr(mmu, 0xffff_ffff_ffff_f001n)).toBe(0x1_bfff_f001);
    expectNoFault(mmu);
  });

  it("uses entry bits up to MAXPHYADDR-1 as address bits (MAXPHYADDR=46: bit 40 is an address bit)", () => {
    const { mmu, pt } = machine("4level", { maxPhysAddrBits: 46 });
    pt.map(0x1000_0000, 0x100_0000_0000 + DATA);
    enablePaging(mmu, pt);
    expect(tr(mmu, 0x1000_0042)).toBe(0x100_0000_0000 + DATA + 0x42);
    expectNoFault(mmu);
  });
});

describe("translation in 5-level paging", () => {
  it("indexes the PML5 with linear-address bits 56:48", () => {
    const { mmu, pt } = machine("5level");
    pt.map(0x00ff_8000_0000_1000n, DATA + 0x1000);
    pt.map(0x00fe_8000_0000_1000n, DATA + 0x2000); // differs only in bit 48
    pt.map(0xff12_3456_789a_b000n, DATA + 0x3000);
    pt.map(0x0000_0000_0040_0000n, 0x00e00000, { size: MIB2 });
    enablePaging(mmu, pt);
    expect(pt.entryAddress(0x00ff_8000_0000_1000n, "PML5")).toBe(pt.root + 0xff * 8);
    expect(tr(mmu, 0x00ff_8000_0000_1234n)).toBe(DATA + 0x1234);
    expect(tr(mmu, 0x00fe_8000_0000_1234n)).toBe(DATA + 0x2234);
    expect(tr(mmu, 0xff12_3456_789a_bfedn)).toBe(DATA + 0x3fed);
    expect(tr(mmu, 0x0000_0000_0050_0000n)).toBe(0x00f00000);
    expectNoFault(mmu);
    expect(mmu.stats().walkMemoryReads).toBe(5 + 5 + 5 + 4);
  });

  it("treats 57-bit addresses as canonical only with CR4.LA57=1", () => {
    const { mmu, pt } = machine("5level");
    pt.map(0x1000, DATA);
    enablePaging(mmu, pt);
    const hiOf = (va: bigint): number => halves(va)[1];
    expect(mmu.isCanonical(hiOf(0x00ff_8000_0000_1000n))).toBe(true);
    expect(mmu.isCanonical(hiOf(0x00ff_ffff_ffff_ffffn))).toBe(true);
    expect(mmu.isCanonical(hiOf(0x0100_0000_0000_0000n))).toBe(false);
    expect(mmu.isCanonical(hiOf(0xff00_0000_0000_0000n))).toBe(true);
    expect(mmu.isCanonical(hiOf(0xfeff_ffff_ffff_ffffn))).toBe(false);
    expect(isCanonical(hiOf(0x00ff_8000_0000_1000n), false)).toBe(false);
    expect(isCanonical(hiOf(0xff12_3456_789a_b000n), true)).toBe(true);
    expect(isCanonical(hiOf(0xff12_3456_789a_b000n), false)).toBe(false);
  });
});

describe("recursive mappings", () => {
  it("a PML4 entry pointing at the PML4 itself maps the page tables into the linear address space", () => {
    const { mmu, pt } = machine("4level");
    pt.map(0x0000_0012_3456_7000n, DATA);
    const r = 510n;
    pt.writeEntry(pt.root + Number(r) * 8, BigInt(pt.root) | P | RW);
    enablePaging(mmu, pt);
    const selfVa = BigInt.asUintN(64, BigInt.asIntN(48, (r << 39n) | (r << 30n) | (r << 21n) | (r << 12n)));
    expect(selfVa).toBe(0xffff_ff7f_bfdf_e000n);
    expect(tr(mmu, selfVa + 8n * 36n)).toBe(pt.root + 8 * 36);
    // Reading PML4 entry 0 through the recursive mapping gives the entry as it is in memory.
    const entry0 = pt.readEntry(pt.root);
    const [lo, hi] = halves(selfVa);
    expect(mmu.read64(lo, hi, SUPERVISOR_READ)).toBe(Number(entry0 & 0xffffffffn) | 0);
    expect(mmu.high).toBe(Number(entry0 >> 32n) | 0);
    expectNoFault(mmu);
    // Every use of the recursive entry set its A flag; as a leaf written to, it gets D.
    wr32(mmu, selfVa + 8n * 300n, 0);
    expect(pt.readEntry(pt.root + 510 * 8) & (A | D)).toBe(A | D);
  });
});

// --- Reserved bits -------------------------------------------------------------

describe("reserved-bit faults", () => {
  const VA = 0x0000_5a12_3456_7000n;
  const BIT40 = 1n << 40n;

  for (const level of ["PML4", "PDPT", "PD", "PT"]) {
    it(`bit 40 (above MAXPHYADDR=40) in the ${level} entry faults with P|RSVD; entries above get A, it and below do not`, () => {
      const { mmu, pt } = machine("4level");
      pt.map(VA, DATA);
      const at = entryAddresses(pt, VA);
      pt.modify(VA, level, BIT40);
      enablePaging(mmu, pt);
      expect(rd32(mmu, VA + 8n)).toBe(0);
      expectFault(mmu, VA + 8n, PF_P | PF_RSVD);
      const names = TABLES["4level"];
      const faulting = names.indexOf(level);
      names.forEach((name, i) => {
        expect(flag(pt, at[name], A), `A in ${name}`).toBe(i < faulting);
        expect(flag(pt, at[name], D), `D in ${name}`).toBe(false);
      });
    });
  }

  it("adds W, U and I to RSVD as the access requires", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA);
    pt.modify(VA, "PT", BIT40);
    enablePaging(mmu, pt, { nxe: true });
    const cases: [number, number][] = [
      [SUPERVISOR_READ, PF_P | PF_RSVD],
      [SUPERVISOR_WRITE, PF_P | PF_RSVD | PF_W],
      [USER_READ, PF_P | PF_RSVD | PF_U],
      [USER_WRITE, PF_P | PF_RSVD | PF_W | PF_U],
      [SUPERVISOR_FETCH, PF_P | PF_RSVD | PF_I],
      [USER_FETCH, PF_P | PF_RSVD | PF_U | PF_I],
    ];
    for (const [cls, code] of cases) {
      expect(tr(mmu, VA, cls)).toBe(-1);
      expectFault(mmu, VA, code);
    }
  });

  it("PS=1 in a PML4E is reserved", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA);
    const at = entryAddresses(pt, VA);
    pt.modify(VA, "PML4", PS);
    enablePaging(mmu, pt);
    expect(tr(mmu, VA, SUPERVISOR_WRITE)).toBe(-1);
    expectFault(mmu, VA, PF_P | PF_RSVD | PF_W);
    expect(flag(pt, at.PML4, A)).toBe(false);
  });

  it("PS=1 in a PML5E is reserved", () => {
    const va = 0x0012_3456_7800_0000n;
    const { mmu, pt } = machine("5level");
    pt.map(va, DATA);
    const at = entryAddresses(pt, va);
    pt.modify(va, "PML5", PS);
    enablePaging(mmu, pt);
    expect(tr(mmu, va, USER_READ)).toBe(-1);
    expectFault(mmu, va, PF_P | PF_RSVD | PF_U);
    expect(flag(pt, at.PML5, A)).toBe(false);
    expect(flag(pt, at.PT, A)).toBe(false);
  });

  it("XD=1 is reserved when EFER.NXE=0 (non-leaf PDE), and allowed for reads when NXE=1", () => {
    for (const nxe of [false, true]) {
      const { mmu, pt } = machine("4level");
      pt.map(VA, DATA);
      const at = entryAddresses(pt, VA);
      pt.modify(VA, "PD", XD);
      enablePaging(mmu, pt, { nxe });
      if (nxe) {
        expect(tr(mmu, VA + 0x10n)).toBe(DATA + 0x10);
        expectNoFault(mmu);
        expect(tr(mmu, VA, SUPERVISOR_FETCH)).toBe(-1);
        expectFault(mmu, VA, PF_P | PF_I);
      } else {
        expect(tr(mmu, VA + 0x10n)).toBe(-1);
        expectFault(mmu, VA + 0x10n, PF_P | PF_RSVD);
        expect(flag(pt, at.PDPT, A)).toBe(true);
        expect(flag(pt, at.PD, A)).toBe(false);
        expect(flag(pt, at.PT, A)).toBe(false);
      }
    }
  });

  it("XD=1 in a leaf PTE is reserved when EFER.NXE=0", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA, { xd: true });
    enablePaging(mmu, pt);
    expect(tr(mmu, VA)).toBe(-1);
    expectFault(mmu, VA, PF_P | PF_RSVD);
  });

  it("bits 20:13 of a 2 MiB PDE are reserved; bit 12 (PAT) is not and is not an address bit", () => {
    const base = 0x0000_0000_4000_0000n;
    for (const bit of [13n, 16n, 20n]) {
      const { mmu, pt } = machine("4level");
      pt.map(base, 0x00600000, { size: MIB2 });
      const pdpte = pt.entryAddress(base, "PDPT");
      const pde = pt.modify(base, "PD", 1n << bit);
      enablePaging(mmu, pt);
      expect(tr(mmu, base + 0x1234n), `bit ${bit}`).toBe(-1);
      expectFault(mmu, base + 0x1234n, PF_P | PF_RSVD);
      expect(flag(pt, pdpte, A)).toBe(true);
      expect(flag(pt, pde, A)).toBe(false);
    }
    const { mmu, pt } = machine("4level");
    pt.map(base, 0x00600000, { size: MIB2, flags: P | RW | US | (1n << 12n) });
    enablePaging(mmu, pt);
    expect(tr(mmu, base + 0x12345n)).toBe(0x00612345);
    expectNoFault(mmu);
  });

  it("bits 29:13 of a 1 GiB PDPTE are reserved; bit 12 (PAT) is not", () => {
    const base = 0x0000_0080_0000_0000n;
    for (const bit of [13n, 21n, 29n]) {
      const { mmu, pt } = machine("4level");
      pt.map(base, 0x4000_0000, { size: GIB1 });
      const pml4e = pt.entryAddress(base, "PML4");
      const pdpte = pt.modify(base, "PDPT", 1n << bit);
      enablePaging(mmu, pt);
      expect(tr(mmu, base + 0x123n), `bit ${bit}`).toBe(-1);
      expectFault(mmu, base + 0x123n, PF_P | PF_RSVD);
      expect(flag(pt, pml4e, A)).toBe(true);
      expect(flag(pt, pdpte, A)).toBe(false);
    }
    const { mmu, pt } = machine("4level");
    pt.map(base, 0x4000_0000, { size: GIB1, flags: P | RW | US | (1n << 12n) });
    enablePaging(mmu, pt);
    expect(tr(mmu, base + 0x0765_4321n)).toBe(0x4765_4321);
    expectNoFault(mmu);
  });

  it("PS=1 in a PDPTE is reserved when 1 GiB pages are not offered", () => {
    const base = 0x0000_0080_0000_0000n;
    const { mmu, pt } = machine("4level", { gigabytePages: false });
    pt.map(base, 0x4000_0000, { size: GIB1 });
    const pml4e = pt.entryAddress(base, "PML4");
    const pdpte = pt.entryAddress(base, "PDPT");
    enablePaging(mmu, pt);
    expect(tr(mmu, base)).toBe(-1);
    expectFault(mmu, base, PF_P | PF_RSVD);
    expect(flag(pt, pml4e, A)).toBe(true);
    expect(flag(pt, pdpte, A)).toBe(false);
  });

  it("bit 21 of a 32-bit PDE mapping a 4 MiB page is reserved", () => {
    const { mmu, pt } = machine("32bit");
    pt.map(0x00800000, 0x02000000, { size: MIB4 });
    const pde = pt.modify(0x00800000, "PD", 1n << 21n);
    enablePaging(mmu, pt, { pse: true });
    expect(tr(mmu, 0x00812345, USER_WRITE)).toBe(-1);
    expectFault(mmu, 0x00812345, PF_P | PF_RSVD | PF_W | PF_U);
    expect(flag(pt, pde, A)).toBe(false);
    expect(flag(pt, pde, D)).toBe(false);
  });

  it("bit 21 of a 32-bit PDE is an address bit, not reserved, when CR4.PSE=0", () => {
    const { mmu, pt } = machine("32bit");
    pt.map(0x00800000, 0x02000000, { size: MIB4 });
    pt.modify(0x00800000, "PD", 1n << 21n);
    enablePaging(mmu, pt, { pse: false });
    // A page table at 0x02200000, all zeros: the PTE is not present.
    expect(tr(mmu, 0x00812345)).toBe(-1);
    expectFault(mmu, 0x00812345, 0);
  });

  it("PAE: bits 20:13 of a 2 MiB PDE are reserved", () => {
    const { mmu, pt } = machine("pae");
    pt.map(0x80400000, 0x00a00000, { size: MIB2 });
    pt.modify(0x80400000, "PD", 1n << 15n);
    enablePaging(mmu, pt);
    expect(tr(mmu, 0x80400000, SUPERVISOR_WRITE)).toBe(-1);
    expectFault(mmu, 0x80400000, PF_P | PF_RSVD | PF_W);
  });

  it("PAE: bit 40 and bit 52 (62:MAXPHYADDR) of a PDE or PTE are reserved", () => {
    for (const [level, bit] of [
      ["PD", 40n],
      ["PT", 40n],
      ["PT", 52n],
      ["PT", 62n],
    ] as const) {
      const { mmu, pt } = machine("pae");
      pt.map(0x40201000, DATA);
      const at = entryAddresses(pt, 0x40201000n);
      pt.modify(0x40201000, level, 1n << bit);
      enablePaging(mmu, pt);
      expect(tr(mmu, 0x40201000), `${level} bit ${bit}`).toBe(-1);
      expectFault(mmu, 0x40201000, PF_P | PF_RSVD);
      expect(flag(pt, at.PD, A)).toBe(level === "PT");
      expect(flag(pt, at.PT, A)).toBe(false);
    }
  });

  it("PAE: XD=1 is reserved when EFER.NXE=0", () => {
    const { mmu, pt } = machine("pae");
    pt.map(0x40201000, DATA, { xd: true });
    enablePaging(mmu, pt);
    expect(tr(mmu, 0x40201000)).toBe(-1);
    expectFault(mmu, 0x40201000, PF_P | PF_RSVD);
  });

  it("4-level: bits 62:52 of a PTE are ignored, not reserved (CR4.PKE=0)", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA);
    pt.modify(VA, "PT", (1n << 52n) | (1n << 58n) | (1n << 62n));
    enablePaging(mmu, pt);
    expect(tr(mmu, VA + 4n)).toBe(DATA + 4);
    expectNoFault(mmu);
  });
});

// --- Not present -------------------------------------------------------------

describe("not-present faults", () => {
  const VA = 0xffff_8123_4567_89abn;
  const classes: [string, number, number][] = [
    ["supervisor read", SUPERVISOR_READ, 0],
    ["supervisor write", SUPERVISOR_WRITE, PF_W],
    ["user read", USER_READ, PF_U],
    ["user write", USER_WRITE, PF_W | PF_U],
  ];

  for (const level of ["PML4", "PDPT", "PD", "PT"]) {
    it(`P=0 in the ${level} entry: error code without P, CR2 = the full linear address`, () => {
      for (const [, cls, code] of classes) {
        const { mmu, pt } = machine("4level");
        pt.map(VA, DATA);
        const at = entryAddresses(pt, VA);
        pt.modify(VA, level, 0n, P);
        enablePaging(mmu, pt);
        expect(tr(mmu, VA, cls)).toBe(-1);
        expectFault(mmu, VA, code);
        const names = TABLES["4level"];
        names.forEach((name, i) => expect(flag(pt, at[name], A), `A in ${name}`).toBe(i < names.indexOf(level)));
      }
    });
  }

  it("P=0 in a PML5E (5-level), CR2 holds all 57 bits", () => {
    const va = 0xff12_3456_789a_bcden;
    const { mmu, pt } = machine("5level");
    pt.map(va, DATA);
    pt.modify(va, "PML5", 0n, P);
    enablePaging(mmu, pt);
    expect(rd32(mmu, va, USER_READ)).toBe(0);
    expectFault(mmu, va, PF_U);
  });

  it("32-bit paging: P=0 in the PDE or the PTE; CR2 has no high half", () => {
    for (const level of ["PD", "PT"]) {
      const { mmu, pt } = machine("32bit");
      pt.map(0xc0101000, DATA);
      const pde = pt.entryAddress(0xc0101000, "PD");
      pt.modify(0xc0101000, level, 0n, P);
      enablePaging(mmu, pt);
      wr32(mmu, 0xc0101ffc, 1);
      expectFault(mmu, 0xc0101ffc, PF_W);
      expect(flag(pt, pde, A), level).toBe(level === "PT");
    }
  });

  it("an address mapped nowhere faults at the top level", () => {
    const { mmu, pt } = machine("4level");
    enablePaging(mmu, pt);
    expect(rd32(mmu, 0x0000_1234_5678_9000n)).toBe(0);
    expectFault(mmu, 0x0000_1234_5678_9000n, 0);
  });
});

// --- Accessed and dirty flags ------------------------------------------------------

describe("accessed and dirty flags", () => {
  const VA = 0x0000_0012_3456_7000n;

  it("a read sets A at every level and D nowhere", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA);
    const at = entryAddresses(pt, VA);
    for (const name of TABLES["4level"]) expect(flag(pt, at[name], A)).toBe(false);
    enablePaging(mmu, pt);
    rd32(mmu, VA);
    expectNoFault(mmu);
    for (const name of TABLES["4level"]) {
      expect(flag(pt, at[name], A), `A in ${name}`).toBe(true);
      expect(flag(pt, at[name], D), `D in ${name}`).toBe(false);
    }
  });

  it("a write sets A at every level and D only in the leaf", () => {
    const { mmu, ram, pt } = machine("4level");
    pt.map(VA, DATA);
    const at = entryAddresses(pt, VA);
    enablePaging(mmu, pt);
    wr32(mmu, VA + 0x10n, 0x7e57da7a);
    expectNoFault(mmu);
    expect(ram.read32(DATA + 0x10)).toBe(0x7e57da7a);
    for (const name of TABLES["4level"]) {
      expect(flag(pt, at[name], A), `A in ${name}`).toBe(true);
      expect(flag(pt, at[name], D), `D in ${name}`).toBe(name === "PT");
    }
    // The other bits of the entries are unchanged.
    expect(pt.readEntry(at.PT)).toBe(BigInt(DATA) | P | RW | US | A | D);
  });

  it("a write to a 2 MiB or 1 GiB page sets D in the PDE or PDPTE that maps it", () => {
    const { mmu, pt } = machine("4level");
    const va2m = 0x0000_0000_4020_0000n;
    const va1g = 0x0000_0001_0000_0000n;
    pt.map(va2m, 0x00800000, { size: MIB2 });
    pt.map(va1g, 0x4000_0000, { size: GIB1 });
    enablePaging(mmu, pt);
    wr32(mmu, va2m + 0x1234n, 1);
    tr(mmu, va1g + 0x2000n, SUPERVISOR_WRITE);
    expectNoFault(mmu);
    const pde = pt.entryAddress(va2m, "PD");
    const pdpte1g = pt.entryAddress(va1g, "PDPT");
    expect(pt.readEntry(pde) & (A | D | PS)).toBe(A | D | PS);
    expect(flag(pt, pt.entryAddress(va2m, "PDPT"), D)).toBe(false);
    expect(pt.readEntry(pdpte1g) & (A | D | PS)).toBe(A | D | PS);
    expect(flag(pt, pt.entryAddress(va1g, "PML4"), D)).toBe(false);
  });

  it("a read that fills the TLB followed by a write sets D: the write walks again", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA);
    const pte = pt.entryAddress(VA, "PT");
    enablePaging(mmu, pt);
    rd32(mmu, VA);
    rd32(mmu, VA + 4n);
    expect(pt.readEntry(pte) & (A | D)).toBe(A);
    expect(mmu.stats().walks).toBe(1);
    wr32(mmu, VA + 8n, 5);
    expectNoFault(mmu);
    expect(pt.readEntry(pte) & (A | D)).toBe(A | D);
    expect(mmu.stats().walks).toBe(2);
    // Now the cached entry has D=1: further writes need no walk.
    wr32(mmu, VA + 12n, 6);
    expect(mmu.stats().walks).toBe(2);
  });

  it("32-bit paging: A in the PDE and PTE, D only in the PTE; a 4 MiB PDE gets D", () => {
    const { mmu, pt } = machine("32bit");
    pt.map(0x00401000, DATA);
    pt.map(0x00800000, 0x02000000, { size: MIB4 });
    enablePaging(mmu, pt, { pse: true });
    wr32(mmu, 0x00401000, 1);
    wr32(mmu, 0x00900000, 1);
    expectNoFault(mmu);
    const pde = pt.entryAddress(0x00401000, "PD");
    const pte = pt.entryAddress(0x00401000, "PT");
    expect(pt.readEntry(pde) & (A | D)).toBe(A);
    expect(pt.readEntry(pte) & (A | D)).toBe(A | D);
    expect(pt.readEntry(pt.entryAddress(0x00800000, "PD")) & (A | D)).toBe(A | D);
  });

  it("PAE: PDPTEs (which have no A flag) are not written; PDE and PTE get A", () => {
    const { mmu, pt } = machine("pae");
    pt.map(0x40201000, DATA);
    const at = entryAddresses(pt, 0x40201000n);
    const pdpteBefore = pt.readEntry(at.PDPT);
    enablePaging(mmu, pt);
    wr32(mmu, 0x40201000, 1);
    expectNoFault(mmu);
    expect(pt.readEntry(at.PDPT)).toBe(pdpteBefore);
    expect(pt.readEntry(at.PD) & (A | D)).toBe(A);
    expect(pt.readEntry(at.PT) & (A | D)).toBe(A | D);
  });
});

// --- PAE PDPTE registers ------------------------------------------------------------

describe("PAE PDPTE loading", () => {
  function paeMachine() {
    const m = machine("pae");
    m.pt.map(0x00001000, DATA + 0x1000);
    m.pt.map(0x40000000, DATA + 0x2000);
    m.pt.map(0x80000000, DATA + 0x3000);
    enablePaging(m.mmu, m.pt);
    return m;
  }

  for (const [what, bits] of [
    ["bit 1 (R/W)", 1n << 1n],
    ["bit 2 (U/S)", 1n << 2n],
    ["bit 5", 1n << 5n],
    ["bit 8", 1n << 8n],
    ["bit 40 (above MAXPHYADDR)", 1n << 40n],
    ["bit 63", 1n << 63n],
  ] as const) {
    it(`setCr3 returns false and changes nothing when a present PDPTE sets ${what}`, () => {
      const { mmu, pt } = paeMachine();
      expect(tr(mmu, 0x40000010)).toBe(DATA + 0x2010);
      const pdpt2 = pt.entryAddress(0x80000000, "PDPT");
      pt.writeEntry(pdpt2, pt.readEntry(pdpt2) | bits);
      const before = mmu.stats();
      expect(mmu.setCr3(pt.cr3, 0)).toBe(false);
      expect(mmu.cr3Lo).toBe(pt.cr3);
      expect(mmu.stats().cr3Writes).toBe(before.cr3Writes);
      // The old PDPTEs and the TLB are untouched.
      expect(mmu.cachedTranslation(0x40000010, 0)).not.toBeNull();
      expect(tr(mmu, 0x80000010)).toBe(DATA + 0x3010);
      expectNoFault(mmu);
    });
  }

  it("setCr3 with a different, invalid PDPT keeps the old CR3", () => {
    const { mmu, bus, pt } = paeMachine();
    const bad = new PageTableBuilder(bus, "pae", 0x300000);
    bad.map(0x40000000, DATA + 0x9000);
    bad.writeEntry(bad.root, P | RW); // present with R/W: reserved in a PDPTE
    expect(mmu.setCr3(bad.cr3, 0)).toBe(false);
    expect(mmu.cr3Lo).toBe(pt.cr3);
    expect(tr(mmu, 0x40000000)).toBe(DATA + 0x2000);
  });

  it("setCr3 returns true when only not-present PDPTEs have other bits, or present ones set PWT/PCD/ignored bits", () => {
    const { mmu, pt } = paeMachine();
    pt.writeEntry(pt.root + 3 * 8, (1n << 63n) | RW | (1n << 40n)); // P=0: nothing is checked
    pt.modify(0x40000000, "PDPT", (1n << 3n) | (1n << 4n) | (1n << 9n) | (1n << 11n));
    expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
    expect(tr(mmu, 0x40000004)).toBe(DATA + 0x2004);
    expectNoFault(mmu);
  });

  it("setCr0 turning PAE paging on fails the same way when a PDPTE is bad", () => {
    const { mmu, pt } = machine("pae");
    pt.map(0x1000, DATA);
    pt.modify(0x1000, "PDPT", RW);
    mmu.setCr4(CR4_PAE);
    mmu.setCr3(pt.cr3, 0);
    expect(mmu.setCr0(CR0_PE | CR0_PG)).toBe(false);
    expect(mmu.cr0 & CR0_PG).toBe(0);
    expect(tr(mmu, 0x1234)).toBe(0x1234); // still no paging
  });

  // SDM 4.4.1: with PAE paging in use after MOV to CR0/CR4, the PDPTEs are
  // (re)loaded when the instruction modifies CR0.CD, CR0.NW, CR0.PG, CR4.PAE,
  // CR4.PGE, CR4.PSE or CR4.SMEP, and only then.
  for (const [name, bit] of [
    ["PGE", CR4_PGE],
    ["PSE", CR4_PSE],
    ["SMEP", CR4_SMEP],
  ] as const) {
    it(`MOV to CR4 changing CR4.${name} under PAE paging reloads the PDPTEs`, () => {
      const { mmu, bus, pt } = machine("pae");
      pt.map(0x40003000, DATA + 0x5000);
      const other = new PageTableBuilder(bus, "pae", 0x300000);
      other.map(0x40003000, DATA + 0x8000);
      enablePaging(mmu, pt);
      pt.writeEntry(pt.root + 8, other.readEntry(other.root + 8));
      expect(mmu.setCr4(CR4_PAE | bit)).toBe(true);
      expect(tr(mmu, 0x40003010)).toBe(DATA + 0x8010);
      // A bad PDPTE now makes the same kind of MOV to CR4 fail (#GP), changing nothing.
      pt.modify(0x40003000, "PDPT", RW);
      expect(mmu.setCr4(CR4_PAE)).toBe(false);
      expect(mmu.cr4).toBe(CR4_PAE | bit);
    });
  }

  it("MOV to CR4 changing only CR4.SMAP under PAE paging does not reload the PDPTEs", () => {
    const { mmu, pt } = paeMachine();
    pt.modify(0x80000000, "PDPT", RW); // would fail a reload
    expect(mmu.setCr4(CR4_PAE | CR4_SMAP)).toBe(true);
    expect(mmu.cr4 & CR4_SMAP).toBe(CR4_SMAP);
    // The page is a user page: with SMAP=1 only an AC=1 supervisor read may use it (SDM 4.6.1).
    expect(tr(mmu, 0x80000010, SUPERVISOR_AC_READ)).toBe(DATA + 0x3010);
  });

  it("MOV to CR0 changing only CR0.WP under PAE paging does not reload the PDPTEs", () => {
    const { mmu, pt } = paeMachine();
    pt.modify(0x80000000, "PDPT", RW);
    expect(mmu.setCr0(CR0_PE | CR0_PG)).toBe(true);
    expect(mmu.cr0 & CR0_WP).toBe(0);
    expect(tr(mmu, 0x80000010)).toBe(DATA + 0x3010);
  });

  it("loads the PDPTEs at the CR3 write: later changes to the PDPT in memory need another CR3 write", () => {
    const { mmu, bus, pt } = machine("pae");
    pt.map(0x40003000, DATA + 0x5000);
    const other = new PageTableBuilder(bus, "pae", 0x300000);
    other.map(0x40003000, DATA + 0x8000);
    enablePaging(mmu, pt);
    // Point PDPTE 1 at the other tree's page directory, in memory only.
    pt.writeEntry(pt.root + 8, other.readEntry(other.root + 8));
    // 0x40003000 has never been accessed, so no TLB entry is involved.
    expect(mmu.cachedTranslation(0x40003000, 0)).toBeNull();
    expect(tr(mmu, 0x40003010)).toBe(DATA + 0x5010); // still the PDPTE register's PD
    expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
    expect(tr(mmu, 0x40003010)).toBe(DATA + 0x8010);
    expectNoFault(mmu);
  });

  it("a not-present PDPTE gives a not-present #PF, even after the PDPT in memory is fixed, until CR3 is written", () => {
    const { mmu, pt } = machine("pae");
    pt.map(0x00001000, DATA);
    enablePaging(mmu, pt);
    expect(tr(mmu, 0xc0000123)).toBe(-1);
    expectFault(mmu, 0xc0000123, 0);
    expect(rd32(mmu, 0xc0000123, USER_READ)).toBe(0);
    expectFault(mmu, 0xc0000123, PF_U);
    pt.map(0xc0000000, DATA + 0x4000);
    expect(tr(mmu, 0xc0000123)).toBe(-1);
    expectFault(mmu, 0xc0000123, 0);
    expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
    expect(tr(mmu, 0xc0000123)).toBe(DATA + 0x4123);
    expectNoFault(mmu);
  });
});

// --- I/D bit -----------------------------------------------------------------------

describe("the I/D bit of the error code", () => {
  const cases: { kind: PagingKind; nxe: boolean; smep: boolean; reported: boolean }[] = [
    { kind: "32bit", nxe: false, smep: false, reported: false },
    { kind: "32bit", nxe: true, smep: false, reported: false },
    { kind: "32bit", nxe: false, smep: true, reported: true },
    { kind: "pae", nxe: false, smep: false, reported: false },
    { kind: "pae", nxe: true, smep: false, reported: true },
    { kind: "pae", nxe: false, smep: true, reported: true },
    { kind: "4level", nxe: false, smep: false, reported: false },
    { kind: "4level", nxe: true, smep: false, reported: true },
    { kind: "4level", nxe: false, smep: true, reported: true },
    { kind: "5level", nxe: true, smep: false, reported: true },
  ];
  for (const { kind, nxe, smep, reported } of cases) {
    it(`${kind}, NXE=${+nxe}, SMEP=${+smep}: fetch faults ${reported ? "set" : "do not set"} I/D; data faults never do`, () => {
      const { mmu, pt } = machine(kind);
      pt.map(0x1000, DATA);
      enablePaging(mmu, pt, { nxe, smep });
      const va = 0x00345678;
      const [lo, hi] = halves(va);
      mmu.fetch8(lo, hi, SUPERVISOR_FETCH);
      expectFault(mmu, va, reported ? PF_I : 0);
      mmu.fetch8(lo, hi, USER_FETCH);
      expectFault(mmu, va, PF_U | (reported ? PF_I : 0));
      mmu.read8(lo, hi, SUPERVISOR_READ);
      expectFault(mmu, va, 0);
      mmu.write8(lo, hi, USER_WRITE, 0);
      expectFault(mmu, va, PF_U | PF_W);
    });
  }
});

// --- Accesses that cross a page boundary ----------------------------------------------

describe("accesses that cross a page boundary", () => {
  const FIRST = 0x0000_0055_0001_0000n;
  const SECOND = FIRST + 0x1000n;

  it("a write whose second page is not present reports the second page and writes nothing", () => {
    const { mmu, ram, pt } = machine("4level");
    pt.map(FIRST, DATA);
    enablePaging(mmu, pt);
    ram.u8.fill(0xee, DATA + 0xff8, DATA + 0x1000);
    wr32(mmu, FIRST + 0xffen, 0x11223344);
    expectFault(mmu, SECOND, PF_W);
    const [lo, hi] = halves(FIRST + 0xff9n);
    mmu.write64(lo, hi, SUPERVISOR_WRITE, 0x11223344, 0x55667788);
    expectFault(mmu, SECOND, PF_W);
    expect([...ram.u8.subarray(DATA + 0xff8, DATA + 0x1000)]).toEqual(new Array(8).fill(0xee));
  });

  it("a user read whose second page is supervisor-only reports the second page", () => {
    const { mmu, pt } = machine("4level");
    pt.map(FIRST, DATA);
    pt.map(SECOND, DATA + 0x1000, { flags: P | RW }); // supervisor-only
    enablePaging(mmu, pt);
    expect(rd32(mmu, FIRST + 0xffdn, USER_READ)).toBe(0);
    expectFault(mmu, SECOND, PF_P | PF_U);
  });

  it("a write whose second page is read-only (CR0.WP=1) reports the second page and writes nothing", () => {
    const { mmu, ram, pt } = machine("4level");
    pt.map(FIRST, DATA);
    pt.map(SECOND, DATA + 0x1000, { flags: P | US });
    enablePaging(mmu, pt);
    wr32(mmu, FIRST + 0xfffn, -1);
    expectFault(mmu, SECOND, PF_P | PF_W);
    expect(ram.u8[DATA + 0xfff]).toBe(0);
    expect(ram.u8[DATA + 0x1000]).toBe(0);
  });

  it("when the first page faults, the access's own address is reported", () => {
    const { mmu, pt } = machine("4level");
    pt.map(SECOND, DATA + 0x1000);
    enablePaging(mmu, pt);
    expect(rd32(mmu, FIRST + 0xffen)).toBe(0);
    expectFault(mmu, FIRST + 0xffen, 0);
    wr32(mmu, FIRST + 0xffen, 1, USER_WRITE);
    expectFault(mmu, FIRST + 0xffen, PF_W | PF_U);
  });

  it("reads and writes the right bytes in two different frames when both pages are mapped", () => {
    const { mmu, ram, pt } = machine("4level");
    const frame1 = DATA + 0x6000;
    const frame2 = DATA + 0x2000; // not adjacent, and below the first
    pt.map(FIRST, frame1);
    pt.map(SECOND, frame2);
    enablePaging(mmu, pt);
    wr32(mmu, FIRST + 0xffen, 0xaabbccdd | 0);
    expectNoFault(mmu);
    expect([ram.u8[frame1 + 0xffe], ram.u8[frame1 + 0xfff], ram.u8[frame2], ram.u8[frame2 + 1]]).toEqual([
      0xdd, 0xcc, 0xbb, 0xaa,
    ]);
    expect(ram.u8[frame1 + 0x1000]).toBe(0);
    expect(rd32(mmu, FIRST + 0xffen)).toBe(0xaabbccdd | 0);

    ram.u8.set([1, 2, 3, 4, 5], frame1 + 0xffb);
    ram.u8.set([6, 7, 8], frame2);
    const [lo, hi] = halves(FIRST + 0xffbn);
    expect(mmu.read64(lo, hi, SUPERVISOR_READ)).toBe(0x04030201);
    expect(mmu.high).toBe(0x08070605);
    const [lo16, hi16] = halves(FIRST + 0xfffn);
    expect(mmu.read16(lo16, hi16, USER_READ)).toBe(0x0605);
    mmu.write64(lo, hi, SUPERVISOR_WRITE, 0x44332211, 0x88776655 | 0);
    expect([...ram.u8.subarray(frame1 + 0xffb, frame1 + 0x1000), ...ram.u8.subarray(frame2, frame2 + 3)]).toEqual([
      0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    ]);
    expectNoFault(mmu);
  });

  it("4-level: an access crossing linear 4 GiB continues in the page at 0x1_0000_0000", () => {
    const { mmu, ram, pt } = machine("4level");
    pt.map(0xffff_f000, DATA + 0x1000);
    pt.map(0x1_0000_0000n, DATA + 0x4000);
    enablePaging(mmu, pt);
    wr32(mmu, 0xffff_fffe, 0x44332211);
    expectNoFault(mmu);
    expect([ram.u8[DATA + 0x1ffe], ram.u8[DATA + 0x1fff], ram.u8[DATA + 0x4000], ram.u8[DATA + 0x4001]]).toEqual([
      0x11, 0x22, 0x33, 0x44,
    ]);
    pt.modify(0x1_0000_0000n, "PT", 0n, P);
    mmu.invlpg(0, 1);
    expect(rd32(mmu, 0xffff_fffe)).toBe(0);
    expectFault(mmu, 0x1_0000_0000n, 0);
  });

  it("32-bit paging: a crossing read takes bytes from both frames", () => {
    const { mmu, ram, pt } = machine("32bit");
    pt.map(0x00400000, DATA + 0x3000);
    pt.map(0x00401000, DATA + 0x1000);
    enablePaging(mmu, pt);
    ram.u8.set([0xa1, 0xa2], DATA + 0x3ffe);
    ram.u8.set([0xb1, 0xb2], DATA + 0x1000);
    expect(rd32(mmu, 0x00400ffe)).toBe(0xb2b1a2a1 | 0);
    expectNoFault(mmu);
  });
});

// --- MMIO and open bus through the MMU -----------------------------------------------

describe("MMIO and unbacked memory through the MMU", () => {
  it("writes to a linear page mapped to the VGA text window land in the device, not in RAM", () => {
    // The standard machine maps the VGA text buffer at 0xB8000.
    const { mmu, bus, ram, pt, vga } = machine("4level");
    expect(bus.describe(VGA_TEXT_BASE)).toBe("MMIO vga-text (+0x0)");
    const va = 0xffff_8000_000b_8000n;
    pt.map(va, VGA_TEXT_BASE);
    enablePaging(mmu, pt);
    const [lo, hi] = halves(va);
    mmu.write8(lo, hi, SUPERVISOR_WRITE, 0x41);
    expect(vga.charAt(0, 0)).toBe(0x41);
    mmu.write16((lo + 2) | 0, hi, SUPERVISOR_WRITE, 0x1f42);
    mmu.write16((lo + 4) | 0, hi, SUPERVISOR_WRITE, 0x2f43); // again, after the TLB holds the page
    expectNoFault(mmu);
    expect([vga.charAt(0, 1), vga.attrAt(0, 1), vga.charAt(0, 2), vga.attrAt(0, 2)]).toEqual([0x42, 0x1f, 0x43, 0x2f]);
    expect(mmu.read16((lo + 2) | 0, hi, SUPERVISOR_READ)).toBe(0x1f42);
    expect(ram.u8[VGA_TEXT_BASE]).toBe(0);
    expect(ram.u8[VGA_TEXT_BASE + 2]).toBe(0);
    expect(bus.mmioWrites).toBe(3);
    expect(bus.mmioReads).toBe(1);
  });

  it("unbacked physical addresses read all ones through the MMU and count as open bus", () => {
    const { mmu, bus, pt } = machine("4level");
    pt.map(0x7000_0000, 0x1_0000_0000); // nothing above 64 MiB
    pt.map(0x7000_1000, 0xa0000); // the VGA window with no device
    enablePaging(mmu, pt);
    for (const va of [0x7000_0000, 0x7000_1000]) {
      const reads = bus.openBusReads;
      expect(rd32(mmu, va + 8)).toBe(-1);
      expect(mmu.read8(va + 1, 0, SUPERVISOR_READ)).toBe(0xff);
      expect(mmu.read16(va + 2, 0, SUPERVISOR_READ)).toBe(0xffff);
      expect(bus.openBusReads).toBe(reads + 3);
      const writes = bus.openBusWrites;
      wr32(mmu, va + 8, 0);
      expect(bus.openBusWrites).toBe(writes + 1);
      expect(rd32(mmu, va + 8)).toBe(-1);
    }
    expectNoFault(mmu);
  });
});

describe("page tables outside plain low RAM", () => {
  it("walks tables in RAM whose physical address differs from its RAM offset", () => {
    const ram = new GuestRam(16 * MIB);
    const bus = new PhysicalBus(ram, [{ base: 0x4000_0000, size: 16 * MIB, ramOffset: 0 }]);
    const mmu = new Mmu(bus, machineConfig({ ramBytes: 16 * MIB }));
    const pt = new PageTableBuilder(bus, "4level", 0x4010_0000);
    pt.map(0x0000_0012_0000_0000n, 0x4020_0000);
    enablePaging(mmu, pt);
    ram.write32(0x20_0010, 0x1234_5678);
    expect(rd32(mmu, 0x0000_0012_0000_0010n)).toBe(0x1234_5678);
    expectNoFault(mmu);
    // The root table is RAM offset 0x100000; its entry got A.
    const pml4Index = Number((0x0000_0012_0000_0000n >> 39n) & 511n);
    expect(ram.read32(0x10_0000 + pml4Index * 8) & 0x20).toBe(0x20);
  });

  it("a table in unbacked memory reads as all ones: a reserved-bit fault", () => {
    const { mmu, pt } = machine("4level");
    pt.map(0x0000_0012_0000_0000n, DATA);
    // Point the PDPTE at the empty VGA window: the PD "entries" read 0xFFFF_FFFF_FFFF_FFFF.
    const pdpte = pt.entryAddress(0x0000_0012_0000_0000n, "PDPT");
    pt.writeEntry(pdpte, 0xa0000n | P | RW | US);
    enablePaging(mmu, pt);
    expect(rd32(mmu, 0x0000_0012_0000_0000n)).toBe(0);
    expectFault(mmu, 0x0000_0012_0000_0000n, PF_P | PF_RSVD);
  });
});

// --- explainWalk --------------------------------------------------------------------

describe("explainWalk", () => {
  const VA = 0x0000_0040_0020_3000n;

  it("names the read-only PTE of a supervisor write with CR0.WP=1 in its summary", () => {
    const { mmu, pt } = machine("4level");
    const pteAddress = pt.map(VA, DATA, { flags: P | US });
    enablePaging(mmu, pt);
    const [lo, hi] = halves(VA + 0x10n);
    const e = mmu.explainWalk(lo, hi, SUPERVISOR_WRITE);
    const index = Number((VA >> 12n) & 511n);
    const entry = pt.readEntry(pteAddress);
    expect(e.summary).toBe(
      `#PF write at 0x${(VA + 0x10n).toString(16)} from CPL0: PTE (PT[${index}] at 0x${pteAddress.toString(16)}) = 0x${entry.toString(16)} is read-only (R/W=0) and CR0.WP=1`,
    );
    expect(e.ok).toBe(false);
    expect(e.errorCode).toBe(PF_P | PF_W);
    // The same access really faults with that code.
    mmu.write8(lo, hi, SUPERVISOR_WRITE, 1);
    expectFault(mmu, VA + 0x10n, PF_P | PF_W);
  });

  it("lists every entry of the walk with its table address, index and flags", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA, { flags: P | US });
    enablePaging(mmu, pt);
    const [lo, hi] = halves(VA);
    const e = mmu.explainWalk(lo, hi, SUPERVISOR_READ);
    expect(e.ok).toBe(true);
    expect(e.physicalAddress).toBe(DATA);
    expect(e.pageSize).toBe(4096);
    expect(e.levels.map((l) => l.table)).toEqual(["PML4", "PDPT", "PD", "PT"]);
    const shifts = [39n, 30n, 21n, 12n];
    e.levels.forEach((l, i) => {
      const name = TABLES["4level"][i];
      const index = Number((VA >> shifts[i]) & 511n);
      const address = pt.entryAddress(VA, name);
      expect(l.index, name).toBe(index);
      expect(l.entryAddress, name).toBe(address);
      expect(l.tableAddress, name).toBe(address - index * 8);
      expect(l.entry, name).toBe(pt.readEntry(address).toString(16).padStart(16, "0"));
      expect(l.flags, name).toContain("P");
      expect(l.flags, name).toContain("US");
      expect(l.flags, name).toContain(name === "PT" ? "RO" : "RW");
      expect(l.flags, name).not.toContain("A");
    });
    expect(e.levels[0].tableAddress).toBe(pt.root);
  });

  it("names the level that was not present", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA);
    const pdeAddress = pt.modify(VA, "PD", 0n, P);
    enablePaging(mmu, pt);
    const [lo, hi] = halves(VA);
    const e = mmu.explainWalk(lo, hi, SUPERVISOR_WRITE);
    expect(e.ok).toBe(false);
    expect(e.errorCode).toBe(PF_W);
    expect(e.levels.map((l) => l.table)).toEqual(["PML4", "PDPT", "PD"]);
    const last = e.levels[2];
    expect(last.checks.find((c) => c.check === "present")?.passed).toBe(false);
    const pdIndex = Number((VA >> 21n) & 511n);
    expect(e.summary).toContain(`PDE (PD[${pdIndex}] at 0x${pdeAddress.toString(16)})`);
    expect(e.summary).toContain("not present");
  });

  it("has no side effects: no A flags, no TLB fill, no change in statistics", () => {
    const { mmu, pt } = machine("4level");
    pt.map(VA, DATA);
    const at = entryAddresses(pt, VA);
    enablePaging(mmu, pt);
    const before = mmu.stats();
    const [lo, hi] = halves(VA);
    for (const cls of [SUPERVISOR_READ, SUPERVISOR_WRITE, USER_FETCH]) mmu.explainWalk(lo, hi, cls);
    mmu.explainWalk(0, 0x1234, SUPERVISOR_READ); // an unmapped one too
    expect(mmu.stats()).toEqual(before);
    expect(mmu.liveEntries()).toEqual({ itlb: 0, dtlb: 0 });
    expect(mmu.cachedTranslation(lo, hi)).toBeNull();
    expect(mmu.faultPending).toBe(false);
    for (const name of TABLES["4level"]) expect(flag(pt, at[name], A), name).toBe(false);
  });
});
