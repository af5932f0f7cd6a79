// The PC: RAM and the physical map (memory.ts), the CPU, and the platform a
// kernel written for QEMU's `pc` machine expects, in the state SeaBIOS leaves
// it: the 8259 pair, the 8254 PIT and port 0x61, the local APIC and I/O APIC,
// the HPET, the CMOS/RTC, the 8042 with a keyboard, COM1, IDE disks, PCI configuration
// space, QEMU's fw_cfg and debug console, ACPI and MP tables, the BIOS data
// area, the VGA text screen and a linear framebuffer. docs/platform.md lists
// every port and address.
//
// Time: a MachineClock (virtual by default). run() executes the CPU in chunks
// that end at the next timer deadline and fires due events between chunks.

import { DEFAULT_THRESHOLD, JitEngine } from "../jit/engine.ts";
import { Cpu, STOP_BUDGET, STOP_HALTED, STOP_REQUESTED, STOP_TRIPLE_FAULT } from "../cpu/cpu.ts";
import type { CpuFeatures } from "../cpu/cpuid.ts";
import { parseCpuModel } from "../cpu/cpuid.ts";
import { loadMultiboot, type MultibootBoot, type MultibootOptions } from "../boot/multiboot.ts";
import { findMultiboot2Header, framebufferModeFor, loadMultiboot2, multibootVersionOf, type Multiboot2Boot } from "../boot/multiboot2.ts";
import { buildAcpiTables, type AcpiTables } from "../boot/acpi-tables.ts";
import { buildMpTable } from "../boot/mp-table.ts";
import { writeBiosDataArea } from "../boot/bios-data-area.ts";
import { DebugExit } from "../devices/debug-exit.ts";
import { COM1_BASE, UART_PORTS, Uart16550 } from "../devices/uart16550.ts";
import { VgaRegisters } from "../devices/vga-registers.ts";
import { Pic8259Pair } from "../devices/pic8259.ts";
import { Pit8254 } from "../devices/pit8254.ts";
import { SystemControlPort } from "../devices/system-control-port.ts";
import { LAPIC_BASE, LAPIC_SIZE, LocalApic } from "../devices/local-apic.ts";
import { IOAPIC_BASE, IOAPIC_SIZE, IoApic } from "../devices/io-apic.ts";
import { CmosRtc } from "../devices/cmos-rtc.ts";
import { HPET_BASE, HPET_SIZE, Hpet } from "../devices/hpet.ts";
import { Ps2Controller } from "../devices/ps2-controller.ts";
import { makeConfig, PciHost, setBar, type PciFunction } from "../devices/pci-host.ts";
import { FwCfg } from "../devices/fw-cfg.ts";
import { DebugConsole } from "../devices/debug-console.ts";
import { ATA_PRIMARY_COMMAND, ATA_PRIMARY_CONTROL, ATA_SECONDARY_COMMAND, ATA_SECONDARY_CONTROL, AtaChannel } from "../devices/ata-channel.ts";
import { driveName, type AtaDisk } from "../devices/ata-disk.ts";
import { LFB_BASE, LinearFramebuffer } from "../devices/framebuffer.ts";
import { AcpiPmPorts, SCI_IRQ } from "../devices/acpi-pm.ts";
import { createMachineMemory, type MachineMemory } from "./memory.ts";
import { PortBus } from "./ports.ts";
import type { MachineConfig } from "./config.ts";
import { DEFAULT_ICOUNT_SHIFT, MachineClock, type ClockMode } from "./clock.ts";
import { InterruptRouter } from "./interrupt-router.ts";

/** The RTC's start when the clock is virtual and no -rtc base= is given: a fixed date, so runs repeat. */
export const DEFAULT_VIRTUAL_RTC_BASE = Date.UTC(2000, 0, 1, 0, 0, 0);
/**
 * QEMU's standard VGA as SeaBIOS leaves it: 1234:1111, class 03/00, BAR0 its
 * 16 MiB framebuffer at 0xFD000000 (prefetchable), BAR2 its 4 KiB register
 * block at 0xFEBF0000 (read from QEMU 7.2's `info pci`). Only the
 * framebuffer behind BAR0 is emulated, and only for multiboot2 kernels.
 */
