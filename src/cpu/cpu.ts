// The CPU's state and its plumbing: registers, lazy flags, segment caches,
// effective and linear addresses, memory and stack accesses through the MMU,
// the fetch-decode-execute loop, and the dispatch of exceptions.
//
// Values are 32-bit halves: a 64-bit register is regs[2r] (low) and
// regs[2r+1] (high). Functions that produce a 64-bit value return the low half
// and leave the high half in `this.hi`. Guest exceptions are thrown as the one
// preallocated GUEST_EXCEPTION object with the vector and error code in
// fields, and caught by the run loop, which delivers them (interrupts.ts).

import type { Mmu } from "../mmu/mmu.ts";
import type { PortBus } from "../machine/ports.ts";
import { CR0_PE, CR4_LA57, EFER_LMA } from "../mmu/paging-mode.ts";
import { DECODE_INCOMPLETE, DECODE_TOO_LONG, DecodedInstruction, decode } from "./decoder.ts";
import { AC, ARITH_FLAGS, CF, FIXED_1, IF, LAZY_ADC, LAZY_ADD, LAZY_INC, LAZY_LOGIC, LAZY_NONE, LAZY_SBB, LAZY_SUB, PARITY, TF, ZF } from "./flags.ts";
import { execute } from "./execute.ts";
import { deliverException, deliverInterrupt, INT_EXTERNAL } from "./interrupts.ts";
import { CpuFeatures, defaultFeatures } from "./cpuid.ts";
import { MsrFile } from "./msr.ts";

// Exception vectors (SDM Vol. 3A, Table 6-1).
export const DE = 0;
export const DB = 1;
export const NMI = 2;
export const BP = 3;
export const OFV = 4;
export const BR = 5;
export const UD = 6;
export const NM = 7;
export const DF_VECTOR = 8;
export const TS = 10;
export const NP = 11;
export const SS_VECTOR = 12;
export const GP = 13;
export const PF_VECTOR = 14;
export const MF = 16;
export const AC_VECTOR = 17;
export const MC = 18;
export const XM = 19;

export const EXCEPTION_NAMES = ["#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MF(9)", "#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"];

// Segment register indices (the ModRM sreg encoding), plus LDTR and TR.
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;
export const LDTR = 6;
export const TR = 7;
export const SEGMENT_NAMES = ["es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr"];

// Segment attribute word: descriptor bits 40-47 in bits 0-7, bits 52-55 in 12-15.
export const ATTR_TYPE = 0xf;
export const ATTR_S = 0x10;
export const ATTR_DPL_SHIFT = 5;
export const ATTR_P = 0x80;
export const ATTR_L = 0x2000;
export const ATTR_DB = 0x4000;
export const ATTR_G = 0x8000;
/** Not a descriptor bit: the register holds a null selector (SDM 3.4.4: unusable). */
export const ATTR_UNUSABLE = 0x10000;

/** Code pages whose translations the fetch path keeps (a power of two). */
const CODE_PAGES = 32;
const CODE_PAGES_MASK = CODE_PAGES - 1;
/** Entries of the decoded-instruction cache (a power of two). */
const DECODE_CACHE_SIZE = 1 << 14;
const DECODE_CACHE_MASK = DECODE_CACHE_SIZE - 1;

/** What stopped the run loop. */
export const STOP_NONE = 0;
export const STOP_BUDGET = 1;
export const STOP_REQUESTED = 2;
export const STOP_HALTED = 3;
export const STOP_TRIPLE_FAULT = 4;
export const STOP_SHUTDOWN = 5;

/** Thrown (never allocated per use) when the guest raises an exception. */
export const GUEST_EXCEPTION = Object.freeze({ guestException: true });

/** One exception of a chain that ended in a triple fault (or one for -d int). */
export interface FaultRecord {
  vector: number;
  errorCode: number;
  ripLo: number;
  ripHi: number;
  cr2Lo: number;
  cr2Hi: number;
  cpl: number;
  /** For #PF: the walker's explanation in words. */
  explanation: string;
}

/** Tier 1 (src/jit/): runs compiled code from the current RIP when it has some. */
export interface CompiledCode {
  /**
   * Runs compiled code at RIP, if any, for at most `cpu.remaining`
   * instructions, keeping icount, remaining and RIP exact. Returns false when
   * it ran nothing (the interpreter then steps one instruction).
   */
  enter(cpu: Cpu): boolean;
  /** A write reached code chunks of a RAM page (Mmu.onCodeWrite): drop what was compiled from them. */
  codeWritten(ramPage: number, chunksLo: number, chunksHi: number): void;
  /** Drop everything compiled. */
  clear(): void;
}

/** A device (or interrupt controller) that can interrupt the CPU. */
export interface InterruptController {
  /** Returns the vector of the highest-priority pending interrupt and marks it in service, or -1. */
  acknowledge(): number;
  /** Whether anything may raise an interrupt in the future (HLT with IF=1 sleeps only then). */
  canInterrupt(): boolean;
  /** Called while the CPU is halted with IF=1: advance time to the next event. Returns false if nothing will ever happen. */
  waitForInterrupt(): boolean;
}

/** What the CPU asks of its local APIC: CR8 is TPR[7:4] (SDM 10.8.6.1) and IA32_APIC_BASE. */
export interface LocalApicLink {
  setTaskPriorityFromCr8(cr8: number): void;
  taskPriorityForCr8(): number;
  /** WRMSR IA32_APIC_BASE; returns false when the value must raise #GP. */
  writeBaseMsr(lo: number, hi: number): boolean;
  /** RDMSR IA32_APIC_BASE. */
  baseMsrLow(): number;
  baseMsrHigh(): number;
}

export class Cpu {
  readonly mmu: Mmu;
  readonly ports: PortBus;
  readonly ram: Uint8Array;
  readonly msr: MsrFile;
  features: CpuFeatures;

  /** General registers as 32-bit halves: rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15. */
  readonly regs = new Int32Array(32);
  ripLo = 0;
  ripHi = 0;
  /** RIP of the instruction being executed (faults restart it). */
  startLo = 0;
  startHi = 0;
  /** High half returned by 64-bit helpers. */
  hi = 0;

  // EFLAGS: non-arithmetic bits always; arithmetic bits when lazyOp = LAZY_NONE.
  eflags = FIXED_1;
  lazyOp = LAZY_NONE;
  lazySize = 4;
  lazyRes = 0;
  lazyResHi = 0;
  lazyDst = 0;
  lazyDstHi = 0;
  lazySrc = 0;
  lazySrcHi = 0;
  /** Carry in (ADC/SBB) or the preserved CF (INC/DEC). */
  lazyCarry = 0;

