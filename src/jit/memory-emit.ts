// Source templates for memory operands in compiled code: the effective
// address (as Cpu.computeEa computes it), the linear address (Cpu.linear's
// canonical and segment rules) and the data-TLB hit path of Mmu.read32 and
// friends, inlined over the MMU's own arrays, with the MMU's access method as
// the slow path. Every access therefore reaches the same TLB entries, counts
// the same hits and takes the same walks, faults and A/D updates as in the
// interpreter.
//
// Temporaries of the generated function used here: ea/eh (address halves),
// t, e, k (scratch). A template never touches d/dh/s/sh/v/vh except the one
// it loads into.

import { FS, SS } from "../cpu/cpu.ts";
import type { DecodedInstruction } from "../cpu/decoder.ts";

/** What the templates need to know of the mode a region is compiled for. */
export interface MemoryContext {
  long64: boolean;
  canonicalShift: number;
  /** Bit s set: segment s is flat (base 0, 4 GiB limit) — only outside 64-bit mode. */
  flatSegments: number;
  dSetMask: number;
  dSetShift: number;
  /** Names a register half and marks it used (e.g. r3 / h3). */
  lo(r: number): string;
  hi(r: number): string;
}

/** The segment of a ModRM memory operand (Cpu.computeEa's default: SS for rSP/rBP bases). */
export function segmentOf(i: DecodedInstruction): number {
  if (i.segment >= 0) return i.segment;
  return i.base === 4 || i.base === 5 ? SS : 3;
}

/** Computes ea/eh as Cpu.computeEa does (32- and 64-bit addressing; RIP-relative from the next instruction's RIP). */
export function effectiveAddress(c: MemoryContext, i: DecodedInstruction, nextLo: number, nextHi: number): string {
  const disp = i.displacement | 0;
  if (i.addressSize === 8) {
    let code: string;
    if (i.ripRelative !== 0) {
      const t = (disp >>> 0) + (nextLo >>> 0);
      const hi = ((disp >> 31) + nextHi + (t > 0xffffffff ? 1 : 0)) | 0;
      code = `ea = ${t | 0}; eh = ${hi};`;
    } else if (i.base >= 0) {
      code = `t = ${disp >>> 0} + (${c.lo(i.base)} >>> 0); eh = (${disp >> 31} + ${c.hi(i.base)} + (t > 4294967295 ? 1 : 0)) | 0; ea = t | 0;`;
    } else code = `ea = ${disp}; eh = ${disp >> 31};`;
    if (i.index >= 0) {
      const scale = i.scale;
      if (scale === 1) code += ` e = ${c.lo(i.index)}; k = ${c.hi(i.index)};`;
      else {
        const sh = scale === 2 ? 1 : scale === 4 ? 2 : 3;
        code += ` k = (${c.hi(i.index)} << ${sh}) | (${c.lo(i.index)} >>> ${32 - sh}); e = ${c.lo(i.index)} << ${sh};`;
      }
      code += ` t = (ea >>> 0) + (e >>> 0); eh = (eh + k + (t > 4294967295 ? 1 : 0)) | 0; ea = t | 0;`;
    }
    return code;
  }
  // 32-bit addressing (16-bit is left to the interpreter).
  let expr: string;
  if (i.ripRelative !== 0) expr = `${(disp + nextLo) | 0}`;
  else if (i.base >= 0) expr = `(${disp} + ${c.lo(i.base)}) | 0`;
  else expr = `${disp}`;
  if (i.index >= 0) expr = `((${expr}) + Math.imul(${c.lo(i.index)}, ${i.scale})) | 0`;
  return `ea = ${expr}; eh = 0;`;
}

