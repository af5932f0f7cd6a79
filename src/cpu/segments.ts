// Segment descriptors: reading them from the GDT or LDT (implicit supervisor
// accesses through the MMU), decoding base/limit/attributes, and loading the
// data segment registers with the checks of SDM Vol. 3A 5.5-5.8 and Vol. 2
// "MOV—Move" (segment registers).

import type { Cpu } from "./cpu.ts";
import { ATTR_DB, ATTR_P, ATTR_S, ATTR_UNUSABLE, CS, GP, LDTR, NP, SS, SS_VECTOR } from "./cpu.ts";

/** The descriptor last read: words 0-1 (and 2-3 for 16-byte system descriptors in IA-32e mode). */
export const desc = new Int32Array(4);
/** Linear address of the descriptor last read (for setting the accessed or busy bit). */
let descAddrLo = 0;
let descAddrHi = 0;
const stash = new Int32Array(6);

/** Saves the descriptor last read (and its address) while another one is read. */
export function stashDescriptor(): void {
  stash.set(desc);
  stash[4] = descAddrLo;
  stash[5] = descAddrHi;
}

/** Brings back the descriptor saved by stashDescriptor. */
export function unstashDescriptor(): void {
  desc.set(stash.subarray(0, 4));
  descAddrLo = stash[4];
  descAddrHi = stash[5];
}

/** Attribute word (cpu.ts ATTR_*) of a descriptor's high dword. */
export function attrOf(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}

export function baseOf(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}

/** Segment limit in bytes - 1, scaled by G (SDM 3.4.5). */
export function limitOf(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) !== 0 ? ((raw << 12) | 0xfff) | 0 : raw;
}

/**
 * Reads the descriptor `selector` names into `desc` (16 bytes when `wide`).
 * Raises `vector`(selector & ~3) when it lies outside the GDT/LDT limit
 * (SDM 5.4, 6.4.1).
 */
export function readDescriptor(cpu: Cpu, selector: number, vector: number, wide: boolean): void {
  const index = selector & 0xfff8;
  let baseLo: number;
  let baseHi: number;
  let limit: number;
  if ((selector & 4) !== 0) {
    if ((cpu.segAttr[LDTR] & ATTR_UNUSABLE) !== 0 || cpu.segSelector[LDTR] === 0) cpu.raise(vector, selector & 0xfffc);
    baseLo = cpu.segBaseLo[LDTR];
    baseHi = cpu.segBaseHi[LDTR];
    limit = cpu.segLimit[LDTR] >>> 0;
  } else {
    baseLo = cpu.gdtBaseLo;
    baseHi = cpu.gdtBaseHi;
    limit = cpu.gdtLimit;
  }
  if (index + (wide ? 15 : 7) > limit) cpu.raise(vector, selector & 0xfffc);
  const t = (baseLo >>> 0) + index;
  const lo = t | 0;
  const hi = (cpu.mmu.efer & 0x400) !== 0 ? (baseHi + (t > 0xffffffff ? 1 : 0)) | 0 : 0; // EFER.LMA: 64-bit table bases
  descAddrLo = lo;
  descAddrHi = hi;
  desc[0] = cpu.readSystem32(lo, hi);
  desc[1] = cpu.readSystem32((lo + 4) | 0, hi);
  if (wide) {
    desc[2] = cpu.readSystem32((lo + 8) | 0, hi);
    desc[3] = cpu.readSystem32((lo + 12) | 0, hi);
  } else {
    desc[2] = 0;
    desc[3] = 0;
  }
}

/** Sets the accessed bit (type bit 0) of the descriptor last read, if it is clear (SDM 3.4.5.1). */
export function markAccessed(cpu: Cpu): void {
  if ((desc[1] & 0x100) !== 0) return;
  desc[1] |= 0x100;
  cpu.writeSystem8((descAddrLo + 5) | 0, descAddrHi, (desc[1] >>> 8) & 0xff);
}

/** Sets the busy bit of the TSS descriptor last read (LTR, task switches). */
export function markBusy(cpu: Cpu): void {
  desc[1] |= 0x200;
  cpu.writeSystem8((descAddrLo + 5) | 0, descAddrHi, (desc[1] >>> 8) & 0xff);
}

