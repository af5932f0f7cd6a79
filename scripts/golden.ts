// npm run golden: boots every test ROM image under QEMU (TCG) with the one
// fixed command line of rom-tools.ts and records its serial output and exit
// status in test-roms/golden/<rom>.txt.
// Usage: tsx scripts/golden.ts [rom ...]

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GOLDEN_DIR, QEMU, formatGolden, hasTool, qemuVersion, romNames, runUnderQemu } from "./rom-tools.ts";

if (!hasTool(QEMU)) {
  console.error(`golden: ${QEMU} not found (Debian: apt-get install qemu-system-x86)`);
  process.exit(2);
}
const version = qemuVersion();
const only = process.argv.slice(2);
mkdirSync(GOLDEN_DIR, { recursive: true });
for (const name of only.length > 0 ? only : romNames()) {
  const run = runUnderQemu(name);
  if (run.timedOut) {
    console.error(`golden: ${name} did not finish under QEMU`);
    process.exit(1);
  }
  writeFileSync(join(GOLDEN_DIR, `${name}.txt`), formatGolden(name, run, version));
  console.log(`recorded ${GOLDEN_DIR}/${name}.txt (exit status ${run.status}, ${run.output.split("\n").length - 1} lines)`);
}
