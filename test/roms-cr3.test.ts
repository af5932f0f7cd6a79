// Every test ROM under cr3's CPU must print its QEMU golden byte for byte and
// exit with the same status, except where QEMU departs from the SDM
// (test-roms/DEVIATIONS.md): there cr3 must print the SDM's result. The
// benchmark ROMs (bench-*) run hundreds of millions of instructions and are
// left to `npm run bench:roms`.
//
// cr3 runs each ROM from its command line with exactly the arguments QEMU got
// for the golden (the fixed line plus the ROM's qemu-args, with fresh scratch
// disks), so the test also proves that a user can swap one for the other.
//
// Each ROM runs under both tiers: the default (hot code compiled), the
// interpreter alone (--jit off) and everything compiled at once
// (--jit-threshold 0, so every instruction of the suite goes through the
// compiler). All three must print the golden, and agree on the instruction
// count and on the page-walk, page-fault and data-TLB figures.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GOLDEN_DIR, expandScratchDisks, parseGolden, qemuCommand, romNames } from "../scripts/rom-tools.ts";
import { sdmGolden, sdmLine } from "./helpers/sdm-golden.ts";

const roms = romNames().filter((name) => !name.startsWith("bench-"));

/** The --stats-json figures both tiers must agree on (fetch-path figures may differ: compiled code does not fetch). */
const TIER_FIGURES = ["instructions", "walks", "walkMemoryReads", "pageFaults", "dtlbHits", "dtlbMisses", "cr3Writes", "invlpgs"] as const;

function runUnderCr3(rom: string, extra: string[] = []): { output: string; status: number | null; stderr: string; figures: Record<string, number> } {
  const scratch = mkdtempSync(join(tmpdir(), `cr3-rom-${rom}-`));
  try {
    const args = expandScratchDisks(qemuCommand(rom), scratch);
    const statsFile = join(scratch, "stats.json");
    const run = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args, "-display", "none", "--timeout", "150", "--stats-json", statsFile, ...extra], {
      encoding: "latin1",
      maxBuffer: 64 << 20,
    });
    const stats = existsSync(statsFile) ? (JSON.parse(readFileSync(statsFile, "utf8")) as Record<string, number>) : {};
    const figures = Object.fromEntries(TIER_FIGURES.map((f) => [f, stats[f]]));
    return { output: run.stdout, status: run.status, stderr: run.stderr, figures };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe("the SDM rule applied to goldens", () => {
  it("substitutes values, replaces whole results, and leaves other lines alone", () => {
    expect(sdmLine("case rsvd-read-cpl0: #PF err=0x8 cr2=0x8000001000 A/D leaf=00 parent=1 (SDM: err=0x9)")).toBe(
      "case rsvd-read-cpl0: #PF err=0x9 cr2=0x8000001000 A/D leaf=00 parent=1",
    );
    expect(sdmLine("case db-int1: #UD vector=6 err=0x0 rip=insn+0 (SDM: #DB vector=1 err=0x0 rip=insn+1) ok")).toBe(
      "case db-int1: #DB vector=1 err=0x0 rip=insn+1 ok",
    );
    expect(sdmLine("case syscall: rcx=insn+2 r11=0x40483 rflags=0x2 (SDM: rflags=0x83) cs=0x8 ss=0x10 ok")).toBe(
      "case syscall: rcx=insn+2 r11=0x40483 rflags=0x83 cs=0x8 ss=0x10 ok",
    );
    expect(sdmLine("case ignored-es-load: movq %es:0(buf), %rax -> 0xeeeeeeeeeeeeeeee (SDM: 0x16f1cca7825d3813) ok")).toBe(
      "case ignored-es-load: movq %es:0(buf), %rax -> 0x16f1cca7825d3813 ok",
    );
    expect(sdmLine("page=1g leaf=RO/U xd=none wp=1 nxe=1 cpl0 write: #PF err=0x3 cr2=va+0x0 ad=10 (A/D on a fault: SDM 4.8 leaves open)")).toBe(
      "page=1g leaf=RO/U xd=none wp=1 nxe=1 cpl0 write: #PF err=0x3 cr2=va+0x0 ad=00",
    );
    expect(sdmLine("case add8: ok")).toBe("case add8: ok");
  });
});

describe("test ROMs under cr3", () => {
  for (const rom of roms) {
    it(`${rom}: cr3 prints the golden (SDM where QEMU differs) and exits as QEMU does, under both tiers alike`, () => {
      const golden = parseGolden(readFileSync(join(GOLDEN_DIR, `${rom}.txt`), "latin1"));
      const runs = [
        { tier: "default (--jit on)", ...runUnderCr3(rom) },
        { tier: "--jit off", ...runUnderCr3(rom, ["--jit", "off"]) },
        { tier: "--jit-threshold 0", ...runUnderCr3(rom, ["--jit-threshold", "0"]) },
      ];
      for (const run of runs) {
        // Line by line, so a mismatch names the case.
        expect(run.output.split("\n"), `${run.tier}: ${run.stderr}`).toEqual(sdmGolden(golden.output).split("\n"));
        expect(run.status, `${run.tier}: ${run.stderr}`).toBe(golden.exitStatus);
        expect(typeof run.figures.instructions, `${run.tier}: no --stats-json`).toBe("number");
        expect({ tier: run.tier, ...run.figures }).toEqual({ tier: run.tier, ...runs[1].figures });
      }
    }, 300_000);
  }
});

describe("a timing ROM under the host clock", () => {
  // The timers then follow the host's monotonic clock; the ROM's rate checks
  // compare timers with each other, so they hold at cr3's real speed too.
  it("pit: cr3 --clock host prints the golden", () => {
    const golden = parseGolden(readFileSync(join(GOLDEN_DIR, "pit.txt"), "latin1"));
    const run = runUnderCr3("pit", ["--clock", "host"]);
    expect(run.output.split("\n"), run.stderr).toEqual(sdmGolden(golden.output).split("\n"));
    expect(run.status, run.stderr).toBe(golden.exitStatus);
  }, 180_000);
});
