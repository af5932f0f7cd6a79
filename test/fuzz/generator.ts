// Random user-mode integer instruction sequences for the differential
// fuzzer, encoded here byte by byte. A case is code, the 16 registers,
// RFLAGS and the data area; the generator knows enough about each
// instruction (flags read, defined and left undefined, registers written,
// memory addresses) that every case has a defined result and never faults.
//
// Rules that keep cases valid:
// - memory operands address only the data area: the generator knows the
//   value of the reserved base register (never written), of RSP (moved only
//   by push/pop, balanced by the end) and of registers it has just set;
// - a flag is compared at the end only if the last instruction that wrote
//   it defined it (SDM Vol. 2 "Flags Affected"); an instruction that reads
//   a flag (ADC, SETcc, Jcc, LAHF...) is emitted only while it is defined;
// - Jcc jumps forward over whole groups, and the state after the target is
//   what both paths agree on.

export const SNIPPET_CODE_ADDRESS = 0x10000000;
export const SNIPPET_DATA_ADDRESS = 0x20000000;
export const DATA_SIZE = 65536;
export const MAX_CODE = 4096;

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
export const FLAG_NAMES: [number, string][] = [[CF, "CF"], [PF, "PF"], [AF, "AF"], [ZF, "ZF"], [SF, "SF"], [DF, "DF"], [OF, "OF"]];
export const REG_NAMES = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
const CODE = BigInt(SNIPPET_CODE_ADDRESS);
const DATA = BigInt(SNIPPET_DATA_ADDRESS);
const M64 = (1n << 64n) - 1n;

export interface FuzzCase {
  code: Uint8Array;
  /** lo, hi halves of rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15 */
  regs: Int32Array;
  rflags: number;
  data: Uint8Array;
  /** Arithmetic flags defined at the end (DF is always compared). */
  flagMask: number;
  /** Registers (bit n = register n) whose final value is compared. */
  regMask: number;
  /** Offset of each instruction in `code`. */
  boundaries: number[];
  /** Instruction groups drawn (what GenerateOptions.skip refers to). */
  groups: number;
}

// ---------------------------------------------------------------- PRNG

/** xoshiro128**, seeded through splitmix32. */
export class Rng {
  private s = new Uint32Array(4);
  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  u32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 11);
    return r;
  }
  /** Integer in [0, n). */
  below(n: number): number { return Math.floor((this.u32() / 4294967296) * n); }
  chance(p: number): boolean { return this.u32() < p * 4294967296; }
  pick<T>(items: readonly T[]): T { return items[this.below(items.length)]; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
}
const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** A 64-bit value biased towards edge cases. */
function interesting(rng: Rng): bigint {
  switch (rng.below(9)) {
    case 0: case 1: return rng.u64();
    case 2: return BigInt(rng.below(17));
    case 3: return (-BigInt(rng.below(17) + 1)) & M64;
    case 4: return 1n << BigInt(rng.below(64));
    case 5: return ((1n << BigInt(rng.below(64) + 1)) - 1n + BigInt(rng.below(3))) & M64;
    case 6: return BigInt.asUintN(64, BigInt(rng.u32() | 0));
    case 7: return BigInt(rng.u32());
    default: return BigInt(rng.pick([0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff]));
  }
}

// ------------------------------------------------------------ encoding

type Size = 1 | 2 | 4 | 8;
/** A register operand. 8-bit: n 4..7 is SPL..DIL, or AH..BH when `high`. */
interface RegOp { kind: "reg"; n: number; b8: boolean; high: boolean }
/** A memory operand; `ea` is its effective address (used for RIP-relative). */
interface MemOp {
  kind: "mem"; base: number | null; rip: boolean; index: number | null; scale: number;
  disp: number; addr32: boolean; sib: boolean; wide: boolean; ea: bigint;
}
type Op = RegOp | MemOp;

interface Enc {
  pfx?: number[];
  size?: Size;
  /** Size 8 without REX.W (push/pop). */
  noW?: boolean;
  op: number[];
  /** ModRM.reg: an opcode extension or a register. */
  reg?: number | RegOp;
  rm?: Op;
  /** Register in the low 3 bits of the last opcode byte. */
  opReg?: RegOp;
  imm?: bigint | number;
  immBytes?: number;
}

class Retry extends Error {}
const retry = (): never => { throw new Retry(); };

const reg = (n: number, size: Size, high = false): RegOp => ({ kind: "reg", n, b8: size === 1, high });
const regOf = (r: RegOp): number => (r.high ? r.n - 4 : r.n);
const fitsI8 = (v: number): boolean => v >= -128 && v <= 127;

function pushLE(out: number[], v: bigint | number, bytes: number): void {
  let x = BigInt.asUintN(64, BigInt(v));
  for (let i = 0; i < bytes; i++) { out.push(Number(x & 0xffn)); x >>= 8n; }
}

function encode(e: Enc, pos: number): number[] {
  const out: number[] = [...(e.pfx ?? [])];
  const mem = e.rm?.kind === "mem" ? e.rm : undefined;
  if (e.size === 2) out.push(0x66);
  if (mem?.addr32) out.push(0x67);
  const regs: RegOp[] = [];
  let rex = e.size === 8 && !e.noW ? 8 : 0;
  let regField = 0;
  if (typeof e.reg === "number") regField = e.reg;
  else if (e.reg) { regField = e.reg.n; regs.push(e.reg); }
  if (regField & 8) rex |= 4;
  if (e.rm?.kind === "reg") { regs.push(e.rm); if (e.rm.n & 8) rex |= 1; }
  if (mem) {
    if (mem.index !== null && mem.index & 8) rex |= 2;
    if (mem.base !== null && mem.base & 8) rex |= 1;
  }
  if (e.opReg) { regs.push(e.opReg); if (e.opReg.n & 8) rex |= 1; }
  const needRex = regs.some((r) => r.b8 && !r.high && r.n >= 4 && r.n < 8);
  if (regs.some((r) => r.high) && (rex || needRex)) retry();
  if (rex || needRex) out.push(0x40 | rex);
  const op = [...e.op];
  if (e.opReg) op[op.length - 1] |= e.opReg.n & 7;
  out.push(...op);
  let ripAt = -1;
  if (e.rm?.kind === "reg") out.push(0xc0 | ((regField & 7) << 3) | (e.rm.n & 7));
  else if (mem) ripAt = encodeMem(out, regField & 7, mem);
  if (e.imm !== undefined) pushLE(out, e.imm, e.immBytes ?? 1);
  if (ripAt >= 0) {
    const disp = mem!.ea - (CODE + BigInt(pos + out.length));
    const bytes: number[] = [];
    pushLE(bytes, disp, 4);
    out.splice(ripAt, 4, ...bytes);
  }
  return out;
}

