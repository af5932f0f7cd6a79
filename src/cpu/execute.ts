// The instruction switch: one function per opcode map, each a switch on the
// opcode that calls small helpers, so every function stays small enough for
// V8's optimising compiler. Semantics follow the SDM Vol. 2 instruction
// pages; system instructions live in system.ts, string instructions in
// strings.ts, arithmetic in alu.ts.

import type { Cpu } from "./cpu.ts";
import { BP, CS, DS, ES, FS, GS, GP, SS, UD, OFV, DB } from "./cpu.ts";
import type { DecodedInstruction } from "./decoder.ts";
import {
  ALU_CMP,
  alu,
  bitScan,
  divAccumulator,
  doubleShift,
  imulTruncating,
  incDec,
  mulAccumulator,
  popcount32,
  shift,
  signExtend,
  truncate,
} from "./alu.ts";
import { AC, AF, CF, DF, FIXED_1, IF, IOPL, LAZY_LOGIC, LAZY_SUB, NT, OF, PF, RF, SF, TF, ZF, ID } from "./flags.ts";
import { stringInstruction } from "./strings.ts";
import {
  cpuidInstruction,
  farCall,
  farJump,
  farReturn,
  group6,
  group7,
  hlt,
  inPort,
  interruptReturn,
  lar,
  loadFarPointer,
  loadSegmentRegister,
  movFromControl,
  movFromDebug,
  movToControl,
  movToDebug,
  outPort,
  rdmsr,
  rdtsc,
  syscall,
  sysenter,
  sysexit,
  sysret,
  wrmsr,
  clts,
  invpcidInstruction,
  group15,
} from "./system.ts";
import { deliverInterrupt, INT_ICEBP, INT_SOFTWARE } from "./interrupts.ts";

export function execute(cpu: Cpu, i: DecodedInstruction): void {
  const map = i.map;
  if (map === 0) executeOneByte(cpu, i);
  else if (map === 1) execute0F(cpu, i);
  else if (map === 2) execute0F38(cpu, i);
  else cpu.unimplemented();
}

// --- The one-byte map ----------------------------------------------------------

function executeOneByte(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  if (op < 0x40) {
    const form = op & 7;
    if (form < 6) {
      aluForm(cpu, i, op >> 3, form);
      return;
    }
    legacyLow(cpu, i);
    return;
  }
  switch (op >> 4) {
    case 0x4: {
      // INC/DEC r (32-bit modes only: REX in 64-bit mode).
      const r = op & 7;
      const size = i.operandSize;
      const v = cpu.getReg(size, r, 0);
      cpu.setReg(size, r, 0, incDec(cpu, size, v, 0, op >= 0x48), 0);
      return;
    }
    case 0x5: {
      const r = (op & 7) | (i.rexB << 3);
      const size = i.operandSize;
      if (op < 0x58) {
        const v = cpu.getReg(size, r, 1);
        cpu.push(size, v, cpu.hi);
      } else {
        const v = cpu.pop(size);
        cpu.setReg(size, r, 1, v, cpu.hi);
      }
      return;
    }
    case 0x6:
      op6x(cpu, i);
      return;
    case 0x7:
      if (cpu.condition(op & 15)) cpu.jumpRelative(i.operandSize, i.immediateLo);
      return;
    case 0x8:
      op8x(cpu, i);
      return;
    case 0x9:
      op9x(cpu, i);
      return;
    case 0xa:
      opAx(cpu, i);
      return;
    case 0xb: {
      // MOV r, imm.
      const r = (op & 7) | (i.rexB << 3);
      if (op < 0xb8) cpu.setReg(1, r, i.rex, i.immediateLo, 0);
      else cpu.setReg(i.operandSize, r, 1, i.immediateLo, i.immediateHi);
      return;
    }
    case 0xc:
      opCx(cpu, i);
      return;
    case 0xd:
      opDx(cpu, i);
      return;
    case 0xe:
      opEx(cpu, i);
      return;
    default:
      opFx(cpu, i);
  }
}

/** 00-3F forms 0-5: Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / rAX,Iz. */
function aluForm(cpu: Cpu, i: DecodedInstruction, op: number, form: number): void {
  const size = (form & 1) === 0 ? 1 : i.operandSize;
  if (form < 2) {
    const s = cpu.getReg(size, i.reg, i.rex);
    const sh = cpu.hi;
    if (op === ALU_CMP) {
      const d = cpu.readRm(i, size);
      alu(cpu, op, size, d, cpu.hi, s, sh);
      return;
    }
    const d = cpu.readRmForWrite(i, size);
    const r = alu(cpu, op, size, d, cpu.hi, s, sh);
    cpu.writeRm(i, size, r, cpu.hi, true);
  } else if (form < 4) {
    const s = cpu.readRm(i, size);
    const sh = cpu.hi;
    const d = cpu.getReg(size, i.reg, i.rex);
    const r = alu(cpu, op, size, d, cpu.hi, s, sh);
    if (op !== ALU_CMP) {
      // XOR/SUB of a register with itself is the common zeroing idiom: same path.
      cpu.setReg(size, i.reg, i.rex, r, cpu.hi);
    }
  } else {
    const d = cpu.getReg(size, 0, 1);
    const r = alu(cpu, op, size, d, cpu.hi, i.immediateLo, i.immediateHi);
    if (op !== ALU_CMP) cpu.setReg(size, 0, 1, r, cpu.hi);
  }
}

/** 06/07/0E/16/17/1E/1F (segment push/pop) and 27/2F/37/3F (BCD), outside 64-bit mode. */
function legacyLow(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  switch (op) {
    case 0x06:
    case 0x0e:
    case 0x16:
    case 0x1e:
      cpu.push(i.operandSize, cpu.segSelector[op >> 3], 0);
      return;
    case 0x07:
    case 0x17:
    case 0x1f: {
      const sel = cpu.peek(i.operandSize, 0) & 0xffff;
      loadSegmentRegister(cpu, op >> 3, sel);
      cpu.adjustSp(i.operandSize);
      if (op === 0x17) cpu.interruptShadow = true;
      return;
    }
    case 0x27:
    case 0x2f:
      decimalAdjust(cpu, op === 0x2f);
      return;
    default:
      asciiAdjust(cpu, op === 0x3f);
  }
}

