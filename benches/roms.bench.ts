// npm run bench:roms: guest speed. Boots the benchmark ROMs (and two test
// ROMs as realistic mixes) under cr3 (dist/cli.js with --stats-json) and,
// when installed, under QEMU with the goldens' command line, alternating the
// two, and prints medians and ranges. QEMU's time is wall time minus its
// start-up, measured on the boot ROM in the same run; cr3's is the guest run
// time it reports. cr3 also runs with --jit off (the interpreter alone) in the
// same rounds, so the compiler's speed-up is measured side by side (skip it
// with --no-interpreter). Builds dist/ first unless --no-build or --cr3 FILE
// (another build of the CLI, e.g. to compare two versions).
// Usage: node scripts/bench.mjs roms [--runs N] [--timeout SECONDS] [--no-build] [--cr3 FILE] [--no-qemu] [--no-interpreter] [rom ...]

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FIRST_LINE_PREFIX,
  GOLDEN_DIR,
  IMAGE_DIR,
  QEMU,
  QEMU_TIMEOUT_MS,
  extraQemuArgs,
  hasTool,
  parseGolden,
  qemuCommand,
} from "../scripts/rom-tools.ts";
import { median } from "./harness.ts";
import { sdmGolden } from "../test/helpers/sdm-golden.ts";

/** The ROMs, with the issue's goal for cr3 time / QEMU time where it sets one. */
const ROMS: readonly { name: string; goal?: number; what: string }[] = [
  { name: "bench-compute", goal: 25, what: "compute loop" },
  { name: "bench-tlbmiss", goal: 0.5, what: "TLB-miss bound" },
  { name: "bench-cr3switch", goal: 0.2, what: "CR3-switch bound: 4 address spaces, a phase without PCID, then one with" },
  { name: "isa64", what: "mix: integer ISA cases, serial output" },
  { name: "paging-rights", what: "mix: paging, faults, CR3 writes" },
];
/** Start-up reference: a ROM that does almost nothing. */
const STARTUP_ROM = "boot";

/** What `cr3 --stats-json FILE` writes (one JSON object). */
interface Cr3Stats {
  instructions: number;
  /** Guest run time, loading excluded. */
  seconds: number;
  mips: number;
  itlbHits: number;
  itlbMisses: number;
  dtlbHits: number;
  dtlbMisses: number;
  walks: number;
  walkMemoryReads: number;
  pageFaults: number;
  exitStatus: number;
}
const STATS_FIELDS: readonly (keyof Cr3Stats)[] = [
  "instructions", "seconds", "mips", "itlbHits", "itlbMisses", "dtlbHits",
  "dtlbMisses", "walks", "walkMemoryReads", "pageFaults", "exitStatus",
];

interface Options {
  runs: number;
  timeoutSeconds: number;
  build: boolean;
  qemu: boolean;
  interpreter: boolean;
  cli: string;
  roms: string[];
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { runs: 3, timeoutSeconds: 600, build: true, qemu: true, interpreter: true, cli: "dist/cli.js", roms: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--runs") o.runs = positive(a, argv[++i]);
    else if (a === "--timeout") o.timeoutSeconds = positive(a, argv[++i]);
    else if (a === "--no-build") o.build = false;
    else if (a === "--no-qemu") o.qemu = false;
    else if (a === "--no-interpreter") o.interpreter = false;
    else if (a === "--cr3") {
      o.cli = argv[++i] ?? usage("--cr3 needs a file");
      o.build = false;
    }
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else o.roms.push(a);
  }
  for (const rom of o.roms) {
    if (!existsSync(imagePath(rom))) usage(`no image ${imagePath(rom)}`);
  }
  if (o.roms.length === 0) o.roms = ROMS.map((r) => r.name);
  return o;
}

function positive(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`${flag} needs a positive integer`);
  return n;
}

function usage(message: string): never {
  console.error(`bench:roms: ${message}`);
  console.error("usage: npm run bench:roms -- [--runs N] [--timeout SECONDS] [--no-build] [--cr3 FILE] [--no-qemu] [--no-interpreter] [rom ...]");
  process.exit(2);
}

