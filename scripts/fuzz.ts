// npm run fuzz -- [--seconds N] [--seed S] [--count N] [--batch N]
//
// Differential fuzzing of cr3's CPU against the host CPU: batches of random
// cases (seeds S, S+1, ...) run on both until the time or the count is up;
// stops at the first mismatch, shrinks it and prints a minimal report.
// Without src/cpu/snippet.ts it checks the host side alone (every generated
// case must run to its end).

import { generateCase } from "../test/fuzz/generator.ts";
import { hasGcc, hostIsX86Linux, runNative } from "../test/fuzz/native.ts";
import { compareBatch, disassemble, loadCr3, report, shrink } from "../test/fuzz/compare.ts";

function parseArgs(argv: string[]): { seconds: number; seed: number; count: number; batch: number } {
  const opts = { seconds: 10, seed: Date.now() % 1_000_000_007, count: Infinity, batch: 500 };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, "");
    const value = Number(argv[++i]);
    if (!(name in opts) || !Number.isFinite(value) || value < 0) {
      console.error(`usage: npm run fuzz -- [--seconds N] [--seed S] [--count N] [--batch N] (bad: ${argv[i - 1]} ${argv[i] ?? ""})`);
      process.exit(2);
    }
    opts[name as keyof typeof opts] = Math.floor(value);
  }
  return opts;
}

async function main(): Promise<void> {
  const { seconds, seed, count, batch } = parseArgs(process.argv.slice(2));
  if (!hostIsX86Linux()) throw new Error("the fuzzer needs an x86-64 Linux host");
  if (!hasGcc()) throw new Error("the fuzzer needs gcc (Debian: apt-get install gcc)");
  const cr3 = await loadCr3();
  if (typeof cr3 === "string") console.log(`${cr3}: checking the host side alone`);
  console.log(`seed ${seed}, ${Number.isFinite(count) ? `${count} cases` : `${seconds} s`}`);

  const start = performance.now();
  let done = 0;
  let lastPrint = start;
  while (done < count && performance.now() - start < seconds * 1000) {
    const n = Math.min(batch, count - done);
    const cases = Array.from({ length: n }, (_, i) => generateCase(seed + done + i));
    const host = runNative(cases);
    if (typeof cr3 === "string") {
      const i = host.findIndex((r) => r.exception !== -1);
      if (i >= 0) {
        console.log(`generator bug: case ${seed + done + i} faults on the host (vector ${host[i].exception} at +0x${host[i].faultOffset.toString(16)}):`);
        console.log(disassemble(cases[i]));
        process.exit(1);
      }
    } else {
      const bad = compareBatch(cr3, cases, host);
      if (bad.length > 0) {
        const caseSeed = seed + done + bad[0].index;
        console.log(`case ${caseSeed}: mismatch (${bad.length} of this batch of ${n}); shrinking...`);
        let minimal = { c: cases[bad[0].index], diffs: bad[0].diffs };
        try {
          minimal = shrink(cr3, caseSeed);
        } catch (e) {
          console.log(`(shrinking failed: ${e instanceof Error ? e.message : String(e)})`);
        }
        console.log(report(minimal.c, minimal.diffs, `seed ${caseSeed}`));
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

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