/** Appends ModRM, SIB and displacement; returns where a RIP displacement goes. */
function encodeMem(out: number[], r: number, m: MemOp): number {
  const ss = [1, 2, 4, 8].indexOf(m.scale);
  const idx = m.index === null ? 4 : m.index & 7;
  if (m.rip) {
    out.push(0x05 | (r << 3));
    out.push(0, 0, 0, 0);
    return out.length - 4;
  }
  if (m.base === null) {
    out.push(0x04 | (r << 3), (ss << 6) | (idx << 3) | 5);
    pushLE(out, m.disp, 4);
    return -1;
  }
  const b = m.base & 7;
  const mod = m.wide ? 2 : m.disp === 0 && b !== 5 ? 0 : fitsI8(m.disp) ? 1 : 2;
  if (m.index !== null || m.sib || b === 4) out.push((mod << 6) | (r << 3) | 4, (ss << 6) | (idx << 3) | b);
  else out.push((mod << 6) | (r << 3) | b);
  if (mod === 1) pushLE(out, m.disp, 1);
  if (mod === 2) pushLE(out, m.disp, 4);
  return -1;
}

// --------------------------------------------------------- flag effects

/** Flags read by condition code cc (Jcc, SETcc, CMOVcc). */
function ccFlags(cc: number): number {
  return [OF, CF, ZF, CF | ZF, SF, PF, SF | OF, SF | OF | ZF][cc >> 1];
}

interface Effects {
  /** Flags that must be defined before the instruction. */
  reads?: number;
  def?: number;
  undef?: number;
  writes?: number[];
}

const LOGIC: Effects = { def: ARITH_FLAGS & ~AF, undef: AF };
const ARITH: Effects = { def: ARITH_FLAGS };

/** Flags of a shift or rotate (ops: 0 ROL 1 ROR 2 RCL 3 RCR 4 SHL 5 SHR 7 SAR). */
function shiftEffects(op: number, size: Size, count: number): Effects {
  const c = count & (size === 8 ? 63 : 31);
  if (c === 0) return {};
  const of = c === 1 ? { def: OF, undef: 0 } : { def: 0, undef: OF };
  if (op <= 1) return { def: CF | of.def, undef: of.undef };
  if (op <= 3) return { reads: CF, def: CF | of.def, undef: of.undef };
  // SHL/SHR: CF undefined when the count is at least the operand size.
  const cf = (op === 4 || op === 5) && c >= size * 8 ? 0 : CF;
  return { def: cf | SF | ZF | PF | of.def, undef: AF | of.undef | (CF & ~cf) };
}

// ---------------------------------------------------------- the builder

interface Pending { relAt: number; relSize: number; from: number; groupsLeft: number; defined: number; known: Map<number, bigint>; df: boolean | null }

interface Snapshot {
  codeLen: number; boundaries: number; defined: number; known: Map<number, bigint>;
  rsp: bigint; stack: number[]; pending: Pending[]; df: boolean | null;
}

class Builder {
  code: number[] = [];
  boundaries: number[] = [];
  defined = ARITH_FLAGS;
  known = new Map<number, bigint>();
  stack: number[] = [];
  pending: Pending[] = [];
  /** Registers the group reserves: setups do not write them, memory operands do not use them. */
  locked = new Set<number>();
  rng: Rng;

  constructor(rng: Rng, readonly base: number, readonly baseValue: bigint, public rsp: bigint,
    readonly hot: number, public df: boolean | null) {
    this.rng = rng;
    this.known.set(base, baseValue);
  }

  get pos(): number { return this.code.length; }

  snapshot(): Snapshot {
    return {
      codeLen: this.code.length, boundaries: this.boundaries.length, defined: this.defined,
      known: new Map(this.known), rsp: this.rsp, stack: [...this.stack],
      pending: this.pending.map((p) => ({ ...p })), df: this.df,
    };
  }

  restore(s: Snapshot): void {
    this.code.length = s.codeLen;
    this.boundaries.length = s.boundaries;
    this.defined = s.defined;
    this.known = new Map(s.known);
    this.rsp = s.rsp;
    this.stack = [...s.stack];
    this.pending = s.pending.map((p) => ({ ...p }));
    this.df = s.df;
  }

  emit(e: Enc, fx: Effects = {}): void {
    if ((fx.reads ?? 0) & ~this.defined) retry();
    // Now and then a CS/DS/ES/SS prefix, which 64-bit mode ignores.
    if (this.rng.chance(0.03)) e = { ...e, pfx: [this.rng.pick([0x2e, 0x3e, 0x26, 0x36]), ...(e.pfx ?? [])] };
    const bytes = encode(e, this.pos);
    this.boundaries.push(this.pos);
    this.code.push(...bytes);
    this.defined = (this.defined | (fx.def ?? 0)) & ~(fx.undef ?? 0);
    for (const r of fx.writes ?? []) {
      if (r === RSP || r === this.base) throw new Error(`generator bug: writes ${REG_NAMES[r]}`);
      this.known.delete(r);
    }
  }

