// npm run fuzz -- [--seconds N] [--seed S] [--count N] [--batch N] [--without FAMILY,...] [--jit | --interpreter]
// npm run fuzz -- --random-bytes [--seconds N] [--seed S] [--count N] [--budget N]
//
// Differential fuzzing of cr3's CPU against the host CPU: batches of random
// cases (seeds S, S+1, ...) run on the host and on cr3 under both tiers —
// the interpreter, and compiled code with every instruction compiled at once
// (runSnippet's { jit: true }) — until the time or the count is up; stops at
// the first mismatch of either tier with the host, or of the tiers with each
// other (instruction count, registers, RFLAGS, data), shrinks it and prints
// a minimal report. --jit checks the compiled tier alone, --interpreter the
// interpreter alone. Without src/cpu/snippet.ts it checks the host side alone
// (every generated case must run to its end). --without leaves instruction
// families out (names in test/fuzz/generator.ts FAMILY_NAMES), to look past a
// known bug.
//
// --random-bytes compares the two tiers with each other on random byte
// streams (test/fuzz/random-bytes.ts), no host needed: each seed's stream
// runs at CPL 0 and CPL 3 on a 64-bit PC (at most --budget instructions,
// default 3000) and at CPL 3 through runSnippet; the first mismatch or
// exception is shrunk and reported.

import { FAMILY_NAMES, generateCase, type FuzzCase } from "../test/fuzz/generator.ts";
import { hasGcc, hostIsX86Linux, runNative } from "../test/fuzz/native.ts";
import { type RunSnippet, compareBatch, disassemble, loadCr3, report, shrink } from "../test/fuzz/compare.ts";

const USAGE = `usage: npm run fuzz -- [--seconds N] [--seed S] [--count N] [--batch N] [--without FAMILY,...] [--jit | --interpreter]
       npm run fuzz -- --random-bytes [--seconds N] [--seed S] [--count N] [--budget N]
families: ${FAMILY_NAMES.join(" ")}`;

interface Options {
  seconds: number;
  seed: number;
  count: number;
  batch: number;
  budget: number;
  without: string[];
  tiers: ("interpreter" | "compiled")[];
  randomBytes: boolean;
}

function usage(bad: string): never {
  console.error(`${USAGE}\n(bad: ${bad})`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const opts = { seconds: 10, seed: Date.now() % 1_000_000_007, count: Infinity, batch: 500, budget: 3000 };
  let without: string[] = [];
  let tiers: Options["tiers"] = ["interpreter", "compiled"];
  let randomBytes = false;
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, "");
    if (name === "jit" || name === "interpreter") {
      tiers = [name === "jit" ? "compiled" : "interpreter"];
      continue;
    }
    if (name === "random-bytes") {
      randomBytes = true;
      continue;
    }
    const arg = argv[++i] ?? "";
    if (name === "without") {
      without = arg.split(",").filter((f) => f !== "");
      const unknown = without.filter((f) => !FAMILY_NAMES.includes(f));
      if (unknown.length === 0) continue;
    }
    const value = Number(arg);
    if (!(name in opts) || arg === "" || !Number.isFinite(value) || value < 0) usage(`${argv[i - 1]} ${arg}`);
    opts[name as keyof typeof opts] = Math.floor(value);
  }
  if (randomBytes && (without.length > 0 || tiers.length < 2)) usage("--random-bytes compares the two tiers; --without, --jit and --interpreter do not apply");
  return { ...opts, without, tiers, randomBytes };
}

/** The outcome of a case under one tier, for comparing the tiers. */
function tierDifferences(interpreted: ReturnType<RunSnippet>, compiled: ReturnType<RunSnippet>): string[] {
  const out: string[] = [];
  if (interpreted.exception !== compiled.exception) out.push(`exception: interpreter ${interpreted.exception}, compiled ${compiled.exception}`);
  if (interpreted.instructions !== compiled.instructions) out.push(`instructions: interpreter ${interpreted.instructions}, compiled ${compiled.instructions}`);
  if (interpreted.rflags !== compiled.rflags) out.push(`rflags: interpreter ${interpreted.rflags.toString(16)}, compiled ${compiled.rflags.toString(16)}`);
  for (let w = 0; w < 32; w += 2) {
    if (interpreted.regs[w] !== compiled.regs[w] || interpreted.regs[w + 1] !== compiled.regs[w + 1]) out.push(`register ${w / 2} differs between the tiers`);
  }
  if (!Buffer.from(interpreted.data).equals(Buffer.from(compiled.data))) out.push("data differs between the tiers");
  return out;
}

