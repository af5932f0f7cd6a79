// System instructions: control and debug registers, MSRs, CPUID and the
// TSC, descriptor tables (LGDT/LIDT/SGDT/SIDT/LLDT/LTR/SLDT/STR), LAR/LSL/
// VERR/VERW, segment loads, far JMP/CALL/RET, IRET, SYSCALL/SYSRET,
// SYSENTER/SYSEXIT, SWAPGS, port I/O with the TSS permission bitmap, HLT and
// the cache/TLB controls.
// Each #GP/#UD condition is the one the SDM Vol. 2 page lists.

import type { Cpu } from "./cpu.ts";
import {
  ATTR_DB,
  ATTR_G,
  ATTR_L,
  ATTR_UNUSABLE,
  CS,
  DS,
  ES,
  FS,
  GP,
  GS,
  LDTR,
  NP,
  SS,
  SS_VECTOR,
  TR,
  UD,
} from "./cpu.ts";
import type { DecodedInstruction } from "./decoder.ts";
import { AC, ARITH_FLAGS, DF, FIXED_1, ID, IF, IOPL, NT, RF, TF, VM, ZF } from "./flags.ts";
import { attrOf, baseOf, checkCodeDescriptor, desc, limitOf, loadCode, loadDataSegment, loadNull, markAccessed, markBusy, readDescriptor, stashDescriptor, unstashDescriptor } from "./segments.ts";
import { cpuid } from "./cpuid.ts";
import {
  MSR_APIC_BASE,
  MSR_CSTAR,
  MSR_EFER,
  MSR_FS_BASE,
  MSR_GS_BASE,
  MSR_KERNEL_GS_BASE,
  MSR_LSTAR,
  MSR_SFMASK,
  MSR_STAR,
  MSR_SYSENTER_CS,
  MSR_SYSENTER_EIP,
  MSR_SYSENTER_ESP,
  MSR_TSC,
  MSR_TSC_AUX,
  MsrFile,
} from "./msr.ts";
import {
  CR0_PE,
  CR0_PG,
  CR4_FSGSBASE,
  CR4_LA57,
  CR4_PAE,
  CR4_PCIDE,
  CR4_PKE,
  CR4_SMAP,
  CR4_SMEP,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
} from "../mmu/paging-mode.ts";

const CR0_ET = 0x10;
const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
/** CR0 bits that hold state: PE MP EM TS ET NE WP AM NW CD PG. */
const CR0_KNOWN = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | (1 << 16) | (1 << 18) | CR0_NW | CR0_CD | (1 << 31);
const EFER_SCE = 1;

function requireCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raise(GP, 0);
}

function canonical(cpu: Cpu, hi: number): boolean {
  const top = hi >> cpu.canonicalShift;
  return top === 0 || top === -1;
}

/**
 * Canonical for the widest linear address the CPU supports: 57 bits with
 * 5-level paging even while CR4.LA57 = 0. Loads of a register that holds a
 * linear address for later (GDTR, IDTR, LDTR, TR, the FS/GS bases and the
 * address MSRs) are checked this way (Intel's 5-level paging white paper,
 * "Canonicality Checking on Other Loads"); RIP loads and accesses use the
 * current width.
 */
function canonicalBase(cpu: Cpu, hi: number): boolean {
  const top = hi >> (cpu.features.has("la57") ? 24 : 15);
  return top === 0 || top === -1;
}

// --- Control registers ----------------------------------------------------------

/** CR4 bits cr3 lets software set, given its features. */
function cr4Allowed(cpu: Cpu): number {
  const f = cpu.features;
  let allowed = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400; // VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT
  if (f.has("la57")) allowed |= CR4_LA57;
  if (f.has("fsgsbase")) allowed |= CR4_FSGSBASE;
  if (f.has("pcid")) allowed |= CR4_PCIDE;
  if (f.has("smep")) allowed |= CR4_SMEP;
  if (f.has("smap")) allowed |= CR4_SMAP;
  if (f.has("pku")) allowed |= CR4_PKE;
  return allowed;
}

export function movToControl(cpu: Cpu, i: DecodedInstruction): void {
  const n = i.reg;
  if (n !== 0 && n !== 2 && n !== 3 && n !== 4 && n !== 8) cpu.raise(UD);
  requireCpl0(cpu);
  const regs = cpu.regs;
  const lo = regs[i.rm << 1];
  const hi = cpu.long64 ? regs[(i.rm << 1) | 1] : 0;
  const mmu = cpu.mmu;
  switch (n) {
    case 0: {
      if (hi !== 0) cpu.raise(GP, 0);
      const value = ((lo & CR0_KNOWN) | CR0_ET) | 0;
      if ((value & CR0_PG) !== 0 && (value & CR0_PE) === 0) cpu.raise(GP, 0);
      if ((value & CR0_NW) !== 0 && (value & CR0_CD) === 0) cpu.raise(GP, 0);
      const enablingPaging = (value & CR0_PG) !== 0 && (mmu.cr0 & CR0_PG) === 0;
      if (enablingPaging && (mmu.efer & EFER_LME) !== 0) {
        // Activating IA-32e mode needs PAE and a CS that is not 64-bit (SDM 9.8.5).
        if ((mmu.cr4 & CR4_PAE) === 0 || (cpu.segAttr[CS] & ATTR_L) !== 0) cpu.raise(GP, 0);
      }
      if ((value & CR0_PG) === 0 && cpu.long64) cpu.raise(GP, 0);
      if (!mmu.setCr0(value)) cpu.raise(GP, 0);
      cpu.updateMode();
      return;
    }
    case 2:
      cpu.cr2Lo = lo;
      cpu.cr2Hi = hi;
      return;
    case 3: {
      // Bits above MAXPHYADDR are reserved (bit 63 is the PCID no-flush hint).
      const pcide = (mmu.cr4 & CR4_PCIDE) !== 0;
      const limitHi = cpu.features.physicalBits - 32;
      const h = pcide ? hi & 0x7fffffff : hi;
      if (cpu.long64 && (h >>> limitHi) !== 0) cpu.raise(GP, 0);
      if (!mmu.setCr3(lo, hi)) cpu.raise(GP, 0);
      return;
    }
    case 4: {
      if (hi !== 0 || (lo & ~cr4Allowed(cpu)) !== 0) cpu.raise(GP, 0);
      const old = mmu.cr4;
      const lma = (mmu.efer & EFER_LMA) !== 0;
      if (lma && (lo & CR4_PAE) === 0) cpu.raise(GP, 0);
      if (lma && ((old ^ lo) & CR4_LA57) !== 0) cpu.raise(GP, 0);
      if ((lo & CR4_PCIDE) !== 0 && (old & CR4_PCIDE) === 0) {
        // PCIDE can be set only in IA-32e mode with CR3[11:0] = 0 (SDM 4.10.1).
        if (!lma || (mmu.cr3Lo & 0xfff) !== 0) cpu.raise(GP, 0);
      }
      if (!mmu.setCr4(lo)) cpu.raise(GP, 0);
      cpu.updateMode();
      return;
    }
    default:
      if (!cpu.long64) cpu.raise(UD);
      if ((lo & ~15) !== 0 || hi !== 0) cpu.raise(GP, 0);
      cpu.cr8 = lo & 15;
      if (cpu.localApic !== null) cpu.localApic.setTaskPriorityFromCr8(lo & 15);
  }
}