  // ---- registers

  writable(): number[] {
    const out: number[] = [];
    for (let r = 0; r < 16; r++) if (r !== RSP && r !== this.base) out.push(r);
    return out;
  }

  /** A register the instruction may write. */
  regW(size: Size): RegOp {
    const n = this.rng.pick(this.writable());
    if (size === 1 && n < 4 && this.rng.chance(0.3)) return reg(n + 4, 1, true);
    return reg(n, size);
  }

  /** Any register, for reading. */
  regR(size: Size): RegOp {
    const n = this.rng.below(16);
    if (size === 1 && n < 4 && this.rng.chance(0.3)) return reg(n + 4, 1, true);
    return reg(n, size);
  }

  rmW(size: Size): Op { return this.rng.chance(0.45) ? this.mem(size) : this.regW(size); }
  rmR(size: Size): Op { return this.rng.chance(0.45) ? this.mem(size) : this.regR(size); }

  /** Loads a known value into a register (a setup instruction). */
  setReg(r: number, v: bigint, force = false): void {
    if (this.locked.has(r) && !force) throw new Error(`generator bug: setup writes locked ${REG_NAMES[r]}`);
    v &= M64;
    if (v < 1n << 32n) this.emit({ op: [0xb8], opReg: reg(r, 4), imm: v, immBytes: 4 }, { writes: [r] });
    else if (v >= M64 - 0x7fffffffn) this.emit({ size: 8, op: [0xc7], reg: 0, rm: reg(r, 8), imm: v, immBytes: 4 }, { writes: [r] });
    else this.emit({ size: 8, op: [0xb8], opReg: reg(r, 8), imm: v, immBytes: 8 }, { writes: [r] });
    this.known.set(r, v);
  }

  /** A writable register not locked by the group. */
  freeReg(): number {
    const free = this.writable().filter((r) => !this.locked.has(r));
    return this.rng.pick(free);
  }

  // ---- memory

  /** A data-area address for an access of `size` bytes, often near a hot spot. */
  address(size: number, margin = 0): bigint {
    const lo = margin, hi = DATA_SIZE - size - margin;
    let off = this.rng.chance(0.7) ? this.hot + this.rng.below(96) - 32 : lo + this.rng.below(hi - lo + 1);
    off = Math.max(lo, Math.min(hi, off));
    return DATA + BigInt(off);
  }

  /** A memory operand for `ea` (default: a fresh address), using any addressing form. */
  mem(size: number, ea = this.address(size), opts: { noRip?: boolean; rspAfter?: bigint } = {}): MemOp {
    const rng = this.rng;
    const addr32 = rng.chance(0.1);
    const m: MemOp = { kind: "mem", base: null, rip: false, index: null, scale: 1, disp: 0, addr32, sib: rng.chance(0.1), wide: rng.chance(0.1), ea };
    const form = rng.below(10);
    if (form === 0 && !opts.noRip) { m.rip = true; return m; }
    if (form === 1) { m.disp = Number(ea); return m; } // [disp32], no base, no index
    const knownBase = (): [number, bigint] => {
      const cands: [number, bigint][] = [[this.base, this.baseValue], [this.base, this.baseValue], [RSP, opts.rspAfter ?? this.rsp]];
      for (const [r, v] of this.known) if (r !== this.base && !this.locked.has(r) && v >= DATA - 0x10000n && v < DATA + 0x20000n) cands.push([r, v]);
      return rng.pick(cands);
    };
    let baseVal = 0n;
    if (form !== 2) {
      if (rng.chance(0.15)) {
        const r = this.freeReg();
        this.setReg(r, ea - BigInt(rng.below(512)) + 256n);
      }
      [m.base, baseVal] = knownBase();
    }
    const unlock = m.base !== null && !this.locked.has(m.base);
    if (unlock) this.locked.add(m.base!); // an index setup must not overwrite it
    let idxVal = 0n;
    if (form === 2 || form >= 7) {
      m.scale = rng.pick([1, 2, 4, 8]);
      const cands = [...this.known].filter(([r, v]) => r !== RSP && !this.locked.has(r) && (v < 512n || v > M64 - 512n));
      if (cands.length > 0 && rng.chance(0.5)) [m.index, idxVal] = rng.pick(cands);
      else {
        const r = this.freeReg();
        this.setReg(r, BigInt(rng.below(600) - 300) & M64);
        m.index = r;
        idxVal = this.known.get(r)!;
      }
    }
    if (unlock) this.locked.delete(m.base!);
    const wrap = addr32 ? 1n << 32n : 1n << 64n;
    let disp = (ea - baseVal - BigInt.asIntN(64, idxVal) * BigInt(m.scale)) % wrap;
    disp = BigInt.asIntN(addr32 ? 32 : 64, disp);
    if (disp < -(1n << 31n) || disp >= 1n << 31n) retry();
    m.disp = Number(disp);
    return m;
  }

  // ---- jumps

  /** Emits Jcc/JMP forward over the next `groups` groups. */
  jumpOver(e: Enc, relSize: number, fx: Effects, groups: number): void {
    this.emit({ ...e, imm: 0, immBytes: relSize }, fx);
    this.pending.push({
      relAt: this.pos - relSize, relSize, from: this.pos, groupsLeft: groups,
      defined: this.defined, known: new Map(this.known), df: this.df,
    });
  }

  /** Patches a pending jump to land here and merges the two paths' states. */
  land(p: Pending): void {
    const rel = this.pos - p.from;
    if (p.relSize === 1 && rel > 127) throw new Error("generator bug: rel8 out of range");
    const bytes: number[] = [];
    pushLE(bytes, rel, p.relSize);
    this.code.splice(p.relAt, p.relSize, ...bytes);
    this.defined &= p.defined;
    for (const [r, v] of this.known) if (p.known.get(r) !== v) this.known.delete(r);
    if (this.df !== p.df) this.df = null; // DF is still compared, but its value is not known here
  }
}