  // Segment registers: visible selector and the hidden descriptor cache.
  readonly segSelector = new Int32Array(8);
  readonly segBaseLo = new Int32Array(8);
  readonly segBaseHi = new Int32Array(8);
  readonly segLimit = new Int32Array(8);
  readonly segAttr = new Int32Array(8);
  /** Base 0, limit 4 GiB, usable: no limit checks needed (outside 64-bit mode). */
  readonly segFlat = new Uint8Array(8);
  gdtBaseLo = 0;
  gdtBaseHi = 0;
  gdtLimit = 0xffff;
  idtBaseLo = 0;
  idtBaseHi = 0;
  idtLimit = 0xffff;

  // Control and debug registers (CR0/CR3/CR4/EFER live in the MMU).
  cr2Lo = 0;
  cr2Hi = 0;
  cr8 = 0;
  readonly dr = new Int32Array(16);
  xcr0 = 1;

  // Mode, recomputed by updateMode() after CR0/EFER/CS changes.
  cpl = 0;
  /** 64, 32 or 16: the decoder mode (64-bit mode, or CS.D). */
  codeSize = 32;
  long64 = false;
  /** Stack pointer width in bytes: 8 in 64-bit mode, else 4 or 2 by SS.B. */
  stackSize = 4;
  /** Canonical check shift: 15 (48-bit) or 24 (57-bit with CR4.LA57). */
  canonicalShift = 15;

  // Access classes for the current CPL and EFLAGS.AC (access.ts).
  readClass = 3;
  writeClass = 4;
  fetchClass = 5;

  // The effective address of the current memory operand, then its linear address.
  eaLo = 0;
  eaHi = 0;
  eaSeg = DS;
  linLo = 0;
  linHi = 0;

  // Translations of recently run code pages (fetchDecode), direct-mapped by page number.
  private readonly codePageLo = new Int32Array(CODE_PAGES).fill(1);
  private readonly codePageHi = new Int32Array(CODE_PAGES);
  private readonly codePageRam = new Int32Array(CODE_PAGES);
  private readonly codePageGeneration = new Int32Array(CODE_PAGES);
  private readonly codePageClass = new Int32Array(CODE_PAGES).fill(-1);
  private readonly fetchBuffer = new Uint8Array(16);
  /** Times the code-page translation had to be looked up again (an ITLB lookup); other fetches reuse it. */
  codePageLookups = 0;
  /** Fetches (and entries into compiled code) that reused a code page's translation. */
  codePageHits = 0;
  /** The instruction being executed: a decode-cache entry, or slowInsn. */
  insn: DecodedInstruction;
  /**
   * Decoded instructions by RAM offset (direct-mapped): the RAM offset + 1
   * and the mode. Their bytes are marked as code in the MMU (Mmu.markCode),
   * so a write to them drops the entry (codeWritten) before it runs again.
   */
  private readonly decoded: DecodedInstruction[] = [];
  private readonly decodedAt = new Int32Array(DECODE_CACHE_SIZE);
  private readonly decodedMode = new Uint8Array(DECODE_CACHE_SIZE);
  /** Instructions fetched byte by byte (crossing a page, or from MMIO) are decoded here. */
  private readonly slowInsn = new DecodedInstruction();

  // Run state.
  /** Instructions retired since power-on. */
  icount = 0;
  /** Instructions left in this run() call; a device sets it to 0 to stop the loop. */
  remaining = 0;
  stopReason = STOP_NONE;
  halted = false;
  /**
   * The icount of the one instruction boundary where EFLAGS.RF reads 1: right
   * after an IRET that loaded RF=1, or after a REP string instruction that
   * yielded before its last iteration (SDM Vol. 3A 17.3.1.1). RF is cleared
   * as the next instruction starts, so cr3 keeps this instead of the bit.
   */
  rfIcount = -1;
  /** STI / MOV SS / POP SS: interrupts are held off until after the next instruction. */
  interruptShadow = false;
  /** Set by the interrupt controller when an interrupt may be pending. */
  interruptRequested = false;
  interruptController: InterruptController | null = null;
  /** An NMI waits to be taken (it ignores IF; SDM 6.7.1). */
  nmiPending = false;
  /** An NMI handler runs: further NMIs wait for the next IRET. */
  nmiBlocked = false;
  tscOffset = 0;
  /** The compiler's tier, or null: the interpreter alone (--jit off). */
  jit: CompiledCode | null = null;
  /** Control may have arrived at RIP other than by running on: ask the compiler's tier for code there. */
  jitProbe = true;
  /** RIP (low half) right after the instruction being executed. */
  private fallThroughLo = 0;
  /** The TSC's time base; the PC machine points it at its clock (1 tick = 1 ns). */
  tscNow: () => number = () => this.icount;
  /** The local APIC, when the machine has one. */
  localApic: LocalApicLink | null = null;

  // Exception dispatch.
  pendingVector = 0;
  pendingError = -1;
  /** The exception being delivered (for the double-fault rules), or -1. */
  deliveringVector = -1;
  /** The chain of exceptions since the last successful delivery (for a triple fault report). */
  faultChain: FaultRecord[] = [];
  /** Called before each exception or interrupt is delivered (-d int). */
  onInterrupt: ((vector: number, errorCode: number, software: boolean) => void) | null = null;
  /** Called once per unimplemented opcode (-d unimp). */
  onUnimplemented: ((description: string) => void) | null = null;
  private readonly reportedUnimplemented = new Set<number>();
  /** What a triple fault does: stop (QEMU -no-reboot) or reset. */
  onTripleFault: (() => boolean) | null = null;

  constructor(mmu: Mmu, ports: PortBus, features: CpuFeatures = defaultFeatures()) {
    this.mmu = mmu;
    this.ports = ports;
    this.ram = mmu.bus.ram.u8;
    this.msr = new MsrFile();
    this.features = features;
    for (let k = 0; k < DECODE_CACHE_SIZE; k++) this.decoded.push(new DecodedInstruction());
    this.insn = this.slowInsn;
    mmu.onCodeWrite = (ramPage, chunksLo, chunksHi) => this.codeWritten(ramPage, chunksLo, chunksHi);
    this.reset();
  }

  /** The power-on state a multiboot loader then adjusts: 32-bit flat protected mode, paging off. */
  reset(): void {
    this.regs.fill(0);
    this.ripLo = 0xfff0;
    this.ripHi = 0;
    this.eflags = FIXED_1;
    this.lazyOp = LAZY_NONE;
    this.mmu.setCr4(0);
    this.mmu.setEfer(0);
    this.mmu.setCr0(0x60000010);
    this.mmu.setCr3(0, 0);
    this.cr2Lo = this.cr2Hi = 0;
    this.cr8 = 0;
    this.dr.fill(0);
    this.dr[12] = 0xffff0ff0 | 0;
    this.dr[14] = 0x400;
    this.xcr0 = 1;
    this.msr.reset();
    for (let s = 0; s < 8; s++) this.setSegment(s, 0, 0, 0, 0xffff, s === CS ? 0x9b : s === TR ? 0x8b : s === LDTR ? 0x82 : 0x93);
    this.gdtBaseLo = this.gdtBaseHi = this.idtBaseLo = this.idtBaseHi = 0;
    this.gdtLimit = this.idtLimit = 0xffff;
    this.halted = false;
    this.interruptShadow = false;
    this.nmiPending = false;
    this.nmiBlocked = false;
    this.deliveringVector = -1;
    this.faultChain = [];
    this.stopReason = STOP_NONE;
    this.updateMode();
  }