export function movFromControl(cpu: Cpu, i: DecodedInstruction): void {
  const n = i.reg;
  if (n !== 0 && n !== 2 && n !== 3 && n !== 4 && n !== 8) cpu.raise(UD);
  requireCpl0(cpu);
  const mmu = cpu.mmu;
  let lo = 0;
  let hi = 0;
  switch (n) {
    case 0:
      lo = mmu.cr0;
      break;
    case 2:
      lo = cpu.cr2Lo;
      hi = cpu.cr2Hi;
      break;
    case 3:
      lo = mmu.cr3Lo;
      hi = mmu.cr3Hi;
      break;
    case 4:
      lo = mmu.cr4;
      break;
    default:
      if (!cpu.long64) cpu.raise(UD);
      lo = cpu.localApic !== null ? cpu.localApic.taskPriorityForCr8() : cpu.cr8;
  }
  cpu.setReg(cpu.long64 ? 8 : 4, i.rm, 1, lo, cpu.long64 ? hi : 0);
}

export function clts(cpu: Cpu): void {
  requireCpl0(cpu);
  cpu.mmu.setCr0(cpu.mmu.cr0 & ~8);
}

// --- Debug registers (stored; breakpoints are not modelled) --------------------

function debugIndex(cpu: Cpu, n: number): number {
  if (n === 4 || n === 5) {
    if ((cpu.mmu.cr4 & 0x8) !== 0) cpu.raise(UD); // CR4.DE: DR4/DR5 are reserved
    return n + 2;
  }
  if (n > 7) cpu.raise(UD);
  return n;
}

export function movToDebug(cpu: Cpu, i: DecodedInstruction): void {
  const n = debugIndex(cpu, i.reg);
  requireCpl0(cpu);
  const regs = cpu.regs;
  let lo = regs[i.rm << 1];
  const hi = cpu.long64 ? regs[(i.rm << 1) | 1] : 0;
  if (n >= 6 && hi !== 0) cpu.raise(GP, 0);
  if (n === 6) lo = (lo | 0xffff0ff0) & ~0x1000;
  if (n === 7) lo = (lo | 0x400) & ~0xd000;
  cpu.dr[n << 1] = lo;
  cpu.dr[(n << 1) | 1] = hi;
}

export function movFromDebug(cpu: Cpu, i: DecodedInstruction): void {
  const n = debugIndex(cpu, i.reg);
  requireCpl0(cpu);
  cpu.setReg(cpu.long64 ? 8 : 4, i.rm, 1, cpu.dr[n << 1], cpu.long64 ? cpu.dr[(n << 1) | 1] : 0);
}

// --- MSRs, CPUID, TSC ---------------------------------------------------------------

export function rdmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const regs = cpu.regs;
  const index = regs[2] >>> 0;
  let lo: number;
  let hi: number;
  switch (index) {
    case MSR_EFER:
      lo = cpu.mmu.efer;
      hi = 0;
      break;
    case MSR_TSC: {
      const t = cpu.readTsc();
      lo = t % 4294967296 | 0;
      hi = Math.floor(t / 4294967296) | 0;
      break;
    }
    case MSR_FS_BASE:
    case MSR_GS_BASE: {
      const seg = index === MSR_FS_BASE ? FS : GS;
      lo = cpu.segBaseLo[seg];
      hi = cpu.segBaseHi[seg];
      break;
    }
    case MSR_APIC_BASE:
      if (cpu.localApic !== null) {
        lo = cpu.localApic.baseMsrLow();
        hi = cpu.localApic.baseMsrHigh();
        break;
      }
      lo = cpu.msr.readLo(index);
      hi = cpu.msr.readHi(index);
      break;
    default:
      if (!cpu.msr.has(index)) cpu.raise(GP, 0);
      lo = cpu.msr.readLo(index);
      hi = cpu.msr.readHi(index);
  }
  regs[0] = lo;
  regs[1] = 0;
  regs[4] = hi;
  regs[5] = 0;
}

export function wrmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const regs = cpu.regs;
  const index = regs[2] >>> 0;
  const lo = regs[0];
  const hi = regs[4];
  switch (index) {
    case MSR_EFER: {
      const mmu = cpu.mmu;
      const allowed = EFER_SCE | EFER_LME | EFER_LMA | (cpu.features.has("nx") ? EFER_NXE : 0);
      if (hi !== 0 || (lo & ~allowed) !== 0) cpu.raise(GP, 0);
      // LME cannot change while paging is on (SDM 9.8.5).
      if ((mmu.cr0 & CR0_PG) !== 0 && ((lo ^ mmu.efer) & EFER_LME) !== 0) cpu.raise(GP, 0);
      mmu.setEfer(lo);
      cpu.updateMode();
      return;
    }
    case MSR_TSC:
      cpu.tscOffset = (hi >>> 0) * 4294967296 + (lo >>> 0) - cpu.tscNow();
      return;
    case MSR_FS_BASE:
    case MSR_GS_BASE:
    case MSR_KERNEL_GS_BASE:
    case MSR_LSTAR:
    case MSR_CSTAR:
    case MSR_SYSENTER_ESP:
    case MSR_SYSENTER_EIP:
      if (!canonicalBase(cpu, hi)) cpu.raise(GP, 0);
      if (index === MSR_FS_BASE || index === MSR_GS_BASE) {
        const seg = index === MSR_FS_BASE ? FS : GS;
        cpu.segBaseLo[seg] = lo;
        cpu.segBaseHi[seg] = hi;
        return;
      }
      cpu.msr.write(index, lo, hi);
      return;
    case MSR_APIC_BASE:
      // Bits above MAXPHYADDR and the reserved low bits must be zero.
      if ((lo & 0x6ff) !== 0 || hi >>> (cpu.features.physicalBits - 32) !== 0) cpu.raise(GP, 0);
      if (cpu.localApic !== null && !cpu.localApic.writeBaseMsr(lo, hi)) cpu.raise(GP, 0);
      cpu.msr.write(index, lo, hi);
      return;
    default:
      if (!cpu.msr.has(index) || !MsrFile.writable(index, hi)) cpu.raise(GP, 0);
      cpu.msr.write(index, lo, hi);
  }
}