// --------------------------------------------------------- instructions

type Family = (b: Builder) => void;

const sizeAny = (b: Builder): Size => b.rng.pick([1, 2, 4, 8] as const);
const sizeNo8 = (b: Builder): Size => b.rng.pick([2, 4, 8] as const);
const immBytesFor = (size: Size): number => (size === 8 ? 4 : size);
const writesOf = (op: Op): number[] => (op.kind === "reg" ? [regOf(op)] : []);
const lockIf = (b: Builder, op: Op): number[] => (op.kind === "mem" && b.rng.chance(0.15) ? [0xf0] : []);
const randImm = (b: Builder): bigint => interesting(b.rng);

/** ADD OR ADC SBB AND SUB XOR CMP in every form. */
const alu: Family = (b) => {
  const o = b.rng.below(8);
  const size = sizeAny(b);
  const cmp = o === 7;
  const base: Effects = o === 1 || o === 4 || o === 6 ? LOGIC : ARITH;
  const fx = (w: number[]): Effects => ({ ...base, reads: o === 2 || o === 3 ? CF : 0, writes: cmp ? [] : w });
  const w1 = size === 1 ? 0 : 1;
  switch (b.rng.below(5)) {
    case 0: { // r/m, r
      const rm = cmp ? b.rmR(size) : b.rmW(size);
      b.emit({ pfx: cmp ? [] : lockIf(b, rm), size, op: [o * 8 + w1], reg: b.regR(size), rm }, fx(writesOf(rm)));
      break;
    }
    case 1: { // r, r/m
      const rm = b.rmR(size);
      const r = cmp ? b.regR(size) : b.regW(size);
      b.emit({ size, op: [o * 8 + 2 + w1], reg: r, rm }, fx([regOf(r)]));
      break;
    }
    case 2: // AL/AX/EAX/RAX, imm
      b.emit({ size, op: [o * 8 + 4 + w1], imm: randImm(b), immBytes: immBytesFor(size) }, fx([RAX]));
      break;
    default: { // r/m, imm (80/81) or r/m, imm8 (83)
      const rm = cmp ? b.rmR(size) : b.rmW(size);
      const short = size !== 1 && b.rng.chance(0.5);
      b.emit({ pfx: cmp ? [] : lockIf(b, rm), size, op: [short ? 0x83 : 0x80 + w1], reg: o, rm, imm: randImm(b), immBytes: short ? 1 : immBytesFor(size) }, fx(writesOf(rm)));
    }
  }
};

const test: Family = (b) => {
  const size = sizeAny(b);
  const w1 = size === 1 ? 0 : 1;
  switch (b.rng.below(3)) {
    case 0: b.emit({ size, op: [0x84 + w1], reg: b.regR(size), rm: b.rmR(size) }, LOGIC); break;
    case 1: b.emit({ size, op: [0xa8 + w1], imm: randImm(b), immBytes: immBytesFor(size) }, LOGIC); break;
    default: b.emit({ size, op: [0xf6 + w1], reg: 0, rm: b.rmR(size), imm: randImm(b), immBytes: immBytesFor(size) }, LOGIC);
  }
};

/** INC DEC NOT NEG. */
const unary: Family = (b) => {
  const size = sizeAny(b);
  const w1 = size === 1 ? 0 : 1;
  const rm = b.rmW(size);
  const pfx = lockIf(b, rm);
  switch (b.rng.below(4)) {
    case 0: b.emit({ pfx, size, op: [0xfe + w1], reg: 0, rm }, { def: ARITH_FLAGS & ~CF, writes: writesOf(rm) }); break;
    case 1: b.emit({ pfx, size, op: [0xfe + w1], reg: 1, rm }, { def: ARITH_FLAGS & ~CF, writes: writesOf(rm) }); break;
    case 2: b.emit({ pfx, size, op: [0xf6 + w1], reg: 2, rm }, { writes: writesOf(rm) }); break;
    default: b.emit({ pfx, size, op: [0xf6 + w1], reg: 3, rm }, { ...ARITH, writes: writesOf(rm) });
  }
};

/** A shift count biased to the interesting ones. */
function shiftCount(b: Builder, size: Size): number {
  const bits = size * 8;
  switch (b.rng.below(4)) {
    case 0: return b.rng.pick([0, 1, bits - 1, bits, bits + 1, 31, 32, 33, 63, 64]) & 0xff;
    case 1: return b.rng.below(256);
    default: return b.rng.below(bits + 2);
  }
}

/** ROL ROR RCL RCR SHL SHR SAR by 1, CL and imm8. */
const shift: Family = (b) => {
  const op = b.rng.pick([0, 1, 2, 3, 4, 5, 7]);
  const size = sizeAny(b);
  const w1 = size === 1 ? 0 : 1;
  const form = b.rng.below(3);
  const count = form === 0 ? 1 : shiftCount(b, size);
  if (form === 1) {
    b.emit({ op: [0xb1], imm: count, immBytes: 1 }, { writes: [RCX] }); // mov cl, count
    b.locked.add(RCX);
  }
  const rm = b.rmW(size);
  const fx = { ...shiftEffects(op, size, count), writes: writesOf(rm) };
  if (form === 0) b.emit({ size, op: [0xd0 + w1], reg: op, rm }, fx);
  else if (form === 1) b.emit({ size, op: [0xd2 + w1], reg: op, rm }, fx);
  else b.emit({ size, op: [0xc0 + w1], reg: op, rm, imm: count, immBytes: 1 }, fx);
};

