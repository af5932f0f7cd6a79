// npm run golden: boots every test ROM image under QEMU (TCG) with the one
// fixed command line of rom-tools.ts and records its serial output and exit
// status in test-roms/golden/<rom>.txt. A ROM folder with a `grub` file
// (a multiboot2 kernel, which -kernel cannot boot) is booted by GRUB 2 from
// an ISO built afresh with grub-mkrescue.
// Usage: tsx scripts/golden.ts [rom ...]

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GOLDEN_DIR, GRUB_PACKAGES, QEMU, formatGolden, grubCommandLine, hasTool, missingGrubTools, qemuVersion, romNames, runUnderQemu } from "./rom-tools.ts";

if (!hasTool(QEMU)) {
  console.error(`golden: ${QEMU} not found (Debian: apt-get install qemu-system-x86)`);
  process.exit(2);
}
const version = qemuVersion();
const only = process.argv.slice(2);
mkdirSync(GOLDEN_DIR, { recursive: true });
const names = only.length > 0 ? only : romNames();
// ROMs with a `grub` file are multiboot2 kernels, booted through a GRUB ISO.
const missingGrub = names.some((name) => grubCommandLine(name) !== null) ? missingGrubTools() : [];
if (missingGrub.length > 0) {
  console.error(`golden: ${missingGrub.join(", ")} not found, needed to boot the multiboot2 ROMs through GRUB (Debian: apt-get install ${GRUB_PACKAGES})`);
  process.exit(2);
}
for (const name of names) {
  const run = runUnderQemu(name);
  if (run.timedOut) {
    console.error(`golden: ${name} did not finish under QEMU`);
    process.exit(1);
  }
  writeFileSync(join(GOLDEN_DIR, `${name}.txt`), formatGolden(name, run, version));
  console.log(`recorded ${GOLDEN_DIR}/${name}.txt (exit status ${run.status}, ${run.output.split("\n").length - 1} lines)`);
}