/** DAA / DAS (SDM Vol. 2). */
function decimalAdjust(cpu: Cpu, subtract: boolean): void {
  const regs = cpu.regs;
  const oldAl = regs[0] & 0xff;
  const oldCf = cpu.getCF();
  let af = cpu.getAF();
  let al = oldAl;
  let cf = 0;
  if ((al & 0xf) > 9 || af !== 0) {
    al = subtract ? al - 6 : al + 6;
    cf = oldCf | (subtract ? (oldAl < 6 ? 1 : 0) : al > 0xff ? 1 : 0);
    al &= 0xff;
    af = 1;
  } else af = 0;
  if (oldAl > 0x99 || oldCf !== 0) {
    al = (subtract ? al - 0x60 : al + 0x60) & 0xff;
    cf = 1;
  }
  regs[0] = (regs[0] & ~0xff) | al;
  cpu.setArithFlags(cf | (af << 4) | cpu.resultFlags(1, al, 0));
}

/** AAA / AAS. */
function asciiAdjust(cpu: Cpu, subtract: boolean): void {
  const regs = cpu.regs;
  let ax = regs[0] & 0xffff;
  let flags = 0;
  if ((ax & 0xf) > 9 || cpu.getAF() !== 0) {
    ax = subtract ? ((ax - 6) & 0xff) | ((((ax >> 8) - 1) & 0xff) << 8) : ((ax + 6) & 0xff) | ((((ax >> 8) + 1) & 0xff) << 8);
    flags = AF | CF;
  }
  ax &= 0xff0f;
  regs[0] = (regs[0] & ~0xffff) | ax;
  cpu.setArithFlags(flags | cpu.resultFlags(1, ax, 0));
}

function op6x(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  const size = i.operandSize;
  switch (op) {
    case 0x60: {
      // PUSHA/PUSHAD
      const regs = cpu.regs;
      const sp = regs[8];
      for (let r = 0; r < 8; r++) cpu.push(size, r === 4 ? sp : regs[r << 1], 0);
      return;
    }
    case 0x61: {
      // POPA/POPAD: SP is skipped.
      for (let r = 7; r >= 0; r--) {
        const v = cpu.pop(size);
        if (r !== 4) cpu.setReg(size, r, 1, v, 0);
      }
      return;
    }
    case 0x63:
      if (cpu.long64) {
        // MOVSXD (with REX.W; without it, a plain 32-bit move).
        const v = cpu.readRm(i, 4);
        if (size === 8) cpu.setReg(8, i.reg, 1, v, v >> 31);
        else cpu.setReg(size, i.reg, 1, v, 0);
        return;
      }
      arpl(cpu, i);
      return;
    case 0x68:
    case 0x6a:
      cpu.push(size, i.immediateLo, i.immediateHi);
      return;
    case 0x69:
    case 0x6b: {
      const a = cpu.readRm(i, size);
      const r = imulTruncating(cpu, size, a, cpu.hi, i.immediateLo, i.immediateHi);
      cpu.setReg(size, i.reg, i.rex, r, cpu.hi);
      return;
    }
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f:
      stringInstruction(cpu, i);
      return;
    default:
      cpu.unimplemented(); // 62 BOUND, 64-67 prefixes never reach here
  }
}

/** ARPL (32-bit modes): raise the RPL of r/m16 to that of r16. */
function arpl(cpu: Cpu, i: DecodedInstruction): void {
  const d = cpu.readRmForWrite(i, 2);
  const s = cpu.getReg(2, i.reg, 0);
  cpu.materializeFlags();
  if ((d & 3) < (s & 3)) {
    cpu.writeRm(i, 2, (d & ~3) | (s & 3), 0, true);
    cpu.eflags |= ZF;
  } else cpu.eflags &= ~ZF;
}

function op8x(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  switch (op) {
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83: {
      const size = op === 0x81 || op === 0x83 ? i.operandSize : 1;
      const aluOp = i.reg & 7;
      if (aluOp === ALU_CMP) {
        const d = cpu.readRm(i, size);
        alu(cpu, aluOp, size, d, cpu.hi, i.immediateLo, i.immediateHi);
        return;
      }
      const d = cpu.readRmForWrite(i, size);
      const r = alu(cpu, aluOp, size, d, cpu.hi, i.immediateLo, i.immediateHi);
      cpu.writeRm(i, size, r, cpu.hi, true);
      return;
    }
    case 0x84:
    case 0x85: {
      const size = op === 0x84 ? 1 : i.operandSize;
      const d = cpu.readRm(i, size);
      const dh = cpu.hi;
      const s = cpu.getReg(size, i.reg, i.rex);
      cpu.setLazy(LAZY_LOGIC, size, truncate(size, d & s), dh & cpu.hi, 0, 0, 0, 0);
      return;
    }
    case 0x86:
    case 0x87: {
      const size = op === 0x86 ? 1 : i.operandSize;
      const d = cpu.readRmForWrite(i, size);
      const dh = cpu.hi;
      const s = cpu.getReg(size, i.reg, i.rex);
      cpu.writeRm(i, size, s, cpu.hi, true);
      cpu.setReg(size, i.reg, i.rex, d, dh);
      return;
    }
    case 0x88:
    case 0x89: {
      const size = op === 0x88 ? 1 : i.operandSize;
      const v = cpu.getReg(size, i.reg, i.rex);
      cpu.writeRm(i, size, v, cpu.hi, false);
      return;
    }
    case 0x8a:
    case 0x8b: {
      const size = op === 0x8a ? 1 : i.operandSize;
      const v = cpu.readRm(i, size);
      cpu.setReg(size, i.reg, i.rex, v, cpu.hi);
      return;
    }
    case 0x8c: {
      // MOV r/m, Sreg: a register destination takes the zero-extended selector.
      const sreg = i.reg & 7;
      if (sreg > 5) cpu.raise(UD);
      const sel = cpu.segSelector[sreg];
      if (i.mod === 3) cpu.setReg(i.operandSize === 2 ? 2 : i.operandSize, i.rm, 1, sel, 0);
      else cpu.writeRm(i, 2, sel, 0, false);
      return;
    }
    case 0x8d: {
      if (i.mod !== 3) {
        cpu.computeEa(i);
        const size = i.operandSize;
        cpu.setReg(size, i.reg, 1, cpu.eaLo, i.addressSize === 8 ? cpu.eaHi : 0);
        return;
      }
      cpu.raise(UD);
      return;
    }
    case 0x8e: {
      const sreg = i.reg & 7;
      if (sreg === CS || sreg > 5) cpu.raise(UD);
      const sel = cpu.readRm(i, 2) & 0xffff;
      loadSegmentRegister(cpu, sreg, sel);
      if (sreg === SS) cpu.interruptShadow = true;
      return;
    }
    default: {
      // 8F /0: POP r/m. The address uses RSP after the pop (SDM Vol. 2 POP).
      const size = i.operandSize;
      const v = cpu.peek(size, 0);
      const vh = cpu.hi;
      if (i.mod === 3) {
        cpu.adjustSp(size);
        cpu.setReg(size, i.rm, 1, v, vh);
        return;
      }
      const regs = cpu.regs;
      const oldLo = regs[8];
      const oldHi = regs[9];
      cpu.adjustSp(size);
      try {
        cpu.writeRm(i, size, v, vh, false);
      } catch (e) {
        regs[8] = oldLo;
        regs[9] = oldHi;
        throw e;
      }
    }
  }
}