  /**
   * Loads a flat 32-bit protected-mode state (multiboot's machine state, SDM
   * 9.9.1 style) with QEMU's selectors: CS = 0x08, the data segments 0x10.
   */
  enterFlatProtectedMode(eipLo: number): void {
    // CR0 = PE | ET: the BIOS left caching on (CD = NW = 0) and paging off.
    this.mmu.setCr0(CR0_PE | 0x10);
    this.setSegment(CS, 0x08, 0, 0, 0xffffffff, 0x9b | ATTR_DB | ATTR_G);
    for (const s of [DS, ES, FS, GS, SS]) this.setSegment(s, 0x10, 0, 0, 0xffffffff, 0x93 | ATTR_DB | ATTR_G);
    this.eflags = FIXED_1;
    this.lazyOp = LAZY_NONE;
    this.ripLo = eipLo | 0;
    this.ripHi = 0;
    this.updateMode();
  }

  // --- Segments --------------------------------------------------------------

  setSegment(seg: number, selector: number, baseLo: number, baseHi: number, limit: number, attr: number): void {
    this.segSelector[seg] = selector & 0xffff;
    this.segBaseLo[seg] = baseLo | 0;
    this.segBaseHi[seg] = baseHi | 0;
    this.segLimit[seg] = limit | 0;
    this.segAttr[seg] = attr;
    const usable = (attr & ATTR_UNUSABLE) === 0;
    // Flat: base 0, limit 4 GiB, an expand-up data or any code segment.
    const expandDown = (attr & ATTR_S) !== 0 && (attr & 0xc) === 0x4;
    this.segFlat[seg] = usable && baseLo === 0 && baseHi === 0 && (limit | 0) === -1 && !expandDown ? 1 : 0;
  }

  /** Recomputes the execution mode after CR0, EFER, CS, SS or CR4 change. */
  updateMode(): void {
    const lma = (this.mmu.efer & EFER_LMA) !== 0;
    const csAttr = this.segAttr[CS];
    this.long64 = lma && (csAttr & ATTR_L) !== 0;
    this.codeSize = this.long64 ? 64 : (csAttr & ATTR_DB) !== 0 ? 32 : 16;
    this.stackSize = this.long64 ? 8 : (this.segAttr[SS] & ATTR_DB) !== 0 ? 4 : 2;
    this.canonicalShift = (this.mmu.cr4 & CR4_LA57) !== 0 ? 24 : 15;
    this.updateAccessClasses();
  }

  updateAccessClasses(): void {
    if (this.cpl === 3) {
      this.readClass = 0;
      this.writeClass = 1;
      this.fetchClass = 2;
    } else if ((this.eflags & AC) !== 0) {
      this.readClass = 6;
      this.writeClass = 7;
      this.fetchClass = 5;
    } else {
      this.readClass = 3;
      this.writeClass = 4;
      this.fetchClass = 5;
    }
  }

  // --- Exceptions --------------------------------------------------------------

  /** Raises exception `vector` (error code -1: none). Never returns. */
  raise(vector: number, errorCode = -1): never {
    this.pendingVector = vector;
    this.pendingError = errorCode;
    throw GUEST_EXCEPTION;
  }

  /** Raises the #PF the MMU reported. */
  pageFault(): never {
    const mmu = this.mmu;
    this.cr2Lo = mmu.faultAddressLo;
    this.cr2Hi = mmu.faultAddressHi;
    const code = mmu.faultErrorCode;
    mmu.clearFault();
    this.raise(PF_VECTOR, code);
  }

  /** #UD for an encoding cr3 does not implement, reported once per opcode. */
  unimplemented(): never {
    const i = this.insn;
    const key = (i.map << 16) | (i.opcode << 8) | (i.hasModrm !== 0 ? i.reg & 7 : 0xff);
    if (this.onUnimplemented !== null && !this.reportedUnimplemented.has(key)) {
      this.reportedUnimplemented.add(key);
      const prefix = ["", "0f ", "0f 38 ", "0f 3a "][i.map];
      const ext = i.hasModrm !== 0 ? ` /${i.reg & 7}` : "";
      this.onUnimplemented(`${prefix}${i.opcode.toString(16).padStart(2, "0")}${ext}`);
    }
    this.raise(UD);
  }

  // --- Lazy flags --------------------------------------------------------------

  /** Records an arithmetic result for lazy flag evaluation. */
  setLazy(op: number, size: number, res: number, resHi: number, dst: number, dstHi: number, src: number, srcHi: number): void {
    this.lazyOp = op;
    this.lazySize = size;
    this.lazyRes = res;
    this.lazyResHi = resHi;
    this.lazyDst = dst;
    this.lazyDstHi = dstHi;
    this.lazySrc = src;
    this.lazySrcHi = srcHi;
  }

  getCF(): number {
    const op = this.lazyOp;
    if (op === LAZY_NONE) return this.eflags & CF;
    const size = this.lazySize;
    switch (op) {
      case LAZY_ADD:
        return size === 8 ? this.ult64(this.lazyRes, this.lazyResHi, this.lazyDst, this.lazyDstHi) : (this.lazyRes >>> 0) < (this.lazyDst >>> 0) ? 1 : 0;
      case LAZY_ADC:
        if (this.lazyCarry === 0) return size === 8 ? this.ult64(this.lazyRes, this.lazyResHi, this.lazyDst, this.lazyDstHi) : (this.lazyRes >>> 0) < (this.lazyDst >>> 0) ? 1 : 0;
        return size === 8 ? 1 - this.ult64(this.lazyDst, this.lazyDstHi, this.lazyRes, this.lazyResHi) : (this.lazyRes >>> 0) <= (this.lazyDst >>> 0) ? 1 : 0;
      case LAZY_SUB:
        return size === 8 ? this.ult64(this.lazyDst, this.lazyDstHi, this.lazySrc, this.lazySrcHi) : (this.lazyDst >>> 0) < (this.lazySrc >>> 0) ? 1 : 0;
      case LAZY_SBB:
        if (this.lazyCarry === 0) return size === 8 ? this.ult64(this.lazyDst, this.lazyDstHi, this.lazySrc, this.lazySrcHi) : (this.lazyDst >>> 0) < (this.lazySrc >>> 0) ? 1 : 0;
        return size === 8 ? 1 - this.ult64(this.lazySrc, this.lazySrcHi, this.lazyDst, this.lazyDstHi) : (this.lazyDst >>> 0) <= (this.lazySrc >>> 0) ? 1 : 0;
      case LAZY_LOGIC:
        return 0;
      default:
        return this.lazyCarry;
    }
  }