function standardVgaFunction(): PciFunction {
  const fn = makeConfig({ vendor: 0x1234, device: 0x1111, revision: 2, classCode: 0x03, subclass: 0x00, command: 0x0003 });
  setBar(fn, { index: 0, size: 16 << 20, io: false, prefetchable: true, address: LFB_BASE });
  setBar(fn, { index: 2, size: 4096, io: false, address: 0xfebf0000 });
  return fn;
}

/** QEMU's multiboot option ROM GDT: null, flat 32-bit code (0x08) and data (0x10), 16-bit code and data. */
const QEMU_BOOT_GDT_BASE = 0xc02b8;
const QEMU_BOOT_GDT = [0, 0, 0x0000ffff, 0x00cf9a00, 0x0000ffff, 0x00cf9300, 0x0000ffff, 0x00009e00, 0x0000ffff, 0x00009200];
const QEMU_BOOT_ESP = 0x6f08;
/** Host time: how many instructions run between looks at the host clock. */
const HOST_CHUNK = 1 << 16;

export interface PcOptions {
  readonly memory?: Partial<MachineConfig>;
  /** -cpu as given (model[,+feat,-feat]); undefined: cr3's default. */
  readonly cpu?: string;
  /** isa-debug-exit's I/O base and size; null: not present. Default 0xf4/4 off. */
  readonly debugExit?: { readonly base: number; readonly size: number } | null;
  /** Called with each byte COM1 transmits. */
  readonly serialOut?: (byte: number) => void;
  /** Called with each byte written to port 0xE9 (-debugcon); none: the port still exists. */
  readonly debugconOut?: (byte: number) => void;
  readonly clock?: ClockMode;
  /** Virtual time: 2^shift ns per instruction. */
  readonly icountShift?: number;
  /** The RTC's time at power-on, ms since the epoch (UTC). */
  readonly rtcBase?: number;
  /** The standard VGA's PCI function at 00:02.0 (QEMU's default machine has it; -nodefaults or -vga none drop it). Default true. */
  readonly pciVga?: boolean;
  /** IDE drives by index: 0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave. */
  readonly drives?: readonly (AtaDisk | null)[];
  /** Tier 1, compiling hot code (src/jit/): null for the interpreter alone. Default: on, at the default threshold. */
  readonly jit?: { readonly threshold?: number } | null;
}

/** Why a run ended. */
export type RunEnd =
  | { kind: "exit"; status: number } // isa-debug-exit
  | { kind: "halted"; interruptsEnabled: boolean } // HLT with nothing to wake it
  | { kind: "idle" } // HLT with IF=1: only host time or host input can wake it; run again later
  | { kind: "poweroff" } // ACPI S5 (or S4, which QEMU also shuts down for)
  | { kind: "suspend" } // ACPI S3: QEMU waits for a wake-up through the BIOS, which cr3 has not
  | { kind: "reset" } // the 8042's reset line or port 0xCF9 (QEMU -no-reboot exits)
  | { kind: "triple-fault" }
  | { kind: "instruction-limit" }
  | { kind: "timeout" }
  | { kind: "running" }; // a slice ended; call run again

export class PcMachine {
  readonly memory: MachineMemory;
  readonly ports: PortBus;
  readonly cpu: Cpu;
  /** The compiler's tier, or null (--jit off). */
  readonly jit: JitEngine | null;
  readonly clock: MachineClock;
  readonly router: InterruptRouter;
  readonly uart: Uart16550;
  readonly debugExit: DebugExit | null;
  readonly features: CpuFeatures;
  readonly pic: Pic8259Pair;
  readonly pit: Pit8254;
  readonly lapic: LocalApic;
  readonly ioapic: IoApic;
  readonly rtc: CmosRtc;
  readonly hpet: Hpet;
  readonly ps2: Ps2Controller;
  readonly pci: PciHost;
  readonly fwCfg: FwCfg;
  readonly debugConsole: DebugConsole;
  readonly ide: readonly AtaChannel[];
  /** The linear framebuffer, once a multiboot2 kernel asked for one. */
  framebuffer: LinearFramebuffer | null = null;
  readonly acpiPm: AcpiPmPorts;
  readonly acpi: AcpiTables;
  boot: MultibootBoot | Multiboot2Boot | null = null;
  /** What reset the machine, for the report. */
  resetCause = "";
  /** Set by a device that ends the run (ACPI power-off, reset). */
  private ending: RunEnd | null = null;

