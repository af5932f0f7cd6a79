// SYSENTER/SYSEXIT (0F 34 / 0F 35) and IA32_SYSENTER_CS/ESP/EIP (0x174-0x176),
// as SDM Vol. 2 SYSENTER, SYSEXIT and WRMSR give them: the fixed flat CS/SS
// caches, CS+8 for SYSENTER's SS, CS+16/+24 (CS+32/+40 with REX.W) for
// SYSEXIT's, ESP/EIP[31:0] outside IA-32e mode, IF cleared by SYSENTER, and
// #GP(0) when IA32_SYSENTER_CS[15:2] = 0, for SYSEXIT at CPL > 0 or with a
// non-canonical RCX or RDX (REX.W), and for WRMSR of a non-canonical ESP/EIP.
// The guest is test/guest/sysenter.asm.
//
// QEMU 7.2 (TCG) with -cpu max,vendor=GenuineIntel prints the same lines but
// five (under plain -cpu max its vendor is AMD, and SYSENTER/SYSEXIT are #UD in
// IA-32e mode, as on AMD processors; cr3 is GenuineIntel):
//   sysexit rex.w rdx=0x0000800000000000: vector=0xd err=0x0 in cs=0x2b  (no check: the fetch at CPL3 faults)
//   sysexit rex.w rcx=0xffff7fffffffff00: no fault
//   sysenter with sysenter_cs=3: no fault                                 (it tests the whole MSR for 0)
//   wrmsr sysenter_eip=0x0000800000000000: no fault
//   wrmsr sysenter_esp=0x0000800000000000: no fault
// cr3 follows the SDM.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cpuid, parseCpuModel } from "../src/cpu/cpuid.ts";
import { PcMachine } from "../src/machine/pc.ts";

const IMAGE = readFileSync("test/guest/sysenter.bin");
const haveNasm = spawnSync("nasm", ["--version"], { stdio: "ignore" }).status === 0;
if (!haveNasm) console.warn("sysenter: nasm not found: the rebuild check of test/guest/sysenter.bin is skipped (Debian: apt-get install nasm)");

const GP_AT_CPL0 = "vector=0xd err=0x0 in cs=0x8";
const EXPECTED = [
  "legacy sysexit, at cpl3: cs=0x1b ss=0x23 rsp=0x70000",
  "legacy sysenter: cs=0x8 ss=0x10 rsp=0x80000", // ESP[31:0] of 0x1_00080000
  "cpuid.1:edx.sep=0x1",
  "msrs: sysenter_cs=0x8 sysenter_esp=0x80000 sysenter_eip=kentry+0x0",
  "sysexit rex.w, at user64: cs=0x2b ss=0x33 rsp=0x70000 mode=64",
  "sysenter from 64-bit cpl3: cs=0x8 ss=0x10 rsp=0x80000 if=0x0",
  "sysexit, at user32: cs=0x1b ss=0x23 rsp=0x70000 mode=32",
  "sysenter from compatibility-mode cpl3: cs=0x8 ss=0x10 rsp=0x80000 if=0x0",
  "sysexit at cpl3: vector=0xd err=0x0 in cs=0x2b",
  `sysexit rex.w rdx=0x0000800000000000: ${GP_AT_CPL0}`,
  `sysexit rex.w rcx=0xffff7fffffffff00: ${GP_AT_CPL0}`,
  `sysenter with sysenter_cs=0: ${GP_AT_CPL0}`,
  `sysexit with sysenter_cs=0: ${GP_AT_CPL0}`,
  `sysenter with sysenter_cs=3: ${GP_AT_CPL0}`,
  `wrmsr sysenter_eip=0x0000800000000000: ${GP_AT_CPL0}`,
  `wrmsr sysenter_esp=0x0000800000000000: ${GP_AT_CPL0}`,
  "done",
  "",
];

function run(cpu?: string): { end: ReturnType<PcMachine["runToEnd"]>; lines: string[]; firstVector: number } {
  let out = "";
  const machine = new PcMachine({ cpu, debugExit: { base: 0xf4, size: 4 }, serialOut: (b) => (out += String.fromCharCode(b)) });
  machine.loadMultiboot(IMAGE);
  let firstVector = -1;
  machine.cpu.onInterrupt = (vector) => {
    if (firstVector < 0) firstVector = vector;
  };
  const end = machine.runToEnd(1e6);
  return { end, lines: out.split("\n"), firstVector };
}

describe("SYSENTER and SYSEXIT", () => {
  it("go to CPL0 and back to CPL3 (legacy, 64-bit and compatibility mode) and raise #GP(0) as the SDM lists", () => {
    const { end, lines } = run();
    expect(lines).toEqual(EXPECTED);
    expect(end).toEqual({ kind: "exit", status: 1 });
  });

  it("are #UD, and CPUID.1:EDX.SEP (bit 11) is 0, under -cpu max,-sep", () => {
    const regs = new Int32Array(4);
    cpuid(parseCpuModel("max,-sep"), 1, 0, 0, regs);
    expect((regs[3] >> 11) & 1).toBe(0);
    cpuid(parseCpuModel("qemu64"), 1, 0, 0, regs);
    expect((regs[3] >> 11) & 1).toBe(1); // QEMU's qemu64 model has SEP too
    // The legacy SYSEXIT, the image's first, raises #UD (6) instead of reaching CPL3.
    const { lines, firstVector } = run("max,-sep");
    expect(firstVector).toBe(6);
    expect(lines[0]).toBe("");
  });

  it.skipIf(!haveNasm)("test/guest/sysenter.bin is what nasm builds from sysenter.asm", () => {
    const dir = mkdtempSync(join(tmpdir(), "cr3-guest-"));
    try {
      const out = join(dir, "sysenter.bin");
      const r = spawnSync("nasm", ["-f", "bin", "-i", "test/guest/", "test/guest/sysenter.asm", "-o", out], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(out).equals(IMAGE)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
