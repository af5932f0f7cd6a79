// The cr3 command line. Without arguments it boots the bundled teaching kernel
// (firmware/), with --demo it runs a short demonstration of the MMU in words.
// With a kernel it takes QEMU's spellings, loads the kernel as
// `qemu-system-x86_64 -kernel` would, and runs it (run.ts).

import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "./args.ts";
import { runDemo } from "./demo.ts";
import { runKernel } from "./run.ts";

const VERSION = "0.1.0";

const HELP = `cr3 ${VERSION} — an x86-64 emulator core in TypeScript, built around a real MMU

Usage:
  cr3                         boot the bundled teaching kernel (firmware/), which shows
                              virtual memory at work, with --stats at the end
  cr3 --demo                  a short demonstration of the MMU (page walks, a page
                              fault, a stale TLB entry, a CR3 switch, MMIO), in words
  cr3 KERNEL [options]        boot a multiboot or multiboot2 kernel (ELF32, ELF64,
                              a.out kludge) on a PC: PIC, PIT, APICs, RTC, PS/2, COM1,
                              IDE, ACPI (docs/platform.md)
  cr3 -kernel KERNEL [options]
  cr3 --help | --version

QEMU options, so that a Makefile can call cr3 instead of qemu-system-x86_64:
  -m SIZE                     guest RAM (256, 512M, 1G; default 128M)
  -append "ARGS"              the kernel command line
  -initrd "MOD ARGS,MOD2"     multiboot modules
  -serial stdio|none|null     COM1 (default stdio)
  -drive file=IMG[,index=N][,snapshot=on]   an IDE disk (raw); also -hda..-hdd IMG
  -snapshot                   disk writes never reach the image files
  -rtc base=utc|localtime|DATE[,clock=host]   RTC start (default 2000-01-01 UTC)
  -icount shift=N             virtual time: 2^N ns per instruction (default 5)
  -debugcon stdio|none|file:PATH  port 0xE9's output (default none)
  -no-reboot -no-shutdown -nographic -display none
  -device isa-debug-exit,iobase=0xf4,iosize=0x04
  -d int,cpu_reset,unimp      logs
  -cpu max|host|qemu64|base[,+feature,-feature]
  Flags that do not matter to cr3 (-enable-kvm, -accel, -machine, -name,
  -monitor none, -vga std, -boot, -net none) are accepted with a warning;
  ones it does not support (-smp >1, -s/-S/-gdb, floppy, CD-ROM) are refused.

cr3's own options:
  --max-insns N               stop after N instructions (exit status 124)
  --timeout SECONDS           stop after SECONDS of run time (exit status 124)
  --clock virtual|host        time from instructions (default; runs repeat) or host time
  --stdin serial|keyboard     stdin to COM1 (default with -serial stdio) or PS/2 keys
  --jit on|off                compile hot guest code to JavaScript (default on) or only interpret
  --jit-threshold N           executions before an entry point is compiled (default 20000; 0: at once)
  --stats                     instructions, MIPS, TLB hits/misses, walks, page faults by cause
  --stats-json FILE           the same as one JSON object
  --vga                       show the VGA text screen live (on stderr)
  --vga-dump FILE             write the VGA text screen to FILE at the end
  --screenshot FILE           write the linear framebuffer to FILE as a PNG at the end

The exit status is QEMU's: isa-debug-exit's (value << 1) | 1; 0 after power-off,
reset, triple fault or a HLT nothing can wake; 124 at --max-insns or --timeout.
Library: import { createMachineMemory } from "cr3" — see docs/getting-started.md.`;

/** The bundled tour's image: beside src/ in a checkout, beside dist/ in a build. */
function tourImage(): string | null {
  for (const relative of ["../../firmware/cr3-tour.elf", "../firmware/cr3-tour.elf"]) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}

/** The flags the tour runs with: QEMU's, as its test runs it, and the figures at the end. */
const TOUR_FLAGS = ["-m", "256", "-serial", "stdio", "-display", "none", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "--stats"];

/** cr3's own options the tour takes too (`npm start -- --jit off`): each with its value. */
const TOUR_OPTIONS = ["--jit", "--jit-threshold", "--stats-json", "--clock"];

/** argv when it holds only tour options with their values, else null. */
function tourOptions(argv: readonly string[]): readonly string[] | null {
  for (let k = 0; k < argv.length; k += 2) {
    const name = argv[k].split("=")[0];
    if (!TOUR_OPTIONS.includes(name)) return null;
    if (argv[k].includes("=")) k--;
  }
  return argv;
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--demo" || argv[0] === "-demo")) {
    process.stdout.write(HELP.split("\n\n")[0] + "\n\n");
    runDemo((line) => process.stdout.write(line + "\n"));
    return 0;
  }
  const tourExtra = tourOptions(argv);
  if (tourExtra !== null) {
    const image = tourImage();
    if (image === null) return fail("the bundled kernel firmware/cr3-tour.elf is missing (npm run firmware rebuilds it)");
    const checked = parseArgs([image, ...TOUR_FLAGS, ...tourExtra]);
    if (!checked.ok) return fail(checked.message);
    process.stdout.write(`cr3 ${VERSION}: booting the bundled teaching kernel (firmware/cr3-tour.elf); cr3 --help shows how to boot yours\n\n`);
    // Its swap area: a blank 4 MiB disk, in memory only (snapshot=on), so nothing is left behind.
    const dir = mkdtempSync(join(tmpdir(), "cr3-tour-"));
    try {
      const disk = join(dir, "swap.img");
      const fd = openSync(disk, "w");
      ftruncateSync(fd, 4 << 20);
      closeSync(fd);
      const args = parseArgs([image, ...TOUR_FLAGS, "-drive", `file=${disk},format=raw,index=0,snapshot=on`, ...tourExtra]);
      if (!args.ok) return fail(args.message);
      // The tour exits through isa-debug-exit with 0 when every demonstration passed: status (0 << 1) | 1.
      const status = await runKernel(args, fail);
      return status === 1 ? 0 : status;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const args = parseArgs(argv);
  if (!args.ok) return fail(args.message);
  for (const warning of args.warnings) process.stderr.write(`cr3: warning: ${warning}\n`);
  if (args.help) {
    process.stdout.write(HELP + "\n");
    return 0;
  }
  if (args.version) {
    process.stdout.write(`cr3 ${VERSION}\n`);
    return 0;
  }
  return runKernel(args, fail);
}

function fail(message: string): number {
  process.stderr.write(`cr3: ${message}\n`);
  return 2;
}

// A reader that stops early (`cr3 | head`) closes the pipe: end quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (status) => {
    // Exit once stdout has drained (stdin may still hold the event loop open).
    process.stdout.write("", () => process.exit(status));
  },
  (error: unknown) => {
    process.stderr.write(`cr3: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(70);
  },
);
