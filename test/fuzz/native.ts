// Runs fuzz cases on the host CPU through host-harness.c, compiled with the
// host gcc into a cache directory keyed by the source's hash.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DATA_SIZE, type FuzzCase } from "./generator.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, "host-harness.c");
const CACHE = join(HERE, "..", "..", "node_modules", ".cache", "cr3-fuzz");
const BLOCK = 64;

export interface NativeResult {
  /** -1: ran to the end of the code; else the x86 vector of the fault. */
  exception: number;
  /** Offset in the code of the faulting instruction, when exception >= 0. */
  faultOffset: number;
  regs: Int32Array;
  rflags: number;
  data: Uint8Array;
}

export function hasGcc(): boolean {
  return spawnSync("gcc", ["--version"], { stdio: "ignore" }).status === 0;
}

/** True when this machine can run the harness: x86-64 Linux. */
export function hostIsX86Linux(): boolean {
  return process.arch === "x64" && process.platform === "linux";
}

let built: string | undefined;

/** Compiles the harness (once per source version) and returns its path. */
export function buildHarness(): string {
  if (built) return built;
  const source = readFileSync(SOURCE);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const exe = join(CACHE, `host-harness-${hash}`);
  if (!existsSync(exe)) {
    mkdirSync(CACHE, { recursive: true });
    const tmp = `${exe}.${process.pid}.tmp`;
    const r = spawnSync("gcc", ["-O2", "-Wall", "-o", tmp, SOURCE], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`gcc failed on ${SOURCE}:\n${r.stderr}`);
    renameSync(tmp, exe); // atomic: parallel test files may build at once
  }
  built = exe;
  return exe;
}

/** Serialises cases in host-harness.c's input format. */
function encodeBatch(cases: readonly FuzzCase[]): Buffer {
  let size = 16;
  for (const c of cases) size += 8 + 136 + ((c.code.length + 7) & ~7) + DATA_SIZE;
  const buf = Buffer.alloc(size);
  buf.write("CR3FUZZ1", 0, "latin1");
  buf.writeUInt32LE(cases.length, 8);
  let off = 16;
  for (const c of cases) {
    buf.writeUInt32LE(c.code.length, off);
    off += 8;
    for (let i = 0; i < 32; i++) buf.writeInt32LE(c.regs[i], off + 4 * i);
    buf.writeUInt32LE(c.rflags >>> 0, off + 128);
    off += 136;
    buf.set(c.code, off);
    off += (c.code.length + 7) & ~7;
    buf.set(c.data, off);
    off += DATA_SIZE;
  }
  return buf;
}

/** Runs every case on the host CPU, in one harness process. */
export function runNative(cases: readonly FuzzCase[]): NativeResult[] {
  const exe = buildHarness();
  const dir = mkdtempSync(join(tmpdir(), "cr3-fuzz-"));
  try {
    const input = join(dir, "in.bin");
    const output = join(dir, "out.bin");
    writeFileSync(input, encodeBatch(cases));
    const r = spawnSync(exe, [input, output], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`host-harness failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
    const out = readFileSync(output);
    const results: NativeResult[] = [];
    let off = 0;
    for (const c of cases) {
      const exception = out.readInt32LE(off);
      const faultOffset = out.readUInt32LE(off + 4);
      const regs = new Int32Array(32);
      for (let i = 0; i < 32; i++) regs[i] = out.readInt32LE(off + 8 + 4 * i);
      const rflags = out.readUInt32LE(off + 8 + 128);
      off += 8 + 136;
      const changed = out.subarray(off, off + DATA_SIZE / BLOCK / 8);
      off += changed.length;
      const data = c.data.slice();
      for (let blk = 0; blk < DATA_SIZE / BLOCK; blk++) {
        if (changed[blk >> 3] & (1 << (blk & 7))) {
          data.set(out.subarray(off, off + BLOCK), blk * BLOCK);
          off += BLOCK;
        }
      }
      results.push({ exception, faultOffset, regs, rflags, data });
    }
    if (off !== out.length) throw new Error("host-harness output has trailing bytes");
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
