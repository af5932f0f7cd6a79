// Turns a Region into the source of one JavaScript function: guest registers
// in local int32 variables (low and high halves), one `case` per basic block
// in a label loop, laid out in page order so a jump to the next block falls
// through, memory through the inlined TLB hit path (memory-emit.ts).
//
// One definition of each instruction: flags are what the interpreter's
// helpers make them. An ALU operation or TEST records the same lazy
// operation alu() would (LAZY_OF_ALU); INC/DEC, ADC/SBB and rotates call
// incDec, alu and shift; a shift by a constant or an IMUL keeps its operands
// and calls shift or imulTruncating only if its flags are read; a condition
// not fused is Cpu.condition. The compiler's own code is the bare values
// (an add on halves, a shift by a constant) and the conditions a
// Jcc/SETcc/CMOVcc reads straight from the operands of a flag producer before
// it; test/jit-values.test.ts holds both to the interpreter. Instructions not
// inlined call the interpreter's handler (execute) for that one instruction.
//
// Exactness: the budget is checked on the way in and at loop heads
// (checkpoints, region.ts) for the longest run to the next one; the region
// counts retired instructions in a local and writes icount and remaining to
// the CPU around every call that may reach a device. An exception unwinds
// through the function's catch, which writes the registers and pending flags
// back, counts the instructions before the faulting one and sets its RIP, as
// the interpreter's run loop expects.

import type { DecodedInstruction } from "../cpu/decoder.ts";
import { LAZY_ADD, LAZY_LOGIC, LAZY_SUB } from "../cpu/flags.ts";
import { SS } from "../cpu/cpu.ts";
import { CALL, CALL_END } from "./instruction-info.ts";
import { type MemoryContext, effectiveAddress, linearAddress, load, segmentOf, store } from "./memory-emit.ts";
import { PRODUCER_LOGIC, PRODUCER_RESULT, PRODUCER_SUB, type Region, type RegionInstruction } from "./region.ts";

export interface CompileMode {
  long64: boolean;
  stackSize: number;
  canonicalShift: number;
  readClass: number;
  writeClass: number;
  flatSegments: number;
  dSetMask: number;
  dSetShift: number;
}

const MASK = [0, 255, 65535, 0, -1, 0, 0, 0, -1];

/**
 * Lazy flags recorded by compiled code live in locals (fo: the lazy op, -1
 * when the CPU's fields hold the flags; fz size; fr/frh result; fd/fdh and
 * fs/fsh operands) and reach Cpu.lazy* only where something may read them:
 * a helper or handler, a region exit, an exception (cpu.ts getCF & co.).
 * Two more states defer a helper whose flags are live but seldom read: a
 * shift by a constant (fo = -2: shift(kind fk, size fz, operand fd/fdh,
 * count fs)) and a truncating IMUL (fo = -3: imulTruncating(fz, fd/fdh,
 * fs/fsh)); the helper runs only if something reads them.
 */
const FLUSH_FLAGS =
  "if (fo >= 0) { cpu.lazyOp = fo; cpu.lazySize = fz; cpu.lazyRes = fr; cpu.lazyResHi = frh; cpu.lazyDst = fd; cpu.lazyDstHi = fdh; cpu.lazySrc = fs; cpu.lazySrcHi = fsh; cpu.lazyCarry = 0; fo = -1; } " +
  "else if (fo === -2) { fo = -1; shift(cpu, fk, fz, fd, fdh, fs); } else if (fo === -3) { fo = -1; imulTruncating(cpu, fz, fd, fdh, fs, fsh); }";

/** The lazy op alu() records for each ALU operation (flags.ts LAZY_*; ADC/SBB use alu() itself). */
const LAZY_OF_ALU = [LAZY_ADD, LAZY_LOGIC, -1, -1, LAZY_LOGIC, LAZY_SUB, LAZY_LOGIC, LAZY_SUB];

/** The compiled function's source and its tables. */
export interface EmittedRegion {
  /** Body of `new Function("cpu", "M", "I", "RL", "RH", "POS", "LBL", "h", body)`, which returns the region's function(label). */
  body: string;
  /** Per instruction: RIP halves and its position in its block. */
  ripLo: Int32Array;
  ripHi: Int32Array;
  position: Int32Array;
  /** The checked label (2b+1) of the block starting at each page offset, or -1. */
  labels: Int16Array;
}

class Emitter implements MemoryContext {
  readonly long64: boolean;
  readonly canonicalShift: number;
  readonly flatSegments: number;
  readonly dSetMask: number;
  readonly dSetShift: number;
  private readonly used = new Uint8Array(16);
  private readonly mode: CompileMode;
  private readonly region: Region;
  /** Code of the instruction being emitted. */
  private code: string[] = [];
  /** Index of the instruction being emitted, and its position in its block. */
  private index = 0;
  private pos = 0;
  /**
   * Code that records the flags of the instruction being emitted when it
   * left them dead: run only if the region ends right after it (a device or
   * code write), where the next instruction is the interpreter's.
   */
  private deadFlags = "";
  /** Index of the block being emitted. */
  private block = 0;
  /** The instruction being emitted has a slow path that may ask for the region to end. */
  private sideEffects = false;

  constructor(region: Region, mode: CompileMode) {
    this.region = region;
    this.mode = mode;
    this.long64 = mode.long64;
    this.canonicalShift = mode.canonicalShift;
    this.flatSegments = mode.flatSegments;
    this.dSetMask = mode.dSetMask;
    this.dSetShift = mode.dSetShift;
  }

