// npm run fuzz -- [--seconds N] [--seed S] [--count N] [--batch N] [--without FAMILY,...]
//
// Differential fuzzing of cr3's CPU against the host CPU: batches of random
// cases (seeds S, S+1, ...) run on both until the time or the count is up;
// stops at the first mismatch, shrinks it and prints a minimal report.
// Without src/cpu/snippet.ts it checks the host side alone (every generated
// case must run to its end). --without leaves instruction families out
// (names in test/fuzz/generator.ts FAMILY_NAMES), to look past a known bug.

import { FAMILY_NAMES, generateCase } from "../test/fuzz/generator.ts";
import { hasGcc, hostIsX86Linux, runNative } from "../test/fuzz/native.ts";
import { compareBatch, disassemble, loadCr3, report, shrink } from "../test/fuzz/compare.ts";

const USAGE = `usage: npm run fuzz -- [--seconds N] [--seed S] [--count N] [--batch N] [--without FAMILY,...]
families: ${FAMILY_NAMES.join(" ")}`;

function parseArgs(argv: string[]): { seconds: number; seed: number; count: number; batch: number; without: string[] } {
  const opts = { seconds: 10, seed: Date.now() % 1_000_000_007, count: Infinity, batch: 500 };
  let without: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, "");
    const arg = argv[++i] ?? "";
    if (name === "without") {
      without = arg.split(",").filter((f) => f !== "");
      const unknown = without.filter((f) => !FAMILY_NAMES.includes(f));
      if (unknown.length === 0) continue;
    }
    const value = Number(arg);
    if (!(name in opts) || arg === "" || !Number.isFinite(value) || value < 0) {
      console.error(`${USAGE}\n(bad: ${argv[i - 1]} ${arg})`);
      process.exit(2);
    }
    opts[name as keyof typeof opts] = Math.floor(value);
  }
  return { ...opts, without };
}

async function main(): Promise<void> {
  const { seconds, seed, count, batch, without } = parseArgs(process.argv.slice(2));
  if (!hostIsX86Linux()) throw new Error("the fuzzer needs an x86-64 Linux host");
  if (!hasGcc()) throw new Error("the fuzzer needs gcc (Debian: apt-get install gcc)");
  const cr3 = await loadCr3();
  if (typeof cr3 === "string") console.log(`${cr3}: checking the host side alone`);
  console.log(`seed ${seed}, ${Number.isFinite(count) ? `${count} cases` : `${seconds} s`}${without.length ? `, without ${without.join(", ")}` : ""}`);

  const start = performance.now();
  let done = 0;
  let lastPrint = start;
  while (done < count && performance.now() - start < seconds * 1000) {
    const n = Math.min(batch, count - done);
    const cases = Array.from({ length: n }, (_, i) => generateCase(seed + done + i, { without }));
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
          minimal = shrink(cr3, caseSeed, { without });
        } catch (e) {
          console.log(`(shrinking failed: ${e instanceof Error ? e.message : String(e)})`);
        }
        const again = `npm run fuzz -- --seed ${caseSeed} --count 1${without.length ? ` --without ${without.join(",")}` : ""}`;
        console.log(report(minimal.c, minimal.diffs, again));
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