/** SHLD SHRD by imm8 and CL; 16-bit counts stay below 16 (larger ones are undefined). */
const shiftDouble: Family = (b) => {
  const size = sizeNo8(b);
  const right = b.rng.chance(0.5);
  const byCl = b.rng.chance(0.5);
  const mask = size === 8 ? 63 : 31;
  let count = shiftCount(b, size);
  if (size === 2 && (count & mask) > 15) count = b.rng.below(16) + (b.rng.chance(0.3) ? 32 : 0);
  if (byCl) {
    b.emit({ op: [0xb1], imm: count, immBytes: 1 }, { writes: [RCX] });
    b.locked.add(RCX);
  }
  const rm = b.rmW(size);
  const c = count & mask;
  const fx: Effects = c === 0 ? {} : { def: CF | SF | ZF | PF | (c === 1 ? OF : 0), undef: AF | (c === 1 ? 0 : OF) };
  const op = (right ? 0xac : 0xa4) + (byCl ? 1 : 0);
  b.emit({ size, op: [0x0f, op], reg: b.regR(size), rm, imm: byCl ? undefined : count, immBytes: 1 }, { ...fx, writes: writesOf(rm) });
};

const MULFX: Effects = { def: CF | OF, undef: SF | ZF | AF | PF };

/** MUL IMUL, one, two and three operands. */
const mul: Family = (b) => {
  const form = b.rng.below(4);
  if (form === 0) {
    const size = sizeAny(b);
    b.emit({ size, op: [size === 1 ? 0xf6 : 0xf7], reg: b.rng.chance(0.5) ? 4 : 5, rm: b.rmR(size) },
      { ...MULFX, writes: size === 1 ? [RAX] : [RAX, RDX] });
    return;
  }
  const size = sizeNo8(b);
  const rm = b.rmR(size);
  const r = b.regW(size);
  if (form === 1) b.emit({ size, op: [0x0f, 0xaf], reg: r, rm }, { ...MULFX, writes: [regOf(r)] });
  else if (form === 2) b.emit({ size, op: [0x69], reg: r, rm, imm: randImm(b), immBytes: immBytesFor(size) }, { ...MULFX, writes: [regOf(r)] });
  else b.emit({ size, op: [0x6b], reg: r, rm, imm: randImm(b), immBytes: 1 }, { ...MULFX, writes: [regOf(r)] });
};

/** DIV IDIV, with a divisor and high half chosen so the quotient fits. */
const div: Family = (b) => {
  const size = sizeAny(b);
  const bits = size * 8;
  const mod = 1n << BigInt(bits);
  const signed = b.rng.chance(0.5);
  const rng = b.rng;
  b.locked.add(RAX).add(RDX);
  const inMem = rng.chance(0.4);
  const rm: Op = inMem ? b.mem(size) : reg(b.freeReg(), size);
  // The divisor, as an unsigned or signed value of `bits` bits. A 64-bit
  // divisor in memory is stored from a sign-extended imm32.
  let d = rng.chance(0.5) ? BigInt(rng.below(20) + 1) : interesting(rng) % mod;
  if (signed) d = BigInt.asIntN(bits, d);
  if (inMem && size === 8 && (BigInt.asIntN(64, d) < -(1n << 31n) || BigInt.asIntN(64, d) >= 1n << 31n)) d = BigInt(rng.u32() >>> 1);
  // The high half of the dividend: below the divisor (DIV); for IDIV the
  // sign extension of the low half (d not 0, -1), 0 (|d| >= 2) or -1 (d >= 2 or d <= -3).
  let hi: bigint | "extend";
  if (!signed) {
    if (d === 0n) d = 1n;
    hi = rng.chance(0.3) ? 0n : (interesting(rng) % mod) % d;
  } else {
    const kind = rng.below(3);
    if (kind === 0) { if (d === 0n || d === -1n) d = 7n; hi = "extend"; }
    else if (kind === 1) { if (d >= -1n && d <= 1n) d = -2n; hi = 0n; }
    else { if (d >= -2n && d <= 1n) d = 3n; hi = -1n; }
  }
  if (rm.kind === "mem") b.emit({ size, op: [size === 1 ? 0xc6 : 0xc7], reg: 0, rm, imm: d, immBytes: immBytesFor(size) });
  else b.setReg(rm.n, BigInt.asUintN(64, d));
  if (hi === "extend") {
    // CBW, CWD, CDQ, CQO
    if (size === 1) b.emit({ size: 2, op: [0x98] }, { writes: [RAX] });
    else b.emit({ size, op: [0x99] }, { writes: [RDX] });
  } else if (size === 1) b.emit({ op: [0xb4], imm: hi, immBytes: 1 }, { writes: [RAX] }); // mov ah, hi
  else if (size === 8) b.setReg(RDX, hi, true);
  else b.emit({ size, op: [0xba], imm: hi, immBytes: size }, { writes: [RDX] }); // mov dx/edx, hi
  b.emit({ size, op: [size === 1 ? 0xf6 : 0xf7], reg: signed ? 7 : 6, rm },
    { undef: ARITH_FLAGS, writes: size === 1 ? [RAX] : [RAX, RDX] });
};

/** BT BTS BTR BTC, register and imm8 offsets. */
const bitTest: Family = (b) => {
  const size = sizeNo8(b);
  const op = b.rng.below(4); // BT BTS BTR BTC
  const fx = (rm: Op): Effects => ({ def: CF, undef: OF | SF | AF | PF, writes: op === 0 ? [] : writesOf(rm) });
  if (b.rng.chance(0.4)) {
    const rm = op === 0 ? b.rmR(size) : b.rmW(size);
    b.emit({ pfx: op === 0 ? [] : lockIf(b, rm), size, op: [0x0f, 0xba], reg: 4 + op, rm, imm: b.rng.below(256), immBytes: 1 }, fx(rm));
    return;
  }
  if (b.rng.chance(0.5)) {
    const rm = op === 0 ? b.regR(size) : b.regW(size);
    b.emit({ size, op: [0x0f, 0xa3 + op * 8], reg: b.regR(size), rm }, fx(rm));
    return;
  }
  // Memory with a register offset: the offset is signed and reaches outside
  // the operand, so it gets a known small value.
  const r = b.freeReg();
  const off = BigInt(b.rng.below(4000) - 2000);
  b.setReg(r, off & M64);
  b.locked.add(r);
  const rm = b.mem(size, b.address(size, 512));
  b.emit({ pfx: op === 0 ? [] : lockIf(b, rm), size, op: [0x0f, 0xa3 + op * 8], reg: reg(r, size), rm }, fx(rm));
};