function op9x(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  const regs = cpu.regs;
  switch (op) {
    case 0x98: {
      // CBW / CWDE / CDQE
      const size = i.operandSize;
      if (size === 2) regs[0] = (regs[0] & ~0xffff) | (((regs[0] << 24) >> 24) & 0xffff);
      else if (size === 4) {
        regs[0] = (regs[0] << 16) >> 16;
        regs[1] = 0;
      } else regs[1] = regs[0] >> 31;
      return;
    }
    case 0x99: {
      // CWD / CDQ / CQO
      const size = i.operandSize;
      if (size === 2) regs[4] = (regs[4] & ~0xffff) | (((regs[0] << 16) >> 31) & 0xffff);
      else if (size === 4) {
        regs[4] = regs[0] >> 31;
        regs[5] = 0;
      } else {
        regs[4] = regs[1] >> 31;
        regs[5] = regs[4];
      }
      return;
    }
    case 0x9a:
      farCall(cpu, i.immediate2, i.immediateLo, i.operandSize);
      return;
    case 0x9b:
      return; // FWAIT: no x87 state to wait for
    case 0x9c: {
      // PUSHF: VM and RF are pushed as 0 (SDM Vol. 2 PUSHF).
      const flags = cpu.getEflags() & ~(RF | 0x20000);
      cpu.push(i.operandSize, i.operandSize === 2 ? flags & 0xffff : flags, 0);
      return;
    }
    case 0x9d:
      popf(cpu, i);
      return;
    case 0x9e: {
      // SAHF
      const ah = (regs[0] >> 8) & 0xff;
      cpu.materializeFlags();
      cpu.eflags = (cpu.eflags & ~(SF | ZF | AF | PF | CF)) | (ah & (SF | ZF | AF | PF | CF));
      return;
    }
    case 0x9f: {
      // LAHF
      const f = (cpu.getEflags() & (SF | ZF | AF | PF | CF)) | FIXED_1;
      regs[0] = (regs[0] & ~0xff00) | (f << 8);
      return;
    }
    default: {
      // 90-97: XCHG rAX, r (90 without REX.B: NOP, F3 90: PAUSE).
      const r = (op & 7) | (i.rexB << 3);
      if (r === 0) return; // NOP: XCHG eAX, eAX leaves RAX's upper half alone
      const size = i.operandSize;
      const a = cpu.getReg(size, 0, 1);
      const ah = cpu.hi;
      const b = cpu.getReg(size, r, 1);
      cpu.setReg(size, 0, 1, b, cpu.hi);
      cpu.setReg(size, r, 1, a, ah);
    }
  }
}

/** POPF (SDM Vol. 2): which bits may change depends on CPL and IOPL. */
function popf(cpu: Cpu, i: DecodedInstruction): void {
  const size = i.operandSize;
  const v = cpu.peek(size, 0);
  cpu.adjustSp(size);
  const iopl = (cpu.eflags >> 12) & 3;
  let changeable = CF | PF | AF | ZF | SF | TF | DF | OF | NT | AC | ID;
  if (cpu.cpl === 0) changeable |= IOPL | IF;
  else if (cpu.cpl <= iopl) changeable |= IF;
  if (size === 2) changeable &= 0xffff;
  cpu.writeEflags(v, changeable);
}

function opAx(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  if (op < 0xa4) {
    // MOV AL/rAX <-> moffs.
    const size = (op & 1) === 0 ? 1 : i.operandSize;
    const seg = i.segment < 0 ? DS : i.segment;
    const hi = i.addressSize === 8 ? i.immediateHi : 0;
    const lo = i.addressSize === 2 ? i.immediateLo & 0xffff : i.immediateLo;
    if (op < 0xa2) {
      const v = cpu.readMem(seg, lo, hi, size);
      cpu.setReg(size, 0, 1, v, cpu.hi);
    } else {
      const v = cpu.getReg(size, 0, 1);
      cpu.writeMem(seg, lo, hi, size, v, cpu.hi);
    }
    return;
  }
  if (op === 0xa8 || op === 0xa9) {
    const size = op === 0xa8 ? 1 : i.operandSize;
    const d = cpu.getReg(size, 0, 1);
    cpu.setLazy(LAZY_LOGIC, size, truncate(size, d & i.immediateLo), cpu.hi & i.immediateHi, 0, 0, 0, 0);
    return;
  }
  stringInstruction(cpu, i);
}

