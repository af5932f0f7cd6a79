// Delivering exceptions and interrupts through the IDT (SDM Vol. 3A 6.10-6.14):
// the gate checks, the privilege-changing stack switch through the TSS (RSP0-2,
// SS0:ESP0-2, IST1-7), the frame pushed, and the flags cleared. IA-32e mode
// uses 16-byte gates and 8-byte frame slots; 32-bit protected mode uses
// 8-byte gates and 4-byte (or 2-byte) slots. Task gates are not modelled.

import type { Cpu } from "./cpu.ts";
import { ATTR_DB, ATTR_L, ATTR_UNUSABLE, CS, GP, NP, SS, SS_VECTOR, TR, TS } from "./cpu.ts";
import { IF, NT, RF, TF, VM } from "./flags.ts";
import { attrOf, baseOf, desc, limitOf, markAccessed, readDescriptor, stashDescriptor, unstashDescriptor } from "./segments.ts";
import { EFER_LMA } from "../mmu/paging-mode.ts";

/** An exception raised by the processor (EXT=1 in error codes of faults during its delivery). */
export const INT_EXCEPTION = 0;
/** An interrupt from a device. */
export const INT_EXTERNAL = 1;
/** INT n, INT3, INTO: the gate's DPL must be >= CPL. */
export const INT_SOFTWARE = 2;
/** INT1 (ICEBP): a #DB without the DPL check. */
export const INT_ICEBP = 3;

/** Vectors whose exceptions push an error code (SDM Table 6-1). */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17 || vector === 21;
}

export function deliverException(cpu: Cpu, vector: number, errorCode: number): void {
  deliverInterrupt(cpu, vector, hasErrorCode(vector) ? (errorCode < 0 ? 0 : errorCode) : -1, INT_EXCEPTION);
}

// Scratch values for the frame being built (no allocation per delivery).
let newSpLo = 0;
let newSpHi = 0;

/**
 * Delivers `vector` with `errorCode` (-1: none). For exceptions RIP already
 * points at the faulting instruction (or past a trap); for software
 * interrupts it points past the INT instruction.
 */
export function deliverInterrupt(cpu: Cpu, vector: number, errorCode: number, kind: number): void {
  if (cpu.onInterrupt !== null) cpu.onInterrupt(vector, errorCode, kind === INT_SOFTWARE);
  // Any event delivered ends the halt state: the handler runs, and its IRET
  // returns past the HLT (SDM Vol. 2 HLT; e.g. the single-step #DB after it).
  cpu.halted = false;
  if ((cpu.mmu.efer & EFER_LMA) !== 0) deliverLong(cpu, vector, errorCode, kind);
  else deliverProtected(cpu, vector, errorCode, kind);
}

/**
 * EFLAGS as the frame saves it, with RF as SDM Vol. 3A 17.3.1.1 gives it:
 * 1 for a fault (every exception cr3 raises but the #DB single-step trap and
 * the #DF abort; instruction breakpoints, whose #DB would push 0, are not
 * modelled); 0 for INT n, INT3, INTO and INT1 (RF is cleared as they start);
 * otherwise EFLAGS.RF at that boundary (Cpu.rfIcount): 1 for an interrupt
 * between two iterations of a REP string instruction or right after an IRET
 * that loaded RF=1.
 */
function savedFlags(cpu: Cpu, vector: number, kind: number): number {
  const flags = cpu.getEflags() & ~RF;
  if (kind === INT_SOFTWARE || kind === INT_ICEBP) return flags;
  if (kind === INT_EXCEPTION && vector !== 1 && vector !== 8) return flags | RF;
  return cpu.icount === cpu.rfIcount ? flags | RF : flags;
}

/** The error code of a fault about the gate or the selector it names (SDM 6.13). */
function ext(kind: number): number {
  return kind === INT_SOFTWARE ? 0 : 1;
}

