// npm run roms: rebuilds every test ROM from its sources with the host
// toolchain (gcc, ld, objcopy), reproducibly, into test-roms/images/.
// Usage: tsx scripts/build-roms.ts [--out DIR] [rom ...]

import { BUILD_TOOLS, IMAGE_DIR, buildRom, hasTool, romNames } from "./rom-tools.ts";

const args = process.argv.slice(2);
let outDir = IMAGE_DIR;
const only: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--out") outDir = args[++i];
  else only.push(args[i]);
}
const missing = BUILD_TOOLS.filter((tool) => !hasTool(tool));
if (missing.length > 0) {
  console.error(`build-roms: missing ${missing.join(", ")} (Debian: apt-get install gcc binutils)`);
  process.exit(2);
}
const names = only.length > 0 ? only : romNames();
for (const name of names) {
  try {
    console.log(`built ${buildRom(name, outDir)}`);
  } catch {
    console.error(`build-roms: ${name} failed to build`);
    process.exit(1);
  }
}
