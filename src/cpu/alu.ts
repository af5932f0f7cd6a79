// Integer arithmetic on 8/16/32/64-bit operands held as 32-bit halves:
// the eight ALU operations with lazy flags, shifts and rotates, multiply and
// divide (64x64->128 and 128/64 without BigInt), and the flag rules of the
// SDM Vol. 2 instruction pages. Results return the low half and leave the
// high half in cpu.hi.

import type { Cpu } from "./cpu.ts";
import { DE } from "./cpu.ts";
import { CF, LAZY_ADC, LAZY_ADD, LAZY_DEC, LAZY_INC, LAZY_LOGIC, LAZY_SBB, LAZY_SUB, OF } from "./flags.ts";

export const ALU_ADD = 0;
export const ALU_OR = 1;
export const ALU_ADC = 2;
export const ALU_SBB = 3;
export const ALU_AND = 4;
export const ALU_SUB = 5;
export const ALU_XOR = 6;
export const ALU_CMP = 7;

/** Truncates v to `size` bytes (size 4: an int32). */
export function truncate(size: number, v: number): number {
  return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v | 0;
}

/** Sign-extends the low `size` bytes of v to an int32 (size 4/8: v itself). */
export function signExtend(size: number, v: number): number {
  return size === 1 ? (v << 24) >> 24 : size === 2 ? (v << 16) >> 16 : v | 0;
}

/** One of the eight ALU operations (op = ModRM.reg of group 1). */
export function alu(cpu: Cpu, op: number, size: number, d: number, dh: number, s: number, sh: number): number {
  if (size !== 8) {
    d = truncate(size, d);
    s = truncate(size, s);
    let r: number;
    switch (op) {
      case ALU_ADD:
        r = truncate(size, d + s);
        cpu.setLazy(LAZY_ADD, size, r, 0, d, 0, s, 0);
        return r;
      case ALU_OR:
        r = d | s;
        cpu.setLazy(LAZY_LOGIC, size, r, 0, 0, 0, 0, 0);
        return r;
      case ALU_ADC: {
        const c = cpu.getCF();
        r = truncate(size, d + s + c);
        cpu.lazyCarry = c;
        cpu.setLazy(LAZY_ADC, size, r, 0, d, 0, s, 0);
        return r;
      }
      case ALU_SBB: {
        const c = cpu.getCF();
        r = truncate(size, d - s - c);
        cpu.lazyCarry = c;
        cpu.setLazy(LAZY_SBB, size, r, 0, d, 0, s, 0);
        return r;
      }
      case ALU_AND:
        r = d & s;
        cpu.setLazy(LAZY_LOGIC, size, r, 0, 0, 0, 0, 0);
        return r;
      case ALU_XOR:
        r = d ^ s;
        cpu.setLazy(LAZY_LOGIC, size, r, 0, 0, 0, 0, 0);
        return r;
      default:
        r = truncate(size, d - s);
        cpu.setLazy(LAZY_SUB, size, r, 0, d, 0, s, 0);
        return r;
    }
  }
  let lo: number;
  let hi: number;
  switch (op) {
    case ALU_ADD:
    case ALU_ADC: {
      const c = op === ALU_ADC ? cpu.getCF() : 0;
      const t = (d >>> 0) + (s >>> 0) + c;
      hi = (dh + sh + (t > 0xffffffff ? 1 : 0)) | 0;
      lo = t | 0;
      cpu.lazyCarry = c;
      cpu.setLazy(op === ALU_ADC ? LAZY_ADC : LAZY_ADD, 8, lo, hi, d, dh, s, sh);
      break;
    }
    case ALU_SUB:
    case ALU_SBB:
    case ALU_CMP: {
      const c = op === ALU_SBB ? cpu.getCF() : 0;
      const t = (d >>> 0) - (s >>> 0) - c;
      hi = (dh - sh - (t < 0 ? 1 : 0)) | 0;
      lo = t | 0;
      cpu.lazyCarry = c;
      cpu.setLazy(op === ALU_SBB ? LAZY_SBB : LAZY_SUB, 8, lo, hi, d, dh, s, sh);
      break;
    }
    case ALU_OR:
      lo = d | s;
      hi = dh | sh;
      cpu.setLazy(LAZY_LOGIC, 8, lo, hi, 0, 0, 0, 0);
      break;
    case ALU_AND:
      lo = d & s;
      hi = dh & sh;
      cpu.setLazy(LAZY_LOGIC, 8, lo, hi, 0, 0, 0, 0);
      break;
    default:
      lo = d ^ s;
      hi = dh ^ sh;
      cpu.setLazy(LAZY_LOGIC, 8, lo, hi, 0, 0, 0, 0);
  }
  cpu.hi = hi;
  return lo;
}