function opCx(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  switch (op) {
    case 0xc0:
    case 0xc1:
      group2(cpu, i);
      return;
    case 0xc2:
    case 0xc3: {
      const size = i.operandSize;
      const target = cpu.peek(size, 0);
      const th = cpu.hi;
      cpu.jumpNear(size, target, size === 8 ? th : 0);
      cpu.adjustSp(size + (op === 0xc2 ? i.immediateLo & 0xffff : 0));
      return;
    }
    case 0xc4:
    case 0xc5:
      loadFarPointer(cpu, i, op === 0xc4 ? ES : DS);
      return;
    case 0xc6:
    case 0xc7: {
      if ((i.reg & 7) !== 0) cpu.raise(UD);
      const size = op === 0xc6 ? 1 : i.operandSize;
      cpu.writeRm(i, size, i.immediateLo, i.immediateHi, false);
      return;
    }
    case 0xc8:
      enter(cpu, i);
      return;
    case 0xc9: {
      // LEAVE: rSP = rBP, then pop rBP.
      const regs = cpu.regs;
      const ss = cpu.stackSize;
      const oldLo = regs[8];
      const oldHi = regs[9];
      if (ss === 8) {
        regs[8] = regs[10];
        regs[9] = regs[11];
      } else if (ss === 4) regs[8] = regs[10];
      else regs[8] = (regs[8] & ~0xffff) | (regs[10] & 0xffff);
      try {
        const v = cpu.pop(i.operandSize);
        cpu.setReg(i.operandSize, 5, 1, v, cpu.hi);
      } catch (e) {
        regs[8] = oldLo;
        regs[9] = oldHi;
        throw e;
      }
      return;
    }
    case 0xca:
    case 0xcb:
      farReturn(cpu, i.operandSize, op === 0xca ? i.immediateLo & 0xffff : 0);
      return;
    case 0xcc:
      deliverInterrupt(cpu, BP, -1, INT_SOFTWARE);
      return;
    case 0xcd:
      deliverInterrupt(cpu, i.immediateLo & 0xff, -1, INT_SOFTWARE);
      return;
    case 0xce:
      if (cpu.getOF() !== 0) deliverInterrupt(cpu, OFV, -1, INT_SOFTWARE);
      return;
    default:
      interruptReturn(cpu, i.operandSize);
  }
}

/** ENTER imm16, imm8 (SDM Vol. 2 ENTER). */
function enter(cpu: Cpu, i: DecodedInstruction): void {
  const size = i.operandSize;
  const frameSize = i.immediateLo & 0xffff;
  const level = i.immediate2 & 31;
  const regs = cpu.regs;
  const saveSp = regs[8];
  const saveSpHi = regs[9];
  const saveBp = regs[10];
  const saveBpHi = regs[11];
  try {
    cpu.push(size, regs[10], regs[11]);
    const frameLo = regs[8];
    const frameHi = regs[9];
    if (level > 0) {
      const ss = cpu.stackSize;
      let bpLo = saveBp;
      let bpHi = saveBpHi;
      for (let k = 1; k < level; k++) {
        if (ss === 8) {
          const t = (bpLo >>> 0) - size;
          bpHi = t < 0 ? (bpHi - 1) | 0 : bpHi;
          bpLo = t | 0;
        } else bpLo = ss === 4 ? (bpLo - size) | 0 : (bpLo & ~0xffff) | ((bpLo - size) & 0xffff);
        const v = cpu.readMem(SS, ss === 2 ? bpLo & 0xffff : bpLo, ss === 8 ? bpHi : 0, size);
        cpu.push(size, v, cpu.hi);
      }
      cpu.push(size, frameLo, frameHi);
    }
    // rBP = frame temp, at the operand size.
    if (size === 8) {
      regs[10] = frameLo;
      regs[11] = frameHi;
    } else if (size === 4) {
      regs[10] = frameLo;
      regs[11] = 0;
    } else regs[10] = (regs[10] & ~0xffff) | (frameLo & 0xffff);
    cpu.adjustSp(-frameSize);
    // The new stack top must be writable (a fault here restores everything).
    const ss = cpu.stackSize;
    if (frameSize > 0) cpu.linear(SS, ss === 2 ? regs[8] & 0xffff : regs[8], ss === 8 ? regs[9] : 0, 1, true);
  } catch (e) {
    regs[8] = saveSp;
    regs[9] = saveSpHi;
    regs[10] = saveBp;
    regs[11] = saveBpHi;
    throw e;
  }
}

/** Group 2: shifts and rotates by 1, CL or imm8. */
function group2(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  const size = (op & 1) === 0 ? 1 : i.operandSize;
  let count: number;
  if (op <= 0xc1) count = i.immediateLo;
  else if (op <= 0xd1) count = 1;
  else count = cpu.regs[2];
  count &= size === 8 ? 63 : 31;
  const kind = i.reg & 7;
  if (count === 0) {
    // Flags and value stay, but the operand is still read (and may fault), and a
    // 32-bit register is still written: its upper half is cleared (as on the host CPU).
    cpu.readRm(i, size);
    if (size === 4 && i.mod === 3) cpu.regs[(i.rm << 1) | 1] = 0;
    return;
  }
  const v = cpu.readRmForWrite(i, size);
  const r = shift(cpu, kind, size, v, cpu.hi, count);
  cpu.writeRm(i, size, r, cpu.hi, true);
}

function opDx(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  const regs = cpu.regs;
  switch (op) {
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      group2(cpu, i);
      return;
    case 0xd4: {
      // AAM imm8
      const base = i.immediateLo & 0xff;
      if (base === 0) cpu.raise(0);
      const al = regs[0] & 0xff;
      const v = (Math.floor(al / base) << 8) | al % base;
      regs[0] = (regs[0] & ~0xffff) | v;
      cpu.setArithFlags(cpu.resultFlags(1, v & 0xff, 0));
      return;
    }
    case 0xd5: {
      // AAD imm8
      const base = i.immediateLo & 0xff;
      const al = ((regs[0] & 0xff) + ((regs[0] >> 8) & 0xff) * base) & 0xff;
      regs[0] = (regs[0] & ~0xffff) | al;
      cpu.setArithFlags(cpu.resultFlags(1, al, 0));
      return;
    }
    case 0xd7: {
      // XLAT: AL = [seg:rBX + AL].
      const seg = i.segment < 0 ? DS : i.segment;
      let lo: number;
      let hi = 0;
      const al = regs[0] & 0xff;
      if (i.addressSize === 8) {
        const t = (regs[6] >>> 0) + al;
        lo = t | 0;
        hi = (regs[7] + (t > 0xffffffff ? 1 : 0)) | 0;
      } else if (i.addressSize === 4) lo = (regs[6] + al) | 0;
      else lo = (regs[6] + al) & 0xffff;
      const v = cpu.readMem(seg, lo, hi, 1);
      regs[0] = (regs[0] & ~0xff) | v;
      return;
    }
    case 0xd6:
      cpu.raise(UD);
      return;
    default:
      // D8-DF: x87, not modelled (CPUID leaf 1 does not advertise an FPU).
      cpu.unimplemented();
  }
}