  lo(r: number): string {
    this.used[r] = 1;
    return `r${r}`;
  }

  hi(r: number): string {
    this.used[r] = 1;
    return `h${r}`;
  }

  private emit(s: string): void {
    this.code.push(s);
  }

  // --- Registers (Cpu.getReg / Cpu.setReg) -----------------------------------

  /** Register r read at `size` bytes into dst/dstHi (dstHi: 0 below 8 bytes). */
  private readReg(size: number, r: number, rex: number, dst: string, dstHi: string): void {
    if (size === 8) this.emit(`${dst} = ${this.lo(r)}; ${dstHi} = ${this.hi(r)};`);
    else if (size === 4) this.emit(`${dst} = ${this.lo(r)}; ${dstHi} = 0;`);
    else if (size === 2) this.emit(`${dst} = ${this.lo(r)} & 65535; ${dstHi} = 0;`);
    else if (r < 4 || rex !== 0) this.emit(`${dst} = ${this.lo(r)} & 255; ${dstHi} = 0;`);
    else this.emit(`${dst} = (${this.lo(r - 4)} >> 8) & 255; ${dstHi} = 0;`);
  }

  /** Writes lo/hi (temporaries or literals, int32) to register r at `size` bytes. */
  private writeReg(size: number, r: number, rex: number, lo: string, hi: string): void {
    if (size === 8) this.emit(`${this.lo(r)} = ${lo}; ${this.hi(r)} = ${hi};`);
    else if (size === 4) this.emit(`${this.lo(r)} = ${lo}; ${this.hi(r)} = 0;`);
    else if (size === 2) this.emit(`${this.lo(r)} = (${this.lo(r)} & -65536) | (${lo} & 65535);`);
    else if (r < 4 || rex !== 0) this.emit(`${this.lo(r)} = (${this.lo(r)} & -256) | (${lo} & 255);`);
    else this.emit(`${this.lo(r - 4)} = (${this.lo(r - 4)} & -65281) | ((${lo} & 255) << 8);`);
  }

  // --- Memory operands ---------------------------------------------------------

  private address(x: RegionInstruction, size: number, write: boolean): void {
    const i = x.insn;
    this.emit(effectiveAddress(this, i, x.nextLo, x.nextHi));
    this.emit(linearAddress(this, segmentOf(i), size, write));
  }

  /** Reads the r/m operand into dst/dstHi with class `cls` (Cpu.readRm, or readRmForWrite with the write class). */
  private readRm(x: RegionInstruction, size: number, cls: number, dst: string, dstHi: string): void {
    const i = x.insn;
    if (i.mod === 3) {
      this.readReg(size, i.rm, i.rex, dst, dstHi);
      return;
    }
    this.address(x, size, cls === this.mode.writeClass);
    if (size !== 8) this.emit(`${dstHi} = 0;`);
    this.emit(load(this, size, cls, dst, dstHi, this.pos));
    this.sideEffects = true;
  }

  /** Writes the r/m operand; `sameAddress`: the last readRm's linear address (Cpu.writeRm with sameEa). */
  private writeRm(x: RegionInstruction, size: number, lo: string, hi: string, sameAddress: boolean): void {
    const i = x.insn;
    if (i.mod === 3) {
      this.writeReg(size, i.rm, i.rex, lo, hi);
      return;
    }
    if (!sameAddress) this.address(x, size, true);
    this.emit(store(this, size, this.mode.writeClass, lo, hi, this.pos));
    this.sideEffects = true;
  }

  // --- The stack (Cpu.push / peek / adjustSp; 8- or 4-byte stack) -------------

  /** Pushes v/vh at `size` bytes. */
  private push(size: number, lo: string, hi: string): void {
    const sp = this.lo(4);
    const sph = this.hi(4);
    if (this.mode.stackSize === 8) this.emit(`t = (${sp} >>> 0) - ${size}; dh = t < 0 ? (${sph} - 1) | 0 : ${sph}; d = t | 0; ea = d; eh = dh;`);
    else this.emit(`d = (${sp} - ${size}) | 0; ea = d; eh = 0;`);
    this.emit(linearAddress(this, SS, size, true));
    this.emit(store(this, size, this.mode.writeClass, lo, hi, this.pos));
    this.sideEffects = true;
    this.emit(this.mode.stackSize === 8 ? `${sp} = d; ${sph} = dh;` : `${sp} = d;`);
  }

  /** Reads the stack top into v/vh (Cpu.peek). */
  private peek(size: number): void {
    const sp = this.lo(4);
    this.emit(this.mode.stackSize === 8 ? `ea = ${sp}; eh = ${this.hi(4)};` : `ea = ${sp}; eh = 0;`);
    this.emit(linearAddress(this, SS, size, false));
    if (size !== 8) this.emit(`vh = 0;`);
    this.emit(load(this, size, this.mode.readClass, "v", "vh", this.pos));
    this.sideEffects = true;
  }

  private adjustSp(bytes: number): void {
    const sp = this.lo(4);
    const sph = this.hi(4);
    if (this.mode.stackSize === 8) this.emit(`t = (${sp} >>> 0) + ${bytes}; if (t > 4294967295) ${sph} = (${sph} + 1) | 0; ${sp} = t | 0;`);
    else this.emit(`${sp} = (${sp} + ${bytes}) | 0;`);
  }

