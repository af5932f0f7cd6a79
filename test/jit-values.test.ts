// The compiler's own forms against the interpreter: the bare values it
// computes when an instruction's flags are dead (an ALU operation on halves,
// a shift or rotate by a constant, the low half of a product, INC/DEC) and
// the conditions it reads straight from a flag producer's operands (fused
// CMP/SUB/TEST/AND/OR/XOR/ADD/INC/DEC + SETcc/CMOVcc/Jcc). Each case is a
// user-mode snippet run by the interpreter and with every instruction
// compiled (src/cpu/snippet.ts); an XOR after the instruction under test
// makes its flags dead, so the compiled tier takes the value-only and fused
// paths. The interpreter's results are the reference (the host fuzzer holds
// the interpreter to the host CPU).

import { describe, expect, it } from "vitest";
import { runSnippet, SNIPPET_DATA_SIZE } from "../src/cpu/snippet.ts";

/** xor r15d, r15d: writes every flag, so the flags of what comes before are dead. */
const KILL_FLAGS = [0x45, 0x31, 0xff];

const EDGES = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, -1, -2, 0x12345678, -0x6543210f];

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x | 0;
  };
}

/** Operand-size prefix bytes for an instruction at `size` bytes (REX.W for 8). */
const PREFIX: Record<number, number[]> = { 1: [], 2: [0x66], 4: [], 8: [0x48] };

/** Operand pairs: edge values against a few others, then `count` random ones. */
function operandPairs(count: number, seed: number): [number, number][][] {
  const next = lcg(seed);
  const pairs: [number, number][][] = [];
  for (const a of EDGES) for (const b of [0, 1, -1, 0x80000000 | 0, 0x7fffffff]) pairs.push([[a, b], [b, a]]);
  for (let k = 0; k < count; k++) pairs.push([[next(), next()], [next(), next()]]);
  return pairs;
}

/** Little-endian bytes of a 64-bit value given as halves. */
function imm64(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (const v of [lo, hi]) for (let k = 0; k < 4; k++) out.push((v >>> (8 * k)) & 0xff);
  return out;
}

/**
 * Runs cases in batches of snippets under both tiers and compares them. A
 * case loads rax and rbx (and rcx, rdx), runs its code, stores rax, rcx and
 * rdx into the data area (rdi), then kills the flags. The tiers must agree
 * on the data, the registers, RFLAGS and the instruction count.
 */
function compareTiers(label: string, cases: { code: number[]; a: [number, number]; b: [number, number] }[]): void {
  let code: number[] = [];
  let slot = 0;
  let first = 0;
  const flush = (upTo: number): void => {
    if (code.length === 0) return;
    const state = () => {
      const regs = new Int32Array(32);
      regs[14] = 0x20000000; // rdi: the data area (SNIPPET_DATA_ADDRESS)
      regs[8] = 0x20000000 + SNIPPET_DATA_SIZE; // rsp: its top
      return { regs, rflags: 0x202, data: new Uint8Array(SNIPPET_DATA_SIZE) };
    };
    const bytes = Uint8Array.from(code);
    const interpreted = runSnippet(bytes, state());
    const compiled = runSnippet(bytes, state(), { jit: true });
    const where = `${label}, cases ${first}-${upTo - 1}`;
    expect(interpreted.exception, where).toBe(-1);
    expect({ where, regs: [...compiled.regs], rflags: compiled.rflags, n: compiled.instructions, e: compiled.exception }).toEqual({
      where,
      regs: [...interpreted.regs],
      rflags: interpreted.rflags,
      n: interpreted.instructions,
      e: interpreted.exception,
    });
    for (let k = 0; k < slot; k++) {
      const at = k * 24;
      const got = [...compiled.data.subarray(at, at + 24)];
      const want = [...interpreted.data.subarray(at, at + 24)];
      if (got.join() !== want.join()) expect({ where, case: first + k, got }).toEqual({ where, case: first + k, got: want });
    }
    code = [];
    slot = 0;
    first = upTo;
  };
  cases.forEach((c, n) => {
    const body = [
      0x48, 0xb8, ...imm64(c.a[0], c.a[1]), // mov rax, imm64
      0x48, 0xbb, ...imm64(c.b[0], c.b[1]), // mov rbx, imm64
      0x48, 0xb9, ...imm64(0x5a5a5a5a, -0x5a5a5a5b), // mov rcx, imm64
      0x48, 0xba, ...imm64(-0x3c3c3c3d, 0x3c3c3c3c), // mov rdx, imm64
      ...c.code,
      0x48, 0x89, 0x87, ...imm64(slot * 24, 0).slice(0, 4), // mov [rdi + 24k], rax
      0x48, 0x89, 0x8f, ...imm64(slot * 24 + 8, 0).slice(0, 4), // mov [rdi + 24k + 8], rcx
      0x48, 0x89, 0x97, ...imm64(slot * 24 + 16, 0).slice(0, 4), // mov [rdi + 24k + 16], rdx
      ...KILL_FLAGS,
    ];
    if (code.length + body.length > 4000 || slot * 24 + 24 > 60000) flush(n);
    code.push(...body);
    slot++;
  });
  flush(cases.length);
}