function opEx(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  const regs = cpu.regs;
  switch (op) {
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3: {
      // LOOPNE / LOOPE / LOOP / JrCXZ: the counter has the address size.
      const asz = i.addressSize;
      let zero: boolean;
      if (op === 0xe3) {
        zero = asz === 8 ? (regs[2] | regs[3]) === 0 : asz === 4 ? regs[2] === 0 : (regs[2] & 0xffff) === 0;
        if (zero) cpu.jumpRelative(i.operandSize, i.immediateLo);
        return;
      }
      if (asz === 8) {
        if (regs[2] === 0) regs[3] = (regs[3] - 1) | 0;
        regs[2] = (regs[2] - 1) | 0;
        zero = (regs[2] | regs[3]) === 0;
      } else if (asz === 4) {
        regs[2] = (regs[2] - 1) | 0;
        regs[3] = 0;
        zero = regs[2] === 0;
      } else {
        regs[2] = (regs[2] & ~0xffff) | ((regs[2] - 1) & 0xffff);
        zero = (regs[2] & 0xffff) === 0;
      }
      let take = !zero;
      if (op === 0xe0) take = take && cpu.getZF() === 0;
      else if (op === 0xe1) take = take && cpu.getZF() !== 0;
      if (take) cpu.jumpRelative(i.operandSize, i.immediateLo);
      return;
    }
    case 0xe4:
    case 0xe5: {
      const size = op === 0xe4 ? 1 : i.operandSize === 2 ? 2 : 4;
      const v = inPort(cpu, i.immediateLo & 0xff, size);
      cpu.setReg(size, 0, 1, v, 0);
      return;
    }
    case 0xe6:
    case 0xe7: {
      const size = op === 0xe6 ? 1 : i.operandSize === 2 ? 2 : 4;
      outPort(cpu, i.immediateLo & 0xff, size, regs[0]);
      return;
    }
    case 0xe8: {
      // CALL rel: push the next RIP, then jump.
      const size = i.operandSize;
      const retLo = cpu.ripLo;
      const retHi = cpu.ripHi;
      // Check the target first so a bad target leaves the stack alone.
      const t = (retLo >>> 0) + i.immediateLo;
      let hi = retHi;
      if (cpu.long64) {
        if (t > 0xffffffff) hi = (hi + 1) | 0;
        else if (t < 0) hi = (hi - 1) | 0;
      }
      cpu.push(size, size === 2 ? retLo & 0xffff : retLo, retHi);
      cpu.jumpNear(cpu.long64 ? 8 : size, t | 0, cpu.long64 ? hi : 0);
      return;
    }
    case 0xe9:
    case 0xeb:
      cpu.jumpRelative(i.operandSize, i.immediateLo);
      return;
    case 0xea:
      farJump(cpu, i.immediate2, i.immediateLo, i.operandSize);
      return;
    case 0xec:
    case 0xed: {
      const size = op === 0xec ? 1 : i.operandSize === 2 ? 2 : 4;
      const v = inPort(cpu, regs[4] & 0xffff, size);
      cpu.setReg(size, 0, 1, v, 0);
      return;
    }
    default: {
      const size = op === 0xee ? 1 : i.operandSize === 2 ? 2 : 4;
      outPort(cpu, regs[4] & 0xffff, size, regs[0]);
    }
  }
}

function opFx(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  switch (op) {
    case 0xf1:
      deliverInterrupt(cpu, DB, -1, INT_ICEBP);
      return;
    case 0xf4:
      hlt(cpu);
      return;
    case 0xf5:
      cpu.materializeFlags();
      cpu.eflags ^= CF;
      return;
    case 0xf6:
    case 0xf7:
      group3(cpu, i);
      return;
    case 0xf8:
    case 0xf9:
      cpu.materializeFlags();
      cpu.eflags = (cpu.eflags & ~CF) | (op & 1);
      return;
    case 0xfa:
    case 0xfb: {
      // CLI / STI: allowed when CPL <= IOPL (SDM Vol. 2; no VME/PVI).
      if (cpu.cpl > ((cpu.eflags >> 12) & 3)) cpu.raise(GP, 0);
      if (op === 0xfa) cpu.eflags &= ~IF;
      else {
        if ((cpu.eflags & IF) === 0) cpu.interruptShadow = true;
        cpu.eflags |= IF;
      }
      return;
    }
    case 0xfc:
      cpu.eflags &= ~DF;
      return;
    case 0xfd:
      cpu.eflags |= DF;
      return;
    case 0xfe:
      group4(cpu, i, 1);
      return;
    case 0xff:
      group5(cpu, i);
      return;
    default:
      cpu.raise(UD); // F0/F2/F3 are prefixes
  }
}

function group3(cpu: Cpu, i: DecodedInstruction): void {
  const size = i.opcode === 0xf6 ? 1 : i.operandSize;
  const kind = i.reg & 7;
  switch (kind) {
    case 0:
    case 1: {
      const d = cpu.readRm(i, size);
      cpu.setLazy(LAZY_LOGIC, size, truncate(size, d & i.immediateLo), cpu.hi & i.immediateHi, 0, 0, 0, 0);
      return;
    }
    case 2: {
      const d = cpu.readRmForWrite(i, size);
      cpu.writeRm(i, size, ~d, ~cpu.hi, true);
      return;
    }
    case 3: {
      const d = cpu.readRmForWrite(i, size);
      const r = alu(cpu, 5, size, 0, 0, d, cpu.hi);
      cpu.lazyOp = LAZY_SUB;
      cpu.writeRm(i, size, r, cpu.hi, true);
      return;
    }
    case 4:
    case 5: {
      const s = cpu.readRm(i, size);
      mulAccumulator(cpu, kind === 5, size, s, cpu.hi);
      return;
    }
    default: {
      const s = cpu.readRm(i, size);
      divAccumulator(cpu, kind === 7, size, s, cpu.hi);
    }
  }
}

function group4(cpu: Cpu, i: DecodedInstruction, size: number): void {
  const d = cpu.readRmForWrite(i, size);
  const r = incDec(cpu, size, d, cpu.hi, (i.reg & 7) === 1);
  cpu.writeRm(i, size, r, cpu.hi, true);
}

