// The permission decision table, written from the Intel SDM Vol. 3A chapter 4
// and not from the implementation: `expectedErrorCode` below is an
// independent oracle for
//   SDM 4.6.1  determination of access rights (U/S, R/W, XD, CR0.WP, SMEP, SMAP)
//   SDM 4.6.2  protection keys (CR4.PKE, PKRU)
//   SDM 4.5.4  XD is a reserved bit when IA32_EFER.NXE = 0 (PAE: SDM 4.4.2)
//   SDM 4.7    the page-fault error code (P, W/R, U/S, RSVD, I/D, PK)
//   SDM 4.8    accessed and dirty flags
// Every generated case takes a fresh MMU and fresh page tables, maps one page
// with the chosen flags, sets the control registers, makes one access and
// compares the outcome (value or #PF error code, CR2, A/D flags) with the
// oracle; then repeats it after another allowed access has cached the
// translation in the TLB.

import { describe, expect, it } from "vitest";
import { createMachineMemory } from "../src/machine/memory.ts";
import { Mmu } from "../src/mmu/mmu.ts";
import { PageTableBuilder, P, RW, US, A, D, XD, KIB4, MIB2, MIB4, GIB1, halves } from "./helpers/page-tables.ts";
import type { PagingKind } from "./helpers/page-tables.ts";
import {
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_PSE,
  CR4_PAE,
  CR4_SMEP,
  CR4_SMAP,
  CR4_PKE,
  EFER_LME,
  EFER_NXE,
} from "../src/mmu/paging-mode.ts";
import {
  accessClass,
  KIND_READ,
  KIND_WRITE,
  KIND_FETCH,
  PRIV_USER,
  PRIV_SUPERVISOR,
  PRIV_SUPERVISOR_AC,
  PF_P,
  PF_W,
  PF_U,
  PF_RSVD,
  PF_I,
  PF_PK,
} from "../src/mmu/access.ts";

type Mode = Exclude<PagingKind, "5level">;
type XdAt = "none" | "leaf" | "parent";

interface Case {
  mode: Mode;
  leafRW: boolean;
  leafUS: boolean;
  /** The one non-leaf level whose R/W, U/S (and XD) are varied; the others are P|RW|US. */
  parentLevel: "PML4" | "PDPT" | "PD" | "none";
  /** Page size: 4 KiB, or a large page (2 MiB / 1 GiB / 4 MiB) whose leaf is a PDE or PDPTE. */
  size: number;
  parentRW: boolean;
  parentUS: boolean;
  xd: XdAt;
  wp: boolean;
  nxe: boolean;
  smep: boolean;
  smap: boolean;
  pke: boolean;
  pkey: number;
  pkru: number;
  priv: number;
  kind: number;
}

const RAM_BYTES = 2 * 1024 * 1024;
const DATA_PA = 0x40000; // conventional memory, below the VGA window
const PATTERN = 0x1234abcd;
const WRITTEN = 0x5eedf00d;
const VA_4K: Record<Mode, bigint> = {
  "32bit": 0x4c637000n,
  pae: 0x4c637000n,
  "4level": 0x00005a5a4c637000n,
};
const LEAF_TABLE: Record<number, string> = { [KIB4]: "PT", [MIB2]: "PD", [MIB4]: "PD", [GIB1]: "PDPT" };

/** The page's base: VA_4K rounded down to the page size. */
function pageBase(c: Case): bigint {
  return VA_4K[c.mode] & ~BigInt(c.size - 1);
}
/** Large pages map physical 0 and are accessed at offset DATA_PA, so the data is at DATA_PA either way. */
function accessAddress(c: Case): bigint {
  return c.size === KIB4 ? pageBase(c) : pageBase(c) + BigInt(DATA_PA);
}
/**
 * The non-leaf entries of the walk, which carry an accessed flag. PAE PDPTEs
 * are loaded with CR3 and have no A flag (SDM 4.4.1, Table 4-8).
 */
function upperTables(c: Case, pt: PageTableBuilder): string[] {
  const names = pt.levels().map((l) => l.name);
  return names.slice(0, names.indexOf(LEAF_TABLE[c.size]!)).filter((n) => !(c.mode === "pae" && n === "PDPT"));
}

// ---------------------------------------------------------------------------
// The oracle.