/** BSF BSR: guarded by a zero test, or followed by a move that overwrites the undefined result. */
const bitScan: Family = (b) => {
  const size = sizeNo8(b);
  const op = b.rng.chance(0.5) ? 0xbc : 0xbd;
  const src = b.rmR(size);
  const dst = b.regW(size);
  const fx: Effects = { def: ZF, undef: CF | OF | SF | AF | PF, writes: [regOf(dst)] };
  if (b.rng.chance(0.75)) {
    if (src.kind === "reg") b.emit({ size, op: [0x85], reg: src, rm: src }, LOGIC);
    else b.emit({ size, op: [0x83], reg: 7, rm: src, imm: 0, immBytes: 1 }, ARITH);
    b.emit({ op: [0x74], imm: 0, immBytes: 1 }, { reads: ZF }); // jz over the scan
    const from = b.pos;
    const before = b.defined;
    b.emit({ size, op: [0x0f, op], reg: dst, rm: src }, fx);
    b.code[from - 1] = b.pos - from;
    b.defined &= before;
  } else {
    b.emit({ size, op: [0x0f, op], reg: dst, rm: src }, fx);
    b.setReg(regOf(dst), interesting(b.rng), true);
  }
};

const bswap: Family = (b) => {
  const size = b.rng.chance(0.5) ? 4 : 8;
  const r = b.regW(size);
  b.emit({ size, op: [0x0f, 0xc8], opReg: r }, { writes: [r.n] });
};

/** MOVZX MOVSX MOVSXD. */
const movExtend: Family = (b) => {
  const form = b.rng.below(5);
  if (form === 4) {
    const r = b.regW(8);
    b.emit({ size: 8, op: [0x63], reg: r, rm: b.rmR(4) }, { writes: [r.n] });
    return;
  }
  const from: Size = form < 2 ? 1 : 2;
  const size: Size = from === 1 ? sizeNo8(b) : b.rng.pick([4, 8] as const);
  const r = b.regW(size);
  const op = [0xb6, 0xbe, 0xb7, 0xbf][form];
  b.emit({ size, op: [0x0f, op], reg: r, rm: b.rmR(from) }, { writes: [r.n] });
};

/** CBW CWDE CDQE CWD CDQ CQO. */
const convert: Family = (b) => {
  const size = b.rng.pick([2, 4, 8] as const);
  if (b.rng.chance(0.5)) b.emit({ size, op: [0x98] }, { writes: [RAX] });
  else b.emit({ size, op: [0x99] }, { writes: [RDX] });
};

const setcc: Family = (b) => {
  const cc = b.rng.below(16);
  const rm = b.rmW(1);
  b.emit({ op: [0x0f, 0x90 + cc], reg: 0, rm }, { reads: ccFlags(cc), writes: writesOf(rm) });
};

const cmovcc: Family = (b) => {
  const cc = b.rng.below(16);
  const size = sizeNo8(b);
  const r = b.regW(size);
  b.emit({ size, op: [0x0f, 0x40 + cc], reg: r, rm: b.rmR(size) }, { reads: ccFlags(cc), writes: [r.n] });
};

/** Jcc (rel8 and rel32) and JMP, forward over 1 to 4 groups. */
const jump: Family = (b) => {
  const groups = 1 + b.rng.below(4);
  const cc = b.rng.below(16);
  switch (b.rng.below(5)) {
    case 0: b.jumpOver({ op: [0x0f, 0x80 + cc] }, 4, { reads: ccFlags(cc) }, groups); break;
    case 1: b.jumpOver({ op: [0xeb] }, 1, {}, groups); break;
    case 2: b.jumpOver({ op: [0xe9] }, 4, {}, groups); break;
    default: b.jumpOver({ op: [0x70 + cc] }, 1, { reads: ccFlags(cc) }, groups);
  }
};

/** XCHG CMPXCHG XADD. */
const exchange: Family = (b) => {
  const size = sizeAny(b);
  const w1 = size === 1 ? 0 : 1;
  switch (b.rng.below(4)) {
    case 0: {
      const rm = b.rmW(size);
      const r = b.regW(size);
      b.emit({ pfx: lockIf(b, rm), size, op: [0x86 + w1], reg: r, rm }, { writes: [regOf(r), ...writesOf(rm)] });
      break;
    }
    case 1: { // 90+r: xchg with the accumulator (90 itself is NOP)
      const s = size === 1 ? 4 : size;
      const r = b.regW(s);
      b.emit({ size: s, op: [0x90], opReg: r }, { writes: [RAX, r.n] });
      break;
    }
    case 2: {
      const rm = b.rmW(size);
      b.emit({ pfx: lockIf(b, rm), size, op: [0x0f, 0xb0 + w1], reg: b.regR(size), rm }, { ...ARITH, writes: [RAX, ...writesOf(rm)] });
      // A failing 32-bit CMPXCHG zero-extends its register destination per
      // the SDM but not on AMD (test-roms/DEVIATIONS.md): mov r32, r32 makes
      // the upper half defined.
      if (size === 4 && rm.kind === "reg") b.emit({ op: [0x89], reg: rm, rm }, { writes: [rm.n] });
      break;
    }
    default: {
      const rm = b.rmW(size);
      const r = b.regW(size);
      b.emit({ pfx: lockIf(b, rm), size, op: [0x0f, 0xc0 + w1], reg: r, rm }, { ...ARITH, writes: [regOf(r), ...writesOf(rm)] });
    }
  }
};

