// The differential fuzzer: random user-mode integer instruction sequences
// run on the host CPU (the expected values) and on cr3. It needs gcc and an
// x86-64 Linux host: without gcc the checks are skipped with a message,
// except under CI (CI=true), where .ci/run installs gcc and a missing one
// fails. `npm run fuzz` runs it for longer.

import { describe, expect, it } from "vitest";
import {
  ARITH_FLAGS, CF, DATA_SIZE, OF, PF, SF, SNIPPET_DATA_ADDRESS, ZF, generateCase, type FuzzCase,
} from "./fuzz/generator.ts";
import { hasGcc, hostIsX86Linux, runNative } from "./fuzz/native.ts";
import { type RunSnippet, compareBatch, differences, hasObjdump, loadCr3, objdump, report } from "./fuzz/compare.ts";

const SEED = 0x5eed;
const CASES = 1000;

const inCi = process.env.CI === "true" || process.env.CI === "1";
const haveGcc = hasGcc();
const haveObjdump = hasObjdump();
const canRun = hostIsX86Linux() && (haveGcc || inCi);
if (!hostIsX86Linux()) console.warn("fuzzer: the host is not x86-64 Linux: the host comparison is skipped");
else if (!inCi && !haveGcc) console.warn("fuzzer: gcc not found: the host comparison is skipped (Debian: apt-get install gcc)");
if (!inCi && !haveObjdump) console.warn("fuzzer: objdump not found: the encoding check is skipped (Debian: apt-get install binutils)");

/** A hand-written case: code, some registers, flags; the rest zero. */
function handCase(code: number[], regs: Record<number, bigint>, rflags = 0x202): FuzzCase {
  const r = new Int32Array(32);
  for (const [n, v] of Object.entries(regs)) {
    r[2 * Number(n)] = Number(v & 0xffffffffn) | 0;
    r[2 * Number(n) + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
  }
  return {
    code: Uint8Array.from(code), regs: r, rflags, data: new Uint8Array(DATA_SIZE),
    flagMask: ARITH_FLAGS, regMask: 0xffff, boundaries: [0], groups: 1,
  };
}
const reg64 = (regs: Int32Array, n: number): bigint => (BigInt(regs[2 * n + 1] >>> 0) << 32n) | BigInt(regs[2 * n] >>> 0);
const RAX = 0, RCX = 1, RBX = 3, RSP = 4;
const DATA = BigInt(SNIPPET_DATA_ADDRESS);

describe("fuzzer generator", () => {
  it("is deterministic", () => {
    const a = generateCase(42), b = generateCase(42);
    expect(a.code).toEqual(b.code);
    expect(a.regs).toEqual(b.regs);
    expect(a.data).toEqual(b.data);
  });

  it.skipIf(!inCi && !haveObjdump)("encodes what objdump decodes, instruction for instruction", () => {
    // All cases back to back: objdump must find an instruction start at
    // every boundary the generator recorded, and nowhere else.
    const code: number[] = [];
    const starts: number[] = [];
    for (let i = 0; i < 400; i++) {
      const c = generateCase(SEED + i);
      for (const at of c.boundaries) starts.push(code.length + at);
      code.push(...c.code);
    }
    const lines = objdump(Uint8Array.from(code), 0);
    expect(lines.filter((l) => /\(bad\)|\.byte/.test(l))).toEqual([]);
    expect(lines.map((l) => parseInt(l, 16))).toEqual(starts);
    // Every instruction class the fuzzer claims to cover shows up.
    const mnemonics = new Set(lines.flatMap((l) => l.split("\t")[2].split(/\s+/).slice(0, 2)));
    const expected = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test", "inc", "dec", "neg", "not",
      "rol", "ror", "rcl", "rcr", "shl", "shr", "sar", "shld", "shrd", "mul", "imul", "div", "idiv",
      "bt", "bts", "btr", "btc", "bsf", "bsr", "bswap", "movzx", "movsx", "movsxd",
      "cbw", "cwde", "cdqe", "cwd", "cdq", "cqo", "sete", "cmovne", "je", "jmp", "xchg", "cmpxchg", "xadd",
      "lea", "mov", "movabs", "push", "pop", "lahf", "sahf", "clc", "stc", "cmc", "cld", "std",
      "movs", "stos", "lods", "scas", "cmps", "rep", "repz", "repnz", "lock"];
    expect(expected.filter((m) => !mnemonics.has(m))).toEqual([]);
  });
});