  constructor(options: PcOptions = {}) {
    this.memory = createMachineMemory(options.memory ?? {});
    const config = this.memory.config;
    const bus = this.memory.bus;
    this.features = parseCpuModel(options.cpu, config.maxPhysAddrBits, config.gigabytePages);
    const ports = (this.ports = new PortBus());
    const cpu = (this.cpu = new Cpu(this.memory.mmu, ports, this.features));
    const jitOptions = options.jit === undefined ? {} : options.jit;
    this.jit = jitOptions === null ? null : new JitEngine(this.memory.mmu, jitOptions.threshold ?? DEFAULT_THRESHOLD);
    cpu.jit = this.jit;
    const clock = (this.clock = new MachineClock(options.clock ?? "virtual", options.icountShift ?? DEFAULT_ICOUNT_SHIFT));
    clock.attach(cpu);
    cpu.tscNow = () => clock.now();
    clock.onEarlierDeadline = (deadline) => {
      const n = clock.instructionsUntil(deadline);
      if (n < cpu.remaining) cpu.remaining = n;
    };

    // Interrupt controllers.
    this.pic = new Pic8259Pair();
    this.lapic = new LocalApic(clock);
    this.ioapic = new IoApic((vector, level, destination, logical) => this.lapic.acceptMessage(vector, level, destination, logical));
    const router = (this.router = new InterruptRouter(cpu, clock, this.pic, this.lapic, this.ioapic));
    cpu.interruptController = router;
    cpu.localApic = this.lapic;
    this.pic.onChange = () => router.update();
    this.lapic.onChange = () => router.update();
    this.lapic.onLevelEoi = (vector) => this.ioapic.eoi(vector);
    this.lapic.onNmi = () => cpu.requestNmi();
    // An ExtINT entry passes the 8259's vector on; with no request there is nothing to deliver.
    this.ioapic.onExtInt = () => this.pic.acknowledge();
    this.pic.attach(ports);
    bus.mapMmio(LAPIC_BASE, LAPIC_SIZE, this.lapic);
    bus.mapMmio(IOAPIC_BASE, IOAPIC_SIZE, this.ioapic);
    const isa = (irq: number) => (level: boolean) => router.setIsaIrq(irq, level);

    // Timers. While the HPET is in legacy replacement mode its timers 0 and 1
    // drive IRQ 0 and IRQ 8, and the PIT's and the RTC's outputs are cut off.
    let hpetLegacy = false;
    this.pit = new Pit8254(clock, (level) => {
      if (!hpetLegacy) router.setIsaIrq(0, level);
    });
    this.pit.attach(ports);
    new SystemControlPort(this.pit, clock).attach(ports);
    const rtcBase = options.rtcBase ?? (clock.mode === "host" ? Date.now() : DEFAULT_VIRTUAL_RTC_BASE);
    this.rtc = new CmosRtc(
      clock,
      (level) => {
        if (!hpetLegacy) router.setIsaIrq(8, level);
      },
      { startTime: rtcBase, ramBytes: config.ramBytes },
    );
    ports.register(0x70, 2, this.rtc);
    // GSIs as QEMU's pc machine wires them: 0-15 are the ISA lines, 16-23 I/O APIC pins only.
    this.hpet = new Hpet(clock, (gsi, level) => (gsi < 16 ? router.setIsaIrq(gsi, level) : this.ioapic.setIrq(gsi, level)));
    this.hpet.onLegacyChange = (legacy) => {
      hpetLegacy = legacy;
      if (legacy) {
        router.setIsaIrq(0, false);
        router.setIsaIrq(8, false);
      } else {
        router.setIsaIrq(8, this.rtc.irqLevel);
      }
    };
    bus.mapMmio(HPET_BASE, HPET_SIZE, this.hpet);

    // Serial, keyboard, VGA registers, debug ports.
    this.uart = new Uart16550(COM1_BASE);
    ports.register(COM1_BASE, UART_PORTS, this.uart);
    this.uart.onInterrupt = isa(4);
    this.uart.out2GatesInterrupt = false; // as QEMU: kernels such as xv6 leave OUT2 clear and still expect IRQ 4
    if (options.serialOut !== undefined) this.uart.onOutput = options.serialOut;
    this.ps2 = new Ps2Controller(isa(1), isa(12));
    ports.register(0x60, 1, this.ps2);
    ports.register(0x64, 1, this.ps2);
    this.ps2.onReset = () => this.reset("the 8042 keyboard controller's reset line, command 0xFE");
    new VgaRegisters().attach(ports);
    this.debugConsole = new DebugConsole();
    if (options.debugconOut !== undefined) this.debugConsole.onOutput = options.debugconOut;
    ports.register(0xe9, 1, this.debugConsole);
    const exit = options.debugExit === undefined ? null : options.debugExit;
    this.debugExit = exit === null ? null : new DebugExit(exit.base, exit.size);
    if (this.debugExit !== null) {
      ports.register(this.debugExit.base, this.debugExit.size, this.debugExit);
      this.debugExit.onExit = () => cpu.requestStop(STOP_REQUESTED);
    }

    // Disks, PCI, firmware interfaces.
    const drives = options.drives ?? [];
    this.ide = [
      new AtaChannel(isa(14), drives[0] ?? null, drives[1] ?? null),
      new AtaChannel(isa(15), drives[2] ?? null, drives[3] ?? null),
    ];
    this.ide[0].attach(ports, ATA_PRIMARY_COMMAND, ATA_PRIMARY_CONTROL);
    this.ide[1].attach(ports, ATA_SECONDARY_COMMAND, ATA_SECONDARY_CONTROL);
    this.pci = new PciHost();
    ports.register(0xcf8, 8, this.pci);
    this.pci.onReset = () => this.reset("a write to the reset control register at port 0xCF9");
    if (options.pciVga ?? true) this.pci.addFunction(0, 2, 0, standardVgaFunction());
    this.fwCfg = new FwCfg({ ramBytes: config.ramBytes, cpus: 1 });
    ports.register(0x510, 2, this.fwCfg);
    this.acpiPm = new AcpiPmPorts(clock, isa(SCI_IRQ));
    this.acpiPm.onPowerOff = () => this.end({ kind: "poweroff" });
    this.acpiPm.onSuspend = () => this.end({ kind: "suspend" });
    this.acpiPm.attach(ports);

    // What the BIOS leaves in RAM and in the devices.
    writeBiosDataArea(bus);
    this.acpi = buildAcpiTables(this.memory);
    buildMpTable(bus);
    this.pic.biosInit();
    this.pit.biosInit();
    this.lapic.biosInit();
  }