describe("the compiler's value-only forms equal the interpreter's", () => {
  it("ADD, OR, AND, SUB, XOR, CMP of two registers at 8, 16, 32 and 64 bits, flags dead", () => {
    const ops: [string, number][] = [["add", 0x00], ["or", 0x08], ["and", 0x20], ["sub", 0x28], ["xor", 0x30], ["cmp", 0x38]];
    for (const [name, base] of ops) {
      for (const size of [1, 2, 4, 8]) {
        const code = [...PREFIX[size], size === 1 ? base : base + 1, 0xd8, ...KILL_FLAGS]; // op rAX, rBX (r/m = rax, reg = rbx)
        compareTiers(`${name}${size * 8}`, operandPairs(8, size * 31 + base).map(([a, b]) => ({ code, a, b })));
      }
    }
  });

  it("SHL, SHR, SAR, ROL, ROR by every constant count, flags dead", () => {
    const kinds: [string, number][] = [["rol", 0], ["ror", 1], ["shl", 4], ["shr", 5], ["sar", 7]];
    for (const [name, kind] of kinds) {
      for (const size of [1, 2, 4, 8]) {
        const cases: { code: number[]; a: [number, number]; b: [number, number] }[] = [];
        for (let count = 1; count < (size === 8 ? 64 : 32); count++) {
          const code = [...PREFIX[size], size === 1 ? 0xc0 : 0xc1, 0xc0 | (kind << 3), count, ...KILL_FLAGS];
          for (const a of [0x12345678, -0x6543210f, -1, 0x80000001 | 0]) cases.push({ code, a: [a, ~a], b: [0, 0] });
        }
        compareTiers(`${name}${size * 8}`, cases);
      }
    }
  });

  it("IMUL's truncated product (two and three operands) at 16, 32 and 64 bits, flags dead", () => {
    for (const size of [2, 4, 8]) {
      const two = [...PREFIX[size], 0x0f, 0xaf, 0xc3, ...KILL_FLAGS]; // imul rax, rbx
      const three = [...PREFIX[size], 0x69, 0xc3, ...(size === 2 ? [0x34, 0x92] : [0x34, 0x92, 0x87, 0xf1]), ...KILL_FLAGS]; // imul rax, rbx, imm
      compareTiers(`imul${size * 8}`, operandPairs(24, size).map(([a, b]) => ({ code: two, a, b })));
      compareTiers(`imul${size * 8} imm`, operandPairs(24, size).map(([a, b]) => ({ code: three, a, b })));
    }
  });

  it("INC and DEC at 8, 16, 32 and 64 bits, flags dead", () => {
    for (const size of [1, 2, 4, 8]) {
      for (const dec of [false, true]) {
        const code = [...PREFIX[size], size === 1 ? 0xfe : 0xff, dec ? 0xc8 : 0xc0, ...KILL_FLAGS];
        compareTiers(`${dec ? "dec" : "inc"}${size * 8}`, EDGES.flatMap((a) => [0, -1, 0x7fffffff].map((h) => ({ code, a: [a, h] as [number, number], b: [0, 0] as [number, number] }))));
      }
    }
  });
});