/**
 * The #PF error code the SDM requires for this access, or 0 if it succeeds.
 * With a single leaf and one varied parent, "R/W = 1 in every paging-structure
 * entry" is leafRW && parentRW, "user-mode address" (U/S = 1 at every level)
 * is leafUS && parentUS, and "XD = 1 in some entry" is xd !== "none".
 */
function expectedErrorCode(c: Case): number {
  const user = c.priv === PRIV_USER;
  const write = c.kind === KIND_WRITE;
  const fetch = c.kind === KIND_FETCH;
  const pae = c.mode !== "32bit"; // CR4.PAE
  const xd = c.xd !== "none";

  // SDM 4.7: W/R and U/S describe the access, not the page. I/D is 1 for a
  // fetch when CR4.SMEP = 1, or when CR4.PAE = 1 and IA32_EFER.NXE = 1.
  const describeAccess = (write ? PF_W : 0) | (user ? PF_U : 0) | (fetch && (c.smep || (pae && c.nxe)) ? PF_I : 0);

  // SDM 4.5.4 (and 4.4.2 for PAE): with NXE = 0, bit 63 is reserved in every
  // entry; the walk fails with RSVD = 1 (and P = 1: SDM 4.7, reserved bits are
  // only checked in present entries), whatever the access rights say.
  if (xd && !c.nxe) return PF_P | PF_RSVD | describeAccess;

  const userAddress = c.leafUS && c.parentUS; // SDM 4.6.1: U/S = 1 at every level
  const writable = c.leafRW && c.parentRW; // SDM 4.6.1: R/W = 1 at every level
  const executeDisabled = pae && c.nxe && xd; // 32-bit paging has no XD (SDM 4.6.1)
  // SMAP is suspended by EFLAGS.AC = 1 for explicit data accesses only (SDM 4.6.1);
  // PRIV_SUPERVISOR stands for AC = 0 or an implicit access.
  const smapBlocks = c.smap && userAddress && c.priv === PRIV_SUPERVISOR;

  let allowed: boolean;
  if (user) {
    // SDM 4.6.1, user-mode accesses: never to a supervisor-mode address.
    if (!userAddress) allowed = false;
    else if (fetch) allowed = !executeDisabled;
    else if (write) allowed = writable;
    else allowed = true;
  } else if (fetch) {
    // SDM 4.6.1, supervisor fetches: SMEP forbids user-mode addresses; XD
    // applies at every privilege. EFLAGS.AC plays no part in fetches.
    allowed = !(c.smep && userAddress) && !executeDisabled;
  } else if (write) {
    // SDM 4.6.1, supervisor writes: R/W matters only when CR0.WP = 1.
    allowed = !smapBlocks && (writable || !c.wp);
  } else {
    allowed = !smapBlocks;
  }

  // SDM 4.6.2: with 4-level paging and CR4.PKE = 1, data accesses to user-mode
  // addresses with key i are checked against PKRU: AD_i = 1 forbids every data
  // access; WD_i = 1 forbids user writes, and supervisor writes when CR0.WP = 1.
  // Supervisor-mode addresses and instruction fetches are not subject to keys.
  let pkViolation = false;
  if (c.mode === "4level" && c.pke && userAddress && !fetch) {
    const ad = (c.pkru >>> (2 * c.pkey)) & 1;
    const wd = (c.pkru >>> (2 * c.pkey + 1)) & 1;
    pkViolation = ad === 1 || (wd === 1 && write && (user || c.wp));
  }
  if (pkViolation) allowed = false;
  if (allowed) return 0;

  // SDM 4.7: P = 1 for a protection violation; PK = 1 whenever conditions
  // (1)-(4) of the PK flag hold, i.e. whenever the access violates the key,
  // even if the ordinary rights also deny it.
  return PF_P | describeAccess | (pkViolation ? PF_PK : 0);
}

// ---------------------------------------------------------------------------
// Running one case on a fresh machine.

// Building the physical bus dominates the cost of a machine, so cases share
// one RAM and bus, but each gets a new MMU (empty TLBs, reset registers) and a
// new set of zeroed page tables, which is all the state a case can leave.
const shared = createMachineMemory({ ramBytes: RAM_BYTES });
function freshMachine(): { mmu: Mmu; bus: typeof shared.bus } {
  return { mmu: new Mmu(shared.bus, shared.config), bus: shared.bus };
}

