// cr3's library entry point.

export * from "./mmu/access.ts";
export * from "./mmu/paging-mode.ts";
export { Mmu, type MmuStats, type CachedTranslation } from "./mmu/mmu.ts";
export { PageWalker } from "./mmu/walker.ts";
export { Tlb } from "./mmu/tlb.ts";
export { explainWalk, errorCodeText, type WalkExplanation, type WalkLevel, type WalkCheck } from "./mmu/explain.ts";
export { GuestRam, MIB, GIB } from "./machine/ram.ts";
export { PhysicalBus, type MmioDevice, type RamRange } from "./machine/bus.ts";
export { pcRamRanges } from "./machine/memory-map.ts";
export { machineConfig, DEFAULT_CONFIG, type MachineConfig, type TlbGeometry } from "./machine/config.ts";
export { createMachineMemory, type MachineMemory } from "./machine/memory.ts";
export { PageTableBuilder, halves, type PagingKind, type MapOptions, P, RW, US, PWT, PCD, A, D, PS, G, XD } from "./mmu/page-table-builder.ts";
export { VgaTextBuffer, VGA_TEXT_BASE, VGA_TEXT_SIZE } from "./devices/vga-text.ts";
export { PortBus, type PortDevice } from "./machine/ports.ts";
export { Uart16550 } from "./devices/uart16550.ts";
export { DebugExit } from "./devices/debug-exit.ts";
export { parseElf, type ElfImage, type ElfSegment } from "./boot/elf.ts";
export { loadMultiboot, findMultibootHeader, type MultibootBoot } from "./boot/multiboot.ts";
export { LoadError } from "./boot/load-error.ts";