const cpuidOut = new Int32Array(4);

export function cpuidInstruction(cpu: Cpu): void {
  const regs = cpu.regs;
  cpuid(cpu.features, regs[0], regs[2], cpu.mmu.cr4, cpuidOut);
  regs[0] = cpuidOut[0];
  regs[1] = 0;
  regs[6] = cpuidOut[1];
  regs[7] = 0;
  regs[2] = cpuidOut[2];
  regs[3] = 0;
  regs[4] = cpuidOut[3];
  regs[5] = 0;
}

/** RDTSC / RDTSCP: the TSC counts retired guest instructions, so runs are deterministic. */
export function rdtsc(cpu: Cpu, withAux: boolean): void {
  if ((cpu.mmu.cr4 & 0x4) !== 0 && cpu.cpl !== 0) cpu.raise(GP, 0); // CR4.TSD
  const regs = cpu.regs;
  const t = cpu.readTsc();
  regs[0] = t % 4294967296 | 0;
  regs[1] = 0;
  regs[4] = Math.floor(t / 4294967296) | 0;
  regs[5] = 0;
  if (withAux) {
    regs[2] = cpu.msr.readLo(MSR_TSC_AUX);
    regs[3] = 0;
  }
}

// --- Segment registers and descriptor tables --------------------------------------

/** MOV/POP to a segment register, or LDS-family loads. */
export function loadSegmentRegister(cpu: Cpu, seg: number, selector: number): void {
  if ((cpu.mmu.cr0 & CR0_PE) === 0) {
    // Real mode: base = selector * 16.
    cpu.setSegment(seg, selector, selector << 4, 0, cpu.segLimit[seg], cpu.segAttr[seg]);
    return;
  }
  loadDataSegment(cpu, seg, selector);
}

/** LDS/LES/LSS/LFS/LGS: a far pointer m16:16/32/64 into seg:reg. */
export function loadFarPointer(cpu: Cpu, i: DecodedInstruction, seg: number): void {
  if (i.mod === 3) cpu.raise(UD);
  const size = i.operandSize;
  cpu.computeEa(i);
  const off = cpu.readMem(cpu.eaSeg, cpu.eaLo, cpu.eaHi, size);
  const offHi = cpu.hi;
  const t = (cpu.eaLo >>> 0) + size;
  const sel = cpu.readMem(cpu.eaSeg, t | 0, t > 0xffffffff ? cpu.eaHi + 1 : cpu.eaHi, 2) & 0xffff;
  loadSegmentRegister(cpu, seg, sel);
  cpu.setReg(size, i.reg, 1, off, offHi);
  if (seg === SS) cpu.interruptShadow = true;
}

/** Group 6 (0F 00): SLDT, STR, LLDT, LTR, VERR, VERW. */
export function group6(cpu: Cpu, i: DecodedInstruction): void {
  const kind = i.reg & 7;
  if ((cpu.mmu.cr0 & CR0_PE) === 0) cpu.raise(UD);
  switch (kind) {
    case 0:
    case 1: {
      const sel = cpu.segSelector[kind === 0 ? LDTR : TR];
      if (i.mod === 3) cpu.setReg(i.operandSize, i.rm, 1, sel, 0);
      else cpu.writeRm(i, 2, sel, 0, false);
      return;
    }
    case 2:
    case 3: {
      requireCpl0(cpu);
      const sel = cpu.readRm(i, 2) & 0xffff;
      if (kind === 2) lldt(cpu, sel);
      else ltr(cpu, sel);
      return;
    }
    case 4:
    case 5: {
      const sel = cpu.readRm(i, 2) & 0xffff;
      verify(cpu, sel, kind === 5);
      return;
    }
    default:
      cpu.raise(UD);
  }
}

function lldt(cpu: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    cpu.setSegment(LDTR, sel, 0, 0, 0, ATTR_UNUSABLE);
    return;
  }
  if ((sel & 4) !== 0) cpu.raise(GP, sel & 0xfffc);
  const lma = (cpu.mmu.efer & EFER_LMA) !== 0;
  readDescriptor(cpu, sel, GP, lma);
  const attr = attrOf(desc[1]);
  if ((attr & 0x1f) !== 0x02) cpu.raise(GP, sel & 0xfffc);
  if ((attr & 0x80) === 0) cpu.raise(NP, sel & 0xfffc);
  const baseHi = lma ? desc[2] : 0;
  if (lma && !canonicalBase(cpu, baseHi)) cpu.raise(GP, sel & 0xfffc);
  cpu.setSegment(LDTR, sel, baseOf(desc[0], desc[1]), baseHi, limitOf(desc[0], desc[1]), attr);
}

function ltr(cpu: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) cpu.raise(GP, 0);
  if ((sel & 4) !== 0) cpu.raise(GP, sel & 0xfffc);
  const lma = (cpu.mmu.efer & EFER_LMA) !== 0;
  readDescriptor(cpu, sel, GP, lma);
  const attr = attrOf(desc[1]);
  // An available TSS: type 9 (32-bit, or 64-bit in IA-32e mode); 16-bit (type 1) only outside IA-32e mode.
  const type = attr & 0x1f;
  if (type !== 0x09 && (lma || type !== 0x01)) cpu.raise(GP, sel & 0xfffc);
  if ((attr & 0x80) === 0) cpu.raise(NP, sel & 0xfffc);
  const baseHi = lma ? desc[2] : 0;
  if (lma && !canonicalBase(cpu, baseHi)) cpu.raise(GP, sel & 0xfffc);
  markBusy(cpu);
  cpu.setSegment(TR, sel, baseOf(desc[0], desc[1]), baseHi, limitOf(desc[0], desc[1]), attrOf(desc[1]));
}