interface Outcome {
  faulted: boolean;
  errorCode: number;
  cr2: bigint;
  value: number;
  memory: number;
  leafBefore: bigint;
  leafAfter: bigint;
  upperAfter: Record<string, bigint>;
}

/** Makes the access `c`; with `warm`, first makes that (allowed) access so `c` meets a cached translation. */
function run(c: Case, warm?: Case): Outcome {
  const { mmu, bus } = freshMachine();
  const pt = new PageTableBuilder(bus, c.mode);
  const va = pageBase(c);

  const parentFlags = P | (c.parentRW ? RW : 0n) | (c.parentUS ? US : 0n) | (c.xd === "parent" ? XD : 0n);
  const leafAddress = pt.map(va, c.size === KIB4 ? DATA_PA : 0, {
    size: c.size,
    flags: P | (c.leafRW ? RW : 0n) | (c.leafUS ? US : 0n),
    xd: c.xd === "leaf",
    pkey: c.pkey,
    parentFlags: P | RW | US,
    parents: c.parentLevel === "none" ? {} : { [c.parentLevel]: parentFlags },
  });
  bus.write32(DATA_PA, PATTERN);

  // CR4.PSE enables 4-MiB pages under 32-bit paging (SDM 4.3); PAE modes ignore it.
  const cr4 =
    (c.mode === "32bit" && c.size === MIB4 ? CR4_PSE : 0) |
    (c.smep ? CR4_SMEP : 0) |
    (c.smap ? CR4_SMAP : 0) |
    (c.pke ? CR4_PKE : 0);
  const nxe = c.nxe ? EFER_NXE : 0;
  if (c.mode === "4level") {
    mmu.setEfer(EFER_LME | nxe);
    expect(mmu.setCr4(CR4_PAE | cr4)).toBe(true);
  } else {
    mmu.setEfer(nxe);
    expect(mmu.setCr4((c.mode === "pae" ? CR4_PAE : 0) | cr4)).toBe(true);
  }
  expect(mmu.setCr3(pt.cr3, 0)).toBe(true);
  expect(mmu.setCr0(CR0_PE | CR0_PG | (c.wp ? CR0_WP : 0))).toBe(true);
  mmu.setPkru(c.pkru);
  expect(mmu.faultPending).toBe(false);

  const [lo, hi] = halves(accessAddress(c));
  const access = (kind: number, priv: number): number => {
    const cls = accessClass(kind, priv);
    if (kind === KIND_READ) return mmu.read32(lo, hi, cls) >>> 0;
    if (kind === KIND_FETCH) return mmu.fetch8(lo, hi, cls);
    mmu.write32(lo, hi, cls, WRITTEN);
    return 0;
  };
  if (warm) {
    access(warm.kind, warm.priv);
    expect(mmu.faultPending, `warm-up ${PRIV_NAMES[warm.priv]} ${KIND_NAMES[warm.kind]} should succeed`).toBe(false);
    bus.write32(DATA_PA, PATTERN);
  }
  const leafBefore = pt.readEntry(leafAddress);
  const value = access(c.kind, c.priv);

  const upperAfter: Record<string, bigint> = {};
  for (const name of upperTables(c, pt)) upperAfter[name] = pt.readEntry(pt.entryAddress(va, name));
  return {
    faulted: mmu.faultPending,
    errorCode: mmu.faultErrorCode,
    cr2: (BigInt(mmu.faultAddressHi >>> 0) << 32n) | BigInt(mmu.faultAddressLo >>> 0),
    value,
    memory: bus.read32(DATA_PA) >>> 0,
    leafBefore,
    leafAfter: pt.readEntry(leafAddress),
    upperAfter,
  };
}

/**
 * A different access to the same page that the oracle allows, to warm the TLB
 * before the access under test: of the same kind group (fetch → ITLB, data →
 * DTLB), a read rather than a write. None when nothing else is allowed.
 */
function warmUpFor(c: Case): Case | undefined {
  const kinds = c.kind === KIND_FETCH ? [KIND_FETCH] : [KIND_READ, KIND_WRITE];
  for (const kind of kinds)
    for (const priv of PRIVS) {
      const w = { ...c, kind, priv };
      if ((kind !== c.kind || priv !== c.priv) && expectedErrorCode(w) === 0) return w;
    }
  return undefined;
}

