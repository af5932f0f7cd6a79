// The x86 instruction decoder: prefixes, opcode, ModRM/SIB, displacement and
// immediates, following the Intel SDM Vol. 2, chapter 2 "Instruction Format"
// and Appendix A "Opcode Map". It finds the length and the operand fields of
// one instruction; what the instruction does is the interpreter's business.
//
// decode() writes into a caller-owned DecodedInstruction and returns the
// length, or a negative DECODE_* code. Nothing is allocated and nothing
// throws. 64-bit immediates are two int32 halves.
//
// Modes: 64 (64-bit mode), 32 (compatibility or 32-bit protected mode) and
// 16 (only the operand/address-size defaults differ; 16-bit ModRM addressing
// is decoded).

import {
  F_BYTE,
  F_DEF64,
  F_FORCE64,
  F_IMM_ZX,
  F_INVALID,
  F_INVALID64,
  F_MODRM,
  F_MODRM_REG,
  F_UNSUPPORTED,
  IMM_16,
  IMM_8,
  IMM_ENTER,
  IMM_FAR,
  IMM_GRP3,
  IMM_KIND_MASK,
  IMM_MOFFS,
  IMM_REL8,
  IMM_RELZ,
  IMM_V,
  IMM_Z,
  LOCK_REG_MASK,
  OPCODE_FLAGS,
} from "./opcode-tables.ts";

/** Fewer bytes are available than the instruction needs: fetch more and retry. */
export const DECODE_INCOMPLETE = -1;
/** Longer than 15 bytes: #GP(0) (SDM Vol. 2, 2.3.11). */
export const DECODE_TOO_LONG = -2;
/** #UD: an opcode invalid in this mode, or LOCK where it is not allowed. */
export const DECODE_INVALID = -3;
/** An encoding cr3 does not model (VEX, EVEX, XOP, 3DNow!): #UD for now. */
export const DECODE_UNSUPPORTED = -4;

export const MAX_INSTRUCTION_LENGTH = 15;

export const SEG_NONE = -1;
export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;

export const MAP_ONE_BYTE = 0;
export const MAP_0F = 1;
export const MAP_0F38 = 2;
export const MAP_0F3A = 3;

// 16-bit ModRM addressing (SDM Vol. 2, Table 2-1): base and index per rm.
// BX=3 BP=5 SI=6 DI=7; -1 for none.
const BASE16 = new Int8Array([3, 3, 5, 5, -1, -1, 5, 3]);
const INDEX16 = new Int8Array([6, 7, 6, 7, 6, 7, -1, -1]);

/** One decoded instruction. Flags are 0/1 numbers; all fields are numbers. */
export class DecodedInstruction {
  /** Total length in bytes (prefixes included). */
  length = 0;
  lock = 0;
  /** F3 seen (REP/REPE, or a mandatory prefix). */
  rep = 0;
  /** F2 seen (REPNE, or a mandatory prefix). */
  repne = 0;
  /** The last segment override: SEG_ES..SEG_GS, or SEG_NONE. 3E before an indirect branch (NOTRACK) is reported as DS. */
  segment = -1;
  /** 66 seen. */
  operandSizeOverride = 0;
  /** 67 seen. */
  addressSizeOverride = 0;
  /** The REX byte (0x40-0x4F) that took effect, or 0. */
  rex = 0;
  rexW = 0;
  rexR = 0;
  rexX = 0;
  rexB = 0;
  /** MAP_ONE_BYTE, MAP_0F, MAP_0F38 or MAP_0F3A. */
  map = 0;
  opcode = 0;
  hasModrm = 0;
  modrm = 0;
  mod = 0;
  /** ModRM.reg with REX.R. */
  reg = 0;
  /** ModRM.rm with REX.B (the raw rm field when a SIB byte follows: 4 or 12). */
  rm = 0;
  hasSib = 0;
  /** Scale factor 1, 2, 4 or 8 (1 without SIB). */
  scale = 1;
  /** Index register with REX.X, or -1. 16-bit addressing: SI=6 / DI=7. */
  index = -1;
  /** Base register with REX.B, or -1 (disp32 only, or RIP-relative). 16-bit addressing: BX=3 / BP=5. */
  base = -1;
  ripRelative = 0;
  /** Sign-extended displacement (int32). */
  displacement = 0;
  /** Displacement bytes: 0, 1, 2 or 4. */
  displacementSize = 0;
  /** Immediate (or branch displacement, or moffs) as two int32 halves; sign-extended to 64 bits where the instruction sign-extends, else zero-extended. */
  immediateLo = 0;
  immediateHi = 0;
  /** Immediate bytes: 0, 1, 2, 4 or 8 (ENTER: 2, with immediate2; far pointers: the offset's size). */
  immediateSize = 0;
  /** ENTER's imm8 (nesting level), or a far pointer's selector. */
  immediate2 = 0;
  immediate2Size = 0;
  /** Operand size in bytes: 1, 2, 4 or 8. */
  operandSize = 4;
  /** Address size in bytes: 2, 4 or 8. */
  addressSize = 4;
}