/** Reads a descriptor for LAR/LSL/VERR/VERW without faulting on a bad selector; returns false if out of the table. */
function probeDescriptor(cpu: Cpu, sel: number): boolean {
  if ((sel & 0xfffc) === 0) return false;
  const limit = (sel & 4) !== 0 ? ((cpu.segAttr[LDTR] & ATTR_UNUSABLE) !== 0 ? -1 : cpu.segLimit[LDTR] >>> 0) : cpu.gdtLimit;
  if ((sel & 0xfff8) + 7 > limit) return false;
  readDescriptor(cpu, sel, GP, false);
  return true;
}

/** Whether the descriptor in `desc` is visible at CPL/RPL (conforming code always is). */
function visible(cpu: Cpu, sel: number): boolean {
  const attr = attrOf(desc[1]);
  const dpl = (attr >> 5) & 3;
  const conformingCode = (attr & 0x1c) === 0x1c;
  return conformingCode || (dpl >= cpu.cpl && dpl >= (sel & 3));
}

function setZf(cpu: Cpu, on: boolean): void {
  cpu.materializeFlags();
  cpu.eflags = on ? cpu.eflags | ZF : cpu.eflags & ~ZF;
}

function verify(cpu: Cpu, sel: number, write: boolean): void {
  let ok = probeDescriptor(cpu, sel);
  if (ok) {
    const attr = attrOf(desc[1]);
    const code = (attr & 8) !== 0;
    if ((attr & 0x10) === 0) ok = false;
    else if (write) ok = !code && (attr & 2) !== 0 && visible(cpu, sel);
    else ok = (!code || (attr & 2) !== 0) && visible(cpu, sel);
  }
  setZf(cpu, ok);
}

/** LAR (0F 02) and LSL (0F 03). */
export function lar(cpu: Cpu, i: DecodedInstruction): void {
  const sel = cpu.readRm(i, 2) & 0xffff;
  const isLsl = i.opcode === 0x03;
  let ok = probeDescriptor(cpu, sel);
  const lma = (cpu.mmu.efer & EFER_LMA) !== 0;
  if (ok) {
    const attr = attrOf(desc[1]);
    if ((attr & 0x10) === 0) {
      // System descriptors: LDT and TSS types are valid (and call gates for LAR outside... simplified).
      const type = attr & 0xf;
      const valid = lma ? type === 2 || type === 9 || type === 0xb || (!isLsl && type === 0xc) : type === 1 || type === 2 || type === 3 || type === 9 || type === 0xb || (!isLsl && (type === 4 || type === 5 || type === 0xc));
      ok = valid && visible(cpu, sel);
    } else ok = visible(cpu, sel);
  }
  if (ok) {
    const size = i.operandSize;
    const value = isLsl ? limitOf(desc[0], desc[1]) : desc[1] & 0x00f0ff00;
    cpu.setReg(size, i.reg, 1, size === 2 ? value & 0xffff : value, 0);
  }
  setZf(cpu, ok);
}

/** Group 7 (0F 01). */
export function group7(cpu: Cpu, i: DecodedInstruction): void {
  const kind = i.reg & 7;
  if (i.mod === 3) {
    group7Register(cpu, i);
    return;
  }
  switch (kind) {
    case 0:
    case 1: {
      // SGDT / SIDT: limit then base (8 bytes in 64-bit mode, else 4).
      const limit = kind === 0 ? cpu.gdtLimit : cpu.idtLimit;
      const baseLo = kind === 0 ? cpu.gdtBaseLo : cpu.idtBaseLo;
      const baseHi = kind === 0 ? cpu.gdtBaseHi : cpu.idtBaseHi;
      cpu.computeEa(i);
      const seg = cpu.eaSeg;
      cpu.writeMem(seg, cpu.eaLo, cpu.eaHi, 2, limit, 0);
      const t = (cpu.eaLo >>> 0) + 2;
      const hi = t > 0xffffffff ? cpu.eaHi + 1 : cpu.eaHi;
      if (cpu.long64) cpu.writeMem(seg, t | 0, hi, 8, baseLo, baseHi);
      else cpu.writeMem(seg, t | 0, hi, 4, baseLo, 0);
      return;
    }
    case 2:
    case 3: {
      requireCpl0(cpu);
      cpu.computeEa(i);
      const seg = cpu.eaSeg;
      const limit = cpu.readMem(seg, cpu.eaLo, cpu.eaHi, 2) & 0xffff;
      const t = (cpu.eaLo >>> 0) + 2;
      const hi = t > 0xffffffff ? cpu.eaHi + 1 : cpu.eaHi;
      let baseLo: number;
      let baseHi = 0;
      if (cpu.long64) {
        baseLo = cpu.readMem(seg, t | 0, hi, 8);
        baseHi = cpu.hi;
        if (!canonicalBase(cpu, baseHi)) cpu.raise(GP, 0);
      } else {
        baseLo = cpu.readMem(seg, t | 0, hi, 4);
        if (i.operandSize === 2) baseLo &= 0xffffff;
      }
      if (kind === 2) {
        cpu.gdtLimit = limit;
        cpu.gdtBaseLo = baseLo;
        cpu.gdtBaseHi = baseHi;
      } else {
        cpu.idtLimit = limit;
        cpu.idtBaseLo = baseLo;
        cpu.idtBaseHi = baseHi;
      }
      return;
    }
    case 4:
      cpu.writeRm(i, 2, cpu.mmu.cr0 & 0xffff, 0, false);
      return;
    case 6:
      lmsw(cpu, cpu.readRm(i, 2));
      return;
    case 7: {
      // INVLPG
      requireCpl0(cpu);
      cpu.computeEa(i);
      let lo = cpu.eaLo;
      let hi = cpu.eaHi;
      if (cpu.long64) {
        if (cpu.eaSeg >= FS) {
          const t = (lo >>> 0) + (cpu.segBaseLo[cpu.eaSeg] >>> 0);
          hi = (hi + cpu.segBaseHi[cpu.eaSeg] + (t > 0xffffffff ? 1 : 0)) | 0;
          lo = t | 0;
        }
        if (!canonical(cpu, hi)) return; // INVLPG of a non-canonical address is a no-op
      } else {
        lo = (lo + cpu.segBaseLo[cpu.eaSeg]) | 0;
        hi = 0;
      }
      cpu.mmu.invlpg(lo, hi);
      return;
    }
    default:
      cpu.raise(UD);
  }
}

