// What the compiler needs to know of one decoded instruction before it emits
// anything: how control leaves it, whether it may fault, how it uses the
// arithmetic flags, and whether it is emitted inline or run by the
// interpreter's handler. The inline forms themselves are in emit.ts; this
// file only classifies, so region building and flag liveness agree with the
// emitter on every instruction.

import type { DecodedInstruction } from "../cpu/decoder.ts";

/** How an instruction takes part in a region. */
export const INLINE = 0;
/** Run by the interpreter's handler; the region goes on after it. */
export const CALL = 1;
/** Run by the interpreter's handler; the region ends after it (RIP is whatever it left). */
export const CALL_END = 2;

/** How control leaves an instruction. */
export const FLOW_NEXT = 0;
/** JMP rel: to `target` only. */
export const FLOW_JUMP = 1;
/** Jcc rel: to `target` or the next instruction. */
export const FLOW_BRANCH = 2;
/** CALL rel: pushes the next RIP, goes to `target`. */
export const FLOW_CALL = 3;
/** A target known only at run time (RET, CALL_END): the region ends. */
export const FLOW_DYNAMIC = 4;

export interface InstructionInfo {
  kind: number;
  flow: number;
  /** May raise an exception (whose frame would hold RFLAGS). */
  mayFault: boolean;
  /** Reads some arithmetic flag. */
  readsFlags: boolean;
  /** Writes all six arithmetic flags (without reading them). */
  writesFlags: boolean;
  /**
   * Writes some flags and keeps the others (ROL/ROR of a register by a
   * constant): it reads the flags only if its own may be read later.
   */
  partialFlags: boolean;
}

const info: InstructionInfo = { kind: INLINE, flow: FLOW_NEXT, mayFault: false, readsFlags: false, writesFlags: false, partialFlags: false };

function set(kind: number, flow: number, mayFault: boolean, readsFlags: boolean, writesFlags: boolean): InstructionInfo {
  info.kind = kind;
  info.flow = flow;
  info.mayFault = mayFault;
  info.readsFlags = readsFlags;
  info.writesFlags = writesFlags;
  info.partialFlags = false;
  return info;
}

/** Handler-run instruction that may do anything an instruction can do to flags and memory. */
function call(end: boolean): InstructionInfo {
  return set(end ? CALL_END : CALL, end ? FLOW_DYNAMIC : FLOW_NEXT, true, true, false);
}

/**
 * Classifies `i` (decoded in `long64` mode with stack width `stackSize`).
 * The result is a shared object, valid until the next call.
 */
