// explainWalk: the walker's account of one translation, in words. It runs the
// same walk the MMU runs, without side effects (no A/D flags set, no TLB
// fill), and turns its trace into one row per entry read: where the table is,
// which index, the entry, its flags, each check made and the one that failed.
// It also compares the fresh walk with what the TLB holds, which is how a
// missing INVLPG shows itself.

import { CLASS_NAMES, KIND_FETCH, KIND_WRITE, PF_I, PF_P, PF_PK, PF_RSVD, PF_U, PF_W, PRIV_USER, kindOf, privilegeOf } from "./access.ts";
import type { Mmu } from "./mmu.ts";
import { MODE_32BIT, MODE_4LEVEL, MODE_NAMES, MODE_NONE, MODE_PAE } from "./paging-mode.ts";
import {
  DENIAL_TEXT,
  DENY_NOT_PRESENT,
  DENY_NO_EXECUTE,
  DENY_PK_ACCESS,
  DENY_PK_WRITE,
  DENY_READ_ONLY,
  DENY_RESERVED,
  DENY_SMAP,
  DENY_SMEP,
  DENY_SUPERVISOR_PAGE,
} from "./rights.ts";
import { ENTRY_NAMES, LEVEL_PDPT, LEVEL_PML4, LEVEL_PT, TABLE_NAMES } from "./walker.ts";