const imagePath = (rom: string) => join(IMAGE_DIR, `${rom}.elf`);

/** The serial output from the ROM's first line on, as the goldens keep it. */
function romOutput(raw: string): string {
  const start = raw.indexOf(FIRST_LINE_PREFIX);
  return start >= 0 ? raw.slice(start) : raw;
}

/**
 * "" when the output and status match the ROM's golden, else what differs.
 * cr3 is held to the SDM where QEMU departs from it (test-roms/DEVIATIONS.md).
 */
function compareWithGolden(rom: string, output: string, status: number | null, sdm: boolean): string {
  const golden = parseGolden(readFileSync(join(GOLDEN_DIR, `${rom}.txt`), "latin1"));
  const want = (sdm ? sdmGolden(golden.output) : golden.output).split("\n");
  const got = output.split("\n");
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] !== got[i]) return `line ${i + 1}: ${JSON.stringify(got[i] ?? "(end)")}, golden ${JSON.stringify(want[i] ?? "(end)")}`;
  }
  return status === golden.exitStatus ? "" : `exit status ${status}, golden ${golden.exitStatus}`;
}

/** Iteration count the ROM prints ("iterations: N"), from its golden. */
function goldenIterations(rom: string): number | undefined {
  const m = /^iterations: (\d+)/m.exec(readFileSync(join(GOLDEN_DIR, `${rom}.txt`), "latin1"));
  return m ? Number(m[1]) : undefined;
}

type Cr3Run = { ok: true; stats: Cr3Stats; mismatch: string } | { ok: false; error: string };

