// `cr3 KERNEL [options]`: build the PC, load the multiboot kernel, run it in
// slices (so stdin can reach COM1 between them and --timeout is checked), and
// end as QEMU would: isa-debug-exit's status, or 0 after a triple fault
// (QEMU -no-reboot) or a HLT nothing can wake. Every way the guest can fail
// is reported in one line as the guest's; cr3 itself never throws here.

import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { AtaDisk } from "../devices/ata-disk.ts";
import { DiskError, DiskImage } from "../devices/disk-image.ts";
import { encodePng } from "./png.ts";
import { LoadError } from "../boot/load-error.ts";
import { CpuModelError } from "../cpu/cpuid.ts";
import { PcMachine, type RunEnd } from "../machine/pc.ts";
import type { ParsedArgs } from "./args.ts";
import { interruptLogger, tripleFaultReport } from "./interrupt-log.ts";
import { formatStats, runStats, type RunStats } from "./stats.ts";

/** Exit status when --max-insns or --timeout stops the guest (as timeout(1) does). */
export const EXIT_LIMIT = 124;

export async function runKernel(args: ParsedArgs, fail: (message: string) => number): Promise<number> {
  const kernel = args.kernel!;
  const image = readInput(kernel, "kernel", fail);
  if (image === null) return 2;
  const modules: { cmdline: string; data: Uint8Array }[] = [];
  for (const module of args.initrd) {
    const data = readInput(module.path, "module", fail);
    if (data === null) return 2;
    modules.push({ cmdline: module.cmdline, data });
  }

  const images: DiskImage[] = [];
  const drives: (AtaDisk | null)[] = [null, null, null, null];
  try {
    for (const spec of args.drives) {
      const image = DiskImage.open(spec.file, { snapshot: spec.snapshot, readOnly: spec.readonly });
      images.push(image);
      drives[spec.index] = new AtaDisk(image, spec.index);
    }
  } catch (error) {
    closeImages(images, fail);
    if (error instanceof DiskError) return fail(error.message);
    throw error;
  }

  // COM1 and -debugcon stdio share stdout, in the order the guest wrote.
  const stdout = new StdoutBuffer();
  const serialOut = args.serial === "stdio" ? (byte: number) => stdout.push(byte) : undefined;
  const debugcon = debugconSink(args, stdout);
  let machine: PcMachine;
  try {
    machine = new PcMachine({
      memory: { ramBytes: args.memoryBytes },
      cpu: args.cpu,
      debugExit: args.debugExit === undefined ? null : { base: args.debugExit.iobase, size: args.debugExit.iosize },
      serialOut,
      debugconOut: debugcon.push,
      clock: args.clock,
      icountShift: args.icountShift,
      rtcBase: args.rtcBase,
      drives,
      pciVga: args.vgaCard === "std" || (args.vgaCard === undefined && !args.nodefaults),
      jit: args.jit ? { threshold: args.jitThreshold } : null,
    });
  } catch (error) {
    closeImages(images, fail);
    if (error instanceof CpuModelError) return fail(error.message);
    if (error instanceof RangeError && error.message.includes("overlap")) return fail(`-device isa-debug-exit: ${error.message}`);
    if (error instanceof RangeError) return fail(`cannot allocate ${args.memoryBytes / (1024 * 1024)} MiB of guest RAM on this host`);
    throw error;
  }
  const status = await runMachine(machine, args, kernel, image, modules, stdout, debugcon, fail);
  closeImages(images, fail);
  return status;
}

function closeImages(images: readonly DiskImage[], fail: (message: string) => number): void {
  for (const image of images) {
    try {
      image.close();
    } catch (error) {
      fail(error instanceof Error ? error.message.split("\n")[0]! : String(error));
    }
  }
}