function group5(cpu: Cpu, i: DecodedInstruction): void {
  const kind = i.reg & 7;
  const size = i.operandSize;
  switch (kind) {
    case 0:
    case 1:
      group4(cpu, i, size);
      return;
    case 2: {
      // CALL near indirect.
      const target = cpu.readRm(i, size);
      const th = cpu.hi;
      const retLo = cpu.ripLo;
      cpu.push(size, size === 2 ? retLo & 0xffff : retLo, cpu.ripHi);
      try {
        cpu.jumpNear(size, target, size === 8 ? th : 0);
      } catch (e) {
        cpu.adjustSp(size);
        throw e;
      }
      return;
    }
    case 3:
    case 5: {
      // CALL/JMP far indirect: m16:16/32/64.
      if (i.mod === 3) cpu.raise(UD);
      cpu.computeEa(i);
      const offSize = size;
      const off = cpu.readMem(cpu.eaSeg, cpu.eaLo, cpu.eaHi, offSize);
      const offHi = offSize === 8 ? cpu.hi : 0;
      const selAddr = (cpu.eaLo >>> 0) + offSize;
      const sel = cpu.readMem(cpu.eaSeg, selAddr | 0, selAddr > 0xffffffff ? cpu.eaHi + 1 : cpu.eaHi, 2) & 0xffff;
      if (kind === 3) farCall(cpu, sel, off, offSize, offHi);
      else farJump(cpu, sel, off, offSize, offHi);
      return;
    }
    case 4: {
      const target = cpu.readRm(i, size);
      cpu.jumpNear(size, target, size === 8 ? cpu.hi : 0);
      return;
    }
    default: {
      // PUSH r/m
      const v = cpu.readRm(i, size);
      cpu.push(size, v, cpu.hi);
    }
  }
}

// --- The 0F map -------------------------------------------------------------------------

function execute0F(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  switch (op >> 4) {
    case 0x0:
      op0F0x(cpu, i);
      return;
    case 0x1:
      // 0F 18-1F: hint NOPs (prefetch, ENDBR64/32 = F3 0F 1E FA/FB, multi-byte NOP).
      if (op >= 0x18) return;
      cpu.unimplemented(); // SSE moves
      return;
    case 0x2:
      if (op === 0x20) movFromControl(cpu, i);
      else if (op === 0x21) movFromDebug(cpu, i);
      else if (op === 0x22) movToControl(cpu, i);
      else if (op === 0x23) movToDebug(cpu, i);
      else cpu.unimplemented();
      return;
    case 0x3:
      if (op === 0x30) wrmsr(cpu);
      else if (op === 0x31) rdtsc(cpu, false);
      else if (op === 0x32) rdmsr(cpu);
      else if (op === 0x33) cpu.raise(GP, 0); // RDPMC: no performance counters (CPUID leaf 0xA)
      else if (op === 0x34) sysenter(cpu);
      else if (op === 0x35) sysexit(cpu, i);
      else cpu.unimplemented();
      return;
    case 0x4: {
      // CMOVcc: the source is always read; a 32-bit destination is zero-extended even when not moved.
      const size = i.operandSize;
      const v = cpu.readRm(i, size);
      const vh = cpu.hi;
      if (cpu.condition(op & 15)) cpu.setReg(size, i.reg, 1, v, vh);
      else if (size === 4) cpu.regs[(i.reg << 1) | 1] = 0;
      return;
    }
    case 0x8:
      if (cpu.condition(op & 15)) cpu.jumpRelative(i.operandSize, i.immediateLo);
      return;
    case 0x9:
      cpu.writeRm(i, 1, cpu.condition(op & 15) ? 1 : 0, 0, false);
      return;
    case 0xa:
      op0FAx(cpu, i);
      return;
    case 0xb:
      op0FBx(cpu, i);
      return;
    case 0xc:
      op0FCx(cpu, i);
      return;
    default:
      if (op === 0xff || op === 0xb9) cpu.raise(UD); // UD0
      cpu.unimplemented();
  }
}

function op0F0x(cpu: Cpu, i: DecodedInstruction): void {
  switch (i.opcode) {
    case 0x00:
      group6(cpu, i);
      return;
    case 0x01:
      group7(cpu, i);
      return;
    case 0x02:
    case 0x03:
      lar(cpu, i);
      return;
    case 0x05:
      syscall(cpu);
      return;
    case 0x06:
      clts(cpu);
      return;
    case 0x07:
      sysret(cpu, i);
      return;
    case 0x08:
    case 0x09:
      // INVD / WBINVD: no caches to write back.
      if (cpu.cpl !== 0) cpu.raise(GP, 0);
      return;
    case 0x0b:
      cpu.raise(UD);
      return;
    case 0x0d:
      return; // PREFETCHW
    default:
      cpu.unimplemented();
  }
}

function op0FAx(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  switch (op) {
    case 0xa0:
    case 0xa8:
      cpu.push(i.operandSize, cpu.segSelector[op === 0xa0 ? FS : GS], 0);
      return;
    case 0xa1:
    case 0xa9: {
      const sel = cpu.peek(i.operandSize, 0) & 0xffff;
      loadSegmentRegister(cpu, op === 0xa1 ? FS : GS, sel);
      cpu.adjustSp(i.operandSize);
      return;
    }
    case 0xa2:
      cpuidInstruction(cpu);
      return;
    case 0xa3:
    case 0xab:
      bitTest(cpu, i, op === 0xa3 ? 0 : 1, false);
      return;
    case 0xa4:
    case 0xa5:
    case 0xac:
    case 0xad: {
      const size = i.operandSize;
      let count = op === 0xa4 || op === 0xac ? i.immediateLo : cpu.regs[2];
      count &= size === 8 ? 63 : 31;
      if (count === 0) {
        cpu.readRm(i, size);
        if (size === 4 && i.mod === 3) cpu.regs[(i.rm << 1) | 1] = 0; // as for group 2
        return;
      }
      const d = cpu.readRmForWrite(i, size);
      const dh = cpu.hi;
      const s = cpu.getReg(size, i.reg, 1);
      const r = doubleShift(cpu, op < 0xa8, size, d, dh, s, cpu.hi, count);
      cpu.writeRm(i, size, r, cpu.hi, true);
      return;
    }
    case 0xae:
      group15(cpu, i);
      return;
    case 0xaf: {
      const size = i.operandSize;
      const s = cpu.readRm(i, size);
      const sh = cpu.hi;
      const d = cpu.getReg(size, i.reg, 1);
      const r = imulTruncating(cpu, size, d, cpu.hi, s, sh);
      cpu.setReg(size, i.reg, 1, r, cpu.hi);
      return;
    }
    default:
      cpu.unimplemented();
  }
}