  /** 1 if hi:lo a < b unsigned. */
  ult64(aLo: number, aHi: number, bLo: number, bHi: number): number {
    if (aHi !== bHi) return (aHi >>> 0) < (bHi >>> 0) ? 1 : 0;
    return (aLo >>> 0) < (bLo >>> 0) ? 1 : 0;
  }

  getZF(): number {
    if (this.lazyOp === LAZY_NONE) return (this.eflags >> 6) & 1;
    const size = this.lazySize;
    if (size === 8) return (this.lazyRes | this.lazyResHi) === 0 ? 1 : 0;
    if (size === 4) return this.lazyRes === 0 ? 1 : 0;
    return (this.lazyRes & (size === 1 ? 0xff : 0xffff)) === 0 ? 1 : 0;
  }

  getSF(): number {
    if (this.lazyOp === LAZY_NONE) return (this.eflags >> 7) & 1;
    const size = this.lazySize;
    if (size === 8) return this.lazyResHi >>> 31;
    if (size === 4) return this.lazyRes >>> 31;
    return (this.lazyRes >> (size === 1 ? 7 : 15)) & 1;
  }

  getOF(): number {
    const op = this.lazyOp;
    if (op === LAZY_NONE) return (this.eflags >> 11) & 1;
    if (op === LAZY_LOGIC) return 0;
    const size = this.lazySize;
    let d = this.lazyDst;
    let s = this.lazySrc;
    let r = this.lazyRes;
    if (size === 8) {
      d = this.lazyDstHi;
      s = this.lazySrcHi;
      r = this.lazyResHi;
    }
    const x = op === LAZY_ADD || op === LAZY_ADC || op === LAZY_INC ? (d ^ r) & (s ^ r) : (d ^ s) & (d ^ r);
    const shift = size === 1 ? 7 : size === 2 ? 15 : 31;
    return (x >>> shift) & 1;
  }

  getPF(): number {
    if (this.lazyOp === LAZY_NONE) return (this.eflags >> 2) & 1;
    return PARITY[this.lazyRes & 0xff] >> 2;
  }

  getAF(): number {
    const op = this.lazyOp;
    if (op === LAZY_NONE) return (this.eflags >> 4) & 1;
    if (op === LAZY_LOGIC) return 0;
    return ((this.lazyDst ^ this.lazySrc ^ this.lazyRes) >> 4) & 1;
  }

  /** EFLAGS with the arithmetic flags evaluated. */
  getEflags(): number {
    if (this.lazyOp === LAZY_NONE) return this.eflags;
    return (
      (this.eflags & ~ARITH_FLAGS) |
      this.getCF() |
      (this.getPF() << 2) |
      (this.getAF() << 4) |
      (this.getZF() << 6) |
      (this.getSF() << 7) |
      (this.getOF() << 11)
    );
  }

  /** Evaluates the lazy flags into eflags (before an instruction changes only some of them). */
  materializeFlags(): void {
    if (this.lazyOp !== LAZY_NONE) {
      this.eflags = this.getEflags();
      this.lazyOp = LAZY_NONE;
    }
  }

  /** Sets the six arithmetic flags from `bits`, keeping the rest. */
  setArithFlags(bits: number): void {
    this.eflags = (this.eflags & ~ARITH_FLAGS) | (bits & ARITH_FLAGS);
    this.lazyOp = LAZY_NONE;
  }

  /** ZF, SF and PF of a result (for eagerly computed flags). */
  resultFlags(size: number, lo: number, hi: number): number {
    let zf: boolean;
    let sign: number;
    if (size === 8) {
      zf = (lo | hi) === 0;
      sign = hi >>> 31;
    } else if (size === 4) {
      zf = lo === 0;
      sign = lo >>> 31;
    } else if (size === 2) {
      zf = (lo & 0xffff) === 0;
      sign = (lo >> 15) & 1;
    } else {
      zf = (lo & 0xff) === 0;
      sign = (lo >> 7) & 1;
    }
    return (zf ? ZF : 0) | (sign << 7) | PARITY[lo & 0xff];
  }

  /** Condition code cc (0-15) of Jcc/SETcc/CMOVcc. */
  condition(cc: number): boolean {
    let r: number;
    switch (cc >> 1) {
      case 0:
        r = this.getOF();
        break;
      case 1:
        r = this.getCF();
        break;
      case 2:
        r = this.getZF();
        break;
      case 3:
        r = this.getCF() | this.getZF();
        break;
      case 4:
        r = this.getSF();
        break;
      case 5:
        r = this.getPF();
        break;
      case 6:
        r = this.getSF() ^ this.getOF();
        break;
      default:
        r = this.getZF() | (this.getSF() ^ this.getOF());
    }
    return (r ^ (cc & 1)) !== 0;
  }

  /** Loads EFLAGS from a guest value (POPF/IRET), keeping the bits `keep` from the current value. */
  writeEflags(value: number, changeable: number): void {
    const old = this.getEflags();
    this.eflags = ((old & ~changeable) | (value & changeable) | FIXED_1) & ~0x8028;
    this.lazyOp = LAZY_NONE;
    if (((old ^ this.eflags) & AC) !== 0) this.updateAccessClasses();
  }

  // --- Registers -------------------------------------------------------------------

  /** Reads register r at `size` bytes (8-bit: rexPresent selects SPL..DIL over AH..BH). */
  getReg(size: number, r: number, rexPresent: number): number {
    const regs = this.regs;
    if (size === 8) {
      this.hi = regs[(r << 1) | 1];
      return regs[r << 1];
    }
    if (size === 4) return regs[r << 1];
    if (size === 2) return regs[r << 1] & 0xffff;
    if (r < 4 || rexPresent !== 0) return regs[r << 1] & 0xff;
    return (regs[(r - 4) << 1] >> 8) & 0xff;
  }

  /** Writes register r at `size` bytes (32-bit writes zero the high half, SDM Vol. 1, 3.4.1.1). */
  setReg(size: number, r: number, rexPresent: number, lo: number, hi: number): void {
    const regs = this.regs;
    const i = r << 1;
    if (size === 8) {
      regs[i] = lo;
      regs[i | 1] = hi;
    } else if (size === 4) {
      regs[i] = lo;
      regs[i | 1] = 0;
    } else if (size === 2) {
      regs[i] = (regs[i] & ~0xffff) | (lo & 0xffff);
    } else if (r < 4 || rexPresent !== 0) {
      regs[i] = (regs[i] & ~0xff) | (lo & 0xff);
    } else {
      const j = (r - 4) << 1;
      regs[j] = (regs[j] & ~0xff00) | ((lo & 0xff) << 8);
    }
  }

  // --- Addresses -------------------------------------------------------------------

