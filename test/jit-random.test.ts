// Robustness of the compiler's tier: random byte streams run as code under
// the interpreter alone and with everything compiled at once (threshold 0),
// with a fixed seed; each seed's stream runs at CPL 0 and CPL 3 on a PC and
// at CPL 3 through runSnippet. Nothing here has an expected value of its own: the two
// tiers are compared with each other. No JavaScript exception may escape,
// no run may hang (each is bounded), and the outcome must be identical —
// how the run ended, the vectors delivered, the instruction count, RIP, the
// registers, RFLAGS, the control registers, the CPL and selectors, all of RAM
// and the data-TLB, walk and page-fault figures (PC machine), or the
// exception, instruction count, registers, RFLAGS and data (runSnippet).
//
// The streams (test/fuzz/random-bytes.ts) are plain random bytes or random
// instruction shapes: ALU operations on registers and memory, moves, shifts,
// branches back and forth (loops), calls and returns, pushes and pops, string
// instructions with REP, stores through RIP into the code being run, and at
// CPL 0 some system instructions (CPUID, RDTSC, a CR3 reload, INVLPG, port
// I/O, INT, HLT). `npm run fuzz -- --random-bytes` runs as many as asked.

import { describe, expect, it } from "vitest";
import { SNIPPET_DATA_SIZE, runSnippet } from "../src/cpu/snippet.ts";
import { type MachineRun, compareStreamOnSnippet, describeStream, generateStream, machineDifferences, runStreamOnMachine } from "./fuzz/random-bytes.ts";

const SEED = 0x7a11;
/** Streams per machine and CPL, and through runSnippet. */
const STREAMS = 150;
/** Instructions per stream on the PC machine (runSnippet stops at 100,000). */
const BUDGET = 3000;

interface Tally {
  bad: { seed: number; diffs: string[] }[];
  instructions: number;
  budgetEnds: number;
  vectors: Set<number>;
  compiled: number;
  invalidations: number;
}

function runMachineStreams(cpl: 0 | 3): Tally {
  const tally: Tally = { bad: [], instructions: 0, budgetEnds: 0, vectors: new Set(), compiled: 0, invalidations: 0 };
  for (let i = 0; i < STREAMS; i++) {
    const seed = SEED + i;
    const c = generateStream(seed, cpl);
    let a: MachineRun, b: MachineRun;
    try {
      a = runStreamOnMachine(c, null, BUDGET);
      b = runStreamOnMachine(c, { threshold: 0 }, BUDGET);
    } catch (e) {
      tally.bad.push({ seed, diffs: [`threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`] });
      continue;
    }
    const diffs = machineDifferences(a, b);
    if (diffs.length > 0) tally.bad.push({ seed, diffs });
    tally.instructions += a.outcome.icount;
    if (a.outcome.end === "instruction-limit") tally.budgetEnds++;
    for (const v of a.outcome.vectors) tally.vectors.add(v);
    tally.compiled += b.jit?.compiledInstructions ?? 0;
    tally.invalidations += b.jit?.invalidations ?? 0;
  }
  return tally;
}

function reportFirst(bad: { seed: number; diffs: string[] }[], cpl: 0 | 3): string {
  if (bad.length === 0) return "";
  const first = bad[0];
  return `${bad.length} streams differ between the tiers; the first:\n${describeStream(generateStream(first.seed, cpl))}\n  ${first.diffs.join("\n  ")}\n` +
    `(again: npm run fuzz -- --random-bytes --seed ${first.seed} --count 1)`;
}

describe("random byte streams: the interpreter and compiled code agree", () => {
  for (const cpl of [0, 3] as const) {
    it(`at CPL ${cpl} on a PC in 64-bit mode (${STREAMS} streams, ${BUDGET} instructions each at most)`, () => {
      const tally = runMachineStreams(cpl);
      expect(tally.bad.length, reportFirst(tally.bad, cpl)).toBe(0);
      // The streams reach past their first instructions, loop until the budget,
      // fault in several ways, run compiled, and rewrite compiled code.
      expect(tally.instructions).toBeGreaterThan(STREAMS * 20);
      expect(tally.budgetEnds).toBeGreaterThan(STREAMS / 50);
      expect([...tally.vectors].filter((v) => [6, 13, 14].includes(v)).sort((x, y) => x - y)).toEqual([6, 13, 14]);
      expect(tally.compiled).toBeGreaterThan(tally.instructions / 2);
      expect(tally.invalidations).toBeGreaterThan(0);
    }, 120_000);
  }

  it(`at CPL 3 through runSnippet (${STREAMS} streams)`, () => {
    const bad: { seed: number; diffs: string[] }[] = [];
    for (let i = 0; i < STREAMS; i++) {
      const seed = SEED + i;
      const diffs = compareStreamOnSnippet(runSnippet, generateStream(seed, 3));
      if (diffs.length > 0) bad.push({ seed, diffs });
    }
    const first = bad[0];
    expect(bad.length, first && `${bad.length} streams differ between the tiers under runSnippet; the first:\n${describeStream(generateStream(first.seed, 3))}\n  ${first.diffs.join("\n  ")}\n` +
      `(again: npm run fuzz -- --random-bytes --seed ${first.seed} --count 1)`).toBe(0);
  }, 120_000);

  it("runSnippet gives both tiers the same memory: code reading the byte after itself sees the same under each", () => {
    // runSnippet marks the end of code shorter than a page with a HLT (0xf4),
    // which the compiled run stops at; the interpreter's run has it too.
    const code = Uint8Array.from([0x8a, 0x05, 0, 0, 0, 0]); // mov al, [rip+0]
    const state = () => ({ regs: new Int32Array(32), rflags: 0x202, data: new Uint8Array(SNIPPET_DATA_SIZE) });
    expect(runSnippet(code, state()).regs[0]).toBe(0xf4);
    expect(runSnippet(code, state(), { jit: true }).regs[0]).toBe(0xf4);
  });

  it("the comparison names what differs", () => {
    const c = generateStream(SEED, 0);
    const a = runStreamOnMachine(c, null, BUDGET);
    const b = runStreamOnMachine(c, null, BUDGET);
    expect(machineDifferences(a, b)).toEqual([]);
    b.outcome.icount++;
    b.outcome.regs[3] = a.outcome.regs[3] === "0000000000000000" ? "0000000000000001" : "0000000000000000";
    b.ram[0x200123] ^= 1;
    expect(machineDifferences(a, b)).toEqual([
      expect.stringMatching(/^icount: interpreter \d+, compiled \d+$/),
      expect.stringMatching(/^regs: /),
      expect.stringMatching(/^RAM 0x200123: interpreter [0-9a-f]{2}, compiled [0-9a-f]{2}$/),
    ]);
  });
});