function check(c: Case): void {
  // Cold: the access walks the tables. Warm: the translation is already in
  // the TLB from another allowed access, and the cached rights must give the
  // same answer (SDM 4.10.2.2: a TLB entry holds the page's combined rights).
  checkOutcome(c, run(c), false);
  const warm = warmUpFor(c);
  if (warm) checkOutcome(c, run(c, warm), warm.kind === KIND_WRITE);
}

function checkOutcome(c: Case, o: Outcome, warmWrote: boolean): void {
  const expected = expectedErrorCode(c);
  if (expected === 0) {
    expect(o.faulted, "access should succeed").toBe(false);
    if (c.kind === KIND_READ) expect(o.value).toBe(PATTERN);
    if (c.kind === KIND_FETCH) expect(o.value).toBe(PATTERN & 0xff);
    expect(o.memory).toBe(c.kind === KIND_WRITE ? WRITTEN : PATTERN);
    // SDM 4.8: A is set in every entry used; D in the leaf on a write only.
    expect(o.leafAfter & A, "leaf A").toBe(A);
    expect(o.leafAfter & D, "leaf D").toBe(c.kind === KIND_WRITE || warmWrote ? D : 0n);
    for (const [name, entry] of Object.entries(o.upperAfter)) expect(entry & A, `${name} A`).toBe(A);
    return;
  }
  expect(o.faulted, "access should fault").toBe(true);
  expect("0x" + o.errorCode.toString(16), "#PF error code").toBe("0x" + expected.toString(16));
  expect(o.cr2, "CR2").toBe(accessAddress(c));
  expect(o.memory, "memory unchanged").toBe(PATTERN);
  // No translation, so the leaf is not marked accessed or dirty (SDM 4.8);
  // after a warm-up, it keeps the flags that access set.
  expect(o.leafAfter, "leaf A/D unchanged").toBe(o.leafBefore);
  if ((expected & PF_RSVD) === 0) {
    // A rights fault happens after the walk: the non-leaf entries were used
    // and have A set (SDM 4.8).
    for (const [name, entry] of Object.entries(o.upperAfter)) expect(entry & A, `${name} A`).toBe(A);
  }
}

// ---------------------------------------------------------------------------
// Names and generation.

const BOOLS = [false, true] as const;
const PRIVS = [PRIV_USER, PRIV_SUPERVISOR, PRIV_SUPERVISOR_AC] as const;
const KINDS = [KIND_READ, KIND_WRITE, KIND_FETCH] as const;
const PRIV_NAMES = ["user", "sup-AC0", "sup-AC1"];
const KIND_NAMES = ["read", "write", "fetch"];
const bit = (b: boolean): string => (b ? "1" : "0");
const rights = (rw: boolean, us: boolean): string => `${rw ? "RW" : "RO"}/${us ? "U" : "S"}`;
const result = (code: number): string => (code === 0 ? "ok" : `#PF 0x${code.toString(16)}`);

function name(c: Case): string {
  const parts = [
    c.mode,
    `leaf=${rights(c.leafRW, c.leafUS)}`,
  ];
  if (c.size !== KIB4) parts.push(`page=${c.size >= GIB1 ? c.size / GIB1 + "G" : c.size / 0x100000 + "M"}`);
  if (c.parentLevel !== "none") parts.push(`${c.parentLevel}=${rights(c.parentRW, c.parentUS)}`);
  if (c.mode !== "32bit") parts.push(`XD@${c.xd}`);
  parts.push(`WP=${bit(c.wp)}`, `NXE=${bit(c.nxe)}`, `SMEP=${bit(c.smep)}`, `SMAP=${bit(c.smap)}`);
  if (c.pke) parts.push(`PKE=1 key=${c.pkey} PKRU=0x${c.pkru.toString(16)}`);
  parts.push(`${PRIV_NAMES[c.priv]} ${KIND_NAMES[c.kind]}`, "→", result(expectedErrorCode(c)));
  return parts.join(" ");
}