  // --- Control flow -------------------------------------------------------------

  /** Leaves the region at lo:hi. */
  private exitTo(lo: number | string, hi: number | string): string {
    return `cpu.ripLo = ${lo}; cpu.ripHi = ${hi}; break L;`;
  }

  /**
   * Goes to page offset `offset`'s block if the region has one, else leaves
   * at lo:hi. A checkpoint first checks the instruction budget. Block b's
   * code is `case 2b`, in offset order, so as a block's last statement
   * (`last`) a jump to the next block just falls into it; `case 2b+1`, the
   * way in from outside, checks the budget and goes to 2b.
   */
  private goTo(offset: number, lo: number, hi: number, last: boolean): string {
    const b = offset >= 0 ? this.region.blockAt.get(offset) : undefined;
    if (b === undefined) return this.exitTo(lo, hi);
    const target = this.region.blocks[b];
    const check = target.checkpoint ? `if (rm0 - n < ${target.budget}) { ${this.exitTo(lo, hi)} } ` : "";
    if (last && b === this.block + 1) return check;
    return `${check}label = ${2 * b}; continue L;`;
  }

  /**
   * Counts `n` retired instructions. The region keeps its count in `n`:
   * icount is ic0 + n and remaining rm0 - n, written to the CPU around calls
   * that may look at them and at the end (rm0 moves if a device cut the run).
   */
  private static retire(n: number): string {
    return `n += ${n};`;
  }

  /** Ends the region after the current instruction if its slow path met a device or code (Mmu.sideEffect). */
  private sideEffectExit(x: RegionInstruction, lo: number | string = x.nextLo, hi: number | string = x.nextHi): void {
    if (!this.sideEffects) return;
    this.emit(`if (se) { se = false; ${this.deadFlags} ${Emitter.retire(this.pos + 1)} ${this.exitTo(lo, hi)} }`);
  }

  // --- Flags ------------------------------------------------------------------

  /**
   * The condition cc as a boolean expression: from the fused producer's
   * operands (d, s, v at `size`) or from the recorded flags (Cpu.condition).
   */
  private condition(cc: number, producer: number, size: number): string {
    const neg = (cc & 1) !== 0;
    const c = cc >> 1;
    let e: string;
    if (producer === PRODUCER_SUB) {
      const sx = size === 1 ? 24 : size === 2 ? 16 : 0;
      const sd = sx === 0 ? "d" : `((d << ${sx}) >> ${sx})`;
      const ss = sx === 0 ? "s" : `((s << ${sx}) >> ${sx})`;
      switch (c) {
        case 1: // B
          e = size === 8 ? `(dh !== sh ? (dh >>> 0) < (sh >>> 0) : (d >>> 0) < (s >>> 0))` : `(d >>> 0) < (s >>> 0)`;
          break;
        case 2: // E
          e = size === 8 ? `(d === s && dh === sh)` : `d === s`;
          break;
        case 3: // BE
          e = size === 8 ? `(dh !== sh ? (dh >>> 0) < (sh >>> 0) : (d >>> 0) <= (s >>> 0))` : `(d >>> 0) <= (s >>> 0)`;
          break;
        case 4: // S
          e = this.signOf("v", "vh", size);
          break;
        case 6: // L
          e = size === 8 ? `(dh !== sh ? dh < sh : (d >>> 0) < (s >>> 0))` : `${sd} < ${ss}`;
          break;
        default: // LE
          e = size === 8 ? `(dh !== sh ? dh < sh : (d >>> 0) <= (s >>> 0))` : `${sd} <= ${ss}`;
      }
    } else if (producer === PRODUCER_LOGIC || producer === PRODUCER_RESULT) {
      const zero = size === 8 ? `(v | vh) === 0` : `v === 0`;
      const sign = this.signOf("v", "vh", size);
      switch (c) {
        case 0: // O (logic: OF = 0)
          e = "false";
          break;
        case 1: // B (logic: CF = 0)
          e = "false";
          break;
        case 2:
        case 3: // E; BE = CF | ZF = ZF
          e = zero;
          break;
        case 4:
        case 6: // S; L = SF ^ OF = SF
          e = sign;
          break;
        default: // LE = ZF | SF
          e = `(${zero} || ${sign})`;
      }
    } else {
      return `cpu.condition(${cc})`;
    }
    return neg ? `!(${e})` : e;
  }

  private signOf(lo: string, hi: string, size: number): string {
    if (size === 8) return `${hi} < 0`;
    if (size === 4) return `${lo} < 0`;
    return `(${lo} & ${size === 2 ? 0x8000 : 0x80}) !== 0`;
  }

  /** The condition of consumer x: fused with the previous instruction, or from the flags. */
  private consumerCondition(x: RegionInstruction, cc: number): string {
    if (!x.fusedConsumer) {
      this.emit(FLUSH_FLAGS);
      return `cpu.condition(${cc})`;
    }
    const p = this.region.instructions[this.index - 1];
    return this.condition(cc, p.fusedProducer, this.producerSize(p.insn));
  }

  /** Operand size of a flag producer: byte forms are the even opcodes, and 80. */
  private producerSize(i: DecodedInstruction): number {
    const op = i.opcode;
    if (op === 0x80) return 1;
    if (op === 0x81 || op === 0x83) return i.operandSize;
    return (op & 1) === 0 ? 1 : i.operandSize;
  }

  // --- ALU (alu.ts) --------------------------------------------------------------