async function runMachine(
  machine: PcMachine,
  args: ParsedArgs,
  kernel: string,
  image: Uint8Array,
  modules: { cmdline: string; data: Uint8Array }[],
  serial: StdoutBuffer,
  debugcon: DebugconSink,
  fail: (message: string) => number,
): Promise<number> {
  try {
    machine.loadMultiboot(image, { kernelPath: kernel, append: args.append, modules });
  } catch (error) {
    if (error instanceof LoadError) return fail(`${kernel}: ${error.message}`);
    throw error;
  }

  const cpu = machine.cpu;
  const log = (text: string): void => {
    serial.flush();
    process.stderr.write(text);
  };
  if (args.log.includes("int")) cpu.onInterrupt = interruptLogger(cpu, log);
  if (args.log.includes("unimp")) {
    cpu.onUnimplemented = (opcode) => log(`cr3: unimplemented instruction ${opcode} at 0x${(cpu.startLo >>> 0).toString(16)}: #UD raised in the guest\n`);
  }

  const stdinTarget = args.stdinTarget ?? (args.serial === "stdio" ? "serial" : "keyboard");
  const interactive = process.stdin.isTTY === true;
  const stdin = new HostInput(machine, stdinTarget);
  machine.inputOpen = stdin.open;
  const liveVga = args.vga ? new LiveVga(machine) : null;
  const started = performance.now();
  const maxInsns = args.maxInsns ?? Infinity;
  const timeoutMs = args.timeoutSeconds === undefined ? Infinity : args.timeoutSeconds * 1000;
  const slice = process.stdin.isTTY ? 1 << 20 : 1 << 23;
  let end: RunEnd = { kind: "running" };
  try {
    for (;;) {
      const left = maxInsns - cpu.icount;
      if (left <= 0) {
        end = { kind: "instruction-limit" };
        break;
      }
      end = machine.run(Math.min(slice, left));
      serial.flush();
      debugcon.flush();
      machine.inputOpen = stdin.open;
      if (end.kind === "idle") {
        // Halted with IF=1 until host time passes (--clock host) or host input arrives.
        const next = machine.clock.nextDeadline();
        const waitMs = next === Infinity ? 100 : Math.min(100, Math.max(0, (next - machine.clock.now()) / 1e6));
        await stdin.waitForInput(waitMs);
        if (stdin.quitRequested) break;
        if (performance.now() - started > timeoutMs) {
          end = { kind: "timeout" };
          break;
        }
        if (machine.clock.mode !== "host" && !stdin.open && !stdin.hasPending) {
          end = { kind: "halted", interruptsEnabled: true };
          break;
        }
        continue;
      }
      if (end.kind !== "running") break;
      if (performance.now() - started > timeoutMs) {
        end = { kind: "timeout" };
        break;
      }
      liveVga?.refresh();
      if (stdin.quitRequested) break;
      // At a terminal, keep virtual time from running ahead of the wall clock
      // while the guest idles (QEMU's -icount sleep=on): a shell waiting for a
      // key then ticks at its real rate instead of spinning the host.
      const aheadMs = machine.clock.mode === "virtual" && interactive ? machine.clock.now() / 1e6 - (performance.now() - started) : 0;
      if (aheadMs > 10) await stdin.waitForInput(Math.min(aheadMs, 50));
      // Let stdin and output events through between slices.
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    stdin.close();
  }
  const seconds = (performance.now() - started) / 1000;
  serial.flush();
  debugcon.flush();
  liveVga?.refresh();

  let status: number;
  switch (end.kind) {
    case "exit":
      status = end.status;
      break;
    case "triple-fault":
      if (args.log.includes("cpu_reset")) log("CPU Reset (triple fault)\n");
      log(tripleFaultReport(cpu.faultChain) + "\n");
      status = 0; // QEMU with -no-reboot exits with 0
      break;
    case "poweroff":
      status = 0; // QEMU exits with 0 when the guest powers off through ACPI
      break;
    case "reset":
      log(`cr3: the guest reset the machine (${machine.resetCause}); cr3 stops, as QEMU does with -no-reboot\n`);
      status = 0;
      break;
    case "suspend":
      log("cr3: the guest entered ACPI S3 sleep (SLP_TYP 1 and SLP_EN written to PM1a_CNT at 0x604); QEMU would wait for a wake-up and resume through the BIOS, which cr3 has not; stopping\n");
      status = 0;
      break;
    case "halted":
      log(
        end.interruptsEnabled
          ? `cr3: the guest halted (HLT at 0x${(cpu.startLo >>> 0).toString(16)}) and no device can interrupt it; stopping\n`
          : `cr3: the guest halted with interrupts disabled (HLT at 0x${(cpu.startLo >>> 0).toString(16)}, IF=0): nothing can wake it; stopping\n`,
      );
      status = 0;
      break;
    case "instruction-limit":
      log(`cr3: stopped after ${cpu.icount} instructions (--max-insns ${args.maxInsns})\n`);
      status = EXIT_LIMIT;
      break;
    case "timeout":
      log(`cr3: stopped after ${args.timeoutSeconds} s (--timeout); the guest was still running at 0x${(cpu.ripLo >>> 0).toString(16)}\n`);
      status = EXIT_LIMIT;
      break;
    default:
      if (stdin.signal !== null) log(`cr3: terminating on signal ${stdin.signal}\n`);
      status = 0; // Ctrl-A x, or a signal: QEMU also exits with 0
  }

  const stats = runStats(machine, seconds, status);
  if (args.stats) log(formatStats(stats));
  if (args.statsJson !== undefined) writeStatsJson(args.statsJson, stats, fail);
  if (!args.displayNone && !args.vga) {
    const screen = machine.memory.vga.toText().trimEnd();
    if (screen.trim() !== "") log(`--- VGA text screen at exit ---\n${screen}\n`);
  }
  if (args.screenshot !== undefined) writeScreenshot(machine, args.screenshot, fail);
  if (args.vgaDump !== undefined) {
    try {
      writeFileSync(args.vgaDump, machine.memory.vga.toText());
    } catch {
      fail(`cannot write --vga-dump file '${args.vgaDump}'`);
    }
  }
  return status & 0xff;
}

function writeStatsJson(path: string, stats: RunStats, fail: (message: string) => number): void {
  try {
    writeFileSync(path, JSON.stringify(stats) + "\n");
  } catch {
    fail(`cannot write --stats-json file '${path}'`);
  }
}

function readInput(path: string, what: string, fail: (message: string) => number): Uint8Array | null {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code ?? "unreadable";
    fail(`cannot read ${what} '${path}': ${reason}`);
    return null;
  }
}