describe.skipIf(!canRun)("fuzzer host harness", () => {
  it("has gcc (CI installs it)", () => {
    expect(haveGcc, "gcc is needed to build test/fuzz/host-harness.c").toBe(true);
  });

  it("computes known results", () => {
    const [add, overflow, sub32, store, pushPop] = runNative([
      handCase([0x48, 0x01, 0xd8], { [RAX]: 5n, [RBX]: 7n }), // add rax, rbx
      handCase([0x48, 0x01, 0xd8], { [RAX]: 0x7fffffffffffffffn, [RBX]: 1n }),
      handCase([0x29, 0xd8], { [RAX]: 0xffffffff00000001n, [RBX]: 2n }), // sub eax, ebx
      handCase([0x48, 0x89, 0x43, 0x10], { [RAX]: 0x1122334455667788n, [RBX]: DATA + 0x100n }), // mov [rbx+16], rax
      handCase([0x51, 0x58], { [RCX]: 0xabcdn, [RSP]: DATA + 0x1000n }), // push rcx; pop rax
    ]);
    expect(add.exception).toBe(-1);
    expect(reg64(add.regs, RAX)).toBe(12n);
    expect(add.rflags & ARITH_FLAGS).toBe(PF); // 12 = 0b1100: even parity, no carries out of bit 3
    expect(reg64(overflow.regs, RAX)).toBe(0x8000000000000000n);
    expect(overflow.rflags & (OF | SF | ZF | CF)).toBe(OF | SF);
    expect(reg64(sub32.regs, RAX)).toBe(0xffffffffn); // 32-bit results zero-extend
    expect(sub32.rflags & (CF | SF | ZF)).toBe(CF | SF);
    expect(Array.from(store.data.subarray(0x110, 0x118))).toEqual([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    expect(store.data.subarray(0, 0x110).every((x) => x === 0)).toBe(true);
    expect(reg64(pushPop.regs, RAX)).toBe(0xabcdn);
    expect(reg64(pushPop.regs, RSP)).toBe(DATA + 0x1000n);
    expect(Array.from(pushPop.data.subarray(0xff8, 0xffa))).toEqual([0xcd, 0xab]);
  });

  it("reports faults as vectors and keeps going", () => {
    const results = runNative([
      handCase([0x90, 0x0f, 0x0b], {}), // nop; ud2
      handCase([0x48, 0xf7, 0xf1], { [RCX]: 0n }), // div rcx by zero
      handCase([0x8a, 0x04, 0x25, 0, 0, 0, 0], {}), // mov al, [0]
      handCase([0x8b, 0x03], { [RBX]: DATA + BigInt(DATA_SIZE) - 2n }), // a load across the end of the data area
      handCase([0x48, 0xff, 0xc0], { [RAX]: 1n }), // inc rax: still fine afterwards
    ]);
    expect(results.map((r) => r.exception)).toEqual([6, 0, 14, 14, -1]);
    expect(results[0].faultOffset).toBe(1);
    expect(reg64(results[4].regs, RAX)).toBe(2n);
  });

  it("runs generated cases to the end, deterministically", () => {
    const cases = Array.from({ length: 300 }, (_, i) => generateCase(SEED + i));
    const a = runNative(cases), b = runNative(cases);
    expect(a.filter((r) => r.exception !== -1).map((r) => r.exception)).toEqual([]);
    for (let i = 0; i < cases.length; i++) expect(differences(cases[i], a[i], b[i])).toEqual([]);
  });

  it("the comparison names wrong registers, defined flags and data, and ignores undefined flags", () => {
    // imul rax, rbx leaves SF ZF AF PF undefined; CF and OF are defined.
    const c = handCase([0x48, 0x0f, 0xaf, 0xc3], { [RAX]: 3n, [RBX]: 5n });
    c.flagMask = CF | OF;
    const [host] = runNative([c]);
    const wrong = (f: (o: { regs: Int32Array; rflags: number; data: Uint8Array }) => void): string[] => {
      const o = { exception: host.exception, regs: host.regs.slice(), rflags: host.rflags, data: host.data.slice() };
      f(o);
      return differences(c, host, o);
    };
    expect(wrong(() => {})).toEqual([]);
    expect(wrong((o) => { o.rflags ^= ZF | SF | PF; })).toEqual([]);
    expect(wrong((o) => { o.rflags ^= CF; })).toEqual([expect.stringMatching(/^flags CF: /)]);
    expect(wrong((o) => { o.regs[1] ^= 1; })).toEqual([expect.stringMatching(/^rax: host 000000000000000f, cr3 000000010000000f/)]);
    expect(wrong((o) => { o.data[0x1234] = 1; })).toEqual([expect.stringMatching(/^data \+0x1234 /)]);
  });

  it(`cr3 agrees with the host on ${CASES} random cases`, async () => {
    const run = await loadCr3();
    if (typeof run === "string") {
      console.warn(`fuzzer: ${run}: the comparison with cr3 is skipped`);
      return;
    }
    const cases = Array.from({ length: CASES }, (_, i) => generateCase(SEED + i));
    const bad = compareBatch(run, cases);
    const first = bad[0];
    expect(bad.length, first && `${bad.length} mismatching cases; the first, seed ${SEED + first.index}:\n` +
      report(cases[first.index], first.diffs, `npm run fuzz -- --seed ${SEED + first.index} --count 1`)).toBe(0);
  });

  it(`compiled code (every instruction compiled at once) agrees with the host and with the interpreter on ${CASES} random cases`, async () => {
    const run = await loadCr3();
    if (typeof run === "string") {
      console.warn(`fuzzer: ${run}: the comparison with cr3 is skipped`);
      return;
    }
    const cases = Array.from({ length: CASES }, (_, i) => generateCase(SEED + i));
    const compiled: RunSnippet = (code, initial) => run(code, initial, { jit: true });
    const bad = compareBatch(compiled, cases);
    const first = bad[0];
    expect(bad.length, first && `${bad.length} mismatching cases under --jit; the first, seed ${SEED + first.index}:\n` +
      report(cases[first.index], first.diffs, `npm run fuzz -- --jit --seed ${SEED + first.index} --count 1`)).toBe(0);
    // The two tiers: the same outcome and the same instruction count.
    for (const [i, c] of cases.entries()) {
      const a = run(c.code, { regs: c.regs.slice(), rflags: c.rflags, data: c.data.slice() });
      const b = compiled(c.code, { regs: c.regs.slice(), rflags: c.rflags, data: c.data.slice() });
      expect({ seed: SEED + i, exception: b.exception, instructions: b.instructions, rflags: b.rflags, regs: [...b.regs] })
        .toEqual({ seed: SEED + i, exception: a.exception, instructions: a.instructions, rflags: a.rflags, regs: [...a.regs] });
      expect(Buffer.from(b.data).equals(Buffer.from(a.data)), `data of seed ${SEED + i}`).toBe(true);
    }
  }, 180_000);
});
