// Comparison of cr3 against the host for fuzz cases: loading cr3's
// runSnippet, naming differences, disassembling and shrinking a mismatch.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DATA_SIZE, DF, FLAG_NAMES, REG_NAMES, SNIPPET_CODE_ADDRESS, SNIPPET_DATA_ADDRESS,
  generateCase, type FuzzCase, type GenerateOptions,
} from "./generator.ts";
import { runNative, type NativeResult } from "./native.ts";

/** What both sides produce for a case. */
export interface Outcome { exception: number; regs: Int32Array; rflags: number; data: Uint8Array }

/** cr3's src/cpu/snippet.ts API. */
export interface SnippetState { regs: Int32Array; rflags: number; data: Uint8Array }
export interface SnippetResult extends SnippetState { exception: number; instructions: number }
export type RunSnippet = (code: Uint8Array, initial: SnippetState, options?: { jit?: boolean }) => SnippetResult;

const SNIPPET_URL = new URL("../../src/cpu/snippet.ts", import.meta.url);

/**
 * Loads cr3's runSnippet, or returns a reason why it is not available. The
 * import is dynamic so the fuzzer typechecks before src/cpu/snippet.ts exists.
 */
export async function loadCr3(): Promise<RunSnippet | string> {
  if (!existsSync(fileURLToPath(SNIPPET_URL))) return "src/cpu/snippet.ts does not exist yet";
  const mod = (await import(SNIPPET_URL.href)) as Record<string, unknown>;
  if (typeof mod.runSnippet !== "function") return "src/cpu/snippet.ts does not export runSnippet";
  const layout: [string, number][] = [
    ["SNIPPET_CODE_ADDRESS", SNIPPET_CODE_ADDRESS], ["SNIPPET_DATA_ADDRESS", SNIPPET_DATA_ADDRESS], ["SNIPPET_DATA_SIZE", DATA_SIZE],
  ];
  for (const [name, value] of layout) {
    if (mod[name] !== value) throw new Error(`src/cpu/snippet.ts: ${name} is ${String(mod[name])}, the fuzzer expects ${value}`);
  }
  return mod.runSnippet as RunSnippet;
}

/** Runs a case on cr3, on copies of its state. */
export function runCr3(run: RunSnippet, c: FuzzCase): Outcome {
  const r = run(c.code, { regs: c.regs.slice(), rflags: c.rflags, data: c.data.slice() });
  return { exception: r.exception, regs: r.regs, rflags: r.rflags, data: r.data };
}

const hex64 = (regs: Int32Array, r: number): string =>
  ((BigInt(regs[2 * r + 1] >>> 0) << 32n) | BigInt(regs[2 * r] >>> 0)).toString(16).padStart(16, "0");

const flagList = (bits: number): string => FLAG_NAMES.filter(([f]) => bits & f).map(([, n]) => n).join(" ") || "-";

/** The differences between host (expected) and cr3 (actual), by name; empty when they agree. */
export function differences(c: FuzzCase, expected: Outcome, actual: Outcome): string[] {
  const out: string[] = [];
  if (expected.exception !== actual.exception) {
    out.push(`exception: host ${expected.exception}, cr3 ${actual.exception}`);
    return out;
  }
  for (let r = 0; r < 16; r++) {
    if (!(c.regMask & (1 << r))) continue;
    if (expected.regs[2 * r] !== actual.regs[2 * r] || expected.regs[2 * r + 1] !== actual.regs[2 * r + 1]) {
      out.push(`${REG_NAMES[r]}: host ${hex64(expected.regs, r)}, cr3 ${hex64(actual.regs, r)}`);
    }
  }
  const mask = c.flagMask | DF;
  const bad = (expected.rflags ^ actual.rflags) & mask;
  if (bad) {
    out.push(`flags ${flagList(bad)}: host ${flagList(expected.rflags & mask)}, cr3 ${flagList(actual.rflags & mask)} (compared: ${flagList(mask)})`);
  }
  let shown = 0;
  for (let i = 0; i < DATA_SIZE && shown < 4; i++) {
    if (expected.data[i] === actual.data[i]) continue;
    let j = i;
    while (j < DATA_SIZE && j < i + 16 && expected.data[j] !== actual.data[j]) j++;
    const bytes = (d: Uint8Array): string => Array.from(d.subarray(i, j), (x) => x.toString(16).padStart(2, "0")).join(" ");
    out.push(`data +0x${i.toString(16)} (${(SNIPPET_DATA_ADDRESS + i).toString(16)}): host ${bytes(expected.data)}, cr3 ${bytes(actual.data)}`);
    shown++;
    i = j;
  }
  return out;
}