  /**
   * v/vh = d op s at `size`. With live flags, the interpreter's alu() computes
   * and records them; with dead ones the bare value (only if `needValue`).
   */
  private aluOp(x: RegionInstruction, op: number, size: number, needValue: boolean): void {
    if (op === 2 || op === 3) {
      // ADC/SBB read CF: the interpreter's alu() with the flags in the CPU.
      this.emit(`${FLUSH_FLAGS} v = alu(cpu, ${op}, ${size}, d, dh, s, sh); vh = cpu.hi;`);
      return;
    }
    const logic = LAZY_OF_ALU[op] === LAZY_LOGIC;
    const record = `fo = ${LAZY_OF_ALU[op]}; fz = ${size}; fr = v; frh = ${size === 8 ? "vh" : "0"}; ${logic ? "fd = 0; fdh = 0; fs = 0; fsh = 0;" : "fd = d; fdh = dh; fs = s; fsh = sh;"}`;
    if (x.flagsLiveAfter) {
      this.emit(this.aluValue(op, size));
      this.emit(record);
      return;
    }
    if (needValue) this.emit(this.aluValue(op, size));
    this.deadFlags = `${needValue ? "" : this.aluValue(op, size)} ${record}`;
  }

  /** v/vh = d op s (ADD, SUB/CMP, OR, AND, XOR) without flags, as alu() computes the value. */
  private aluValue(op: number, size: number): string {
    const m = MASK[size];
    if (size === 8) {
      switch (op) {
        case 0:
          return `t = (d >>> 0) + (s >>> 0); vh = (dh + sh + (t > 4294967295 ? 1 : 0)) | 0; v = t | 0;`;
        case 5:
        case 7:
          return `t = (d >>> 0) - (s >>> 0); vh = (dh - sh - (t < 0 ? 1 : 0)) | 0; v = t | 0;`;
        case 1:
          return `v = d | s; vh = dh | sh;`;
        case 4:
          return `v = d & s; vh = dh & sh;`;
        default:
          return `v = d ^ s; vh = dh ^ sh;`;
      }
    }
    const wrap = size === 4 ? "| 0" : `& ${m}`;
    switch (op) {
      case 0:
        return `v = (d + s) ${wrap}; vh = 0;`;
      case 5:
      case 7:
        return `v = (d - s) ${wrap}; vh = 0;`;
      case 1:
        return `v = d | s; vh = 0;`;
      case 4:
        return `v = d & s; vh = 0;`;
      default:
        return `v = d ^ s; vh = 0;`;
    }
  }

  /** Whether the fused consumer after x needs x's result v (and not just its operands). */
  private static consumerNeedsResult(x: RegionInstruction, next: RegionInstruction | undefined): boolean {
    if (x.fusedProducer === 0 || next === undefined) return false;
    if (x.fusedProducer !== PRODUCER_SUB) return true;
    const i = next.insn;
    return ((i.opcode & 15) >> 1) === 4;
  }

  /** 00-3F forms 0-5 and 80/81/83: `op` on r/m, reg or accumulator. */
  private aluInstruction(x: RegionInstruction, op: number, form: number, immediate: boolean): void {
    const i = x.insn;
    const size = this.producerSize(i);
    const next = this.region.instructions[this.index + 1];
    const needValue = op !== 7 || Emitter.consumerNeedsResult(x, x.fusedProducer !== 0 ? next : undefined);
    const m = MASK[size];
    const imm = (): void => {
      if (size === 8) this.emit(`s = ${i.immediateLo | 0}; sh = ${i.immediateHi | 0};`);
      else this.emit(`s = ${size === 4 ? i.immediateLo | 0 : i.immediateLo & m}; sh = 0;`);
    };
    if (immediate) {
      // 80/81/83: r/m op imm.
      if (op === 7) this.readRm(x, size, this.mode.readClass, "d", "dh");
      else this.readRm(x, size, this.mode.writeClass, "d", "dh");
      imm();
      this.aluOp(x, op, size, needValue);
      if (op !== 7) this.writeRm(x, size, "v", "vh", true);
      return;
    }
    if (form < 2) {
      this.readReg(size, i.reg, i.rex, "s", "sh");
      if (op === 7) this.readRm(x, size, this.mode.readClass, "d", "dh");
      else this.readRm(x, size, this.mode.writeClass, "d", "dh");
      this.aluOp(x, op, size, needValue);
      if (op !== 7) this.writeRm(x, size, "v", "vh", true);
    } else if (form < 4) {
      this.readRm(x, size, this.mode.readClass, "s", "sh");
      this.readReg(size, i.reg, i.rex, "d", "dh");
      this.aluOp(x, op, size, needValue);
      if (op !== 7) this.writeReg(size, i.reg, i.rex, "v", "vh");
    } else {
      this.readReg(size, 0, 1, "d", "dh");
      imm();
      this.aluOp(x, op, size, needValue);
      if (op !== 7) this.writeReg(size, 0, 1, "v", "vh");
    }
  }