function lmsw(cpu: Cpu, v: number): void {
  requireCpl0(cpu);
  // LMSW loads MP, EM, TS and sets (never clears) PE.
  const cr0 = cpu.mmu.cr0;
  const value = (cr0 & ~0xe) | (v & 0xf) | (cr0 & 1);
  if (!cpu.mmu.setCr0(value)) cpu.raise(GP, 0);
  cpu.updateMode();
}

function group7Register(cpu: Cpu, i: DecodedInstruction): void {
  const modrm = i.modrm;
  const regs = cpu.regs;
  switch (modrm) {
    case 0xca:
    case 0xcb: {
      // CLAC / STAC
      if (!cpu.features.has("smap")) cpu.raise(UD);
      requireCpl0(cpu);
      cpu.eflags = modrm === 0xcb ? cpu.eflags | AC : cpu.eflags & ~AC;
      cpu.updateAccessClasses();
      return;
    }
    case 0xd0:
      // XGETBV: XCR0 only; CR4.OSXSAVE is never set (no XSAVE), so #UD.
      cpu.raise(UD);
      return;
    case 0xee:
    case 0xef: {
      // RDPKRU / WRPKRU: need CR4.PKE; ECX must be 0 (and EDX 0 for WRPKRU).
      if ((cpu.mmu.cr4 & CR4_PKE) === 0) cpu.raise(UD);
      if (regs[2] !== 0) cpu.raise(GP, 0);
      if (modrm === 0xee) {
        regs[0] = cpu.mmu.pkru;
        regs[1] = 0;
        regs[4] = 0;
        regs[5] = 0;
      } else {
        if (regs[4] !== 0) cpu.raise(GP, 0);
        cpu.mmu.setPkru(regs[0]);
      }
      return;
    }
    case 0xf8: {
      // SWAPGS: 64-bit mode, CPL 0.
      if (!cpu.long64) cpu.raise(UD);
      requireCpl0(cpu);
      const lo = cpu.segBaseLo[GS];
      const hi = cpu.segBaseHi[GS];
      cpu.segBaseLo[GS] = cpu.msr.readLo(MSR_KERNEL_GS_BASE);
      cpu.segBaseHi[GS] = cpu.msr.readHi(MSR_KERNEL_GS_BASE);
      cpu.msr.write(MSR_KERNEL_GS_BASE, lo, hi);
      return;
    }
    case 0xf9:
      if (!cpu.features.has("rdtscp")) cpu.raise(UD);
      rdtsc(cpu, true);
      return;
    default: {
      const kind = i.reg & 7;
      if (kind === 4) {
        // SMSW r: CR0's low bits at the operand size.
        cpu.setReg(i.operandSize, i.rm, 1, i.operandSize === 2 ? cpu.mmu.cr0 & 0xffff : cpu.mmu.cr0, 0);
        return;
      }
      if (kind === 6) {
        lmsw(cpu, cpu.getReg(2, i.rm, 1));
        return;
      }
      cpu.unimplemented();
    }
  }
}

/** Group 15 (0F AE): fences, CLFLUSH, RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE. */
export function group15(cpu: Cpu, i: DecodedInstruction): void {
  const kind = i.reg & 7;
  if (i.mod === 3) {
    if (i.rep !== 0 && kind < 4) {
      if (!cpu.long64 || (cpu.mmu.cr4 & CR4_FSGSBASE) === 0) cpu.raise(UD);
      const seg = (kind & 1) === 0 ? FS : GS;
      const size = i.operandSize;
      if (kind < 2) {
        cpu.setReg(size, i.rm, 1, cpu.segBaseLo[seg], size === 8 ? cpu.segBaseHi[seg] : 0);
      } else {
        const lo = cpu.regs[i.rm << 1];
        const hi = size === 8 ? cpu.regs[(i.rm << 1) | 1] : 0;
        if (!canonicalBase(cpu, hi)) cpu.raise(GP, 0);
        cpu.segBaseLo[seg] = lo;
        cpu.segBaseHi[seg] = hi;
      }
      return;
    }
    if (kind >= 5 && i.rep === 0 && i.repne === 0) return; // LFENCE, MFENCE, SFENCE
    cpu.unimplemented();
  }
  if (kind === 7 && i.rep === 0 && i.repne === 0) {
    // CLFLUSH (66: CLFLUSHOPT): checks the address like a read, then does nothing.
    cpu.computeEa(i);
    cpu.readMem(cpu.eaSeg, cpu.eaLo, cpu.eaHi, 1);
    return;
  }
  cpu.unimplemented(); // FXSAVE/FXRSTOR/LDMXCSR/STMXCSR/XSAVE: no FPU/SSE state
}

/** INVPCID (66 0F 38 82): types 0-3 (SDM Vol. 2 INVPCID). */
export function invpcidInstruction(cpu: Cpu, i: DecodedInstruction): void {
  if (!cpu.features.has("invpcid") || i.mod === 3) cpu.raise(UD);
  requireCpl0(cpu);
  const type = cpu.regs[i.reg << 1];
  const typeHi = cpu.long64 ? cpu.regs[(i.reg << 1) | 1] : 0;
  cpu.computeEa(i);
  const pcid = cpu.readMem(cpu.eaSeg, cpu.eaLo, cpu.eaHi, 8);
  const pcidHi = cpu.hi;
  const t = (cpu.eaLo >>> 0) + 8;
  const addrLo = cpu.readMem(cpu.eaSeg, t | 0, t > 0xffffffff ? cpu.eaHi + 1 : cpu.eaHi, 8);
  const addrHi = cpu.hi;
  if (typeHi !== 0 || type >>> 0 > 3) cpu.raise(GP, 0);
  if ((pcid & ~0xfff) !== 0 || pcidHi !== 0) cpu.raise(GP, 0);
  if (type === 0 && !canonicalBase(cpu, addrHi)) cpu.raise(GP, 0);
  if (type <= 1 && (cpu.mmu.cr4 & CR4_PCIDE) === 0 && pcid !== 0) cpu.raise(GP, 0);
  cpu.mmu.invpcid(type, pcid, addrLo, addrHi);
}

// --- Far transfers -------------------------------------------------------------------