  /** Host input (serial or keyboard) may still arrive: a halted guest then waits instead of ending. */
  set inputOpen(open: boolean) {
    this.router.inputOpen = open;
  }

  /** The attached IDE disks in index order, named as QEMU's -hda … -hdd (for --stats). */
  attachedDisks(): { name: string; disk: AtaDisk }[] {
    const disks: { name: string; disk: AtaDisk }[] = [];
    this.ide.forEach((channel, c) => {
      if (channel.master !== null) disks.push({ name: driveName(2 * c), disk: channel.master });
      if (channel.slave !== null) disks.push({ name: driveName(2 * c + 1), disk: channel.slave });
    });
    return disks;
  }

  private reset(cause: string): void {
    this.resetCause = cause;
    this.end({ kind: "reset" });
  }

  private end(how: RunEnd): void {
    this.ending = how;
    this.cpu.requestStop(STOP_REQUESTED);
  }

  /**
   * Loads a multiboot kernel (version 1, as QEMU's -kernel does; or version 2,
   * which QEMU cannot boot without GRUB) and sets the machine state its spec
   * defines: EAX magic, EBX the information, flat 32-bit segments, paging off, IF=0.
   */
  loadMultiboot(image: Uint8Array, options: MultibootOptions = {}): MultibootBoot | Multiboot2Boot {
    let boot: MultibootBoot | Multiboot2Boot;
    if (multibootVersionOf(image) === 1) {
      boot = loadMultiboot(this.memory, image, options);
    } else {
      const mode = framebufferModeFor(findMultiboot2Header(image)!);
      let fb: LinearFramebuffer | null = null;
      if (mode !== null) {
        fb = this.framebuffer = new LinearFramebuffer(mode.width, mode.height);
        this.memory.bus.mapMmio(LFB_BASE, fb.size, fb);
      }
      boot = loadMultiboot2(this.memory, image, {
        append: options.append,
        modules: options.modules,
        acpi: this.acpi,
        framebuffer: fb === null ? null : { address: LFB_BASE, width: fb.width, height: fb.height, pitch: fb.pitch },
      });
    }
    const cpu = this.cpu;
    cpu.reset();
    cpu.invalidateCode(); // the loader wrote RAM behind the MMU's back
    cpu.enterFlatProtectedMode(boot.entry);
    cpu.regs[0] = boot.eax;
    cpu.regs[6] = boot.ebx;
    // What QEMU's multiboot option ROM leaves (measured under QEMU 7.2): its GDT
    // in the option ROM area, whose selectors 0x08/0x10 CS and DS hold, and its
    // stack. The spec leaves both undefined, but kernels that take an interrupt
    // before loading their own GDT, or call before setting ESP, rely on them.
    for (let i = 0; i < QEMU_BOOT_GDT.length; i++) this.memory.bus.write32(QEMU_BOOT_GDT_BASE + 4 * i, QEMU_BOOT_GDT[i]);
    cpu.gdtBaseLo = QEMU_BOOT_GDT_BASE;
    cpu.gdtBaseHi = 0;
    cpu.gdtLimit = QEMU_BOOT_GDT.length * 4 - 1;
    cpu.regs[8] = QEMU_BOOT_ESP;
    this.boot = boot;
    return boot;
  }