  /** TEST r/m, reg or imm (84/85/A8/A9/F6-F7 /0-1): LOGIC flags of d & s. */
  private test(x: RegionInstruction, size: number, source: "reg" | "imm" | "acc"): void {
    const i = x.insn;
    const m = MASK[size];
    if (source === "acc") this.readReg(size, 0, 1, "d", "dh");
    else this.readRm(x, size, this.mode.readClass, "d", "dh");
    if (source === "reg") this.readReg(size, i.reg, i.rex, "s", "sh");
    else if (size === 8) this.emit(`s = ${i.immediateLo | 0}; sh = ${i.immediateHi | 0};`);
    else this.emit(`s = ${size === 4 ? i.immediateLo | 0 : i.immediateLo & m}; sh = 0;`);
    this.emit(size === 8 ? `v = d & s; vh = dh & sh;` : `v = d & s; vh = 0;`);
    const record = `fo = ${LAZY_LOGIC}; fz = ${size}; fr = v; frh = vh; fd = 0; fdh = 0; fs = 0; fsh = 0;`;
    if (x.flagsLiveAfter) this.emit(record);
    else this.deadFlags = record;
  }

  /** v/vh = the truncated product (IMUL with two or three operands): imulTruncating with live flags, else the bare low half. */
  private imul(x: RegionInstruction, size: number, a: string, ah: string, b: string, bh: string): void {
    if (x.flagsLiveAfter) this.emit(`fo = -3; fz = ${size}; fd = ${a}; fdh = ${ah}; fs = ${b}; fsh = ${bh};`);
    else this.deadFlags = `fo = -1; imulTruncating(cpu, ${size}, ${a}, ${ah}, ${b}, ${bh});`;
    if (size === 8) this.emit(`v = mulLow64(cpu, ${a}, ${ah}, ${b}, ${bh}); vh = cpu.hi;`);
    else this.emit(`v = ${size === 4 ? `Math.imul(${a}, ${b})` : `Math.imul(${a}, ${b}) & 65535`}; vh = 0;`);
  }

  /** INC/DEC r/m (FE/FF /0-1), keeping CF (alu.ts incDec). */
  private incDec(x: RegionInstruction, size: number, dec: boolean): void {
    this.readRm(x, size, this.mode.writeClass, "d", "dh");
    const flags = `${FLUSH_FLAGS} v = incDec(cpu, ${size}, d, dh, ${dec}); vh = cpu.hi;`;
    if (x.flagsLiveAfter) this.emit(flags);
    else {
      this.deadFlags = flags;
      if (size === 8) this.emit(dec ? `v = (d - 1) | 0; vh = d === 0 ? (dh - 1) | 0 : dh;` : `v = (d + 1) | 0; vh = v === 0 ? (dh + 1) | 0 : dh;`);
      else this.emit(`v = (d ${dec ? "-" : "+"} 1) ${size === 4 ? "| 0" : `& ${MASK[size]}`}; vh = 0;`);
    }
    this.writeRm(x, size, "v", "vh", true);
  }

  /** Group 2 by a constant count (C0/C1/D0/D1). */
  private shiftConstant(x: RegionInstruction): void {
    const i = x.insn;
    const size = (i.opcode & 1) === 0 ? 1 : i.operandSize;
    const count = (i.opcode <= 0xc1 ? i.immediateLo : 1) & (size === 8 ? 63 : 31);
    const kind = i.reg & 7;
    if (count === 0) {
      this.readRm(x, size, this.mode.readClass, "d", "dh");
      if (size === 4 && i.mod === 3) this.emit(`${this.hi(i.rm)} = 0;`);
      return;
    }
    this.readRm(x, size, this.mode.writeClass, "d", "dh");
    const flags = `${kind < 4 ? FLUSH_FLAGS : "fo = -1;"} v = shift(cpu, ${kind}, ${size}, d, dh, ${count}); vh = cpu.hi;`;
    if ((x.flagsLiveAfter && kind < 4) || kind === 2 || kind === 3) {
      this.emit(flags); // rotates keep some flags; RCL/RCR rotate CF in: the interpreter's shift()
    } else if (kind < 2) {
      this.deadFlags = flags;
      this.emit(Emitter.rotate(kind === 0, size, count));
    } else {
      // SHL/SHR/SAR: the value here; live flags deferred (fo = -2), dead ones computed only if the region ends right after.
      if (x.flagsLiveAfter) this.emit(`fo = -2; fk = ${kind}; fz = ${size}; fd = d; fdh = dh; fs = ${count};`);
      else this.deadFlags = flags;
      this.emit(Emitter.shiftValue(kind, size, count));
    }
    this.writeRm(x, size, "v", "vh", true);
  }

  /** v/vh = SHL (kind 4/6), SHR (5) or SAR (7) of d/dh at `size` by a constant count (masked, nonzero), as shift() computes the value. */
  private static shiftValue(kind: number, size: number, count: number): string {
    const c = count;
    if (size === 8) {
      if (kind === 5) return c < 32 ? `v = (d >>> ${c}) | (dh << ${32 - c}); vh = (dh >>> ${c}) | 0;` : `v = (dh >>> ${c - 32}) | 0; vh = 0;`;
      if (kind === 7) return c < 32 ? `v = (d >>> ${c}) | (dh << ${32 - c}); vh = dh >> ${c};` : `v = dh >> ${c - 32}; vh = dh >> 31;`;
      return c < 32 ? `vh = (dh << ${c}) | (d >>> ${32 - c}); v = d << ${c};` : `vh = d << ${c - 32}; v = 0;`;
    }
    const m = size === 4 ? "| 0" : `& ${MASK[size]}`;
    const sx = size === 1 ? 24 : size === 2 ? 16 : 0;
    if (kind === 5) return `v = (d >>> ${c}) ${m}; vh = 0;`;
    if (kind === 7) return `v = (${sx === 0 ? "d" : `((d << ${sx}) >> ${sx})`} >> ${c}) ${m}; vh = 0;`;
    return `v = (d << ${c}) ${m}; vh = 0;`;
  }

