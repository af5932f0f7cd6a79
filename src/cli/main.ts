// The cr3 command line. Without arguments it explains what cr3 is and runs a
// short demonstration of the MMU. With a kernel it takes QEMU's spellings,
// loads the kernel as `qemu-system-x86_64 -kernel` would — and stops there:
// running it needs the CPU, which this version does not have yet.

import { readFileSync } from "node:fs";
import { LoadError } from "../boot/load-error.ts";
import { loadMultiboot } from "../boot/multiboot.ts";
import { createMachineMemory, type MachineMemory } from "../machine/memory.ts";
import { parseArgs, type ParsedArgs } from "./args.ts";
import { runDemo } from "./demo.ts";

const VERSION = "0.1.0";

const HELP = `cr3 ${VERSION} — an x86-64 emulator core in TypeScript, built around a real MMU

Usage:
  cr3                         a short demonstration of the MMU (page walks, a page
                              fault, a stale TLB entry, a CR3 switch, MMIO), in words
  cr3 KERNEL [options]        load a multiboot kernel (ELF32, ELF64 or a.out kludge)
  cr3 -kernel KERNEL [options]
  cr3 --help | --version

QEMU options, so that a Makefile can call cr3 instead of qemu-system-x86_64:
  -m SIZE                     guest RAM (256, 512M, 1G; default 128M)
  -append "ARGS"              the kernel command line
  -initrd "MOD ARGS,MOD2"     multiboot modules
  -serial stdio|none|null     COM1 (default stdio)
  -no-reboot -no-shutdown -nographic -display none
  -device isa-debug-exit,iobase=0xf4,iosize=0x04
  -d int,cpu_reset,unimp      logs
  -cpu max|host|qemu64|base[,+feature,-feature]
  Flags that do not matter to cr3 (-enable-kvm, -accel, -machine, -name,
  -monitor none, -vga std, -boot, -rtc, -net none) are accepted with a warning;
  ones it does not support yet (-smp >1, -s/-S/-gdb, disks) are refused.

cr3's own options:
  --max-insns N  --timeout SECONDS  --stats  --vga  --vga-dump FILE

cr3 loads kernels as QEMU's -kernel does; running them arrives with the CPU.
Library: import { createMachineMemory } from "cr3" — see docs/getting-started.md.`;

export function main(argv: readonly string[]): number {
  if (argv.length === 0) {
    process.stdout.write(HELP.split("\n\n")[0] + "\n\n");
    runDemo((line) => process.stdout.write(line + "\n"));
    return 0;
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
  return loadKernel(args);
}

function loadKernel(args: ParsedArgs): number {
  const kernel = args.kernel!;
  const image = readInput(kernel, "kernel");
  if (image === null) return 2;
  const modules: { cmdline: string; data: Uint8Array }[] = [];
  for (const module of args.initrd) {
    const data = readInput(module.path, "module");
    if (data === null) return 2;
    modules.push({ cmdline: module.cmdline, data });
  }
  let memory: MachineMemory;
  try {
    memory = createMachineMemory({ ramBytes: args.memoryBytes });
  } catch {
    return fail(`cannot allocate ${args.memoryBytes / (1024 * 1024)} MiB of guest RAM on this host`);
  }
  try {
    const boot = loadMultiboot(memory, image, { kernelPath: kernel, append: args.append, modules });
    return fail(
      `${kernel}: multiboot kernel (${boot.format}) loaded, entry 0x${boot.entry.toString(16)}; ` +
        "running it needs the CPU, which this version of cr3 does not have yet",
    );
  } catch (error) {
    if (error instanceof LoadError) return fail(`${kernel}: ${error.message}`);
    throw error;
  }
}

function readInput(path: string, what: string): Uint8Array | null {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code ?? "unreadable";
    fail(`cannot read ${what} '${path}': ${reason}`);
    return null;
  }
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

process.exitCode = main(process.argv.slice(2));
