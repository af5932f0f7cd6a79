// npm run firmware: rebuilds the bundled teaching kernel (firmware/) with the
// host toolchain (gcc, ld), reproducibly, into firmware/cr3-tour.elf.
// Usage: tsx scripts/build-firmware.ts [--out FILE]

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CFLAGS, LDFLAGS, hasTool } from "./rom-tools.ts";

export const FIRMWARE_DIR = "firmware";
export const FIRMWARE_IMAGE = join(FIRMWARE_DIR, "cr3-tour.elf");
export const FIRMWARE_BUILD_TOOLS = ["gcc", "ld"];
/** The kernel runs in the top 2 GiB; user programs at low addresses. */
const KERNEL_CFLAGS = [...CFLAGS, "-mcmodel=kernel"];
const USER_CFLAGS = [...CFLAGS, "-mcmodel=small"];

function sourcesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".c") || f.endsWith(".S"))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Builds the kernel into `out`. Paths are relative to the repository root,
 * which must be the working directory. Kernel objects are named kernel-NN.o
 * and user objects user-NN.o: firmware/linker.ld places the user ones at
 * their user address by that name.
 */
export function buildFirmware(out = FIRMWARE_IMAGE, sourceDir = FIRMWARE_DIR): string {
  const work = mkdtempSync(join(tmpdir(), "cr3-firmware-"));
  try {
    const compile = (source: string, object: string, cflags: string[]): string => {
      const flags = source.endsWith(".S") ? ["-m64", `-I${sourceDir}`] : [...cflags, `-I${sourceDir}`];
      execFileSync("gcc", [...flags, "-c", source, "-o", object], { stdio: ["ignore", "inherit", "inherit"] });
      return object;
    };
    const kernel = sourcesIn(sourceDir).map((s, i) => compile(s, join(work, `kernel-${String(i).padStart(2, "0")}.o`), KERNEL_CFLAGS));
    const user = sourcesIn(join(sourceDir, "user")).map((s, i) => compile(s, join(work, `user-${String(i).padStart(2, "0")}.o`), USER_CFLAGS));
    const linked = join(work, "cr3-tour.elf");
    execFileSync("ld", [...LDFLAGS, "-T", join(sourceDir, "linker.ld"), "-o", linked, ...kernel, ...user], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    checkFileLayout(readFileSync(linked));
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(linked, out);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The multiboot loader copies the file from the header on as one block (the
 * a.out kludge), so every loadable segment must lie in the file exactly as
 * far from the first as it lies in physical memory.
 */
function checkFileLayout(elf: Buffer): void {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  let first: { offset: number; paddr: number } | null = null;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (elf.readUInt32LE(at) !== 1) continue; // PT_LOAD
    const offset = Number(elf.readBigUInt64LE(at + 8));
    const paddr = Number(elf.readBigUInt64LE(at + 24));
    const filesz = Number(elf.readBigUInt64LE(at + 32));
    if (filesz === 0) continue;
    first ??= { offset, paddr };
    if (offset - first.offset !== paddr - first.paddr) {
      throw new Error(`firmware: segment ${i} lies at file offset 0x${offset.toString(16)}, not where the a.out kludge loads it`);
    }
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const out = args[0] === "--out" && args[1] !== undefined ? args[1] : FIRMWARE_IMAGE;
  const missing = FIRMWARE_BUILD_TOOLS.filter((tool) => !hasTool(tool));
  if (missing.length > 0) {
    console.error(`build-firmware: missing ${missing.join(", ")} (Debian: apt-get install gcc binutils)`);
    process.exit(2);
  }
  try {
    console.log(`built ${buildFirmware(out)}`);
  } catch (e) {
    console.error(`build-firmware: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