  /** v/vh = ROL (left) or ROR of d/dh at `size` by a constant count (already masked, nonzero), as shift() computes the value. */
  private static rotate(left: boolean, size: number, count: number): string {
    const bits = size * 8;
    let n = count % bits;
    if (!left && n !== 0) n = bits - n; // ROR by n is ROL by bits - n
    if (size === 8) {
      if (n === 0) return `v = d; vh = dh;`;
      if (n === 32) return `v = dh; vh = d;`;
      if (n < 32) return `v = (d << ${n}) | (dh >>> ${32 - n}); vh = (dh << ${n}) | (d >>> ${32 - n});`;
      return `v = (dh << ${n - 32}) | (d >>> ${64 - n}); vh = (d << ${n - 32}) | (dh >>> ${64 - n});`;
    }
    if (size === 4) return n === 0 ? `v = d; vh = 0;` : `v = (d << ${n}) | (d >>> ${32 - n}); vh = 0;`;
    const m = MASK[size];
    return n === 0 ? `v = d & ${m}; vh = 0;` : `v = ((d << ${n}) | ((d & ${m}) >>> ${bits - n})) & ${m}; vh = 0;`;
  }

  // --- Instructions ----------------------------------------------------------------

  /** Emits instruction x (index `index`, block position `pos`); the block's last instruction also emits the transfer. */
  private instruction(x: RegionInstruction, last: boolean, blockLength: number): void {
    const i = x.insn;
    if (x.mayFault) this.emit(`at = ${this.index};`);
    if (x.kind === CALL || x.kind === CALL_END) {
      this.emit(
        `\u0001OUT\u0001 ${FLUSH_FLAGS} cpu.ripLo = ${x.nextLo}; cpu.ripHi = ${x.nextHi}; cpu.startLo = ${x.startLo}; cpu.startHi = ${x.startHi}; cpu.insn = I[${this.index}]; cpu.icount = ic0 + n; cpu.remaining = rm0 - n; fb = true; execute(cpu, I[${this.index}]); fb = false; rm0 = cpu.remaining + n; \u0001IN\u0001 if (M.sideEffect) { M.sideEffect = false; se = true; }`,
      );
      if (x.kind === CALL_END) {
        this.emit(`se = false; ${Emitter.retire(blockLength)} break L;`);
        return;
      }
      this.sideEffects = true;
      this.sideEffectExit(x);
      if (last) this.fallThrough(x, blockLength);
      return;
    }
    if (i.map === 0) this.oneByte(x, last, blockLength);
    else this.twoByte(x, last, blockLength);
  }

  /** After a block's last instruction that does not transfer control. */
  private fallThrough(x: RegionInstruction, blockLength: number): void {
    this.emit(Emitter.retire(blockLength));
    this.emit(this.goTo(x.offset + x.insn.length < 4096 ? x.offset + x.insn.length : -1, x.nextLo, x.nextHi, true));
  }

