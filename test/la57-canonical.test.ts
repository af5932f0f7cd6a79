// Loads of registers that hold a linear address for later use are checked
// for canonicality against the widest linear address the CPU supports, not
// the current paging mode: with 5-level paging supported (CPUID.7.0:ECX.LA57)
// a 57-bit canonical base is accepted even while CR4.LA57 = 0 (Intel's
// 5-level paging white paper, "Canonicality Checking on Other Loads"; SDM
// Vol. 2 LGDT/LIDT, LLDT, LTR, WRMSR, WRFSBASE/WRGSBASE, INVPCID). The guest,
// test/guest/la57-canonical.asm, loads GDTR, IDTR, LDTR, TR, seven address
// MSRs, the FS/GS bases and INVPCID's address with a 48-bit canonical, a
// 57-bit canonical and a non-canonical value, with 4-level paging.
//
// QEMU 7.2 (TCG, -cpu max) checks none of these: it accepts and reads back
// all three values everywhere, and has no INVPCID (#UD). The expected lines
// below are built from the SDM's rule, not from either emulator.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PcMachine } from "../src/machine/pc.ts";

const IMAGE = readFileSync("test/guest/la57-canonical.bin");
const haveNasm = spawnSync("nasm", ["--version"], { stdio: "ignore" }).status === 0;

const VALUES = [0xffffaaaaaaaaaaaan, 0xffaaaaaaaaaaaaaan, 0xaaaaaaaaaaaaaaaan];
/** Name, whether it reads the value back, the error code of its #GP (LLDT/LTR: the selector). */
const CASES: [string, boolean, (valueIndex: number) => number][] = [
  ["lgdt base", true, () => 0],
  ["lidt base", true, () => 0],
  ["lldt base", false, (i) => 0x50 + 16 * i],
  ["ltr base", false, (i) => 0x80 + 16 * i],
  ["wrmsr fs_base", true, () => 0],
  ["wrmsr gs_base", true, () => 0],
  ["wrmsr kernel_gs_base", true, () => 0],
  ["wrmsr lstar", true, () => 0],
  ["wrmsr cstar", true, () => 0],
  ["wrmsr sysenter_esp", true, () => 0],
  ["wrmsr sysenter_eip", true, () => 0],
  ["wrfsbase", true, () => 0],
  ["wrgsbase", true, () => 0],
  ["invpcid type 0, address", false, () => 0],
];

/** Bits 63:width-1 all equal (SDM Vol. 1 3.3.7.1). */
function canonical(value: bigint, width: number): boolean {
  const top = value >> BigInt(width - 1);
  return top === 0n || top === (1n << BigInt(65 - width)) - 1n;
}

function expectedLines(la57: boolean): string[] {
  const width = la57 ? 57 : 48;
  const lines = [`cpuid.7.0:ecx.la57=0x${la57 ? 1 : 0} cr4.la57=0x0`];
  VALUES.forEach((value, i) => {
    for (const [name, reads, error] of CASES) {
      const head = `${name} 0x${value.toString(16)}: `;
      if (!canonical(value, width)) lines.push(`${head}vector=0xd err=0x${error(i).toString(16)} in cs=0x8`);
      else lines.push(reads ? `${head}ok read=0x${value.toString(16)}` : `${head}ok`);
    }
  });
  return [...lines, "done", ""];
}

function run(cpu?: string): { lines: string[]; end: ReturnType<PcMachine["runToEnd"]> } {
  let out = "";
  const machine = new PcMachine({ cpu, debugExit: { base: 0xf4, size: 4 }, serialOut: (b) => (out += String.fromCharCode(b)) });
  machine.loadMultiboot(IMAGE);
  const end = machine.runToEnd(1e6);
  return { lines: out.split("\n"), end };
}

describe("canonical bases with and without 5-level paging support", () => {
  it("-cpu max (LA57 supported, CR4.LA57 = 0): 57-bit canonical bases are accepted, others raise #GP", () => {
    const { lines, end } = run("max");
    expect(lines).toEqual(expectedLines(true));
    expect(end).toEqual({ kind: "exit", status: 1 });
  });

  it("cr3's default CPU (no LA57): only 48-bit canonical bases are accepted", () => {
    const { lines, end } = run();
    expect(lines).toEqual(expectedLines(false));
    expect(end).toEqual({ kind: "exit", status: 1 });
  });

  it.skipIf(!haveNasm)("test/guest/la57-canonical.bin is what nasm builds from la57-canonical.asm", () => {
    const dir = mkdtempSync(join(tmpdir(), "cr3-guest-"));
    try {
      const out = join(dir, "la57-canonical.bin");
      const r = spawnSync("nasm", ["-f", "bin", "-i", "test/guest/", "test/guest/la57-canonical.asm", "-o", out], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(out).equals(IMAGE)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