/** Loads a segment register's cache from the descriptor in `desc`. */
export function loadFromDescriptor(cpu: Cpu, seg: number, selector: number): void {
  const lo = desc[0];
  const hi = desc[1];
  cpu.setSegment(seg, selector, baseOf(lo, hi), 0, limitOf(lo, hi), attrOf(hi));
}

/** A null selector in a data segment register: usable no more (SDM 3.4.4); base and limit are cleared as Intel CPUs do. */
export function loadNull(cpu: Cpu, seg: number, selector: number): void {
  cpu.setSegment(seg, selector, 0, 0, 0, ATTR_UNUSABLE | (seg === SS ? (cpu.cpl << 5) | ATTR_DB | 0x13 : 0));
}

/**
 * MOV/POP to DS, ES, FS, GS or SS in protected mode (SDM Vol. 2 MOV, the
 * segment-register rules). Updates the mode after SS changes.
 */
export function loadDataSegment(cpu: Cpu, seg: number, selector: number): void {
  const rpl = selector & 3;
  const cpl = cpu.cpl;
  if ((selector & 0xfffc) === 0) {
    if (seg === SS) {
      // A null SS is allowed only in 64-bit mode at CPL < 3 with RPL = CPL.
      if (!cpu.long64 || cpl === 3 || rpl !== cpl) cpu.raise(GP, 0);
    }
    loadNull(cpu, seg, selector);
    if (seg === SS) cpu.updateMode();
    return;
  }
  readDescriptor(cpu, selector, GP, false);
  const hi = desc[1];
  const attr = attrOf(hi);
  const dpl = (attr >> 5) & 3;
  const type = attr & 0xf;
  const isCode = (type & 8) !== 0;
  if ((attr & ATTR_S) === 0) cpu.raise(GP, selector & 0xfffc);
  if (seg === SS) {
    // Writable data with RPL = DPL = CPL.
    if (isCode || (type & 2) === 0 || rpl !== cpl || dpl !== cpl) cpu.raise(GP, selector & 0xfffc);
    if ((attr & ATTR_P) === 0) cpu.raise(SS_VECTOR, selector & 0xfffc);
  } else {
    // Data or readable code; unless conforming code, DPL >= max(CPL, RPL).
    if (isCode && (type & 2) === 0) cpu.raise(GP, selector & 0xfffc);
    const conforming = isCode && (type & 4) !== 0;
    if (!conforming && (rpl > dpl || cpl > dpl)) cpu.raise(GP, selector & 0xfffc);
    if ((attr & ATTR_P) === 0) cpu.raise(NP, selector & 0xfffc);
  }
  markAccessed(cpu);
  // In 64-bit mode FS and GS keep only the low 32 bits of base from the descriptor.
  loadFromDescriptor(cpu, seg, selector);
  if (seg === SS) cpu.updateMode();
}

/** Checks a code-segment descriptor in `desc` as a far JMP/CALL/RET/IRET target; raises #GP/#NP. */
export function checkCodeDescriptor(cpu: Cpu, selector: number, targetCpl: number, conformingOk: boolean): void {
  const attr = attrOf(desc[1]);
  if ((attr & ATTR_S) === 0 || (attr & 8) === 0) cpu.raise(GP, selector & 0xfffc);
  const dpl = (attr >> 5) & 3;
  const conforming = (attr & 4) !== 0;
  if (conforming) {
    if (!conformingOk || dpl > targetCpl) cpu.raise(GP, selector & 0xfffc);
  } else if (dpl !== targetCpl) cpu.raise(GP, selector & 0xfffc);
  if ((attr & ATTR_P) === 0) cpu.raise(NP, selector & 0xfffc);
  // A 64-bit code segment must not also have D set (SDM 5.2.1).
  if ((attr & 0x2000) !== 0 && (attr & ATTR_DB) !== 0 && cpu.long64) cpu.raise(GP, selector & 0xfffc);
}

/** Loads CS from `desc` with the given CPL (RPL of the selector becomes CPL). */
export function loadCode(cpu: Cpu, selector: number, cpl: number): void {
  markAccessed(cpu);
  loadFromDescriptor(cpu, CS, (selector & 0xfffc) | cpl);
  cpu.cpl = cpl;
  cpu.updateMode();
}