async function hostFuzz(o: Options): Promise<void> {
  const { seconds, seed, count, batch, without, tiers } = o;
  if (!hostIsX86Linux()) throw new Error("the fuzzer needs an x86-64 Linux host");
  if (!hasGcc()) throw new Error("the fuzzer needs gcc (Debian: apt-get install gcc)");
  const cr3 = await loadCr3();
  if (typeof cr3 === "string") console.log(`${cr3}: checking the host side alone`);
  const compiled: RunSnippet | null = typeof cr3 === "string" ? null : (code, initial) => cr3(code, initial, { jit: true });
  const runs: [string, RunSnippet, string][] = [];
  if (typeof cr3 !== "string" && compiled !== null) {
    if (tiers.includes("interpreter")) runs.push(["the interpreter", cr3, ""]);
    if (tiers.includes("compiled")) runs.push(["compiled code", compiled, " --jit"]);
  }
  const flags = without.length ? ` --without ${without.join(",")}` : "";
  console.log(`seed ${seed}, ${Number.isFinite(count) ? `${count} cases` : `${seconds} s`}${without.length ? `, without ${without.join(", ")}` : ""}` +
    (runs.length > 0 ? `, tiers: ${runs.map(([name]) => name).join(" and ")}` : ""));

  const start = performance.now();
  let done = 0;
  let lastPrint = start;
  while (done < count && performance.now() - start < seconds * 1000) {
    const n = Math.min(batch, count - done);
    const cases = Array.from({ length: n }, (_, i) => generateCase(seed + done + i, { without }));
    const host = runNative(cases);
    if (runs.length === 0) {
      const i = host.findIndex((r) => r.exception !== -1);
      if (i >= 0) {
        console.log(`generator bug: case ${seed + done + i} faults on the host (vector ${host[i].exception} at +0x${host[i].faultOffset.toString(16)}):`);
        console.log(disassemble(cases[i]));
        process.exit(1);
      }
    }
    for (const [tier, run, flag] of runs) {
      const bad = compareBatch(run, cases, host);
      if (bad.length === 0) continue;
      const caseSeed = seed + done + bad[0].index;
      console.log(`case ${caseSeed}: ${tier} differs from the host (${bad.length} of this batch of ${n}); shrinking...`);
      let minimal = { c: cases[bad[0].index], diffs: bad[0].diffs };
      try {
        minimal = shrink(run, caseSeed, { without });
      } catch (e) {
        console.log(`(shrinking failed: ${e instanceof Error ? e.message : String(e)})`);
      }
      console.log(report(minimal.c, minimal.diffs, `${tier}; again: npm run fuzz -- --seed ${caseSeed} --count 1${flag}${flags}`));
      process.exit(1);
    }
    // Both tiers agree with the host: they must also agree with each other, instruction counts included.
    if (runs.length === 2 && compiled !== null && typeof cr3 !== "string") {
      for (const [i, c] of cases.entries()) {
        const state = (x: FuzzCase) => ({ regs: x.regs.slice(), rflags: x.rflags, data: x.data.slice() });
        const diffs = tierDifferences(cr3(c.code, state(c)), compiled(c.code, state(c)));
        if (diffs.length === 0) continue;
        const caseSeed = seed + done + i;
        console.log(report(c, diffs, `the tiers differ from each other; again: npm run fuzz -- --seed ${caseSeed} --count 1${flags}`).replace(/^cr3 differs from the host/, "cr3's tiers differ"));
        process.exit(1);
      }
    }
    done += n;
    if (performance.now() - lastPrint > 2000) {
      lastPrint = performance.now();
      console.log(`${done} cases, ${Math.round(done / ((lastPrint - start) / 1000))} cases/s`);
    }
  }
  const rate = Math.round(done / ((performance.now() - start) / 1000));
  console.log(`no mismatch in ${done} cases (seeds ${seed}..${seed + done - 1}), ${rate} cases/s`);
}

async function randomBytesFuzz(o: Options): Promise<void> {
  const { seconds, seed, count, budget } = o;
  const cr3 = await loadCr3();
  if (typeof cr3 === "string") throw new Error(`--random-bytes needs cr3's runSnippet: ${cr3}`);
  // Loaded here: it imports cr3's machine, which the host fuzzer does not need.
  const rb = await import("../test/fuzz/random-bytes.ts");
  console.log(`random byte streams: seed ${seed}, ${Number.isFinite(count) ? `${count} seeds` : `${seconds} s`}, each at CPL 0 and 3 on a PC (${budget} instructions at most) and at CPL 3 through runSnippet`);
  const start = performance.now();
  let done = 0;
  let lastPrint = start;
  while (done < count && performance.now() - start < seconds * 1000) {
    const s = seed + done;
    const checks: [string, ReturnType<typeof rb.generateStream>, (c: ReturnType<typeof rb.generateStream>) => string[]][] = [
      ["PC, CPL 0", rb.generateStream(s, 0), (c) => rb.compareStreamOnMachine(c, budget)],
      ["PC, CPL 3", rb.generateStream(s, 3), (c) => rb.compareStreamOnMachine(c, budget)],
      ["runSnippet, CPL 3", rb.generateStream(s, 3), (c) => rb.compareStreamOnSnippet(cr3, c)],
    ];
    for (const [where, c, compare] of checks) {
      const diffs = compare(c);
      if (diffs.length === 0) continue;
      console.log(`seed ${s} (${where}): the tiers differ; shrinking...`);
      const minimal = rb.shrinkStream(c, (x) => compare(x).length > 0);
      console.log(`${where}:\n${rb.describeStream(minimal)}\n  ${compare(minimal).join("\n  ")}`);
      console.log(`(the whole stream: npm run fuzz -- --random-bytes --seed ${s} --count 1${budget !== 3000 ? ` --budget ${budget}` : ""})`);
      process.exit(1);
    }
    done++;
    if (performance.now() - lastPrint > 2000) {
      lastPrint = performance.now();
      console.log(`${done} seeds, ${(done / ((lastPrint - start) / 1000)).toFixed(1)} seeds/s`);
    }
  }
  console.log(`no mismatch in ${done} seeds (${seed}..${seed + done - 1}), ${(done / ((performance.now() - start) / 1000)).toFixed(1)} seeds/s`);
}

const options = parseArgs(process.argv.slice(2));
(options.randomBytes ? randomBytesFuzz(options) : hostFuzz(options)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