  private oneByte(x: RegionInstruction, last: boolean, blockLength: number): void {
    const i = x.insn;
    const op = i.opcode;
    if (op < 0x40) {
      this.aluInstruction(x, op >> 3, op & 7, false);
    } else if (op >= 0x50 && op <= 0x57) {
      const size = i.operandSize;
      this.readReg(size, (op & 7) | (i.rexB << 3), 1, "v", "vh");
      this.push(size, "v", "vh");
    } else if (op >= 0x58 && op <= 0x5f) {
      const size = i.operandSize;
      this.peek(size);
      this.adjustSp(size);
      this.writeReg(size, (op & 7) | (i.rexB << 3), 1, "v", "vh");
    } else if (op >= 0x70 && op <= 0x7f) {
      this.branch(x, op & 15, blockLength);
      return;
    } else if (op >= 0xb0 && op <= 0xb7) {
      this.writeReg(1, (op & 7) | (i.rexB << 3), i.rex, `${i.immediateLo & 255}`, "0");
    } else if (op >= 0xb8 && op <= 0xbf) {
      this.writeReg(i.operandSize, (op & 7) | (i.rexB << 3), 1, `${i.immediateLo | 0}`, `${i.immediateHi | 0}`);
    } else {
      switch (op) {
        case 0x63: {
          this.readRm(x, 4, this.mode.readClass, "v", "vh");
          if (i.operandSize === 8) this.writeReg(8, i.reg, 1, "v", "(v >> 31)");
          else this.writeReg(i.operandSize, i.reg, 1, "v", "0");
          break;
        }
        case 0x68:
        case 0x6a:
          this.push(i.operandSize, `${i.immediateLo | 0}`, `${i.immediateHi | 0}`);
          break;
        case 0x69:
        case 0x6b: {
          const size = i.operandSize;
          this.readRm(x, size, this.mode.readClass, "d", "dh");
          this.imul(x, size, "d", "dh", `${i.immediateLo | 0}`, `${i.immediateHi | 0}`);
          this.writeReg(size, i.reg, i.rex, "v", "vh");
          break;
        }
        case 0x80:
        case 0x81:
        case 0x83:
          this.aluInstruction(x, i.reg & 7, 1, true);
          break;
        case 0x84:
        case 0x85:
          this.test(x, op === 0x84 ? 1 : i.operandSize, "reg");
          break;
        case 0x88:
        case 0x89: {
          const size = op === 0x88 ? 1 : i.operandSize;
          this.readReg(size, i.reg, i.rex, "v", "vh");
          this.writeRm(x, size, "v", "vh", false);
          break;
        }
        case 0x8a:
        case 0x8b: {
          const size = op === 0x8a ? 1 : i.operandSize;
          this.readRm(x, size, this.mode.readClass, "v", "vh");
          this.writeReg(size, i.reg, i.rex, "v", "vh");
          break;
        }
        case 0x8d:
          this.emit(effectiveAddress(this, i, x.nextLo, x.nextHi));
          this.writeReg(i.operandSize, i.reg, 1, "ea", i.addressSize === 8 ? "eh" : "0");
          break;
        case 0x90:
          break; // NOP, PAUSE
        case 0x98: {
          const size = i.operandSize;
          const a = this.lo(0);
          if (size === 2) this.emit(`${a} = (${a} & -65536) | (((${a} << 24) >> 24) & 65535);`);
          else if (size === 4) this.emit(`${a} = (${a} << 16) >> 16; ${this.hi(0)} = 0;`);
          else this.emit(`${this.hi(0)} = ${a} >> 31;`);
          break;
        }
        case 0x99: {
          const size = i.operandSize;
          const a = this.lo(0);
          const dx = this.lo(2);
          if (size === 2) this.emit(`${dx} = (${dx} & -65536) | (((${a} << 16) >> 31) & 65535);`);
          else if (size === 4) this.emit(`${dx} = ${a} >> 31; ${this.hi(2)} = 0;`);
          else this.emit(`${dx} = ${this.hi(0)} >> 31; ${this.hi(2)} = ${dx};`);
          break;
        }
        case 0xa8:
        case 0xa9:
          this.test(x, op === 0xa8 ? 1 : i.operandSize, "acc");
          break;
        case 0xc0:
        case 0xc1:
        case 0xd0:
        case 0xd1:
          this.shiftConstant(x);
          break;
        case 0xc3: {
          const size = i.operandSize;
          this.peek(size);
          if (size === 8) this.emit(`k = vh >> ${this.canonicalShift}; if (k !== 0 && k !== -1) cpu.raise(13, 0);`);
          this.adjustSp(size);
          this.emit(Emitter.retire(blockLength));
          const hi = size === 8 ? "vh" : "0";
          this.emit(`se = false; if (${hi} === ${this.region.pageHi} && (v & -4096) === ${this.region.pageLo} && (k = LBL[v & 4095]) >= 0) { label = k; continue L; } ${this.exitTo("v", hi)}`);
          return;
        }
        case 0xc6:
        case 0xc7: {
          const size = op === 0xc6 ? 1 : i.operandSize;
          const lo = size === 8 || size === 4 ? `${i.immediateLo | 0}` : `${i.immediateLo & MASK[size]}`;
          this.writeRm(x, size, lo, `${size === 8 ? i.immediateHi | 0 : 0}`, false);
          break;
        }
        case 0xe8: {
          const size = i.operandSize;
          this.push(size, `${x.nextLo | 0}`, `${x.nextHi | 0}`);
          this.emit(Emitter.retire(blockLength));
          this.emit(`if (se) { se = false; ${this.exitTo(x.targetLo, x.targetHi)} }`);
          this.emit(this.goTo(x.targetOffset, x.targetLo, x.targetHi, true));
          return;
        }
        case 0xe9:
        case 0xeb:
          this.emit(Emitter.retire(blockLength));
          this.emit(this.goTo(x.targetOffset, x.targetLo, x.targetHi, true));
          return;
        case 0xf6:
        case 0xf7:
          this.test(x, op === 0xf6 ? 1 : i.operandSize, "imm");
          break;
        case 0xfe:
        case 0xff:
          this.incDec(x, op === 0xfe ? 1 : i.operandSize, (i.reg & 7) === 1);
          break;
        default:
          throw new Error(`jit: opcode ${op.toString(16)} classified inline but not emitted`);
      }
    }
    this.sideEffectExit(x);
    if (last) this.fallThrough(x, blockLength);
  }

  private twoByte(x: RegionInstruction, last: boolean, blockLength: number): void {
    const i = x.insn;
    const op = i.opcode;
    if (op >= 0x80 && op <= 0x8f) {
      this.branch(x, op & 15, blockLength);
      return;
    }
    if (op >= 0x40 && op <= 0x4f) {
      // CMOVcc: the source is always read; a 32-bit destination is zero-extended even when not moved.
      const size = i.operandSize;
      this.emit(`c = ${this.consumerCondition(x, op & 15)};`);
      this.readRm(x, size, this.mode.readClass, "s", "sh");
      this.emit(`if (c) {`);
      this.writeReg(size, i.reg, 1, "s", "sh");
      this.emit(size === 4 ? `} else ${this.hi(i.reg)} = 0;` : `}`);
    } else if (op >= 0x90 && op <= 0x9f) {
      this.emit(`v = ${this.consumerCondition(x, op & 15)} ? 1 : 0;`);
      this.writeRm(x, 1, "v", "0", false);
    } else if (op === 0xb6 || op === 0xb7 || op === 0xbe || op === 0xbf) {
      const srcSize = (op & 1) === 0 ? 1 : 2;
      this.readRm(x, srcSize, this.mode.readClass, "v", "vh");
      if (op >= 0xbe) {
        this.emit(srcSize === 1 ? `v = (v << 24) >> 24;` : `v = (v << 16) >> 16;`);
        this.writeReg(i.operandSize, i.reg, 1, "v", "(v >> 31)");
      } else this.writeReg(i.operandSize, i.reg, 1, "v", "0");
    } else if (op === 0xaf) {
      const size = i.operandSize;
      this.readRm(x, size, this.mode.readClass, "s", "sh");
      this.readReg(size, i.reg, 1, "d", "dh");
      this.imul(x, size, "d", "dh", "s", "sh");
      this.writeReg(size, i.reg, 1, "v", "vh");
    } else if (op === 0x0d || (op >= 0x18 && op <= 0x1f)) {
      // hint NOPs
    } else {
      throw new Error(`jit: opcode 0f ${op.toString(16)} classified inline but not emitted`);
    }
    this.sideEffectExit(x);
    if (last) this.fallThrough(x, blockLength);
  }