describe("flags the compiler defers (a shift by a constant, IMUL) equal the interpreter's when read", () => {
  it("SHL, SHR, SAR by constants and IMUL, their flags read by PUSHF and by SETB/SETO", () => {
    // op; pushfq; pop rcx (RFLAGS into rcx); setb dl; seto dh — then the flags die
    const readers = [0x9c, 0x59, 0x0f, 0x92, 0xc2, 0x0f, 0x90, 0xc6, ...KILL_FLAGS];
    const cases: { code: number[]; a: [number, number]; b: [number, number] }[] = [];
    for (const size of [1, 2, 4, 8]) {
      for (const kind of [4, 5, 7]) {
        for (const count of [1, 3, 7, 8, 15, 16, 31, 33, 63]) {
          const code = [...PREFIX[size], size === 1 ? 0xc0 : 0xc1, 0xc0 | (kind << 3), count, ...readers];
          for (const a of [0x12345678, -0x6543210f, -1, 0x80000001 | 0, 1]) cases.push({ code, a: [a, ~a], b: [0, 0] });
        }
      }
      if (size > 1) {
        const code = [...PREFIX[size], 0x0f, 0xaf, 0xc3, ...readers]; // imul rax, rbx
        for (const [a, b] of operandPairs(8, size)) cases.push({ code, a, b });
      }
    }
    compareTiers("deferred flags", cases);
  });
});

describe("fused conditions equal the interpreter's flags", () => {
  it("SETcc after CMP, SUB, TEST, AND, OR, XOR, ADD, INC and DEC, every condition, every size", () => {
    const producers: [string, (size: number) => number[]][] = [
      ["cmp", (size) => [...PREFIX[size], size === 1 ? 0x38 : 0x39, 0xd8]],
      ["sub", (size) => [...PREFIX[size], size === 1 ? 0x28 : 0x29, 0xd8]],
      ["test", (size) => [...PREFIX[size], size === 1 ? 0x84 : 0x85, 0xd8]],
      ["and", (size) => [...PREFIX[size], size === 1 ? 0x20 : 0x21, 0xd8]],
      ["or", (size) => [...PREFIX[size], size === 1 ? 0x08 : 0x09, 0xd8]],
      ["xor", (size) => [...PREFIX[size], size === 1 ? 0x30 : 0x31, 0xd8]],
      ["add", (size) => [...PREFIX[size], size === 1 ? 0x00 : 0x01, 0xd8]],
      ["inc", (size) => [...PREFIX[size], size === 1 ? 0xfe : 0xff, 0xc0]],
      ["dec", (size) => [...PREFIX[size], size === 1 ? 0xfe : 0xff, 0xc8]],
      ["cmp imm", (size) => [...PREFIX[size], size === 1 ? 0x80 : 0x81, 0xf8, ...(size === 1 ? [0x80] : size === 2 ? [0x00, 0x80] : [0x00, 0x00, 0x00, 0x80])]],
    ];
    for (const [name, producer] of producers) {
      for (const size of [1, 2, 4, 8]) {
        const cases: { code: number[]; a: [number, number]; b: [number, number] }[] = [];
        for (let cc = 0; cc < 16; cc++) {
          // producer; setcc cl; cmovcc rdx, rbx (the same cc); then the flags die
          const code = [...producer(size), 0x0f, 0x90 + cc, 0xc1, 0x48, 0x0f, 0x40 + cc, 0xd3, ...KILL_FLAGS];
          for (const [a, b] of operandPairs(0, cc * 7 + size)) cases.push({ code, a, b });
        }
        compareTiers(`${name}${size * 8}`, cases);
      }
    }
  });

  it("Jcc after CMP in a loop: the branch goes where the interpreter's flags say, every condition", () => {
    for (let cc = 0; cc < 16; cc++) {
      // xor ecx, ecx; top: inc rcx; cmp rax, rbx; jcc skip; inc rdx; skip: dec rax; cmp rcx, 40; jne top
      const code = [0x31, 0xc9, 0x48, 0xff, 0xc1, 0x48, 0x39, 0xd8, 0x70 + cc, 0x03, 0x48, 0xff, 0xc2, 0x48, 0xff, 0xc8, 0x48, 0x83, 0xf9, 40, 0x75, 0xec, ...KILL_FLAGS];
      compareTiers(`jcc${cc}`, ([[[20, 0], [0, 0]], [[5, -1], [3, 0]], [[-20, -1], [-10, -1]]] as [number, number][][]).map(([a, b]) => ({ code, a, b })));
    }
  });
});