function* rightsTable(mode: Mode, parentLevel: "PML4" | "PD", xds: readonly XdAt[]): Generator<Case> {
  for (const leafRW of BOOLS)
    for (const leafUS of BOOLS)
      for (const parentRW of BOOLS)
        for (const parentUS of BOOLS)
          for (const xd of xds)
            for (const wp of BOOLS)
              for (const nxe of BOOLS)
                for (const smep of BOOLS)
                  for (const smap of BOOLS)
                    for (const priv of PRIVS)
                      for (const kind of KINDS)
                        yield {
                          mode, leafRW, leafUS, parentLevel, parentRW, parentUS, xd, size: KIB4,
                          wp, nxe, smep, smap, pke: false, pkey: 0, pkru: 0, priv, kind,
                        };
}

/**
 * Large pages: the leaf is a PDE or PDPTE with PS = 1 and its own A/D flags.
 * NXE = 1 except for one XD-at-leaf variant with NXE = 0 (reserved bit).
 * Without a parent whose rights can vary (PAE 2 MiB: PDPTEs have none; 32-bit
 * 4 MiB: the PDE is the top), only the leaf varies.
 */
function* largePageTable(mode: Mode, size: number, parentLevel: Case["parentLevel"]): Generator<Case> {
  const parentChoices = parentLevel === "none" ? [true] : BOOLS;
  const xdNxe: [XdAt, boolean][] = mode === "32bit" ? [["none", true]] : [["none", true], ["leaf", true], ["leaf", false]];
  for (const leafRW of BOOLS)
    for (const leafUS of BOOLS)
      for (const parentRW of parentChoices)
        for (const parentUS of parentChoices)
          for (const [xd, nxe] of xdNxe)
            for (const wp of BOOLS)
              for (const smep of BOOLS)
                for (const smap of BOOLS)
                  for (const priv of PRIVS)
                    for (const kind of KINDS)
                      yield {
                        mode, leafRW, leafUS, parentLevel, parentRW, parentUS, xd, size,
                        wp, nxe, smep, smap, pke: false, pkey: 0, pkru: 0, priv, kind,
                      };
}

function generate(cases: Iterable<Case>): void {
  for (const c of cases) it(name(c), () => check(c));
}

// ---------------------------------------------------------------------------

describe("SDM 4.6.1 / 4.7: 4-level paging, rights varied at the PD entry", () => {
  generate(rightsTable("4level", "PD", ["none", "leaf", "parent"]));
});

describe("SDM 4.6.1 / 4.7: 4-level paging, rights varied at the PML4 entry", () => {
  generate(rightsTable("4level", "PML4", ["none", "leaf", "parent"]));
});

describe("SDM 4.6.1 / 4.7: PAE paging, rights varied at the PD entry", () => {
  // PAE PDPTEs have no R/W, U/S or XD (SDM 4.4.1), so the PDE is the parent.
  generate(rightsTable("pae", "PD", ["none", "leaf", "parent"]));
});

describe("SDM 4.6.1 / 4.7: 32-bit paging (no XD; NXE must not set I/D)", () => {
  generate(rightsTable("32bit", "PD", ["none"]));
});

describe("SDM 4.6.1 / 4.7: large pages (PS=1 leaves)", () => {
  generate(largePageTable("4level", MIB2, "PDPT"));
  generate(largePageTable("4level", GIB1, "PML4"));
  generate(largePageTable("pae", MIB2, "none"));
  generate(largePageTable("32bit", MIB4, "none"));
});

// SDM 4.6.2: protection keys. The key's AD/WD bits are set as chosen and every
// other key gets the opposite bits, so a wrongly indexed PKRU shows.
function pkru(key: number, ad: boolean, wd: boolean): number {
  let value = 0;
  for (let k = 0; k < 16; k++) {
    const a = k === key ? ad : !ad;
    const w = k === key ? wd : !wd;
    value |= (a ? 1 : 0) << (2 * k);
    value |= (w ? 1 : 0) << (2 * k + 1);
  }
  return value >>> 0;
}

function* keyTable(): Generator<Case> {
  for (const pke of BOOLS)
    for (const pkey of [0, 13])
      for (const ad of BOOLS)
        for (const wd of BOOLS)
          for (const leafRW of BOOLS)
            for (const leafUS of BOOLS)
              for (const wp of BOOLS)
                for (const smap of BOOLS)
                  for (const priv of PRIVS)
                    for (const kind of KINDS)
                      yield {
                        mode: "4level", leafRW, leafUS, parentLevel: "PD", parentRW: true, parentUS: true, size: KIB4,
                        xd: "none", wp, nxe: true, smep: false, smap, pke, pkey, pkru: pkru(pkey, ad, wd), priv, kind,
                      };
}

