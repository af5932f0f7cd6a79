// String instructions: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS, with REP,
// REPE and REPNE (SDM Vol. 2, "REP/REPE/REPZ/REPNE/REPNZ"). rSI, rDI and rCX
// have the address size; the source segment may be overridden, the
// destination is always ES. Registers are updated after every element, so
// a fault in the middle leaves a state the instruction can restart from.

import type { Cpu } from "./cpu.ts";
import { DS, ES } from "./cpu.ts";
import type { DecodedInstruction } from "./decoder.ts";
import { ALU_CMP, alu } from "./alu.ts";
import { DF } from "./flags.ts";
import { inPort, outPort } from "./system.ts";

/** Reads index register r (6 = rSI, 7 = rDI) at address size `asz`; the high half goes to cpu.hi. */
function indexLo(cpu: Cpu, r: number, asz: number): number {
  const regs = cpu.regs;
  cpu.hi = asz === 8 ? regs[(r << 1) | 1] : 0;
  return asz === 2 ? regs[r << 1] & 0xffff : regs[r << 1];
}

/** Adds delta to index register r at address size `asz`. */
function advance(cpu: Cpu, r: number, asz: number, delta: number): void {
  const regs = cpu.regs;
  const i = r << 1;
  if (asz === 8) {
    const t = (regs[i] >>> 0) + delta;
    if (t > 0xffffffff) regs[i | 1] = (regs[i | 1] + 1) | 0;
    else if (t < 0) regs[i | 1] = (regs[i | 1] - 1) | 0;
    regs[i] = t | 0;
  } else if (asz === 4) {
    regs[i] = (regs[i] + delta) | 0;
    regs[i | 1] = 0;
  } else regs[i] = (regs[i] & ~0xffff) | ((regs[i] + delta) & 0xffff);
}

function countIsZero(cpu: Cpu, asz: number): boolean {
  const regs = cpu.regs;
  if (asz === 8) return (regs[2] | regs[3]) === 0;
  if (asz === 4) return regs[2] === 0;
  return (regs[2] & 0xffff) === 0;
}

/** Elements a REP instruction moves per step before it yields. */
const REP_CHUNK = 4096;

export function stringInstruction(cpu: Cpu, i: DecodedInstruction): void {
  const op = i.opcode;
  const size = (op & 1) === 0 ? 1 : op >= 0x6c && op <= 0x6f ? (i.operandSize === 2 ? 2 : 4) : i.operandSize;
  const asz = i.addressSize;
  const delta = (cpu.eflags & DF) !== 0 ? -size : size;
  const srcSeg = i.segment < 0 ? DS : i.segment;
  const repeat = i.rep !== 0 || i.repne !== 0;
  // CMPS and SCAS stop on ZF (REPE: while equal; REPNE: while not equal).
  const compares = op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf;
  const regs = cpu.regs;
  if (op >= 0x6c && op <= 0x6f) {
    // INS/OUTS: the I/O permission is checked once, up front.
    inPort(cpu, regs[4] & 0xffff, size, true);
  }
  let budget = REP_CHUNK;
  for (;;) {
    if (repeat && countIsZero(cpu, asz)) return;
    if (--budget < 0) {
      // A long REP yields: RIP goes back to the instruction, which resumes
      // from rCX/rSI/rDI at the next step, so interrupts, --timeout and the
      // instruction budget are honoured (SDM Vol. 2 REP: interruptible).
      cpu.ripLo = cpu.startLo;
      cpu.ripHi = cpu.startHi;
      // An interrupt taken here pushes RF=1 (SDM Vol. 3A 17.3.1.1).
      cpu.rfIcount = cpu.icount + 1;
      return;
    }
    switch (op) {
      case 0xa4:
      case 0xa5: {
        const s = indexLo(cpu, 6, asz);
        const v = cpu.readMem(srcSeg, s, cpu.hi, size);
        const vh = cpu.hi;
        const d = indexLo(cpu, 7, asz);
        cpu.writeMem(ES, d, cpu.hi, size, v, vh);
        advance(cpu, 6, asz, delta);
        advance(cpu, 7, asz, delta);
        break;
      }
      case 0xa6:
      case 0xa7: {
        const s = indexLo(cpu, 6, asz);
        const a = cpu.readMem(srcSeg, s, cpu.hi, size);
        const ah = cpu.hi;
        const d = indexLo(cpu, 7, asz);
        const b = cpu.readMem(ES, d, cpu.hi, size);
        alu(cpu, ALU_CMP, size, a, ah, b, cpu.hi);
        advance(cpu, 6, asz, delta);
        advance(cpu, 7, asz, delta);
        break;
      }
      case 0xaa:
      case 0xab: {
        const v = cpu.getReg(size, 0, 1);
        const vh = cpu.hi;
        const d = indexLo(cpu, 7, asz);
        cpu.writeMem(ES, d, cpu.hi, size, v, vh);
        advance(cpu, 7, asz, delta);
        break;
      }
      case 0xac:
      case 0xad: {
        const s = indexLo(cpu, 6, asz);
        const v = cpu.readMem(srcSeg, s, cpu.hi, size);
        cpu.setReg(size, 0, 1, v, cpu.hi);
        advance(cpu, 6, asz, delta);
        break;
      }
      case 0xae:
      case 0xaf: {
        const a = cpu.getReg(size, 0, 1);
        const ah = cpu.hi;
        const d = indexLo(cpu, 7, asz);
        const b = cpu.readMem(ES, d, cpu.hi, size);
        alu(cpu, ALU_CMP, size, a, ah, b, cpu.hi);
        advance(cpu, 7, asz, delta);
        break;
      }
      case 0x6c:
      case 0x6d: {
        // INS: the destination is checked before the port is read.
        const d = indexLo(cpu, 7, asz);
        cpu.linear(ES, d, cpu.hi, size, true);
        cpu.probeWrite(cpu.linLo, cpu.linHi, size);
        const v = inPort(cpu, regs[4] & 0xffff, size);
        cpu.writeMem(ES, d, asz === 8 ? regs[15] : 0, size, v, 0);
        advance(cpu, 7, asz, delta);
        break;
      }
      default: {
        const s = indexLo(cpu, 6, asz);
        const v = cpu.readMem(srcSeg, s, cpu.hi, size);
        outPort(cpu, regs[4] & 0xffff, size, v);
        advance(cpu, 6, asz, delta);
      }
    }
    if (!repeat) return;
    // rCX counts down at the address size.
    advance(cpu, 1, asz, -1);
    if (compares) {
      const zf = cpu.getZF();
      if (i.rep !== 0 ? zf === 0 : zf !== 0) return;
    }
  }
}