function writeScreenshot(machine: PcMachine, path: string, fail: (message: string) => number): void {
  const fb = machine.framebuffer;
  if (fb === null) {
    fail(`--screenshot: the guest never switched to the linear framebuffer (it asks for one through its multiboot2 header); the text screen is in --vga-dump`);
    return;
  }
  try {
    writeFileSync(path, encodePng(fb.width, fb.height, fb.toRgba()));
  } catch {
    fail(`cannot write --screenshot file '${path}'`);
  }
}

interface DebugconSink {
  readonly push: ((byte: number) => void) | undefined;
  flush(): void;
}

/** -debugcon: stdio shares stdout with COM1; file:PATH is appended to between slices. */
function debugconSink(args: ParsedArgs, stdout: StdoutBuffer): DebugconSink {
  const target = args.debugcon;
  if (target.kind === "stdio") return { push: (byte) => stdout.push(byte), flush: () => undefined };
  if (target.kind === "none") return { push: undefined, flush: () => undefined };
  writeFileSync(target.path, "");
  const pending: number[] = [];
  return {
    push: (byte) => void pending.push(byte),
    flush: () => {
      if (pending.length === 0) return;
      appendFileSync(target.path, Uint8Array.from(pending));
      pending.length = 0;
    },
  };
}

/** Guest output to stdout, batched: one write per slice instead of one per byte. */
class StdoutBuffer {
  private buffer = Buffer.alloc(1 << 16);
  private length = 0;

  push(byte: number): void {
    if (this.length === this.buffer.length) this.flush();
    this.buffer[this.length++] = byte;
  }

  flush(): void {
    if (this.length === 0) return;
    const chunk = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    try {
      process.stdout.write(chunk);
    } catch {
      // A closed stdout is not the guest's problem.
    }
  }
}

/**
 * stdin to COM1 (or to the PS/2 keyboard with --stdin keyboard). On a
 * terminal it is raw, as under QEMU -nographic; Ctrl-A x quits.
 */
class HostInput {
  quitRequested = false;
  /** SIGINT or SIGTERM received: the run stops at the next slice, so disk images are still flushed. */
  signal: string | null = null;
  private readonly onSignal = (name: NodeJS.Signals): void => {
    this.signal = name;
    this.quitRequested = true;
    this.wakeUp();
  };
  /** Whether more input may still come. */
  open: boolean;
  private readonly listener: ((data: Buffer) => void) | null;
  private readonly raw: boolean;
  private escape = false;
  private wake: (() => void) | null = null;
  private readonly machine: PcMachine;
  private readonly target: "serial" | "keyboard";

  constructor(machine: PcMachine, target: "serial" | "keyboard") {
    this.machine = machine;
    this.target = target;
    this.raw = false;
    const stdin = process.stdin;
    this.open = true;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      this.raw = true;
    }
    this.listener = (data: Buffer) => {
      const bytes: number[] = [];
      for (const b of data) {
        if (this.raw && this.escape) {
          this.escape = false;
          if (b === 0x78) {
            this.quitRequested = true; // Ctrl-A x
            break;
          }
          if (b !== 0x01) continue;
        } else if (this.raw && b === 0x01) {
          this.escape = true;
          continue;
        }
        bytes.push(b);
      }
      if (this.target === "serial") machine.uart.receive(bytes);
      else machine.ps2.typeBytes(Uint8Array.from(bytes));
      this.wakeUp();
    };
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
    stdin.on("data", this.listener);
    stdin.on("end", () => {
      this.open = false;
      this.wakeUp();
    });
    stdin.on("error", () => {
      this.open = false;
      this.wakeUp();
    });
  }

  /** Host bytes not yet taken by the guest. */
  get hasPending(): boolean {
    return this.target === "serial" ? this.machine.uart.pendingInput > 0 : false;
  }

  /** Resolves when input arrives, stdin ends, or `ms` pass. */
  waitForInput(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private wakeUp(): void {
    if (this.wake !== null) this.wake();
  }

  close(): void {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    if (this.listener === null) return;
    process.stdin.off("data", this.listener);
    if (this.raw) process.stdin.setRawMode(false);
    process.stdin.pause();
    const handle = process.stdin as unknown as { unref?: () => void };
    if (typeof handle.unref === "function") handle.unref();
  }
}

/** --vga: the text screen redrawn on stderr when it changed. */
class LiveVga {
  private readonly machine: PcMachine;
  private dirty = true;

  constructor(machine: PcMachine) {
    this.machine = machine;
    machine.memory.vga.onChange(() => {
      this.dirty = true;
    });
  }

  refresh(): void {
    if (!this.dirty) return;
    this.dirty = false;
    process.stderr.write("\x1b[H\x1b[2J" + this.machine.memory.vga.toAnsi() + "\n");
  }
}