  /** Computes the effective address and segment of the ModRM memory operand into eaLo/eaHi/eaSeg. */
  computeEa(i: DecodedInstruction): void {
    const regs = this.regs;
    const base = i.base;
    const index = i.index;
    const asz = i.addressSize;
    if (asz === 8) {
      let lo = i.displacement;
      let hi = lo >> 31;
      if (base >= 0) {
        const t = (lo >>> 0) + (regs[base << 1] >>> 0);
        hi = (hi + regs[(base << 1) | 1] + (t > 0xffffffff ? 1 : 0)) | 0;
        lo = t | 0;
      } else if (i.ripRelative !== 0) {
        const t = (lo >>> 0) + (this.ripLo >>> 0);
        hi = (hi + this.ripHi + (t > 0xffffffff ? 1 : 0)) | 0;
        lo = t | 0;
      }
      if (index >= 0) {
        let il = regs[index << 1];
        let ih = regs[(index << 1) | 1];
        const scale = i.scale;
        if (scale !== 1) {
          const sh = scale === 2 ? 1 : scale === 4 ? 2 : 3;
          ih = (ih << sh) | (il >>> (32 - sh));
          il <<= sh;
        }
        const t = (lo >>> 0) + (il >>> 0);
        hi = (hi + ih + (t > 0xffffffff ? 1 : 0)) | 0;
        lo = t | 0;
      }
      this.eaLo = lo;
      this.eaHi = hi;
    } else if (asz === 4) {
      let lo = i.displacement;
      if (base >= 0) lo = (lo + regs[base << 1]) | 0;
      else if (i.ripRelative !== 0) lo = (lo + this.ripLo) | 0;
      if (index >= 0) lo = (lo + Math.imul(regs[index << 1], i.scale)) | 0;
      this.eaLo = lo;
      this.eaHi = 0;
    } else {
      let lo = i.displacement;
      if (base >= 0) lo += regs[base << 1];
      if (index >= 0) lo += regs[index << 1];
      this.eaLo = lo & 0xffff;
      this.eaHi = 0;
    }
    let seg = i.segment;
    if (seg < 0) seg = base === 4 || base === 5 ? SS : DS;
    this.eaSeg = seg;
  }

  /**
   * The linear address of eaSeg:eaHi:eaLo for a `size`-byte access into
   * linLo/linHi, with the segment checks: canonical form in 64-bit mode
   * (SDM 3.3.7.1: #GP(0), or #SS(0) for stack references), limits and
   * rights outside it (SDM 5.3, 5.6).
   */
  linear(seg: number, lo: number, hi: number, size: number, write: boolean): void {
    if (this.long64) {
      if (seg >= FS) {
        const t = (lo >>> 0) + (this.segBaseLo[seg] >>> 0);
        hi = (hi + this.segBaseHi[seg] + (t > 0xffffffff ? 1 : 0)) | 0;
        lo = t | 0;
      }
      const top = hi >> this.canonicalShift;
      if (top !== 0 && top !== -1) this.raise(seg === SS ? SS_VECTOR : GP, 0);
      this.linLo = lo;
      this.linHi = hi;
      return;
    }
    if (this.segFlat[seg] === 0) this.checkSegment(seg, lo, size, write);
    this.linLo = (lo + this.segBaseLo[seg]) | 0;
    this.linHi = 0;
  }

  /** Limit and type checks of a non-flat segment (SDM 5.3 and 5.6). */
  private checkSegment(seg: number, offset: number, size: number, write: boolean): void {
    const attr = this.segAttr[seg];
    const vector = seg === SS ? SS_VECTOR : GP;
    if ((attr & ATTR_UNUSABLE) !== 0) this.raise(vector, 0);
    const type = attr & ATTR_TYPE;
    if ((attr & ATTR_S) !== 0) {
      const code = (type & 8) !== 0;
      if (write && (code || (type & 2) === 0)) this.raise(vector, 0);
      if (!write && code && (type & 2) === 0 && seg !== CS) this.raise(vector, 0);
    }
    const first = offset >>> 0;
    const last = first + size - 1;
    const limit = this.segLimit[seg] >>> 0;
    if ((attr & ATTR_S) !== 0 && (type & 0xc) === 0x4) {
      // Expand-down data: valid offsets are limit+1 .. 0xffff or 0xffffffff.
      const top = (attr & ATTR_DB) !== 0 ? 0xffffffff : 0xffff;
      if (first <= limit || last > top) this.raise(vector, 0);
    } else if (last > limit) {
      this.raise(vector, 0);
    }
  }

  // --- Memory through the MMU ----------------------------------------------------

  readLinear8(lo: number, hi: number): number {
    const v = this.mmu.read8(lo, hi, this.readClass);
    if (this.mmu.faultPending) this.pageFault();
    return v;
  }

  readLinear16(lo: number, hi: number): number {
    const v = this.mmu.read16(lo, hi, this.readClass);
    if (this.mmu.faultPending) this.pageFault();
    return v;
  }

  readLinear32(lo: number, hi: number): number {
    const v = this.mmu.read32(lo, hi, this.readClass);
    if (this.mmu.faultPending) this.pageFault();
    return v;
  }

  /** Low half; high half in this.hi. */
  readLinear64(lo: number, hi: number): number {
    const mmu = this.mmu;
    const v = mmu.read64(lo, hi, this.readClass);
    if (mmu.faultPending) this.pageFault();
    this.hi = mmu.high;
    return v;
  }

  /** A `size`-byte read at a linear address; 8 bytes leave the high half in this.hi. */
  readLinear(size: number, lo: number, hi: number): number {
    if (size === 4) return this.readLinear32(lo, hi);
    if (size === 8) return this.readLinear64(lo, hi);
    if (size === 1) return this.readLinear8(lo, hi);
    return this.readLinear16(lo, hi);
  }

  writeLinear(size: number, lo: number, hi: number, value: number, valueHi: number): void {
    const mmu = this.mmu;
    const cls = this.writeClass;
    if (size === 4) mmu.write32(lo, hi, cls, value);
    else if (size === 8) mmu.write64(lo, hi, cls, value, valueHi);
    else if (size === 1) mmu.write8(lo, hi, cls, value);
    else mmu.write16(lo, hi, cls, value);
    if (mmu.faultPending) this.pageFault();
  }

  /** Checks that a `size`-byte write at a linear address would succeed (for instructions that must not partly complete). */
  probeWrite(lo: number, hi: number, size: number): void {
    const mmu = this.mmu;
    if (mmu.translate(lo, hi, this.writeClass) < 0) this.pageFault();
    const end = ((lo & 0xfff) + size - 1) >>> 12;
    if (end !== 0) {
      const next = ((lo | 0xfff) >>> 0) + 1;
      if (mmu.translate(next | 0, next > 0xffffffff ? hi + 1 : hi, this.writeClass) < 0) this.pageFault();
    }
  }