  /** Runs up to `budget` instructions (idle time counts as the instructions it stands for); returns how the slice ended. */
  run(budget: number): RunEnd {
    const cpu = this.cpu;
    const clock = this.clock;
    const router = this.router;
    let left = budget;
    while (left > 0) {
      clock.runDue();
      let chunk = left;
      const until = clock.instructionsUntil(clock.nextDeadline());
      if (until < chunk) chunk = until;
      if (clock.mode === "host" && chunk > HOST_CHUNK) chunk = HOST_CHUNK;
      const before = cpu.icount;
      router.idleInstructions = 0;
      const reason = cpu.run(chunk);
      left -= Math.max(1, cpu.icount - before + router.idleInstructions);
      switch (reason) {
        case STOP_BUDGET:
          continue;
        case STOP_REQUESTED: {
          if (this.debugExit !== null && this.debugExit.exitRequested) return { kind: "exit", status: this.debugExit.exitStatus };
          const ending = this.ending;
          if (ending !== null) return ending;
          return { kind: "running" };
        }
        case STOP_HALTED: {
          const interruptsEnabled = (cpu.eflags & 0x200) !== 0;
          if (interruptsEnabled && (router.inputOpen || clock.nextDeadline() !== Infinity)) return { kind: "idle" };
          return { kind: "halted", interruptsEnabled };
        }
        case STOP_TRIPLE_FAULT:
          return { kind: "triple-fault" };
        default:
          return { kind: "running" };
      }
    }
    return { kind: "running" };
  }

  /**
   * Runs until the guest ends or `maxInstructions` retire or `timeoutMs`
   * passes (checked between slices). Synchronous: for tests and benchmarks.
   * An idle guest with host time is waited for by spinning.
   */
  runToEnd(maxInstructions = Infinity, timeoutMs = Infinity): RunEnd {
    const start = performance.now();
    const slice = 1 << 22;
    for (;;) {
      const left = maxInstructions - this.cpu.icount;
      if (left <= 0) return { kind: "instruction-limit" };
      const end = this.run(Math.min(slice, left));
      if (end.kind !== "running" && end.kind !== "idle") return end;
      if (end.kind === "idle" && this.clock.mode !== "host") return { kind: "halted", interruptsEnabled: true };
      if (performance.now() - start > timeoutMs) return { kind: "timeout" };
    }
  }
}
