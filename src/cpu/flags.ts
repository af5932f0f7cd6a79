// EFLAGS bits (SDM Vol. 1, 3.4.3) and the lazy-flags operation codes.
//
// Arithmetic flags are computed lazily: an ADD, SUB, logic op, INC or DEC
// records its operands and result (Cpu.lazy*) and the six flags are derived
// only when something reads them — usually the next Jcc, which needs one or
// two of them. Every other instruction writes the flags eagerly (LAZY_NONE:
// the bits are in Cpu.eflags).

export const CF = 0x1;
export const FIXED_1 = 0x2;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const TF = 0x100;
export const IF = 0x200;
export const DF = 0x400;
export const OF = 0x800;
export const IOPL = 0x3000;
export const NT = 0x4000;
export const RF = 0x10000;
export const VM = 0x20000;
export const AC = 0x40000;
export const VIF = 0x80000;
export const VIP = 0x100000;
export const ID = 0x200000;

export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** The bits POPF/IRET/WRMSR-style loads may ever set (VM, VIF, VIP stay 0: no virtual-8086 mode). */
export const SETTABLE_FLAGS = ARITH_FLAGS | TF | IF | DF | IOPL | NT | RF | AC | ID;

export const LAZY_NONE = 0;
export const LAZY_ADD = 1;
export const LAZY_ADC = 2;
export const LAZY_SUB = 3;
export const LAZY_SBB = 4;
export const LAZY_LOGIC = 5;
export const LAZY_INC = 6;
export const LAZY_DEC = 7;

/** PARITY[b] is PF for a result whose low byte is b (even number of 1 bits). */
export const PARITY = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  let n = 0;
  for (let v = b; v !== 0; v >>= 1) n += v & 1;
  PARITY[b] = (n & 1) === 0 ? PF : 0;
}

/** Names of the condition codes 0-15 (Jcc/SETcc/CMOVcc suffixes). */
export const CONDITION_NAMES = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"] as const;