/** BT/BTS/BTR/BTC. kind: 0 BT, 1 BTS, 2 BTR, 3 BTC. With a register offset, memory bit strings extend beyond the operand (SDM Vol. 2 BT). */
function bitTest(cpu: Cpu, i: DecodedInstruction, kind: number, immediate: boolean): void {
  const size = i.operandSize;
  const bits = size * 8;
  let bit: number;
  if (immediate) {
    bit = i.immediateLo & (bits - 1);
  } else {
    const off = cpu.getReg(size, i.reg, 1);
    const offHi = cpu.hi;
    if (i.mod === 3) bit = off & (bits - 1);
    else {
      // Signed bit offset: the address moves by whole operands.
      const offset = size === 8 ? offHi * 4294967296 + (off >>> 0) : signExtend(size, off);
      const unit = Math.floor(offset / bits);
      bit = offset - unit * bits;
      cpu.computeEa(i);
      const delta = unit * size;
      if (i.addressSize === 8) {
        const t = (cpu.eaLo >>> 0) + delta;
        const carry = Math.floor(t / 4294967296);
        cpu.eaLo = t | 0;
        cpu.eaHi = (cpu.eaHi + carry) | 0;
      } else if (i.addressSize === 4) cpu.eaLo = (cpu.eaLo + delta) | 0;
      else cpu.eaLo = (cpu.eaLo + delta) & 0xffff;
      bitTestMemory(cpu, i, kind, bit);
      return;
    }
  }
  if (i.mod !== 3) {
    cpu.computeEa(i);
    bitTestMemory(cpu, i, kind, bit);
    return;
  }
  let lo = cpu.getReg(size, i.rm, 1);
  let hi = cpu.hi;
  const cf = bit < 32 ? (lo >>> bit) & 1 : (hi >>> (bit - 32)) & 1;
  if (kind !== 0) {
    const m = 1 << (bit & 31);
    if (bit < 32) lo = kind === 1 ? lo | m : kind === 2 ? lo & ~m : lo ^ m;
    else hi = kind === 1 ? hi | m : kind === 2 ? hi & ~m : hi ^ m;
    cpu.setReg(size, i.rm, 1, lo, hi);
  }
  cpu.materializeFlags();
  cpu.eflags = (cpu.eflags & ~CF) | cf;
}

function bitTestMemory(cpu: Cpu, i: DecodedInstruction, kind: number, bit: number): void {
  // Access the byte holding the bit (same result as the operand-sized access for valid operands).
  const byteOffset = bit >> 3;
  const t = (cpu.eaLo >>> 0) + byteOffset;
  const lo = i.addressSize === 2 ? t & 0xffff : t | 0;
  const hi = i.addressSize === 8 ? (cpu.eaHi + (t > 0xffffffff ? 1 : 0)) | 0 : 0;
  let v: number;
  if (kind === 0) v = cpu.readMem(cpu.eaSeg, lo, hi, 1);
  else {
    cpu.linear(cpu.eaSeg, lo, hi, 1, true);
    const mmu = cpu.mmu;
    v = mmu.read8(cpu.linLo, cpu.linHi, cpu.writeClass);
    if (mmu.faultPending) cpu.pageFault();
  }
  const m = 1 << (bit & 7);
  const cf = (v & m) !== 0 ? 1 : 0;
  if (kind !== 0) {
    const nv = kind === 1 ? v | m : kind === 2 ? v & ~m : v ^ m;
    cpu.writeLinear(1, cpu.linLo, cpu.linHi, nv, 0);
  }
  cpu.materializeFlags();
  cpu.eflags = (cpu.eflags & ~CF) | cf;
}

function op0FBx(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  switch (op) {
    case 0xb0:
    case 0xb1:
      cmpxchg(cpu, i);
      return;
    case 0xb2:
      loadFarPointer(cpu, i, SS);
      return;
    case 0xb3:
      bitTest(cpu, i, 2, false);
      return;
    case 0xb4:
    case 0xb5:
      loadFarPointer(cpu, i, op === 0xb4 ? FS : GS);
      return;
    case 0xb6:
    case 0xb7:
    case 0xbe:
    case 0xbf: {
      const srcSize = (op & 1) === 0 ? 1 : 2;
      let v = cpu.readRm(i, srcSize);
      const size = i.operandSize;
      if (op >= 0xbe) {
        v = signExtend(srcSize, v);
        cpu.setReg(size, i.reg, 1, v, v >> 31);
      } else cpu.setReg(size, i.reg, 1, v, 0);
      return;
    }
    case 0xb8: {
      if (i.rep === 0) cpu.raise(UD); // JMPE
      // POPCNT
      const size = i.operandSize;
      const v = cpu.readRm(i, size);
      const n = size === 8 ? popcount32(v) + popcount32(cpu.hi) : popcount32(truncate(size, v));
      cpu.setReg(size, i.reg, 1, n, 0);
      cpu.setArithFlags(n === 0 ? ZF : 0);
      return;
    }
    case 0xba: {
      const kind = i.reg & 7;
      if (kind < 4) cpu.raise(UD);
      bitTest(cpu, i, kind - 4, true);
      return;
    }
    case 0xbb:
      bitTest(cpu, i, 3, false);
      return;
    case 0xbc:
    case 0xbd: {
      const size = i.operandSize;
      const v = cpu.readRm(i, size);
      const vh = cpu.hi;
      const forward = op === 0xbc;
      const index = bitScan(forward, size, v, vh);
      // TZCNT / LZCNT: CF = source was 0, ZF = result is 0. Without ABM, F3 0F BD
      // is BSR (SDM LZCNT); TZCNT needs BMI1, which CPUID does not list yet.
      if (i.rep !== 0 && (forward || cpu.features.has("abm"))) {
        const bits = size * 8;
        const n = index < 0 ? bits : forward ? index : bits - 1 - index;
        cpu.setReg(size, i.reg, 1, n, 0);
        cpu.materializeFlags();
        cpu.eflags = (cpu.eflags & ~(CF | ZF)) | (index < 0 ? CF : 0) | (n === 0 ? ZF : 0);
        return;
      }
      cpu.materializeFlags();
      // BSF/BSR: a zero source sets ZF and leaves the destination unchanged (as QEMU and AMD do; Intel: undefined).
      if (index < 0) cpu.eflags |= ZF;
      else {
        cpu.eflags &= ~ZF;
        cpu.setReg(size, i.reg, 1, index, 0);
      }
      return;
    }
    default:
      cpu.unimplemented();
  }
}