/** INC (dec=false) or DEC: like ADD/SUB 1 but CF is kept (SDM Vol. 2 INC/DEC). */
export function incDec(cpu: Cpu, size: number, d: number, dh: number, dec: boolean): number {
  const cf = cpu.getCF();
  let lo: number;
  let hi = 0;
  if (size !== 8) {
    d = truncate(size, d);
    lo = truncate(size, dec ? d - 1 : d + 1);
  } else if (dec) {
    lo = (d - 1) | 0;
    hi = d === 0 ? (dh - 1) | 0 : dh;
  } else {
    lo = (d + 1) | 0;
    hi = lo === 0 ? (dh + 1) | 0 : dh;
  }
  cpu.lazyCarry = cf;
  cpu.setLazy(dec ? LAZY_DEC : LAZY_INC, size, lo, hi, d, size === 8 ? dh : 0, 1, 0);
  cpu.hi = hi;
  return lo;
}

// --- 64-bit shifts on halves -------------------------------------------------

let shiftHi = 0;

function shl64(lo: number, hi: number, n: number): number {
  if (n === 0) {
    shiftHi = hi;
    return lo;
  }
  if (n < 32) {
    shiftHi = (hi << n) | (lo >>> (32 - n));
    return lo << n;
  }
  shiftHi = n < 64 ? lo << (n - 32) : 0;
  return 0;
}