/** Far JMP to a code segment (call gates and task switches are not modelled: #GP). */
export function farJump(cpu: Cpu, selector: number, offLo: number, size: number, offHi = 0): void {
  if ((cpu.mmu.cr0 & CR0_PE) === 0) {
    cpu.setSegment(CS, selector, selector << 4, 0, cpu.segLimit[CS], cpu.segAttr[CS]);
    cpu.ripLo = size === 2 ? offLo & 0xffff : offLo;
    cpu.ripHi = 0;
    return;
  }
  if ((selector & 0xfffc) === 0) cpu.raise(GP, 0);
  readDescriptor(cpu, selector, GP, false);
  const attr = attrOf(desc[1]);
  if ((attr & 0x10) === 0) cpu.raise(GP, selector & 0xfffc); // gates, TSS
  const conforming = (attr & 4) !== 0;
  if (!conforming && (selector & 3) > cpu.cpl) cpu.raise(GP, selector & 0xfffc);
  checkCodeDescriptor(cpu, selector, cpu.cpl, true);
  commitFarTransfer(cpu, selector, cpu.cpl, offLo, size, offHi);
}

/** Loads CS from `desc` and jumps to the offset, with the target's limit and canonical checks. */
function commitFarTransfer(cpu: Cpu, selector: number, cpl: number, offLo: number, size: number, offHi: number): void {
  const attr = attrOf(desc[1]);
  const lma = (cpu.mmu.efer & EFER_LMA) !== 0;
  const to64 = lma && (attr & ATTR_L) !== 0;
  if (size === 2) offLo &= 0xffff;
  if (!to64) offHi = 0;
  if (to64) {
    if (!canonical(cpu, offHi)) cpu.raise(GP, 0);
  } else if ((offLo >>> 0) > (limitOf(desc[0], desc[1]) >>> 0)) cpu.raise(GP, 0);
  loadCode(cpu, selector, cpl);
  cpu.ripLo = offLo;
  cpu.ripHi = offHi;
}

export function farCall(cpu: Cpu, selector: number, offLo: number, size: number, offHi = 0): void {
  if ((selector & 0xfffc) === 0 && (cpu.mmu.cr0 & CR0_PE) !== 0) cpu.raise(GP, 0);
  const retCs = cpu.segSelector[CS];
  const retLo = cpu.ripLo;
  const retHi = cpu.ripHi;
  if ((cpu.mmu.cr0 & CR0_PE) !== 0) {
    readDescriptor(cpu, selector, GP, false);
    const attr = attrOf(desc[1]);
    if ((attr & 0x10) === 0) cpu.raise(GP, selector & 0xfffc);
    const conforming = (attr & 4) !== 0;
    if (!conforming && (selector & 3) > cpu.cpl) cpu.raise(GP, selector & 0xfffc);
    checkCodeDescriptor(cpu, selector, cpu.cpl, true);
  }
  // Push CS and the return address at the operand size, then transfer.
  const regs = cpu.regs;
  const oldSpLo = regs[8];
  const oldSpHi = regs[9];
  stashDescriptor();
  cpu.push(size, retCs, 0);
  cpu.push(size, size === 2 ? retLo & 0xffff : retLo, retHi);
  unstashDescriptor();
  try {
    if ((cpu.mmu.cr0 & CR0_PE) === 0) farJump(cpu, selector, offLo, size, offHi);
    else commitFarTransfer(cpu, selector, cpu.cpl, offLo, size, offHi);
  } catch (e) {
    regs[8] = oldSpLo;
    regs[9] = oldSpHi;
    throw e;
  }
}

/** Far RET (RETF), with an optional stack adjustment; returns to the same or an outer privilege level. */
export function farReturn(cpu: Cpu, size: number, adjust: number): void {
  const offLo = cpu.peek(size, 0);
  const offHi = size === 8 ? cpu.hi : 0;
  const selector = cpu.peek(size, size) & 0xffff;
  if ((cpu.mmu.cr0 & CR0_PE) === 0) {
    cpu.adjustSp(2 * size + adjust);
    farJump(cpu, selector, offLo, size, offHi);
    return;
  }
  if ((selector & 0xfffc) === 0) cpu.raise(GP, 0);
  const rpl = selector & 3;
  if (rpl < cpu.cpl) cpu.raise(GP, selector & 0xfffc);
  readDescriptor(cpu, selector, GP, false);
  checkCodeDescriptor(cpu, selector, rpl, true);
  if (rpl === cpu.cpl) {
    cpu.adjustSp(2 * size + adjust);
    commitFarTransfer(cpu, selector, rpl, offLo, size, offHi);
    return;
  }
  // Return to an outer level: SS:rSP follow the return address.
  const spLo = cpu.peek(size, 2 * size + adjust);
  const spHi = size === 8 ? cpu.hi : 0;
  const ssSel = cpu.peek(size, 3 * size + adjust) & 0xffff;
  stashDescriptor();
  loadOuterStack(cpu, ssSel, rpl, size === 8);
  unstashDescriptor();
  commitFarTransfer(cpu, selector, rpl, offLo, size, offHi);
  setStackPointer(cpu, size, spLo, spHi);
  cpu.adjustSp(adjust);
  nullInaccessibleSegments(cpu);
}

/** Checks and loads SS for a return to privilege `rpl` (SDM Vol. 2 RET/IRET). */
function loadOuterStack(cpu: Cpu, ssSel: number, rpl: number, to64: boolean): void {
  if ((ssSel & 0xfffc) === 0) {
    // A null SS is allowed when returning to 64-bit code at CPL < 3.
    if (!to64 || rpl === 3 || (cpu.mmu.efer & EFER_LMA) === 0) cpu.raise(GP, 0);
    loadNull(cpu, SS, ssSel);
    return;
  }
  if ((ssSel & 3) !== rpl) cpu.raise(GP, ssSel & 0xfffc);
  readDescriptor(cpu, ssSel, GP, false);
  const attr = attrOf(desc[1]);
  if ((attr & 0x1a) !== 0x12 || ((attr >> 5) & 3) !== rpl) cpu.raise(GP, ssSel & 0xfffc);
  if ((attr & 0x80) === 0) cpu.raise(SS_VECTOR, ssSel & 0xfffc);
  markAccessed(cpu);
  cpu.setSegment(SS, ssSel, baseOf(desc[0], desc[1]), 0, limitOf(desc[0], desc[1]), attr);
}