/** CMPXCHG r/m, r: compares the accumulator with the destination (SDM Vol. 2 CMPXCHG). */
function cmpxchg(cpu: Cpu, i: DecodedInstruction): void {
  const size = i.opcode === 0xb0 ? 1 : i.operandSize;
  const d = cpu.readRmForWrite(i, size);
  const dh = cpu.hi;
  const a = cpu.getReg(size, 0, 1);
  const ah = cpu.hi;
  alu(cpu, ALU_CMP, size, a, ah, d, dh);
  if (cpu.getZF() !== 0) {
    const s = cpu.getReg(size, i.reg, i.rex);
    cpu.writeRm(i, size, s, cpu.hi, true);
  } else {
    // SDM Vol. 2 CMPXCHG: "DEST <- TEMP" — the destination is written back, so a
    // 32-bit register destination is zero-extended. QEMU and AMD leave it alone
    // (test-roms/DEVIATIONS.md); the host fuzzer does not compare this case.
    cpu.writeRm(i, size, d, dh, true);
    cpu.setReg(size, 0, 1, d, dh);
  }
}

function op0FCx(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  if (op >= 0xc8) {
    // BSWAP
    const r = (op & 7) | (i.rexB << 3);
    const regs = cpu.regs;
    const swap = (v: number): number => ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    if (i.operandSize === 8) {
      const lo = regs[r << 1];
      regs[r << 1] = swap(regs[(r << 1) | 1]);
      regs[(r << 1) | 1] = swap(lo);
    } else if (i.operandSize === 4) {
      regs[r << 1] = swap(regs[r << 1]);
      regs[(r << 1) | 1] = 0;
    } else regs[r << 1] &= ~0xffff; // 16-bit BSWAP: undefined; zero as hardware gives
    return;
  }
  switch (op) {
    case 0xc0:
    case 0xc1: {
      // XADD
      const size = op === 0xc0 ? 1 : i.operandSize;
      const d = cpu.readRmForWrite(i, size);
      const dh = cpu.hi;
      const s = cpu.getReg(size, i.reg, i.rex);
      const r = alu(cpu, 0, size, d, dh, s, cpu.hi);
      const rh = cpu.hi;
      if (i.mod === 3) {
        cpu.setReg(size, i.reg, i.rex, d, dh);
        cpu.setReg(size, i.rm, i.rex, r, rh);
      } else {
        cpu.writeRm(i, size, r, rh, true);
        cpu.setReg(size, i.reg, i.rex, d, dh);
      }
      return;
    }
    case 0xc7:
      group9(cpu, i);
      return;
    default:
      cpu.unimplemented();
  }
}

/** Group 9: CMPXCHG8B / CMPXCHG16B. */
function group9(cpu: Cpu, i: DecodedInstruction): void {
  const kind = i.reg & 7;
  if (kind !== 1 || i.mod === 3) cpu.unimplemented();
  const regs = cpu.regs;
  cpu.computeEa(i);
  if (i.rexW !== 0) {
    // CMPXCHG16B: 16-byte aligned or #GP(0).
    if ((cpu.eaLo & 15) !== 0) cpu.raise(GP, 0);
    cpu.linear(cpu.eaSeg, cpu.eaLo, cpu.eaHi, 16, true);
    const lo = cpu.linLo;
    const hi = cpu.linHi;
    cpu.probeWrite(lo, hi, 16);
    const m0 = cpu.readLinear64(lo, hi);
    const m1 = cpu.hi;
    const m2 = cpu.readLinear64(lo + 8, hi);
    const m3 = cpu.hi;
    cpu.materializeFlags();
    if (m0 === regs[0] && m1 === regs[1] && m2 === regs[4] && m3 === regs[5]) {
      cpu.writeLinear(8, lo, hi, regs[6], regs[7]);
      cpu.writeLinear(8, lo + 8, hi, regs[2], regs[3]);
      cpu.eflags |= ZF;
    } else {
      cpu.writeLinear(8, lo, hi, m0, m1);
      cpu.writeLinear(8, lo + 8, hi, m2, m3);
      regs[0] = m0;
      regs[1] = m1;
      regs[4] = m2;
      regs[5] = m3;
      cpu.eflags &= ~ZF;
    }
    return;
  }
  cpu.linear(cpu.eaSeg, cpu.eaLo, cpu.eaHi, 8, true);
  const lo = cpu.linLo;
  const hi = cpu.linHi;
  const mmu = cpu.mmu;
  const m0 = mmu.read64(lo, hi, cpu.writeClass);
  if (mmu.faultPending) cpu.pageFault();
  const m1 = mmu.high;
  cpu.materializeFlags();
  if (m0 === regs[0] && m1 === regs[4]) {
    cpu.writeLinear(8, lo, hi, regs[6], regs[2]);
    cpu.eflags |= ZF;
  } else {
    cpu.writeLinear(8, lo, hi, m0, m1);
    regs[0] = m0;
    regs[1] = 0;
    regs[4] = m1;
    regs[5] = 0;
    cpu.eflags &= ~ZF;
  }
}

// --- 0F 38 -----------------------------------------------------------------------------

function execute0F38(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  if (op === 0x82 && i.operandSizeOverride !== 0) {
    invpcidInstruction(cpu, i);
    return;
  }
  if ((op === 0xf0 || op === 0xf1) && i.repne === 0 && i.rep === 0 && i.mod !== 3) {
    // MOVBE
    const size = i.operandSize;
    const swap = (v: number): number => ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    if (op === 0xf0) {
      const v = cpu.readRm(i, size);
      if (size === 8) cpu.setReg(8, i.reg, 1, swap(cpu.hi), swap(v));
      else if (size === 4) cpu.setReg(4, i.reg, 1, swap(v), 0);
      else cpu.setReg(2, i.reg, 1, ((v & 0xff) << 8) | ((v >> 8) & 0xff), 0);
    } else {
      const v = cpu.getReg(size, i.reg, 1);
      if (size === 8) cpu.writeRm(i, 8, swap(cpu.hi), swap(v), false);
      else if (size === 4) cpu.writeRm(i, 4, swap(v), 0, false);
      else cpu.writeRm(i, 2, ((v & 0xff) << 8) | ((v >> 8) & 0xff), 0, false);
    }
    return;
  }
  cpu.unimplemented();
}