function deliverLong(cpu: Cpu, vector: number, errorCode: number, kind: number): void {
  const e = ext(kind);
  const gateError = vector * 8 + 2 + e;
  if (vector * 16 + 15 > cpu.idtLimit) cpu.raise(GP, gateError);
  const t = (cpu.idtBaseLo >>> 0) + vector * 16;
  const lo = t | 0;
  const hi = (cpu.idtBaseHi + (t > 0xffffffff ? 1 : 0)) | 0;
  const w0 = cpu.readSystem32(lo, hi);
  const w1 = cpu.readSystem32((lo + 4) | 0, hi);
  const w2 = cpu.readSystem32((lo + 8) | 0, hi);
  const type = (w1 >> 8) & 0x1f;
  // Only 64-bit interrupt (0xE) and trap (0xF) gates exist in IA-32e mode.
  if (type !== 0x0e && type !== 0x0f) cpu.raise(GP, gateError);
  const gateDpl = (w1 >> 13) & 3;
  if (kind === INT_SOFTWARE && gateDpl < cpu.cpl) cpu.raise(GP, vector * 8 + 2);
  if ((w1 & 0x8000) === 0) cpu.raise(NP, gateError);
  const selector = w0 >>> 16;
  const offsetLo = (w0 & 0xffff) | (w1 & 0xffff0000);
  const offsetHi = w2;
  const ist = w1 & 7;
  if ((selector & 0xfffc) === 0) cpu.raise(GP, e);
  readDescriptor(cpu, selector, GP, false);
  const attr = attrOf(desc[1]);
  const codeError = (selector & 0xfffc) + e;
  if ((attr & 0x18) !== 0x18) cpu.raise(GP, codeError); // must be code
  const dpl = (attr >> 5) & 3;
  if (dpl > cpu.cpl) cpu.raise(GP, codeError);
  if ((attr & 0x80) === 0) cpu.raise(NP, codeError);
  if ((attr & ATTR_L) === 0 || (attr & ATTR_DB) !== 0) cpu.raise(GP, codeError);
  const conforming = (attr & 4) !== 0;
  const newCpl = conforming ? cpu.cpl : dpl;
  const oldCpl = cpu.cpl;
  const regs = cpu.regs;
  const oldSpLo = regs[8];
  const oldSpHi = regs[9];
  const oldSs = cpu.segSelector[SS];
  if (newCpl < oldCpl || ist !== 0) {
    // The new stack comes from the 64-bit TSS: ISTn if the gate names one, else RSPn.
    const offset = ist !== 0 ? 0x24 + (ist - 1) * 8 : 4 + newCpl * 8;
    readTss64(cpu, offset);
  } else {
    newSpLo = oldSpLo;
    newSpHi = oldSpHi;
  }
  // The frame is 16-byte aligned (SDM 6.14.2).
  let spLo = newSpLo & ~15;
  let spHi = newSpHi;
  if (((spHi >> cpu.canonicalShift) + 1) >>> 1 !== 0) cpu.raise(SS_VECTOR, 0);
  const flags = savedFlags(cpu, vector, kind);
  // Stack writes are supervisor accesses when the handler runs at CPL < 3.
  const cls = newCpl === 3 ? 1 : 4;
  const mmu = cpu.mmu;
  const push = (vLo: number, vHi: number): void => {
    const t2 = (spLo >>> 0) - 8;
    spHi = t2 < 0 ? (spHi - 1) | 0 : spHi;
    spLo = t2 | 0;
    mmu.write64(spLo, spHi, cls, vLo, vHi);
    if (mmu.faultPending) cpu.pageFault();
  };
  push(oldSs, 0);
  push(oldSpLo, oldSpHi);
  push(flags, 0);
  push(cpu.segSelector[CS], 0);
  push(cpu.ripLo, cpu.long64 ? cpu.ripHi : 0);
  if (errorCode >= 0) push(errorCode, 0);
  // Commit: CS, RIP, RSP, SS, flags.
  markAccessed(cpu);
  cpu.setSegment(CS, (selector & 0xfffc) | newCpl, baseOf(desc[0], desc[1]), 0, limitOf(desc[0], desc[1]), attr);
  cpu.cpl = newCpl;
  if (newCpl !== oldCpl) {
    // SS becomes a null selector with RPL = new CPL (SDM 6.14.4).
    cpu.setSegment(SS, newCpl, 0, 0, 0, ATTR_UNUSABLE | ATTR_DB | 0x13 | (newCpl << 5));
  }
  regs[8] = spLo;
  regs[9] = spHi;
  cpu.ripLo = offsetLo;
  cpu.ripHi = offsetHi;
  finishDelivery(cpu, type);
}

function finishDelivery(cpu: Cpu, type: number): void {
  let f = cpu.eflags & ~(TF | NT | RF | VM);
  if ((type & 1) === 0) f &= ~IF; // interrupt gate
  cpu.eflags = f;
  cpu.updateMode();
}

/** Reads an 8-byte stack pointer at `offset` in the 64-bit TSS into newSp (#TS if outside TR's limit). */
function readTss64(cpu: Cpu, offset: number): void {
  if (offset + 7 > cpu.segLimit[TR] >>> 0 || (cpu.segAttr[TR] & ATTR_UNUSABLE) !== 0) cpu.raise(TS, cpu.segSelector[TR] & 0xfffc);
  const t = (cpu.segBaseLo[TR] >>> 0) + offset;
  const lo = t | 0;
  const hi = (cpu.segBaseHi[TR] + (t > 0xffffffff ? 1 : 0)) | 0;
  newSpLo = cpu.readSystem32(lo, hi);
  newSpHi = cpu.readSystem32((lo + 4) | 0, hi);
}