/** LEA with any addressing form (nothing is accessed, so any register will do). */
const lea: Family = (b) => {
  const rng = b.rng;
  const size = sizeNo8(b);
  const r = b.regW(size);
  const form = rng.below(6); // 0 RIP, 1 index, 2 base, 3-4 base+index, 5 disp32
  const idx = (): number => { const i = rng.below(15); return i >= RSP ? i + 1 : i; };
  const disp = rng.pick([0, rng.below(256) - 128, rng.u32() | 0]);
  const m: MemOp = {
    kind: "mem", base: form >= 2 && form <= 4 ? rng.below(16) : null, rip: form === 0, index: form === 1 || form === 3 || form === 4 ? idx() : null,
    scale: rng.pick([1, 2, 4, 8]), disp, addr32: rng.chance(0.25), sib: rng.chance(0.1), wide: rng.chance(0.1),
    ea: CODE + BigInt(rng.below(0x100000)) - 0x80000n,
  };
  b.emit({ size, op: [0x8d], reg: r, rm: m }, { writes: [r.n] });
};

/** MOV in every form: r/m,r; r,r/m; r/m,imm; r,imm (with movabs); moffs. */
const mov: Family = (b) => {
  const size = sizeAny(b);
  const w1 = size === 1 ? 0 : 1;
  switch (b.rng.below(5)) {
    case 0: {
      const rm = b.rmW(size);
      b.emit({ size, op: [0x88 + w1], reg: b.regR(size), rm }, { writes: writesOf(rm) });
      break;
    }
    case 1: {
      const r = b.regW(size);
      b.emit({ size, op: [0x8a + w1], reg: r, rm: b.rmR(size) }, { writes: [regOf(r)] });
      break;
    }
    case 2: {
      const rm = b.rmW(size);
      b.emit({ size, op: [0xc6 + w1], reg: 0, rm, imm: randImm(b), immBytes: immBytesFor(size) }, { writes: writesOf(rm) });
      break;
    }
    case 3: {
      const r = b.regW(size);
      b.emit({ size, op: [size === 1 ? 0xb0 : 0xb8], opReg: r, imm: randImm(b), immBytes: size }, { writes: [regOf(r)] });
      break;
    }
    default: { // A0-A3 with a 64-bit (or, with 67, 32-bit) absolute address
      const store = b.rng.chance(0.5);
      const a32 = b.rng.chance(0.2);
      b.emit({ pfx: a32 ? [0x67] : [], size, op: [0xa0 + (store ? 2 : 0) + w1], imm: b.address(size), immBytes: a32 ? 4 : 8 },
        { writes: store ? [] : [RAX] });
    }
  }
};

/** PUSH and POP in their forms; balanced by the end of the case. */
const pushPop: Family = (b) => {
  const rng = b.rng;
  const push = (): void => {
    const size: Size = rng.chance(0.2) ? 2 : 8;
    switch (rng.below(4)) {
      case 0: b.emit({ size, noW: true, op: [0x50], opReg: reg(rng.below(16), 8) }); break;
      case 1: b.emit({ size, noW: true, op: [0xff], reg: 6, rm: rng.chance(0.5) ? b.mem(size) : reg(rng.below(16), 8) }); break;
      case 2: b.emit({ size, noW: true, op: [0x6a], imm: rng.below(256), immBytes: 1 }); break;
      default: b.emit({ size, noW: true, op: [0x68], imm: rng.u32(), immBytes: size === 2 ? 2 : 4 });
    }
    b.stack.push(size);
    b.rsp -= BigInt(size);
  };
  const pop = (): void => {
    const size = b.stack.pop()! as Size;
    const after = b.rsp + BigInt(size);
    if (rng.chance(0.3)) b.emit({ size, noW: true, op: [0x8f], reg: 0, rm: b.mem(size, b.address(size), { rspAfter: after }) });
    else {
      const r = reg(b.freeReg(), 8);
      b.emit({ size, noW: true, op: [0x58], opReg: r }, { writes: [r.n] });
    }
    b.rsp = after;
  };
  if (b.pending.length > 0) { push(); pop(); } // stack depth must agree across jumps
  else if (b.stack.length > 0 && rng.chance(0.5)) pop();
  else if (b.stack.length < 24) push();
};

/** LAHF SAHF CLC STC CMC, and XLAT when the base register is RBX. */
const flagOps: Family = (b) => {
  switch (b.rng.below(6)) {
    case 0: b.emit({ op: [0x9f] }, { reads: SF | ZF | AF | PF | CF, writes: [RAX] }); break;
    case 1: b.emit({ op: [0x9e] }, { def: SF | ZF | AF | PF | CF }); break;
    case 2: b.emit({ op: [0xf8] }, { def: CF }); break;
    case 3: b.emit({ op: [0xf9] }, { def: CF }); break;
    case 4: b.emit({ op: [0xf5] }, { reads: CF, def: CF }); break;
    default:
      if (b.base !== RBX) retry();
      b.emit({ pfx: b.rng.chance(0.2) ? [0x67] : [], size: b.rng.chance(0.3) ? 8 : 4, op: [0xd7] }, { writes: [RAX] });
  }
};

