// The cr3 command line. Until the CPU lands it explains what cr3 is and runs
// a short demonstration of the MMU; kernels cannot be booted yet.

import { runDemo } from "./demo.ts";

const VERSION = "0.1.0";

const HELP = `cr3 ${VERSION} — an x86-64 emulator core in TypeScript, built around a real MMU

Usage:
  cr3                 run a short demonstration of the MMU (page walks, a page
                      fault, a stale TLB entry, a CR3 switch), explained in words
  cr3 --help          this text
  cr3 --version       the version

cr3 will boot multiboot kernels the way qemu-system-x86_64 -kernel does, with
the same flags. That arrives with the CPU; today cr3 is its memory system:
guest RAM, the physical bus with MMIO, and an MMU that walks 32-bit, PAE,
4-level and 5-level page tables through a TLB, as the Intel SDM describes.

Library: import { createMachineMemory } from "cr3" — see docs/getting-started.md.`;

export function main(argv: readonly string[]): number {
  for (const arg of argv) {
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(HELP + "\n");
      return 0;
    }
    if (arg === "--version") {
      process.stdout.write(`cr3 ${VERSION}\n`);
      return 0;
    }
    if (arg.startsWith("-")) {
      process.stderr.write(`cr3: unknown option '${arg}' (see cr3 --help)\n`);
      return 2;
    }
    process.stderr.write(`cr3: cannot boot '${arg}' yet: this version has the MMU but no CPU (see cr3 --help)\n`);
    return 2;
  }
  process.stdout.write(HELP.split("\n\n")[0] + "\n\n");
  runDemo((line) => process.stdout.write(line + "\n"));
  return 0;
}

// A reader that stops early (`cr3 | head`) closes the pipe: end quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = main(process.argv.slice(2));