  /** Reads `size` bytes at seg:offset (offset as halves). */
  readMem(seg: number, lo: number, hi: number, size: number): number {
    this.linear(seg, lo, hi, size, false);
    return this.readLinear(size, this.linLo, this.linHi);
  }

  writeMem(seg: number, lo: number, hi: number, size: number, value: number, valueHi: number): void {
    this.linear(seg, lo, hi, size, true);
    this.writeLinear(size, this.linLo, this.linHi, value, valueHi);
  }

  /** Supervisor (implicit) accesses to system structures: GDT, LDT, IDT, TSS (SDM 4.6). */
  readSystem32(lo: number, hi: number): number {
    const v = this.mmu.read32(lo, hi, 3);
    if (this.mmu.faultPending) this.pageFault();
    return v;
  }

  readSystem16(lo: number, hi: number): number {
    const v = this.mmu.read16(lo, hi, 3);
    if (this.mmu.faultPending) this.pageFault();
    return v;
  }

  writeSystem32(lo: number, hi: number, value: number): void {
    this.mmu.write32(lo, hi, 4, value);
    if (this.mmu.faultPending) this.pageFault();
  }

  writeSystem8(lo: number, hi: number, value: number): void {
    this.mmu.write8(lo, hi, 4, value);
    if (this.mmu.faultPending) this.pageFault();
  }

  // --- ModRM operands ---------------------------------------------------------------

  /** Reads the r/m operand (register or memory) at `size`. */
  readRm(i: DecodedInstruction, size: number): number {
    if (i.mod === 3) return this.getReg(size, i.rm, i.rex);
    this.computeEa(i);
    return this.readMem(this.eaSeg, this.eaLo, this.eaHi, size);
  }

  /** Writes the r/m operand; for memory, the address from the last readRm/computeEa is reused when `sameEa`. */
  writeRm(i: DecodedInstruction, size: number, lo: number, hi: number, sameEa: boolean): void {
    if (i.mod === 3) {
      this.setReg(size, i.rm, i.rex, lo, hi);
      return;
    }
    if (sameEa) {
      // The read already checked the address; writes to a read-only page fault here.
      this.writeLinear(size, this.linLo, this.linHi, lo, hi);
      return;
    }
    this.computeEa(i);
    this.writeMem(this.eaSeg, this.eaLo, this.eaHi, size, lo, hi);
  }

  /** Read-for-write of a memory operand: the write permission is checked before the read (locked RMW semantics). */
  readRmForWrite(i: DecodedInstruction, size: number): number {
    if (i.mod === 3) return this.getReg(size, i.rm, i.rex);
    this.computeEa(i);
    this.linear(this.eaSeg, this.eaLo, this.eaHi, size, true);
    const mmu = this.mmu;
    const lo = this.linLo;
    const hi = this.linHi;
    // A write-class read faults like the write would (W=1 in the error code),
    // as hardware reports for read-modify-write instructions.
    let v: number;
    const cls = this.writeClass;
    if (size === 4) v = mmu.read32(lo, hi, cls);
    else if (size === 8) {
      v = mmu.read64(lo, hi, cls);
      this.hi = mmu.high;
    } else if (size === 1) v = mmu.read8(lo, hi, cls);
    else v = mmu.read16(lo, hi, cls);
    if (mmu.faultPending) this.pageFault();
    return v;
  }

  // --- Stack -------------------------------------------------------------------------

  /** Pushes `size` bytes (2, 4 or 8). The write happens before RSP changes, so a fault leaves RSP intact. */
  push(size: number, lo: number, hi: number): void {
    const regs = this.regs;
    const ss = this.stackSize;
    let spLo = regs[8];
    let spHi = regs[9];
    if (ss === 8) {
      const t = (spLo >>> 0) - size;
      spHi = t < 0 ? (spHi - 1) | 0 : spHi;
      spLo = t | 0;
    } else if (ss === 4) {
      spLo = (spLo - size) | 0;
    } else {
      spLo = (spLo & ~0xffff) | ((spLo - size) & 0xffff);
    }
    const offset = ss === 2 ? spLo & 0xffff : spLo;
    this.writeMem(SS, offset, ss === 8 ? spHi : 0, size, lo, hi);
    regs[8] = spLo;
    if (ss === 8) regs[9] = spHi;
  }

  /** Reads the value at the stack top without popping (for pops that may still fault elsewhere). */
  peek(size: number, depth: number): number {
    const regs = this.regs;
    const ss = this.stackSize;
    let lo = regs[8];
    let hi = ss === 8 ? regs[9] : 0;
    if (depth !== 0) {
      if (ss === 8) {
        const t = (lo >>> 0) + depth;
        hi = (hi + (t > 0xffffffff ? 1 : 0)) | 0;
        lo = t | 0;
      } else lo = (lo + depth) | 0;
    }
    if (ss === 2) lo &= 0xffff;
    return this.readMem(SS, lo, hi, size);
  }

  /** Adds `bytes` to the stack pointer at the stack's width. */
  adjustSp(bytes: number): void {
    const regs = this.regs;
    const ss = this.stackSize;
    if (ss === 8) {
      const t = (regs[8] >>> 0) + bytes;
      if (t > 0xffffffff) regs[9] = (regs[9] + 1) | 0;
      else if (t < 0) regs[9] = (regs[9] - 1) | 0;
      regs[8] = t | 0;
    } else if (ss === 4) regs[8] = (regs[8] + bytes) | 0;
    else regs[8] = (regs[8] & ~0xffff) | ((regs[8] + bytes) & 0xffff);
  }

  pop(size: number): number {
    const v = this.peek(size, 0);
    const h = this.hi;
    this.adjustSp(size);
    this.hi = h;
    return v;
  }

  // --- Control flow -----------------------------------------------------------------

  /** Jumps to a near target (already computed as halves) at operand size `size`. */
  jumpNear(size: number, lo: number, hi: number): void {
    if (size === 8) {
      const top = hi >> this.canonicalShift;
      if (top !== 0 && top !== -1) this.raise(GP, 0);
      this.ripLo = lo;
      this.ripHi = hi;
      return;
    }
    if (size === 2) lo &= 0xffff;
    if (!this.long64 && this.segFlat[CS] === 0 && (lo >>> 0) > (this.segLimit[CS] >>> 0)) this.raise(GP, 0);
    this.ripLo = lo;
    this.ripHi = 0;
  }

  /** Jumps relative to the next instruction by the signed displacement `rel`. */
  jumpRelative(size: number, rel: number): void {
    let lo = this.ripLo;
    let hi = this.ripHi;
    const t = (lo >>> 0) + rel;
    if (this.long64) {
      if (t > 0xffffffff) hi = (hi + 1) | 0;
      else if (t < 0) hi = (hi - 1) | 0;
    }
    lo = t | 0;
    this.jumpNear(this.long64 ? 8 : size, lo, this.long64 ? hi : 0);
  }

  // --- Fetch, decode, execute ---------------------------------------------------------