describe("SDM 4.6.2 / 4.7: protection keys under 4-level paging", () => {
  generate(keyTable());
});

// SDM 4.6.2: without IA-32e paging, linear addresses have no protection key,
// so CR4.PKE = 1 with every key disabled in PKRU changes nothing.
function* keysOutsideIa32e(): Generator<Case> {
  for (const mode of ["32bit", "pae"] as const)
    for (const leafRW of BOOLS)
      for (const leafUS of BOOLS)
        for (const wp of BOOLS)
          for (const priv of PRIVS)
            for (const kind of KINDS)
              yield {
                mode, leafRW, leafUS, parentLevel: "PD", parentRW: true, parentUS: true, xd: "none", size: KIB4,
                wp, nxe: true, smep: false, smap: false, pke: true, pkey: 0, pkru: 0xffffffff, priv, kind,
              };
}

describe("SDM 4.6.2: CR4.PKE has no effect under 32-bit and PAE paging", () => {
  generate(keysOutsideIa32e());
});

describe("SDM 4.6.2: WRPKRU takes effect for the next access", () => {
  const KEY = 3;
  const AD3 = 1 << (2 * KEY);
  const WD3 = 1 << (2 * KEY + 1);

  function setup(wp: boolean) {
    const { mmu, bus } = freshMachine();
    const pt = new PageTableBuilder(bus, "4level");
    const va = VA_4K["4level"];
    pt.map(va, DATA_PA, { flags: P | RW | US, pkey: KEY });
    bus.write32(DATA_PA, PATTERN);
    mmu.setEfer(EFER_LME | EFER_NXE);
    mmu.setCr4(CR4_PAE | CR4_PKE);
    mmu.setCr3(pt.cr3, 0);
    mmu.setCr0(CR0_PE | CR0_PG | (wp ? CR0_WP : 0));
    mmu.setPkru(0);
    const [lo, hi] = halves(va);
    /** Performs the access; returns the error code, or -1 if it succeeded. */
    const access = (kind: number, priv: number): number => {
      const cls = accessClass(kind, priv);
      if (kind === KIND_READ) mmu.read32(lo, hi, cls);
      else if (kind === KIND_WRITE) mmu.write32(lo, hi, cls, WRITTEN);
      else mmu.fetch8(lo, hi, cls);
      if (!mmu.faultPending) return -1;
      const code = mmu.faultErrorCode;
      mmu.clearFault();
      return code;
    };
    return { mmu, access };
  }

  it("AD set after the translation is cached faults the next read; cleared again, the read succeeds", () => {
    const { mmu, access } = setup(true);
    expect(access(KIND_READ, PRIV_USER)).toBe(-1); // fills the TLB
    expect(access(KIND_WRITE, PRIV_USER)).toBe(-1); // and sets D
    mmu.setPkru(AD3);
    expect(access(KIND_READ, PRIV_USER)).toBe(PF_P | PF_U | PF_PK);
    expect(access(KIND_READ, PRIV_SUPERVISOR)).toBe(PF_P | PF_PK);
    expect(access(KIND_WRITE, PRIV_SUPERVISOR_AC)).toBe(PF_P | PF_W | PF_PK);
    expect(access(KIND_FETCH, PRIV_USER)).toBe(-1); // fetches ignore keys
    mmu.setPkru(~(AD3 | WD3) >>> 0); // every other key disabled, key 3 open
    expect(access(KIND_READ, PRIV_USER)).toBe(-1);
    expect(access(KIND_WRITE, PRIV_USER)).toBe(-1);
  });

  it("WD set after a cached write faults user writes, and supervisor writes with CR0.WP=1", () => {
    const { mmu, access } = setup(true);
    expect(access(KIND_WRITE, PRIV_USER)).toBe(-1);
    mmu.setPkru(WD3);
    expect(access(KIND_READ, PRIV_USER)).toBe(-1);
    expect(access(KIND_WRITE, PRIV_USER)).toBe(PF_P | PF_W | PF_U | PF_PK);
    expect(access(KIND_WRITE, PRIV_SUPERVISOR)).toBe(PF_P | PF_W | PF_PK);
    mmu.setPkru(0);
    expect(access(KIND_WRITE, PRIV_USER)).toBe(-1);
  });

  it("WD with CR0.WP=0 faults user writes but not supervisor writes", () => {
    const { mmu, access } = setup(false);
    expect(access(KIND_WRITE, PRIV_SUPERVISOR)).toBe(-1);
    mmu.setPkru(WD3);
    expect(access(KIND_WRITE, PRIV_SUPERVISOR)).toBe(-1);
    expect(access(KIND_WRITE, PRIV_SUPERVISOR_AC)).toBe(-1);
    expect(access(KIND_WRITE, PRIV_USER)).toBe(PF_P | PF_W | PF_U | PF_PK);
  });
});