/** Turns ea/eh (an offset in `seg`) into the linear address, as Cpu.linear does for a `size`-byte access. */
export function linearAddress(c: MemoryContext, seg: number, size: number, write: boolean): string {
  if (c.long64) {
    let code = "";
    if (seg >= FS) code = `t = (ea >>> 0) + (SB[${seg}] >>> 0); eh = (eh + SBH[${seg}] + (t > 4294967295 ? 1 : 0)) | 0; ea = t | 0; `;
    return code + `k = eh >> ${c.canonicalShift}; if (k !== 0 && k !== -1) cpu.raise(${seg === SS ? 12 : 13}, 0);`;
  }
  if (((c.flatSegments >> seg) & 1) !== 0) return "";
  return `cpu.linear(${seg}, ea, 0, ${size}, ${write}); ea = cpu.linLo; eh = 0;`;
}

const OFFSET_LIMIT = [0, 0xfff, 0xffe, 0, 0xffc, 0, 0, 0, 0xff8];

/** The hit test of Mmu.dataHit for class `cls` at ea/eh; leaves the entry in e. */
function hitTest(c: MemoryContext, size: number, cls: number): string {
  const cross = size === 1 ? "" : `(ea & 4095) <= ${OFFSET_LIMIT[size]} && `;
  return (
    `t = (ea >>> 12) | (eh << 20); e = (t & ${c.dSetMask}) << ${c.dSetShift}; ` +
    `if (${cross}W[e] === t && ((k = W[e | 1]) === (((eh >>> 12) & 8191) | M.currentKey) || k === (((eh >>> 12) & 8191) | M.globalKey)) && ((W[e | 2] >>> ${cls}) & 1) !== 0)`
  );
}

/**
 * The MMU's slow path at block position `pos`: icount and remaining are
 * written exact before it (a device may read the clock, or cut the run:
 * then rm0 follows), a fault is raised, and a device or code-page access
 * asks the region to end after this instruction.
 */
function slowPath(call: string, pos: number): string {
  const sync = `cpu.icount = ic0 + n + ${pos}; cpu.remaining = rm0 - n - ${pos}; `;
  const unsync = ` rm0 = cpu.remaining + n + ${pos};`;
  return `${sync}${call}${unsync} if (M.faultPending) cpu.pageFault(); if (M.sideEffect) { M.sideEffect = false; se = true; }`;
}

/** Loads `size` bytes at linear ea/eh into dst (and dstHi for 8 bytes), class `cls`. */
export function load(c: MemoryContext, size: number, cls: number, dst: string, dstHi: string, pos: number): string {
  let hit: string;
  if (size === 1) hit = `${dst} = U8[t];`;
  else if (size === 2) hit = `${dst} = DV.getUint16(t, true);`;
  else if (size === 4) hit = `${dst} = DV.getInt32(t, true);`;
  else hit = `${dst} = DV.getInt32(t, true); ${dstHi} = DV.getInt32(t + 4, true);`;
  const call = size === 8 ? `${dst} = M.readSlow(ea, eh, ${cls}, 8); ${dstHi} = M.high;` : `${dst} = M.readSlow(ea, eh, ${cls}, ${size});`;
  return `${hitTest(c, size, cls)} { H[(e >> 1) | 2]++; t = (W[e | 3] | (ea & 4095)) >>> 0; ${hit} } else { ${slowPath(call, pos)} }`;
}

/** Stores `size` bytes of lo (and hi for 8 bytes) at linear ea/eh, class `cls`. */
export function store(c: MemoryContext, size: number, cls: number, lo: string, hi: string, pos: number): string {
  let hit: string;
  if (size === 1) hit = `U8[t] = ${lo};`;
  else if (size === 2) hit = `DV.setUint16(t, ${lo} & 65535, true);`;
  else if (size === 4) hit = `DV.setInt32(t, ${lo}, true);`;
  else hit = `DV.setInt32(t, ${lo}, true); DV.setInt32(t + 4, ${hi}, true);`;
  const call = `M.writeSlow(ea, eh, ${cls}, ${size}, ${lo}, ${size === 8 ? hi : "0"});`;
  return `${hitTest(c, size, cls)} { H[(e >> 1) | 2]++; t = (W[e | 3] | (ea & 4095)) >>> 0; ${hit} } else { ${slowPath(call, pos)} }`;
}