function deliverProtected(cpu: Cpu, vector: number, errorCode: number, kind: number): void {
  const e = ext(kind);
  const gateError = vector * 8 + 2 + e;
  if (vector * 8 + 7 > cpu.idtLimit) cpu.raise(GP, gateError);
  const addr = (cpu.idtBaseLo + vector * 8) | 0;
  const w0 = cpu.readSystem32(addr, 0);
  const w1 = cpu.readSystem32((addr + 4) | 0, 0);
  const type = (w1 >> 8) & 0x1f;
  // 32-bit (0xE/0xF) and 16-bit (0x6/0x7) interrupt and trap gates; task gates are not modelled.
  if (type !== 0x0e && type !== 0x0f && type !== 0x06 && type !== 0x07) cpu.raise(GP, gateError);
  const gateDpl = (w1 >> 13) & 3;
  if (kind === INT_SOFTWARE && gateDpl < cpu.cpl) cpu.raise(GP, vector * 8 + 2);
  if ((w1 & 0x8000) === 0) cpu.raise(NP, gateError);
  const gate32 = (type & 8) !== 0;
  const selector = w0 >>> 16;
  const offset = gate32 ? (w0 & 0xffff) | (w1 & 0xffff0000) : w0 & 0xffff;
  if ((selector & 0xfffc) === 0) cpu.raise(GP, e);
  readDescriptor(cpu, selector, GP, false);
  const codeLo = desc[0];
  const codeHi = desc[1];
  const attr = attrOf(codeHi);
  const codeError = (selector & 0xfffc) + e;
  if ((attr & 0x18) !== 0x18) cpu.raise(GP, codeError);
  const dpl = (attr >> 5) & 3;
  if (dpl > cpu.cpl) cpu.raise(GP, codeError);
  if ((attr & 0x80) === 0) cpu.raise(NP, codeError);
  const conforming = (attr & 4) !== 0;
  const newCpl = conforming ? cpu.cpl : dpl;
  const oldCpl = cpu.cpl;
  const regs = cpu.regs;
  const flags = savedFlags(cpu, vector, kind);
  const oldSs = cpu.segSelector[SS];
  const oldSp = regs[8];
  let ssSel = oldSs;
  let ssBase = cpu.segBaseLo[SS];
  let ssLimit = cpu.segLimit[SS];
  let ssAttr = cpu.segAttr[SS];
  let sp = oldSp;
  if (newCpl < oldCpl) {
    // SS:ESP for the new CPL from the 32-bit TSS (SDM 7.2.1, Figure 7-2).
    const tssOffset = 4 + newCpl * 8;
    if (tssOffset + 5 > cpu.segLimit[TR] >>> 0) cpu.raise(TS, cpu.segSelector[TR] & 0xfffc);
    const tssBase = cpu.segBaseLo[TR];
    sp = cpu.readSystem32((tssBase + tssOffset) | 0, 0);
    ssSel = cpu.readSystem16((tssBase + tssOffset + 4) | 0, 0) & 0xffff;
    if ((ssSel & 0xfffc) === 0) cpu.raise(TS, e);
    stashDescriptor();
    readDescriptor(cpu, ssSel, TS, false);
    const sAttr = attrOf(desc[1]);
    const sDpl = (sAttr >> 5) & 3;
    if ((ssSel & 3) !== newCpl || sDpl !== newCpl || (sAttr & 0x1a) !== 0x12) cpu.raise(TS, (ssSel & 0xfffc) + e);
    if ((sAttr & 0x80) === 0) cpu.raise(SS_VECTOR, (ssSel & 0xfffc) + e);
    markAccessed(cpu);
    ssBase = baseOf(desc[0], desc[1]);
    ssLimit = limitOf(desc[0], desc[1]);
    ssAttr = sAttr;
    unstashDescriptor(); // the code descriptor, for the commit below
  }
  const slot = gate32 ? 4 : 2;
  const stack32 = (ssAttr & ATTR_DB) !== 0;
  const cls = newCpl === 3 ? 1 : 4;
  const mmu = cpu.mmu;
  const push = (v: number): void => {
    sp = stack32 ? (sp - slot) | 0 : (sp & ~0xffff) | ((sp - slot) & 0xffff);
    const off = stack32 ? sp : sp & 0xffff;
    const lin = (ssBase + off) | 0;
    if (slot === 4) mmu.write32(lin, 0, cls, v);
    else mmu.write16(lin, 0, cls, v & 0xffff);
    if (mmu.faultPending) cpu.pageFault();
  };
  if (newCpl < oldCpl) {
    push(oldSs);
    push(oldSp);
  }
  push(flags);
  push(cpu.segSelector[CS]);
  push(cpu.ripLo);
  if (errorCode >= 0) push(errorCode);
  if (newCpl < oldCpl) cpu.setSegment(SS, (ssSel & 0xfffc) | newCpl, ssBase, 0, ssLimit, ssAttr);
  regs[8] = stack32 ? sp : (regs[8] & ~0xffff) | (sp & 0xffff);
  markAccessed(cpu);
  cpu.setSegment(CS, (selector & 0xfffc) | newCpl, baseOf(codeLo, codeHi), 0, limitOf(codeLo, codeHi), attr);
  cpu.cpl = newCpl;
  cpu.ripLo = offset;
  cpu.ripHi = 0;
  finishDelivery(cpu, type);
}