export function hasObjdump(): boolean {
  return spawnSync("objdump", ["--version"], { stdio: "ignore" }).status === 0;
}

/** objdump's disassembly of `code` (Intel syntax, one instruction a line). */
export function objdump(code: Uint8Array, vma = SNIPPET_CODE_ADDRESS): string[] {
  const dir = mkdtempSync(join(tmpdir(), "cr3-objdump-"));
  try {
    const file = join(dir, "code.bin");
    writeFileSync(file, code);
    const r = spawnSync("objdump", ["-D", "-b", "binary", "-mi386:x86-64", "-M", "intel", "--insn-width=16",
      `--adjust-vma=0x${vma.toString(16)}`, file], { encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`objdump failed: ${r.stderr}`);
    return r.stdout.split("\n").filter((l) => /^\s*[0-9a-f]+:\t/.test(l)).map((l) => l.trimEnd());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A disassembly for reports: objdump's when present, else the bytes of each instruction. */
export function disassemble(c: FuzzCase): string {
  if (hasObjdump()) return objdump(c.code).join("\n");
  return c.boundaries.map((at, i) => {
    const end = c.boundaries[i + 1] ?? c.code.length;
    return `${(SNIPPET_CODE_ADDRESS + at).toString(16)}: ${Array.from(c.code.subarray(at, end), (x) => x.toString(16).padStart(2, "0")).join(" ")}`;
  }).join("\n");
}

/** A readable report of a mismatching case. */
export function report(c: FuzzCase, diffs: string[], label = ""): string {
  const regs = REG_NAMES.map((n, r) => `${n}=${hex64(c.regs, r)}`);
  const lines = [
    `cr3 differs from the host${label ? ` (${label})` : ""}:`,
    ...diffs.map((d) => `  ${d}`),
    `code (${c.code.length} bytes): ${Array.from(c.code, (x) => x.toString(16).padStart(2, "0")).join("")}`,
    disassemble(c),
    `initial: ${regs.slice(0, 8).join(" ")}`,
    `         ${regs.slice(8).join(" ")}`,
    `         rflags=${c.rflags.toString(16)} (${flagList(c.rflags)}), compared flags at the end: ${flagList(c.flagMask | DF)}`,
  ];
  return lines.join("\n");
}

/** Runs cases on both sides; returns the index and differences of each mismatch. */
export function compareBatch(run: RunSnippet, cases: readonly FuzzCase[], host?: NativeResult[]): { index: number; diffs: string[] }[] {
  const expected = host ?? runNative(cases);
  const bad: { index: number; diffs: string[] }[] = [];
  cases.forEach((c, i) => {
    let actual: Outcome;
    try {
      actual = runCr3(run, c);
    } catch (e) {
      bad.push({ index: i, diffs: [`cr3 threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`] });
      return;
    }
    const diffs = differences(c, expected[i], actual);
    if (diffs.length > 0) bad.push({ index: i, diffs });
  });
  return bad;
}

/**
 * Shrinks the mismatching case `seed` by leaving out instruction groups
 * while some mismatch remains; returns the smallest case found.
 */
export function shrink(run: RunSnippet, seed: number, opts: GenerateOptions = {}): { c: FuzzCase; diffs: string[] } {
  const attempt = (skip: Set<number>): { c: FuzzCase; diffs: string[] } | undefined => {
    const c = generateCase(seed, { ...opts, skip });
    const bad = compareBatch(run, [c]);
    return bad.length > 0 ? { c, diffs: bad[0].diffs } : undefined;
  };
  const skip = new Set(opts.skip ?? []);
  let best = attempt(skip);
  if (!best) throw new Error(`case ${seed} does not mismatch`);
  for (let progress = true; progress;) {
    progress = false;
    for (let g = 0; g < best.c.groups; g++) {
      if (skip.has(g)) continue;
      skip.add(g);
      const r = attempt(skip);
      if (r && r.c.code.length < best.c.code.length) { best = r; progress = true; }
      else skip.delete(g);
    }
  }
  return best;
}