function setStackPointer(cpu: Cpu, size: number, lo: number, hi: number): void {
  const regs = cpu.regs;
  if (size === 8 || cpu.long64) {
    regs[8] = lo;
    regs[9] = size === 8 ? hi : 0;
  } else if ((cpu.segAttr[SS] & ATTR_DB) !== 0) regs[8] = lo;
  else regs[8] = (regs[8] & ~0xffff) | (lo & 0xffff);
}

/** After a return to an outer level, data segments the new CPL may not use become null (SDM Vol. 2 RET). */
function nullInaccessibleSegments(cpu: Cpu): void {
  for (const seg of [ES, DS, FS, GS]) {
    const attr = cpu.segAttr[seg];
    if ((attr & ATTR_UNUSABLE) !== 0) continue;
    const dpl = (attr >> 5) & 3;
    const conformingCode = (attr & 0x1c) === 0x1c;
    if ((attr & 0x10) !== 0 && !conformingCode && dpl < cpu.cpl) {
      const baseLo = cpu.segBaseLo[seg];
      const baseHi = cpu.segBaseHi[seg];
      loadNull(cpu, seg, 0);
      if (cpu.long64 && seg >= FS) {
        // FS/GS bases stay in 64-bit mode (they come from the MSRs).
        cpu.segBaseLo[seg] = baseLo;
        cpu.segBaseHi[seg] = baseHi;
      }
    }
  }
}

/** IRET / IRETD / IRETQ (SDM Vol. 2 IRET), protected and IA-32e modes; no task returns, no virtual-8086 mode. */
export function interruptReturn(cpu: Cpu, size: number): void {
  const lma = (cpu.mmu.efer & EFER_LMA) !== 0;
  // SDM 6.7.1: IRET ends the blocking of NMIs that delivering an NMI began.
  if (cpu.nmiBlocked) cpu.unblockNmi();
  if ((cpu.mmu.cr0 & CR0_PE) === 0) {
    const ip = cpu.peek(size, 0);
    const cs = cpu.peek(size, size) & 0xffff;
    const fl = cpu.peek(size, 2 * size);
    cpu.adjustSp(3 * size);
    cpu.setSegment(CS, cs, cs << 4, 0, cpu.segLimit[CS], cpu.segAttr[CS]);
    cpu.ripLo = size === 2 ? ip & 0xffff : ip;
    cpu.ripHi = 0;
    cpu.writeEflags(fl, size === 2 ? 0xffff : 0x257fd5);
    resumeFlag(cpu);
    return;
  }
  if ((cpu.eflags & NT) !== 0) cpu.raise(GP, 0); // task return: not modelled (and #GP in IA-32e mode)
  const ipLo = cpu.peek(size, 0);
  const ipHi = size === 8 ? cpu.hi : 0;
  const selector = cpu.peek(size, size) & 0xffff;
  const newFlags = cpu.peek(size, 2 * size);
  if ((selector & 0xfffc) === 0) cpu.raise(GP, 0);
  const rpl = selector & 3;
  if (rpl < cpu.cpl) cpu.raise(GP, selector & 0xfffc);
  readDescriptor(cpu, selector, GP, false);
  checkCodeDescriptor(cpu, selector, rpl, true);
  const to64 = lma && (attrOf(desc[1]) & ATTR_L) !== 0;
  const oldCpl = cpu.cpl;
  // In 64-bit mode IRET always pops SS:RSP; elsewhere only on a privilege change.
  const popsStack = cpu.long64 || rpl > oldCpl;
  let spLo = 0;
  let spHi = 0;
  let ssSel = 0;
  if (popsStack) {
    spLo = cpu.peek(size, 3 * size);
    spHi = size === 8 ? cpu.hi : 0;
    ssSel = cpu.peek(size, 4 * size) & 0xffff;
  }
  // Flags: IOPL only at CPL 0, IF only when CPL <= IOPL; VM, VIF, VIP never (no virtual-8086 mode).
  let changeable = ARITH_FLAGS | TF | DF | NT | RF | AC | ID;
  const iopl = (cpu.eflags & IOPL) >> 12;
  if (oldCpl === 0) changeable |= IOPL | IF;
  else if (oldCpl <= iopl) changeable |= IF;
  if (size === 2) changeable &= 0xffff;
  if (popsStack) {
    stashDescriptor();
    loadOuterStack(cpu, ssSel, rpl, to64);
    unstashDescriptor();
  }
  if (!popsStack) cpu.adjustSp(3 * size);
  commitFarTransfer(cpu, selector, rpl, ipLo, size, ipHi);
  if (popsStack) setStackPointer(cpu, size, spLo, spHi);
  cpu.writeEflags(newFlags | FIXED_1, changeable);
  resumeFlag(cpu);
  if (rpl > oldCpl) nullInaccessibleSegments(cpu);
  cpu.updateMode();
}

/**
 * RF loaded by IRET lasts until the next instruction starts (SDM Vol. 3A
 * 17.3.1.1), so it is kept as that boundary's icount, not as the bit.
 */
function resumeFlag(cpu: Cpu): void {
  if ((cpu.eflags & RF) === 0) return;
  cpu.eflags &= ~RF;
  cpu.rfIcount = cpu.icount + 1;
}

// --- SYSCALL / SYSRET ---------------------------------------------------------------------

export function syscall(cpu: Cpu): void {
  const mmu = cpu.mmu;
  // Intel: SYSCALL exists only in 64-bit mode, with EFER.SCE.
  if (!cpu.long64 || (mmu.efer & EFER_SCE) === 0) cpu.raise(UD);
  const regs = cpu.regs;
  const msr = cpu.msr;
  regs[2] = cpu.ripLo;
  regs[3] = cpu.ripHi;
  const flags = cpu.getEflags();
  regs[22] = flags & ~RF;
  regs[23] = 0;
  const star = msr.readHi(MSR_STAR);
  const cs = star & 0xfffc;
  cpu.setSegment(CS, cs, 0, 0, 0xffffffff, 0x9b | ATTR_L | 0x8000);
  cpu.setSegment(SS, (cs + 8) & 0xffff, 0, 0, 0xffffffff, 0x93 | ATTR_DB | 0x8000);
  cpu.cpl = 0;
  cpu.eflags = (flags & ~msr.readLo(MSR_SFMASK) & ~RF) | FIXED_1;
  cpu.lazyOp = 0;
  cpu.ripLo = msr.readLo(MSR_LSTAR);
  cpu.ripHi = msr.readHi(MSR_LSTAR);
  cpu.updateMode();
}