function runCr3(cli: string, rom: string, statsFile: string, timeoutSeconds: number, extra: readonly string[] = []): Cr3Run {
  rmSync(statsFile, { force: true });
  const args = [
    cli, "-kernel", imagePath(rom), "-m", "256", "-serial", "stdio",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-no-reboot", "-nographic",
    "-display", "none", ...extraQemuArgs(rom), "--stats-json", statsFile, ...extra,
  ];
  const run = spawnSync(process.execPath, args, {
    encoding: "latin1",
    timeout: timeoutSeconds * 1000,
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (run.error && (run.error as NodeJS.ErrnoException).code === "ETIMEDOUT") {
    return { ok: false, error: `did not finish within ${timeoutSeconds} s (--timeout)` };
  }
  if (!existsSync(statsFile)) {
    const said = (run.stderr ?? "").trim().split("\n")[0] || "nothing on stderr";
    return { ok: false, error: `no --stats-json file written (exit status ${run.status}; cr3 said: ${said})` };
  }
  let stats: Cr3Stats;
  try {
    stats = JSON.parse(readFileSync(statsFile, "utf8")) as Cr3Stats;
  } catch {
    return { ok: false, error: "the --stats-json file is not JSON" };
  }
  const missing = STATS_FIELDS.filter((f) => typeof stats[f] !== "number");
  if (missing.length > 0) return { ok: false, error: `--stats-json lacks ${missing.join(", ")}` };
  return { ok: true, stats, mismatch: compareWithGolden(rom, romOutput(run.stdout ?? ""), run.status, true) };
}

type QemuTime = { ok: true; seconds: number; mismatch: string } | { ok: false; error: string };

/** Wall time of one QEMU boot of the ROM, spawn to exit. */
function timeQemu(rom: string): QemuTime {
  const t0 = process.hrtime.bigint();
  const run = spawnSync(QEMU, qemuCommand(rom), {
    encoding: "latin1",
    timeout: QEMU_TIMEOUT_MS,
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (run.error) return { ok: false, error: `QEMU failed: ${run.error.message}` };
  return { ok: true, seconds, mismatch: compareWithGolden(rom, romOutput(run.stdout ?? ""), run.status, false) };
}

interface Samples {
  cr3: Cr3Stats[];
  /** cr3 --jit off. */
  interpreter: Cr3Stats[];
  interpreterError?: string;
  cr3Error?: string;
  cr3Mismatch?: string;
  qemu: number[];
  qemuError?: string;
  qemuMismatch?: string;
}

// ---- formatting ----

const range = (xs: number[], f: (x: number) => string) =>
  xs.length > 1 ? ` (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : "";
const withRange = (xs: number[], f: (x: number) => string) => (xs.length ? f(median(xs)) + range(xs, f) : "—");
const secs = (x: number) => x.toFixed(x < 10 ? 3 : 1);
const pct = (hits: number, misses: number) => (hits + misses > 0 ? `${((100 * hits) / (hits + misses)).toFixed(2)}%` : "—");
const count = (n: number) => n.toLocaleString("en-US");

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => "| " + r.map((cell, c) => cell.padEnd(widths[c])).join(" | ") + " |";
  console.log(line(rows[0]));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of rows.slice(1)) console.log(line(r));
}

// ---- main ----

const opts = parseOptions(process.argv.slice(2));
if (opts.build) {
  const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: ["ignore", "ignore", "inherit"] });
  if (build.status !== 0) {
    console.error("bench:roms: npm run build failed");
    process.exit(1);
  }
} else if (!existsSync(opts.cli)) {
  usage(`${opts.cli} is missing` + (opts.cli === "dist/cli.js" ? ": run npm run build, or drop --no-build" : ""));
}
const haveQemu = opts.qemu && hasTool(QEMU);
const work = mkdtempSync(join(tmpdir(), "cr3-bench-roms-"));
const statsFile = join(work, "stats.json");

// One cr3 run of the start-up ROM says whether cr3 can run ROMs at all.
const probe = runCr3(opts.cli, STARTUP_ROM, statsFile, opts.timeoutSeconds);
const cr3Error = probe.ok ? undefined : probe.error;

const samples = new Map<string, Samples>(opts.roms.map((rom) => [rom, { cr3: [], interpreter: [], qemu: [] }]));
const startup: number[] = [];
console.log(
  `${opts.runs} run${opts.runs > 1 ? "s" : ""} of ${opts.roms.join(", ")}` +
    (cr3Error ? `, ${QEMU} only (cr3 cannot run them: see the end)` : haveQemu ? `, cr3 and ${QEMU} alternating` : ", cr3 only") + " ...",
);
if (haveQemu) timeQemu(STARTUP_ROM); // warm-up, not counted
for (let round = 0; round < opts.runs; round++) {
  const qemuFirst = round % 2 === 1;
  if (haveQemu) {
    const t = timeQemu(STARTUP_ROM);
    if (t.ok) startup.push(t.seconds);
  }
  for (const rom of opts.roms) {
    const s = samples.get(rom)!;
    const cr3Step = () => {
      if (cr3Error || s.cr3Error) return;
      const r = runCr3(opts.cli, rom, statsFile, opts.timeoutSeconds);
      if (!r.ok) s.cr3Error = r.error;
      else {
        s.cr3.push(r.stats);
        if (r.mismatch) s.cr3Mismatch ??= r.mismatch;
      }
    };
    const qemuStep = () => {
      if (!haveQemu || s.qemuError) return;
      const r = timeQemu(rom);
      if (!r.ok) s.qemuError = r.error;
      else {
        s.qemu.push(r.seconds);
        if (r.mismatch) s.qemuMismatch ??= r.mismatch;
      }
    };
    const interpreterStep = () => {
      if (!opts.interpreter || cr3Error || s.interpreterError) return;
      const r = runCr3(opts.cli, rom, statsFile, opts.timeoutSeconds, ["--jit", "off"]);
      if (!r.ok) s.interpreterError = r.error;
      else s.interpreter.push(r.stats);
    };
    for (const step of qemuFirst ? [qemuStep, cr3Step, interpreterStep] : [cr3Step, interpreterStep, qemuStep]) step();
  }
}
rmSync(work, { recursive: true, force: true });

const startupSeconds = startup.length ? median(startup) : 0;
const rows: string[][] = [[
  "ROM", "guest insns", "cr3 s", "MIPS", "--jit off s", "JIT speed-up", "dTLB hits", "iTLB hits", "walks/1k acc", "QEMU s", "cr3/QEMU", "goal",
]];
const notes: string[] = [];
for (const rom of opts.roms) {
  const s = samples.get(rom)!;
  const spec = ROMS.find((r) => r.name === rom);
  const cr3Seconds = s.cr3.map((x) => x.seconds);
  const interpreterSeconds = s.interpreter.map((x) => x.seconds);
  const speedups = interpreterSeconds.slice(0, cr3Seconds.length).map((t, i) => t / cr3Seconds[i]);
  const qemuSeconds = s.qemu.map((x) => x - startupSeconds);
  // Paired by round: run i of cr3 against run i of QEMU.
  const ratios = cr3Seconds.slice(0, qemuSeconds.length).map((c, i) => c / qemuSeconds[i]);
  const last = s.cr3[s.cr3.length - 1];
  const accesses = last ? last.itlbHits + last.itlbMisses + last.dtlbHits + last.dtlbMisses : 0;
  const ratioMedian = ratios.length ? median(ratios) : undefined;
  const goal = spec?.goal === undefined ? "—"
    : `≤ ${spec.goal}` + (ratioMedian === undefined ? "" : ratioMedian <= spec.goal ? ": met" : ": not met");
  rows.push([
    rom,
    last ? count(last.instructions) : "—",
    withRange(cr3Seconds, secs),
    withRange(s.cr3.map((x) => x.instructions / x.seconds / 1e6), (x) => x.toFixed(1)),
    withRange(interpreterSeconds, secs),
    withRange(speedups, (x) => x.toFixed(2)),
    last ? pct(last.dtlbHits, last.dtlbMisses) : "—",
    last ? pct(last.itlbHits, last.itlbMisses) : "—",
    last && accesses > 0 ? ((1000 * last.walks) / accesses).toFixed(1) : "—",
    withRange(qemuSeconds, secs),
    withRange(ratios, (x) => x.toFixed(2)),
    goal,
  ]);
  const facts = [spec?.what ?? "test ROM"];
  const iterations = goldenIterations(rom);
  if (iterations !== undefined) {
    facts.push(`${count(iterations)} iterations` + (last ? `, ${(last.instructions / iterations).toFixed(1)} insns each (setup included)` : ""));
  }
  if (last) {
    facts.push(`${count(last.walks)} walks, ${last.walks ? (last.walkMemoryReads / last.walks).toFixed(2) : "0"} reads each, ${count(last.pageFaults)} #PF`);
  }
  notes.push(`${rom}: ${facts.join("; ")}`);
  if (s.cr3Error) notes.push(`  cr3 failed: ${s.cr3Error}`);
  if (s.interpreterError) notes.push(`  cr3 --jit off failed: ${s.interpreterError}`);
  const tiersDiffer = s.interpreter.some((x) => x.instructions !== last?.instructions || x.walks !== last?.walks || x.dtlbHits !== last?.dtlbHits);
  if (last && tiersDiffer) notes.push(`  the tiers DIFFER: --jit off retired or walked differently from the default`);
  if (s.cr3Mismatch) notes.push(`  cr3's output DIFFERS from the golden at ${s.cr3Mismatch}`);
  if (s.qemuError) notes.push(`  ${s.qemuError}`);
  if (s.qemuMismatch) notes.push(`  QEMU's output DIFFERS from the golden at ${s.qemuMismatch}`);
}
console.log("");
printTable(rows);
console.log("");
for (const n of notes) console.log(n);
console.log("");
console.log("Medians over the runs, (min–max); cr3/QEMU pairs run i of each. cr3 s: guest run time cr3 reports (default tier:");
console.log("hot code compiled); --jit off s: the same with the interpreter alone; JIT speed-up: --jit off s / cr3 s, paired by run;");
if (haveQemu) {
  console.log(`QEMU s: wall time minus QEMU's start-up, ${secs(startupSeconds)} s (median of ${startup.length} boot${startup.length > 1 ? "s" : ""} of ${STARTUP_ROM}).`);
} else {
  console.log(`QEMU: ${opts.qemu ? `${QEMU} is not installed (Debian: apt-get install qemu-system-x86)` : "skipped (--no-qemu)"}; cr3 figures only.`);
}
if (cr3Error) {
  console.log(`cr3: cannot measure: ${cr3Error}`);
  process.exit(1);
}
if (opts.roms.some((rom) => samples.get(rom)!.cr3Error)) process.exit(1);