/** MOVS STOS LODS SCAS CMPS, with CLD/STD and REP/REPE/REPNE over small counts. */
const string: Family = (b) => {
  const rng = b.rng;
  const kind = rng.below(5); // MOVS STOS LODS SCAS CMPS
  const size = sizeAny(b);
  const compares = kind >= 3;
  const rep = rng.chance(0.6) ? (compares && rng.chance(0.5) ? 0xf2 : 0xf3) : 0;
  const count = rep ? rng.below(17) : 1;
  const a32 = rng.chance(0.15);
  if (b.df === null || rng.chance(0.7)) {
    b.df = rng.chance(0.4);
    b.emit({ op: [b.df ? 0xfd : 0xfc] });
  }
  const span = 8 * 17 + 128;
  const start = (): bigint => b.address(1, span + 8);
  const usesSi = kind === 0 || kind === 2 || kind === 4;
  const usesDi = kind !== 2;
  let si = 0n;
  if (usesSi) { si = start(); b.setReg(RSI, si); }
  if (usesDi) {
    // Sometimes a multiple of 64 bytes from RSI: periodic data then compares equal.
    const di = usesSi && rng.chance(0.4) ? si + BigInt(64 * (rng.below(5) - 2)) : start();
    b.setReg(RDI, di);
  }
  if (rep) b.setReg(RCX, BigInt(count));
  const writes = [...(usesSi ? [RSI] : []), ...(usesDi ? [RDI] : []), ...(rep ? [RCX] : []), ...(kind === 2 ? [RAX] : [])];
  const op = [0xa4, 0xaa, 0xac, 0xae, 0xa6][kind] + (size === 1 ? 0 : 1);
  const fx: Effects = compares && count > 0 ? { ...ARITH, writes } : { writes };
  b.emit({ pfx: [...(rep ? [rep] : []), ...(a32 ? [0x67] : [])], size, op: [op] }, fx);
};

const FAMILIES: Record<string, [number, Family]> = {
  alu: [14, alu], test: [3, test], unary: [5, unary], shift: [8, shift], shiftDouble: [3, shiftDouble],
  mul: [5, mul], div: [4, div], bitTest: [4, bitTest], bitScan: [3, bitScan], bswap: [1, bswap],
  movExtend: [3, movExtend], convert: [2, convert], setcc: [3, setcc], cmovcc: [3, cmovcc], jump: [4, jump],
  exchange: [4, exchange], lea: [3, lea], mov: [8, mov], pushPop: [4, pushPop], flagOps: [3, flagOps], string: [4, string],
};
/** The instruction families, for GenerateOptions.without. */
export const FAMILY_NAMES = Object.keys(FAMILIES);

function pickFamily(rng: Rng, without: readonly string[]): Family {
  const table = Object.entries(FAMILIES).filter(([name]) => !without.includes(name)).map(([, wf]) => wf);
  let x = rng.below(table.reduce((s, [w]) => s + w, 0));
  for (const [w, f] of table) { if (x < w) return f; x -= w; }
  return alu;
}

// ---------------------------------------------------------------- cases

export interface GenerateOptions {
  /** Number of instruction groups (default: 1 to 24). */
  groups?: number;
  /** Groups to leave out (for shrinking): generated, then rolled back. */
  skip?: ReadonlySet<number>;
  /** Instruction families never to draw (FAMILY_NAMES), e.g. to look past a known bug. */
  without?: readonly string[];
}

const BASES = [RBX, RBP, 8, 9, 10, 11, 12, 13, 14, 15];

/** Generates case `seed`. The same seed and options always give the same case. */
export function generateCase(seed: number, opts: GenerateOptions = {}): FuzzCase {
  const rng = new Rng(seed);
  const base = rng.pick(BASES);
  const baseValue = DATA + BigInt(0x1000 + rng.below(0xe000));
  const rsp = DATA + BigInt(0xe000 + rng.below(0x1000)) & ~(rng.chance(0.9) ? 7n : 1n);
  const regs = new Int32Array(32);
  for (let r = 0; r < 16; r++) {
    const v = r === base ? baseValue : r === RSP ? rsp : interesting(rng);
    regs[2 * r] = Number(v & 0xffffffffn) | 0;
    regs[2 * r + 1] = Number(v >> 32n) | 0;
  }
  const data = new Uint8Array(DATA_SIZE);
  const words = new Int32Array(data.buffer);
  const period = rng.chance(0.25) ? 16 : words.length;
  for (let i = 0; i < words.length; i++) words[i] = i < period ? rng.u32() | 0 : words[i - period];
  const rflags = 0x202 | (rng.u32() & ARITH_FLAGS) | (rng.chance(0.2) ? DF : 0);
  const hot = 0x100 + rng.below(DATA_SIZE - 0x200);

  const b = new Builder(rng, base, baseValue, rsp, hot, (rflags & DF) !== 0);
  const groups = opts.groups ?? 1 + rng.below(24);
  for (let g = 0; g < groups && b.pos < MAX_CODE - 256; g++) {
    // Every group draws from its own stream, so skipping one for shrinking
    // leaves the others' choices mostly alone.
    b.rng = new Rng((seed ^ Math.imul(g + 1, 0x9e3779b1)) >>> 0);
    for (const p of b.pending) if (p.relSize === 1 && b.pos - p.from > 64) p.groupsLeft = 0;
    landDue(b);
    const before = b.snapshot();
    let done = false;
    for (let attempt = 0; attempt < 20 && !done; attempt++) {
      try {
        b.locked.clear();
        pickFamily(b.rng, opts.without ?? [])(b);
        done = true;
      } catch (e) {
        if (!(e instanceof Retry)) throw e;
        b.restore(before);
      }
    }
    if (!done || opts.skip?.has(g)) { b.restore(before); continue; }
    for (const p of b.pending) p.groupsLeft--;
  }
  for (const p of b.pending) p.groupsLeft = 0;
  landDue(b);
  // Balance the stack.
  b.locked.clear();
  while (b.stack.length > 0) {
    const size = b.stack.pop()!;
    const r = b.freeReg();
    b.emit({ size: size as Size, noW: true, op: [0x58], opReg: reg(r, 8) }, { writes: [r] });
    b.rsp += BigInt(size);
  }
  return {
    code: Uint8Array.from(b.code), regs, rflags, data,
    flagMask: b.defined & ARITH_FLAGS, regMask: 0xffff, boundaries: b.boundaries, groups,
  };
}

/** Lands the pending jumps that are due, innermost first. */
function landDue(b: Builder): void {
  for (let i = b.pending.length - 1; i >= 0; i--) {
    const p = b.pending[i];
    if (p.groupsLeft > 0) continue;
    b.pending.splice(i, 1);
    b.land(p);
  }
}