export function sysret(cpu: Cpu, i: DecodedInstruction): void {
  const mmu = cpu.mmu;
  if (!cpu.long64 || (mmu.efer & EFER_SCE) === 0) cpu.raise(UD);
  requireCpl0(cpu);
  const regs = cpu.regs;
  const to64 = i.rexW !== 0;
  // Intel: a non-canonical RCX raises #GP(0) at CPL 0 (SDM Vol. 2 SYSRET).
  if (to64 && !canonical(cpu, regs[3])) cpu.raise(GP, 0);
  const base = cpu.msr.readHi(MSR_STAR) >>> 16;
  if (to64) {
    cpu.setSegment(CS, ((base + 16) & 0xfffc) | 3, 0, 0, 0xffffffff, 0xfb | ATTR_L | 0x8000);
    cpu.ripLo = regs[2];
    cpu.ripHi = regs[3];
  } else {
    cpu.setSegment(CS, (base & 0xfffc) | 3, 0, 0, 0xffffffff, 0xfb | ATTR_DB | 0x8000);
    cpu.ripLo = regs[2];
    cpu.ripHi = 0;
  }
  cpu.setSegment(SS, ((base + 8) & 0xfffc) | 3, 0, 0, 0xffffffff, 0xf3 | ATTR_DB | 0x8000);
  cpu.cpl = 3;
  cpu.writeEflags((regs[22] & 0x3c7fd7) | FIXED_1, -1);
  cpu.updateMode();
}

// --- SYSENTER / SYSEXIT -------------------------------------------------------------------

/** SYSENTER (SDM Vol. 2 SYSENTER): to CPL 0 at IA32_SYSENTER_CS/EIP/ESP, 64-bit code in IA-32e mode. */
export function sysenter(cpu: Cpu): void {
  if (!cpu.features.has("sep")) cpu.raise(UD);
  const msr = cpu.msr;
  const csMsr = msr.readLo(MSR_SYSENTER_CS);
  if ((cpu.mmu.cr0 & CR0_PE) === 0 || (csMsr & 0xfffc) === 0) cpu.raise(GP, 0);
  const lma = (cpu.mmu.efer & EFER_LMA) !== 0;
  const regs = cpu.regs;
  cpu.eflags &= ~(IF | VM);
  regs[8] = msr.readLo(MSR_SYSENTER_ESP);
  regs[9] = lma ? msr.readHi(MSR_SYSENTER_ESP) : 0;
  cpu.ripLo = msr.readLo(MSR_SYSENTER_EIP);
  cpu.ripHi = lma ? msr.readHi(MSR_SYSENTER_EIP) : 0;
  // The descriptor caches get fixed flat values, not the GDT's descriptors.
  const cs = csMsr & 0xfffc;
  cpu.setSegment(CS, cs, 0, 0, 0xffffffff, 0x9b | ATTR_G | (lma ? ATTR_L : ATTR_DB));
  cpu.setSegment(SS, (cs + 8) & 0xffff, 0, 0, 0xffffffff, 0x93 | ATTR_DB | ATTR_G);
  cpu.cpl = 0;
  cpu.updateMode();
}

/** SYSEXIT (SDM Vol. 2 SYSEXIT): to CPL 3 at RDX/RCX; REX.W returns to 64-bit mode, else to 32-bit code. */
export function sysexit(cpu: Cpu, i: DecodedInstruction): void {
  if (!cpu.features.has("sep")) cpu.raise(UD);
  const csMsr = cpu.msr.readLo(MSR_SYSENTER_CS);
  if ((cpu.mmu.cr0 & CR0_PE) === 0 || (csMsr & 0xfffc) === 0) cpu.raise(GP, 0);
  requireCpl0(cpu);
  const regs = cpu.regs;
  const to64 = i.operandSize === 8;
  if (to64 && (!canonical(cpu, regs[3]) || !canonical(cpu, regs[5]))) cpu.raise(GP, 0); // RCX, RDX
  const cs = ((csMsr + (to64 ? 32 : 16)) & 0xffff) | 3;
  cpu.setSegment(CS, cs, 0, 0, 0xffffffff, 0xfb | ATTR_G | (to64 ? ATTR_L : ATTR_DB));
  cpu.setSegment(SS, (cs + 8) & 0xffff, 0, 0, 0xffffffff, 0xf3 | ATTR_DB | ATTR_G);
  cpu.ripLo = regs[4];
  cpu.ripHi = to64 ? regs[5] : 0;
  regs[8] = regs[2];
  regs[9] = to64 ? regs[3] : 0;
  cpu.cpl = 3;
  cpu.updateMode();
}

// --- Port I/O and HLT --------------------------------------------------------------------

/** The I/O permission check (SDM Vol. 1, 19.5): CPL <= IOPL, else the TSS bitmap decides. */
function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  if ((cpu.mmu.cr0 & CR0_PE) === 0) return;
  if (cpu.cpl <= ((cpu.eflags & IOPL) >> 12)) return;
  const trType = cpu.segAttr[TR] & 0xf;
  const limit = cpu.segLimit[TR] >>> 0;
  if ((cpu.segAttr[TR] & ATTR_UNUSABLE) !== 0 || (trType !== 0x9 && trType !== 0xb) || limit < 103) cpu.raise(GP, 0);
  const baseLo = cpu.segBaseLo[TR];
  const baseHi = cpu.segBaseHi[TR];
  const mapBase = cpu.readSystem16((baseLo + 102) | 0, baseHi) & 0xffff;
  const byte = mapBase + (port >>> 3);
  if (byte + 1 > limit) cpu.raise(GP, 0);
  const bits = cpu.readSystem16((baseLo + byte) | 0, baseHi);
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bits & mask) !== 0) cpu.raise(GP, 0);
}

export function inPort(cpu: Cpu, port: number, size: number, checkOnly = false): number {
  checkIoPermission(cpu, port, size);
  if (checkOnly) return 0;
  return cpu.ports.read(port, size);
}

export function outPort(cpu: Cpu, port: number, size: number, value: number): void {
  checkIoPermission(cpu, port, size);
  cpu.ports.write(port, size, size === 4 ? value : size === 2 ? value & 0xffff : value & 0xff);
}

export function hlt(cpu: Cpu): void {
  requireCpl0(cpu);
  cpu.halted = true;
}