  /** Jcc: both ways leave the block. */
  private branch(x: RegionInstruction, cc: number, blockLength: number): void {
    this.emit(`c = ${this.consumerCondition(x, cc)};`);
    this.emit(Emitter.retire(blockLength));
    const next = x.offset + x.insn.length;
    this.emit(`if (c) { ${this.goTo(x.targetOffset, x.targetLo, x.targetHi, false)} }`);
    this.emit(this.goTo(next < 4096 ? next : -1, x.nextLo, x.nextHi, true));
  }

  // --- The whole function --------------------------------------------------------------

  run(): EmittedRegion {
    const region = this.region;
    const count = region.instructions.length;
    const ripLo = new Int32Array(count);
    const ripHi = new Int32Array(count);
    const position = new Int32Array(count);
    const labels = new Int16Array(4096).fill(-1);
    const cases: string[] = [];
    const entries: string[] = [];
    region.blocks.forEach((b, label) => {
      labels[b.offset] = 2 * label + 1;
      this.block = label;
      const first = region.instructions[b.body[0]];
      // The way in from outside: everything up to the next checkpoint or exit must fit in the budget.
      entries.push(`case ${2 * label + 1}: if (rm0 - n < ${b.budget}) { ${this.exitTo(first.startLo, first.startHi)} } label = ${2 * label}; continue L;`);
      const parts: string[] = [`case ${2 * label}: {`];
      b.body.forEach((index, pos) => {
        const x = region.instructions[index];
        ripLo[index] = x.startLo;
        ripHi[index] = x.startHi;
        position[index] = pos;
        this.index = index;
        this.pos = pos;
        this.sideEffects = false;
        this.deadFlags = "";
        this.code = [];
        this.instruction(x, pos === b.body.length - 1, b.body.length);
        parts.push(this.code.join(" "));
      });
      parts.push(`}`);
      cases.push(parts.join("\n"));
    });
    const regs: number[] = [];
    for (let r = 0; r < 16; r++) if (this.used[r] !== 0) regs.push(r);
    const load = regs.map((r) => `r${r} = R[${2 * r}]; h${r} = R[${2 * r + 1}];`).join(" ");
    const storeBack = regs.map((r) => `R[${2 * r}] = r${r}; R[${2 * r + 1}] = h${r};`).join(" ");
    const declare = regs.map((r) => `r${r} = 0, h${r} = 0`).join(", ");
    const body = [...cases, ...entries].join("\n").replaceAll("\u0001OUT\u0001", storeBack).replaceAll("\u0001IN\u0001", load);
    // Named after its page, so a profile (node --cpu-prof) tells regions apart.
    const name = `region_${(region.pageHi >>> 0).toString(16)}_${(region.pageLo >>> 0).toString(16)}`;
    const source = `"use strict";
const alu = h.alu, incDec = h.incDec, shift = h.shift, imulTruncating = h.imulTruncating, mulLow64 = h.mulLow64, execute = h.execute, GX = h.GUEST_EXCEPTION;
const RET = h.retired, R = cpu.regs, W = M.dWords, H = M.dHits, DV = M.ramView, U8 = cpu.ram, SB = cpu.segBaseLo, SBH = cpu.segBaseHi;
return (function ${name}(label) {
  const ic0 = cpu.icount;
  let ${declare ? declare + ", " : ""}v = 0, vh = 0, d = 0, dh = 0, s = 0, sh = 0, t = 0, ea = 0, eh = 0, e = 0, k = 0, at = 0, n = 0, rm0 = cpu.remaining, c = false, se = false, fb = false, fo = -1, fk = 0, fz = 0, fr = 0, frh = 0, fd = 0, fdh = 0, fs = 0, fsh = 0;
  ${load}
  try {
    L: for (;;) {
      switch (label) {
${body}
        default: break L;
      }
    }
  } catch (x) {
    if (x === GX) { n += POS[at]; cpu.startLo = RL[at]; cpu.startHi = RH[at]; }
    cpu.icount = ic0 + n; cpu.remaining = rm0 - n; RET[0] += n;
    if (!fb) { ${storeBack} ${FLUSH_FLAGS} }
    throw x;
  }
  ${storeBack} ${FLUSH_FLAGS}
  cpu.icount = ic0 + n; cpu.remaining = rm0 - n;
  return n;
});`;
    return { body: source, ripLo, ripHi, position, labels };
  }
}

export function emitRegion(region: Region, mode: CompileMode): EmittedRegion {
  return new Emitter(region, mode).run();
}