  /**
   * Decodes the instruction at RIP into this.insn and advances RIP past it.
   * Decoded instructions are cached by RAM offset and mode; a write to their
   * bytes drops them (codeWritten), so self-modifying and freshly loaded
   * code is decoded again.
   */
  private fetchDecode(): void {
    let lo = this.ripLo;
    let hi = this.ripHi;
    if (!this.long64) {
      if (this.segFlat[CS] === 0) {
        if ((lo >>> 0) > (this.segLimit[CS] >>> 0)) this.raise(GP, 0);
        lo = (lo + this.segBaseLo[CS]) | 0;
      }
      hi = 0;
    }
    const pageOffset = lo & 0xfff;
    const pageRam = this.codePage(lo, hi);
    let length = -1;
    if (pageRam >= 0) {
      const start = pageRam + pageOffset;
      const slot = start & DECODE_CACHE_MASK;
      const mode = this.codeSize;
      if (this.decodedAt[slot] === start + 1 && this.decodedMode[slot] === mode) {
        const cached = this.decoded[slot];
        this.insn = cached;
        length = cached.length;
      } else {
        const target = this.decoded[slot];
        const end = pageRam + 4096;
        length = decode(this.ram, start, mode, target, start + 15 < end ? start + 15 : end);
        if (length > 0) {
          this.decodedAt[slot] = start + 1;
          this.decodedMode[slot] = mode;
          this.mmu.markCode(start, length);
          this.insn = target;
        } else {
          this.decodedAt[slot] = 0;
          if (length === DECODE_INCOMPLETE) length = this.fetchSlow(lo, hi, pageRam); // crosses into the next page
        }
      }
    } else {
      length = this.fetchSlow(lo, hi, -1);
    }
    if (length < 0) this.decodeFailed(length);
    const t = (this.ripLo >>> 0) + length;
    if (this.long64) {
      if (t > 0xffffffff) this.ripHi = (this.ripHi + 1) | 0;
    }
    this.ripLo = this.codeSize === 16 ? t & 0xffff : t | 0;
    this.fallThroughLo = this.ripLo;
  }

  /**
   * The RAM offset of the code page holding linear hi:lo (-1: not plain RAM),
   * from the translations of recently run code pages, which stay valid while
   * the MMU's generation (any flush or control-register write) and the fetch
   * class hold. A miss translates as an instruction fetch (#PF on failure).
   */
  private codePage(lo: number, hi: number): number {
    const mmu = this.mmu;
    const page = (lo >>> 12) & CODE_PAGES_MASK;
    if (
      this.codePageLo[page] === (lo & ~0xfff) &&
      this.codePageHi[page] === hi &&
      this.codePageGeneration[page] === mmu.generation &&
      this.codePageClass[page] === this.fetchClass
    ) {
      this.codePageHits++;
      return this.codePageRam[page];
    }
    this.codePageLookups++;
    this.codePageClass[page] = -1;
    const pa = mmu.translate(lo, hi, this.fetchClass);
    if (pa < 0) this.pageFault();
    const pageRam = mmu.bus.frameRamOffset(pa);
    this.codePageLo[page] = lo & ~0xfff;
    this.codePageHi[page] = hi;
    this.codePageGeneration[page] = mmu.generation;
    this.codePageClass[page] = this.fetchClass;
    this.codePageRam[page] = pageRam;
    return pageRam;
  }

  /**
   * A write reached code chunks of a RAM page (Mmu.onCodeWrite): decoded
   * instructions overlapping them are dropped (one may start up to 14 bytes
   * before its chunk), then whatever the compiler made of them.
   */
  private codeWritten(ramPage: number, chunksLo: number, chunksHi: number): void {
    const at = this.decodedAt;
    for (let c = 0; c < 64; c++) {
      if (((c < 32 ? chunksLo >>> c : chunksHi >>> (c - 32)) & 1) === 0) continue;
      const first = ramPage * 4096 + c * 64 - 14;
      for (let offset = first < 0 ? 0 : first; offset < ramPage * 4096 + c * 64 + 64; offset++) {
        const slot = offset & DECODE_CACHE_MASK;
        if (at[slot] === offset + 1) at[slot] = 0;
      }
    }
    if (this.jit !== null) this.jit.codeWritten(ramPage, chunksLo, chunksHi);
  }

  /** Forgets every decoded and compiled instruction: for writers that bypass the MMU (a loader, a debugger). */
  invalidateCode(): void {
    this.decodedAt.fill(0);
    this.mmu.clearCodeMarks();
    if (this.jit !== null) this.jit.clear();
  }

  /**
   * The RAM offset of the code page holding linear hi:lo, as the fetch of an
   * instruction at RIP = hi:lo finds it (-1: not plain RAM): the same
   * translation, ITLB lookup and #PF as fetchDecode's, so compiled code
   * entered here leaves the same TLB and walk figures as the interpreter.
   */
  fetchPage(lo: number, hi: number): number {
    this.startLo = this.ripLo;
    this.startHi = this.ripHi;
    return this.codePage(lo, hi);
  }

  /**
   * Decodes an instruction that crosses into the next page, or lies in MMIO:
   * bytes are gathered into a buffer, the next page translated only if the
   * instruction really extends into it (so its #PF has that page's address).
   */
  private fetchSlow(lo: number, hi: number, pageRam: number): number {
    const buf = this.fetchBuffer;
    const mmu = this.mmu;
    const ram = this.ram;
    const mode = this.codeSize;
    let n = 0;
    let nextRam = -2; // the next page's RAM offset once translated; -1: not RAM
    for (;;) {
      const r = n === 0 ? DECODE_INCOMPLETE : decode(buf, 0, mode, this.slowInsn, n);
      if (r !== DECODE_INCOMPLETE) {
        this.insn = this.slowInsn;
        return r;
      }
      if (n === 15) return DECODE_TOO_LONG;
      const t = (lo >>> 0) + n;
      const blo = t | 0;
      const bhi = this.long64 && t > 0xffffffff ? (hi + 1) | 0 : hi;
      const offset = blo & 0xfff;
      if (n > 0 && offset === 0 && nextRam === -2) nextRam = this.codePage(blo, bhi);
      const sameRam = n === 0 || offset > (lo & 0xfff) ? pageRam : nextRam;
      if (sameRam >= 0) buf[n] = ram[sameRam + offset];
      else {
        buf[n] = mmu.fetch8(blo, bhi, this.fetchClass);
        if (mmu.faultPending) this.pageFault();
      }
      n++;
    }
  }

  private decodeFailed(code: number): never {
    if (code === DECODE_TOO_LONG) this.raise(GP, 0);
    if (code === -4) this.unimplemented();
    this.raise(UD);
  }

  /** Executes one instruction (exceptions propagate as GUEST_EXCEPTION). */
  step(): void {
    this.startLo = this.ripLo;
    this.startHi = this.ripHi;
    this.fetchDecode();
    execute(this, this.insn);
  }

