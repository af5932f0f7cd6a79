// The minimal PC: RAM and the physical map (memory.ts), the port bus with
// COM1 (16550), the VGA's sequencer and graphics registers, isa-debug-exit, and the CPU — enough to boot a multiboot
// kernel as `qemu-system-x86_64 -kernel` does and run it to the end.

import { Cpu, STOP_BUDGET, STOP_HALTED, STOP_REQUESTED, STOP_TRIPLE_FAULT } from "../cpu/cpu.ts";
import type { CpuFeatures } from "../cpu/cpuid.ts";
import { parseCpuModel } from "../cpu/cpuid.ts";
import { loadMultiboot, type MultibootBoot, type MultibootOptions } from "../boot/multiboot.ts";
import { DebugExit } from "../devices/debug-exit.ts";
import { COM1_BASE, UART_PORTS, Uart16550 } from "../devices/uart16550.ts";
import { VgaRegisters } from "../devices/vga-registers.ts";
import { createMachineMemory, type MachineMemory } from "./memory.ts";
import { PortBus } from "./ports.ts";
import type { MachineConfig } from "./config.ts";

export interface PcOptions {
  readonly memory?: Partial<MachineConfig>;
  /** -cpu as given (model[,+feat,-feat]); undefined: cr3's default. */
  readonly cpu?: string;
  /** isa-debug-exit's I/O base and size; null: not present. Default 0xf4/4 off. */
  readonly debugExit?: { readonly base: number; readonly size: number } | null;
  /** Called with each byte COM1 transmits. */
  readonly serialOut?: (byte: number) => void;
}

/** Why a run ended. */
export type RunEnd =
  | { kind: "exit"; status: number } // isa-debug-exit
  | { kind: "halted"; interruptsEnabled: boolean } // HLT with nothing to wake it
  | { kind: "triple-fault" }
  | { kind: "instruction-limit" }
  | { kind: "timeout" }
  | { kind: "running" }; // a slice ended; call run again

export class PcMachine {
  readonly memory: MachineMemory;
  readonly ports: PortBus;
  readonly cpu: Cpu;
  readonly uart: Uart16550;
  readonly debugExit: DebugExit | null;
  readonly features: CpuFeatures;
  boot: MultibootBoot | null = null;

  constructor(options: PcOptions = {}) {
    this.memory = createMachineMemory(options.memory ?? {});
    const config = this.memory.config;
    this.features = parseCpuModel(options.cpu, config.maxPhysAddrBits, config.gigabytePages);
    this.ports = new PortBus();
    this.uart = new Uart16550(COM1_BASE);
    this.ports.register(COM1_BASE, UART_PORTS, this.uart);
    new VgaRegisters().attach(this.ports);
    const serialOut = options.serialOut;
    if (serialOut !== undefined) this.uart.onOutput = serialOut;
    const exit = options.debugExit === undefined ? null : options.debugExit;
    this.debugExit = exit === null ? null : new DebugExit(exit.base, exit.size);
    this.cpu = new Cpu(this.memory.mmu, this.ports, this.features);
    if (this.debugExit !== null) {
      this.ports.register(this.debugExit.base, this.debugExit.size, this.debugExit);
      this.debugExit.onExit = () => this.cpu.requestStop(STOP_REQUESTED);
    }
  }

  /** Loads a multiboot kernel and sets the machine state the spec defines (EAX, EBX, flat 32-bit segments, paging off, IF=0). */
  loadMultiboot(image: Uint8Array, options: MultibootOptions = {}): MultibootBoot {
    const boot = loadMultiboot(this.memory, image, options);
    const cpu = this.cpu;
    cpu.reset();
    cpu.enterFlatProtectedMode(boot.entry);
    cpu.regs[0] = boot.eax;
    cpu.regs[6] = boot.ebx;
    this.boot = boot;
    return boot;
  }

  /** Runs up to `budget` instructions; returns how the slice ended. */
  run(budget: number): RunEnd {
    const cpu = this.cpu;
    const reason = cpu.run(budget);
    switch (reason) {
      case STOP_REQUESTED:
        if (this.debugExit !== null && this.debugExit.exitRequested) return { kind: "exit", status: this.debugExit.exitStatus };
        return { kind: "running" };
      case STOP_HALTED:
        return { kind: "halted", interruptsEnabled: (cpu.eflags & 0x200) !== 0 };
      case STOP_TRIPLE_FAULT:
        return { kind: "triple-fault" };
      case STOP_BUDGET:
      default:
        return { kind: "running" };
    }
  }

  /**
   * Runs until the guest ends or `maxInstructions` retire or `timeoutMs`
   * passes (checked between slices). Synchronous: for tests and benchmarks.
   */
  runToEnd(maxInstructions = Infinity, timeoutMs = Infinity): RunEnd {
    const start = performance.now();
    const slice = 1 << 22;
    for (;;) {
      const left = maxInstructions - this.cpu.icount;
      if (left <= 0) return { kind: "instruction-limit" };
      const end = this.run(Math.min(slice, left));
      if (end.kind !== "running") return end;
      if (performance.now() - start > timeoutMs) return { kind: "timeout" };
    }
  }
}