export interface WalkCheck {
  readonly check: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface WalkLevel {
  /** "PML4", "PDPT", "PD", "PT", or "PML5". */
  readonly table: string;
  /** "PML4E", "PDE", ... */
  readonly entryName: string;
  readonly index: number;
  readonly tableAddress: number;
  readonly entryAddress: number;
  /** The entry as hex: 16 digits for 64-bit entries, 8 for 32-bit paging. */
  readonly entry: string;
  readonly flags: readonly string[];
  /** PAE PDPTEs come from registers loaded at the last CR3 write, not from memory. */
  readonly fromRegister: boolean;
  readonly checks: WalkCheck[];
}

export interface TlbComparison {
  /** The TLB holds a translation for this page. */
  readonly cached: boolean;
  /** It differs from what the page tables say now. */
  readonly stale: boolean;
  readonly note: string;
}

export interface WalkExplanation {
  readonly linearAddress: string;
  readonly access: string;
  readonly mode: string;
  readonly levels: readonly WalkLevel[];
  readonly ok: boolean;
  /** On success: the physical address and the page size in bytes. */
  readonly physicalAddress: number | null;
  readonly pageSize: number | null;
  /** On failure: the #PF error code, its bits in words, and why. */
  readonly errorCode: number | null;
  readonly errorCodeText: string | null;
  readonly reason: string | null;
  /** One line, e.g. "#PF write at 0x40001000 from CPL0: PTE (PT[1] at 0x103008) = 0x5 is read-only (R/W=0) and CR0.WP=1". */
  readonly summary: string;
  readonly tlb: TlbComparison;
}

/** Explains the translation of hi:lo for access class `cls` by code at `cpl`. */
export function explainWalk(mmu: Mmu, lo: number, hi: number, cls: number, cpl?: number): WalkExplanation {
  const w = mmu.walker;
  const reads = w.memoryReads;
  const ok = w.walk(lo, hi, cls, false);
  w.memoryReads = reads;
  const is32 = w.mode === MODE_32BIT;
  const va = w.mode >= MODE_4LEVEL ? hexPair(hi, lo) : hex(lo >>> 0);
  const kind = kindOf(cls);
  const who = cpl !== undefined ? `CPL${cpl}` : privilegeOf(cls) === PRIV_USER ? "CPL3" : "CPL0";
  const accessWord = kind === KIND_WRITE ? "write" : kind === KIND_FETCH ? "instruction fetch" : "read";

  const levels: WalkLevel[] = [];
  for (let d = 0; d < w.depth; d++) {
    const level = w.traceLevel[d];
    const entryLo = w.traceLo[d];
    const entryHi = w.traceHi[d];
    const fromRegister = w.mode === MODE_PAE && level === LEVEL_PDPT;
    const isLast = d === w.depth - 1;
    const checks: WalkCheck[] = [];
    const present = (entryLo & 1) !== 0;
    checks.push({ check: "present", passed: present, detail: present ? "P=1" : "P=0: not present" });
    if (present && isLast && !ok && w.denial === DENY_RESERVED) {
      checks.push({ check: "reserved bits", passed: false, detail: reservedText(mmu, level, w.reservedLo, w.reservedHi) });
    } else if (present) {
      checks.push({ check: "reserved bits", passed: true, detail: "none set" });
    }
    const entryAddress = w.entryAddress(d);
    const width = is32 ? 4 : 8;
    levels.push({
      table: fromRegister ? "PDPTE register" : TABLE_NAMES[level],
      entryName: ENTRY_NAMES[level],
      index: w.traceIndex[d],
      tableAddress: entryAddress - w.traceIndex[d] * width,
      entryAddress,
      entry: is32 ? hex8(entryLo) : hex64(entryHi, entryLo),
      flags: decodeFlags(entryLo, entryHi, level, is32, isLast, fromRegister),
      fromRegister,
      checks,
    });
  }

  let reason: string | null = null;
  let culprit = w.depth - 1;
  if (!ok) {
    const found = culpritOf(mmu, w.denial, cls);
    culprit = found.level;
    reason = found.text;
    if (w.denial !== DENY_NOT_PRESENT && w.denial !== DENY_RESERVED && culprit >= 0) {
      const last = levels[levels.length - 1];
      last.checks.push({ check: "access rights", passed: false, detail: reason });
    }
  } else if (levels.length > 0) {
    levels[levels.length - 1].checks.push({
      check: "access rights",
      passed: true,
      detail: `${CLASS_NAMES[cls]} allowed`,
    });
  }

  const pageSize = ok ? 2 ** w.pageShift : null;
  const physicalAddress = ok ? w.frame + (lo & 0xfff) : null;
  let summary: string;
  if (ok) {
    summary =
      w.mode === MODE_NONE
        ? `${accessWord} at ${va} from ${who}: paging is off, physical address ${hex(physicalAddress!)}`
        : `${accessWord} at ${va} from ${who}: ${pageSizeText(pageSize!)} page, physical address ${hex(physicalAddress!)}`;
  } else {
    const row = levels[Math.max(culprit, 0)];
    const where = row.fromRegister
      ? `${row.entryName} register ${row.index}`
      : `${row.entryName} (${row.table}[${row.index}] at ${hex(row.entryAddress)})`;
    summary = `#PF ${accessWord} at ${va} from ${who}: ${where} = 0x${row.entry.replace(/^0+(?=.)/, "")} ${reason}`;
  }

  return {
    linearAddress: va,
    access: CLASS_NAMES[cls],
    mode: MODE_NAMES[w.mode],
    levels,
    ok,
    physicalAddress,
    pageSize,
    errorCode: ok ? null : w.errorCode,
    errorCodeText: ok ? null : errorCodeText(w.errorCode),
    reason,
    summary,
    tlb: compareWithTlb(mmu, lo, hi, cls, ok),
  };
}

/** The #PF error code bits in words, e.g. "P W U" → "present, write, user". */
export function errorCodeText(code: number): string {
  const parts = [
    code & PF_P ? "P=1 protection violation" : "P=0 not present",
    code & PF_W ? "W=1 write" : "W=0 read",
    code & PF_U ? "U=1 user-mode access" : "U=0 supervisor-mode access",
  ];
  if (code & PF_RSVD) parts.push("RSVD=1 reserved bit set");
  if (code & PF_I) parts.push("I=1 instruction fetch");
  if (code & PF_PK) parts.push("PK=1 protection key");
  return parts.join(", ");
}

function culpritOf(mmu: Mmu, denial: number, cls: number): { level: number; text: string } {
  const w = mmu.walker;
  const last = w.depth - 1;
  const firstWith = (test: (lo: number, hi: number) => boolean): number => {
    for (let d = 0; d < w.depth; d++) {
      if (w.mode === MODE_PAE && w.traceLevel[d] === LEVEL_PDPT) continue; // PDPTEs carry no rights
      if (test(w.traceLo[d], w.traceHi[d])) return d;
    }
    return last;
  };
  switch (denial) {
    case DENY_NOT_PRESENT:
      return { level: last, text: "is not present (P=0)" };
    case DENY_RESERVED:
      return { level: last, text: `sets reserved bits: ${reservedText(mmu, w.traceLevel[last], w.reservedLo, w.reservedHi)}` };
    case DENY_SUPERVISOR_PAGE:
      return { level: firstWith((lo) => (lo & 4) === 0), text: "is supervisor-only (U/S=0) and the access is from user mode" };
    case DENY_READ_ONLY:
      return {
        level: firstWith((lo) => (lo & 2) === 0),
        // SDM 4.6.1: CR0.WP matters only to supervisor writes.
        text: privilegeOf(cls) !== PRIV_USER ? "is read-only (R/W=0) and CR0.WP=1" : "is read-only (R/W=0)",
      };
    case DENY_NO_EXECUTE:
      return { level: firstWith((_lo, hi) => hi >>> 31 === 1), text: "has XD=1 (execute-disable) and EFER.NXE=1" };
    case DENY_SMEP:
      return { level: last, text: "maps a user page (U/S=1 at every level) and CR4.SMEP=1 forbids supervisor fetches from it" };
    case DENY_SMAP:
      return {
        level: last,
        text: "maps a user page (U/S=1 at every level) and CR4.SMAP=1 forbids supervisor data accesses to it unless EFLAGS.AC=1 (implicit accesses always)",
      };
    case DENY_PK_ACCESS:
      return { level: last, text: `has protection key ${w.protectionKey} and PKRU.AD${w.protectionKey}=1 forbids data accesses` };
    case DENY_PK_WRITE:
      return { level: last, text: `has protection key ${w.protectionKey} and PKRU.WD${w.protectionKey}=1 forbids writes` };
  }
  return { level: last, text: DENIAL_TEXT[denial] ?? "refused" };
}

function reservedText(mmu: Mmu, level: number, reservedLo: number, reservedHi: number): string {
  const w = mmu.walker;
  const parts: string[] = [];
  if ((reservedLo & 0x80) !== 0 && level <= LEVEL_PML4) parts.push(`bit 7 (PS must be 0 in a ${ENTRY_NAMES[level]})`);
  else if ((reservedLo & 0x80) !== 0) parts.push("bit 7 (PS=1 in a PDPTE, but 1 GiB pages are not offered)");
  const lowBits = reservedLo & ~0x80;
  if (lowBits !== 0) parts.push(`${bitList(lowBits, 0)} (low frame bits of a large page must be 0)`);
  if ((reservedHi & 0x80000000) !== 0 && !w.nxe) parts.push("bit 63 (XD with EFER.NXE=0)");
  const highBits = reservedHi & (w.nxe ? ~0 : 0x7fffffff);
  if (highBits !== 0) parts.push(`${bitList(highBits, 32)} (at or above MAXPHYADDR=${w.maxPhysAddrBits})`);
  return parts.join("; ") || "reserved bits";
}

function bitList(mask: number, base: number): string {
  const bits: number[] = [];
  for (let b = 31; b >= 0; b--) if (((mask >>> b) & 1) !== 0) bits.push(b + base);
  return bits.length === 1 ? `bit ${bits[0]}` : `bits ${bits.join(",")}`;
}

function decodeFlags(lo: number, hi: number, level: number, is32: boolean, leaf: boolean, pdpteRegister: boolean): string[] {
  // With P=0 the other bits are the operating system's (SDM 4.3, 4.4.2, 4.5.4).
  if ((lo & 1) === 0) return ["not present"];
  const flags: string[] = ["P"];
  if (pdpteRegister) {
    // SDM 4.4.1: a PAE PDPTE has no R/W, U/S, A or XD bits.
    if (lo & 8) flags.push("PWT");
    if (lo & 0x10) flags.push("PCD");
    return flags;
  }
  flags.push(lo & 2 ? "RW" : "RO");
  flags.push(lo & 4 ? "US" : "S");
  if (lo & 8) flags.push("PWT");
  if (lo & 0x10) flags.push("PCD");
  if (lo & 0x20) flags.push("A");
  if (leaf && lo & 0x40) flags.push("D");
  if (level !== LEVEL_PT && lo & 0x80) flags.push("PS");
  if (leaf && lo & 0x100) flags.push("G");
  if (!is32) {
    if (hi >>> 31) flags.push("XD");
    const key = (hi >>> 27) & 15;
    if (leaf && key !== 0) flags.push(`PK=${key}`);
  }
  return flags;
}

function compareWithTlb(mmu: Mmu, lo: number, hi: number, cls: number, ok: boolean): TlbComparison {
  const cached = mmu.cachedTranslation(lo, hi, kindOf(cls) === KIND_FETCH);
  if (cached === null) return { cached: false, stale: false, note: "the TLB holds no translation for this page" };
  const w = mmu.walker;
  const frameNow = ok ? w.frame : null;
  const allowedNow = ok ? w.allowed : 0;
  const servesIt = ((cached.allowed >>> cls) & 1) !== 0;
  if (ok && frameNow === cached.frame && allowedNow === cached.allowed) {
    return { cached: true, stale: false, note: "the TLB entry matches the page tables" };
  }
  const what = ok
    ? `the page tables now give frame ${hex(frameNow!)}, the TLB still has frame ${hex(cached.frame)}${allowedNow !== cached.allowed ? " with other rights" : ""}`
    : `the page tables now refuse this access, but the TLB still maps it to frame ${hex(cached.frame)}`;
  const effect = servesIt
    ? "accesses keep using the old translation until the guest runs INVLPG for this page (or reloads CR3 for a non-global page)"
    : "the old entry does not allow this access, so the processor walks again";
  return { cached: true, stale: true, note: `stale TLB entry: ${what}; ${effect}` };
}

function pageSizeText(bytes: number): string {
  if (bytes >= 1 << 30) return `${bytes / (1 << 30)} GiB`;
  if (bytes >= 1 << 20) return `${bytes / (1 << 20)} MiB`;
  return `${bytes / 1024} KiB`;
}

export function hex(n: number): string {
  return "0x" + n.toString(16);
}

function hex8(lo: number): string {
  return (lo >>> 0).toString(16).padStart(8, "0");
}

function hex64(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}

/** A 64-bit value given as halves, in hex without leading zeros. */
export function hexPair(hi: number, lo: number): string {
  return hi === 0 ? hex(lo >>> 0) : "0x" + (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, "0");
}