function shr64(lo: number, hi: number, n: number): number {
  if (n === 0) {
    shiftHi = hi;
    return lo;
  }
  if (n < 32) {
    shiftHi = hi >>> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  shiftHi = 0;
  return n < 64 ? hi >>> (n - 32) : 0;
}

function sar64(lo: number, hi: number, n: number): number {
  if (n === 0) {
    shiftHi = hi;
    return lo;
  }
  if (n < 32) {
    shiftHi = hi >> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  shiftHi = hi >> 31;
  return hi >> (n < 64 ? n - 32 : 31);
}

function bit64(lo: number, hi: number, k: number): number {
  return k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1;
}

function msb(size: number, lo: number, hi: number): number {
  return size === 8 ? hi >>> 31 : size === 4 ? lo >>> 31 : size === 2 ? (lo >> 15) & 1 : (lo >> 7) & 1;
}

/**
 * Group 2: ROL ROR RCL RCR SHL SHR SAL SAR (op = ModRM.reg) by `count`
 * (already masked to 5 or 6 bits). With a zero count nothing changes
 * (SDM Vol. 2 SAL/SAR/SHL/SHR: "If the count is 0, the flags are not affected").
 */
export function shift(cpu: Cpu, op: number, size: number, lo: number, hi: number, count: number): number {
  const bits = size * 8;
  if (size !== 8) {
    lo = truncate(size, lo);
    hi = 0;
  }
  if (count === 0) {
    cpu.hi = hi;
    return lo;
  }
  let rlo = 0;
  let rhi = 0;
  let cf = 0;
  let of = 0;
  switch (op) {
    case 0: // ROL
    case 1: {
      // ROR
      const n = count % bits;
      if (size === 8) {
        if (op === 0) {
          const a = shl64(lo, hi, n);
          const ah = shiftHi;
          const b = n === 0 ? 0 : shr64(lo, hi, 64 - n);
          const bh = n === 0 ? 0 : shiftHi;
          rlo = a | b;
          rhi = ah | bh;
        } else {
          const a = shr64(lo, hi, n);
          const ah = shiftHi;
          const b = n === 0 ? 0 : shl64(lo, hi, 64 - n);
          const bh = n === 0 ? 0 : shiftHi;
          rlo = a | b;
          rhi = ah | bh;
        }
      } else {
        const u = lo >>> 0;
        const mask = size === 4 ? 0xffffffff : (1 << bits) - 1;
        const r = op === 0 ? (n === 0 ? u : ((u << n) | (u >>> (bits - n))) & mask) : n === 0 ? u : ((u >>> n) | (u << (bits - n))) & mask;
        rlo = truncate(size, r);
      }
      // ROL: CF = LSB of result, OF = MSB ^ CF. ROR: CF = MSB, OF = MSB ^ next bit.
      if (op === 0) {
        cf = rlo & 1;
        of = msb(size, rlo, rhi) ^ cf;
      } else {
        cf = msb(size, rlo, rhi);
        const next = size === 8 ? (rhi >>> 30) & 1 : (rlo >>> (bits - 2)) & 1;
        of = cf ^ next;
      }
      cpu.materializeFlags();
      cpu.eflags = (cpu.eflags & ~(CF | OF)) | cf | (of << 11);
      cpu.hi = rhi;
      return rlo;
    }
    case 2: // RCL
    case 3: {
      // RCR: rotate through CF, one bit at a time (count < 65).
      const n = size === 8 ? count : count % (bits + 1);
      cpu.materializeFlags();
      let c = cpu.eflags & CF;
      rlo = lo;
      rhi = hi;
      for (let k = 0; k < n; k++) {
        if (op === 2) {
          const out = msb(size, rlo, rhi);
          if (size === 8) {
            rhi = (rhi << 1) | (rlo >>> 31);
            rlo = (rlo << 1) | c;
          } else rlo = truncate(size, (rlo << 1) | c);
          c = out;
        } else {
          const out = rlo & 1;
          if (size === 8) {
            rlo = (rlo >>> 1) | (rhi << 31);
            rhi = (rhi >>> 1) | (c << 31);
          } else rlo = truncate(size, (rlo >>> 1) | (c << (bits - 1)));
          c = out;
        }
      }
      if (op === 2) of = msb(size, rlo, rhi) ^ c;
      else {
        const top = msb(size, rlo, rhi);
        const next = size === 8 ? (rhi >>> 30) & 1 : (rlo >>> (bits - 2)) & 1;
        of = top ^ next;
      }
      cpu.eflags = (cpu.eflags & ~(CF | OF)) | c | (of << 11);
      cpu.hi = rhi;
      return rlo;
    }
    case 4: // SHL
    case 6: {
      // SAL
      if (size === 8) {
        rlo = shl64(lo, hi, count);
        rhi = shiftHi;
        cf = bit64(lo, hi, 64 - count);
      } else {
        rlo = count >= 32 ? 0 : truncate(size, lo << count);
        cf = count <= bits ? ((lo >>> 0) / 2 ** (bits - count)) & 1 : 0;
      }
      of = msb(size, rlo, rhi) ^ cf;
      break;
    }
    case 5: // SHR
      if (size === 8) {
        rlo = shr64(lo, hi, count);
        rhi = shiftHi;
        cf = bit64(lo, hi, count - 1);
      } else {
        rlo = count >= 32 ? 0 : truncate(size, (lo >>> 0) >>> count);
        cf = count <= bits ? ((lo >>> 0) >>> (count - 1)) & 1 : 0;
      }
      of = msb(size, lo, hi);
      break;
    default: {
      // SAR
      if (size === 8) {
        rlo = sar64(lo, hi, count);
        rhi = shiftHi;
        cf = count <= 64 ? bit64(lo, hi, count - 1) : hi >>> 31;
      } else {
        const s = signExtend(size, lo);
        rlo = truncate(size, s >> (count > 31 ? 31 : count));
        cf = (s >> (count - 1 > 31 ? 31 : count - 1)) & 1;
      }
      of = 0;
    }
  }
  cpu.setArithFlags(cf | (of << 11) | cpu.resultFlags(size, rlo, rhi));
  cpu.hi = rhi;
  return rlo;
}

/** SHLD (left=true) / SHRD: shift dest by count, filling from src (count masked, nonzero). */
export function doubleShift(cpu: Cpu, left: boolean, size: number, d: number, dh: number, s: number, sh: number, count: number): number {
  if (size !== 8) {
    d = truncate(size, d);
    s = truncate(size, s);
  }
  let rlo: number;
  let rhi = 0;
  let cf: number;
  if (size === 8) {
    if (left) {
      rlo = shl64(d, dh, count);
      rhi = shiftHi;
      rlo |= shr64(s, sh, 64 - count);
      rhi |= shiftHi;
      cf = bit64(d, dh, 64 - count);
    } else {
      rlo = shr64(d, dh, count);
      rhi = shiftHi;
      rlo |= shl64(s, sh, 64 - count);
      rhi |= shiftHi;
      cf = bit64(d, dh, count - 1);
    }
  } else if (size === 4) {
    if (left) {
      rlo = (d << count) | (s >>> (32 - count));
      cf = (d >>> (32 - count)) & 1;
    } else {
      rlo = (d >>> count) | (s << (32 - count));
      cf = (d >>> (count - 1)) & 1;
    }
  } else {
    // 16-bit: the count may exceed 16 (result undefined, SDM); shift the
    // 48-bit pattern dest:src:dest as hardware does.
    if (left) {
      const wide = (d * 2 ** 32 + s * 2 ** 16 + d) * 2 ** count;
      rlo = Math.floor(wide / 2 ** 32) & 0xffff;
      cf = Math.floor(wide / 2 ** 48) & 1;
    } else {
      const wide = d + s * 2 ** 16 + d * 2 ** 32;
      rlo = Math.floor(wide / 2 ** count) & 0xffff;
      cf = Math.floor(wide / 2 ** (count - 1)) & 1;
    }
  }
  const of = msb(size, rlo, rhi) ^ msb(size, d, dh);
  cpu.setArithFlags(cf | (of << 11) | cpu.resultFlags(size, rlo, rhi));
  cpu.hi = rhi;
  return rlo;
}

// --- Multiply and divide ----------------------------------------------------------

/** The 128-bit product or dividend as four 32-bit words, low first. */
export const wide = new Int32Array(4);

/**
 * The low 64 bits of a 64x64 product (signed or not, they are the same): the
 * value of a truncating IMUL, which compiled code computes alone when its
 * flags are dead (src/jit/emit.ts). Returns the low half; the high half in cpu.hi.
 */
export function mulLow64(cpu: Cpu, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const a0 = aLo & 0xffff, a1 = aLo >>> 16;
  const b0 = bLo & 0xffff, b1 = bLo >>> 16;
  const m1 = a1 * b0;
  const m2 = a0 * b1;
  // Bits 63:32 of aLo * bLo: the carries out of the middle 16-bit column, exactly.
  const carry = (((a0 * b0) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff)) >>> 16;
  const high = a1 * b1 + Math.floor(m1 / 65536) + Math.floor(m2 / 65536) + carry;
  cpu.hi = (high + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) | 0;
  return Math.imul(aLo, bLo);
}

/** Unsigned 64x64 -> 128 multiply into `wide` (16-bit limbs keep every partial sum exact). */
function mulU64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const a0 = aLo & 0xffff, a1 = aLo >>> 16, a2 = aHi & 0xffff, a3 = aHi >>> 16;
  const b0 = bLo & 0xffff, b1 = bLo >>> 16, b2 = bHi & 0xffff, b3 = bHi >>> 16;
  let c = a0 * b0;
  const r0 = c & 0xffff;
  c = Math.floor(c / 65536) + a0 * b1 + a1 * b0;
  const r1 = c % 65536;
  c = Math.floor(c / 65536) + a0 * b2 + a1 * b1 + a2 * b0;
  const r2 = c % 65536;
  c = Math.floor(c / 65536) + a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  const r3 = c % 65536;
  c = Math.floor(c / 65536) + a1 * b3 + a2 * b2 + a3 * b1;
  const r4 = c % 65536;
  c = Math.floor(c / 65536) + a2 * b3 + a3 * b2;
  const r5 = c % 65536;
  c = Math.floor(c / 65536) + a3 * b3;
  const r6 = c % 65536;
  const r7 = Math.floor(c / 65536) % 65536;
  wide[0] = r0 | (r1 << 16);
  wide[1] = r2 | (r3 << 16);
  wide[2] = r4 | (r5 << 16);
  wide[3] = r6 | (r7 << 16);
}

function negateWide(): void {
  let carry = 1;
  for (let k = 0; k < 4; k++) {
    const t = (~wide[k] >>> 0) + carry;
    wide[k] = t | 0;
    carry = t > 0xffffffff ? 1 : 0;
  }
}

/** Signed or unsigned 64x64 -> 128 into `wide`. */
export function mul64(signed: boolean, aLo: number, aHi: number, bLo: number, bHi: number): void {
  if (!signed) {
    mulU64(aLo, aHi, bLo, bHi);
    return;
  }
  const negA = aHi < 0;
  const negB = bHi < 0;
  if (negA) {
    aLo = -aLo | 0;
    aHi = (~aHi + (aLo === 0 ? 1 : 0)) | 0;
  }
  if (negB) {
    bLo = -bLo | 0;
    bHi = (~bHi + (bLo === 0 ? 1 : 0)) | 0;
  }
  mulU64(aLo, aHi, bLo, bHi);
  if (negA !== negB) negateWide();
}

/**
 * MUL / IMUL with one operand (F6/F7 /4 /5): rDX:rAX = rAX * src. CF=OF=1
 * when the high half is significant. SF/ZF/PF/AF are undefined; cr3 sets
 * SF/ZF/PF from the low half.
 */
export function mulAccumulator(cpu: Cpu, signed: boolean, size: number, src: number, srcHi: number): void {
  const regs = cpu.regs;
  let overflow: boolean;
  let low: number;
  if (size === 1) {
    const a = signed ? (regs[0] << 24) >> 24 : regs[0] & 0xff;
    const b = signed ? signExtend(1, src) : src & 0xff;
    const p = a * b;
    regs[0] = (regs[0] & ~0xffff) | (p & 0xffff);
    low = p & 0xff;
    overflow = signed ? p !== ((p << 24) >> 24) : (p & 0xff00) !== 0;
  } else if (size === 2) {
    const a = signed ? (regs[0] << 16) >> 16 : regs[0] & 0xffff;
    const b = signed ? signExtend(2, src) : src & 0xffff;
    const p = a * b;
    regs[0] = (regs[0] & ~0xffff) | (p & 0xffff);
    regs[4] = (regs[4] & ~0xffff) | ((p >> 16) & 0xffff);
    low = p & 0xffff;
    overflow = signed ? p !== ((p << 16) >> 16) : p > 0xffff;
  } else if (size === 4) {
    const a = regs[0];
    mul64(signed, a, signed ? a >> 31 : 0, src, signed ? src >> 31 : 0);
    regs[0] = wide[0];
    regs[1] = 0;
    regs[4] = wide[1];
    regs[5] = 0;
    low = wide[0];
    overflow = signed ? wide[1] !== wide[0] >> 31 : wide[1] !== 0;
  } else {
    mul64(signed, regs[0], regs[1], src, srcHi);
    regs[0] = wide[0];
    regs[1] = wide[1];
    regs[4] = wide[2];
    regs[5] = wide[3];
    low = wide[0];
    overflow = signed ? wide[2] !== wide[1] >> 31 || wide[3] !== wide[1] >> 31 : (wide[2] | wide[3]) !== 0;
    cpu.setArithFlags((overflow ? CF | OF : 0) | cpu.resultFlags(8, wide[0], wide[1]));
    return;
  }
  cpu.setArithFlags((overflow ? CF | OF : 0) | cpu.resultFlags(size, low, 0));
}

/** IMUL with two or three operands: the truncated product; CF=OF=1 when it lost significant bits. */
export function imulTruncating(cpu: Cpu, size: number, a: number, aHi: number, b: number, bHi: number): number {
  let lo: number;
  let hi = 0;
  let overflow: boolean;
  if (size === 2) {
    const p = signExtend(2, a) * signExtend(2, b);
    lo = p & 0xffff;
    overflow = p !== ((p << 16) >> 16);
  } else if (size === 4) {
    mul64(true, a, a >> 31, b, b >> 31);
    lo = wide[0];
    overflow = wide[1] !== wide[0] >> 31;
  } else {
    mul64(true, a, aHi, b, bHi);
    lo = wide[0];
    hi = wide[1];
    overflow = wide[2] !== wide[1] >> 31 || wide[3] !== wide[1] >> 31;
  }
  cpu.setArithFlags((overflow ? CF | OF : 0) | cpu.resultFlags(size, lo, hi));
  cpu.hi = hi;
  return lo;
}

/**
 * Unsigned 128/64 division of `wide` by hi:lo. Leaves the quotient in
 * wide[0..1] and the remainder in wide[2..3]; returns false if the quotient
 * does not fit in 64 bits (#DE).
 */
function divU128(dLo: number, dHi: number): boolean {
  const n0 = wide[0] >>> 0, n1 = wide[1] >>> 0, n2 = wide[2] >>> 0, n3 = wide[3] >>> 0;
  const d = (dHi >>> 0) * 4294967296 + (dLo >>> 0);
  // The quotient fits in 64 bits iff the high half of the dividend is below the divisor.
  if ((n3 >>> 0) > (dHi >>> 0) || (n3 === dHi >>> 0 && n2 >= dLo >>> 0)) return false;
  if (n3 === 0 && n2 === 0 && n1 < 0x200000) {
    // Exact in doubles (dividend < 2^53).
    const n = n1 * 4294967296 + n0;
    const q = Math.floor(n / d);
    const r = n - q * d;
    wide[0] = q % 4294967296;
    wide[1] = Math.floor(q / 4294967296);
    wide[2] = r % 4294967296;
    wide[3] = Math.floor(r / 4294967296);
    return true;
  }
  // Shift-subtract, one quotient bit per step: remainder rH:rL (< 2^64 + 1 bit), quotient qH:qL.
  let rH = n3, rL = n2;
  let qH = 0, qL = 0;
  const dH = dHi >>> 0, dL = dLo >>> 0;
  for (let k = 63; k >= 0; k--) {
    const bit = k >= 32 ? (n1 >>> (k - 32)) & 1 : (n0 >>> k) & 1;
    const top = rH >>> 31;
    rH = ((rH << 1) | (rL >>> 31)) >>> 0;
    rL = ((rL << 1) | bit) >>> 0;
    if (top !== 0 || rH > dH || (rH === dH && rL >= dL)) {
      const t = rL - dL;
      rL = t >>> 0;
      rH = (rH - dH - (t < 0 ? 1 : 0)) >>> 0;
      if (k >= 32) qH |= 1 << (k - 32);
      else qL |= 1 << k;
    }
  }
  wide[0] = qL;
  wide[1] = qH;
  wide[2] = rL | 0;
  wide[3] = rH | 0;
  return true;
}

/** DIV / IDIV (F6/F7 /6 /7): rDX:rAX / src; #DE on a zero divisor or a quotient that does not fit. */
export function divAccumulator(cpu: Cpu, signed: boolean, size: number, src: number, srcHi: number): void {
  const regs = cpu.regs;
  if (size === 1 || size === 2 || size === 4) {
    const bits = size * 8;
    const divisor = signed ? signExtend(size, src) : truncate(size, src);
    if (divisor === 0) cpu.raise(DE);
    let dividend: number;
    if (size === 1) dividend = signed ? (regs[0] << 16) >> 16 : regs[0] & 0xffff;
    else if (size === 2) {
      const v = ((regs[4] & 0xffff) << 16) | (regs[0] & 0xffff);
      dividend = signed ? v : v >>> 0;
    } else {
      // EDX:EAX may exceed 2^53: go through the 128-bit path.
      let nLo = regs[0], nHi = regs[4];
      let negN = false;
      let negD = false;
      let dv = src;
      if (signed) {
        if (nHi < 0) {
          negN = true;
          nLo = -nLo | 0;
          nHi = (~nHi + (nLo === 0 ? 1 : 0)) | 0;
        }
        if (dv < 0) {
          negD = true;
          dv = -dv | 0;
        }
      }
      wide[0] = nLo;
      wide[1] = nHi;
      wide[2] = 0;
      wide[3] = 0;
      if (!divU128(dv, 0) || wide[1] !== 0) cpu.raise(DE);
      let q = wide[0] >>> 0;
      let r = wide[2] >>> 0;
      if (signed) {
        const qs = negN !== negD ? -q : q;
        if (qs > 0x7fffffff || qs < -0x80000000) cpu.raise(DE);
        q = qs;
        r = negN ? -r : r;
      } else if (q > 0xffffffff) cpu.raise(DE);
      regs[0] = q | 0;
      regs[1] = 0;
      regs[4] = r | 0;
      regs[5] = 0;
      return;
    }
    const q = Math.trunc(dividend / divisor);
    const r = dividend - q * divisor;
    const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    const min = signed ? -(2 ** (bits - 1)) : 0;
    if (q > max || q < min) cpu.raise(DE);
    if (size === 1) regs[0] = (regs[0] & ~0xffff) | (q & 0xff) | ((r & 0xff) << 8);
    else {
      regs[0] = (regs[0] & ~0xffff) | (q & 0xffff);
      regs[4] = (regs[4] & ~0xffff) | (r & 0xffff);
    }
    return;
  }
  // 64-bit: RDX:RAX / r/m64.
  if ((src | srcHi) === 0) cpu.raise(DE);
  wide[0] = regs[0];
  wide[1] = regs[1];
  wide[2] = regs[4];
  wide[3] = regs[5];
  let dLo = src;
  let dHi = srcHi;
  let negN = false;
  let negD = false;
  if (signed) {
    if (wide[3] < 0) {
      negN = true;
      negateWide();
    }
    if (dHi < 0) {
      negD = true;
      dLo = -dLo | 0;
      dHi = (~dHi + (dLo === 0 ? 1 : 0)) | 0;
    }
  }
  if (!divU128(dLo, dHi)) cpu.raise(DE);
  let qLo = wide[0], qHi = wide[1], rLo = wide[2], rHi = wide[3];
  if (signed) {
    const negQ = negN !== negD;
    // |quotient| must fit: up to 2^63 - 1, or 2^63 when negative.
    if (qHi < 0 && !(negQ && qHi === -0x80000000 && qLo === 0)) cpu.raise(DE);
    if (negQ) {
      qLo = -qLo | 0;
      qHi = (~qHi + (qLo === 0 ? 1 : 0)) | 0;
    }
    if (negN) {
      rLo = -rLo | 0;
      rHi = (~rHi + (rLo === 0 ? 1 : 0)) | 0;
    }
  }
  regs[0] = qLo;
  regs[1] = qHi;
  regs[4] = rLo;
  regs[5] = rHi;
}

/** Bit scan: BSF (forward) / BSR; returns -1 for a zero source. */
export function bitScan(forward: boolean, size: number, lo: number, hi: number): number {
  if (size !== 8) {
    lo = truncate(size, lo);
    hi = 0;
  }
  if ((lo | hi) === 0) return -1;
  if (forward) {
    if (lo !== 0) return 31 - Math.clz32(lo & -lo);
    return 63 - Math.clz32(hi & -hi);
  }
  if (hi !== 0) return 63 - Math.clz32(hi);
  return 31 - Math.clz32(lo);
}

export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