// SDM 4.10.2.2: a TLB entry caches the page's rights (R/W, U/S, XD, key), not
// the decision; CR0.WP, CR4.SMEP and CR4.SMAP in force at the access apply.
describe("SDM 4.6.1 / 4.10.2.2: CR0.WP, CR4.SMAP and CR4.SMEP changes apply to cached translations", () => {
  function setup() {
    const { mmu, bus } = freshMachine();
    const pt = new PageTableBuilder(bus, "4level");
    const va = VA_4K["4level"];
    pt.map(va, DATA_PA, { flags: P | US }); // a read-only user page
    bus.write32(DATA_PA, PATTERN);
    mmu.setEfer(EFER_LME | EFER_NXE);
    mmu.setCr4(CR4_PAE);
    mmu.setCr3(pt.cr3, 0);
    mmu.setCr0(CR0_PE | CR0_PG);
    const [lo, hi] = halves(va);
    const access = (kind: number, priv: number): number => {
      const cls = accessClass(kind, priv);
      if (kind === KIND_READ) mmu.read32(lo, hi, cls);
      else if (kind === KIND_WRITE) mmu.write32(lo, hi, cls, WRITTEN);
      else mmu.fetch8(lo, hi, cls);
      if (!mmu.faultPending) return -1;
      const code = mmu.faultErrorCode;
      mmu.clearFault();
      return code;
    };
    return { mmu, access };
  }

  it("CR0.WP 0 → 1 → 0 for a supervisor write to a read-only page", () => {
    const { mmu, access } = setup();
    expect(access(KIND_WRITE, PRIV_SUPERVISOR)).toBe(-1);
    mmu.setCr0(CR0_PE | CR0_PG | CR0_WP);
    expect(access(KIND_WRITE, PRIV_SUPERVISOR)).toBe(PF_P | PF_W);
    expect(access(KIND_READ, PRIV_SUPERVISOR)).toBe(-1);
    mmu.setCr0(CR0_PE | CR0_PG);
    expect(access(KIND_WRITE, PRIV_SUPERVISOR)).toBe(-1);
  });

  it("CR4.SMAP 0 → 1 → 0 for supervisor reads of a user page", () => {
    const { mmu, access } = setup();
    expect(access(KIND_READ, PRIV_SUPERVISOR)).toBe(-1);
    mmu.setCr4(CR4_PAE | CR4_SMAP);
    expect(access(KIND_READ, PRIV_SUPERVISOR)).toBe(PF_P);
    expect(access(KIND_READ, PRIV_SUPERVISOR_AC)).toBe(-1);
    expect(access(KIND_FETCH, PRIV_SUPERVISOR)).toBe(-1); // SMAP does not govern fetches
    mmu.setCr4(CR4_PAE);
    expect(access(KIND_READ, PRIV_SUPERVISOR)).toBe(-1);
  });

  it("CR4.SMEP 0 → 1 → 0 for supervisor fetches from a user page", () => {
    const { mmu, access } = setup();
    expect(access(KIND_FETCH, PRIV_SUPERVISOR)).toBe(-1);
    mmu.setCr4(CR4_PAE | CR4_SMEP);
    expect(access(KIND_FETCH, PRIV_SUPERVISOR)).toBe(PF_P | PF_I);
    expect(access(KIND_FETCH, PRIV_SUPERVISOR_AC)).toBe(PF_P | PF_I);
    expect(access(KIND_FETCH, PRIV_USER)).toBe(-1);
    expect(access(KIND_READ, PRIV_SUPERVISOR)).toBe(-1); // SMEP does not govern data
    mmu.setCr4(CR4_PAE);
    expect(access(KIND_FETCH, PRIV_SUPERVISOR)).toBe(-1);
  });
});