export function classify(i: DecodedInstruction, long64: boolean, stackSize: number): InstructionInfo {
  const mem = i.hasModrm !== 0 && i.mod !== 3;
  // 16-bit addressing is left to the interpreter.
  if (mem && i.addressSize === 2) return call(false);
  const op = i.opcode;
  const flatStack = long64 || stackSize === 4;
  if (i.map === 0) {
    if (op < 0x40) {
      const form = op & 7;
      if (form < 6) {
        const aluOp = op >> 3;
        const carry = aluOp === 2 || aluOp === 3;
        return set(INLINE, FLOW_NEXT, mem, carry, true);
      }
      return call(true); // segment push/pop, BCD
    }
    if (op >= 0x50 && op <= 0x5f) return flatStack ? set(INLINE, FLOW_NEXT, true, false, false) : call(false);
    if (op >= 0x70 && op <= 0x7f) return set(INLINE, FLOW_BRANCH, false, true, false);
    if (op >= 0xb0 && op <= 0xbf) return set(INLINE, FLOW_NEXT, false, false, false);
    if (op >= 0x40 && op <= 0x4f) return call(false); // INC/DEC r outside 64-bit mode
    switch (op) {
      case 0x63:
        return long64 ? set(INLINE, FLOW_NEXT, mem, false, false) : call(true);
      case 0x68:
      case 0x6a:
        return flatStack ? set(INLINE, FLOW_NEXT, true, false, false) : call(false);
      case 0x69:
      case 0x6b:
        return set(INLINE, FLOW_NEXT, mem, false, true);
      case 0x80:
      case 0x81:
      case 0x83: {
        const aluOp = i.reg & 7;
        return set(INLINE, FLOW_NEXT, mem, aluOp === 2 || aluOp === 3, true);
      }
      case 0x84:
      case 0x85:
        return set(INLINE, FLOW_NEXT, mem, false, true);
      case 0x88:
      case 0x89:
      case 0x8a:
      case 0x8b:
        return set(INLINE, FLOW_NEXT, mem, false, false);
      case 0x8d:
        return mem ? set(INLINE, FLOW_NEXT, false, false, false) : call(false);
      case 0x90:
        return i.rexB === 0 ? set(INLINE, FLOW_NEXT, false, false, false) : call(false);
      case 0x98:
      case 0x99:
        return set(INLINE, FLOW_NEXT, false, false, false);
      case 0xa8:
      case 0xa9:
        return set(INLINE, FLOW_NEXT, false, false, true);
      case 0xc0:
      case 0xc1:
      case 0xd0:
      case 0xd1: {
        const kind = i.reg & 7;
        const size = (op & 1) === 0 ? 1 : i.operandSize;
        const count = (op <= 0xc1 ? i.immediateLo : 1) & (size === 8 ? 63 : 31);
        if (count === 0) return set(INLINE, FLOW_NEXT, mem, false, false);
        // SHL/SHR/SAL/SAR set every flag; ROL/ROR/RCL/RCR keep some (and RCL/RCR rotate CF in).
        if (kind >= 4) return set(INLINE, FLOW_NEXT, mem, false, true);
        const r = set(INLINE, FLOW_NEXT, mem, true, false);
        r.partialFlags = kind < 2 && !mem;
        return r;
      }
      case 0xc3:
        return flatStack && i.operandSize >= 4 ? set(INLINE, FLOW_DYNAMIC, true, false, false) : call(true);
      case 0xc6:
      case 0xc7:
        return (i.reg & 7) === 0 ? set(INLINE, FLOW_NEXT, mem, false, false) : call(false);
      case 0xe8:
        return flatStack && i.operandSize >= 4 ? set(INLINE, FLOW_CALL, true, false, false) : call(true);
      case 0xe9:
      case 0xeb:
        return set(INLINE, FLOW_JUMP, false, false, false);
      case 0xf6:
      case 0xf7:
        if ((i.reg & 7) < 2) return set(INLINE, FLOW_NEXT, mem, false, true);
        return call(false); // NOT, NEG, MUL, IMUL, DIV, IDIV
      case 0xfe:
      case 0xff:
        if ((i.reg & 7) < 2) return set(INLINE, FLOW_NEXT, mem, true, false); // INC/DEC keep CF
        if (op === 0xff && (i.reg & 7) === 6) return call(false); // PUSH r/m
        return call(true); // CALL/JMP indirect and far
      // Instructions the interpreter runs and after which the region goes on:
      // they touch registers, flags and memory (through the MMU) only.
      case 0x86:
      case 0x87:
      case 0x8f:
      case 0x91:
      case 0x92:
      case 0x93:
      case 0x94:
      case 0x95:
      case 0x96:
      case 0x97:
      case 0x9e:
      case 0x9f:
      case 0xa0:
      case 0xa1:
      case 0xa2:
      case 0xa3:
      case 0xc8:
      case 0xc9:
      case 0xd2:
      case 0xd3:
      case 0xd7:
      case 0xf5:
      case 0xf8:
      case 0xf9:
      case 0xfc:
      case 0xfd:
        return call(false);
      default:
        // String instructions (a REP may stop part-way and resume), I/O,
        // interrupts, far transfers, flags and segment loads, HLT, ...
        return call(true);
    }
  }
  if (i.map === 1) {
    if (op >= 0x80 && op <= 0x8f) return set(INLINE, FLOW_BRANCH, false, true, false);
    if (op >= 0x40 && op <= 0x4f) return set(INLINE, FLOW_NEXT, mem, true, false);
    if (op >= 0x90 && op <= 0x9f) return set(INLINE, FLOW_NEXT, mem, true, false);
    switch (op) {
      case 0xb6:
      case 0xb7:
      case 0xbe:
      case 0xbf:
        return set(INLINE, FLOW_NEXT, mem, false, false);
      case 0xaf:
        return set(INLINE, FLOW_NEXT, mem, false, true);
      case 0x0d:
      case 0x18:
      case 0x19:
      case 0x1a:
      case 0x1b:
      case 0x1c:
      case 0x1d:
      case 0x1e:
      case 0x1f:
        return set(INLINE, FLOW_NEXT, false, false, false); // hint NOPs: no memory access
      case 0x31: // RDTSC: run where icount is exact (a block start)
      case 0xa2: // CPUID
      case 0xa3:
      case 0xa4:
      case 0xa5:
      case 0xab:
      case 0xac:
      case 0xad:
      case 0xb0:
      case 0xb1:
      case 0xb3:
      case 0xb8:
      case 0xba:
      case 0xbb:
      case 0xbc:
      case 0xbd:
      case 0xc0:
      case 0xc1:
      case 0xc7:
      case 0xc8:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf:
        return call(false);
      default:
        return call(true);
    }
  }
  if (i.map === 2 && (op === 0xf0 || op === 0xf1)) return call(false); // MOVBE
  return call(true);
}