/**
 * Decodes the instruction at bytes[offset] in `mode` into `out`. Returns the
 * length, or DECODE_INCOMPLETE / DECODE_TOO_LONG / DECODE_INVALID /
 * DECODE_UNSUPPORTED (then `out` holds whatever was decoded so far).
 * Bytes at `end` and beyond are not looked at (a page boundary).
 */
export function decode(bytes: Uint8Array, offset: number, mode: number, out: DecodedInstruction, end: number = bytes.length): number {
  out.length = 0;
  out.lock = 0;
  out.rep = 0;
  out.repne = 0;
  out.segment = -1;
  out.operandSizeOverride = 0;
  out.addressSizeOverride = 0;
  out.rex = 0;
  out.rexW = 0;
  out.rexR = 0;
  out.rexX = 0;
  out.rexB = 0;
  out.map = 0;
  out.opcode = 0;
  out.hasModrm = 0;
  out.modrm = 0;
  out.mod = 0;
  out.reg = 0;
  out.rm = 0;
  out.hasSib = 0;
  out.scale = 1;
  out.index = -1;
  out.base = -1;
  out.ripRelative = 0;
  out.displacement = 0;
  out.displacementSize = 0;
  out.immediateLo = 0;
  out.immediateHi = 0;
  out.immediateSize = 0;
  out.immediate2 = 0;
  out.immediate2Size = 0;

  const long = mode === 64;
  let pos = offset;
  let rex = 0;
  let b = 0;
  let osz = 0;
  let asz = 0;

  // Legacy prefixes in any order and number, REX (64-bit mode) last. A REX
  // followed by a legacy prefix is ignored (SDM Vol. 2, 2.2.1).
  for (;;) {
    if (pos - offset >= 15) return DECODE_TOO_LONG;
    if (pos >= end) return DECODE_INCOMPLETE;
    b = bytes[pos];
    if (long && (b & 0xf0) === 0x40) {
      rex = b;
      pos++;
      continue;
    }
    switch (b) {
      case 0xf0: out.lock = 1; break;
      case 0xf2: out.repne = 1; break;
      case 0xf3: out.rep = 1; break;
      case 0x26: out.segment = 0; break;
      case 0x2e: out.segment = 1; break;
      case 0x36: out.segment = 2; break;
      case 0x3e: out.segment = 3; break;
      case 0x64: out.segment = 4; break;
      case 0x65: out.segment = 5; break;
      case 0x66: osz = 1; break;
      case 0x67: asz = 1; break;
      default:
        b = -1;
    }
    if (b < 0) break;
    rex = 0;
    pos++;
  }
  out.operandSizeOverride = osz;
  out.addressSizeOverride = asz;
  if (rex !== 0) {
    out.rex = rex;
    out.rexW = (rex >> 3) & 1;
    out.rexR = (rex >> 2) & 1;
    out.rexX = (rex >> 1) & 1;
    out.rexB = rex & 1;
  }

  // Opcode, with the 0F / 0F38 / 0F3A escapes.
  let op = bytes[pos++];
  let map = 0;
  if (op === 0x0f) {
    if (pos - offset >= 15) return DECODE_TOO_LONG;
    if (pos >= end) return DECODE_INCOMPLETE;
    op = bytes[pos++];
    map = 1;
    if (op === 0x38 || op === 0x3a) {
      map = op === 0x38 ? 2 : 3;
      if (pos - offset >= 15) return DECODE_TOO_LONG;
      if (pos >= end) return DECODE_INCOMPLETE;
      op = bytes[pos++];
    }
  }
  out.map = map;
  out.opcode = op;

  let flags: number;
  if (map === 2) flags = F_MODRM;
  else if (map === 3) flags = F_MODRM | IMM_8 | F_IMM_ZX;
  else flags = OPCODE_FLAGS[(map << 8) | op];
  if ((flags & F_INVALID) !== 0) return DECODE_INVALID;
  if ((flags & F_UNSUPPORTED) !== 0) return DECODE_UNSUPPORTED;
  if (map === 0) {
    if (long) {
      // C4/C5 are VEX in 64-bit mode; 62 is EVEX (or #UD without AVX-512).
      if (op === 0xc4 || op === 0xc5) return DECODE_UNSUPPORTED;
      if ((flags & F_INVALID64) !== 0) return DECODE_INVALID;
    } else if (op === 0x62 || op === 0xc4 || op === 0xc5) {
      // Outside 64-bit mode, BOUND/LES/LDS with mod = 11 are EVEX/VEX.
      if (pos >= end) return pos - offset >= 15 ? DECODE_TOO_LONG : DECODE_INCOMPLETE;
      if ((bytes[pos] & 0xc0) === 0xc0) return DECODE_UNSUPPORTED;
    }
  }

  // Address size: 64-bit mode 8 (67: 4); 32-bit 4 (67: 2); 16-bit 2 (67: 4).
  let addressSize: number;
  if (long) addressSize = asz !== 0 ? 4 : 8;
  else if (mode === 32) addressSize = asz !== 0 ? 2 : 4;
  else addressSize = asz !== 0 ? 4 : 2;
  out.addressSize = addressSize;

  // ModRM, SIB, displacement (SDM Vol. 2, 2.1.5 and 2.2.1.6).
  let reg = 0;
  if ((flags & F_MODRM) !== 0) {
    if (pos - offset >= 15) return DECODE_TOO_LONG;
    if (pos >= end) return DECODE_INCOMPLETE;
    const modrm = bytes[pos++];
    const mod = modrm >> 6;
    reg = (modrm >> 3) & 7;
    const rm = modrm & 7;
    out.hasModrm = 1;
    out.modrm = modrm;
    out.mod = mod;
    out.reg = reg | ((rex & 4) << 1);
    out.rm = rm | ((rex & 1) << 3);
    let dispSize = 0;
    if (mod === 3 || (flags & F_MODRM_REG) !== 0) {
      // Register operand. MOV CRn/DRn ignore mod and always take a register.
      if (mod !== 3) out.mod = 3;
    } else if (addressSize === 2) {
      // 16-bit addressing: no SIB; rm 110 with mod 00 is disp16.
      if (mod === 0 && rm === 6) {
        dispSize = 2;
      } else {
        out.base = BASE16[rm];
        out.index = INDEX16[rm];
        dispSize = mod === 1 ? 1 : mod === 2 ? 2 : 0;
      }
    } else {
      if (rm === 4) {
        // SIB follows; its base 101 with mod 00 means disp32 and no base
        // (so r13 as a base needs mod 01/10); index 100 without REX.X is none.
        if (pos - offset >= 15) return DECODE_TOO_LONG;
        if (pos >= end) return DECODE_INCOMPLETE;
        const sib = bytes[pos++];
        out.hasSib = 1;
        out.scale = 1 << (sib >> 6);
        const index = ((sib >> 3) & 7) | ((rex & 2) << 2);
        out.index = index === 4 ? -1 : index;
        const base = sib & 7;
        if (base === 5 && mod === 0) {
          dispSize = 4;
        } else {
          out.base = base | ((rex & 1) << 3);
        }
      } else if (rm === 5 && mod === 0) {
        // disp32: RIP-relative in 64-bit mode (whatever REX.B), absolute otherwise.
        dispSize = 4;
        if (long) out.ripRelative = 1;
      } else {
        out.base = rm | ((rex & 1) << 3);
      }
      if (mod === 1) dispSize = 1;
      else if (mod === 2) dispSize = 4;
    }
    if (dispSize !== 0) {
      if (pos - offset + dispSize > 15) return DECODE_TOO_LONG;
      if (pos + dispSize > end) return DECODE_INCOMPLETE;
      let d: number;
      if (dispSize === 1) d = (bytes[pos] << 24) >> 24;
      else if (dispSize === 2) d = ((bytes[pos] | (bytes[pos + 1] << 8)) << 16) >> 16;
      else d = bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24);
      out.displacement = d;
      out.displacementSize = dispSize;
      pos += dispSize;
    }
  }

  // Group-specific rules (SDM Table A-6).
  if (map === 0) {
    if (op === 0xff) {
      if (reg === 2 || reg === 4) flags |= F_FORCE64; // CALL/JMP near indirect
      else if (reg === 6) flags |= F_DEF64; // PUSH Ev
      else if (reg === 7) return DECODE_INVALID;
    } else if (op === 0x8f && reg !== 0) {
      return DECODE_UNSUPPORTED; // XOP (AMD) or undefined
    } else if (op === 0xfe && reg > 1) {
      return DECODE_INVALID;
    }
  }

  // Operand size (SDM Vol. 1, 3.6.1 and Vol. 2, 2.2.1.2).
  let operandSize: number;
  if ((flags & F_BYTE) !== 0) operandSize = 1;
  else if (long) {
    if ((rex & 8) !== 0 || (flags & F_FORCE64) !== 0) operandSize = 8; // REX.W wins over 66
    else if (osz !== 0) operandSize = 2;
    else operandSize = (flags & F_DEF64) !== 0 ? 8 : 4;
  } else if (mode === 32) operandSize = osz !== 0 ? 2 : 4;
  else operandSize = osz !== 0 ? 4 : 2;
  out.operandSize = operandSize;

  // Immediates.
  let kind = flags & IMM_KIND_MASK;
  if (kind === IMM_GRP3) kind = reg < 2 ? ((flags & F_BYTE) !== 0 ? IMM_8 : IMM_Z) : 0;
  if (kind !== 0) {
    let size = 0;
    let size2 = 0;
    switch (kind) {
      case IMM_8:
      case IMM_REL8:
        size = 1;
        break;
      case IMM_16:
        size = 2;
        break;
      case IMM_Z:
      case IMM_RELZ:
        size = operandSize === 2 ? 2 : 4;
        break;
      case IMM_V:
        size = operandSize;
        break;
      case IMM_MOFFS:
        size = addressSize;
        break;
      case IMM_ENTER:
        size = 2;
        size2 = 1;
        break;
      case IMM_FAR:
        size = operandSize === 2 ? 2 : 4;
        size2 = 2;
        break;
    }
    const total = size + size2;
    if (pos - offset + total > 15) return DECODE_TOO_LONG;
    if (pos + total > end) return DECODE_INCOMPLETE;
    let lo: number;
    let hi = 0;
    const zx = (flags & F_IMM_ZX) !== 0;
    if (size === 1) {
      lo = bytes[pos];
      if (!zx) {
        lo = (lo << 24) >> 24;
        hi = lo >> 31;
      }
    } else if (size === 2) {
      lo = bytes[pos] | (bytes[pos + 1] << 8);
      if (!zx) {
        lo = (lo << 16) >> 16;
        hi = lo >> 31;
      }
    } else {
      lo = bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24);
      if (size === 8) {
        hi = bytes[pos + 4] | (bytes[pos + 5] << 8) | (bytes[pos + 6] << 16) | (bytes[pos + 7] << 24);
      } else if (!zx) {
        hi = lo >> 31;
      }
    }
    out.immediateLo = lo;
    out.immediateHi = hi;
    out.immediateSize = size;
    pos += size;
    if (size2 === 1) {
      out.immediate2 = bytes[pos];
    } else if (size2 === 2) {
      out.immediate2 = bytes[pos] | (bytes[pos + 1] << 8);
    }
    out.immediate2Size = size2;
    pos += size2;
  }

  // LOCK: only on the lockable instructions, and only with a memory
  // destination (SDM Vol. 2, "LOCK—Assert LOCK# Signal Prefix").
  if (out.lock !== 0) {
    const mask = map < 2 ? LOCK_REG_MASK[(map << 8) | op] : 0;
    if (mask === 0 || out.hasModrm === 0 || out.mod === 3 || (mask & (1 << reg)) === 0) return DECODE_INVALID;
  }

  const length = pos - offset;
  out.length = length;
  return length;
}