  /**
   * Runs up to `budget` instructions. Returns the stop reason; the loop also
   * ends when a device sets `remaining` to 0 (after setting stopReason).
   */
  run(budget: number): number {
    this.stopReason = STOP_NONE;
    this.remaining = budget;
    while (this.remaining > 0) {
      try {
        if (this.halted) {
          if (!this.wake()) break;
          continue;
        }
        while (this.remaining > 0 && !this.halted) {
          if (this.interruptRequested && !this.interruptShadow && ((this.eflags & IF) !== 0 || this.nmiPending)) {
            this.takeInterrupt();
            if (this.halted) break;
          }
          const shadow = this.interruptShadow;
          this.interruptShadow = false;
          const singleStep = this.eflags & TF;
          // Compiled code runs only where nothing can interrupt it between
          // instructions: no single-step trap, no interrupt shadow to honour.
          // It is looked for where control arrived other than by running on
          // (a jump, a call, a return, an event, the end of compiled code).
          if (this.jit !== null && this.jitProbe && singleStep === 0 && !shadow && this.jit.enter(this)) continue;
          this.step();
          this.jitProbe = this.ripLo !== this.fallThroughLo;
          this.icount++;
          this.remaining--;
          if (singleStep !== 0) this.singleStepTrap();
        }
      } catch (e) {
        if (e !== GUEST_EXCEPTION) throw e;
        this.icount++;
        this.remaining--;
        this.jitProbe = true;
        this.dispatchException();
      }
    }
    if (this.stopReason === STOP_NONE) this.stopReason = STOP_BUDGET;
    return this.stopReason;
  }

  /** The #DB trap after an instruction that began with TF=1 (SDM 17.3.1.4): DR6.BS=1, RIP past the instruction. */
  private singleStepTrap(): void {
    this.startLo = this.ripLo;
    this.startHi = this.ripHi;
    this.dr[12] |= 0x4000;
    this.jitProbe = true;
    // A trap, delivered after the instruction retired: not an instruction of its own.
    this.pendingVector = 1;
    this.pendingError = -1;
    this.dispatchException();
  }

  /** Asks the run loop to stop after the current instruction. */
  requestStop(reason: number): void {
    if (this.stopReason === STOP_NONE || this.stopReason === STOP_BUDGET) this.stopReason = reason;
    this.remaining = 0;
  }

  /** The NMI pin (an NMI IPI, or LINT1 in NMI mode): the CPU takes vector 2 at the next instruction boundary. */
  requestNmi(): void {
    this.nmiPending = true;
    if (!this.nmiBlocked) this.interruptRequested = true;
  }

  unblockNmi(): void {
    this.nmiBlocked = false;
    if (this.nmiPending) this.interruptRequested = true;
  }

  private takeInterrupt(): void {
    this.jitProbe = true;
    if (this.nmiPending && !this.nmiBlocked) {
      this.nmiPending = false;
      this.nmiBlocked = true;
      this.halted = false;
      this.startLo = this.ripLo;
      this.startHi = this.ripHi;
      deliverInterrupt(this, 2, -1, INT_EXTERNAL);
      // Whatever the controllers still request comes after the handler's first instruction.
      return;
    }
    if ((this.eflags & IF) === 0) return;
    const controller = this.interruptController;
    if (controller === null) {
      this.interruptRequested = false;
      return;
    }
    const vector = controller.acknowledge();
    if (vector < 0) {
      this.interruptRequested = false;
      return;
    }
    this.halted = false;
    this.startLo = this.ripLo;
    this.startHi = this.ripHi;
    deliverInterrupt(this, vector, -1, INT_EXTERNAL);
  }

  /** HLT: sleep until an interrupt can be taken. Returns false when the run must end. */
  private wake(): boolean {
    if (this.nmiPending && !this.nmiBlocked) {
      this.halted = false;
      return true;
    }
    const controller = this.interruptController;
    if ((this.eflags & IF) === 0 || controller === null || !controller.canInterrupt()) {
      this.requestStop(STOP_HALTED);
      return false;
    }
    if (this.interruptRequested) {
      this.halted = false;
      return true;
    }
    if (!controller.waitForInterrupt()) {
      this.requestStop(STOP_HALTED);
      return false;
    }
    return true;
  }

  /** Delivers the pending exception, applying the double- and triple-fault rules (SDM 6.15, Table 6-5). */
  private dispatchException(): void {
    this.ripLo = this.startLo;
    this.ripHi = this.startHi;
    for (;;) {
      let vector = this.pendingVector;
      let error = this.pendingError;
      const first = this.deliveringVector;
      this.recordFault(vector, error);
      if (first >= 0) {
        const firstContributory = first === 0 || (first >= 10 && first <= 13);
        const secondContributory = vector === 0 || (vector >= 10 && vector <= 13);
        if (first === DF_VECTOR && (secondContributory || vector === PF_VECTOR)) {
          this.tripleFault();
          return;
        }
        if ((firstContributory && secondContributory) || (first === PF_VECTOR && (secondContributory || vector === PF_VECTOR))) {
          vector = DF_VECTOR;
          error = 0;
          this.recordFault(vector, error);
        }
      }
      this.deliveringVector = vector;
      try {
        deliverException(this, vector, error);
        this.deliveringVector = -1;
        this.faultChain = [];
        return;
      } catch (e) {
        if (e !== GUEST_EXCEPTION) throw e;
      }
    }
  }

  private recordFault(vector: number, errorCode: number): void {
    let explanation = "";
    if (vector === PF_VECTOR) {
      try {
        explanation = this.mmu.explainWalk(this.cr2Lo, this.cr2Hi, this.classOfPageFault(errorCode), this.cpl).summary;
      } catch {
        explanation = "";
      }
    }
    this.faultChain.push({ vector, errorCode, ripLo: this.startLo, ripHi: this.startHi, cr2Lo: this.cr2Lo, cr2Hi: this.cr2Hi, cpl: this.cpl, explanation });
    if (this.faultChain.length > 8) this.faultChain.shift();
  }

  /** The access class a #PF error code describes (for explanations). */
  classOfPageFault(errorCode: number): number {
    const kind = (errorCode & 0x10) !== 0 ? 2 : (errorCode & 2) !== 0 ? 1 : 0;
    if ((errorCode & 4) !== 0) return kind;
    return kind + 3 * ((this.eflags & AC) !== 0 && kind !== 2 ? 2 : 1);
  }

  private tripleFault(): void {
    this.deliveringVector = -1;
    if (this.onTripleFault !== null && this.onTripleFault()) return; // reset
    this.requestStop(STOP_TRIPLE_FAULT);
  }

  // --- Time ---------------------------------------------------------------------------

  /** The TSC: the machine's time base (by default instructions retired), plus the offset WRMSR to IA32_TSC set. */
  readTsc(): number {
    return this.tscNow() + this.tscOffset;
  }
}

