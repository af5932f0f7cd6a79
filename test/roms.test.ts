// The test ROMs are cr3's specification, recorded under QEMU. These checks
// prove that (a) the committed images are what the sources build to, and
// (b) live QEMU still produces every committed golden. Both need host tools:
// without them the checks are skipped with a message, except under CI
// (CI=true), where .ci/run installs the tools and a missing one fails.
// A ROM with a `grub` file (a multiboot2 kernel) is booted under QEMU through
// a GRUB ISO, so its golden check also needs grub-mkrescue and xorriso.

import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUILD_TOOLS,
  GOLDEN_DIR,
  GRUB_PACKAGES,
  IMAGE_DIR,
  QEMU,
  buildRom,
  grubCommandLine,
  hasTool,
  missingGrubTools,
  parseGolden,
  romNames,
  runUnderQemu,
} from "../scripts/rom-tools.ts";

const roms = romNames();
const inCi = process.env.CI === "true" || process.env.CI === "1";
const missingBuildTools = BUILD_TOOLS.filter((tool) => !hasTool(tool));
const haveQemu = hasTool(QEMU);
if (!inCi && missingBuildTools.length > 0) {
  console.warn(`test ROMs: ${missingBuildTools.join(", ")} not found: the rebuild check is skipped (Debian: apt-get install gcc binutils)`);
}
if (!inCi && !haveQemu) {
  console.warn(`test ROMs: ${QEMU} not found: the golden checks are skipped (Debian: apt-get install qemu-system-x86)`);
}
const grubRoms = roms.filter((rom) => grubCommandLine(rom) !== null);
const missingGrub = grubRoms.length > 0 ? missingGrubTools() : [];
if (!inCi && haveQemu && missingGrub.length > 0) {
  console.warn(
    `test ROMs: ${missingGrub.join(", ")} not found: the golden checks of ${grubRoms.join(", ")} (booted through GRUB) are skipped (Debian: apt-get install ${GRUB_PACKAGES})`,
  );
}

describe("test ROMs", () => {
  it("every ROM has its sources, a committed image and a golden", () => {
    expect(roms.length).toBeGreaterThan(0);
    for (const rom of roms) {
      expect(existsSync(join(IMAGE_DIR, `${rom}.elf`)), `${IMAGE_DIR}/${rom}.elf`).toBe(true);
      const golden = parseGolden(readFileSync(join(GOLDEN_DIR, `${rom}.txt`), "latin1"));
      expect(golden.exitStatus, `${rom}: exit status in the golden header`).not.toBeNaN();
      expect(golden.output.startsWith(`cr3-rom ${rom}\n`), `${rom}: golden starts with its name line`).toBe(true);
    }
  });

  it.skipIf(!inCi && missingBuildTools.length > 0)("a clean rebuild gives byte-identical images", () => {
    expect(missingBuildTools, "CI must install the ROM toolchain").toEqual([]);
    const out = mkdtempSync(join(tmpdir(), "cr3-roms-"));
    try {
      for (const rom of roms) {
        const rebuilt = readFileSync(buildRom(rom, out));
        const committed = readFileSync(join(IMAGE_DIR, `${rom}.elf`));
        expect(rebuilt.equals(committed), `${rom}: rebuilt image differs from ${IMAGE_DIR}/${rom}.elf (run npm run roms)`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  for (const rom of roms) {
    const viaGrub = grubRoms.includes(rom);
    it.skipIf(!inCi && (!haveQemu || (viaGrub && missingGrub.length > 0)))(`${rom}: live QEMU reproduces the golden${viaGrub ? " (through GRUB)" : ""}`, () => {
      expect(haveQemu, `CI must install ${QEMU}`).toBe(true);
      if (viaGrub) expect(missingGrub, `CI must install ${GRUB_PACKAGES}`).toEqual([]);
      const golden = parseGolden(readFileSync(join(GOLDEN_DIR, `${rom}.txt`), "latin1"));
      const run = runUnderQemu(rom);
      expect(run.timedOut, `${rom} did not finish under QEMU`).toBe(false);
      // Line by line, so a mismatch names the case.
      expect(run.output.split("\n")).toEqual(golden.output.split("\n"));
      expect(run.status).toBe(golden.exitStatus);
    });
  }
});
